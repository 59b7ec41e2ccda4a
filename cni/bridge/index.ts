/**
 * The `bridge` CNI plugin. See README.md and docs/bridge.md.
 */
import { delegate } from '../skel/index.js'
import type { PluginFuncs } from '../skel/index.js'
import { LinuxNetNS, linuxIptables, linuxNftables, linuxSysctl } from '../../kernel/index.js'
import type { IptablesTable } from '../../kernel/index.js'
import { bridgePlugin } from './bridge.js'
import type { Iptables } from './ipmasq.js'

export { bridgePlugin } from './bridge.js'
export type { BridgeDeps } from './bridge.js'
export { masqChainName, masqComment } from './ipmasq.js'

const ipt4 = linuxIptables(4)
const ipt6 = linuxIptables(6)

/** Masquerading's view of iptables: the kernel layer's save/restore, per family. */
export const bridgeIptables: Iptables = {
  save: (table, v6) => (v6 ? ipt6 : ipt4).save(table as IptablesTable),
  restore: (input, v6) => { (v6 ? ipt6 : ipt4).restore(input) }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4))

export const bridge: PluginFuncs = bridgePlugin({
  netns: new LinuxNetNS(),
  sysctl: linuxSysctl,
  iptables: bridgeIptables,
  nft: linuxNftables(),
  delegate,
  sleep: (ms) => { Atomics.wait(sleeper, 0, 0, ms) },
  faultAt: process.env.WEFT_CNI_TEST_FAULT
})
