/**
 * npm run bench:scheduler — `weft scheduler` throughput, one JSON line per figure.
 *
 * A `./bin/weft apiserver --storage-backend memory` child process; 1000 Node objects (4 CPU, 16 GiB, 110 pods; no
 * kubelets) and 10,000 pending pods (100m CPU, 128 MiB each) created as fast as the server takes them (64 in flight);
 * then a `./bin/weft scheduler` child process (leader election on, events on) is started and the bench watches pods
 * until every one has spec.nodeName. Figures: pods/s from the scheduler's start (process start, Lease, list of 11,000
 * objects included) and from its "caches synced" log line (the scheduling itself), placement spread, and when its
 * event writes caught up. Issue 6's target: >= 1000 pods/s on this 2-core machine (upstream scheduler_perf floor:
 * 680-810 pods/s at 5000 nodes on large machines).
 * BENCH_NODES / BENCH_PODS change the sizes.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { KubeClient } from '../../control/client/index.js'
import { defaultProfile, parsePod, SchedulerCache, schedulePod } from '../../control/scheduler/index.js'
import type { Obj } from '../../control/client/index.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const emit = (fig: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(fig) + '\n') }
const round = (x: number, d = 1): number => Number(x.toFixed(d))

const NODES = Number(process.env.BENCH_NODES ?? 1000)
const PODS = Number(process.env.BENCH_PODS ?? 10_000)
const IN_FLIGHT = 64

async function pool<T> (items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) { const x = items[i++] as T; await fn(x) }
  }))
}

/** User+system CPU seconds of a child process so far (/proc/<pid>/stat). */
function cpuSeconds (pid: number | undefined): number {
  if (pid === undefined) return 0
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ')
    return (Number(rest[11]) + Number(rest[12])) / 100
  } catch { return 0 }
}

/** The scheduling cycle alone (filter, score, assume) on the same shapes, no API server: the scheduler's CPU ceiling. */
function algorithmOnly (): void {
  const cache = new SchedulerCache()
  const res = { cpu: '4', memory: '16Gi', pods: '110' }
  for (let i = 0; i < NODES; i++) cache.setNode({ metadata: { name: `node-${i}`, labels: { 'kubernetes.io/hostname': `node-${i}` } }, status: { allocatable: res } })
  const pods = Array.from({ length: PODS }, (_, i) => ({ metadata: { name: `pod-${i}`, namespace: 'default', labels: { app: 'bench' } }, spec: { containers: [{ name: 'c', image: 'weft/echo', resources: { requests: { cpu: '100m', memory: '128Mi' } } }] } }))
  const profile = defaultProfile()
  const cursor = { next: 0 }
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  for (const obj of pods) {
    const p = parsePod(obj)
    cache.assume(p, schedulePod(p, cache.nodeList(), profile, cursor).node)
  }
  const s = (performance.now() - t0) / 1000
  const c = process.cpuUsage(c0)
  emit({ figure: 'algorithm-only', nodes: NODES, pods: PODS, seconds: round(s, 2), podsPerSecond: round(PODS / s), microsecondsPerPod: round(s * 1e6 / PODS), cpuMicrosecondsPerPod: round((c.user + c.system) / PODS) })
}

async function main (): Promise<void> {
  algorithmOnly()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-sched-bench-'))
  const children: ChildProcess[] = []
  const cleanup = (): void => { for (const c of children) if (c.exitCode === null) c.kill('SIGTERM'); fs.rmSync(dir, { recursive: true, force: true }) }
  process.on('exit', cleanup)
  try {
    const port = 21000 + Math.floor(Math.random() * 20000)
    const api = spawn(path.join(root, 'bin', 'weft'), ['apiserver', '--data-dir', dir, '--bind-address', '127.0.0.1', '--secure-port', String(port), '--storage-backend', 'memory', '--log-level', 'warn', '--etcd-compaction-interval', '0'], { stdio: ['ignore', 'ignore', 'inherit'] })
    children.push(api)
    const kubeconfig = path.join(dir, 'admin.kubeconfig')
    const until = Date.now() + 30_000
    while (!fs.existsSync(kubeconfig)) {
      if (Date.now() > until || api.exitCode !== null) throw new Error('apiserver did not start')
      await new Promise((r) => setTimeout(r, 100))
    }
    const client = await KubeClient.fromKubeconfig(kubeconfig)
    for (;;) { try { await client.get({ resource: 'namespaces', name: 'default' }); break } catch { await new Promise((r) => setTimeout(r, 100)) } }

    const res = { cpu: '4', memory: '16Gi', pods: '110' }
    let t0 = performance.now()
    await pool(Array.from({ length: NODES }, (_, i) => `node-${i}`), IN_FLIGHT, async (name) => {
      await client.create({ resource: 'nodes' }, { metadata: { name, labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': `zone-${Number(name.slice(5)) % 3}` } }, spec: {} })
      await client.patch({ resource: 'nodes', name, subresource: 'status' }, { status: { capacity: res, allocatable: res, conditions: [{ type: 'Ready', status: 'True' }] } })
    })
    emit({ figure: 'nodes-created', nodes: NODES, seconds: round((performance.now() - t0) / 1000, 2) })
    t0 = performance.now()
    await pool(Array.from({ length: PODS }, (_, i) => `pod-${i}`), IN_FLIGHT, async (name) => {
      await client.create({ resource: 'pods', namespace: 'default' }, {
        metadata: { name, labels: { app: 'bench' } },
        spec: { containers: [{ name: 'c', image: 'weft/echo', resources: { requests: { cpu: '100m', memory: '128Mi' } } }] }
      })
    })
    const createSeconds = (performance.now() - t0) / 1000
    emit({ figure: 'pods-created', pods: PODS, seconds: round(createSeconds, 2), createsPerSecond: round(PODS / createSeconds) })

    // Follow bindings with a watch, from the list's resourceVersion.
    const { resourceVersion } = await client.list({ resource: 'pods', namespace: 'default' }, { limit: 1 })
    const bound = new Map<string, string>()
    let allBound!: () => void
    const allBoundP = new Promise<void>((resolve) => { allBound = resolve })
    const ac = new AbortController()
    const watching = client.watch({ resource: 'pods', namespace: 'default' }, { resourceVersion }, (ev) => {
      const n = (ev.object.spec as Obj | undefined)?.nodeName
      if (typeof n === 'string' && n !== '') {
        bound.set(String((ev.object.metadata as Obj).name), n)
        if (bound.size === PODS) allBound()
      }
    }, ac.signal)

    const apiCpu0 = cpuSeconds(api.pid)
    const start = performance.now()
    let syncedAt = 0
    // BENCH_SCHEDULER_NODE_ARGS: extra node flags for the scheduler process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
    const nodeArgs = (process.env.BENCH_SCHEDULER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '')
    const sched = spawn(process.execPath, [...nodeArgs, path.join(root, 'bin', 'weft'), 'scheduler', '--kubeconfig', kubeconfig, '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] })
    children.push(sched)
    let errBuf = ''
    sched.stderr?.on('data', (c: Buffer) => {
      errBuf += c.toString()
      let nl: number
      while ((nl = errBuf.indexOf('\n')) >= 0) {
        const line = errBuf.slice(0, nl)
        errBuf = errBuf.slice(nl + 1)
        if (line.includes('caches synced')) syncedAt = performance.now()
        else if (line.includes('"level":50') || line.includes('"level":40')) process.stderr.write(line + '\n')
      }
    })
    const timeout = setTimeout(() => { process.stderr.write(`timed out with ${bound.size}/${PODS} bound\n`); process.exit(1) }, 600_000)
    await allBoundP
    const end = performance.now()
    const apiCpu = cpuSeconds(api.pid) - apiCpu0
    const schedCpu = cpuSeconds(sched.pid)
    clearTimeout(timeout)
    const perNode = new Map<string, number>()
    for (const n of bound.values()) perNode.set(n, (perNode.get(n) ?? 0) + 1)
    const counts = [...perNode.values()].sort((a, b) => a - b)
    emit({
      figure: 'schedule',
      nodes: NODES,
      pods: PODS,
      secondsFromStart: round((end - start) / 1000, 2),
      podsPerSecondFromStart: round(PODS / ((end - start) / 1000)),
      secondsFromSync: round((end - syncedAt) / 1000, 2),
      podsPerSecondFromSync: round(PODS / ((end - syncedAt) / 1000)),
      startToSyncSeconds: round((syncedAt - start) / 1000, 2),
      nodesUsed: perNode.size,
      podsPerNodeMin: counts[0],
      podsPerNodeMax: counts[counts.length - 1],
      apiserverCpuSeconds: round(apiCpu, 2),
      schedulerCpuSeconds: round(schedCpu, 2)
    })
    // The Scheduled events are written off the scheduling path; see when they caught up.
    const evStart = performance.now()
    for (;;) {
      const { items } = await client.list({ resource: 'events', namespace: 'default' }, { fieldSelector: 'reason=Scheduled', limit: 5000 })
      if (items.length >= PODS || performance.now() - evStart > 120_000) {
        emit({ figure: 'events', scheduledEvents: items.length, secondsAfterLastBind: round((performance.now() - end) / 1000, 2) })
        break
      }
      await new Promise((r) => setTimeout(r, 500))
    }
    ac.abort()
    await watching
    sched.kill('SIGTERM')
    const code = await new Promise<number | null>((resolve) => sched.once('exit', resolve))
    emit({ figure: 'scheduler-exit', code })
    client.close()
  } finally {
    cleanup()
  }
}

main().catch((e) => { process.stderr.write(`${(e as Error).stack ?? String(e)}\n`); process.exit(1) })
