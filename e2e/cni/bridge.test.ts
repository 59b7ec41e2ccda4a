/**
 * bridge + host-local, ours against the Go reference plugins on identical
 * configs in separate sandboxes: same result JSON (modulo random MACs and veth
 * names), same kernel state in the node and the pod, same iptables rules.
 */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { kernelState, requireReference, requireRoot, sandbox } from '../harness/index.js'
import type { Impl, Sandbox } from '../harness/index.js'

function bridgeConf (sb: Sandbox, version: string, extra: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: version,
    name: 'testnet',
    type: 'bridge',
    bridge: 'cni0',
    isGateway: true,
    ipMasq: true,
    mtu: 1400,
    hairpinMode: true,
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: '10.88.0.0/24' }]],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '192.0.2.0/24', gw: '10.88.0.254' }],
      dataDir: path.join(sb.dir, 'ipam'),
      ...ipam
    },
    ...extra
  }
}

/** Random parts out: MACs, generated host veth names, sandbox paths. */
function normalise (r: Record<string, unknown> | undefined): unknown {
  return JSON.parse(JSON.stringify(r ?? {})
    .replace(/"([0-9a-f]{2}:){5}[0-9a-f]{2}"/g, '"<mac>"')
    .replace(/veth[0-9a-f]{8}/g, 'veth<host>')
    .replace(/\/run\/netns\/[A-Za-z0-9_.-]+/g, '<netns>'))
}

function ipamFiles (sb: Sandbox, net = 'testnet'): string[] {
  try {
    return fs.readdirSync(path.join(sb.dir, 'ipam', net)).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip')).sort()
  } catch { return [] }
}

async function addPod (sb: Sandbox, impl: Impl, conf: unknown, id: string, pod?: string): Promise<{ pod: string, out: Awaited<ReturnType<Sandbox['cni']>> }> {
  const p = pod ?? sb.ns(`p-${id}`)
  const out = await sb.cni({ impl, plugin: 'bridge', command: 'ADD', conf, netns: p, containerId: id })
  return { pod: p, out }
}

for (const version of ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0']) {
  test(`[kernel] bridge ADD matches the reference at cniVersion ${version}: result, node and pod state, iptables`, async (t) => {
    requireRoot(); requireReference()
    const state: Record<Impl, { result: unknown, node: string, pod: string }> = {} as never
    for (const impl of ['weft', 'ref'] as const) {
      const sb = sandbox(t, impl)
      const { pod, out } = await addPod(sb, impl, bridgeConf(sb, version), 'cid1')
      t.is(out.exitCode, 0, `${impl}: ${out.stdout}${out.stderr}`)
      state[impl] = {
        result: normalise(out.json),
        node: await kernelState(sb, sb.node, { iptables: true }),
        pod: await kernelState(sb, pod)
      }
    }
    t.deepEqual(state.weft.result, state.ref.result)
    t.is(state.weft.node, state.ref.node)
    t.is(state.weft.pod, state.ref.pod)
  })
}

test('[kernel] bridge ADD at cniVersion 1.1.0 (beyond the reference) gives a 1.1 result', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'v11')
  const { out } = await addPod(sb, 'weft', bridgeConf(sb, '1.1.0'), 'cid1')
  t.is(out.exitCode, 0, out.stdout)
  t.is(out.json?.cniVersion, '1.1.0')
  const ips = out.json?.ips as Array<Record<string, unknown>>
  t.deepEqual(ips, [{ interface: 2, address: '10.88.0.2/24', gateway: '10.88.0.1' }])
})

test('[kernel] two pods on one bridge reach each other and their gateway', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'ping')
  const conf = bridgeConf(sb, '1.0.0')
  const a = await addPod(sb, 'weft', conf, 'a')
  const b = await addPod(sb, 'weft', conf, 'b')
  t.is(a.out.exitCode, 0, a.out.stdout)
  t.is(b.out.exitCode, 0, b.out.stdout)
  const bIp = ((b.out.json?.ips as Array<{ address: string }>)[0]?.address ?? '').split('/')[0] ?? ''
  t.is((await sb.exec(a.pod, 'ping', ['-c', '1', '-W', '2', bIp], { reject: false })).exitCode, 0, 'pod a → pod b')
  t.is((await sb.exec(b.pod, 'ping', ['-c', '1', '-W', '2', '10.88.0.1'], { reject: false })).exitCode, 0, 'pod b → gateway')
})

test('[kernel] DEL is idempotent: twice, without prevResult, releases the IP and the masquerade chain', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'del')
  const conf = bridgeConf(sb, '1.0.0')
  const { pod, out } = await addPod(sb, 'weft', conf, 'cid1')
  t.is(out.exitCode, 0, out.stdout)
  t.deepEqual(ipamFiles(sb), ['10.88.0.2'])
  for (let i = 0; i < 2; i++) {
    const d = await sb.cni({ plugin: 'bridge', command: 'DEL', conf, netns: pod, containerId: 'cid1' })
    t.is(d.exitCode, 0, d.stdout)
  }
  t.deepEqual(ipamFiles(sb), [])
  const state = await kernelState(sb, sb.node, { iptables: true })
  t.false(state.includes('veth<host>'), state)
  t.false(/CNI-[0-9a-f]{24}/.test(state), state)
})

test('[kernel] DEL chaos: netns removed, pod link removed, address removed — every DEL succeeds and nothing leaks', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'chaos')
  const conf = bridgeConf(sb, '1.0.0')
  const pods: Array<{ id: string, pod: string, fate: string }> = []
  const fates = ['netns-gone', 'link-gone', 'addr-gone', 'untouched', 'netns-gone', 'link-gone']
  for (const [i, fate] of fates.entries()) {
    const id = `chaos${i}`
    const { pod, out } = await addPod(sb, 'weft', conf, id)
    t.is(out.exitCode, 0, out.stdout)
    pods.push({ id, pod, fate })
  }
  t.is(ipamFiles(sb).length, fates.length)
  for (const p of pods) {
    if (p.fate === 'netns-gone') sb.removeNs(p.pod)
    if (p.fate === 'link-gone') await sb.exec(p.pod, 'ip', ['link', 'del', 'eth0'])
    if (p.fate === 'addr-gone') await sb.exec(p.pod, 'ip', ['addr', 'flush', 'dev', 'eth0'])
  }
  for (const p of pods) {
    const d = await sb.cni({ plugin: 'bridge', command: 'DEL', conf, netns: p.pod, containerId: p.id })
    t.is(d.exitCode, 0, `${p.fate}: ${d.stdout}`)
    const again = await sb.cni({ plugin: 'bridge', command: 'DEL', conf, netns: p.pod, containerId: p.id })
    t.is(again.exitCode, 0, `${p.fate} (again): ${again.stdout}`)
  }
  t.deepEqual(ipamFiles(sb), [])
  const state = await kernelState(sb, sb.node, { iptables: true })
  t.false(state.includes('veth<host>'), state)
  t.false(/CNI-[0-9a-f]{24}/.test(state), `no masquerade chain may leak (the reference leaks them here):\n${state}`)
})

test('[kernel] DEL without CNI_NETNS releases the IP', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'nons')
  const conf = bridgeConf(sb, '1.0.0')
  const { out } = await addPod(sb, 'weft', conf, 'cid1')
  t.is(out.exitCode, 0, out.stdout)
  const d = await sb.cni({ plugin: 'bridge', command: 'DEL', conf, netns: '', containerId: 'cid1' })
  t.is(d.exitCode, 0, d.stdout)
  t.deepEqual(ipamFiles(sb), [])
})

test('[kernel] ADD onto an existing interface name fails clearly and changes nothing', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'exists')
  const conf = bridgeConf(sb, '1.0.0')
  const { pod, out } = await addPod(sb, 'weft', conf, 'cid1')
  t.is(out.exitCode, 0, out.stdout)
  const before = await kernelState(sb, sb.node, { iptables: true })
  const again = await sb.cni({ plugin: 'bridge', command: 'ADD', conf, netns: pod, containerId: 'cid2' })
  t.is(again.exitCode, 1)
  t.is(again.json?.code, 102)
  t.regex(String(again.json?.msg), /already exists/)
  t.is(await kernelState(sb, sb.node, { iptables: true }), before)
  t.deepEqual(ipamFiles(sb), ['10.88.0.2'])
})

const garbage: Array<{ name: string, conf: (sb: Sandbox) => unknown, code: number }> = [
  { name: 'bad JSON', conf: () => '{"cniVersion": "1.0.0", "name": ', code: 6 },
  { name: 'unknown plugin version', conf: (sb) => bridgeConf(sb, '9.9.9'), code: 1 },
  { name: 'bad subnet CIDR', conf: (sb) => bridgeConf(sb, '1.0.0', {}, { ranges: [[{ subnet: '10.88.0.0/33' }]] }), code: 7 },
  { name: 'mtu of the wrong type', conf: (sb) => bridgeConf(sb, '1.0.0', { mtu: 'big' }), code: 7 },
  { name: 'hairpin and promiscuous together', conf: (sb) => bridgeConf(sb, '1.0.0', { promiscMode: true }), code: 7 },
  { name: 'missing network name', conf: (sb) => ({ ...bridgeConf(sb, '1.0.0'), name: undefined }), code: 7 }
]

for (const g of garbage) {
  test(`[kernel] garbage input (${g.name}) gets code ${g.code} and changes nothing on the host`, async (t) => {
    requireRoot()
    const sb = sandbox(t, 'junk')
    const pod = sb.ns('pod')
    const nodeBefore = await kernelState(sb, sb.node, { iptables: true })
    const podBefore = await kernelState(sb, pod)
    const out = await sb.cni({ plugin: 'bridge', command: 'ADD', conf: g.conf(sb), netns: pod, containerId: 'cid1' })
    t.is(out.exitCode, 1, out.stdout)
    t.is(out.json?.code, g.code, out.stdout)
    t.is(typeof out.json?.msg, 'string')
    t.is(await kernelState(sb, sb.node, { iptables: true }), nodeBefore)
    t.is(await kernelState(sb, pod), podBefore)
    t.deepEqual(ipamFiles(sb), [])
  })
}

test('[kernel] an exhausted range fails with code 104 and rolls back the veth and the bridge', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'full')
  // A /30 has exactly one allocatable address besides the gateway.
  const conf = bridgeConf(sb, '1.0.0', {}, { ranges: [[{ subnet: '10.88.0.0/30' }]], routes: [{ dst: '0.0.0.0/0' }] })
  const first = await addPod(sb, 'weft', conf, 'one')
  t.is(first.out.exitCode, 0, first.out.stdout)
  const nodeBefore = await kernelState(sb, sb.node, { iptables: true })
  const pod = sb.ns('two')
  const second = await sb.cni({ plugin: 'bridge', command: 'ADD', conf, netns: pod, containerId: 'two' })
  t.is(second.exitCode, 1)
  t.is(second.json?.code, 104, second.stdout)
  t.is(await kernelState(sb, sb.node, { iptables: true }), nodeBefore)
  t.false((await kernelState(sb, pod)).includes('eth0'))
})

for (const step of ['bridge', 'veth', 'attach', 'ipam', 'configure', 'gateway', 'ipmasq']) {
  test(`[kernel] a failure after step "${step}" rolls back every earlier step`, async (t) => {
    requireRoot()
    const sb = sandbox(t, 'undo')
    const pod = sb.ns('pod')
    const conf = bridgeConf(sb, '1.0.0')
    const nodeBefore = await kernelState(sb, sb.node, { iptables: true })
    const out = await sb.cni({ plugin: 'bridge', command: 'ADD', conf, netns: pod, containerId: 'cid1', extraEnv: { WEFT_CNI_TEST_FAULT: step } })
    t.is(out.exitCode, 1, out.stdout)
    t.regex(String(out.json?.msg), new RegExp(`injected fault at ${step}`))
    t.is(await kernelState(sb, sb.node, { iptables: true }), nodeBefore)
    t.false((await kernelState(sb, pod)).includes('eth0'))
    t.deepEqual(ipamFiles(sb), [])
  })
}

test('[kernel] CHECK passes on a fresh attachment and fails with code 110 once the pod lost its address', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'check')
  const conf = bridgeConf(sb, '1.0.0')
  const { pod, out } = await addPod(sb, 'weft', conf, 'cid1')
  t.is(out.exitCode, 0, out.stdout)
  const withPrev = { ...conf, prevResult: out.json }
  const ok = await sb.cni({ plugin: 'bridge', command: 'CHECK', conf: withPrev, netns: pod, containerId: 'cid1' })
  t.is(ok.exitCode, 0, ok.stdout)
  t.is(ok.stdout, '')
  await sb.exec(pod, 'ip', ['addr', 'flush', 'dev', 'eth0'])
  const bad = await sb.cni({ plugin: 'bridge', command: 'CHECK', conf: withPrev, netns: pod, containerId: 'cid1' })
  t.is(bad.exitCode, 1)
  t.is(bad.json?.code, 110, bad.stdout)
})

test('[kernel] 50 parallel ADDs get 50 distinct IPs, and 50 parallel DELs release them all', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'par')
  const conf = bridgeConf(sb, '1.0.0', { ipMasq: false })
  const pods = Array.from({ length: 50 }, (_, i) => ({ id: `par${i}`, pod: sb.ns(`p${i}`) }))
  const outs = await Promise.all(pods.map((p) => sb.cni({ plugin: 'bridge', command: 'ADD', conf, netns: p.pod, containerId: p.id })))
  for (const o of outs) t.is(o.exitCode, 0, o.stdout)
  const ips = outs.map((o) => (o.json?.ips as Array<{ address: string }>)[0]?.address)
  t.is(new Set(ips).size, 50)
  t.is(ipamFiles(sb).length, 50)
  const dels = await Promise.all(pods.map((p) => sb.cni({ plugin: 'bridge', command: 'DEL', conf, netns: p.pod, containerId: p.id })))
  for (const d of dels) t.is(d.exitCode, 0, d.stdout)
  t.deepEqual(ipamFiles(sb), [])
})

test('[kernel] GC removes masquerade chains and reservations of attachments that are gone', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'gc')
  const conf = bridgeConf(sb, '1.1.0')
  const keep = await addPod(sb, 'weft', conf, 'keep')
  const lost = await addPod(sb, 'weft', conf, 'lost')
  t.is(keep.out.exitCode, 0, keep.out.stdout)
  t.is(lost.out.exitCode, 0, lost.out.stdout)
  // The runtime lost track of "lost" (say, a reboot): only "keep" is valid.
  const gc = await sb.cni({ plugin: 'bridge', command: 'GC', conf: { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] }, netns: '' })
  t.is(gc.exitCode, 0, gc.stdout)
  t.deepEqual(ipamFiles(sb), ['10.88.0.2'])
  const save = (await sb.exec(sb.node, 'iptables-save', ['-t', 'nat'])).stdout
  t.true(save.includes('id: \\"keep\\"'))
  t.false(save.includes('id: \\"lost\\"'), save)
})

test('[kernel] our bridge and the reference take turns on one node', async (t) => {
  requireRoot(); requireReference()
  const sb = sandbox(t, 'turns')
  const conf = bridgeConf(sb, '1.0.0')
  const a = await addPod(sb, 'ref', conf, 'a')
  const b = await addPod(sb, 'weft', conf, 'b')
  t.is(a.out.exitCode, 0, a.out.stdout)
  t.is(b.out.exitCode, 0, b.out.stdout)
  t.deepEqual(ipamFiles(sb), ['10.88.0.2', '10.88.0.3'])
  // Each releases the other's attachment.
  t.is((await sb.cni({ impl: 'weft', plugin: 'bridge', command: 'DEL', conf, netns: a.pod, containerId: 'a' })).exitCode, 0)
  t.is((await sb.cni({ impl: 'ref', plugin: 'bridge', command: 'DEL', conf, netns: b.pod, containerId: 'b' })).exitCode, 0)
  t.deepEqual(ipamFiles(sb), [])
  const state = await kernelState(sb, sb.node, { iptables: true })
  t.false(/CNI-[0-9a-f]{24}/.test(state), state)
  t.false(state.includes('veth<host>'), state)
})

function normaliseNft (s: string): string {
  return s.replace(/ # handle \d+/g, '').replace(/veth[0-9a-f]{8}/g, 'veth<host>').replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, '<mac>').trim()
}

test('[kernel] macspoofchk installs the reference\'s nftables ruleset, drops spoofed frames, and DEL removes it', async (t) => {
  requireRoot(); requireReference()
  const rulesets: Record<string, string> = {}
  for (const impl of ['ref', 'weft'] as const) {
    const sb = sandbox(t, `sp${impl}`)
    const conf = bridgeConf(sb, '1.0.0', { macspoofchk: true, ipMasq: false, hairpinMode: false })
    const { pod, out } = await addPod(sb, impl, conf, 'spoof1')
    t.is(out.exitCode, 0, out.stdout)
    rulesets[impl] = normaliseNft((await sb.exec(sb.node, '/usr/sbin/nft', ['list', 'table', 'bridge', 'nat'])).stdout)
    if (impl === 'weft') {
      t.is((await sb.exec(pod, 'ping', ['-c', '1', '-W', '2', '10.88.0.1'], { reject: false })).exitCode, 0, 'own MAC passes')
      await sb.exec(pod, 'ip', ['link', 'set', 'eth0', 'address', '02:de:ad:be:ef:01'])
      await sb.exec(pod, 'ip', ['neigh', 'flush', 'all'])
      t.not((await sb.exec(pod, 'ping', ['-c', '1', '-W', '1', '10.88.0.1'], { reject: false })).exitCode, 0, 'spoofed MAC is dropped')
      const d = await sb.cni({ plugin: 'bridge', command: 'DEL', conf, netns: pod, containerId: 'spoof1' })
      t.is(d.exitCode, 0, d.stdout)
      const after = (await sb.exec(sb.node, '/usr/sbin/nft', ['list', 'table', 'bridge', 'nat'])).stdout
      t.false(after.includes('cni-br-iface'), after)
    }
  }
  t.is(rulesets.weft, rulesets.ref)
})

test('[kernel] vlan: on a kernel without bridge VLAN filtering (this one) ADD fails with code 101 naming it, and leaves nothing', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'vlan')
  const probe = await sb.exec(sb.node, 'ip', ['link', 'add', 'vfprobe', 'type', 'bridge', 'vlan_filtering', '1'], { reject: false })
  if (probe.exitCode === 0) {
    // A kernel with VLAN filtering: the port must become an untagged member with that PVID.
    await sb.exec(sb.node, 'ip', ['link', 'del', 'vfprobe'])
    const { out } = await addPod(sb, 'weft', bridgeConf(sb, '1.0.0', { isGateway: false, ipMasq: false, vlan: 100 }), 'v1')
    t.is(out.exitCode, 0, out.stdout)
    const vl = await sb.exec(sb.node, 'bridge', ['-j', 'vlan', 'show'])
    t.regex(vl.stdout, /"vlan":100,"flags":\["PVID","Egress Untagged"\]/)
    return
  }
  const pod = sb.ns('pod')
  const before = await kernelState(sb, sb.node, { iptables: true })
  const out = await sb.cni({ plugin: 'bridge', command: 'ADD', conf: bridgeConf(sb, '1.0.0', { isGateway: false, ipMasq: false, vlan: 100 }), netns: pod, containerId: 'v1' })
  t.is(out.exitCode, 1, out.stdout)
  t.is(out.json?.code, 101)
  t.regex(String(out.json?.details), /VLAN filtering/)
  t.is(await kernelState(sb, sb.node, { iptables: true }), before)
  t.deepEqual(ipamFiles(sb), [])
})
