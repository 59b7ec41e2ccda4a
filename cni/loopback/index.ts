import { CniError } from '../skel/index.js'
import type { PluginFuncs } from '../skel/index.js'

const notYet = (): never => { throw new CniError('CNI_ERR_INTERNAL', 'loopback: not implemented in this build') }
export const loopback: PluginFuncs = { add: notYet, del: notYet, check: notYet }
