import { CniError } from '../skel/index.js'
import type { PluginFuncs } from '../skel/index.js'

const notYet = (): never => { throw new CniError('CNI_ERR_INTERNAL', 'portmap: not implemented in this build') }
export const portmap: PluginFuncs = { add: notYet, del: notYet, check: notYet }
