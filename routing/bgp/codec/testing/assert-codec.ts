/**
 * The one round-trip check every codec gets (STYLE.md convention 3, dns-packet's testEncoder): encoding length,
 * expected bytes, decode, re-encode, and encoding at an offset inside a larger buffer that must be left untouched
 * around it. Used by the codec's tests and by the layers above it (FSM, RIB) for what they build.
 */
import type { ExecutionContext } from 'ava'
import type { Codec } from '../codec.js'

export interface AssertCodecOptions<T> {
  /** The exact wire form expected. */
  bytes?: Uint8Array
  /** What decoding must give back, when it is not `value` itself (e.g. text normalised). */
  decoded?: T
}

export function assertCodec<T> (t: ExecutionContext, codec: Codec<T>, value: T, opts: AssertCodecOptions<T> = {}): Uint8Array {
  const len = codec.encodingLength(value)
  const buf = codec.encode(value)
  t.is(buf.length, len, 'encode writes encodingLength bytes')
  if (opts.bytes !== undefined) t.is(hexOf(buf), hexOf(opts.bytes), 'encodes to the expected bytes')
  const dec = codec.decode(buf)
  t.is(dec.bytes, len, 'decode consumes what encode wrote')
  const expected = opts.decoded ?? value
  t.deepEqual(dec.value, expected, 'decode gives the value back')
  t.is(hexOf(codec.encode(dec.value)), hexOf(buf), 're-encoding the decoded value gives the same bytes')

  const bigger = new Uint8Array(len + 20).fill(0xa5)
  const out = codec.encode(value, bigger, 10)
  t.is(out, bigger, 'encode into an external buffer returns that buffer')
  t.is(hexOf(bigger.subarray(10, 10 + len)), hexOf(buf), 'encoding at an offset writes the same bytes')
  t.true(bigger.subarray(0, 10).every((b) => b === 0xa5) && bigger.subarray(10 + len).every((b) => b === 0xa5),
    'encoding at an offset leaves the rest of the buffer alone')
  const dec2 = codec.decode(bigger, 10)
  t.is(dec2.bytes, len, 'decoding at an offset consumes the same bytes')
  t.deepEqual(dec2.value, expected, 'decoding at an offset gives the value back')
  return buf
}

export function hexOf (b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
}

/**
 * Bytes from commented hex, one field per line as in gobgp's fixtures:
 * ```
 * hex`
 *   40 01 01 00   // ORIGIN IGP
 * `
 * ```
 * `//` starts a comment to the end of the line; whitespace is ignored.
 */
export function hex (strings: TemplateStringsArray | string, ...values: unknown[]): Uint8Array {
  const text = typeof strings === 'string' ? strings : String.raw({ raw: strings }, ...values)
  const digits = text.split('\n').map((l) => l.replace(/\/\/.*$/, '')).join('').replace(/\s+/g, '')
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`not hex: ${digits}`)
  const out = new Uint8Array(digits.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16)
  return out
}
