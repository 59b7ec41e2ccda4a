/**
 * portmap: host port forwarding for a chained CNI attachment (iptables
 * backend). The only public surface; see docs/portmap.md.
 */
import type { PluginFuncs } from '../skel/index.js'
import { linuxPortmapDeps } from './deps.js'
import { portmapPlugin } from './portmap.js'

export { portmapPlugin } from './portmap.js'
export type { PortmapDeps, Conntrack } from './deps.js'

let deps: ReturnType<typeof linuxPortmapDeps> | undefined
export const portmap: PluginFuncs = portmapPlugin(() => (deps ??= linuxPortmapDeps()))
