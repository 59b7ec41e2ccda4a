/**
 * npm run bench:pod-startup — `weft up --nodes 3`, then 100 pods (weft/echo), for each the time from its create
 * call returning to the watch event that shows it Running with a pod IP; p50/p99/max (issue 6's target: p99 <= 1 s;
 * upstream's SLO: p99 <= 5 s), then `weft down`. Two rounds, one JSON line each: pods created at a steady
 * BENCH_RATE per second (default 10, as density tests pace creates), then all at once (a burst: the 2 cores are the
 * limit, every pod costs a CNI run and a process start). BENCH_PODS, BENCH_NETWORK (vxlan|routes) override defaults.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
import { KubeClient } from '../../control/client/index.js'
import type { Obj } from '../../control/client/index.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const WEFT = path.join(root, 'bin', 'weft')
const PODS = Number(process.env.BENCH_PODS ?? 100)
const network = process.env.BENCH_NETWORK === 'routes' ? 'routes' : 'vxlan'
const round1 = (x: number): number => Number(x.toFixed(1))
const q = (s: number[], p: number): number => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] as number

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bench-up-'))
const name = `b${Math.random().toString(36).slice(2, 7)}`
try {
  const t0 = performance.now()
  const up = await execa(WEFT, ['up', '--name', name, '--nodes', '3', '--data-dir', dataDir, '--underlay', '10.202.0.0/24', '--api-port', '16443', '--network', network, '--detach'], { reject: false })
  if (up.exitCode !== 0) throw new Error(`weft up failed: ${String(up.stdout)}\n${String(up.stderr)}`)
  process.stdout.write(JSON.stringify({ bench: 'cluster.up', nodes: 3, network, seconds: round1((performance.now() - t0) / 1000) }) + '\n')
  const state = JSON.parse(fs.readFileSync(path.join(dataDir, 'state.json'), 'utf8')) as { kubeconfig: string }
  const client = await KubeClient.fromKubeconfig(state.kubeconfig)
  const rate = Number(process.env.BENCH_RATE ?? 10)
  for (const round of ['steady', 'burst'] as const) {
    const created = new Map<string, number>()
    const running = new Map<string, number>()
    const ac = new AbortController()
    const { resourceVersion } = await client.list({ resource: 'pods', namespace: 'default' })
    const watching = client.watch({ resource: 'pods', namespace: 'default' }, { resourceVersion }, (ev) => {
      const o = ev.object as Obj
      const n = String((o.metadata as Obj | undefined)?.name)
      const st = (o.status ?? {}) as Obj
      if (!running.has(n) && st.phase === 'Running' && typeof st.podIP === 'string' && st.podIP !== '') running.set(n, performance.now())
    }, ac.signal)
    const start = performance.now()
    const create = async (i: number): Promise<void> => {
      const n = `${round}-${i}`
      await client.create({ resource: 'pods', namespace: 'default' }, { metadata: { name: n }, spec: { containers: [{ name: 'echo', image: 'weft/echo' }] } })
      created.set(n, performance.now())
    }
    if (round === 'burst') await Promise.all(Array.from({ length: PODS }, async (_, i) => { await create(i) }))
    else {
      const pending: Array<Promise<void>> = []
      for (let i = 0; i < PODS; i++) {
        pending.push(create(i))
        await new Promise((r) => setTimeout(r, 1000 / rate))
      }
      await Promise.all(pending)
    }
    const until = Date.now() + 180_000
    while (running.size < PODS && Date.now() < until) await new Promise((r) => setTimeout(r, 100))
    ac.abort()
    await watching.catch(() => {})
    const lat = [...created].filter(([n]) => running.has(n)).map(([n, c]) => Math.max(0, (running.get(n) as number) - c)).sort((a, b) => a - b)
    process.stdout.write(JSON.stringify({
      bench: 'cluster.pod_startup', round, ...(round === 'steady' ? { pods_per_s: rate } : {}), pods: PODS, nodes: 3, network, running: lat.length,
      p50_ms: round1(q(lat, 0.5)), p99_ms: round1(q(lat, 0.99)), max_ms: round1(lat[lat.length - 1] ?? NaN), all_running_s: round1(((Math.max(...running.values())) - start) / 1000)
    }) + '\n')
    await client.request('DELETE', '/api/v1/namespaces/default/pods', { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 })
    const gone = Date.now() + 60_000
    while ((await client.list({ resource: 'pods', namespace: 'default' })).items.length > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 500))
  }
  client.close()
} finally {
  await execa(WEFT, ['down', '--data-dir', dataDir], { reject: false })
  fs.rmSync(dataDir, { recursive: true, force: true })
}
