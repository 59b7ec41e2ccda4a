/**
 * npm run bench:vxlan — the overlay's convergence and throughput, one JSON line per figure.
 *
 *  (a) convergence:
 *      - real nodes: N agents (default 20) with a pod each; a new node joins;
 *        time from its lease appearing in etcd to every other pod reaching its pod;
 *      - simulated leases: 1000 remote leases written to etcd at once; time until
 *        one agent has programmed all of them (route, neighbour, fdb each).
 *  (b) throughput: iperf3 pod to pod across two hosts over our overlay, against the
 *      same kernel VXLAN built by hand with `ip` commands on the same hosts and pods
 *      (the ceiling), alternating runs.
 *
 * Everything runs in namespaces this process creates and removes.
 */
import { execa } from 'execa'
import type { ResultPromise } from 'execa'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { Sandbox, repoRoot, underlayTopology } from '../harness/index.js'
import type { Host } from '../harness/index.js'
import { startEtcd } from '../harness/index.js'
import type { Etcd } from '../harness/index.js'

const NETWORK = '10.244.0.0/16'
const teardowns: Array<() => void | Promise<void>> = []
const t = { teardown: (fn: () => void | Promise<void>) => { teardowns.push(fn) } }
const emit = (fig: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(fig) + '\n') }
const ns = (p: string): string => path.basename(p)
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

async function until (what: string, fn: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 20): Promise<number> {
  const start = performance.now()
  for (;;) {
    if (await fn()) return performance.now() - start
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await sleep(stepMs)
  }
}

interface Node { host: Host, subnetFile: string, agent?: ResultPromise, pod: string, podIp: string }

function agent (sb: Sandbox, etcd: Etcd, n: Node): void {
  const p = execa('ip', ['netns', 'exec', ns(n.host.ns), process.execPath, path.join(repoRoot, 'bin', 'weft'), 'vxland',
    '--etcd-endpoints', etcd.endpoint, '--subnet-file', n.subnetFile, '--resync-ms', '1000', '--log-level', process.env.BENCH_LOG ?? 'warn'],
  { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: process.env.BENCH_LOG !== undefined ? 'inherit' : 'ignore' }) as unknown as ResultPromise
  n.agent = p
  t.teardown(async () => { p.kill('SIGKILL'); await p })
}

async function attachPod (sb: Sandbox, n: Node): Promise<void> {
  n.pod = sb.ns(`${n.host.name}p`)
  const r = await sb.cni({
    plugin: 'flannel', command: 'ADD', hostNs: n.host.ns, netns: n.pod, containerId: `pod-${n.host.name}`,
    conf: { cniVersion: '1.0.0', name: 'cbr0', type: 'flannel', subnetFile: n.subnetFile, dataDir: path.join(sb.dir, n.host.name, 'fl'), ipam: { dataDir: path.join(sb.dir, n.host.name, 'ipam') }, delegate: { isDefaultGateway: true } }
  })
  if (r.exitCode !== 0) throw new Error(`flannel ADD on ${n.host.name}: ${r.stdout}`)
  n.podIp = ((r.json?.ips as Array<{ address: string }>)[0]?.address ?? '').split('/')[0] ?? ''
}

async function cluster (sb: Sandbox, hosts: number, network = NETWORK): Promise<{ etcd: Etcd, nodes: Node[], underlay: string, hostsList: Host[] }> {
  const topo = await underlayTopology(sb, { hosts })
  const etcd = await startEtcd(t, { host: topo.gateways[0] as string, execPrefix: ['ip', 'netns', 'exec', ns(topo.underlay)], args: ['--max-txn-ops=4096'] })
  await etcd.etcdctl(['put', '/coreos.com/network/config', JSON.stringify({ Network: network, SubnetLen: 24, Backend: { Type: 'vxlan' } })])
  return { etcd, nodes: topo.hosts.map((host) => ({ host, subnetFile: path.join(sb.dir, host.name, 'subnet.env'), pod: '', podIp: '' })), underlay: topo.underlay, hostsList: topo.hosts }
}

async function realNodes (count: number): Promise<void> {
  const sb = new Sandbox('bcv')
  t.teardown(() => { sb.cleanupSync() })
  const { etcd, nodes } = await cluster(sb, count + 1)
  const joiner = nodes[count] as Node
  const others = nodes.slice(0, count)
  for (const n of others) agent(sb, etcd, n)
  for (const n of others) await until(`${n.host.name} subnet.env`, () => fs.existsSync(n.subnetFile), 60_000, 100)
  for (const n of others) await attachPod(sb, n)
  // The joiner: its pod is attached as soon as its subnet.env exists; the clock starts at its lease.
  agent(sb, etcd, joiner)
  let leaseAt = 0
  await until('joiner lease', async () => {
    const r = await etcd.etcdctl(['get', '--prefix', '--keys-only', '/coreos.com/network/subnets/'])
    const n = r.stdout.split('\n').filter((l) => l.trim() !== '').length
    if (n > count) { leaseAt = performance.now(); return true }
    return false
  }, 30_000, 5)
  await until('joiner subnet.env', () => fs.existsSync(joiner.subnetFile), 30_000, 5)
  await attachPod(sb, joiner)
  const reached = await Promise.all(others.map(async (n) => {
    await until(`${n.host.name} → joiner`, async () => (await sb.exec(n.pod, 'ping', ['-c', '1', '-W', '1', joiner.podIp], { reject: false })).exitCode === 0, 20_000, 10)
    return performance.now()
  }))
  const ms = Math.max(...reached) - leaseAt
  emit({ bench: 'vxlan.convergence.real_nodes', nodes: count, new_node_to_full_connectivity_ms: Math.round(ms), note: 'includes the joiner agent writing subnet.env and its pod ADD' })
  for (const fn of teardowns.splice(0).reverse()) await fn()
}

async function simulatedLeases (count: number): Promise<void> {
  const sb = new Sandbox('bcs')
  t.teardown(() => { sb.cleanupSync() })
  // A /8 so 1000 remote /24s fit beside ours (which the agent picks among the first free ones, 10.0.x).
  const { etcd, nodes } = await cluster(sb, 1, '10.0.0.0/8')
  const n = nodes[0] as Node
  agent(sb, etcd, n)
  await until('subnet.env', () => fs.existsSync(n.subnetFile), 30_000, 50)
  // One etcdctl txn writes all leases at once: 10.200.0.0/24, 10.200.1.0/24, ...
  const lines: string[] = []
  for (let i = 0; i < count; i++) {
    const key = `/coreos.com/network/subnets/10.${200 + Math.floor(i / 256)}.${i % 256}.0-24`
    const mac = `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`
    const val = JSON.stringify({ PublicIP: `172.30.${Math.floor(i / 250)}.${(i % 250) + 1}`, PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: mac } })
    lines.push(`put ${key} ${JSON.stringify(val)}`)
  }
  const script = `\n${lines.join('\n')}\n\n\n`
  const count0 = async (): Promise<number> => Number((await sb.exec(n.host.ns, 'sh', ['-c', 'ip route show dev flannel.1 | wc -l'])).stdout.trim())
  const start = performance.now()
  await etcd.etcdctl(['txn'], { input: script })
  const wrote = performance.now()
  await until('all routes', async () => (await count0()) >= count, 60_000, 10)
  const done = performance.now()
  const neigh = Number((await sb.exec(n.host.ns, 'sh', ['-c', 'ip neigh show dev flannel.1 nud permanent | wc -l'])).stdout.trim())
  const fdb = Number((await sb.exec(n.host.ns, 'sh', ['-c', 'bridge fdb show dev flannel.1 | grep -c permanent'])).stdout.trim())
  emit({ bench: 'vxlan.convergence.simulated_leases', leases: count, etcd_write_ms: Math.round(wrote - start), leases_to_kernel_ms: Math.round(done - wrote), routes: await count0(), neighbours: neigh, fdb })
  for (const fn of teardowns.splice(0).reverse()) await fn()
}

async function iperf (sb: Sandbox, from: string, to: string, seconds: number): Promise<number> {
  const r = await sb.exec(from, 'iperf3', ['-c', to, '-t', String(seconds), '-J'], { reject: false })
  const j = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } } }
  return (j.end?.sum_received?.bits_per_second ?? 0) / 1e9
}

async function throughput (rounds: number, seconds: number): Promise<void> {
  const sb = new Sandbox('bct')
  t.teardown(() => { sb.cleanupSync() })
  const { etcd, nodes } = await cluster(sb, 2)
  const [a, b] = nodes as [Node, Node]
  for (const n of nodes) agent(sb, etcd, n)
  for (const n of nodes) await until('subnet.env', () => fs.existsSync(n.subnetFile), 30_000, 50)
  for (const n of nodes) await attachPod(sb, n)
  await until('overlay up', async () => (await sb.exec(a.pod, 'ping', ['-c', '1', '-W', '1', b.podIp], { reject: false })).exitCode === 0, 20_000, 50)
  const server = execa('ip', ['netns', 'exec', ns(b.pod), 'iperf3', '-s'], { reject: false })
  t.teardown(async () => { server.kill('SIGKILL'); await server })
  await sleep(300)
  // Snapshot of what the agents programmed, to rebuild it by hand.
  const manual = async (): Promise<void> => {
    for (const n of nodes) { n.agent?.kill('SIGKILL'); await n.agent }
    for (const [self, peer] of [[a, b], [b, a]] as const) {
      const macPeer = (await sb.exec(peer.host.ns, 'cat', ['/sys/class/net/flannel.1/address'])).stdout.trim()
      const macSelf = (await sb.exec(self.host.ns, 'cat', ['/sys/class/net/flannel.1/address'])).stdout.trim()
      const selfNet = (/FLANNEL_SUBNET=(\S+)/.exec(fs.readFileSync(self.subnetFile, 'utf8'))?.[1] ?? '').replace(/\.1\//, '.0/')
      const peerNet = (/FLANNEL_SUBNET=(\S+)/.exec(fs.readFileSync(peer.subnetFile, 'utf8'))?.[1] ?? '').replace(/\.1\//, '.0/')
      const peerGw = peerNet.split('/')[0] as string
      const cmds = [
        'ip link del flannel.1',
        `ip link add flannel.1 address ${macSelf} mtu 1450 type vxlan id 1 local ${self.host.ip} dev eth0 dstport 8472 nolearning`,
        `ip addr add ${selfNet.replace('/24', '/32')} dev flannel.1`,
        'ip link set flannel.1 up',
        `ip neigh replace ${peerGw} lladdr ${macPeer} dev flannel.1 nud permanent`,
        `bridge fdb replace ${macPeer} dev flannel.1 dst ${peer.host.ip} self permanent`,
        `ip route replace ${peerNet} via ${peerGw} dev flannel.1 onlink`
      ]
      await sb.exec(self.host.ns, 'sh', ['-ec', cmds.join('\n')])
    }
  }
  // Alternate which goes first in each round (ours: agents running; hand: agents stopped and
  // the same overlay rebuilt with ip commands; the agents adopt the device as it is when they
  // come back), after one discarded warm-up run, so drift and warm-up hit both alike.
  const ours: number[] = []
  const hand: number[] = []
  const up = async (what: string): Promise<void> => { await until(what, async () => (await sb.exec(a.pod, 'ping', ['-c', '1', '-W', '1', b.podIp], { reject: false })).exitCode === 0, 10_000, 50) }
  let mode: 'ours' | 'hand' = 'ours'
  const switchTo = async (m: 'ours' | 'hand'): Promise<void> => {
    if (m === mode) return
    if (m === 'hand') await manual()
    else { for (const n of nodes) agent(sb, etcd, n); await sleep(1500) }
    mode = m
    await up(`overlay up (${m})`)
  }
  await iperf(sb, a.pod, b.podIp, 2)
  for (let i = 0; i < rounds; i++) {
    const order: Array<'ours' | 'hand'> = i % 2 === 0 ? ['ours', 'hand'] : ['hand', 'ours']
    for (const m of order) {
      await switchTo(m)
      ;(m === 'ours' ? ours : hand).push(await iperf(sb, a.pod, b.podIp, seconds))
    }
  }
  const med = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number
  emit({ bench: 'vxlan.throughput.pod_to_pod', impl: 'weft', rounds, seconds, median_gbps: Number(med(ours).toFixed(2)), runs: ours.map((x) => Number(x.toFixed(2))) })
  emit({ bench: 'vxlan.throughput.pod_to_pod', impl: 'hand-built ip commands (ceiling)', rounds, seconds, median_gbps: Number(med(hand).toFixed(2)), runs: hand.map((x) => Number(x.toFixed(2))) })
  emit({ bench: 'vxlan.throughput.ratio', ratio_to_ceiling: Number((med(ours) / med(hand)).toFixed(3)) })
  for (const fn of teardowns.splice(0).reverse()) await fn()
}

async function main (): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:vxlan creates network namespaces: run it as root')
  const only = process.env.BENCH_ONLY
  try {
    if (only === undefined || only === 'simulated') await simulatedLeases(Number(process.env.BENCH_LEASES ?? 1000))
    if (only === undefined || only === 'real') await realNodes(Number(process.env.BENCH_NODES ?? 20))
    if (only === undefined || only === 'throughput') await throughput(Number(process.env.BENCH_ROUNDS ?? 3), Number(process.env.BENCH_SECONDS ?? 5))
  } finally {
    for (const fn of teardowns.splice(0).reverse()) { try { await fn() } catch { /* keep going */ } }
  }
}

await main()
