/**
 * The change tracker (STYLE.md convention 9, after kube-proxy's
 * ServiceChangeTracker and EndpointSliceCache): it holds the last applied
 * Service and EndpointSlice objects plus, per object, the pending
 * `{ previous, current }` pair of changes not yet taken by a sync. A change
 * that ends where it started (added then deleted, modified and modified back)
 * is dropped, so a sync after it does nothing. Pure: no clock, no I/O.
 */
import { ProxyError } from './errors.js'
import { LAST_CHANGE_TRIGGER_TIME, SERVICE_NAME_LABEL } from './types.js'
import type { EndpointSlice, ProxyEvent, Service } from './types.js'

interface Pending<T> { previous: T | undefined, current: T | undefined }

/** JSON with sorted keys: a stable text for comparing what the proxy reads of an object. */
export function stableJson (v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(',')}}`
  }
  return JSON.stringify(v) ?? 'null'
}

/** What the proxy reads of a Service: a change elsewhere (labels, resourceVersion, managedFields) is a no-op. */
function serviceView (s: Service | undefined): string {
  if (s === undefined) return ''
  return stableJson({ ns: s.metadata.namespace ?? 'default', name: s.metadata.name, spec: s.spec, lb: s.status?.loadBalancer })
}

function sliceView (s: EndpointSlice | undefined): string {
  if (s === undefined) return ''
  return stableJson({
    ns: s.metadata.namespace ?? 'default',
    name: s.metadata.name,
    svc: s.metadata.labels?.[SERVICE_NAME_LABEL],
    addressType: s.addressType,
    endpoints: s.endpoints,
    ports: s.ports
  })
}

export function objectKey (o: { metadata: { namespace?: string, name: string } }): string {
  return `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`
}

/** The `ns/name` of the Service an EndpointSlice belongs to; undefined without the label. */
export function sliceServiceKey (s: EndpointSlice): string | undefined {
  const svc = s.metadata.labels?.[SERVICE_NAME_LABEL]
  return svc === undefined || svc === '' ? undefined : `${s.metadata.namespace ?? 'default'}/${svc}`
}

export interface Checkout {
  /** `ns/name` of every Service whose Service object or EndpointSlices changed since the last checkout. */
  changed: Set<string>
  /** Changes taken (Service and EndpointSlice objects). */
  serviceChanges: number
  endpointChanges: number
  /** `endpoints.kubernetes.io/last-change-trigger-time` of the changed EndpointSlices (ms since the epoch), for network programming latency. */
  triggerTimes: number[]
}

export class ChangeTracker {
  readonly #services = new Map<string, Service>()
  readonly #slices = new Map<string, EndpointSlice>()
  /** service key → slice keys */
  readonly #slicesByService = new Map<string, Set<string>>()
  readonly #pendingServices = new Map<string, Pending<Service>>()
  readonly #pendingSlices = new Map<string, Pending<EndpointSlice>>()
  #servicesSynced = false
  #slicesSynced = false

  /** Both initial listings have arrived. */
  get synced (): boolean { return this.#servicesSynced && this.#slicesSynced }

  /** Pending (not yet checked out) object changes, net no-ops excluded. */
  get pending (): { services: number, endpointSlices: number } {
    return { services: this.#pendingServices.size, endpointSlices: this.#pendingSlices.size }
  }

  /**
   * Records one event. Returns true when it leaves something to sync (a
   * pending change, or the moment both kinds become synced).
   */
  event (e: ProxyEvent): boolean {
    if (e.type === 'SYNCED') {
      const was = this.synced
      if (e.kind === 'Service') this.#servicesSynced = true
      else this.#slicesSynced = true
      return this.synced && !was
    }
    if (e.object?.metadata?.name === undefined) throw new ProxyError('PROXY_ERR_OBJECT', `${e.kind} event without metadata.name`)
    const current = e.type === 'DELETED' ? undefined : e.object
    if (e.kind === 'Service') {
      if (current !== undefined && (current as Service).spec === undefined) throw new ProxyError('PROXY_ERR_OBJECT', `Service ${objectKey(e.object)} has no spec`)
      return this.#record(this.#pendingServices, this.#services, objectKey(e.object), current as Service | undefined, serviceView)
    }
    return this.#record(this.#pendingSlices, this.#slices, objectKey(e.object), current as EndpointSlice | undefined, sliceView)
  }

  #record<T> (pending: Map<string, Pending<T>>, applied: Map<string, T>, key: string, current: T | undefined, view: (v: T | undefined) => string): boolean {
    const p = pending.get(key)
    const previous = p !== undefined ? p.previous : applied.get(key)
    if (view(previous) === view(current)) {
      pending.delete(key)
      return false
    }
    pending.set(key, { previous, current })
    return true
  }

  /** Applies the pending changes and reports which Services they touched. */
  checkout (): Checkout {
    const changed = new Set<string>()
    const serviceChanges = this.#pendingServices.size
    const endpointChanges = this.#pendingSlices.size
    const triggerTimes: number[] = []
    for (const [key, p] of this.#pendingServices) {
      changed.add(key)
      if (p.current === undefined) this.#services.delete(key)
      else this.#services.set(key, p.current)
    }
    for (const [key, p] of this.#pendingSlices) {
      const trig = p.current?.metadata.annotations?.[LAST_CHANGE_TRIGGER_TIME]
      const ms = trig === undefined ? NaN : Date.parse(trig)
      if (Number.isFinite(ms)) triggerTimes.push(ms)
      for (const s of [p.previous, p.current]) {
        const svc = s === undefined ? undefined : sliceServiceKey(s)
        if (svc !== undefined) changed.add(svc)
      }
      const old = p.previous === undefined ? undefined : sliceServiceKey(p.previous)
      if (old !== undefined) this.#slicesByService.get(old)?.delete(key)
      if (p.current === undefined) { this.#slices.delete(key); continue }
      this.#slices.set(key, p.current)
      const svc = sliceServiceKey(p.current)
      if (svc === undefined) continue
      let set = this.#slicesByService.get(svc)
      if (set === undefined) { set = new Set(); this.#slicesByService.set(svc, set) }
      set.add(key)
    }
    this.#pendingServices.clear()
    this.#pendingSlices.clear()
    return { changed, serviceChanges, endpointChanges, triggerTimes }
  }

  /** Applied Services by `ns/name`. */
  services (): ReadonlyMap<string, Service> { return this.#services }

  service (key: string): Service | undefined { return this.#services.get(key) }

  /** Applied EndpointSlices of a Service, by slice name order. */
  slicesOf (serviceKey: string): EndpointSlice[] {
    const set = this.#slicesByService.get(serviceKey)
    const out: EndpointSlice[] = []
    if (set === undefined) return out
    // Most services have one slice: no spread, sort or intermediate arrays for it (a full sync calls this per service).
    const keys = set.size > 1 ? [...set].sort() : set
    for (const k of keys) {
      const s = this.#slices.get(k)
      if (s !== undefined) out.push(s)
    }
    return out
  }
}
