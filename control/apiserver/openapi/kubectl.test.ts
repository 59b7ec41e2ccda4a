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
import Fastify, { type FastifyInstance } from 'fastify'
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

async function server (seen: Seen[]): Promise<{ app: FastifyInstance, url: string }> {
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
      const n = negotiateDiscovery(req.headers.accept)
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
  app.patch('/api/v1/namespaces/:ns/pods/:name', async (_req, reply) => reply.type('application/json').send(JSON.stringify(pod)))
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, url }
}

interface Run { stdout: string, stderr: string, code: number }

function kubectl (url: string, dir: string, args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(KUBECTL, [`--server=${url}`, `--cache-dir=${path.join(dir, 'cache')}`, '--request-timeout=20s', ...args], {
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
  t.false(ctx.seen.some((s) => s.url === '/api/v1' || s.url.startsWith('/apis/')), ctx.seen.map((s) => s.url).join(' '))
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
