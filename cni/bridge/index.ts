/**
 * The `bridge` CNI plugin. See README.md and docs/bridge.md.
 */
import { spawnSync } from 'node:child_process'
import { delegate } from '../skel/index.js'
import type { PluginFuncs } from '../skel/index.js'
import { LinuxNetNS, linuxIptables, linuxSysctl } from '../../kernel/index.js'
import type { IptablesTable } from '../../kernel/index.js'
import { bridgePlugin } from './bridge.js'
import type { Iptables } from './ipmasq.js'
import type { Nft } from './spoofcheck.js'

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

function run (bin: string, args: string[], input?: string): string {
  const r = spawnSync(bin, args, { ...(input !== undefined ? { input } : {}), encoding: 'utf8' })
  if (r.error !== undefined) throw new Error(`${bin}: ${r.error.message}`)
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed: ${(r.stderr ?? '').trim()}`)
  return r.stdout
}

/** nftables through the `nft` tool (absolute path: node_modules/.bin holds an unrelated `nft`). */
export const linuxNft: Nft = {
  apply: (script) => { run('/usr/sbin/nft', ['-f', '-'], script) },
  listTable: (family, name) => {
    const r = spawnSync('/usr/sbin/nft', ['-a', 'list', 'table', family, name], { encoding: 'utf8' })
    if (r.error !== undefined) throw new Error(`nft: ${r.error.message}`)
    return r.status === 0 ? r.stdout : undefined
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4))

export const bridge: PluginFuncs = bridgePlugin({
  netns: new LinuxNetNS(),
  sysctl: linuxSysctl,
  iptables: bridgeIptables,
  nft: linuxNft,
  delegate,
  sleep: (ms) => { Atomics.wait(sleeper, 0, 0, ms) },
  faultAt: process.env.WEFT_CNI_TEST_FAULT
})
