/**
 * The message header (RFC 4271 §4.1): Marker(16) all ones | Length(2) incl. header | Type(1).
 * Checks follow RFC 4271 §6.1 in its order: marker, then length, then type; then the per-type bounds.
 */
import type { Codec } from './codec.js'
import { checkUint, defineCodec, u16, w16 } from './codec.js'
import {
  HEADER_LENGTH, MARKER_LENGTH, MAX_EXTENDED_MESSAGE_LENGTH, MIN_MESSAGE_LENGTH, MessageType
} from './constants.js'
import { BgpMessageError } from './errors.js'
import { MessageHeaderErrorSubcode, NotificationCode } from './notification-codes.js'
import type { CodecOptions } from './options.js'
import { DEFAULT_OPTIONS, maxMessageLength } from './options.js'

export interface MessageHeader {
  /** The whole message's length, header included. */
  length: number
  type: number
}

export function truncated (what: string, need: number, have: number): BgpMessageError {
  return new BgpMessageError('BGP_ERR_TRUNCATED', `${what}: need ${need} bytes, the buffer has ${have}`, {
    code: NotificationCode.MessageHeaderError, subcode: MessageHeaderErrorSubcode.BadMessageLength
  })
}

export function badLength (length: number, why: string): BgpMessageError {
  const data = new Uint8Array(2)
  w16(data, 0, length)
  return new BgpMessageError('BGP_ERR_MESSAGE_LENGTH', `bad message length ${length}: ${why}`, {
    code: NotificationCode.MessageHeaderError, subcode: MessageHeaderErrorSubcode.BadMessageLength, data
  })
}

/**
 * Marker and generic length bounds only: what a stream framer can check before the body arrives. `maxLength` is
 * 4096, or 65535 once extended messages are negotiated. Needs `HEADER_LENGTH` bytes at `offset`.
 */
export function peekHeader (buf: Uint8Array, offset: number, maxLength: number): MessageHeader {
  if (buf.length - offset < HEADER_LENGTH) throw truncated('message header', HEADER_LENGTH, buf.length - offset)
  // RFC 4271 §6.1: "If the Marker field of the message header is not as expected, then a synchronization error has
  // occurred".
  for (let i = 0; i < MARKER_LENGTH; i++) {
    if (buf[offset + i] !== 0xff) {
      throwMarker()
    }
  }
  const length = u16(buf, offset + MARKER_LENGTH)
  if (length < HEADER_LENGTH) throw badLength(length, `below the ${HEADER_LENGTH}-byte header`)
  if (length > maxLength) throw badLength(length, `above the ${maxLength}-byte limit`)
  return { length, type: buf[offset + MARKER_LENGTH + 2] as number }
}

function throwMarker (): never {
  throw new BgpMessageError('BGP_ERR_MARKER', 'connection not synchronized: the marker is not all ones', {
    code: NotificationCode.MessageHeaderError, subcode: MessageHeaderErrorSubcode.ConnectionNotSynchronized
  })
}

export function isMessageType (type: number): type is MessageType {
  return type >= MessageType.Open && type <= MessageType.RouteRefresh
}

/** All of RFC 4271 §6.1, including the type and its bounds (OPEN and KEEPALIVE stay within 4096, RFC 8654 §4). */
export function checkHeader (buf: Uint8Array, offset: number, opts: CodecOptions): MessageHeader {
  const h = peekHeader(buf, offset, maxMessageLength(opts))
  if (!isMessageType(h.type)) {
    throw new BgpMessageError('BGP_ERR_MESSAGE_TYPE', `bad message type ${h.type}`, {
      code: NotificationCode.MessageHeaderError, subcode: MessageHeaderErrorSubcode.BadMessageType, data: Uint8Array.of(h.type)
    })
  }
  const min = MIN_MESSAGE_LENGTH[h.type]
  if (h.length < min) throw badLength(h.length, `below the ${min}-byte minimum of message type ${h.type}`)
  if (h.type === MessageType.Keepalive && h.length !== HEADER_LENGTH) throw badLength(h.length, 'a KEEPALIVE is header only')
  const max = maxMessageLength(opts, h.type)
  if (h.length > max) throw badLength(h.length, `above the ${max}-byte limit of message type ${h.type}`)
  return h
}

export function writeHeader (buf: Uint8Array, offset: number, h: MessageHeader): void {
  checkUint(h.length, MAX_EXTENDED_MESSAGE_LENGTH, 'message length', HEADER_LENGTH)
  checkUint(h.type, 255, 'message type')
  buf.fill(0xff, offset, offset + MARKER_LENGTH)
  w16(buf, offset + MARKER_LENGTH, h.length)
  buf[offset + MARKER_LENGTH + 2] = h.type
}

/** The header alone. `decode` applies every check of RFC 4271 §6.1 under `opts`. */
export function headerCodec (opts: CodecOptions = DEFAULT_OPTIONS): Codec<MessageHeader> {
  return defineCodec<MessageHeader>({
    encodingLength: () => HEADER_LENGTH,
    write: (h, buf, offset) => { writeHeader(buf, offset, h) },
    read: (buf, offset) => ({ value: checkHeader(buf, offset, opts), bytes: HEADER_LENGTH })
  })
}
