/**
 * MP_REACH_NLRI (RFC 4760 §3): AFI(2) | SAFI(1) | NH length(1) | next hop | Reserved(1) | NLRI, and
 * MP_UNREACH_NLRI (RFC 4760 §4): AFI(2) | SAFI(1) | withdrawn NLRI. Parsed for AFI 1/2 with SAFI 1/2; other
 * families are kept as `RawAttribute`s after their framing is checked.
 *
 * Next hops (RFC 2545 §3, RFC 8950 §3): 4 octets (IPv4, AFI 1 only), 16 (one IPv6 address, global or, as BIRD's
 * `single` format sends, link-local) or 32 (global then link-local; BIRD's `native` format for a link-local-only
 * next hop sends `::` as the global one).
 *
 * Any error here is a session reset (RFC 7606 §5.3, §7.11: the NLRI cannot be located reliably, so
 * treat-as-withdraw is impossible), as Optional Attribute Error with the attribute as data.
 */
import { ip } from '../../../../kernel/index.js'
import { checkUint, copyBytes, u16, w16 } from '../codec.js'
import { Afi, AttrFlag, AttrType, Safi } from '../constants.js'
import { BgpEncodeError } from '../errors.js'
import type { BgpMessageError } from '../errors.js'
import { familyOfAfi, prefixesEncodingLength, readPrefixes, writePrefixes } from '../nlri.js'
import { UpdateMessageErrorSubcode } from '../notification-codes.js'
import { hasAddPath } from '../options.js'
import type { AttrSpec, ReadContext } from './spec.js'
import { attrError } from './spec.js'
import type { MpReachNlriAttribute, MpUnreachNlriAttribute, RawAttribute } from './types.js'

/** The families whose MP NLRI this codec parses. */
export function isParsedFamily (afi: number, safi: number): boolean {
  return familyOfAfi(afi) !== undefined && (safi === Safi.Unicast || safi === Safi.Multicast)
}

function mpError (type: number, ctx: ReadContext) {
  return (reason: string): BgpMessageError => attrError('BGP_ERR_ATTR_MP', UpdateMessageErrorSubcode.OptionalAttributeError, 'session-reset',
    type, ctx, `malformed ${type === AttrType.MpReachNlri ? 'MP_REACH_NLRI' : 'MP_UNREACH_NLRI'}: ${reason}`)
}

function checkFamily (afi: number, safi: number, name: string): 4 | 6 {
  checkUint(afi, 0xffff, `${name} AFI`)
  checkUint(safi, 255, `${name} SAFI`)
  const family = familyOfAfi(afi)
  if (family === undefined || !isParsedFamily(afi, safi)) {
    throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `${name} of AFI ${afi} SAFI ${safi} is not parsed by this codec: use a RawAttribute`)
  }
  return family
}

function nextHopLength (a: MpReachNlriAttribute): number {
  const fam = ip.familyOf(a.nextHop)
  if (fam === 4) {
    if (a.afi !== Afi.Ipv4) throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `an IPv4 next hop for AFI ${a.afi}`)
    if (a.linkLocalNextHop !== undefined) throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', 'a link-local next hop beside an IPv4 one')
    return 4
  }
  if (fam !== 6) throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `MP_REACH_NLRI next hop "${String(a.nextHop)}" is not an address`)
  if (a.linkLocalNextHop === undefined) return 16
  if (ip.familyOf(a.linkLocalNextHop) !== 6) {
    throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `link-local next hop "${String(a.linkLocalNextHop)}" is not an IPv6 address`)
  }
  return 32
}

export const mpReachNlriSpec: AttrSpec<MpReachNlriAttribute> = {
  type: AttrType.MpReachNlri,
  name: 'MP_REACH_NLRI',
  flags: AttrFlag.Optional,
  valueLength (a, opts) {
    const family = checkFamily(a.afi, a.safi, 'MP_REACH_NLRI')
    return 5 + nextHopLength(a) + prefixesEncodingLength(a.nlri, family, hasAddPath(opts, a.afi, a.safi))
  },
  write (a, buf, offset, opts) {
    const family = checkFamily(a.afi, a.safi, 'MP_REACH_NLRI')
    const nhLen = nextHopLength(a)
    w16(buf, offset, a.afi)
    buf[offset + 2] = a.safi
    buf[offset + 3] = nhLen
    buf.set(ip.toBytes(a.nextHop), offset + 4)
    if (a.linkLocalNextHop !== undefined) buf.set(ip.toBytes(a.linkLocalNextHop), offset + 20)
    buf[offset + 4 + nhLen] = 0 // Reserved
    writePrefixes(a.nlri, family, hasAddPath(opts, a.afi, a.safi), buf, offset + 5 + nhLen)
  },
  read (v, ctx): MpReachNlriAttribute | RawAttribute {
    const fail = mpError(AttrType.MpReachNlri, ctx)
    if (v.length < 5) throw fail(`length ${v.length} is below 5`)
    const afi = u16(v, 0)
    const safi = v[2] as number
    const nhLen = v[3] as number
    if (5 + nhLen > v.length) throw fail(`next hop of ${nhLen} octets overruns the attribute`)
    const family = familyOfAfi(afi)
    if (family === undefined || !isParsedFamily(afi, safi)) return { type: AttrType.MpReachNlri, flags: ctx.flags, raw: copyBytes(v, 0, v.length) }
    let nextHop: string
    let linkLocalNextHop: string | undefined
    if (nhLen === 4 && afi === Afi.Ipv4) {
      nextHop = ip.fromBytes(v.subarray(4, 8))
    } else if (nhLen === 16 || nhLen === 32) {
      nextHop = ip.fromBytes(v.subarray(4, 20))
      if (nhLen === 32) linkLocalNextHop = ip.fromBytes(v.subarray(20, 36))
    } else {
      throw fail(`next hop length ${nhLen} is invalid for AFI ${afi}`)
    }
    const nlri = readPrefixes(v, 5 + nhLen, v.length, family, hasAddPath(ctx.opts, afi, safi), fail)
    return linkLocalNextHop === undefined
      ? { type: AttrType.MpReachNlri, afi, safi, nextHop, nlri }
      : { type: AttrType.MpReachNlri, afi, safi, nextHop, linkLocalNextHop, nlri }
  }
}

export const mpUnreachNlriSpec: AttrSpec<MpUnreachNlriAttribute> = {
  type: AttrType.MpUnreachNlri,
  name: 'MP_UNREACH_NLRI',
  flags: AttrFlag.Optional,
  valueLength (a, opts) {
    const family = checkFamily(a.afi, a.safi, 'MP_UNREACH_NLRI')
    return 3 + prefixesEncodingLength(a.withdrawn, family, hasAddPath(opts, a.afi, a.safi))
  },
  write (a, buf, offset, opts) {
    const family = checkFamily(a.afi, a.safi, 'MP_UNREACH_NLRI')
    w16(buf, offset, a.afi)
    buf[offset + 2] = a.safi
    writePrefixes(a.withdrawn, family, hasAddPath(opts, a.afi, a.safi), buf, offset + 3)
  },
  read (v, ctx): MpUnreachNlriAttribute | RawAttribute {
    const fail = mpError(AttrType.MpUnreachNlri, ctx)
    if (v.length < 3) throw fail(`length ${v.length} is below 3`)
    const afi = u16(v, 0)
    const safi = v[2] as number
    const family = familyOfAfi(afi)
    if (family === undefined || !isParsedFamily(afi, safi)) return { type: AttrType.MpUnreachNlri, flags: ctx.flags, raw: copyBytes(v, 0, v.length) }
    const withdrawn = readPrefixes(v, 3, v.length, family, hasAddPath(ctx.opts, afi, safi), fail)
    return { type: AttrType.MpUnreachNlri, afi, safi, withdrawn }
  }
}

/** Whether an MP_REACH_NLRI kept raw (framing already checked) carries any NLRI octets. */
export function rawMpReachHasNlri (raw: Uint8Array): boolean {
  return raw.length > 5 + (raw[3] as number)
}
