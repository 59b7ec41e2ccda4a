/**
 * Garbage collector (`pkg/controller/garbagecollector`), over the resources
 * Weft serves: a graph of objects by uid and their ownerReferences.
 * - A dependent all of whose owners are gone (absent from the cache and, to
 *   rule out a lagging cache, from a live GET, or present with another uid)
 *   is deleted in the background; one that lost only some owners loses those
 *   references.
 * - An owner being deleted with the `orphan` finalizer has its uid stripped
 *   from its dependents' ownerReferences, then the finalizer removed.
 * - An owner with `foregroundDeletion` has its dependents deleted (in the
 *   foreground, so the cascade goes depth first) and loses the finalizer
 *   once no dependent with blockOwnerDeletion is left.
 */
import { KubeApiError } from '../client/index.js'
import type { Obj, ResourceRef } from '../client/index.js'
import { QueueController } from './controller.js'
import type { ControllerContext } from './controller.js'
import type { SharedInformer } from './informers.js'
import { isDeleting, meta, nameOf, nsOf, ownerRefsOf, uidOf } from './util.js'
import type { OwnerRef } from './util.js'

interface Kind { group: string, version: string, resource: string, kind: string, namespaced: boolean }

/** What the collector watches (and knows how to GET as an owner). */
export const GC_RESOURCES: Kind[] = [
  { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true },
  { group: '', version: 'v1', resource: 'services', kind: 'Service', namespaced: true },
  { group: '', version: 'v1', resource: 'endpoints', kind: 'Endpoints', namespaced: true },
  { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true },
  { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true },
  { group: 'apps', version: 'v1', resource: 'replicasets', kind: 'ReplicaSet', namespaced: true },
  { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true },
  { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', kind: 'EndpointSlice', namespaced: true }
]
/** Owners we can look up but do not watch. */
const OWNER_ONLY: Kind[] = [
  { group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false },
  { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false },
  { group: '', version: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
  { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease', namespaced: true }
]

const groupOf = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '')
const kindFor = (r: OwnerRef): Kind | undefined => [...GC_RESOURCES, ...OWNER_ONLY].find((k) => k.kind === r.kind && k.group === groupOf(r.apiVersion))

interface NodeId { kind: Kind, namespace: string, name: string }
const idOf = (kind: Kind, o: Obj): string => `${kind.resource}.${kind.group}|${nsOf(o)}/${nameOf(o)}`

export class GarbageCollector extends QueueController {
  readonly #informers = new Map<string, { kind: Kind, inf: SharedInformer }>()
  /** uid → node id, for every watched object. */
  readonly #byUid = new Map<string, string>()
  /** owner uid → dependent node ids. */
  readonly #dependents = new Map<string, Set<string>>()

  constructor (ctx: ControllerContext, opts: { workers?: number } = {}) {
    super('garbagecollector', ctx, opts.workers ?? 20)
    for (const kind of GC_RESOURCES) {
      const inf = ctx.hub.shared({ group: kind.group, version: kind.version, resource: kind.resource })
      this.#informers.set(`${kind.resource}.${kind.group}`, { kind, inf })
      inf.addHandlers({
        onAdd: (o) => { this.#upsert(kind, o, undefined) },
        onUpdate: (o, old) => { this.#upsert(kind, o, old) },
        onDelete: (o) => { this.#remove(kind, o) }
      })
    }
  }

  #upsert (kind: Kind, o: Obj, old: Obj | undefined): void {
    const id = idOf(kind, o)
    this.#byUid.set(uidOf(o), id)
    const refs = ownerRefsOf(o)
    const before = old !== undefined ? ownerRefsOf(old).map((r) => r.uid) : []
    for (const u of before) if (!refs.some((r) => r.uid === u)) this.#dependents.get(u)?.delete(id)
    for (const r of refs) {
      let s = this.#dependents.get(r.uid)
      if (s === undefined) this.#dependents.set(r.uid, s = new Set())
      s.add(id)
    }
    if (refs.length > 0) this.queue.add(`dep:${id}`)
    if (isDeleting(o) && this.#finalizers(o).some((f) => f === 'orphan' || f === 'foregroundDeletion')) this.queue.add(`own:${id}`)
    // A dependent that lost its references may unblock an owner in foreground deletion.
    for (const u of before) this.#enqueueOwner(u)
  }

  #remove (kind: Kind, o: Obj): void {
    const id = idOf(kind, o)
    if (this.#byUid.get(uidOf(o)) === id) this.#byUid.delete(uidOf(o))
    for (const r of ownerRefsOf(o)) { this.#dependents.get(r.uid)?.delete(id); this.#enqueueOwner(r.uid) }
    for (const d of this.#dependents.get(uidOf(o)) ?? []) this.queue.add(`dep:${d}`)
  }

  #enqueueOwner (uid: string): void {
    const id = this.#byUid.get(uid)
    if (id !== undefined) this.queue.add(`own:${id}`)
  }

  #finalizers (o: Obj): string[] { return Array.isArray(meta(o).finalizers) ? (meta(o).finalizers as unknown[]).map(String) : [] }

  #parse (id: string): NodeId | undefined {
    const bar = id.indexOf('|')
    const e = this.#informers.get(id.slice(0, bar))
    if (e === undefined) return undefined
    const rest = id.slice(bar + 1)
    const slash = rest.indexOf('/')
    return { kind: e.kind, namespace: rest.slice(0, slash), name: rest.slice(slash + 1) }
  }

  #get (id: string): Obj | undefined {
    const n = this.#parse(id)
    if (n === undefined) return undefined
    return this.#informers.get(`${n.kind.resource}.${n.kind.group}`)?.inf.get(`${n.namespace}/${n.name}`)
  }

  #ref (kind: Kind, namespace: string, name: string): ResourceRef {
    return { group: kind.group, version: kind.version, resource: kind.resource, ...(kind.namespaced ? { namespace } : {}), name }
  }

  protected resync (): void {
    for (const { kind, inf } of this.#informers.values()) {
      for (const o of inf.cache.values()) {
        if (ownerRefsOf(o).length > 0) this.queue.add(`dep:${idOf(kind, o)}`)
        if (isDeleting(o)) this.queue.add(`own:${idOf(kind, o)}`)
      }
    }
  }

  protected async sync (key: string): Promise<void> {
    if (key.startsWith('dep:')) await this.#syncDependent(key.slice(4))
    else await this.#syncOwner(key.slice(4))
  }

  /** Is this owner reference's object there, with that uid? The cache first, then the API server. */
  async #ownerExists (ns: string, r: OwnerRef): Promise<boolean> {
    if (this.#byUid.has(r.uid)) return true
    const kind = kindFor(r)
    if (kind === undefined) return true // unknown kind: never collect on a guess
    try {
      const o = await this.ctx.client.get(this.#ref(kind, ns, r.name))
      return uidOf(o) === r.uid
    } catch (e) {
      if (e instanceof KubeApiError && e.notFound) return false
      throw e
    }
  }

  async #syncDependent (id: string): Promise<void> {
    const o = this.#get(id)
    const n = this.#parse(id)
    if (o === undefined || n === undefined) return
    const refs = ownerRefsOf(o)
    if (refs.length === 0) return
    const gone: OwnerRef[] = []
    for (const r of refs) if (!(await this.#ownerExists(n.namespace, r))) gone.push(r)
    if (gone.length === 0) return
    const ref = this.#ref(n.kind, n.namespace, n.name)
    try {
      if (gone.length === refs.length) {
        if (isDeleting(o)) return
        await this.ctx.client.delete(ref, { propagationPolicy: 'Background', preconditions: { uid: uidOf(o) } })
        this.log.info({ object: id, owners: gone.map((r) => `${r.kind}/${r.name}`) }, 'deleted dependent of deleted owner')
      } else {
        await this.ctx.client.patch(ref, { metadata: { resourceVersion: meta(o).resourceVersion, ownerReferences: refs.filter((r) => !gone.includes(r)) } })
      }
    } catch (e) {
      if (!(e instanceof KubeApiError && (e.notFound || e.conflict))) throw e
      if (e.conflict) this.queue.addAfter(`dep:${id}`, 100)
    }
  }

  async #syncOwner (id: string): Promise<void> {
    const o = this.#get(id)
    const n = this.#parse(id)
    if (o === undefined || n === undefined || !isDeleting(o)) return
    const fins = this.#finalizers(o)
    const uid = uidOf(o)
    const deps = [...this.#dependents.get(uid) ?? []].map((d) => ({ id: d, obj: this.#get(d), node: this.#parse(d) }))
    if (fins.includes('orphan')) {
      for (const d of deps) {
        if (d.obj === undefined || d.node === undefined) continue
        const refs = ownerRefsOf(d.obj)
        if (!refs.some((r) => r.uid === uid)) continue
        try {
          await this.ctx.client.patch(this.#ref(d.node.kind, d.node.namespace, d.node.name), { metadata: { resourceVersion: meta(d.obj).resourceVersion, ownerReferences: refs.filter((r) => r.uid !== uid) } })
        } catch (e) { if (!(e instanceof KubeApiError && e.notFound)) throw e }
      }
      await this.#dropFinalizer(n, o, 'orphan')
      this.log.info({ object: id, orphaned: deps.length }, 'orphaned dependents')
      return
    }
    if (fins.includes('foregroundDeletion')) {
      let blocking = 0
      for (const d of deps) {
        if (d.obj === undefined || d.node === undefined) continue
        const r = ownerRefsOf(d.obj).find((x) => x.uid === uid)
        if (r === undefined) continue
        if (r.blockOwnerDeletion === true) blocking++
        if (isDeleting(d.obj)) continue
        try {
          await this.ctx.client.delete(this.#ref(d.node.kind, d.node.namespace, d.node.name), { propagationPolicy: 'Foreground', preconditions: { uid: uidOf(d.obj) } })
        } catch (e) { if (!(e instanceof KubeApiError && (e.notFound || e.conflict))) throw e }
      }
      if (blocking === 0) {
        await this.#dropFinalizer(n, o, 'foregroundDeletion')
        this.log.info({ object: id }, 'foreground deletion complete')
      }
    }
  }

  async #dropFinalizer (n: NodeId, o: Obj, fin: string): Promise<void> {
    try {
      await this.ctx.client.patch(this.#ref(n.kind, n.namespace, n.name), { metadata: { resourceVersion: meta(o).resourceVersion, finalizers: this.#finalizers(o).filter((f) => f !== fin) } })
    } catch (e) {
      if (e instanceof KubeApiError && e.notFound) return
      throw e
    }
  }
}
