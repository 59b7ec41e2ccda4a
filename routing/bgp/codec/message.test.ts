/**
 * Whole messages under every combination of session options: round trips (property), and the fuzz properties of
 * STYLE.md convention 3: arbitrary bytes either decode or throw BgpMessageError, never anything else; whatever
 * decodes re-encodes without error and decodes again to the same message.
 */
import test from 'ava'
import { deepStrictEqual, strictEqual } from 'node:assert'
import fc from 'fast-check'
import {
  BgpEncodeError, BgpMessageError, decodeMessage, encodeMessage, KEEPALIVE, messageCodec, MessageType
} from './index.js'
import type { BgpMessage, CodecOptions } from './index.js'
import { assertCodec, hex } from './testing/assert-codec.js'
import { codecOptions, framedGarbage, message } from './testing/arbitraries.js'

/** What a decoded message says apart from the RFC 7606 bookkeeping of decoding. */
function content (m: BgpMessage): BgpMessage {
  if (m.type !== MessageType.Update) return m
  return { type: m.type, withdrawn: m.withdrawn, attributes: m.attributes, nlri: m.nlri }
}

/** decodeMessage's contract on any input; returns the message when there is one. */
function decodesOrThrowsTyped (bytes: Uint8Array, opts: CodecOptions): BgpMessage | undefined {
  let m: BgpMessage
  try {
    m = decodeMessage(bytes, opts)
  } catch (err) {
    if (err instanceof BgpMessageError) return undefined
    throw err
  }
  // Whatever decodes has a wire form again, and that wire form decodes to the same content.
  const again = decodeMessage(encodeMessage(m, opts), opts)
  if (JSON.stringify(content(again), replacer) !== JSON.stringify(content(m), replacer)) {
    throw new Error(`not idempotent: ${JSON.stringify(content(m), replacer)} vs ${JSON.stringify(content(again), replacer)}`)
  }
  return m
}

function replacer (_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return `${v}n`
  if (v instanceof Uint8Array) return Array.from(v)
  return v
}

test('every valid message round-trips under every option set (property)', (t) => {
  fc.assert(fc.property(codecOptions.chain((opts) => fc.tuple(fc.constant(opts), message(opts))), ([opts, m]) => {
    const codec = messageCodec(opts)
    const bytes = codec.encode(m)
    strictEqual(bytes.length, codec.encodingLength(m))
    deepStrictEqual(codec.decode(bytes), { value: m, bytes: bytes.length })
  }), { numRuns: 400 })
  t.pass()
})

test('assertCodec holds for one message of each type', (t) => {
  fc.assert(fc.property(codecOptions.chain((opts) => fc.tuple(fc.constant(opts), message(opts))), ([opts, m]) => {
    assertCodec(t, messageCodec(opts), m)
  }), { numRuns: 60 })
  assertCodec(t, messageCodec(), KEEPALIVE, { bytes: hex`ffffffffffffffffffffffffffffffff 0013 04` })
})

test('arbitrary bytes decode or throw BgpMessageError, never anything else (property)', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), codecOptions, (b, opts) => { decodesOrThrowsTyped(b, opts) }), { numRuns: 3000 })
  t.pass()
})

test('arbitrary bodies behind a valid header decode or throw BgpMessageError (property)', (t) => {
  fc.assert(fc.property(framedGarbage(300), codecOptions, (b, opts) => { decodesOrThrowsTyped(b, opts) }), { numRuns: 10000 })
  t.pass()
})

/** A valid message with a few octets changed, inserted or removed, its Length field kept in step. */
function mutated (opts: CodecOptions): fc.Arbitrary<Uint8Array> {
  const edit = fc.record({ at: fc.nat(), kind: fc.constantFrom('set', 'insert', 'delete'), byte: fc.integer({ min: 0, max: 255 }) })
  return fc.tuple(message(opts), fc.array(edit, { minLength: 1, maxLength: 4 })).map(([m, edits]) => {
    const b = [...encodeMessage(m, opts)]
    for (const e of edits) {
      const at = 19 + (e.at % Math.max(1, b.length - 19))
      if (e.kind === 'set') b[at] = e.byte
      else if (e.kind === 'insert') b.splice(at, 0, e.byte)
      else if (b.length > 19) b.splice(at, 1)
    }
    b[16] = (b.length >> 8) & 0xff
    b[17] = b.length & 0xff
    return Uint8Array.from(b)
  })
}

test('valid messages with octets changed, inserted or removed decode or throw BgpMessageError (property)', (t) => {
  fc.assert(fc.property(codecOptions.chain((opts) => fc.tuple(fc.constant(opts), mutated(opts))), ([opts, b]) => {
    decodesOrThrowsTyped(b, opts)
  }), { numRuns: 10000 })
  t.pass()
})

test('encoding refuses a message over the size limit instead of sending it', (t) => {
  const nlri = Array.from({ length: 1100 }, (_, i) => ({ prefix: `10.${i >> 8}.${i & 255}.0/24` }))
  const big: BgpMessage = {
    type: MessageType.Update,
    withdrawn: [],
    attributes: [{ type: 1, origin: 0 }, { type: 2, segments: [] }, { type: 3, nextHop: '10.0.0.1' }],
    nlri
  }
  t.throws(() => encodeMessage(big), { instanceOf: BgpEncodeError, message: /exceeds 4096/ })
  const bytes = encodeMessage(big, { extendedMessages: true })
  t.true(bytes.length > 4096)
  t.deepEqual(decodeMessage(bytes, { extendedMessages: true }), big)
})

test('a message decodes from the start of a buffer holding more after it', (t) => {
  const two = new Uint8Array([...encodeMessage(KEEPALIVE), ...encodeMessage({ type: MessageType.RouteRefresh, afi: 1, safi: 1, subtype: 0 })])
  t.deepEqual(decodeMessage(two), KEEPALIVE)
  t.deepEqual(messageCodec().decode(two, 19), { value: { type: MessageType.RouteRefresh, afi: 1, safi: 1, subtype: 0 }, bytes: 23 })
})
