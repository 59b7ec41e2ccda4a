/**
 * The API server over real HTTP on loopback (memory store) with Kubernetes protobuf bodies and
 * `fieldValidation`: kubectl's captured bodies create objects, bad protobuf is 400, Strict refuses
 * unknown and duplicate JSON fields with upstream's message, Warn answers with Warning headers.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { memoryStore } from '../../store/index.js'
import { buildApiServer } from '../server.js'
import { bootstrap } from '../bootstrap.js'
import { decodeKubeProtobuf, encodeKubeProtobuf } from './index.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')
const capture = (name: string): Buffer => fs.readFileSync(path.join(root, 'control', 'apiserver', 'protobuf', 'testdata', `${name}.bin`))
const PB = 'application/vnd.kubernetes.protobuf'

async function start (t: ExecutionContext): Promise<string> {
  const store = memoryStore()
  const srv = await buildApiServer({ store, logger: pino({ level: 'silent' }) })
  await bootstrap(srv.registry, { advertiseIP: '127.0.0.1', securePort: 6443 })
  await srv.app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await srv.close(); await store.close() })
  return `http://127.0.0.1:${(srv.app.server.address() as { port: number }).port}`
}

interface Res { status: number, body: any, warnings: string[] }
async function call (base: string, method: string, url: string, body: string | Uint8Array | undefined, contentType = 'application/json'): Promise<Res> {
  const init: RequestInit = { method, headers: body === undefined ? {} : { 'content-type': contentType } }
  if (body !== undefined) init.body = typeof body === 'string' ? body : new Blob([Uint8Array.from(body)])
  const res = await fetch(base + url, init)
  const text = await res.text()
  let parsed: unknown = text
  try { parsed = JSON.parse(text) } catch {}
  const w = res.headers.get('warning')
  return { status: res.status, body: parsed, warnings: w === null ? [] : w.split(/,\s*(?=299 )/) }
}

test('kubectl protobuf bodies create the objects they describe', async (t) => {
  const base = await start(t)
  const cm = await call(base, 'POST', '/api/v1/namespaces/default/configmaps?fieldManager=kubectl-create&fieldValidation=Strict', capture('configmap'), PB)
  t.is(cm.status, 201, JSON.stringify(cm.body))
  t.deepEqual(cm.body.data, { a: '1', greeting: 'hello world' })
  const dep = await call(base, 'POST', '/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict', capture('deployment'), PB)
  t.is(dep.status, 201, JSON.stringify(dep.body))
  t.is(dep.body.spec.replicas, 2)
  t.deepEqual(dep.body.spec.template.spec.containers[0].ports, [{ containerPort: 8080, protocol: 'TCP' }])
  const sec = await call(base, 'POST', '/api/v1/namespaces/default/secrets', capture('secret-generic'), PB)
  t.is(sec.status, 201, JSON.stringify(sec.body))
  t.is(Buffer.from(sec.body.data.password as string, 'base64').toString(), 'hunter2')
  const svc = await call(base, 'POST', '/api/v1/namespaces/default/services', capture('service-clusterip'), PB)
  t.is(svc.status, 201, JSON.stringify(svc.body))
  t.is(svc.body.spec.ports[1].targetPort, 'https')
  const ns = await call(base, 'POST', '/api/v1/namespaces', capture('namespace'), PB)
  t.is(ns.status, 201, JSON.stringify(ns.body))
  const got = await call(base, 'GET', '/api/v1/namespaces/default/configmaps/settings', undefined)
  t.deepEqual(got.body.data, { a: '1', greeting: 'hello world' })
})

test('protobuf updates and DeleteOptions bodies are decoded too', async (t) => {
  const base = await start(t)
  t.is((await call(base, 'POST', '/api/v1/namespaces/default/configmaps', capture('configmap'), PB)).status, 201)
  const cur = (await call(base, 'GET', '/api/v1/namespaces/default/configmaps/settings', undefined)).body
  const put = await call(base, 'PUT', '/api/v1/namespaces/default/configmaps/settings?fieldValidation=Strict', encodeKubeProtobuf({ ...cur, data: { a: '2' } }), PB)
  t.is(put.status, 200, JSON.stringify(put.body))
  t.deepEqual(put.body.data, { a: '2' })
  const del = await call(base, 'DELETE', '/api/v1/namespaces/default/configmaps/settings', encodeKubeProtobuf({ apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, propagationPolicy: 'Background' }), PB)
  t.is(del.status, 200, JSON.stringify(del.body))
  t.is((await call(base, 'GET', '/api/v1/namespaces/default/configmaps/settings', undefined)).status, 404)
})

test('bad protobuf is 400 BadRequest with the decoder\'s message, not 415 or 500', async (t) => {
  const base = await start(t)
  const truncated = capture('deployment').subarray(0, 60)
  const r = await call(base, 'POST', '/apis/apps/v1/namespaces/default/deployments', truncated, PB)
  t.is(r.status, 400)
  t.like(r.body, { kind: 'Status', reason: 'BadRequest', code: 400 })
  t.regex(r.body.message as string, /runs past the end|truncated/)
  const unknown = Buffer.concat([capture('configmap'), Buffer.from([])])
  // append an unknown field (number 15, varint) to the ConfigMap message: patch the lengths
  const withField = encodeWithExtraField(unknown)
  const u = await call(base, 'POST', '/api/v1/namespaces/default/configmaps', withField, PB)
  t.is(u.status, 400)
  t.regex(u.body.message as string, /core\.ConfigMap has no field number 15/)
  const notK8s = await call(base, 'POST', '/api/v1/namespaces/default/configmaps', Buffer.from('{"kind":"ConfigMap"}'), PB)
  t.is(notK8s.status, 400)
})

/** The captured ConfigMap with `78 01` (field 15, varint 1) appended to its object message. */
function encodeWithExtraField (body: Buffer): Buffer {
  // k8s\0 | 0a <tm> | 12 <len> <raw> | 1a 00 | 22 00 — rebuild with a longer raw
  let i = 4
  const tmLen = body[i + 1] as number
  const tm = body.subarray(i, i + 2 + tmLen)
  i += 2 + tmLen
  if (body[i] !== 0x12) throw new Error('unexpected capture layout')
  const rawLen = body[i + 1] as number
  if (rawLen >= 0x7e) throw new Error('capture too long for this helper')
  const raw = Buffer.concat([body.subarray(i + 2, i + 2 + rawLen), Buffer.from([0x78, 0x01])])
  return Buffer.concat([body.subarray(0, 4), tm, Buffer.from([0x12, raw.length]), raw, body.subarray(i + 2 + rawLen)])
}

const withBogus = JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 1, bogus: true, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'weft/echo', imagePullPolcy: 'Always' }] } } } })

test('fieldValidation=Strict refuses unknown fields with kube-apiserver\'s message', async (t) => {
  const base = await start(t)
  const r = await call(base, 'POST', '/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict', withBogus)
  t.is(r.status, 400)
  t.like(r.body, { kind: 'Status', reason: 'BadRequest', code: 400 })
  t.is(r.body.message, 'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.bogus", unknown field "spec.template.spec.containers[0].imagePullPolcy"')
  t.is((await call(base, 'GET', '/apis/apps/v1/namespaces/default/deployments/web', undefined)).status, 404)
  const dup = await call(base, 'POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Strict', '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","name":"b"}}')
  t.is(dup.status, 400)
  t.is(dup.body.message, 'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: duplicate field "metadata.name"')
  const yaml = await call(base, 'POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Strict', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\ndta: {a: "1"}\n', 'application/yaml')
  t.is(yaml.status, 400)
  t.is(yaml.body.message, 'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "dta"')
})

test('fieldValidation=Warn (and unset) creates the object and sends one Warning header per field; Ignore sends none', async (t) => {
  const base = await start(t)
  const w = await call(base, 'POST', '/apis/apps/v1/namespaces/default/deployments?fieldValidation=Warn', withBogus)
  t.is(w.status, 201, JSON.stringify(w.body))
  t.deepEqual(w.warnings, ['299 - "unknown field \\"spec.bogus\\""', '299 - "unknown field \\"spec.template.spec.containers[0].imagePullPolcy\\""'])
  const unset = await call(base, 'PUT', '/apis/apps/v1/namespaces/default/deployments/web', JSON.stringify({ ...JSON.parse(withBogus), metadata: { name: 'web', resourceVersion: w.body.metadata.resourceVersion } }))
  t.is(unset.status, 200, JSON.stringify(unset.body))
  t.is(unset.warnings.length, 2)
  const uni = await call(base, 'POST', '/api/v1/namespaces/default/configmaps', '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"u"},"dätä":{"\u65e5":"x"}}')
  t.is(uni.status, 201, JSON.stringify(uni.body))
  t.deepEqual(uni.warnings, ['299 - "unknown field \\"d\\u00e4t\\u00e4\\""'])
  const ign = await call(base, 'POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Ignore', '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"i"},"dta":{}}')
  t.is(ign.status, 201)
  t.deepEqual(ign.warnings, [])
  const bad = await call(base, 'POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Loud', '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j"}}')
  t.is(bad.status, 422)
  t.regex(bad.body.message as string, /fieldValidation: Unsupported value: "Loud"/)
})

test('Strict applies to subresources with their own kind: scale takes a Scale', async (t) => {
  const base = await start(t)
  const d = await call(base, 'POST', '/apis/apps/v1/namespaces/default/deployments', JSON.stringify({ ...JSON.parse(withBogus), spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'weft/echo' }] } } } }))
  t.is(d.status, 201, JSON.stringify(d.body))
  const s = await call(base, 'PUT', '/apis/apps/v1/namespaces/default/deployments/web/scale?fieldValidation=Strict', JSON.stringify({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 3, replica: 4 } }))
  t.is(s.status, 400)
  t.is(s.body.message, 'Scale in version "v1" cannot be handled as a Scale: strict decoding error: unknown field "spec.replica"')
  const ok = await call(base, 'PUT', '/apis/apps/v1/namespaces/default/deployments/web/scale?fieldValidation=Strict', JSON.stringify({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 3 } }))
  t.is(ok.status, 200, JSON.stringify(ok.body))
})

/** One object of every served kind, as a user would write it (the e2e kubectl manifests, in JSON). */
const objects: Array<[string, Record<string, unknown>]> = [
  ['/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }],
  ['/api/v1/namespaces/shop/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { greeting: 'hello' }, binaryData: { raw: 'AAE=' } }],
  ['/api/v1/namespaces/shop/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, type: 'Opaque', stringData: { password: 's3cret' } }],
  ['/api/v1/namespaces/shop/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder' } }],
  ['/api/v1/namespaces/shop/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-0', labels: { app: 'web' } },
    spec: {
      containers: [{ name: 'echo', image: 'weft/echo', ports: [{ containerPort: 8080, name: 'http' }], resources: { limits: { cpu: '500m', memory: '64Mi' } }, readinessProbe: { httpGet: { path: '/', port: 'http' } } }],
      volumes: [{ name: 'cfg', configMap: { name: 'cfg' } }],
      tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }]
    }
  }],
  ['/api/v1/namespaces/shop/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } }],
  ['/api/v1/namespaces/shop/endpoints', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'manual' }, subsets: [{ addresses: [{ ip: '10.244.1.5' }], ports: [{ port: 8080, name: 'http' }] }] }],
  ['/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices', { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-abc12', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: true } }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
  ['/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a', labels: { 'kubernetes.io/hostname': 'node-a' } }, spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] } }],
  ['/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'node-a' }, spec: { holderIdentity: 'node-a', leaseDurationSeconds: 40, renewTime: '2026-01-02T03:04:05.123456Z' } }],
  ['/api/v1/namespaces/shop/events', { apiVersion: 'v1', kind: 'Event', metadata: { name: 'web-0.start' }, involvedObject: { kind: 'Pod', name: 'web-0', namespace: 'shop' }, reason: 'Scheduled', message: 'assigned shop/web-0 to node-a', type: 'Normal', source: { component: 'default-scheduler' } }],
  ['/apis/apps/v1/namespaces/shop/deployments', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api' }, spec: { replicas: 2, selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'echo', image: 'weft/echo' }] } } } }],
  ['/apis/apps/v1/namespaces/shop/replicasets', { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'api-1' }, spec: { replicas: 1, selector: { matchLabels: { app: 'rs' } }, template: { metadata: { labels: { app: 'rs' } }, spec: { containers: [{ name: 'echo', image: 'weft/echo' }] } } } }]
]

/** Paths of `want` that `have` lacks or holds differently (objects compared key by key, arrays element by element). */
function missingFrom (have: unknown, want: unknown, path = ''): string[] {
  if (typeof want === 'object' && want !== null && !Array.isArray(want)) {
    if (typeof have !== 'object' || have === null || Array.isArray(have)) return [path]
    return Object.entries(want).flatMap(([k, v]) => missingFrom((have as Record<string, unknown>)[k], v, `${path}.${k}`))
  }
  if (Array.isArray(want)) {
    if (!Array.isArray(have) || have.length !== want.length) return [path]
    return want.flatMap((v, i) => missingFrom(have[i], v, `${path}[${i}]`))
  }
  return have === want ? [] : [`${path}: ${JSON.stringify(have)} != ${JSON.stringify(want)}`]
}

test('every served kind passes Strict as users write it, and what the server returns is fully described by the table', async (t) => {
  const base = await start(t)
  for (const [url, o] of objects) {
    const created = await call(base, 'POST', `${url}?fieldValidation=Strict`, JSON.stringify(o))
    t.is(created.status, 201, `${String(o.kind)}: ${JSON.stringify(created.body)}`)
    const name = (o.metadata as { name: string }).name
    const got = await call(base, 'GET', `${url}/${name}`, undefined)
    t.is(got.status, 200)
    // Round-trip what the server stored through protobuf: nothing it adds is outside the table,
    // so a typed client (kubectl replace, edit, controllers) can send it back. The decoded object
    // may have more (Go writes zero structs, e.g. Node status.nodeInfo), never less or different.
    const back = decodeKubeProtobuf(encodeKubeProtobuf(got.body))
    t.deepEqual(missingFrom(back, got.body), [], String(o.kind))
    // and sending it back as JSON passes Strict
    const put = await call(base, 'PUT', `${url}/${name}?fieldValidation=Strict`, JSON.stringify(got.body))
    t.is(put.status, 200, `${String(o.kind)} PUT: ${JSON.stringify(put.body)}`)
  }
})
