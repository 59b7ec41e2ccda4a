/**
 * The etcd backend against a real etcd (Debian's 3.4, started per test by the
 * harness and removed in teardown, also when a test fails): the shared
 * conformance suite, then what only a shared, remote store has to get right —
 * two apiservers on one etcd, cut connections, compaction by someone else,
 * prefixes, an etcd that stops answering, shared TTL leases, progress.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'
import { etcdStore, prefixRange, storeConformance, StoreError } from '../../control/store/index.js'
import type { EtcdStoreInit, KeyValue, Store, StoreErrorCode, WatchEvent } from '../../control/store/index.js'
import { freePort, startEtcd, startTcpProxy } from '../harness/index.js'
import type { Etcd } from '../harness/index.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array | undefined): string | undefined => b === undefined ? undefined : new TextDecoder().decode(b)
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

// ---- the shared conformance suite, one etcd per test (the compaction tests compact) --------------------------------------

storeConformance(test, '[etcd] conformance', async () => {
  const teardowns: Array<() => void | Promise<void>> = []
  const runTeardowns = async (): Promise<void> => { for (const fn of teardowns.reverse()) await fn() }
  let etcd: Etcd
  try {
    etcd = await startEtcd({ teardown: (fn) => { teardowns.push(fn) } })
  } catch (err) {
    await runTeardowns()
    throw err
  }
  // reopen = a new client (another apiserver) on the same etcd: what was acknowledged must be there.
  let current = etcdStore({ endpoints: [etcd.endpoint] })
  return {
    store: current,
    reopen: async () => (current = etcdStore({ endpoints: [etcd.endpoint] })),
    cleanup: async () => { try { await current.close() } finally { await runTeardowns() } }
  }
})

// ---- helpers -------------------------------------------------------------------------------------------------------------

/** A store closed when the test ends. */
function open (t: ExecutionContext, endpoint: string, init: Partial<EtcdStoreInit> = {}): Store {
  const s = etcdStore({ endpoints: [endpoint], ...init })
  t.teardown(async () => { await s.close() })
  return s
}

interface KvSummary { key: string, value: string | undefined, createRevision: number, modRevision: number, version: number }
function sum (kv: KeyValue | undefined): KvSummary | undefined {
  return kv === undefined ? undefined : { key: kv.key, value: dec(kv.value), createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version }
}
const evSum = (e: WatchEvent): { type: string, key: string, rev: number, value: string | undefined, prev: string | undefined } =>
  ({ type: e.type, key: e.kv.key, rev: e.kv.modRevision, value: e.type === 'put' ? dec(e.kv.value) : undefined, prev: dec(e.prevKv?.value) })

async function rejects (t: ExecutionContext, p: Promise<unknown>, code: StoreErrorCode, what: string): Promise<StoreError | undefined> {
  try {
    await p
  } catch (err) {
    if (err instanceof StoreError) {
      t.is(err.code, code, `${what}: ${err.message}`)
      return err
    }
    t.fail(`${what}: rejected with a non-StoreError: ${String(err)}`)
    return undefined
  }
  t.fail(`${what}: resolved, expected ${code}`)
  return undefined
}

interface Recorder {
  events: WatchEvent[]
  progress: number[]
  /** Events and progress reports in the order they came: ['e', rev] or ['p', rev]. */
  log: Array<['e' | 'p', number]>
  ended: Promise<unknown>
  isEnded: () => boolean
  until: (n: number, ms?: number) => Promise<void>
  stop: () => Promise<void>
}

function record (store: Store, range: { start: string, end: string }, fromRevision: number, withProgress = false): Recorder {
  const ac = new AbortController()
  const r: Recorder = {
    events: [],
    progress: [],
    log: [],
    ended: Promise.resolve(),
    isEnded: () => ended,
    until: async (n, ms = 20_000) => {
      const deadline = Date.now() + ms
      while (r.events.length < n) {
        if (ended) throw new Error(`the watch ended after ${r.events.length} of ${n} events: ${String(await r.ended)}`)
        if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms with ${r.events.length} of ${n} events`)
        await sleep(10)
      }
    },
    stop: async () => { ac.abort(); await r.ended }
  }
  let ended = false
  r.ended = store.watch(range.start, {
    end: range.end,
    fromRevision,
    signal: ac.signal,
    onEvents: (evs) => { r.events.push(...evs); for (const e of evs) r.log.push(['e', e.kv.modRevision]) },
    ...(withProgress ? { onProgress: (rev: number) => { r.progress.push(rev); r.log.push(['p', rev]) } } : {})
  }).then(() => 'resolved', (err: unknown) => err).finally(() => { ended = true })
  return r
}

async function waitFor (what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(20)
  }
}

// ---- several apiservers on one etcd ----------------------------------------------------------------------------------

test('[etcd] two stores on one etcd see each other\'s writes, conflicts and watches', async (t) => {
  const etcd = await startEtcd(t)
  const a = open(t, etcd.endpoint)
  const b = open(t, etcd.endpoint)
  const p = '/registry/pods/default/'
  const range = prefixRange(p)
  const from = (await a.revision()) + 1
  const wa = record(a, range, from)
  const wb = record(b, range, from)

  const x1 = await a.create(p + 'x', enc('x1'))
  t.deepEqual(sum(await b.get(p + 'x')), sum(x1), 'b reads what a wrote')
  await rejects(t, b.create(p + 'x', enc('again')), 'CTRL_ERR_STORE_EXISTS', 'b creating what a created')
  const x2 = await b.update(p + 'x', enc('x2'), x1.modRevision)
  const stale = await rejects(t, a.update(p + 'x', enc('x3'), x1.modRevision), 'CTRL_ERR_STORE_CONFLICT', 'a updating with the revision b replaced')
  t.deepEqual(sum(stale?.current), sum(x2), 'the conflict carries b\'s write')
  const y1 = await b.create(p + 'y', enc('y1'))
  t.deepEqual((await a.list(range.start, { end: range.end })).kvs.map(sum), [sum(x2), sum(y1)])

  // Racing compare-and-swaps from both stores on one key: exactly one wins across both.
  const racers = await Promise.allSettled([a, b].flatMap((s, i) => Array.from({ length: 10 }, async (_, j) => await s.update(p + 'y', enc(`r${i}-${j}`), y1.modRevision))))
  const won = racers.filter((r): r is PromiseFulfilledResult<KeyValue> => r.status === 'fulfilled')
  t.is(won.length, 1, 'one update wins across two apiservers')
  t.true(racers.every((r) => r.status === 'fulfilled' || (r.reason instanceof StoreError && r.reason.code === 'CTRL_ERR_STORE_CONFLICT')))
  const y2 = won[0]?.value as KeyValue
  const gone = await a.delete(p + 'x', x2.modRevision)
  t.deepEqual(sum(gone), sum(x2))
  t.is(await b.get(p + 'x'), undefined)

  const expected = [
    { type: 'put', key: p + 'x', rev: x1.modRevision, value: 'x1', prev: undefined },
    { type: 'put', key: p + 'x', rev: x2.modRevision, value: 'x2', prev: 'x1' },
    { type: 'put', key: p + 'y', rev: y1.modRevision, value: 'y1', prev: undefined },
    { type: 'put', key: p + 'y', rev: y2.modRevision, value: dec(y2.value), prev: 'y1' },
    { type: 'delete', key: p + 'x', rev: y2.modRevision + 1, value: undefined, prev: 'x2' }
  ]
  await wa.until(5)
  await wb.until(5)
  await sleep(100)
  t.deepEqual(wa.events.map(evSum), expected, 'a\'s watch sees both stores\' writes')
  t.deepEqual(wb.events.map(evSum), expected, 'b\'s watch sees the same history')
  await wa.stop()
  await wb.stop()
})

test('[etcd] a watch survives cut connections and resumes without losing or duplicating events', async (t) => {
  const etcd = await startEtcd(t)
  const proxy = await startTcpProxy(t, { host: etcd.host, port: etcd.clientPort })
  // Set to cut the connection from inside the store, right after it read etcd's answer to a new watch.
  let cutWhenEstablished = false
  const quiet = (): void => {}
  const watching = open(t, proxy.endpoint, {
    logger: {
      info: quiet,
      warn: quiet,
      error: quiet,
      debug: (_obj, msg) => {
        if (msg !== 'etcd watch established' || !cutWhenEstablished) return
        cutWhenEstablished = false
        proxy.cut()
      }
    }
  })
  const writer = open(t, etcd.endpoint)
  const p = '/registry/configmaps/default/'
  const from = (await writer.revision()) + 1
  const w = record(watching, prefixRange(p), from)
  await waitFor('the watch to connect through the proxy', () => proxy.accepted >= 1)

  const expected: Array<ReturnType<typeof evSum>> = []
  const cur = new Map<string, KeyValue>()
  const write = async (i: number): Promise<void> => {
    const key = p + `cm${i % 7}`
    const prev = cur.get(key)
    if (prev === undefined) {
      const kv = await writer.create(key, enc(`v${i}`))
      cur.set(key, kv)
      expected.push({ type: 'put', key, rev: kv.modRevision, value: `v${i}`, prev: undefined })
    } else if (i % 5 === 0) {
      await writer.delete(key, prev.modRevision)
      cur.delete(key)
      expected.push({ type: 'delete', key, rev: -1, value: undefined, prev: dec(prev.value) })
    } else {
      const kv = await writer.update(key, enc(`v${i}`), prev.modRevision)
      cur.set(key, kv)
      expected.push({ type: 'put', key, rev: kv.modRevision, value: `v${i}`, prev: dec(prev.value) })
    }
  }

  let cuts = 0
  let n = 0
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 25; i++) await write(n++)
    // Cut at once, with events of the burst still on their way; keep writing while the watcher is away.
    const before = proxy.accepted
    proxy.cut()
    cuts++
    for (let j = 0; j < 5; j++) await write(n++)
    await sleep(200)
    proxy.restore()
    await waitFor(`the watch to reconnect after cut ${cuts}`, () => proxy.accepted > before)
    await w.until(expected.length, 30_000)
  }

  // A backlog written while away, and a second cut the moment the resumed watch is established: its
  // `created` answer carries etcd's current revision, but etcd replays the backlog only afterwards
  // (it syncs a late watcher within 100 ms). Resuming after that answer's revision, as etcd3's own
  // Watcher does, would skip the backlog.
  for (let round = 0; round < 3; round++) {
    proxy.cut()
    cuts++
    for (let j = 0; j < 20; j++) await write(n++)
    cutWhenEstablished = true
    proxy.restore()
    await waitFor('the second cut', () => !cutWhenEstablished)
    cuts++
    await sleep(100)
    proxy.restore()
    await w.until(expected.length, 30_000)
  }
  await w.until(expected.length, 30_000)
  await sleep(300)
  const got = w.events.map(evSum)
  // A delete's revision is known only from the event.
  t.deepEqual(got, expected.map((e, i) => e.rev === -1 ? { ...e, rev: got[i]?.rev ?? -1 } : e), 'every change exactly once, in order')
  for (let i = 1; i < got.length; i++) t.true((got[i]?.rev ?? 0) > (got[i - 1]?.rev ?? 0), 'revisions strictly increase: no duplicates')
  t.true(proxy.accepted >= cuts + 1, `reconnected after every cut (${proxy.accepted} connections for ${cuts} cuts)`)
  t.false(w.isEnded(), 'the watch is still running')

  // A cut while nothing happens, then a write: still delivered.
  proxy.cut()
  await sleep(300)
  proxy.restore()
  const last = await writer.create(p + 'after', enc('after'))
  await w.until(expected.length + 1)
  t.is(w.events[expected.length]?.kv.modRevision, last.modRevision)
  await w.stop()
  t.is(await w.ended, 'resolved')
})

test('[etcd] compaction by another client is reported as COMPACTED with the compact revision', async (t) => {
  const etcd = await startEtcd(t)
  const s = open(t, etcd.endpoint)
  const p = '/registry/services/specs/default/'
  const a1 = await s.create(p + 'a', enc('a1'))
  const a2 = await s.update(p + 'a', enc('a2'), a1.modRevision)
  const a3 = await s.update(p + 'a', enc('a3'), a2.modRevision)
  t.is(await s.compactedRevision(), 0, 'nothing compacted yet')
  // A live watch from before the compaction, already caught up, is not affected by it.
  const live = record(s, prefixRange(p), a1.modRevision)
  await live.until(3)

  // kube-apiserver's compactor (or an operator) compacts through its own client.
  await etcd.etcdctl(['compaction', String(a3.modRevision)])

  const getErr = await rejects(t, s.get(p + 'a', { revision: a2.modRevision }), 'CTRL_ERR_STORE_COMPACTED', 'get below the compaction')
  t.is(getErr?.compactedRevision, a3.modRevision)
  const listErr = await rejects(t, s.list(p, { end: prefixRange(p).end, revision: a1.modRevision }), 'CTRL_ERR_STORE_COMPACTED', 'list below the compaction')
  t.is(listErr?.compactedRevision, a3.modRevision)
  const ac = new AbortController()
  t.teardown(() => { ac.abort() })
  const watchErr = await rejects(t, s.watch(p, { end: prefixRange(p).end, fromRevision: a1.modRevision, signal: ac.signal, onEvents: () => { t.fail('no events below a compaction') } }), 'CTRL_ERR_STORE_COMPACTED', 'watch below the compaction')
  t.is(watchErr?.compactedRevision, a3.modRevision)
  t.is(await s.compactedRevision(), a3.modRevision)
  t.deepEqual(sum(await s.get(p + 'a', { revision: a3.modRevision })), sum(a3), 'the compact revision itself is readable')
  const again = await rejects(t, s.compact(a2.modRevision), 'CTRL_ERR_STORE_COMPACTED', 'compacting below it')
  t.is(again?.compactedRevision, a3.modRevision)

  // A fresh client finds the compact revision as well.
  const other = open(t, etcd.endpoint)
  t.is(await other.compactedRevision(), a3.modRevision)

  const a4 = await s.update(p + 'a', enc('a4'), a3.modRevision)
  await live.until(4)
  t.deepEqual(live.events.map((e) => e.kv.modRevision), [a1.modRevision, a2.modRevision, a3.modRevision, a4.modRevision])
  await live.stop()
})

test('[etcd] a prefix isolates two clusters in one etcd, and keys are stored exactly under it', async (t) => {
  const etcd = await startEtcd(t)
  const a = open(t, etcd.endpoint, { prefix: '/cluster-a' })
  const b = open(t, etcd.endpoint, { prefix: '/cluster-b' })
  const raw = open(t, etcd.endpoint)
  const key = '/registry/pods/default/web'
  const all = { start: '', end: '\0' }
  const wa = record(a, all, (await a.revision()) + 1)

  const ka = await a.create(key, enc('A'))
  const kb = await b.create(key, enc('B'))
  t.is(ka.key, key, 'keys come back without the prefix')
  t.is(dec((await a.get(key))?.value), 'A')
  t.is(dec((await b.get(key))?.value), 'B')
  t.is(await raw.get(key), undefined, 'nothing at the bare key')
  t.is(dec((await raw.get('/cluster-a' + key))?.value), 'A', 'the unprefixed store sees the prefixed key as it is')
  const ctl = await etcd.etcdctl(['get', '--prefix', '/cluster-', '--keys-only'])
  t.deepEqual(ctl.stdout.split('\n').filter((l) => l !== ''), ['/cluster-a' + key, '/cluster-b' + key], 'etcd holds prefix + key, nothing else')
  const value = await etcd.etcdctl(['get', '/cluster-b' + key, '--print-value-only'])
  t.is(value.stdout.trim(), 'B', 'the value is stored as given')

  // "Every key" of a prefixed store is every key under its prefix only.
  const listA = await a.list(all.start, { end: all.end })
  t.deepEqual(listA.kvs.map((kv) => kv.key), [key])
  t.is(listA.count, 1)
  t.is((await raw.list(all.start, { end: all.end, countOnly: true })).count, 2)
  await b.create('/registry/pods/default/other', enc('B2'))
  await b.delete(key)
  t.is(dec((await a.get(key))?.value), 'A', 'b deleting its key leaves a\'s alone')
  await a.update(key, enc('A2'), ka.modRevision)
  await wa.until(2)
  await sleep(200)
  t.deepEqual(wa.events.map((e) => [e.type, e.kv.key, dec(e.kv.value)]), [['put', key, 'A'], ['put', key, 'A2']], 'a\'s watch of everything sees only a\'s keys')
  t.is(kb.key, key)
  await wa.stop()
})

// ---- an etcd that is not there ---------------------------------------------------------------------------------------------

test('[etcd] requests fail UNAVAILABLE within the timeout when etcd is frozen or stopped, and work again when it is back', async (t) => {
  const etcd = await startEtcd(t)
  const timeout = 1500
  const s = open(t, etcd.endpoint, { requestTimeoutMs: timeout, watchResumeTimeoutMs: 2000 })
  const p = '/registry/nodes/'
  const n1 = await s.create(p + 'n1', enc('n1'))
  const w = record(s, prefixRange(p), n1.modRevision + 1)

  const ops: Array<[string, () => Promise<unknown>]> = [
    ['get', async () => await s.get(p + 'n1')],
    ['list', async () => await s.list(p, { end: prefixRange(p).end })],
    ['create', async () => await s.create(p + 'n2', enc('n2'))],
    ['create with ttl', async () => await s.create(p + 'n3', enc('n3'), { ttlSeconds: 600 })],
    ['update', async () => await s.update(p + 'n1', enc('x'), n1.modRevision)],
    ['delete', async () => await s.delete(p + 'n1')],
    ['revision', async () => await s.revision()],
    ['compact', async () => await s.compact(n1.modRevision)],
    ['compactedRevision', async () => await s.compactedRevision()]
  ]
  const allFail = async (how: string): Promise<void> => {
    await Promise.all(ops.map(async ([name, op]) => {
      const started = Date.now()
      await rejects(t, op(), 'CTRL_ERR_STORE_UNAVAILABLE', `${name} with etcd ${how}`)
      const took = Date.now() - started
      t.true(took < timeout + 1000, `${name} with etcd ${how} gave up after ${took} ms`)
    }))
  }

  // 1. Frozen: connections stay open and nothing answers, so only the deadline can end a request.
  process.kill(etcd.pid, 'SIGSTOP')
  t.teardown(() => { try { process.kill(etcd.pid, 'SIGCONT') } catch { /* gone */ } })
  await allFail('frozen')
  const frozenWatch = record(s, prefixRange(p), n1.modRevision + 1)
  process.kill(etcd.pid, 'SIGCONT')
  // 2. Back: the same store works again; the watch that waited through it and the one started meanwhile miss nothing.
  await waitFor('etcd to answer again', async () => { try { await s.revision(); return true } catch { return false } })
  const n4 = await s.create(p + 'n4', enc('n4'))
  await waitFor('both watches to see the write after the freeze', () => [w, frozenWatch].every((r) => r.events.some((e) => e.kv.modRevision === n4.modRevision)))
  t.is(w.events.at(-1)?.kv.modRevision, n4.modRevision)
  t.deepEqual(frozenWatch.events.map(evSum), w.events.map(evSum), 'the watch started during the freeze sees the same history')
  // A write that timed out may still be applied when etcd wakes up (its request was already in the socket):
  // UNAVAILABLE on a write means "unknown", not "not written". Whatever was applied is in the watch.
  for (const e of w.events.slice(0, -1)) t.true([p + 'n1', p + 'n2', p + 'n3'].includes(e.kv.key), `${e.kv.key} written during the freeze`)
  await frozenWatch.stop()

  // 3. Stopped: connections are refused; requests retry that until their deadline (etcd may be restarting), then fail,
  // and the watch gives up after watchResumeTimeoutMs.
  await etcd.stop()
  await allFail('stopped')
  const started = Date.now()
  const err = await w.ended
  t.true(err instanceof StoreError && err.code === 'CTRL_ERR_STORE_UNAVAILABLE', `the watch ended with ${String(err)}`)
  t.true(Date.now() - started < 2000 + timeout + 1000, 'the watch gave up within its resume timeout')
  const late = record(s, prefixRange(p), 1)
  const lateErr = await late.ended
  t.true(lateErr instanceof StoreError && lateErr.code === 'CTRL_ERR_STORE_UNAVAILABLE', `a watch started with etcd gone ends with ${String(lateErr)}`)
})

test('[etcd] with one dead endpoint among several, requests and watches go to the live one', async (t) => {
  const etcd = await startEtcd(t)
  const dead = `http://127.0.0.1:${await freePort()}`
  const s = open(t, dead, { requestTimeoutMs: 500 })
  const both = open(t, etcd.endpoint)
  const store = etcdStore({ endpoints: [dead, etcd.endpoint], requestTimeoutMs: 5000 })
  t.teardown(async () => { await store.close() })
  await rejects(t, s.revision(), 'CTRL_ERR_STORE_UNAVAILABLE', 'only the dead endpoint')
  const p = '/registry/leases/kube-node-lease/'
  const w = record(store, prefixRange(p), (await both.revision()) + 1)
  const made = await Promise.all(Array.from({ length: 40 }, async (_, i) => await store.create(p + `node${i}`, enc(`${i}`))))
  for (const kv of made) t.deepEqual(sum(await store.get(kv.key)), sum(kv))
  await w.until(40)
  t.deepEqual(w.events.map((e) => e.kv.modRevision), made.map((kv) => kv.modRevision).sort((x, y) => x - y))
  await w.stop()
})

test('[etcd] a closed store ends its running watches with UNAVAILABLE', async (t) => {
  const etcd = await startEtcd(t)
  const s = etcdStore({ endpoints: [etcd.endpoint] })
  t.teardown(async () => { await s.close() })
  const w = record(s, prefixRange('/registry/'), 0)
  await s.create('/registry/x', enc('x'))
  await w.until(1)
  await s.close()
  const err = await w.ended
  t.true(err instanceof StoreError && err.code === 'CTRL_ERR_STORE_UNAVAILABLE', `the watch ended with ${String(err)}`)
})

// ---- TTLs on shared leases ---------------------------------------------------------------------------------------------

test('[etcd] keys with a TTL share one etcd lease per TTL, and read back with their TTL from any client', async (t) => {
  const etcd = await startEtcd(t)
  const s = open(t, etcd.endpoint)
  const p = '/registry/events/default/'
  const hour = await Promise.all(Array.from({ length: 60 }, async (_, i) => await s.create(p + `e${i}`, enc(`${i}`), { ttlSeconds: 3600 })))
  const tenMin = await Promise.all(Array.from({ length: 10 }, async (_, i) => await s.create(p + `f${i}`, enc(`${i}`), { ttlSeconds: 600 })))
  // Under 20 s there is no margin to share within (5 % of the TTL rounds to 0): one lease each, as in kube-apiserver.
  await s.create(p + 'short1', enc('s'), { ttlSeconds: 10 })
  await s.create(p + 'short2', enc('s'), { ttlSeconds: 10 })
  t.true([...hour, ...tenMin].every((kv) => kv.ttlSeconds !== undefined))

  /** The key's lease ID in hex as `etcdctl lease list` prints it (%016x), '0' for none. JSON.parse would round the int64. */
  const leaseOf = async (key: string): Promise<string> => {
    const r = await etcd.etcdctl(['get', key, '-w', 'json'])
    const id = BigInt(/"lease":(\d+)/.exec(r.stdout)?.[1] ?? '0')
    return id === 0n ? '0' : id.toString(16).padStart(16, '0')
  }
  const hourLeases = new Set(await Promise.all(hour.map(async (kv) => await leaseOf(kv.key))))
  const tenMinLeases = new Set(await Promise.all(tenMin.map(async (kv) => await leaseOf(kv.key))))
  t.is(hourLeases.size, 1, '60 keys with a 1 h TTL share one lease')
  t.is(tenMinLeases.size, 1, '10 keys with a 10 min TTL share one lease')
  const listed = (await etcd.etcdctl(['lease', 'list'])).stdout.split('\n').map((l) => l.trim()).filter((l) => /^[0-9a-f]+$/.test(l))
  t.is(listed.length, 4, `leases in etcd: ${listed.join(', ')}`)
  const hourId = [...hourLeases][0] as string
  t.true(listed.includes(hourId))
  // The lease outlives the TTL by kube-apiserver's reuse margin: 5 %, at most 60 s.
  const ttl = await etcd.etcdctl(['lease', 'timetolive', hourId])
  t.regex(ttl.stdout, /granted with TTL\(3660s\)/)

  t.is((await s.get(p + 'e0'))?.ttlSeconds, 3600)
  const other = open(t, etcd.endpoint)
  t.is((await other.get(p + 'e1'))?.ttlSeconds, 3600, 'a new client derives the TTL from the lease')
  t.is((await other.get(p + 'f1'))?.ttlSeconds, 600)
  t.is((await other.get(p + 'short1'))?.ttlSeconds, 10)
  const all = await other.list(p, { end: prefixRange(p).end })
  t.is(all.kvs.length, 72)
  t.is(all.kvs.filter((kv) => kv.ttlSeconds === 3600).length, 60)

  // A write without a TTL takes the key off its lease.
  const e0 = hour[0] as KeyValue
  const kept = await other.update(e0.key, enc('kept'), e0.modRevision)
  t.is(kept.ttlSeconds, undefined)
  t.is(await leaseOf(e0.key), '0')

  // Someone revokes the shared lease: its keys go (etcd's semantics), and the next write gets a new lease.
  await etcd.etcdctl(['lease', 'revoke', hourId])
  t.is(await s.get(p + 'e1'), undefined)
  const fresh = await s.create(p + 'fresh', enc('x'), { ttlSeconds: 3600 })
  t.is(fresh.ttlSeconds, 3600)
  t.not(await leaseOf(p + 'fresh'), hourId)
  t.truthy(await s.get(e0.key), 'the key taken off the lease stayed')
})

// ---- progress ------------------------------------------------------------------------------------------------------------

test('[etcd] onProgress reports revisions that moved past with nothing for the watch, never ahead of its events', async (t) => {
  const etcd = await startEtcd(t)
  const s = open(t, etcd.endpoint, { progressIntervalMs: 100 })
  const p = '/registry/secrets/default/'
  const w = record(s, prefixRange(p), (await s.revision()) + 1, true)
  const outside = await s.create('/registry/configmaps/default/cm', enc('x'))
  await waitFor('a progress report past the write outside the range', () => w.progress.some((r) => r >= outside.modRevision))
  const inside = await s.create(p + 'sec', enc('y'))
  for (let i = 0; i < 20; i++) await s.create(`/registry/configmaps/default/cm${i}`, enc('x'))
  const end = await s.revision()
  await w.until(1)
  await waitFor('progress to the last write', () => w.progress.some((r) => r >= end))
  t.is(w.events[0]?.kv.modRevision, inside.modRevision)
  // Whatever the interleaving, a report never claims a revision whose event has not been delivered.
  let lastEvent = 0
  for (const [kind, rev] of w.log) {
    if (kind === 'e') lastEvent = rev
    else t.true(rev > lastEvent, `progress ${rev} after event ${lastEvent}`)
  }
  for (let i = 1; i < w.progress.length; i++) t.true((w.progress[i] as number) > (w.progress[i - 1] as number), 'progress moves forward')
  t.true(w.log.findIndex(([k, r]) => k === 'p' && r >= inside.modRevision) > w.log.findIndex(([k]) => k === 'e'), 'the event came before any progress past it')
  await w.stop()
})
