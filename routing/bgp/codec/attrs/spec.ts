/**
 * How each known attribute is described to the TLV layer (attribute.ts): its defined flags and its value codec.
 * `read` gets exactly the value octets and throws `BgpMessageError` with the RFC 7606 handling of that attribute.
 */
import type { AttrType } from '../constants.js'
import type { ErrorHandling } from '../errors.js'
import { BgpMessageError } from '../errors.js'
import type { BgpMessageErrorCode } from '../errors.js'
import { NotificationCode, UpdateMessageErrorSubcode } from '../notification-codes.js'
import type { CodecOptions } from '../options.js'
import type { KnownAttribute, RawAttribute } from './types.js'

export interface ReadContext {
  opts: CodecOptions
  /** The whole attribute (flags, type, length, value): the Data of an UPDATE Message Error (RFC 4271 §6.3). */
  attr: Uint8Array
  /** The flags octet as received. */
  flags: number
}

export interface AttrSpec<A extends KnownAttribute> {
  type: AttrType
  name: string
  /** The Optional and Transitive bits the RFC defines. */
  flags: number
  valueLength (a: A, opts: CodecOptions): number
  write (a: A, buf: Uint8Array, offset: number, opts: CodecOptions): void
  /** Only MP_REACH_NLRI/MP_UNREACH_NLRI return a `RawAttribute`, for families this codec does not parse. */
  read (v: Uint8Array, ctx: ReadContext): A | RawAttribute
}

export function attrError (
  code: BgpMessageErrorCode, subcode: UpdateMessageErrorSubcode, handling: ErrorHandling, type: number, ctx: ReadContext, message: string
): BgpMessageError {
  return new BgpMessageError(code, message, {
    code: NotificationCode.UpdateMessageError, subcode, data: new Uint8Array(ctx.attr), handling, attrType: type
  })
}

/** RFC 7606 §7: a length the attribute's definition does not allow. */
export function lengthError (spec: { type: number, name: string }, len: number, handling: ErrorHandling, ctx: ReadContext): BgpMessageError {
  return attrError('BGP_ERR_ATTR_LENGTH', UpdateMessageErrorSubcode.AttributeLengthError, handling, spec.type, ctx,
    `${spec.name} attribute has invalid length ${len}`)
}
