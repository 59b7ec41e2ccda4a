/**
 * The filter and score plugins, as upstream's default profile
 * (pkg/scheduler/framework/plugins): each filter answers the reasons a node
 * does not fit (upstream's messages, which end up in FailedScheduling
 * events), each scorer a raw score that its normalizer maps to 0..100.
 * Pure functions of the pod, the node and the cycle state.
 */
import { matchesNodeSelectorAndAffinity, matchLabelSelector, matchTerm, toleratedBy } from './model.js'
import type { LabelSelector, NodeInfo, PodInfo, SpreadConstraint } from './model.js'

export const MAX_NODE_SCORE = 100

export const reasons = {
  nodeName: 'node(s) didn\'t match the requested node name',
  unschedulable: 'node(s) were unschedulable',
  affinity: 'node(s) didn\'t match Pod\'s node affinity/selector',
  ports: 'node(s) didn\'t have free ports for the requested pod ports',
  tooManyPods: 'Too many pods',
  spread: 'node(s) didn\'t match pod topology spread constraints',
  spreadLabel: 'node(s) didn\'t match pod topology spread constraints (missing required label)'
} as const

export const untoleratedTaint = (key: string, value: string): string => `node(s) had untolerated taint {${key}: ${value}}`
export const insufficient = (resource: string): string => `Insufficient ${resource}`

/** Per-pod data shared by a cycle's plugins (upstream's CycleState). */
export interface CycleState {
  pod: PodInfo
  /** Every node in the cache (PodTopologySpread counts over all of them). */
  allNodes: NodeInfo[]
  spread?: SpreadState
  spreadScore?: SpreadScoreState
}

export interface Plugin {
  readonly name: string
  /** Returns true when the plugin has nothing to check for this pod (upstream's Skip). */
  preFilter?: (s: CycleState) => boolean
  /** Reasons the node does not fit, or undefined when it fits. */
  filter?: (s: CycleState, n: NodeInfo) => string[] | undefined
  /** Returns true to skip scoring for this pod. */
  preScore?: (s: CycleState, feasible: NodeInfo[]) => boolean
  score?: (s: CycleState, n: NodeInfo) => number
  normalize?: (s: CycleState, scores: number[], nodes: NodeInfo[]) => void
}

/** Upstream's helper: scale to 0..max by the largest score, optionally reversed. */
export function defaultNormalizeScore (max: number, reverse: boolean, scores: number[]): void {
  let maxCount = 0
  for (const s of scores) if (s > maxCount) maxCount = s
  if (maxCount === 0) {
    if (reverse) for (let i = 0; i < scores.length; i++) scores[i] = max
    return
  }
  for (let i = 0; i < scores.length; i++) {
    let s = Math.trunc(max * (scores[i] as number) / maxCount)
    if (reverse) s = max - s
    scores[i] = s
  }
}

// ---- NodeName ----
export const nodeName: Plugin = {
  name: 'NodeName',
  preFilter: (s) => s.pod.nodeName === '',
  filter: (s, n) => (s.pod.nodeName === '' || s.pod.nodeName === n.name ? undefined : [reasons.nodeName])
}

// ---- NodeUnschedulable ----
const unschedulableTaint = { key: 'node.kubernetes.io/unschedulable', value: '', effect: 'NoSchedule' }
export const nodeUnschedulable: Plugin = {
  name: 'NodeUnschedulable',
  filter: (s, n) => (!n.unschedulable || toleratedBy(unschedulableTaint, s.pod.tolerations) ? undefined : [reasons.unschedulable])
}

// ---- TaintToleration ----
export const taintToleration: Plugin = {
  name: 'TaintToleration',
  filter: (s, n) => {
    for (const t of n.taints) {
      if (t.effect !== 'NoSchedule' && t.effect !== 'NoExecute') continue
      if (!toleratedBy(t, s.pod.tolerations)) return [untoleratedTaint(t.key, t.value)]
    }
    return undefined
  },
  score: (s, n) => {
    if (n.taints.length === 0) return 0
    let c = 0
    const tols = s.pod.tolerations.filter((t) => t.effect === '' || t.effect === 'PreferNoSchedule')
    for (const t of n.taints) if (t.effect === 'PreferNoSchedule' && !toleratedBy(t, tols)) c++
    return c
  },
  normalize: (_s, scores) => defaultNormalizeScore(MAX_NODE_SCORE, true, scores)
}

// ---- NodeAffinity (nodeSelector, required and preferred) ----
export const nodeAffinity: Plugin = {
  name: 'NodeAffinity',
  preFilter: (s) => Object.keys(s.pod.nodeSelector).length === 0 && s.pod.requiredTerms === undefined,
  filter: (s, n) => (matchesNodeSelectorAndAffinity(s.pod, n) ? undefined : [reasons.affinity]),
  preScore: (s) => s.pod.preferredTerms.length === 0,
  score: (s, n) => {
    let sum = 0
    for (const p of s.pod.preferredTerms) if (p.weight !== 0 && matchTerm(p.term, n)) sum += p.weight
    return sum
  },
  normalize: (_s, scores) => defaultNormalizeScore(MAX_NODE_SCORE, false, scores)
}

// ---- NodePorts ----
function portsConflict (a: { ip: string, protocol: string, port: number }, b: { ip: string, protocol: string, port: number }): boolean {
  if (a.port !== b.port || a.protocol !== b.protocol) return false
  return a.ip === b.ip || a.ip === '0.0.0.0' || b.ip === '0.0.0.0' || a.ip === '::' || b.ip === '::'
}
export const nodePorts: Plugin = {
  name: 'NodePorts',
  preFilter: (s) => s.pod.hostPorts.length === 0,
  filter: (s, n) => {
    for (const want of s.pod.hostPorts) for (const used of n.usedPorts) if (portsConflict(want, used)) return [reasons.ports]
    return undefined
  }
}

// ---- NodeResourcesFit (filter + LeastAllocated score) ----
export const nodeResourcesFit: Plugin = {
  name: 'NodeResourcesFit',
  filter: (s, n) => {
    let out: string[] | undefined
    if (n.pods.size + 1 > n.allocPods) out = [reasons.tooManyPods]
    for (let i = 0; i < s.pod.requestList.length; i++) {
      const [r, want] = s.pod.requestList[i] as [string, number]
      if (want <= 0) continue
      const free = r === 'cpu' ? n.allocCpu - n.reqCpu : r === 'memory' ? n.allocMem - n.reqMem : (n.allocatable.get(r) ?? 0) - (n.requested.get(r) ?? 0)
      if (want > free) (out ??= []).push(insufficient(r))
    }
    return out
  },
  score: (s, n) => {
    // leastAllocatedScore over cpu and memory, unrolled: this runs for every candidate node of every pod
    const cpuCap = n.allocCpu
    const memCap = n.allocMem
    const cpu = n.nonZeroCpu + s.pod.nonZeroCpu
    const mem = n.nonZeroMem + s.pod.nonZeroMem
    return Math.trunc((leastRequested(cpu, cpuCap) + leastRequested(mem, memCap)) / 2)
  }
}

const leastRequested = (req: number, cap: number): number => (cap === 0 || req > cap ? 0 : Math.trunc((cap - req) * MAX_NODE_SCORE / cap))

/** LeastAllocated over [requested, allocatable] pairs, resource weights 1 (upstream's default cpu:1, memory:1). */
export function leastAllocatedScore (pairs: Array<[number, number]>): number {
  let sum = 0
  for (const [req, cap] of pairs) sum += cap === 0 || req > cap ? 0 : Math.trunc((cap - req) * MAX_NODE_SCORE / cap)
  return Math.trunc(sum / pairs.length)
}

// ---- NodeResourcesBalancedAllocation ----
export function balancedScore (pairs: Array<[number, number]>): number {
  const fr: number[] = []
  let total = 0
  for (const [req, cap] of pairs) {
    if (cap === 0) continue
    const f = Math.min(req / cap, 1)
    fr.push(f)
    total += f
  }
  let std = 0
  if (fr.length === 2) std = Math.abs(((fr[0] as number) - (fr[1] as number)) / 2)
  else if (fr.length > 2) {
    const mean = total / fr.length
    let sq = 0
    for (const f of fr) sq += (f - mean) * (f - mean)
    std = Math.sqrt(sq / fr.length)
  }
  return Math.trunc((1 - std) * MAX_NODE_SCORE)
}
export const balancedAllocation: Plugin = {
  name: 'NodeResourcesBalancedAllocation',
  score: (s, n) => {
    // balancedScore over cpu and memory, unrolled
    const cpuCap = n.allocCpu
    const memCap = n.allocMem
    const cpu = n.reqCpu + s.pod.reqCpu
    const mem = n.reqMem + s.pod.reqMem
    if (cpuCap === 0 || memCap === 0) return MAX_NODE_SCORE // one fraction or none: no deviation
    const std = Math.abs(Math.min(cpu / cpuCap, 1) - Math.min(mem / memCap, 1)) / 2
    return Math.trunc((1 - std) * MAX_NODE_SCORE)
  }
}

// ---- PodTopologySpread ----
interface SpreadState {
  constraints: SpreadConstraint[]
  /** Per constraint: matching pods per domain value. */
  counts: Array<Map<string, number>>
  /** Per constraint: the smallest count over its domains (0 when fewer domains than minDomains). */
  min: number[]
  selfMatch: number[]
}

interface SpreadScoreState {
  constraints: SpreadConstraint[]
  counts: Array<Map<string, number>>
  weights: number[]
  ignored: Set<string>
}

function eligible (p: PodInfo, n: NodeInfo, c: SpreadConstraint): boolean {
  if (c.nodeAffinityPolicy === 'Honor' && !matchesNodeSelectorAndAffinity(p, n)) return false
  if (c.nodeTaintsPolicy === 'Honor') {
    for (const t of n.taints) if ((t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !toleratedBy(t, p.tolerations)) return false
  }
  return true
}

function countMatching (p: PodInfo, n: NodeInfo, c: SpreadConstraint): number {
  if (c.selector === undefined) return 0
  let k = 0
  for (const q of n.pods.values()) if (q.namespace === p.namespace && !q.terminating && matchLabelSelector(c.selector, q.labels)) k++
  return k
}

const hasAllKeys = (n: NodeInfo, cs: SpreadConstraint[]): boolean => cs.every((c) => n.labels[c.topologyKey] !== undefined)

export const podTopologySpread: Plugin = {
  name: 'PodTopologySpread',
  preFilter: (s) => {
    const cs = s.pod.spread.filter((c) => c.whenUnsatisfiable === 'DoNotSchedule')
    if (cs.length === 0) return true
    const counts = cs.map(() => new Map<string, number>())
    for (const n of s.allNodes) {
      if (!hasAllKeys(n, cs)) continue
      cs.forEach((c, i) => {
        if (!eligible(s.pod, n, c)) return
        const dom = n.labels[c.topologyKey] as string
        const m = counts[i] as Map<string, number>
        m.set(dom, (m.get(dom) ?? 0) + countMatching(s.pod, n, c))
      })
    }
    const min = cs.map((c, i) => {
      const m = counts[i] as Map<string, number>
      if (m.size < c.minDomains) return 0
      let v = Infinity
      for (const x of m.values()) if (x < v) v = x
      return v === Infinity ? 0 : v
    })
    const selfMatch = cs.map((c) => (c.selector !== undefined && matchLabelSelector(c.selector, s.pod.labels) ? 1 : 0))
    s.spread = { constraints: cs, counts, min, selfMatch }
    return false
  },
  filter: (s, n) => {
    const st = s.spread
    if (st === undefined) return undefined
    for (let i = 0; i < st.constraints.length; i++) {
      const c = st.constraints[i] as SpreadConstraint
      const dom = n.labels[c.topologyKey]
      if (dom === undefined) return [reasons.spreadLabel]
      const skew = ((st.counts[i] as Map<string, number>).get(dom) ?? 0) + (st.selfMatch[i] as number) - (st.min[i] as number)
      if (skew > c.maxSkew) return [reasons.spread]
    }
    return undefined
  },
  preScore: (s, feasible) => {
    const cs = s.pod.spread.filter((c) => c.whenUnsatisfiable === 'ScheduleAnyway')
    if (cs.length === 0) return true
    // Explicit constraints ignore candidates lacking any key; the system defaults only skip the missing keys.
    const requireAll = s.pod.systemDefaultedSpread !== true
    const ignored = new Set<string>()
    const candidates = new Set<string>()
    for (const n of feasible) candidates.add(n.name)
    const domains = cs.map(() => new Set<string>())
    for (const n of feasible) {
      if (requireAll && !hasAllKeys(n, cs)) { ignored.add(n.name); continue }
      cs.forEach((c, i) => { const d = n.labels[c.topologyKey]; if (d !== undefined) (domains[i] as Set<string>).add(d) })
    }
    const counts = cs.map(() => new Map<string, number>())
    // hostname-like keys count only the candidate nodes; other keys count every eligible node of a candidate domain.
    for (const n of s.allNodes) {
      if (requireAll && !hasAllKeys(n, cs)) continue
      cs.forEach((c, i) => {
        const dom = n.labels[c.topologyKey]
        if (dom === undefined || !(domains[i] as Set<string>).has(dom)) return
        if (c.topologyKey === 'kubernetes.io/hostname' && (ignored.has(n.name) || !candidates.has(n.name))) return
        if (!eligible(s.pod, n, c)) return
        const m = counts[i] as Map<string, number>
        m.set(dom, (m.get(dom) ?? 0) + countMatching(s.pod, n, c))
      })
    }
    const weights = cs.map((_c, i) => Math.log((domains[i] as Set<string>).size + 2))
    s.spreadScore = { constraints: cs, counts, weights, ignored }
    return false
  },
  score: (s, n) => {
    const st = s.spreadScore
    if (st === undefined || st.ignored.has(n.name)) return 0
    let score = 0
    st.constraints.forEach((c, i) => {
      const dom = n.labels[c.topologyKey]
      if (dom === undefined) return
      const cnt = (st.counts[i] as Map<string, number>).get(dom) ?? 0
      score += cnt * (st.weights[i] as number) + (c.maxSkew - 1)
    })
    return Math.round(score)
  },
  normalize: (s, scores, nodes) => {
    const ignored = s.spreadScore?.ignored ?? new Set<string>()
    let min = Infinity
    let max = 0
    scores.forEach((v, i) => {
      if (ignored.has((nodes[i] as NodeInfo).name)) return
      if (v < min) min = v
      if (v > max) max = v
    })
    for (let i = 0; i < scores.length; i++) {
      if (ignored.has((nodes[i] as NodeInfo).name)) { scores[i] = 0; continue }
      if (max === 0) { scores[i] = MAX_NODE_SCORE; continue }
      scores[i] = Math.trunc(MAX_NODE_SCORE * (max + min - (scores[i] as number)) / max)
    }
  }
}

/**
 * PodTopologySpread's system defaults (upstream's `systemDefaultConstraints`), for pods without constraints of
 * their own, with a selector made of the pod's Services and ReplicaSets (`defaultSelector`).
 */
export function withDefaultSpread (pod: PodInfo, selector: LabelSelector | undefined): PodInfo {
  if (pod.spread.length > 0 || selector === undefined) return pod
  const c = (topologyKey: string, maxSkew: number): SpreadConstraint => ({
    maxSkew, topologyKey, whenUnsatisfiable: 'ScheduleAnyway', selector, minDomains: 1, nodeAffinityPolicy: 'Honor', nodeTaintsPolicy: 'Ignore', matchLabelKeys: []
  })
  return { ...pod, spread: [c('kubernetes.io/hostname', 3), c('topology.kubernetes.io/zone', 5)], systemDefaultedSpread: true }
}

/**
 * upstream's helper.DefaultSelector: the union of the selectors of the Services selecting the pod (their
 * spec.selector labels) and of the ReplicaSets whose selector matches it; undefined when there are none.
 */
export function defaultSelector (pod: PodInfo, services: Iterable<Record<string, string>>, replicaSets: Iterable<LabelSelector>): LabelSelector | undefined {
  const matchLabels: Record<string, string> = {}
  const matchExpressions: LabelSelector['matchExpressions'] = []
  let any = false
  for (const sel of services) {
    const keys = Object.keys(sel)
    if (keys.length === 0 || !keys.every((k) => pod.labels[k] === sel[k])) continue
    Object.assign(matchLabels, sel)
    any = true
  }
  for (const rs of replicaSets) {
    if (Object.keys(rs.matchLabels).length === 0 && rs.matchExpressions.length === 0) continue
    if (!matchLabelSelector(rs, pod.labels)) continue
    Object.assign(matchLabels, rs.matchLabels)
    matchExpressions.push(...rs.matchExpressions)
    any = true
  }
  return any ? { matchLabels, matchExpressions } : undefined
}

/** Filters in upstream's order; a node's status is the first filter that rejects it. */
export const defaultFilters: Plugin[] = [nodeUnschedulable, nodeName, taintToleration, nodeAffinity, nodePorts, nodeResourcesFit, podTopologySpread]

/** Scorers with upstream's default weights. */
export const defaultScorers: Array<{ plugin: Plugin, weight: number }> = [
  { plugin: taintToleration, weight: 3 },
  { plugin: nodeAffinity, weight: 2 },
  { plugin: podTopologySpread, weight: 2 },
  { plugin: nodeResourcesFit, weight: 1 },
  { plugin: balancedAllocation, weight: 1 }
]
