/**
 * The scheduler's view of pods and nodes: API objects parsed once into
 * flat records (requests in milli-CPU and bytes, taints, tolerations, host
 * ports, affinity terms), and NodeInfo, a node with the sums of the pods
 * bound or assumed on it. Pure: no I/O.
 */
import { SchedulerError } from './errors.js'

export type Obj = Record<string, unknown>

const suffixes: Record<string, number> = {
  '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60
}

/** A Kubernetes resource.Quantity ("100m", "1.5", "128Mi", "1e3") as a number of base units. */
export function parseQuantity (q: unknown): number {
  if (typeof q === 'number' && Number.isFinite(q)) return q
  if (typeof q !== 'string') throw new SchedulerError('SCHED_ERR_QUANTITY', `quantity ${JSON.stringify(q)} is not a string`)
  const m = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))((?:[eE][+-]?[0-9]+)|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/.exec(q.trim())
  if (m === null) throw new SchedulerError('SCHED_ERR_QUANTITY', `quantity "${q}" does not parse`)
  const n = Number(m[1])
  const s = m[2] ?? ''
  if (s.startsWith('e') || (s.startsWith('E') && s.length > 1)) return n * 10 ** Number(s.slice(1))
  return n * (suffixes[s] as number)
}

/** Rounds up like Quantity.MilliValue()/Value(), ignoring float noise (0.1·1000 is 100, not 101). */
const ceil = (x: number): number => Math.ceil(Math.round(x * 1e6) / 1e6)

/** The amount of one resource in the unit the scheduler counts: milli-CPU for cpu, whole units otherwise. */
export function resourceAmount (name: string, q: unknown): number {
  const v = parseQuantity(q)
  return name === 'cpu' ? ceil(v * 1000) : ceil(v)
}

/** Defaults for containers that request nothing, used for scoring (upstream's non-zero requests). */
export const DEFAULT_MILLI_CPU_REQUEST = 100
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024

export interface Taint { key: string, value: string, effect: string }
export interface Toleration { key: string, operator: string, value: string, effect: string }
export interface Requirement { key: string, operator: string, values: string[] }
export interface SelectorTerm { matchExpressions: Requirement[], matchFields: Requirement[] }
export interface PreferredTerm { weight: number, term: SelectorTerm }
export interface HostPort { ip: string, protocol: string, port: number }
export interface LabelSelector { matchLabels: Record<string, string>, matchExpressions: Requirement[] }
export interface SpreadConstraint {
  maxSkew: number
  topologyKey: string
  whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway'
  selector: LabelSelector | undefined
  minDomains: number
  nodeAffinityPolicy: 'Honor' | 'Ignore'
  nodeTaintsPolicy: 'Honor' | 'Ignore'
  matchLabelKeys: string[]
}

export interface PodInfo {
  key: string
  namespace: string
  name: string
  uid: string
  labels: Record<string, string>
  schedulerName: string
  nodeName: string
  priority: number
  created: string
  /** Requests by resource: cpu in milli, memory and others in whole units. Includes `pods: 1`? no: counted separately. */
  requests: Map<string, number>
  /** The same as a list, for the filter's per-node loop. */
  requestList: Array<[string, number]>
  reqCpu: number
  reqMem: number
  nonZeroCpu: number
  nonZeroMem: number
  hostPorts: HostPort[]
  nodeSelector: Record<string, string>
  /** undefined: no required node affinity. */
  requiredTerms: SelectorTerm[] | undefined
  preferredTerms: PreferredTerm[]
  tolerations: Toleration[]
  spread: SpreadConstraint[]
  /** The spread constraints are the system defaults (the pod has none of its own): nodes without a key are not ignored. */
  systemDefaultedSpread?: boolean
  terminating: boolean
  phase: string
  obj: Obj
}

const asObj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Obj : {})
const asArr = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter((x) => typeof x === 'object' && x !== null) as Obj[] : [])
const str = (v: unknown, d = ''): string => (typeof v === 'string' ? v : d)
const strMap = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [k, x] of Object.entries(asObj(v))) if (typeof x === 'string') out[k] = x
  return out
}

function requirements (v: unknown): Requirement[] {
  return asArr(v).map((r) => ({ key: str(r.key), operator: str(r.operator), values: Array.isArray(r.values) ? r.values.map(String) : [] }))
}

function selectorTerm (v: unknown): SelectorTerm {
  const o = asObj(v)
  return { matchExpressions: requirements(o.matchExpressions), matchFields: requirements(o.matchFields) }
}

export function labelSelector (v: unknown): LabelSelector | undefined {
  if (typeof v !== 'object' || v === null) return undefined
  const o = v as Obj
  return { matchLabels: strMap(o.matchLabels), matchExpressions: requirements(o.matchExpressions) }
}

/** Adds one container's (or the overhead's) requests into `into`, limits standing in for missing requests. */
function containerRequests (c: Obj): Map<string, number> {
  const res = asObj(c.resources)
  const req = asObj(res.requests)
  const lim = asObj(res.limits)
  const out = new Map<string, number>()
  for (const [k, v] of Object.entries(lim)) out.set(k, resourceAmount(k, v))
  for (const [k, v] of Object.entries(req)) out.set(k, resourceAmount(k, v))
  return out
}

export function parsePod (obj: Obj): PodInfo {
  const m = asObj(obj.metadata)
  const spec = asObj(obj.spec)
  const containers = asArr(spec.containers)
  const inits = asArr(spec.initContainers)
  const requests = new Map<string, number>()
  let nonZeroCpu = 0
  let nonZeroMem = 0
  const hostPorts: HostPort[] = []
  for (const c of containers) {
    const r = containerRequests(c)
    for (const [k, v] of r) requests.set(k, (requests.get(k) ?? 0) + v)
    nonZeroCpu += r.get('cpu') ?? DEFAULT_MILLI_CPU_REQUEST
    nonZeroMem += r.get('memory') ?? DEFAULT_MEMORY_REQUEST
    for (const p of asArr(c.ports)) {
      const hp = Number(p.hostPort ?? 0)
      if (hp > 0) hostPorts.push({ ip: str(p.hostIP, '0.0.0.0') || '0.0.0.0', protocol: str(p.protocol, 'TCP') || 'TCP', port: hp })
    }
  }
  // Init containers run one at a time before the others: the pod needs the larger of the two.
  for (const c of inits) {
    const r = containerRequests(c)
    for (const [k, v] of r) if (v > (requests.get(k) ?? 0)) requests.set(k, v)
    nonZeroCpu = Math.max(nonZeroCpu, r.get('cpu') ?? DEFAULT_MILLI_CPU_REQUEST)
    nonZeroMem = Math.max(nonZeroMem, r.get('memory') ?? DEFAULT_MEMORY_REQUEST)
  }
  for (const [k, v] of Object.entries(asObj(spec.overhead))) {
    const a = resourceAmount(k, v)
    requests.set(k, (requests.get(k) ?? 0) + a)
    if (k === 'cpu') nonZeroCpu += a
    if (k === 'memory') nonZeroMem += a
  }
  for (const [k, v] of requests) if (v === 0) requests.delete(k)
  const aff = asObj(asObj(spec.affinity).nodeAffinity)
  const req = aff.requiredDuringSchedulingIgnoredDuringExecution
  const requiredTerms = req === undefined || req === null ? undefined : asArr(asObj(req).nodeSelectorTerms).map(selectorTerm)
  const preferredTerms = asArr(aff.preferredDuringSchedulingIgnoredDuringExecution).map((p) => ({ weight: Number(p.weight ?? 0), term: selectorTerm(p.preference) }))
  const tolerations = asArr(spec.tolerations).map((t) => ({ key: str(t.key), operator: str(t.operator, 'Equal') || 'Equal', value: str(t.value), effect: str(t.effect) }))
  const spread: SpreadConstraint[] = asArr(spec.topologySpreadConstraints).map((c) => ({
    maxSkew: Number(c.maxSkew ?? 1),
    topologyKey: str(c.topologyKey),
    whenUnsatisfiable: c.whenUnsatisfiable === 'ScheduleAnyway' ? 'ScheduleAnyway' : 'DoNotSchedule',
    selector: labelSelector(c.labelSelector),
    minDomains: Number(c.minDomains ?? 1),
    nodeAffinityPolicy: c.nodeAffinityPolicy === 'Ignore' ? 'Ignore' : 'Honor',
    nodeTaintsPolicy: c.nodeTaintsPolicy === 'Honor' ? 'Honor' : 'Ignore',
    matchLabelKeys: Array.isArray(c.matchLabelKeys) ? c.matchLabelKeys.map(String) : []
  }))
  const labels = strMap(m.labels)
  // matchLabelKeys: the pod's own values of those keys narrow the selector.
  for (const c of spread) {
    if (c.matchLabelKeys.length === 0 || c.selector === undefined) continue
    for (const k of c.matchLabelKeys) {
      const v = labels[k]
      if (v !== undefined) c.selector.matchExpressions.push({ key: k, operator: 'In', values: [v] })
    }
  }
  const namespace = str(m.namespace, 'default')
  const name = str(m.name)
  return {
    key: `${namespace}/${name}`,
    namespace,
    name,
    uid: str(m.uid),
    labels,
    schedulerName: str(spec.schedulerName, 'default-scheduler') || 'default-scheduler',
    nodeName: str(spec.nodeName),
    priority: Number(spec.priority ?? 0),
    created: str(m.creationTimestamp),
    requests,
    requestList: [...requests],
    reqCpu: requests.get('cpu') ?? 0,
    reqMem: requests.get('memory') ?? 0,
    nonZeroCpu,
    nonZeroMem,
    hostPorts,
    nodeSelector: strMap(spec.nodeSelector),
    requiredTerms,
    preferredTerms,
    tolerations,
    spread,
    terminating: m.deletionTimestamp !== undefined && m.deletionTimestamp !== null,
    phase: str(asObj(obj.status).phase),
    obj
  }
}

export interface NodeInfo {
  name: string
  labels: Record<string, string>
  taints: Taint[]
  unschedulable: boolean
  /** Allocatable by resource (cpu in milli); `pods` is the pod count limit. */
  allocatable: Map<string, number>
  requested: Map<string, number>
  /** allocatable/requested cpu (milli) and memory, as plain fields for the scorers' per-node arithmetic. */
  allocCpu: number
  allocMem: number
  allocPods: number
  reqCpu: number
  reqMem: number
  nonZeroCpu: number
  nonZeroMem: number
  pods: Map<string, PodInfo>
  usedPorts: HostPort[]
  obj: Obj
}

export function parseNode (obj: Obj): NodeInfo {
  const m = asObj(obj.metadata)
  const spec = asObj(obj.spec)
  const status = asObj(obj.status)
  const alloc = asObj(status.allocatable)
  const src = Object.keys(alloc).length > 0 ? alloc : asObj(status.capacity)
  const allocatable = new Map<string, number>()
  for (const [k, v] of Object.entries(src)) {
    try { allocatable.set(k, resourceAmount(k, v)) } catch { /* an unparsable quantity counts as none */ }
  }
  return {
    name: str(m.name),
    labels: strMap(m.labels),
    taints: asArr(spec.taints).map((t) => ({ key: str(t.key), value: str(t.value), effect: str(t.effect) })),
    unschedulable: spec.unschedulable === true,
    allocatable,
    requested: new Map(),
    allocCpu: allocatable.get('cpu') ?? 0,
    allocMem: allocatable.get('memory') ?? 0,
    allocPods: allocatable.get('pods') ?? 0,
    reqCpu: 0,
    reqMem: 0,
    nonZeroCpu: 0,
    nonZeroMem: 0,
    pods: new Map(),
    usedPorts: [],
    obj
  }
}

/** Counts a pod on a node (bound or assumed). */
export function addPod (n: NodeInfo, p: PodInfo): void {
  if (n.pods.has(p.key)) removePod(n, p.key)
  n.pods.set(p.key, p)
  for (const [k, v] of p.requests) n.requested.set(k, (n.requested.get(k) ?? 0) + v)
  n.reqCpu += p.reqCpu
  n.reqMem += p.reqMem
  n.nonZeroCpu += p.nonZeroCpu
  n.nonZeroMem += p.nonZeroMem
  for (const hp of p.hostPorts) n.usedPorts.push(hp)
}

export function removePod (n: NodeInfo, key: string): void {
  const p = n.pods.get(key)
  if (p === undefined) return
  n.pods.delete(key)
  for (const [k, v] of p.requests) n.requested.set(k, (n.requested.get(k) ?? 0) - v)
  n.reqCpu -= p.reqCpu
  n.reqMem -= p.reqMem
  n.nonZeroCpu -= p.nonZeroCpu
  n.nonZeroMem -= p.nonZeroMem
  if (p.hostPorts.length > 0) {
    n.usedPorts = []
    for (const q of n.pods.values()) for (const hp of q.hostPorts) n.usedPorts.push(hp)
  }
}

/** A node object replaced (labels, taints, allocatable changed) keeping its pods. */
export function replaceNode (old: NodeInfo, obj: Obj): NodeInfo {
  const n = parseNode(obj)
  for (const p of old.pods.values()) addPod(n, p)
  return n
}

// ---- selectors ----

export function matchRequirement (r: Requirement, value: string | undefined): boolean {
  switch (r.operator) {
    case 'In': return value !== undefined && r.values.includes(value)
    case 'NotIn': return value === undefined || !r.values.includes(value)
    case 'Exists': return value !== undefined
    case 'DoesNotExist': return value === undefined
    case 'Gt': case 'Lt': {
      if (value === undefined || r.values.length !== 1) return false
      const a = Number(value)
      const b = Number(r.values[0])
      if (!Number.isInteger(a) || !Number.isInteger(b)) return false
      return r.operator === 'Gt' ? a > b : a < b
    }
    default: return false
  }
}

/** A node selector term: every expression holds; an empty term matches nothing (as upstream). */
export function matchTerm (t: SelectorTerm, n: { name: string, labels: Record<string, string> }): boolean {
  if (t.matchExpressions.length === 0 && t.matchFields.length === 0) return false
  for (const r of t.matchExpressions) if (!matchRequirement(r, n.labels[r.key])) return false
  for (const r of t.matchFields) {
    if (r.key !== 'metadata.name') return false
    if (!matchRequirement(r, n.name)) return false
  }
  return true
}

export function matchLabelSelector (s: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(s.matchLabels)) if (labels[k] !== v) return false
  for (const r of s.matchExpressions) if (!matchRequirement(r, labels[r.key])) return false
  return true
}

/** nodeSelector and required node affinity together (upstream's RequiredNodeAffinity). */
export function matchesNodeSelectorAndAffinity (p: PodInfo, n: NodeInfo): boolean {
  for (const [k, v] of Object.entries(p.nodeSelector)) if (n.labels[k] !== v) return false
  if (p.requiredTerms !== undefined) {
    let any = false
    for (const t of p.requiredTerms) if (matchTerm(t, n)) { any = true; break }
    if (!any) return false
  }
  return true
}

export function tolerates (tol: Toleration, t: Taint): boolean {
  if (tol.effect !== '' && tol.effect !== t.effect) return false
  if (tol.key !== '' && tol.key !== t.key) return false
  if (tol.operator === 'Exists') return true
  if (tol.key === '') return false // an empty key needs Exists
  return tol.operator === 'Equal' && tol.value === t.value
}

export function toleratedBy (t: Taint, tols: Toleration[]): boolean {
  for (const tol of tols) if (tolerates(tol, t)) return true
  return false
}
