/**
 * A one-node cluster for the kubelet e2e tests: an in-process API server on a
 * host-side veth address (10.77.x.1/30), a node namespace behind the veth
 * (10.77.x.2), a node token and kubeconfig, and `weft kubelet` run in the node
 * namespace with `ip netns exec`. Everything is torn down by the test's
 * teardown, also on failure: the kubelet (SIGTERM, then SIGKILL), any pod
 * process and `wtp-*` namespace it recorded, the node namespace (taking the
 * veth pair with it), the API server.
 */
import type { ExecutionContext } from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { threadId } from 'node:worker_threads'
import { execa } from 'execa'
import { pino } from 'pino'
import { LinuxNetNS } from '../../kernel/index.js'
import { ensureUserToken, readKubeconfig, startApiserver, tokenFilePath, writeKubeconfig } from '../../control/apiserver/index.js'
import { KubeClient } from '../../control/client/index.js'
import type { Obj } from '../../control/client/index.js'
import { killSandboxProcesses } from '../../control/kubelet/index.js'
import { repoRoot, requireRoot, sandbox, weftCniDir } from '../harness/index.js'
import type { Sandbox } from '../harness/index.js'

let counter = 0
/**
 * ava runs test files as worker threads of one process: the pid is shared, so
 * host-side addresses and link names also carry the thread id.
 */
const unit = (process.pid * 7 + threadId) % 250

export interface NodeCluster {
  sb: Sandbox
  node: string
  nodeName: string
  nodeIp: string
  admin: KubeClient
  rootDir: string
  confDir: string
  podCidr: string
  kubeletArgs: string[]
  /** The kubelet's stderr so far (pino JSON lines). */
  log: () => string
  writeConflist: () => void
  /** SIGTERM (the kubelet stops its pods) or SIGKILL (it leaves them behind). */
  stopKubelet: (signal?: 'SIGTERM' | 'SIGKILL') => Promise<void>
  /** Starts the kubelet again with the same flags. */
  startKubelet: () => void
  api: { url: string, caCertPem: string, dir: string, hostIp: string }
}

export async function sleep (ms: number): Promise<void> { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** Polls `fn` until it returns something other than undefined/false. */
export async function until<T> (what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < end) {
    try {
      const v = await fn()
      if (v !== undefined && v !== false) return v
    } catch (e) { last = e }
    await sleep(everyMs)
  }
  throw new Error(`timed out waiting for ${what}${last !== undefined ? ` (last error: ${(last as Error).message})` : ''}`)
}

export function conflist (name: string, podCidr: string, dataDir: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name,
    plugins: [
      { type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: false, hairpinMode: true, ipam: { type: 'host-local', ranges: [[{ subnet: podCidr }]], dataDir } },
      { type: 'portmap', capabilities: { portMappings: true } }
    ]
  }, null, 2)
}

/** The server re-reads tokens.csv about once a second (later on a loaded machine): wait until the token works. */
async function tokenLive (kubeconfig: string): Promise<void> {
  const client = await KubeClient.fromKubeconfig(kubeconfig)
  try {
    await until('the node token accepted', async () => {
      try { await client.list({ resource: 'nodes' }); return true } catch (e) { if ((e as { status?: number }).status === 401) return false; throw e }
    }, 20_000, 100)
  } finally { client.close() }
}

export async function nodeCluster (t: ExecutionContext, opts: { label: string, withCni?: boolean, extraArgs?: string[], staticPodPath?: string }): Promise<NodeCluster> {
  requireRoot()
  const sb = sandbox(t, opts.label)
  const node = sb.ns('node')
  // Host-side /30s: the third octet from the process, the fourth from a per-process counter.
  const x = counter++ % 60
  const hostIp = `10.77.${unit}.${4 * x + 1}`
  const nodeIp = `10.77.${unit}.${4 * x + 2}`
  const podCidr = `10.78.${x}.0/24`
  // veth: host end in this namespace, eth0 in the node (deleting the node namespace deletes both ends).
  const netns = new LinuxNetNS()
  const host = netns.netlink()
  const fd = sb.openNsFd(node)
  const hostLink = `wtk${unit.toString(36)}t${threadId.toString(36)}x${x.toString(36)}`.slice(0, 15)
  try {
    host.addVeth({ name: hostLink, peerName: 'eth0', peerNetnsFd: fd })
    const l = host.linkByName(hostLink)
    if (l === undefined) throw new Error('host veth missing')
    host.addAddress(l.index, `${hostIp}/30`)
    host.setLink(l.index, { up: true })
  } finally { host.close(); sb.closeNsFd(fd) }
  const nl = sb.netlink(node)
  try {
    const eth0 = nl.linkByName('eth0')
    if (eth0 === undefined) throw new Error('node eth0 missing')
    nl.addAddress(eth0.index, `${nodeIp}/30`)
    nl.setLink(eth0.index, { up: true })
  } finally { nl.close() }

  const apiDir = path.join(sb.dir, 'api')
  fs.mkdirSync(apiDir)
  const api = await startApiserver({
    securePort: 0, bindAddress: hostIp, dataDir: apiDir, storageBackend: 'memory',
    serviceClusterIpRange: '10.96.0.0/12', serviceNodePortRange: '30000-32767', etcdCompactionInterval: 0, logLevel: 'silent'
  }, pino({ level: 'silent' }))
  t.teardown(async () => { await api.stop() })
  const admin = await KubeClient.fromKubeconfig(api.kubeconfig)
  t.teardown(() => { admin.close() })
  const nodeName = `n-${opts.label}`
  const { token } = await ensureUserToken(tokenFilePath(apiDir), { name: `system:node:${nodeName}`, groups: ['system:nodes'] })
  const cfg = await readKubeconfig(api.kubeconfig)
  const kubeconfig = path.join(sb.dir, 'node.kubeconfig')
  await writeKubeconfig(kubeconfig, { server: api.url, caCertPem: cfg.caCertPem as string, token, user: `system:node:${nodeName}`, cluster: 'weft' })
  await tokenLive(kubeconfig)

  const rootDir = path.join(sb.dir, 'kubelet')
  const confDir = path.join(sb.dir, 'net.d')
  fs.mkdirSync(confDir)
  const writeConflist = (): void => { fs.writeFileSync(path.join(confDir, '10-weft.conflist'), conflist(`weft-${opts.label}`, podCidr, path.join(sb.dir, 'ipam'))) }
  if (opts.withCni !== false) writeConflist()
  const kubeletArgs = [
    'kubelet', '--kubeconfig', kubeconfig, '--hostname-override', nodeName, '--node-ip', nodeIp, '--root-dir', rootDir,
    '--cni-conf-dir', confDir, '--cni-bin-dir', weftCniDir, '--log-level', 'debug',
    ...(opts.staticPodPath !== undefined ? ['--static-pod-path', opts.staticPodPath] : []),
    ...(opts.extraArgs ?? [])
  ]
  const k = kubeletProcess(t, sb, node, kubeletArgs, rootDir)
  const stopKubelet = k.stop
  const startKubelet = k.start
  const c: NodeCluster = { sb, node, nodeName, nodeIp, admin, rootDir, confDir, podCidr, kubeletArgs, log: k.log, writeConflist, stopKubelet, startKubelet, api: { url: api.url, caCertPem: cfg.caCertPem as string, dir: apiDir, hostIp } }
  // Registered (and Ready when it has a network) before the test goes on.
  await until('the node registered', async () => {
    const n = await getNode(c)
    return n !== undefined && condition(n, 'Ready')?.status === (opts.withCni === false ? 'False' : 'True')
  }, 20_000)
  return c
}

/** `weft kubelet` in a node namespace, stopped (and whatever it left removed) by the test's teardown. */
function kubeletProcess (t: ExecutionContext, sb: Sandbox, node: string, kubeletArgs: string[], rootDir: string): { stop: (signal?: 'SIGTERM' | 'SIGKILL') => Promise<void>, start: () => void, log: () => string } {
  const netns = new LinuxNetNS()
  let stderr = ''
  const spawnKubelet = () => { // eslint-disable-line @typescript-eslint/explicit-function-return-type
    const ch = execa('ip', ['netns', 'exec', sb.nameOf(node), process.execPath, path.join(repoRoot, 'bin', 'weft'), ...kubeletArgs], { reject: false, buffer: false, stdout: 'ignore', stderr: 'pipe' })
    ch.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
    return ch
  }
  let child: ReturnType<typeof spawnKubelet> | undefined = spawnKubelet()
  const stopKubelet = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> => {
    const ch = child
    if (ch === undefined) return
    child = undefined
    ch.kill(signal)
    const timer = setTimeout(() => { ch.kill('SIGKILL') }, 15_000)
    await ch
    clearTimeout(timer)
  }
  const startKubelet = (): void => { if (child === undefined) child = spawnKubelet() }
  t.teardown(async () => {
    await stopKubelet()
    // Whatever a killed kubelet could not tear down.
    const dir = path.join(rootDir, 'sandboxes')
    for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      try {
        const r = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { id: string, netns: string }
        killSandboxProcesses(r.id)
        if (r.netns !== '' && netns.exists(netns.pathOf(r.netns))) netns.remove(r.netns)
      } catch { /* keep going */ }
    }
    if (!t.passed) t.log(stderr.split('\n').filter((l) => !l.includes('"level":20')).slice(-60).join('\n'))
  })
  return { stop: stopKubelet, start: startKubelet, log: () => stderr }
}

/** Another node (namespace, veth to the host, kubelet) of the same cluster; it reaches the API server through a /32 route. */
export async function addNode (t: ExecutionContext, c: NodeCluster, i: number, extraArgs: string[] = []): Promise<{ node: string, nodeName: string, nodeIp: string, rootDir: string, stop: (signal?: 'SIGTERM' | 'SIGKILL') => Promise<void> }> {
  const x = counter++ % 60
  const hostSide = `10.79.${unit}.${4 * x + 1}`
  const nodeIp = `10.79.${unit}.${4 * x + 2}`
  const node = c.sb.ns(`node${i}`)
  const host = new LinuxNetNS().netlink()
  const fd = c.sb.openNsFd(node)
  const hostLink = `wtk${unit.toString(36)}t${threadId.toString(36)}x${x.toString(36)}`.slice(0, 15)
  try {
    host.addVeth({ name: hostLink, peerName: 'eth0', peerNetnsFd: fd })
    const l = host.linkByName(hostLink)
    if (l === undefined) throw new Error('host veth missing')
    host.addAddress(l.index, `${hostSide}/30`)
    host.setLink(l.index, { up: true })
  } finally { host.close(); c.sb.closeNsFd(fd) }
  const nl = c.sb.netlink(node)
  try {
    const eth0 = nl.linkByName('eth0')
    if (eth0 === undefined) throw new Error('node eth0 missing')
    nl.addAddress(eth0.index, `${nodeIp}/30`)
    nl.setLink(eth0.index, { up: true })
    nl.addRoute({ family: 4, dst: `${c.api.hostIp}/32`, gw: hostSide, dev: eth0.index })
  } finally { nl.close() }
  const nodeName = `${c.nodeName}-${i}`
  const { token } = await ensureUserToken(tokenFilePath(c.api.dir), { name: `system:node:${nodeName}`, groups: ['system:nodes'] })
  const kubeconfig = path.join(c.sb.dir, `node${i}.kubeconfig`)
  await writeKubeconfig(kubeconfig, { server: c.api.url, caCertPem: c.api.caCertPem, token, user: `system:node:${nodeName}`, cluster: 'weft' })
  await tokenLive(kubeconfig)
  const rootDir = path.join(c.sb.dir, `kubelet${i}`)
  const confDir = path.join(c.sb.dir, `net${i}.d`)
  fs.mkdirSync(confDir)
  fs.writeFileSync(path.join(confDir, '10-weft.conflist'), conflist(`weft-n${i}`, `10.${80 + i}.${x}.0/24`, path.join(c.sb.dir, `ipam${i}`)))
  const args = ['kubelet', '--kubeconfig', kubeconfig, '--hostname-override', nodeName, '--node-ip', nodeIp, '--root-dir', rootDir, '--cni-conf-dir', confDir, '--cni-bin-dir', weftCniDir, '--log-level', 'debug', ...extraArgs]
  const k = kubeletProcess(t, c.sb, node, args, rootDir)
  await until(`node ${nodeName} Ready`, async () => {
    try { return condition(await c.admin.get({ resource: 'nodes', name: nodeName }), 'Ready')?.status === 'True' } catch { return false }
  }, 20_000)
  return { node, nodeName, nodeIp, rootDir, stop: k.stop }
}

export async function getNode (c: NodeCluster): Promise<Obj | undefined> {
  try { return await c.admin.get({ resource: 'nodes', name: c.nodeName }) } catch { return undefined }
}

export function condition (o: Obj, type: string): Obj | undefined {
  return (((o.status as Obj | undefined)?.conditions ?? []) as Obj[]).find((x) => x.type === type)
}

export function pod (name: string, nodeName: string, containers: Obj[], spec: Obj = {}): Obj {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName, containers, terminationGracePeriodSeconds: 5, ...spec } }
}
