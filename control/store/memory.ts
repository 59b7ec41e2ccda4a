/**
 * The memory store, and the MVCC engine both in-process stores are made of.
 *
 * Model (etcd's MVCC, kine's log): one revision counter; every write appends a
 * version to its key's history and one event to the store's event log. A delete
 * appends etcd's tombstone (version 0, createRevision 0, empty value). Reads at
 * revision R take, per key, the newest version with modRevision <= R. Watches
 * replay the event log from their revision and then follow it live. Compaction
 * at C drops events below C and, per key, every version older than the newest
 * one below C (that one too when it is a tombstone), which keeps every read at
 * >= C and the previous value of every event at >= C.
 *
 * Durability is a pluggable `Journal` (embedded.ts): changes are applied to the
 * index at once, in revision order, so compare-and-swap decisions see every
 * accepted write; but reads and watches see only the *published* revision,
 * which moves forward when the journal says a change is durable. A write is
 * acknowledged after publishing, and a rejection that was decided against a
 * change not yet durable is delivered after that change is. The memory store
 * has no journal and publishes at once.
 *
 * Returned key-values are shared, frozen objects; their value bytes must be
 * treated as read-only.
 */
import { StoreError } from './errors.js'
import type { StoreErrorCode } from './errors.js'
import type { KeyValue, ListOptions, ListResult, Store, WatchEvent, WatchOptions } from './types.js'

export interface StoreLimits {
  /** Largest key in UTF-8 bytes (default 32 KiB). */
  maxKeyBytes?: number
  /** Largest value in bytes (default 1.5 MiB, etcd's request limit and Kubernetes' object limit). */
  maxValueBytes?: number
}

export type MemoryStoreOptions = StoreLimits

/** A change as the journal records it. Revisions are dense: each put or delete is `previous revision + 1`. */
export type Change =
  | { op: 'put', kv: KeyValue, prevRevision: number, expiresAt: number }
  | { op: 'delete', key: string, rev: number, prevRevision: number }
  | { op: 'compact', rev: number }

/**
 * Makes changes durable. `append` is called synchronously, in revision order,
 * right after the change entered the index; its promise resolves once the
 * change and every change appended before it are durable, and rejects if the
 * journal failed (the store then refuses everything until reopened).
 */
export interface Journal {
  append (change: Change): Promise<void>
  /** Resolves once everything appended so far is durable. */
  barrier (): Promise<void>
  /** Whether some appended change is not durable yet. */
  readonly busy: boolean
  /** Waits for appended changes, then releases the journal's resources. */
  close (): Promise<void>
}

const EMPTY = new Uint8Array(0)
const DEFAULT_MAX_KEY = 32 * 1024
const DEFAULT_MAX_VALUE = 1536 * 1024
/** Largest batch handed to one onEvents call; a batch holds whole revisions (one event each here). */
const MAX_BATCH = 1000

const err = (code: StoreErrorCode, message: string, extra?: ConstructorParameters<typeof StoreError>[2]): StoreError => new StoreError(code, message, extra)
const isTombstone = (kv: KeyValue): boolean => kv.version === 0

/**
 * Orders keys by their UTF-8 bytes, as etcd does. UTF-16 code units agree with
 * UTF-8 except that surrogates (U+D800..U+DFFF, the halves of code points above
 * U+FFFF) must sort after U+E000..U+FFFF.
 */
export function compareKeys (a: string, b: string): number {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) return (x >= 0xe000 ? x - 0x800 : x + 0x2000) - (y >= 0xe000 ? y - 0x800 : y + 0x2000)
      return x - y
    }
  }
  return a.length - b.length
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** A key range as etcd reads it: end '\0' is "every key >= start", end '' is the single key `start`. */
interface Range { start: string, end: string }
function inRange (key: string, r: Range): boolean {
  if (r.end === '') return key === r.start
  if (compareKeys(key, r.start) < 0) return false
  return r.end === '\0' || compareKeys(key, r.end) < 0
}

interface Watcher {
  range: Range
  from: number
  opts: WatchOptions
  pending: WatchEvent[]
  /** Revision to report through onProgress, 0 for none. */
  progress: number
  done: boolean
  resolve: () => void
  reject: (e: unknown) => void
  onAbort: () => void
}

interface TtlEntry { at: number, key: string, rev: number }

/** A binary min-heap of expiries. */
class ExpiryHeap {
  readonly #a: TtlEntry[] = []
  get size (): number { return this.#a.length }
  peek (): TtlEntry | undefined { return this.#a[0] }
  push (e: TtlEntry): void {
    const a = this.#a
    a.push(e)
    let i = a.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if ((a[parent] as TtlEntry).at <= e.at) break
      a[i] = a[parent] as TtlEntry
      i = parent
    }
    a[i] = e
  }

  pop (): TtlEntry | undefined {
    const a = this.#a
    const top = a[0]
    const last = a.pop()
    if (a.length === 0 || last === undefined) return top
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= a.length) break
      const r = l + 1
      const c = r < a.length && (a[r] as TtlEntry).at < (a[l] as TtlEntry).at ? r : l
      if ((a[c] as TtlEntry).at >= last.at) break
      a[i] = a[c] as TtlEntry
      i = c
    }
    a[i] = last
    return top
  }

  clear (): void { this.#a.length = 0 }
}

/** What a snapshot holds: each retained key's versions, in key order. */
export interface HistoryState {
  revision: number
  compactRevision: number
  keys: Array<{ key: string, versions: KeyValue[] }>
}

export class MvccStore implements Store {
  readonly kind: 'memory' | 'embedded'
  readonly #maxKey: number
  readonly #maxValue: number

  /** Key → versions, ascending by modRevision; tombstones included. */
  #hist = new Map<string, KeyValue[]>()
  /** Every key of #hist, in compareKeys order. */
  #keys: string[] = []
  /** Revision of the last change accepted into the index. */
  #rev = 1
  /** Revision reads and watches see: the last durable one. */
  #published = 1
  #compactRev = 0
  /** #log[i] is the event at revision #logBase + i; it covers [#logBase, #rev]. */
  #log: WatchEvent[] = []
  #logBase = 2
  /** Expiry deadlines (ms since the epoch) of versions written with a TTL. */
  #expiresAt = new WeakMap<KeyValue, number>()
  #ttl = new ExpiryHeap()
  #ttlTimer: NodeJS.Timeout | undefined
  #ttlTimerAt = Infinity
  /** Off while a journal is replayed: an expiry is a write, and writes wait for recovery to finish. */
  #expiryOn: boolean

  #watchers = new Set<Watcher>()
  #flushQueued = false
  #journal: Journal | undefined
  #closed = false
  #failure: unknown

  constructor (init: { kind: 'memory' | 'embedded' } & StoreLimits) {
    this.kind = init.kind
    this.#maxKey = init.maxKeyBytes ?? DEFAULT_MAX_KEY
    this.#maxValue = init.maxValueBytes ?? DEFAULT_MAX_VALUE
    this.#expiryOn = init.kind === 'memory'
  }

  // ---- Store -------------------------------------------------------------------------------------------------------

  async revision (): Promise<number> {
    this.#usable()
    return this.#published
  }

  async compactedRevision (): Promise<number> {
    this.#usable()
    return this.#compactRev
  }

  async get (key: string, opts?: { revision?: number }): Promise<KeyValue | undefined> {
    this.#usable()
    this.#checkKey(key)
    const at = this.#readRevision(opts?.revision)
    const hist = this.#hist.get(key)
    return hist === undefined ? undefined : visibleAt(hist, at)
  }

  async list (start: string, opts: ListOptions): Promise<ListResult> {
    this.#usable()
    const range = this.#checkRange(start, opts?.end)
    const at = this.#readRevision(opts.revision)
    const limit = opts.limit ?? 0
    if (!Number.isSafeInteger(limit) || limit < 0) throw err('CTRL_ERR_STORE_INVALID', `limit must be a non-negative integer, not ${String(limit)}`)
    const countOnly = opts.countOnly === true
    const kvs: KeyValue[] = []
    let count = 0
    const keys = this.#keys
    for (let i = lowerBound(keys, range.start); i < keys.length; i++) {
      const key = keys[i] as string
      if (!inRange(key, range)) break
      const kv = visibleAt(this.#hist.get(key) as KeyValue[], at)
      if (kv === undefined) continue
      count++
      if (!countOnly && (limit === 0 || kvs.length < limit)) kvs.push(kv)
    }
    return { kvs, revision: at, count, more: !countOnly && count > kvs.length }
  }

  async create (key: string, value: Uint8Array, opts?: { ttlSeconds?: number }): Promise<KeyValue> {
    this.#usable()
    this.#checkKey(key)
    const bytes = this.#checkValue(value)
    const ttl = checkTtl(opts?.ttlSeconds)
    const latest = this.#latest(key)
    if (latest !== undefined) return await this.#reject(err('CTRL_ERR_STORE_EXISTS', `${key} already exists`, { current: latest }))
    return await this.#put(key, bytes, ttl, undefined)
  }

  async update (key: string, value: Uint8Array, expectedModRevision: number, opts?: { ttlSeconds?: number }): Promise<KeyValue> {
    this.#usable()
    this.#checkKey(key)
    const bytes = this.#checkValue(value)
    checkRevision(expectedModRevision)
    const ttl = checkTtl(opts?.ttlSeconds)
    const latest = this.#latest(key)
    if (latest === undefined) return await this.#reject(err('CTRL_ERR_STORE_NOT_FOUND', `${key} does not exist`))
    if (latest.modRevision !== expectedModRevision) {
      return await this.#reject(err('CTRL_ERR_STORE_CONFLICT', `${key} is at revision ${latest.modRevision}, not ${expectedModRevision}`, { current: latest }))
    }
    return await this.#put(key, bytes, ttl, latest)
  }

  async delete (key: string, expectedModRevision?: number): Promise<KeyValue> {
    this.#usable()
    this.#checkKey(key)
    if (expectedModRevision !== undefined) checkRevision(expectedModRevision)
    const latest = this.#latest(key)
    if (latest === undefined) return await this.#reject(err('CTRL_ERR_STORE_NOT_FOUND', `${key} does not exist`))
    if (expectedModRevision !== undefined && latest.modRevision !== expectedModRevision) {
      return await this.#reject(err('CTRL_ERR_STORE_CONFLICT', `${key} is at revision ${latest.modRevision}, not ${expectedModRevision}`, { current: latest }))
    }
    const rev = this.#applyDelete(key, latest)
    await this.#commit(rev, { op: 'delete', key, rev, prevRevision: latest.modRevision })
    return latest
  }

  async watch (start: string, opts: WatchOptions): Promise<void> {
    this.#usable()
    const range = this.#checkRange(start, opts?.end)
    if (!Number.isSafeInteger(opts.fromRevision)) throw err('CTRL_ERR_STORE_INVALID', `fromRevision must be an integer, not ${String(opts.fromRevision)}`)
    if (typeof opts.onEvents !== 'function') throw err('CTRL_ERR_STORE_INVALID', 'onEvents must be a function')
    if (opts.signal.aborted) return
    // etcd: a start revision of 0 (or below) means "from now".
    const from = opts.fromRevision > 0 ? opts.fromRevision : this.#published + 1
    if (from < this.#compactRev) {
      throw err('CTRL_ERR_STORE_COMPACTED', `revision ${from} has been compacted (oldest: ${this.#compactRev})`, { compactedRevision: this.#compactRev })
    }
    await new Promise<void>((resolve, reject) => {
      const w: Watcher = { range, from, opts, pending: [], progress: 0, done: false, resolve, reject, onAbort: () => { this.#endWatch(w) } }
      // Catch up from the log, then follow publish(); both happen in this tick, so nothing falls in between.
      for (let r = Math.max(from, this.#logBase); r <= this.#published; r++) {
        const e = this.#log[r - this.#logBase] as WatchEvent
        if (inRange(e.kv.key, range)) w.pending.push(e)
      }
      this.#watchers.add(w)
      opts.signal.addEventListener('abort', w.onAbort, { once: true })
      if (w.pending.length > 0) this.#queueFlush()
    })
  }

  async compact (revision: number): Promise<void> {
    this.#usable()
    checkRevision(revision)
    if (revision > this.#published) throw err('CTRL_ERR_STORE_FUTURE_REVISION', `cannot compact at ${revision}: the store is at ${this.#published}`)
    if (revision <= this.#compactRev) {
      throw err('CTRL_ERR_STORE_COMPACTED', `revision ${revision} is already compacted (at ${this.#compactRev})`, { compactedRevision: this.#compactRev })
    }
    this.#applyCompact(revision)
    if (this.#journal !== undefined) await this.#durable(this.#journal.append({ op: 'compact', rev: revision }))
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#ttlTimer !== undefined) clearTimeout(this.#ttlTimer)
    this.#ttlTimer = undefined
    this.#ttl.clear()
    try {
      await this.#journal?.close()
    } finally {
      for (const w of [...this.#watchers]) this.#endWatch(w, err('CTRL_ERR_STORE_UNAVAILABLE', 'the store was closed'))
    }
  }

  // ---- for the embedded engine ---------------------------------------------------------------------------------------

  /** Starts journaling: from now on every change goes through `journal` before it is acknowledged. */
  protected attachJournal (journal: Journal): void { this.#journal = journal }

  /** The journal failed: refuse everything from now on (reopening replays what is durable). */
  protected fail (cause: unknown): void {
    if (this.#failure === undefined) this.#failure = cause
    for (const w of [...this.#watchers]) this.#endWatch(w, err('CTRL_ERR_STORE_UNAVAILABLE', 'the store failed to persist a write', { cause }))
  }

  protected get closed (): boolean { return this.#closed }
  protected get publishedRevision (): number { return this.#published }
  /** The expiry deadline of a version written with a TTL (ms since the epoch), 0 for none. */
  protected expiresAtOf (kv: KeyValue): number { return this.#expiresAt.get(kv) ?? 0 }

  /** The retained history at `atRev` (at most the published revision): every key's versions up to it. */
  protected captureHistory (atRev: number): HistoryState {
    const keys: HistoryState['keys'] = []
    for (const key of this.#keys) {
      const hist = this.#hist.get(key) as KeyValue[]
      const n = upperBound(hist, atRev)
      if (n > 0) keys.push({ key, versions: n === hist.length ? [...hist] : hist.slice(0, n) })
    }
    return { revision: atRev, compactRevision: this.#compactRev, keys }
  }

  /**
   * Loads a snapshot into an empty store. `expiresAt` gives the deadlines of
   * versions with a TTL. Throws CTRL_ERR_STORE_CORRUPT when the history does not
   * hold together (unsorted keys, versions out of order, a revision missing).
   */
  protected restoreHistory (state: HistoryState, expiresAt: Map<KeyValue, number>): void {
    const corrupt = (why: string): StoreError => err('CTRL_ERR_STORE_CORRUPT', `snapshot at revision ${state.revision}: ${why}`)
    if (this.#rev !== 1 || this.#hist.size !== 0) throw new Error('restoreHistory on a used store')
    if (!(state.revision >= 1) || !(state.compactRevision >= 0) || state.compactRevision > state.revision) throw corrupt(`compacted revision ${state.compactRevision}`)
    const logBase = Math.max(state.compactRevision, 2)
    const log: Array<WatchEvent | undefined> = new Array<WatchEvent | undefined>(Math.max(0, state.revision - logBase + 1))
    let prevKey: string | undefined
    for (const { key, versions } of state.keys) {
      if (prevKey !== undefined && compareKeys(prevKey, key) >= 0) throw corrupt(`keys out of order at ${key}`)
      if (versions.length === 0) throw corrupt(`${key} has no versions`)
      prevKey = key
      let prev: KeyValue | undefined
      for (const kv of versions) {
        if (kv.key !== key || kv.modRevision > state.revision || (prev !== undefined && kv.modRevision <= prev.modRevision)) throw corrupt(`${key} has a version out of order`)
        const live = prev !== undefined && !isTombstone(prev) ? prev : undefined
        if (!isTombstone(kv) && (kv.version !== (live?.version ?? 0) + 1 || kv.createRevision !== (live?.createRevision ?? kv.modRevision))) {
          throw corrupt(`${key} at ${kv.modRevision} does not follow its previous version`)
        }
        if (kv.modRevision >= logBase) {
          const i = kv.modRevision - logBase
          if (log[i] !== undefined) throw corrupt(`two changes at revision ${kv.modRevision}`)
          if (isTombstone(kv)) {
            if (live === undefined) throw corrupt(`${key} deleted at ${kv.modRevision} while absent`)
            log[i] = { type: 'delete', kv, prevKv: live }
          } else log[i] = { type: 'put', kv, prevKv: live }
        }
        const at = expiresAt.get(kv)
        if (at !== undefined) this.#expiresAt.set(kv, at)
        prev = kv
      }
      this.#hist.set(key, versions)
      this.#keys.push(key)
    }
    for (let i = 0; i < log.length; i++) if (log[i] === undefined) throw corrupt(`no change at revision ${logBase + i}`)
    this.#log = log as WatchEvent[]
    this.#logBase = logBase
    this.#rev = this.#published = state.revision
    this.#compactRev = state.compactRevision
    this.#rebuildExpiries()
  }

  /** Replays one journaled change during recovery; throws CTRL_ERR_STORE_CORRUPT when it does not follow the index. */
  protected replay (change: Change): void {
    const corrupt = (why: string): StoreError => err('CTRL_ERR_STORE_CORRUPT', `log replay: ${why}`)
    if (change.op === 'compact') {
      if (change.rev > this.#rev) throw corrupt(`compaction at ${change.rev} beyond revision ${this.#rev}`)
      if (change.rev > this.#compactRev) this.#applyCompact(change.rev)
      return
    }
    const rev = change.op === 'put' ? change.kv.modRevision : change.rev
    if (rev !== this.#rev + 1) throw corrupt(`revision ${rev} follows ${this.#rev}`)
    const key = change.op === 'put' ? change.kv.key : change.key
    const latest = this.#latest(key)
    if ((latest?.modRevision ?? 0) !== change.prevRevision) throw corrupt(`${key} at ${rev} expects its previous revision ${change.prevRevision}, the index has ${latest?.modRevision ?? 0}`)
    if (change.op === 'delete') {
      if (latest === undefined) throw corrupt(`${key} deleted at ${rev} while absent`)
      this.#applyDelete(key, latest)
    } else {
      const kv = change.kv
      if (kv.version !== (latest?.version ?? 0) + 1 || kv.createRevision !== (latest?.createRevision ?? rev)) throw corrupt(`${key} at ${rev} does not follow its previous version`)
      this.#applyPut(key, kv.value, kv.ttlSeconds, latest, change.expiresAt)
    }
    this.#published = this.#rev
  }

  /** After recovery: expiries that passed while the store was closed become deletes now. */
  protected startExpiry (): void {
    this.#expiryOn = true
    this.#armTtl()
  }

  // ---- writes ------------------------------------------------------------------------------------------------------

  async #put (key: string, value: Uint8Array, ttl: number | undefined, latest: KeyValue | undefined): Promise<KeyValue> {
    const expiresAt = ttl === undefined ? 0 : Date.now() + ttl * 1000
    const kv = this.#applyPut(key, value, ttl, latest, expiresAt)
    await this.#commit(kv.modRevision, { op: 'put', kv, prevRevision: latest?.modRevision ?? 0, expiresAt })
    return kv
  }

  #applyPut (key: string, value: Uint8Array, ttl: number | undefined, latest: KeyValue | undefined, expiresAt: number): KeyValue {
    const rev = ++this.#rev
    const kv: KeyValue = {
      key,
      value,
      createRevision: latest?.createRevision ?? rev,
      modRevision: rev,
      version: (latest?.version ?? 0) + 1
    }
    if (ttl !== undefined) kv.ttlSeconds = ttl
    Object.freeze(kv)
    this.#append(key, kv)
    this.#log.push({ type: 'put', kv, prevKv: latest })
    if (ttl !== undefined) {
      this.#expiresAt.set(kv, expiresAt)
      this.#ttl.push({ at: expiresAt, key, rev })
      this.#armTtl()
    }
    return kv
  }

  #applyDelete (key: string, latest: KeyValue): number {
    const rev = ++this.#rev
    const tomb: KeyValue = Object.freeze({ key, value: EMPTY, createRevision: 0, modRevision: rev, version: 0 })
    this.#append(key, tomb)
    this.#log.push({ type: 'delete', kv: tomb, prevKv: latest })
    return rev
  }

  #append (key: string, kv: KeyValue): void {
    const hist = this.#hist.get(key)
    if (hist !== undefined) { hist.push(kv); return }
    this.#hist.set(key, [kv])
    const keys = this.#keys
    // Kubernetes names often grow in order; appending is the common case.
    if (keys.length === 0 || compareKeys(keys[keys.length - 1] as string, key) < 0) keys.push(key)
    else keys.splice(lowerBound(keys, key), 0, key)
  }

  #applyCompact (c: number): void {
    let emptied = false
    for (const [key, hist] of this.#hist) {
      const i = lowerBoundRev(hist, c)
      // Keep the newest version below c unless it is a tombstone: it is the
      // state at c when nothing changed at c, and the previous value of the event at c.
      const keepFrom = i > 0 && !isTombstone(hist[i - 1] as KeyValue) ? i - 1 : i
      if (keepFrom > 0) hist.splice(0, keepFrom)
      if (hist.length === 0) { this.#hist.delete(key); emptied = true }
    }
    if (emptied) this.#keys = this.#keys.filter((k) => this.#hist.has(k))
    const base = Math.max(c, 2)
    if (base > this.#logBase) {
      this.#log.splice(0, base - this.#logBase)
      this.#logBase = base
    }
    this.#compactRev = c
  }

  /** Waits for durability, then makes the change visible. */
  async #commit (rev: number, change: Change): Promise<void> {
    if (this.#journal !== undefined) await this.#durable(this.#journal.append(change))
    this.#publish(rev)
  }

  async #durable (p: Promise<void>): Promise<void> {
    try {
      await p
    } catch (cause) {
      this.fail(cause)
      throw err('CTRL_ERR_STORE_UNAVAILABLE', 'the store failed to persist a write', { cause })
    }
  }

  /** A rejection decided against changes not durable yet waits for them, so it never reflects a write that might be lost. */
  async #reject (e: StoreError): Promise<never> {
    if (this.#journal?.busy === true) await this.#durable(this.#journal.barrier())
    throw e
  }

  #publish (rev: number): void {
    if (rev <= this.#published) return
    const from = this.#published + 1
    this.#published = rev
    if (this.#watchers.size === 0) return
    for (const w of this.#watchers) {
      let matched = false
      for (let r = from; r <= rev; r++) {
        const e = this.#log[r - this.#logBase] as WatchEvent
        if (r >= w.from && inRange(e.kv.key, w.range)) { w.pending.push(e); matched = true }
      }
      if (!matched && w.opts.onProgress !== undefined) w.progress = rev
    }
    this.#queueFlush()
  }

  #queueFlush (): void {
    if (this.#flushQueued) return
    this.#flushQueued = true
    queueMicrotask(() => { this.#flushQueued = false; this.#flush() })
  }

  /** Delivers queued events outside the write path, so a watcher that writes cannot reorder other watchers' events. */
  #flush (): void {
    for (const w of this.#watchers) {
      while (!w.done && w.pending.length > 0) {
        const batch = w.pending.length <= MAX_BATCH ? w.pending : w.pending.slice(0, MAX_BATCH)
        w.pending = batch === w.pending ? [] : w.pending.slice(MAX_BATCH)
        w.progress = 0
        try {
          w.opts.onEvents(batch)
        } catch (e) {
          this.#endWatch(w, e)
        }
      }
      if (!w.done && w.progress > 0) {
        const rev = w.progress
        w.progress = 0
        try {
          w.opts.onProgress?.(rev)
        } catch (e) {
          this.#endWatch(w, e)
        }
      }
    }
  }

  #endWatch (w: Watcher, e?: unknown): void {
    if (w.done) return
    w.done = true
    w.pending = []
    this.#watchers.delete(w)
    w.opts.signal.removeEventListener('abort', w.onAbort)
    if (e === undefined) w.resolve()
    else w.reject(e)
  }

  // ---- TTL -----------------------------------------------------------------------------------------------------------

  #rebuildExpiries (): void {
    this.#ttl.clear()
    for (const [key, hist] of this.#hist) {
      const latest = hist[hist.length - 1] as KeyValue
      const at = this.#expiresAt.get(latest)
      if (at !== undefined && !isTombstone(latest)) this.#ttl.push({ at, key, rev: latest.modRevision })
    }
  }

  #armTtl (): void {
    const next = this.#ttl.peek()
    if (next === undefined || this.#closed || !this.#expiryOn) return
    if (this.#ttlTimer !== undefined && this.#ttlTimerAt <= next.at) return
    if (this.#ttlTimer !== undefined) clearTimeout(this.#ttlTimer)
    this.#ttlTimerAt = next.at
    this.#ttlTimer = setTimeout(() => { this.#ttlTimer = undefined; this.#ttlTimerAt = Infinity; this.#expire() }, Math.min(Math.max(0, next.at - Date.now()), 0x7fffffff))
    this.#ttlTimer.unref()
  }

  /** Expiry is a delete at a revision of its own, compare-and-swapped on the version that carried the TTL. */
  #expire (): void {
    if (this.#closed || this.#failure !== undefined) return
    const now = Date.now()
    for (let e = this.#ttl.peek(); e !== undefined && e.at <= now; e = this.#ttl.peek()) {
      this.#ttl.pop()
      const latest = this.#latest(e.key)
      if (latest?.modRevision === e.rev) this.delete(e.key, e.rev).catch(() => { /* rewritten meanwhile, or the store failed */ })
    }
    this.#armTtl()
  }

  // ---- checks --------------------------------------------------------------------------------------------------------

  #usable (): void {
    if (this.#closed) throw err('CTRL_ERR_STORE_UNAVAILABLE', 'the store is closed')
    if (this.#failure !== undefined) throw err('CTRL_ERR_STORE_UNAVAILABLE', 'the store failed to persist a write; reopen it', { cause: this.#failure })
  }

  /** The live latest version, pending changes included: what compare-and-swap decides on. */
  #latest (key: string): KeyValue | undefined {
    const hist = this.#hist.get(key)
    const kv = hist?.[hist.length - 1]
    return kv === undefined || isTombstone(kv) ? undefined : kv
  }

  #readRevision (rev: number | undefined): number {
    if (rev === undefined || rev === 0) return this.#published
    if (!Number.isSafeInteger(rev) || rev < 0) throw err('CTRL_ERR_STORE_INVALID', `revision must be a non-negative integer, not ${String(rev)}`)
    if (rev > this.#published) throw err('CTRL_ERR_STORE_FUTURE_REVISION', `revision ${rev} is newer than the store (${this.#published})`)
    if (rev < this.#compactRev) {
      throw err('CTRL_ERR_STORE_COMPACTED', `revision ${rev} has been compacted (oldest: ${this.#compactRev})`, { compactedRevision: this.#compactRev })
    }
    return rev
  }

  #checkKey (key: string): void {
    if (typeof key !== 'string' || key.length === 0) throw err('CTRL_ERR_STORE_INVALID', 'a key must be a non-empty string')
    if (key.length * 3 > this.#maxKey && Buffer.byteLength(key) > this.#maxKey) throw err('CTRL_ERR_STORE_INVALID', `key longer than ${this.#maxKey} bytes`)
    if (LONE_SURROGATE.test(key)) throw err('CTRL_ERR_STORE_INVALID', 'a key must be valid Unicode (it has a lone surrogate)')
  }

  #checkRange (start: string, end: string | undefined): Range {
    if (typeof start !== 'string' || typeof end !== 'string') throw err('CTRL_ERR_STORE_INVALID', 'a range needs a start and an end string')
    return { start, end }
  }

  #checkValue (value: Uint8Array): Uint8Array {
    if (!(value instanceof Uint8Array)) throw err('CTRL_ERR_STORE_INVALID', 'a value must be a Uint8Array')
    if (value.byteLength > this.#maxValue) throw err('CTRL_ERR_STORE_INVALID', `value of ${value.byteLength} bytes is over the limit of ${this.#maxValue}`)
    // Our own copy: the caller may reuse its buffer.
    return new Uint8Array(value)
  }
}

function checkRevision (rev: number): void {
  if (!Number.isSafeInteger(rev) || rev <= 0) throw err('CTRL_ERR_STORE_INVALID', `a revision must be a positive integer, not ${String(rev)}`)
}

function checkTtl (ttl: number | undefined): number | undefined {
  if (ttl === undefined) return undefined
  if (!Number.isSafeInteger(ttl) || ttl <= 0 || ttl > 9_000_000_000) throw err('CTRL_ERR_STORE_INVALID', `ttlSeconds must be a positive integer, not ${String(ttl)}`)
  return ttl
}

/** First index whose key is >= `key`. */
function lowerBound (keys: string[], key: string): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (compareKeys(keys[mid] as string, key) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** First index whose modRevision is >= `rev`. */
function lowerBoundRev (hist: KeyValue[], rev: number): number {
  let lo = 0
  let hi = hist.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if ((hist[mid] as KeyValue).modRevision < rev) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Number of versions with modRevision <= `rev`. */
function upperBound (hist: KeyValue[], rev: number): number {
  return lowerBoundRev(hist, rev + 1)
}

/** The key's value as of revision `at`. */
function visibleAt (hist: KeyValue[], at: number): KeyValue | undefined {
  const last = hist[hist.length - 1] as KeyValue
  const kv = last.modRevision <= at ? last : hist[upperBound(hist, at) - 1]
  return kv === undefined || isTombstone(kv) ? undefined : kv
}

/** A store that lives in this process only: for tests, and as the reference behaviour of the other backends. */
export function memoryStore (opts: MemoryStoreOptions = {}): Store {
  return new MvccStore({ kind: 'memory', ...opts })
}
