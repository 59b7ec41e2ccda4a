/**
 * `weft scheduler`: watches pods and nodes, schedules pending pods of its
 * schedulerName one at a time (framework.ts), assumes each in the cache and
 * binds it through POST pods/<name>/binding asynchronously, records
 * Scheduled / FailedScheduling events and the PodScheduled condition, and
 * runs only while it holds the kube-system/kube-scheduler Lease.
 */
import * as os from 'node:os'
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { Informer, KubeApiError, KubeClient, resourcePath, runLeaderElection } from '../client/index.js'
import type { InformerHandlers, LeaderElector } from '../client/index.js'
import { SchedulerCache } from './cache.js'
import { defaultProfile, FitError, schedulePod } from './framework.js'
import type { Profile, ScanCursor } from './framework.js'
import { labelSelector, parsePod } from './model.js'
import type { LabelSelector, Obj, PodInfo } from './model.js'
import { defaultSelector, withDefaultSpread } from './plugins.js'
import { SchedulingQueue } from './queue.js'
import type { QueuedPod } from './queue.js'
import { SchedulerError } from './errors.js'

export interface SchedulerOptions {
  kubeconfig: string
  schedulerName?: string
  leaderElect?: boolean
  leaseDurationMs?: number
  renewDeadlineMs?: number
  retryPeriodMs?: number
  leaseNamespace?: string
  leaseName?: string
  identity?: string
  percentageOfNodesToScore?: number
  /** Bindings in flight at once (default 64). */
  parallelBindings?: number
  backoffInitialMs?: number
  backoffMaxMs?: number
  podMaxInUnschedulableMs?: number
  /** Record events (default true). */
  events?: boolean
}

export interface SchedulerStats { scheduled: number, bound: number, failedAttempts: number, bindErrors: number }

export interface RunningScheduler {
  readonly identity: string
  readonly stats: SchedulerStats
  isLeader (): boolean
  /** Resolves when the scheduler stops: after stop(), or with an error after losing the lease. */
  readonly done: Promise<void>
  /** Pending Event writes (for benchmarks that wait for them). */
  pendingEvents (): number
  queueCounts (): Record<string, number>
  stop (): Promise<void>
}

const meta = (o: Obj): Obj => (o.metadata ?? {}) as Obj
const relevantNodeView = (o: Obj): string => {
  const m = meta(o)
  const st = (o.status ?? {}) as Obj
  return JSON.stringify([m.labels, o.spec, st.allocatable ?? st.capacity])
}

export async function startScheduler (opts: SchedulerOptions, log: Logger): Promise<RunningScheduler> {
  const schedulerName = opts.schedulerName ?? 'default-scheduler'
  const identity = opts.identity ?? `${os.hostname()}_${randomUUID()}`
  const client = await KubeClient.fromKubeconfig(opts.kubeconfig, { userAgent: `weft-scheduler/${schedulerName}` })
  const cache = new SchedulerCache()
  const queue = new SchedulingQueue({
    ...(opts.backoffInitialMs !== undefined ? { backoffInitialMs: opts.backoffInitialMs } : {}),
    ...(opts.backoffMaxMs !== undefined ? { backoffMaxMs: opts.backoffMaxMs } : {}),
    ...(opts.podMaxInUnschedulableMs !== undefined ? { podMaxInUnschedulableMs: opts.podMaxInUnschedulableMs } : {})
  })
  const profile: Profile = { ...defaultProfile(), percentageOfNodesToScore: opts.percentageOfNodesToScore ?? 0 }
  const cursor: ScanCursor = { next: 0 }
  const stats: SchedulerStats = { scheduled: 0, bound: 0, failedAttempts: 0, bindErrors: 0 }
  const parallel = opts.parallelBindings ?? 64
  const recordEvents = opts.events ?? true

  const responsible = (p: PodInfo): boolean => p.schedulerName === schedulerName && p.nodeName === '' && !p.terminating && p.phase !== 'Succeeded' && p.phase !== 'Failed'

  // ---- events (client-go's recorder with its correlator: a repeat bumps count) ----
  const events = new EventSink(client, log, schedulerName, () => inflight > 0)

  // ---- informers ----
  const onPod = (obj: Obj): void => {
    const p = parsePod(obj)
    if (p.nodeName !== '') {
      queue.delete(p.key)
      if (p.phase === 'Succeeded' || p.phase === 'Failed') { cache.removePod(p.key); queue.moveAllToActiveOrBackoff(); return }
      cache.setBoundPod(p)
      return
    }
    if (cache.isAssumed(p.key)) return // binding in flight
    if (responsible(p)) queue.add(p)
    else queue.delete(p.key)
  }
  const podInformer = new Informer(client, { resource: 'pods' }, {}, {
    onAdd: onPod,
    onUpdate: (o) => { onPod(o) },
    onDelete: (o) => {
      const key = `${String(meta(o).namespace ?? '')}/${String(meta(o).name ?? '')}`
      queue.delete(key)
      if (cache.podNode(key) !== undefined) { cache.removePod(key); queue.moveAllToActiveOrBackoff() }
    },
    onError: (e) => { log.warn({ err: String(e) }, 'pod watch failed; relisting') }
  })
  const nodeInformer = new Informer(client, { resource: 'nodes' }, {}, {
    onAdd: (o) => { cache.setNode(o); queue.moveAllToActiveOrBackoff() },
    onUpdate: (o, old) => {
      if (relevantNodeView(o) === relevantNodeView(old)) return
      cache.setNode(o)
      queue.moveAllToActiveOrBackoff()
    },
    onDelete: (o) => { cache.removeNode(String(meta(o).name ?? '')) },
    onError: (e) => { log.warn({ err: String(e) }, 'node watch failed; relisting') }
  })

  // Services and ReplicaSets, for PodTopologySpread's default constraints: selectors by namespace.
  const svcSelectors = new Map<string, Map<string, Record<string, string>>>()
  const rsSelectors = new Map<string, Map<string, LabelSelector>>()
  const indexer = <T>(idx: Map<string, Map<string, T>>, get: (o: Obj) => T | undefined): InformerHandlers => {
    const set = (o: Obj): void => {
      const m = meta(o)
      const ns = String(m.namespace ?? '')
      let byName = idx.get(ns)
      if (byName === undefined) { byName = new Map(); idx.set(ns, byName) }
      const v = get(o)
      if (v === undefined) byName.delete(String(m.name ?? ''))
      else byName.set(String(m.name ?? ''), v)
    }
    return { onAdd: set, onUpdate: set, onDelete: (o: Obj) => { idx.get(String(meta(o).namespace ?? ''))?.delete(String(meta(o).name ?? '')) }, onError: (e: unknown) => { log.warn({ err: String(e) }, 'watch failed; relisting') } }
  }
  const serviceInformer = new Informer(client, { resource: 'services' }, {}, indexer(svcSelectors, (o) => {
    const sel = ((o.spec ?? {}) as Obj).selector
    if (typeof sel !== 'object' || sel === null) return undefined
    const out: Record<string, string> = {}
    for (const [k, v] of Object.entries(sel as Obj)) if (typeof v === 'string') out[k] = v
    return Object.keys(out).length > 0 ? out : undefined
  }))
  const rsInformer = new Informer(client, { group: 'apps', version: 'v1', resource: 'replicasets' }, {}, indexer(rsSelectors, (o) => labelSelector(((o.spec ?? {}) as Obj).selector)))
  const withDefaults = (p: PodInfo): PodInfo => {
    if (p.spread.length > 0) return p
    const svcs = svcSelectors.get(p.namespace)
    const rss = rsSelectors.get(p.namespace)
    if ((svcs === undefined || svcs.size === 0) && (rss === undefined || rss.size === 0)) return p
    return withDefaultSpread(p, defaultSelector(p, svcs?.values() ?? [], rss?.values() ?? []))
  }

  const flushTimer = setInterval(() => { queue.flush() }, 200)
  let stopping = false
  let inflight = 0
  let slotWaiter: (() => void) | undefined
  const binds = new Set<Promise<void>>()

  const fail = (e: QueuedPod, cycle: number, err: unknown): void => {
    stats.failedAttempts++
    const p = e.pod
    const msg = err instanceof FitError ? err.message : `running the scheduling cycle: ${String((err as Error).message ?? err)}`
    log.debug({ pod: p.key, msg }, 'unable to schedule pod')
    if (err instanceof FitError) queue.addUnschedulable(e, cycle)
    else queue.addBackoff(e)
    if (recordEvents) events.record(p, 'Warning', 'FailedScheduling', msg)
    events.unschedulableCondition(p, msg)
  }

  const bind = async (e: QueuedPod, node: string, cycle: number): Promise<void> => {
    const p = e.pod
    try {
      await client.request('POST', resourcePath({ resource: 'pods', namespace: p.namespace, name: p.name, subresource: 'binding' }), {
        apiVersion: 'v1', kind: 'Binding',
        metadata: { name: p.name, namespace: p.namespace, ...(p.uid !== '' ? { uid: p.uid } : {}) },
        target: { apiVersion: 'v1', kind: 'Node', name: node }
      })
      stats.bound++
      queue.done(p.key)
      if (recordEvents) events.record(p, 'Normal', 'Scheduled', `Successfully assigned ${p.namespace}/${p.name} to ${node}`)
    } catch (err) {
      stats.bindErrors++
      cache.forget(p.key)
      const gone = err instanceof KubeApiError && (err.notFound || (err.conflict && /already assigned|being deleted|UID in precondition/.test(err.message)))
      const se = new SchedulerError('SCHED_ERR_BIND', `binding ${p.key} to ${node}: ${(err as Error).message}`, { cause: err })
      log.warn({ pod: p.key, node, code: se.code, err: se.message }, 'binding failed')
      if (gone) { queue.done(p.key); return }
      queue.addBackoff(e)
      if (recordEvents) events.record(p, 'Warning', 'FailedScheduling', `Binding rejected: ${(err as Error).message}`)
      void cycle
    }
  }

  const loop = async (): Promise<void> => {
    await Promise.all([podInformer, nodeInformer, serviceInformer, rsInformer].map(async (i) => { await i.waitForSync(60_000) }))
    log.info({ nodes: cache.nodeCount, pending: queue.size }, 'caches synced; scheduling')
    let n = 0
    while (!stopping) {
      const e = await queue.pop()
      if (e === undefined || stopping) break
      const p = e.pod
      if (!responsible(p) || cache.isAssumed(p.key)) { queue.done(p.key); continue }
      const cycle = queue.moveCycle
      let node: string
      try {
        node = schedulePod(withDefaults(p), cache.nodeList(), profile, cursor).node
      } catch (err) {
        fail(e, cycle, err)
        continue
      }
      stats.scheduled++
      cache.assume(p, node)
      while (inflight >= parallel) await new Promise<void>((resolve) => { slotWaiter = resolve })
      inflight++
      const b = bind(e, node, cycle).finally(() => {
        inflight--
        binds.delete(b)
        const w = slotWaiter; slotWaiter = undefined; w?.()
      })
      binds.add(b)
      // let I/O (watch events, binding answers) run now and then
      if (++n % 32 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
  }

  let loopDone: Promise<void> | undefined
  let lostError: Error | undefined
  let resolveDone!: () => void
  let rejectDone!: (e: Error) => void
  const done = new Promise<void>((resolve, reject) => { resolveDone = resolve; rejectDone = reject })
  done.catch(() => {})

  const startLoop = (): void => {
    log.info({ identity }, 'started leading; scheduling')
    loopDone = loop().catch((err) => { log.error({ err: String(err) }, 'scheduling loop failed'); lostError = err as Error; void stop() })
  }

  let elector: LeaderElector | undefined
  if (opts.leaderElect ?? true) {
    elector = runLeaderElection(client, {
      namespace: opts.leaseNamespace ?? 'kube-system',
      name: opts.leaseName ?? 'kube-scheduler',
      identity,
      ...(opts.leaseDurationMs !== undefined ? { leaseDurationMs: opts.leaseDurationMs } : {}),
      ...(opts.renewDeadlineMs !== undefined ? { renewDeadlineMs: opts.renewDeadlineMs } : {}),
      ...(opts.retryPeriodMs !== undefined ? { retryPeriodMs: opts.retryPeriodMs } : {}),
      onStartedLeading: startLoop,
      onStoppedLeading: () => {
        if (!stopping) { lostError = new SchedulerError('SCHED_ERR_LEADER', `leader election lost (lease ${opts.leaseNamespace ?? 'kube-system'}/${opts.leaseName ?? 'kube-scheduler'})`); void stop() }
      },
      onNewLeader: (id) => { if (id !== identity) log.info({ leader: id }, 'new leader elected') }
    })
  } else startLoop()

  let stopped: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true
      queue.close()
      clearInterval(flushTimer)
      const w = slotWaiter; slotWaiter = undefined; w?.()
      await loopDone
      await Promise.allSettled([...binds])
      if (elector !== undefined) await elector.stop()
      await Promise.allSettled([podInformer.stop(), nodeInformer.stop(), serviceInformer.stop(), rsInformer.stop()])
      await events.drain(2000)
      client.close()
      if (lostError !== undefined) rejectDone(lostError)
      else resolveDone()
    })()
    await stopped
  }

  return {
    identity,
    stats,
    done,
    isLeader: () => (elector === undefined ? !stopping : elector.isLeader()),
    pendingEvents: () => events.pending,
    queueCounts: () => queue.counts(),
    stop
  }
}

/** client-go names events <object>.<unix nanoseconds in hex>; a counter keeps ours unique within one millisecond. */
let lastNs = 0n
function eventSuffix (): string {
  let ns = BigInt(Date.now()) * 1_000_000n
  if (ns <= lastNs) ns = lastNs + 1n
  lastNs = ns
  return ns.toString(16)
}

/** Event and condition writes, off the scheduling path, a few at a time, repeats folded into a count. */
class EventSink {
  readonly #seen = new Map<string, { name: string, namespace: string, count: number }>()
  readonly #work: Array<() => Promise<void>> = []
  #head = 0
  #running = 0
  #idle: Array<() => void> = []
  #timer: NodeJS.Timeout | undefined

  /** `busy()`: bindings in flight; events then get at most 2 requests, so they never hold up binding. */
  constructor (private readonly client: KubeClient, private readonly log: Logger, private readonly component: string, private readonly busy: () => boolean) {}

  get pending (): number { return this.#work.length - this.#head + this.#running }

  record (p: PodInfo, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const key = `${p.key}\0${p.uid}\0${reason}\0${message}`
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
    const prev = this.#seen.get(key)
    if (prev !== undefined) {
      prev.count++
      const count = prev.count
      this.#enqueue(async () => {
        await this.client.patch({ resource: 'events', namespace: prev.namespace, name: prev.name }, { count, lastTimestamp: now })
      })
      return
    }
    const name = `${p.name}.${eventSuffix()}`
    if (this.#seen.size > 10_000) this.#seen.clear()
    this.#seen.set(key, { name, namespace: p.namespace, count: 1 })
    this.#enqueue(async () => {
      await this.client.create({ resource: 'events', namespace: p.namespace }, {
        apiVersion: 'v1', kind: 'Event',
        metadata: { name, namespace: p.namespace },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: p.namespace, name: p.name, uid: p.uid, resourceVersion: String(meta(p.obj).resourceVersion ?? '') },
        reason, message, type,
        source: { component: this.component },
        reportingComponent: this.component,
        reportingInstance: this.component,
        firstTimestamp: now, lastTimestamp: now, count: 1
      })
    })
  }

  /** PodScheduled=False, reason Unschedulable, unless the pod already says exactly that. */
  unschedulableCondition (p: PodInfo, message: string): void {
    const status = (p.obj.status ?? {}) as Obj
    const conds = (Array.isArray(status.conditions) ? status.conditions : []) as Obj[]
    const cur = conds.find((c) => c.type === 'PodScheduled')
    if (cur !== undefined && cur.status === 'False' && cur.reason === 'Unschedulable' && cur.message === message) return
    const cond = { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null, lastTransitionTime: cur?.status === 'False' ? cur.lastTransitionTime : new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') }
    const next = [...conds.filter((c) => c.type !== 'PodScheduled'), cond]
    this.#enqueue(async () => {
      await this.client.patch({ resource: 'pods', namespace: p.namespace, name: p.name, subresource: 'status' }, { status: { conditions: next } })
    })
  }

  async drain (timeoutMs: number): Promise<void> {
    if (this.pending === 0) return
    await Promise.race([new Promise<void>((resolve) => this.#idle.push(resolve)), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())])
  }

  #enqueue (w: () => Promise<void>): void {
    this.#work.push(w)
    this.#pump()
  }

  #pump (): void {
    const max = this.busy() ? 2 : 8
    while (this.#running < max && this.#head < this.#work.length) {
      const w = this.#work[this.#head++] as () => Promise<void>
      if (this.#head > 1024 && this.#head * 2 > this.#work.length) { this.#work.splice(0, this.#head); this.#head = 0 }
      this.#running++
      w().catch((e) => { if (!(e instanceof KubeApiError && e.notFound)) this.log.debug({ err: String(e) }, 'event write failed') }).finally(() => {
        this.#running--
        if (this.pending === 0) { const idle = this.#idle; this.#idle = []; for (const f of idle) f() }
        this.#pump()
      })
    }
    // throttled while binding: look again soon, when bindings may be done
    if (this.#running === 0 && this.#head < this.#work.length && this.#timer === undefined) {
      this.#timer = setTimeout(() => { this.#timer = undefined; this.#pump() }, 50)
      this.#timer.unref()
    }
  }
}
