/**
 * Deployment controller (`pkg/controller/deployment`): one ReplicaSet per pod
 * template, named `<deployment>-<pod-template-hash>`, rolled with
 * RollingUpdate (maxSurge/maxUnavailable) or Recreate, revision annotations,
 * proportional scaling mid-rollout, history cleanup and the status kubectl
 * rollout status reads.
 */
import { matchesLabelSelectorObject } from '../apiserver/index.js'
import { KubeApiError } from '../client/index.js'
import type { Obj } from '../client/index.js'
import { QueueController } from './controller.js'
import type { ControllerContext } from './controller.js'
import type { SharedInformer } from './informers.js'
import { maxUnavailable, newRsReplicas, podTemplateHash, proportionalScale, resolveFenceposts, scaleDownOld } from './rollout.js'
import type { IntOrString } from './rollout.js'
import {
  annotationsOf, canonical, conditionOf, controllerRefOf, isDeleting, isObj, keyOf, labelsOf, meta, nameOf, nsOf,
  ownerRefsOf, rfc3339, spec, status, uidOf
} from './util.js'

export const REVISION = 'deployment.kubernetes.io/revision'
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas'
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas'
export const HASH_LABEL = 'pod-template-hash'
const DEPLOY_KIND = { apiVersion: 'apps/v1', kind: 'Deployment' }

const rsRef = (ns: string, name?: string, subresource?: string): { group: string, version: string, resource: string, namespace: string, name?: string, subresource?: string } =>
  ({ group: 'apps', version: 'v1', resource: 'replicasets', namespace: ns, ...(name !== undefined ? { name } : {}), ...(subresource !== undefined ? { subresource } : {}) })

const revisionOf = (o: Obj): number => Number(annotationsOf(o)[REVISION] ?? 0) || 0
const replicasOf = (o: Obj): number => Number(spec(o).replicas ?? 0)
const createdOf = (o: Obj): number => Date.parse(String(meta(o).creationTimestamp ?? '')) || 0

/** The template without the pod-template-hash label, as canonical JSON (upstream's EqualIgnoreHash). */
export function templateKey (tpl: unknown): string {
  const t = structuredClone(isObj(tpl) ? tpl : {})
  const m = isObj(t.metadata) ? t.metadata : {}
  if (isObj(m.labels)) {
    delete m.labels[HASH_LABEL]
    if (Object.keys(m.labels).length === 0) delete m.labels
  }
  t.metadata = m
  return canonical(t)
}

function strategyOf (d: Obj): { type: string, maxSurge: IntOrString | undefined, maxUnavailable: IntOrString | undefined } {
  const st = isObj(spec(d).strategy) ? spec(d).strategy as Obj : {}
  const ru = isObj(st.rollingUpdate) ? st.rollingUpdate : {}
  return { type: String(st.type ?? 'RollingUpdate'), maxSurge: (ru.maxSurge ?? '25%') as IntOrString, maxUnavailable: (ru.maxUnavailable ?? '25%') as IntOrString }
}

interface Cond { type: string, status: string, reason: string, message: string, lastUpdateTime?: string, lastTransitionTime?: string }

export class DeploymentController extends QueueController {
  readonly #deploys: SharedInformer
  readonly #rs: SharedInformer

  constructor (ctx: ControllerContext, opts: { workers?: number } = {}) {
    super('deployment', ctx, opts.workers ?? 5)
    this.#deploys = ctx.hub.shared({ group: 'apps', version: 'v1', resource: 'deployments' })
    this.#rs = ctx.hub.shared({ group: 'apps', version: 'v1', resource: 'replicasets' })
    this.#deploys.addHandlers({
      onAdd: (o) => { this.queue.add(keyOf(o)) },
      onUpdate: (o) => { this.queue.add(keyOf(o)) },
      onDelete: (o) => { this.queue.add(keyOf(o)) }
    })
    const owner = (rs: Obj): void => {
      const ref = controllerRefOf(rs)
      if (ref?.kind === 'Deployment') { this.queue.add(`${nsOf(rs)}/${ref.name}`); return }
      if (ref !== undefined || isDeleting(rs)) return
      // An orphan: any Deployment whose selector matches may adopt it.
      for (const d of this.#deploys.cache.values()) {
        if (nsOf(d) === nsOf(rs) && matchesLabelSelectorObject(spec(d).selector as Parameters<typeof matchesLabelSelectorObject>[0], labelsOf(rs))) this.queue.add(keyOf(d))
      }
    }
    this.#rs.addHandlers({ onAdd: owner, onUpdate: (o, old) => { owner(o); owner(old) }, onDelete: owner })
  }

  protected resync (): void {
    for (const k of this.#deploys.cache.keys()) this.queue.add(k)
  }

  #replicaSetsOf (d: Obj): Obj[] {
    const out: Obj[] = []
    for (const rs of this.#rs.cache.values()) if (nsOf(rs) === nsOf(d) && controllerRefOf(rs)?.uid === uidOf(d)) out.push(rs)
    return out
  }

  protected async sync (key: string): Promise<void> {
    const d = this.#deploys.get(key)
    if (d === undefined || isDeleting(d)) return
    this.log.debug({ deployment: key, generation: meta(d).generation }, 'sync')
    const all = [...this.#replicaSetsOf(d), ...await this.#adopt(d)]
    const tk = templateKey(spec(d).template)
    const matching = all.filter((rs) => templateKey(spec(rs).template) === tk).sort((a, b) => createdOf(a) - createdOf(b))
    let newRs = matching[0]
    const old = all.filter((rs) => rs !== newRs)
    const replicas = Number(spec(d).replicas ?? 1)
    const strat = strategyOf(d)
    const { surge, unavailable } = strat.type === 'Recreate' ? { surge: 0, unavailable: replicas } : resolveFenceposts(strat.maxSurge, strat.maxUnavailable, replicas)
    const maxOldRev = old.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0)
    const paused = spec(d).paused === true
    let changed = false

    // Scaling event (spec.replicas changed) or paused: only resize, no rollout step.
    const active = all.filter((rs) => replicasOf(rs) > 0)
    const scaling = active.some((rs) => annotationsOf(rs)[DESIRED_REPLICAS] !== String(replicas))
    if (paused || (scaling && newRs !== undefined)) {
      changed = await this.#scale(d, newRs, old, replicas, surge) || changed
    } else if (strat.type === 'Recreate') {
      // 1. old to zero; 2. once their pods are gone, the new one to full size.
      for (const rs of old) if (replicasOf(rs) > 0) { await this.#setReplicas(d, rs, 0, replicas, surge); changed = true }
      const oldPods = old.reduce((s, rs) => s + Number(status(rs).replicas ?? 0), 0)
      if (!changed && oldPods === 0) {
        if (newRs === undefined) { newRs = await this.#createRs(d, maxOldRev + 1, replicas, replicas, surge); changed = true } else if (replicasOf(newRs) !== replicas) { await this.#setReplicas(d, newRs, replicas, replicas, surge); changed = true }
      }
    } else {
      const total = all.reduce((s, rs) => s + replicasOf(rs), 0)
      if (newRs === undefined) {
        const want = newRsReplicas({ replicas, surge, totalReplicas: total, newReplicas: 0 })
        newRs = await this.#createRs(d, maxOldRev + 1, want, replicas, surge)
        changed = true
      } else {
        const want = newRsReplicas({ replicas, surge, totalReplicas: total, newReplicas: replicasOf(newRs) })
        if (want !== replicasOf(newRs)) { await this.#setReplicas(d, newRs, want, replicas, surge); changed = true }
      }
      if (!changed) {
        const plan = scaleDownOld({
          replicas,
          unavailable,
          newRs: { replicas: replicasOf(newRs), available: Number(status(newRs).availableReplicas ?? 0) },
          old: old.map((rs) => ({ name: nameOf(rs), replicas: replicasOf(rs), available: Number(status(rs).availableReplicas ?? 0), created: createdOf(rs) }))
        })
        for (const rs of old) {
          const n = plan.get(nameOf(rs))
          if (n !== undefined && n !== replicasOf(rs)) { await this.#setReplicas(d, rs, n, replicas, surge); changed = true }
        }
      }
    }
    if (newRs !== undefined) newRs = await this.#syncRevision(d, newRs, maxOldRev)
    if (!changed && newRs !== undefined) await this.#cleanup(d, old)
    await this.#writeStatus(d, newRs, old, replicas, unavailable, changed)
  }

  /** ControllerRefManager.ClaimReplicaSets: orphan ReplicaSets the selector matches become ours. */
  async #adopt (d: Obj): Promise<Obj[]> {
    const sel = spec(d).selector as Parameters<typeof matchesLabelSelectorObject>[0]
    if (sel === undefined || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)) return []
    const out: Obj[] = []
    for (const rs of this.#rs.cache.values()) {
      if (nsOf(rs) !== nsOf(d) || controllerRefOf(rs) !== undefined || isDeleting(rs) || !matchesLabelSelectorObject(sel, labelsOf(rs))) continue
      try {
        out.push(await this.ctx.client.patch(rsRef(nsOf(rs), nameOf(rs)), {
          metadata: { resourceVersion: meta(rs).resourceVersion, ownerReferences: [...ownerRefsOf(rs), { apiVersion: 'apps/v1', kind: 'Deployment', name: nameOf(d), uid: uidOf(d), controller: true, blockOwnerDeletion: true }] }
        }))
        this.log.info({ deployment: keyOf(d), replicaset: nameOf(rs) }, 'adopted ReplicaSet')
      } catch (e) { if (!(e instanceof KubeApiError && (e.notFound || e.conflict))) throw e }
    }
    return out
  }

  /** Bumps a re-used (rolled-back-to) ReplicaSet's revision above every old one, and the Deployment's annotation. */
  async #syncRevision (d: Obj, newRs: Obj, maxOldRev: number): Promise<Obj> {
    let rs = newRs
    if (revisionOf(rs) <= maxOldRev) {
      rs = await this.ctx.client.patch(rsRef(nsOf(d), nameOf(rs)), { metadata: { resourceVersion: meta(rs).resourceVersion, annotations: { [REVISION]: String(maxOldRev + 1) } } })
    }
    const rev = String(revisionOf(rs))
    if (annotationsOf(d)[REVISION] !== rev) {
      await this.ctx.client.patch({ group: 'apps', version: 'v1', resource: 'deployments', namespace: nsOf(d), name: nameOf(d) }, { metadata: { annotations: { [REVISION]: rev } } })
    }
    return rs
  }

  async #createRs (d: Obj, revision: number, replicas: number, desired: number, surge: number): Promise<Obj> {
    const tpl = structuredClone(isObj(spec(d).template) ? spec(d).template as Obj : {})
    const collision = status(d).collisionCount
    const hash = podTemplateHash(templateKey(tpl), typeof collision === 'number' ? collision : undefined)
    const tm = isObj(tpl.metadata) ? tpl.metadata : (tpl.metadata = {}) as Obj
    tm.labels = { ...(isObj(tm.labels) ? tm.labels : {}), [HASH_LABEL]: hash }
    const sel = structuredClone(isObj(spec(d).selector) ? spec(d).selector as Obj : {})
    sel.matchLabels = { ...(isObj(sel.matchLabels) ? sel.matchLabels : {}), [HASH_LABEL]: hash }
    const name = `${nameOf(d)}-${hash}`
    const body: Obj = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace: nsOf(d),
        labels: { ...labelsOf(tpl), [HASH_LABEL]: hash },
        annotations: { [REVISION]: String(revision), [DESIRED_REPLICAS]: String(desired), [MAX_REPLICAS]: String(desired + surge) },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: nameOf(d), uid: uidOf(d), controller: true, blockOwnerDeletion: true }]
      },
      spec: { replicas, minReadySeconds: Number(spec(d).minReadySeconds ?? 0), selector: sel, template: tpl }
    }
    try {
      const rs = await this.ctx.client.create(rsRef(nsOf(d)), body)
      this.log.info({ deployment: keyOf(d), replicaset: name, replicas }, 'created ReplicaSet')
      this.events.event(d, DEPLOY_KIND, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${name} from 0 to ${replicas}`)
      return rs
    } catch (e) {
      if (!(e instanceof KubeApiError && e.alreadyExists)) throw e
      const have = await this.ctx.client.get(rsRef(nsOf(d), name))
      // Our own creation the cache has not shown yet.
      if (controllerRefOf(have)?.uid === uidOf(d) && templateKey(spec(have).template) === templateKey(tpl)) return have
      // A hash collision: count it, so the next hash differs (upstream's status.collisionCount).
      await this.ctx.client.patch({ group: 'apps', version: 'v1', resource: 'deployments', namespace: nsOf(d), name: nameOf(d), subresource: 'status' },
        { status: { collisionCount: (typeof collision === 'number' ? collision : 0) + 1 } })
      throw e
    }
  }

  async #setReplicas (d: Obj, rs: Obj, n: number, desired: number, surge: number): Promise<void> {
    await this.ctx.client.patch(rsRef(nsOf(rs), nameOf(rs)), {
      metadata: { resourceVersion: meta(rs).resourceVersion, annotations: { [DESIRED_REPLICAS]: String(desired), [MAX_REPLICAS]: String(desired + surge) } },
      spec: { replicas: n }
    })
    this.log.info({ deployment: keyOf(d), replicaset: nameOf(rs), from: replicasOf(rs), to: n }, 'scaled ReplicaSet')
    this.events.event(d, DEPLOY_KIND, 'Normal', 'ScalingReplicaSet', `Scaled ${n > replicasOf(rs) ? 'up' : 'down'} replica set ${nameOf(rs)} from ${replicasOf(rs)} to ${n}`)
  }

  /** upstream scale(): one active RS takes all; a saturated new RS retires the old; else proportional. */
  async #scale (d: Obj, newRs: Obj | undefined, old: Obj[], replicas: number, surge: number): Promise<boolean> {
    const all = [...(newRs !== undefined ? [newRs] : []), ...old]
    const active = all.filter((rs) => replicasOf(rs) > 0)
    let changed = false
    if (active.length <= 1) {
      const target = active[0] ?? newRs ?? [...old].sort((a, b) => createdOf(b) - createdOf(a))[0]
      if (target === undefined) return false
      for (const rs of all) {
        const want = rs === target ? replicas : replicasOf(rs)
        if (want !== replicasOf(rs) || annotationsOf(rs)[DESIRED_REPLICAS] !== String(replicas)) { await this.#setReplicas(d, rs, want, replicas, surge); changed = true }
      }
      return changed
    }
    if (newRs !== undefined && replicasOf(newRs) === replicas && Number(status(newRs).availableReplicas ?? 0) === replicas) {
      for (const rs of old) if (replicasOf(rs) > 0) { await this.#setReplicas(d, rs, 0, replicas, surge); changed = true }
      return changed
    }
    const plan = proportionalScale({ replicas, surge, active: active.map((rs) => ({ name: nameOf(rs), replicas: replicasOf(rs), maxReplicas: Number(annotationsOf(rs)[MAX_REPLICAS] ?? NaN) || undefined })) })
    for (const rs of active) {
      const n = plan.get(nameOf(rs)) ?? replicasOf(rs)
      if (n !== replicasOf(rs) || annotationsOf(rs)[DESIRED_REPLICAS] !== String(replicas)) { await this.#setReplicas(d, rs, n, replicas, surge); changed = true }
    }
    return changed
  }

  /** revisionHistoryLimit: delete the oldest fully scaled-down old ReplicaSets beyond it. */
  async #cleanup (d: Obj, old: Obj[]): Promise<void> {
    const limit = spec(d).revisionHistoryLimit
    if (typeof limit !== 'number') return
    const idle = old.filter((rs) => replicasOf(rs) === 0 && Number(status(rs).replicas ?? 0) === 0 && !isDeleting(rs))
      .sort((a, b) => revisionOf(a) - revisionOf(b) || createdOf(a) - createdOf(b))
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      try {
        await this.ctx.client.delete(rsRef(nsOf(rs), nameOf(rs)), { preconditions: { uid: uidOf(rs) } })
        this.log.info({ deployment: keyOf(d), replicaset: nameOf(rs) }, 'deleted old ReplicaSet (revision history limit)')
      } catch (e) {
        if (!(e instanceof KubeApiError && (e.notFound || e.conflict))) throw e
      }
    }
  }

  async #writeStatus (d: Obj, newRs: Obj | undefined, old: Obj[], replicas: number, unavailable: number, stepped: boolean): Promise<void> {
    const all = [...(newRs !== undefined ? [newRs] : []), ...old]
    const sum = (f: string): number => all.reduce((s, rs) => s + Number(status(rs)[f] ?? 0), 0)
    const st: Obj = {
      observedGeneration: Number(meta(d).generation ?? 0),
      replicas: sum('replicas'),
      updatedReplicas: newRs !== undefined ? Number(status(newRs).replicas ?? 0) : 0,
      readyReplicas: sum('readyReplicas'),
      availableReplicas: sum('availableReplicas')
    }
    // upstream: unavailable = totalReplicas − availableReplicas, where totalReplicas counts spec replicas of all RSes.
    st.unavailableReplicas = Math.max(0, all.reduce((s, rs) => s + replicasOf(rs), 0) - (st.availableReplicas as number))
    const cur = status(d)
    if (typeof cur.collisionCount === 'number') st.collisionCount = cur.collisionCount
    const now = Date.now()
    const conds: Cond[] = []
    const availOk = (st.availableReplicas as number) >= replicas - maxUnavailable(unavailable, replicas)
    conds.push(availOk
      ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
      : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' })
    const complete = newRs !== undefined && st.updatedReplicas === replicas && st.replicas === replicas && st.availableReplicas === replicas
    const prev = conditionOf(d, 'Progressing')
    const rsName = newRs !== undefined ? nameOf(newRs) : ''
    const counts = ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas']
    const moved = stepped || counts.some((k) => Number(cur[k] ?? 0) !== Number(st[k] ?? 0))
    const deadline = Number(spec(d).progressDeadlineSeconds ?? 600)
    const updating: Cond = { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsName}" is progressing.` }
    let prog: Cond
    let bump = false
    if (spec(d).paused === true) {
      // No progress deadline while paused (upstream's DeploymentPaused condition).
      prog = { type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' }
    } else if (prev?.reason === 'DeploymentPaused' && !complete) {
      prog = { type: 'Progressing', status: 'Unknown', reason: 'DeploymentResumed', message: 'Deployment is resumed' }
    } else if (complete) {
      prog = { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsName}" has successfully progressed.` }
    } else if (!moved && prev?.reason === 'ProgressDeadlineExceeded' && prev.message === `ReplicaSet "${rsName}" has timed out progressing.`) {
      prog = prev as unknown as Cond
    } else if (!moved && prev?.reason === updating.reason && prev.message === updating.message && Date.parse(String(prev.lastUpdateTime ?? '')) + deadline * 1000 <= now) {
      prog = { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rsName}" has timed out progressing.` }
    } else {
      prog = updating
      bump = moved
    }
    conds.push(prog)
    const stamped = conds.map((c) => {
      const p = conditionOf(d, c.type)
      const same = p !== undefined && p.status === c.status && p.reason === c.reason && p.message === c.message
      const t = rfc3339(now)
      if (same) return { ...c, lastUpdateTime: c === prog && bump ? t : String(p.lastUpdateTime), lastTransitionTime: String(p.lastTransitionTime) }
      return { ...c, lastUpdateTime: t, lastTransitionTime: p !== undefined && p.status === c.status ? String(p.lastTransitionTime) : t }
    })
    st.conditions = stamped
    if (!complete && prog.reason === 'ReplicaSetUpdated') this.queue.addAfter(keyOf(d), deadline * 1000 + 100)
    if (canonical(Object.fromEntries(Object.keys(st).map((k) => [k, cur[k]]))) === canonical(st)) return
    try {
      await this.ctx.client.patch({ group: 'apps', version: 'v1', resource: 'deployments', namespace: nsOf(d), name: nameOf(d), subresource: 'status' }, { status: st })
    } catch (e) {
      if (e instanceof KubeApiError && e.notFound) return
      throw e
    }
  }
}
