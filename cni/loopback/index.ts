/**
 * loopback: `lo` up in the sandbox. The only public surface; see docs/loopback.md.
 */
import type { PluginFuncs } from '../skel/index.js'
import { LinuxNetNS } from '../../kernel/index.js'
import { loopbackPlugin } from './loopback.js'

export { loopbackPlugin } from './loopback.js'
export type { LoopbackDeps } from './loopback.js'

export const loopback: PluginFuncs = loopbackPlugin({ netns: new LinuxNetNS() })
