/**
 * The overlay end to end: hosts in namespaces on an underlay bridge (or two
 * routed underlay segments), a real etcd in the underlay namespace, one
 * `weft vxland` process per host, pods attached with our `flannel` plugin.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { execa } from 'execa'
import type { ResultPromise } from 'execa'
import { repoRoot, requireRoot, sandbox, underlayTopology, weftCniDir } from '../harness/index.js'
import type { Host, Sandbox, Topology } from '../harness/index.js'
import { startEtcd } from '../harness/index.js'
import type { Etcd } from '../harness/index.js'

const NETWORK = '10.244.0.0/16'

interface Node {
  host: Host
  subnetFile: string
  agent: ResultPromise | undefined
  pod: string
  podIp: string
  podIp6: string
  /** The node's lease subnet, e.g. '10.244.7.0/24'. */
  subnet: string
  log: string[]
}

interface Cluster {
  sb: Sandbox
  topo: Topology
  etcd: Etcd
  nodes: Node[]
}

const nsName = (p: string): string => path.basename(p)

async function until (what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<number> {
  const start = Date.now()
  for (;;) {
    if (await fn()) return Date.now() - start
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

function startAgent (t: ExecutionContext, c: { sb: Sandbox, etcd: Etcd }, n: Node, extra: string[] = []): void {
  const p: ResultPromise = execa('ip', ['netns', 'exec', nsName(n.host.ns), process.execPath, path.join(repoRoot, 'bin', 'weft'), 'vxland',
    '--etcd-endpoints', c.etcd.endpoint, '--subnet-file', n.subnetFile, '--ip-masq', '--resync-ms', '500', '--log-level', 'debug', ...extra],
  { reject: false, buffer: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' }) as unknown as ResultPromise
  p.stderr?.on('data', (d: Buffer) => { n.log.push(d.toString()) })
  n.agent = p
  t.teardown(async () => { p.kill('SIGKILL'); await p })
}

async function stopAgent (n: Node): Promise<void> {
  if (n.agent === undefined) return
  n.agent.kill('SIGTERM')
  await n.agent
  n.agent = undefined
}

async function cluster (t: ExecutionContext, opts: { hosts: number, subnets?: 1 | 2, ipv6?: boolean }): Promise<Cluster> {
  requireRoot()
  const sb = sandbox(t, 'vx')
  const topo = await underlayTopology(sb, { hosts: opts.hosts, ...(opts.subnets !== undefined ? { subnets: opts.subnets } : {}), ...(opts.ipv6 === true ? { ipv6: true } : {}) })
  const etcd = await startEtcd(t, { host: topo.gateways[0] as string, execPrefix: ['ip', 'netns', 'exec', nsName(topo.underlay)] })
  const netConf = opts.ipv6 === true
    ? { Network: NETWORK, EnableIPv6: true, IPv6Network: 'fd00:10:244::/56', Backend: { Type: 'vxlan' } }
    : { Network: NETWORK, Backend: { Type: 'vxlan' } }
  await etcd.etcdctl(['put', '/coreos.com/network/config', JSON.stringify(netConf)])
  const nodes: Node[] = topo.hosts.map((host) => ({ host, subnetFile: path.join(sb.dir, host.name, 'subnet.env'), agent: undefined, pod: '', podIp: '', podIp6: '', subnet: '', log: [] }))
  const c = { sb, topo, etcd, nodes }
  for (const n of nodes) startAgent(t, c, n)
  for (const n of nodes) {
    // Generous: on a loaded CI machine a cold Node start and the first etcd round trips take seconds.
    await until(`${n.host.name}'s subnet.env`, () => fs.existsSync(n.subnetFile), 45_000).catch((e: unknown) => { throw new Error(`${(e as Error).message}\n${n.log.join('')}`) })
    const sub = /FLANNEL_SUBNET=(\S+)/.exec(fs.readFileSync(n.subnetFile, 'utf8'))?.[1] ?? ''
    n.subnet = sub.replace(/\.1\//, '.0/')
  }
  for (const n of nodes) {
    n.pod = sb.ns(`${n.host.name}p`)
    const r = await sb.cni({
      plugin: 'flannel',
      command: 'ADD',
      hostNs: n.host.ns,
      netns: n.pod,
      containerId: `pod-${n.host.name}`,
      conf: {
        cniVersion: '0.3.1',
        name: 'cbr0',
        type: 'flannel',
        subnetFile: n.subnetFile,
        dataDir: path.join(sb.dir, n.host.name, 'flannel'),
        ipam: { dataDir: path.join(sb.dir, n.host.name, 'ipam') },
        delegate: { hairpinMode: true, isDefaultGateway: true }
      }
    })
    t.is(r.exitCode, 0, `${n.host.name}: ${r.stdout}${r.stderr}`)
    const ips = (r.json?.ips as Array<{ address: string }> | undefined) ?? []
    n.podIp = (ips.find((x) => !x.address.includes(':'))?.address ?? '').split('/')[0] ?? ''
    n.podIp6 = (ips.find((x) => x.address.includes(':'))?.address ?? '').split('/')[0] ?? ''
  }
  return c
}

async function ping (sb: Sandbox, from: string, to: string, count = 1): Promise<boolean> {
  return (await sb.exec(from, 'ping', ['-c', String(count), '-W', '2', '-i', '0.2', to], { reject: false })).exitCode === 0
}

async function tcp (sb: Sandbox, from: string, to: string, port: number): Promise<string> {
  const js = `const s=require('net').connect(${port}, '${to}');s.setTimeout(3000,()=>{process.stdout.write('timeout');process.exit(1)});s.on('data',d=>{process.stdout.write(d);process.exit(0)});s.on('error',e=>{process.stdout.write(e.code);process.exit(1)})`
  return (await sb.exec(from, process.execPath, ['-e', js], { reject: false })).stdout
}

function serve (t: ExecutionContext, sb: Sandbox, pod: string, port: number, text: string): void {
  const p = execa('ip', ['netns', 'exec', nsName(pod), process.execPath, '-e', `require('net').createServer(s=>s.end(${JSON.stringify(text)})).listen(${port})`], { reject: false, stdin: 'ignore' })
  t.teardown(async () => { p.kill('SIGKILL'); await p })
}

async function remoteEntries (sb: Sandbox, host: Host): Promise<string> {
  const r = await sb.exec(host.ns, 'sh', ['-c', 'ip route show dev flannel.1; ip neigh show dev flannel.1 nud permanent; bridge fdb show dev flannel.1'], { reject: false })
  return r.stdout
}

for (const subnets of [1, 2] as const) {
  test(`[kernel] three hosts${subnets === 2 ? ' on two routed underlay segments' : ''}: every pod reaches every other over ICMP and TCP, VXLAN on UDP 8472 with VNI 1`, async (t) => {
    const c = await cluster(t, { hosts: 3, subnets })
    const { sb, nodes } = c
    t.is(new Set(nodes.map((n) => n.subnet)).size, 3, 'distinct node subnets')
    for (const n of nodes) serve(t, sb, n.pod, 7000, `hello from ${n.host.name}`)
    for (const a of nodes) {
      for (const b of nodes) {
        if (a === b) continue
        await until(`${a.host.name} → ${b.host.name} ping`, async () => await ping(sb, a.pod, b.podIp), 5000)
        // The server in b's pod may still be starting (a node process): retry refusals only.
        let said = ''
        await until(`${a.host.name} → ${b.host.name} tcp`, async () => { said = await tcp(sb, a.pod, b.podIp, 7000); return said !== 'ECONNREFUSED' }, 10_000)
        t.is(said, `hello from ${b.host.name}`)
      }
    }
    // The kernel state flannel would have on h1: device, /32, neigh → fdb → route per remote.
    const h1 = nodes[0] as Node
    const link = await sb.exec(h1.host.ns, 'ip', ['-d', 'link', 'show', 'flannel.1'])
    t.regex(link.stdout, /mtu 1450 .*\n.*\n\s+vxlan id 1 local 192\.168\.\d+\.11 dev eth0 .*dstport 8472 nolearning/)
    t.regex((await sb.exec(h1.host.ns, 'ip', ['addr', 'show', 'flannel.1'])).stdout, new RegExp(`inet ${h1.subnet.replace('/24', '/32').replace(/\./g, '\\.')}`))
    const entries = await remoteEntries(sb, h1.host)
    for (const n of nodes.slice(1)) {
      const gw = n.subnet.split('/')[0] as string
      t.true(entries.includes(`${n.subnet} via ${gw} proto 87 onlink`), entries)
      t.regex(entries, new RegExp(`${gw.replace(/\./g, '\\.')} lladdr [0-9a-f:]{17} PERMANENT`))
      t.regex(entries, new RegExp(`dst ${n.host.ip.replace(/\./g, '\\.')} self permanent`))
    }
    // On the wire: UDP 8472 with VNI 1 between the hosts' public addresses.
    const bridge = c.topo.bridges[0] as string
    const cap = execa('ip', ['netns', 'exec', nsName(c.topo.underlay), 'tcpdump', '-l', '-nn', '-v', '-T', 'vxlan', '-c', '2', '-i', bridge, 'udp', 'port', '8472'], { reject: false, timeout: 10_000 })
    await new Promise((resolve) => setTimeout(resolve, 500))
    await ping(sb, h1.pod, (nodes[1] as Node).podIp, 2)
    const out = await cap
    t.regex(String(out.stdout), /VXLAN, flags \[I\] \(0x08\), vni 1/)
  })
}

test('[kernel] dual-stack: IPv4 and IPv6 overlays side by side (flannel.1 and flannel-v6.1), pods reach each other over both', async (t) => {
  const c = await cluster(t, { hosts: 2, ipv6: true })
  const { sb, nodes } = c
  const [a, b] = nodes as [Node, Node]
  t.regex(a.podIp6, /^fd00:10:244:/)
  const env = fs.readFileSync(a.subnetFile, 'utf8')
  t.regex(env, /FLANNEL_IPV6_NETWORK=fd00:10:244::\/56/)
  t.regex(env, /FLANNEL_IPV6_SUBNET=fd00:10:244:[0-9a-f]*::1\/64/)
  t.regex(env, /FLANNEL_MTU=1430/, 'the pods get the smaller, IPv6-encapsulation MTU')
  await until('IPv4 pod ping', async () => await ping(sb, a.pod, b.podIp), 5000)
  await until('IPv6 pod ping', async () => (await sb.exec(a.pod, 'ping', ['-6', '-c', '1', '-W', '2', b.podIp6], { reject: false })).exitCode === 0, 8000)
  const link6 = await sb.exec(a.host.ns, 'ip', ['-d', 'link', 'show', 'flannel-v6.1'])
  t.regex(link6.stdout, /vxlan id 1 local fd50:0::11|vxlan id 1 local fd50::11/)
  const routes6 = (await sb.exec(a.host.ns, 'ip', ['-6', 'route', 'show', 'dev', 'flannel-v6.1'])).stdout
  t.regex(routes6, /fd00:10:244:[0-9a-f]*::\/64 via fd00:10:244:[0-9a-f]*:: proto 87 .*onlink/)
})

test('[kernel] tampering is repaired within 2 s: route, fdb entry, the whole device; pod traffic comes back', async (t) => {
  const c = await cluster(t, { hosts: 2 })
  const { sb, nodes } = c
  const [a, b] = nodes as [Node, Node]
  await until('first ping', async () => await ping(sb, a.pod, b.podIp), 5000)
  const bGw = b.subnet.split('/')[0] as string
  const restored = async (what: string, check: () => Promise<boolean>): Promise<void> => {
    const ms = await until(what, check, 2000)
    t.log(`${what}: restored in ${ms} ms`)
  }
  await sb.exec(a.host.ns, 'ip', ['route', 'del', b.subnet])
  await restored('route', async () => (await remoteEntries(sb, a.host)).includes(`${b.subnet} via ${bGw}`))
  await sb.exec(a.host.ns, 'sh', ['-c', `bridge fdb show dev flannel.1 | grep 'dst ${b.host.ip}' | awk '{print $1}' | xargs -I{} bridge fdb del {} dev flannel.1 dst ${b.host.ip}`])
  await restored('fdb entry', async () => (await remoteEntries(sb, a.host)).includes(`dst ${b.host.ip} self permanent`))
  const macBefore = (await sb.exec(a.host.ns, 'cat', ['/sys/class/net/flannel.1/address'])).stdout.trim()
  await sb.exec(a.host.ns, 'ip', ['link', 'del', 'flannel.1'])
  await restored('device and its entries', async () => (await remoteEntries(sb, a.host)).includes(`${b.subnet} via ${bGw}`))
  t.is((await sb.exec(a.host.ns, 'cat', ['/sys/class/net/flannel.1/address'])).stdout.trim(), macBefore, 'same VtepMAC after recreation')
  t.true(await ping(sb, a.pod, b.podIp, 2))
})

test('[kernel] a node that goes away is cleaned from the others within 2 s', async (t) => {
  const c = await cluster(t, { hosts: 3 })
  const { sb, nodes, etcd } = c
  const [a, , gone] = nodes as [Node, Node, Node]
  await until('entries for the third node', async () => (await remoteEntries(sb, a.host)).includes(gone.subnet))
  await stopAgent(gone)
  const key = `/coreos.com/network/subnets/${gone.subnet.replace('/', '-')}`
  await etcd.etcdctl(['del', key])
  const ms = await until('cleanup of the removed node', async () => {
    const e = await remoteEntries(sb, a.host)
    return !e.includes(gone.subnet) && !e.includes(`dst ${gone.host.ip}`) && !e.includes(`${gone.subnet.split('/')[0] ?? ''} lladdr`)
  }, 2000)
  t.log(`cleaned in ${ms} ms`)
  t.true(await ping(sb, a.pod, (nodes[1] as Node).podIp))
})

test('[kernel] restarting an agent keeps existing pod traffic flowing and keeps its subnet', async (t) => {
  const c = await cluster(t, { hosts: 2 })
  const { sb, nodes } = c
  const [a, b] = nodes as [Node, Node]
  await until('first ping', async () => await ping(sb, a.pod, b.podIp), 5000)
  const pinger = execa('ip', ['netns', 'exec', nsName(a.pod), 'ping', '-c', '40', '-i', '0.1', '-W', '1', b.podIp], { reject: false })
  await new Promise((resolve) => setTimeout(resolve, 500))
  await stopAgent(a)
  startAgent(t, c, a)
  const out = await pinger
  const m = /(\d+) packets transmitted, (\d+) received/.exec(String(out.stdout))
  t.truthy(m, String(out.stdout))
  t.is(m?.[1], m?.[2], `no loss across the restart: ${m?.[0] ?? ''}`)
  await until('subnet.env after restart', () => fs.existsSync(a.subnetFile))
  t.is(/FLANNEL_SUBNET=(\S+)/.exec(fs.readFileSync(a.subnetFile, 'utf8'))?.[1]?.replace(/\.1\//, '.0/'), a.subnet)
})

test('[kernel] bad states fail clearly before touching the dataplane: missing config, missing underlay interface', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'vxbad')
  const topo = await underlayTopology(sb, { hosts: 1 })
  const etcd = await startEtcd(t, { host: topo.gateways[0] as string, execPrefix: ['ip', 'netns', 'exec', nsName(topo.underlay)] })
  const h = topo.hosts[0] as Host
  const run = async (args: string[]): Promise<{ exitCode: number, stderr: string }> => {
    const r = await execa('ip', ['netns', 'exec', nsName(h.ns), process.execPath, path.join(repoRoot, 'bin', 'weft'), 'vxland', '--etcd-endpoints', etcd.endpoint, '--subnet-file', path.join(sb.dir, 'subnet.env'), ...args], { reject: false, timeout: 30_000 })
    return { exitCode: r.exitCode ?? -1, stderr: String(r.stderr) }
  }
  const before = (await sb.exec(h.ns, 'ip', ['-br', 'link'])).stdout
  const noConf = await run([])
  t.not(noConf.exitCode, 0)
  t.regex(noConf.stderr, /VXLAN_ERR_NETCONF/)
  await etcd.etcdctl(['put', '/coreos.com/network/config', JSON.stringify({ Network: NETWORK, Backend: { Type: 'vxlan' } })])
  const noIface = await run(['--iface', 'nosuch0'])
  t.not(noIface.exitCode, 0)
  t.regex(noIface.stderr, /VXLAN_ERR_UNDERLAY.*nosuch0/)
  t.is((await sb.exec(h.ns, 'ip', ['-br', 'link'])).stdout, before, 'no device was created')
  t.false(fs.existsSync(path.join(sb.dir, 'subnet.env')))
  t.is(fs.existsSync(weftCniDir), true)
})
