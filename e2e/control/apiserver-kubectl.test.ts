/**
 * The real kubectl (v1.32) against `weft apiserver` on loopback over HTTPS
 * with the generated CA and admin token: every served resource goes through
 * apply/create, get (-o wide|yaml|json), describe, patch, label, delete; the
 * workloads through scale; pods through wait and get -w; on the embedded
 * store and on a real etcd started by the test. Also the binary itself
 * (`./bin/weft apiserver`), restarts keeping data, and the three roles.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { execa } from 'execa'
import { pino } from 'pino'
import { startApiserver } from '../../control/apiserver/index.js'
import type { RunningApiserver } from '../../control/apiserver/index.js'
import { repoRoot, startEtcd } from '../harness/index.js'

const KUBECTL = '/usr/bin/kubectl'

interface Cluster { api: RunningApiserver, dir: string, k: (args: string[], input?: string) => Promise<{ code: number, out: string, err: string }> }

async function cluster (t: ExecutionContext, backend: 'embedded' | 'etcd', dir?: string): Promise<Cluster> {
  const d = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'weft-api-'))
  if (dir === undefined) t.teardown(() => { fs.rmSync(d, { recursive: true, force: true }) })
  let etcdServers: string | undefined
  if (backend === 'etcd') {
    const etcd = await startEtcd(t)
    etcdServers = etcd.endpoint
  }
  const api = await startApiserver({
    securePort: 0,
    bindAddress: '127.0.0.1',
    dataDir: d,
    serviceClusterIpRange: '10.96.0.0/12',
    serviceNodePortRange: '30000-32767',
    etcdCompactionInterval: 0,
    logLevel: 'silent',
    ...(etcdServers !== undefined ? { etcdServers } : {})
  }, pino({ level: 'silent' }))
  t.teardown(async () => { await api.stop() })
  const cache = path.join(d, 'kubectl-cache')
  const k = async (args: string[], input?: string): Promise<{ code: number, out: string, err: string }> => {
    const r = await execa(KUBECTL, ['--kubeconfig', api.kubeconfig, '--cache-dir', cache, ...args], { reject: false, ...(input !== undefined ? { input } : {}), timeout: 60_000 })
    return { code: r.exitCode ?? -1, out: String(r.stdout), err: String(r.stderr) }
  }
  return { api, dir: d, k }
}

async function ok (t: ExecutionContext, c: Cluster, args: string[], input?: string): Promise<string> {
  const r = await c.k(args, input)
  t.is(r.code, 0, `kubectl ${args.join(' ')}: ${r.err}`)
  return r.out
}

const manifests = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
data: {greeting: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: shop}
type: Opaque
stringData: {password: s3cret}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: builder, namespace: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, namespace: shop, labels: {app: web}}
spec:
  containers:
  - name: echo
    image: weft/echo
    ports: [{containerPort: 8080, name: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: manual, namespace: shop}
subsets:
- addresses: [{ip: 10.244.1.5}]
  ports: [{port: 8080, name: http}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc12, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
- addresses: [10.244.1.5]
  conditions: {ready: true}
ports: [{name: http, port: 8080, protocol: TCP}]
---
apiVersion: v1
kind: Node
metadata: {name: node-a, labels: {kubernetes.io/hostname: node-a}}
spec: {podCIDR: 10.244.1.0/24, podCIDRs: [10.244.1.0/24]}
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: node-a, namespace: kube-node-lease}
spec: {holderIdentity: node-a, leaseDurationSeconds: 40}
---
apiVersion: v1
kind: Event
metadata: {name: web-0.start, namespace: shop}
involvedObject: {kind: Pod, name: web-0, namespace: shop}
reason: Scheduled
message: assigned shop/web-0 to node-a
type: Normal
source: {component: default-scheduler}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: echo, image: weft/echo}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: cache, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: cache}}
  template:
    metadata: {labels: {app: cache}}
    spec:
      containers: [{name: echo, image: weft/echo}]
`

/** [kubectl resource, namespace or '' for cluster-scoped, name, a column kubectl must print] */
const objects: Array<[string, string, string, string]> = [
  ['namespace', '', 'shop', 'Active'],
  ['configmap', 'shop', 'cfg', 'DATA'],
  ['secret', 'shop', 'creds', 'Opaque'],
  ['serviceaccount', 'shop', 'builder', 'SECRETS'],
  ['pod', 'shop', 'web-0', 'Pending'],
  ['service', 'shop', 'web', 'NodePort'],
  ['endpoints', 'shop', 'manual', '10.244.1.5:8080'],
  ['endpointslice', 'shop', 'web-abc12', 'IPv4'],
  ['node', '', 'node-a', 'Unknown'],
  ['lease', 'kube-node-lease', 'node-a', 'HOLDER'],
  ['event', 'shop', 'web-0.start', 'Scheduled'],
  ['deployment', 'shop', 'api', 'UP-TO-DATE'],
  ['replicaset', 'shop', 'cache', 'DESIRED']
]

const cm = (name: string, data = ''): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\n${data}`

const nsArgs = (ns: string): string[] => ns === '' ? [] : ['-n', ns]

async function tour (t: ExecutionContext, backend: 'embedded' | 'etcd'): Promise<void> {
  const c = await cluster(t, backend)
  // apply (client-side), twice: the second is a strategic-merge patch of nothing
  t.regex(await ok(t, c, ['apply', '-f', '-'], manifests), /namespace\/shop created[\s\S]*replicaset.apps\/cache created/)
  t.regex(await ok(t, c, ['apply', '-f', '-'], manifests), /deployment.apps\/api unchanged/)
  for (const [res, ns, name, column] of objects) {
    const wide = await ok(t, c, ['get', res, name, '-o', 'wide', ...nsArgs(ns)])
    t.true(wide.includes(name) && wide.includes(column), `get ${res} -o wide:\n${wide}`)
    const y = await ok(t, c, ['get', res, name, '-o', 'yaml', ...nsArgs(ns)])
    t.regex(y, /uid: [0-9a-f-]{36}/, `${res} yaml`)
    t.regex(y, /resourceVersion: "\d+"/)
    const j = JSON.parse(await ok(t, c, ['get', res, name, '-o', 'json', ...nsArgs(ns)])) as { metadata: { name: string, creationTimestamp: string } }
    t.is(j.metadata.name, name)
    t.regex(await ok(t, c, ['describe', res, name, ...nsArgs(ns)]), new RegExp(`Name:\\s+${name.replace('.', '\\.')}`))
    t.regex(await ok(t, c, ['label', res, name, 'tour=yes', ...nsArgs(ns)]), /labeled/)
    t.regex(await ok(t, c, ['annotate', res, name, 'weft.dev/note=hi', ...nsArgs(ns)]), /annotated/)
    t.regex(await ok(t, c, ['patch', res, name, '--type=merge', '-p', '{"metadata":{"labels":{"patched":"merge"}}}', ...nsArgs(ns)]), /patched/)
    t.regex(await ok(t, c, ['patch', res, name, '--type=json', '-p', '[{"op":"add","path":"/metadata/labels/json","value":"yes"}]', ...nsArgs(ns)]), /patched/)
    const labels = JSON.parse(await ok(t, c, ['get', res, name, '-o', 'jsonpath={.metadata.labels}', ...nsArgs(ns)])) as Record<string, string>
    t.like(labels, { tour: 'yes', patched: 'merge', json: 'yes' })
  }
  // get with selectors, all namespaces, Tables
  t.regex(await ok(t, c, ['get', 'pods', '-A', '-l', 'app=web']), /shop\s+web-0\s+0\/1\s+Pending/)
  t.regex(await ok(t, c, ['get', 'all', '-n', 'shop']), /pod\/web-0[\s\S]*service\/web[\s\S]*deployment.apps\/api[\s\S]*replicaset.apps\/cache/)
  t.regex(await ok(t, c, ['get', 'pods', '-n', 'shop', '--field-selector', 'status.phase=Pending']), /web-0/)
  // strategic merge patch on a keyed list (containers by name) and env
  await ok(t, c, ['patch', 'deployment', 'api', '-n', 'shop', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"echo","env":[{"name":"MODE","value":"fast"}]}]}}}}'])
  const dep = JSON.parse(await ok(t, c, ['get', 'deployment', 'api', '-n', 'shop', '-o', 'json'])) as any
  t.is(dep.spec.template.spec.containers.length, 1)
  t.deepEqual(dep.spec.template.spec.containers[0].env, [{ name: 'MODE', value: 'fast' }])
  t.is(dep.metadata.generation, 2)
  // scale through the scale subresource
  t.regex(await ok(t, c, ['scale', 'deployment', 'api', '-n', 'shop', '--replicas=4']), /scaled/)
  t.regex(await ok(t, c, ['scale', 'replicaset', 'cache', '-n', 'shop', '--replicas=3']), /scaled/)
  t.is(await ok(t, c, ['get', 'deploy', 'api', '-n', 'shop', '-o', 'jsonpath={.spec.replicas}']), '4')
  t.is(await ok(t, c, ['get', 'rs', 'cache', '-n', 'shop', '-o', 'jsonpath={.spec.replicas}']), '3')
  // Service: a ClusterIP and a node port were allocated; apply keeps them.
  const svc = JSON.parse(await ok(t, c, ['get', 'svc', 'web', '-n', 'shop', '-o', 'json'])) as any
  t.regex(svc.spec.clusterIP, /^10\.(9[6-9]|1[01]\d)\./)
  t.true(svc.spec.ports[0].nodePort >= 30000 && svc.spec.ports[0].nodePort <= 32767)
  await ok(t, c, ['apply', '-f', '-'], manifests)
  const svc2 = JSON.parse(await ok(t, c, ['get', 'svc', 'web', '-n', 'shop', '-o', 'json'])) as any
  t.is(svc2.spec.clusterIP, svc.spec.clusterIP)
  t.is(svc2.spec.ports[0].nodePort, svc.spec.ports[0].nodePort)
  // wait: a condition written through the status subresource, then deletion
  await ok(t, c, ['patch', 'pod', 'web-0', '-n', 'shop', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}'])
  t.regex(await ok(t, c, ['wait', '--for=condition=Ready', 'pod/web-0', '-n', 'shop', '--timeout=20s']), /condition met/)
  // describe shows events through the events field selector (name, namespace and uid of the pod)
  const uid = await ok(t, c, ['get', 'pod', 'web-0', '-n', 'shop', '-o', 'jsonpath={.metadata.uid}'])
  await ok(t, c, ['patch', 'event', 'web-0.start', '-n', 'shop', '--type=merge', '-p', JSON.stringify({ involvedObject: { uid } })])
  t.regex(await ok(t, c, ['describe', 'pod', 'web-0', '-n', 'shop']), /Scheduled\s+.*assigned shop\/web-0 to node-a/)
  // delete each object; then the namespace, which empties itself
  for (const [res, ns, name] of [...objects].reverse()) {
    if (res === 'namespace' || res === 'event') continue
    t.regex(await ok(t, c, ['delete', res, name, ...nsArgs(ns), '--wait=true', '--timeout=20s']), /deleted/)
    const gone = await c.k(['get', res, name, ...nsArgs(ns)])
    t.regex(gone.err, /NotFound/)
  }
  await ok(t, c, ['delete', 'namespace', 'shop', '--timeout=30s'])
  t.regex((await c.k(['get', 'ns', 'shop'])).err, /NotFound/)
}

test('[store] kubectl tour of every resource on the embedded store', async (t) => { await tour(t, 'embedded') })
test('[etcd] kubectl tour of every resource on a real etcd', async (t) => { await tour(t, 'etcd') })

test('[store] kubectl get -w streams changes; wait --for=delete; bad input is refused cleanly', async (t) => {
  const c = await cluster(t, 'embedded')
  const w = execa(KUBECTL, ['--kubeconfig', c.api.kubeconfig, '--cache-dir', path.join(c.dir, 'kc'), 'get', 'pods', '-w', '--output-watch-events', '-n', 'default'], { reject: false, buffer: false })
  t.teardown(() => { w.kill() })
  const lines: string[] = []
  w.stdout?.on('data', (b: Buffer) => { lines.push(...b.toString().split('\n').filter((l) => l !== '')) })
  await new Promise((r) => setTimeout(r, 1500))
  await ok(t, c, ['run', 'w1', '--image=weft/echo'])
  await ok(t, c, ['label', 'pod', 'w1', 'x=1'])
  await ok(t, c, ['delete', 'pod', 'w1', '--wait=false'])
  const until = Date.now() + 15_000
  while (Date.now() < until && !lines.some((l) => /DELETED\s+w1/.test(l))) await new Promise((r) => setTimeout(r, 100))
  t.true(lines.some((l) => /ADDED\s+w1\s+0\/1\s+Pending/.test(l)), lines.join('\n'))
  t.true(lines.some((l) => /MODIFIED\s+w1/.test(l)), lines.join('\n'))
  t.true(lines.some((l) => /DELETED\s+w1/.test(l)), lines.join('\n'))
  // wait --for=delete on a finalizer-held object
  await ok(t, c, ['create', '-f', '-'], cm('held'))
  await ok(t, c, ['patch', 'configmap', 'held', '--type=merge', '-p', '{"metadata":{"finalizers":["weft.dev/hold"]}}'])
  await ok(t, c, ['delete', 'configmap', 'held', '--wait=false'])
  const waiting = c.k(['wait', '--for=delete', 'configmap/held', '--timeout=20s'])
  await new Promise((r) => setTimeout(r, 500))
  await ok(t, c, ['patch', 'configmap', 'held', '--type=merge', '-p', '{"metadata":{"finalizers":null}}'])
  t.is((await waiting).code, 0)
  // bad input: invalid name, wrong kind, garbage YAML
  const bad = await c.k(['create', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Not_Valid}\n')
  t.regex(bad.err, /Invalid value: "Not_Valid"/)
  const garbage = await c.k(['create', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: [\n')
  t.not(garbage.code, 0)
  const podNoImage = await c.k(['create', '-f', '-'], 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n')
  t.regex(podNoImage.err, /spec.containers\[0\].image: Required value/)
  t.regex((await c.k(['get', 'cm', 'held'])).err, /NotFound/)
})

test('[store] the three roles: admin writes, read-only reads, a node writes only its own objects; unknown tokens are refused', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-api-roles-'))
  t.teardown(() => { fs.rmSync(dir, { recursive: true, force: true }) })
  fs.writeFileSync(path.join(dir, 'tokens.csv'), 'admintoken,admin,u1,"system:masters"\nviewtoken,viewer,u2,"weft:read-only"\nnodetoken,system:node:n1,u3,"system:nodes"\n', { mode: 0o600 })
  const c = await cluster(t, 'embedded', dir)
  const as = async (token: string, args: string[], input?: string): Promise<{ code: number, out: string, err: string }> => await c.k(['--token', token, ...args], input)
  t.is((await as('admintoken', ['create', '-f', '-'], cm('a'))).code, 0)
  t.is((await as('viewtoken', ['get', 'configmap', 'a'])).code, 0)
  t.regex((await as('viewtoken', ['create', '-f', '-'], cm('b'))).err, /Forbidden.*User "viewer" cannot create resource "configmaps"/)
  t.regex((await as('viewtoken', ['get', 'secrets'])).err, /Forbidden/)
  t.regex((await as('bogus', ['get', 'pods'])).err, /Unauthorized|provide credentials/)
  const node = (name: string): string => `apiVersion: v1\nkind: Node\nmetadata: {name: ${name}}\n`
  t.is((await as('nodetoken', ['create', '-f', '-'], node('n1'))).code, 0)
  t.regex((await as('nodetoken', ['create', '-f', '-'], node('n2'))).err, /Forbidden/)
  t.regex((await as('nodetoken', ['create', '-f', '-'], cm('x'))).err, /Forbidden/)
  // NodeRestriction: mirror pods of the node's static pods, bound to itself, and nothing else.
  const pod = (name: string, node: string, mirror: boolean): string => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, ...(mirror ? { annotations: { 'kubernetes.io/config.mirror': 'abc' } } : {}) }, spec: { nodeName: node, containers: [{ name: 'c', image: 'weft/echo' }] } })
  t.is((await as('nodetoken', ['create', '-f', '-'], pod('static-n1', 'n1', true))).code, 0)
  t.regex((await as('nodetoken', ['create', '-f', '-'], pod('plain', 'n1', false))).err, /Forbidden/)
  t.regex((await as('nodetoken', ['create', '-f', '-'], pod('static-n2', 'n2', true))).err, /Forbidden/)
})

test('[store] ./bin/weft apiserver: first start writes the CA, tokens and admin.kubeconfig; a restart keeps the data', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-api-bin-'))
  t.teardown(() => { fs.rmSync(dir, { recursive: true, force: true }) })
  const port = 20000 + Math.floor(Math.random() * 20000)
  const run = () => execa(path.join(repoRoot, 'bin', 'weft'), ['apiserver', '--data-dir', dir, '--bind-address', '127.0.0.1', '--secure-port', String(port), '--log-level', 'warn'], { reject: false, buffer: false })
  const k = async (args: string[]): Promise<{ code: number, out: string, err: string }> => {
    const r = await execa(KUBECTL, ['--kubeconfig', path.join(dir, 'admin.kubeconfig'), '--cache-dir', path.join(dir, 'kc'), ...args], { reject: false, timeout: 30_000 })
    return { code: r.exitCode ?? -1, out: String(r.stdout), err: String(r.stderr) }
  }
  const waitUp = async (): Promise<void> => {
    const until = Date.now() + 30_000
    while (Date.now() < until) {
      if (fs.existsSync(path.join(dir, 'admin.kubeconfig')) && (await k(['get', '--raw', '/readyz'])).out === 'ok') return
      await new Promise((r) => setTimeout(r, 200))
    }
    throw new Error('apiserver did not come up')
  }
  const cmFile = path.join(dir, 'keep.yaml')
  fs.writeFileSync(cmFile, cm('keep', 'data: {a: "1"}\n'))
  let p = run()
  t.teardown(() => { p.kill('SIGKILL') })
  await waitUp()
  for (const f of ['pki/ca.crt', 'pki/apiserver.crt', 'tokens.csv', 'admin.kubeconfig']) t.true(fs.existsSync(path.join(dir, f)), f)
  t.is(fs.statSync(path.join(dir, 'tokens.csv')).mode & 0o777, 0o600)
  t.is((await k(['apply', '-f', cmFile])).code, 0)
  const ca = fs.readFileSync(path.join(dir, 'pki/ca.crt'), 'utf8')
  p.kill('SIGTERM')
  await p
  p = run()
  await waitUp()
  t.is(fs.readFileSync(path.join(dir, 'pki/ca.crt'), 'utf8'), ca)
  t.is((await k(['get', 'configmap', 'keep', '-o', 'jsonpath={.data.a}'])).out, '1')
  p.kill('SIGTERM')
  await p
})

test('[etcd] two API servers share one etcd: writes and watches cross over, Service IPs and node ports never collide', async (t) => {
  const { KubeClient, Informer } = await import('../../control/client/index.js')
  const etcd = await startEtcd(t)
  const servers: RunningApiserver[] = []
  for (let i = 0; i < 2; i++) {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `weft-api-ha${i}-`))
    t.teardown(() => { fs.rmSync(d, { recursive: true, force: true }) })
    const api = await startApiserver({
      securePort: 0, bindAddress: '127.0.0.1', dataDir: d, etcdServers: etcd.endpoint, serviceClusterIpRange: '10.96.0.0/24',
      serviceNodePortRange: '30000-30099', etcdCompactionInterval: 0, logLevel: 'silent'
    }, pino({ level: 'silent' }))
    t.teardown(async () => { await api.stop() })
    servers.push(api)
  }
  const [a, b] = await Promise.all(servers.map(async (s) => await KubeClient.fromKubeconfig(s.kubeconfig)))
  if (a === undefined || b === undefined) throw new Error('no clients')
  t.teardown(() => { a.close(); b.close() })
  const seenOnB: string[] = []
  const inf = new Informer(b, { resource: 'services', namespace: 'default' }, {}, { onAdd: (o) => { seenOnB.push(String((o.metadata as Record<string, unknown>).name)) } })
  t.teardown(async () => { await inf.stop() })
  await inf.waitForSync()
  const mk = (c: InstanceType<typeof KubeClient>, name: string) => c.create({ resource: 'services', namespace: 'default' }, { metadata: { name }, spec: { type: 'NodePort', ports: [{ port: 80 }], selector: { app: name } } })
  const created = await Promise.all(Array.from({ length: 40 }, async (_, i) => await mk(i % 2 === 0 ? a : b, `s${i}`)))
  const ips = created.map((s) => (s.spec as Record<string, unknown>).clusterIP)
  const ports = created.map((s) => ((s.spec as Record<string, unknown[]>).ports?.[0] as Record<string, unknown>).nodePort)
  t.is(new Set(ips).size, 40)
  t.is(new Set(ports).size, 40)
  const until = Date.now() + 10_000
  while (seenOnB.filter((n) => n.startsWith('s')).length < 40 && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
  t.is(seenOnB.filter((n) => n.startsWith('s')).length, 40)
})
