/**
 * The etcd codec against an independent one: protobufjs reading etcd's own
 * rpc.proto and kv.proto (as shipped with etcd3). Requests we encode decode
 * there to the same fields; responses encoded there decode here to the same
 * values, including 64-bit IDs past 2^53, negative int64s, unknown fields and
 * every message shape the store reads. Malformed input is a StoreError.
 */
import test from 'ava'
import * as path from 'node:path'
import { createRequire } from 'node:module'
import fc from 'fast-check'
import protobuf from 'protobufjs'
import { decode, encode } from './etcd-proto.js'
import { StoreError } from './errors.js'

const require = createRequire(import.meta.url)
const protoDir = path.join(path.dirname(require.resolve('etcd3/package.json')), 'proto')
const root = new protobuf.Root()
root.resolvePath = (_origin, target) => path.join(protoDir, path.basename(target))
root.loadSync(['rpc.proto', 'kv.proto'], { keepCase: true })
const T = (name: string): protobuf.Type => root.lookupType(name)

/** A request body without its 5-byte gRPC frame, decoded by protobufjs to a plain object. */
function theirs (type: string, framed: Buffer): Record<string, unknown> {
  assertFrame(framed)
  const t = T(type)
  return t.toObject(t.decode(framed.subarray(5)), { longs: String, bytes: String, defaults: false, oneofs: false }) as Record<string, unknown>
}

function assertFrame (framed: Buffer): void {
  if (framed[0] !== 0 || framed.readUInt32BE(1) !== framed.length - 5) throw new Error('bad gRPC frame')
}

/** A response encoded by protobufjs. */
function ours<K extends keyof typeof decode> (kind: K, type: string, obj: Record<string, unknown>): ReturnType<(typeof decode)[K]> {
  const t = T(type)
  return decode[kind](Buffer.from(t.encode(t.fromObject(obj)).finish())) as ReturnType<(typeof decode)[K]>
}

const b64 = (s: string | Uint8Array): string => Buffer.from(s).toString('base64')
const BIG = '18302628285838118223' // > 2^63: a uint64 cluster ID as etcd makes them
const BIG_SIGNED = '7587869213450287425' // > 2^53: a lease ID

test('etcd proto: a create txn encodes as etcd reads it, the create_revision 0 of the oneof included', (t) => {
  const key = Buffer.from('/registry/pods/default/a')
  const value = Buffer.from('{"kind":"Pod"}')
  const got = theirs('etcdserverpb.TxnRequest', encode.txn({
    compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
    success: [{ request_put: { key, value, lease: BIG_SIGNED } }],
    failure: [{ request_range: { key } }]
  }))
  t.deepEqual(got, {
    compare: [{ target: 1, key: b64(key), create_revision: '0' }],
    success: [{ request_put: { key: b64(key), value: b64(value), lease: BIG_SIGNED } }],
    failure: [{ request_range: { key: b64(key) } }]
  })
})

test('etcd proto: update and delete txns, ranges, compaction, leases and watch requests encode as etcd reads them', (t) => {
  const key = Buffer.from('/registry/x')
  const end = Buffer.from('/registry0')
  t.deepEqual(theirs('etcdserverpb.TxnRequest', encode.txn({
    compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: 123456789012 }],
    success: [{ request_put: { key, value: Buffer.alloc(0), prev_kv: true } }, { request_delete_range: { key, range_end: end, prev_kv: true } }],
    failure: []
  })), {
    compare: [{ target: 2, key: b64(key), mod_revision: '123456789012' }],
    success: [{ request_put: { key: b64(key), prev_kv: true } }, { request_delete_range: { key: b64(key), range_end: b64(end), prev_kv: true } }]
  })
  t.deepEqual(theirs('etcdserverpb.RangeRequest', encode.range({ key, range_end: end, limit: 500, revision: 77, count_only: true })),
    { key: b64(key), range_end: b64(end), limit: '500', revision: '77', count_only: true })
  t.deepEqual(theirs('etcdserverpb.RangeRequest', encode.range({ key: Buffer.from([0]) })), { key: b64(Buffer.from([0])) })
  t.deepEqual(theirs('etcdserverpb.DeleteRangeRequest', encode.deleteRange({ key, prev_kv: true })), { key: b64(key), prev_kv: true })
  t.deepEqual(theirs('etcdserverpb.CompactionRequest', encode.compact(9_007_199_254_740_991)), { revision: '9007199254740991' })
  t.deepEqual(theirs('etcdserverpb.LeaseGrantRequest', encode.leaseGrant(3660)), { TTL: '3660' })
  t.deepEqual(theirs('etcdserverpb.LeaseTimeToLiveRequest', encode.leaseTimeToLive(BIG_SIGNED)), { ID: BIG_SIGNED })
  t.deepEqual(theirs('etcdserverpb.LeaseTimeToLiveRequest', encode.leaseTimeToLive('-5')), { ID: '-5' }, 'a negative int64 as ten bytes of two\'s complement')
  t.deepEqual(theirs('etcdserverpb.WatchRequest', encode.watch({ create_request: { key, range_end: end, start_revision: 42, progress_notify: true, prev_kv: true } })),
    { create_request: { key: b64(key), range_end: b64(end), start_revision: '42', progress_notify: true, prev_kv: true } })
  t.deepEqual(theirs('etcdserverpb.WatchRequest', encode.watch({ cancel_request: { watch_id: 3 } })), { cancel_request: { watch_id: '3' } })
  t.deepEqual(theirs('etcdserverpb.WatchRequest', encode.watch({ progress_request: {} })), { progress_request: {} })
})

test('etcd proto: requests of any size and key encode as etcd reads them (nested lengths of 1-4 bytes)', (t) => {
  fc.assert(fc.property(
    fc.uint8Array({ minLength: 1, maxLength: 300 }),
    fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 70_000 }).map((n) => new Uint8Array(n).fill(7))),
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    (key, value, rev) => {
      const got = theirs('etcdserverpb.TxnRequest', encode.txn({
        compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: rev }],
        success: [{ request_put: { key, value } }],
        failure: [{ request_range: { key } }]
      }))
      const put: Record<string, unknown> = { key: b64(key) }
      if (value.length > 0) put.value = b64(value)
      t.deepEqual(got, {
        compare: [{ target: 2, key: b64(key), mod_revision: String(rev) }],
        success: [{ request_put: put }],
        failure: [{ request_range: { key: b64(key) } }]
      })
    }), { numRuns: 200 })
})

test('etcd proto: txn responses decode with headers, prev_kv, ranges and 64-bit IDs exact', (t) => {
  const header = { cluster_id: BIG, member_id: '10276657743932975437', revision: '9007199254740991', raft_term: '2' }
  const kv = { key: b64('/a'), create_revision: '5', mod_revision: '9', version: '3', value: b64('{"x":1}'), lease: BIG_SIGNED }
  const r = ours('txn', 'etcdserverpb.TxnResponse', {
    header,
    succeeded: true,
    responses: [{ response_put: { header, prev_kv: kv } }, { response_range: { header, kvs: [kv, { key: b64('/b') }], more: true, count: '12' } }, { response_delete_range: { header, deleted: '1', prev_kvs: [kv] } }]
  })
  t.deepEqual(r.header, { cluster_id: BIG, member_id: '10276657743932975437', revision: 9007199254740991, raft_term: 2 })
  t.true(r.succeeded)
  const want = { key: Buffer.from('/a'), create_revision: 5, mod_revision: 9, version: 3, value: Buffer.from('{"x":1}'), lease: BIG_SIGNED }
  t.deepEqual(r.responses[0]?.response_put?.prev_kv, want)
  t.deepEqual(r.responses[1]?.response_range?.kvs, [want, { key: Buffer.from('/b'), create_revision: 0, mod_revision: 0, version: 0, value: Buffer.alloc(0), lease: '0' }])
  t.is(r.responses[1]?.response_range?.more, true)
  t.is(r.responses[1]?.response_range?.count, 12)
  t.is(r.responses[2]?.response_delete_range?.deleted, 1)
  // Twice more: the remembered ID strings give the same answers, and a different ID is not mistaken for one.
  t.is(ours('txn', 'etcdserverpb.TxnResponse', { header }).header.cluster_id, BIG)
  t.is(ours('txn', 'etcdserverpb.TxnResponse', { header: { ...header, cluster_id: '18302628285838118224' } }).header.cluster_id, '18302628285838118224')
  t.is(ours('txn', 'etcdserverpb.TxnResponse', { header: { cluster_id: '1' } }).succeeded, false, 'defaults when absent')
})

test('etcd proto: watch, lease, range and compaction responses decode; negative TTLs and unknown fields too', (t) => {
  const kv = { key: b64('/k'), create_revision: '2', mod_revision: '4', version: '2', value: b64('v') }
  const w = ours('watch', 'etcdserverpb.WatchResponse', {
    header: { cluster_id: BIG, revision: '4' },
    watch_id: '7',
    created: true,
    compact_revision: '3',
    cancel_reason: 'gone é',
    events: [{ type: 'Put', kv, prev_kv: { ...kv, mod_revision: '3', version: '1' } }, { type: 'Delete', kv: { key: b64('/k'), mod_revision: '5' } }]
  })
  t.is(w.header.cluster_id, BIG)
  t.is(w.watch_id, 7)
  t.true(w.created)
  t.false(w.canceled)
  t.is(w.compact_revision, 3)
  t.is(w.cancel_reason, 'gone é')
  t.deepEqual(w.events.map((e) => [e.type, e.kv.key.toString(), e.kv.mod_revision, e.prev_kv?.mod_revision]), [['Put', '/k', 4, 3], ['Delete', '/k', 5, undefined]])
  const ttl = ours('leaseTimeToLive', 'etcdserverpb.LeaseTimeToLiveResponse', { ID: BIG_SIGNED, TTL: '-1', grantedTTL: '3660', keys: [b64('/k')] })
  t.deepEqual([ttl.ID, ttl.TTL, ttl.grantedTTL], [BIG_SIGNED, -1, 3660], 'an expired lease reads TTL -1; repeated keys are skipped')
  const g = ours('leaseGrant', 'etcdserverpb.LeaseGrantResponse', { ID: '-9223372036854775808', TTL: '60', error: 'no' })
  t.deepEqual([g.ID, g.TTL, g.error], ['-9223372036854775808', 60, 'no'])
  const r = ours('range', 'etcdserverpb.RangeResponse', { header: { revision: '10' }, count: '0' })
  t.deepEqual(r, { header: { cluster_id: '0', member_id: '0', revision: 10, raft_term: 0 }, kvs: [], more: false, count: 0 })
  t.is(ours('compact', 'etcdserverpb.CompactionResponse', { header: { revision: '11' } }).header.revision, 11)
  t.is(ours('deleteRange', 'etcdserverpb.DeleteRangeResponse', { deleted: '2' }).deleted, 2)
  t.is(ours('put', 'etcdserverpb.PutResponse', {}).prev_kv, undefined)
  // Fields this codec does not know (a newer etcd) are skipped, whatever their wire type.
  const unknown = Buffer.concat([
    Buffer.from([0x18, 0x01]), // more = true
    Buffer.from([0xf8, 0x01, 0x05]), // field 31, varint
    Buffer.from([0xfa, 0x01, 0x02, 0x61, 0x62]), // field 31, bytes
    Buffer.from([0xfd, 0x01, 1, 2, 3, 4]), // field 31, fixed32
    Buffer.from([0xf9, 0x01, 1, 2, 3, 4, 5, 6, 7, 8]), // field 31, fixed64
    Buffer.from([0x20, 0x09]) // count = 9
  ])
  t.deepEqual([decode.range(unknown).more, decode.range(unknown).count], [true, 9])
})

test('etcd proto: truncated and overlong input is a StoreError, never a wrong answer', (t) => {
  const good = Buffer.from(T('etcdserverpb.RangeResponse').encode(T('etcdserverpb.RangeResponse').fromObject({ header: { revision: '10' }, kvs: [{ key: b64('/a'), value: b64('xyz') }], count: '1' })).finish())
  for (let cut = 1; cut < good.length; cut++) {
    const partial = good.subarray(0, cut)
    let out: unknown
    try {
      out = decode.range(partial)
    } catch (err) {
      t.true(err instanceof StoreError, `cut at ${cut}`)
      t.regex((err as StoreError).message, /malformed response/)
      continue
    }
    // A cut that falls between two top-level fields is a shorter valid message: nothing invented.
    const r = out as ReturnType<typeof decode.range>
    t.true(r.kvs.length <= 1 && (r.kvs[0] === undefined || r.kvs[0].value.toString() === 'xyz'), `cut at ${cut}`)
  }
  t.throws(() => decode.txn(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])), { instanceOf: StoreError }, 'an 11-byte varint')
  t.throws(() => decode.txn(Buffer.from([0x0b])), { instanceOf: StoreError }, 'a group (wire type 3)')
  t.throws(() => encode.range({ key: Buffer.from('a'), limit: -1 }), { instanceOf: StoreError })
})
