/**
 * UPDATE (RFC 4271 §4.3): Withdrawn Routes Length(2) | Withdrawn Routes | Total Path Attribute Length(2) | Path
 * Attributes | NLRI. The two prefix fields are IPv4 unicast (with Path Identifiers when ADD-PATH applies to it);
 * everything else travels in MP_REACH_NLRI/MP_UNREACH_NLRI.
 *
 * Decoding applies RFC 7606. Errors that need a session reset are thrown; the others are collected in `errors` and
 * the message is returned, with `treatAsWithdraw` when its routes are to be taken as withdrawn and the discarded
 * attributes left out of `attributes`:
 * - lengths overrunning the message, an unparsable prefix field (§5.3), a malformed or duplicated MP attribute
 *   (§3(g), §7.11): session reset;
 * - attribute framing broken (§4): treat-as-withdraw, with the NLRI field located from the Total Path Attribute
 *   Length; attributes after the break are lost;
 * - a duplicated attribute (§3(g)): the first is kept, the others discarded;
 * - a malformed attribute: that attribute's handling (§7);
 * - ORIGIN or AS_PATH missing when there is NLRI, NEXT_HOP missing when the NLRI field is used (§3(d)):
 *   treat-as-withdraw;
 * - and when the message has no reachable NLRI, any error stronger than attribute-discard becomes a session
 *   reset (§5.2).
 */
import type { PathAttribute } from './attrs/types.js'
import { isRawAttribute } from './attrs/types.js'
import {
  ATTRIBUTE_FLAGS, attributeEncodingLength, decodeAttribute, framingError, readAttributeHeader, writeAttribute
} from './attrs/attribute.js'
import { isParsedFamily, rawMpReachHasNlri } from './attrs/mp.js'
import { u16, w16 } from './codec.js'
import type { AfiSafi } from './constants.js'
import { Afi, AttrType, MessageType, Safi } from './constants.js'
import { BgpEncodeError, BgpMessageError } from './errors.js'
import type { Nlri } from './nlri.js'
import { invalidNetworkField, prefixesEncodingLength, readPrefixes, writePrefixes } from './nlri.js'
import { NotificationCode, UpdateMessageErrorSubcode } from './notification-codes.js'
import type { CodecOptions } from './options.js'
import { hasAddPath } from './options.js'

export interface UpdateMessage {
  type: MessageType.Update
  /** The Withdrawn Routes field: IPv4 unicast. */
  withdrawn: Nlri[]
  /** In wire order. RFC 7606 §5.1: put MP_REACH_NLRI/MP_UNREACH_NLRI first; the encoder keeps the order given. */
  attributes: PathAttribute[]
  /** The NLRI field: IPv4 unicast. */
  nlri: Nlri[]
  /**
   * Set by decoding or `validateUpdate()` only: RFC 7606 treat-as-withdraw applies, so every route of `nlri` and of
   * MP_REACH_NLRI is to be handled as withdrawn. Withdrawals (`withdrawn`, MP_UNREACH_NLRI) still apply.
   */
  treatAsWithdraw?: boolean
  /** Set by decoding or `validateUpdate()` only: the errors that did not need a session reset, in the order found. */
  errors?: BgpMessageError[]
}

function updateLengthError (reason: string): BgpMessageError {
  return new BgpMessageError('BGP_ERR_UPDATE_LENGTH', `malformed attribute list: ${reason}`, {
    code: NotificationCode.UpdateMessageError, subcode: UpdateMessageErrorSubcode.MalformedAttributeList
  })
}

function attributesLength (v: UpdateMessage, opts: CodecOptions): number {
  let n = 0
  for (const a of v.attributes) n += attributeEncodingLength(a, opts)
  return n
}

function fieldLength (n: number, what: string): number {
  if (n > 0xffff) throw new BgpEncodeError('BGP_ERR_ENCODE_TOO_LONG', `${what} of ${n} bytes exceeds its 2-octet length`)
  return n
}

export function updateBodyLength (v: UpdateMessage, opts: CodecOptions): number {
  const addPath = hasAddPath(opts, Afi.Ipv4, Safi.Unicast)
  return 4 + fieldLength(prefixesEncodingLength(v.withdrawn, 4, addPath), 'Withdrawn Routes') +
    fieldLength(attributesLength(v, opts), 'Path Attributes') + prefixesEncodingLength(v.nlri, 4, addPath)
}

export function writeUpdateBody (v: UpdateMessage, buf: Uint8Array, offset: number, opts: CodecOptions): number {
  const addPath = hasAddPath(opts, Afi.Ipv4, Safi.Unicast)
  let o = offset
  const wlen = writePrefixes(v.withdrawn, 4, addPath, buf, o + 2)
  w16(buf, o, fieldLength(wlen, 'Withdrawn Routes'))
  o += 2 + wlen
  const attrsAt = o
  o += 2
  for (const a of v.attributes) o += writeAttribute(a, buf, o, opts)
  w16(buf, attrsAt, fieldLength(o - attrsAt - 2, 'Path Attributes'))
  o += writePrefixes(v.nlri, 4, addPath, buf, o)
  return o - offset
}

/** Decodes an UPDATE body (`body` holds exactly the octets after the header). */
export function readUpdateBody (body: Uint8Array, opts: CodecOptions): UpdateMessage {
  const addPath = hasAddPath(opts, Afi.Ipv4, Safi.Unicast)
  // RFC 4271 §6.3: lengths that overrun the message are a Malformed Attribute List.
  const wlen = u16(body, 0)
  if (2 + wlen + 2 > body.length) throw updateLengthError(`Withdrawn Routes Length ${wlen} overruns the message`)
  const alen = u16(body, 2 + wlen)
  const attrStart = 4 + wlen
  const attrEnd = attrStart + alen
  if (attrEnd > body.length) throw updateLengthError(`Total Path Attribute Length ${alen} overruns the message`)
  // RFC 7606 §3(f), §5.3: both prefix fields must parse, or nothing can be withdrawn reliably.
  const withdrawn = readPrefixes(body, 2, 2 + wlen, 4, addPath, invalidNetworkField)
  const nlri = readPrefixes(body, attrEnd, body.length, 4, addPath, invalidNetworkField)

  const attributes: PathAttribute[] = []
  const errors: BgpMessageError[] = []
  const seen = new Set<number>()
  let reachable = nlri.length > 0
  let o = attrStart
  while (o < attrEnd) {
    const h = readAttributeHeader(body, o, attrEnd)
    if (typeof h === 'string') {
      // RFC 7606 §4: the Total Attribute Length is relied upon to locate the NLRI; what follows the break is lost.
      errors.push(framingError(h))
      break
    }
    const at = o
    o += h.headerLength + h.length
    const mp = h.type === AttrType.MpReachNlri || h.type === AttrType.MpUnreachNlri
    if (seen.has(h.type)) {
      const dup = new BgpMessageError('BGP_ERR_ATTR_DUPLICATE', `attribute ${h.type} appears more than once`, {
        code: NotificationCode.UpdateMessageError,
        subcode: UpdateMessageErrorSubcode.MalformedAttributeList,
        handling: mp ? 'session-reset' : 'attribute-discard',
        attrType: h.type
      })
      if (mp) throw dup
      errors.push(dup)
      continue
    }
    seen.add(h.type)
    let a: PathAttribute
    try {
      a = decodeAttribute(h, body, at, opts)
    } catch (err) {
      if (!(err instanceof BgpMessageError) || err.handling === 'session-reset') throw err
      errors.push(err)
      // The MP attributes hold the routes a treat-as-withdraw must withdraw: parse them despite bad flags.
      if (!(mp && err.code === 'BGP_ERR_ATTR_FLAGS')) continue
      a = decodeAttribute(h, body, at, opts, true)
    }
    attributes.push(a)
    if (a.type === AttrType.MpReachNlri) {
      reachable ||= isRawAttribute(a) ? rawMpReachHasNlri(a.raw) : a.nlri.length > 0
    }
  }

  // RFC 7606 §3(d): missing well-known mandatory attributes → treat-as-withdraw (only meaningful with NLRI).
  if (reachable) {
    const missing = [AttrType.Origin, AttrType.AsPath]
    if (nlri.length > 0) missing.push(AttrType.NextHop)
    for (const type of missing) {
      if (seen.has(type)) continue
      errors.push(new BgpMessageError('BGP_ERR_ATTR_MISSING', `missing well-known attribute ${type}`, {
        code: NotificationCode.UpdateMessageError,
        subcode: UpdateMessageErrorSubcode.MissingWellKnownAttribute,
        data: Uint8Array.of(type),
        handling: 'treat-as-withdraw',
        attrType: type
      }))
    }
  }

  const value: UpdateMessage = { type: MessageType.Update, withdrawn, attributes, nlri }
  if (errors.length > 0) {
    const serious = errors.find((e) => e.handling !== 'attribute-discard')
    // RFC 7606 §5.2: with no reachable NLRI, anything but attribute-discard calls for a session reset.
    if (serious !== undefined && !reachable) throw serious.withHandling('session-reset')
    if (serious !== undefined) value.treatAsWithdraw = true
    value.errors = errors
  }
  return value
}

/**
 * RFC 4724 §2: the End-of-RIB marker of an AFI/SAFI: an empty UPDATE for IPv4 unicast, otherwise an UPDATE whose
 * only attribute is an empty MP_UNREACH_NLRI of the family.
 */
export function endOfRib (afi: number = Afi.Ipv4, safi: number = Safi.Unicast): UpdateMessage {
  if (afi === Afi.Ipv4 && safi === Safi.Unicast) return { type: MessageType.Update, withdrawn: [], attributes: [], nlri: [] }
  const attr: PathAttribute = isParsedFamily(afi, safi)
    ? { type: AttrType.MpUnreachNlri, afi, safi, withdrawn: [] }
    : { type: AttrType.MpUnreachNlri, flags: ATTRIBUTE_FLAGS[AttrType.MpUnreachNlri], raw: Uint8Array.of(afi >>> 8, afi & 0xff, safi) }
  return { type: MessageType.Update, withdrawn: [], attributes: [attr], nlri: [] }
}

/** The AFI/SAFI whose End-of-RIB marker `u` is, or undefined. */
export function endOfRibFamily (u: UpdateMessage): AfiSafi | undefined {
  if (u.withdrawn.length > 0 || u.nlri.length > 0) return undefined
  if (u.attributes.length === 0) return { afi: Afi.Ipv4, safi: Safi.Unicast }
  const a = u.attributes[0]
  if (u.attributes.length !== 1 || a === undefined || a.type !== AttrType.MpUnreachNlri) return undefined
  if (isRawAttribute(a)) return a.raw.length === 3 ? { afi: u16(a.raw, 0), safi: a.raw[2] as number } : undefined
  return 'withdrawn' in a && a.withdrawn.length === 0 ? { afi: a.afi, safi: a.safi } : undefined
}
