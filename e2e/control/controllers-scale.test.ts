/** A 1000-replica Deployment behind a Service through the controllers: creation, readiness into slices, GC cascade — timed. */
import test from 'ava'
import type { Obj } from '../../control/client/index.js'
import { cluster, m, podTemplate, pods, waitFor } from './controllers-harness.js'

test('1000 replicas: pods created, endpoints in ≤100-endpoint slices, Deployment available, cascade on delete (timings logged)', async (t) => {
  const N = 1000
  const c = await cluster(t, {})
  await c.client.create({ resource: 'services', namespace: 'default' }, { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } })
  let t0 = Date.now()
  await c.client.create({ group: 'apps', version: 'v1', resource: 'deployments', namespace: 'default' }, { metadata: { name: 'web' }, spec: { replicas: N, selector: { matchLabels: { app: 'web' } }, template: podTemplate({ app: 'web' }) } })
  const ps = await waitFor('pods', async () => { const l = await pods(c.client, 'default', 'app=web'); return l.length >= N ? l : undefined }, 60_000)
  t.is(ps.length, N)
  const created = Date.now() - t0
  t0 = Date.now()
  let i = 0
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (i < ps.length) {
      const n = i++
      const p = ps[n] as Obj
      const ip = `10.244.${Math.floor(n / 250)}.${(n % 250) + 1}`
      await c.client.patch({ resource: 'pods', namespace: 'default', name: String(m(p).name), subresource: 'status' }, { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' }] } })
    }
  }))
  const marked = Date.now() - t0
  const slices = await waitFor('slices', async () => {
    const l = (await c.client.list({ group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', namespace: 'default' }, { labelSelector: 'kubernetes.io/service-name=web' })).items
    const ready = l.reduce((s, x) => s + ((x.endpoints ?? []) as Obj[]).filter((e) => (e.conditions as Obj).ready === true).length, 0)
    const d = await c.client.get({ group: 'apps', version: 'v1', resource: 'deployments', namespace: 'default', name: 'web' })
    return ready === N && (d.status as Obj).availableReplicas === N ? l : undefined
  }, 60_000)
  const converged = Date.now() - t0
  t.true(slices.every((s) => ((s.endpoints ?? []) as Obj[]).length <= 100))
  t.true(slices.length >= 10 && slices.length <= 13, `${slices.length} slices`)
  t0 = Date.now()
  await c.client.delete({ group: 'apps', version: 'v1', resource: 'deployments', namespace: 'default', name: 'web' })
  await waitFor('cascade', async () => (await pods(c.client, 'default', 'app=web')).length === 0, 60_000)
  const gc = Date.now() - t0
  t.log(`${N} pods created in ${created} ms; ${N} status writes in ${marked} ms; all ready in ${slices.length} slices and Deployment available ${converged} ms after the first write; cascade in ${gc} ms`)
})
