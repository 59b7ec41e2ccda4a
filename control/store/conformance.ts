/**
 * The conformance suite every Store backend must pass (memory, embedded, etcd).
 *
 *   storeConformance(test, 'memory', async () => {
 *     const store = memoryStore()
 *     return { store, cleanup: async () => { await store.close() } }
 *   })
 *
 * `open()` is called once per test and must return a store the test may use
 * alone: the suite only writes under a unique prefix per test and never assumes
 * absolute revision numbers, so a backend may share one etcd between tests as
 * long as compaction is not shared (the compaction test compacts).
 *
 * `reopen()`, when given, must return a new Store over the same data; the suite
 * closes the store it holds before calling it, and `cleanup()` must close the
 * store last opened (close is idempotent) and remove any data.
 *
 * What the suite pins down beyond types.ts (etcd's behaviour in each case):
 * - a failed write does not consume a revision; revisions are strictly
 *   increasing, and for backends owning their counter (kind !== 'etcd') dense;
 * - a delete event's `kv` is etcd's tombstone: the key, the deleting revision as
 *   modRevision, createRevision 0, version 0, an empty value;
 * - reads at the compacted revision itself still work, one below reject
 *   COMPACTED with `compactedRevision`; compacting at or below the compacted
 *   revision rejects COMPACTED, beyond the current one FUTURE_REVISION;
 * - keys order by their UTF-8 bytes, as etcd orders them;
 * - an update without `ttlSeconds` makes the key permanent (etcd detaches the lease);
 * - operations on a closed store reject UNAVAILABLE, and close() may be repeated.
 */
import type { ExecutionContext, TestFn } from 'ava'
import { StoreError } from './errors.js'
import type { StoreErrorCode } from './errors.js'
import { prefixRange } from './types.js'
import type { KeyValue, Store, WatchEvent } from './types.js'

export interface ConformanceHandle {
  store: Store
  /** A new Store over the same data; called after the suite has closed `store`. */
  reopen?: () => Promise<Store>
  /** Close the store last opened and remove its data. Runs also when a test fails. */
  cleanup: () => Promise<void>
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array): string => new TextDecoder().decode(b)
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0

/** How long the suite waits for an event before failing (etcd checks lease expiry every 500 ms and rounds TTLs up to 2 s). */
const EVENT_TIMEOUT_MS = 15_000

/** A comparable summary of a key-value: ava's deepEqual does not compare Uint8Array with Buffer. */
interface KvSummary { key: string, value: string, createRevision: number, modRevision: number, version: number }
function sum (kv: KeyValue): KvSummary
function sum (kv: KeyValue | undefined): KvSummary | undefined
function sum (kv: KeyValue | undefined): KvSummary | undefined {
  if (kv === undefined) return undefined
  return { key: kv.key, value: Buffer.from(kv.value).toString('hex'), createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version }
}

interface EventSummary { type: 'put' | 'delete', kv: KvSummary, prevKv: KvSummary | undefined }
const evSum = (e: WatchEvent): EventSummary => ({ type: e.type, kv: sum(e.kv), prevKv: sum(e.prevKv) })
const putEv = (kv: KeyValue, prevKv?: KeyValue): EventSummary => ({ type: 'put', kv: sum(kv), prevKv: sum(prevKv) })
const delEv = (prevKv: KeyValue, rev: number): EventSummary => ({
  type: 'delete', kv: { key: prevKv.key, value: '', createRevision: 0, modRevision: rev, version: 0 }, prevKv: sum(prevKv)
})

/**
 * A client learns a delete's revision only from the event (or a read that may
 * race other writers on a shared etcd). For backends that do not own their
 * counter, take the delete revisions of `expected` from `got`; dense backends
 * are compared as they are.
 */
function alignDeletes (store: Store, got: EventSummary[], expected: EventSummary[]): EventSummary[] {
  if (store.kind !== 'etcd') return expected
  return expected.map((e, i) => {
    const g = got[i]
    return e.type === 'delete' && g?.type === 'delete' ? { ...e, kv: { ...e.kv, modRevision: g.kv.modRevision } } : e
  })
}

/** Rejects with a readable message when `p` has not settled after `ms`, instead of hanging until ava's timeout. */
async function within<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what}: still pending after ${ms} ms`)) }, ms) })])
  } finally {
    clearTimeout(timer)
  }
}

async function rejects (t: ExecutionContext, p: Promise<unknown>, code: StoreErrorCode, what: string): Promise<StoreError | undefined> {
  try {
    await within(p, EVENT_TIMEOUT_MS, what)
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

/** A watch that records what it receives. */
interface Recorder {
  events: WatchEvent[]
  batches: WatchEvent[][]
  /** Settles when the watch ends: 'resolved' or the rejection. */
  ended: Promise<'resolved' | unknown>
  isEnded: () => boolean
  /** Resolves once `n` events have arrived; fails after `ms`. */
  until: (n: number, ms?: number) => Promise<void>
  stop: () => Promise<void>
}

function record (store: Store, range: { start: string, end: string }, fromRevision: number): Recorder {
  const ac = new AbortController()
  const events: WatchEvent[] = []
  const batches: WatchEvent[][] = []
  let waiters: Array<() => void> = []
  let ended = false
  const wake = (): void => { const w = waiters; waiters = []; for (const f of w) f() }
  const done = store.watch(range.start, {
    end: range.end,
    fromRevision,
    signal: ac.signal,
    onEvents: (evs) => { batches.push([...evs]); events.push(...evs); wake() }
  })
  const endedP = done.then(() => 'resolved' as const, (err: unknown) => err).finally(() => { ended = true; wake() })
  return {
    events,
    batches,
    ended: endedP,
    isEnded: () => ended,
    until: async (n, ms = EVENT_TIMEOUT_MS) => {
      const deadline = Date.now() + ms
      while (events.length < n) {
        if (ended) throw new Error(`the watch ended after ${events.length} of ${n} events: ${String(await endedP)}`)
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`timed out after ${ms} ms with ${events.length} of ${n} events`)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left)
          waiters.push(() => { clearTimeout(timer); resolve() })
        })
      }
    },
    stop: async () => { ac.abort(); await within(endedP, 5000, 'the watch after its signal aborted') }
  }
}

/** Events of one watch arrive in strictly increasing revision order, and no revision is split across batches. */
function assertBatches (t: ExecutionContext, r: Recorder): void {
  t.true(r.batches.every((b) => b.length > 0), 'no empty batches')
  const batchOf = new Map<number, number>()
  let last = 0
  r.batches.forEach((b, i) => {
    for (const e of b) {
      t.true(e.kv.modRevision >= last, `event at ${e.kv.modRevision} after ${last}`)
      last = e.kv.modRevision
      const seen = batchOf.get(e.kv.modRevision)
      t.true(seen === undefined || seen === i, `revision ${e.kv.modRevision} split across batches`)
      batchOf.set(e.kv.modRevision, i)
    }
  })
}

let prefixCounter = 0

export function storeConformance (test: TestFn, name: string, open: () => Promise<ConformanceHandle>): void {
  /** Opens a store for one test, with a prefix of its own, closed and removed in teardown. */
  async function setup (t: ExecutionContext): Promise<{ store: Store, p: string, handle: ConformanceHandle }> {
    const handle = await open()
    t.teardown(async () => { await handle.cleanup() })
    const p = `/conformance/${prefixCounter++}-${Math.random().toString(36).slice(2, 8)}/`
    return { store: handle.store, p, handle }
  }
  const dense = (store: Store): boolean => store.kind !== 'etcd'
  const it = (title: string, fn: (t: ExecutionContext) => Promise<void>): void => { test(`${name}: ${title}`, fn) }

  it('create returns the stored key-value and get reads it back', async (t) => {
    const { store, p } = await setup(t)
    const before = await store.revision()
    const kv = await store.create(p + 'a', enc('one'))
    t.is(kv.key, p + 'a')
    t.is(dec(kv.value), 'one')
    t.true(kv.modRevision > before, 'a write moves the revision')
    t.is(kv.createRevision, kv.modRevision)
    t.is(kv.version, 1)
    t.is(kv.ttlSeconds, undefined)
    t.deepEqual(sum(await store.get(p + 'a')), sum(kv))
    t.true(await store.revision() >= kv.modRevision)
    t.is(await store.get(p + 'missing'), undefined)
    if (dense(store)) t.is(await store.revision(), kv.modRevision)
  })

  it('create of an existing key rejects CTRL_ERR_STORE_EXISTS and writes nothing', async (t) => {
    const { store, p } = await setup(t)
    const kv = await store.create(p + 'a', enc('one'))
    await rejects(t, store.create(p + 'a', enc('two')), 'CTRL_ERR_STORE_EXISTS', 'second create')
    t.deepEqual(sum(await store.get(p + 'a')), sum(kv))
    const next = await store.create(p + 'b', enc('b'))
    if (dense(store)) t.is(next.modRevision, kv.modRevision + 1, 'the failed create consumed no revision')
    else t.true(next.modRevision > kv.modRevision)
  })

  it('update with the current modRevision replaces the value; a stale one rejects CONFLICT with the current value', async (t) => {
    const { store, p } = await setup(t)
    const v1 = await store.create(p + 'a', enc('v1'))
    const v2 = await store.update(p + 'a', enc('v2'), v1.modRevision)
    t.is(dec(v2.value), 'v2')
    t.true(v2.modRevision > v1.modRevision)
    t.is(v2.createRevision, v1.createRevision)
    t.is(v2.version, 2)
    t.deepEqual(sum(await store.get(p + 'a')), sum(v2))
    const err = await rejects(t, store.update(p + 'a', enc('v3'), v1.modRevision), 'CTRL_ERR_STORE_CONFLICT', 'stale update')
    t.deepEqual(sum(err?.current), sum(v2), 'the conflict carries the current value')
    t.deepEqual(sum(await store.get(p + 'a')), sum(v2), 'nothing written')
    const v3 = await store.update(p + 'a', enc('v3'), v2.modRevision)
    t.is(v3.version, 3)
    t.is(v3.createRevision, v1.createRevision)
  })

  it('update and delete of an absent key reject CTRL_ERR_STORE_NOT_FOUND', async (t) => {
    const { store, p } = await setup(t)
    await rejects(t, store.update(p + 'nope', enc('x'), 1), 'CTRL_ERR_STORE_NOT_FOUND', 'update absent')
    await rejects(t, store.delete(p + 'nope'), 'CTRL_ERR_STORE_NOT_FOUND', 'delete absent')
    await rejects(t, store.delete(p + 'nope', 1), 'CTRL_ERR_STORE_NOT_FOUND', 'conditional delete absent')
    const kv = await store.create(p + 'gone', enc('x'))
    await store.delete(p + 'gone')
    await rejects(t, store.update(p + 'gone', enc('y'), kv.modRevision), 'CTRL_ERR_STORE_NOT_FOUND', 'update deleted')
    await rejects(t, store.delete(p + 'gone', kv.modRevision), 'CTRL_ERR_STORE_NOT_FOUND', 'delete deleted')
    t.is(await store.get(p + 'gone'), undefined)
  })

  it('delete resolves with the deleted value; a stale expected revision rejects CONFLICT', async (t) => {
    const { store, p } = await setup(t)
    const a = await store.create(p + 'a', enc('a'))
    const b1 = await store.create(p + 'b', enc('b1'))
    const b2 = await store.update(p + 'b', enc('b2'), b1.modRevision)
    t.deepEqual(sum(await store.delete(p + 'a')), sum(a), 'unconditional delete returns the last value')
    t.is(await store.get(p + 'a'), undefined)
    const err = await rejects(t, store.delete(p + 'b', b1.modRevision), 'CTRL_ERR_STORE_CONFLICT', 'stale delete')
    t.deepEqual(sum(err?.current), sum(b2))
    t.deepEqual(sum(await store.get(p + 'b')), sum(b2), 'still there')
    t.deepEqual(sum(await store.delete(p + 'b', b2.modRevision)), sum(b2))
    t.is(await store.get(p + 'b'), undefined)
    t.true(await store.revision() > b2.modRevision, 'a delete is a write at a revision of its own')
  })

  it('a key deleted and created again starts a new life: new createRevision, version 1', async (t) => {
    const { store, p } = await setup(t)
    const first = await store.create(p + 'k', enc('1'))
    await store.update(p + 'k', enc('2'), first.modRevision)
    await store.delete(p + 'k')
    const again = await store.create(p + 'k', enc('3'))
    t.is(again.version, 1)
    t.is(again.createRevision, again.modRevision)
    t.true(again.createRevision > first.createRevision)
    const upd = await store.update(p + 'k', enc('4'), again.modRevision)
    t.is(upd.version, 2)
    t.is(upd.createRevision, again.createRevision)
  })

  it('revisions increase strictly across all keys, one per write', async (t) => {
    const { store, p } = await setup(t)
    const revs: number[] = []
    const kvs = new Map<string, KeyValue>()
    for (let i = 0; i < 30; i++) {
      const key = p + `k${i % 4}`
      const cur = kvs.get(key)
      let kv: KeyValue
      if (cur === undefined) kv = await store.create(key, enc(`${i}`))
      else if (i % 7 === 0) { await store.delete(key, cur.modRevision); kvs.delete(key); revs.push(await store.revision()); continue } else kv = await store.update(key, enc(`${i}`), cur.modRevision)
      kvs.set(key, kv)
      revs.push(kv.modRevision)
    }
    for (let i = 1; i < revs.length; i++) t.true((revs[i] as number) > (revs[i - 1] as number), `revision ${revs[i]} after ${revs[i - 1]}`)
    if (dense(store)) {
      for (let i = 1; i < revs.length; i++) t.is(revs[i], (revs[i - 1] as number) + 1)
      t.is(await store.revision(), revs[revs.length - 1] as number)
    }
  })

  it('list returns the keys of [start, end) in key order, with prefixRange for prefixes', async (t) => {
    const { store, p } = await setup(t)
    const names = ['c', 'b/2', 'a', 'b0', 'b/1', 'b']
    const made = new Map<string, KeyValue>()
    for (const n of names) made.set(n, await store.create(p + n, enc(n)))
    await store.create(p.slice(0, -1) + '0', enc('just after the prefix'))
    const keysOf = (kvs: KeyValue[]): string[] => kvs.map((kv) => kv.key.slice(p.length))

    const all = await store.list(prefixRange(p).start, { end: prefixRange(p).end })
    t.deepEqual(keysOf(all.kvs), ['a', 'b', 'b/1', 'b/2', 'b0', 'c'])
    t.is(all.count, 6)
    t.false(all.more)
    t.true(all.revision >= (made.get('b') as KeyValue).modRevision)
    for (const kv of all.kvs) t.deepEqual(sum(kv), sum(made.get(kv.key.slice(p.length))))

    const sub = prefixRange(p + 'b/')
    t.deepEqual(keysOf((await store.list(sub.start, { end: sub.end })).kvs), ['b/1', 'b/2'])
    t.deepEqual(keysOf((await store.list(p + 'a', { end: p + 'c' })).kvs), ['a', 'b', 'b/1', 'b/2', 'b0'], 'end is exclusive')
    t.deepEqual(keysOf((await store.list(p + 'b/', { end: p + 'b0' })).kvs), ['b/1', 'b/2'])
    const none = await store.list(p + 'x', { end: p + 'y' })
    t.deepEqual(none.kvs, [])
    t.is(none.count, 0)
    t.false(none.more)
  })

  it('list with limit reports more and the full count; pages continue at the last key + "\\0"', async (t) => {
    const { store, p } = await setup(t)
    for (let i = 0; i < 10; i++) await store.create(p + `k${String(i).padStart(2, '0')}`, enc(`${i}`))
    const { start, end } = prefixRange(p)
    const first = await store.list(start, { end, limit: 3 })
    t.is(first.kvs.length, 3)
    t.is(first.count, 10)
    t.true(first.more)
    const seen: string[] = []
    let from = start
    let pages = 0
    for (;;) {
      const page = await store.list(from, { end, limit: 4, revision: first.revision })
      t.is(page.revision, first.revision)
      seen.push(...page.kvs.map((kv) => kv.key))
      pages++
      if (!page.more) break
      from = (page.kvs[page.kvs.length - 1] as KeyValue).key + '\0'
      if (pages > 10) break
    }
    t.is(pages, 3)
    t.deepEqual(seen, Array.from({ length: 10 }, (_, i) => p + `k${String(i).padStart(2, '0')}`))
    const exact = await store.list(start, { end, limit: 10 })
    t.is(exact.kvs.length, 10)
    t.false(exact.more, 'a limit equal to the count leaves nothing more')
    t.is((await store.list(start, { end, limit: 0 })).kvs.length, 10, 'limit 0 is no limit')
  })

  it('countOnly counts without returning key-values', async (t) => {
    const { store, p } = await setup(t)
    for (let i = 0; i < 7; i++) await store.create(p + (i < 4 ? 'a/' : 'b/') + i, enc('x'))
    const all = await store.list(prefixRange(p).start, { end: prefixRange(p).end, countOnly: true })
    t.deepEqual(all.kvs, [])
    t.is(all.count, 7)
    const a = await store.list(prefixRange(p + 'a/').start, { end: prefixRange(p + 'a/').end, countOnly: true })
    t.is(a.count, 4)
    t.deepEqual(a.kvs, [])
  })

  it('reads at an older revision see the store as it was, deleted keys included', async (t) => {
    const { store, p } = await setup(t)
    const { start, end } = prefixRange(p)
    const a1 = await store.create(p + 'a', enc('a1'))
    const a2 = await store.update(p + 'a', enc('a2'), a1.modRevision)
    const b1 = await store.create(p + 'b', enc('b1'))
    const gone = await store.delete(p + 'a')
    t.deepEqual(sum(gone), sum(a2))
    const r4 = await store.revision()

    t.deepEqual(sum(await store.get(p + 'a', { revision: a1.modRevision })), sum(a1))
    t.deepEqual(sum(await store.get(p + 'a', { revision: a2.modRevision })), sum(a2))
    t.deepEqual(sum(await store.get(p + 'a', { revision: b1.modRevision })), sum(a2))
    t.is(await store.get(p + 'a', { revision: r4 }), undefined)
    t.is(await store.get(p + 'b', { revision: a2.modRevision }), undefined, 'not yet created')
    t.is(await store.get(p + 'a', { revision: a1.modRevision - 1 }), undefined, 'before its creation')

    const at2 = await store.list(start, { end, revision: a2.modRevision })
    t.is(at2.revision, a2.modRevision)
    t.deepEqual(at2.kvs.map(sum), [sum(a2)])
    const at3 = await store.list(start, { end, revision: b1.modRevision })
    t.deepEqual(at3.kvs.map(sum), [sum(a2), sum(b1)])
    t.is(at3.count, 2)
    const limited = await store.list(start, { end, revision: b1.modRevision, limit: 1 })
    t.deepEqual(limited.kvs.map(sum), [sum(a2)])
    t.true(limited.more)
    t.is(limited.count, 2)
    t.deepEqual((await store.list(start, { end })).kvs.map(sum), [sum(b1)])
    t.is((await store.list(start, { end, revision: a1.modRevision, countOnly: true })).count, 1)
  })

  it('reads beyond the current revision reject CTRL_ERR_STORE_FUTURE_REVISION', async (t) => {
    const { store, p } = await setup(t)
    await store.create(p + 'a', enc('a'))
    const future = (await store.revision()) + 1000
    await rejects(t, store.get(p + 'a', { revision: future }), 'CTRL_ERR_STORE_FUTURE_REVISION', 'get')
    await rejects(t, store.list(p, { end: prefixRange(p).end, revision: future }), 'CTRL_ERR_STORE_FUTURE_REVISION', 'list')
  })

  it('compaction forgets older revisions: reads and watches below it reject CTRL_ERR_STORE_COMPACTED', async (t) => {
    const { store, p } = await setup(t)
    const { start, end } = prefixRange(p)
    const a1 = await store.create(p + 'a', enc('a1'))
    const a2 = await store.update(p + 'a', enc('a2'), a1.modRevision)
    const b1 = await store.create(p + 'b', enc('b1'))
    const a3 = await store.update(p + 'a', enc('a3'), a2.modRevision)
    await store.delete(p + 'b')
    const c = b1.modRevision
    t.true(await store.compactedRevision() < a1.modRevision, 'nothing of ours compacted yet')
    await store.compact(c)
    t.is(await store.compactedRevision(), c)

    const err = await rejects(t, store.get(p + 'a', { revision: a2.modRevision }), 'CTRL_ERR_STORE_COMPACTED', 'get below')
    t.is(err?.compactedRevision, c)
    await rejects(t, store.list(start, { end, revision: c - 1 }), 'CTRL_ERR_STORE_COMPACTED', 'list below')
    // The compacted revision itself is still readable, and so is everything after it.
    t.deepEqual((await store.list(start, { end, revision: c })).kvs.map(sum), [sum(a2), sum(b1)])
    t.deepEqual(sum(await store.get(p + 'a', { revision: c })), sum(a2))
    t.deepEqual(sum(await store.get(p + 'a', { revision: a3.modRevision })), sum(a3))
    t.deepEqual((await store.list(start, { end })).kvs.map(sum), [sum(a3)])

    const ac = new AbortController()
    const events: WatchEvent[] = []
    const werr = await rejects(t, store.watch(start, { end, fromRevision: c - 1, signal: ac.signal, onEvents: (e) => { events.push(...e) } }), 'CTRL_ERR_STORE_COMPACTED', 'watch below')
    t.is(werr?.compactedRevision, c)
    t.deepEqual(events, [])
    ac.abort()

    const w = record(store, { start, end }, c + 1)
    await w.until(2)
    const got = w.events.map(evSum)
    t.deepEqual(got, alignDeletes(store, got, [putEv(a3, a2), delEv(b1, a3.modRevision + 1)]))
    await w.stop()

    await rejects(t, store.compact(c), 'CTRL_ERR_STORE_COMPACTED', 'compacting again at the same revision')
    await rejects(t, store.compact(c - 1), 'CTRL_ERR_STORE_COMPACTED', 'compacting below')
    await rejects(t, store.compact((await store.revision()) + 10), 'CTRL_ERR_STORE_FUTURE_REVISION', 'compacting the future')
    await store.compact(await store.revision())
    t.deepEqual((await store.list(start, { end })).kvs.map(sum), [sum(a3)], 'compacting everything keeps the current state')
  })

  it('watch delivers the exact sequence of changes in its range, with previous values', async (t) => {
    const { store, p } = await setup(t)
    const range = prefixRange(p + 'w/')
    const from = (await store.revision()) + 1
    const w = record(store, range, from)
    const x1 = await store.create(p + 'w/x', enc('x1'))
    const x2 = await store.update(p + 'w/x', enc('x2'), x1.modRevision)
    await store.create(p + 'other', enc('not watched'))
    const y1 = await store.create(p + 'w/y', enc('y1'))
    await store.delete(p + 'w/x', x2.modRevision)
    const delRev = await store.revision()
    const y2 = await store.update(p + 'w/y', enc('y2'), y1.modRevision)
    await store.create(p + 'w0', enc('just outside the range'))
    await w.until(5)
    await sleep(50)
    const got = w.events.map(evSum)
    t.deepEqual(got, alignDeletes(store, got, [putEv(x1), putEv(x2, x1), putEv(y1), delEv(x2, delRev), putEv(y2, y1)]))
    const del = w.events[3] as WatchEvent
    t.true(del.kv.modRevision > y1.modRevision && del.kv.modRevision < y2.modRevision)
    assertBatches(t, w)
    t.false(w.isEnded())
    await w.stop()
    t.is(await w.ended, 'resolved', 'aborting resolves the watch')
  })

  it('watch from a past revision replays history, then continues live without gap or duplicate', async (t) => {
    const { store, p } = await setup(t)
    const range = prefixRange(p)
    const a1 = await store.create(p + 'a', enc('a1'))
    const b1 = await store.create(p + 'b', enc('b1'))
    const a2 = await store.update(p + 'a', enc('a2'), a1.modRevision)
    await store.delete(p + 'b')
    const delRev = await store.revision()
    const replay = record(store, range, b1.modRevision)
    await replay.until(3)
    const c1 = await store.create(p + 'c', enc('c1'))
    await replay.until(4)
    await sleep(50)
    const got = replay.events.map(evSum)
    const expected = alignDeletes(store, got, [putEv(b1), putEv(a2, a1), delEv(b1, delRev), putEv(c1)])
    t.deepEqual(got, expected)
    assertBatches(t, replay)
    const all = record(store, range, a1.modRevision)
    await all.until(5)
    t.deepEqual(all.events.map(evSum), [putEv(a1), ...expected])
    await replay.stop()
    await all.stop()
  })

  it('watch batches keep revision order and never split a revision under concurrent writes', async (t) => {
    const { store, p } = await setup(t)
    const range = prefixRange(p)
    const w = record(store, range, (await store.revision()) + 1)
    const made = await Promise.all(Array.from({ length: 100 }, async (_, i) => await store.create(p + `k${i}`, enc(`${i}`))))
    await w.until(100)
    assertBatches(t, w)
    const byRev = [...made].sort((a, b) => a.modRevision - b.modRevision)
    t.deepEqual(w.events.map(evSum), byRev.map((kv) => putEv(kv)))
    await w.stop()
  })

  it('several concurrent watchers each see their own exact sequence', async (t) => {
    const { store, p } = await setup(t)
    const from = (await store.revision()) + 1
    const ranges = [prefixRange(p), prefixRange(p + 'a/'), prefixRange(p + 'b/'), { start: p + 'a/', end: p + 'b/5' }]
    const watchers = ranges.map((r) => record(store, r, from))
    const writes: EventSummary[] = []
    const cur = new Map<string, KeyValue>()
    for (let i = 0; i < 40; i++) {
      const key = p + (i % 2 === 0 ? 'a/' : 'b/') + String(i % 10)
      const prev = cur.get(key)
      if (prev === undefined) { const kv = await store.create(key, enc(`${i}`)); cur.set(key, kv); writes.push(putEv(kv)) } else if (i % 3 === 0) {
        await store.delete(key, prev.modRevision); cur.delete(key); writes.push(delEv(prev, await store.revision()))
      } else { const kv = await store.update(key, enc(`${i}`), prev.modRevision); cur.set(key, kv); writes.push(putEv(kv, prev)) }
    }
    await Promise.all(watchers.map(async (w, i) => {
      const r = ranges[i] as { start: string, end: string }
      const expected = writes.filter((e) => e.kv.key >= r.start && e.kv.key < r.end)
      await w.until(expected.length)
      await sleep(20)
      const got = w.events.map(evSum)
      t.deepEqual(got, alignDeletes(store, got, expected), `watcher ${i}`)
      assertBatches(t, w)
    }))
    await Promise.all(watchers.map(async (w) => { await w.stop() }))
  })

  it('aborting a watch resolves it and stops delivery; an aborted signal ends it at once', async (t) => {
    const { store, p } = await setup(t)
    const range = prefixRange(p)
    const w = record(store, range, (await store.revision()) + 1)
    await store.create(p + 'a', enc('a'))
    await w.until(1)
    await w.stop()
    t.is(await w.ended, 'resolved')
    await store.create(p + 'b', enc('b'))
    await sleep(200)
    t.is(w.events.length, 1, 'nothing after the abort')

    const ac = new AbortController()
    ac.abort()
    let called = false
    await within(store.watch(range.start, { end: range.end, fromRevision: await store.revision(), signal: ac.signal, onEvents: () => { called = true } }), 5000, 'a watch with an aborted signal')
    t.false(called)
  })

  it('watch from a future revision delivers only changes at or after it', async (t) => {
    const { store, p } = await setup(t)
    const range = prefixRange(p)
    const from = (await store.revision()) + 3
    const w = record(store, range, from)
    const made: KeyValue[] = []
    for (let i = 0; i < 6; i++) made.push(await store.create(p + `k${i}`, enc(`${i}`)))
    const expected = made.filter((kv) => kv.modRevision >= from).map((kv) => putEv(kv))
    t.true(expected.length >= 1)
    await w.until(expected.length)
    await sleep(100)
    t.deepEqual(w.events.map(evSum), expected)
    await w.stop()
  })

  it('a key written with ttlSeconds is deleted when it runs out, with a delete event; an update without ttl keeps it', async (t) => {
    const { store, p } = await setup(t)
    const range = prefixRange(p)
    const w = record(store, range, (await store.revision()) + 1)
    const kept0 = await store.create(p + 'kept', enc('k'), { ttlSeconds: 1 })
    t.is(kept0.ttlSeconds, 1)
    const kept = await store.update(p + 'kept', enc('k2'), kept0.modRevision)
    t.is(kept.ttlSeconds, undefined)
    const perm = await store.create(p + 'perm', enc('p'))
    const short = await store.create(p + 'short', enc('s'), { ttlSeconds: 1 })
    t.is(short.ttlSeconds, 1)
    const late = await store.update(p + 'perm', enc('p2'), perm.modRevision, { ttlSeconds: 1 })
    t.is(late.ttlSeconds, 1)
    await w.until(7, EVENT_TIMEOUT_MS)
    const deletes = w.events.slice(5)
    t.deepEqual(deletes.map((e) => e.type), ['delete', 'delete'])
    const byKey = new Map(deletes.map((e) => [e.kv.key, e]))
    t.deepEqual(sum(byKey.get(p + 'short')?.prevKv), sum(short))
    t.deepEqual(sum(byKey.get(p + 'perm')?.prevKv), sum(late))
    for (const e of deletes) t.true(e.kv.modRevision > late.modRevision, 'an expiry is a write at a new revision')
    t.is(await store.get(p + 'short'), undefined)
    t.is(await store.get(p + 'perm'), undefined)
    await sleep(1000)
    t.deepEqual(sum(await store.get(p + 'kept')), sum(kept), 'the update without ttl made it permanent')
    t.is(w.events.length, 7)
    await w.stop()
  })

  it('many concurrent creates: no lost or duplicated revision; racing writers on one key: exactly one wins', async (t) => {
    const { store, p } = await setup(t)
    const n = 300
    const made = await Promise.all(Array.from({ length: n }, async (_, i) => await store.create(p + `c/${i}`, enc(`v${i}`))))
    const revs = made.map((kv) => kv.modRevision).sort((a, b) => a - b)
    t.is(new Set(revs).size, n, 'distinct revisions')
    if (dense(store)) t.is((revs[n - 1] as number) - (revs[0] as number), n - 1, 'no gaps')
    const listed = await store.list(prefixRange(p + 'c/').start, { end: prefixRange(p + 'c/').end })
    t.is(listed.count, n)
    const byKey = new Map(listed.kvs.map((kv) => [kv.key, kv]))
    for (const kv of made) t.deepEqual(sum(byKey.get(kv.key)), sum(kv))

    const racers = await Promise.allSettled(Array.from({ length: 20 }, async (_, i) => await store.create(p + 'one', enc(`r${i}`))))
    t.is(racers.filter((r) => r.status === 'fulfilled').length, 1, 'one create wins')
    t.true(racers.every((r) => r.status === 'fulfilled' || (r.reason instanceof StoreError && r.reason.code === 'CTRL_ERR_STORE_EXISTS')))
    const base = await store.get(p + 'one') as KeyValue
    const updates = await Promise.allSettled(Array.from({ length: 20 }, async (_, i) => await store.update(p + 'one', enc(`u${i}`), base.modRevision)))
    const won = updates.filter((r): r is PromiseFulfilledResult<KeyValue> => r.status === 'fulfilled')
    t.is(won.length, 1, 'one update wins')
    for (const r of updates) {
      if (r.status === 'rejected') {
        t.true(r.reason instanceof StoreError && r.reason.code === 'CTRL_ERR_STORE_CONFLICT')
        t.deepEqual(sum((r.reason as StoreError).current), sum(won[0]?.value), 'losers see the winner')
      }
    }
    const deletes = await Promise.allSettled(Array.from({ length: 10 }, async () => await store.delete(p + 'one', won[0]?.value.modRevision)))
    t.is(deletes.filter((r) => r.status === 'fulfilled').length, 1, 'one delete wins')
  })

  it('keys and values: empty and binary values, large values, long and non-ASCII keys in UTF-8 order, the store keeps its own copy', async (t) => {
    const { store, p } = await setup(t)
    const empty = await store.create(p + 'empty', new Uint8Array(0))
    t.is((await store.get(p + 'empty'))?.value.length, 0)
    t.is(empty.value.length, 0)
    const all = Uint8Array.from({ length: 256 }, (_, i) => i)
    await store.create(p + 'bytes', all)
    t.true(bytesEqual((await store.get(p + 'bytes'))?.value ?? new Uint8Array(), all))
    const big = Uint8Array.from({ length: 512 * 1024 }, (_, i) => (i * 7919) & 0xff)
    await store.create(p + 'big', big)
    t.true(bytesEqual((await store.get(p + 'big'))?.value ?? new Uint8Array(), big))
    const longKey = p + 'long/' + 'x'.repeat(2000)
    await store.create(longKey, enc('long'))
    t.is(dec((await store.get(longKey))?.value ?? new Uint8Array()), 'long')

    // UTF-16 order would put the emoji (a surrogate pair) before U+FFFD; etcd compares UTF-8 bytes.
    const u = p + 'u/'
    for (const k of ['😀', 'a', '\uFFFD', 'é', 'a\0b']) await store.create(u + k, enc(k))
    const listed = await store.list(prefixRange(u).start, { end: prefixRange(u).end })
    t.deepEqual(listed.kvs.map((kv) => kv.key.slice(u.length)), ['a', 'a\0b', 'é', '\uFFFD', '😀'])
    t.deepEqual((await store.list(u + 'é', { end: u + '😀' })).kvs.map((kv) => kv.key.slice(u.length)), ['é', '\uFFFD'])
    t.is(dec((await store.get(u + '😀'))?.value ?? new Uint8Array()), '😀')

    const mutable = enc('original')
    await store.create(p + 'copy', mutable)
    mutable.fill(0x21)
    t.is(dec((await store.get(p + 'copy'))?.value ?? new Uint8Array()), 'original')

    await rejects(t, store.create('', enc('x')), 'CTRL_ERR_STORE_INVALID', 'empty key')
  })

  it('a closed store rejects CTRL_ERR_STORE_UNAVAILABLE, and close may be repeated', async (t) => {
    const { store, p } = await setup(t)
    await store.create(p + 'a', enc('a'))
    await store.close()
    await rejects(t, store.get(p + 'a'), 'CTRL_ERR_STORE_UNAVAILABLE', 'get')
    await rejects(t, store.create(p + 'b', enc('b')), 'CTRL_ERR_STORE_UNAVAILABLE', 'create')
    await rejects(t, store.list(p, { end: prefixRange(p).end }), 'CTRL_ERR_STORE_UNAVAILABLE', 'list')
    await store.close()
    t.pass()
  })

  it('durability: everything acknowledged before a reopen is there after it, with the same revisions', async (t) => {
    const { store, p, handle } = await setup(t)
    if (handle.reopen === undefined) { t.pass('no reopen for this backend'); return }
    const range = prefixRange(p)
    const from = (await store.revision()) + 1
    const a1 = await store.create(p + 'a', enc('a1'))
    await store.update(p + 'a', enc('a2'), a1.modRevision)
    const b = await store.create(p + 'b', Uint8Array.from([0, 1, 2, 255]))
    await store.delete(p + 'b', b.modRevision)
    await Promise.all(Array.from({ length: 200 }, async (_, i) => await store.create(p + `many/${i}`, enc(`m${i}`))))
    const c = a1.modRevision + 1
    await store.compact(c)
    const rev = await store.revision()
    const before = await store.list(range.start, { end: range.end })
    const atC = await store.list(range.start, { end: range.end, revision: c })
    const w = record(store, range, c + 1)
    await w.until(202)
    await w.stop()
    await store.close()

    const again = await handle.reopen()
    if (dense(again)) t.is(await again.revision(), rev)
    else t.true(await again.revision() >= rev)
    t.is(await again.compactedRevision(), c)
    const after = await again.list(range.start, { end: range.end })
    t.deepEqual(after.kvs.map(sum), before.kvs.map(sum))
    t.deepEqual((await again.list(range.start, { end: range.end, revision: c })).kvs.map(sum), atC.kvs.map(sum))
    await rejects(t, again.get(p + 'a', { revision: from }), 'CTRL_ERR_STORE_COMPACTED', 'compaction survived')
    const w2 = record(again, range, c + 1)
    await w2.until(202)
    t.deepEqual(w2.events.map(evSum), w.events.map(evSum), 'the same history')
    await w2.stop()
    const next = await again.create(p + 'next', enc('n'))
    t.true(next.modRevision > rev, 'revisions continue after the reopen')
    if (dense(again)) t.is(next.modRevision, rev + 1)
  })
}
