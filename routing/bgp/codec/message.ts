/**
 * Whole messages: the header plus one body per type, and `decodeMessage`, which either returns a message or throws
 * the `BgpMessageError` that carries the NOTIFICATION the RFCs require (for an UPDATE, only when RFC 7606 calls for
 * a session reset: lesser errors come back in the message's `errors`).
 */
import type { Codec } from './codec.js'
import { defineCodec } from './codec.js'
import { HEADER_LENGTH, MessageType } from './constants.js'
import { BgpEncodeError } from './errors.js'
import { checkHeader, truncated, writeHeader } from './header.js'
import type { NotificationMessage } from './notification.js'
import { notificationBodyLength, readNotificationBody, writeNotificationBody } from './notification.js'
import type { OpenMessage } from './open.js'
import { openBodyLength, readOpenBody, writeOpenBody } from './open.js'
import type { CodecOptions } from './options.js'
import { DEFAULT_OPTIONS, maxMessageLength } from './options.js'
import type { RouteRefreshMessage } from './route-refresh.js'
import { readRouteRefreshBody, routeRefreshBodyLength, writeRouteRefreshBody } from './route-refresh.js'
import type { UpdateMessage } from './update.js'
import { readUpdateBody, updateBodyLength, writeUpdateBody } from './update.js'

/** RFC 4271 §4.4: the header alone. */
export interface KeepaliveMessage {
  type: MessageType.Keepalive
}

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage

export const KEEPALIVE: KeepaliveMessage = Object.freeze({ type: MessageType.Keepalive })

function bodyLength (m: BgpMessage, opts: CodecOptions): number {
  switch (m.type) {
    case MessageType.Open: return openBodyLength(m)
    case MessageType.Update: return updateBodyLength(m, opts)
    case MessageType.Notification: return notificationBodyLength(m)
    case MessageType.Keepalive: return 0
    case MessageType.RouteRefresh: return routeRefreshBodyLength(m)
    default: throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `message type ${String((m as { type: unknown }).type)}`)
  }
}

function messageLength (m: BgpMessage, opts: CodecOptions): number {
  const len = HEADER_LENGTH + bodyLength(m, opts)
  const max = maxMessageLength(opts, m.type)
  // RFC 8654 §4: without Extended Message both ways an UPDATE must be split by the sender, never oversized.
  if (len > max) throw new BgpEncodeError('BGP_ERR_ENCODE_TOO_LONG', `message type ${m.type} of ${len} bytes exceeds ${max}`)
  return len
}

/** Returns the bytes written. */
function writeBody (m: BgpMessage, buf: Uint8Array, offset: number, opts: CodecOptions): number {
  switch (m.type) {
    case MessageType.Open: return writeOpenBody(m, buf, offset)
    case MessageType.Update: return writeUpdateBody(m, buf, offset, opts)
    case MessageType.Notification: return writeNotificationBody(m, buf, offset)
    case MessageType.Keepalive: return 0
    case MessageType.RouteRefresh: return writeRouteRefreshBody(m, buf, offset)
  }
}

/** Decodes the message at `offset`; the buffer must hold all of it (the Framer hands over whole messages). */
export function readMessage (buf: Uint8Array, offset: number, opts: CodecOptions): { value: BgpMessage, bytes: number } {
  const h = checkHeader(buf, offset, opts)
  if (buf.length - offset < h.length) throw truncated(`message of ${h.length} bytes`, h.length, buf.length - offset)
  const body = buf.subarray(offset + HEADER_LENGTH, offset + h.length)
  let value: BgpMessage
  switch (h.type as MessageType) {
    case MessageType.Open: value = readOpenBody(body, h.length); break
    case MessageType.Update: value = readUpdateBody(body, opts); break
    case MessageType.Notification: value = readNotificationBody(body); break
    case MessageType.Keepalive: value = { type: MessageType.Keepalive }; break
    case MessageType.RouteRefresh: value = readRouteRefreshBody(body, buf.subarray(offset, offset + h.length)); break
  }
  return { value, bytes: h.length }
}

/** Any whole message under the session's options. */
export function messageCodec (opts: CodecOptions = DEFAULT_OPTIONS): Codec<BgpMessage> {
  return defineCodec<BgpMessage>({
    encodingLength: (m) => messageLength(m, opts),
    write (m, buf, offset) {
      // `encode` has checked the length against the limit: write the body, then the header that counts it.
      const length = HEADER_LENGTH + writeBody(m, buf, offset + HEADER_LENGTH, opts)
      writeHeader(buf, offset, { length, type: m.type })
    },
    read: (buf, offset) => readMessage(buf, offset, opts)
  })
}

/** The first message in `buf`. Throws `BgpMessageError`, carrying the NOTIFICATION to send, and nothing else. */
export function decodeMessage (buf: Uint8Array, opts: CodecOptions = DEFAULT_OPTIONS): BgpMessage {
  return readMessage(buf, 0, opts).value
}

/** The wire form of `m`. Throws `BgpEncodeError` when `m` has none under `opts`. */
export function encodeMessage (m: BgpMessage, opts: CodecOptions = DEFAULT_OPTIONS): Uint8Array {
  return messageCodec(opts).encode(m)
}
