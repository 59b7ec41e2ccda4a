/**
 * The stream framer: TCP cuts the byte stream anywhere, and the same messages must come out however it is cut
 * (STYLE.md convention 14: "should emit frames from source chunked chaotically").
 */
import test from 'ava'
import fc from 'fast-check'
import { Readable } from 'node:stream'
import {
  BgpMessageError, ceaseNotification, CeaseSubcode, encodeMessage, endOfRib, Framer, frameMessages,
  frameMessagesAsync, KEEPALIVE, MessageType
} from './index.js'
import type { BgpMessage } from './index.js'
import { hexOf } from './testing/assert-codec.js'
import { wireFixtures } from './testing/fixtures.js'

const messages: BgpMessage[] = [
  ...wireFixtures.filter((f) => f.opts === undefined).map((f) => f.message),
  KEEPALIVE,
  endOfRib(2, 1),
  ceaseNotification(CeaseSubcode.AdministrativeShutdown, 'bye')
]
const frames = messages.map((m) => encodeMessage(m))
const stream = Uint8Array.from(frames.flatMap((f) => [...f]))
const expected = frames.map(hexOf)

function cut (b: Uint8Array, at: number[]): Uint8Array[] {
  const points = [0, ...[...new Set(at)].sort((x, y) => x - y), b.length]
  const out: Uint8Array[] = []
  for (let i = 1; i < points.length; i++) out.push(b.subarray(points[i - 1], points[i]))
  return out
}

test('the stream framed in one chunk gives every message', (t) => {
  t.deepEqual([...frameMessages([stream])].map(hexOf), expected)
})

test('the stream cut at every single position gives the same messages', (t) => {
  for (let i = 0; i <= stream.length; i++) {
    const got = [...frameMessages(cut(stream, [i]))].map(hexOf)
    if (got.join() !== expected.join()) return t.fail(`cut at ${i}`)
  }
  t.pass()
})

test('the stream cut at every pair of positions gives the same messages', (t) => {
  const part = stream.subarray(0, 160) // the first messages: 160 * 160 / 2 cuts
  const want = [...frameMessages([part.subarray(0, 152)])].map(hexOf)
  for (let i = 0; i <= 152; i++) {
    for (let j = i; j <= 152; j++) {
      const got = [...frameMessages(cut(part.subarray(0, 152), [i, j]))].map(hexOf)
      if (got.join() !== want.join()) return t.fail(`cut at ${i}, ${j}`)
    }
  }
  t.pass()
})

test('the stream one octet at a time gives the same messages', (t) => {
  t.deepEqual([...frameMessages(Array.from(stream, (b) => Uint8Array.of(b)))].map(hexOf), expected)
})

test('the stream chunked chaotically gives the same messages (property)', (t) => {
  fc.assert(fc.property(fc.array(fc.nat(stream.length), { maxLength: 40 }), (at) => {
    return [...frameMessages(cut(stream, at))].map(hexOf).join() === expected.join()
  }), { numRuns: 2000 })
  t.pass()
})

test('a Framer returns nothing until a message is whole, and copies what it returns', (t) => {
  const f = new Framer()
  const ka = encodeMessage(KEEPALIVE)
  const chunk = new Uint8Array([...ka, ...ka.subarray(0, 10)])
  const out = f.push(chunk)
  t.is(out.length, 1)
  t.is(f.buffered, 10)
  chunk.fill(0) // the caller reuses its buffer
  t.is(hexOf(out[0] as Uint8Array), hexOf(ka))
  t.deepEqual(f.push(new Uint8Array(0)), [])
  t.deepEqual(f.push(ka.subarray(10)).map(hexOf), [hexOf(ka)])
  t.is(f.buffered, 0)
  t.notThrows(() => { f.end() })
})

test('a bad marker or length stops the framer for good', (t) => {
  const f = new Framer()
  const bad = encodeMessage(KEEPALIVE)
  bad[3] = 0
  const err = t.throws(() => f.push(bad), { instanceOf: BgpMessageError }) as BgpMessageError
  t.is(err.code, 'BGP_ERR_MARKER')
  t.is(t.throws(() => f.push(encodeMessage(KEEPALIVE))), err)
  const g = new Framer()
  const long = encodeMessage(KEEPALIVE)
  long[16] = 0x10; long[17] = 0x01
  t.is((t.throws(() => g.push(long)) as BgpMessageError).code, 'BGP_ERR_MESSAGE_LENGTH')
})

test('extended messages can be switched on once the OPEN exchange allows them', (t) => {
  const big = encodeMessage({ type: MessageType.RouteRefresh, afi: 1, safi: 1, subtype: 0, orf: new Uint8Array(6000) }, { extendedMessages: true })
  t.throws(() => new Framer().push(big), { instanceOf: BgpMessageError })
  const f = new Framer()
  f.extendedMessages = true
  t.is(f.push(big)[0]?.length, big.length)
  t.is([...frameMessages([big], { extendedMessages: true })].length, 1)
})

test('a stream that ends inside a message is an error at the end', (t) => {
  t.throws(() => [...frameMessages([stream.subarray(0, stream.length - 1)])], { instanceOf: BgpMessageError, code: 'BGP_ERR_TRUNCATED' })
})

test('frameMessagesAsync frames a Node stream of Buffers', async (t) => {
  const chunks = cut(stream, [1, 7, 19, 20, 100, 101, 300]).map((c) => Buffer.from(c))
  const got: string[] = []
  for await (const m of frameMessagesAsync(Readable.from(chunks))) got.push(hexOf(m))
  t.deepEqual(got, expected)
})
