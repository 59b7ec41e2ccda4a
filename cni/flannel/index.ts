/**
 * The `flannel` CNI plugin (a drop-in for flannel-io/cni-plugin) and the
 * subnet.env codec it shares with the overlay agent. See README.md and
 * docs/flannel.md.
 */
import { delegate } from '../skel/index.js'
import type { PluginFuncs } from '../skel/index.js'
import { flannelPlugin } from './flannel.js'

export { flannelPlugin } from './flannel.js'
export type { FlannelDeps } from './flannel.js'
export { DEFAULT_DATA_DIR } from './config.js'
export { DEFAULT_SUBNET_FILE, SubnetEnvError, formatSubnetEnv, parseSubnetEnv, readSubnetEnv, writeSubnetEnv } from './subnet-env.js'
export type { SubnetEnv } from './subnet-env.js'

export const flannel: PluginFuncs = flannelPlugin({
  delegate: (command, type, args, stdin) => delegate(command, type, args, stdin),
  log: (line) => { process.stderr.write(line + '\n') }
})
