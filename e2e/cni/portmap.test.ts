/**
 * portmap against the kernel and against the reference plugin. Every plugin
 * runs inside the sandbox's node namespace, so all iptables rules, sysctls
 * and conntrack entries land there and never on the machine.
 *
 * Address plan: pod 10.1.0.5/24, fd00:1::5/64 behind the node's `hostpod`
 * veth (10.1.0.1/24, fd00:1::1/64); the node's "external" side 192.0.2.1/24
 * on `hostcli`, the client 192.0.2.2/24.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'
import { spawn } from 'node:child_process'
import { sandbox, kernelState, requireRoot, requireReference } from '../harness/index.js'
import type { Impl, Sandbox } from '../harness/index.js'
import { LinuxNetNS } from '../../kernel/index.js'
import { dispatch } from '../../cni/skel/index.js'
import { portmapPlugin } from '../../cni/portmap/index.js'
import { fakeIptables } from '../../kernel/testing/index.js'

const netns = new LinuxNetNS()
const SANDBOX = '/var/run/netns/pod-sandbox' // what prevResult says; portmap only compares it with ''

/** A veth between namespaces `a` and `b`, addressed and up. */
function veth (sb: Sandbox, a: string, aName: string, aAddrs: string[], b: string, bName: string, bAddrs: string[]): void {
  const fd = netns.openFd(b)
  const nl = sb.netlink(a)
  try {
    nl.addVeth({ name: aName, peerName: bName, peerNetnsFd: fd })
  } finally { nl.close(); netns.closeFd(fd) }
  for (const [p, name, addrs] of [[a, aName, aAddrs], [b, bName, bAddrs]] as const) {
    const l = sb.netlink(p)
    try {
      const link = l.linkByName(name)
      if (link === undefined) throw new Error(`no ${name}`)
      for (const addr of addrs) l.addAddress(link.index, addr)
      l.setLink(link.index, { up: true })
    } finally { l.close() }
  }
}

/** Node with a pod behind `hostpod`; returns the pod's path. */
function podBehindNode (sb: Sandbox): string {
  const pod = sb.ns('pod')
  veth(sb, sb.node, 'hostpod', ['10.1.0.1/24', 'fd00:1::1/64'], pod, 'eth0', ['10.1.0.5/24', 'fd00:1::5/64'])
  const nl = sb.netlink(pod)
  try { nl.addRoute({ family: 4, dst: '0.0.0.0/0', gw: '10.1.0.1' }) } finally { nl.close() }
  return pod
}

function prevResult (version: string, v6 = true): Record<string, unknown> {
  const old = version !== '1.0.0'
  const ips: Array<Record<string, unknown>> = [{ interface: 1, address: '10.1.0.5/24', gateway: '10.1.0.1', ...(old ? { version: '4' } : {}) }]
  if (v6) ips.push({ interface: 1, address: 'fd00:1::5/64', ...(old ? { version: '6' } : {}) })
  return { cniVersion: version, interfaces: [{ name: 'hostpod', mac: '02:00:00:00:00:01' }, { name: 'eth0', sandbox: SANDBOX }], ips, dns: {} }
}

const mappings = [
  { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
  { hostPort: 8081, containerPort: 81, protocol: 'tcp', hostIP: '192.0.2.1' },
  { hostPort: 5353, containerPort: 53, protocol: 'udp' },
  { hostPort: 9090, containerPort: 90, protocol: 'tcp', hostIP: 'fd00::1' }
]

function conf (version: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion: version, name: 'net1', type: 'portmap', runtimeConfig: { portMappings: mappings }, prevResult: prevResult(version), ...extra }
}

async function saveLines (sb: Sandbox, tool: 'iptables-save' | 'ip6tables-save'): Promise<string> {
  const r = await sb.exec(sb.node, tool, ['-t', 'nat'])
  return r.stdout.split('\n').filter((l) => !l.startsWith('#')).join('\n').trimEnd() + '\n'
}

/** Links, addresses, routes, both families' nat tables and every route_localnet switch of the node. */
async function nodeState (sb: Sandbox): Promise<string> {
  const v6 = (await saveLines(sb, 'ip6tables-save')).split('\n').filter((l) => l.startsWith('-A')).map((l) => `ip6t ${l}`)
  const rl = await sb.exec(sb.node, 'sh', ['-c', 'cd /proc/sys/net/ipv4/conf && for i in *; do echo "sysctl $i.route_localnet=$(cat $i/route_localnet)"; done'])
  return [await kernelState(sb, sb.node, { iptables: true }), ...v6, rl.stdout.trim()].join('\n')
}

const hasDnChain = async (sb: Sandbox): Promise<boolean> =>
  /CNI-DN-/.test(await saveLines(sb, 'iptables-save')) || /CNI-DN-/.test(await saveLines(sb, 'ip6tables-save'))

for (const version of ['0.3.1', '0.4.0', '1.0.0']) {
  test(`[kernel] portmap ADD, CHECK and DEL give the reference's result, rules and route_localnet (cniVersion ${version})`, async (t) => {
    requireRoot(); requireReference()
    const seen: Record<string, { add: unknown, afterAdd: string, afterDel: string }> = {}
    for (const impl of ['weft', 'ref'] as Impl[]) {
      const sb = sandbox(t, impl === 'weft' ? 'pmw' : 'pmr')
      const pod = podBehindNode(sb)
      const add = await sb.cni({ impl, plugin: 'portmap', command: 'ADD', conf: conf(version), netns: pod })
      t.is(add.exitCode, 0, `${impl} ADD: ${add.stdout}`)
      const afterAdd = await nodeState(sb)
      if (impl === 'weft' && version !== '0.3.1') {
        // (The reference's CHECK fails on any dual-stack container: it looks for the IPv4 rules in ip6tables too.)
        const check = await sb.cni({ impl, plugin: 'portmap', command: 'CHECK', conf: conf(version), netns: pod })
        t.is(check.exitCode, 0, check.stdout)
      }
      const del = await sb.cni({ impl, plugin: 'portmap', command: 'DEL', conf: conf(version), netns: pod })
      t.is(del.exitCode, 0, `${impl} DEL: ${del.stdout}`)
      seen[impl] = { add: add.json, afterAdd, afterDel: await nodeState(sb) }
    }
    t.deepEqual(seen.weft?.add, seen.ref?.add)
    t.is(seen.weft?.afterAdd, seen.ref?.afterAdd)
    t.regex(seen.weft?.afterAdd ?? '', /sysctl hostpod\.route_localnet=1/)
    t.regex(seen.weft?.afterAdd ?? '', /ip6t -A CNI-DN-6a75e1c84261377613d28 -d fd00::1\/128 -p tcp -m tcp --dport 9090 -j DNAT --to-destination \[fd00:1::5\]:90/)
    t.is(seen.weft?.afterDel, seen.ref?.afterDel)
    t.notRegex(seen.weft?.afterDel ?? '', /CNI-DN-/)
  })
}

// Option rows: the same ADD by both implementations must leave the same nat tables; and the fake iptables fed the same
// ADD must dump exactly what the kernel's iptables-save prints (the fidelity check behind the unit tests' golden text).
const KUBE_MARK_MASQ = ['-t', 'nat', '-N', 'KUBE-MARK-MASQ']
const optionRows: Array<{ name: string, extra: Record<string, unknown>, v6?: boolean, pm?: unknown[], containerId?: string, preset?: boolean, newerThanReference?: RegExp }> = [
  { name: 'defaults, dual-stack', extra: {}, v6: true },
  // masqAll came after v1.1.1: the installed reference ignores it, so ours follows the later reference's rules (no -s).
  { name: 'masqAll', extra: { masqAll: true }, v6: true, newerThanReference: /ipt -A CNI-DN-\S+ -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK\n/ },
  { name: 'snat false', extra: { snat: false } },
  { name: 'markMasqBit 31', extra: { markMasqBit: 31 } },
  { name: 'externalSetMarkChain', extra: { externalSetMarkChain: 'KUBE-MARK-MASQ' }, preset: true },
  { name: 'conditionsV4 and conditionsV6', extra: { conditionsV4: ['!', '-s', '198.51.100.0/24'], conditionsV6: ['-s', 'fd00:2::/64'] }, v6: true },
  { name: '17 ports of one protocol', extra: {}, pm: Array.from({ length: 17 }, (_, i) => ({ hostPort: 10000 + i, containerPort: 1000 + i, protocol: 'tcp' })) },
  { name: 'hostIP 0.0.0.0, two mappings of one host port, sctp', extra: {}, pm: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp', hostIP: '0.0.0.0' }, { hostPort: 80, containerPort: 8081, protocol: 'tcp' }, { hostPort: 3868, containerPort: 3868, protocol: 'sctp' }] },
  { name: 'a comment over 255 characters', extra: { name: 'n'.repeat(200) }, containerId: 'c'.repeat(100) }
]

for (const row of optionRows) {
  test(`[kernel] portmap option "${row.name}": same rules as the reference, and the fake dumps what iptables-save prints`, async (t) => {
    requireRoot(); requireReference()
    const c = { ...conf('1.0.0', row.extra), prevResult: prevResult('1.0.0', row.v6 === true), ...(row.pm !== undefined ? { runtimeConfig: { portMappings: row.pm } } : {}) }
    const states: Record<string, string> = {}
    let saved4 = ''
    let saved6 = ''
    for (const impl of ['weft', 'ref'] as Impl[]) {
      const sb = sandbox(t, impl === 'weft' ? 'pow' : 'por')
      const pod = podBehindNode(sb)
      if (row.preset === true) {
        await sb.exec(sb.node, 'iptables', KUBE_MARK_MASQ)
        await sb.exec(sb.node, 'iptables', ['-t', 'nat', '-A', 'KUBE-MARK-MASQ', '-j', 'MARK', '--set-xmark', '0x4000/0x4000'])
      }
      const add = await sb.cni({ impl, plugin: 'portmap', command: 'ADD', conf: c, netns: pod, ...(row.containerId !== undefined ? { containerId: row.containerId } : {}) })
      t.is(add.exitCode, 0, `${impl}: ${add.stdout}`)
      states[impl] = await nodeState(sb)
      if (impl === 'weft') { saved4 = await saveLines(sb, 'iptables-save'); saved6 = await saveLines(sb, 'ip6tables-save') }
    }
    if (row.newerThanReference === undefined) t.is(states.weft, states.ref)
    else {
      t.regex(states.weft ?? '', row.newerThanReference)
      t.notRegex(states.ref ?? '', row.newerThanReference, 'the installed reference still ignores this option')
    }

    const v4 = fakeIptables(4, row.preset === true ? '*nat\n:KUBE-MARK-MASQ - [0:0]\n-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\nCOMMIT\n' : undefined)
    const v6 = fakeIptables(6)
    const out = dispatch(portmapPlugin(() => ({
      iptables: (f) => (f === 4 ? v4 : v6),
      routeInterface: () => 'hostpod',
      sysctl: { get: () => '0', set: () => {} },
      conntrack: { deleteUdpFlowsToPort: () => {} },
      log: () => {}
    })), {
      env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: row.containerId ?? 'c0ffee', CNI_NETNS: SANDBOX, CNI_IFNAME: 'eth0', CNI_PATH: '/x' },
      stdin: Buffer.from(JSON.stringify(c)),
      about: 'portmap'
    })
    t.is(out.exitCode, 0, out.stdout)
    t.is(v4.dump('nat'), saved4)
    t.is(v6.dump('nat'), saved6)
  })
}

const SERVER = "const net=require('net');net.createServer((s)=>s.end(s.remoteAddress+'\\n')).listen(+process.argv[1],'0.0.0.0',()=>console.log('listening'))"
const CLIENT = "const s=require('net').connect({host:process.argv[1],port:+process.argv[2],timeout:3000});let d='';s.on('data',(c)=>{d+=c});s.on('end',()=>process.stdout.write(d.trim()));s.on('timeout',()=>{process.stdout.write('ERR timeout');process.exit(0)});s.on('error',(e)=>{process.stdout.write('ERR '+e.code);process.exit(0)})"

async function startServer (t: ExecutionContext, sb: Sandbox, ns: string, port: number): Promise<void> {
  const srv = spawn('ip', ['netns', 'exec', sb.nameOf(ns), process.execPath, '-e', SERVER, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { srv.kill('SIGKILL') })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start')), 10000)
    srv.stdout.on('data', (d) => { if (String(d).includes('listening')) { clearTimeout(timer); resolve() } })
    srv.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${String(code)}`)) })
  })
}

/** What the pod's server saw as the peer address, or 'ERR <code>'. */
async function connect (sb: Sandbox, from: string, host: string, port: number): Promise<string> {
  return (await sb.exec(from, process.execPath, ['-e', CLIENT, host, String(port)])).stdout
}

test('[kernel] portmap forwards a host port to a TCP listener in the pod: from outside, from the node\'s 127.0.0.1, and back from the pod itself', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'pmt')
  const pod = podBehindNode(sb)
  const client = sb.ns('cli')
  veth(sb, sb.node, 'hostcli', ['192.0.2.1/24'], client, 'eth0', ['192.0.2.2/24'])
  const cnl = sb.netlink(client)
  try { cnl.addRoute({ family: 4, dst: '10.1.0.0/24', gw: '192.0.2.1' }) } finally { cnl.close() }
  await sb.exec(sb.node, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1'])
  await startServer(t, sb, pod, 80)
  const c = { ...conf('1.0.0'), prevResult: prevResult('1.0.0', false), runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] } }

  t.regex(await connect(sb, client, '192.0.2.1', 8080), /^ERR /, 'nothing listens on the node before ADD')
  const add = await sb.cni({ plugin: 'portmap', command: 'ADD', conf: c, netns: pod })
  t.is(add.exitCode, 0, add.stdout)

  t.is(await connect(sb, client, '192.0.2.1', 8080), '192.0.2.2', 'an outside client reaches the pod, not masqueraded')
  t.is(await connect(sb, sb.node, '127.0.0.1', 8080), '10.1.0.1', 'the node\'s own 127.0.0.1 reaches the pod, masqueraded (needs route_localnet)')
  t.is(await connect(sb, sb.node, '192.0.2.1', 8080), '192.0.2.1', 'the node reaches it on its own address')
  t.is(await connect(sb, pod, '192.0.2.1', 8080), '10.1.0.1', 'hairpin: the pod reaches itself through the host port, masqueraded')

  const del = await sb.cni({ plugin: 'portmap', command: 'DEL', conf: c, netns: pod })
  t.is(del.exitCode, 0, del.stdout)
  t.regex(await connect(sb, client, '192.0.2.1', 8080), /^ERR /, 'no forwarding after DEL')
  t.is(await connect(sb, client, '10.1.0.5', 80), '192.0.2.2', 'the pod itself still answers: only the mapping went')
})

test('[kernel] portmap DEL twice, and DEL without prevResult, succeed and leave no per-container chain', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'pmd')
  const pod = podBehindNode(sb)
  t.is((await sb.cni({ plugin: 'portmap', command: 'ADD', conf: conf('1.0.0'), netns: pod })).exitCode, 0)
  t.true(await hasDnChain(sb))
  for (let i = 0; i < 2; i++) {
    const del = await sb.cni({ plugin: 'portmap', command: 'DEL', conf: conf('1.0.0'), netns: pod })
    t.is(del.exitCode, 0, del.stdout)
    t.is(del.stdout, '')
  }
  t.false(await hasDnChain(sb))

  t.is((await sb.cni({ plugin: 'portmap', command: 'ADD', conf: conf('0.4.0'), netns: pod })).exitCode, 0)
  const noPrev = conf('0.4.0')
  delete noPrev.prevResult
  const del = await sb.cni({ plugin: 'portmap', command: 'DEL', conf: noPrev, netns: '' })
  t.is(del.exitCode, 0, del.stdout)
  t.false(await hasDnChain(sb))
  t.regex(await saveLines(sb, 'iptables-save'), /:CNI-HOSTPORT-DNAT/, 'shared chains stay')
})

test('[kernel] a node switches from the reference: reference ADD, then our CHECK and DEL leave no CNI-DN chain', async (t) => {
  requireRoot(); requireReference()
  const sb = sandbox(t, 'pms')
  const pod = podBehindNode(sb)
  const add = await sb.cni({ impl: 'ref', plugin: 'portmap', command: 'ADD', conf: conf('1.0.0'), netns: pod })
  t.is(add.exitCode, 0, add.stdout)
  t.true(await hasDnChain(sb))
  const check = await sb.cni({ plugin: 'portmap', command: 'CHECK', conf: conf('1.0.0'), netns: pod })
  t.is(check.exitCode, 0, `our CHECK accepts the reference's rules: ${check.stdout}`)
  // Reference v1.1.1 looks for the IPv4 rules in ip6tables as well, so its CHECK fails on its own fresh rules.
  const refCheck = await sb.cni({ impl: 'ref', plugin: 'portmap', command: 'CHECK', conf: conf('1.0.0'), netns: pod })
  t.is(refCheck.exitCode, 1, 'docs/portmap.md relies on this reference bug still being there')
  const del = await sb.cni({ plugin: 'portmap', command: 'DEL', conf: conf('1.0.0'), netns: pod })
  t.is(del.exitCode, 0, del.stdout)
  t.false(await hasDnChain(sb))
})

test('[kernel] and back: our ADD, then the reference\'s DEL leaves no CNI-DN chain', async (t) => {
  requireRoot(); requireReference()
  const sb = sandbox(t, 'pmb')
  const pod = podBehindNode(sb)
  t.is((await sb.cni({ plugin: 'portmap', command: 'ADD', conf: conf('1.0.0'), netns: pod })).exitCode, 0)
  t.true(await hasDnChain(sb))
  const del = await sb.cni({ impl: 'ref', plugin: 'portmap', command: 'DEL', conf: conf('1.0.0'), netns: pod })
  t.is(del.exitCode, 0, del.stdout)
  t.false(await hasDnChain(sb))
})

test('[kernel] portmap CHECK fails with code 110 once a rule is deleted by hand', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'pmc')
  const pod = podBehindNode(sb)
  const c = { ...conf('1.0.0'), prevResult: prevResult('1.0.0', false) }
  t.is((await sb.cni({ plugin: 'portmap', command: 'ADD', conf: c, netns: pod })).exitCode, 0)
  t.is((await sb.cni({ plugin: 'portmap', command: 'CHECK', conf: c, netns: pod })).exitCode, 0)
  await sb.exec(sb.node, 'iptables', ['-t', 'nat', '-D', 'CNI-DN-6a75e1c84261377613d28', '-p', 'udp', '--dport', '5353', '-j', 'DNAT', '--to-destination', '10.1.0.5:53'])
  const ours = await sb.cni({ plugin: 'portmap', command: 'CHECK', conf: c, netns: pod })
  t.is(ours.exitCode, 1)
  t.is(ours.json?.code, 110)
  t.regex(String(ours.json?.msg), /--dport 5353 -j DNAT --to-destination 10\.1\.0\.5:53" not found/)
  await sb.exec(sb.node, 'iptables', ['-t', 'nat', '-F', 'OUTPUT'])
  t.is((await sb.cni({ plugin: 'portmap', command: 'ADD', conf: c, netns: pod })).exitCode, 0, 'ADD again repairs the container chain')
  const shared = await sb.cni({ plugin: 'portmap', command: 'CHECK', conf: c, netns: pod })
  t.is(shared.exitCode, 0, `ADD also restores the shared OUTPUT jump: ${shared.stdout}`)
})

test('[kernel] portmap ADD without prevResult fails with code 7 and the reference\'s message, and touches nothing', async (t) => {
  requireRoot(); requireReference()
  const sb = sandbox(t, 'pmp')
  const pod = podBehindNode(sb)
  const c = conf('1.0.0')
  delete c.prevResult
  const before = await nodeState(sb)
  const ours = await sb.cni({ plugin: 'portmap', command: 'ADD', conf: c, netns: pod })
  const ref = await sb.cni({ impl: 'ref', plugin: 'portmap', command: 'ADD', conf: c, netns: pod })
  t.is(ours.exitCode, 1)
  t.is(ours.json?.code, 7)
  t.is(ref.exitCode, 1)
  t.is(ours.json?.msg, ref.json?.msg)
  t.is(await nodeState(sb), before)
})

test('[kernel] portmap ADD deletes stale UDP conntrack entries to the mapped host port only', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'pmu')
  const pod = podBehindNode(sb)
  for (const dport of ['5353', '5354']) {
    await sb.exec(sb.node, 'conntrack', ['-I', '-p', 'udp', '-s', '192.0.2.2', '-d', '192.0.2.1', '--sport', '40000', '--dport', dport, '--timeout', '120'])
  }
  const flows = async (): Promise<string> => (await sb.exec(sb.node, 'conntrack', ['-L', '-p', 'udp'])).stdout
  t.regex(await flows(), /dport=5353/)
  const add = await sb.cni({ plugin: 'portmap', command: 'ADD', conf: conf('1.0.0'), netns: pod })
  t.is(add.exitCode, 0, add.stdout)
  t.notRegex(await flows(), /dport=5353/)
  t.regex(await flows(), /dport=5354/, 'flows to other ports stay')
})
