/**
 * Store.watch on etcd: one gRPC watch stream per store watch, created with
 * prevKv from the caller's revision, resumed after the last revision delivered
 * whenever the stream breaks.
 *
 * Why a stream of our own rather than etcd3's Watcher: etcd3 multiplexes
 * watchers on one stream and, on reconnect, resumes after the revision of the
 * last *header* it saw, and the `created` header carries etcd's current
 * revision even while older events are still on their way (the routing team met
 * this in routing/vxlan/etcd-manager.ts). It also turns a compaction into an
 * error without the compact revision. Here the resume point moves only when
 * events have been handed to onEvents, so a cut connection neither loses nor
 * repeats an event.
 *
 * etcd never splits one revision across watch responses unless asked to
 * (`fragment`, which we do not set), so each response is delivered as one
 * batch: the contract's "a batch never splits one revision" holds.
 */
import type { Event as IEvent, KeyValue as IKeyValue, WatchResponse as IWatchResponse } from './etcd-proto.js'
import type { WatchStream } from './etcd-rpc.js'
import { StoreError } from './errors.js'
import { leaseOf, num, toKeyValue } from './etcd-codec.js'
import type { KeySpace } from './etcd-codec.js'
import type { KeyValue, WatchEvent, WatchOptions } from './types.js'

/** The subset of a pino logger the etcd store uses. */
export interface EtcdStoreLogger {
  debug (obj: object, msg: string): void
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

export type { WatchStream } from './etcd-rpc.js'

export interface WatchDeps {
  keys: KeySpace
  /** Opens a new watch stream (no deadline: it lives as long as the watch) on the preferred endpoint. */
  open: () => Promise<{ stream: WatchStream, endpoint: number }>
  /** A stream on `endpoint` broke: the store may prefer another endpoint. */
  failover: (endpoint: number) => void
  /** The write TTL of a lease, undefined when gone; may ask etcd. */
  ttlOf: (leaseId: string) => Promise<number | undefined>
  /** The write TTL of a lease when known without asking etcd. */
  knownTtl: (leaseId: string) => number | undefined
  /** Tells the store a compact revision it learnt from etcd. */
  onCompacted: (rev: number) => void
  /** Aborts when the store closes: the watch then rejects UNAVAILABLE. */
  closing: AbortSignal
  log: EtcdStoreLogger
  /** How often to ask etcd for progress (only when the caller gave onProgress). */
  progressIntervalMs: number
  /** How long to keep trying to resume a broken stream before rejecting UNAVAILABLE. */
  resumeTimeoutMs: number
  /** How long etcd has to confirm a new watch (a frozen etcd accepts the stream and never answers). */
  createTimeoutMs: number
}

/** What the watch has delivered, carried across streams. */
interface Cursor {
  /** The revision to (re)start from; 0 until etcd has told us what "now" is, for fromRevision <= 0. */
  next: number
  /** Revision of the last event delivered, 0 for none. */
  lastEvent: number
  /** Last revision reported to onProgress. */
  lastProgress: number
  /** etcd's cluster ID as first seen: a resume that lands on another cluster cannot continue this history. */
  cluster: string | undefined
}

/** How one stream ended: the caller stopped, it broke (resume), or the watch must end with an error. */
type StreamEnd = { kind: 'stopped' } | { kind: 'broken', why: string, established: boolean } | { kind: 'failed', err: unknown }

const EMPTY = new Uint8Array(0)
const FIRST_PAUSE_MS = 100
const MAX_PAUSE_MS = 2000

export async function watchRange (deps: WatchDeps, start: string, opts: WatchOptions): Promise<void> {
  const cursor: Cursor = { next: opts.fromRevision > 0 ? opts.fromRevision : 0, lastEvent: 0, lastProgress: 0, cluster: undefined }
  const stop = AbortSignal.any([opts.signal, deps.closing])
  let downSince: number | undefined
  let pause = FIRST_PAUSE_MS
  for (;;) {
    if (opts.signal.aborted) return
    if (deps.closing.aborted) throw new StoreError('CTRL_ERR_STORE_UNAVAILABLE', 'etcd store: closed while watching')
    const end = await followStream(deps, start, opts, cursor, stop)
    if (end.kind === 'failed') throw end.err
    if (end.kind === 'stopped') continue
    if (end.established) {
      downSince = undefined
      pause = FIRST_PAUSE_MS
    }
    const now = Date.now()
    downSince ??= now
    if (now - downSince >= deps.resumeTimeoutMs) {
      throw new StoreError('CTRL_ERR_STORE_UNAVAILABLE', `etcd: watch of ${start} could not resume at revision ${cursor.next} within ${deps.resumeTimeoutMs} ms: ${end.why}`)
    }
    deps.log.warn({ start, revision: cursor.next, why: end.why, retryMs: pause }, 'etcd watch broke, resuming after the last revision delivered')
    await sleep(Math.min(pause, Math.max(0, downSince + deps.resumeTimeoutMs - now)), stop)
    pause = Math.min(pause * 2, MAX_PAUSE_MS)
  }
}

/** Runs one watch stream from `cursor.next` until it breaks, the caller stops, or the watch must fail. */
async function followStream (deps: WatchDeps, start: string, opts: WatchOptions, cursor: Cursor, stop: AbortSignal): Promise<StreamEnd> {
  return await new Promise<StreamEnd>((resolve) => {
    let stream: WatchStream | undefined
    /** The endpoint the stream was opened on, for failover when it breaks. */
    let endpoint: number | undefined
    let established = false
    let done = false
    /** Set when nothing more may be delivered: the caller stopped, or the watch failed. */
    let halted = false
    /** Deliveries in arrival order; a stream that ends waits for them, so `cursor` is exact before a resume. */
    let chain = Promise.resolve()
    let progressTimer: NodeJS.Timeout | undefined
    let createTimer: NodeJS.Timeout | undefined
    /** Highest revision a progress response claimed since the last tick. */
    let progressSeen = 0

    const finish = (end: { kind: 'stopped' } | { kind: 'broken', why: string } | { kind: 'failed', err: unknown }): void => {
      if (done) return
      done = true
      if (end.kind !== 'broken') halted = true
      else if (endpoint !== undefined) deps.failover(endpoint)
      stop.removeEventListener('abort', onAbort)
      if (progressTimer !== undefined) clearInterval(progressTimer)
      clearTimeout(createTimer)
      try { stream?.cancel() } catch { /* already gone */ }
      void chain.then(() => { resolve(end.kind === 'broken' ? { ...end, established } : end) })
    }
    const onAbort = (): void => { finish({ kind: 'stopped' }) }
    stop.addEventListener('abort', onAbort, { once: true })
    if (stop.aborted) { finish({ kind: 'stopped' }); return }

    const deliver = async (events: IEvent[]): Promise<void> => {
      if (halted) return
      // Leases of keys written by other clients: one lookup each, before anything of this response is delivered.
      const unknown = new Set<string>()
      for (const ev of events) {
        for (const kv of [ev.kv, ev.prev_kv]) {
          const id = kv == null ? undefined : leaseOf(kv)
          if (id !== undefined && deps.knownTtl(id) === undefined) unknown.add(id)
        }
      }
      const ttls = new Map<string, number | undefined>()
      if (unknown.size > 0) {
        try {
          await Promise.all([...unknown].map(async (id) => { ttls.set(id, await deps.ttlOf(id)) }))
        } catch (err) {
          // Not delivered, so not passed: the next stream starts at these events again.
          halted = true
          finish({ kind: 'broken', why: `reading the TTL of a lease failed: ${String(err)}` })
          return
        }
      }
      if (halted) return
      const ttl = (kv: IKeyValue): number | undefined => {
        const id = leaseOf(kv)
        return id === undefined ? undefined : deps.knownTtl(id) ?? ttls.get(id)
      }
      const batch = events.map((ev) => toEvent(deps, ev, ttl))
      const last = (batch[batch.length - 1] as WatchEvent).kv.modRevision
      try {
        opts.onEvents(batch)
      } catch (err) {
        finish({ kind: 'failed', err })
        return
      }
      cursor.lastEvent = last
      cursor.next = last + 1
    }

    const tick = (): void => {
      if (done) return
      // A progress response is reported one tick after it arrived: etcd before 3.4.24/3.5.8 could
      // send it ahead of events still queued for the stream (etcd-io/etcd#15220), and those
      // events are delivered first this way.
      const rev = progressSeen
      progressSeen = 0
      chain = chain.then(() => {
        if (halted || rev <= cursor.lastEvent || rev <= cursor.lastProgress || rev < cursor.next - 1) return
        cursor.lastProgress = rev
        try {
          opts.onProgress?.(rev)
        } catch (err) {
          finish({ kind: 'failed', err })
        }
      })
      try { stream?.write({ progress_request: {} }) } catch { /* the stream is ending; its error event follows */ }
    }

    const onData = (res: IWatchResponse): void => {
      if (done) return
      const cluster = res.header.cluster_id
      if (cluster !== '0') {
        if (cursor.cluster !== undefined && cluster !== cursor.cluster) {
          finish({ kind: 'failed', err: new StoreError('CTRL_ERR_STORE_UNAVAILABLE', `etcd: the watch of ${start} resumed on another etcd cluster (${cursor.cluster} → ${cluster}); list again`) })
          return
        }
        cursor.cluster = cluster
      }
      if (res.created) {
        established = true
        clearTimeout(createTimer)
        // fromRevision <= 0: etcd starts the watch after its current revision, as a start revision of 0 asks.
        // Otherwise the header's revision says nothing about what has been sent: events older than it
        // may still be on their way (etcd replays to a late watcher within 100 ms), so it moves nothing.
        if (cursor.next === 0) cursor.next = num(res.header.revision) + 1
        deps.log.debug({ start, from: cursor.next, etcdRevision: num(res.header.revision) }, 'etcd watch established')
        if (!res.canceled && opts.onProgress !== undefined && progressTimer === undefined) {
          progressTimer = setInterval(tick, deps.progressIntervalMs)
        }
      }
      if (res.canceled) {
        const compacted = num(res.compact_revision)
        if (compacted > 0) {
          deps.onCompacted(compacted)
          finish({
            kind: 'failed',
            err: new StoreError('CTRL_ERR_STORE_COMPACTED', `etcd: watch of ${start} from revision ${cursor.next}: history before ${compacted} has been compacted`, { compactedRevision: compacted })
          })
        } else {
          finish({ kind: 'broken', why: `etcd canceled the watch: ${res.cancel_reason === '' ? 'no reason given' : res.cancel_reason}` })
        }
        return
      }
      if (res.created) return
      if (res.events.length === 0) {
        // A progress notification: every event up to this revision has been sent (see tick()).
        progressSeen = Math.max(progressSeen, num(res.header.revision))
        return
      }
      const events = res.events
      chain = chain.then(async () => { await deliver(events) })
    }

    deps.open().then(({ stream: s, endpoint: e }) => {
      if (done) { try { s.cancel() } catch { /* never started */ } return }
      stream = s
      endpoint = e
      s.on('data', onData)
      s.on('error', (err: Error) => { finish({ kind: 'broken', why: err.message }) })
      s.on('end', () => { finish({ kind: 'broken', why: 'etcd ended the watch stream' }) })
      createTimer = setTimeout(() => { finish({ kind: 'broken', why: `etcd did not confirm the watch within ${deps.createTimeoutMs} ms` }) }, deps.createTimeoutMs)
      s.write({
        create_request: {
          ...deps.keys.range(start, opts.end),
          start_revision: cursor.next,
          prev_kv: true,
          // etcd's own periodic progress notifications (every 10 min by default) come in order with events.
          progress_notify: opts.onProgress !== undefined
        }
      })
    }, (err: unknown) => { finish({ kind: 'broken', why: `opening a watch stream failed: ${String(err)}` }) })
  })
}

function toEvent (deps: WatchDeps, ev: IEvent, ttl: (kv: IKeyValue) => number | undefined): WatchEvent {
  const prev = ev.prev_kv == null ? undefined : toKeyValue(deps.keys, ev.prev_kv, ttl(ev.prev_kv))
  if (ev.type === 'Delete') {
    const kv: KeyValue = { key: deps.keys.unkey(ev.kv.key), value: EMPTY, createRevision: 0, modRevision: num(ev.kv.mod_revision), version: 0 }
    if (prev === undefined) {
      // etcd has the previous value of every event it still serves; this would be an etcd bug.
      deps.log.error({ key: kv.key, revision: kv.modRevision }, 'etcd sent a delete event without the previous value')
      return { type: 'delete', kv, prevKv: { key: kv.key, value: EMPTY, createRevision: 0, modRevision: 0, version: 0 } }
    }
    return { type: 'delete', kv, prevKv: prev }
  }
  return { type: 'put', kv: toKeyValue(deps.keys, ev.kv, ttl(ev.kv)), prevKv: prev }
}

async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    if (signal.aborted) { resolve(); return }
    const done = (): void => { clearTimeout(timer); signal.removeEventListener('abort', done); resolve() }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}
