/**
 * ReplicaSet controller (`pkg/controller/replicaset`): keeps spec.replicas
 * active pods owned (controller ownerReference) by each ReplicaSet, deletes
 * the least useful pods first, writes status, and uses expectations so a sync
 * that runs before the cache has seen its own creations does not create again.
 */
import { matchesLabelSelectorObject } from '../apiserver/index.js'
import { KubeApiError } from '../client/index.js'
import type { Obj } from '../client/index.js'
import { QueueController } from './controller.js'
import type { ControllerContext } from './controller.js'
import type { SharedInformer } from './informers.js'
import {
  conditionOf, controllerRefOf, isDeleting, isObj, isPodActive, isPodAvailable, isPodReady, keyOf, labelsOf,
  meta, nameOf, nsOf, ownerRefsOf, spec, splitKey, status, uidOf
} from './util.js'

/** Upstream's burst of pod creations per sync (slow start grows 1, 2, 4 … up to it). */
const BURST = 500
const RS_KIND = { apiVersion: 'apps/v1', kind: 'ReplicaSet' }
const EXPECTATIONS_TTL_MS = 5 * 60_000

const phaseRank = (p: Obj): number => {
  const ph = status(p).phase
  return ph === 'Pending' ? 0 : ph === 'Unknown' || ph === undefined ? 1 : 2
}
const readySince = (p: Obj): number => {
  const t = Date.parse(String(conditionOf(p, 'Ready')?.lastTransitionTime ?? ''))
  return Number.isNaN(t) ? 0 : t
}
const restarts = (p: Obj): number => {
  const cs = status(p).containerStatuses
  return Array.isArray(cs) ? cs.filter(isObj).reduce((m, c) => Math.max(m, Number(c.restartCount ?? 0)), 0) : 0
}
const created = (p: Obj): number => Date.parse(String(meta(p).creationTimestamp ?? '')) || 0

/**
 * Upstream's ActivePods ordering: the pod to delete first sorts first.
 * 1 unassigned before assigned, 2 Pending before Unknown before Running,
 * 3 not ready before ready, 4 ready for less time first, 5 more restarts
 * first, 6 newer before older.
 */
export function compareForDeletion (a: Obj, b: Obj): number {
  const na = spec(a).nodeName; const nb = spec(b).nodeName
  const ua = na === undefined || na === '' ? 0 : 1; const ub = nb === undefined || nb === '' ? 0 : 1
  if (ua !== ub) return ua - ub
  if (phaseRank(a) !== phaseRank(b)) return phaseRank(a) - phaseRank(b)
  const ra = isPodReady(a) ? 1 : 0; const rb = isPodReady(b) ? 1 : 0
  if (ra !== rb) return ra - rb
  if (ra === 1 && readySince(a) !== readySince(b)) return readySince(b) - readySince(a)
  if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a)
  return created(b) - created(a)
}

export interface ReplicaSetStatus {
  replicas: number
  fullyLabeledReplicas: number
  readyReplicas: number
  availableReplicas: number
  observedGeneration: number
}

export function replicaSetStatus (rs: Obj, pods: Obj[], now: number): ReplicaSetStatus {
  const tplLabels = labelsOf(isObj(spec(rs).template) ? spec(rs).template as Obj : {})
  const minReady = Number(spec(rs).minReadySeconds ?? 0)
  let full = 0; let ready = 0; let avail = 0
  for (const p of pods) {
    const l = labelsOf(p)
    if (Object.entries(tplLabels).every(([k, v]) => l[k] === v)) full++
    if (isPodReady(p)) ready++
    if (isPodAvailable(p, minReady, now)) avail++
  }
  return { replicas: pods.length, fullyLabeledReplicas: full, readyReplicas: ready, availableReplicas: avail, observedGeneration: Number(meta(rs).generation ?? 0) }
}

interface Expectation { add: number, del: Set<string>, at: number }

export interface ReplicaSetControllerOptions { workers?: number }

export class ReplicaSetController extends QueueController {
  readonly #rs: SharedInformer
  readonly #pods: SharedInformer
  /** owner uid → pod keys it controls (every pod, active or not). */
  readonly #byOwner = new Map<string, Set<string>>()
  readonly #expect = new Map<string, Expectation>()
  /** namespace → keys of pods without a controller reference (adoption candidates). */
  readonly #orphans = new Map<string, Set<string>>()
  #released = new Set<string>()

  constructor (ctx: ControllerContext, opts: ReplicaSetControllerOptions = {}) {
    super('replicaset', ctx, opts.workers ?? 5)
    this.#rs = ctx.hub.shared({ group: 'apps', version: 'v1', resource: 'replicasets' })
    this.#pods = ctx.hub.shared({ resource: 'pods' })
    this.#rs.addHandlers({
      onAdd: (o) => { this.queue.add(keyOf(o)) },
      onUpdate: (o) => { this.queue.add(keyOf(o)) },
      onDelete: (o) => { this.#expect.delete(keyOf(o)); this.queue.add(keyOf(o)) }
    })
    this.#pods.addHandlers({
      onAdd: (p) => { this.#index(p, undefined); this.#observed(p, 'add') },
      onUpdate: (p, old) => {
        this.#index(p, old)
        // A pod turning terminating counts as its deletion for expectations.
        if (isDeleting(p) && !isDeleting(old)) this.#observed(p, 'del')
        else this.#enqueueOwner(p)
        const oldRef = controllerRefOf(old)
        if (oldRef !== undefined && oldRef.uid !== controllerRefOf(p)?.uid) this.#enqueueUid(nsOf(old), oldRef.uid)
      },
      onDelete: (p) => { this.#index(undefined, p); this.#orphans.get(nsOf(p))?.delete(keyOf(p)); this.#observed(p, 'del') }
    })
  }

  #index (p: Obj | undefined, old: Obj | undefined): void {
    if (old !== undefined) this.#orphans.get(nsOf(old))?.delete(keyOf(old))
    if (p !== undefined && controllerRefOf(p) === undefined && isPodActive(p)) {
      let o = this.#orphans.get(nsOf(p))
      if (o === undefined) this.#orphans.set(nsOf(p), o = new Set())
      o.add(keyOf(p))
      // An orphan may be adopted by a ReplicaSet whose selector matches it.
      for (const rs of this.#rs.cache.values()) {
        if (nsOf(rs) === nsOf(p) && matchesLabelSelectorObject(spec(rs).selector as Parameters<typeof matchesLabelSelectorObject>[0], labelsOf(p))) this.queue.add(keyOf(rs))
      }
    }
    const oldUid = old !== undefined ? controllerRefOf(old)?.uid : undefined
    const newUid = p !== undefined ? controllerRefOf(p)?.uid : undefined
    if (old !== undefined && oldUid !== undefined && oldUid !== newUid) this.#byOwner.get(oldUid)?.delete(keyOf(old))
    if (p !== undefined && newUid !== undefined) {
      let s = this.#byOwner.get(newUid)
      if (s === undefined) this.#byOwner.set(newUid, s = new Set())
      s.add(keyOf(p))
    }
  }

  #rsKeyForUid (ns: string, uid: string): string | undefined {
    for (const rs of this.#rs.cache.values()) if (uidOf(rs) === uid && nsOf(rs) === ns) return keyOf(rs)
    return undefined
  }

  #enqueueUid (ns: string, uid: string): void {
    const k = this.#rsKeyForUid(ns, uid)
    if (k !== undefined) this.queue.add(k)
  }

  #enqueueOwner (p: Obj): void {
    const ref = controllerRefOf(p)
    if (ref?.kind !== 'ReplicaSet') return
    this.queue.add(`${nsOf(p)}/${ref.name}`)
    // Availability flips minReadySeconds after readiness: look again then.
    const rs = this.#rs.get(`${nsOf(p)}/${ref.name}`)
    const min = rs !== undefined ? Number(spec(rs).minReadySeconds ?? 0) : 0
    if (min > 0 && isPodReady(p)) this.queue.addAfter(`${nsOf(p)}/${ref.name}`, min * 1000 + 50)
  }

  #observed (p: Obj, what: 'add' | 'del'): void {
    const ref = controllerRefOf(p)
    if (ref?.kind !== 'ReplicaSet') return
    const key = `${nsOf(p)}/${ref.name}`
    const e = this.#expect.get(key)
    if (e !== undefined) {
      if (what === 'add' && e.add > 0) e.add--
      if (what === 'del') e.del.delete(keyOf(p))
    }
    this.#enqueueOwner(p)
  }

  #satisfied (key: string): boolean {
    const e = this.#expect.get(key)
    if (e === undefined) return true
    if ((e.add <= 0 && e.del.size === 0) || Date.now() - e.at > EXPECTATIONS_TTL_MS) { this.#expect.delete(key); return true }
    return false
  }

  protected resync (): void {
    for (const k of this.#rs.cache.keys()) this.queue.add(k)
  }

  /** The active pods a ReplicaSet controls, from the cache. */
  podsOf (rs: Obj): Obj[] {
    const out: Obj[] = []
    for (const k of this.#byOwner.get(uidOf(rs)) ?? []) {
      const p = this.#pods.get(k)
      if (p !== undefined && controllerRefOf(p)?.uid === uidOf(rs) && isPodActive(p)) out.push(p)
    }
    return out
  }

  protected async sync (key: string): Promise<void> {
    const rs = this.#rs.get(key)
    if (rs === undefined) { this.#expect.delete(key); return }
    const adopted = isDeleting(rs) ? [] : await this.#claim(rs)
    const owned = this.podsOf(rs).filter((p) => !this.#released.has(keyOf(p)))
    this.#released.clear()
    // Adopted pods count now, before the cache shows their new ownerReference.
    const pods = [...owned, ...adopted.filter((a) => !owned.some((p) => keyOf(p) === keyOf(a)))]
    const want = Number(spec(rs).replicas ?? 1)
    if (this.#satisfied(key) && !isDeleting(rs)) {
      const diff = pods.length - want
      if (diff < 0) await this.#create(key, rs, Math.min(-diff, BURST))
      else if (diff > 0) await this.#delete(key, rs, [...pods].sort(compareForDeletion).slice(0, diff))
    }
    await this.#writeStatus(rs, this.podsOf(rs))
  }

  /**
   * ControllerRefManager.ClaimPods: adopt active orphan pods the selector
   * matches, release owned pods whose labels no longer match it. Both are
   * patches guarded by the pod's resourceVersion.
   */
  async #claim (rs: Obj): Promise<Obj[]> {
    const adopted: Obj[] = []
    const sel = spec(rs).selector as Parameters<typeof matchesLabelSelectorObject>[0]
    if (sel === undefined || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)) return adopted
    const ref = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: nameOf(rs), uid: uidOf(rs), controller: true, blockOwnerDeletion: true }
    const patchRefs = async (p: Obj, refs: unknown[]): Promise<Obj | undefined> => {
      try {
        return await this.ctx.client.patch({ resource: 'pods', namespace: nsOf(p), name: nameOf(p) }, { metadata: { resourceVersion: meta(p).resourceVersion, ownerReferences: refs } })
      } catch (e) { if (!(e instanceof KubeApiError && (e.notFound || e.conflict))) throw e }
      return undefined
    }
    for (const k of [...this.#orphans.get(nsOf(rs)) ?? []]) {
      const p = this.#pods.get(k)
      if (p === undefined || !isPodActive(p) || controllerRefOf(p) !== undefined || !matchesLabelSelectorObject(sel, labelsOf(p))) continue
      const got = await patchRefs(p, [...ownerRefsOf(p), ref])
      if (got === undefined) continue
      adopted.push(got)
      this.log.info({ rs: keyOf(rs), pod: k }, 'adopted pod')
    }
    for (const p of this.podsOf(rs)) {
      if (matchesLabelSelectorObject(sel, labelsOf(p))) continue
      this.#released.add(keyOf(p))
      await patchRefs(p, ownerRefsOf(p).filter((r) => r.uid !== uidOf(rs)))
      this.log.info({ rs: keyOf(rs), pod: keyOf(p) }, 'released pod whose labels no longer match')
    }
    return adopted
  }

  async #create (key: string, rs: Obj, n: number): Promise<void> {
    const { namespace } = splitKey(key)
    const tpl = isObj(spec(rs).template) ? spec(rs).template as Obj : {}
    const tm = isObj(tpl.metadata) ? tpl.metadata : {}
    const pod: Obj = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${nameOf(rs)}-`,
        namespace,
        labels: { ...(isObj(tm.labels) ? tm.labels : {}) },
        ...(isObj(tm.annotations) ? { annotations: { ...tm.annotations } } : {}),
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: nameOf(rs), uid: uidOf(rs), controller: true, blockOwnerDeletion: true }]
      },
      spec: structuredClone(tpl.spec ?? {})
    }
    const e: Expectation = { add: n, del: new Set(), at: Date.now() }
    this.#expect.set(key, e)
    // Slow start as upstream: batches of 1, 2, 4 … so a failing template costs few requests.
    let done = 0; let batch = 1; let failure: unknown
    while (done < n && failure === undefined) {
      const size = Math.min(batch, n - done)
      const results = await Promise.allSettled(Array.from({ length: size }, async () => await this.ctx.client.create({ resource: 'pods', namespace }, pod)))
      for (const r of results) {
        if (r.status === 'rejected') { failure ??= r.reason; e.add--; continue }
        this.events.event(rs, RS_KIND, 'Normal', 'SuccessfulCreate', `Created pod: ${nameOf(r.value)}`)
      }
      done += size
      batch *= 2
    }
    // Creations never attempted are not expected.
    e.add -= n - done
    if (failure !== undefined) {
      this.events.event(rs, RS_KIND, 'Warning', 'FailedCreate', `Error creating: ${(failure as Error).message}`)
      throw failure
    }
  }

  async #delete (key: string, rs: Obj, pods: Obj[]): Promise<void> {
    const e: Expectation = { add: 0, del: new Set(pods.map(keyOf)), at: Date.now() }
    this.#expect.set(key, e)
    const results = await Promise.allSettled(pods.map(async (p) => {
      try {
        await this.ctx.client.delete({ resource: 'pods', namespace: nsOf(p), name: nameOf(p) }, { preconditions: { uid: uidOf(p) } })
        this.events.event(rs, RS_KIND, 'Normal', 'SuccessfulDelete', `Deleted pod: ${nameOf(p)}`)
      } catch (err) {
        e.del.delete(keyOf(p))
        if (err instanceof KubeApiError && (err.notFound || err.conflict)) return
        throw err
      }
    }))
    const failed = results.find((r) => r.status === 'rejected')
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason
  }

  async #writeStatus (rs: Obj, pods: Obj[]): Promise<void> {
    const want = replicaSetStatus(rs, pods, Date.now())
    const cur = status(rs)
    const same = (Object.keys(want) as Array<keyof ReplicaSetStatus>).every((k) => Number(cur[k] ?? 0) === want[k])
    if (same) return
    try {
      await this.ctx.client.patch({ group: 'apps', version: 'v1', resource: 'replicasets', namespace: nsOf(rs), name: nameOf(rs), subresource: 'status' }, { status: want })
    } catch (e) {
      if (e instanceof KubeApiError && e.notFound) return
      throw e
    }
  }
}
