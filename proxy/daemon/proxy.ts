/**
 * The proxy loop (STYLE.md convention 10): events from a source feed the
 * change tracker; each accepted change asks the bounded-frequency runner
 * for a sync; a sync (once both initial listings are in) checks out the
 * tracker's changes and hands them to each family's proxier, then flushes
 * stale UDP conntrack entries. The first sync, and one every
 * `fullSyncPeriodMs`, is full; a failed sync makes that proxier's next one
 * full and the runner retries after `retryMs`.
 */
import { boundedFrequencyRunner } from '../../routing/runner/index.js'
import type { Clock, Runner } from '../../routing/runner/index.js'
import { ChangeTracker, servicePorts } from '../tracker/index.js'
import type { IpFamily, Proxier, ProxySource, ProxyState, ServicePortInfo, SyncStats } from '../tracker/index.js'
import { staleUdpFilters } from './conntrack.js'
import type { Conntrack } from './conntrack.js'
import { healthCheckTargets } from './healthcheck.js'
import type { HealthCheckServers } from './healthcheck.js'
import { ProxyMetrics } from './metrics.js'

export interface ProxyLoopInit {
  nodeName: string
  minSyncPeriodMs: number
  syncPeriodMs: number
  /** A full sync at least this often (kube-proxy: an hour). */
  fullSyncPeriodMs?: number
  /** After a failed sync, retry after this long (kube-proxy: syncPeriod). */
  retryMs?: number
  /** /healthz turns unhealthy when a queued change waits longer than this (kube-proxy: 2 × syncPeriod). */
  healthTimeoutMs?: number
}

export interface ProxyLogger {
  info (obj: object, msg?: string): void
  warn (obj: object, msg?: string): void
  error (obj: object, msg?: string): void
}

export interface ProxyLoopDeps {
  source: ProxySource
  proxiers: Proxier[]
  conntrack?: Conntrack | undefined
  /** Health-check node port servers, kept in step with the services after each successful sync. */
  healthChecks?: HealthCheckServers | undefined
  clock?: Clock
  logger?: ProxyLogger
  /** Called after every sync attempt (tests, benchmarks). */
  onSync?: (r: { stats: SyncStats[], error: unknown }) => void
}

export interface ProxyHealth {
  healthy: boolean
  lastUpdated: number
  lastQueued: number
  now: number
}

export interface ProxyLoop {
  readonly tracker: ChangeTracker
  readonly metrics: ProxyMetrics
  /** Runs one sync now (outside the runner's schedule); resolves with its stats. */
  syncNow (): SyncStats[]
  health (): ProxyHealth
  stop (): Promise<void>
}

const noLog: ProxyLogger = { info () {}, warn () {}, error () {} }

export async function startProxyLoop (init: ProxyLoopInit, deps: ProxyLoopDeps): Promise<ProxyLoop> {
  const tracker = new ChangeTracker()
  const metrics = new ProxyMetrics()
  const log = deps.logger ?? noLog
  const now = (): number => deps.clock?.now() ?? Date.now()
  const fullEvery = init.fullSyncPeriodMs ?? 3600_000
  const healthTimeout = init.healthTimeoutMs ?? 2 * init.syncPeriodMs
  let lastFull = -Infinity
  let lastUpdated = 0
  let lastQueued = 0
  let pendingQueued = false
  const lastPorts = new Map<IpFamily, Map<string, ServicePortInfo[]>>()

  const stateFor = (family: IpFamily): ProxyState & { memo: Map<string, ServicePortInfo[]> } => {
    const memo = new Map<string, ServicePortInfo[]>()
    return {
      memo,
      keys: () => tracker.services().keys(),
      ports: (key) => {
        let p = memo.get(key)
        if (p === undefined) {
          const s = tracker.service(key)
          p = s === undefined ? [] : servicePorts(s, tracker.slicesOf(key), family, init.nodeName)
          memo.set(key, p)
        }
        return p
      }
    }
  }

  const sync = (): SyncStats[] => {
    if (!tracker.synced) return []
    const start = now()
    const co = tracker.checkout()
    metrics.serviceChangesTotal += co.serviceChanges
    metrics.endpointChangesTotal += co.endpointChanges
    metrics.serviceChangesPending = 0
    metrics.endpointChangesPending = 0
    const full = start - lastFull >= fullEvery
    const stats: SyncStats[] = []
    let error: unknown
    for (const p of deps.proxiers) {
      const state = stateFor(p.family)
      try {
        const st = p.sync(state, full ? 'full' : co.changed)
        stats.push(st)
        // The first sync after a start only records: flushing every UDP entry on restart is kube-proxy#122740.
        const first = !lastPorts.has(p.family)
        const before = lastPorts.get(p.family) ?? new Map<string, ServicePortInfo[]>()
        const keys = st.full ? new Set([...before.keys(), ...tracker.services().keys()]) : co.changed
        for (const key of keys) {
          const after = state.ports(key)
          if (deps.conntrack !== undefined && !first) {
            for (const f of staleUdpFilters(before.get(key) ?? [], after)) {
              try { deps.conntrack.deleteUdp(f) } catch (e) { log.warn({ err: e, filter: f }, 'conntrack cleanup failed') }
            }
          }
          if (after.length === 0) before.delete(key)
          else before.set(key, after)
        }
        lastPorts.set(p.family, before)
      } catch (e) {
        error = e
        metrics.syncFailuresTotal++
        log.error({ err: e, family: p.family, code: (e as { code?: string }).code }, 'sync failed; the next sync is a full one')
      }
    }
    const secs = (now() - start) / 1000
    metrics.syncDuration.observe(secs)
    ;(full ? metrics.fullSyncDuration : metrics.partialSyncDuration).observe(secs)
    deps.onSync?.({ stats, error })
    if (error !== undefined) throw error
    if (full) lastFull = start
    lastUpdated = now()
    if (deps.healthChecks !== undefined && (full || co.changed.size > 0)) {
      const all: Array<readonly ServicePortInfo[]> = []
      for (const m of lastPorts.values()) for (const ports of m.values()) all.push(ports)
      deps.healthChecks.sync(healthCheckTargets(all)).catch((e: unknown) => { log.warn({ err: e }, 'health-check servers') })
    }
    // Network programming latency: from the change that produced an EndpointSlice to its rules being in place.
    for (const t of co.triggerTimes) metrics.programmingLatency.observe(Math.max(0, (Date.now() - t) / 1000))
    pendingQueued = false
    metrics.lastSyncTimestamp = lastUpdated / 1000
    return stats
  }

  const runner: Runner = boundedFrequencyRunner({
    name: 'proxy-sync',
    minIntervalMs: init.minSyncPeriodMs,
    maxIntervalMs: init.syncPeriodMs,
    retryIntervalMs: init.retryMs ?? init.syncPeriodMs,
    // kube-proxy's burstSyncs: two syncs may run back to back before minSyncPeriod paces them.
    burst: 2,
    fn: () => { sync() },
    ...(deps.clock !== undefined ? { clock: deps.clock } : {})
  })

  await deps.source.start((e) => {
    let queued: boolean
    try {
      queued = tracker.event(e)
    } catch (err) {
      log.warn({ err, code: (err as { code?: string }).code }, 'event ignored')
      return
    }
    if (!queued) return
    const p = tracker.pending
    metrics.serviceChangesPending = p.services
    metrics.endpointChangesPending = p.endpointSlices
    lastQueued = now()
    metrics.lastQueuedTimestamp = lastQueued / 1000
    pendingQueued = true
    runner.run()
  })
  runner.start()

  return {
    tracker,
    metrics,
    syncNow: sync,
    health () {
      const t = now()
      const healthy = !pendingQueued || t - lastQueued <= healthTimeout
      return { healthy, lastUpdated, lastQueued, now: t }
    },
    async stop () {
      await deps.source.stop()
      await runner.stop()
      await deps.healthChecks?.close()
    }
  }
}
