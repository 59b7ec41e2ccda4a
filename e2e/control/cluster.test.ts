/**
 * The whole cluster as a user meets it: `weft up --nodes 3`, then the real
 * kubectl: nodes Ready, a 6-replica Deployment spread over the nodes, every
 * pod reachable from every node by its pod IP, a Service through weft proxy (ClusterIP and NodePort), a rolling
 * update, a node whose
 * kubelet is killed goes NotReady and its pods move, `kubectl logs`, and
 * `weft down` leaving nothing behind.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { execa } from 'execa'
import { repoRoot, requireRoot } from '../harness/index.js'

type Obj = Record<string, any>

const WEFT = path.join(repoRoot, 'bin', 'weft')

interface Up { name: string, dataDir: string, kubeconfig: string, nodes: Array<{ name: string, ns: string, ip: string }>, k: (args: string[], input?: string) => Promise<string> }

async function upCluster (t: ExecutionContext, network: 'vxlan' | 'routes'): Promise<Up> {
  requireRoot()
  const name = `t${Math.random().toString(36).slice(2, 7)}`
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-up-'))
  const third = 100 + Math.floor(Math.random() * 150)
  const port = 16000 + Math.floor(Math.random() * 10000)
  t.teardown(async () => {
    await execa(WEFT, ['down', '--data-dir', dataDir], { reject: false })
    fs.rmSync(dataDir, { recursive: true, force: true })
  })
  const r = await execa(WEFT, ['up', '--name', name, '--nodes', '3', '--data-dir', dataDir, '--underlay', `10.201.${third}.0/24`, '--api-port', String(port),
    '--network', network, '--detach'], { reject: false, timeout: 180_000, env: { WEFT_TEST_FAST: '1' } })
  t.is(r.exitCode, 0, `weft up: ${String(r.stdout)}\n${String(r.stderr)}\n${logs(dataDir)}`)
  const state = JSON.parse(fs.readFileSync(path.join(dataDir, 'state.json'), 'utf8')) as Obj
  const kubeconfig = state.kubeconfig as string
  const k = async (args: string[], input?: string): Promise<string> => {
    const res = await execa('/usr/bin/kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', path.join(dataDir, 'kc'), ...args], { reject: false, timeout: 120_000, ...(input !== undefined ? { input } : {}) })
    if (res.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')}: ${String(res.stderr)}`)
    return String(res.stdout)
  }
  return { name, dataDir, kubeconfig, nodes: state.nodes as Up['nodes'], k }
}

function logs (dataDir: string): string {
  const dir = path.join(dataDir, 'logs')
  if (!fs.existsSync(dir)) return ''
  return fs.readdirSync(dir).map((f) => `--- ${f}\n${fs.readFileSync(path.join(dir, f), 'utf8').split('\n').slice(-15).join('\n')}`).join('\n')
}

async function until (what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const start = Date.now()
  let last: unknown
  for (;;) {
    try { if (await fn()) return } catch (e) { last = e }
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}${last !== undefined ? `: ${(last as Error).message}` : ''}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** GET http://ip:port/ from inside a node namespace. */
async function httpFrom (ns: string, url: string): Promise<string> {
  const js = `fetch(${JSON.stringify(url)},{signal:AbortSignal.timeout(3000)}).then(r=>r.text()).then(t=>{process.stdout.write(t)},e=>{process.stdout.write('ERR '+e.message);process.exit(1)})`
  const r = await execa('ip', ['netns', 'exec', ns, process.execPath, '-e', js], { reject: false })
  return String(r.stdout)
}

const deployment = (image: string, extraEnv = 'v1'): string => JSON.stringify({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: {
    replicas: 6,
    selector: { matchLabels: { app: 'web' } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 2, maxUnavailable: 1 } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        // Leave an unreachable node after 2 s instead of 300 s.
        tolerations: [
          { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 2 },
          { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 2 }
        ],
        terminationGracePeriodSeconds: 2,
        containers: [{ name: 'echo', image, ports: [{ containerPort: 8080 }], env: [{ name: 'VERSION', value: extraEnv }], readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 } }]
      }
    }
  }
})

for (const network of ['vxlan', 'routes'] as const) {
  test(`[kernel] [cluster] weft up --nodes 3 (${network}): Ready nodes, a spread Deployment reachable by pod IP and through a Service, rolling update, logs, a dead kubelet's pods move, weft down leaves nothing`, async (t) => {
    const c = await upCluster(t, network)
    const nodes = JSON.parse(await c.k(['get', 'nodes', '-o', 'json'])) as Obj
    t.is(nodes.items.length, 3)
    for (const n of nodes.items) t.true(n.status.conditions.some((x: Obj) => x.type === 'Ready' && x.status === 'True'), n.metadata.name)
    t.regex(await c.k(['get', 'nodes']), /node-1\s+Ready/)

    await c.k(['apply', '-f', '-'], deployment('weft/echo'))
    await c.k(['rollout', 'status', 'deployment/web', '--timeout=120s'])
    const pods = (JSON.parse(await c.k(['get', 'pods', '-l', 'app=web', '-o', 'json'])) as Obj).items as Obj[]
    t.is(pods.length, 6)
    const perNode = new Map<string, number>()
    for (const p of pods) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1)
    t.is(perNode.size, 3, `spread: ${JSON.stringify([...perNode])}`)
    // Every pod from every node, by pod IP: the echo answers with the pod's name and IP.
    for (const n of c.nodes) {
      for (const p of pods) {
        const said = await httpFrom(n.ns, `http://${p.status.podIP as string}:8080/`)
        t.true(said.includes(p.metadata.name) && said.includes(p.status.podIP), `${n.name} → ${p.metadata.name as string}: ${said}`)
      }
    }
    // kubectl logs through the API server and the kubelet.
    const first = pods[0] as Obj
    await c.k(['logs', first.metadata.name])
    // A Service through weft proxy on every node: the ClusterIP from a node spreads over the pods; the NodePort from the host.
    await c.k(['expose', 'deployment', 'web', '--port', '80', '--target-port', '8080', '--type', 'NodePort'])
    const svc = JSON.parse(await c.k(['get', 'svc', 'web', '-o', 'json'])) as Obj
    const answered = new Set<string>()
    await until('the ClusterIP reaches several pods', async () => {
      const said = await httpFrom(c.nodes[0]?.ns as string, `http://${svc.spec.clusterIP as string}/`)
      if (!said.startsWith('ERR')) answered.add(said.split(' ')[0] as string)
      return answered.size >= 3
    }, 30_000)
    t.true([...answered].every((n) => pods.some((p) => p.metadata.name === n)), [...answered].join(' '))
    const viaNodePort = await httpFrom(c.nodes[0]?.ns as string, `http://${c.nodes[1]?.ip as string}:${svc.spec.ports[0].nodePort as number}/`)
    t.true(pods.some((p) => viaNodePort.startsWith(p.metadata.name)), viaNodePort)

    // Rolling update: a new ReplicaSet takes over.
    await c.k(['apply', '-f', '-'], deployment('weft/echo', 'v2'))
    await c.k(['rollout', 'status', 'deployment/web', '--timeout=120s'])
    const after = (JSON.parse(await c.k(['get', 'pods', '-l', 'app=web', '-o', 'json'])) as Obj).items as Obj[]
    const live = after.filter((p) => p.metadata.deletionTimestamp === undefined)
    t.is(live.length, 6)
    t.true(live.every((p) => p.spec.containers[0].env[0].value === 'v2'))
    t.is((JSON.parse(await c.k(['get', 'rs', '-o', 'json'])) as Obj).items.filter((rs: Obj) => rs.spec.replicas > 0).length, 1)

    // Kill node-3's kubelet: NotReady, its pods move to the other nodes.
    const state = JSON.parse(fs.readFileSync(path.join(c.dataDir, 'state.json'), 'utf8')) as Obj
    const kubelet = (state.pids as Obj[]).find((p) => p.what === 'kubelet-node-3') as Obj
    process.kill(-kubelet.pid, 'SIGKILL')
    await until('node-3 NotReady', async () => /node-3\s+NotReady/.test(await c.k(['get', 'nodes'])), 90_000)
    await until('pods moved off node-3', async () => {
      const ps = ((JSON.parse(await c.k(['get', 'pods', '-l', 'app=web', '-o', 'json'])) as Obj).items as Obj[]).filter((p) => p.metadata.deletionTimestamp === undefined)
      return ps.length === 6 && ps.every((p) => p.spec.nodeName !== 'node-3' && p.status.phase === 'Running')
    }, 120_000)

    // weft down: nothing left.
    const down = await execa(WEFT, ['down', '--data-dir', c.dataDir], { reject: false })
    t.is(down.exitCode, 0, String(down.stderr))
    const left = (await execa('ip', ['netns', 'list'])).stdout
    t.false(left.includes(`wt-${c.name}-`), left)
    t.false((await execa('ip', ['link', 'show'])).stdout.includes(`wtb-${c.name}`))
    t.false(fs.existsSync(path.join(c.dataDir, 'state.json')))
    for (const p of state.pids as Obj[]) t.throws(() => process.kill(p.pid, 0), undefined, `${p.what as string} still running`)
  })
}
