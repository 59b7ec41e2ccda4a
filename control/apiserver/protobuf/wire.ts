/**
 * Protocol-buffers wire format (https://protobuf.dev/programming-guides/encoding/): a bounds-checked
 * reader and a writer. Varints are read as bigint (int64 needs all 64 bits and two's complement);
 * every length is checked against the bytes left before anything is read.
 */
import { ProtobufError } from './errors.js'

export const WIRE_VARINT = 0
export const WIRE_FIXED64 = 1
export const WIRE_LEN = 2
export const WIRE_FIXED32 = 5

const malformed = (what: string): ProtobufError => new ProtobufError('CTRL_ERR_PROTO_MALFORMED', what)

export interface Tag { field: number, wire: number }

export class Reader {
  #pos: number
  readonly #end: number
  constructor (readonly buf: Uint8Array, start = 0, end = buf.length) {
    this.#pos = start
    this.#end = end
  }

  get done (): boolean { return this.#pos >= this.#end }
  get pos (): number { return this.#pos }

  /** A base-128 varint of at most 10 bytes (64 bits), as an unsigned bigint. */
  varint (): bigint {
    let result = 0n
    let shift = 0n
    for (let i = 0; i < 10; i++) {
      if (this.#pos >= this.#end) throw malformed(`truncated varint at offset ${this.#pos}`)
      const b = this.buf[this.#pos++] as number
      result |= BigInt(b & 0x7f) << shift
      if (b < 0x80) return BigInt.asUintN(64, result)
      shift += 7n
    }
    throw malformed(`varint longer than 10 bytes at offset ${this.#pos}`)
  }

  /**
   * A varint as a number, for tags and lengths: a fast path over at most 4 bytes (28 bits), else
   * the full 64-bit read (callers compare the result with what is left, so precision past 2^53
   * does not matter).
   */
  #small (): number {
    let v = 0
    for (let i = 0, p = this.#pos; i < 4 && p < this.#end; i++, p++) {
      const b = this.buf[p] as number
      v |= (b & 0x7f) << (7 * i)
      if (b < 0x80) { this.#pos = p + 1; return v }
    }
    return Number(this.varint())
  }

  tag (): Tag {
    const v = this.#small()
    const field = Math.floor(v / 8)
    const wire = v % 8
    if (field === 0 || field > 0x1fffffff) throw malformed(`invalid field number ${field} at offset ${this.#pos}`)
    if (wire !== WIRE_VARINT && wire !== WIRE_FIXED64 && wire !== WIRE_LEN && wire !== WIRE_FIXED32) throw malformed(`unsupported wire type ${wire} (groups are not used by Kubernetes) at offset ${this.#pos}`)
    return { field, wire }
  }

  /** A length-delimited payload (a view, not a copy). */
  bytes (): Uint8Array {
    const n = this.#small()
    if (n > this.#end - this.#pos) throw malformed(`length ${n} at offset ${this.#pos} runs past the end (${this.#end - this.#pos} bytes left)`)
    const out = this.buf.subarray(this.#pos, this.#pos + n)
    this.#pos += n
    return out
  }

  fixed (n: 4 | 8): Uint8Array {
    if (this.#end - this.#pos < n) throw malformed(`truncated fixed${n * 8} at offset ${this.#pos}`)
    const out = this.buf.subarray(this.#pos, this.#pos + n)
    this.#pos += n
    return out
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false })
const utf8enc = new TextEncoder()

/** Go's proto2 strings are not validated; encoding/json then writes invalid UTF-8 as U+FFFD, as this does. */
export const decodeUtf8 = (b: Uint8Array): string => utf8.decode(b)
export const encodeUtf8 = (s: string): Uint8Array => utf8enc.encode(s)

export class Writer {
  #chunks: Uint8Array[] = []
  #length = 0

  #push (b: Uint8Array): void { this.#chunks.push(b); this.#length += b.length }

  /** An unsigned or negative (two's complement, 10 bytes) integer as a varint. */
  varint (n: bigint | number): this {
    let v = BigInt.asUintN(64, BigInt(n))
    const out: number[] = []
    while (v >= 0x80n) { out.push(Number(v & 0x7fn) | 0x80); v >>= 7n }
    out.push(Number(v))
    this.#push(Uint8Array.from(out))
    return this
  }

  tag (field: number, wire: number): this { return this.varint(field * 8 + wire) }

  bytes (field: number, b: Uint8Array): this {
    this.tag(field, WIRE_LEN).varint(b.length)
    this.#push(b)
    return this
  }

  finish (): Uint8Array {
    const out = new Uint8Array(this.#length)
    let o = 0
    for (const c of this.#chunks) { out.set(c, o); o += c.length }
    return out
  }
}
