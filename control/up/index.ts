/**
 * `weft up` / `weft down`: a whole cluster on one Linux box. Each node is a
 * network namespace on an underlay bridge in the host namespace; the API
 * server (embedded store), controller-manager and scheduler run on the host,
 * one kubelet per node namespace. Pod networking: our `bridge` + `host-local`
 * CNI plugins on each node's podCIDR with routes between the nodes
 * (`--network routes`, the default until the overlay's kube subnet manager
 * lands). Everything made is recorded in `<data-dir>/state.json`, so
 * `weft down` (or Ctrl-C on `weft up`) removes every namespace, link and
 * process, also after a crash.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
import { LinuxNetNS, ip } from '../../kernel/index.js'
import { KubeClient, Informer } from '../client/index.js'
import type { Obj } from '../client/index.js'
import { ensureUserToken, readKubeconfig, writeKubeconfig, GROUP_MASTERS, GROUP_NODES, NODE_USER_PREFIX } from '../apiserver/index.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const WEFT = path.join(root, 'bin', 'weft')
const CNI_BIN = path.join(root, 'bin', 'cni')

export interface UpOptions {
  name: string
  nodes: number
  dataDir: string
  /** The underlay: the host takes .1, node i takes .(10+i). */
  underlay: string
  clusterCidr: string
  serviceCidr: string
  apiPort: number
  /** vxlan: `weft vxland --kube-subnet-mgr` per node and the flannel CNI plugin; routes: bridge + host-local and plain routes between nodes. */
  network: 'vxlan' | 'routes'
  /** Print progress and the status table (false in tests that parse nothing). */
  verbose: boolean
  /** Also start `weft proxy` (nftables mode) per node. */
  proxy: boolean
  /** Extra flags for every kubelet (e.g. a shorter crash backoff in tests). */
  kubeletArgs?: string[]
  controllerArgs?: string[]
}

export const upDefaults = {
  name: 'weft',
  nodes: 3,
  underlay: '10.200.0.0/24',
  clusterCidr: '10.244.0.0/16',
  serviceCidr: '10.96.0.0/12',
  apiPort: 6443,
  network: 'vxlan' as 'vxlan' | 'routes',
  verbose: true,
  proxy: true
}

export interface NodeState { name: string, ns: string, ip: string, hostVeth: string }

export interface ClusterState {
  name: string
  dataDir: string
  bridge: string
  hostIp: string
  prefixLen: number
  nodes: NodeState[]
  pids: Array<{ pid: number, what: string }>
  kubeconfig: string
  apiServer: string
  /** Host routes added (pod CIDR via node IP). */
  hostRoutes: string[]
}

const statePath = (dataDir: string): string => path.join(dataDir, 'state.json')

function saveState (s: ClusterState): void {
  const tmp = statePath(s.dataDir) + '.tmp'
  fs.writeFileSync(tmp, JSON.stringify(s, null, 2))
  fs.renameSync(tmp, statePath(s.dataDir))
}

export function readState (dataDir: string): ClusterState | undefined {
  try { return JSON.parse(fs.readFileSync(statePath(dataDir), 'utf8')) as ClusterState } catch { return undefined }
}

export function checkName (name: string): void {
  if (!/^[a-z][a-z0-9]{0,7}$/.test(name)) throw new Error(`cluster name "${name}" must be 1-8 lower-case letters or digits, starting with a letter (it goes into interface names)`)
}

interface Progress { step: (what: string) => void, done: (what: string) => void }

function progress (verbose: boolean): Progress {
  const t0 = Date.now()
  const stamp = (): string => `${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s`
  return {
    step: (what) => { if (verbose) process.stdout.write(`${stamp()}  … ${what}\n`) },
    done: (what) => { if (verbose) process.stdout.write(`${stamp()}  ✓ ${what}\n`) }
  }
}

export interface RunningCluster {
  state: ClusterState
  client: KubeClient
  /** Resolves when a daemon dies unexpectedly (with its name). */
  died: Promise<string>
  down: () => Promise<void>
}

/** Brings a cluster up and returns once every node is Ready. */
export async function up (opts: UpOptions): Promise<RunningCluster> {
  checkName(opts.name)
  if (process.getuid?.() !== 0) throw new Error('weft up creates network namespaces: run it as root')
  if (!fs.existsSync(path.join(CNI_BIN, 'bridge'))) throw new Error(`${CNI_BIN}/bridge is missing: run \`npm run build\` first`)
  if (opts.nodes < 1 || opts.nodes > 50) throw new Error('--nodes must be 1-50')
  const old = readState(opts.dataDir)
  if (old !== undefined) throw new Error(`a cluster "${old.name}" is recorded in ${opts.dataDir}: run \`weft down --data-dir ${opts.dataDir}\` first`)
  const underlay = ip.parseCidr(opts.underlay)
  if (underlay.family !== 4 || underlay.prefixLen > 26) throw new Error('--underlay must be an IPv4 CIDR of /26 or larger')
  const base = ip.toBigInt(ip.networkOf(underlay))
  const hostIp = ip.fromBigInt(base + 1n, 4)
  const p = progress(opts.verbose)
  fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 })
  const netns = new LinuxNetNS()
  const state: ClusterState = {
    name: opts.name,
    dataDir: opts.dataDir,
    bridge: `wtb-${opts.name}`,
    hostIp,
    prefixLen: underlay.prefixLen,
    nodes: [],
    pids: [],
    kubeconfig: path.join(opts.dataDir, 'admin.kubeconfig'),
    apiServer: `https://${hostIp}:${opts.apiPort}`,
    hostRoutes: []
  }
  saveState(state)
  const children: Array<{ child: ChildProcess, what: string }> = []
  let stopping = false
  let resolveDied: (what: string) => void = () => {}
  const died = new Promise<string>((r) => { resolveDied = r })
  const logDir = path.join(opts.dataDir, 'logs')
  fs.mkdirSync(logDir, { recursive: true })
  const start = (what: string, argv: string[], inNs?: string, env: Record<string, string> = {}): ChildProcess => {
    const log = fs.openSync(path.join(logDir, `${what}.log`), 'a')
    const cmd = inNs !== undefined ? '/usr/bin/nsenter' : WEFT
    const args = inNs !== undefined ? [`--net=${netns.pathOf(inNs)}`, '--', WEFT, ...argv] : argv
    const child = spawn(cmd, args, { stdio: ['ignore', log, log], detached: true, env: { ...process.env, ...env } })
    fs.closeSync(log)
    state.pids.push({ pid: child.pid as number, what })
    saveState(state)
    children.push({ child, what })
    child.on('exit', (code, sig) => { if (!stopping) resolveDied(`${what} exited (${code ?? sig ?? '?'}); see ${path.join(logDir, `${what}.log`)}`) })
    return child
  }
  const teardown = async (): Promise<void> => {
    stopping = true
    await down(opts.dataDir, { verbose: false })
  }
  try {
    // 1. Underlay: a bridge on the host, a namespace per node.
    p.step(`underlay ${state.bridge} ${hostIp}/${underlay.prefixLen}`)
    const host = netns.netlink()
    try {
      host.addBridge({ name: state.bridge })
      const br = host.linkByName(state.bridge)
      if (br === undefined) throw new Error('bridge missing after creation')
      host.addAddress(br.index, `${hostIp}/${underlay.prefixLen}`)
      host.setLink(br.index, { up: true })
      for (let i = 1; i <= opts.nodes; i++) {
        const node: NodeState = { name: `node-${i}`, ns: `wt-${opts.name}-node-${i}`, ip: ip.fromBigInt(base + 10n + BigInt(i), 4), hostVeth: `wtv-${opts.name}-${i}` }
        const nsPath = netns.create(node.ns)
        state.nodes.push(node)
        saveState(state)
        const fd = netns.openFd(nsPath)
        try {
          host.addVeth({ name: node.hostVeth, peerName: 'eth0', peerNetnsFd: fd })
        } finally { netns.closeFd(fd) }
        const hv = host.linkByName(node.hostVeth)
        if (hv === undefined) throw new Error(`${node.hostVeth} missing`)
        host.setLink(hv.index, { master: br.index, up: true })
        const nl = netns.netlink(nsPath)
        try {
          const lo = nl.linkByName('lo')
          if (lo !== undefined) nl.setLink(lo.index, { up: true })
          const eth0 = nl.linkByName('eth0')
          if (eth0 === undefined) throw new Error(`eth0 missing in ${node.ns}`)
          nl.addAddress(eth0.index, `${node.ip}/${underlay.prefixLen}`)
          nl.setLink(eth0.index, { up: true })
          nl.addRoute({ family: 4, dst: '0.0.0.0/0', gw: hostIp, dev: eth0.index })
        } finally { nl.close() }
        await run('/usr/bin/nsenter', [`--net=${nsPath}`, '--', '/usr/sbin/sysctl', '-qw', 'net.ipv4.ip_forward=1'])
      }
    } finally { host.close() }
    p.done(`${opts.nodes} node namespaces: ${state.nodes.map((n) => `${n.ns} (${n.ip})`).join(', ')}`)

    // 2. API server on the underlay address, then tokens and kubeconfigs for every daemon.
    p.step('API server (embedded store)')
    start('apiserver', ['apiserver', '--data-dir', path.join(opts.dataDir, 'apiserver'), '--bind-address', hostIp, '--advertise-address', hostIp,
      '--secure-port', String(opts.apiPort), '--service-cluster-ip-range', opts.serviceCidr, '--log-level', 'info'])
    const adminKc = path.join(opts.dataDir, 'apiserver', 'admin.kubeconfig')
    const client = await waitForApi(adminKc, () => children.find((c) => c.what === 'apiserver')?.child.exitCode ?? null)
    fs.copyFileSync(adminKc, state.kubeconfig)
    fs.chmodSync(state.kubeconfig, 0o600)
    p.done(`API server ${state.apiServer}`)
    const admin = await readKubeconfig(adminKc)
    const tokens = path.join(opts.dataDir, 'apiserver', 'tokens.csv')
    const kubeconfigFor = async (user: string, groups: string[]): Promise<string> => {
      const { token } = await ensureUserToken(tokens, { name: user, groups })
      const file = path.join(opts.dataDir, 'kubeconfigs', `${user.replace(/[^a-z0-9-]/gi, '_')}.kubeconfig`)
      fs.mkdirSync(path.dirname(file), { recursive: true })
      await writeKubeconfig(file, { server: state.apiServer, caCertPem: admin.caCertPem as string, token, user, cluster: opts.name })
      return file
    }
    const cmKc = await kubeconfigFor('system:kube-controller-manager', [GROUP_MASTERS])
    const schedKc = await kubeconfigFor('system:kube-scheduler', [GROUP_MASTERS])
    const proxyKc = await kubeconfigFor('system:kube-proxy', [GROUP_MASTERS])
    const nodeKcs = new Map<string, string>()
    for (const n of state.nodes) nodeKcs.set(n.name, await kubeconfigFor(`${NODE_USER_PREFIX}${n.name}`, [GROUP_NODES]))
    await new Promise((r) => setTimeout(r, 1200)) // the server reloads tokens.csv about once a second

    // 3. Control plane.
    p.step('controller-manager and scheduler')
    start('controller-manager', ['controller-manager', '--kubeconfig', cmKc, '--cluster-cidr', opts.clusterCidr, '--allocate-node-cidrs=true', '--leader-elect=false', ...(opts.controllerArgs ?? [])])
    start('scheduler', ['scheduler', '--kubeconfig', schedKc, '--leader-elect=false'])
    p.done('controller-manager and scheduler')

    // 4. Pod network: as each node gets its podCIDR, write its CNI config and route the CIDR to it from everywhere.
    const routed = new Map<string, string>()
    const nodeInformer = new Informer(client, { resource: 'nodes' }, {}, {
      onAdd: (o) => { void routeNode(o) },
      onUpdate: (o) => { void routeNode(o) }
    })
    const routeNode = async (o: Obj): Promise<void> => {
      const name = String((o.metadata as Obj).name)
      const cidr = (o.spec as Obj | undefined)?.podCIDR
      const node = state.nodes.find((n) => n.name === name)
      if (typeof cidr !== 'string' || node === undefined || routed.get(name) === cidr) return
      routed.set(name, cidr)
      if (opts.network === 'vxlan') return // vxland routes the node's subnet; the flannel plugin's config is already there
      writeCniConfig(opts, node, cidr)
      const nsPath = (n: NodeState): string => netns.pathOf(n.ns)
      for (const other of state.nodes) {
        if (other.name === name) continue
        const nl = netns.netlink(nsPath(other))
        try {
          const eth0 = nl.linkByName('eth0')
          if (eth0 !== undefined) nl.addRoute({ family: 4, dst: cidr, gw: node.ip, dev: eth0.index }, { replace: true })
        } finally { nl.close() }
      }
      // Masquerade what leaves the cluster network from this node's pods.
      await run('/usr/bin/nsenter', [`--net=${nsPath(node)}`, '--', '/usr/sbin/iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', cidr, '!', '-d', opts.clusterCidr, '-j', 'MASQUERADE'])
      const h = netns.netlink()
      try {
        const br = h.linkByName(state.bridge)
        if (br !== undefined) { h.addRoute({ family: 4, dst: cidr, gw: node.ip, dev: br.index }, { replace: true }); state.hostRoutes.push(cidr); saveState(state) }
      } finally { h.close() }
    }

    // 5. One kubelet (and proxy) per node namespace.
    p.step(`kubelets on ${state.nodes.map((n) => n.name).join(', ')}`)
    for (const n of state.nodes) {
      const dir = path.join(opts.dataDir, 'nodes', n.name)
      fs.mkdirSync(path.join(dir, 'cni', 'net.d'), { recursive: true })
      if (opts.network === 'vxlan') {
        const netConf = path.join(opts.dataDir, 'net-conf.json')
        fs.writeFileSync(netConf, JSON.stringify({ Network: opts.clusterCidr, Backend: { Type: 'vxlan' } }))
        writeFlannelConfig(opts, n)
        start(`vxland-${n.name}`, ['vxland', '--kube-subnet-mgr', '--kubeconfig-file', nodeKcs.get(n.name) as string, '--net-config-path', netConf, '--iface', 'eth0',
          '--subnet-file', path.join(dir, 'subnet.env'), '--ip-masq'], n.ns, { NODE_NAME: n.name })
      }
      start(`kubelet-${n.name}`, ['kubelet', '--kubeconfig', nodeKcs.get(n.name) as string, '--hostname-override', n.name, '--node-ip', n.ip,
        '--root-dir', path.join(dir, 'kubelet'), '--cni-conf-dir', path.join(dir, 'cni', 'net.d'), '--cni-bin-dir', CNI_BIN, ...(opts.kubeletArgs ?? [])], n.ns)
      if (opts.proxy) {
        start(`proxy-${n.name}`, ['proxy', '--kubeconfig', proxyKc, '--hostname-override', n.name, '--proxy-mode', 'nftables', '--cluster-cidr', opts.clusterCidr], n.ns)
      }
    }
    await waitReady(client, opts.nodes, died)
    p.done(`${opts.nodes} nodes Ready`)
    return {
      state,
      client,
      died,
      down: async () => { await nodeInformer.stop(); client.close(); await teardown() }
    }
  } catch (e) {
    await teardown()
    throw e
  }
}

function writeCniConfig (opts: UpOptions, node: NodeState, podCidr: string): void {
  const dir = path.join(opts.dataDir, 'nodes', node.name, 'cni', 'net.d')
  const conf = {
    cniVersion: '1.0.0',
    name: `weft-${opts.name}`,
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: podCidr }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: path.join(opts.dataDir, 'nodes', node.name, 'ipam') }
      },
      { type: 'portmap', capabilities: { portMappings: true } }
    ]
  }
  const tmp = path.join(dir, '.10-weft.conflist.tmp')
  fs.writeFileSync(tmp, JSON.stringify(conf, null, 2))
  fs.renameSync(tmp, path.join(dir, '10-weft.conflist'))
}

/** The flannel plugin on the node's subnet.env (written by its vxland once the node has a podCIDR). */
function writeFlannelConfig (opts: UpOptions, node: NodeState): void {
  const nodeDir = path.join(opts.dataDir, 'nodes', node.name)
  const dir = path.join(nodeDir, 'cni', 'net.d')
  const conf = {
    cniVersion: '1.0.0',
    name: `weft-${opts.name}`,
    plugins: [
      { type: 'flannel', subnetFile: path.join(nodeDir, 'subnet.env'), dataDir: path.join(nodeDir, 'flannel'), ipam: { dataDir: path.join(nodeDir, 'ipam') }, delegate: { hairpinMode: true, isDefaultGateway: true } },
      { type: 'portmap', capabilities: { portMappings: true } }
    ]
  }
  const tmp = path.join(dir, '.10-weft.conflist.tmp')
  fs.writeFileSync(tmp, JSON.stringify(conf, null, 2))
  fs.renameSync(tmp, path.join(dir, '10-weft.conflist'))
}

async function waitForApi (kubeconfig: string, exited: () => number | null): Promise<KubeClient> {
  const until = Date.now() + 60_000
  for (;;) {
    if (exited() !== null) throw new Error('the API server exited during start-up')
    if (fs.existsSync(kubeconfig)) {
      try {
        const c = await KubeClient.fromKubeconfig(kubeconfig, { userAgent: 'weft-up' })
        await c.request('GET', '/readyz')
        return c
      } catch {}
    }
    if (Date.now() > until) throw new Error('the API server did not become ready in 60 s')
    await new Promise((r) => setTimeout(r, 200))
  }
}

async function waitReady (client: KubeClient, n: number, died: Promise<string>, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs
  let dead: string | undefined
  void died.then((w) => { dead = w })
  for (;;) {
    if (dead !== undefined) throw new Error(dead)
    const { items } = await client.list({ resource: 'nodes' })
    const ready = items.filter((o) => ((o.status as Obj | undefined)?.conditions as Obj[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True') === true)
    if (ready.length >= n) return
    if (Date.now() > until) throw new Error(`only ${ready.length} of ${n} nodes became Ready in ${timeoutMs / 1000} s`)
    await new Promise((r) => setTimeout(r, 300))
  }
}

async function run (cmd: string, args: string[], quiet = false): Promise<number> {
  const r = await execa(cmd, args, { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: quiet ? 'ignore' : 'inherit' })
  return r.exitCode ?? 1
}

/** Removes everything `weft up` recorded in `dataDir`: processes, node and pod namespaces, links, routes, state. */
export async function down (dataDir: string, opts: { verbose: boolean }): Promise<{ removed: string[] }> {
  const state = readState(dataDir)
  const removed: string[] = []
  if (state === undefined) return { removed }
  const say = (s: string): void => { removed.push(s); if (opts.verbose) process.stdout.write(`  ✓ ${s}\n`) }
  // Processes: kubelets and proxies first, then the control plane; SIGTERM, then SIGKILL.
  const order = [...state.pids].sort((a, b) => rank(a.what) - rank(b.what))
  for (const { pid, what } of order) {
    if (!alive(pid)) continue
    try { process.kill(-pid, 'SIGTERM') } catch { try { process.kill(pid, 'SIGTERM') } catch {} }
    const until = Date.now() + 5000
    while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
    if (alive(pid)) { try { process.kill(-pid, 'SIGKILL') } catch { try { process.kill(pid, 'SIGKILL') } catch {} } }
    say(`stopped ${what} (${pid})`)
  }
  const netns = new LinuxNetNS()
  // Pod namespaces the kubelets made (listed in their root dirs), then the node namespaces.
  const names = netns.list()
  for (const pod of podNamespaces(state).filter((x) => names.includes(x))) {
    killIn(netns.pathOf(pod))
    try { netns.remove(pod); say(`removed pod namespace ${pod}`) } catch {}
  }
  for (const n of state.nodes) {
    if (!names.includes(n.ns)) continue
    killIn(netns.pathOf(n.ns))
    try { netns.remove(n.ns); say(`removed node namespace ${n.ns}`) } catch {}
  }
  const h = netns.netlink()
  try {
    for (const n of state.nodes) {
      const l = h.linkByName(n.hostVeth)
      if (l !== undefined) { try { h.deleteLink(l.index) } catch {} }
    }
    const br = h.linkByName(state.bridge)
    if (br !== undefined) { h.deleteLink(br.index); say(`removed bridge ${state.bridge}`) }
  } finally { h.close() }
  fs.rmSync(statePath(dataDir), { force: true })
  return { removed }
}

/**
 * Pod namespaces of this cluster: every `wtp-*` name found in the files under
 * each node's kubelet root dir (its sandbox records and CNI cache).
 */
function podNamespaces (state: ClusterState): string[] {
  const out = new Set<string>()
  const walk = (dir: string, depth: number): void => {
    let entries: fs.Dirent[]
    try { entries = fs.readdirSync(dir, { withFileTypes: true }) } catch { return }
    for (const e of entries) {
      const p = path.join(dir, e.name)
      for (const m of e.name.matchAll(/wtp-[A-Za-z0-9_.-]+/g)) out.add(m[0])
      if (e.isDirectory() && depth < 6) walk(p, depth + 1)
      else if (e.isFile() && fs.statSync(p).size < 1 << 20) {
        try { for (const m of fs.readFileSync(p, 'utf8').matchAll(/wtp-[A-Za-z0-9_.-]+/g)) out.add(m[0].replace(/[.]+$/, '')) } catch {}
      }
    }
  }
  for (const n of state.nodes) walk(path.join(state.dataDir, 'nodes', n.name, 'kubelet'), 0)
  return [...out]
}

/** Kills every process whose network namespace is `nsPath` (containers a kubelet left). */
function killIn (nsPath: string): void {
  let target: number
  try { target = fs.statSync(nsPath).ino } catch { return }
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      if (fs.statSync(`/proc/${d}/ns/net`).ino === target) process.kill(Number(d), 'SIGKILL')
    } catch {}
  }
}

const rank = (what: string): number => what.startsWith('kubelet') || what.startsWith('proxy') || what.startsWith('vxland') ? 0 : what === 'apiserver' ? 2 : 1
function alive (pid: number): boolean { try { process.kill(pid, 0); return true } catch { return false } }

/** The status table `weft up` prints. */
export async function statusTable (client: KubeClient, state: ClusterState): Promise<string> {
  const { items } = await client.list({ resource: 'nodes' })
  const rows = [['NODE', 'NAMESPACE', 'NODE IP', 'POD CIDR', 'STATUS']]
  for (const n of state.nodes) {
    const o = items.find((x) => (x.metadata as Obj).name === n.name)
    const ready = ((o?.status as Obj | undefined)?.conditions as Obj[] | undefined)?.find((c) => c.type === 'Ready')
    rows.push([n.name, n.ns, n.ip, String((o?.spec as Obj | undefined)?.podCIDR ?? '<none>'), ready?.status === 'True' ? 'Ready' : 'NotReady'])
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length))) ?? []
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] as number)).join('   ').trimEnd()).join('\n') + '\n'
}

/** `weft up`: bring the cluster up, print where things are, then wait for Ctrl-C (or return at once with detach). */
export async function runUp (opts: UpOptions, extra: { demo: boolean, detach: boolean }): Promise<void> {
  const c = await up(opts)
  const { state, client } = c
  process.stdout.write('\n' + await statusTable(client, state))
  process.stdout.write(`\nkubeconfig:  ${state.kubeconfig}\n  export KUBECONFIG=${state.kubeconfig}; kubectl get nodes -o wide\n`)
  process.stdout.write(`node namespaces: ${state.nodes.map((n) => n.ns).join(' ')}  (e.g. ip netns exec ${state.nodes[0]?.ns ?? ''} ip addr)\n`)
  process.stdout.write(`logs: ${path.join(state.dataDir, 'logs')}\n`)
  if (extra.demo) await demo(client, state)
  if (extra.detach) {
    process.stdout.write(`\nleft running; stop it with: weft down --data-dir ${state.dataDir}\n`)
    client.close()
    return
  }
  process.stdout.write('\nCtrl-C stops the cluster and removes everything it made.\n')
  const why = await Promise.race([
    new Promise<string>((resolve) => { process.once('SIGINT', () => { resolve('interrupted') }); process.once('SIGTERM', () => { resolve('terminated') }) }),
    c.died
  ])
  process.stdout.write(`\n${why}: tearing down\n`)
  await c.down()
}

async function demo (client: KubeClient, state: ClusterState): Promise<void> {
  await client.create({ group: 'apps', version: 'v1', resource: 'deployments', namespace: 'default' }, {
    metadata: { name: 'echo', labels: { app: 'echo' } },
    spec: { replicas: 3, selector: { matchLabels: { app: 'echo' } }, template: { metadata: { labels: { app: 'echo' } }, spec: { containers: [{ name: 'echo', image: 'weft/echo', ports: [{ containerPort: 8080 }] }] } } }
  })
  const svc = await client.create({ resource: 'services', namespace: 'default' }, {
    metadata: { name: 'echo' }, spec: { type: 'NodePort', selector: { app: 'echo' }, ports: [{ port: 80, targetPort: 8080 }] }
  })
  const until = Date.now() + 60_000
  let pods: Obj[] = []
  while (Date.now() < until) {
    pods = (await client.list({ resource: 'pods', namespace: 'default' }, { labelSelector: 'app=echo' })).items
    if (pods.filter((p) => (p.status as Obj | undefined)?.phase === 'Running' && (p.status as Obj).podIP !== undefined).length >= 3) break
    await new Promise((r) => setTimeout(r, 300))
  }
  const spec = svc.spec as Obj
  const n0 = state.nodes[0] as NodeState
  process.stdout.write('\ndemo: Deployment "echo" (3 × weft/echo) and Service "echo"\n')
  for (const p of pods) process.stdout.write(`  pod ${String((p.metadata as Obj).name)}  ${String((p.status as Obj | undefined)?.podIP ?? '<pending>')}  on ${String((p.spec as Obj).nodeName ?? '<unscheduled>')}\n`)
  const first = pods.find((p) => (p.status as Obj | undefined)?.podIP !== undefined)
  if (first !== undefined) process.stdout.write(`  a pod by its IP:   ip netns exec ${n0.ns} curl -s http://${String((first.status as Obj).podIP)}:8080/\n`)
  process.stdout.write(`  the ClusterIP:     ip netns exec ${n0.ns} curl -s http://${String(spec.clusterIP)}/   (needs weft proxy on the node)\n`)
  process.stdout.write(`  the NodePort:      curl -s http://${n0.ip}:${String(((spec.ports as Obj[])[0] as Obj).nodePort)}/\n`)
}
