/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's
 * tools/leaderelection: acquire when the lease is free or its holder has not
 * renewed within leaseDuration (measured on our clock from when we last saw
 * the record change, not from the holder's timestamps), renew every
 * retryPeriod, give up leadership when a renewal has not succeeded within
 * renewDeadline, and on stop release the lease (holderIdentity emptied,
 * leaseDurationSeconds 1) so another candidate takes over at once.
 */
import { KubeApiError } from './index.js'
import type { KubeClient, Obj } from './index.js'

export interface LeaderElectionConfig {
  namespace: string
  name: string
  identity: string
  leaseDurationMs?: number
  renewDeadlineMs?: number
  retryPeriodMs?: number
  /** Release the lease when stopped while leading (default true). */
  releaseOnCancel?: boolean
  onStartedLeading: () => void
  /** Called once when leadership is lost or released. */
  onStoppedLeading?: () => void
  onNewLeader?: (identity: string) => void
  now?: () => number
}

/** A Kubernetes MicroTime: RFC 3339 with six fractional digits, UTC. */
export function microTime (ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

export interface LeaderElector {
  /** Resolves when the elector has stopped (after stop(), or after leadership was lost). */
  readonly done: Promise<void>
  isLeader (): boolean
  /** Stops campaigning; releases the lease if leading and releaseOnCancel. */
  stop (): Promise<void>
}

const sleep = async (ms: number, signal: AbortSignal): Promise<void> => await new Promise((resolve) => {
  if (signal.aborted) { resolve(); return }
  const t = setTimeout(() => { signal.removeEventListener('abort', done); resolve() }, ms)
  const done = (): void => { clearTimeout(t); resolve() }
  signal.addEventListener('abort', done, { once: true })
})

export function runLeaderElection (client: KubeClient, cfg: LeaderElectionConfig): LeaderElector {
  const leaseDuration = cfg.leaseDurationMs ?? 15_000
  const renewDeadline = cfg.renewDeadlineMs ?? 10_000
  const retryPeriod = cfg.retryPeriodMs ?? 2_000
  const now = cfg.now ?? Date.now
  const ref = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: cfg.namespace, name: cfg.name }
  const ac = new AbortController()
  let leading = false
  let observed: Obj | undefined
  let observedRaw = ''
  let observedTime = 0
  let reportedLeader = ''

  const observe = (lease: Obj): void => {
    const spec = (lease.spec ?? {}) as Obj
    const raw = JSON.stringify([spec.holderIdentity, spec.leaseDurationSeconds, spec.acquireTime, spec.renewTime, spec.leaseTransitions])
    if (raw !== observedRaw) { observedRaw = raw; observedTime = now() }
    observed = lease
    const holder = typeof spec.holderIdentity === 'string' ? spec.holderIdentity : ''
    if (holder !== reportedLeader) { reportedLeader = holder; if (holder !== '') cfg.onNewLeader?.(holder) }
  }

  /** One try (client-go tryAcquireOrRenew); true when we hold the lease afterwards. */
  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const t = microTime(now())
    const durationSeconds = Math.max(1, Math.round(leaseDuration / 1000))
    let lease: Obj
    try {
      lease = await client.get(ref)
    } catch (e) {
      if (!(e instanceof KubeApiError && e.notFound)) throw e
      const created = await client.create(ref, {
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
        metadata: { name: cfg.name, namespace: cfg.namespace },
        spec: { holderIdentity: cfg.identity, leaseDurationSeconds: durationSeconds, acquireTime: t, renewTime: t, leaseTransitions: 0 }
      })
      observe(created)
      return true
    }
    observe(lease)
    const spec = (lease.spec ?? {}) as Obj
    const holder = typeof spec.holderIdentity === 'string' ? spec.holderIdentity : ''
    const theirDuration = Number(spec.leaseDurationSeconds ?? 0) * 1000
    if (holder !== '' && holder !== cfg.identity && observedTime + theirDuration > now()) return false
    const next: Obj = { ...spec, holderIdentity: cfg.identity, leaseDurationSeconds: durationSeconds, renewTime: t }
    if (holder !== cfg.identity) {
      next.acquireTime = t
      next.leaseTransitions = Number(spec.leaseTransitions ?? 0) + 1
    }
    const updated = await client.update(ref, { ...lease, spec: next })
    observe(updated)
    return true
  }

  const release = async (): Promise<void> => {
    if (observed === undefined) return
    const spec = (observed.spec ?? {}) as Obj
    if (spec.holderIdentity !== cfg.identity) return
    const t = microTime(now())
    try {
      await client.update(ref, { ...observed, spec: { ...spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: t, acquireTime: t } })
    } catch { /* best effort, as client-go */ }
  }

  const jittered = (): number => retryPeriod * (1 + 0.2 * Math.random())

  const run = async (): Promise<void> => {
    // acquire
    while (!ac.signal.aborted) {
      let ok = false
      try { ok = await tryAcquireOrRenew() } catch { ok = false }
      if (ok) break
      await sleep(jittered(), ac.signal)
    }
    if (ac.signal.aborted) return
    leading = true
    cfg.onStartedLeading()
    // renew
    let lastRenew = now()
    while (!ac.signal.aborted) {
      await sleep(retryPeriod, ac.signal)
      if (ac.signal.aborted) break
      let ok = false
      try { ok = await tryAcquireOrRenew() } catch { ok = false }
      if (ok) lastRenew = now()
      else if (now() - lastRenew >= renewDeadline || (observed !== undefined && ((observed.spec ?? {}) as Obj).holderIdentity !== cfg.identity)) break
    }
    if (ac.signal.aborted && (cfg.releaseOnCancel ?? true)) await release()
    leading = false
    cfg.onStoppedLeading?.()
  }

  const done = run()
  return {
    done,
    isLeader: () => leading,
    stop: async () => { ac.abort(); await done }
  }
}
