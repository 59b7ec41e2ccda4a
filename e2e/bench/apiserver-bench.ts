/**
 * npm run bench:apiserver — `weft apiserver` end to end over HTTPS, one JSON line per figure.
 *
 * For each backend (embedded; etcd unless BENCH_ETCD=0) a fresh `./bin/weft apiserver` child process:
 *  - creates: 10,000 pod creates (POST, ~1 KiB JSON, 64 in flight on keep-alive connections): creates/s, p50/p99/max;
 *  - list: GET of all 10,000 pods as one list (median of 5), and the same as a Table (what `kubectl get pods -A` asks);
 *  - watch fan-out: 100 HTTP watchers on pods, 1000 more creates: time until every watcher has seen every event;
 *  - memory: the server process's RSS holding the 10,000 pods (after the lists), and its peak (VmHWM); again after the
 *    watch fan-out (100 slow readers make the server buffer ~140 MB of events, which the allocator keeps);
 *  - etcd only: the same etcd's own write ceiling (`etcdctl check perf --load=l`, 60 s) and our ratio to it.
 * BENCH_EMBEDDED=0 / BENCH_ETCD=0 skip a backend, BENCH_CEILING=0 the 60 s etcd ceiling, BENCH_PODS sets the count,
 * BENCH_IN_FLIGHT the requests in flight (64).
 * Issue 3's targets: embedded >= 3000 creates/s with p99 < 50 ms and < 200 MB with 10k pods; etcd >= 0.5x its ceiling.
 */
import * as fs from 'node:fs'
import * as https from 'node:https'
import * as os from 'node:os'
import * as path from 'node:path'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { freePort, startEtcd } from '../harness/index.js'
import type { Etcd } from '../harness/index.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const emit = (fig: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(fig) + '\n') }
const round = (x: number, d = 1): number => Number(x.toFixed(d))
const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

const PODS = Number(process.env.BENCH_PODS ?? 10_000)
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 64)
const WATCHERS = 100
const WATCH_EVENTS = 1000

interface Server { child: ChildProcess, dir: string, port: number, token: string, ca: string, agent: https.Agent }

async function startServer (backend: 'embedded' | 'etcd', etcd: Etcd | undefined): Promise<Server> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServerOnce(backend, etcd)
    } catch (err) {
      if (attempt >= 3) throw err
      process.stderr.write(`${String(err)}; trying again on another port\n`)
    }
  }
}

async function startServerOnce (backend: 'embedded' | 'etcd', etcd: Etcd | undefined): Promise<Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-api-bench-'))
  // The kernel's pick; if another socket still takes it first, startServer tries again on another.
  const port = await freePort()
  const args = ['apiserver', '--data-dir', dir, '--bind-address', '127.0.0.1', '--secure-port', String(port), '--log-level', 'warn', '--etcd-compaction-interval', '0']
  if (etcd !== undefined) args.push('--etcd-servers', etcd.endpoint)
  // BENCH_APISERVER_NODE_ARGS passes node flags (e.g. --cpu-prof) to the server.
  const nodeArgs = (process.env.BENCH_APISERVER_NODE_ARGS ?? '').split(' ').filter((x) => x !== '')
  const child = spawn(process.execPath, [...nodeArgs, path.join(root, 'bin', 'weft'), ...args], { stdio: ['ignore', 'ignore', 'inherit'] })
  const until = Date.now() + 30_000
  while (!fs.existsSync(path.join(dir, 'admin.kubeconfig'))) {
    if (Date.now() > until || child.exitCode !== null) {
      child.kill('SIGKILL')
      fs.rmSync(dir, { recursive: true, force: true })
      throw new Error(`${backend} apiserver did not start`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  const token = (fs.readFileSync(path.join(dir, 'tokens.csv'), 'utf8').split(',')[0] as string).trim()
  const ca = fs.readFileSync(path.join(dir, 'pki', 'ca.crt'), 'utf8')
  const agent = new https.Agent({ keepAlive: true, maxSockets: IN_FLIGHT, ca })
  return { child, dir, port, token, ca, agent }
}

function request (s: Server, method: string, p: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: s.port, method, path: p, agent: s.agent, headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    if (body !== undefined) req.write(body)
    req.end()
  })
}

function podBody (ns: string, name: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: ns,
      labels: { app: 'web', 'pod-template-hash': '5d8f9c7b6d', tier: 'frontend' },
      annotations: { 'kubernetes.io/config.seen': '2026-11-22T10:00:00.000000000Z' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f9c7b6d', uid: '0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d', controller: true, blockOwnerDeletion: true }]
    },
    spec: {
      containers: [{
        name: 'web',
        image: 'weft/echo:1.0',
        ports: [{ containerPort: 8080, name: 'http', protocol: 'TCP' }],
        env: [{ name: 'MODE', value: 'production' }, { name: 'LOG_LEVEL', value: 'info' }],
        resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } },
        readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 5 }
      }]
    }
  })
}

async function pool (n: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) { const i = next++; await fn(i) }
  }))
}

async function createPods (s: Server, ns: string, n: number, prefix: string): Promise<number[]> {
  const lat: number[] = []
  await pool(n, IN_FLIGHT, async (i) => {
    const t0 = performance.now()
    const r = await request(s, 'POST', `/api/v1/namespaces/${ns}/pods`, podBody(ns, `${prefix}-${i}`))
    lat.push(performance.now() - t0)
    if (r.status !== 201) throw new Error(`create ${prefix}-${i}: ${r.status} ${r.body.slice(0, 200)}`)
  })
  return lat
}

function rssOf (pid: number): { rss: number, hwm: number } {
  const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(st)?.[1] ?? NaN)
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 }
}

async function watchFanout (s: Server, backend: string): Promise<void> {
  const rv = JSON.parse((await request(s, 'GET', '/api/v1/namespaces/fanout/pods?limit=1')).body).metadata.resourceVersion as string
  const agent = new https.Agent({ keepAlive: false, ca: s.ca, maxSockets: WATCHERS + 1 })
  const reqs: Array<import('node:http').ClientRequest> = []
  let complete = 0
  let resolveAll: () => void = () => {}
  const allSeen = new Promise<void>((r) => { resolveAll = r })
  await Promise.all(Array.from({ length: WATCHERS }, async () => await new Promise<void>((resolve, reject) => {
    let seen = 0
    let buf = ''
    const req = https.request({ host: '127.0.0.1', port: s.port, path: `/api/v1/namespaces/fanout/pods?watch=true&resourceVersion=${rv}`, agent, headers: { authorization: `Bearer ${s.token}` } }, (res) => {
      resolve()
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        buf += chunk
        let nl: number
        while ((nl = buf.indexOf('\n')) >= 0) {
          buf = buf.slice(nl + 1)
          if (++seen === WATCH_EVENTS && ++complete === WATCHERS) resolveAll()
        }
      })
      res.on('error', () => {})
    })
    req.on('error', reject)
    req.end()
    reqs.push(req)
  })))
  await new Promise((r) => setTimeout(r, 300))
  const t0 = performance.now()
  await createPods(s, 'fanout', WATCH_EVENTS, 'fan')
  const writesMs = performance.now() - t0
  await allSeen
  const ms = performance.now() - t0
  for (const r of reqs) r.destroy()
  agent.destroy()
  emit({ bench: 'apiserver.watch_fanout', backend, watchers: WATCHERS, events: WATCH_EVENTS, writes_ms: round(writesMs), all_watchers_saw_all_ms: round(ms), deliveries_per_s: Math.round(WATCHERS * WATCH_EVENTS / (ms / 1000)) })
}

async function run (backend: 'embedded' | 'etcd'): Promise<void> {
  const teardowns: Array<() => Promise<void> | void> = []
  let etcd: Etcd | undefined
  if (backend === 'etcd') etcd = await startEtcd({ teardown: (fn) => { teardowns.push(fn) } })
  const s = await startServer(backend, etcd)
  try {
    for (const ns of ['bench', 'fanout']) await request(s, 'POST', '/api/v1/namespaces', JSON.stringify({ metadata: { name: ns } }))
    // warm-up
    await createPods(s, 'bench', 200, 'warm')
    const t0 = performance.now()
    const lat = (await createPods(s, 'bench', PODS, 'web')).sort((a, b) => a - b)
    const secs = (performance.now() - t0) / 1000
    const creates = PODS / secs
    emit({ bench: 'apiserver.creates', backend, pods: PODS, in_flight: IN_FLIGHT, creates_per_s: Math.round(creates), p50_ms: round(quantile(lat, 0.5)), p99_ms: round(quantile(lat, 0.99)), max_ms: round(lat[lat.length - 1] as number) })
    for (const table of [false, true]) {
      const times: number[] = []
      let items = 0
      for (let i = 0; i < 5; i++) {
        const t1 = performance.now()
        const r = await request(s, 'GET', '/api/v1/namespaces/bench/pods', undefined, table ? { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' } : {})
        times.push(performance.now() - t1)
        const b = JSON.parse(r.body) as { items?: unknown[], rows?: unknown[] }
        items = (b.items ?? b.rows ?? []).length
      }
      emit({ bench: table ? 'apiserver.list_table' : 'apiserver.list', backend, items, median_ms: round(median(times)), runs_ms: times.map((x) => round(x)) })
    }
    // Memory holding the pods (after the creates and the lists), then after the watch fan-out's burst of socket buffers.
    const held = rssOf(s.child.pid as number)
    emit({ bench: 'apiserver.rss', backend, pods: PODS + 200, rss_mb: round(held.rss), peak_rss_mb: round(held.hwm) })
    await watchFanout(s, backend)
    const mem = rssOf(s.child.pid as number)
    emit({ bench: 'apiserver.rss_after_fanout', backend, pods: PODS + 200 + WATCH_EVENTS, rss_mb: round(mem.rss), peak_rss_mb: round(mem.hwm) })
    if (etcd !== undefined && process.env.BENCH_CEILING !== '0') {
      const r = await etcd.etcdctl(['check', 'perf', '--load=l', '--command-timeout=120s'], { reject: false })
      const out = r.stdout + r.stderr
      const rate = Number(/Throughput (?:is|too low:) (\d+) writes\/s/.exec(out)?.[1] ?? NaN)
      emit({ bench: 'apiserver.etcd_ceiling', tool: 'etcdctl check perf --load=l', etcd_writes_per_s: rate, apiserver_creates_per_s: Math.round(creates), ratio: round(creates / rate, 2) })
    }
  } finally {
    s.agent.destroy()
    s.child.kill('SIGTERM')
    await new Promise((r) => { if (s.child.exitCode !== null) r(undefined); else s.child.once('exit', r) })
    fs.rmSync(s.dir, { recursive: true, force: true })
    for (const fn of teardowns.reverse()) await fn()
  }
}

if (process.env.BENCH_EMBEDDED !== '0') await run('embedded')
if (process.env.BENCH_ETCD !== '0') await run('etcd')
