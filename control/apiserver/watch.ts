/**
 * Watches, as kube-apiserver's cacher serves them: one store watch per
 * resource, fanned out in-process to every HTTP watcher, with a window of
 * recent events so a client can resume from a resourceVersion without a new
 * store watch. Older resourceVersions fall through to a store watch of their
 * own (which fails with 410 Expired once compacted).
 *
 * Per watcher: namespace and selector filters with upstream's transitions
 * (an update that leaves the selector is DELETED, one that enters it is
 * ADDED), synthetic ADDED events for "any" resourceVersion, bookmarks from
 * the store's progress, and sendInitialEvents.
 */
import type { KeyValue, Store, WatchEvent } from '../store/index.js'
import { StoreError, prefixFor, prefixRange } from '../store/index.js'
import { ApiError, badRequest } from './errors.js'
import type { ListOptions, Registry } from './registry.js'
import { decodeKv } from './registry.js'
import type { ResourceInfo } from './resources.js'
import { apiVersionOf } from './resources.js'
import { meta } from './strategy.js'
import type { Obj } from './validation.js'

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'

export interface WatchRequest {
  info: ResourceInfo
  namespace: string | undefined
  selectors: Pick<ListOptions, 'labelSelector' | 'fieldSelector'>
  /** '' / undefined / '0': start with the current state as ADDED events. */
  resourceVersion: string | undefined
  allowBookmarks: boolean
  sendInitialEvents: boolean
  signal: AbortSignal
  send: (type: WatchEventType, object: Obj) => void
  /** Bytes queued for the client; a watcher this far behind is dropped. */
  backlog?: () => number
}

interface Entry { rev: number, ev: WatchEvent, obj: Obj | undefined, prev: Obj | undefined, gone?: Obj | undefined }

interface Subscriber {
  req: WatchRequest
  after: number
  prefix: string
  /** The watch's label and field selectors applied to an object; undefined when it has none. */
  matches: ((o: Obj) => boolean) | undefined
  lastSent: number
  close: (err?: unknown) => void
}

export interface WatchHubOptions {
  /** Events kept per resource for resuming (kube-apiserver's watch cache keeps 100 per resource by default, more under load). */
  historySize?: number
  bookmarkIntervalMs?: number
  /** A watcher with more queued bytes than this is closed (the client relists). */
  maxBacklogBytes?: number
}

class ResourceCache {
  readonly entries: Entry[] = []
  /** Events with rev > floor are all in `entries`. */
  floor = 0
  /** Highest revision known to be fully delivered for this resource. */
  latest = 0
  readonly subs = new Set<Subscriber>()
  private started: Promise<void> | undefined
  private readonly ac = new AbortController()
  failed: unknown

  constructor (private readonly store: Store, readonly info: ResourceInfo, private readonly historySize: number, private readonly maxBacklog: number) {}

  async start (): Promise<void> {
    this.started ??= (async () => {
      const rev = await this.store.revision()
      this.floor = rev
      this.latest = rev
      const r = prefixRange(prefixFor(this.info.plural))
      this.store.watch(r.start, {
        end: r.end,
        fromRevision: rev + 1,
        signal: this.ac.signal,
        onEvents: (evs) => { this.onEvents(evs) },
        onProgress: (p) => { if (p > this.latest) this.latest = p }
      }).catch((e: unknown) => {
        this.failed = e
        for (const s of [...this.subs]) s.close(e)
        this.subs.clear()
      })
    })()
    await this.started
  }

  stop (): void { this.ac.abort() }

  private onEvents (evs: WatchEvent[]): void {
    for (const ev of evs) {
      const rev = ev.kv.modRevision
      const e: Entry = { rev, ev, obj: undefined, prev: undefined }
      this.entries.push(e)
      if (rev > this.latest) this.latest = rev
      for (const s of this.subs) deliver(s, e)
      // Keep the bytes for resuming watchers, not the decoded objects (memory).
      e.obj = undefined
      e.prev = undefined
      e.gone = undefined
    }
    if (this.entries.length > this.historySize) {
      const drop = this.entries.splice(0, this.entries.length - this.historySize)
      this.floor = (drop[drop.length - 1] as Entry).rev
    }
    for (const s of this.subs) {
      if (s.req.backlog !== undefined && s.req.backlog() > this.maxBacklog) s.close(new ApiError('CTRL_ERR_API_EXPIRED', 'watch client is too slow: closing the watch; relist and watch again'))
    }
  }
}

function decodeLazy (kv: KeyValue | undefined): Obj | undefined { return kv === undefined ? undefined : decodeKv(kv) }

/** Upstream's watch transform: selector transitions and the object each event carries. */
function deliver (s: Subscriber, e: Entry): void {
  if (e.rev <= s.after || !e.ev.kv.key.startsWith(s.prefix)) return
  const passes = (o: Obj): boolean => s.matches === undefined || s.matches(o)
  if (e.ev.type === 'put') {
    e.obj ??= decodeLazy(e.ev.kv)
    const cur = e.obj as Obj
    if (e.ev.prevKv === undefined) {
      if (passes(cur)) emit(s, 'ADDED', cur, e.rev)
      return
    }
    e.prev ??= decodeLazy(e.ev.prevKv)
    const prev = e.prev as Obj
    const now = passes(cur)
    const before = passes(prev)
    if (now && before) emit(s, 'MODIFIED', cur, e.rev)
    else if (now) emit(s, 'ADDED', cur, e.rev)
    else if (before) emit(s, 'DELETED', e.gone ??= withRv(prev, e.rev), e.rev)
  } else {
    e.prev ??= decodeLazy(e.ev.prevKv)
    const prev = e.prev as Obj
    if (passes(prev)) emit(s, 'DELETED', e.gone ??= withRv(prev, e.rev), e.rev)
  }
}


function withRv (o: Obj, rev: number): Obj {
  const c = { ...o, metadata: { ...(o.metadata as Obj), resourceVersion: String(rev) } }
  return c
}

function emit (s: Subscriber, type: WatchEventType, obj: Obj, rev: number): void {
  s.lastSent = Date.now()
  s.req.send(type, obj)
  if (rev > s.after) s.after = rev
}

export class WatchHub {
  private readonly caches = new Map<string, ResourceCache>()
  private readonly historySize: number
  private readonly bookmarkMs: number
  private readonly maxBacklog: number
  private readonly timer: NodeJS.Timeout

  constructor (private readonly registry: Registry, opts: WatchHubOptions = {}) {
    this.historySize = opts.historySize ?? 1000
    this.bookmarkMs = opts.bookmarkIntervalMs ?? 10_000
    this.maxBacklog = opts.maxBacklogBytes ?? 64 * 1024 * 1024
    this.timer = setInterval(() => { this.bookmarks() }, Math.max(50, Math.min(this.bookmarkMs, 1000)))
    this.timer.unref()
  }

  /** Number of open watchers per resource (for /metrics). */
  watchers (): Map<string, number> {
    const m = new Map<string, number>()
    for (const [k, c] of this.caches) m.set(k, c.subs.size)
    return m
  }

  close (): void {
    clearInterval(this.timer)
    for (const c of this.caches.values()) {
      for (const s of c.subs) s.close()
      c.stop()
    }
    this.caches.clear()
  }

  private cacheFor (info: ResourceInfo): ResourceCache {
    const k = `${info.group}/${info.plural}`
    let c = this.caches.get(k)
    if (c === undefined || c.failed !== undefined) {
      c = new ResourceCache(this.registry.store, info, this.historySize, this.maxBacklog)
      this.caches.set(k, c)
    }
    return c
  }

  private bookmarks (): void {
    const now = Date.now()
    for (const c of this.caches.values()) {
      for (const s of c.subs) {
        if (!s.req.allowBookmarks || now - s.lastSent < this.bookmarkMs || c.latest < s.after) continue
        s.after = c.latest
        s.lastSent = now
        s.req.send('BOOKMARK', bookmarkObject(s.req.info, c.latest, false))
      }
    }
  }

  /**
   * Serves one watch until the client goes away (resolves) or the watch
   * cannot go on (rejects with an ApiError, e.g. 410 Expired, which the
   * caller sends as an ERROR event).
   */
  async watch (req: WatchRequest): Promise<void> {
    const { info } = req
    const rvText = req.resourceVersion ?? ''
    if (rvText !== '' && !/^\d+$/.test(rvText)) throw badRequest(`invalid resource version "${rvText}" for watch`)
    const prefix = prefixFor(info.plural, info.namespaced ? req.namespace : undefined)
    const cache = this.cacheFor(info)
    await cache.start()
    let after: number
    const initial = rvText === '' || rvText === '0' || req.sendInitialEvents
    const replay: Obj[] = []
    if (initial) {
      const list = await this.registry.list(info, req.namespace, { ...req.selectors })
      after = Number(list.resourceVersion)
      replay.push(...list.items)
    } else {
      after = Number(rvText)
    }
    if (req.signal.aborted) return
    await new Promise<void>((resolve, reject) => {
      const sel = req.selectors
      const sub: Subscriber = {
        req,
        after,
        prefix,
        matches: sel.labelSelector === undefined && sel.fieldSelector === undefined ? undefined : (o) => this.registry.matches(info, o, sel),
        lastSent: Date.now(),
        close: (err?: unknown) => {
          cache.subs.delete(sub)
          req.signal.removeEventListener('abort', onAbort)
          if (err === undefined) resolve()
          else reject(err instanceof StoreError && err.code === 'CTRL_ERR_STORE_COMPACTED' ? expired(after, cache.floor) : err)
        }
      }
      const onAbort = (): void => { sub.close() }
      req.signal.addEventListener('abort', onAbort)
      for (const o of replay) emit(sub, 'ADDED', o, 0)
      if (req.sendInitialEvents && req.allowBookmarks) {
        sub.lastSent = Date.now()
        req.send('BOOKMARK', bookmarkObject(info, after, true))
      }
      if (after >= cache.floor) {
        for (const e of cache.entries) deliver(sub, e)
        cache.subs.add(sub)
        return
      }
      // Older than the cache window: a store watch of our own, then join the cache once caught up.
      this.fromStore(sub, cache).catch((e: unknown) => { sub.close(e) })
    })
  }

  private async fromStore (sub: Subscriber, cache: ResourceCache): Promise<void> {
    const ac = new AbortController()
    const stop = (): void => { ac.abort() }
    sub.req.signal.addEventListener('abort', stop)
    const r = prefixRange(sub.prefix)
    const from = sub.after + 1
    try {
      await this.registry.store.watch(r.start, {
        end: r.end,
        fromRevision: from,
        signal: ac.signal,
        onEvents: (evs) => {
          for (const ev of evs) deliver(sub, { rev: ev.kv.modRevision, ev, obj: undefined, prev: undefined })
          // Caught up with the cache's window: hand over to it.
          if (sub.after >= cache.floor && !ac.signal.aborted) {
            for (const e of cache.entries) deliver(sub, e)
            cache.subs.add(sub)
            ac.abort()
          }
        }
      })
    } catch (e) {
      if (e instanceof StoreError && e.code === 'CTRL_ERR_STORE_COMPACTED') throw expired(sub.after, e.compactedRevision ?? 0)
      throw e
    } finally {
      sub.req.signal.removeEventListener('abort', stop)
    }
  }
}

export function expired (rv: number, oldest: number): ApiError {
  return new ApiError('CTRL_ERR_API_EXPIRED', `too old resource version: ${rv} (${oldest})`)
}

export function bookmarkObject (info: ResourceInfo, rev: number, initialEventsEnd: boolean): Obj {
  const o: Obj = { kind: info.kind, apiVersion: apiVersionOf(info), metadata: { resourceVersion: String(rev) } }
  if (initialEventsEnd) meta(o).annotations = { 'k8s.io/initial-events-end': 'true' }
  return o
}
