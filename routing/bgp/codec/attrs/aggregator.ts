/**
 * AGGREGATOR (RFC 4271 §5.1.7: AS(2, or 4 with the 4-octet AS capability) | IPv4 address) and AS4_AGGREGATOR
 * (RFC 6793 §3: AS(4) | IPv4 address). Malformed → attribute-discard (RFC 7606 §7.7, RFC 6793 §6): a length not
 * matching the session, AS 0 (RFC 7607 §2), or an AS4_AGGREGATOR between 4-octet speakers.
 */
import { checkUint, u16, u32, w16, w32 } from '../codec.js'
import { AttrFlag, AttrType } from '../constants.js'
import { BgpEncodeError } from '../errors.js'
import type { BgpMessageError } from '../errors.js'
import { UpdateMessageErrorSubcode } from '../notification-codes.js'
import { readIpv4, writeIpv4 } from './address.js'
import type { AttrSpec, ReadContext } from './spec.js'
import { attrError, lengthError } from './spec.js'
import type { As4AggregatorAttribute, AggregatorAttribute } from './types.js'

function asZero (type: number, ctx: ReadContext, name: string): BgpMessageError {
  return attrError('BGP_ERR_ATTR_AGGREGATOR', UpdateMessageErrorSubcode.OptionalAttributeError, 'attribute-discard', type, ctx,
    `${name} with AS 0 (RFC 7607)`)
}

export const aggregatorSpec: AttrSpec<AggregatorAttribute> = {
  type: AttrType.Aggregator,
  name: 'AGGREGATOR',
  flags: AttrFlag.Optional | AttrFlag.Transitive,
  valueLength: (_a, opts) => opts.fourOctetAs === true ? 8 : 6,
  write (a, buf, offset, opts) {
    if (opts.fourOctetAs === true) {
      checkUint(a.asn, 0xffffffff, 'AGGREGATOR AS', 1)
      w32(buf, offset, a.asn)
      writeIpv4(a.address, buf, offset + 4, 'AGGREGATOR address')
    } else {
      if (Number.isInteger(a.asn) && a.asn > 0xffff) {
        throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `AGGREGATOR AS ${a.asn} needs 4 octets on a 2-octet session: use toTwoOctetAttributes()`)
      }
      checkUint(a.asn, 0xffff, 'AGGREGATOR AS', 1)
      w16(buf, offset, a.asn)
      writeIpv4(a.address, buf, offset + 2, 'AGGREGATOR address')
    }
  },
  read (v, ctx) {
    const four = ctx.opts.fourOctetAs === true
    if (v.length !== (four ? 8 : 6)) throw lengthError(aggregatorSpec, v.length, 'attribute-discard', ctx)
    const asn = four ? u32(v, 0) : u16(v, 0)
    if (asn === 0) throw asZero(AttrType.Aggregator, ctx, 'AGGREGATOR')
    return { type: AttrType.Aggregator, asn, address: readIpv4(v, four ? 4 : 2) }
  }
}

export const as4AggregatorSpec: AttrSpec<As4AggregatorAttribute> = {
  type: AttrType.As4Aggregator,
  name: 'AS4_AGGREGATOR',
  flags: AttrFlag.Optional | AttrFlag.Transitive,
  valueLength: () => 8,
  write (a, buf, offset, opts) {
    if (opts.fourOctetAs === true) {
      throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', 'AS4_AGGREGATOR is never sent between 4-octet AS speakers (RFC 6793 §4.1)')
    }
    checkUint(a.asn, 0xffffffff, 'AS4_AGGREGATOR AS', 1)
    w32(buf, offset, a.asn)
    writeIpv4(a.address, buf, offset + 4, 'AS4_AGGREGATOR address')
  },
  read (v, ctx) {
    if (ctx.opts.fourOctetAs === true) {
      throw attrError('BGP_ERR_ATTR_UNEXPECTED', UpdateMessageErrorSubcode.OptionalAttributeError, 'attribute-discard', AttrType.As4Aggregator, ctx,
        'AS4_AGGREGATOR from a 4-octet AS speaker discarded (RFC 6793 §4.1)')
    }
    if (v.length !== 8) throw lengthError(as4AggregatorSpec, v.length, 'attribute-discard', ctx)
    const asn = u32(v, 0)
    if (asn === 0) throw asZero(AttrType.As4Aggregator, ctx, 'AS4_AGGREGATOR')
    return { type: AttrType.As4Aggregator, asn, address: readIpv4(v, 4) }
  }
}
