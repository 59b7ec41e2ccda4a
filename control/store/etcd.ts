/**
 * The etcd v3 backend (`weft apiserver --etcd-servers`): the Store contract
 * mapped one to one onto the requests kube-apiserver makes of etcd
 * (staging/src/k8s.io/apiserver/pkg/storage/etcd3), so several apiservers can
 * share one etcd cluster, and share it with nothing else in between:
 *
 *   create   Txn(If(CreateRevision(key) == 0) Then(Put(key, value[, lease])) Else(Get(key)))
 *   update   Txn(If(ModRevision(key) == expected) Then(Put(key, value[, lease], prevKv)) Else(Get(key)))
 *   delete   Txn(If(ModRevision(key) == expected) Then(DeleteRange(key, prevKv)) Else(Get(key))),
 *            or DeleteRange(key, prevKv) without an expected revision
 *   get/list Range(key[, rangeEnd], revision, limit, countOnly)
 *   watch    Watch(start, rangeEnd, startRevision, prevKv), see etcd-watch.ts
 *   TTL      leases shared per TTL, see etcd-leases.ts
 *   compact  Compact(revision)
 *
 * Keys are stored exactly as given, or under `prefix` (kube-apiserver's
 * `--etcd-prefix`), which is added on the way in and stripped on the way out.
 *
 * Every request has a deadline (`requestTimeoutMs`) covering connecting,
 * retries and the answer, so an unreachable etcd fails calls with
 * CTRL_ERR_STORE_UNAVAILABLE instead of hanging them. Details, failure modes
 * and figures: docs/store-etcd.md.
 */
import { setMaxListeners } from 'node:events'
import { StoreError } from './errors.js'
import type { Compare, KeyValue as EtcdKeyValue, RangeRequest, RangeResponse, RequestOp, TxnResponse } from './etcd-proto.js'
import { EtcdClient } from './etcd-rpc.js'
import { KeySpace, num, leaseOf, toKeyValue } from './etcd-codec.js'
import { isEndpointFailure, isRetriable, toStoreError } from './etcd-errors.js'
import { Leases } from './etcd-leases.js'
import { watchRange } from './etcd-watch.js'
import type { EtcdStoreLogger } from './etcd-watch.js'
import type { KeyValue, ListOptions, ListResult, Store, WatchOptions } from './types.js'

export type { EtcdStoreLogger } from './etcd-watch.js'

export interface EtcdStoreInit {
  /** etcd client URLs (`--etcd-servers`), e.g. ['http://127.0.0.1:2379']; each request goes to one of them. */
  endpoints: string[]
  /**
   * TLS to etcd (`--etcd-cafile`, `--etcd-certfile`, `--etcd-keyfile`): the CA that signs etcd's serving
   * certificate, and a client certificate and key for etcd's `--client-cert-auth`. Required for https:// endpoints.
   */
  tls?: { ca: Buffer, cert?: Buffer, key?: Buffer }
  /** Prepended to every key in etcd and stripped from keys read back (`--etcd-prefix`); default none. */
  prefix?: string
  /** Deadline of each request, retries included (not of watches); default 10 000 ms. */
  requestTimeoutMs?: number
  /** How long a watch keeps trying to resume after losing etcd before it rejects UNAVAILABLE; default 30 000 ms. */
  watchResumeTimeoutMs?: number
  /** How often a watch with onProgress asks etcd for progress; default 5 000 ms (kine's and Kubernetes' cadence). */
  progressIntervalMs?: number
  logger?: EtcdStoreLogger
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000
const DEFAULT_WATCH_RESUME_TIMEOUT_MS = 30_000
const DEFAULT_PROGRESS_INTERVAL_MS = 5_000
/** First pause between two tries of a request, doubling up to MAX_RETRY_PAUSE_MS. */
const FIRST_RETRY_PAUSE_MS = 20
const MAX_RETRY_PAUSE_MS = 500
/** Lease lookups in flight at once while reading a large list. */
const TTL_LOOKUPS = 16

const silent: EtcdStoreLogger = { debug () {}, info () {}, warn () {}, error () {} }

export function etcdStore (init: EtcdStoreInit): Store {
  return new EtcdStore(init)
}

class EtcdStore implements Store {
  readonly kind = 'etcd' as const
  /** One client per endpoint: requests stick to the one that works and fail over in order (see #call). */
  readonly #clients: EtcdClient[]
  /** Index of the endpoint requests and new watch streams go to. */
  #preferred = 0
  readonly #keys: KeySpace
  readonly #timeout: number
  readonly #resumeTimeout: number
  readonly #progressInterval: number
  readonly #log: EtcdStoreLogger
  readonly #leases: Leases
  readonly #closing = new AbortController()
  /** Highest compact revision learnt (our compactions, etcd's answers): a lower bound for compactedRevision(). */
  #compacted = 0

  constructor (init: EtcdStoreInit) {
    if (!Array.isArray(init.endpoints) || init.endpoints.length === 0) throw new StoreError('CTRL_ERR_STORE_INVALID', 'etcd store: no endpoints given')
    for (const e of init.endpoints) {
      if (typeof e !== 'string' || !/^(https?:\/\/)?[^/\s]+(:\d+)?\/?$/.test(e)) {
        throw new StoreError('CTRL_ERR_STORE_INVALID', `etcd store: endpoint "${String(e)}" is not a URL like http://127.0.0.1:2379`)
      }
    }
    const positive = (name: string, v: number | undefined, def: number): number => {
      if (v === undefined) return def
      if (!Number.isFinite(v) || v <= 0) throw new StoreError('CTRL_ERR_STORE_INVALID', `etcd store: ${name} must be a positive number of milliseconds, not ${String(v)}`)
      return v
    }
    this.#timeout = positive('requestTimeoutMs', init.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS)
    this.#resumeTimeout = positive('watchResumeTimeoutMs', init.watchResumeTimeoutMs, DEFAULT_WATCH_RESUME_TIMEOUT_MS)
    this.#progressInterval = positive('progressIntervalMs', init.progressIntervalMs, DEFAULT_PROGRESS_INTERVAL_MS)
    // Every request in flight and every watch listens for close().
    setMaxListeners(0, this.#closing.signal)
    this.#keys = new KeySpace(init.prefix ?? '')
    this.#log = init.logger ?? silent
    const tls = init.tls
    if (tls === undefined && init.endpoints.some((e) => e.startsWith('https://'))) {
      throw new StoreError('CTRL_ERR_STORE_INVALID', 'etcd store: an https:// etcd endpoint needs the CA of its certificate (--etcd-cafile)')
    }
    if (tls !== undefined && (tls.cert === undefined) !== (tls.key === undefined)) {
      throw new StoreError('CTRL_ERR_STORE_INVALID', 'etcd store: an etcd client certificate needs its key and the key its certificate (--etcd-certfile with --etcd-keyfile)')
    }
    // kube-apiserver's dial keepalive (30 s / 10 s): a dead peer behind a silent network is noticed.
    this.#clients = init.endpoints.map((url) => new EtcdClient({
      url,
      ...(tls !== undefined ? { tls } : {}),
      connectTimeoutMs: this.#timeout,
      keepaliveMs: 30_000,
      keepaliveTimeoutMs: 10_000
    }))
    this.#leases = new Leases({
      grant: async (ttl) => {
        // Retried like a read: a grant that went through unseen leaves an unused lease, which just runs out.
        const r = await this.#call(`granting a lease of ${ttl} s`, false, async (c, d) => await c.leaseGrant(ttl, d))
        return String(r.ID)
      },
      grantedTtl: async (id) => {
        const r = await this.#call(`reading lease ${id}`, false, async (c, d) => await c.leaseTimeToLive(id, d))
        return num(r.TTL) < 0 ? 0 : num(r.grantedTTL)
      }
    })
  }

  // ---- reads ---------------------------------------------------------------------------------------------------------

  async revision (): Promise<number> {
    const r = await this.#range('reading the revision', { key: this.#keys.probe(), count_only: true })
    return num(r.header.revision)
  }

  async get (key: string, opts?: { revision?: number }): Promise<KeyValue | undefined> {
    checkKey(key)
    const revision = checkReadRevision(opts?.revision)
    const r = await this.#range(`get ${key}`, { key: this.#keys.key(key), ...(revision > 0 ? { revision } : {}) })
    const kv = r.kvs[0]
    return kv === undefined ? undefined : (await this.#withTtls(r.kvs))[0]
  }

  async list (start: string, opts: ListOptions): Promise<ListResult> {
    if (typeof start !== 'string' || typeof opts?.end !== 'string') throw new StoreError('CTRL_ERR_STORE_INVALID', 'a range needs a start and an end string')
    const revision = checkReadRevision(opts.revision)
    const limit = opts.limit ?? 0
    if (!Number.isSafeInteger(limit) || limit < 0) throw new StoreError('CTRL_ERR_STORE_INVALID', `limit must be a non-negative integer, not ${String(limit)}`)
    const countOnly = opts.countOnly === true
    const r = await this.#range(`list ${start}..${opts.end}`, {
      ...this.#keys.range(start, opts.end),
      ...(revision > 0 ? { revision } : {}),
      ...(limit > 0 ? { limit } : {}),
      ...(countOnly ? { count_only: true } : {})
    })
    return {
      kvs: countOnly ? [] : await this.#withTtls(r.kvs),
      // etcd's header is the current revision; a read at an older one was made at that one.
      revision: revision > 0 ? revision : num(r.header.revision),
      count: num(r.count),
      more: !countOnly && r.more
    }
  }

  /** A Range, with COMPACTED errors completed with the compact revision (etcd's error does not carry it). */
  async #range (what: string, req: RangeRequest): Promise<RangeResponse> {
    try {
      return await this.#call(what, false, async (c, d) => await c.range(req, d))
    } catch (err) {
      throw await this.#withCompactRevision(err)
    }
  }

  // ---- writes --------------------------------------------------------------------------------------------------------

  async create (key: string, value: Uint8Array, opts?: { ttlSeconds?: number }): Promise<KeyValue> {
    checkKey(key)
    const bytes = checkValue(value)
    const ttl = checkTtl(opts?.ttlSeconds)
    const k = this.#keys.key(key)
    const r = await this.#txnWithLease(`create ${key}`, ttl, (lease) => ({
      compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [{ request_put: { key: k, value: bytes, ...(lease !== undefined ? { lease } : {}) } }],
      failure: [{ request_range: { key: k } }]
    }))
    if (!r.succeeded) {
      const current = await this.#current(r)
      throw new StoreError('CTRL_ERR_STORE_EXISTS', `${key} already exists`, current !== undefined ? { current } : undefined)
    }
    const rev = num(r.header.revision)
    return withTtl({ key, value: view(bytes), createRevision: rev, modRevision: rev, version: 1 }, ttl)
  }

  async update (key: string, value: Uint8Array, expectedModRevision: number, opts?: { ttlSeconds?: number }): Promise<KeyValue> {
    checkKey(key)
    const bytes = checkValue(value)
    checkRevision(expectedModRevision)
    const ttl = checkTtl(opts?.ttlSeconds)
    const k = this.#keys.key(key)
    const r = await this.#txnWithLease(`update ${key}`, ttl, (lease) => ({
      compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: expectedModRevision }],
      // Without a lease, lease 0 detaches the key from the one it had: an update without ttlSeconds makes it permanent.
      success: [{ request_put: { key: k, value: bytes, prev_kv: true, ...(lease !== undefined ? { lease } : {}) } }],
      failure: [{ request_range: { key: k } }]
    }))
    if (!r.succeeded) throw await this.#mismatch(key, expectedModRevision, r)
    const prev = r.responses[0]?.response_put?.prev_kv
    if (prev == null) throw new StoreError('CTRL_ERR_STORE_UNAVAILABLE', `etcd: update ${key}: etcd did not return the previous value`)
    const rev = num(r.header.revision)
    return withTtl({ key, value: view(bytes), createRevision: num(prev.create_revision), modRevision: rev, version: num(prev.version) + 1 }, ttl)
  }

  async delete (key: string, expectedModRevision?: number): Promise<KeyValue> {
    checkKey(key)
    const k = this.#keys.key(key)
    if (expectedModRevision === undefined) {
      const r = await this.#call(`delete ${key}`, true, async (c, d) => await c.deleteRange({ key: k, prev_kv: true }, d))
      const prev = r.prev_kvs[0]
      if (prev === undefined) throw new StoreError('CTRL_ERR_STORE_NOT_FOUND', `${key} does not exist`)
      return (await this.#withTtls([prev]))[0] as KeyValue
    }
    checkRevision(expectedModRevision)
    const r = await this.#call(`delete ${key}`, true, async (c, d) => await c.txn({
      compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: expectedModRevision }],
      success: [{ request_delete_range: { key: k, prev_kv: true } }],
      failure: [{ request_range: { key: k } }]
    }, d))
    if (!r.succeeded) throw await this.#mismatch(key, expectedModRevision, r)
    const prev = r.responses[0]?.response_delete_range?.prev_kvs[0]
    if (prev === undefined) throw new StoreError('CTRL_ERR_STORE_UNAVAILABLE', `etcd: delete ${key}: etcd did not return the deleted value`)
    return (await this.#withTtls([prev]))[0] as KeyValue
  }

  /**
   * A write txn, on the TTL bucket's lease when `ttl` is given. If etcd no
   * longer has that lease (revoked by another client, or lost), the txn failed
   * without writing: it is sent once more on a fresh lease.
   */
  async #txnWithLease (what: string, ttl: number | undefined, build: (lease: string | undefined) => { compare: Compare[], success: RequestOp[], failure: RequestOp[] }): Promise<TxnResponse> {
    for (let attempt = 0; ; attempt++) {
      const lease = ttl === undefined ? undefined : await this.#leases.forWrite(ttl)
      try {
        return await this.#call(what, true, async (c, d) => await c.txn(build(lease), d))
      } catch (err) {
        const gone = lease !== undefined && err instanceof StoreError && /requested lease not found/.test(err.message)
        if (!gone || attempt > 0) throw err
        this.#log.warn({ lease }, 'etcd no longer has the lease of a TTL bucket; granting a new one')
        this.#leases.forget(lease)
      }
    }
  }

  /** The current value a failed txn's Else(Get) returned, if any. */
  async #current (r: TxnResponse): Promise<KeyValue | undefined> {
    const kv = r.responses[0]?.response_range?.kvs[0]
    return kv === undefined ? undefined : (await this.#withTtls([kv]))[0]
  }

  /** NOT_FOUND or CONFLICT (with the current value) for a compare-and-swap that failed. */
  async #mismatch (key: string, expected: number, r: TxnResponse): Promise<StoreError> {
    const current = await this.#current(r)
    if (current === undefined) return new StoreError('CTRL_ERR_STORE_NOT_FOUND', `${key} does not exist`)
    return new StoreError('CTRL_ERR_STORE_CONFLICT', `${key} is at revision ${current.modRevision}, not ${expected}`, { current })
  }

  // ---- watch ---------------------------------------------------------------------------------------------------------

  async watch (start: string, opts: WatchOptions): Promise<void> {
    this.#assertOpen()
    if (typeof start !== 'string' || typeof opts?.end !== 'string') throw new StoreError('CTRL_ERR_STORE_INVALID', 'a range needs a start and an end string')
    if (!Number.isSafeInteger(opts.fromRevision)) throw new StoreError('CTRL_ERR_STORE_INVALID', `fromRevision must be an integer, not ${String(opts.fromRevision)}`)
    if (typeof opts.onEvents !== 'function') throw new StoreError('CTRL_ERR_STORE_INVALID', 'onEvents must be a function')
    if (opts.signal.aborted) return
    await watchRange({
      keys: this.#keys,
      open: async () => {
        const i = this.#preferred
        return { stream: await (this.#clients[i] as EtcdClient).watch(), endpoint: i }
      },
      failover: (endpoint) => { this.#failover(endpoint) },
      ttlOf: async (id) => await this.#leases.ttlOf(id),
      knownTtl: (id) => this.#leases.known(id),
      onCompacted: (rev) => { this.#compacted = Math.max(this.#compacted, rev) },
      closing: this.#closing.signal,
      log: this.#log,
      progressIntervalMs: this.#progressInterval,
      resumeTimeoutMs: this.#resumeTimeout,
      createTimeoutMs: this.#timeout
    }, start, opts)
  }

  // ---- compaction ----------------------------------------------------------------------------------------------------

  async compact (revision: number): Promise<void> {
    checkRevision(revision)
    try {
      await this.#call(`compact at ${revision}`, true, async (c, d) => await c.compact(revision, d))
    } catch (err) {
      throw await this.#withCompactRevision(err)
    }
    this.#compacted = Math.max(this.#compacted, revision)
  }

  /**
   * etcd keeps its compact revision to itself (no RPC returns it before 3.6),
   * but a Range at a revision below it fails: the oldest readable revision is
   * found by bisection between what this store already knows and the current
   * revision, about log2(revisions since) tiny Range calls. 0 when nothing
   * has been compacted.
   */
  async compactedRevision (): Promise<number> {
    const readable = async (rev: number): Promise<boolean> => {
      try {
        await this.#call('probing the compacted revision', false, async (c, d) => await c.range({ key: this.#keys.probe(), count_only: true, revision: rev }, d))
        return true
      } catch (err) {
        const e = toStoreError(err, 'probing the compacted revision')
        if (e.code === 'CTRL_ERR_STORE_COMPACTED') return false
        throw e
      }
    }
    let lo = Math.max(this.#compacted, 1)
    if (await readable(lo)) return this.#compacted
    // Invariant: lo is compacted, hi is readable (the current revision always is).
    let hi = await this.revision()
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2)
      if (await readable(mid)) hi = mid
      else lo = mid
    }
    this.#compacted = Math.max(this.#compacted, hi)
    return this.#compacted
  }

  /** A COMPACTED StoreError gets `compactedRevision` (looked up when etcd's error did not say). */
  async #withCompactRevision (err: unknown): Promise<unknown> {
    if (!(err instanceof StoreError) || err.code !== 'CTRL_ERR_STORE_COMPACTED' || err.compactedRevision !== undefined) return err
    let rev: number | undefined
    try {
      rev = await this.compactedRevision()
    } catch {
      rev = undefined
    }
    return new StoreError('CTRL_ERR_STORE_COMPACTED', rev === undefined ? err.message : `${err.message} (oldest readable revision: ${rev})`, {
      cause: err.cause,
      ...(rev !== undefined ? { compactedRevision: rev } : {})
    })
  }

  // ---- lifecycle -----------------------------------------------------------------------------------------------------

  /** Ends every watch (they reject UNAVAILABLE) and closes the connections. Leases are left to run out: they hold others' keys too. */
  async close (): Promise<void> {
    if (this.#closing.signal.aborted) return
    this.#closing.abort()
    for (const c of this.#clients) c.close()
  }

  #assertOpen (): void {
    if (this.#closing.signal.aborted) throw new StoreError('CTRL_ERR_STORE_UNAVAILABLE', 'etcd store: closed')
  }

  // ---- plumbing ------------------------------------------------------------------------------------------------------

  /**
   * Runs one etcd request under the store's deadline, retrying what may be
   * retried (etcd-errors.ts isRetriable) until then, and turns its failure into
   * a StoreError. Requests go to the preferred endpoint; one that fails to
   * answer makes the next endpoint preferred, and a retry goes there at once
   * (a pause comes only after every endpoint failed in turn). The deadline is
   * enforced here too, not only by gRPC, so no call outlives it whatever state
   * the channel is in.
   */
  async #call<T> (what: string, write: boolean, fn: (client: EtcdClient, deadline: number) => Promise<T>): Promise<T> {
    this.#assertOpen()
    const deadline = Date.now() + this.#timeout
    let pause = FIRST_RETRY_PAUSE_MS
    let failedInRound = 0
    for (;;) {
      const i = this.#preferred
      try {
        // The client holds the deadline, and close() ends every call in flight.
        return await fn(this.#clients[i] as EtcdClient, deadline)
      } catch (err) {
        if (this.#closing.signal.aborted) throw new StoreError('CTRL_ERR_STORE_UNAVAILABLE', `etcd: ${what}: the store was closed`, { cause: err })
        if (isEndpointFailure(err)) this.#failover(i)
        if (!isRetriable(err, write) || Date.now() >= deadline) throw toStoreError(err, what)
        if (++failedInRound < this.#clients.length) continue
        failedInRound = 0
        if (Date.now() + pause >= deadline) throw toStoreError(err, what)
        this.#log.debug({ what, err: String(err), retryMs: pause }, 'etcd request failed, trying again')
        await new Promise((resolve) => setTimeout(resolve, pause))
        pause = Math.min(pause * 2, MAX_RETRY_PAUSE_MS)
      }
    }
  }

  /** Endpoint `i` failed: prefer the next one, unless another request already moved on. */
  #failover (i: number): void {
    if (this.#preferred !== i || this.#clients.length === 1) return
    this.#preferred = (i + 1) % this.#clients.length
    this.#log.warn({ from: i, to: this.#preferred }, 'etcd endpoint failed, switching to the next one')
  }

  /** Key-values with their TTL, looking up the leases this store has not seen yet. */
  async #withTtls (kvs: EtcdKeyValue[]): Promise<KeyValue[]> {
    const unknown = [...new Set(kvs.map(leaseOf).filter((id): id is string => id !== undefined && this.#leases.known(id) === undefined))]
    const found = new Map<string, number | undefined>()
    for (let i = 0; i < unknown.length; i += TTL_LOOKUPS) {
      await Promise.all(unknown.slice(i, i + TTL_LOOKUPS).map(async (id) => { found.set(id, await this.#leases.ttlOf(id)) }))
    }
    return kvs.map((kv) => {
      const id = leaseOf(kv)
      return toKeyValue(this.#keys, kv, id === undefined ? undefined : this.#leases.known(id) ?? found.get(id))
    })
  }
}

function withTtl (kv: KeyValue, ttl: number | undefined): KeyValue {
  if (ttl !== undefined) kv.ttlSeconds = ttl
  return kv
}

/** The store's own copy (checkValue), as a plain Uint8Array: the request was encoded from it and keeps no reference. */
function view (b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

function checkKey (key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new StoreError('CTRL_ERR_STORE_INVALID', 'a key must be a non-empty string')
  // UTF-8 cannot carry a lone surrogate: two such keys would land on one etcd key.
  if (LONE_SURROGATE.test(key)) throw new StoreError('CTRL_ERR_STORE_INVALID', 'a key must be valid Unicode (it has a lone surrogate)')
}

/** Our own copy of the value as a Buffer: the caller may reuse its array while the request is on its way. */
function checkValue (value: Uint8Array): Buffer {
  if (!(value instanceof Uint8Array)) throw new StoreError('CTRL_ERR_STORE_INVALID', 'a value must be a Uint8Array')
  return Buffer.from(value)
}

function checkRevision (rev: number): void {
  if (!Number.isSafeInteger(rev) || rev <= 0) throw new StoreError('CTRL_ERR_STORE_INVALID', `a revision must be a positive integer, not ${String(rev)}`)
}

/** A read revision: 0 or undefined is the current one. */
function checkReadRevision (rev: number | undefined): number {
  if (rev === undefined || rev === 0) return 0
  if (!Number.isSafeInteger(rev) || rev < 0) throw new StoreError('CTRL_ERR_STORE_INVALID', `revision must be a non-negative integer, not ${String(rev)}`)
  return rev
}

function checkTtl (ttl: number | undefined): number | undefined {
  if (ttl === undefined) return undefined
  // etcd's own bound on a lease TTL (lease.MaxLeaseTTL).
  if (!Number.isSafeInteger(ttl) || ttl <= 0 || ttl > 9_000_000_000) throw new StoreError('CTRL_ERR_STORE_INVALID', `ttlSeconds must be a positive integer, not ${String(ttl)}`)
  return ttl
}
