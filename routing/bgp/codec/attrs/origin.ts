/** ORIGIN (RFC 4271 §5.1.1), malformed per RFC 7606 §7.1: length other than 1 or an undefined value → treat-as-withdraw. */
import { checkUint } from '../codec.js'
import { AttrFlag, AttrType, Origin } from '../constants.js'
import { UpdateMessageErrorSubcode } from '../notification-codes.js'
import type { AttrSpec } from './spec.js'
import { attrError, lengthError } from './spec.js'
import type { OriginAttribute } from './types.js'

export const originSpec: AttrSpec<OriginAttribute> = {
  type: AttrType.Origin,
  name: 'ORIGIN',
  flags: AttrFlag.Transitive,
  valueLength: () => 1,
  write (a, buf, offset) {
    checkUint(a.origin, Origin.Incomplete, 'ORIGIN')
    buf[offset] = a.origin
  },
  read (v, ctx) {
    if (v.length !== 1) throw lengthError(originSpec, v.length, 'treat-as-withdraw', ctx)
    const origin = v[0] as number
    if (origin > Origin.Incomplete) {
      throw attrError('BGP_ERR_ATTR_ORIGIN', UpdateMessageErrorSubcode.InvalidOriginAttribute, 'treat-as-withdraw', AttrType.Origin, ctx,
        `undefined ORIGIN value ${origin}`)
    }
    return { type: AttrType.Origin, origin }
  }
}
