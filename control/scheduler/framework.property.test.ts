/** Properties of a cycle over random clusters: the chosen node passes every filter and has the top score; normalized scores stay in 0..100. */
import test from 'ava'
import fc from 'fast-check'
import { addPod, parseNode, parsePod } from './model.js'
import type { NodeInfo, Obj } from './model.js'
import { defaultProfile, FitError, schedulePod, scoreNodes } from './framework.js'
import { defaultFilters, defaultScorers } from './plugins.js'

const zone = fc.constantFrom('z1', 'z2', 'z3')
const taint = fc.record({ key: fc.constantFrom('a', 'b'), value: fc.constantFrom('', 'x'), effect: fc.constantFrom('NoSchedule', 'PreferNoSchedule', 'NoExecute') })
const nodeArb = fc.record({
  cpu: fc.integer({ min: 0, max: 8000 }),
  memMi: fc.integer({ min: 0, max: 16384 }),
  pods: fc.integer({ min: 0, max: 5 }),
  zone: fc.option(zone, { nil: undefined }),
  taints: fc.array(taint, { maxLength: 2 }),
  unschedulable: fc.boolean(),
  load: fc.array(fc.record({ cpu: fc.integer({ min: 0, max: 2000 }), app: fc.constantFrom('web', 'db') }), { maxLength: 4 })
})
const podArb = fc.record({
  cpu: fc.option(fc.integer({ min: 1, max: 3000 }), { nil: undefined }),
  memMi: fc.option(fc.integer({ min: 1, max: 4096 }), { nil: undefined }),
  selectorZone: fc.option(zone, { nil: undefined }),
  preferZone: fc.option(zone, { nil: undefined }),
  tolerate: fc.boolean(),
  spread: fc.constantFrom('none', 'hard-zone', 'soft-host', 'soft-zone'),
  hostPort: fc.option(fc.constantFrom(80, 443), { nil: undefined })
})

function build (ns: Array<{ cpu: number, memMi: number, pods: number, zone: string | undefined, taints: Obj[], unschedulable: boolean, load: Array<{ cpu: number, app: string }> }>): NodeInfo[] {
  return ns.map((n, i) => {
    const node = parseNode({
      metadata: { name: `n${i}`, labels: { 'kubernetes.io/hostname': `n${i}`, ...(n.zone !== undefined ? { zone: n.zone } : {}) } },
      spec: { taints: n.taints, unschedulable: n.unschedulable },
      status: { allocatable: { cpu: `${n.cpu}m`, memory: `${n.memMi}Mi`, pods: String(n.pods) } }
    })
    n.load.forEach((l, j) => addPod(node, parsePod({ metadata: { name: `l${i}-${j}`, namespace: 'default', labels: { app: l.app } }, spec: { containers: [{ name: 'c', resources: { requests: { cpu: `${l.cpu}m` } }, ports: j === 0 ? [{ containerPort: 1, hostPort: 80 }] : [] }] } })))
    return node
  })
}

test('the chosen node passes every filter and has the highest total; a FitError counts each node once per reason', (t) => {
  fc.assert(fc.property(fc.array(nodeArb, { minLength: 1, maxLength: 12 }), podArb, (ns, p) => {
    const nodes = build(ns)
    const requests: Obj = {}
    if (p.cpu !== undefined) requests.cpu = `${p.cpu}m`
    if (p.memMi !== undefined) requests.memory = `${p.memMi}Mi`
    const spread = p.spread === 'none' ? [] : [{ maxSkew: 1, topologyKey: p.spread.endsWith('zone') ? 'zone' : 'kubernetes.io/hostname', whenUnsatisfiable: p.spread.startsWith('hard') ? 'DoNotSchedule' : 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'web' } } }]
    const pod = parsePod({
      metadata: { name: 'p', namespace: 'default', labels: { app: 'web' } },
      spec: {
        containers: [{ name: 'c', resources: { requests }, ports: p.hostPort !== undefined ? [{ containerPort: 1, hostPort: p.hostPort }] : [] }],
        ...(p.selectorZone !== undefined ? { nodeSelector: { zone: p.selectorZone } } : {}),
        ...(p.preferZone !== undefined ? { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: [p.preferZone] }] } }] } } } : {}),
        ...(p.tolerate ? { tolerations: [{ operator: 'Exists' }] } : {}),
        topologySpreadConstraints: spread
      }
    })
    const state = { pod, allNodes: nodes }
    const active = defaultFilters.filter((f) => f.preFilter === undefined || !f.preFilter(state))
    const fits = (n: NodeInfo): boolean => active.every((f) => f.filter!(state, n) === undefined)
    const feasible = nodes.filter(fits)
    try {
      const r = schedulePod(pod, nodes, defaultProfile(), { next: 0 })
      const chosen = nodes.find((n) => n.name === r.node)!
      t.true(fits(chosen))
      t.is(r.feasible, feasible.length)
      if (feasible.length > 1) {
        const totals = scoreNodes({ pod, allNodes: nodes }, feasible, defaultProfile())
        const max = Math.max(...totals)
        t.is(totals[feasible.indexOf(chosen)], max)
        t.true(max <= 100 * defaultScorers.reduce((a, s) => a + s.weight, 0))
      }
    } catch (e) {
      if (!(e instanceof FitError)) throw e
      t.is(feasible.length, 0)
      // each node fails on its first failing filter, which may name several resources
      let total = 0
      for (const v of e.histogram.values()) total += v
      t.true(total >= nodes.length)
      t.regex(e.message, new RegExp(`^0/${nodes.length} nodes are available: `))
    }
  }), { numRuns: 400 })
})

test('each scorer\'s normalized scores stay within 0..100', (t) => {
  fc.assert(fc.property(fc.array(nodeArb, { minLength: 2, maxLength: 10 }), fc.constantFrom('soft-host', 'soft-zone', 'none'), (ns, spread) => {
    const nodes = build(ns)
    const pod = parsePod({
      metadata: { name: 'p', namespace: 'default', labels: { app: 'web' } },
      spec: {
        containers: [{ name: 'c' }],
        affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 7, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] } }] } },
        topologySpreadConstraints: spread === 'none' ? [] : [{ maxSkew: 2, topologyKey: spread === 'soft-zone' ? 'zone' : 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'web' } } }]
      }
    })
    const state = { pod, allNodes: nodes }
    for (const { plugin } of defaultScorers) {
      if (plugin.preScore !== undefined && plugin.preScore(state, nodes)) continue
      const scores = nodes.map((n) => plugin.score!(state, n))
      plugin.normalize?.(state, scores, nodes)
      for (const s of scores) t.true(Number.isInteger(s) && s >= 0 && s <= 100, `${plugin.name}: ${s}`)
    }
  }), { numRuns: 300 })
})
