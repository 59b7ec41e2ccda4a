/**
 * NOTIFICATION (RFC 4271 §4.5): Error code(1) | Error subcode(1) | Data, and the shutdown communication that
 * Cease/Administrative Shutdown and Cease/Administrative Reset may carry as their Data (RFC 9003 §2:
 * `length(1) | UTF-8 text`, up to 255 octets; RFC 8203 allowed 128).
 */
import { copyBytes, strictUtf8Decoder, utf8Encoder } from './codec.js'
import { MessageType } from './constants.js'
import { BgpEncodeError } from './errors.js'
import type { NotificationFields } from './errors.js'
import { CeaseSubcode, NotificationCode, notificationName } from './notification-codes.js'

export interface NotificationMessage {
  type: MessageType.Notification
  /** A `NotificationCode`. */
  code: number
  /** One of the subcode enums of `code`. */
  subcode: number
  data: Uint8Array
}

export function notificationBodyLength (v: NotificationMessage): number {
  return 2 + v.data.length
}

export function writeNotificationBody (v: NotificationMessage, buf: Uint8Array, offset: number): number {
  if (!Number.isInteger(v.code) || v.code < 0 || v.code > 255 || !Number.isInteger(v.subcode) || v.subcode < 0 || v.subcode > 255) {
    throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `NOTIFICATION code ${String(v.code)}/${String(v.subcode)}`)
  }
  buf[offset] = v.code
  buf[offset + 1] = v.subcode
  buf.set(v.data, offset + 2)
  return 2 + v.data.length
}

export function readNotificationBody (body: Uint8Array): NotificationMessage {
  return { type: MessageType.Notification, code: body[0] as number, subcode: body[1] as number, data: copyBytes(body, 2, body.length) }
}

/** A NOTIFICATION message from the fields a `BgpMessageError` carries. */
export function notificationMessage (n: NotificationFields): NotificationMessage {
  return { type: MessageType.Notification, code: n.code, subcode: n.subcode, data: n.data }
}

/** RFC 9003 §2 */
export const MAX_SHUTDOWN_COMMUNICATION = 255

function carriesShutdownCommunication (code: number, subcode: number): boolean {
  return code === NotificationCode.Cease &&
    (subcode === CeaseSubcode.AdministrativeShutdown || subcode === CeaseSubcode.AdministrativeReset)
}

/** The Data of a Cease/2 or Cease/4 carrying `message` (empty: length 0, "no message"). */
export function encodeShutdownCommunication (message: string): Uint8Array {
  const text = utf8Encoder.encode(message)
  if (text.length > MAX_SHUTDOWN_COMMUNICATION) {
    throw new BgpEncodeError('BGP_ERR_ENCODE_TOO_LONG', `shutdown communication of ${text.length} bytes exceeds ${MAX_SHUTDOWN_COMMUNICATION}`)
  }
  const out = new Uint8Array(1 + text.length)
  out[0] = text.length
  out.set(text, 1)
  return out
}

/** A Cease NOTIFICATION; `message` goes in as a shutdown communication (Administrative Shutdown or Reset only). */
export function ceaseNotification (subcode: CeaseSubcode, message?: string): NotificationMessage {
  let data: Uint8Array = new Uint8Array(0)
  if (message !== undefined) {
    if (!carriesShutdownCommunication(NotificationCode.Cease, subcode)) {
      throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `Cease subcode ${subcode} carries no shutdown communication`)
    }
    data = encodeShutdownCommunication(message)
  }
  return { type: MessageType.Notification, code: NotificationCode.Cease, subcode, data }
}

export type ShutdownCommunication =
  | { valid: true, message: string }
  /** RFC 9003 §4: log that it was malformed (the data at most as hex), never the text as if it were valid. */
  | { valid: false, reason: string }

/**
 * The shutdown communication of a Cease/Administrative Shutdown or Reset, or undefined when the NOTIFICATION is
 * not one or carries no Data. Octets after the communication are ignored.
 */
export function shutdownCommunication (n: { code: number, subcode: number, data: Uint8Array }): ShutdownCommunication | undefined {
  if (!carriesShutdownCommunication(n.code, n.subcode) || n.data.length === 0) return undefined
  const len = n.data[0] as number
  if (1 + len > n.data.length) return { valid: false, reason: `length ${len} overruns the ${n.data.length - 1} octets that follow` }
  try {
    return { valid: true, message: strictUtf8Decoder.decode(n.data.subarray(1, 1 + len)) }
  } catch {
    return { valid: false, reason: 'invalid UTF-8' }
  }
}

function hex (b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
}

/** One line for logs: 'Cease/Administrative Shutdown: "maintenance"', 'UPDATE Message Error/Malformed AS_PATH (data 40020...)'. */
export function describeNotification (n: { code: number, subcode: number, data: Uint8Array }): string {
  const name = notificationName(n.code, n.subcode)
  const sc = shutdownCommunication(n)
  // Control characters are escaped by JSON.stringify, so a message cannot forge log lines.
  if (sc?.valid === true) return sc.message === '' ? name : `${name}: ${JSON.stringify(sc.message)}`
  if (sc !== undefined) return `${name} (malformed shutdown communication, ${sc.reason}: ${hex(n.data)})`
  return n.data.length > 0 ? `${name} (data ${hex(n.data)})` : name
}
