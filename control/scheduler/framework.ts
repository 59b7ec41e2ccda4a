/**
 * One scheduling cycle, pure: PreFilter, Filter over a sample of the nodes
 * (upstream's numFeasibleNodesToFind, scanning round-robin from where the
 * last cycle stopped), PreScore/Score/NormalizeScore with weights, and the
 * pick of the best node (random among ties). A pod that fits nowhere gets
 * a FitError whose message is upstream's ("0/3 nodes are available: ...").
 */
import { defaultFilters, defaultScorers, MAX_NODE_SCORE } from './plugins.js'
import type { CycleState, Plugin } from './plugins.js'
import type { NodeInfo, PodInfo } from './model.js'

export const MIN_FEASIBLE_NODES_TO_FIND = 100
export const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
export const DEFAULT_PERCENTAGE_OF_NODES_TO_SCORE = 0

/** How many feasible nodes to look for among `all` (schedule_one.go numFeasibleNodesToFind). */
export function numFeasibleNodesToFind (all: number, percentageOfNodesToScore = 0): number {
  if (all < MIN_FEASIBLE_NODES_TO_FIND) return all
  let pct = percentageOfNodesToScore
  if (pct <= 0) {
    pct = Math.trunc(50 - all / 125)
    if (pct < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) pct = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND
  }
  if (pct >= 100) return all
  const n = Math.trunc(all * pct / 100)
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n
}

export const PREEMPTION_NOT_HELPFUL = 'Preemption is not helpful for scheduling'

/** No node fits: the per-reason histogram and upstream's message. */
export class FitError extends Error {
  constructor (readonly numAllNodes: number, readonly histogram: Map<string, number>, readonly preFilterMsg = '') {
    super(fitMessage(numAllNodes, histogram, preFilterMsg))
    this.name = 'FitError'
  }
}

/** FitError.Error() of upstream, with the PostFilter (preemption) part: Weft does not preempt. */
export function fitMessage (numAllNodes: number, histogram: Map<string, number>, preFilterMsg = ''): string {
  if (numAllNodes === 0) return 'no nodes available to schedule pods'
  let msg = `0/${numAllNodes} nodes are available:`
  if (preFilterMsg !== '') msg += ` ${preFilterMsg}.`
  else {
    const parts = [...histogram].map(([reason, n]) => `${n} ${reason}`).sort()
    if (parts.length > 0) msg += ` ${parts.join(', ')}.`
  }
  msg += ` preemption: 0/${numAllNodes} nodes are available: ${numAllNodes} ${PREEMPTION_NOT_HELPFUL}.`
  return msg
}

export interface Profile {
  filters: Plugin[]
  scorers: Array<{ plugin: Plugin, weight: number }>
  percentageOfNodesToScore: number
  /** Picks among equally scored nodes; defaults to Math.random. */
  random?: () => number
}

export const defaultProfile = (): Profile => ({ filters: defaultFilters, scorers: defaultScorers, percentageOfNodesToScore: DEFAULT_PERCENTAGE_OF_NODES_TO_SCORE })

export interface ScheduleResult {
  node: string
  /** Nodes the filters looked at, and how many of them fit. */
  evaluated: number
  feasible: number
  /** Final weighted scores of the feasible nodes (for tests and logs). */
  scores: Map<string, number>
}

/** The scheduler's round-robin position (upstream's nextStartNodeIndex). */
export interface ScanCursor { next: number }

/**
 * Runs one cycle for `pod` over `nodes` (the cache's node list, in a stable
 * order). Returns the chosen node or throws FitError.
 */
export function schedulePod (pod: PodInfo, nodes: NodeInfo[], profile: Profile, cursor: ScanCursor = { next: 0 }): ScheduleResult {
  const all = nodes.length
  if (all === 0) throw new FitError(0, new Map())
  const state: CycleState = { pod, allNodes: nodes }
  const filters: Plugin[] = []
  for (const f of profile.filters) {
    if (f.filter === undefined) continue
    if (f.preFilter !== undefined && f.preFilter(state)) continue
    filters.push(f)
  }
  const want = numFeasibleNodesToFind(all, profile.percentageOfNodesToScore)
  const feasible: NodeInfo[] = []
  const histogram = new Map<string, number>()
  const start = cursor.next % all
  let processed = 0
  for (; processed < all && feasible.length < want; processed++) {
    const n = nodes[(start + processed) % all] as NodeInfo
    let failed: string[] | undefined
    for (const f of filters) {
      failed = (f.filter as NonNullable<Plugin['filter']>)(state, n)
      if (failed !== undefined) break
    }
    if (failed === undefined) feasible.push(n)
    else for (const r of failed) histogram.set(r, (histogram.get(r) ?? 0) + 1)
  }
  cursor.next = (start + processed) % all
  if (feasible.length === 0) throw new FitError(all, histogram)
  if (feasible.length === 1) {
    const only = feasible[0] as NodeInfo
    return { node: only.name, evaluated: processed, feasible: 1, scores: new Map([[only.name, 0]]) }
  }
  const totals = scoreNodes(state, feasible, profile)
  // selectHost: the highest score, ties broken uniformly at random (reservoir sampling).
  const rand = profile.random ?? Math.random
  let best = -1
  let bestIdx = 0
  let ties = 0
  for (let i = 0; i < totals.length; i++) {
    const s = totals[i] as number
    if (s > best) { best = s; bestIdx = i; ties = 1 } else if (s === best) {
      ties++
      if (rand() * ties < 1) bestIdx = i
    }
  }
  // the per-node map only when someone reads it: building it for every pod cost ~15 % of the cycle
  let scores: Map<string, number> | undefined
  return {
    node: (feasible[bestIdx] as NodeInfo).name,
    evaluated: processed,
    feasible: feasible.length,
    get scores () {
      if (scores === undefined) { const m = new Map<string, number>(); feasible.forEach((n, i) => m.set(n.name, totals[i] as number)); scores = m }
      return scores
    }
  }
}

/** PreScore, Score, NormalizeScore and the weighted sum over the feasible nodes. */
export function scoreNodes (state: CycleState, feasible: NodeInfo[], profile: Profile): number[] {
  const totals = new Array<number>(feasible.length).fill(0)
  for (const { plugin, weight } of profile.scorers) {
    if (plugin.score === undefined) continue
    if (plugin.preScore !== undefined && plugin.preScore(state, feasible)) continue
    const scores = new Array<number>(feasible.length)
    for (let i = 0; i < feasible.length; i++) scores[i] = plugin.score(state, feasible[i] as NodeInfo)
    plugin.normalize?.(state, scores, feasible)
    for (let i = 0; i < feasible.length; i++) {
      const s = scores[i] as number
      if (s < 0 || s > MAX_NODE_SCORE) throw new Error(`plugin ${plugin.name} returned score ${s} outside 0..${MAX_NODE_SCORE}`)
      totals[i] = (totals[i] as number) + s * weight
    }
  }
  return totals
}
