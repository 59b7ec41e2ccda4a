/**
 * flannel, end to end: the built binary (bin/cni/flannel) exec'd in a node
 * namespace as a runtime would, delegating to our bridge and host-local found
 * along CNI_PATH. subnet.env, the saved delegate configs and the host-local
 * store all live under the sandbox's temp dir.
 *
 * flannel's own plugin is not installed here, so the yardstick is the
 * documented behaviour (reference notes 3.7) and our bridge run directly with
 * the delegate config flannel documents: same result, same kernel state.
 *
 * Address plan: cluster network 10.244.0.0/16, this node's lease
 * 10.244.1.0/24 (subnet.env says 10.244.1.1/24), MTU 1450.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { kernelState, requireRoot, sandbox, weftCniDir } from '../harness/index.js'
import type { CniOutcome, Sandbox } from '../harness/index.js'
import { CniRuntime } from '../../cni/runtime/index.js'

const SUBNET_ENV = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n'

interface Env {
  sb: Sandbox
  subnetFile: string
  dataDir: string
  ipamDir: string
  conf: (version: string, extra?: Record<string, unknown>) => Record<string, unknown>
}

/** `subnetEnv` null: the agent has not written the file yet. */
function env (t: ExecutionContext, label: string, subnetEnv: string | null = SUBNET_ENV): Env {
  const sb = sandbox(t, label)
  const subnetFile = path.join(sb.dir, 'run', 'flannel', 'subnet.env')
  const dataDir = path.join(sb.dir, 'lib', 'flannel')
  const ipamDir = path.join(sb.dir, 'lib', 'networks')
  if (subnetEnv !== null) {
    fs.mkdirSync(path.dirname(subnetFile), { recursive: true })
    fs.writeFileSync(subnetFile, subnetEnv)
  }
  // The stock manifest's plugin entry, with the node's files moved into the sandbox.
  const conf = (version: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    cniVersion: version,
    name: 'cbr0',
    type: 'flannel',
    delegate: { hairpinMode: true, isDefaultGateway: true },
    subnetFile,
    dataDir,
    ipam: { dataDir: ipamDir },
    ...extra
  })
  return { sb, subnetFile, dataDir, ipamDir, conf }
}

async function flannel (e: Env, command: 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC', conf: unknown, pod: string, containerId = 'cid1'): Promise<CniOutcome> {
  return await e.sb.cni({ plugin: 'flannel', command, conf, netns: pod, containerId, cniPath: weftCniDir })
}

function reservations (e: Env): string[] {
  try {
    return fs.readdirSync(path.join(e.ipamDir, 'cbr0')).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip')).sort()
  } catch { return [] }
}

function saved (e: Env, id = 'cid1'): string | undefined {
  try { return fs.readFileSync(path.join(e.dataDir, id), 'utf8') } catch { return undefined }
}

/** The delegate flannel documents for the stock manifest, plus the sandbox's host-local dataDir. */
function stockDelegate (e: Env, version: string): string {
  return `{"cniVersion":"${version}","hairpinMode":true,"ipMasq":false,` +
    `"ipam":{"dataDir":${JSON.stringify(e.ipamDir)},"ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},` +
    '"isDefaultGateway":true,"isGateway":true,"mtu":1450,"name":"cbr0","type":"bridge"}'
}

/** Random parts out: MACs, generated host veth names, netns paths. */
function normalise (r: Record<string, unknown> | undefined): unknown {
  return JSON.parse(JSON.stringify(r ?? {})
    .replace(/"([0-9a-f]{2}:){5}[0-9a-f]{2}"/g, '"<mac>"')
    .replace(/veth[0-9a-f]{8}/g, 'veth<host>')
    .replace(/\/run\/netns\/[A-Za-z0-9_.-]+/g, '<netns>'))
}

function expectedResult (version: string): unknown {
  const old = version !== '1.0.0'
  return {
    cniVersion: version,
    interfaces: [{ name: 'cni0', mac: '<mac>' }, { name: 'veth<host>', mac: '<mac>' }, { name: 'eth0', mac: '<mac>', sandbox: '<netns>' }],
    ips: [{ ...(old ? { version: '4' } : {}), interface: 2, address: '10.244.1.2/24', gateway: '10.244.1.1' }],
    routes: [{ dst: '10.244.0.0/16' }, { dst: '0.0.0.0/0', gw: '10.244.1.1' }],
    dns: {}
  }
}

for (const version of ['0.3.1', '0.4.0', '1.0.0']) {
  test(`[kernel] flannel ADD at cniVersion ${version}: the bridge result from FLANNEL_SUBNET, MTU 1450, cluster and default routes, same as bridge run with flannel's delegate`, async (t) => {
    requireRoot()
    const e = env(t, 'add')
    const pod = e.sb.ns('pod')
    const out = await flannel(e, 'ADD', e.conf(version), pod)
    t.is(out.exitCode, 0, out.stdout + out.stderr)
    t.deepEqual(normalise(out.json), expectedResult(version))

    const node = await kernelState(e.sb, e.sb.node, { iptables: true })
    const inPod = await kernelState(e.sb, pod)
    t.regex(node, /^link cni0 kind=bridge mtu=1450 up=true/m)
    t.regex(node, /^addr cni0 10\.244\.1\.1\/24 /m)
    t.regex(node, /^link veth<host> kind=veth mtu=1450 up=true promisc=false master=cni0 hairpin=true$/m)
    t.notRegex(node, /CNI-[0-9a-f]{24}/, 'no per-pod masquerade: FLANNEL_IPMASQ=true means flanneld does it')
    t.regex(inPod, /^link eth0 kind=veth mtu=1450 up=true/m)
    t.regex(inPod, /^addr eth0 10\.244\.1\.2\/24 /m)
    t.regex(inPod, /^route 10\.244\.0\.0\/16 via 10\.244\.1\.1 dev=eth0/m)
    t.regex(inPod, /^route 0\.0\.0\.0\/0 via 10\.244\.1\.1 dev=eth0/m)
    t.is((await e.sb.exec(pod, 'ping', ['-c', '1', '-W', '2', '10.244.1.1'], { reject: false })).exitCode, 0, 'pod → gateway')

    // The yardstick: our bridge given the delegate config flannel documents, in a sandbox of its own.
    const ref = env(t, 'ref')
    const refPod = ref.sb.ns('pod')
    const direct = await ref.sb.cni({ plugin: 'bridge', command: 'ADD', conf: stockDelegate(ref, version), netns: refPod, containerId: 'cid1' })
    t.is(direct.exitCode, 0, direct.stdout)
    t.deepEqual(normalise(out.json), normalise(direct.json))
    t.is(node, await kernelState(ref.sb, ref.sb.node, { iptables: true }))
    t.is(inPod, await kernelState(ref.sb, refPod))

    const d = await flannel(e, 'DEL', e.conf(version), pod)
    t.is(d.exitCode, 0, d.stdout)
    t.deepEqual(reservations(e), [])
  })
}

test('[kernel] the saved delegate config: flannel\'s JSON byte for byte, file 0600 in a 0700 directory, written before the delegate ran', async (t) => {
  requireRoot()
  const e = env(t, 'saved')
  const pod = e.sb.ns('pod')
  const out = await flannel(e, 'ADD', e.conf('0.3.1'), pod)
  t.is(out.exitCode, 0, out.stdout)
  t.is(saved(e), stockDelegate(e, '0.3.1'))
  t.is(fs.statSync(path.join(e.dataDir, 'cid1')).mode & 0o777, 0o600)
  t.is(fs.statSync(e.dataDir).mode & 0o777, 0o700)
  t.deepEqual(fs.readdirSync(e.dataDir), ['cid1'])

  // Written before the delegate ran: a delegate ADD that fails finds it there, and the undo DEL removes it.
  const pod2 = e.sb.ns('pod2')
  await e.sb.exec(pod2, 'ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other0'])
  const clash = await flannel(e, 'ADD', e.conf('0.3.1'), pod2, 'cid2')
  t.is(clash.json?.code, 102, clash.stdout)
  t.is(saved(e, 'cid2'), stockDelegate(e, '0.3.1'), 'kept: the existing eth0 is not ours to tear down')
  t.deepEqual(reservations(e), ['10.244.1.2'])
  t.regex(await kernelState(e.sb, pod2), /^link eth0 kind=veth/m)
})

test('[kernel] a failed ADD is undone: the bridge fault hook fails the delegate, its DEL runs, nothing stays', async (t) => {
  requireRoot()
  const e = env(t, 'undo')
  const pod = e.sb.ns('pod')
  const out = await e.sb.cni({ plugin: 'flannel', command: 'ADD', conf: e.conf('1.0.0'), netns: pod, containerId: 'cid1', cniPath: weftCniDir, extraEnv: { WEFT_CNI_TEST_FAULT: 'gateway' } })
  t.is(out.exitCode, 1, out.stdout)
  t.is(saved(e), undefined)
  t.deepEqual(reservations(e), [])
  t.false((await kernelState(e.sb, e.sb.node)).includes('veth<host>'))
})

test('[kernel] DEL twice: the pod\'s veth, its address and the saved file are gone, and the second DEL succeeds', async (t) => {
  requireRoot()
  const e = env(t, 'del2')
  const pod = e.sb.ns('pod')
  t.is((await flannel(e, 'ADD', e.conf('0.3.1'), pod)).exitCode, 0)
  t.deepEqual(reservations(e), ['10.244.1.2'])
  for (let i = 0; i < 2; i++) {
    const d = await flannel(e, 'DEL', e.conf('0.3.1'), pod)
    t.is(d.exitCode, 0, `DEL ${i + 1}: ${d.stdout}`)
  }
  t.deepEqual(reservations(e), [])
  t.is(saved(e), undefined)
  t.false((await kernelState(e.sb, e.sb.node)).includes('veth<host>'))
  t.false((await kernelState(e.sb, pod)).includes('link eth0'))
})

test('[kernel] DEL with the saved file deleted still releases the IP and removes the veth (flannel\'s plugin leaks both)', async (t) => {
  requireRoot()
  const e = env(t, 'nosave')
  const pod = e.sb.ns('pod')
  t.is((await flannel(e, 'ADD', e.conf('0.3.1'), pod)).exitCode, 0)
  fs.rmSync(path.join(e.dataDir, 'cid1'))
  const d = await flannel(e, 'DEL', e.conf('0.3.1'), pod)
  t.is(d.exitCode, 0, d.stdout)
  t.deepEqual(reservations(e), [])
  t.false((await kernelState(e.sb, e.sb.node)).includes('veth<host>'))
})

test('[kernel] DEL with the saved file and subnet.env both deleted (a rebooted node) still releases the IP', async (t) => {
  requireRoot()
  const e = env(t, 'reboot')
  const pods = [e.sb.ns('pa'), e.sb.ns('pb')]
  for (const [i, pod] of pods.entries()) t.is((await flannel(e, 'ADD', e.conf('0.3.1'), pod, `cid${i}`)).exitCode, 0)
  t.deepEqual(reservations(e), ['10.244.1.2', '10.244.1.3'])
  fs.rmSync(path.join(e.dataDir, 'cid0'))
  fs.rmSync(e.subnetFile)
  const d = await flannel(e, 'DEL', e.conf('0.3.1'), pods[0] as string, 'cid0')
  t.is(d.exitCode, 0, d.stdout)
  t.deepEqual(reservations(e), ['10.244.1.3'], 'cid0 released, cid1 untouched')
  t.is((await flannel(e, 'DEL', e.conf('0.3.1'), '', 'cid0')).exitCode, 0, 'again, without CNI_NETNS')
})

test('[kernel] DEL with the netns gone releases the IP, twice, with and without CNI_NETNS', async (t) => {
  requireRoot()
  const e = env(t, 'nons')
  const pod = e.sb.ns('pod')
  t.is((await flannel(e, 'ADD', e.conf('1.0.0'), pod)).exitCode, 0)
  e.sb.removeNs(pod)
  const d = await flannel(e, 'DEL', e.conf('1.0.0'), pod)
  t.is(d.exitCode, 0, d.stdout)
  t.deepEqual(reservations(e), [])
  t.is(saved(e), undefined)
  t.is((await flannel(e, 'DEL', e.conf('1.0.0'), '')).exitCode, 0)
})

test('[kernel] ADD before the overlay agent wrote subnet.env: code 11 naming the file, nothing created', async (t) => {
  requireRoot()
  const e = env(t, 'noenv', null)
  const pod = e.sb.ns('pod')
  const before = await kernelState(e.sb, e.sb.node, { iptables: true })
  const out = await flannel(e, 'ADD', e.conf('1.0.0'), pod)
  t.is(out.json?.code, 11, out.stdout)
  t.true(String(out.json?.msg).includes(e.subnetFile))
  t.is(await kernelState(e.sb, e.sb.node, { iptables: true }), before)
  t.false(fs.existsSync(e.dataDir))
})

test('[kernel] CHECK passes after ADD and fails once the pod lost its address', async (t) => {
  requireRoot()
  const e = env(t, 'check')
  const pod = e.sb.ns('pod')
  const add = await flannel(e, 'ADD', e.conf('1.0.0'), pod)
  t.is(add.exitCode, 0, add.stdout)
  const conf = e.conf('1.0.0', { prevResult: add.json })
  const ok = await flannel(e, 'CHECK', conf, pod)
  t.is(ok.exitCode, 0, ok.stdout)
  await e.sb.exec(pod, 'ip', ['addr', 'flush', 'dev', 'eth0'])
  const bad = await flannel(e, 'CHECK', conf, pod)
  t.is(bad.json?.code, 110, bad.stdout)
})

test('[kernel] STATUS is 50 without subnet.env and 0 with it; GC releases the addresses and saved files of gone containers', async (t) => {
  requireRoot()
  const e = env(t, 'gc', null)
  const conf = e.conf('1.1.0')
  const notReady = await e.sb.cni({ plugin: 'flannel', command: 'STATUS', conf, cniPath: weftCniDir })
  t.is(notReady.json?.code, 50, notReady.stdout)
  fs.mkdirSync(path.dirname(e.subnetFile), { recursive: true })
  fs.writeFileSync(e.subnetFile, SUBNET_ENV)
  const ready = await e.sb.cni({ plugin: 'flannel', command: 'STATUS', conf, cniPath: weftCniDir })
  t.is(ready.exitCode, 0, ready.stdout)

  const pods = [e.sb.ns('pa'), e.sb.ns('pb')]
  for (const [i, pod] of pods.entries()) t.is((await flannel(e, 'ADD', conf, pod, `cid${i}`)).exitCode, 0)
  const gc = await e.sb.cni({ plugin: 'flannel', command: 'GC', conf: { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'cid1', ifname: 'eth0' }] }, cniPath: weftCniDir })
  t.is(gc.exitCode, 0, gc.stdout)
  t.deepEqual(reservations(e), ['10.244.1.3'])
  t.deepEqual(fs.readdirSync(e.dataDir), ['cid1'])
})

test('[kernel] the stock flannel conflist (flannel + portmap) through the runtime: ADD wires the pod and its port mapping, DEL removes everything', async (t) => {
  requireRoot()
  const e = env(t, 'list')
  const pod = e.sb.ns('pod')
  const list = {
    name: 'cbr0',
    cniVersion: '0.3.1',
    plugins: [
      { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true }, subnetFile: e.subnetFile, dataDir: e.dataDir, ipam: { dataDir: e.ipamDir } },
      { type: 'portmap', capabilities: { portMappings: true } }
    ]
  }
  const rt = new CniRuntime({ binDirs: [weftCniDir], cacheDir: path.join(e.sb.dir, 'cache'), execPrefix: ['ip', 'netns', 'exec', e.sb.nameOf(e.sb.node)] })
  const a = { containerId: 'cid1', netns: pod, ifName: 'eth0', capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] } }
  const result = await rt.add(list, a)
  t.deepEqual(normalise(result as Record<string, unknown>), expectedResult('0.3.1'))
  const nat = (await e.sb.exec(e.sb.node, 'iptables-save', ['-t', 'nat'])).stdout
  t.regex(nat, /--dport 8080 .*-j DNAT --to-destination 10\.244\.1\.2:80/)
  t.is((await e.sb.exec(e.sb.node, 'ping', ['-c', '1', '-W', '2', '10.244.1.2'], { reject: false })).exitCode, 0, 'node → pod over cni0')

  await rt.del(list, a)
  t.deepEqual(reservations(e), [])
  t.is(saved(e), undefined)
  const after = await kernelState(e.sb, e.sb.node, { iptables: true })
  t.false(after.includes('veth<host>'), after)
  t.false(after.includes('8080'), after)
})
