/**
 * The overlay with flannel's kube subnet manager: `weft apiserver` in the
 * underlay namespace, Node objects with podCIDRs (as node IPAM gives them),
 * one `weft vxland --kube-subnet-mgr` per host, pods attached with our flannel
 * plugin. Leases come from the Nodes; the agents publish flannel's
 * annotations; a deleted Node is cleaned from the others.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { execa } from 'execa'
import type { ResultPromise } from 'execa'
import { repoRoot, requireRoot, sandbox, underlayTopology } from '../harness/index.js'
import type { Host, Sandbox } from '../harness/index.js'
type Obj = Record<string, unknown>

const nsName = (p: string): string => path.basename(p)

async function until (what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const start = Date.now()
  for (;;) {
    if (await fn()) return
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

function bg (t: ExecutionContext, argv: string[], env: Record<string, string> = {}, log?: string[]): ResultPromise {
  const p = execa(argv[0] as string, argv.slice(1), { reject: false, buffer: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', env }) as unknown as ResultPromise
  p.stderr?.on('data', (d: Buffer) => { log?.push(d.toString()) })
  t.teardown(async () => { p.kill('SIGKILL'); await p })
  return p
}

test('[kernel] kube subnet manager: leases from Node podCIDRs, flannel annotations published, pods talk across hosts, a deleted Node is cleaned up', async (t) => {
  requireRoot()
  const sb: Sandbox = sandbox(t, 'vk')
  const topo = await underlayTopology(sb, { hosts: 3 })
  const gw = topo.gateways[0] as string
  const dataDir = path.join(sb.dir, 'api')
  const apiLog: string[] = []
  bg(t, ['ip', 'netns', 'exec', nsName(topo.underlay), process.execPath, path.join(repoRoot, 'bin', 'weft'), 'apiserver', '--data-dir', dataDir,
    '--bind-address', gw, '--secure-port', '6443', '--storage-backend', 'memory', '--log-level', 'warn'], {}, apiLog)
  const kc = path.join(dataDir, 'admin.kubeconfig')
  await until('the API server', () => fs.existsSync(kc)).catch((e: unknown) => { throw new Error(`${(e as Error).message}\n${apiLog.join('')}`) })
  const netConf = path.join(sb.dir, 'net-conf.json')
  fs.writeFileSync(netConf, JSON.stringify({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } }))
  const hosts = topo.hosts
  const logs: string[][] = hosts.map(() => [])
  const subnetFiles: string[] = []
  hosts.forEach((h: Host) => {
    subnetFiles.push(path.join(sb.dir, h.name, 'subnet.env'))
    fs.mkdirSync(path.join(sb.dir, h.name), { recursive: true })
  })
  // The API server listens in the underlay namespace, which only the hosts reach: kubectl runs in host 1.
  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const r = await execa('ip', ['netns', 'exec', nsName(hosts[0]?.ns as string), '/usr/bin/kubectl', '--kubeconfig', kc, '--cache-dir', path.join(sb.dir, 'kc'), ...args], { reject: false, ...(input !== undefined ? { input } : {}) })
    if (r.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')}: ${String(r.stderr)}`)
    return String(r.stdout)
  }
  await until('API reachable', async () => { try { await kubectl(['get', '--raw', '/readyz']); return true } catch { return false } })
  // Nodes as the kubelet registers them and node IPAM fills in their podCIDRs.
  for (let i = 0; i < hosts.length; i++) {
    await kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${i + 1}` }, spec: { podCIDR: `10.244.${i + 1}.0/24`, podCIDRs: [`10.244.${i + 1}.0/24`] } }))
  }
  const agents: ResultPromise[] = []
  hosts.forEach((h, i) => {
    agents.push(bg(t, ['ip', 'netns', 'exec', nsName(h.ns), process.execPath, path.join(repoRoot, 'bin', 'weft'), 'vxland', '--kube-subnet-mgr', '--kubeconfig-file', kc,
      '--net-config-path', netConf, '--subnet-file', subnetFiles[i] as string, '--resync-ms', '500', '--log-level', 'debug'], { NODE_NAME: `node-${i + 1}` }, logs[i]))
  })
  for (let i = 0; i < hosts.length; i++) {
    await until(`subnet.env of node-${i + 1}`, () => fs.existsSync(subnetFiles[i] as string)).catch((e: unknown) => { throw new Error(`${(e as Error).message}\n${(logs[i] ?? []).join('')}`) })
    t.regex(fs.readFileSync(subnetFiles[i] as string, 'utf8'), new RegExp(`FLANNEL_SUBNET=10\\.244\\.${i + 1}\\.1/24`))
  }
  const n1 = JSON.parse(await kubectl(['get', 'node', 'node-1', '-o', 'json'])) as Obj
  const ann = (n1.metadata as Obj).annotations as Record<string, string>
  t.is(ann['flannel.alpha.coreos.com/backend-type'], 'vxlan')
  t.is(ann['flannel.alpha.coreos.com/kube-subnet-manager'], 'true')
  t.is(ann['flannel.alpha.coreos.com/public-ip'], hosts[0]?.ip)
  t.regex(ann['flannel.alpha.coreos.com/backend-data'] ?? '', /^\{"VNI":1,"VtepMAC":"([0-9a-f]{2}:){5}[0-9a-f]{2}"\}$/)
  // Pods through the flannel plugin, then every pod pings every other.
  const pods: Array<{ ns: string, ip: string }> = []
  for (let i = 0; i < hosts.length; i++) {
    const h = hosts[i] as Host
    const pod = sb.ns(`${h.name}p`)
    const r = await sb.cni({
      plugin: 'flannel', command: 'ADD', hostNs: h.ns, netns: pod, containerId: `pod-${h.name}`,
      conf: { cniVersion: '0.3.1', name: 'cbr0', type: 'flannel', subnetFile: subnetFiles[i], dataDir: path.join(sb.dir, h.name, 'flannel'), ipam: { dataDir: path.join(sb.dir, h.name, 'ipam') }, delegate: { hairpinMode: true, isDefaultGateway: true } }
    })
    t.is(r.exitCode, 0, r.stdout + r.stderr)
    pods.push({ ns: pod, ip: ((r.json?.ips as Array<{ address: string }>)[0]?.address ?? '').split('/')[0] as string })
  }
  for (const a of pods) {
    for (const b of pods) {
      if (a === b) continue
      await until(`${nsName(a.ns)} → ${b.ip}`, async () => (await sb.exec(a.ns, 'ping', ['-c', '1', '-W', '1', b.ip], { reject: false })).exitCode === 0, 10_000)
    }
  }
  // Deleting node-3's Node removes its route, neighbour and fdb entry from node-1 within 2 s.
  await kubectl(['delete', 'node', 'node-3'])
  await until('node-3 cleaned from node-1', async () => !(await sb.exec(hosts[0]?.ns as string, 'ip', ['route', 'show', 'dev', 'flannel.1'])).stdout.includes('10.244.3.0/24'), 4000)
  t.pass()
})
