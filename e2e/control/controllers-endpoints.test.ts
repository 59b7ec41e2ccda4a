/** weft controller-manager against an in-process API server: EndpointSlices and Endpoints follow pods; node lifecycle taints and evicts; leader election. */
import test from 'ava'
import type { KubeClient, Obj } from '../../control/client/index.js'
import { cluster, m, markRunning, sp, st, waitFor } from './controllers-harness.js'

const slices = async (client: KubeClient, svc: string): Promise<Obj[]> =>
  (await client.list({ group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', namespace: 'default' }, { labelSelector: `kubernetes.io/service-name=${svc}` })).items

const podBody = (name: string, labels: Record<string, string>, extra: Obj = {}): Obj => ({
  metadata: { name, labels },
  spec: { containers: [{ name: 'c', image: 'weft/echo', ports: [{ name: 'web', containerPort: 8080 }] }], ...extra }
})

test('EndpointSlices and Endpoints follow pods: labels, owner, named targetPort, ready/serving/terminating, 100 per slice', async (t) => {
  const c = await cluster(t, { controllers: ['endpointslice', 'endpoint'] })
  const svc = await c.client.create({ resource: 'services', namespace: 'default' }, {
    metadata: { name: 'web', labels: { team: 'a' } },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'web' }] }
  })
  // No pods yet: one placeholder slice.
  const ph = await waitFor('placeholder', async () => { const l = await slices(c.client, 'web'); return l.length === 1 ? l[0] : undefined })
  t.deepEqual(ph.endpoints ?? [], [])
  t.deepEqual(m(ph).labels, { team: 'a', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' })
  t.deepEqual(m(ph).ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: m(svc).uid, controller: true, blockOwnerDeletion: true }])

  const a = await markRunning(c.client, await c.client.create({ resource: 'pods', namespace: 'default' }, podBody('a', { app: 'web' })))
  const b = await markRunning(c.client, await c.client.create({ resource: 'pods', namespace: 'default' }, podBody('b', { app: 'web' })), false)
  await c.client.create({ resource: 'pods', namespace: 'default' }, podBody('other', { app: 'db' }))
  const s1 = await waitFor('two endpoints', async () => {
    const l = await slices(c.client, 'web')
    return l.length === 1 && (l[0]?.endpoints as Obj[] | undefined)?.length === 2 ? l[0] : undefined
  })
  t.is(s1.addressType, 'IPv4')
  t.deepEqual(s1.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }])
  const byName = Object.fromEntries((s1.endpoints as Obj[]).map((e) => [(e.targetRef as Obj).name, e]))
  t.deepEqual(byName.a, { addresses: [st(a).podIP], conditions: { ready: true, serving: true, terminating: false }, targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: m(a).uid } })
  t.deepEqual((byName.b as Obj).conditions, { ready: false, serving: false, terminating: false })
  const ep = await waitFor('Endpoints', async () => { const e = await c.client.get({ resource: 'endpoints', namespace: 'default', name: 'web' }); return Array.isArray(e.subsets) && e.subsets.length === 1 ? e : undefined })
  t.deepEqual(ep.subsets, [{
    addresses: [{ ip: st(a).podIP, targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: m(a).uid } }],
    notReadyAddresses: [{ ip: st(b).podIP, targetRef: { kind: 'Pod', namespace: 'default', name: 'b', uid: m(b).uid } }],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }]
  }])

  // b turns ready; a is deleted.
  await markRunning(c.client, b, true)
  await c.client.delete({ resource: 'pods', namespace: 'default', name: 'a' })
  await waitFor('only b, ready', async () => {
    const l = await slices(c.client, 'web')
    const eps = l.flatMap((s) => (s.endpoints ?? []) as Obj[])
    return eps.length === 1 && (eps[0]?.targetRef as Obj).name === 'b' && (eps[0]?.conditions as Obj).ready === true
  })
  await waitFor('Endpoints: b ready', async () => {
    const e = await c.client.get({ resource: 'endpoints', namespace: 'default', name: 'web' })
    return JSON.stringify(e.subsets) === JSON.stringify([{ addresses: [{ ip: st(b).podIP, targetRef: { kind: 'Pod', namespace: 'default', name: 'b', uid: m(b).uid } }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }])
  })

  // A terminating pod (bound to a node, so deletion is graceful) stays, serving but not ready.
  await c.client.create({ resource: 'nodes' }, { metadata: { name: 'n1' } })
  const term = await markRunning(c.client, await c.client.create({ resource: 'pods', namespace: 'default' }, podBody('t', { app: 'web' }, { nodeName: 'n1' })))
  await waitFor('t listed', async () => (await slices(c.client, 'web')).flatMap((s) => (s.endpoints ?? []) as Obj[]).some((e) => (e.targetRef as Obj).name === 't'))
  await c.client.delete({ resource: 'pods', namespace: 'default', name: 't' }, { gracePeriodSeconds: 30 })
  const te = await waitFor('t terminating', async () => (await slices(c.client, 'web')).flatMap((s) => (s.endpoints ?? []) as Obj[])
    .find((e) => (e.targetRef as Obj).name === 't' && (e.conditions as Obj).terminating === true))
  t.deepEqual(te.conditions, { ready: false, serving: true, terminating: true })
  t.is(te.nodeName, 'n1')
  t.truthy(m(term).uid)

  // 230 pods ⇒ slices of at most 100, every pod exactly once.
  for (let i = 0; i < 230; i++) {
    const p = await c.client.create({ resource: 'pods', namespace: 'default' }, podBody(`bulk-${i}`, { app: 'web' }))
    await markRunning(c.client, p)
  }
  const all = await waitFor('232 endpoints', async () => {
    const l = await slices(c.client, 'web')
    const n = l.reduce((s, x) => s + ((x.endpoints ?? []) as Obj[]).length, 0)
    return n === 232 ? l : undefined
  }, 30_000)
  t.true(all.every((s) => ((s.endpoints ?? []) as Obj[]).length <= 100), all.map((s) => ((s.endpoints ?? []) as Obj[]).length).join(','))
  t.is(all.length, 3)
  const names = all.flatMap((s) => ((s.endpoints ?? []) as Obj[]).map((e) => (e.targetRef as Obj).name))
  t.is(new Set(names).size, 232)
})

test('node lifecycle: a lease that stops ⇒ Ready Unknown, unreachable taints, pods marked not ready and evicted after their tolerationSeconds; taints go when the node is back', async (t) => {
  const c = await cluster(t, { controllers: ['nodelifecycle'], nodeMonitorGracePeriodMs: 1500, nodeMonitorPeriodMs: 200 })
  const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
  const micro = (): string => new Date().toISOString().replace(/Z$/, '000Z')
  await c.client.create({ resource: 'nodes' }, { metadata: { name: 'n1' } })
  await c.client.patch({ resource: 'nodes', name: 'n1', subresource: 'status' }, { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: now(), lastTransitionTime: now() }] } })
  await c.client.create({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: 'kube-node-lease' }, { metadata: { name: 'n1' }, spec: { holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime: micro() } })
  let renewing = true
  const renew = (async () => {
    while (renewing) {
      await c.client.patch({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: 'kube-node-lease', name: 'n1' }, { spec: { renewTime: micro() } }).catch(() => {})
      await new Promise((r) => setTimeout(r, 200))
    }
  })()
  t.teardown(async () => { renewing = false; await renew })
  const tol = (secs: number): Obj => ({ tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: secs }] })
  const quick = await markRunning(c.client, await c.client.create({ resource: 'pods', namespace: 'default' }, podBody('quick', { app: 'x' }, { nodeName: 'n1', ...tol(1) })))
  await markRunning(c.client, await c.client.create({ resource: 'pods', namespace: 'default' }, podBody('slow', { app: 'x' }, { nodeName: 'n1', ...tol(3600) })))
  await markRunning(c.client, await c.client.create({ resource: 'pods', namespace: 'default' }, podBody('forever', { app: 'x' }, { nodeName: 'n1', tolerations: [{ operator: 'Exists' }] })))
  // Healthy for well over the grace period while the lease is renewed.
  await new Promise((r) => setTimeout(r, 2500))
  let node = await c.client.get({ resource: 'nodes', name: 'n1' })
  t.is(((st(node).conditions as Obj[])[0] as Obj).status, 'True')
  t.deepEqual(sp(node).taints ?? [], [])

  renewing = false
  await renew
  const stoppedAt = Date.now()
  node = await waitFor('Ready Unknown and tainted', async () => {
    const n = await c.client.get({ resource: 'nodes', name: 'n1' })
    const ready = (st(n).conditions as Obj[]).find((x) => x.type === 'Ready')
    return ready?.status === 'Unknown' && Array.isArray(sp(n).taints) && (sp(n).taints as Obj[]).length === 2 ? n : undefined
  }, 10_000)
  const took = Date.now() - stoppedAt
  t.true(took >= 1200 && took < 4000, `noticed after ${took} ms (grace 1.5 s)`)
  t.like((st(node).conditions as Obj[])[0], { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' })
  t.deepEqual((sp(node).taints as Obj[]).map((x) => `${String(x.key)}:${String(x.effect)}`).sort(), ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule'])
  // Pods are marked not ready at once, quick goes after its 1 s toleration, the others stay.
  await waitFor('slow not ready', async () => ((st(await c.client.get({ resource: 'pods', namespace: 'default', name: 'slow' })).conditions as Obj[]).find((x) => x.type === 'Ready') as Obj).status === 'False')
  await waitFor('quick evicted', async () => { try { await c.client.get({ resource: 'pods', namespace: 'default', name: 'quick' }); return false } catch { return true } }, 10_000)
  t.truthy(m(quick).uid)
  await new Promise((r) => setTimeout(r, 800))
  const left = (await c.client.list({ resource: 'pods', namespace: 'default' })).items.map((p) => m(p).name).sort()
  t.deepEqual(left, ['forever', 'slow'])

  // The kubelet comes back: Ready True ⇒ taints removed.
  await c.client.patch({ resource: 'nodes', name: 'n1', subresource: 'status' }, { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: now(), lastTransitionTime: now() }] } })
  await waitFor('taints removed', async () => { const n = await c.client.get({ resource: 'nodes', name: 'n1' }); return (sp(n).taints as unknown[] | undefined ?? []).length === 0 })
  t.pass()
})

test('a pod without a toleration for a user NoExecute taint is evicted (gracefully: its kubelet is alive)', async (t) => {
  const c = await cluster(t, { controllers: ['nodelifecycle'], nodeMonitorGracePeriodMs: 60_000 })
  await c.client.create({ resource: 'nodes' }, { metadata: { name: 'n1' } })
  await c.client.patch({ resource: 'nodes', name: 'n1', subresource: 'status' }, { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date().toISOString() }] } })
  await c.client.create({ resource: 'pods', namespace: 'default' }, podBody('p', { app: 'x' }, { nodeName: 'n1' }))
  await c.client.create({ resource: 'pods', namespace: 'default' }, podBody('q', { app: 'x' }, { nodeName: 'n1', tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoExecute' }] }))
  await c.client.patch({ resource: 'nodes', name: 'n1' }, { spec: { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoExecute' }] } })
  const p = await waitFor('p terminating', async () => { const x = await c.client.get({ resource: 'pods', namespace: 'default', name: 'p' }); return m(x).deletionTimestamp !== undefined ? x : undefined })
  t.is(m(p).deletionGracePeriodSeconds, 30)
  await new Promise((r) => setTimeout(r, 500))
  t.is(m(await c.client.get({ resource: 'pods', namespace: 'default', name: 'q' })).deletionTimestamp, undefined)
})

test('a kubelet reporting Ready=False gets the not-ready taints (while heartbeats are fresh), removed when it reports Ready again', async (t) => {
  const c = await cluster(t, { controllers: ['nodelifecycle'], nodeMonitorGracePeriodMs: 60_000 })
  const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
  await c.client.create({ resource: 'nodes' }, { metadata: { name: 'n1' } })
  await c.client.patch({ resource: 'nodes', name: 'n1', subresource: 'status' }, { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'cni config uninitialized', lastHeartbeatTime: now(), lastTransitionTime: now() }] } })
  const n = await waitFor('not-ready taints', async () => {
    const x = await c.client.get({ resource: 'nodes', name: 'n1' })
    return ((sp(x).taints ?? []) as Obj[]).length === 2 ? x : undefined
  })
  t.deepEqual(((sp(n).taints as Obj[]).map((x) => `${String(x.key)}:${String(x.effect)}`)).sort(), ['node.kubernetes.io/not-ready:NoExecute', 'node.kubernetes.io/not-ready:NoSchedule'])
  t.truthy((sp(n).taints as Obj[]).find((x) => x.effect === 'NoExecute')?.timeAdded)
  t.is(((st(n).conditions as Obj[])[0] as Obj).reason, 'KubeletNotReady', 'the kubelet\'s own condition is left alone')
  await c.client.patch({ resource: 'nodes', name: 'n1', subresource: 'status' }, { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: now(), lastTransitionTime: now() }] } })
  await waitFor('taints removed', async () => ((sp(await c.client.get({ resource: 'nodes', name: 'n1' })).taints ?? []) as unknown[]).length === 0)
  t.pass()
})

test('pods bound to a deleted node are force-deleted after the grace period (PodGC)', async (t) => {
  const c = await cluster(t, { controllers: ['nodelifecycle'], nodeMonitorGracePeriodMs: 1000 })
  await c.client.create({ resource: 'nodes' }, { metadata: { name: 'gone' } })
  await c.client.create({ resource: 'nodes' }, { metadata: { name: 'stays' } })
  await c.client.create({ resource: 'pods', namespace: 'default' }, podBody('on-gone', { app: 'x' }, { nodeName: 'gone', tolerations: [{ operator: 'Exists' }] }))
  await c.client.create({ resource: 'pods', namespace: 'default' }, podBody('on-stays', { app: 'x' }, { nodeName: 'stays', tolerations: [{ operator: 'Exists' }] }))
  await new Promise((r) => setTimeout(r, 300))
  await c.client.delete({ resource: 'nodes', name: 'gone' })
  const t0 = Date.now()
  await waitFor('on-gone deleted', async () => { try { await c.client.get({ resource: 'pods', namespace: 'default', name: 'on-gone' }); return false } catch { return true } }, 10_000)
  t.true(Date.now() - t0 >= 900, 'not before the quarantine')
  t.truthy(await c.client.get({ resource: 'pods', namespace: 'default', name: 'on-stays' }))
})

test('leader election: of two controller managers only the Lease holder acts; the other takes over when it stops', async (t) => {
  const c = await cluster(t, false)
  const fast = { leaderElect: true, leaderElectLeaseDurationMs: 2000, leaderElectRenewDeadlineMs: 1500, leaderElectRetryPeriodMs: 200, controllers: ['replicaset'] }
  const one = await c.startCm(fast)
  const twoP = c.startCm(fast)
  let twoLeads = false
  void twoP.then(() => { twoLeads = true })
  const lease = await c.client.get({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: 'kube-system', name: 'kube-controller-manager' })
  t.truthy(sp(lease).holderIdentity)
  await new Promise((r) => setTimeout(r, 1000))
  t.false(twoLeads)
  await one.stop()
  await waitFor('second leads', async () => twoLeads, 10_000)
  await c.client.create({ group: 'apps', version: 'v1', resource: 'replicasets', namespace: 'default' }, { metadata: { name: 'r' }, spec: { replicas: 2, selector: { matchLabels: { app: 'r' } }, template: { metadata: { labels: { app: 'r' } }, spec: { containers: [{ name: 'c', image: 'weft/echo' }] } } } })
  await waitFor('pods by the new leader', async () => (await c.client.list({ resource: 'pods', namespace: 'default' })).items.length === 2)
  t.pass()
})
