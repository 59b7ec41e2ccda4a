/** weft controller-manager against an in-process API server: node IPAM, ReplicaSets, Deployments, garbage collection. */
import test from 'ava'
import type { Obj } from '../../control/client/index.js'
import { autoReady, cluster, m, markRunning, podTemplate, pods, sp, st, waitFor } from './controllers-harness.js'

const apps = (resource: string, name?: string, subresource?: string): { group: string, version: string, resource: string, namespace: string, name?: string, subresource?: string } =>
  ({ group: 'apps', version: 'v1', resource, namespace: 'default', ...(name !== undefined ? { name } : {}), ...(subresource !== undefined ? { subresource } : {}) })

test('node IPAM: each node gets its own podCIDR, kept across a restart of the controllers, released on delete', async (t) => {
  const c = await cluster(t, { controllers: ['nodeipam'], clusterCidr: '10.244.0.0/22,fd00:10:244::/62', nodeCidrMaskSizeIpv4: 24 })
  for (const n of ['n1', 'n2']) await c.client.create({ resource: 'nodes' }, { metadata: { name: n } })
  const cidrs = async (n: string): Promise<string[] | undefined> => {
    const node = await c.client.get({ resource: 'nodes', name: n })
    return Array.isArray(sp(node).podCIDRs) ? sp(node).podCIDRs as string[] : undefined
  }
  const a = await waitFor('n1 podCIDRs', async () => await cidrs('n1'))
  const b = await waitFor('n2 podCIDRs', async () => await cidrs('n2'))
  t.is(a.length, 2)
  t.is(sp(await c.client.get({ resource: 'nodes', name: 'n1' })).podCIDR, a[0])
  t.notDeepEqual(a, b)
  // A fresh controller manager (a restart) must not hand out what n1/n2 hold.
  await c.cm?.stop()
  await c.startCm({ controllers: ['nodeipam'], clusterCidr: '10.244.0.0/22,fd00:10:244::/62' })
  await c.client.create({ resource: 'nodes' }, { metadata: { name: 'n3' } })
  const d = await waitFor('n3 podCIDRs', async () => await cidrs('n3'))
  t.false([...a, ...b].some((x) => d.includes(x)), `n3 got ${d.join(',')}`)
  await c.client.create({ resource: 'nodes' }, { metadata: { name: 'n4' } })
  await waitFor('n4 podCIDRs', async () => await cidrs('n4'))
  // The /22 holds four /24s: a fifth node waits until one is released.
  await c.client.create({ resource: 'nodes' }, { metadata: { name: 'n5' } })
  await new Promise((r) => setTimeout(r, 500))
  t.is(await cidrs('n5'), undefined)
  await c.client.delete({ resource: 'nodes', name: 'n1' })
  const e = await waitFor('n5 podCIDRs after n1 went', async () => await cidrs('n5'), 40_000)
  t.is(e[0], a[0])
})

test('ReplicaSet: pods converge on spec.replicas without over-creating, status follows readiness, scale-down removes not-ready pods first', async (t) => {
  const c = await cluster(t, { controllers: ['replicaset'] })
  await c.client.create(apps('replicasets'), { metadata: { name: 'web' }, spec: { replicas: 5, selector: { matchLabels: { app: 'web' } }, template: podTemplate({ app: 'web', tier: 'x' }) } })
  await waitFor('5 pods', async () => (await pods(c.client, 'default', 'app=web')).length === 5)
  // Stay at five: expectations keep a lagging cache from creating more.
  await new Promise((r) => setTimeout(r, 400))
  const ps = await pods(c.client, 'default', 'app=web')
  t.is(ps.length, 5)
  const rs = await c.client.get(apps('replicasets', 'web'))
  for (const p of ps) {
    t.regex(String(m(p).name), /^web-[a-z0-9]{5}$/)
    t.deepEqual(m(p).ownerReferences, [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: m(rs).uid, controller: true, blockOwnerDeletion: true }])
    t.deepEqual(m(p).labels, { app: 'web', tier: 'x' })
  }
  const readyOnes = ps.slice(0, 3)
  for (const p of readyOnes) await markRunning(c.client, p)
  const s = await waitFor('status', async () => {
    const r = await c.client.get(apps('replicasets', 'web'))
    return st(r).readyReplicas === 3 ? st(r) : undefined
  })
  t.like(s, { replicas: 5, fullyLabeledReplicas: 5, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 })
  await c.client.patch(apps('replicasets', 'web', 'scale'), { spec: { replicas: 3 } })
  const left = await waitFor('3 pods', async () => { const l = await pods(c.client, 'default', 'app=web'); return l.length === 3 ? l : undefined })
  t.deepEqual(left.map((p) => m(p).name).sort(), readyOnes.map((p) => m(p).name).sort(), 'the two not-ready pods went')
  // A pod deleted behind its back is replaced.
  await c.client.delete({ resource: 'pods', namespace: 'default', name: String(m(left[0] as Obj).name) })
  await waitFor('replacement', async () => (await pods(c.client, 'default', 'app=web')).length === 3 && (await pods(c.client, 'default', 'app=web')).every((p) => m(p).name !== m(left[0] as Obj).name))
  await c.client.patch(apps('replicasets', 'web'), { spec: { replicas: 0 } })
  await waitFor('0 pods', async () => (await pods(c.client, 'default', 'app=web')).length === 0)
  await waitFor('status 0', async () => st(await c.client.get(apps('replicasets', 'web'))).replicas === 0)
})

test('ReplicaSet adopts matching orphan pods and releases a pod relabelled out of its selector', async (t) => {
  const c = await cluster(t, { controllers: ['replicaset'] })
  for (const n of ['bare-1', 'bare-2']) await c.client.create({ resource: 'pods', namespace: 'default' }, { metadata: { name: n, labels: { app: 'adopt' } }, spec: podTemplate({}).spec as Obj })
  await c.client.create(apps('replicasets'), { metadata: { name: 'ad' }, spec: { replicas: 3, selector: { matchLabels: { app: 'adopt' } }, template: podTemplate({ app: 'adopt' }) } })
  const rs = await c.client.get(apps('replicasets', 'ad'))
  const owned = await waitFor('3 owned pods', async () => {
    const l = await pods(c.client, 'default', 'app=adopt')
    return l.length === 3 && l.every((p) => ((m(p).ownerReferences ?? []) as Obj[]).some((r) => r.uid === m(rs).uid && r.controller === true)) ? l : undefined
  })
  t.deepEqual(owned.map((p) => String(m(p).name)).filter((n) => n.startsWith('bare-')).sort(), ['bare-1', 'bare-2'], 'the orphans were adopted, one pod created')
  await new Promise((r) => setTimeout(r, 300))
  t.is((await pods(c.client, 'default', 'app=adopt')).length, 3)
  // Relabel bare-1 out of the selector: released (no owner) and replaced.
  await c.client.patch({ resource: 'pods', namespace: 'default', name: 'bare-1' }, { metadata: { labels: { app: 'debug' } } })
  await waitFor('released', async () => ((m(await c.client.get({ resource: 'pods', namespace: 'default', name: 'bare-1' })).ownerReferences ?? []) as unknown[]).length === 0)
  await waitFor('replaced', async () => (await pods(c.client, 'default', 'app=adopt')).length === 3)
  await new Promise((r) => setTimeout(r, 300))
  t.is((await pods(c.client, 'default', 'app=adopt')).length, 3)
})

test('Deployment: first rollout, then a rolling update within maxSurge/maxUnavailable as pods turn Ready, revisions and rollout-status fields', async (t) => {
  const c = await cluster(t, { controllers: ['replicaset', 'deployment'] })
  const kubelet = autoReady(c, t)
  await c.client.create(apps('deployments'), {
    metadata: { name: 'web' },
    spec: { replicas: 4, selector: { matchLabels: { app: 'web' } }, template: podTemplate({ app: 'web' }), strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }
  })
  const done1 = await waitFor('rollout 1', async () => {
    const d = await c.client.get(apps('deployments', 'web'))
    const s = st(d)
    const prog = (s.conditions as Obj[] | undefined)?.find((x) => x.type === 'Progressing')
    return s.availableReplicas === 4 && s.updatedReplicas === 4 && prog?.reason === 'NewReplicaSetAvailable' ? d : undefined
  })
  t.is((m(done1).annotations as Obj)['deployment.kubernetes.io/revision'], '1')
  t.like(st(done1), { replicas: 4, updatedReplicas: 4, readyReplicas: 4, availableReplicas: 4, unavailableReplicas: 0, observedGeneration: 1 })
  const rs1 = (await c.client.list(apps('replicasets'))).items
  t.is(rs1.length, 1)
  const hash1 = String((m(rs1[0] as Obj).labels as Obj)['pod-template-hash'])
  t.is(m(rs1[0] as Obj).name, `web-${hash1}`)
  t.true((await pods(c.client, 'default')).every((p) => (m(p).labels as Obj)['pod-template-hash'] === hash1))

  // Roll to a new image; sample the invariants while it moves.
  await c.client.patch(apps('deployments', 'web'), { spec: { template: { spec: { containers: [{ name: 'c', image: 'weft/shell', ports: [{ name: 'http', containerPort: 8080 }] }] } } } }, 'strategic')
  let maxPods = 0; let minReady = Infinity; let sawBoth = false
  const done2 = await waitFor('rollout 2', async () => {
    const ps = (await pods(c.client, 'default')).filter((p) => m(p).deletionTimestamp === undefined)
    maxPods = Math.max(maxPods, ps.length)
    const ready = ps.filter((p) => ((st(p).conditions ?? []) as Obj[]).some((x) => x.type === 'Ready' && x.status === 'True')).length
    minReady = Math.min(minReady, ready)
    if (new Set(ps.map((p) => (m(p).labels as Obj)['pod-template-hash'])).size > 1) sawBoth = true
    const d = await c.client.get(apps('deployments', 'web'))
    const s = st(d)
    const prog = (s.conditions as Obj[] | undefined)?.find((x) => x.type === 'Progressing')
    return s.observedGeneration === 2 && s.updatedReplicas === 4 && s.replicas === 4 && s.availableReplicas === 4 && prog?.reason === 'NewReplicaSetAvailable' ? d : undefined
  }, 30_000)
  t.true(sawBoth, 'old and new pods ran side by side')
  t.true(maxPods <= 5, `at most replicas+maxSurge pods (saw ${maxPods})`)
  t.true(minReady >= 3, `at least replicas−maxUnavailable ready (saw ${minReady})`)
  t.is((m(done2).annotations as Obj)['deployment.kubernetes.io/revision'], '2')
  const rs2 = (await c.client.list(apps('replicasets'))).items
  t.is(rs2.length, 2)
  const newRs = rs2.find((r) => (m(r).annotations as Obj)['deployment.kubernetes.io/revision'] === '2') as Obj
  const oldRs = rs2.find((r) => r !== newRs) as Obj
  t.is(sp(newRs).replicas, 4)
  t.is(sp(oldRs).replicas, 0)
  t.not((m(newRs).labels as Obj)['pod-template-hash'], hash1)

  // Scale mid-flight-free: 4 → 6 goes to the new RS only.
  await c.client.patch(apps('deployments', 'web', 'scale'), { spec: { replicas: 6 } })
  await waitFor('scaled to 6', async () => st(await c.client.get(apps('deployments', 'web'))).availableReplicas === 6)
  t.is(sp(await c.client.get(apps('replicasets', String(m(newRs).name)))).replicas, 6)

  // A rollout that cannot progress (pods never Ready) stops at maxUnavailable and reports progressing.
  kubelet.pause(true)
  await c.client.patch(apps('deployments', 'web'), { spec: { template: { metadata: { labels: { app: 'web', v: '3' } } } } }, 'strategic')
  await new Promise((r) => setTimeout(r, 1500))
  const stuck = await c.client.get(apps('deployments', 'web'))
  t.true(Number(st(stuck).availableReplicas) >= 5, 'no more than maxUnavailable taken down')
  t.true(Number(st(stuck).updatedReplicas) <= 2, 'only surge+unavailable new pods')
  t.is(((st(stuck).conditions as Obj[]).find((x) => x.type === 'Progressing') as Obj).reason, 'ReplicaSetUpdated')
  kubelet.pause(false)
  await waitFor('rollout 3', async () => { const s = st(await c.client.get(apps('deployments', 'web'))); return s.updatedReplicas === 6 && s.replicas === 6 && s.availableReplicas === 6 }, 30_000)
})

test('Deployment: Recreate takes every old pod down before creating new ones; revisionHistoryLimit prunes old ReplicaSets; rollback reuses the old ReplicaSet', async (t) => {
  const c = await cluster(t, { controllers: ['replicaset', 'deployment'] })
  autoReady(c, t)
  await c.client.create(apps('deployments'), {
    metadata: { name: 'db' },
    spec: { replicas: 2, revisionHistoryLimit: 1, selector: { matchLabels: { app: 'db' } }, template: podTemplate({ app: 'db' }), strategy: { type: 'Recreate' } }
  })
  await waitFor('rollout 1', async () => { const s = st(await c.client.get(apps('deployments', 'db'))); return s.observedGeneration === 1 && s.availableReplicas === 2 })
  const v1 = (await pods(c.client, 'default')).map((p) => (m(p).labels as Obj)['pod-template-hash'])[0]
  await c.client.patch(apps('deployments', 'db'), { spec: { template: { metadata: { labels: { app: 'db', v: '2' } } } } }, 'strategic')
  let mixed = false
  await waitFor('rollout 2', async () => {
    const ps = await pods(c.client, 'default')
    if (new Set(ps.map((p) => (m(p).labels as Obj)['pod-template-hash'])).size > 1) mixed = true
    const s = st(await c.client.get(apps('deployments', 'db')))
    return s.observedGeneration === 2 && s.updatedReplicas === 2 && s.availableReplicas === 2 && s.replicas === 2
  }, 20_000)
  t.false(mixed, 'Recreate never runs old and new pods together')
  // Third template: with revisionHistoryLimit 1 only one old ReplicaSet stays.
  await c.client.patch(apps('deployments', 'db'), { spec: { template: { metadata: { labels: { app: 'db', v: '3' } } } } }, 'strategic')
  await waitFor('two ReplicaSets left', async () => {
    const d = await c.client.get(apps('deployments', 'db'))
    const s = st(d)
    return (m(d).annotations as Obj)['deployment.kubernetes.io/revision'] === '3' && s.observedGeneration === 3 && s.updatedReplicas === 2 && s.availableReplicas === 2 &&
      (await c.client.list(apps('replicasets'))).items.length === 2
  }, 20_000)
  const names = (await c.client.list(apps('replicasets'))).items.map((r) => [m(r).name, (m(r).annotations as Obj)['deployment.kubernetes.io/revision']])
  t.false(names.some(([n]) => n === `db-${String(v1)}`), `revision 1 pruned: ${JSON.stringify(names)}`)
  // Roll back to v2's template: its ReplicaSet comes back as revision 4.
  await c.client.patch(apps('deployments', 'db'), { spec: { template: { metadata: { labels: { app: 'db', v: '2' } } } } }, 'strategic')
  const back = await waitFor('rollback', async () => {
    const rs = (await c.client.list(apps('replicasets'))).items.find((r) => (m(r).annotations as Obj)['deployment.kubernetes.io/revision'] === '4')
    return rs !== undefined && st(await c.client.get(apps('deployments', 'db'))).availableReplicas === 2 ? rs : undefined
  }, 20_000)
  t.is((sp(back).template as Obj & { metadata: { labels: Obj } }).metadata.labels.v, '2')
  t.is((m(await c.client.get(apps('deployments', 'db'))).annotations as Obj)['deployment.kubernetes.io/revision'], '4')
})

test('garbage collector: background cascade from a Deployment, orphaning keeps the pods, foreground removes dependents first', async (t) => {
  const c = await cluster(t, { controllers: ['replicaset', 'deployment', 'garbagecollector'] })
  await c.client.create(apps('deployments'), { metadata: { name: 'bg' }, spec: { replicas: 2, selector: { matchLabels: { app: 'bg' } }, template: podTemplate({ app: 'bg' }) } })
  await waitFor('bg pods', async () => (await pods(c.client, 'default', 'app=bg')).length === 2)
  await c.client.delete(apps('deployments', 'bg'), { propagationPolicy: 'Background' })
  await waitFor('bg cascade', async () => (await pods(c.client, 'default', 'app=bg')).length === 0 && (await c.client.list(apps('replicasets'), { labelSelector: 'app=bg' })).items.length === 0)
  t.pass()

  await c.client.create(apps('replicasets'), { metadata: { name: 'or' }, spec: { replicas: 2, selector: { matchLabels: { app: 'or' } }, template: podTemplate({ app: 'or' }) } })
  await waitFor('or pods', async () => (await pods(c.client, 'default', 'app=or')).length === 2)
  await c.client.delete(apps('replicasets', 'or'), { propagationPolicy: 'Orphan' })
  await waitFor('rs gone', async () => { try { await c.client.get(apps('replicasets', 'or')); return false } catch { return true } })
  const orphans = await pods(c.client, 'default', 'app=or')
  t.is(orphans.length, 2)
  t.true(orphans.every((p) => m(p).ownerReferences === undefined || (m(p).ownerReferences as unknown[]).length === 0))

  await c.client.create(apps('replicasets'), { metadata: { name: 'fg' }, spec: { replicas: 2, selector: { matchLabels: { app: 'fg' } }, template: podTemplate({ app: 'fg' }) } })
  await waitFor('fg pods', async () => (await pods(c.client, 'default', 'app=fg')).length === 2)
  await c.client.delete(apps('replicasets', 'fg'), { propagationPolicy: 'Foreground' })
  await waitFor('fg gone', async () => { try { await c.client.get(apps('replicasets', 'fg')); return false } catch { return true } })
  t.is((await pods(c.client, 'default', 'app=fg')).length, 0)

  // A dependent whose owner never existed (by uid) is collected.
  await c.client.create({ resource: 'configmaps', namespace: 'default' }, { metadata: { name: 'dangling', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'nobody', uid: '00000000-0000-0000-0000-000000000000' }] } })
  await waitFor('dangling collected', async () => { try { await c.client.get({ resource: 'configmaps', namespace: 'default', name: 'dangling' }); return false } catch { return true } })
  t.pass()
})

test('Deployment: a rollout whose pods never turn Ready reports ProgressDeadlineExceeded after progressDeadlineSeconds', async (t) => {
  const c = await cluster(t, { controllers: ['replicaset', 'deployment'] })
  await c.client.create(apps('deployments'), { metadata: { name: 'slow' }, spec: { replicas: 2, progressDeadlineSeconds: 1, selector: { matchLabels: { app: 'slow' } }, template: podTemplate({ app: 'slow' }) } })
  const cond = await waitFor('deadline exceeded', async () => {
    const d = await c.client.get(apps('deployments', 'slow'))
    return ((st(d).conditions ?? []) as Obj[]).find((x) => x.type === 'Progressing' && x.reason === 'ProgressDeadlineExceeded')
  }, 10_000)
  // Not before the deadline, as the API can tell it: condition times have whole seconds (as upstream's metav1.Time),
  // so it is counted from the second the Deployment was created in.
  const created = Date.parse(String(((await c.client.get(apps('deployments', 'slow'))) as { metadata: { creationTimestamp: string } }).metadata.creationTimestamp))
  t.true(Date.now() >= created + 1000, `not before the deadline (created ${new Date(created).toISOString()}, now ${new Date().toISOString()})`)
  t.is(cond.status, 'False')
  t.regex(String(cond.message), /^ReplicaSet "slow-\w+" has timed out progressing\.$/)
  // Progress again (pods Ready) ⇒ back to progressing, then complete.
  for (const p of await pods(c.client, 'default', 'app=slow')) await markRunning(c.client, p)
  await waitFor('complete', async () => ((st(await c.client.get(apps('deployments', 'slow'))).conditions ?? []) as Obj[]).some((x) => x.type === 'Progressing' && x.reason === 'NewReplicaSetAvailable'))
})

test('Deployment deleted with --cascade=orphan and created again adopts its ReplicaSet and keeps the pods', async (t) => {
  const c = await cluster(t, { controllers: ['replicaset', 'deployment', 'garbagecollector'] })
  autoReady(c, t)
  const body = { metadata: { name: 'keep' }, spec: { replicas: 2, selector: { matchLabels: { app: 'keep' } }, template: podTemplate({ app: 'keep' }) } }
  await c.client.create(apps('deployments'), body)
  await waitFor('available', async () => st(await c.client.get(apps('deployments', 'keep'))).availableReplicas === 2)
  const before = (await pods(c.client, 'default', 'app=keep')).map((p) => String(m(p).name)).sort()
  await c.client.delete(apps('deployments', 'keep'), { propagationPolicy: 'Orphan' })
  await waitFor('orphaned RS', async () => {
    const l = (await c.client.list(apps('replicasets'))).items
    return l.length === 1 && ((m(l[0] as Obj).ownerReferences ?? []) as unknown[]).length === 0 && await c.client.get(apps('deployments', 'keep')).then(() => false, () => true)
  })
  const d2 = await c.client.create(apps('deployments'), body)
  const rs = await waitFor('adopted', async () => {
    const l = (await c.client.list(apps('replicasets'))).items
    return l.length === 1 && ((m(l[0] as Obj).ownerReferences ?? []) as Obj[]).some((r) => r.uid === m(d2).uid && r.controller === true) ? l[0] : undefined
  })
  await waitFor('available again', async () => { const s = st(await c.client.get(apps('deployments', 'keep'))); return s.availableReplicas === 2 && s.updatedReplicas === 2 })
  t.deepEqual((await pods(c.client, 'default', 'app=keep')).map((p) => String(m(p).name)).sort(), before, 'same pods')
  t.is((await c.client.list(apps('replicasets'))).items.length, 1)
  t.truthy(rs)
})
