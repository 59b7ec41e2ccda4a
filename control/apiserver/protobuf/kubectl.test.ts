/**
 * Golden decodes of what the real kubectl (v1.32) sends. A throwaway loopback HTTP server records
 * the protobuf body of each typed-client command (`create configmap|secret|deployment|namespace|
 * service|serviceaccount`, `expose`, `run`) and answers 201 with the decoded object; the decoded
 * JSON must be exactly (same keys, same order) what `kubectl <same command> --dry-run=client -o json`
 * prints, and re-encoding it must give back kubectl's bytes. The captured bodies are also kept in
 * testdata/ (with the JSON kubectl printed), so the golden part runs without kubectl too.
 */
import test from 'ava'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
import { apiGroupList, apiResourceList, apiVersions } from '../discovery.js'
import { decodeKubeProtobuf, encodeKubeProtobuf, isProtobufMediaType } from './index.js'

const KUBECTL = '/usr/bin/kubectl'
const haveKubectl = fs.existsSync(KUBECTL)
const kubectlTest = haveKubectl ? test.serial : test.serial.skip
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')
const testdata = path.join(root, 'control', 'apiserver', 'protobuf', 'testdata')

/**
 * name → kubectl arguments (without --dry-run / -o). `expose` and `run` go through kubectl's
 * unstructured client and send JSON: for them the test checks that their JSON survives
 * encode → decode unchanged instead.
 */
const JSON_SENDERS = new Set(['expose-deployment', 'run'])
export const COMMANDS: ReadonlyArray<[string, string[]]> = [
  ['configmap', ['create', 'configmap', 'settings', '--from-literal=a=1', '--from-literal=greeting=hello world']],
  ['secret-generic', ['create', 'secret', 'generic', 'creds', '--from-literal=password=hunter2', '--from-literal=empty=', '--type=Opaque']],
  ['secret-docker-registry', ['create', 'secret', 'docker-registry', 'pull', '--docker-server=registry.example', '--docker-username=u', '--docker-password=p']],
  ['deployment', ['create', 'deployment', 'web', '--image=weft/echo', '--replicas=2', '--port=8080']],
  ['namespace', ['create', 'namespace', 'shop']],
  ['service-clusterip', ['create', 'service', 'clusterip', 'api', '--tcp=80:8080', '--tcp=443:https']],
  ['service-nodeport', ['create', 'service', 'nodeport', 'np', '--tcp=80:8080', '--node-port=30080']],
  ['service-externalname', ['create', 'service', 'externalname', 'ext', '--external-name=db.example.com']],
  ['service-headless', ['create', 'service', 'clusterip', 'headless', '--clusterip=None']],
  ['serviceaccount', ['create', 'serviceaccount', 'robot']],
  ['expose-deployment', ['expose', 'deployment', 'web', '--port=80', '--target-port=8080', '--name=web-svc']],
  ['run', ['run', 'shell', '--image=busybox', '--labels=app=shell,tier=debug', '--env=A=1', '--port=9000', '--restart=Never', '--', 'sleep', '3600']]
]

/** JSON with object keys sorted: unstructured clients send keys sorted, typed ones in Go field order. */
function sorted (v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'object' && x !== null && !Array.isArray(x))
    ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
    : x)
}

interface Captured { method: string, url: string, contentType: string, body: Buffer }

/** The deployment `expose` reads first: what `create deployment web` makes, as the server would return it. */
const webDeployment = {
  kind: 'Deployment',
  apiVersion: 'apps/v1',
  metadata: { name: 'web', namespace: 'default', uid: 'a0b0c0d0-0000-4000-8000-000000000001', resourceVersion: '7', creationTimestamp: '2026-01-02T03:04:05Z', labels: { app: 'web' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'echo', image: 'weft/echo', ports: [{ containerPort: 8080, protocol: 'TCP' }] }] } }
  },
  status: {}
}

async function server (): Promise<{ url: string, seen: Captured[], close: () => Promise<void> }> {
  const seen: Captured[] = []
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const url = req.url ?? '/'
      const p = url.split('?')[0] ?? ''
      const json = (code: number, o: unknown): void => { res.writeHead(code, { 'content-type': 'application/json' }); res.end(JSON.stringify(o)) }
      if (req.method === 'POST') {
        const contentType = String(req.headers['content-type'] ?? '')
        seen.push({ method: 'POST', url, contentType, body })
        try {
          const o = isProtobufMediaType(contentType) ? decodeKubeProtobuf(body) : JSON.parse(body.toString('utf8')) as Record<string, unknown>
          json(201, { ...o, metadata: { ...(o.metadata as object), namespace: 'default', uid: 'u-1', resourceVersion: '1' } })
        } catch (e) {
          json(400, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: (e as Error).message, reason: 'BadRequest', code: 400 })
        }
        return
      }
      if (p === '/api') return json(200, apiVersions('127.0.0.1'))
      if (p === '/apis') return json(200, apiGroupList())
      const gv = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(p)
      if (gv !== null) {
        const list = gv[1] !== undefined ? apiResourceList('', 'v1') : apiResourceList(gv[2] as string, gv[3] as string)
        return list === undefined ? json(404, {}) : json(200, list)
      }
      if (p === '/apis/apps/v1/namespaces/default/deployments/web') return json(200, webDeployment)
      json(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'not found', reason: 'NotFound', code: 404 })
    })
  })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const port = (srv.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}`, seen, close: async () => { await new Promise<void>((resolve) => srv.close(() => { resolve() })) } }
}

async function withKubectl<T> (fn: (k: (args: string[]) => Promise<{ code: number, out: string, err: string }>, seen: Captured[]) => Promise<T>): Promise<T> {
  const s = await server()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-proto-'))
  const kc = path.join(dir, 'kubeconfig')
  fs.writeFileSync(kc, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "${s.url}"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: default}}]
current-context: c
`)
  try {
    return await fn(async (args) => {
      const r = await execa(KUBECTL, ['--kubeconfig', kc, '--cache-dir', path.join(dir, 'cache'), ...args], { reject: false, timeout: 60_000 })
      return { code: r.exitCode ?? -1, out: String(r.stdout), err: String(r.stderr) }
    }, s.seen)
  } finally {
    await s.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

kubectlTest('kubectl typed-client bodies decode to exactly the JSON kubectl prints for the same command', async (t) => {
  await withKubectl(async (k, seen) => {
    for (const [name, args] of COMMANDS) {
      const dry = await k([args[0] as string, '--dry-run=client', '-o', 'json', ...args.slice(1)])
      t.is(dry.code, 0, `${name} dry-run: ${dry.err}`)
      const expected = JSON.parse(dry.out) as Record<string, unknown>
      const before = seen.length
      const real = await k(args)
      t.is(real.code, 0, `${name}: ${real.err}`)
      const posted = seen.slice(before).filter((s) => s.method === 'POST')
      t.is(posted.length, 1, name)
      const body = posted[0] as Captured
      if (JSON_SENDERS.has(name)) {
        t.false(isProtobufMediaType(body.contentType), `${name} was sent as ${body.contentType}`)
        const sent = JSON.parse(body.body.toString('utf8')) as Record<string, unknown>
        t.is(sorted(sent), sorted(expected), name)
        t.is(sorted(decodeKubeProtobuf(encodeKubeProtobuf(sent))), sorted(sent), `${name}: encode → decode keeps kubectl's JSON`)
      } else {
        t.true(isProtobufMediaType(body.contentType), `${name} was sent as ${body.contentType}`)
        // typed clients always ask for it (the unstructured ones only when OpenAPI v3 says it is served)
        t.true(body.url.includes('fieldValidation=Strict'), body.url)
        const decoded = decodeKubeProtobuf(body.body)
        // Same keys in the same order: compare the serialisations, not just deep equality.
        t.is(JSON.stringify(decoded), JSON.stringify(expected), name)
        t.true(Buffer.from(encodeKubeProtobuf(decoded)).equals(body.body), `${name}: re-encoding gives back kubectl's bytes`)
      }
      if (process.env.WEFT_PROTO_CAPTURE === '1') {
        fs.mkdirSync(testdata, { recursive: true })
        if (!JSON_SENDERS.has(name)) fs.writeFileSync(path.join(testdata, `${name}.bin`), body.body)
        fs.writeFileSync(path.join(testdata, `${name}.json`), JSON.stringify(expected, null, 2) + '\n')
      }
    }
  })
})

test('captured kubectl bodies in testdata decode to the JSON kubectl printed and re-encode byte for byte', (t) => {
  const names = COMMANDS.map(([n]) => n)
  for (const name of names) {
    if (JSON_SENDERS.has(name)) {
      const sent = JSON.parse(fs.readFileSync(path.join(testdata, `${name}.json`), 'utf8')) as Record<string, unknown>
      t.is(sorted(decodeKubeProtobuf(encodeKubeProtobuf(sent))), sorted(sent), name)
      continue
    }
    const bin = fs.readFileSync(path.join(testdata, `${name}.bin`))
    const want = fs.readFileSync(path.join(testdata, `${name}.json`), 'utf8')
    const got = decodeKubeProtobuf(bin)
    t.is(JSON.stringify(got, null, 2) + '\n', want, name)
    t.true(Buffer.from(encodeKubeProtobuf(got)).equals(bin), name)
  }
})
