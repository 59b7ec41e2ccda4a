/**
 * EndpointSlice controller (`staging/src/k8s.io/endpointslice`) and the legacy
 * Endpoints controller. For every Service with a selector: the ready, serving
 * and terminating pods it selects, their resolved target ports, packed into
 * at most maxEndpointsPerSlice endpoints per slice, changing slices in place
 * and filling the fullest before creating new ones (reference §5).
 */
import { KubeApiError } from '../client/index.js'
import type { Obj } from '../client/index.js'
import { QueueController } from './controller.js'
import type { ControllerContext } from './controller.js'
import type { SharedInformer } from './informers.js'
import { canonical, isDeleting, isObj, isPodReady, keyOf, labelsOf, meta, nameOf, nsOf, rfc3339, spec, status, uidOf } from './util.js'

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name'
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by'
export const MANAGED_BY = 'endpointslice-controller.k8s.io'
export const HEADLESS_LABEL = 'service.kubernetes.io/headless'
export const TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time'

export type AddressType = 'IPv4' | 'IPv6'
export interface EndpointPort { name: string, port: number, protocol: string, appProtocol?: string }
export interface Endpoint {
  addresses: string[]
  conditions: { ready: boolean, serving: boolean, terminating: boolean }
  targetRef: { kind: 'Pod', namespace: string, name: string, uid: string }
  nodeName?: string
}
export interface EndpointGroup { ports: EndpointPort[], endpoints: Endpoint[] }

const familyOf = (ip: string): AddressType => (ip.includes(':') ? 'IPv6' : 'IPv4')

export function podIps (pod: Obj): string[] {
  const st = status(pod)
  const list = Array.isArray(st.podIPs) ? st.podIPs.filter(isObj).map((p) => String(p.ip ?? '')).filter((s) => s !== '') : []
  if (list.length > 0) return list
  return typeof st.podIP === 'string' && st.podIP !== '' ? [st.podIP] : []
}

export function serviceSelector (svc: Obj): Record<string, string> | undefined {
  const sel = spec(svc).selector
  return isObj(sel) && Object.keys(sel).length > 0 ? sel as Record<string, string> : undefined
}

export function selects (svc: Obj, pod: Obj): boolean {
  const sel = serviceSelector(svc)
  if (sel === undefined || nsOf(svc) !== nsOf(pod)) return false
  const l = labelsOf(pod)
  return Object.entries(sel).every(([k, v]) => l[k] === v)
}

export function serviceFamilies (svc: Obj): AddressType[] {
  const s = spec(svc)
  if (Array.isArray(s.ipFamilies) && s.ipFamilies.length > 0) return s.ipFamilies.map(String).filter((f): f is AddressType => f === 'IPv4' || f === 'IPv6')
  const ip = typeof s.clusterIP === 'string' ? s.clusterIP : ''
  return [ip.includes(':') ? 'IPv6' : 'IPv4']
}

/** getEndpointPorts: one port per service port; a named targetPort is looked up in the pod's containers. */
export function endpointPorts (svc: Obj, pod: Obj): EndpointPort[] {
  const out: EndpointPort[] = []
  const ports = Array.isArray(spec(svc).ports) ? spec(svc).ports as unknown[] : []
  for (const sp of ports.filter(isObj)) {
    const protocol = String(sp.protocol ?? 'TCP')
    const tp = sp.targetPort ?? sp.port
    let port: number | undefined
    if (typeof tp === 'number' || /^\d+$/.test(String(tp))) port = Number(tp)
    else {
      for (const list of ['initContainers', 'containers']) {
        const cs = Array.isArray(spec(pod)[list]) ? spec(pod)[list] as unknown[] : []
        for (const c of cs.filter(isObj)) {
          const cps = Array.isArray(c.ports) ? c.ports.filter(isObj) : []
          const hit = cps.find((cp) => cp.name === tp && String(cp.protocol ?? 'TCP') === protocol)
          if (hit !== undefined && port === undefined) port = Number(hit.containerPort)
        }
      }
    }
    if (port === undefined || !Number.isInteger(port)) continue
    out.push({ name: String(sp.name ?? ''), port, protocol, ...(typeof sp.appProtocol === 'string' ? { appProtocol: sp.appProtocol } : {}) })
  }
  return out
}

/** The endpoints a Service wants, for one address family, grouped by their resolved port list. */
export function desiredEndpoints (svc: Obj, pods: Obj[], family: AddressType): Map<string, EndpointGroup> {
  const groups = new Map<string, EndpointGroup>()
  const publishNotReady = spec(svc).publishNotReadyAddresses === true
  for (const pod of pods) {
    if (!selects(svc, pod)) continue
    const phase = status(pod).phase
    if (phase === 'Succeeded' || phase === 'Failed') continue
    const ips = podIps(pod).filter((ip) => familyOf(ip) === family)
    if (ips.length === 0) continue
    const serving = isPodReady(pod)
    const terminating = isDeleting(pod)
    const ep: Endpoint = {
      addresses: ips.slice(0, 1),
      conditions: { ready: publishNotReady || (serving && !terminating), serving, terminating },
      targetRef: { kind: 'Pod', namespace: nsOf(pod), name: nameOf(pod), uid: uidOf(pod) }
    }
    const node = spec(pod).nodeName
    if (typeof node === 'string' && node !== '') ep.nodeName = node
    const ports = endpointPorts(svc, pod)
    const k = canonical(ports)
    let g = groups.get(k)
    if (g === undefined) groups.set(k, g = { ports, endpoints: [] })
    g.endpoints.push(ep)
  }
  for (const g of groups.values()) g.endpoints.sort((a, b) => (a.targetRef.uid < b.targetRef.uid ? -1 : a.targetRef.uid > b.targetRef.uid ? 1 : 0))
  return groups
}

export interface SliceView { name: string, ports: EndpointPort[], endpoints: Endpoint[] }
export interface SlicePlan {
  create: EndpointGroup[]
  update: Array<{ name: string, ports: EndpointPort[], endpoints: Endpoint[] }>
  delete: string[]
}

const epKey = (e: Endpoint): string => e.targetRef.uid !== '' ? e.targetRef.uid : (e.addresses[0] ?? '')

/**
 * reconcileByPortMapping, one address family: keep every endpoint where it
 * is, rewrite the ones that changed in place, drop the gone ones; add new
 * ones to slices being rewritten anyway, then to the fullest untouched slice
 * they all fit in, then to new slices. Slices left empty are deleted, except
 * that a Service without endpoints keeps one empty placeholder slice.
 */
export function planSlices (existing: SliceView[], desired: Map<string, EndpointGroup>, max: number): SlicePlan {
  const plan: SlicePlan = { create: [], update: [], delete: [] }
  let kept = 0
  const byPorts = new Map<string, SliceView[]>()
  for (const s of existing) {
    const k = canonical(s.ports)
    if (!desired.has(k) || s.endpoints.length === 0) { plan.delete.push(s.name); continue }
    let l = byPorts.get(k)
    if (l === undefined) byPorts.set(k, l = [])
    l.push(s)
  }
  for (const [k, group] of desired) {
    const want = new Map(group.endpoints.map((e) => [epKey(e), e]))
    const updated: SliceView[] = []
    const untouched: SliceView[] = []
    for (const s of byPorts.get(k) ?? []) {
      let changed = false
      const eps: Endpoint[] = []
      for (const e of s.endpoints) {
        const w = want.get(epKey(e))
        if (w === undefined) { changed = true; continue }
        want.delete(epKey(e))
        if (canonical(w) !== canonical(e)) changed = true
        if (eps.length < max) eps.push(w); else { changed = true; want.set(epKey(w), w) }
      }
      if (eps.length === 0) plan.delete.push(s.name)
      else if (changed) updated.push({ name: s.name, ports: group.ports, endpoints: eps })
      else untouched.push(s)
    }
    let rest = [...want.values()]
    // 1. Slices being written anyway, fullest first.
    for (const s of [...updated].sort((a, b) => b.endpoints.length - a.endpoints.length)) {
      const room = max - s.endpoints.length
      if (room > 0 && rest.length > 0) { s.endpoints.push(...rest.slice(0, room)); rest = rest.slice(room) }
    }
    // 2. Whole new slices while at least a full one remains.
    while (rest.length >= max) { plan.create.push({ ports: group.ports, endpoints: rest.slice(0, max) }); rest = rest.slice(max) }
    // 3. The remainder into the fullest untouched slice with room for all of it, else a new slice.
    if (rest.length > 0) {
      const fill = untouched.filter((s) => max - s.endpoints.length >= rest.length).sort((a, b) => b.endpoints.length - a.endpoints.length)[0]
      if (fill !== undefined) {
        untouched.splice(untouched.indexOf(fill), 1)
        updated.push({ name: fill.name, ports: group.ports, endpoints: [...fill.endpoints, ...rest] })
      } else plan.create.push({ ports: group.ports, endpoints: rest })
    }
    plan.update.push(...updated)
    kept += untouched.length
  }
  if (kept + plan.update.length + plan.create.length === 0) {
    // Placeholder: reuse an empty port-less slice if one exists.
    const ph = existing.find((s) => s.endpoints.length === 0 && s.ports.length === 0)
    if (ph !== undefined) plan.delete.splice(plan.delete.indexOf(ph.name), 1)
    else plan.create.push({ ports: [], endpoints: [] })
  }
  return plan
}

const sliceRef = (ns: string, name?: string): { group: string, version: string, resource: string, namespace: string, name?: string } =>
  ({ group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', namespace: ns, ...(name !== undefined ? { name } : {}) })

/** Shared by both controllers: services and pods, and the services a pod event concerns. */
abstract class ServiceEndpointsController extends QueueController {
  protected readonly services: SharedInformer
  protected readonly pods: SharedInformer

  constructor (name: string, ctx: ControllerContext, workers: number) {
    super(name, ctx, workers)
    this.services = ctx.hub.shared({ resource: 'services' })
    this.pods = ctx.hub.shared({ resource: 'pods' })
    this.services.addHandlers({
      onAdd: (s) => { this.queue.add(keyOf(s)) },
      onUpdate: (s) => { this.queue.add(keyOf(s)) },
      onDelete: (s) => { this.queue.add(keyOf(s)) }
    })
    const touch = (p: Obj): void => {
      for (const s of this.services.cache.values()) if (selects(s, p)) this.queue.add(keyOf(s))
    }
    this.pods.addHandlers({
      onAdd: touch,
      onUpdate: (p, old) => {
        if (canonical([labelsOf(p), status(p), meta(p).deletionTimestamp, spec(p).nodeName]) === canonical([labelsOf(old), status(old), meta(old).deletionTimestamp, spec(old).nodeName])) return
        touch(p)
        touch(old)
      },
      onDelete: touch
    })
  }

  protected resync (): void {
    for (const k of this.services.cache.keys()) this.queue.add(k)
  }

  protected podsIn (ns: string): Obj[] {
    const out: Obj[] = []
    for (const p of this.pods.cache.values()) if (nsOf(p) === ns) out.push(p)
    return out
  }
}

export class EndpointSliceController extends ServiceEndpointsController {
  readonly #slices: SharedInformer
  readonly #max: number
  /** Writes the cache has not shown yet, per service: slice name → resourceVersion or 'deleted' (upstream's EndpointSliceTracker). */
  readonly #expect = new Map<string, { at: number, slices: Map<string, string> }>()

  constructor (ctx: ControllerContext, opts: { workers?: number, maxEndpointsPerSlice?: number } = {}) {
    super('endpointslice', ctx, opts.workers ?? 5)
    this.#max = opts.maxEndpointsPerSlice ?? 100
    this.#slices = ctx.hub.shared(sliceRef(''), { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}` })
    const seen = (s: Obj, gone: boolean): void => {
      const svc = labelsOf(s)[SERVICE_NAME_LABEL]
      if (svc === undefined) return
      const key = `${nsOf(s)}/${svc}`
      const e = this.#expect.get(key)
      const want = e?.slices.get(nameOf(s))
      if (e !== undefined && want !== undefined && (gone ? want === 'deleted' : want === meta(s).resourceVersion)) {
        e.slices.delete(nameOf(s))
        if (e.slices.size === 0) this.#expect.delete(key)
      }
      this.queue.add(key)
    }
    this.#slices.addHandlers({ onAdd: (s) => { seen(s, false) }, onUpdate: (s) => { seen(s, false) }, onDelete: (s) => { seen(s, true) } })
  }

  protected async sync (key: string): Promise<void> {
    const e = this.#expect.get(key)
    if (e !== undefined) {
      // The cache is behind our own writes: wait for it rather than act on it (10 s at most).
      if (Date.now() - e.at < 10_000) { this.queue.addAfter(key, 50); return }
      this.#expect.delete(key)
    }
    const svc = this.services.get(key)
    if (svc === undefined || isDeleting(svc) || serviceSelector(svc) === undefined || spec(svc).type === 'ExternalName') return
    const ns = nsOf(svc)
    const mine = [...this.#slices.cache.values()].filter((s) => nsOf(s) === ns && labelsOf(s)[SERVICE_NAME_LABEL] === nameOf(svc))
    const pods = this.podsIn(ns)
    const families = serviceFamilies(svc)
    const now = rfc3339(Date.now())
    // Record each write at once, so a sync that fails half-way still waits for what it did write.
    const wrote = (slice: string, rv: string): void => {
      const c = this.#slices.get(`${ns}/${slice}`)
      if ((rv === 'deleted' && c === undefined) || (c !== undefined && meta(c).resourceVersion === rv)) return
      let e = this.#expect.get(key)
      if (e === undefined) this.#expect.set(key, e = { at: Date.now(), slices: new Map() })
      e.at = Date.now()
      e.slices.set(slice, rv)
    }
    for (const s of mine) {
      if (!families.includes(s.addressType as AddressType)) { await this.#delete(ns, nameOf(s)); wrote(nameOf(s), 'deleted') }
    }
    for (const fam of families) {
      const existing = mine.filter((s) => s.addressType === fam)
      const plan = planSlices(existing.map((s) => ({ name: nameOf(s), ports: (s.ports ?? []) as EndpointPort[], endpoints: (s.endpoints ?? []) as Endpoint[] })), desiredEndpoints(svc, pods, fam), this.#max)
      const labels = this.#labels(svc)
      for (const u of plan.update) {
        const cur = existing.find((s) => nameOf(s) === u.name) as Obj
        const body: Obj = {
          ...cur,
          metadata: { ...meta(cur), labels, annotations: { ...(isObj(meta(cur).annotations) ? meta(cur).annotations as Obj : {}), [TRIGGER_TIME]: now } },
          endpoints: u.endpoints,
          ports: u.ports
        }
        const got = await this.ctx.client.update(sliceRef(ns, u.name), body)
        wrote(u.name, String(meta(got).resourceVersion))
      }
      for (const c of plan.create) {
        const got = await this.ctx.client.create(sliceRef(ns), {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            generateName: `${nameOf(svc).length > 57 ? nameOf(svc).slice(0, 57) : nameOf(svc)}-`,
            namespace: ns,
            labels,
            annotations: { [TRIGGER_TIME]: now },
            ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: nameOf(svc), uid: uidOf(svc), controller: true, blockOwnerDeletion: true }]
          },
          addressType: fam,
          endpoints: c.endpoints,
          ports: c.ports
        })
        wrote(nameOf(got), String(meta(got).resourceVersion))
      }
      for (const d of plan.delete) { await this.#delete(ns, d); wrote(d, 'deleted') }
    }
  }

  #labels (svc: Obj): Record<string, string> {
    const l: Record<string, string> = { ...labelsOf(svc), [SERVICE_NAME_LABEL]: nameOf(svc), [MANAGED_BY_LABEL]: MANAGED_BY }
    if (spec(svc).clusterIP === 'None') l[HEADLESS_LABEL] = ''
    return l
  }

  async #delete (ns: string, name: string): Promise<void> {
    try { await this.ctx.client.delete(sliceRef(ns, name)) } catch (e) { if (!(e instanceof KubeApiError && e.notFound)) throw e }
  }
}

const MAX_ENDPOINTS_ADDRESSES = 1000

/** The legacy v1 Endpoints of a Service: one subset per distinct port list, ready and not-ready addresses. */
export function endpointsSubsets (svc: Obj, pods: Obj[]): { subsets: Obj[], truncated: boolean } {
  const publishNotReady = spec(svc).publishNotReadyAddresses === true
  const bySig = new Map<string, { ports: Obj[], addresses: Obj[], notReady: Obj[] }>()
  let total = 0
  let truncated = false
  for (const pod of pods) {
    if (!selects(svc, pod)) continue
    const phase = status(pod).phase
    if (phase === 'Succeeded' || phase === 'Failed') continue
    if (isDeleting(pod) && !publishNotReady) continue
    const ip = podIps(pod)[0]
    if (ip === undefined) continue
    if (total >= MAX_ENDPOINTS_ADDRESSES) { truncated = true; continue }
    total++
    const ports = endpointPorts(svc, pod).map((p) => ({ ...(p.name !== '' ? { name: p.name } : {}), port: p.port, protocol: p.protocol, ...(p.appProtocol !== undefined ? { appProtocol: p.appProtocol } : {}) }))
    const k = canonical(ports)
    let g = bySig.get(k)
    if (g === undefined) bySig.set(k, g = { ports, addresses: [], notReady: [] })
    const node = spec(pod).nodeName
    const addr: Obj = { ip, ...(typeof node === 'string' && node !== '' ? { nodeName: node } : {}), targetRef: { kind: 'Pod', namespace: nsOf(pod), name: nameOf(pod), uid: uidOf(pod) } }
    if (publishNotReady || isPodReady(pod)) g.addresses.push(addr); else g.notReady.push(addr)
  }
  const byIp = (a: Obj, b: Obj): number => (String(a.ip) < String(b.ip) ? -1 : String(a.ip) > String(b.ip) ? 1 : 0)
  const subsets = [...bySig.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, g]) => ({
    ...(g.addresses.length > 0 ? { addresses: g.addresses.sort(byIp) } : {}),
    ...(g.notReady.length > 0 ? { notReadyAddresses: g.notReady.sort(byIp) } : {}),
    ...(g.ports.length > 0 ? { ports: g.ports } : {})
  }))
  return { subsets, truncated }
}

export class EndpointsController extends ServiceEndpointsController {
  readonly #endpoints: SharedInformer
  readonly #written = new Map<string, { rv: string, at: number }>()

  constructor (ctx: ControllerContext, opts: { workers?: number } = {}) {
    super('endpoint', ctx, opts.workers ?? 5)
    this.#endpoints = ctx.hub.shared({ resource: 'endpoints' })
    this.#endpoints.addHandlers({ onDelete: (e) => { this.#written.delete(keyOf(e)); this.queue.add(keyOf(e)) } })
  }

  protected async sync (key: string): Promise<void> {
    const svc = this.services.get(key)
    const [ns, name] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)]
    const ref = { resource: 'endpoints', namespace: ns, name }
    if (svc === undefined) {
      // Upstream deletes the Endpoints of a deleted Service.
      if (this.#endpoints.get(key) !== undefined) {
        try { await this.ctx.client.delete(ref) } catch (e) { if (!(e instanceof KubeApiError && e.notFound)) throw e }
      }
      return
    }
    if (serviceSelector(svc) === undefined || spec(svc).type === 'ExternalName' || isDeleting(svc)) return
    const w = this.#written.get(key)
    const seen = this.#endpoints.get(key)
    if (w !== undefined) {
      // Wait (≤ 5 s) until the cache shows our last write before computing over it.
      if ((seen === undefined || meta(seen).resourceVersion !== w.rv) && Date.now() - w.at < 5000) { this.queue.addAfter(key, 20); return }
      this.#written.delete(key)
    }
    const { subsets, truncated } = endpointsSubsets(svc, this.podsIn(ns))
    const labels: Record<string, string> = { ...labelsOf(svc) }
    if (spec(svc).clusterIP === 'None') labels[HEADLESS_LABEL] = ''
    const cur = this.#endpoints.get(key)
    const annotations: Record<string, string> = { ...(cur !== undefined && isObj(meta(cur).annotations) ? meta(cur).annotations as Record<string, string> : {}) }
    delete annotations['endpoints.kubernetes.io/over-capacity']
    if (truncated) annotations['endpoints.kubernetes.io/over-capacity'] = 'truncated'
    if (cur !== undefined && canonical(cur.subsets ?? []) === canonical(subsets) && canonical(labelsOf(cur)) === canonical(labels) &&
      canonical(meta(cur).annotations ?? {}) === canonical(annotations)) return
    const body: Obj = { apiVersion: 'v1', kind: 'Endpoints', metadata: { ...(cur !== undefined ? meta(cur) : {}), name, namespace: ns, labels, annotations }, subsets }
    let got: Obj
    try {
      got = cur === undefined ? await this.ctx.client.create({ resource: 'endpoints', namespace: ns }, body) : await this.ctx.client.update(ref, body)
    } catch (e) {
      // The cache was behind (our own last write, or someone else's): the desired state is complete, so write it over the current one.
      if (!(e instanceof KubeApiError && (e.alreadyExists || e.conflict || e.notFound))) throw e
      let have: Obj | undefined
      try { have = await this.ctx.client.get(ref) } catch (g) { if (!(g instanceof KubeApiError && g.notFound)) throw g }
      got = have === undefined
        ? await this.ctx.client.create({ resource: 'endpoints', namespace: ns }, { ...body, metadata: { name, namespace: ns, labels, annotations } })
        : await this.ctx.client.update(ref, { ...body, metadata: { ...meta(have), labels, annotations } })
    }
    this.#written.set(key, { rv: String(meta(got).resourceVersion), at: Date.now() })
  }
}
