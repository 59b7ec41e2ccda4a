/**
 * HPACK (RFC 7541), as much as a gRPC client needs: a decoder for the header
 * blocks a server sends (static and dynamic tables, Huffman strings, table size
 * updates) and an encoder that writes literals without indexing, so the
 * server's decoder keeps no state of ours. Pure; errors are HpackError.
 */

export class HpackError extends Error {
  constructor (message: string) {
    super(`HPACK: ${message}`)
    this.name = 'HpackError'
  }
}

/** RFC 7541 Appendix A. */
const STATIC: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''],
  ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
  ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', '']
]

/**
 * The Huffman code of Appendix B is canonical: codes follow from their
 * lengths alone (shorter first, then by symbol). The lengths of symbols
 * 0..256 (256 is EOS), each as the character 48 + length.
 */
const LENGTHS = '=GLLLLLLLHNLLNLLLLLLLLNLLLLLLLLL6::<=68;::8;8666555666666678?6<:=67777777777777777777777878=C=>6?56565666577666567655677777?;>=LDFDDFFFGFGGGGGHGHHFGHGGGGEFGFGGHFEDFFGGEGFFHEFGGEEFEGFGGDFFFGFFGJJDCFGFIJJJKKJHICEJKKJKHEEJJLKKKDHDEFEEGFFIIHHJGJKJJKKKKKLKKKKKJN'
const EOS = 256

/** Each symbol's code and length. */
export const HUFFMAN: ReadonlyArray<{ code: number, bits: number }> = (() => {
  const bits = Array.from(LENGTHS, (c) => c.charCodeAt(0) - 48)
  const order = bits.map((b, s) => [b, s] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1])
  const out = new Array<{ code: number, bits: number }>(bits.length)
  let code = 0
  let prev = (order[0] as readonly [number, number])[0]
  order.forEach(([b, s], i) => {
    if (i > 0) code = (code + 1) * 2 ** (b - prev)
    prev = b
    out[s] = { code, bits: b }
  })
  return out
})()

/** The decoding tree: node i has children at TREE[2i] (bit 0) and TREE[2i+1] (bit 1); a leaf is -(symbol + 1). */
const TREE: Int32Array = (() => {
  const tree = new Int32Array(2 * 512).fill(0)
  let nodes = 1
  HUFFMAN.forEach(({ code, bits }, sym) => {
    let n = 0
    for (let i = bits - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) % 2
      const slot = 2 * n + bit
      if (i === 0) { tree[slot] = -(sym + 1); break }
      if (tree[slot] === 0) tree[slot] = nodes++
      n = tree[slot] as number
    }
  })
  return tree
})()

export function huffmanDecode (b: Uint8Array): string {
  const out: number[] = []
  let n = 0
  let depth = 0
  /** Whether every bit since the last symbol was 1 (valid padding is a prefix of EOS, at most 7 bits). */
  let ones = true
  for (const byte of b) {
    for (let i = 7; i >= 0; i--) {
      const bit = (byte >> i) & 1
      const next = TREE[2 * n + bit] as number
      depth++
      ones &&= bit === 1
      if (next < 0) {
        const sym = -next - 1
        if (sym === EOS) throw new HpackError('EOS in a Huffman string')
        out.push(sym)
        n = 0
        depth = 0
        ones = true
      } else if (next === 0) {
        throw new HpackError('invalid Huffman code')
      } else {
        n = next
      }
    }
  }
  if (depth > 7 || !ones) throw new HpackError('invalid Huffman padding')
  return Buffer.from(out).toString('latin1')
}

/** For tests and completeness: a string's Huffman encoding. */
export function huffmanEncode (s: string): Buffer {
  const out: number[] = []
  let acc = 0
  let n = 0
  for (const byte of Buffer.from(s, 'latin1')) {
    const { code, bits } = HUFFMAN[byte] as { code: number, bits: number }
    for (let i = bits - 1; i >= 0; i--) {
      acc = (acc << 1) | (Math.floor(code / 2 ** i) % 2)
      if (++n === 8) { out.push(acc); acc = 0; n = 0 }
    }
  }
  if (n > 0) out.push(((acc << (8 - n)) | ((1 << (8 - n)) - 1)) & 0xff)
  return Buffer.from(out)
}

export type Header = [name: string, value: string]

/** Decodes a server's header blocks, keeping its dynamic table between them. */
export class HpackDecoder {
  #table: Header[] = []
  #size = 0
  /** The table size this side allows (SETTINGS_HEADER_TABLE_SIZE); the server may use up to it. */
  readonly #max: number
  #limit: number

  constructor (maxTableSize = 4096) {
    this.#max = maxTableSize
    this.#limit = maxTableSize
  }

  decode (block: Uint8Array): Header[] {
    const out: Header[] = []
    let p = 0
    const int = (prefix: number): number => {
      const mask = (1 << prefix) - 1
      if (p >= block.length) throw new HpackError('truncated integer')
      let v = (block[p++] as number) & mask
      if (v < mask) return v
      let m = 1
      for (;;) {
        if (p >= block.length) throw new HpackError('truncated integer')
        const b = block[p++] as number
        v += (b & 0x7f) * m
        m *= 128
        if (v > 0xffffffff) throw new HpackError('integer too large')
        if (b < 0x80) return v
      }
    }
    const str = (): string => {
      if (p >= block.length) throw new HpackError('truncated string')
      const huffman = ((block[p] as number) & 0x80) !== 0
      const len = int(7)
      if (len > block.length - p) throw new HpackError('string runs past the block')
      const raw = block.subarray(p, p + len)
      p += len
      return huffman ? huffmanDecode(raw) : Buffer.from(raw).toString('latin1')
    }
    let sizeUpdateAllowed = true
    while (p < block.length) {
      const b = block[p] as number
      if (b & 0x80) {
        const i = int(7)
        out.push(this.#entry(i))
        sizeUpdateAllowed = false
      } else if (b & 0x40) {
        const i = int(6)
        const name = i === 0 ? str() : (this.#entry(i)[0])
        const h: Header = [name, str()]
        out.push(h)
        this.#insert(h)
        sizeUpdateAllowed = false
      } else if (b & 0x20) {
        if (!sizeUpdateAllowed) throw new HpackError('a table size update after a header field')
        const size = int(5)
        if (size > this.#max) throw new HpackError(`table size ${size} over the ${this.#max} allowed`)
        this.#limit = size
        this.#evict()
      } else {
        // Literal without indexing (0000) or never indexed (0001).
        const i = int(4)
        const name = i === 0 ? str() : (this.#entry(i)[0])
        out.push([name, str()])
        sizeUpdateAllowed = false
      }
    }
    return out
  }

  #entry (i: number): Header {
    if (i === 0) throw new HpackError('index 0')
    if (i <= STATIC.length) return STATIC[i - 1] as Header
    const e = this.#table[i - STATIC.length - 1]
    if (e === undefined) throw new HpackError(`index ${i} is not in the table`)
    return e
  }

  #insert (h: Header): void {
    this.#table.unshift(h)
    this.#size += h[0].length + h[1].length + 32
    this.#evict()
  }

  #evict (): void {
    while (this.#size > this.#limit) {
      const e = this.#table.pop() as Header
      this.#size -= e[0].length + e[1].length + 32
    }
  }
}

/** A header block of literals without indexing: name by static index when there is one, never Huffman. */
export function encodeHeaders (headers: ReadonlyArray<Header>): Buffer {
  const parts: number[] = []
  const int = (v: number, prefix: number, first: number): void => {
    const mask = (1 << prefix) - 1
    if (v < mask) { parts.push(first | v); return }
    parts.push(first | mask)
    v -= mask
    while (v >= 128) { parts.push((v % 128) | 0x80); v = Math.floor(v / 128) }
    parts.push(v)
  }
  const str = (s: string): void => {
    const b = Buffer.from(s, 'latin1')
    int(b.length, 7, 0)
    for (const x of b) parts.push(x)
  }
  for (const [name, value] of headers) {
    const full = STATIC.findIndex(([n, v]) => n === name && v === value)
    if (full >= 0) { int(full + 1, 7, 0x80); continue }
    const named = STATIC.findIndex(([n]) => n === name)
    int(named + 1, 4, 0)
    if (named < 0) str(name)
    str(value)
  }
  return Buffer.from(parts)
}
