/**
 * Node lifecycle controller (`pkg/controller/nodelifecycle`) with the
 * NoExecute taint manager. A node whose Lease (kube-node-lease/<node>) and
 * status heartbeat have not moved for the grace period — measured on our own
 * clock from when we last saw them change — gets every condition Unknown
 * (NodeStatusUnknown) and its pods marked not ready. Ready Unknown/False
 * become the unreachable/not-ready NoSchedule and NoExecute taints, removed
 * when the node is Ready again. Pods on a node with NoExecute taints they do
 * not tolerate are evicted, at once or after their tolerationSeconds; on a
 * node no kubelet answers for they are deleted with grace period 0. Pods
 * bound to a Node that has been gone for the grace period are force-deleted
 * (PodGC's orphan rule).
 */
import { KubeApiError } from '../client/index.js'
import type { Obj } from '../client/index.js'
import { QueueController } from './controller.js'
import type { ControllerContext } from './controller.js'
import type { SharedInformer } from './informers.js'
import { conditionOf, isDeleting, isObj, keyOf, meta, nameOf, nsOf, rfc3339, spec, status, uidOf } from './util.js'

export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable'
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready'

export interface Taint { key: string, value?: string, effect: string, timeAdded?: string }
export interface Toleration { key?: string, operator?: string, value?: string, effect?: string, tolerationSeconds?: number }

/** upstream's Toleration.ToleratesTaint. */
export function tolerates (t: Toleration, taint: Taint): boolean {
  if (t.effect !== undefined && t.effect !== '' && t.effect !== taint.effect) return false
  if (t.key !== undefined && t.key !== '' && t.key !== taint.key) return false
  const op = t.operator ?? 'Equal'
  if (op === 'Exists') return true
  if (t.key === undefined || t.key === '') return false
  return (t.value ?? '') === (taint.value ?? '')
}

/**
 * When a pod must leave a node with these NoExecute taints: 0 = now, a time
 * (ms) = then, Infinity = never. A taint no toleration matches evicts now;
 * otherwise the shortest tolerationSeconds counted from the taint's timeAdded.
 */
export function evictionTime (taints: Taint[], tolerations: Toleration[], now: number): number {
  let at = Infinity
  for (const taint of taints.filter((x) => x.effect === 'NoExecute')) {
    const matching = tolerations.filter((t) => tolerates(t, taint))
    if (matching.length === 0) return 0
    const secs = matching.map((t) => t.tolerationSeconds).filter((s): s is number => typeof s === 'number')
    if (secs.length === 0) continue
    const added = Date.parse(taint.timeAdded ?? '') || now
    at = Math.min(at, added + Math.max(0, Math.min(...secs)) * 1000)
  }
  return at
}

/** The node-health taints a Ready condition status calls for. */
export function healthTaints (readyStatus: string | undefined): Array<{ key: string, effect: string }> {
  const key = readyStatus === 'False' ? TAINT_NOT_READY : readyStatus === 'True' ? undefined : TAINT_UNREACHABLE
  if (key === undefined) return []
  return [{ key, effect: 'NoSchedule' }, { key, effect: 'NoExecute' }]
}

const taintsOf = (node: Obj): Taint[] => (Array.isArray(spec(node).taints) ? spec(node).taints as Taint[] : [])
const tolerationsOf = (pod: Obj): Toleration[] => (Array.isArray(spec(pod).tolerations) ? spec(pod).tolerations as Toleration[] : [])

export interface NodeLifecycleOptions { gracePeriodMs: number, monitorPeriodMs: number }

export class NodeLifecycleController extends QueueController {
  readonly #nodes: SharedInformer
  readonly #leases: SharedInformer
  readonly #pods: SharedInformer
  readonly #opts: NodeLifecycleOptions
  /** node → when we last saw its heartbeat (lease renewTime or Ready lastHeartbeatTime) change. */
  readonly #probe = new Map<string, { at: number, lease: string, heartbeat: string }>()
  readonly #podsOnNode = new Map<string, Set<string>>()
  readonly #missingSince = new Map<string, number>()
  #timer: NodeJS.Timeout | undefined

  constructor (ctx: ControllerContext, opts: NodeLifecycleOptions) {
    super('nodelifecycle', ctx, 4, 'node-controller')
    this.#opts = opts
    this.#nodes = ctx.hub.shared({ resource: 'nodes' })
    this.#leases = ctx.hub.shared({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: 'kube-node-lease' })
    this.#pods = ctx.hub.shared({ resource: 'pods' })
    this.#nodes.addHandlers({
      onAdd: (n) => { this.#saw(nameOf(n), undefined, String(conditionOf(n, 'Ready')?.lastHeartbeatTime ?? '')); this.queue.add(nameOf(n)) },
      onUpdate: (n) => { this.#saw(nameOf(n), undefined, String(conditionOf(n, 'Ready')?.lastHeartbeatTime ?? '')); this.queue.add(nameOf(n)) },
      onDelete: (n) => { this.#probe.delete(nameOf(n)); this.queue.add(nameOf(n)) }
    })
    const lease = (l: Obj): void => { this.#saw(nameOf(l), String(spec(l).renewTime ?? ''), undefined) }
    this.#leases.addHandlers({ onAdd: lease, onUpdate: lease })
    const podNode = (p: Obj): string => String(spec(p).nodeName ?? '')
    this.#pods.addHandlers({
      onAdd: (p) => { this.#indexPod(p, undefined) },
      onUpdate: (p, old) => { this.#indexPod(p, old) },
      onDelete: (p) => { this.#podsOnNode.get(podNode(p))?.delete(keyOf(p)) }
    })
  }

  #indexPod (p: Obj, old: Obj | undefined): void {
    const node = String(spec(p).nodeName ?? '')
    const was = old !== undefined ? String(spec(old).nodeName ?? '') : ''
    if (old !== undefined && was !== node) this.#podsOnNode.get(was)?.delete(keyOf(old))
    if (node === '') return
    let s = this.#podsOnNode.get(node)
    if (s === undefined) this.#podsOnNode.set(node, s = new Set())
    s.add(keyOf(p))
    const n = this.#nodes.get(`/${node}`)
    if ((n === undefined && this.#nodes.hasSynced) || (n !== undefined && taintsOf(n).some((t) => t.effect === 'NoExecute'))) this.queue.add(node)
  }

  #saw (node: string, lease: string | undefined, heartbeat: string | undefined): void {
    const now = Date.now()
    const cur = this.#probe.get(node)
    if (cur === undefined) { this.#probe.set(node, { at: now, lease: lease ?? '', heartbeat: heartbeat ?? '' }); return }
    if (lease !== undefined && lease !== cur.lease) { cur.lease = lease; cur.at = now }
    if (heartbeat !== undefined && heartbeat !== cur.heartbeat) { cur.heartbeat = heartbeat; cur.at = now }
  }

  protected resync (): void {
    for (const n of this.#nodes.list()) this.queue.add(nameOf(n))
    for (const [node, pods] of this.#podsOnNode) if (pods.size > 0 && this.#nodes.get(`/${node}`) === undefined) this.queue.add(node)
  }

  override start (): void {
    super.start()
    this.#timer = setInterval(() => { this.resync() }, this.#opts.monitorPeriodMs)
    this.#timer.unref?.()
  }

  override async stop (): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    await super.stop()
  }

  protected async sync (name: string): Promise<void> {
    let node = this.#nodes.get(`/${name}`)
    if (node === undefined) { await this.#orphans(name); return }
    this.#missingSince.delete(name)
    const now = Date.now()
    const probe = this.#probe.get(name)
    const ready = conditionOf(node, 'Ready')
    // 1. Health: no heartbeat within the grace period ⇒ conditions Unknown.
    if (probe !== undefined && now - probe.at > this.#opts.gracePeriodMs && ready?.status !== 'Unknown') {
      node = await this.#markUnknown(node, now)
      await this.#markPodsNotReady(name)
    }
    // 2. Health taints follow the Ready condition.
    node = await this.#syncTaints(node, now)
    // 3. NoExecute eviction.
    await this.#evict(node, now)
  }

  /** PodGC: pods bound to a Node that no longer exists (checked live, not just in the cache) are force-deleted. */
  async #orphans (name: string): Promise<void> {
    const keys = [...this.#podsOnNode.get(name) ?? []]
    if (keys.length === 0) { this.#missingSince.delete(name); return }
    // Quarantine as upstream's PodGC: a node missing for less than the grace period may just be (re)registering.
    const since = this.#missingSince.get(name) ?? Date.now()
    this.#missingSince.set(name, since)
    if (Date.now() - since < this.#opts.gracePeriodMs) { this.queue.addAfter(name, this.#opts.gracePeriodMs - (Date.now() - since) + 10); return }
    try {
      await this.ctx.client.get({ resource: 'nodes', name })
      this.#missingSince.delete(name)
      return
    } catch (e) { if (!(e instanceof KubeApiError && e.notFound)) throw e }
    for (const k of keys) {
      const p = this.#pods.get(k)
      if (p === undefined) continue
      try {
        await this.ctx.client.delete({ resource: 'pods', namespace: nsOf(p), name: nameOf(p) }, { gracePeriodSeconds: 0, preconditions: { uid: uidOf(p) } })
        this.log.info({ node: name, pod: k }, 'deleted pod bound to a deleted node')
      } catch (e) { if (!(e instanceof KubeApiError && (e.notFound || e.conflict))) throw e }
    }
  }

  async #markUnknown (node: Obj, now: number): Promise<Obj> {
    const t = rfc3339(now)
    const conds = Array.isArray(status(node).conditions) ? (status(node).conditions as unknown[]).filter(isObj) : []
    const next: Obj[] = conds.map((c) => ({ ...c, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: c.status === 'Unknown' ? c.lastTransitionTime : t }))
    if (!next.some((c) => c.type === 'Ready')) {
      next.push({ type: 'Ready', status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastHeartbeatTime: t, lastTransitionTime: t })
    }
    this.log.info({ node: nameOf(node) }, 'node stopped posting status: Ready Unknown')
    this.events.event(node, { apiVersion: 'v1', kind: 'Node' }, 'Normal', 'NodeNotReady', `Node ${nameOf(node)} status is now: NodeNotReady`)
    return await this.ctx.client.patch({ resource: 'nodes', name: nameOf(node), subresource: 'status' }, { status: { conditions: next } })
  }

  async #markPodsNotReady (node: string): Promise<void> {
    const t = rfc3339(Date.now())
    for (const k of this.#podsOnNode.get(node) ?? []) {
      const p = this.#pods.get(k)
      if (p === undefined || conditionOf(p, 'Ready')?.status === 'False') continue
      const conds = (Array.isArray(status(p).conditions) ? (status(p).conditions as unknown[]).filter(isObj) : [])
        .map((c) => (c.type === 'Ready' ? { ...c, status: 'False', lastTransitionTime: t } : c))
      try {
        await this.ctx.client.patch({ resource: 'pods', namespace: nsOf(p), name: nameOf(p), subresource: 'status' }, { status: { conditions: conds } })
      } catch (e) { if (!(e instanceof KubeApiError && e.notFound)) throw e }
    }
  }

  async #syncTaints (node: Obj, now: number): Promise<Obj> {
    const want = healthTaints(String(conditionOf(node, 'Ready')?.status ?? 'Unknown'))
    const health = new Set([TAINT_UNREACHABLE, TAINT_NOT_READY])
    const cur = taintsOf(node)
    const keep = cur.filter((t) => !health.has(t.key) || want.some((w) => w.key === t.key && w.effect === t.effect))
    const add = want.filter((w) => !cur.some((t) => t.key === w.key && t.effect === w.effect))
      .map((w) => ({ ...w, ...(w.effect === 'NoExecute' ? { timeAdded: rfc3339(now) } : {}) }))
    if (add.length === 0 && keep.length === cur.length) return node
    this.log.info({ node: nameOf(node), add: add.map((t) => `${t.key}:${t.effect}`), removed: cur.length - keep.length }, 'node taints')
    return await this.ctx.client.patch({ resource: 'nodes', name: nameOf(node) }, { metadata: { resourceVersion: meta(node).resourceVersion }, spec: { taints: [...keep, ...add] } })
  }

  async #evict (node: Obj, now: number): Promise<void> {
    const taints = taintsOf(node).filter((t) => t.effect === 'NoExecute')
    if (taints.length === 0) return
    const dead = conditionOf(node, 'Ready')?.status !== 'True'
    let next = Infinity
    for (const k of [...this.#podsOnNode.get(nameOf(node)) ?? []]) {
      const p = this.#pods.get(k)
      if (p === undefined) continue
      if (isDeleting(p) && !dead) continue
      const at = isDeleting(p) ? 0 : evictionTime(taints, tolerationsOf(p), now)
      if (at > now) { next = Math.min(next, at); continue }
      try {
        // No kubelet will finish a graceful deletion on a dead node: delete outright.
        await this.ctx.client.delete({ resource: 'pods', namespace: nsOf(p), name: nameOf(p) }, { ...(dead ? { gracePeriodSeconds: 0 } : {}), preconditions: { uid: uidOf(p) } })
        this.log.info({ node: nameOf(node), pod: k }, 'evicted pod (NoExecute taint)')
        this.events.event(p, { apiVersion: 'v1', kind: 'Pod' }, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${k}`)
      } catch (e) { if (!(e instanceof KubeApiError && (e.notFound || e.conflict))) throw e }
    }
    if (next !== Infinity) this.queue.addAfter(nameOf(node), next - now + 10)
  }
}
