/** The embedded store's byte formats: round trips, and how a scan tells a torn tail from corruption. */
import test from 'ava'
import {
  FRAME_HEADER_BYTES, FormatError, decodeChanges, decodeSegmentHeader, decodeSnapshot, encodeChange, encodeFrame,
  encodeSegmentHeader, encodeSnapshotFrames, encodeSnapshotHeader, scanFrames
} from './embedded-format.js'
import type { Change, HistoryState } from './memory.js'
import type { KeyValue } from './types.js'
import { StoreError } from './errors.js'

const kv = (key: string, value: string, modRevision: number, createRevision: number, version: number, ttlSeconds?: number): KeyValue => {
  const out: KeyValue = { key, value: new TextEncoder().encode(value), createRevision, modRevision, version }
  if (ttlSeconds !== undefined) out.ttlSeconds = ttlSeconds
  return out
}
const plain = (c: Change): unknown => c.op === 'put' ? { ...c, kv: { ...c.kv, value: Buffer.from(c.kv.value).toString('hex') } } : c

const changes: Change[] = [
  { op: 'put', kv: kv('/registry/pods/default/web', '{"kind":"Pod"}', 2, 2, 1), prevRevision: 0, expiresAt: 0 },
  { op: 'put', kv: kv('/registry/events/default/e1', 'ev', 3, 3, 1, 3600), prevRevision: 0, expiresAt: 1_900_000_000_123 },
  { op: 'put', kv: kv('/registry/pods/default/web', '', 4, 2, 2), prevRevision: 2, expiresAt: 0 },
  { op: 'put', kv: kv('/ü/😀/\0', 'x', 5, 5, 1), prevRevision: 0, expiresAt: 0 },
  { op: 'delete', key: '/registry/pods/default/web', rev: 6, prevRevision: 4 },
  { op: 'compact', rev: 5 }
]

/** Three frames after a segment header, as the journal writes them. */
function segment (): { buf: Buffer, ends: number[] } {
  const parts = [encodeSegmentHeader(2), encodeFrame(changes.slice(0, 2).map(encodeChange)), encodeFrame(changes.slice(2, 4).map(encodeChange)), encodeFrame(changes.slice(4).map(encodeChange))]
  const ends: number[] = []
  let o = 0
  for (const p of parts) { o += p.length; ends.push(o) }
  return { buf: Buffer.concat(parts), ends }
}

test('change records round-trip through a frame, UTF-8 keys, TTLs and empty values included', (t) => {
  const { buf } = segment()
  t.is(decodeSegmentHeader(buf), 2)
  const scan = scanFrames(buf, 20, 'seg', true)
  t.is(scan.tornBytes, 0)
  t.is(scan.end, buf.length)
  t.deepEqual(scan.payloads.flatMap(decodeChanges).map(plain), changes.map(plain))
})

test('a damaged segment header is not read as one', (t) => {
  const h = encodeSegmentHeader(42)
  t.is(decodeSegmentHeader(h), 42)
  for (const i of [0, 8, 15, 19]) {
    const bad = Buffer.from(h)
    bad[i] = (bad[i] as number) ^ 1
    t.is(decodeSegmentHeader(bad), undefined, `byte ${i} flipped`)
  }
  t.is(decodeSegmentHeader(h.subarray(0, 19)), undefined)
})

const tornTails: Array<{ name: string, tail: (frame: Buffer) => Buffer }> = [
  { name: 'the frame cut in its header', tail: (f) => f.subarray(0, 7) },
  { name: 'the frame cut in its payload', tail: (f) => f.subarray(0, f.length - 9) },
  { name: 'the whole frame with its last byte wrong', tail: (f) => { const b = Buffer.from(f); b[b.length - 1] = (b[b.length - 1] as number) ^ 0xff; return b } },
  { name: 'the frame followed by zeros, one byte of it wrong', tail: (f) => { const b = Buffer.concat([f, Buffer.alloc(512)]); b[FRAME_HEADER_BYTES + 3] = (b[FRAME_HEADER_BYTES + 3] as number) ^ 1; return b } },
  { name: 'zeros where the frame should be (size extended, data not written)', tail: (f) => Buffer.alloc(f.length) },
  { name: 'garbage without a frame magic', tail: () => Buffer.from('not a frame at all, just bytes') }
]

for (const { name, tail } of tornTails) {
  test(`a torn last frame is cut off: ${name}`, (t) => {
    const { buf, ends } = segment()
    const frame = encodeFrame([encodeChange({ op: 'put', kv: kv('/k', 'torn', 7, 7, 1), prevRevision: 0, expiresAt: 0 })])
    const torn = Buffer.concat([buf, tail(frame)])
    const scan = scanFrames(torn, 20, 'seg', true)
    t.is(scan.end, ends[3] as number)
    t.is(scan.tornBytes, torn.length - buf.length)
    t.is(scan.payloads.length, 3)
  })
}

test('a checksum error before the tail is CTRL_ERR_STORE_CORRUPT, in the payload or in the length', (t) => {
  const { buf, ends } = segment()
  const payloadByte = Buffer.from(buf)
  const pi = (ends[1] as number) + FRAME_HEADER_BYTES + 5
  payloadByte[pi] = (payloadByte[pi] as number) ^ 0x10
  const e1 = t.throws(() => scanFrames(payloadByte, 20, 'seg', true))
  t.true(e1 instanceof StoreError && e1.code === 'CTRL_ERR_STORE_CORRUPT', String(e1))
  const lengthByte = Buffer.from(buf)
  const li = (ends[0] as number) + 4
  lengthByte[li] = (lengthByte[li] as number) ^ 0x01
  const e2 = t.throws(() => scanFrames(lengthByte, 20, 'seg', true))
  t.true(e2 instanceof StoreError && e2.code === 'CTRL_ERR_STORE_CORRUPT', String(e2))
})

test('any damage in a segment that is not the last is CTRL_ERR_STORE_CORRUPT, even at its end', (t) => {
  const { buf } = segment()
  const e = t.throws(() => scanFrames(buf.subarray(0, buf.length - 3), 20, 'seg', false))
  t.true(e instanceof StoreError && e.code === 'CTRL_ERR_STORE_CORRUPT')
  t.is(scanFrames(buf, 20, 'seg', false).payloads.length, 3)
})

test('a record that runs past its frame is a FormatError, not a crash', (t) => {
  const rec = encodeChange(changes[0] as Change)
  for (const cut of [1, 9, 30, rec.length - 1]) t.throws(() => decodeChanges(rec.subarray(0, cut)), { instanceOf: FormatError }, `cut at ${cut}`)
  t.throws(() => decodeChanges(Buffer.from([9])), { instanceOf: FormatError, message: /unknown record type/ })
  const badRev = Buffer.from(rec)
  badRev.writeDoubleLE(1.5, 1)
  t.throws(() => decodeChanges(badRev), { instanceOf: FormatError, message: /not a revision/ })
})

const state: HistoryState = {
  revision: 9,
  compactRevision: 3,
  keys: [
    { key: '/a', versions: [kv('/a', 'a1', 2, 2, 1), kv('/a', 'a2', 5, 2, 2, 60)] },
    { key: '/b', versions: [kv('/b', 'b1', 4, 4, 1), { key: '/b', value: new Uint8Array(0), createRevision: 0, modRevision: 9, version: 0 }] }
  ]
}

function snapshotBytes (chunk?: number): Buffer {
  const exp = (k: KeyValue): number => k.ttlSeconds !== undefined ? 1_900_000_000_000 : 0
  return Buffer.concat([encodeSnapshotHeader({ ...state, keyCount: state.keys.length }), ...encodeSnapshotFrames(state, exp, chunk)])
}

test('a snapshot round-trips, in one frame or one frame per key', (t) => {
  for (const chunk of [undefined, 1]) {
    const { state: back, expiresAt } = decodeSnapshot(snapshotBytes(chunk), 'snap')
    t.is(back.revision, 9)
    t.is(back.compactRevision, 3)
    t.deepEqual(back.keys.map((k) => k.versions.map((v) => [v.key, Buffer.from(v.value).toString(), v.modRevision, v.createRevision, v.version, v.ttlSeconds])),
      state.keys.map((k) => k.versions.map((v) => [v.key, Buffer.from(v.value).toString(), v.modRevision, v.createRevision, v.version, v.ttlSeconds])))
    t.deepEqual([...expiresAt.values()], [1_900_000_000_000])
  }
})

const flip = (buf: Buffer, i: number): Buffer => { const b = Buffer.from(buf); b[i] = (b[i] as number) ^ 1; return b }

test('a damaged or truncated snapshot is CTRL_ERR_STORE_CORRUPT', (t) => {
  const good = snapshotBytes(1)
  const cases: Array<[string, Buffer]> = [
    ['truncated before the end frame', good.subarray(0, good.length - 10)],
    ['a flipped byte in a frame', flip(good, 50)],
    ['a flipped byte in the header', flip(good, 10)],
    ['trailing bytes', Buffer.concat([good, Buffer.from([0])])]
  ]
  for (const [name, buf] of cases) {
    const e = t.throws(() => decodeSnapshot(buf, 'snap'), undefined, name)
    t.true(e instanceof StoreError && e.code === 'CTRL_ERR_STORE_CORRUPT', `${name}: ${String(e)}`)
  }
})
