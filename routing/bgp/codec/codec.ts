/**
 * The shape every wire structure shares (STYLE.md convention 2, after
 * dns-packet's abstract-encoding): `encodingLength`, `encode` and `decode`.
 * Codecs whose layout depends on what the session negotiated are made by a
 * factory taking `CodecOptions` (options.ts); the others are plain objects.
 */
import { BgpEncodeError } from './errors.js'

export interface Decoded<T> {
  value: T
  /** How many bytes of `buf`, from `offset`, the value took. */
  bytes: number
}

export interface Codec<T> {
  /** Bytes `encode(value)` writes. May throw `BgpEncodeError` for a value that cannot be encoded (`encode` always does). */
  encodingLength (value: T): number
  /**
   * Writes `value` at `offset` of `buf` (a new buffer of exactly `encodingLength(value)` bytes when `buf` is absent)
   * and returns `buf`. Throws `BgpEncodeError` when `value` cannot be encoded or `buf` is too small.
   */
  encode (value: T, buf?: Uint8Array, offset?: number): Uint8Array
  /**
   * Reads one value at `offset`, never past the end of `buf`: callers that decode a field of a larger structure pass
   * a subarray ending where the field ends. Throws `BgpMessageError` on malformed input, and nothing else.
   */
  decode (buf: Uint8Array, offset?: number): Decoded<T>
}

/** The two halves a codec is built from: `write` may assume `buf` holds `encodingLength(value)` bytes at `offset`. */
export interface CodecParts<T> {
  encodingLength (value: T): number
  write (value: T, buf: Uint8Array, offset: number): void
  read (buf: Uint8Array, offset: number): Decoded<T>
}

export function defineCodec<T> (parts: CodecParts<T>): Codec<T> {
  return {
    encodingLength: parts.encodingLength,
    encode (value: T, buf?: Uint8Array, offset = 0): Uint8Array {
      const len = parts.encodingLength(value)
      const out = buf ?? new Uint8Array(offset + len)
      if (offset < 0 || offset + len > out.length) {
        throw new BgpEncodeError('BGP_ERR_ENCODE_BUFFER', `${len} bytes do not fit at offset ${offset} of a ${out.length}-byte buffer`)
      }
      parts.write(value, out, offset)
      return out
    },
    decode (buf: Uint8Array, offset = 0): Decoded<T> {
      return parts.read(buf, offset)
    }
  }
}

// Big-endian reads. Callers check bounds first; the casts only tell the compiler what that check established.
export function u8 (b: Uint8Array, o: number): number { return b[o] as number }
export function u16 (b: Uint8Array, o: number): number { return ((b[o] as number) << 8) | (b[o + 1] as number) }
export function u24 (b: Uint8Array, o: number): number {
  return ((b[o] as number) << 16) | ((b[o + 1] as number) << 8) | (b[o + 2] as number)
}
export function u32 (b: Uint8Array, o: number): number {
  // `<< 24` would overflow into the sign bit: multiply instead.
  return (b[o] as number) * 0x1000000 + (((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number))
}

export function w8 (b: Uint8Array, o: number, v: number): void { b[o] = v & 0xff }
export function w16 (b: Uint8Array, o: number, v: number): void { b[o] = (v >>> 8) & 0xff; b[o + 1] = v & 0xff }
export function w24 (b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 16) & 0xff; b[o + 1] = (v >>> 8) & 0xff; b[o + 2] = v & 0xff
}
export function w32 (b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff; b[o + 1] = (v >>> 16) & 0xff; b[o + 2] = (v >>> 8) & 0xff; b[o + 3] = v & 0xff
}

/** A copy (never a view) as a plain Uint8Array, so decoded values do not alias a buffer the caller may reuse. */
export function copyBytes (b: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(b.subarray(start, end))
}

/** Throws `BGP_ERR_ENCODE_INVALID` unless `v` is an integer in [min, max]. */
export function checkUint (v: number, max: number, what: string, min = 0): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `${what} ${String(v)} is not an integer in [${min}, ${max}]`)
  }
}

export const utf8Encoder = new TextEncoder()
/** Throws TypeError on invalid UTF-8. */
export const strictUtf8Decoder = new TextDecoder('utf-8', { fatal: true })
