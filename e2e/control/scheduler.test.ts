/**
 * `weft scheduler` against an in-process API server with fake Node objects
 * (no kubelets): every plugin decides a real placement, unschedulable pods
 * get FailedScheduling events and PodScheduled=False and bind once a node
 * that fits appears, and two schedulers elect one leader on the Lease.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { execa } from 'execa'
import { pino } from 'pino'
import { startApiserver } from '../../control/apiserver/index.js'
import { KubeClient, microTime } from '../../control/client/index.js'
import type { Obj } from '../../control/client/index.js'
import { startScheduler } from '../../control/scheduler/index.js'
import type { RunningScheduler, SchedulerOptions } from '../../control/scheduler/index.js'
import { repoRoot } from '../harness/index.js'

const silent = pino({ level: 'silent' })

async function cluster (t: ExecutionContext): Promise<{ client: KubeClient, kubeconfig: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-sched-'))
  const api = await startApiserver({
    securePort: 0, bindAddress: '127.0.0.1', dataDir: dir, storageBackend: 'memory',
    serviceClusterIpRange: '10.96.0.0/12', serviceNodePortRange: '30000-32767', etcdCompactionInterval: 0, logLevel: 'silent'
  }, silent)
  const client = await KubeClient.fromKubeconfig(api.kubeconfig)
  t.teardown(async () => { client.close(); await api.stop(); fs.rmSync(dir, { recursive: true, force: true }) })
  return { client, kubeconfig: api.kubeconfig }
}

async function scheduler (t: ExecutionContext, kubeconfig: string, o: Partial<SchedulerOptions> = {}): Promise<RunningScheduler> {
  const s = await startScheduler({ kubeconfig, leaderElect: false, backoffInitialMs: 200, backoffMaxMs: 1000, ...o }, silent)
  t.teardown(async () => { await s.stop() })
  return s
}

async function addNode (c: KubeClient, name: string, o: { cpu?: string, labels?: Record<string, string>, taints?: Obj[], unschedulable?: boolean, pods?: number } = {}): Promise<void> {
  await c.create({ resource: 'nodes' }, {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
    spec: { ...(o.taints !== undefined ? { taints: o.taints } : {}), ...(o.unschedulable === true ? { unschedulable: true } : {}) }
  })
  const res = { cpu: o.cpu ?? '2', memory: '4Gi', pods: String(o.pods ?? 110) }
  await c.patch({ resource: 'nodes', name, subresource: 'status' }, { status: { capacity: res, allocatable: res, conditions: [{ type: 'Ready', status: 'True' }] } })
}

async function addPod (c: KubeClient, name: string, spec: Obj = {}, o: { cpu?: string, labels?: Record<string, string> } = {}): Promise<void> {
  const { containers, ...rest } = spec
  await c.create({ resource: 'pods', namespace: 'default' }, {
    metadata: { name, labels: o.labels ?? {} },
    spec: { containers: containers ?? [{ name: 'c', image: 'weft/echo', resources: { requests: { cpu: o.cpu ?? '100m', memory: '64Mi' } } }], ...rest }
  })
}

async function waitFor<T> (what: string, fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const nodeOf = async (c: KubeClient, name: string): Promise<string | undefined> => {
  const p = await c.get({ resource: 'pods', namespace: 'default', name })
  const n = (p.spec as Obj).nodeName
  return typeof n === 'string' && n !== '' ? n : undefined
}

const eventsOf = async (c: KubeClient, pod: string, reason: string): Promise<Obj[] | undefined> => {
  const { items } = await c.list({ resource: 'events', namespace: 'default' })
  const mine = items.filter((e) => (e.involvedObject as Obj).name === pod && e.reason === reason)
  return mine.length > 0 ? mine : undefined
}

test('each plugin decides a placement; failures are FailedScheduling events and PodScheduled=False with upstream\'s message', async (t) => {
  const { client, kubeconfig } = await cluster(t)
  await addNode(client, 'n1', { labels: { zone: 'a', disk: 'ssd' } })
  await addNode(client, 'n2', { labels: { zone: 'b' }, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] })
  await addNode(client, 'n3', { labels: { zone: 'b' }, unschedulable: true, cpu: '1' })
  await scheduler(t, kubeconfig)

  // NodeAffinity (nodeSelector)
  await addPod(client, 'ssd', { nodeSelector: { disk: 'ssd' } })
  t.is(await waitFor('ssd bound', async () => await nodeOf(client, 'ssd')), 'n1')
  const ev = await waitFor('Scheduled event', async () => await eventsOf(client, 'ssd', 'Scheduled'))
  t.is(ev[0]!.message, 'Successfully assigned default/ssd to n1')
  t.is(ev[0]!.type, 'Normal')
  t.is((ev[0]!.source as Obj).component, 'default-scheduler')
  const bound = await client.get({ resource: 'pods', namespace: 'default', name: 'ssd' })
  t.like(((bound.status as Obj).conditions as Obj[]).find((c) => c.type === 'PodScheduled'), { status: 'True' })

  // TaintToleration + required NodeAffinity + NodeUnschedulable: zone b with the toleration → n2 (n3 is cordoned)
  await addPod(client, 'gpu', {
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }],
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }] } } }
  })
  t.is(await waitFor('gpu bound', async () => await nodeOf(client, 'gpu')), 'n2')

  // preferred NodeAffinity: equal otherwise (tolerating everything, even the cordon), the preferred node wins
  for (const [name, want] of [['prefers-n3', 'n3'], ['prefers-n1', 'n1']] as const) {
    await addPod(client, name, {
      tolerations: [{ operator: 'Exists' }],
      affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [want] }] } }] } }
    })
    t.is(await waitFor(`${name} bound`, async () => await nodeOf(client, name)), want)
  }

  // nothing fits: one reason per node
  await addPod(client, 'nowhere', { nodeSelector: { zone: 'b' } }, { cpu: '100m' })
  const fe = await waitFor('FailedScheduling', async () => await eventsOf(client, 'nowhere', 'FailedScheduling'))
  t.is(fe[0]!.type, 'Warning')
  t.is(fe[0]!.message, '0/3 nodes are available: 1 node(s) didn\'t match Pod\'s node affinity/selector, 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.')
  const cond = await waitFor('PodScheduled=False', async () => {
    const p = await client.get({ resource: 'pods', namespace: 'default', name: 'nowhere' })
    return (((p.status as Obj).conditions ?? []) as Obj[]).find((c) => c.type === 'PodScheduled' && c.status === 'False')
  })
  t.is(cond.reason, 'Unschedulable')
  t.is(cond.message, fe[0]!.message)
  t.is(await nodeOf(client, 'nowhere'), undefined)
  // a node change moves it back; it fails the same way: one Event, its count goes up (client-go's correlator)
  await client.patch({ resource: 'nodes', name: 'n1' }, { metadata: { labels: { touched: 'yes' } } })
  const again = await waitFor('count 2', async () => {
    const evs = await eventsOf(client, 'nowhere', 'FailedScheduling')
    return evs !== undefined && evs.some((e) => Number(e.count) >= 2) ? evs : undefined
  })
  t.is(again.length, 1)

  // NodeResourcesFit: 3 CPUs fit nowhere
  await addPod(client, 'huge', {}, { cpu: '3' })
  const he = await waitFor('FailedScheduling huge', async () => await eventsOf(client, 'huge', 'FailedScheduling'))
  t.is(he[0]!.message, '0/3 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.')

  // NodePorts: the second pod asking hostPort 8080 on n1 does not fit
  const hp = (n: string): Obj => ({ nodeSelector: { zone: 'a' }, containers: [{ name: 'c', image: 'weft/echo', ports: [{ containerPort: 80, hostPort: 8080 }] }] })
  await addPod(client, 'port-1', hp('1'))
  t.is(await waitFor('port-1 bound', async () => await nodeOf(client, 'port-1')), 'n1')
  await addPod(client, 'port-2', hp('2'))
  const pe = await waitFor('FailedScheduling port-2', async () => await eventsOf(client, 'port-2', 'FailedScheduling'))
  t.regex(String(pe[0]!.message), /1 node\(s\) didn't have free ports for the requested pod ports/)

  // a pod for another scheduler is left alone
  await addPod(client, 'other', { schedulerName: 'someone-else' })
  await new Promise((r) => setTimeout(r, 500))
  t.is(await nodeOf(client, 'other'), undefined)
  t.is(await eventsOf(client, 'other', 'FailedScheduling'), undefined)
})

test('PodTopologySpread: hostname constraint spreads 6 pods 2 per node, a zone constraint picks the emptier zone, a key no node has fails everywhere', async (t) => {
  const { client, kubeconfig } = await cluster(t)
  for (const n of ['a', 'b', 'c']) await addNode(client, n, { labels: { zone: n === 'c' ? 'z2' : 'z1' } })
  await scheduler(t, kubeconfig)
  const spread = { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } }] }
  for (let i = 0; i < 6; i++) await addPod(client, `web-${i}`, spread, { labels: { app: 'web' } })
  const placed = await waitFor('6 bound', async () => {
    const nodes = await Promise.all(Array.from({ length: 6 }, async (_, i) => await nodeOf(client, `web-${i}`)))
    return nodes.every((n) => n !== undefined) ? nodes as string[] : undefined
  })
  const per = new Map<string, number>()
  for (const n of placed) per.set(n, (per.get(n) ?? 0) + 1)
  t.deepEqual([...per.values()], [2, 2, 2])
  // zone spread, hard: z1 has 4, z2 has 2; one more must go to z2 (c)
  await addPod(client, 'zonal', { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } }] }, { labels: { app: 'web' } })
  t.is(await waitFor('zonal bound', async () => await nodeOf(client, 'zonal')), 'c')
  // a key no node has: missing required label everywhere
  await addPod(client, 'rack', { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'rack', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } }] }, { labels: { app: 'web' } })
  const ev = await waitFor('FailedScheduling rack', async () => await eventsOf(client, 'rack', 'FailedScheduling'))
  t.regex(String(ev[0]!.message), /^0\/3 nodes are available: 3 node\(s\) didn't match pod topology spread constraints \(missing required label\)\./)
})

test('PodTopologySpread system defaults: pods of a Service spread over hostnames where LeastAllocated alone would stack them', async (t) => {
  const { client, kubeconfig } = await cluster(t)
  await addNode(client, 'big', { cpu: '64' })
  await client.patch({ resource: 'nodes', name: 'big', subresource: 'status' }, { status: { capacity: { cpu: '64', memory: '256Gi', pods: '110' }, allocatable: { cpu: '64', memory: '256Gi', pods: '110' } } })
  await addNode(client, 'small', { cpu: '4' })
  await client.create({ resource: 'services', namespace: 'default' }, { metadata: { name: 'b' }, spec: { selector: { app: 'b' }, ports: [{ port: 80 }] } })
  await scheduler(t, kubeconfig)
  const place = async (prefix: string, app: string): Promise<string[]> => {
    const out: string[] = []
    for (let i = 0; i < 4; i++) {
      await addPod(client, `${prefix}-${i}`, {}, { labels: { app } })
      out.push(await waitFor(`${prefix}-${i} bound`, async () => await nodeOf(client, `${prefix}-${i}`)))
    }
    return out
  }
  t.deepEqual(await place('a', 'a'), ['big', 'big', 'big', 'big'], 'no Service or ReplicaSet: no default spreading, the larger node wins')
  const b = await place('b', 'b')
  t.true(b.includes('small'), `pods of Service b spread: ${b.join(',')}`)
  t.true(b.includes('big'))
})

test('an unschedulable pod binds once a node that fits is added, and when a pod holding the resources is deleted', async (t) => {
  const { client, kubeconfig } = await cluster(t)
  await addNode(client, 'small', { cpu: '1' })
  const s = await scheduler(t, kubeconfig, { backoffInitialMs: 1000, backoffMaxMs: 10_000, podMaxInUnschedulableMs: 300_000 })
  await addPod(client, 'needs-gpu', { nodeSelector: { gpu: 'true' } })
  await waitFor('FailedScheduling', async () => await eventsOf(client, 'needs-gpu', 'FailedScheduling'))
  t.is(await nodeOf(client, 'needs-gpu'), undefined)
  const t0 = Date.now()
  await addNode(client, 'gpu-node', { labels: { gpu: 'true' } })
  t.is(await waitFor('bound after the node was added', async () => await nodeOf(client, 'needs-gpu')), 'gpu-node')
  t.true(Date.now() - t0 < 5000, 'moved by the node event, not a 5-minute flush')

  // resources freed by a deletion
  await addPod(client, 'hog', { nodeSelector: { 'kubernetes.io/hostname': 'small' } }, { cpu: '800m' })
  t.is(await waitFor('hog bound', async () => await nodeOf(client, 'hog')), 'small')
  await addPod(client, 'second', { nodeSelector: { 'kubernetes.io/hostname': 'small' } }, { cpu: '500m' })
  const ev = await waitFor('FailedScheduling second', async () => await eventsOf(client, 'second', 'FailedScheduling'))
  t.regex(String(ev[0]!.message), /1 Insufficient cpu/)
  await client.delete({ resource: 'pods', namespace: 'default', name: 'hog' }, { gracePeriodSeconds: 0 })
  // a bound pod gets a deletionTimestamp first; the kubelet would finish it. There is none here: force it.
  await waitFor('hog gone', async () => {
    try { await client.get({ resource: 'pods', namespace: 'default', name: 'hog' }); return undefined } catch { return true }
  })
  t.is(await waitFor('second bound after hog was deleted', async () => await nodeOf(client, 'second')), 'small')
  t.true(s.stats.failedAttempts >= 2)
})

test('Lease times are MicroTime: six fractional digits, UTC', (t) => {
  t.is(microTime(Date.UTC(2026, 10, 22, 10, 0, 0, 0)), '2026-11-22T10:00:00.000000Z')
  t.is(microTime(Date.UTC(2026, 10, 22, 10, 0, 1, 234)), '2026-11-22T10:00:01.234000Z')
})

test('leader election: of two schedulers only the Lease holder binds; the other takes over when it stops', async (t) => {
  const { client, kubeconfig } = await cluster(t)
  await addNode(client, 'n1')
  const le = { leaderElect: true, leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 200 }
  const a = await scheduler(t, kubeconfig, { ...le, identity: 'sched-a' })
  await waitFor('a leads', async () => (a.isLeader() ? true : undefined))
  const b = await scheduler(t, kubeconfig, { ...le, identity: 'sched-b' })
  for (let i = 0; i < 5; i++) await addPod(client, `p${i}`)
  await waitFor('5 bound', async () => (a.stats.bound === 5 ? true : undefined))
  await new Promise((r) => setTimeout(r, 500))
  t.false(b.isLeader())
  t.is(b.stats.bound, 0)
  t.is(b.stats.scheduled, 0)
  const lease = await client.get({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: 'kube-system', name: 'kube-scheduler' })
  const spec = lease.spec as Obj
  t.is(spec.holderIdentity, 'sched-a')
  t.is(spec.leaseDurationSeconds, 3)
  t.regex(String(spec.renewTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
  t.regex(String(spec.acquireTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
  t.is(spec.leaseTransitions, 0)

  await a.stop()
  await waitFor('b leads', async () => (b.isLeader() ? true : undefined), 5000)
  for (let i = 5; i < 8; i++) await addPod(client, `p${i}`)
  await waitFor('3 bound by b', async () => (b.stats.bound === 3 ? true : undefined))
  t.is(a.stats.bound, 5)
  const after = (await client.get({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: 'kube-system', name: 'kube-scheduler' })).spec as Obj
  t.is(after.holderIdentity, 'sched-b')
  t.is(after.leaseTransitions, 1)
})

test('leader election: a holder that stops renewing (crashed, lease not released) is replaced after the lease duration', async (t) => {
  const { client, kubeconfig } = await cluster(t)
  const now = new Date(Date.now()).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
  await client.create({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: 'kube-system' }, {
    metadata: { name: 'kube-scheduler', namespace: 'kube-system' },
    spec: { holderIdentity: 'crashed', leaseDurationSeconds: 2, acquireTime: now, renewTime: now, leaseTransitions: 4 }
  })
  await addNode(client, 'n1')
  const t0 = Date.now()
  const b = await scheduler(t, kubeconfig, { leaderElect: true, leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 200, identity: 'sched-b' })
  await addPod(client, 'p')
  await new Promise((r) => setTimeout(r, 1000))
  t.false(b.isLeader(), 'the lease is still held')
  t.is(await nodeOf(client, 'p'), undefined)
  t.is(await waitFor('p bound', async () => await nodeOf(client, 'p'), 8000), 'n1')
  t.true(Date.now() - t0 >= 2000)
  const spec = (await client.get({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: 'kube-system', name: 'kube-scheduler' })).spec as Obj
  t.is(spec.holderIdentity, 'sched-b')
  t.is(spec.leaseTransitions, 5)
})

test('the binary: `weft scheduler --kubeconfig` binds pods and exits 0 on SIGTERM, releasing the Lease; bad flags exit non-zero with a code', async (t) => {
  const { client, kubeconfig } = await cluster(t)
  await addNode(client, 'n1')
  const child = execa(path.join(repoRoot, 'bin', 'weft'), ['scheduler', '--kubeconfig', kubeconfig, '--log-level', 'info'], { reject: false })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  await addPod(client, 'p')
  t.is(await waitFor('p bound by the binary', async () => await nodeOf(client, 'p'), 20_000), 'n1')
  child.kill('SIGTERM')
  const r = await child
  t.is(r.exitCode, 0)
  t.regex(String(r.stderr), /"msg":"caches synced; scheduling"/)
  const lease = (await client.get({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: 'kube-system', name: 'kube-scheduler' })).spec as Obj
  t.is(lease.holderIdentity, '', 'released on the way out')
  const bad = await execa(path.join(repoRoot, 'bin', 'weft'), ['scheduler', '--kubeconfig', kubeconfig, '--leader-elect=maybe'], { reject: false })
  t.not(bad.exitCode, 0)
  t.regex(String(bad.stderr), /scheduler: \[SCHED_ERR_FLAGS\] --leader-elect/)
})

test('leader election: a scheduler whose Lease is taken over stops scheduling and ends with SCHED_ERR_LEADER', async (t) => {
  const { client, kubeconfig } = await cluster(t)
  await addNode(client, 'n1')
  const a = await scheduler(t, kubeconfig, { leaderElect: true, leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 200, identity: 'sched-a' })
  await waitFor('a leads', async () => (a.isLeader() ? true : undefined))
  const ref = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: 'kube-system', name: 'kube-scheduler' }
  const lease = await client.get(ref)
  await client.update(ref, { ...lease, spec: { ...(lease.spec as Obj), holderIdentity: 'intruder', renewTime: microTime(Date.now()) } })
  const err = await t.throwsAsync(a.done)
  t.is((err as { code?: string }).code, 'SCHED_ERR_LEADER')
  t.false(a.isLeader())
  await addPod(client, 'late')
  await new Promise((r) => setTimeout(r, 500))
  t.is(await nodeOf(client, 'late'), undefined, 'no longer schedules')
  t.is(((await client.get(ref)).spec as Obj).holderIdentity, 'intruder', 'and does not release a Lease it no longer holds')
})
