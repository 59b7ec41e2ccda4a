/**
 * Errors of the BGP codec, with stable codes (docs/bgp-codec.md, checked by errors.test.ts).
 *
 * `BgpMessageError` is what decoding and validation raise: it carries the NOTIFICATION the RFCs require
 * (`notification`, ready to encode as a NOTIFICATION message) and the RFC 7606 reaction (`handling`), so the FSM
 * turns it into a NOTIFICATION without interpreting it (STYLE.md convention 5). `BgpEncodeError` is what encoding
 * raises for a value that has no valid wire form; it never reaches the wire.
 */
const kBgpMessageError = Symbol.for('weft.BgpMessageError')
const kBgpEncodeError = Symbol.for('weft.BgpEncodeError')

export const bgpErrorCodes = {
  /** RFC 4271 §6.1: the marker is not all ones. */
  BGP_ERR_MARKER: 'the header marker is not all ones',
  /** RFC 4271 §6.1: the Length field is out of bounds for the message (type). */
  BGP_ERR_MESSAGE_LENGTH: 'bad message length',
  /** RFC 4271 §6.1: unknown message type. */
  BGP_ERR_MESSAGE_TYPE: 'bad message type',
  /** The buffer ends before the structure it holds does. */
  BGP_ERR_TRUNCATED: 'the buffer ends inside the message',
  /** RFC 4271 §6.2: version other than 4. */
  BGP_ERR_OPEN_VERSION: 'unsupported BGP version',
  /** RFC 5492, RFC 9072: optional parameters or a capability do not parse. */
  BGP_ERR_OPEN_MALFORMED: 'malformed optional parameter or capability',
  /** RFC 4271 §6.2, RFC 7607: the peer's AS is not the expected one, or is 0. */
  BGP_ERR_OPEN_PEER_AS: 'bad peer AS',
  /** RFC 4271 §6.2, RFC 6286 §2.2: BGP Identifier 0, or ours on iBGP. */
  BGP_ERR_OPEN_BGP_ID: 'bad BGP identifier',
  /** RFC 4271 §6.2: an optional parameter other than Capabilities. */
  BGP_ERR_OPEN_UNSUPPORTED_PARAMETER: 'unsupported optional parameter',
  /** RFC 4271 §6.2: hold time 1 or 2, or below the local minimum. */
  BGP_ERR_OPEN_HOLD_TIME: 'unacceptable hold time',
  /** RFC 5492 §3: a capability we require is missing. */
  BGP_ERR_OPEN_MISSING_CAPABILITY: 'required capability missing',
  /** RFC 4271 §6.3: Withdrawn Routes Length or Total Path Attribute Length overruns the message. */
  BGP_ERR_UPDATE_LENGTH: 'UPDATE section lengths overrun the message',
  /** RFC 4271 §6.3, RFC 7606 §5.3: a prefix in the Withdrawn Routes or NLRI field does not parse. */
  BGP_ERR_UPDATE_NLRI: 'invalid network field',
  /** RFC 7606 §4: an attribute header or length overruns the path attributes. */
  BGP_ERR_ATTR_FRAMING: 'attribute framing error',
  /** RFC 7606 §3(g): an attribute appears twice. */
  BGP_ERR_ATTR_DUPLICATE: 'duplicate attribute',
  /** RFC 7606 §3(c): Optional/Transitive flags conflict with the attribute's definition. */
  BGP_ERR_ATTR_FLAGS: 'attribute flags conflict',
  /** RFC 7606 §7: an attribute's length is wrong for its type. */
  BGP_ERR_ATTR_LENGTH: 'attribute length error',
  /** RFC 7606 §7.1: ORIGIN value undefined. */
  BGP_ERR_ATTR_ORIGIN: 'invalid ORIGIN',
  /** RFC 7606 §7.2, RFC 6793, RFC 7607: AS_PATH or AS4_PATH malformed. */
  BGP_ERR_ATTR_AS_PATH: 'malformed AS path',
  /** RFC 7607 §2: AGGREGATOR or AS4_AGGREGATOR with AS 0. */
  BGP_ERR_ATTR_AGGREGATOR: 'malformed aggregator',
  /** RFC 4760, RFC 7606 §7.11: MP_REACH_NLRI or MP_UNREACH_NLRI malformed. */
  BGP_ERR_ATTR_MP: 'malformed MP_REACH_NLRI or MP_UNREACH_NLRI',
  /** RFC 4271 §6.3, RFC 7606 §3(d): ORIGIN, AS_PATH or NEXT_HOP missing. */
  BGP_ERR_ATTR_MISSING: 'missing well-known attribute',
  /** RFC 4271 §6.3: a type we do not know without the Optional flag. */
  BGP_ERR_ATTR_UNRECOGNIZED: 'unrecognized well-known attribute',
  /** RFC 6793, RFC 7606 §7.5/7.9/7.10: an attribute the session must not carry, discarded. */
  BGP_ERR_ATTR_UNEXPECTED: 'attribute not expected on this session',
  /** RFC 4271 §6.3: NEXT_HOP (or an MP next hop) semantically invalid. */
  BGP_ERR_ATTR_NEXT_HOP: 'invalid next hop',
  /** RFC 4271 §9.1.2: our AS in AS_PATH. */
  BGP_ERR_AS_LOOP: 'AS path loop',
  /** RFC 4271 §6.3 (optional check): on eBGP the first AS is not the peer's. */
  BGP_ERR_FIRST_AS: 'first AS is not the peer AS',
  /** RFC 4456 §8: ORIGINATOR_ID is our BGP Identifier. */
  BGP_ERR_ORIGINATOR_LOOP: 'ORIGINATOR_ID loop',
  /** RFC 4456 §8: CLUSTER_LIST holds our cluster id. */
  BGP_ERR_CLUSTER_LOOP: 'CLUSTER_LIST loop',
  /** RFC 7313 §5: a BoRR/EoRR ROUTE-REFRESH of the wrong length. */
  BGP_ERR_ROUTE_REFRESH_LENGTH: 'invalid ROUTE-REFRESH length',
  /** A value to encode is out of range for its field or breaks a rule the decoder enforces. */
  BGP_ERR_ENCODE_INVALID: 'value cannot be encoded',
  /** An encoded structure would exceed its length field or the message size limit. */
  BGP_ERR_ENCODE_TOO_LONG: 'encoding too long',
  /** The buffer given to encode is too small. */
  BGP_ERR_ENCODE_BUFFER: 'buffer too small'
} as const

export type BgpErrorCode = keyof typeof bgpErrorCodes
export type BgpEncodeErrorCode = 'BGP_ERR_ENCODE_INVALID' | 'BGP_ERR_ENCODE_TOO_LONG' | 'BGP_ERR_ENCODE_BUFFER'
export type BgpMessageErrorCode = Exclude<BgpErrorCode, BgpEncodeErrorCode>

/** RFC 7606 §2: what the receiver does about an error, weakest first. */
export type ErrorHandling = 'attribute-discard' | 'treat-as-withdraw' | 'session-reset'

const strength: Record<ErrorHandling, number> = { 'attribute-discard': 1, 'treat-as-withdraw': 2, 'session-reset': 3 }

/** RFC 7606 §3(h): "the approach with the strongest action MUST be used". */
export function strongerHandling (a: ErrorHandling, b: ErrorHandling): ErrorHandling {
  return strength[a] >= strength[b] ? a : b
}

/** The body of the NOTIFICATION an error calls for. */
export interface NotificationFields {
  code: number
  subcode: number
  data: Uint8Array
}

export interface BgpMessageErrorInit {
  code: number
  subcode: number
  data?: Uint8Array
  /** Defaults to 'session-reset'. */
  handling?: ErrorHandling
  /** The path attribute the error is about, when there is one. */
  attrType?: number
  cause?: unknown
}

export class BgpMessageError extends Error {
  readonly code: BgpMessageErrorCode
  /** The NOTIFICATION to send when `handling` is 'session-reset' (RFC 4271 §6). */
  readonly notification: NotificationFields
  readonly handling: ErrorHandling
  readonly attrType: number | undefined

  constructor (code: BgpMessageErrorCode, message: string, init: BgpMessageErrorInit) {
    super(message, init.cause !== undefined ? { cause: init.cause } : undefined)
    this.name = 'BgpMessageError'
    this.code = code
    this.notification = { code: init.code, subcode: init.subcode, data: init.data ?? new Uint8Array(0) }
    this.handling = init.handling ?? 'session-reset'
    this.attrType = init.attrType
  }

  /** The same error with another handling, e.g. escalated to a session reset by RFC 7606 §5.2. */
  withHandling (handling: ErrorHandling): BgpMessageError {
    const init: BgpMessageErrorInit = { ...this.notification, handling }
    if (this.attrType !== undefined) init.attrType = this.attrType
    if (this.cause !== undefined) init.cause = this.cause
    return new BgpMessageError(this.code, this.message, init)
  }

  get [kBgpMessageError] (): true { return true }
  static override [Symbol.hasInstance] (v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kBgpMessageError] === true
  }
}

export class BgpEncodeError extends Error {
  readonly code: BgpEncodeErrorCode
  constructor (code: BgpEncodeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined)
    this.name = 'BgpEncodeError'
    this.code = code
  }

  get [kBgpEncodeError] (): true { return true }
  static override [Symbol.hasInstance] (v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kBgpEncodeError] === true
  }
}
