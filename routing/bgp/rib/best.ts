/**
 * The decision process (RFC 4271 §9.1.2, RFC 4456 §9) as an ordered chain of small comparators (STYLE.md
 * convention 13, gobgp's compareBy*). Each returns the preferred path or undefined for a tie; the first step that
 * decides is recorded as the reason the best path won, and the API shows it.
 */
import type { Path } from './path.js'
import { asPathLength, firstAs } from './path.js'

export type BestPathReason =
  | 'only-path' | 'not-stale' | 'local-pref' | 'local-origin' | 'as-path-length' | 'origin' | 'med'
  | 'ebgp-over-ibgp' | 'router-id' | 'cluster-list-length' | 'peer-address'

type Cmp = (a: Path, b: Path) => Path | undefined

const lower = (a: Path, b: Path, x: number, y: number): Path | undefined => x < y ? a : y < x ? b : undefined
const higher = (a: Path, b: Path, x: number, y: number): Path | undefined => x > y ? a : y > x ? b : undefined

/** RFC 4724 §4.2: a stale path (kept through a peer's restart) loses to any fresh one. */
export const compareStale: Cmp = (a, b) => higher(a, b, a.stale === true ? 0 : 1, b.stale === true ? 0 : 1)
/** §9.1.1: the highest LOCAL_PREF (100 when absent, as every implementation assumes). */
export const compareLocalPref: Cmp = (a, b) => higher(a, b, a.attrs.localPref ?? 100, b.attrs.localPref ?? 100)
/** A path originated here beats a learned one (what BIRD, GoBGP and FRR do before the AS path). */
export const compareLocalOrigin: Cmp = (a, b) => higher(a, b, a.source === undefined ? 1 : 0, b.source === undefined ? 1 : 0)
/** §9.1.2.2 (a): the shortest AS_PATH, an AS_SET counting one. */
export const compareAsPathLength: Cmp = (a, b) => lower(a, b, asPathLength(a.attrs.asPath), asPathLength(b.attrs.asPath))
/** §9.1.2.2 (b): IGP < EGP < INCOMPLETE. */
export const compareOrigin: Cmp = (a, b) => lower(a, b, a.attrs.origin, b.attrs.origin)
/** §9.1.2.2 (c): the lowest MULTI_EXIT_DISC, only between paths from the same neighbouring AS (absent is 0). */
export const compareMed: Cmp = (a, b) => {
  if (firstAs(a.attrs.asPath) !== firstAs(b.attrs.asPath)) return undefined
  return lower(a, b, a.attrs.med ?? 0, b.attrs.med ?? 0)
}
/** §9.1.2.2 (d): a path learned over eBGP beats one over iBGP. */
export const compareEbgp: Cmp = (a, b) => higher(a, b, a.source?.ibgp === false ? 1 : 0, b.source?.ibgp === false ? 1 : 0)
/** §9.1.2.2 (f), RFC 4456 §9: the lowest BGP Identifier, the ORIGINATOR_ID standing in for it when present. */
export const compareRouterId: Cmp = (a, b) => lower(a, b, idOf(a), idOf(b))
/** RFC 4456 §9: the shorter CLUSTER_LIST. */
export const compareClusterList: Cmp = (a, b) => lower(a, b, a.attrs.clusterList.length, b.attrs.clusterList.length)
/** §9.1.2.2 (g): the lowest peer address. */
export const comparePeerAddress: Cmp = (a, b) => {
  const x = a.source?.address ?? ''; const y = b.source?.address ?? ''
  if (x !== y) return x < y ? a : b
  // Two paths of one peer (RFC 7911 ADD-PATH): the lower path identifier, so the choice is deterministic.
  const i = a.pathId ?? 0; const j = b.pathId ?? 0
  return i < j ? a : j < i ? b : undefined
}

function idOf (p: Path): number {
  const id = p.attrs.originatorId ?? p.source?.routerId ?? '0.0.0.0'
  const q = id.split('.')
  return (((Number(q[0]) * 256 + Number(q[1])) * 256 + Number(q[2])) * 256) + Number(q[3])
}

export const DECISION_STEPS: ReadonlyArray<readonly [BestPathReason, Cmp]> = [
  ['not-stale', compareStale],
  ['local-pref', compareLocalPref],
  ['local-origin', compareLocalOrigin],
  ['as-path-length', compareAsPathLength],
  ['origin', compareOrigin],
  ['med', compareMed],
  ['ebgp-over-ibgp', compareEbgp],
  ['router-id', compareRouterId],
  ['cluster-list-length', compareClusterList],
  ['peer-address', comparePeerAddress]
]

/** Steps after which two paths are equal-cost for multipath (ECMP): everything before the tie-breakers. */
const MULTIPATH_STEPS = 7

/** The preferred of two paths and the step that decided. */
export function comparePaths (a: Path, b: Path): { winner: Path, reason: BestPathReason } {
  for (const [reason, cmp] of DECISION_STEPS) {
    const w = cmp(a, b)
    if (w !== undefined) return { winner: w, reason }
  }
  return { winner: a, reason: 'peer-address' }
}

export interface Decision {
  best: Path
  /** Why `best` beat the runner-up (the step that decided their comparison); 'only-path' when alone. */
  reason: BestPathReason
  /** Paths equal to `best` up to the tie-breakers (the best first), for ECMP. */
  multipath: Path[]
}

export function decide (paths: readonly Path[]): Decision | undefined {
  const first = paths[0]
  if (first === undefined) return undefined
  if (paths.length === 1) return { best: first, reason: 'only-path', multipath: [first] }
  let best = first
  for (let i = 1; i < paths.length; i++) best = comparePaths(best, paths[i] as Path).winner
  // The reason is the step that separates the best from the strongest of the others.
  let runnerUp: Path | undefined
  for (const p of paths) if (p !== best) runnerUp = runnerUp === undefined ? p : comparePaths(runnerUp, p).winner
  const reason = runnerUp === undefined ? 'only-path' : comparePaths(best, runnerUp).reason
  const multipath = [best]
  for (const p of paths) {
    if (p === best) continue
    if (DECISION_STEPS.slice(0, MULTIPATH_STEPS).every(([, cmp]) => cmp(best, p) === undefined)) multipath.push(p)
  }
  return { best, reason, multipath }
}
