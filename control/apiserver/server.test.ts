/**
 * The API machinery over real HTTP on loopback, on the memory store: CRUD,
 * optimistic concurrency, patches, selectors, paging, watch (incl. 410 after
 * compaction and selector transitions), finalizers, graceful pods, Service
 * allocation, bad input. kubectl's view of the same server is in
 * e2e/control/apiserver-kubectl.test.ts.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'
import { pino } from 'pino'
import { memoryStore } from '../store/index.js'
import type { Store } from '../store/index.js'
import { buildApiServer } from './server.js'
import type { ApiServer } from './server.js'
import { bootstrap } from './bootstrap.js'

interface Harness { base: string, srv: ApiServer, store: Store }

async function start (t: ExecutionContext, extra: { serviceClusterIPRange?: string } = {}): Promise<Harness> {
  const store = memoryStore()
  const srv = await buildApiServer({ store, logger: pino({ level: 'silent' }), bookmarkIntervalMs: 200, ...extra })
  await bootstrap(srv.registry, { advertiseIP: '127.0.0.1', securePort: 6443 })
  await srv.app.listen({ host: '127.0.0.1', port: 0 })
  const addr = srv.app.server.address() as { port: number }
  t.teardown(async () => { await srv.close(); await store.close() })
  return { base: `http://127.0.0.1:${addr.port}`, srv, store }
}

async function req (h: Harness, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number, body: any, type: string }> {
  const init: RequestInit = { method, headers: { ...headers } }
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body)
    ;(init.headers as Record<string, string>)['content-type'] ??= 'application/json'
  }
  const res = await fetch(h.base + path, init)
  const text = await res.text()
  let parsed: unknown = text
  try { parsed = JSON.parse(text) } catch {}
  return { status: res.status, body: parsed, type: res.headers.get('content-type') ?? '' }
}

const pod = (name: string, labels: Record<string, string> = {}): Record<string, unknown> => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'weft/echo' }] }
})

test('create, get, list and delete a pod; server-set metadata and defaults', async (t) => {
  const h = await start(t)
  const c = await req(h, 'POST', '/api/v1/namespaces/default/pods', pod('web', { app: 'web' }))
  t.is(c.status, 201, JSON.stringify(c.body))
  const m = c.body.metadata
  t.regex(m.uid, /^[0-9a-f-]{36}$/)
  t.regex(m.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  t.regex(m.resourceVersion, /^\d+$/)
  t.is(m.namespace, 'default')
  t.is(c.body.spec.restartPolicy, 'Always')
  t.is(c.body.spec.containers[0].imagePullPolicy, 'Always')
  t.is(c.body.status.phase, 'Pending')
  const g = await req(h, 'GET', '/api/v1/namespaces/default/pods/web')
  t.is(g.status, 200)
  t.is(g.body.metadata.uid, m.uid)
  const l = await req(h, 'GET', '/api/v1/namespaces/default/pods')
  t.is(l.body.kind, 'PodList')
  t.deepEqual(l.body.items.map((p: any) => p.metadata.name), ['web'])
  const d = await req(h, 'DELETE', '/api/v1/namespaces/default/pods/web')
  t.is(d.status, 200)
  t.is((await req(h, 'GET', '/api/v1/namespaces/default/pods/web')).status, 404)
})

test('errors are Status objects with upstream reasons', async (t) => {
  const h = await start(t)
  const nf = await req(h, 'GET', '/api/v1/namespaces/default/pods/nope')
  t.is(nf.status, 404)
  t.like(nf.body, { kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404, message: 'pods "nope" not found' })
  await req(h, 'POST', '/api/v1/namespaces/default/pods', pod('a'))
  const dup = await req(h, 'POST', '/api/v1/namespaces/default/pods', pod('a'))
  t.like(dup.body, { reason: 'AlreadyExists', code: 409, message: 'pods "a" already exists' })
  const bad = await req(h, 'POST', '/api/v1/namespaces/default/pods', pod('Bad_Name'))
  t.is(bad.status, 422)
  t.is(bad.body.reason, 'Invalid')
  t.is(bad.body.details.causes[0].field, 'metadata.name')
  const noContainers = await req(h, 'POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'x' }, spec: {} })
  t.is(noContainers.status, 422)
  t.true(noContainers.body.details.causes.some((c: any) => c.field === 'spec.containers'))
  const junk = await req(h, 'POST', '/api/v1/namespaces/default/pods', '{"metadata":')
  t.like(junk.body, { reason: 'BadRequest', code: 400 })
  const kind = await req(h, 'POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'k' } })
  t.is(kind.status, 400)
  const big = await req(h, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'big' }, data: { x: 'a'.repeat(4 * 1024 * 1024) } })
  t.like(big.body, { reason: 'RequestEntityTooLarge', code: 413 })
  const proto = await req(h, 'POST', '/api/v1/namespaces/default/pods', 'k8s\0', { 'content-type': 'application/vnd.kubernetes.protobuf' })
  t.is(proto.status, 400)
  const noNs = await req(h, 'POST', '/api/v1/namespaces/missing/pods', pod('p'))
  t.like(noNs.body, { reason: 'NotFound', message: 'namespaces "missing" not found' })
  const path = await req(h, 'GET', '/api/v1/nothings')
  t.is(path.status, 404)
  // Nothing of the failed writes reached the store.
  const l = await req(h, 'GET', '/api/v1/pods')
  t.deepEqual(l.body.items.map((p: any) => p.metadata.name), ['a'])
})

test('YAML bodies are accepted', async (t) => {
  const h = await start(t)
  const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: "1"\n'
  const r = await req(h, 'POST', '/api/v1/namespaces/default/configmaps', yaml, { 'content-type': 'application/yaml' })
  t.is(r.status, 201)
  t.deepEqual(r.body.data, { a: '1' })
  const bad = await req(h, 'POST', '/api/v1/namespaces/default/configmaps', 'a: [', { 'content-type': 'application/yaml' })
  t.is(bad.status, 400)
})

test('updates compare-and-swap on resourceVersion; generation follows spec changes', async (t) => {
  const h = await start(t)
  const c = await req(h, 'POST', '/apis/apps/v1/namespaces/default/deployments', {
    metadata: { name: 'd' },
    spec: { selector: { matchLabels: { app: 'd' } }, template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'weft/echo' }] } } }
  })
  t.is(c.status, 201, JSON.stringify(c.body))
  t.is(c.body.metadata.generation, 1)
  t.is(c.body.spec.replicas, 1)
  const obj = c.body
  obj.spec.replicas = 3
  const u = await req(h, 'PUT', '/apis/apps/v1/namespaces/default/deployments/d', obj)
  t.is(u.status, 200)
  t.is(u.body.metadata.generation, 2)
  const stale = await req(h, 'PUT', '/apis/apps/v1/namespaces/default/deployments/d', obj)
  t.is(stale.status, 409)
  t.is(stale.body.reason, 'Conflict')
  // Status writes through the main resource are ignored; /status owns them.
  const withStatus = { ...u.body, status: { replicas: 9 } }
  const u2 = await req(h, 'PUT', '/apis/apps/v1/namespaces/default/deployments/d', withStatus)
  t.deepEqual(u2.body.status, {})
  const s = await req(h, 'PUT', '/apis/apps/v1/namespaces/default/deployments/d/status', { ...u2.body, status: { replicas: 3 } })
  t.is(s.body.status.replicas, 3)
  t.is(s.body.metadata.generation, 2)
  // Selector is immutable
  const sel = structuredClone(s.body)
  sel.spec.selector = { matchLabels: { app: 'other' } }
  sel.spec.template.metadata.labels = { app: 'other' }
  t.is((await req(h, 'PUT', '/apis/apps/v1/namespaces/default/deployments/d', sel)).status, 422)
  // Scale subresource
  const sc = await req(h, 'GET', '/apis/apps/v1/namespaces/default/deployments/d/scale')
  t.like(sc.body, { kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 3 }, status: { selector: 'app=d' } })
  const sp = await req(h, 'PATCH', '/apis/apps/v1/namespaces/default/deployments/d/scale', { spec: { replicas: 5 } }, { 'content-type': 'application/merge-patch+json' })
  t.is(sp.body.spec.replicas, 5)
  t.is((await req(h, 'GET', '/apis/apps/v1/namespaces/default/deployments/d')).body.spec.replicas, 5)
})

test('patch: merge, JSON and strategic; a patch carrying a stale resourceVersion conflicts', async (t) => {
  const h = await start(t)
  await req(h, 'POST', '/api/v1/namespaces/default/pods', pod('p', { a: '1' }))
  const mp = await req(h, 'PATCH', '/api/v1/namespaces/default/pods/p', { metadata: { labels: { b: '2', a: null } } }, { 'content-type': 'application/merge-patch+json' })
  t.is(mp.status, 200, JSON.stringify(mp.body))
  t.deepEqual(mp.body.metadata.labels, { b: '2' })
  const jp = await req(h, 'PATCH', '/api/v1/namespaces/default/pods/p', [{ op: 'add', path: '/metadata/annotations', value: { x: 'y' } }], { 'content-type': 'application/json-patch+json' })
  t.deepEqual(jp.body.metadata.annotations, { x: 'y' })
  const smp = await req(h, 'PATCH', '/api/v1/namespaces/default/pods/p', { spec: { containers: [{ name: 'c', image: 'weft/echo:2' }] } }, { 'content-type': 'application/strategic-merge-patch+json' })
  t.is(smp.body.spec.containers[0].image, 'weft/echo:2')
  t.is(smp.body.spec.containers.length, 1)
  const forbidden = await req(h, 'PATCH', '/api/v1/namespaces/default/pods/p', { spec: { restartPolicy: 'Never' } }, { 'content-type': 'application/merge-patch+json' })
  t.is(forbidden.status, 422)
  const stale = await req(h, 'PATCH', '/api/v1/namespaces/default/pods/p', { metadata: { resourceVersion: '1', labels: { c: '3' } } }, { 'content-type': 'application/merge-patch+json' })
  t.is(stale.status, 409)
  const unsupported = await req(h, 'PATCH', '/api/v1/namespaces/default/pods/p', {}, { 'content-type': 'text/plain' })
  t.is(unsupported.status, 415)
  const missing = await req(h, 'PATCH', '/api/v1/namespaces/default/pods/q', {}, { 'content-type': 'application/merge-patch+json' })
  t.is(missing.status, 404)
  // Server-side apply creates, then merges.
  const ap = await req(h, 'PATCH', '/api/v1/namespaces/default/configmaps/cm?fieldManager=kubectl&force=false', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { a: '1' } }, { 'content-type': 'application/apply-patch+yaml' })
  t.is(ap.status, 201, JSON.stringify(ap.body))
  const ap2 = await req(h, 'PATCH', '/api/v1/namespaces/default/configmaps/cm?fieldManager=kubectl', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  b: "2"\n', { 'content-type': 'application/apply-patch+yaml' })
  t.is(ap2.status, 200)
  t.deepEqual(ap2.body.data, { a: '1', b: '2' })
})

test('label and field selectors, limit and continue', async (t) => {
  const h = await start(t)
  for (let i = 0; i < 7; i++) await req(h, 'POST', '/api/v1/namespaces/default/pods', pod(`p${i}`, { tier: i % 2 === 0 ? 'even' : 'odd' }))
  const even = await req(h, 'GET', '/api/v1/namespaces/default/pods?labelSelector=tier%3Deven')
  t.deepEqual(even.body.items.map((p: any) => p.metadata.name), ['p0', 'p2', 'p4', 'p6'])
  const notin = await req(h, 'GET', '/api/v1/pods?labelSelector=tier%20notin%20(even)')
  t.is(notin.body.items.length, 3)
  const byName = await req(h, 'GET', '/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dp3')
  t.deepEqual(byName.body.items.map((p: any) => p.metadata.name), ['p3'])
  const byPhase = await req(h, 'GET', '/api/v1/pods?fieldSelector=status.phase%21%3DRunning,spec.nodeName%3D')
  t.is(byPhase.body.items.length, 7)
  const badField = await req(h, 'GET', '/api/v1/pods?fieldSelector=spec.image%3Dx')
  t.like(badField.body, { code: 400, message: 'field label not supported: spec.image' })
  const badLabel = await req(h, 'GET', '/api/v1/pods?labelSelector=a%20in%20b')
  t.is(badLabel.status, 400)
  const names: string[] = []
  let cont = ''
  let pages = 0
  for (;;) {
    const r = await req(h, 'GET', `/api/v1/namespaces/default/pods?limit=3${cont !== '' ? `&continue=${encodeURIComponent(cont)}` : ''}`)
    pages++
    names.push(...r.body.items.map((p: any) => p.metadata.name))
    if (pages === 1) t.is(r.body.metadata.remainingItemCount, 4)
    cont = r.body.metadata.continue ?? ''
    if (cont === '') break
  }
  t.is(pages, 3)
  t.deepEqual(names, ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6'])
  const filteredPage = await req(h, 'GET', '/api/v1/namespaces/default/pods?limit=2&labelSelector=tier%3Dodd')
  t.deepEqual(filteredPage.body.items.map((p: any) => p.metadata.name), ['p1', 'p3'])
  t.truthy(filteredPage.body.metadata.continue)
  const badCont = await req(h, 'GET', '/api/v1/namespaces/default/pods?limit=2&continue=garbage')
  t.is(badCont.status, 400)
})

/** Reads a watch stream line by line. */
async function watchLines (h: Harness, path: string, headers: Record<string, string> = {}): Promise<{ next: () => Promise<any>, close: () => void }> {
  const ac = new AbortController()
  const res = await fetch(h.base + path, { signal: ac.signal, headers })
  const reader = (res.body as ReadableStream<Uint8Array>).getReader()
  let buf = ''
  const dec = new TextDecoder()
  return {
    next: async () => {
      for (;;) {
        const nl = buf.indexOf('\n')
        if (nl >= 0) {
          const line = buf.slice(0, nl)
          buf = buf.slice(nl + 1)
          return JSON.parse(line)
        }
        const { value, done } = await reader.read()
        if (done) return undefined
        buf += dec.decode(value)
      }
    },
    close: () => { ac.abort() }
  }
}

test('watch: from a list resourceVersion, selector transitions, bookmarks, single-object watch', async (t) => {
  const h = await start(t)
  await req(h, 'POST', '/api/v1/namespaces/default/pods', pod('a', { app: 'x' }))
  const list = await req(h, 'GET', '/api/v1/namespaces/default/pods')
  const w = await watchLines(h, `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${list.body.metadata.resourceVersion as string}&labelSelector=app%3Dx&allowWatchBookmarks=true`)
  t.teardown(w.close)
  await req(h, 'POST', '/api/v1/namespaces/default/pods', pod('b', { app: 'x' }))
  await req(h, 'POST', '/api/v1/namespaces/default/pods', pod('c', { app: 'y' }))
  await req(h, 'PATCH', '/api/v1/namespaces/default/pods/a', { metadata: { labels: { app: 'y' } } }, { 'content-type': 'application/merge-patch+json' })
  await req(h, 'PATCH', '/api/v1/namespaces/default/pods/c', { metadata: { labels: { app: 'x' } } }, { 'content-type': 'application/merge-patch+json' })
  await req(h, 'DELETE', '/api/v1/namespaces/default/pods/b')
  const seen: string[] = []
  while (seen.length < 4) {
    const ev = await w.next()
    if (ev.type === 'BOOKMARK') continue
    seen.push(`${ev.type as string} ${ev.object.metadata.name as string}`)
  }
  t.deepEqual(seen, ['ADDED b', 'DELETED a', 'ADDED c', 'DELETED b'])
  // Quiet stream: a bookmark arrives with the latest resourceVersion.
  const bm = await w.next()
  t.is(bm.type, 'BOOKMARK')
  t.is(bm.object.kind, 'Pod')
  t.regex(bm.object.metadata.resourceVersion, /^\d+$/)
  // resourceVersion unset: synthetic ADDED for the current state first.
  const all = await watchLines(h, '/api/v1/namespaces/default/pods?watch=1')
  t.teardown(all.close)
  const first = [await all.next(), await all.next()].map((e) => `${e.type as string} ${e.object.metadata.name as string}`).sort()
  t.deepEqual(first, ['ADDED a', 'ADDED c'])
  // Watch one object by field selector, as `kubectl wait` does.
  const one = await watchLines(h, '/api/v1/namespaces/default/pods?watch=true&fieldSelector=metadata.name%3Dc')
  t.teardown(one.close)
  t.is((await one.next()).object.metadata.name, 'c')
  await req(h, 'PATCH', '/api/v1/namespaces/default/pods/a', { metadata: { labels: { z: '1' } } }, { 'content-type': 'application/merge-patch+json' })
  await req(h, 'PATCH', '/api/v1/namespaces/default/pods/c', { metadata: { labels: { z: '1' } } }, { 'content-type': 'application/merge-patch+json' })
  const ev = await one.next()
  t.is(ev.type, 'MODIFIED')
  t.is(ev.object.metadata.name, 'c')
})

test('watch: a compacted resourceVersion is 410 Expired in the stream', async (t) => {
  const h = await start(t, {})
  await req(h, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'a' } })
  const old = Number((await req(h, 'GET', '/api/v1/namespaces/default/configmaps')).body.metadata.resourceVersion)
  for (let i = 0; i < 5; i++) await req(h, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: `c${i}` } })
  await h.store.compact(await h.store.revision())
  const w = await watchLines(h, `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${old - 1}`)
  t.teardown(w.close)
  const ev = await w.next()
  // The watch cache still holds these events, or the store watch fails: either is correct; both must be consistent.
  if (ev.type === 'ERROR') {
    t.like(ev.object, { kind: 'Status', reason: 'Expired', code: 410 })
  } else {
    t.is(ev.type, 'ADDED')
  }
  // A list at an exact compacted revision is 410 too.
  const l = await req(h, 'GET', `/api/v1/namespaces/default/configmaps?resourceVersion=${old}&resourceVersionMatch=Exact`)
  t.is(l.status, 410)
})

test('finalizers hold a deletion until removed; unbound pods go at once, bound ones gracefully', async (t) => {
  const h = await start(t)
  await req(h, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'f', finalizers: ['example.com/keep'] } })
  const d = await req(h, 'DELETE', '/api/v1/namespaces/default/configmaps/f')
  t.is(d.status, 200)
  t.truthy(d.body.metadata.deletionTimestamp)
  const still = await req(h, 'GET', '/api/v1/namespaces/default/configmaps/f')
  t.is(still.status, 200)
  const rm = await req(h, 'PATCH', '/api/v1/namespaces/default/configmaps/f', { metadata: { finalizers: null } }, { 'content-type': 'application/merge-patch+json' })
  t.is(rm.status, 200)
  t.is((await req(h, 'GET', '/api/v1/namespaces/default/configmaps/f')).status, 404)

  await req(h, 'POST', '/api/v1/namespaces/default/pods', pod('bound'))
  const b = await req(h, 'POST', '/api/v1/namespaces/default/pods/bound/binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bound' }, target: { apiVersion: 'v1', kind: 'Node', name: 'n1' } })
  t.is(b.status, 201, JSON.stringify(b.body))
  const again = await req(h, 'POST', '/api/v1/namespaces/default/pods/bound/binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bound' }, target: { apiVersion: 'v1', kind: 'Node', name: 'n2' } })
  t.is(again.status, 409)
  const got = await req(h, 'GET', '/api/v1/namespaces/default/pods/bound')
  t.is(got.body.spec.nodeName, 'n1')
  t.true(got.body.status.conditions.some((c: any) => c.type === 'PodScheduled' && c.status === 'True'))
  const gd = await req(h, 'DELETE', '/api/v1/namespaces/default/pods/bound')
  t.is(gd.body.metadata.deletionGracePeriodSeconds, 30)
  t.is((await req(h, 'GET', '/api/v1/namespaces/default/pods/bound')).status, 200)
  // The kubelet's final delete with grace 0 removes it.
  await req(h, 'DELETE', '/api/v1/namespaces/default/pods/bound', { gracePeriodSeconds: 0 })
  t.is((await req(h, 'GET', '/api/v1/namespaces/default/pods/bound')).status, 404)
})

test('services: ClusterIPs and node ports allocated without conflicts, kept across updates, released on delete', async (t) => {
  const h = await start(t, { serviceClusterIPRange: '10.96.0.0/28' })
  const svc = (name: string, spec: Record<string, unknown>): Record<string, unknown> => ({ metadata: { name }, spec: { ports: [{ port: 80 }], selector: { app: name }, ...spec } })
  const ips = new Set<string>()
  const kube = await req(h, 'GET', '/api/v1/namespaces/default/services/kubernetes')
  t.is(kube.body.spec.clusterIP, '10.96.0.1')
  ips.add('10.96.0.1')
  for (let i = 0; i < 13; i++) {
    const r = await req(h, 'POST', '/api/v1/namespaces/default/services', svc(`s${i}`, {}))
    t.is(r.status, 201, JSON.stringify(r.body))
    t.false(ips.has(r.body.spec.clusterIP))
    ips.add(r.body.spec.clusterIP)
  }
  const full = await req(h, 'POST', '/api/v1/namespaces/default/services', svc('full', {}))
  t.is(full.status, 503)
  t.regex(full.body.message, /range is full/)
  await req(h, 'DELETE', '/api/v1/namespaces/default/services/s0')
  const reuse = await req(h, 'POST', '/api/v1/namespaces/default/services', svc('again', {}))
  t.is(reuse.status, 201)
  const taken = await req(h, 'POST', '/api/v1/namespaces/default/services', svc('taken', { clusterIP: reuse.body.spec.clusterIP }))
  t.is(taken.status, 422)
  t.regex(taken.body.message, /already allocated/)
  const outside = await req(h, 'POST', '/api/v1/namespaces/default/services', svc('outside', { clusterIP: '10.0.0.1' }))
  t.is(outside.status, 422)
  const headless = await req(h, 'POST', '/api/v1/namespaces/default/services', svc('headless', { clusterIP: 'None' }))
  t.is(headless.body.spec.clusterIP, 'None')
  // NodePort: allocated, explicit ones checked, kept when an update omits them.
  await req(h, 'DELETE', '/api/v1/namespaces/default/services/s1')
  const np = await req(h, 'POST', '/api/v1/namespaces/default/services', svc('np', { type: 'NodePort', ports: [{ port: 80, name: 'a' }, { port: 81, name: 'b', nodePort: 30081 }] }))
  t.is(np.status, 201, JSON.stringify(np.body))
  const p0 = np.body.spec.ports[0].nodePort
  t.true(p0 >= 30000 && p0 <= 32767)
  t.is(np.body.spec.ports[1].nodePort, 30081)
  await req(h, 'DELETE', '/api/v1/namespaces/default/services/s2')
  const clash = await req(h, 'POST', '/api/v1/namespaces/default/services', svc('clash', { type: 'NodePort', ports: [{ port: 80, nodePort: 30081 }] }))
  t.is(clash.status, 422)
  const upd = structuredClone(np.body)
  for (const p of upd.spec.ports) delete p.nodePort
  delete upd.spec.clusterIP
  delete upd.spec.clusterIPs
  const u = await req(h, 'PUT', '/api/v1/namespaces/default/services/np', upd)
  t.is(u.status, 200, JSON.stringify(u.body))
  t.is(u.body.spec.ports[0].nodePort, p0)
  t.is(u.body.spec.clusterIP, np.body.spec.clusterIP)
  const changeIP = structuredClone(u.body)
  const other = u.body.spec.clusterIP === '10.96.0.14' ? '10.96.0.13' : '10.96.0.14'
  changeIP.spec.clusterIP = other
  changeIP.spec.clusterIPs = [other]
  t.is((await req(h, 'PUT', '/api/v1/namespaces/default/services/np', changeIP)).status, 422)
  // Back to ClusterIP releases the node ports.
  const toCip = structuredClone(u.body)
  toCip.spec.type = 'ClusterIP'
  for (const p of toCip.spec.ports) delete p.nodePort
  t.is((await req(h, 'PUT', '/api/v1/namespaces/default/services/np', toCip)).status, 200)
  const reclaim = await req(h, 'POST', '/api/v1/namespaces/default/services', svc('reclaim', { type: 'NodePort', clusterIP: 'None', ports: [{ port: 80, nodePort: 30081 }] }))
  t.not(reclaim.status, 500)
})

test('tables, discovery, openapi, version and health', async (t) => {
  const h = await start(t)
  await req(h, 'POST', '/api/v1/namespaces/default/pods', pod('web'))
  const tbl = await req(h, 'GET', '/api/v1/namespaces/default/pods', undefined, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json' })
  t.is(tbl.body.kind, 'Table')
  t.deepEqual(tbl.body.columnDefinitions.slice(0, 5).map((c: any) => c.name), ['Name', 'Ready', 'Status', 'Restarts', 'Age'])
  t.is(tbl.body.rows[0].cells[0], 'web')
  t.is(tbl.body.rows[0].object.kind, 'PartialObjectMetadata')
  t.regex(tbl.type, /as=Table/)
  const api = await req(h, 'GET', '/api')
  t.is(api.body.kind, 'APIVersions')
  const agg = await req(h, 'GET', '/apis', undefined, { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' })
  t.is(agg.body.kind, 'APIGroupDiscoveryList')
  const rl = await req(h, 'GET', '/apis/apps/v1')
  t.true(rl.body.resources.some((r: any) => r.name === 'deployments/scale'))
  const v2 = await fetch(h.base + '/openapi/v2', { headers: { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' } })
  t.is(v2.headers.get('content-type'), 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf')
  const v3 = await req(h, 'GET', '/openapi/v3')
  t.truthy(v3.body.paths['api/v1'])
  t.is((await req(h, 'GET', '/version')).body.major, '1')
  t.is((await req(h, 'GET', '/healthz')).body, 'ok')
  t.is((await req(h, 'GET', '/readyz')).status, 200)
  const metrics = await req(h, 'GET', '/metrics')
  t.regex(metrics.body, /apiserver_request_total\{verb="POST",resource="pods",code="201"\} 1/)
  t.regex(metrics.body, /apiserver_storage_objects\{resource="pods"\} 1/)
})

test('pods/log is proxied to the kubelet of the pod\'s node with the query kept', async (t) => {
  const h = await start(t)
  const { createServer } = await import('node:http')
  const seen: string[] = []
  const kubelet = createServer((q, s) => { seen.push(q.url ?? ''); s.writeHead(200, { 'content-type': 'text/plain' }); s.end('line 1\nline 2\n') })
  await new Promise<void>((r) => kubelet.listen(0, '127.0.0.1', r))
  t.teardown(() => { kubelet.close() })
  const port = (kubelet.address() as { port: number }).port
  await req(h, 'POST', '/api/v1/nodes', { metadata: { name: 'n1' }, status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: port } } } })
  await req(h, 'POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'p' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'weft/echo' }, { name: 'd', image: 'weft/echo' }] } })
  const noContainer = await req(h, 'GET', '/api/v1/namespaces/default/pods/p/log')
  t.is(noContainer.status, 400)
  t.regex(noContainer.body.message, /choose one of: \[c d\]/)
  const res = await fetch(`${h.base}/api/v1/namespaces/default/pods/p/log?container=d&tailLines=5&follow=true`)
  t.is(res.status, 200)
  t.is(await res.text(), 'line 1\nline 2\n')
  t.deepEqual(seen, ['/containerLogs/default/p/d?follow=true&tailLines=5'])
  await req(h, 'POST', '/api/v1/namespaces/default/pods', pod('unbound'))
  t.is((await req(h, 'GET', '/api/v1/namespaces/default/pods/unbound/log')).status, 400)
})

test('arbitrary bodies on every resource get a Status, never a 500, and leave the store readable', async (t) => {
  const fc = (await import('fast-check')).default
  const h = await start(t)
  const { RESOURCES, apiVersionOf } = await import('./resources.js')
  const collection = (i: number): string => {
    const r = RESOURCES[i % RESOURCES.length] as (typeof RESOURCES)[number]
    const base = r.group === '' ? '/api/v1' : `/apis/${r.group}/${r.version}`
    return r.namespaced ? `${base}/namespaces/default/${r.plural}` : `${base}/${r.plural}`
  }
  const statuses = new Set<number>()
  await fc.assert(fc.asyncProperty(
    fc.nat(), fc.oneof(
      fc.string(),
      fc.json(),
      fc.record({ apiVersion: fc.string(), kind: fc.string(), metadata: fc.record({ name: fc.string(), labels: fc.dictionary(fc.string(), fc.string()) }), spec: fc.anything() }, { requiredKeys: [] }).map((o) => JSON.stringify(o))
    ), fc.constantFrom('POST', 'PUT', 'PATCH'),
    async (i, body, method) => {
      const r = RESOURCES[i % RESOURCES.length] as (typeof RESOURCES)[number]
      const path = method === 'POST' ? collection(i) : `${collection(i)}/x`
      const withKind = method === 'POST' && i % 3 === 0 ? JSON.stringify({ apiVersion: apiVersionOf(r), kind: r.kind, metadata: { name: `n${i % 50}` } }) : body
      const res = await fetch(h.base + path, { method, body: withKind, headers: { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' } })
      statuses.add(res.status)
      const text = await res.text()
      if (res.status === 500) return false
      if (res.status >= 400) {
        const st = JSON.parse(text) as { kind: string, code: number }
        return st.kind === 'Status' && st.code === res.status
      }
      return true
    }), { numRuns: 300 })
  for (let i = 0; i < RESOURCES.length; i++) t.is((await req(h, 'GET', collection(i))).status, 200)
  t.false(statuses.has(500))
  t.true(statuses.has(201) && statuses.has(400) && statuses.has(422), [...statuses].join(","))
})
