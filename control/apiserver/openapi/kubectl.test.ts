/**
 * The real kubectl (v1.32) against a throwaway loopback server that serves only
 * what this folder and its siblings produce: discovery (aggregated), /openapi/v2
 * (protobuf), /openapi/v3, and a canned pod as a Table. It checks what a person
 * sees (`get`, `get -o wide`, `--show-labels`, `explain`) and what kubectl sends
 * (`create -f` with fieldValidation=Strict, `apply -f` as a strategic merge patch).
 */
import test from 'ava'
import { execFile } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import { aggregatedDiscovery, apiGroupList, apiResourceList, apiVersions, negotiateDiscovery } from '../discovery.js'
import { resourceFor } from '../resources.js'
import { parseTableAccept, toTable } from '../tables/index.js'
import { negotiateOpenAPIv2, openAPIv2Served, openAPIv3 } from './index.js'

const KUBECTL = '/usr/bin/kubectl'
const haveKubectl = fs.existsSync(KUBECTL)
const kubectlTest = haveKubectl ? test.serial : test.serial.skip

interface Seen { method: string, url: string, accept: string | undefined, contentType: string | undefined, body: string }

const MIN = 60_000
const iso = (msAgo: number): string => new Date(Date.now() - msAgo).toISOString().replace(/\.\d{3}Z$/, 'Z')
const lastApplied = JSON.stringify({
  apiVersion: 'v1', kind: 'Pod', metadata: { annotations: {}, name: 'web', namespace: 'default' },
  spec: { containers: [{ image: 'nginx:1.27', name: 'nginx' }] }
}) + '\n'
const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web', namespace: 'default', uid: '7d9e8f10-0000-4000-8000-000000000001', resourceVersion: '12',
    labels: { app: 'web' }, creationTimestamp: iso(50 * 60 * MIN),
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied }
  },
  spec: { nodeName: 'node-1', containers: [{ name: 'nginx', image: 'nginx:1.27' }] },
  status: {
    phase: 'Running',
    podIP: '10.244.1.7',
    podIPs: [{ ip: '10.244.1.7' }],
    conditions: [{ type: 'Ready', status: 'True' }],
    containerStatuses: [{
      name: 'nginx', ready: true, restartCount: 2, state: { running: { startedAt: iso(30 * MIN) } },
      lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: iso(30 * MIN + 20_000) } }
    }]
  }
}

const created = iso(50 * 60 * MIN) // AGE 2d2h
const meta = (name: string, extra: object = {}): object => ({ name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '12', creationTimestamp: created, ...extra })
const tmpl = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] } }

/** One canned object per served kind (besides the pod above), and what `kubectl get -o wide` must print for it. */
const CANNED: Record<string, { objects: object[], wide: string[][] }> = {
  services: {
    objects: [{ apiVersion: 'v1', kind: 'Service', metadata: meta('web'), spec: { type: 'NodePort', clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20'], ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }], selector: { app: 'web' } } }],
    wide: [['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE', 'SELECTOR'], ['web', 'NodePort', '10.96.0.20', '<none>', '80:30080/TCP', '2d2h', 'app=web']]
  },
  nodes: {
    objects: [{
      apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', uid: 'n1', creationTimestamp: created, labels: { 'node-role.kubernetes.io/control-plane': '' } },
      spec: { unschedulable: true },
      status: {
        conditions: [{ type: 'Ready', status: 'True' }],
        addresses: [{ type: 'InternalIP', address: '192.168.56.10' }],
        nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Debian', kernelVersion: '6.1.0', containerRuntimeVersion: 'weft://0.1.0' }
      }
    }],
    wide: [['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION', 'INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME'],
      ['node-1', 'Ready,SchedulingDisabled', 'control-plane', '2d2h', 'v1.32.0', '192.168.56.10', '<none>', 'Debian', '6.1.0', 'weft://0.1.0']]
  },
  namespaces: {
    objects: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', uid: 'ns1', creationTimestamp: created }, status: { phase: 'Active' } }],
    wide: [['NAME', 'STATUS', 'AGE'], ['default', 'Active', '2d2h']]
  },
  endpoints: {
    objects: [{ apiVersion: 'v1', kind: 'Endpoints', metadata: meta('web'), subsets: [{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: '10.0.0.3' }, { ip: '10.0.0.4' }], ports: [{ port: 8080 }] }] }],
    wide: [['NAME', 'ENDPOINTS', 'AGE'], ['web', '10.0.0.1:8080,10.0.0.2:8080,10.0.0.3:8080 + 1 more...', '2d2h']]
  },
  configmaps: {
    objects: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('settings'), data: { a: '1', b: '2' } }],
    wide: [['NAME', 'DATA', 'AGE'], ['settings', '2', '2d2h']]
  },
  secrets: {
    objects: [{ apiVersion: 'v1', kind: 'Secret', metadata: meta('tls'), type: 'kubernetes.io/tls', data: { 'tls.crt': 'eA==', 'tls.key': 'eQ==' } }],
    wide: [['NAME', 'TYPE', 'DATA', 'AGE'], ['tls', 'kubernetes.io/tls', '2', '2d2h']]
  },
  serviceaccounts: {
    objects: [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('default') }],
    wide: [['NAME', 'SECRETS', 'AGE'], ['default', '0', '2d2h']]
  },
  events: {
    objects: [{
      apiVersion: 'v1', kind: 'Event', metadata: meta('web.1'), involvedObject: { kind: 'Pod', name: 'web', namespace: 'default' },
      reason: 'Scheduled', message: 'Successfully assigned default/web to node-1', type: 'Normal', source: { component: 'default-scheduler' },
      firstTimestamp: iso(10 * MIN), lastTimestamp: iso(10 * MIN), count: 1
    }],
    wide: [['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'SUBOBJECT', 'SOURCE', 'MESSAGE', 'FIRST SEEN', 'COUNT', 'NAME'],
      // SUBOBJECT is empty: kubectl pads it with blanks, so the column split skips it.
      ['10m', 'Normal', 'Scheduled', 'pod/web', 'default-scheduler', 'Successfully assigned default/web to node-1', '10m', '1', 'web.1']]
  },
  endpointslices: {
    objects: [{ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: meta('web-x1'), addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints: [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'] }] }],
    wide: [['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE'], ['web-x1', 'IPv4', '8080', '10.0.0.1,10.0.0.2', '2d2h']]
  },
  leases: {
    objects: [{ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: meta('weft-controller'), spec: { holderIdentity: 'node-1_abc' } }],
    wide: [['NAME', 'HOLDER', 'AGE'], ['weft-controller', 'node-1_abc', '2d2h']]
  },
  deployments: {
    objects: [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta('web'), spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: tmpl }, status: { replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2 } }],
    wide: [['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR'], ['web', '2/3', '3', '2', '2d2h', 'nginx', 'nginx:1.27', 'app=web']]
  },
  replicasets: {
    objects: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: meta('web-5d4f8'), spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: tmpl }, status: { replicas: 3, readyReplicas: 2 } }],
    wide: [['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR'], ['web-5d4f8', '3', '3', '2', '2d2h', 'nginx', 'nginx:1.27', 'app=web']]
  }
}

async function server (seen: Seen[], opts: { legacyDiscovery?: boolean } = {}): Promise<{ app: FastifyInstance, url: string }> {
  const app = Fastify()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => { done(null, body) })
  app.addHook('onRequest', async (req) => {
    seen.push({ method: req.method, url: req.url, accept: req.headers.accept, contentType: req.headers['content-type'], body: '' })
  })
  app.addHook('preHandler', async (req) => {
    const last = seen[seen.length - 1]
    if (last !== undefined && req.body !== undefined) last.body = typeof req.body === 'string' ? req.body : JSON.stringify(req.body)
  })
  const v2 = openAPIv2Served()
  const v3 = openAPIv3()
  const pods = resourceFor('', 'v1', 'pods')
  if (pods === undefined) throw new Error('pods not served')

  app.get('/version', async () => ({ major: '1', minor: '32', gitVersion: 'v1.32.0', platform: 'linux/amd64' }))
  for (const [url, scope] of [['/api', 'core'], ['/apis', 'apis']] as const) {
    app.get(url, async (req, reply) => {
      const n = opts.legacyDiscovery === true ? negotiateDiscovery('application/json') : negotiateDiscovery(req.headers.accept)
      reply.header('Content-Type', n.contentType).header('Vary', 'Accept')
      if (n.aggregated) return JSON.stringify(aggregatedDiscovery(scope, n.version))
      return JSON.stringify(scope === 'core' ? apiVersions(req.headers.host ?? '') : apiGroupList())
    })
  }
  app.get('/api/v1', async (_req, reply) => reply.type('application/json').send(JSON.stringify(apiResourceList('', 'v1'))))
  app.get<{ Params: { g: string, v: string } }>('/apis/:g/:v', async (req, reply) => {
    const list = apiResourceList(req.params.g, req.params.v)
    return list === undefined ? reply.code(404).send({}) : reply.type('application/json').send(JSON.stringify(list))
  })
  app.get('/openapi/v2', async (req, reply) => {
    const n = negotiateOpenAPIv2(req.headers.accept)
    reply.header('Content-Type', n.contentType)
    return n.format === 'protobuf' ? Buffer.from(v2.protobuf) : v2.json
  })
  app.get('/openapi/v3', async (_req, reply) => reply.type('application/json').send(JSON.stringify(v3.index)))
  app.get('/openapi/v3/*', async (req, reply) => {
    const root = (req.params as { '*': string })['*']
    const doc = v3.documents.get(root)
    return doc === undefined ? reply.code(404).send({}) : reply.type('application/json').send(doc.body)
  })
  app.get('/api/v1/namespaces/:ns/pods', async (req, reply) => {
    const n = parseTableAccept(req.headers.accept)
    if ((req.query as Record<string, string>).watch === 'true') {
      // Two events, then the stream ends (kubectl get -w exits): each event object is a one-row Table,
      // column definitions only in the first, as kube-apiserver sends them.
      const done = { ...pod, status: { ...pod.status, phase: 'Succeeded', containerStatuses: [{ name: 'nginx', ready: false, restartCount: 2, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] } }
      const event = (type: string, o: object, i: number): string => JSON.stringify({
        type, object: n.table ? toTable(pods, [o], { now: new Date(), includeObject: 'Metadata', noHeaders: i > 0 }) : o
      }) + '\n'
      reply.hijack()
      reply.raw.writeHead(200, { 'Content-Type': n.table ? n.contentType : 'application/json' })
      reply.raw.write(event('MODIFIED', done, 0))
      reply.raw.end(event('DELETED', done, 1))
      return
    }
    if (n.table) return reply.header('Content-Type', n.contentType).send(JSON.stringify(toTable(pods, [pod], { now: new Date(), includeObject: 'Metadata', resourceVersion: '12', ...(n.version === 'v1beta1' ? { version: 'v1beta1' as const } : {}) })))
    return reply.type('application/json').send(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '12' }, items: [pod] }))
  })
  app.get('/api/v1/namespaces/:ns/pods/:name', async (req, reply) => {
    const { name } = req.params as { name: string }
    if (name === 'web') return reply.type('application/json').send(JSON.stringify(pod))
    return reply.code(404).type('application/json').send(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `pods "${name}" not found`, reason: 'NotFound', details: { name, kind: 'pods' }, code: 404 }))
  })
  app.post('/api/v1/namespaces/:ns/pods', async (req, reply) => {
    const body = (typeof req.body === 'string' ? JSON.parse(req.body) : req.body) as { metadata: Record<string, unknown> }
    return reply.code(201).type('application/json').send(JSON.stringify({ ...body, metadata: { ...body.metadata, namespace: 'default', uid: 'u2', resourceVersion: '13', creationTimestamp: iso(0) } }))
  })
  const listOf = (group: string, version: string, plural: string, accept: string | undefined, reply: FastifyReply): FastifyReply => {
    const info = resourceFor(group, version, plural)
    const canned = plural === 'pods' ? { objects: [pod] } : CANNED[plural]
    if (info === undefined || canned === undefined) return reply.code(404).send({})
    const n = parseTableAccept(accept)
    if (n.table) return reply.header('Content-Type', n.contentType).send(JSON.stringify(toTable(info, canned.objects, { now: new Date(), includeObject: 'Metadata', resourceVersion: '12' })))
    return reply.type('application/json').send(JSON.stringify({ kind: info.listKind, apiVersion: group === '' ? version : `${group}/${version}`, metadata: { resourceVersion: '12' }, items: canned.objects }))
  }
  app.get<{ Params: { plural: string } }>('/api/v1/namespaces/:ns/:plural', async (req, reply) => listOf('', 'v1', req.params.plural, req.headers.accept, reply))
  app.get<{ Params: { plural: string } }>('/api/v1/:plural', async (req, reply) => listOf('', 'v1', req.params.plural, req.headers.accept, reply))
  app.get<{ Params: { g: string, v: string, plural: string } }>('/apis/:g/:v/namespaces/:ns/:plural', async (req, reply) => listOf(req.params.g, req.params.v, req.params.plural, req.headers.accept, reply))
  app.patch('/api/v1/namespaces/:ns/pods/:name', async (_req, reply) => reply.type('application/json').send(JSON.stringify(pod)))
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, url }
}

interface Run { stdout: string, stderr: string, code: number }

function kubectl (url: string, dir: string, args: string[], stdin?: string, binary = KUBECTL): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(binary, [`--server=${url}`, `--cache-dir=${path.join(dir, 'cache')}`, '--request-timeout=20s', ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, KUBECONFIG: path.join(dir, 'kubeconfig') },
      timeout: 60_000
    }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1 })
    })
    if (stdin !== undefined) child.stdin?.end(stdin)
  })
}

/** Columns of a kubectl table line (kubectl pads with at least three spaces; cells here hold single spaces at most). */
const columns = (line: string): string[] => line.trim().split(/\s{2,}/)

let ctx: { app: FastifyInstance, url: string, dir: string, seen: Seen[] } | undefined
test.before(async () => {
  if (!haveKubectl) return
  const seen: Seen[] = []
  const { app, url } = await server(seen)
  ctx = { app, url, dir: fs.mkdtempSync(path.join(os.tmpdir(), 'weft-kubectl-')), seen }
})
test.after.always(async () => {
  if (ctx === undefined) return
  await ctx.app.close()
  fs.rmSync(ctx.dir, { recursive: true, force: true })
})

kubectlTest('kubectl get pods prints the server-side Table, found through aggregated discovery', async (t) => {
  if (ctx === undefined) return t.fail()
  ctx.seen.length = 0
  const r = await kubectl(ctx.url, ctx.dir, ['get', 'pods', '-n', 'default'])
  t.is(r.code, 0, r.stderr)
  const lines = r.stdout.trimEnd().split('\n')
  t.deepEqual(columns(lines[0] ?? ''), ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'])
  t.deepEqual(columns(lines[1] ?? ''), ['web', '1/1', 'Running', '2 (30m ago)', '2d2h'])
  t.is(lines.length, 2)
  // Aggregated discovery was accepted: no per-group-version legacy documents were fetched.
  t.false(ctx.seen.some((s) => s.url.split('?')[0] === '/api/v1' || s.url.startsWith('/apis/')), ctx.seen.map((s) => s.url).join(' '))
  const list = ctx.seen.find((s) => s.url.startsWith('/api/v1/namespaces/default/pods'))
  t.regex(list?.accept ?? '', /as=Table;v=v1;g=meta\.k8s\.io/)
})

kubectlTest('kubectl get pods -o wide shows the priority-1 columns; --show-labels reads the row object', async (t) => {
  if (ctx === undefined) return t.fail()
  const wide = await kubectl(ctx.url, ctx.dir, ['get', 'pods', '-n', 'default', '-o', 'wide'])
  t.is(wide.code, 0, wide.stderr)
  const lines = wide.stdout.trimEnd().split('\n')
  t.deepEqual(columns(lines[0] ?? ''), ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES'])
  t.deepEqual(columns(lines[1] ?? ''), ['web', '1/1', 'Running', '2 (30m ago)', '2d2h', '10.244.1.7', 'node-1', '<none>', '<none>'])
  const labels = await kubectl(ctx.url, ctx.dir, ['get', 'pods', '-n', 'default', '--show-labels'])
  t.is(labels.code, 0, labels.stderr)
  t.deepEqual(columns(labels.stdout.trimEnd().split('\n')[1] ?? '').slice(-1), ['app=web'])
})

const manifest = (containers: string): string => `apiVersion: v1
kind: Pod
metadata:
  name: NAME
  namespace: default
spec:
  containers:
${containers}`

kubectlTest('kubectl create -f: OpenAPI v3 makes kubectl leave validation to the server (fieldValidation=Strict)', async (t) => {
  if (ctx === undefined) return t.fail()
  ctx.seen.length = 0
  const r = await kubectl(ctx.url, ctx.dir, ['create', '-f', '-'], manifest('  - name: c\n    image: busybox\n').replace('NAME', 'made'))
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /pod\/made created/)
  const post = ctx.seen.find((s) => s.method === 'POST')
  t.truthy(post)
  t.regex(post?.url ?? '', /fieldValidation=Strict/)
  t.true(ctx.seen.some((s) => s.url.startsWith('/openapi/v3/api/v1?hash=')), 'fetched the v3 document by its hashed URL')
})

kubectlTest('kubectl apply -f on an existing pod sends a strategic merge patch from kubectl\'s own types', async (t) => {
  if (ctx === undefined) return t.fail()
  ctx.seen.length = 0
  const r = await kubectl(ctx.url, ctx.dir, ['apply', '-f', '-'], manifest('  - name: nginx\n    image: nginx:1.27\n  - name: side\n    image: busybox:1.36\n').replace('NAME', 'web'))
  t.is(r.code, 0, r.stderr)
  t.is(r.stderr, '')
  const patch = ctx.seen.find((s) => s.method === 'PATCH')
  t.is(patch?.contentType, 'application/strategic-merge-patch+json')
  const body = JSON.parse(patch?.body ?? '{}') as { spec?: Record<string, unknown> }
  t.deepEqual(body.spec?.['$setElementOrder/containers'], [{ name: 'nginx' }, { name: 'side' }])
  t.regex(patch?.url ?? '', /fieldManager=kubectl-client-side-apply/)
})

kubectlTest('kubectl explain reads the v3 schemas, and with --output=plaintext-openapiv2 the protobuf v2 document', async (t) => {
  if (ctx === undefined) return t.fail()
  for (const extra of [[], ['--output=plaintext-openapiv2']]) {
    const r = await kubectl(ctx.url, ctx.dir, ['explain', 'pods', ...extra])
    t.is(r.code, 0, `${extra.join(' ')}: ${r.stderr}`)
    t.regex(r.stdout, /KIND:\s+Pod/)
    t.regex(r.stdout, /VERSION:\s+v1/)
    t.regex(r.stdout, /Pod is a collection of containers/)
    for (const field of ['apiVersion', 'kind', 'metadata', 'spec', 'status']) t.regex(r.stdout, new RegExp(`^\\s+${field}\\s`, 'm'))
  }
  const cm = await kubectl(ctx.url, ctx.dir, ['explain', 'configmap.data', '--output=plaintext-openapiv2'])
  t.is(cm.code, 0, cm.stderr)
  t.regex(cm.stdout, /FIELD:\s+data/)
  t.true(ctx.seen.some((s) => s.url.split('?')[0] === '/openapi/v2' && /protobuf/.test(s.accept ?? '')), 'the v2 document was fetched as protobuf')
})

kubectlTest('kubectl get -o wide prints every other served kind as upstream would', async (t) => {
  if (ctx === undefined) return t.fail()
  for (const [plural, { wide }] of Object.entries(CANNED)) {
    const r = await kubectl(ctx.url, ctx.dir, ['get', plural, '-n', 'default', '-o', 'wide'])
    t.is(r.code, 0, `${plural}: ${r.stderr}`)
    const lines = r.stdout.trimEnd().split('\n')
    t.deepEqual(lines.map((l) => columns(l)), wide, plural)
  }
})

kubectlTest('kubectl falls back to legacy discovery (/api/v1, /apis/<g>/<v>) when the server answers plain JSON', async (t) => {
  if (ctx === undefined) return t.fail()
  const seen: Seen[] = []
  const legacy = await server(seen, { legacyDiscovery: true })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-kubectl-legacy-'))
  try {
    const r = await kubectl(legacy.url, dir, ['get', 'deployments', '-n', 'default'])
    t.is(r.code, 0, r.stderr)
    t.deepEqual(columns(r.stdout.trimEnd().split('\n')[1] ?? ''), ['web', '2/3', '3', '2', '2d2h'])
    const urls = seen.map((s) => s.url.split('?')[0])
    t.true(urls.includes('/api/v1'), urls.join(' '))
    t.true(urls.includes('/apis/apps/v1'), urls.join(' '))
    const rs = await kubectl(legacy.url, dir, ['get', 'rs', '-n', 'default'])
    t.is(rs.code, 0, rs.stderr)
    t.deepEqual(columns(rs.stdout.trimEnd().split('\n')[1] ?? ''), ['web-5d4f8', '3', '3', '2', '2d2h'])
  } finally {
    await legacy.app.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

kubectlTest('kubectl get pods -w prints watch events from one-row Tables, headers from the first only', async (t) => {
  if (ctx === undefined) return t.fail()
  ctx.seen.length = 0
  const r = await kubectl(ctx.url, ctx.dir, ['get', 'pods', '-n', 'default', '-w', '--output-watch-events'])
  t.is(r.code, 0, r.stderr)
  t.deepEqual(r.stdout.trimEnd().split('\n').map(columns), [
    ['EVENT', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
    ['ADDED', 'web', '1/1', 'Running', '2 (30m ago)', '2d2h'],
    // The finished container carries no lastState: RESTARTS has no "ago" part.
    ['MODIFIED', 'web', '0/1', 'Completed', '2', '2d2h'],
    ['DELETED', 'web', '0/1', 'Completed', '2', '2d2h']
  ])
  const watch = ctx.seen.find((s) => s.url.includes('watch=true'))
  t.regex(watch?.url ?? '', /resourceVersion=12/)
  t.regex(watch?.accept ?? '', /as=Table;v=v1;g=meta\.k8s\.io/)
})

kubectlTest('kubectl get all lists the kinds in the "all" category, with kind/name prefixes from the row objects', async (t) => {
  if (ctx === undefined) return t.fail()
  const r = await kubectl(ctx.url, ctx.dir, ['get', 'all', '-n', 'default'])
  t.is(r.code, 0, r.stderr)
  const names = r.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('NAME')).map((l) => columns(l)[0])
  t.deepEqual(names, ['pod/web', 'service/web', 'deployment.apps/web', 'replicaset.apps/web-5d4f8'])
})

kubectlTest('kubectl get pods -A adds NAMESPACE from the row objects', async (t) => {
  if (ctx === undefined) return t.fail()
  const r = await kubectl(ctx.url, ctx.dir, ['get', 'pods', '-A'])
  t.is(r.code, 0, r.stderr)
  t.deepEqual(r.stdout.trimEnd().split('\n').map(columns), [
    ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
    ['default', 'web', '1/1', 'Running', '2 (30m ago)', '2d2h']
  ])
})

// Debian bookworm's kubectl 1.20 (package kubernetes-client) validates on the client against /openapi/v2 and never
// asks for aggregated discovery or /openapi/v3. Run when WEFT_KUBECTL_120 names that binary (installing the package
// would replace /usr/bin/kubectl; `apt-get download kubernetes-client && dpkg-deb -x` it elsewhere).
const KUBECTL_120 = process.env.WEFT_KUBECTL_120
const kubectl120Test = haveKubectl && KUBECTL_120 !== undefined && fs.existsSync(KUBECTL_120) ? test.serial : test.serial.skip

kubectl120Test('kubectl 1.20: Tables through legacy discovery, client-side validation against the v2 protobuf, explain', async (t) => {
  if (ctx === undefined || KUBECTL_120 === undefined) return t.fail()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-kubectl120-'))
  try {
    const run = async (args: string[], stdin?: string): Promise<Run> => await kubectl(ctx?.url ?? '', dir, args, stdin, KUBECTL_120)
    const get = await run(['get', 'pods', '-n', 'default', '-o', 'wide'])
    t.is(get.code, 0, get.stderr)
    t.deepEqual(columns(get.stdout.trimEnd().split('\n')[1] ?? ''), ['web', '1/1', 'Running', '2 (30m ago)', '2d2h', '10.244.1.7', 'node-1', '<none>', '<none>'])
    const ok = await run(['create', '-f', '-'], manifest('  - name: c\n    image: busybox\n').replace('NAME', 'made'))
    t.is(ok.code, 0, ok.stderr)
    const bad = await run(['create', '-f', '-'], manifest('  - name: c\n    image: busybox\n').replace('NAME', 'bad').replace('spec:', 'bogus: 1\nspec:'))
    t.not(bad.code, 0)
    t.regex(bad.stderr, /unknown field "bogus" in io\.k8s\.api\.core\.v1\.Pod/)
    const explain = await run(['explain', 'deployments'])
    t.is(explain.code, 0, explain.stderr)
    t.regex(explain.stdout, /KIND:\s+Deployment/)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
