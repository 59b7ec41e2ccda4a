/**
 * The generic REST storage of every resource (kube-apiserver's
 * registry/generic/registry.Store): create, get, list, update, patch, delete
 * and deletecollection over the store contract, with the object lifecycle
 * rules around them — uid, creationTimestamp, generation, resourceVersion as
 * the store's modRevision, finalizers and deletionTimestamp, graceful pod
 * deletion, compare-and-swap retry loops (GuaranteedUpdate), and the
 * Service allocations.
 */
import { randomUUID } from 'node:crypto'
import type { KeyValue, Store } from '../store/index.js'
import { StoreError, keyFor, prefixFor, prefixRange } from '../store/index.js'
import { ApiError, alreadyExists, badRequest, conflict, invalid, notFound } from './errors.js'
import type { Allocator } from './allocator.js'
import type { ResourceInfo } from './resources.js'
import { RESOURCES, apiVersionOf } from './resources.js'
import type { FieldSelector, LabelSelector } from './selectors.js'
import { matchesFields, matchesLabels, pinnedField } from './selectors.js'
import { applyDefaults, meta, prepareForCreate, prepareForStatusUpdate, prepareForUpdate, selectableFields, specChanged } from './strategy.js'
import type { Obj } from './validation.js'
import { validateObject } from './validation.js'

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

export interface ListOptions {
  labelSelector?: LabelSelector
  fieldSelector?: FieldSelector
  limit?: number
  continue?: string
  /** '' (most recent), '0' (any) or a revision. */
  resourceVersion?: string
  resourceVersionMatch?: string
}

export interface ListResult {
  items: Obj[]
  /** Set when listed with asText: each item as JSON byte chunks, `items` is then empty. */
  chunks?: Uint8Array[][]
  resourceVersion: string
  continue?: string
  remainingItemCount?: number
}

export interface DeleteOptions {
  gracePeriodSeconds?: number
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground'
  preconditions?: { uid?: string, resourceVersion?: string }
  dryRun?: boolean
}

export interface WriteOptions { dryRun?: boolean }

/** Mutates the current object into the desired one; may throw ApiError. */
export type Mutator = (current: Obj) => Obj | Promise<Obj>

const utf8 = new TextDecoder()

export function decodeKv (kv: KeyValue): Obj {
  const obj = JSON.parse(utf8.decode(kv.value)) as Obj
  meta(obj).resourceVersion = String(kv.modRevision)
  return obj
}

/**
 * Stored form: JSON without resourceVersion (the store's modRevision is the
 * resourceVersion), keys apiVersion, kind, metadata first so that
 * `kvJsonChunks` can put the resourceVersion back without parsing.
 */
function encode (obj: Obj): Uint8Array {
  const m = meta(obj)
  const rv = m.resourceVersion
  delete m.resourceVersion
  const { apiVersion, kind, metadata, ...rest } = obj
  const bytes = Buffer.from(JSON.stringify({ apiVersion, kind, metadata, ...rest }))
  if (rv !== undefined) m.resourceVersion = rv
  return bytes
}

const canonicalHead = /^\{"apiVersion":"[^"\\]*","kind":"[^"\\]*","metadata":\{/

/**
 * The object of a stored value as JSON bytes with its resourceVersion: views
 * of the stored bytes around the inserted field, no decode or copy when the
 * value is in our stored form.
 */
export function kvJsonChunks (kv: KeyValue): Uint8Array[] {
  const head = canonicalHead.exec(Buffer.from(kv.value.buffer, kv.value.byteOffset, Math.min(kv.value.byteLength, 512)).toString('latin1'))
  if (head === null) return [Buffer.from(JSON.stringify(decodeKv(kv)))]
  const at = head[0].length
  const closes = kv.value[at] === 0x7d /* } */
  return [kv.value.subarray(0, at), Buffer.from(`"resourceVersion":"${kv.modRevision}"${closes ? '' : ','}`), kv.value.subarray(at)]
}

const nowRfc3339 = (d = new Date()): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z')
const generateChars = 'bcdfghjklmnpqrstvwxz2456789'
function generateSuffix (): string {
  let s = ''
  for (let i = 0; i < 5; i++) s += generateChars[Math.floor(Math.random() * generateChars.length)] as string
  return s
}

interface ContinueToken { v: string, rv: number, start: string }

export function encodeContinue (rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start } satisfies ContinueToken)).toString('base64url')
}

function decodeContinue (tok: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(tok, 'base64url').toString()) as ContinueToken
    if (t.v !== 'meta.k8s.io/v1' || typeof t.rv !== 'number' || typeof t.start !== 'string' || t.start.includes('..')) throw new Error('bad')
    return t
  } catch {
    throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)')
  }
}

function parseRv (rv: string | undefined, what: string): number | undefined {
  if (rv === undefined || rv === '') return undefined
  if (!/^\d+$/.test(rv)) throw badRequest(`invalid resource version "${rv}" for ${what}`)
  return Number(rv)
}

/** A store error as the Status kube-apiserver would return for it. */
export function storeToApi (e: unknown, info: ResourceInfo, name: string): unknown {
  if (!(e instanceof StoreError)) return e
  switch (e.code) {
    case 'CTRL_ERR_STORE_EXISTS': return alreadyExists(info.plural, info.group, name)
    case 'CTRL_ERR_STORE_NOT_FOUND': return notFound(info.plural, info.group, name)
    case 'CTRL_ERR_STORE_CONFLICT': return conflict(info.plural, info.group, name)
    case 'CTRL_ERR_STORE_COMPACTED': return new ApiError('CTRL_ERR_API_EXPIRED', `The resourceVersion for the provided list is too old. (compacted at ${e.compactedRevision ?? '?'})`)
    case 'CTRL_ERR_STORE_FUTURE_REVISION': return new ApiError('CTRL_ERR_API_SERVICE_UNAVAILABLE', `Too large resource version: ${e.message}`, { retryAfterSeconds: 1 })
    case 'CTRL_ERR_STORE_UNAVAILABLE': return new ApiError('CTRL_ERR_API_SERVICE_UNAVAILABLE', `storage is unavailable: ${e.message}`, { retryAfterSeconds: 1 })
    case 'CTRL_ERR_STORE_INVALID': return badRequest(e.message)
    default: return new ApiError('CTRL_ERR_API_INTERNAL', `storage error: ${e.message}`)
  }
}

export interface RegistryOptions {
  store: Store
  allocator: Allocator
  /** Events live this long (kube-apiserver's --event-ttl, 1 h). */
  eventTtlSeconds?: number
  now?: () => Date
}

/**
 * Which namespaces exist and which are terminating, kept from a store watch,
 * so that creates do not read the namespace from the store each time (one
 * round trip less per create on etcd).
 */
class NamespaceCache {
  private readonly state = new Map<string, boolean>()
  private ready = false
  private readonly ac = new AbortController()

  constructor (private readonly store: Store) {}

  /** true/false when known, undefined when the cache has not seen it (or is not running). */
  terminating (ns: string): boolean | undefined {
    return this.ready ? this.state.get(ns) : undefined
  }

  async start (): Promise<void> {
    const r = prefixRange(prefixFor('namespaces'))
    const res = await this.store.list(r.start, { end: r.end })
    for (const kv of res.kvs) this.set(kv)
    this.ready = true
    this.store.watch(r.start, {
      end: r.end,
      fromRevision: res.revision + 1,
      signal: this.ac.signal,
      onEvents: (evs) => {
        for (const ev of evs) {
          if (ev.type === 'put') this.set(ev.kv)
          else this.state.delete(ev.kv.key.slice(r.start.length))
        }
      }
    }).catch(() => { this.ready = false; this.state.clear() })
  }

  stop (): void { this.ac.abort(); this.ready = false }

  private set (kv: KeyValue): void {
    this.state.set(kv.key.slice(prefixFor('namespaces').length), meta(decodeKv(kv)).deletionTimestamp !== undefined)
  }
}

export class Registry {
  readonly store: Store
  readonly allocator: Allocator
  readonly namespaces: NamespaceCache
  private readonly eventTtl: number
  private readonly now: () => Date

  constructor (opts: RegistryOptions) {
    this.store = opts.store
    this.allocator = opts.allocator
    this.namespaces = new NamespaceCache(opts.store)
    this.eventTtl = opts.eventTtlSeconds ?? 3600
    this.now = opts.now ?? (() => new Date())
  }

  key (info: ResourceInfo, ns: string | undefined, name: string): string {
    try { return keyFor(info.plural, info.namespaced ? ns : undefined, name) } catch (e) { throw storeToApi(e, info, name) }
  }

  async get (info: ResourceInfo, ns: string | undefined, name: string, resourceVersion?: string): Promise<Obj> {
    const rev = resourceVersion === '0' ? undefined : parseRv(resourceVersion, 'get')
    let kv: KeyValue | undefined
    try {
      kv = await this.store.get(this.key(info, ns, name), rev !== undefined ? { revision: rev } : undefined)
    } catch (e) { throw storeToApi(e, info, name) }
    if (kv === undefined) throw notFound(info.plural, info.group, name)
    return decodeKv(kv)
  }

  async list (info: ResourceInfo, ns: string | undefined, opts: ListOptions = {}, asText = false): Promise<ListResult> {
    const prefix = prefixFor(info.plural, info.namespaced ? ns : undefined)
    const range = prefixRange(prefix)
    let start = range.start
    let revision: number | undefined
    if (opts.continue !== undefined && opts.continue !== '') {
      if (opts.resourceVersion !== undefined && opts.resourceVersion !== '' && opts.resourceVersion !== '0') {
        throw badRequest('specifying resource version is not allowed when using continue')
      }
      const tok = decodeContinue(opts.continue)
      start = prefix + tok.start
      revision = tok.rv
    } else if (opts.resourceVersionMatch === 'Exact') {
      revision = parseRv(opts.resourceVersion, 'list')
      if (revision === undefined) throw badRequest('resourceVersionMatch "Exact" requires a resourceVersion')
    } else if (opts.resourceVersion !== undefined && opts.resourceVersion !== '' && opts.resourceVersion !== '0') {
      // NotOlderThan (the default for an explicit RV): the current state is never older.
      const want = parseRv(opts.resourceVersion, 'list') as number
      const cur = await this.store.revision()
      if (want > cur) throw new ApiError('CTRL_ERR_API_SERVICE_UNAVAILABLE', `Too large resource version: ${want}, current: ${cur}`, { retryAfterSeconds: 1 })
    }
    // A field selector pinning metadata.name reads one key.
    const pinnedName = opts.fieldSelector !== undefined ? pinnedField(opts.fieldSelector, 'metadata.name') : undefined
    const limit = opts.limit !== undefined && opts.limit > 0 ? opts.limit : 0
    const filtering = opts.labelSelector !== undefined || opts.fieldSelector !== undefined
    const items: Obj[] = []
    /** With asText: the items as JSON bytes (no parse at all for unfiltered lists). */
    const chunks: Uint8Array[][] = []
    const take = (kv: KeyValue): boolean => {
      if (asText && !filtering) { chunks.push(kvJsonChunks(kv)); return true }
      const o = decodeKv(kv)
      if (filtering && !this.matches(info, o, opts)) return false
      if (asText) chunks.push([Buffer.from(JSON.stringify(o))])
      else items.push(o)
      return true
    }
    const taken = (): number => asText ? chunks.length : items.length
    let listRev = 0
    let more = false
    let nextKey = ''
    let remaining: number | undefined
    try {
      if (pinnedName !== undefined && (!info.namespaced || (ns ?? '') !== '')) {
        const kv = await this.store.get(prefix + pinnedName, revision !== undefined ? { revision } : undefined)
        listRev = revision ?? await this.store.revision()
        if (kv !== undefined) take(kv)
      } else {
        // Page through the store until `limit` matching items (kube doubles its page while a selector filters).
        let page = limit > 0 ? limit : 0
        for (;;) {
          const res = await this.store.list(start, { end: range.end, ...(revision !== undefined ? { revision } : {}), ...(page > 0 ? { limit: page } : {}) })
          listRev = res.revision
          revision ??= res.revision
          let i = 0
          for (; i < res.kvs.length; i++) {
            if (!take(res.kvs[i] as KeyValue)) continue
            if (limit > 0 && taken() === limit) { i++; break }
          }
          const lastSeen = res.kvs[i - 1]
          const leftInPage = i < res.kvs.length
          if (limit > 0 && taken() === limit && (leftInPage || res.more)) {
            more = true
            nextKey = (lastSeen as KeyValue).key.slice(prefix.length) + '\x00'
            if (!filtering) remaining = res.count - i
            break
          }
          if (!res.more || res.kvs.length === 0) break
          start = (res.kvs[res.kvs.length - 1] as KeyValue).key + '\x00'
          page = Math.min(Math.max(page * 2, 1), 10000)
        }
      }
    } catch (e) {
      if (e instanceof StoreError && e.code === 'CTRL_ERR_STORE_COMPACTED' && opts.continue !== undefined && opts.continue !== '') {
        throw new ApiError('CTRL_ERR_API_EXPIRED', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.')
      }
      throw storeToApi(e, info, '')
    }
    const out: ListResult = { items, resourceVersion: String(revision ?? listRev) }
    if (asText) out.chunks = chunks
    if (more) {
      out.continue = encodeContinue(revision ?? listRev, nextKey)
      if (remaining !== undefined && remaining > 0) out.remainingItemCount = remaining
    }
    return out
  }

  /** Exact count of remaining items is cheap only without selectors; computed by the caller when needed. */
  matches (info: ResourceInfo, o: Obj, opts: { labelSelector?: LabelSelector, fieldSelector?: FieldSelector }): boolean {
    if (opts.labelSelector !== undefined && !matchesLabels(opts.labelSelector, meta(o).labels as Record<string, string> | undefined)) return false
    if (opts.fieldSelector !== undefined && !matchesFields(opts.fieldSelector, selectableFields(info, o))) return false
    return true
  }

  /** Checks kind/apiVersion of a body against the resource of the URL. */
  checkKind (info: ResourceInfo, body: Obj): void {
    const want = apiVersionOf(info)
    if (body.apiVersion !== undefined && body.apiVersion !== want) {
      throw badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${want})`)
    }
    if (body.kind !== undefined && body.kind !== info.kind) {
      throw badRequest(`${info.kind} in version "${info.version}" cannot be handled as a ${String(body.kind)}: the object kind does not match`)
    }
    body.apiVersion = want
    body.kind = info.kind
  }

  async create (info: ResourceInfo, ns: string | undefined, body: Obj, opts: WriteOptions = {}): Promise<Obj> {
    if (!isObj(body)) throw badRequest('the body of a create must be a JSON or YAML object')
    this.checkKind(info, body)
    const m = meta(body)
    if (info.namespaced) {
      if (m.namespace !== undefined && m.namespace !== '' && ns !== undefined && m.namespace !== ns) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request')
      }
      m.namespace = ns ?? m.namespace
      await this.checkNamespace(m.namespace as string | undefined)
    } else {
      delete m.namespace
    }
    const generated = (m.name === undefined || m.name === '') && typeof m.generateName === 'string' && m.generateName !== ''
    if (generated) m.name = (m.generateName as string).slice(0, 58) + generateSuffix()
    for (const k of ['uid', 'resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds']) delete m[k]
    m.uid = randomUUID()
    m.creationTimestamp = nowRfc3339(this.now())
    m.generation = 1
    applyDefaults(info, body)
    prepareForCreate(info, body)
    const errs = validateObject(info, body)
    if (errs.length > 0) throw invalid(info.kind, info.group, String(m.name ?? ''), errs)
    const name = m.name as string
    const key = this.key(info, m.namespace as string | undefined, name)
    const release = info.kind === 'Service' && opts.dryRun !== true ? await this.allocateService(body, undefined) : async () => {}
    if (opts.dryRun === true) return body
    try {
      const kv = await this.store.create(key, encode(body), info.kind === 'Event' ? { ttlSeconds: this.eventTtl } : undefined)
      m.resourceVersion = String(kv.modRevision)
      return body
    } catch (e) {
      await release()
      throw storeToApi(e, info, name)
    }
  }

  /**
   * GuaranteedUpdate: read, mutate, compare-and-swap on the read revision,
   * retry on conflict. A mutator that returns an unchanged object writes
   * nothing. `precondition` is the resourceVersion the client demanded.
   */
  async guaranteedUpdate (info: ResourceInfo, ns: string | undefined, name: string, mutate: Mutator,
    opts: WriteOptions & { precondition?: string, subresource?: string } = {}): Promise<Obj> {
    const key = this.key(info, ns, name)
    for (let attempt = 0; ; attempt++) {
      let kv: KeyValue | undefined
      try { kv = await this.store.get(key) } catch (e) { throw storeToApi(e, info, name) }
      if (kv === undefined) throw notFound(info.plural, info.group, name)
      const current = decodeKv(kv)
      if (opts.precondition !== undefined && opts.precondition !== '' && opts.precondition !== String(kv.modRevision)) {
        throw conflict(info.plural, info.group, name)
      }
      const currentText = utf8.decode(kv.value)
      const next = await this.finishUpdate(info, await mutate(structuredClone(current)), current, opts.subresource)
      if (next === DELETE) {
        if (opts.dryRun === true) return current
        try {
          const gone = await this.store.delete(key, kv.modRevision)
          await this.afterDelete(info, decodeKv(gone))
          return decodeKv(gone)
        } catch (e) {
          if (e instanceof StoreError && e.code === 'CTRL_ERR_STORE_CONFLICT' && attempt < 20) continue
          throw storeToApi(e, info, name)
        }
      }
      const bytes = encode(next)
      if (utf8.decode(bytes) === currentText) return current
      if (opts.dryRun === true) return next
      try {
        const written = await this.store.update(key, bytes, kv.modRevision, info.kind === 'Event' ? { ttlSeconds: this.eventTtl } : undefined)
        meta(next).resourceVersion = String(written.modRevision)
        return next
      } catch (e) {
        if (e instanceof StoreError && e.code === 'CTRL_ERR_STORE_CONFLICT' && (opts.precondition === undefined || opts.precondition === '') && attempt < 20) continue
        if (e instanceof StoreError && e.code === 'CTRL_ERR_STORE_CONFLICT') throw conflict(info.plural, info.group, name)
        throw storeToApi(e, info, name)
      }
    }
  }

  /** Strategy, validation, generation and finalizer handling of an update; DELETE when the update finishes a deletion. */
  private async finishUpdate (info: ResourceInfo, next: Obj, current: Obj, subresource: string | undefined): Promise<Obj | typeof DELETE> {
    if (!isObj(next)) throw badRequest('the result is not an object')
    this.checkKind(info, next)
    const nm = meta(next)
    const cm = meta(current)
    if (nm.name !== undefined && nm.name !== cm.name) {
      throw badRequest(`the name of the object (${String(nm.name)}) does not match the name on the URL (${String(cm.name)})`)
    }
    if (info.namespaced && nm.namespace !== undefined && nm.namespace !== '' && nm.namespace !== cm.namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request')
    }
    if (nm.uid !== undefined && nm.uid !== '' && nm.uid !== cm.uid) {
      throw conflict(info.plural, info.group, String(cm.name), `Precondition failed: UID in precondition: ${String(nm.uid)}, UID in object meta: ${String(cm.uid)}`)
    }
    let out: Obj
    if (subresource === 'status') {
      out = prepareForStatusUpdate(info, next, current)
    } else if (subresource === 'binding-internal') {
      // pods/binding: the one writer of spec.nodeName, around the pod update rules.
      out = next
    } else if (subresource === 'finalize') {
      // Namespaces' /finalize: only spec.finalizers changes.
      out = structuredClone(current)
      out.spec = { ...(current.spec as Obj | undefined), finalizers: (next.spec as Obj | undefined)?.finalizers ?? [] }
    } else {
      applyDefaults(info, next)
      const errs = prepareForUpdate(info, next, current)
      if (errs.length > 0) throw invalid(info.kind, info.group, String(cm.name), errs)
      out = next
      if (specChanged(current, out)) meta(out).generation = Number(cm.generation ?? 1) + 1
    }
    const errs = validateObject(info, out)
    if (errs.length > 0) throw invalid(info.kind, info.group, String(cm.name), errs)
    if (info.kind === 'Service' && subresource !== 'status') await this.reallocateService(out, current)
    const om = meta(out)
    const finalizers = Array.isArray(om.finalizers) ? om.finalizers : []
    if (finalizers.length === 0) delete om.finalizers
    if (om.deletionTimestamp !== undefined && finalizers.length === 0 && Number(om.deletionGracePeriodSeconds ?? 0) === 0 && !(info.kind === 'Namespace' && hasSpecFinalizers(out))) {
      return DELETE
    }
    return out
  }

  /** PUT: replace the object (or its status); a missing object is created only where upstream allows it (not here). */
  async update (info: ResourceInfo, ns: string | undefined, name: string, body: Obj, opts: WriteOptions & { subresource?: string } = {}): Promise<Obj> {
    if (!isObj(body)) throw badRequest('the body of an update must be a JSON or YAML object')
    const rv = meta(body).resourceVersion
    const precondition = typeof rv === 'string' ? rv : undefined
    return await this.guaranteedUpdate(info, ns, name, () => structuredClone(body), { ...opts, ...(precondition !== undefined ? { precondition } : {}) })
  }

  async delete (info: ResourceInfo, ns: string | undefined, name: string, opts: DeleteOptions = {}): Promise<{ obj: Obj, deleted: boolean }> {
    const key = this.key(info, ns, name)
    for (let attempt = 0; ; attempt++) {
      let kv: KeyValue | undefined
      try { kv = await this.store.get(key) } catch (e) { throw storeToApi(e, info, name) }
      if (kv === undefined) throw notFound(info.plural, info.group, name)
      const cur = decodeKv(kv)
      const m = meta(cur)
      if (opts.preconditions?.uid !== undefined && opts.preconditions.uid !== m.uid) {
        throw conflict(info.plural, info.group, name, `Precondition failed: UID in precondition: ${opts.preconditions.uid}, UID in object meta: ${String(m.uid)}`)
      }
      if (opts.preconditions?.resourceVersion !== undefined && opts.preconditions.resourceVersion !== m.resourceVersion) {
        throw conflict(info.plural, info.group, name, `Precondition failed: ResourceVersion in precondition: ${opts.preconditions.resourceVersion}, ResourceVersion in object meta: ${String(m.resourceVersion)}`)
      }
      const plan = this.deletionPlan(info, cur, opts)
      if (opts.dryRun === true) return { obj: cur, deleted: plan === 'now' }
      try {
        if (plan === 'now') {
          const gone = await this.store.delete(key, kv.modRevision)
          const obj = decodeKv(gone)
          await this.afterDelete(info, obj)
          return { obj, deleted: true }
        }
        const updated = await this.store.update(key, encode(plan), kv.modRevision)
        return { obj: decodeKv(updated), deleted: false }
      } catch (e) {
        if (e instanceof StoreError && (e.code === 'CTRL_ERR_STORE_CONFLICT' || e.code === 'CTRL_ERR_STORE_NOT_FOUND') && attempt < 20) continue
        throw storeToApi(e, info, name)
      }
    }
  }

  /** 'now', or the object marked for deletion (finalizers pending or a graceful pod). */
  private deletionPlan (info: ResourceInfo, cur: Obj, opts: DeleteOptions): 'now' | Obj {
    const next = structuredClone(cur)
    const m = meta(next)
    const finalizers = Array.isArray(m.finalizers) ? [...m.finalizers as string[]] : []
    if (opts.propagationPolicy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion')
    if (opts.propagationPolicy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan')
    let grace = 0
    if (info.kind === 'Pod') {
      const spec = (next.spec ?? {}) as Obj
      const phase = (next.status as Obj | undefined)?.phase
      grace = opts.gracePeriodSeconds ?? Number(spec.terminationGracePeriodSeconds ?? 30)
      if (spec.nodeName === undefined || spec.nodeName === '' || phase === 'Succeeded' || phase === 'Failed') grace = 0
      if (grace < 0) grace = 1
      // Already terminating with a shorter grace: keep the shorter one.
      const had = m.deletionGracePeriodSeconds
      if (typeof had === 'number' && had < grace) grace = had
    }
    const namespaceFinalizing = info.kind === 'Namespace' && hasSpecFinalizers(next)
    if (finalizers.length === 0 && grace === 0 && !namespaceFinalizing) return 'now'
    if (finalizers.length > 0) m.finalizers = finalizers
    const now = this.now()
    if (m.deletionTimestamp === undefined || grace < Number(m.deletionGracePeriodSeconds ?? Infinity)) {
      m.deletionTimestamp = nowRfc3339(new Date(now.getTime() + grace * 1000))
      m.deletionGracePeriodSeconds = grace
    }
    if (info.kind === 'Namespace') next.status = { ...(next.status as Obj | undefined), phase: 'Terminating' }
    return next
  }

  private async afterDelete (info: ResourceInfo, obj: Obj): Promise<void> {
    if (info.kind === 'Service') await this.releaseService(obj)
  }

  async deleteCollection (info: ResourceInfo, ns: string | undefined, listOpts: ListOptions, opts: DeleteOptions): Promise<Obj[]> {
    const { items } = await this.list(info, ns, { ...listOpts, limit: 0 })
    const out: Obj[] = []
    for (const o of items) {
      const m = meta(o)
      try { out.push((await this.delete(info, m.namespace as string | undefined, m.name as string, opts)).obj) } catch (e) {
        if (!(e instanceof ApiError && e.code === 'CTRL_ERR_API_NOT_FOUND')) throw e
      }
    }
    return out
  }

  /** NamespaceLifecycle admission: creating in a missing or terminating namespace fails. */
  async checkNamespace (ns: string | undefined): Promise<void> {
    if (ns === undefined || ns === '') throw badRequest('a namespace is required for this resource')
    // From the watched cache (as kube's admission uses an informer); a miss reads the store.
    let terminating = this.namespaces.terminating(ns)
    if (terminating === undefined) {
      let kv: KeyValue | undefined
      try { kv = await this.store.get(keyFor('namespaces', undefined, ns)) } catch (e) { throw storeToApi(e, NAMESPACES, ns) }
      if (kv === undefined) throw notFound('namespaces', '', ns)
      terminating = meta(decodeKv(kv)).deletionTimestamp !== undefined
    }
    if (terminating) {
      throw new ApiError('CTRL_ERR_API_FORBIDDEN', `unable to create new content in namespace ${ns} because it is being terminated`, { name: ns, kind: 'namespaces' })
    }
  }

  // ------------------------------------------------------------ services

  private owner (svc: Obj): string { return `${String(meta(svc).namespace)}/${String(meta(svc).name)}` }

  /** Allocates ClusterIP(s) and node ports of a new Service; returns how to undo it. */
  private async allocateService (svc: Obj, old: Obj | undefined): Promise<() => Promise<void>> {
    const owner = this.owner(svc)
    const spec = svc.spec as Obj
    const name = String(meta(svc).name)
    const claimedIPs: string[] = []
    const claimedPorts: number[] = []
    const undo = async (): Promise<void> => {
      for (const a of claimedIPs) await this.allocator.releaseIP(a, owner)
      for (const p of claimedPorts) await this.allocator.releasePort(p, owner)
    }
    try {
      const oldSpec = (old?.spec ?? {}) as Obj
      if (spec.type !== 'ExternalName' && spec.clusterIP !== 'None') {
        const families = this.familiesFor(spec)
        const given = Array.isArray(spec.clusterIPs) && spec.clusterIPs.length > 0 ? spec.clusterIPs as string[] : (typeof spec.clusterIP === 'string' && spec.clusterIP !== '' ? [spec.clusterIP] : [])
        const ips: string[] = []
        for (let i = 0; i < families.length; i++) {
          const want = given[i]
          const had = (oldSpec.clusterIPs as string[] | undefined)?.[i]
          if (want !== undefined && want !== '' && want === had) { ips.push(want); continue }
          if (want !== undefined && want !== '') {
            ips.push(await this.allocator.claimIP(want, owner, `spec.clusterIPs[${i}]`, name))
          } else {
            ips.push(await this.allocator.allocateIP(families[i] as 4 | 6, owner))
          }
          claimedIPs.push(ips[ips.length - 1] as string)
        }
        spec.clusterIP = ips[0]
        spec.clusterIPs = ips
        spec.ipFamilies = families.map((f) => `IPv${f}`)
        spec.ipFamilyPolicy ??= families.length > 1 ? 'PreferDualStack' : 'SingleStack'
      } else if (spec.clusterIP === 'None') {
        spec.clusterIPs = ['None']
        spec.ipFamilies ??= this.familiesFor(spec).map((f) => `IPv${f}`)
        spec.ipFamilyPolicy ??= 'SingleStack'
      }
      const needsNodePorts = spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false)
      if (needsNodePorts && Array.isArray(spec.ports)) {
        const oldPorts = new Set(((oldSpec.ports ?? []) as Obj[]).map((p) => p.nodePort).filter((p) => typeof p === 'number'))
        const used = new Map<number, string>()
        for (const [i, p] of (spec.ports as Obj[]).entries()) {
          const want = typeof p.nodePort === 'number' && p.nodePort !== 0 ? p.nodePort : undefined
          const proto = String(p.protocol ?? 'TCP')
          if (want !== undefined && used.has(want) && used.get(want) === proto) {
            throw invalid('Service', '', name, [{ type: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify({ nodePort: want, protocol: proto })}`, field: `spec.ports[${i}].nodePort` }])
          }
          if (want !== undefined && (oldPorts.has(want) || used.has(want))) { used.set(want, proto); continue }
          if (want !== undefined) { await this.allocator.claimPort(want, owner, `spec.ports[${i}].nodePort`, name); claimedPorts.push(want); used.set(want, proto); continue }
          const got = await this.allocator.allocatePort(owner)
          claimedPorts.push(got)
          p.nodePort = got
          used.set(got, proto)
        }
      }
      if (needsNodePorts && spec.externalTrafficPolicy === 'Local' && (spec.healthCheckNodePort === undefined || spec.healthCheckNodePort === 0) && spec.type === 'LoadBalancer') {
        const got = await this.allocator.allocatePort(owner)
        claimedPorts.push(got)
        spec.healthCheckNodePort = got
      }
    } catch (e) {
      await undo()
      throw e
    }
    return undo
  }

  private familiesFor (spec: Obj): Array<4 | 6> {
    const wanted = Array.isArray(spec.ipFamilies) ? (spec.ipFamilies as string[]).map((f) => f === 'IPv6' ? 6 : 4) as Array<4 | 6> : []
    const configured = this.allocator.ranges.map((r) => r.cidr.family as 4 | 6)
    const given = Array.isArray(spec.clusterIPs) ? spec.clusterIPs as string[] : typeof spec.clusterIP === 'string' && spec.clusterIP !== '' && spec.clusterIP !== 'None' ? [spec.clusterIP] : []
    if (wanted.length === 0 && given.length > 0) for (const g of given) wanted.push(g.includes(':') ? 6 : 4)
    const policy = spec.ipFamilyPolicy
    if (wanted.length === 0) wanted.push(configured[0] as 4 | 6)
    if ((policy === 'PreferDualStack' || policy === 'RequireDualStack') && wanted.length === 1) {
      const other = configured.find((f) => f !== wanted[0])
      if (other !== undefined) wanted.push(other)
      else if (policy === 'RequireDualStack') throw invalid('Service', '', String(spec.name ?? ''), [{ type: 'FieldValueInvalid', message: 'Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services', field: 'spec.ipFamilyPolicy' }])
    }
    for (const f of wanted) {
      if (!configured.includes(f)) throw invalid('Service', '', '', [{ type: 'FieldValueInvalid', message: `Invalid value: "IPv${f}": not configured on this cluster`, field: 'spec.ipFamilies' }])
    }
    return wanted
  }

  private async reallocateService (next: Obj, old: Obj): Promise<void> {
    const before = this.claimsOf(old)
    await this.allocateService(next, old)
    const after = this.claimsOf(next)
    const owner = this.owner(old)
    for (const a of before.ips) if (!after.ips.includes(a)) await this.allocator.releaseIP(a, owner)
    for (const p of before.ports) if (!after.ports.includes(p)) await this.allocator.releasePort(p, owner)
  }

  private claimsOf (svc: Obj): { ips: string[], ports: number[] } {
    const spec = (svc.spec ?? {}) as Obj
    const ips = (Array.isArray(spec.clusterIPs) ? spec.clusterIPs as string[] : []).filter((a) => a !== 'None' && a !== '')
    const ports = ((spec.ports ?? []) as Obj[]).map((p) => p.nodePort).filter((p): p is number => typeof p === 'number' && p > 0)
    if (typeof spec.healthCheckNodePort === 'number' && spec.healthCheckNodePort > 0) ports.push(spec.healthCheckNodePort)
    return { ips, ports }
  }

  private async releaseService (svc: Obj): Promise<void> {
    const { ips, ports } = this.claimsOf(svc)
    const owner = this.owner(svc)
    for (const a of ips) await this.allocator.releaseIP(a, owner)
    for (const p of ports) await this.allocator.releasePort(p, owner)
  }

  /** Releases allocations no Service holds (run at start). */
  async repairAllocations (): Promise<string[]> {
    const held = new Map<string, string>()
    const { items } = await this.list(SERVICES, undefined)
    for (const s of items) {
      const { ips, ports } = this.claimsOf(s)
      const owner = this.owner(s)
      for (const a of ips) held.set(`/registry/weft/ranges/serviceips/${a}`, owner)
      for (const p of ports) held.set(`/registry/weft/ranges/servicenodeports/${p}`, owner)
    }
    return await this.allocator.repair(held)
  }
}

const DELETE = Symbol('delete')
const NAMESPACES = RESOURCES.find((r) => r.plural === 'namespaces') as ResourceInfo
const SERVICES = RESOURCES.find((r) => r.plural === 'services') as ResourceInfo

function hasSpecFinalizers (ns: Obj): boolean {
  const f = (ns.spec as Obj | undefined)?.finalizers
  return Array.isArray(f) && f.length > 0
}

export { nowRfc3339 }
