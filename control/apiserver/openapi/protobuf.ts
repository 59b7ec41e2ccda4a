/**
 * A minimal protocol-buffers writer (proto3 wire format): varints (wire type
 * 0) and length-delimited fields (wire type 2). Enough for gnostic's
 * OpenAPIv2 Document, which has no fixed-width fields we emit.
 * Proto3 rule: scalar fields equal to their default ('' / false / 0) are not written.
 */

export class ProtoWriter {
  #chunks: Uint8Array[] = []
  #length = 0

  get length (): number { return this.#length }

  #push (b: Uint8Array): void { this.#chunks.push(b); this.#length += b.length }

  #varint (n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint out of range: ${n}`)
    const bytes: number[] = []
    let v = n
    while (v >= 0x80) {
      bytes.push((v % 0x80) | 0x80)
      v = Math.floor(v / 0x80)
    }
    bytes.push(v)
    this.#push(Uint8Array.from(bytes))
  }

  #tag (field: number, wireType: 0 | 2): void { this.#varint(field * 8 + wireType) }

  /** A length-delimited field holding raw bytes (an encoded message or a string's UTF-8). */
  bytes (field: number, b: Uint8Array): this {
    this.#tag(field, 2)
    this.#varint(b.length)
    this.#push(b)
    return this
  }

  string (field: number, s: string | undefined): this {
    if (s === undefined || s === '') return this
    return this.bytes(field, new TextEncoder().encode(s))
  }

  strings (field: number, ss: readonly string[] | undefined): this {
    // Repeated strings are written even when empty-valued, one field each.
    for (const s of ss ?? []) this.bytes(field, new TextEncoder().encode(s))
    return this
  }

  bool (field: number, b: boolean | undefined): this {
    if (b !== true) return this
    this.#tag(field, 0)
    this.#varint(1)
    return this
  }

  /** A bool written even when false (a oneof member must be present to be selected). */
  boolAlways (field: number, b: boolean): this {
    this.#tag(field, 0)
    this.#varint(b ? 1 : 0)
    return this
  }

  int (field: number, n: number | undefined): this {
    if (n === undefined || n === 0) return this
    this.#tag(field, 0)
    this.#varint(n)
    return this
  }

  /** An embedded message; written even when empty (presence matters for message fields). */
  message (field: number, m: ProtoWriter | undefined): this {
    if (m === undefined) return this
    return this.bytes(field, m.finish())
  }

  finish (): Uint8Array {
    const out = new Uint8Array(this.#length)
    let off = 0
    for (const c of this.#chunks) { out.set(c, off); off += c.length }
    return out
  }
}
