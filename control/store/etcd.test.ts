/**
 * The etcd backend's pure parts and its behaviour without an etcd: key and
 * range mapping, the lease rules, error mapping, argument checks, and an
 * endpoint nobody listens on. Against a real etcd: e2e/control/store-etcd.test.ts.
 */
import test from 'ava'
import * as net from 'node:net'
import { GrpcCode, GrpcError } from './etcd-rpc.js'
import { StoreError } from './errors.js'
import type { StoreErrorCode } from './errors.js'
import { KeySpace, LEASE_MAX_KEYS, canReuse, grantTtl, leaseReuseSeconds, prefixEnd, ttlFromGranted } from './etcd-codec.js'
import { isRetriable, toStoreError } from './etcd-errors.js'
import { Leases } from './etcd-leases.js'
import { etcdStore } from './etcd.js'
import { prefixRange } from './types.js'

const hex = (b: Uint8Array | undefined): string | undefined => b === undefined ? undefined : Buffer.from(b).toString('hex')
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

// ---- keys and ranges -------------------------------------------------------------------------------------------------

test('etcd: keys are stored as given without a prefix, and under it with one', (t) => {
  const bare = new KeySpace('')
  t.is(bare.key('/registry/pods/a/b').toString(), '/registry/pods/a/b')
  t.is(bare.unkey(Buffer.from('/registry/pods/a/b')), '/registry/pods/a/b')
  const pre = new KeySpace('/cluster-a')
  t.is(pre.key('/registry/pods/a/b').toString(), '/cluster-a/registry/pods/a/b')
  t.is(pre.unkey(Buffer.from('/cluster-a/registry/pods/a/b')), '/registry/pods/a/b')
  t.is(pre.key('é😀').toString('utf8'), '/cluster-aé😀', 'UTF-8 on the wire')
})

test('etcd: ranges map onto etcd\'s, "every key" staying inside the prefix', (t) => {
  const row = (ks: KeySpace, start: string, end: string): [string | undefined, string | undefined] => {
    const r = ks.range(start, end)
    return [hex(r.key), hex(r.range_end)]
  }
  const bare = new KeySpace('')
  const pre = new KeySpace('/a')
  const h = (s: string): string => Buffer.from(s).toString('hex')
  const rows: Array<{ name: string, got: [string | undefined, string | undefined], want: [string | undefined, string | undefined] }> = [
    { name: 'prefixRange without a prefix', got: row(bare, prefixRange('/registry/').start, prefixRange('/registry/').end), want: [h('/registry/'), h('/registry0')] },
    { name: 'everything without a prefix: from the smallest key, no end', got: row(bare, '', '\0'), want: ['00', '00'] },
    { name: 'from a key on, without a prefix', got: row(bare, '/x', '\0'), want: [h('/x'), '00'] },
    { name: 'a single key', got: row(bare, '/x', ''), want: [h('/x'), undefined] },
    { name: 'everything with a prefix: the prefix\'s own range', got: row(pre, '', '\0'), want: [h('/a'), h('/b')] },
    { name: 'from a key on, with a prefix', got: row(pre, '/x', '\0'), want: [h('/a/x'), h('/b')] },
    { name: 'a bounded range with a prefix', got: row(pre, '/x', '/y'), want: [h('/a/x'), h('/a/y')] },
    { name: 'an empty start with a prefix', got: row(pre, '', '/y'), want: [h('/a'), h('/a/y')] },
    { name: 'a single key with a prefix', got: row(pre, '/x', ''), want: [h('/a/x'), undefined] }
  ]
  for (const r of rows) t.deepEqual(r.got, r.want, r.name)
  t.is(hex(prefixEnd(Buffer.from([0x61, 0xff, 0xff]))), '62', 'trailing 0xff bytes are dropped')
  t.is(hex(prefixEnd(Buffer.from([0xff, 0xff]))), '00', 'an all-0xff prefix has no end')
})

// ---- lease rules -----------------------------------------------------------------------------------------------------

test('etcd: the lease margin is kube-apiserver\'s (5 % of the TTL, at most 60 s) and the TTL reads back from the grant', (t) => {
  t.is(leaseReuseSeconds(1), 0)
  t.is(leaseReuseSeconds(19), 0)
  t.is(leaseReuseSeconds(20), 1)
  t.is(leaseReuseSeconds(3600), 60)
  t.is(grantTtl(600), 630)
  t.is(grantTtl(3600), 3660)
  for (let ttl = 1; ttl <= 20_000; ttl++) {
    if (ttlFromGranted(grantTtl(ttl)) !== ttl) { t.fail(`ttl ${ttl} granted as ${grantTtl(ttl)} reads back as ${ttlFromGranted(grantTtl(ttl))}`); return }
  }
  t.is(ttlFromGranted(grantTtl(9_000_000)), 9_000_000)
  // 20 s is granted as 21 s, so nothing is granted 20 s: such a lease (etcd raising a small TTL, another client) reads as granted.
  t.is(ttlFromGranted(20), 20)
})

test('etcd: a bucket lease is reused only while it ends within the margin after the write would, and has room', (t) => {
  const now = 1_000_000
  const lease = { id: '1', expiresAt: now + 630_000, attached: 1 }
  t.true(canReuse(lease, 600, now), 'fresh')
  t.true(canReuse(lease, 600, now + 29_000), 'still within the 30 s margin')
  t.false(canReuse(lease, 600, now + 30_000), 'the key would outlive the lease')
  t.false(canReuse(lease, 600, now - 1000), 'the key would be kept more than the margin too long')
  t.false(canReuse({ ...lease, attached: LEASE_MAX_KEYS }, 600, now), 'full')
  t.false(canReuse(undefined, 600, now))
})

function fakeLeaseRpc (): { rpc: ConstructorParameters<typeof Leases>[0], granted: number[], lookups: string[], failNext: { on: boolean } } {
  const granted: number[] = []
  const lookups: string[] = []
  const failNext = { on: false }
  return {
    granted,
    lookups,
    failNext,
    rpc: {
      grant: async (ttl) => {
        await new Promise((resolve) => setTimeout(resolve, 5))
        if (failNext.on) { failNext.on = false; throw new StoreError('CTRL_ERR_STORE_UNAVAILABLE', 'no etcd') }
        granted.push(ttl)
        return String(granted.length)
      },
      grantedTtl: async (id) => { lookups.push(id); return id === 'gone' ? 0 : Number(id) }
    }
  }
}

test('etcd: concurrent writes with one TTL share one grant; a new lease comes when the margin has passed', async (t) => {
  let now = 5_000_000
  const f = fakeLeaseRpc()
  const leases = new Leases(f.rpc, () => now)
  const ids = await Promise.all(Array.from({ length: 100 }, async () => await leases.forWrite(3600)))
  t.deepEqual(f.granted, [3660], 'one grant for 100 concurrent writes')
  t.is(new Set(ids).size, 1)
  const first = ids[0] as string
  t.is(leases.known(first), 3600)
  now += 59_000
  t.is(await leases.forWrite(3600), first, 'reused within the margin')
  now += 2000
  t.not(await leases.forWrite(3600), first, 'a new lease once the key would outlive the old one')
  t.deepEqual(f.granted, [3660, 3660])
  await leases.forWrite(600)
  t.deepEqual(f.granted, [3660, 3660, 630], 'another TTL, another bucket')
})

test('etcd: TTLs under 20 s get a lease each; a full lease or a forgotten one is not handed out again', async (t) => {
  const f = fakeLeaseRpc()
  const leases = new Leases(f.rpc, () => 1000)
  t.not(await leases.forWrite(5), await leases.forWrite(5))
  t.deepEqual(f.granted, [5, 5])
  const first = await leases.forWrite(100)
  for (let i = 1; i < LEASE_MAX_KEYS; i++) t.is(await leases.forWrite(100), first)
  t.not(await leases.forWrite(100), first, `at most ${LEASE_MAX_KEYS} keys per lease`)
  const current = await leases.forWrite(100)
  leases.forget(current)
  t.not(await leases.forWrite(100), current)
})

test('etcd: a failed grant fails every write waiting for it, and the next write tries again', async (t) => {
  const f = fakeLeaseRpc()
  const leases = new Leases(f.rpc, () => 1000)
  f.failNext.on = true
  const waiting = await Promise.allSettled(Array.from({ length: 5 }, async () => await leases.forWrite(600)))
  t.true(waiting.every((r) => r.status === 'rejected' && r.reason instanceof StoreError))
  t.is(typeof await leases.forWrite(600), 'string')
})

test('etcd: the TTL of another client\'s lease is looked up once, and a gone lease has none', async (t) => {
  const f = fakeLeaseRpc()
  const leases = new Leases(f.rpc)
  t.is(await leases.ttlOf('630'), 600)
  t.is(await leases.ttlOf('630'), 600)
  t.deepEqual(await Promise.all([leases.ttlOf('3660'), leases.ttlOf('3660')]), [3600, 3600])
  t.deepEqual(f.lookups, ['630', '3660'])
  t.is(await leases.ttlOf('gone'), undefined)
  t.is(leases.known('gone'), undefined)
})

// ---- errors ----------------------------------------------------------------------------------------------------------

test('etcd: every etcd and gRPC failure maps to a StoreError code', (t) => {
  const rows: Array<{ name: string, err: unknown, code: StoreErrorCode }> = [
    { name: 'compacted', err: new GrpcError(GrpcCode.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'), code: 'CTRL_ERR_STORE_COMPACTED' },
    { name: 'future revision', err: new GrpcError(GrpcCode.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'), code: 'CTRL_ERR_STORE_FUTURE_REVISION' },
    { name: 'value over --max-request-bytes', err: new GrpcError(GrpcCode.INVALID_ARGUMENT, 'etcdserver: request is too large'), code: 'CTRL_ERR_STORE_INVALID' },
    { name: 'message over gRPC\'s limit', err: new GrpcError(GrpcCode.RESOURCE_EXHAUSTED, 'grpc: received message larger than max (2097160 vs. 2097152)'), code: 'CTRL_ERR_STORE_INVALID' },
    { name: 'unreachable', err: new GrpcError(GrpcCode.UNAVAILABLE, 'No connection established to http://127.0.0.1:1: connect ECONNREFUSED', { notSent: true }), code: 'CTRL_ERR_STORE_UNAVAILABLE' },
    { name: 'timed out', err: new GrpcError(GrpcCode.DEADLINE_EXCEEDED, 'Deadline exceeded'), code: 'CTRL_ERR_STORE_UNAVAILABLE' },
    { name: 'no leader', err: new GrpcError(GrpcCode.UNAVAILABLE, 'etcdserver: no leader'), code: 'CTRL_ERR_STORE_UNAVAILABLE' },
    { name: 'out of space', err: new GrpcError(GrpcCode.RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded'), code: 'CTRL_ERR_STORE_UNAVAILABLE' },
    { name: 'an etcd error nobody expected', err: new GrpcError(GrpcCode.UNKNOWN, 'etcdserver: something new'), code: 'CTRL_ERR_STORE_UNAVAILABLE' },
    { name: 'not even an Error', err: 'boom', code: 'CTRL_ERR_STORE_UNAVAILABLE' }
  ]
  for (const r of rows) {
    const e = toStoreError(r.err, 'get /x')
    t.true(e instanceof StoreError, r.name)
    t.is(e.code, r.code, r.name)
    t.regex(e.message, /^etcd: get \/x: /, r.name)
  }
  const own = new StoreError('CTRL_ERR_STORE_CONFLICT', 'mine')
  t.is(toStoreError(own, 'x'), own, 'a StoreError passes through')
})

test('etcd: reads are retried on any transient failure, writes only when etcd certainly did not apply them', (t) => {
  const notSent = new GrpcError(GrpcCode.UNAVAILABLE, 'No connection established to http://127.0.0.1:1: connect ECONNREFUSED', { notSent: true })
  const dropped = new GrpcError(GrpcCode.UNAVAILABLE, 'Connection dropped')
  const timedOut = new GrpcError(GrpcCode.UNAVAILABLE, 'etcdserver: request timed out')
  const noLeader = new GrpcError(GrpcCode.UNAVAILABLE, 'etcdserver: no leader')
  const compacted = new GrpcError(GrpcCode.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted')
  t.true(isRetriable(notSent, true), 'never sent: a write may go again')
  t.true(isRetriable(noLeader, true), 'refused before raft: a write may go again')
  t.false(isRetriable(dropped, true), 'a dropped connection may have carried the write')
  t.false(isRetriable(timedOut, true), 'a timed-out proposal may still commit')
  t.true(isRetriable(dropped, false))
  t.true(isRetriable(timedOut, false))
  t.false(isRetriable(compacted, false), 'an answer is not retried')
  t.false(isRetriable(new StoreError('CTRL_ERR_STORE_UNAVAILABLE', 'deadline'), false), 'our own deadline is final')
  const refusedCert = new GrpcError(GrpcCode.UNAVAILABLE, 'No connection established to https://127.0.0.1:2379: 80FC:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate', { notSent: true })
  t.false(isRetriable(refusedCert, false), 'a refused client certificate stays refused: fail now with the reason, not at the deadline')
  t.false(isRetriable(new GrpcError(GrpcCode.UNAVAILABLE, 'No connection established to https://127.0.0.1:2379: self-signed certificate in certificate chain', { notSent: true }), false))
})

// ---- the store without an etcd ---------------------------------------------------------------------------------------

async function closedPort (): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()))
  const port = (s.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

async function code (p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'resolved'
  } catch (err) {
    return err instanceof StoreError ? err.code : `not a StoreError: ${String(err)}`
  }
}

test('etcd: bad init options are CTRL_ERR_STORE_INVALID', (t) => {
  const bad: Array<Parameters<typeof etcdStore>[0]> = [
    { endpoints: [] },
    { endpoints: ['not a url/at all'] },
    { endpoints: ['http://127.0.0.1:2379'], requestTimeoutMs: 0 },
    { endpoints: ['http://127.0.0.1:2379'], watchResumeTimeoutMs: -1 },
    { endpoints: ['http://127.0.0.1:2379'], progressIntervalMs: Number.NaN },
    { endpoints: ['https://etcd.example:2379'] },
    { endpoints: ['https://etcd.example:2379'], tls: { ca: Buffer.from('x'), cert: Buffer.from('y') } }
  ]
  for (const init of bad) {
    const err = t.throws(() => etcdStore(init), undefined, JSON.stringify(init))
    t.true(err instanceof StoreError && err.code === 'CTRL_ERR_STORE_INVALID', JSON.stringify(init))
  }
  const s = etcdStore({ endpoints: ['http://127.0.0.1:2379', '127.0.0.1:2380', 'https://etcd.example:2379/'], tls: { ca: Buffer.from('not used until a request') } })
  t.is(s.kind, 'etcd')
  return s.close()
})

test('etcd: bad arguments are CTRL_ERR_STORE_INVALID before anything is sent', async (t) => {
  const s = etcdStore({ endpoints: [`http://127.0.0.1:${await closedPort()}`], requestTimeoutMs: 200 })
  t.teardown(async () => { await s.close() })
  const ac = new AbortController()
  const rows: Array<[string, () => Promise<unknown>]> = [
    ['empty key', async () => await s.create('', enc('x'))],
    ['lone surrogate', async () => await s.get('/a\uD800')],
    ['value not bytes', async () => await s.create('/a', 'text' as unknown as Uint8Array)],
    ['zero expected revision', async () => await s.update('/a', enc('x'), 0)],
    ['fractional revision', async () => await s.delete('/a', 1.5)],
    ['negative read revision', async () => await s.get('/a', { revision: -1 })],
    ['negative limit', async () => await s.list('/a', { end: '/b', limit: -1 })],
    ['ttl of 0', async () => await s.create('/a', enc('x'), { ttlSeconds: 0 })],
    ['fractional ttl', async () => await s.create('/a', enc('x'), { ttlSeconds: 1.5 })],
    ['no range end', async () => await s.list('/a', {} as unknown as { end: string })],
    ['watch without onEvents', async () => await s.watch('/a', { end: '/b', fromRevision: 1, signal: ac.signal } as unknown as Parameters<typeof s.watch>[1])],
    ['compact at 0', async () => await s.compact(0)]
  ]
  for (const [name, op] of rows) t.is(await code(op()), 'CTRL_ERR_STORE_INVALID', name)
})

test('etcd: with nobody at the endpoint every operation fails UNAVAILABLE within the request timeout', async (t) => {
  const timeout = 300
  const s = etcdStore({ endpoints: [`http://127.0.0.1:${await closedPort()}`], requestTimeoutMs: timeout, watchResumeTimeoutMs: timeout })
  t.teardown(async () => { await s.close() })
  const ac = new AbortController()
  t.teardown(() => { ac.abort() })
  const rows: Array<[string, () => Promise<unknown>]> = [
    ['revision', async () => await s.revision()],
    ['get', async () => await s.get('/a')],
    ['list', async () => await s.list('/a', { end: '/b' })],
    ['create', async () => await s.create('/a', enc('x'))],
    ['create with ttl', async () => await s.create('/a', enc('x'), { ttlSeconds: 60 })],
    ['update', async () => await s.update('/a', enc('x'), 3)],
    ['delete', async () => await s.delete('/a')],
    ['compact', async () => await s.compact(5)],
    ['compactedRevision', async () => await s.compactedRevision()],
    ['watch', async () => await s.watch('/a', { end: '/b', fromRevision: 1, signal: ac.signal, onEvents: () => {} })]
  ]
  await Promise.all(rows.map(async ([name, op]) => {
    const started = Date.now()
    t.is(await code(op()), 'CTRL_ERR_STORE_UNAVAILABLE', name)
    const took = Date.now() - started
    t.true(took < timeout + 1500, `${name} took ${took} ms`)
  }))
})

test('etcd: a closed store rejects UNAVAILABLE at once, and close may be repeated', async (t) => {
  const s = etcdStore({ endpoints: [`http://127.0.0.1:${await closedPort()}`], requestTimeoutMs: 5000 })
  const pending = s.get('/a')
  await s.close()
  await s.close()
  const started = Date.now()
  t.is(await code(pending), 'CTRL_ERR_STORE_UNAVAILABLE', 'a request in flight ends with the store')
  t.is(await code(s.create('/a', enc('x'))), 'CTRL_ERR_STORE_UNAVAILABLE')
  t.is(await code(s.watch('/a', { end: '/b', fromRevision: 1, signal: new AbortController().signal, onEvents: () => {} })), 'CTRL_ERR_STORE_UNAVAILABLE')
  t.true(Date.now() - started < 1000)
})
