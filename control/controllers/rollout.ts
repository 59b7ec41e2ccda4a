/**
 * Deployment arithmetic, pure (`pkg/controller/deployment/util`): intOrString
 * scaling, maxSurge/maxUnavailable fenceposts, how far the new ReplicaSet may
 * grow and the old ones shrink in one rolling-update step, proportional
 * scaling, and the pod-template hash.
 */
import { ControllerError } from './errors.js'

export type IntOrString = number | string

/** GetScaledValueFromIntOrPercent: "25%" of total, rounded up or down; integers as they are. */
export function scaledValue (v: IntOrString | undefined, total: number, roundUp: boolean): number {
  if (v === undefined) return 0
  if (typeof v === 'number') return v
  const m = /^(\d+)%$/.exec(v)
  if (m === null) {
    if (/^\d+$/.test(v)) return Number(v)
    throw new ControllerError('CTRL_ERR_CONTROLLERS_INVALID_FLAG', `invalid value for IntOrString: "${v}"`)
  }
  const x = Number(m[1]) * total / 100
  return roundUp ? Math.ceil(x) : Math.floor(x)
}

/** ResolveFenceposts: surge rounds up, unavailable down; both zero ⇒ unavailable 1 so a rollout can move. */
export function resolveFenceposts (maxSurge: IntOrString | undefined, maxUnavailable: IntOrString | undefined, replicas: number): { surge: number, unavailable: number } {
  const surge = scaledValue(maxSurge ?? 0, replicas, true)
  let unavailable = scaledValue(maxUnavailable ?? 0, replicas, false)
  if (surge === 0 && unavailable === 0) unavailable = 1
  return { surge, unavailable }
}

/** MaxUnavailable as the Available condition uses it: never above replicas. */
export function maxUnavailable (maxUnavail: number, replicas: number): number {
  return Math.min(maxUnavail, replicas)
}

/** NewRSNewReplicas for RollingUpdate: grow the new RS as far as maxSurge allows. */
export function newRsReplicas (p: { replicas: number, surge: number, totalReplicas: number, newReplicas: number }): number {
  const maxTotal = p.replicas + p.surge
  if (p.totalReplicas >= maxTotal) return p.newReplicas
  const up = Math.min(maxTotal - p.totalReplicas, p.replicas - p.newReplicas)
  return p.newReplicas + up
}

export interface RsView { name: string, replicas: number, available: number, created: number }

/**
 * reconcileOldReplicaSets: how far old ReplicaSets may shrink now. First the
 * unhealthy pods of old RSes go (cleanupUnhealthyReplicas), then available
 * ones while availability stays ≥ replicas − maxUnavailable, oldest RS first.
 * Returns the new spec.replicas of each old RS that changes.
 */
export function scaleDownOld (p: { replicas: number, unavailable: number, newRs: { replicas: number, available: number } | undefined, old: RsView[] }): Map<string, number> {
  const out = new Map<string, number>()
  const old = [...p.old].sort((a, b) => a.created - b.created || (a.name < b.name ? -1 : 1))
  const oldTotal = old.reduce((s, r) => s + r.replicas, 0)
  if (oldTotal === 0) return out
  const allPods = oldTotal + (p.newRs?.replicas ?? 0)
  const minAvailable = p.replicas - p.unavailable
  const newUnavailable = p.newRs !== undefined ? p.newRs.replicas - p.newRs.available : 0
  let maxScaledDown = allPods - minAvailable - newUnavailable
  if (maxScaledDown <= 0) return out
  const cur = new Map(old.map((r) => [r.name, { ...r }]))
  // 1. Unhealthy replicas of old RSes cost no availability.
  let cleaned = 0
  for (const r of old) {
    if (cleaned >= maxScaledDown) break
    const c = cur.get(r.name) as RsView
    if (c.replicas === 0) continue
    const unhealthy = c.replicas - c.available
    if (unhealthy <= 0) continue
    const down = Math.min(maxScaledDown - cleaned, unhealthy)
    c.replicas -= down
    cleaned += down
    out.set(r.name, c.replicas)
  }
  maxScaledDown -= cleaned
  // 2. Available ones, keeping minAvailable.
  const available = [...cur.values()].reduce((s, r) => s + Math.min(r.available, r.replicas), 0) + (p.newRs?.available ?? 0)
  if (available <= minAvailable) return out
  let total = Math.min(available - minAvailable, maxScaledDown)
  for (const r of old) {
    if (total <= 0) break
    const c = cur.get(r.name) as RsView
    if (c.replicas === 0) continue
    const down = Math.min(c.replicas, total)
    c.replicas -= down
    total -= down
    out.set(r.name, c.replicas)
  }
  return out
}

/**
 * Proportional scaling of several active ReplicaSets when spec.replicas
 * changes mid-rollout (`scale()`): the difference to replicas+surge is split
 * by each RS's share, largest first, leftovers to the first.
 */
export function proportionalScale (p: { replicas: number, surge: number, active: Array<{ name: string, replicas: number, maxReplicas: number | undefined }> }): Map<string, number> {
  const allowed = p.replicas + p.surge
  const current = p.active.reduce((s, r) => s + r.replicas, 0)
  const toAdd = allowed - current
  const out = new Map<string, number>()
  if (toAdd === 0 || current === 0) return out
  const sorted = [...p.active].sort((a, b) => toAdd > 0 ? b.replicas - a.replicas : a.replicas - b.replicas)
  let added = 0
  for (const r of sorted) {
    let share = 0
    if (added !== toAdd) {
      // getReplicaSetFraction: the RS's share of its max-replicas annotation (the previous replicas+surge).
      const base = r.maxReplicas !== undefined && r.maxReplicas > 0 ? r.maxReplicas : current
      const frac = p.replicas === 0 ? -r.replicas : Math.round(r.replicas * allowed / base) - r.replicas
      share = toAdd > 0 ? Math.min(frac, toAdd - added) : Math.max(frac, toAdd - added)
    }
    added += share
    out.set(r.name, r.replicas + share)
  }
  const first = sorted[0]
  if (first !== undefined && added !== toAdd) out.set(first.name, Math.max(0, (out.get(first.name) ?? first.replicas) + toAdd - added))
  for (const [k, v] of out) if (v < 0) out.set(k, 0)
  return out
}

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789'

/** FNV-1a, 32 bits, over UTF-8. */
export function fnv32a (s: string): number {
  let h = 0x811c9dc5
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

/**
 * ComputeHash: FNV-32a of the template (here its canonical JSON, where
 * upstream hashes a Go dump) and the collision count, written as
 * rand.SafeEncodeString of the decimal sum: no vowels, never a bad word.
 */
export function podTemplateHash (canonicalTemplate: string, collisionCount?: number): string {
  const sum = fnv32a(canonicalTemplate + (collisionCount !== undefined ? `#${collisionCount}` : ''))
  return [...String(sum)].map((c) => ALPHANUMS[c.charCodeAt(0) % ALPHANUMS.length]).join('')
}
