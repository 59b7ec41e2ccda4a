import test from 'ava'
import { addPod, parseNode, parsePod, parseQuantity, resourceAmount } from './model.js'
import type { NodeInfo, Obj, PodInfo } from './model.js'
import * as P from './plugins.js'
import { defaultProfile, fitMessage, FitError, numFeasibleNodesToFind, schedulePod, scoreNodes } from './framework.js'
import type { CycleState } from './plugins.js'

function node (name: string, o: { cpu?: string, memory?: string, pods?: number, labels?: Record<string, string>, taints?: Obj[], unschedulable?: boolean } = {}): NodeInfo {
  return parseNode({
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
    spec: { ...(o.taints !== undefined ? { taints: o.taints } : {}), ...(o.unschedulable === true ? { unschedulable: true } : {}) },
    status: { allocatable: { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: String(o.pods ?? 110) } }
  })
}

function pod (name: string, o: { cpu?: string, memory?: string, spec?: Obj, labels?: Record<string, string>, ns?: string } = {}): PodInfo {
  const requests: Obj = {}
  if (o.cpu !== undefined) requests.cpu = o.cpu
  if (o.memory !== undefined) requests.memory = o.memory
  return parsePod({
    metadata: { name, namespace: o.ns ?? 'default', uid: `uid-${name}`, labels: o.labels ?? {}, creationTimestamp: '2026-11-22T10:00:00Z' },
    spec: { containers: [{ name: 'c', image: 'weft/echo', resources: { requests } }], ...(o.spec ?? {}) }
  })
}

const state = (p: PodInfo, nodes: NodeInfo[]): CycleState => ({ pod: p, allNodes: nodes })

test('quantities: CPU in milli rounded up, memory in bytes, suffixes and exponents', (t) => {
  t.is(resourceAmount('cpu', '100m'), 100)
  t.is(resourceAmount('cpu', '0.1'), 100)
  t.is(resourceAmount('cpu', '1.5'), 1500)
  t.is(resourceAmount('cpu', '1n'), 1)
  t.is(resourceAmount('memory', '128Mi'), 128 * 1024 * 1024)
  t.is(resourceAmount('memory', '1G'), 1e9)
  t.is(resourceAmount('memory', '1e3'), 1000)
  t.is(parseQuantity('2Ki'), 2048)
  t.throws(() => parseQuantity('12 apples'), { message: /does not parse/ })
})

test('pod requests: containers summed, init containers as a maximum, overhead added, limits standing in; non-zero defaults for scoring', (t) => {
  const p = parsePod({
    metadata: { name: 'p', namespace: 'd' },
    spec: {
      containers: [{ name: 'a', resources: { requests: { cpu: '200m', memory: '100Mi' } } }, { name: 'b', resources: { limits: { cpu: '300m' } } }, { name: 'c' }],
      initContainers: [{ name: 'i', resources: { requests: { cpu: '1' } } }],
      overhead: { cpu: '10m' }
    }
  })
  t.is(p.requests.get('cpu'), 1010)
  t.is(p.requests.get('memory'), 100 * 1024 * 1024)
  t.is(p.nonZeroCpu, 1010) // max(200+300+100 default, 1000) + 10
  t.is(p.nonZeroMem, 100 * 1024 * 1024 + 2 * 200 * 1024 * 1024)
})

test('NodeName: only the named node passes', (t) => {
  const p = pod('p', { spec: { nodeName: 'b' } })
  t.is(P.nodeName.filter!(state(p, []), node('a'))?.[0], "node(s) didn't match the requested node name")
  t.is(P.nodeName.filter!(state(p, []), node('b')), undefined)
  t.true(P.nodeName.preFilter!(state(pod('q'), [])))
})

test('NodeUnschedulable: a cordoned node passes only with the unschedulable toleration', (t) => {
  const n = node('a', { unschedulable: true })
  t.deepEqual(P.nodeUnschedulable.filter!(state(pod('p'), []), n), ['node(s) were unschedulable'])
  const tol = pod('p', { spec: { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] } })
  t.is(P.nodeUnschedulable.filter!(state(tol, []), n), undefined)
})

test('TaintToleration filter: NoSchedule/NoExecute need a toleration (Equal, Exists, empty key, effect match); PreferNoSchedule does not', (t) => {
  const n = node('a', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }, { key: 'soft', value: 'x', effect: 'PreferNoSchedule' }] })
  t.deepEqual(P.taintToleration.filter!(state(pod('p'), []), n), ['node(s) had untolerated taint {dedicated: gpu}'])
  const ok = [
    [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }],
    [{ key: 'dedicated', operator: 'Exists' }],
    [{ operator: 'Exists' }],
    [{ key: 'dedicated', value: 'gpu' }]
  ]
  for (const tolerations of ok) t.is(P.taintToleration.filter!(state(pod('p', { spec: { tolerations } }), []), n), undefined, JSON.stringify(tolerations))
  const bad = [
    [{ key: 'dedicated', operator: 'Equal', value: 'cpu' }],
    [{ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }],
    [{ key: '', operator: 'Equal', value: 'gpu' }]
  ]
  for (const tolerations of bad) t.truthy(P.taintToleration.filter!(state(pod('p', { spec: { tolerations } }), []), n), JSON.stringify(tolerations))
})

test('TaintToleration score: untolerated PreferNoSchedule taints counted, normalized in reverse', (t) => {
  const nodes = [node('a'), node('b', { taints: [{ key: 'x', value: '', effect: 'PreferNoSchedule' }] }), node('c', { taints: [{ key: 'x', value: '', effect: 'PreferNoSchedule' }, { key: 'y', value: '', effect: 'PreferNoSchedule' }] })]
  const s = state(pod('p'), nodes)
  const scores = nodes.map((n) => P.taintToleration.score!(s, n))
  t.deepEqual(scores, [0, 1, 2])
  P.taintToleration.normalize!(s, scores, nodes)
  t.deepEqual(scores, [100, 50, 0])
  const tol = state(pod('p', { spec: { tolerations: [{ key: 'x', operator: 'Exists', effect: 'PreferNoSchedule' }] } }), nodes)
  t.deepEqual(nodes.map((n) => P.taintToleration.score!(tol, n)), [0, 0, 1])
})

test('NodeAffinity filter: nodeSelector and required terms (ORed terms, ANDed expressions, every operator, matchFields)', (t) => {
  const n = node('a', { labels: { zone: 'z1', disk: 'ssd', gen: '5' } })
  const f = (spec: Obj): boolean => P.nodeAffinity.filter!(state(pod('p', { spec }), []), n) === undefined
  const req = (...terms: Obj[]): Obj => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } })
  t.true(f({ nodeSelector: { zone: 'z1' } }))
  t.false(f({ nodeSelector: { zone: 'z2' } }))
  t.true(f(req({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1', 'z2'] }, { key: 'disk', operator: 'Exists' }] })))
  t.false(f(req({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }, { key: 'disk', operator: 'DoesNotExist' }] })))
  t.true(f(req({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['z1'] }] }, { matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['4'] }] })))
  t.false(f(req({ matchExpressions: [{ key: 'gen', operator: 'Lt', values: ['5'] }] })))
  t.true(f(req({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['a'] }] })))
  t.false(f(req({})), 'an empty term matches nothing')
  t.false(f({ nodeSelector: { zone: 'z1' }, ...req({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z9'] }] }) }), 'both must hold')
  t.is(P.nodeAffinity.filter!(state(pod('p', { spec: { nodeSelector: { zone: 'z2' } } }), []), n)?.[0], "node(s) didn't match Pod's node affinity/selector")
})

test('NodeAffinity score: sum of matching preferred weights, normalized by the largest', (t) => {
  const nodes = [node('a', { labels: { zone: 'z1' } }), node('b', { labels: { zone: 'z1', disk: 'ssd' } }), node('c')]
  const p = pod('p', { spec: { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [
    { weight: 20, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] } },
    { weight: 60, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } }
  ] } } } })
  const s = state(p, nodes)
  const scores = nodes.map((n) => P.nodeAffinity.score!(s, n))
  t.deepEqual(scores, [20, 80, 0])
  P.nodeAffinity.normalize!(s, scores, nodes)
  t.deepEqual(scores, [25, 100, 0])
})

test('NodePorts: a hostPort conflicts on the same protocol and port when either side is the wildcard or the IPs match', (t) => {
  const n = node('a')
  addPod(n, pod('used', { spec: { containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 53, hostPort: 53, protocol: 'UDP', hostIP: '10.0.0.1' }] }] } }))
  const f = (ports: Obj[]): string[] | undefined => P.nodePorts.filter!(state(pod('p', { spec: { containers: [{ name: 'c', ports }] } }), []), n)
  t.deepEqual(f([{ containerPort: 1, hostPort: 8080 }]), ["node(s) didn't have free ports for the requested pod ports"])
  t.is(f([{ containerPort: 1, hostPort: 8080, protocol: 'UDP' }]), undefined)
  t.is(f([{ containerPort: 1, hostPort: 53, protocol: 'UDP', hostIP: '10.0.0.2' }]), undefined)
  t.truthy(f([{ containerPort: 1, hostPort: 53, protocol: 'UDP' }]))
  t.is(f([{ containerPort: 8080 }]), undefined, 'a containerPort alone takes no host port')
})

test('NodeResourcesFit filter: requests against allocatable minus bound pods, every insufficient resource named, pod count', (t) => {
  const n = node('a', { cpu: '1', memory: '1Gi', pods: 2 })
  addPod(n, pod('x', { cpu: '600m', memory: '512Mi' }))
  const s = (p: PodInfo): string[] | undefined => P.nodeResourcesFit.filter!(state(p, []), n)
  t.is(s(pod('p', { cpu: '400m', memory: '512Mi' })), undefined)
  t.deepEqual(s(pod('p', { cpu: '401m' })), ['Insufficient cpu'])
  t.deepEqual(s(pod('p', { cpu: '2', memory: '2Gi' })), ['Insufficient cpu', 'Insufficient memory'])
  t.deepEqual(s(pod('p', { spec: { containers: [{ name: 'c', resources: { requests: { 'nvidia.com/gpu': '1' } } }] } })), ['Insufficient nvidia.com/gpu'])
  addPod(n, pod('y'))
  t.deepEqual(s(pod('p')), ['Too many pods'])
})

test('LeastAllocated and BalancedAllocation: upstream formulas', (t) => {
  // cpu (4000-1000)*100/4000 = 75, memory (8Gi-6Gi)*100/8Gi = 25 → 50
  t.is(P.leastAllocatedScore([[1000, 4000], [6 * 2 ** 30, 8 * 2 ** 30]]), 50)
  t.is(P.leastAllocatedScore([[5000, 4000], [0, 100]]), 50, 'over capacity scores 0')
  t.is(P.leastAllocatedScore([[1, 0], [0, 100]]), 50, 'no capacity scores 0')
  // fractions 0.25 and 0.75: std 0.25 → 75
  t.is(P.balancedScore([[1000, 4000], [6, 8]]), 75)
  t.is(P.balancedScore([[2000, 4000], [4, 8]]), 100)
  t.is(P.balancedScore([[8000, 4000], [0, 8]]), 50, 'fractions capped at 1')
  // three resources: population standard deviation
  t.is(P.balancedScore([[0, 1], [1, 2], [1, 1]]), Math.trunc((1 - Math.sqrt(((0 - 0.5) ** 2 + 0 + 0.25) / 3)) * 100))
  const n = node('a', { cpu: '4', memory: '8Gi' })
  addPod(n, pod('x', { cpu: '1', memory: '2Gi' }))
  const p = pod('p', { cpu: '1', memory: '2Gi' })
  t.is(P.nodeResourcesFit.score!(state(p, []), n), 50)
  t.is(P.balancedAllocation.score!(state(p, []), n), 100)
  // a pod without requests counts 100m and 200Mi for LeastAllocated
  const empty = node('e', { cpu: '1', memory: '1000Mi' })
  t.is(P.nodeResourcesFit.score!(state(pod('q'), []), empty), Math.trunc((90 + 80) / 2))
})

function spreadNodes (): NodeInfo[] {
  const nodes = [
    node('a', { labels: { zone: 'z1' } }), node('b', { labels: { zone: 'z1' } }),
    node('c', { labels: { zone: 'z2' } }), node('d')
  ]
  for (let i = 0; i < 3; i++) addPod(nodes[0] as NodeInfo, pod(`w${i}`, { labels: { app: 'web' } }))
  addPod(nodes[2] as NodeInfo, pod('w3', { labels: { app: 'web' } }))
  addPod(nodes[2] as NodeInfo, pod('other', { labels: { app: 'db' } }))
  addPod(nodes[2] as NodeInfo, pod('elsewhere', { labels: { app: 'web' }, ns: 'other' }))
  return nodes
}

test('PodTopologySpread filter (DoNotSchedule): skew against the least loaded domain, missing label, selfMatch, minDomains', (t) => {
  const nodes = spreadNodes()
  const c = (over: Obj): Obj => ({ topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } }, ...over }] })
  const run = (spec: Obj): Array<string | undefined> => {
    const s = state(pod('p', { labels: { app: 'web' }, spec }), nodes)
    t.false(P.podTopologySpread.preFilter!(s))
    return nodes.map((n) => P.podTopologySpread.filter!(s, n)?.[0])
  }
  // z1 has 3, z2 has 1 (same namespace only): z1 skew 3+1-1=3 > 1; z2 skew 1+1-1=1
  t.deepEqual(run(c({})), [P.reasons.spread, P.reasons.spread, undefined, P.reasons.spreadLabel])
  t.deepEqual(run(c({ maxSkew: 3 })), [undefined, undefined, undefined, P.reasons.spreadLabel])
  // minDomains 3 > 2 domains: the global minimum is 0, so z2 (1+1-0=2) fails too
  t.deepEqual(run(c({ minDomains: 3 })), [P.reasons.spread, P.reasons.spread, P.reasons.spread, P.reasons.spreadLabel])
  // nodeAffinityPolicy Honor: with a nodeSelector for z1 only, z2 is not a domain: min is z1's 3
  t.deepEqual(run({ ...c({}), nodeSelector: { zone: 'z1' } }), [undefined, undefined, undefined, P.reasons.spreadLabel])
  t.true(P.podTopologySpread.preFilter!(state(pod('p'), nodes)), 'no constraints: skipped')
})

test('PodTopologySpread score (ScheduleAnyway): fewer matching pods score higher; nodes without the key are ignored', (t) => {
  const nodes = spreadNodes()
  const p = pod('p', { labels: { app: 'web' }, spec: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'web' } } }] } })
  const s = state(p, nodes)
  t.false(P.podTopologySpread.preScore!(s, nodes))
  const raw = nodes.map((n) => P.podTopologySpread.score!(s, n))
  const w = Math.log(4 + 2)
  t.deepEqual(raw, [Math.round(3 * w), 0, Math.round(1 * w), 0])
  const norm = [...raw]
  P.podTopologySpread.normalize!(s, norm, nodes)
  t.deepEqual(norm, [Math.trunc(100 * (raw[0]! + 0 - raw[0]!) / raw[0]!), 100, Math.trunc(100 * (raw[0]! - raw[2]!) / raw[0]!), 100])
  const zone = state(pod('p', { labels: { app: 'web' }, spec: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'web' } } }] } }), nodes)
  P.podTopologySpread.preScore!(zone, nodes)
  const zs = nodes.map((n) => P.podTopologySpread.score!(zone, n))
  P.podTopologySpread.normalize!(zone, zs, nodes)
  t.is(zs[3], 0, 'node without the zone label is ignored')
  t.true((zs[2] as number) > (zs[0] as number))
  t.is(zs[0], zs[1])
})

test('defaultNormalizeScore: scaled by the maximum, reversed, all-zero cases', (t) => {
  const a = [0, 5, 10]; P.defaultNormalizeScore(100, false, a); t.deepEqual(a, [0, 50, 100])
  const b = [0, 5, 10]; P.defaultNormalizeScore(100, true, b); t.deepEqual(b, [100, 50, 0])
  const c = [0, 0]; P.defaultNormalizeScore(100, true, c); t.deepEqual(c, [100, 100])
  const d = [0, 0]; P.defaultNormalizeScore(100, false, d); t.deepEqual(d, [0, 0])
  const e = [1, 3]; P.defaultNormalizeScore(100, false, e); t.deepEqual(e, [33, 100])
})

test('weights: the total is TaintToleration·3 + NodeAffinity·2 + PodTopologySpread·2 + NodeResourcesFit·1 + BalancedAllocation·1', (t) => {
  t.deepEqual(defaultProfile().scorers.map((s) => [s.plugin.name, s.weight]), [
    ['TaintToleration', 3], ['NodeAffinity', 2], ['PodTopologySpread', 2], ['NodeResourcesFit', 1], ['NodeResourcesBalancedAllocation', 1]
  ])
  const nodes = [node('a', { labels: { zone: 'z1' } }), node('b', { taints: [{ key: 'x', value: '', effect: 'PreferNoSchedule' }] })]
  addPod(nodes[1] as NodeInfo, pod('x', { cpu: '2', memory: '2Gi' }))
  const p = pod('p', { cpu: '1', memory: '2Gi', spec: { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 5, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] } }] } } } })
  const totals = scoreNodes(state(p, nodes), nodes, defaultProfile())
  // a: taint 100·3 + affinity 100·2 + least ((3000·100/4000=75)+(6·100/8=75))/2=75 + balanced fractions .25/.25 → 100
  t.is(totals[0], 300 + 200 + 75 + 100)
  // b: taint 0 + affinity 0 + least ((1000·100/4000=25)+(4·100/8=50))/2=37 + balanced |.75-.5|/2=.125 → 87
  t.is(totals[1], 0 + 0 + 37 + 87)
})

test('numFeasibleNodesToFind: all below 100, adaptive percentage floored at 5 % and 100 nodes, or the configured one', (t) => {
  t.is(numFeasibleNodesToFind(50), 50)
  t.is(numFeasibleNodesToFind(99), 99)
  t.is(numFeasibleNodesToFind(100), 100)
  t.is(numFeasibleNodesToFind(500), 230)
  t.is(numFeasibleNodesToFind(1000), 420)
  t.is(numFeasibleNodesToFind(5000), 500)
  t.is(numFeasibleNodesToFind(6000), 300)
  t.is(numFeasibleNodesToFind(1000, 50), 500)
  t.is(numFeasibleNodesToFind(1000, 100), 1000)
  t.is(numFeasibleNodesToFind(1000, 1), 100)
})

test('schedulePod: filters in order, a histogram of first-failing reasons, upstream\'s message', (t) => {
  const nodes = [
    node('n1', { taints: [{ key: 'node-role.kubernetes.io/control-plane', value: '', effect: 'NoSchedule' }] }),
    node('n2', { cpu: '1' }), node('n3', { cpu: '500m' })
  ]
  const err = t.throws(() => schedulePod(pod('p', { cpu: '2' }), nodes, defaultProfile()))
  t.true(err instanceof FitError)
  t.is(err.message, '0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.')
  t.is(fitMessage(0, new Map()), 'no nodes available to schedule pods')
  const r = schedulePod(pod('p', { cpu: '800m' }), nodes, defaultProfile())
  t.is(r.node, 'n2')
  t.is(r.feasible, 1)
})

test('schedulePod: picks the best score, ties at random; scans round-robin and stops after enough feasible nodes', (t) => {
  const nodes = [node('big', { cpu: '8', memory: '16Gi' }), node('small', { cpu: '2', memory: '4Gi' })]
  t.is(schedulePod(pod('p', { cpu: '1', memory: '1Gi' }), nodes, defaultProfile()).node, 'big')
  const same = [node('a'), node('b'), node('c')]
  const picks = new Set<string>()
  for (let i = 0; i < 60; i++) picks.add(schedulePod(pod('p'), same, defaultProfile()).node)
  t.deepEqual([...picks].sort(), ['a', 'b', 'c'])
  const many = Array.from({ length: 1000 }, (_, i) => node(`n${i}`))
  const cursor = { next: 0 }
  const r = schedulePod(pod('p'), many, defaultProfile(), cursor)
  t.is(r.evaluated, 420)
  t.is(r.feasible, 420)
  t.is(cursor.next, 420)
  schedulePod(pod('p'), many, defaultProfile(), cursor)
  t.is(cursor.next, 840)
  const r3 = schedulePod(pod('p'), many, defaultProfile(), cursor)
  t.is(cursor.next, 260, 'wraps around')
  t.true(r3.scores.has('n999') && r3.scores.has('n0'))
})

test('PodTopologySpread system defaults: hostname maxSkew 3 and zone maxSkew 5 from the pod\'s Services and ReplicaSets; nodes without a key are scored, not ignored', (t) => {
  const p = pod('p', { labels: { app: 'web', tier: 'fe' } })
  t.is(P.defaultSelector(p, [{ app: 'db' }], []), undefined)
  t.is(P.defaultSelector(p, [], [{ matchLabels: {}, matchExpressions: [] }]), undefined, 'an empty RS selector is skipped')
  const sel = P.defaultSelector(p, [{ app: 'web' }, { other: 'x' }], [{ matchLabels: { tier: 'fe' }, matchExpressions: [{ key: 'app', operator: 'Exists', values: [] }] }])
  t.deepEqual(sel, { matchLabels: { app: 'web', tier: 'fe' }, matchExpressions: [{ key: 'app', operator: 'Exists', values: [] }] })
  const d = P.withDefaultSpread(p, sel)
  t.true(d.systemDefaultedSpread)
  t.deepEqual(d.spread.map((c) => [c.topologyKey, c.maxSkew, c.whenUnsatisfiable]), [['kubernetes.io/hostname', 3, 'ScheduleAnyway'], ['topology.kubernetes.io/zone', 5, 'ScheduleAnyway']])
  const own = pod('q', { spec: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: {} }] } })
  t.is(P.withDefaultSpread(own, sel), own, 'a pod with its own constraints keeps them')
  const nodes = [node('a'), node('b')]
  for (let i = 0; i < 2; i++) addPod(nodes[0] as NodeInfo, pod(`w${i}`, { labels: { app: 'web', tier: 'fe' } }))
  const s = state(d, nodes)
  t.false(P.podTopologySpread.preScore!(s, nodes))
  const scores = nodes.map((n) => P.podTopologySpread.score!(s, n))
  t.deepEqual(scores, [Math.round(2 * Math.log(4) + 2), 2], 'no zone labels: only the hostname constraint counts, and no node is ignored')
  P.podTopologySpread.normalize!(s, scores, nodes)
  t.true((scores[1] as number) > (scores[0] as number))
})
