/**
 * The path attribute TLV (RFC 4271 §4.3): flags(1) | type(1) | length(1, or 2 with Extended Length) | value, and
 * the table of the attributes this codec parses. Unknown optional attributes decode to `RawAttribute`s and
 * re-encode byte for byte; an unknown attribute without the Optional bit is an Unrecognized Well-known Attribute,
 * handled as treat-as-withdraw (as BIRD does; RFC 7606 §2 prefers it to a session reset).
 */
import type { Codec } from '../codec.js'
import { copyBytes, defineCodec, u16, w16 } from '../codec.js'
import { AttrFlag, AttrType } from '../constants.js'
import { BgpEncodeError, BgpMessageError } from '../errors.js'
import { NotificationCode, UpdateMessageErrorSubcode } from '../notification-codes.js'
import type { CodecOptions } from '../options.js'
import { DEFAULT_OPTIONS } from '../options.js'
import { aggregatorSpec, as4AggregatorSpec } from './aggregator.js'
import { as4PathSpec, asPathSpec } from './as-path.js'
import { atomicAggregateSpec, localPrefSpec, multiExitDiscSpec, nextHopSpec } from './basic.js'
import { communitiesSpec, extendedCommunitiesSpec, largeCommunitySpec } from './communities.js'
import { mpReachNlriSpec, mpUnreachNlriSpec } from './mp.js'
import { originSpec } from './origin.js'
import { clusterListSpec, originatorIdSpec } from './reflection.js'
import type { AttrSpec } from './spec.js'
import { attrError } from './spec.js'
import type { KnownAttribute, PathAttribute } from './types.js'
import { isRawAttribute } from './types.js'

/** The table holds specs of every attribute type; each is only ever called with a value of its own type. */
type AnySpec = AttrSpec<any> // eslint-disable-line @typescript-eslint/no-explicit-any

const specs = new Map<number, AnySpec>()
for (const s of [
  originSpec, asPathSpec, nextHopSpec, multiExitDiscSpec, localPrefSpec, atomicAggregateSpec, aggregatorSpec,
  communitiesSpec, originatorIdSpec, clusterListSpec, mpReachNlriSpec, mpUnreachNlriSpec, extendedCommunitiesSpec,
  as4PathSpec, as4AggregatorSpec, largeCommunitySpec
] as AnySpec[]) specs.set(s.type, s)

/** The Optional and Transitive bits each parsed attribute is defined with. */
export const ATTRIBUTE_FLAGS: Readonly<Record<AttrType, number>> = Object.fromEntries(
  [...specs.values()].map((s) => [s.type, s.flags])
) as Record<AttrType, number>

/** The RFC name of an attribute type ('AS_PATH'), or 'attribute 99'. */
export function attributeName (type: number): string {
  return specs.get(type)?.name ?? `attribute ${type}`
}

export function isParsedAttributeType (type: number): boolean {
  return specs.has(type)
}

interface Layout { flags: number, valueLength: number }

function layout (a: PathAttribute, opts: CodecOptions): Layout {
  let flags: number
  let valueLength: number
  if (isRawAttribute(a)) {
    if (!Number.isInteger(a.type) || a.type < 0 || a.type > 255 || !Number.isInteger(a.flags) || a.flags < 0 || a.flags > 255) {
      throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `raw attribute type ${String(a.type)} flags ${String(a.flags)}`)
    }
    valueLength = a.raw.length
    flags = a.flags
  } else {
    const spec = specs.get(a.type)
    if (spec === undefined) throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `attribute type ${String(a.type)} has no codec: use a RawAttribute`)
    valueLength = spec.valueLength(a, opts)
    flags = spec.flags | (a.partial === true ? AttrFlag.Partial : 0) | (a.extendedLength === true ? AttrFlag.ExtendedLength : 0)
  }
  if (valueLength > 0xffff) throw new BgpEncodeError('BGP_ERR_ENCODE_TOO_LONG', `${attributeName(a.type)} value of ${valueLength} bytes exceeds 65535`)
  if (valueLength > 255) flags |= AttrFlag.ExtendedLength
  return { flags, valueLength }
}

export function attributeEncodingLength (a: PathAttribute, opts: CodecOptions): number {
  const l = layout(a, opts)
  return ((l.flags & AttrFlag.ExtendedLength) !== 0 ? 4 : 3) + l.valueLength
}

/** Writes the whole TLV; returns the bytes written. */
export function writeAttribute (a: PathAttribute, buf: Uint8Array, offset: number, opts: CodecOptions): number {
  const l = layout(a, opts)
  buf[offset] = l.flags
  buf[offset + 1] = a.type
  let o = offset + 2
  if ((l.flags & AttrFlag.ExtendedLength) !== 0) { w16(buf, o, l.valueLength); o += 2 } else buf[o++] = l.valueLength
  if (isRawAttribute(a)) buf.set(a.raw, o)
  else (specs.get(a.type) as AnySpec).write(a, buf, o, opts)
  return o + l.valueLength - offset
}

export interface AttributeHeader {
  flags: number
  type: number
  /** 3, or 4 with Extended Length. */
  headerLength: number
  /** The value's length. */
  length: number
}

/**
 * Reads a TLV header at `offset`, never past `end`. Returns a reason instead when the header or the value it
 * announces does not fit (RFC 7606 §4, the attribute framing errors).
 */
export function readAttributeHeader (buf: Uint8Array, offset: number, end: number): AttributeHeader | string {
  const left = end - offset
  if (left < 3) return `${left} octets left, too few for an attribute header`
  const flags = buf[offset] as number
  const type = buf[offset + 1] as number
  const ext = (flags & AttrFlag.ExtendedLength) !== 0
  if (ext && left < 4) return `${left} octets left, too few for an extended-length attribute header`
  const length = ext ? u16(buf, offset + 2) : buf[offset + 2] as number
  const headerLength = ext ? 4 : 3
  if (headerLength + length > left) return `${attributeName(type)} of length ${length} overruns the path attributes by ${headerLength + length - left} octets`
  return { flags, type, headerLength, length }
}

export function framingError (reason: string): BgpMessageError {
  return new BgpMessageError('BGP_ERR_ATTR_FRAMING', `attribute framing error: ${reason}`, {
    code: NotificationCode.UpdateMessageError, subcode: UpdateMessageErrorSubcode.MalformedAttributeList, handling: 'treat-as-withdraw'
  })
}

/**
 * Decodes the attribute whose header `h` was read at `offset`. Throws `BgpMessageError` with the attribute's RFC
 * 7606 handling when it is malformed. `ignoreFlags` skips the Optional/Transitive check (the caller reports it).
 */
export function decodeAttribute (
  h: AttributeHeader, buf: Uint8Array, offset: number, opts: CodecOptions, ignoreFlags = false
): PathAttribute {
  const start = offset + h.headerLength
  const value = buf.subarray(start, start + h.length)
  const ctx = { opts, flags: h.flags, attr: buf.subarray(offset, start + h.length) }
  const spec = specs.get(h.type)
  if (spec === undefined) {
    if ((h.flags & AttrFlag.Optional) === 0) {
      throw attrError('BGP_ERR_ATTR_UNRECOGNIZED', UpdateMessageErrorSubcode.UnrecognizedWellKnownAttribute, 'treat-as-withdraw', h.type, ctx,
        `unrecognized well-known attribute ${h.type}`)
    }
    return { type: h.type, flags: h.flags, raw: copyBytes(value, 0, value.length) }
  }
  // RFC 7606 §3(c): Optional/Transitive bits in conflict with the definition make the attribute malformed.
  if (!ignoreFlags && (h.flags & (AttrFlag.Optional | AttrFlag.Transitive)) !== spec.flags) {
    throw attrError('BGP_ERR_ATTR_FLAGS', UpdateMessageErrorSubcode.AttributeFlagsError, 'treat-as-withdraw', h.type, ctx,
      `${spec.name} has flags 0x${h.flags.toString(16).padStart(2, '0')}, defined as 0x${spec.flags.toString(16).padStart(2, '0')}`)
  }
  const a = spec.read(value, ctx) as PathAttribute
  if (isRawAttribute(a)) return a
  const known = a as KnownAttribute
  if ((h.flags & AttrFlag.Partial) !== 0) known.partial = true
  if ((h.flags & AttrFlag.ExtendedLength) !== 0 && h.length <= 255) known.extendedLength = true
  return known
}

/** One path attribute TLV under `opts`. A malformed one throws the error with its RFC 7606 handling. */
export function pathAttributeCodec (opts: CodecOptions = DEFAULT_OPTIONS): Codec<PathAttribute> {
  return defineCodec<PathAttribute>({
    encodingLength: (a) => attributeEncodingLength(a, opts),
    write: (a, buf, offset) => { writeAttribute(a, buf, offset, opts) },
    read (buf, offset) {
      const h = readAttributeHeader(buf, offset, buf.length)
      if (typeof h === 'string') throw framingError(h)
      return { value: decodeAttribute(h, buf, offset, opts), bytes: h.headerLength + h.length }
    }
  })
}
