import test from 'ava'
import { planSlices, desiredEndpoints, endpointPorts, endpointsSubsets } from './endpointslice.js'
import type { Endpoint, EndpointGroup } from './endpointslice.js'
import { evictionTime, healthTaints, tolerates } from './nodelifecycle.js'
import { compareForDeletion } from './replicaset.js'
import { WorkQueue, runWorkers } from './queue.js'
import { enabledControllers } from './manager.js'
import { parseControllerManagerFlags } from './cli.js'
import { canonical, parseDurationMs } from './util.js'
import type { Obj } from './util.js'

const ep = (i: number, ready = true): Endpoint => ({
  addresses: [`10.0.${Math.floor(i / 250)}.${i % 250}`],
  conditions: { ready, serving: ready, terminating: false },
  targetRef: { kind: 'Pod', namespace: 'ns', name: `p${i}`, uid: `u${String(i).padStart(4, '0')}` }
})
const ports = [{ name: 'http', port: 80, protocol: 'TCP' }]
const group = (eps: Endpoint[]): Map<string, EndpointGroup> => new Map([[canonical(ports), { ports, endpoints: eps }]])
const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i)

test('slice packing: 250 endpoints into 100+100+50, nothing else', (t) => {
  const plan = planSlices([], group(range(0, 250).map((i) => ep(i))), 100)
  t.deepEqual(plan.create.map((c) => c.endpoints.length), [100, 100, 50])
  t.deepEqual(plan.update, [])
  t.deepEqual(plan.delete, [])
})

test('slice packing: an unchanged set writes nothing; one changed endpoint rewrites only its slice', (t) => {
  const existing = [{ name: 's1', ports, endpoints: range(0, 100).map((i) => ep(i)) }, { name: 's2', ports, endpoints: range(100, 150).map((i) => ep(i)) }]
  const same = planSlices(existing, group(range(0, 150).map((i) => ep(i))), 100)
  t.deepEqual(same, { create: [], update: [], delete: [] })
  const changed = planSlices(existing, group(range(0, 150).map((i) => ep(i, i !== 120))), 100)
  t.deepEqual(changed.update.map((u) => u.name), ['s2'])
  t.false(changed.update[0]?.endpoints.find((e) => e.targetRef.name === 'p120')?.conditions.ready)
})

test('slice packing: new endpoints fill the fullest slice they fit in; gone ones are removed; empty slices deleted', (t) => {
  const existing = [{ name: 'full', ports, endpoints: range(0, 90).map((i) => ep(i)) }, { name: 'small', ports, endpoints: range(90, 95).map((i) => ep(i)) }]
  const plan = planSlices(existing, group([...range(0, 95), ...range(200, 205)].map((i) => ep(i))), 100)
  t.deepEqual(plan.update.map((u) => [u.name, u.endpoints.length]), [['full', 95]])
  t.deepEqual(plan.create, [])
  const shrink = planSlices(existing, group(range(0, 90).map((i) => ep(i))), 100)
  t.deepEqual(shrink.delete, ['small'])
  t.deepEqual(shrink.update, [])
})

test('slice packing: a service without endpoints keeps exactly one empty placeholder slice', (t) => {
  t.deepEqual(planSlices([], new Map(), 100), { create: [{ ports: [], endpoints: [] }], update: [], delete: [] })
  const plan = planSlices([{ name: 'a', ports, endpoints: [ep(1)] }, { name: 'ph', ports: [], endpoints: [] }], new Map(), 100)
  t.deepEqual(plan, { create: [], update: [], delete: ['a'] })
  // Once endpoints exist the placeholder goes.
  const back = planSlices([{ name: 'ph', ports: [], endpoints: [] }], group([ep(1)]), 100)
  t.deepEqual(back.delete, ['ph'])
  t.is(back.create.length, 1)
})

test('slice packing never exceeds the maximum (property over random churn)', (t) => {
  let existing: Array<{ name: string, ports: typeof ports, endpoints: Endpoint[] }> = []
  let seq = 0
  for (let round = 0; round < 30; round++) {
    const ids = range(0, 400).filter((i) => (i * 7919 + round * 31) % 5 !== 0).slice(0, 50 + (round * 37) % 300)
    const plan = planSlices(existing, group(ids.map((i) => ep(i, (i + round) % 3 !== 0))), 100)
    const next = existing.filter((s) => !plan.delete.includes(s.name)).map((s) => plan.update.find((u) => u.name === s.name) ?? s)
    for (const c of plan.create) next.push({ name: `n${seq++}`, ports, endpoints: c.endpoints })
    for (const s of next) t.true(s.endpoints.length <= 100)
    const got = next.flatMap((s) => s.endpoints.map((e) => e.targetRef.uid)).sort()
    t.deepEqual(got, ids.map((i) => ep(i).targetRef.uid).sort(), `round ${round}`)
    existing = next
  }
})

const pod = (name: string, o: { ready?: boolean, ip?: string, labels?: Record<string, string>, deleting?: boolean, phase?: string, node?: string, ports?: Obj[] } = {}): Obj => ({
  metadata: { name, namespace: 'ns', uid: `uid-${name}`, labels: o.labels ?? { app: 'web' }, ...(o.deleting === true ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  spec: { ...(o.node !== undefined ? { nodeName: o.node } : {}), containers: [{ name: 'c', ports: o.ports ?? [{ name: 'web', containerPort: 8080 }] }] },
  status: { phase: o.phase ?? 'Running', ...(o.ip !== undefined ? { podIP: o.ip, podIPs: [{ ip: o.ip }] } : {}), conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] }
})
const svc: Obj = { metadata: { name: 'web', namespace: 'ns', uid: 's1' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' }] } }

test('endpoints: ready/serving/terminating conditions, named targetPort per pod, pods without IP or terminal skipped', (t) => {
  const pods = [
    pod('a', { ip: '10.0.0.1', node: 'n1' }),
    pod('b', { ip: '10.0.0.2', ready: false }),
    pod('c', { ip: '10.0.0.3', deleting: true }),
    pod('d', {}),
    pod('e', { ip: '10.0.0.5', phase: 'Succeeded' }),
    pod('f', { ip: '10.0.0.6', labels: { app: 'other' } }),
    pod('g', { ip: '10.0.0.7', ports: [{ name: 'web', containerPort: 9090 }] }),
    pod('h', { ip: 'fd00::8' })
  ]
  const g = desiredEndpoints(svc, pods, 'IPv4')
  const byPort = Object.fromEntries([...g.values()].map((x) => [x.ports[0]?.port, x.endpoints.map((e) => [e.targetRef.name, e.conditions.ready, e.conditions.serving, e.conditions.terminating, e.nodeName ?? ''])]))
  t.deepEqual(byPort, {
    8080: [['a', true, true, false, 'n1'], ['b', false, false, false, ''], ['c', false, true, true, '']],
    9090: [['g', true, true, false, '']]
  })
  t.deepEqual([...desiredEndpoints(svc, pods, 'IPv6').values()].flatMap((x) => x.endpoints.map((e) => e.addresses[0])), ['fd00::8'])
  t.deepEqual(endpointPorts(svc, pod('x', { ports: [{ name: 'other', containerPort: 1 }] })), [], 'unresolvable named port drops the port')
  const pub = desiredEndpoints({ ...svc, spec: { ...svc.spec as Obj, publishNotReadyAddresses: true } }, [pod('b', { ip: '10.0.0.2', ready: false })], 'IPv4')
  t.true([...pub.values()][0]?.endpoints[0]?.conditions.ready)
})

test('legacy Endpoints: ready in addresses, not ready in notReadyAddresses, terminating left out', (t) => {
  const { subsets, truncated } = endpointsSubsets(svc, [pod('b', { ip: '10.0.0.2', ready: false }), pod('a', { ip: '10.0.0.1', node: 'n1' }), pod('c', { ip: '10.0.0.3', deleting: true })])
  t.false(truncated)
  t.deepEqual(subsets, [{
    addresses: [{ ip: '10.0.0.1', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'ns', name: 'a', uid: 'uid-a' } }],
    notReadyAddresses: [{ ip: '10.0.0.2', targetRef: { kind: 'Pod', namespace: 'ns', name: 'b', uid: 'uid-b' } }],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }]
  }])
})

test('tolerations match taints as upstream and give the eviction time', (t) => {
  const unreachable = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: '2026-01-01T00:00:00Z' }
  const t0 = Date.parse(unreachable.timeAdded)
  t.true(tolerates({ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }, unreachable))
  t.true(tolerates({ operator: 'Exists' }, unreachable), 'empty key with Exists tolerates everything')
  t.false(tolerates({ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoSchedule' }, unreachable))
  t.false(tolerates({ key: 'k', value: 'a' }, { key: 'k', value: 'b', effect: 'NoExecute' }))
  t.true(tolerates({ key: 'k', value: 'a' }, { key: 'k', value: 'a', effect: 'NoExecute' }))
  t.is(evictionTime([unreachable], [], t0), 0, 'no toleration: now')
  t.is(evictionTime([unreachable], [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }], t0), t0 + 300_000)
  t.is(evictionTime([unreachable], [{ operator: 'Exists', tolerationSeconds: 5 }, { key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: 2 }], t0), t0 + 2000)
  t.is(evictionTime([unreachable], [{ operator: 'Exists' }], t0), Infinity, 'tolerated forever')
  t.is(evictionTime([{ key: 'x', effect: 'NoSchedule' }], [], t0), Infinity, 'NoSchedule never evicts')
  t.deepEqual(healthTaints('Unknown').map((x) => `${x.key}:${x.effect}`), ['node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute'])
  t.deepEqual(healthTaints('False').map((x) => x.key), ['node.kubernetes.io/not-ready', 'node.kubernetes.io/not-ready'])
  t.deepEqual(healthTaints('True'), [])
})

test('ReplicaSet scale-down deletes unassigned, then pending, then not-ready, then recently ready, then newest pods first', (t) => {
  const p = (name: string, o: { node?: string, phase?: string, ready?: boolean, since?: string, created?: string, restarts?: number }): Obj => ({
    metadata: { name, creationTimestamp: o.created ?? '2026-01-01T00:00:00Z' },
    spec: o.node !== undefined ? { nodeName: o.node } : {},
    status: { phase: o.phase ?? 'Running', conditions: [{ type: 'Ready', status: o.ready === true ? 'True' : 'False', lastTransitionTime: o.since ?? '2026-01-01T00:00:00Z' }], containerStatuses: [{ restartCount: o.restarts ?? 0 }] }
  })
  const pods = [
    p('ready-old', { node: 'n', ready: true, since: '2026-01-01T00:00:00Z' }),
    p('ready-new', { node: 'n', ready: true, since: '2026-01-02T00:00:00Z' }),
    p('unready-restarts', { node: 'n', restarts: 3 }),
    p('unready', { node: 'n' }),
    p('pending', { node: 'n', phase: 'Pending' }),
    p('unassigned', { phase: 'Pending' }),
    p('unready-newer', { node: 'n', created: '2026-01-03T00:00:00Z' })
  ]
  t.deepEqual([...pods].sort(compareForDeletion).map((x) => String((x.metadata as Obj).name)), ['unassigned', 'pending', 'unready-restarts', 'unready-newer', 'unready', 'ready-new', 'ready-old'])
})

test('the work queue hands a key to one worker at a time and re-runs it if it changed meanwhile', async (t) => {
  const q = new WorkQueue({ baseDelayMs: 5 })
  const seen: string[] = []
  let active = 0; let maxActive = 0; let fails = 1
  const done = runWorkers(q, 4, async (k) => {
    active++; maxActive = Math.max(maxActive, active)
    seen.push(k)
    if (seen.length === 1) q.add('a')
    await new Promise((r) => setTimeout(r, 20))
    active--
    if (k === 'b' && fails-- > 0) throw new Error('once')
  }, () => {})
  q.add('a'); q.add('a'); q.add('b')
  await new Promise((r) => setTimeout(r, 200))
  q.shutdown()
  await done
  t.deepEqual(seen.filter((k) => k === 'a').length, 2)
  t.deepEqual(seen.filter((k) => k === 'b').length, 2, 'retried after the failure')
  t.is(maxActive, 2, 'a and b in parallel, never a twice')
})

test('flags: --controllers, durations and errors as kube-controller-manager takes them', (t) => {
  t.deepEqual([...enabledControllers(['*', '-garbagecollector'])].includes('garbagecollector'), false)
  t.deepEqual([...enabledControllers(['replicaset', 'deployment'])], ['replicaset', 'deployment'])
  t.throws(() => enabledControllers(['nope']), { code: 'CTRL_ERR_CONTROLLERS_UNKNOWN_CONTROLLER' })
  t.is(parseDurationMs('1m30s'), 90_000)
  t.is(parseDurationMs('500ms'), 500)
  t.true(Number.isNaN(parseDurationMs('5x')))
  const o = parseControllerManagerFlags({ kubeconfig: '/k', leaderElect: 'false', nodeMonitorGracePeriod: '3s', clusterCidr: '10.244.0.0/16,fd00::/48', nodeCidrMaskSize: '26' })
  t.is(o.leaderElect, false)
  t.is(o.nodeMonitorGracePeriodMs, 3000)
  t.is(o.nodeCidrMaskSizeIpv4, 26)
  t.throws(() => parseControllerManagerFlags({ kubeconfig: '/k', leaderElect: 'yes' }), { code: 'CTRL_ERR_CONTROLLERS_INVALID_FLAG' })
  t.throws(() => parseControllerManagerFlags({}), { code: 'CTRL_ERR_CONTROLLERS_INVALID_FLAG' })
  t.throws(() => parseControllerManagerFlags({ kubeconfig: '/k', maxEndpointsPerSlice: '2000' }), { code: 'CTRL_ERR_CONTROLLERS_INVALID_FLAG' })
})
