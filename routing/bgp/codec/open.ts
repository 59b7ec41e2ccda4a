/**
 * OPEN (RFC 4271 §4.2): Version(1)=4 | My AS(2) | Hold Time(2) | BGP Identifier(4) | Opt Parm Len(1) | Optional
 * Parameters, each `type(1) length(1) value`. RFC 9072 §2: when Opt Parm Len and the next octet are both 255, a
 * 2-octet Extended Opt Parm Len follows and every parameter has a 2-octet length.
 *
 * Only the syntax is checked here. What depends on local configuration (peer AS, hold time floor, our BGP
 * Identifier, parameters we do not support) is `validateOpen()` in validate.ts.
 */
import { ip } from '../../../kernel/index.js'
import type { Capability, KnownCapability } from './capabilities.js'
import { capabilityEncodingLength, malformedOpen, readCapability, writeCapability } from './capabilities.js'
import { checkUint, copyBytes, u16, w16 } from './codec.js'
import { BGP_VERSION, CapabilityCode, MessageType, OptionalParameterType } from './constants.js'
import { BgpEncodeError, BgpMessageError } from './errors.js'
import { badLength } from './header.js'
import { NotificationCode, OpenMessageErrorSubcode } from './notification-codes.js'

export interface CapabilitiesParameter {
  type: OptionalParameterType.Capabilities
  capabilities: Capability[]
}

/** An optional parameter of another type (RFC 4271 §6.2: the receiver answers Unsupported Optional Parameter). */
export interface RawParameter {
  type: number
  raw: Uint8Array
}

export type OptionalParameter = CapabilitiesParameter | RawParameter

export interface OpenMessage {
  type: MessageType.Open
  /** The 2-octet My AS field: AS_TRANS (23456) when the speaker's AS is above 65535 (RFC 6793 §4.1). */
  myAs: number
  /** Seconds: 0, or at least 3 (checked by validateOpen). */
  holdTime: number
  /** Dotted quad. */
  bgpId: string
  /** In wire order. Capabilities may share one parameter or have one each; both forms are kept as received. */
  parameters: OptionalParameter[]
  /**
   * RFC 9072: true when the parameters came in the extended form. Encoding uses that form when this is true or
   * when the parameters need it (more than 255 bytes, or one parameter over 255).
   */
  extendedParameters?: boolean
}

export function isRawParameter (p: OptionalParameter): p is RawParameter {
  return 'raw' in p
}

/** Every capability of an OPEN, across its parameters, in wire order. */
export function capabilitiesOf (open: OpenMessage): Capability[] {
  const out: Capability[] = []
  for (const p of open.parameters) if (!isRawParameter(p)) out.push(...p.capabilities)
  return out
}

/** The first capability with `code`, typed by it. */
export function findCapability<C extends CapabilityCode> (
  open: OpenMessage, code: C
): Extract<KnownCapability, { code: C }> | undefined {
  for (const c of capabilitiesOf(open)) if (c.code === code && !('raw' in c)) return c as Extract<KnownCapability, { code: C }>
  return undefined
}

/** The peer's real AS: the 4-octet AS capability's when present (RFC 6793 §4.1), else My AS. */
export function speakerAs (open: OpenMessage): number {
  return findCapability(open, CapabilityCode.FourOctetAs)?.asn ?? open.myAs
}

function parameterValueLength (p: OptionalParameter): number {
  if (isRawParameter(p)) return p.raw.length
  let n = 0
  for (const c of p.capabilities) n += capabilityEncodingLength(c)
  return n
}

interface ParamLayout { extended: boolean, total: number, values: number[] }

function layout (v: OpenMessage): ParamLayout {
  const values = v.parameters.map((p) => { checkUint(p.type, 255, 'optional parameter type'); return parameterValueLength(p) })
  let compact = 0
  let needsExtended = false
  for (const n of values) { compact += 2 + n; if (n > 255) needsExtended = true }
  // RFC 9072 §2: "a BGP speaker SHOULD use the extended form only if needed"; keep it when the value asks for it.
  const extended = v.extendedParameters === true || needsExtended || compact > 255
  const total = extended ? compact + values.length : compact
  if (total > 0xffff) throw new BgpEncodeError('BGP_ERR_ENCODE_TOO_LONG', `optional parameters of ${total} bytes`)
  return { extended, total, values }
}

export function openBodyLength (v: OpenMessage): number {
  const l = layout(v)
  return 10 + (l.extended ? 3 : 0) + l.total
}

export function writeOpenBody (v: OpenMessage, buf: Uint8Array, offset: number): number {
  checkUint(v.myAs, 0xffff, 'My AS')
  checkUint(v.holdTime, 0xffff, 'hold time')
  if (ip.familyOf(v.bgpId) !== 4) throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `BGP Identifier "${String(v.bgpId)}" is not a dotted quad`)
  const l = layout(v)
  let o = offset
  buf[o++] = BGP_VERSION
  w16(buf, o, v.myAs); o += 2
  w16(buf, o, v.holdTime); o += 2
  buf.set(ip.toBytes(v.bgpId), o); o += 4
  if (l.extended) {
    buf[o++] = 255
    buf[o++] = OptionalParameterType.ExtendedLength
    w16(buf, o, l.total); o += 2
  } else {
    buf[o++] = l.total
  }
  v.parameters.forEach((p, i) => {
    const n = l.values[i] as number
    buf[o++] = p.type
    if (l.extended) { w16(buf, o, n); o += 2 } else buf[o++] = n
    if (isRawParameter(p)) {
      buf.set(p.raw, o); o += n
    } else {
      for (const c of p.capabilities) o += writeCapability(c, buf, o)
    }
  })
  return o - offset
}

/** Decodes an OPEN body (`body` holds exactly the octets after the header). */
export function readOpenBody (body: Uint8Array, messageLength: number): OpenMessage {
  // RFC 4271 §6.2: "If the version number ... is not supported ... the Data field is a 2-octet unsigned integer,
  // which indicates the largest, locally-supported version number less than the version the remote BGP peer bid".
  const version = body[0] as number
  if (version !== BGP_VERSION) {
    throw new BgpMessageError('BGP_ERR_OPEN_VERSION', `unsupported BGP version ${version}`, {
      code: NotificationCode.OpenMessageError, subcode: OpenMessageErrorSubcode.UnsupportedVersionNumber, data: Uint8Array.of(0, BGP_VERSION)
    })
  }
  const value: OpenMessage = {
    type: MessageType.Open,
    myAs: u16(body, 1),
    holdTime: u16(body, 3),
    bgpId: ip.fromBytes(body.subarray(5, 9)),
    parameters: []
  }
  let start = 10
  let extended = false
  let total = body[9] as number
  if (total === 255 && body.length > 10 && body[10] === OptionalParameterType.ExtendedLength) {
    if (body.length < 13) throw badLength(messageLength, 'extended optional parameters length truncated')
    extended = true
    total = u16(body, 11)
    start = 13
  }
  if (start + total !== body.length) {
    throw badLength(messageLength, `optional parameters length ${total} does not match the message`)
  }
  const hdr = extended ? 3 : 2
  let o = start
  while (o < body.length) {
    if (body.length - o < hdr) throw malformedOpen('optional parameter header truncated')
    const type = body[o] as number
    const len = extended ? u16(body, o + 1) : body[o + 1] as number
    o += hdr
    if (o + len > body.length) throw malformedOpen(`optional parameter ${type} of length ${len} overruns the parameters`)
    if (type === OptionalParameterType.Capabilities) {
      const capabilities: Capability[] = []
      let c = o
      while (c < o + len) {
        const r = readCapability(body, c, o + len)
        capabilities.push(r.value)
        c += r.bytes
      }
      value.parameters.push({ type, capabilities })
    } else {
      value.parameters.push({ type, raw: copyBytes(body, o, o + len) })
    }
    o += len
  }
  if (extended) value.extendedParameters = true
  return value
}
