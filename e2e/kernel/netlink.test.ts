/**
 * The kernel layer against the real kernel, in namespaces each test makes
 * (root; CI runs as root). Every Netlink method is exercised and read back,
 * what we read is compared with what iproute2 reads (`ip -j`, `bridge -j`),
 * the fake in kernel/testing is run through the same scenario as this kernel
 * and must agree step by step, and a subset runs again under Bun to prove the
 * bun:ffi path the CNI binaries use.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'
import { execFile } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { sandbox, requireRoot } from '../harness/index.js'
import type { Sandbox } from '../harness/index.js'
import { KernelError, LinuxNetNS, isExists, isNotFound, linuxSysctl } from '../../kernel/index.js'
import type { Link, Netlink, Route } from '../../kernel/index.js'
import { ciKernel, dumpNetlink, fakeNetNS } from '../../kernel/testing/index.js'

const run = promisify(execFile)
/** The repository root, from this file's place in dist/e2e/kernel/. */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const bunExe = path.join(root, 'node_modules', 'bun', 'bin', 'bun.exe')

const mac = (n: number): string => `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`

function open (t: ExecutionContext, sb: Sandbox, p: string): Netlink {
  const nl = sb.netlink(p)
  t.teardown(() => nl.close())
  return nl
}

function must (nl: Netlink, name: string): Link {
  const l = nl.linkByName(name)
  if (l === undefined) throw new Error(`link ${name} missing`)
  return l
}

/** A veth pair v0/v1 in the namespace, v0 up with `cidrs` on it; returns v0's ifindex. */
function upVeth (nl: Netlink, cidrs: string[] = []): number {
  nl.addVeth({ name: 'v0', peerName: 'v1' })
  const dev = must(nl, 'v0').index
  nl.setLink(dev, { up: true })
  for (const c of cidrs) nl.addAddress(dev, c)
  return dev
}

/** The error `fn` throws, as a KernelError (fails the test otherwise). */
function kerr (t: ExecutionContext, fn: () => unknown): KernelError {
  const e = t.throws(fn)
  if (!(e instanceof KernelError)) throw new Error(`expected a KernelError, got ${String(e)}`)
  return e
}

async function ipJson<T> (sb: Sandbox, p: string, cmd: string, args: string[]): Promise<T> {
  const r = await sb.exec(p, cmd, ['-j', ...args])
  return JSON.parse(r.stdout === '' ? '[]' : r.stdout) as T
}

// ---------------------------------------------------------------------------------------------------------------------
// iproute2's view, normalised to the same shapes as ours

interface IpLink {
  ifindex: number
  ifname: string
  link?: string | null
  link_index?: number
  link_netnsid?: number
  flags: string[]
  mtu: number
  master?: string
  operstate: string
  address: string
  promiscuity: number
  linkinfo?: {
    info_kind?: string
    info_data?: Record<string, unknown>
    info_slave_kind?: string
    info_slave_data?: Record<string, unknown>
  }
}

function linkView (l: Link, names: Map<number, string>): Record<string, unknown> {
  return {
    index: l.index,
    name: l.name,
    kind: l.kind ?? null,
    mtu: l.mtu,
    mac: l.mac,
    up: l.flags.up,
    promisc: l.flags.promisc,
    loopback: l.flags.loopback,
    operstate: l.operstate,
    master: l.master !== undefined ? names.get(l.master) : null,
    peer: l.parentIndex === undefined ? null : l.linkNetnsid !== undefined ? `#${l.parentIndex}@${l.linkNetnsid}` : names.get(l.parentIndex),
    promiscuity: l.promiscuity,
    port: l.bridgePort ?? null,
    vxlan: l.vxlan !== undefined ? { ...l.vxlan, dev: l.vxlan.dev !== undefined ? names.get(l.vxlan.dev) : undefined } : null,
    vlanFiltering: l.bridge?.vlanFiltering ?? null
  }
}

function ipLinkView (j: IpLink): Record<string, unknown> {
  const info = j.linkinfo
  const port = info?.info_slave_kind === 'bridge' && info.info_slave_data !== undefined
    ? { hairpin: info.info_slave_data.hairpin === true, learning: info.info_slave_data.learning === true, isolated: info.info_slave_data.isolated === true }
    : null
  const d = info?.info_data
  const vxlan = info?.info_kind === 'vxlan' && d !== undefined
    ? { vni: d.id, port: d.port, learning: d.learning === true, local: (d.local ?? d.local6) as string | undefined, dev: d.link as string | undefined }
    : null
  return {
    index: j.ifindex,
    name: j.ifname,
    kind: info?.info_kind ?? null,
    mtu: j.mtu,
    mac: j.address,
    up: j.flags.includes('UP'),
    promisc: j.flags.includes('PROMISC'),
    loopback: j.flags.includes('LOOPBACK'),
    operstate: j.operstate.toLowerCase(),
    master: j.master ?? null,
    peer: j.link_index !== undefined ? `#${j.link_index}@${j.link_netnsid ?? '?'}` : j.link ?? null,
    promiscuity: j.promiscuity,
    port,
    vxlan,
    vlanFiltering: info?.info_kind === 'bridge' && d !== undefined ? d.vlan_filtering === 1 : null
  }
}

const scopeName = (s: number): string => (s === 0 ? 'global' : s === 253 ? 'link' : s === 254 ? 'host' : String(s))
const protoName = (p: number | undefined): string => (p === 2 ? 'kernel' : p === 3 || p === undefined ? 'boot' : p === 4 ? 'static' : String(p))
const typeName = (n: number | undefined): string => ({ 2: 'local', 3: 'broadcast', 5: 'multicast', 6: 'blackhole', 7: 'unreachable', 8: 'prohibit' } as Record<number, string>)[n ?? 1] ?? 'unicast'
const tableName = (n: number | undefined): string => (n === undefined || n === 254 ? 'main' : n === 255 ? 'local' : String(n))

function routeText (r: Route, names: Map<number, string>): string {
  const hops = (r.multipath ?? []).map((h) => `${h.gw ?? '-'}/${names.get(h.dev) ?? h.dev}/${h.weight ?? 1}${h.onlink === true ? '/onlink' : ''}`).join(',')
  return [tableName(r.table), typeName(r.type), r.dst, `gw=${r.gw ?? '-'}`, `dev=${r.dev !== undefined && r.multipath === undefined ? names.get(r.dev) : '-'}`,
    `metric=${r.priority ?? 0}`, `proto=${protoName(r.protocol)}`, `scope=${r.family === 6 ? 'global' : scopeName(r.scope ?? 0)}`, `src=${r.src ?? '-'}`,
    `onlink=${r.onlink === true}`, `mtu=${r.mtu ?? '-'}`, `advmss=${r.advmss ?? '-'}`, `nh=${hops}`].join(' ')
}

interface IpRoute {
  dst: string
  type?: string
  table?: string
  gateway?: string
  dev?: string
  metric?: number
  protocol?: string
  scope?: string
  prefsrc?: string
  flags: string[]
  metrics?: Array<{ mtu?: number, advmss?: number }>
  nexthops?: Array<{ gateway?: string, dev: string, weight?: number, flags: string[] }>
}

function ipRouteText (j: IpRoute, family: 4 | 6): string {
  const bits = family === 4 ? 32 : 128
  const dst = j.dst === 'default' ? (family === 4 ? '0.0.0.0/0' : '::/0') : j.dst.includes('/') ? j.dst : `${j.dst}/${bits}`
  const m = j.metrics?.[0] ?? {}
  const hops = (j.nexthops ?? []).map((h) => `${h.gateway ?? '-'}/${h.dev}/${h.weight ?? 1}${h.flags.includes('onlink') ? '/onlink' : ''}`).join(',')
  return [j.table ?? 'main', j.type ?? 'unicast', dst, `gw=${j.gateway ?? '-'}`, `dev=${j.dev ?? '-'}`, `metric=${j.metric ?? 0}`,
    `proto=${j.protocol ?? 'boot'}`, `scope=${j.scope ?? 'global'}`, `src=${j.prefsrc ?? '-'}`, `onlink=${j.flags.includes('onlink')}`,
    `mtu=${m.mtu ?? '-'}`, `advmss=${m.advmss ?? '-'}`, `nh=${hops}`].join(' ')
}

/**
 * Reads ours and iproute2's view until they agree (or 2 s pass), then asserts on the last pair. The kernel changes
 * some state on its own, a moment after the change that causes it (linkwatch sets operstate; IPv6 link-local
 * addresses and their routes follow carrier), so one read of each side can straddle such a change.
 */
async function settled (t: ExecutionContext, what: string, read: () => Promise<[unknown, unknown]>): Promise<unknown> {
  let pair = await read()
  for (let i = 0; i < 40 && JSON.stringify(pair[0]) !== JSON.stringify(pair[1]); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    pair = await read()
  }
  t.deepEqual(pair[0], pair[1], what)
  return pair[0]
}

/** Compares every read of `nl` with iproute2's, in the namespace at `p`. Returns how many items were compared. */
async function assertMatchesIproute (t: ExecutionContext, sb: Sandbox, p: string, nl: Netlink, fdbDev: string): Promise<number> {
  let n = 0
  const names = new Map(nl.links().map((l) => [l.index, l.name]))
  const links = await settled(t, 'links match ip -j -d link', async () => {
    const ours = nl.links().map((l) => linkView(l, names))
    return [ours, (await ipJson<IpLink[]>(sb, p, 'ip', ['-d', 'link', 'show'])).map(ipLinkView)]
  })
  n += (links as unknown[]).length

  const addrs = await settled(t, 'addresses match ip -j addr', async () => {
    const ours = nl.addresses().map((a) => `${a.index} ${a.family === 4 ? 'inet' : 'inet6'} ${a.address}/${a.prefixLen} ${scopeName(a.scope)}${(a.flags & 1) !== 0 ? ' secondary' : ''}${(a.flags & 0x200) !== 0 ? ' noprefixroute' : ''}`).sort()
    const ipAddrs = await ipJson<Array<{ ifindex: number, addr_info: Array<{ family: string, local: string, prefixlen: number, scope: string, secondary?: boolean, noprefixroute?: boolean }> }>>(sb, p, 'ip', ['addr', 'show'])
    return [ours, ipAddrs.flatMap((l) => l.addr_info.map((a) => `${l.ifindex} ${a.family} ${a.local}/${a.prefixlen} ${a.scope}${a.secondary === true ? ' secondary' : ''}${a.noprefixroute === true ? ' noprefixroute' : ''}`)).sort()]
  })
  n += (addrs as unknown[]).length

  for (const family of [4, 6] as const) {
    // The IPv6 local table fills in as DAD completes, so it is not a stable thing to compare.
    const keep = (x: string): boolean => family === 4 || !x.startsWith('local ')
    const routes = await settled(t, `IPv${family} routes match ip -j route show table all`, async () => {
      const ours = nl.routes({ family }).map((r) => routeText(r, names)).filter(keep).sort()
      const ipRoutes = await ipJson<IpRoute[]>(sb, p, 'ip', [`-${family}`, 'route', 'show', 'table', 'all'])
      return [ours, ipRoutes.map((j) => ipRouteText(j, family)).filter(keep).sort()]
    })
    n += (routes as unknown[]).length
  }

  const neigh = await settled(t, 'permanent neighbours match ip -j neigh', async () => {
    const ours = nl.neighbours().filter((x) => (x.state & 0x80) !== 0).map((x) => `${names.get(x.index)} ${x.ip} ${x.mac}`).sort()
    const ipNeigh = await ipJson<Array<{ dst: string, dev: string, lladdr?: string, state: string[] }>>(sb, p, 'ip', ['neigh', 'show'])
    return [ours, ipNeigh.filter((x) => x.state.includes('PERMANENT')).map((x) => `${x.dev} ${x.dst} ${x.lladdr}`).sort()]
  })
  n += (neigh as unknown[]).length

  const dev = must(nl, fdbDev)
  const fdb = await settled(t, `fdb of ${fdbDev} matches bridge -j fdb`, async () => {
    const ours = nl.fdb(dev.index).map((f) => `${f.mac} ${f.dst ?? '-'} ${(f.flags & 2) !== 0 ? 'self' : '-'} ${(f.state & 0x80) !== 0 ? 'permanent' : '-'}`).sort()
    const ipFdb = await ipJson<Array<{ mac: string, dst?: string, flags: string[], state?: string }>>(sb, p, 'bridge', ['fdb', 'show', 'dev', fdbDev])
    return [ours, ipFdb.map((f) => `${f.mac} ${f.dst ?? '-'} ${f.flags.includes('self') ? 'self' : '-'} ${f.state === 'permanent' ? 'permanent' : '-'}`).sort()]
  })
  n += (fdb as unknown[]).length
  return n
}

// ---------------------------------------------------------------------------------------------------------------------
// Links

test('[kernel] veth: the peer is created directly in the other namespace and each end names the other', (t) => {
  requireRoot()
  const sb = sandbox(t, 'veth')
  const a = sb.ns('a')
  const b = sb.ns('b')
  const na = open(t, sb, a)
  const nb = open(t, sb, b)
  const ns = new LinuxNetNS()
  const fd = ns.openFd(b)
  try {
    na.addVeth({ name: 'h0', peerName: 'c0', peerNetnsFd: fd, mtu: 1400, mac: mac(1), peerMac: mac(2) })
  } finally { ns.closeFd(fd) }
  const h0 = must(na, 'h0')
  const c0 = must(nb, 'c0')
  t.is(na.linkByName('c0'), undefined, 'the peer is not in the creating namespace')
  t.is(nb.linkByName('h0'), undefined)
  t.like(h0, { kind: 'veth', mtu: 1400, mac: mac(1), parentIndex: c0.index, master: undefined })
  t.like(c0, { kind: 'veth', mtu: 1400, mac: mac(2), parentIndex: h0.index })
  t.is(typeof h0.linkNetnsid, 'number', 'a cross-namespace peer carries IFLA_LINK_NETNSID')
  t.is(typeof c0.linkNetnsid, 'number')
  t.deepEqual(na.linkByIndex(h0.index), h0, 'linkByIndex reads the same link')

  // Same-namespace pair: the peer is registered first, so it has the lower index.
  na.addVeth({ name: 'v0', peerName: 'v1' })
  const v0 = must(na, 'v0')
  const v1 = must(na, 'v1')
  t.is(v0.parentIndex, v1.index)
  t.is(v1.parentIndex, v0.index)
  t.is(v0.linkNetnsid, undefined)
  t.true(v1.index < v0.index)
  t.true(isExists(kerr(t, () => na.addVeth({ name: 'v0', peerName: 'v9' }))), 'EEXIST on a taken name')
  t.true(isExists(kerr(t, () => na.addVeth({ name: 'v8', peerName: 'v1' }))), 'EEXIST on a taken peer name')
  t.is(kerr(t, () => na.addVeth({ name: 'waytoolongname16', peerName: 'x' })).errno, 34, 'names over 15 bytes fail the policy (ERANGE)')

  // Up on one end only: no carrier; both ends up: running.
  na.setLink(v0.index, { up: true })
  t.like(must(na, 'v0'), { flags: { up: true, running: false, promisc: false, loopback: false, noarp: false }, operstate: 'lowerlayerdown' })
  na.setLink(v1.index, { up: true })
  t.like(must(na, 'v0'), { flags: { up: true, running: true, promisc: false, loopback: false, noarp: false }, operstate: 'up' })
})

test('[kernel] bridge: a port joins and leaves; hairpin, learning and isolated read back; MTU and MAC follow the ports', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'brdg')
  const p = sb.ns('a')
  const nl = open(t, sb, p)
  nl.addBridge({ name: 'br0', mtu: 1450 })
  nl.addVeth({ name: 'v0', peerName: 'v1', mtu: 1400, mac: mac(0x10), peerMac: mac(0x11) })
  const br = must(nl, 'br0')
  t.like(br, { kind: 'bridge', mtu: 1450, bridge: { vlanFiltering: false }, bridgePort: undefined })
  const v0 = must(nl, 'v0')
  nl.setLink(v0.index, { master: br.index })
  t.like(must(nl, 'v0'), { master: br.index, bridgePort: { hairpin: false, learning: true, isolated: false }, promiscuity: 1 })
  // An MTU given at creation is not "set by the user": the bridge follows its smallest port, and takes its MAC.
  t.like(must(nl, 'br0'), { mtu: 1400, mac: mac(0x10) })

  nl.setBridgePort(v0.index, { hairpin: true, learning: false, isolated: true })
  t.deepEqual(must(nl, 'v0').bridgePort, { hairpin: true, learning: false, isolated: true })
  const j = await ipJson<IpLink[]>(sb, p, 'ip', ['-d', 'link', 'show', 'v0'])
  t.like(j[0]?.linkinfo?.info_slave_data, { hairpin: true, learning: false, isolated: true }, 'iproute2 reads the same port flags')
  nl.setBridgePort(v0.index, { hairpin: false })
  t.deepEqual(must(nl, 'v0').bridgePort, { hairpin: false, learning: false, isolated: true }, 'unnamed settings are left alone')

  t.is(kerr(t, () => nl.setBridgePort(must(nl, 'v1').index, { hairpin: true })).errno, 95, 'a link that is no port: EOPNOTSUPP')
  t.is(kerr(t, () => nl.setLink(must(nl, 'v1').index, { master: v0.index })).errno, 95, 'a master that is no bridge: EOPNOTSUPP')
  t.is(kerr(t, () => nl.setLink(must(nl, 'v1').index, { master: 99999 })).errno, 22, 'a master that does not exist: EINVAL')

  nl.setLink(v0.index, { master: 0 })
  t.like(must(nl, 'v0'), { master: undefined, bridgePort: undefined, promiscuity: 0 })
  t.is(must(nl, 'br0').mtu, 1500, 'with no ports the bridge is back at 1500')

  // Bridge VLAN filtering: absent from this kernel; when it is there, it reads back.
  const probe = await sb.exec(p, 'ip', ['link', 'add', 'vfprobe', 'type', 'bridge', 'vlan_filtering', '1'], { reject: false })
  if (probe.exitCode === 0) {
    await sb.exec(p, 'ip', ['link', 'del', 'vfprobe'])
    nl.addBridge({ name: 'br1', vlanFiltering: true })
    t.deepEqual(must(nl, 'br1').bridge, { vlanFiltering: true })
  } else {
    t.log('this kernel has no bridge VLAN filtering: checking that we report it as iproute2 does')
    t.is(kerr(t, () => nl.addBridge({ name: 'br1', vlanFiltering: true })).errno, 95)
    t.is(nl.linkByName('br1'), undefined)
  }
})

test('[kernel] vxlan: vni, port, learning off, local and dev read back; duplicates and bad VNIs are refused', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'vxln')
  const p = sb.ns('a')
  const nl = open(t, sb, p)
  nl.addVeth({ name: 'u0', peerName: 'u1', mtu: 1500 })
  const u0 = must(nl, 'u0')
  nl.addVxlan({ name: 'vx0', vni: 42, port: 4789, learning: false, local: '10.2.0.1', dev: u0.index, mac: mac(0x30) })
  const vx = must(nl, 'vx0')
  t.like(vx, { kind: 'vxlan', mac: mac(0x30), mtu: 1450, vxlan: { vni: 42, port: 4789, learning: false, local: '10.2.0.1', dev: u0.index } })
  const j = await ipJson<IpLink[]>(sb, p, 'ip', ['-d', 'link', 'show', 'vx0'])
  t.like(j[0]?.linkinfo?.info_data, { id: 42, port: 4789, learning: false, local: '10.2.0.1', link: 'u0' })

  nl.addVxlan({ name: 'vx1', vni: 7 })
  t.like(must(nl, 'vx1'), { mtu: 1500, vxlan: { vni: 7, port: 8472, learning: true, local: undefined, dev: undefined } }, 'defaults: port 8472, learning on')
  nl.addVxlan({ name: 'vx6', vni: 6, local: 'fd00::1' })
  t.is(must(nl, 'vx6').vxlan?.local, 'fd00::1')

  const dup = kerr(t, () => nl.addVxlan({ name: 'vx2', vni: 42, port: 4789 }))
  t.true(isExists(dup))
  t.regex(dup.message, /VNI already exists/)
  t.is(kerr(t, () => nl.addVxlan({ name: 'vx2', vni: 1 << 24 })).errno, 34, 'VNIs are 24 bits (ERANGE)')
  t.true(isNotFound(kerr(t, () => nl.addVxlan({ name: 'vx2', vni: 2, dev: 99999 }))), 'an unknown underlay is ENODEV')
  nl.addVxlan({ name: 'vx3', vni: 3, dev: u0.index, mtu: 9000 })
  t.is(must(nl, 'vx3').mtu, 1450, 'the MTU is clamped to what fits in the underlay')

  nl.deleteLink(u0.index)
  t.is(nl.linkByName('vx0'), undefined, 'a VXLAN device goes with its underlay')
  t.is(nl.linkByName('vx3'), undefined)
  t.truthy(nl.linkByName('vx1'))
})

test('[kernel] dummy links: created and read back where the kernel has them, otherwise the clear EOPNOTSUPP', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'dumy')
  const p = sb.ns('a')
  const nl = open(t, sb, p)
  // iproute2 is the oracle for whether this kernel has the module.
  const probe = await sb.exec(p, 'ip', ['link', 'add', 'probe0', 'type', 'dummy'], { reject: false })
  if (probe.exitCode === 0) {
    await sb.exec(p, 'ip', ['link', 'del', 'probe0'])
    nl.addDummy({ name: 'd0', mtu: 1400, mac: mac(0x40) })
    t.like(must(nl, 'd0'), { kind: 'dummy', mtu: 1400, mac: mac(0x40) })
    return
  }
  t.log(`this kernel has no dummy links (ip says: ${probe.stderr.trim()}); checking our error`)
  const e = kerr(t, () => nl.addDummy({ name: 'd0' }))
  t.is(e.errno, 95)
  t.is(e.code, 'KERNEL_ERR_NETLINK')
  t.is(e.message, 'add dummy d0 (Unknown device type): EOPNOTSUPP')
  t.is(nl.linkByName('d0'), undefined)
})

test('[kernel] setLink: mtu, mac, up, promisc, master and name change and read back; bad values are refused', (t) => {
  requireRoot()
  const sb = sandbox(t, 'setl')
  const p = sb.ns('a')
  const nl = open(t, sb, p)
  nl.addVeth({ name: 'v0', peerName: 'v1' })
  nl.addBridge({ name: 'br0' })
  const v0 = must(nl, 'v0')
  const br = must(nl, 'br0')
  nl.setLink(v0.index, { mtu: 1300, mac: mac(0x50), up: true, promisc: true, master: br.index, name: 'eth9' })
  const l = nl.linkByIndex(v0.index)
  t.like(l, { name: 'eth9', mtu: 1300, mac: mac(0x50), master: br.index, flags: { up: true, promisc: true, loopback: false, running: false, noarp: false }, promiscuity: 2 })
  t.is(nl.linkByName('v0'), undefined, 'the old name is gone')
  nl.setLink(v0.index, { promisc: false, up: false })
  t.like(nl.linkByIndex(v0.index), { flags: { up: false, promisc: false }, operstate: 'down', promiscuity: 1 })

  t.regex(kerr(t, () => nl.setLink(v0.index, { mtu: 70000 })).message, /mtu greater than device maximum/)
  t.regex(kerr(t, () => nl.setLink(v0.index, { mtu: 10 })).message, /mtu less than device minimum/)
  t.is(kerr(t, () => nl.setLink(v0.index, { mac: '01:00:00:00:00:01' })).errno, 99, 'a multicast MAC: EADDRNOTAVAIL')
  t.true(isExists(kerr(t, () => nl.setLink(v0.index, { name: 'v1' }))), 'renaming onto a taken name: EEXIST')
  t.is(kerr(t, () => nl.setLink(v0.index, { name: 'a/b' })).errno, 22)
  t.true(isNotFound(kerr(t, () => nl.setLink(99999, { up: true }))))
  // Like do_setlink, earlier changes stay when a later one fails.
  t.is(kerr(t, () => nl.setLink(v0.index, { mtu: 1234, master: 99999 })).errno, 22)
  t.is(nl.linkByIndex(v0.index)?.mtu, 1234)
  t.is(nl.linkByIndex(v0.index)?.master, undefined, 'the old bridge was left before the new one failed')
})

test('[kernel] setLink netnsFd moves a link: it arrives down, keeps its index, loses addresses; bridges cannot move', (t) => {
  requireRoot()
  const sb = sandbox(t, 'move')
  const a = sb.ns('a')
  const b = sb.ns('b')
  const na = open(t, sb, a)
  const nb = open(t, sb, b)
  const ns = new LinuxNetNS()
  na.addVeth({ name: 'v0', peerName: 'v1' })
  na.addBridge({ name: 'br0' })
  const v0 = must(na, 'v0')
  na.setLink(v0.index, { up: true })
  na.addAddress(v0.index, '10.9.0.1/24')
  const fd = ns.openFd(b)
  try {
    na.setLink(v0.index, { netnsFd: fd })
    t.is(na.linkByName('v0'), undefined)
    const moved = must(nb, 'v0')
    t.like(moved, { index: v0.index, flags: { up: false } })
    t.is(nb.addresses(4).filter((x) => x.index === moved.index).length, 0)
    t.is(typeof must(na, 'v1').linkNetnsid, 'number', 'the peer left behind now points across namespaces')
    t.regex(kerr(t, () => na.setLink(must(na, 'br0').index, { netnsFd: fd })).message, /netns is immutable/)
  } finally { ns.closeFd(fd) }
})

test('[kernel] deleteLink: twice gives isNotFound; one veth end takes the other; lo cannot go', (t) => {
  requireRoot()
  const sb = sandbox(t, 'dell')
  const p = sb.ns('a')
  const nl = open(t, sb, p)
  nl.addVeth({ name: 'v0', peerName: 'v1' })
  const v0 = must(nl, 'v0')
  nl.deleteLink(v0.index)
  t.is(nl.linkByName('v0'), undefined)
  t.is(nl.linkByName('v1'), undefined, 'the peer went too')
  const e = kerr(t, () => nl.deleteLink(v0.index))
  t.true(isNotFound(e))
  t.is(e.errno, 19)
  t.is(kerr(t, () => nl.deleteLink(1)).errno, 95)
  t.is(nl.linkByIndex(99999), undefined)
  t.is(nl.linkByName('nosuchlink'), undefined)
})

// ---------------------------------------------------------------------------------------------------------------------
// Addresses, routes, neighbours, FDB

test('[kernel] addresses: v4 and v6 added and listed with connected routes; EEXIST on the second add; isNotFound on the second delete', (t) => {
  requireRoot()
  const sb = sandbox(t, 'addr')
  const p = sb.ns('a')
  const nl = open(t, sb, p)
  nl.addVeth({ name: 'v0', peerName: 'v1' })
  const v0 = must(nl, 'v0')
  nl.setLink(v0.index, { up: true })
  nl.addAddress(v0.index, '10.1.0.5/24')
  nl.addAddress(v0.index, 'fd00:1::5/64')
  nl.addAddress(v0.index, '10.1.0.6/24')
  nl.addAddress(v0.index, '10.3.0.1/24', { noPrefixRoute: true })
  const v4 = nl.addresses(4).filter((a) => a.index === v0.index)
  t.deepEqual(v4.map((a) => [a.address, a.prefixLen, a.scope, a.flags & 0x2ff]), [
    ['10.1.0.5', 24, 0, 0x80], ['10.3.0.1', 24, 0, 0x280], ['10.1.0.6', 24, 0, 0x81]
  ], 'permanent; the second in a subnet is secondary; noprefixroute kept')
  const v6 = nl.addresses(6).filter((a) => a.index === v0.index && a.scope === 0)
  t.deepEqual(v6.map((a) => [a.address, a.prefixLen, a.family]), [['fd00:1::5', 64, 6]])

  const main = nl.routes({ table: 254 })
  t.truthy(main.find((r) => r.dst === '10.1.0.0/24' && r.dev === v0.index && r.protocol === 2 && r.scope === 253 && r.src === '10.1.0.5'), 'connected v4 route')
  t.truthy(main.find((r) => r.dst === 'fd00:1::/64' && r.dev === v0.index && r.protocol === 2 && r.priority === 256), 'connected v6 route')
  t.falsy(main.find((r) => r.dst === '10.3.0.0/24'), 'noprefixroute: no connected route')
  t.truthy(nl.routes({ table: 255 }).find((r) => r.dst === '10.1.0.5/32' && r.type === 2), 'local route')

  for (const cidr of ['10.1.0.5/24', 'fd00:1::5/64']) {
    const e = kerr(t, () => nl.addAddress(v0.index, cidr))
    t.true(isExists(e), cidr)
    t.is(e.errno, 17)
  }
  nl.deleteAddress(v0.index, '10.1.0.5/24')
  t.deepEqual(nl.addresses(4).filter((a) => a.index === v0.index).map((a) => a.address), ['10.3.0.1'], 'the secondary went with its primary')
  t.falsy(nl.routes({ table: 254 }).find((r) => r.dst === '10.1.0.0/24'), 'and the connected route with it')
  nl.deleteAddress(v0.index, 'fd00:1::5/64')
  for (const cidr of ['10.1.0.5/24', 'fd00:1::5/64']) {
    const e = kerr(t, () => nl.deleteAddress(v0.index, cidr))
    t.true(isNotFound(e), cidr)
    t.is(e.errno, 99)
  }
  t.true(isNotFound(kerr(t, () => nl.addAddress(99999, '10.9.0.1/24'))))

  // A link going down keeps its IPv4 addresses but loses its IPv6 ones.
  nl.addAddress(v0.index, 'fd00:2::5/64')
  nl.setLink(v0.index, { up: false })
  t.deepEqual(nl.addresses().filter((a) => a.index === v0.index && a.scope === 0).map((a) => a.address), ['10.3.0.1'])
})

test('[kernel] routes: gateway, onlink, priority, table, mtu/advmss metrics and src read back exactly', (t) => {
  requireRoot()
  const sb = sandbox(t, 'rout')
  const p = sb.ns('a')
  const nl = open(t, sb, p)
  const dev = upVeth(nl, ['10.2.0.1/24', 'fd02::1/64'])
  const added: Route[] = [
    { family: 4, dst: '10.50.0.0/16', gw: '10.2.0.254' },
    { family: 4, dst: '10.51.0.0/16', gw: '10.2.0.254', priority: 50, mtu: 1300, advmss: 1260 },
    { family: 4, dst: '10.52.0.0/16', gw: '192.168.9.1', dev, onlink: true },
    { family: 4, dst: '0.0.0.0/0', gw: '10.2.0.254', table: 100 },
    { family: 4, dst: '0.0.0.0/0', gw: '10.2.0.254', table: 1000, protocol: 4 },
    { family: 4, dst: '10.53.0.0/16', dev, src: '10.2.0.1' },
    { family: 4, dst: '10.54.0.0/16', type: 6 },
    { family: 6, dst: 'fd50::/64', gw: 'fd02::fe' },
    { family: 6, dst: 'fd51::/64', dev, priority: 10, mtu: 1400 }
  ]
  for (const r of added) nl.addRoute(r)
  const all = [...nl.routes({ family: 4 }), ...nl.routes({ family: 6 })]
  const find = (dst: string, table = 254): Route | undefined => all.find((r) => r.dst === dst && r.table === table)
  t.deepEqual(find('10.50.0.0/16'), { family: 4, dst: '10.50.0.0/16', table: 254, protocol: 3, scope: 0, type: 1, gw: '10.2.0.254', dev })
  t.deepEqual(find('10.51.0.0/16'), { family: 4, dst: '10.51.0.0/16', table: 254, protocol: 3, scope: 0, type: 1, gw: '10.2.0.254', dev, priority: 50, mtu: 1300, advmss: 1260 })
  t.deepEqual(find('10.52.0.0/16'), { family: 4, dst: '10.52.0.0/16', table: 254, protocol: 3, scope: 0, type: 1, gw: '192.168.9.1', dev, onlink: true })
  t.deepEqual(find('0.0.0.0/0', 100), { family: 4, dst: '0.0.0.0/0', table: 100, protocol: 3, scope: 0, type: 1, gw: '10.2.0.254', dev })
  t.deepEqual(find('0.0.0.0/0', 1000), { family: 4, dst: '0.0.0.0/0', table: 1000, protocol: 4, scope: 0, type: 1, gw: '10.2.0.254', dev }, 'tables past 255 ride in RTA_TABLE')
  t.deepEqual(find('10.53.0.0/16'), { family: 4, dst: '10.53.0.0/16', table: 254, protocol: 3, scope: 253, type: 1, dev, src: '10.2.0.1' })
  t.deepEqual(find('10.54.0.0/16'), { family: 4, dst: '10.54.0.0/16', table: 254, protocol: 3, scope: 253, type: 6 })
  t.deepEqual(find('fd50::/64'), { family: 6, dst: 'fd50::/64', table: 254, protocol: 3, scope: 0, type: 1, gw: 'fd02::fe', dev, priority: 1024 })
  t.deepEqual(find('fd51::/64'), { family: 6, dst: 'fd51::/64', table: 254, protocol: 3, scope: 0, type: 1, dev, priority: 10, mtu: 1400 })
  t.is(nl.routes({ table: 100 }).length, 1, 'the table filter')
  t.true(nl.routes({ family: 6 }).every((r) => r.family === 6), 'the family filter')

  t.is(kerr(t, () => nl.addRoute({ family: 4, dst: '10.60.0.0/16', gw: '10.99.0.1' })).errno, 101, 'an unreachable gateway: ENETUNREACH')
  t.is(kerr(t, () => nl.addRoute({ family: 6, dst: 'fd60::/64', gw: 'fd99::1' })).errno, 113, 'IPv6: EHOSTUNREACH')
  t.is(kerr(t, () => nl.addRoute({ family: 4, dst: '10.61.0.0/16', gw: '1.2.3.4', onlink: true })).errno, 19, 'onlink needs a device')
  t.is(kerr(t, () => nl.addRoute({ family: 4, dst: '10.62.1.1/16', dev })).errno, 22, 'host bits in an IPv4 destination: EINVAL')
})

test('[kernel] routes: multipath (ECMP) for v4 and v6 reads back with its weights', (t) => {
  requireRoot()
  const sb = sandbox(t, 'ecmp')
  const p = sb.ns('a')
  const nl = open(t, sb, p)
  nl.addVeth({ name: 'v0', peerName: 'v1' })
  nl.addVeth({ name: 'w0', peerName: 'w1' })
  const v0 = must(nl, 'v0').index
  const w0 = must(nl, 'w0').index
  for (const [i, cidr4, cidr6] of [[v0, '10.2.0.1/24', 'fd02::1/64'], [w0, '10.3.0.1/24', 'fd03::1/64']] as const) {
    nl.setLink(i, { up: true })
    nl.addAddress(i, cidr4)
    nl.addAddress(i, cidr6)
  }
  nl.addRoute({ family: 4, dst: '10.80.0.0/16', multipath: [{ gw: '10.2.0.250', dev: v0 }, { gw: '10.3.0.250', dev: w0, weight: 3 }] })
  nl.addRoute({ family: 6, dst: 'fd80::/64', multipath: [{ gw: 'fd02::250', dev: v0, weight: 2 }, { gw: 'fd03::250', dev: w0 }] })
  t.deepEqual(nl.routes({ family: 4, table: 254 }).find((r) => r.dst === '10.80.0.0/16'), {
    family: 4, dst: '10.80.0.0/16', table: 254, protocol: 3, scope: 0, type: 1,
    multipath: [{ dev: v0, weight: 1, gw: '10.2.0.250' }, { dev: w0, weight: 3, gw: '10.3.0.250' }]
  })
  t.deepEqual(nl.routes({ family: 6, table: 254 }).find((r) => r.dst === 'fd80::/64'), {
    family: 6, dst: 'fd80::/64', table: 254, protocol: 3, scope: 0, type: 1, priority: 1024,
    multipath: [{ dev: v0, weight: 2, gw: 'fd02::250' }, { dev: w0, weight: 1, gw: 'fd03::250' }]
  })
  t.is(kerr(t, () => nl.addRoute({ family: 4, dst: '10.81.0.0/16', multipath: [{ gw: '10.2.0.250', dev: v0 }, { gw: '10.99.0.1', dev: w0 }] })).errno, 101, 'one bad hop fails the route')
  nl.deleteRoute({ family: 4, dst: '10.80.0.0/16' })
  t.falsy(nl.routes({ family: 4 }).find((r) => r.dst === '10.80.0.0/16'))
})

test('[kernel] routes: add of an existing route is EEXIST, replace swaps it in place, delete twice gives isNotFound', (t) => {
  requireRoot()
  const sb = sandbox(t, 'repl')
  const p = sb.ns('a')
  const nl = open(t, sb, p)
  upVeth(nl, ['10.2.0.1/24', 'fd02::1/64'])
  for (const [family, dst, gw1, gw2] of [[4, '10.50.0.0/16', '10.2.0.254', '10.2.0.253'], [6, 'fd50::/64', 'fd02::fe', 'fd02::fd']] as const) {
    nl.addRoute({ family, dst, gw: gw1 })
    const e = kerr(t, () => nl.addRoute({ family, dst, gw: gw2 }))
    t.true(isExists(e), `IPv${family}: the key is the destination and metric, not the gateway`)
    nl.addRoute({ family, dst, gw: gw2 }, { replace: true })
    t.deepEqual(nl.routes({ family, table: 254 }).filter((r) => r.dst === dst).map((r) => r.gw), [gw2], `IPv${family}: replaced in place`)
    nl.addRoute({ family, dst, gw: gw1, priority: 5 })
    t.is(nl.routes({ family, table: 254 }).filter((r) => r.dst === dst).length, 2, 'another metric is another route')
    const other = family === 4 ? '10.2.0.99' : 'fd02::99'
    t.true(isNotFound(kerr(t, () => nl.deleteRoute({ family, dst, gw: other }))), 'a delete names what must match')
    nl.deleteRoute({ family, dst, priority: 5 })
    nl.deleteRoute({ family, dst })
    const again = kerr(t, () => nl.deleteRoute({ family, dst }))
    t.true(isNotFound(again), `IPv${family}: second delete`)
    t.is(again.errno, 3)
  }
  nl.addRoute({ family: 4, dst: '10.55.0.0/16', gw: '10.2.0.200' }, { replace: true })
  t.truthy(nl.routes({ family: 4 }).find((r) => r.dst === '10.55.0.0/16'), 'replace creates when absent')
})

test('[kernel] neighbours: permanent v4 and v6 entries are set, replaced and deleted; the second delete is isNotFound', (t) => {
  requireRoot()
  const sb = sandbox(t, 'neig')
  const p = sb.ns('a')
  const nl = open(t, sb, p)
  const dev = upVeth(nl)
  nl.setNeighbour({ index: dev, ip: '10.2.0.9', mac: mac(9) })
  nl.setNeighbour({ index: dev, ip: '10.2.0.9', mac: mac(10) })
  nl.setNeighbour({ index: dev, ip: 'fd02::9', mac: mac(9) })
  const mine = nl.neighbours().filter((n) => n.index === dev && (n.state & 0x80) !== 0)
  t.deepEqual(mine.map((n) => ({ ...n })), [
    { index: dev, family: 4, ip: '10.2.0.9', mac: mac(10), state: 0x80, flags: 0, master: undefined },
    { index: dev, family: 6, ip: 'fd02::9', mac: mac(9), state: 0x80, flags: 0, master: undefined }
  ])
  t.deepEqual(nl.neighbours(6).filter((n) => (n.state & 0x80) !== 0).map((n) => n.ip), ['fd02::9'], 'the family filter')
  for (const ip of ['10.2.0.9', 'fd02::9']) {
    nl.deleteNeighbour({ index: dev, ip })
    const e = kerr(t, () => nl.deleteNeighbour({ index: dev, ip }))
    t.true(isNotFound(e), ip)
    t.is(e.errno, 2)
  }
  t.true(isNotFound(kerr(t, () => nl.setNeighbour({ index: 99999, ip: '10.2.0.9', mac: mac(9) }))))
  nl.setNeighbour({ index: dev, ip: '10.2.0.8', mac: mac(8) })
  nl.setLink(dev, { up: false })
  t.deepEqual(nl.neighbours(4).filter((n) => n.index === dev), [], 'a link going down drops even permanent entries')
})

test('[kernel] fdb: a VXLAN mac → remote VTEP entry is set, replaced, read back and deleted; the second delete is isNotFound', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'fdb')
  const p = sb.ns('a')
  const nl = open(t, sb, p)
  nl.addVxlan({ name: 'vx0', vni: 1, learning: false })
  const vx = must(nl, 'vx0').index
  nl.setFdb({ index: vx, mac: mac(0x41), dst: '192.168.5.5' })
  nl.setFdb({ index: vx, mac: mac(0x41), dst: '192.168.5.6' })
  nl.setFdb({ index: vx, mac: mac(0x42), dst: '192.168.5.42' })
  // The kernel dumps a VXLAN FDB in hash order.
  t.deepEqual(nl.fdb(vx).sort((x, y) => (x.mac < y.mac ? -1 : 1)), [
    { index: vx, mac: mac(0x41), dst: '192.168.5.6', state: 0x80, flags: 2, master: undefined },
    { index: vx, mac: mac(0x42), dst: '192.168.5.42', state: 0x80, flags: 2, master: undefined }
  ])
  const j = await ipJson<Array<{ mac: string, dst: string }>>(sb, p, 'bridge', ['fdb', 'show', 'dev', 'vx0'])
  t.deepEqual(j.map((x) => `${x.mac} ${x.dst}`).sort(), [`${mac(0x41)} 192.168.5.6`, `${mac(0x42)} 192.168.5.42`])
  t.is(kerr(t, () => nl.setFdb({ index: vx, mac: mac(0x44), dst: 'fd00::44' })).errno, 97, 'an IPv4 VXLAN takes IPv4 remotes only (EAFNOSUPPORT)')
  nl.addVxlan({ name: 'vx6', vni: 6, local: 'fd00::1' })
  nl.setFdb({ index: must(nl, 'vx6').index, mac: mac(0x46), dst: 'fd00::46' })
  t.deepEqual(nl.fdb(must(nl, 'vx6').index).map((f) => f.dst), ['fd00::46'], 'an IPv6 VXLAN takes IPv6 remotes')
  t.true(nl.fdb().some((f) => f.index === vx), 'fdb() without an index lists every device')

  t.is(kerr(t, () => nl.setFdb({ index: vx, mac: mac(0x43) })).errno, 22, 'a VXLAN entry needs its remote')
  t.is(kerr(t, () => nl.setFdb({ index: vx, mac: '00:00:00:00:00:00', dst: '192.168.5.7' })).errno, 95, 'the all-zeros default entry cannot be made by replace')
  nl.deleteFdb({ index: vx, mac: mac(0x41), dst: '192.168.5.99' })
  t.is(nl.fdb(vx).length, 2, 'naming another remote deletes nothing (and is not an error)')
  nl.deleteFdb({ index: vx, mac: mac(0x41), dst: '192.168.5.6' })
  const e = kerr(t, () => nl.deleteFdb({ index: vx, mac: mac(0x41), dst: '192.168.5.6' }))
  t.true(isNotFound(e))
  t.is(e.errno, 2)
  t.deepEqual(nl.fdb(vx).map((f) => f.mac), [mac(0x42)])
})

test('[kernel] a closed handle refuses further calls', (t) => {
  requireRoot()
  const sb = sandbox(t, 'clos')
  const nl = sb.netlink(sb.ns('a'))
  t.true(nl.links().length > 0)
  nl.close()
  t.regex(kerr(t, () => nl.links()).message, /closed/)
  t.notThrows(() => nl.close(), 'close is idempotent')
})

// ---------------------------------------------------------------------------------------------------------------------
// Namespaces

test('[kernel] NetNS: create, exists, list, isCurrent, run (sysctl inside), netlink, remove', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'nsop')
  const ns = new LinuxNetNS()
  const name = `${sb.id}-own`
  t.teardown(() => ns.remove(name))
  const hostForward = linuxSysctl.get('net/ipv4/ip_forward')

  const p = ns.create(name)
  t.is(p, `/run/netns/${name}`)
  t.is(ns.pathOf(name), p)
  t.true(ns.exists(p))
  t.true(ns.list().includes(name))
  t.false(ns.isCurrent(p))
  t.true(ns.isCurrent('/proc/thread-self/ns/net'))
  const dup = kerr(t, () => ns.create(name))
  t.is(dup.errno, 17)
  t.is(dup.message, `cannot create namespace file ${p}: EEXIST`, 'the errno named once')
  t.is(kerr(t, () => ns.pathOf('../etc')).code, 'KERNEL_ERR_NETNS')

  // run: inside, the namespace is current and /proc/sys/net is its own; outside again afterwards.
  const inside = ns.run(p, () => {
    linuxSysctl.set('net/ipv4/ip_forward', hostForward === '1' ? '0' : '1')
    const here = ns.netlink()
    try {
      return { current: ns.isCurrent(p), forward: linuxSysctl.get('net/ipv4/ip_forward'), lo: here.linkByName('lo')?.flags.up }
    } finally { here.close() }
  })
  t.deepEqual(inside, { current: true, forward: hostForward === '1' ? '0' : '1', lo: false })
  t.false(ns.isCurrent(p))
  t.is(linuxSysctl.get('net/ipv4/ip_forward'), hostForward, 'the host value is untouched')
  const seen = await run('ip', ['netns', 'exec', name, 'cat', '/proc/sys/net/ipv4/ip_forward'])
  t.is(seen.stdout.trim(), inside.forward, 'ip netns exec sees the value set inside')
  t.throws(() => ns.run(p, () => { throw new Error('boom') }), { message: 'boom' })
  t.false(ns.isCurrent(p), 'a throwing fn still returns home')
  const noKey = kerr(t, () => ns.run(p, () => linuxSysctl.get('net/ipv4/no_such_key')))
  t.is(noKey.errno, 2)
  t.is(noKey.message, 'read sysctl net/ipv4/no_such_key: ENOENT')

  const nl = ns.netlink(p)
  t.deepEqual(nl.links().map((l) => l.name), ['lo'], 'netlink(path) sees the new namespace')
  nl.close()

  ns.remove(name)
  t.false(ns.exists(p))
  t.false(ns.list().includes(name))
  t.notThrows(() => ns.remove(name), 'remove is tolerant when absent')
  const gone = kerr(t, () => ns.openFd(p))
  t.true(isNotFound(gone))
  t.is(gone.message, `failed to open netns "${p}": ENOENT`)
  t.true(isNotFound(kerr(t, () => ns.netlink(p))))
  t.true(isNotFound(kerr(t, () => ns.run(p, () => 1))))
})

test('[kernel] removing a namespace destroys its veth ends and, a moment later, their peers elsewhere', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'nsrm')
  const a = sb.ns('a')
  const b = sb.ns('b')
  const na = open(t, sb, a)
  const ns = new LinuxNetNS()
  const fd = ns.openFd(b)
  try { na.addVeth({ name: 'h0', peerName: 'c0', peerNetnsFd: fd }) } finally { ns.closeFd(fd) }
  sb.removeNs(b)
  // The kernel tears a dead namespace down from a workqueue: poll, do not expect it at once.
  let gone = false
  for (let i = 0; i < 50 && !gone; i++) {
    gone = na.linkByName('h0') === undefined
    if (!gone) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.true(gone, 'h0 went with its peer')
})

// ---------------------------------------------------------------------------------------------------------------------
// Parity: iproute2, the fake, Bun

test('[kernel] every read matches iproute2: ip -j link/addr/route/neigh and bridge -j fdb', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'ipj')
  const a = sb.ns('a')
  const b = sb.ns('b')
  const nl = open(t, sb, a)
  const ns = new LinuxNetNS()
  const fd = ns.openFd(b)
  try { nl.addVeth({ name: 'h0', peerName: 'c0', peerNetnsFd: fd, mac: mac(1), peerMac: mac(2) }) } finally { ns.closeFd(fd) }
  nl.addBridge({ name: 'br0' })
  nl.addVeth({ name: 'v0', peerName: 'v1', mtu: 1400 })
  const br = must(nl, 'br0').index
  const v0 = must(nl, 'v0').index
  nl.setLink(v0, { master: br, up: true })
  nl.setBridgePort(v0, { hairpin: true, learning: false })
  for (const n of ['v1', 'br0', 'h0']) nl.setLink(must(nl, n).index, { up: true })
  nl.setLink(must(nl, 'v1').index, { promisc: true })
  nl.addVxlan({ name: 'vx0', vni: 42, port: 4789, learning: false, local: '10.2.0.1', dev: br })
  nl.addAddress(br, '10.2.0.1/24')
  nl.addAddress(br, '10.2.0.2/24')
  nl.addAddress(br, '10.4.0.1/24', { noPrefixRoute: true })
  nl.addAddress(br, 'fd02::1/64')
  nl.addRoute({ family: 4, dst: '10.50.0.0/16', gw: '10.2.0.254', priority: 5, mtu: 1300, advmss: 1260, table: 100 })
  nl.addRoute({ family: 4, dst: '10.64.0.0/16', gw: '192.168.9.1', dev: br, onlink: true })
  nl.addRoute({ family: 4, dst: '10.80.0.0/16', multipath: [{ gw: '10.2.0.250', dev: br }, { gw: '10.2.0.251', dev: br, weight: 3 }] })
  nl.addRoute({ family: 4, dst: '10.54.0.0/16', type: 6 })
  nl.addRoute({ family: 6, dst: 'fd50::/64', gw: 'fd02::fe', priority: 7 })
  nl.setNeighbour({ index: br, ip: '10.2.0.9', mac: mac(9) })
  nl.setNeighbour({ index: br, ip: 'fd02::9', mac: mac(9) })
  nl.setFdb({ index: must(nl, 'vx0').index, mac: mac(0x41), dst: '192.168.5.5' })
  const compared = await assertMatchesIproute(t, sb, a, nl, 'vx0')
  t.true(compared >= 30, `compared ${compared} items`)
  const nb = open(t, sb, b)
  await assertMatchesIproute(t, sb, b, nb, 'c0')
})

type Step = [string, (a: Netlink, ix: (name: string) => number, fd: number, b: Netlink) => void]

/** One scenario for both the kernel and the fake: every step's outcome (or exact error) and the final state must agree. */
const scenario: Step[] = [
  ['veth same ns', (a) => a.addVeth({ name: 'v0', peerName: 'v1', mac: mac(0x10), peerMac: mac(0x11) })],
  ['veth dup name', (a) => a.addVeth({ name: 'v0', peerName: 'v9' })],
  ['veth dup peer', (a) => a.addVeth({ name: 'v8', peerName: 'v1' })],
  ['veth peer == name (burns an ifindex)', (a) => a.addVeth({ name: 'z0', peerName: 'z0' })],
  ['veth long name', (a) => a.addVeth({ name: 'a234567890123456', peerName: 'z1' })],
  ['veth bad peer name', (a) => a.addVeth({ name: 'z0', peerName: 'a/b' })],
  ['veth mtu too big', (a) => a.addVeth({ name: 'z0', peerName: 'z1', mtu: 70000 })],
  ['veth cross ns', (a, ix, fd) => a.addVeth({ name: 'h0', peerName: 'c0', peerNetnsFd: fd, mtu: 1400, mac: mac(0x20), peerMac: mac(0x21) })],
  ['veth cross ns peer clash', (a, ix, fd) => a.addVeth({ name: 'h1', peerName: 'c0', peerNetnsFd: fd })],
  ['veth bad fd', (a) => a.addVeth({ name: 'h1', peerName: 'c1', peerNetnsFd: 99999 })],
  ['bridge', (a) => a.addBridge({ name: 'br0', mtu: 1450 })],
  ['bridge dup', (a) => a.addBridge({ name: 'br0' })],
  ['bridge with mac', (a) => a.addBridge({ name: 'br1', mac: mac(0xff) })],
  ['dummy', (a) => a.addDummy({ name: 'd0' })],
  ['master', (a, ix) => a.setLink(ix('v0'), { master: ix('br0') })],
  ['master again', (a, ix) => a.setLink(ix('v0'), { master: ix('br0') })],
  ['master missing', (a, ix) => a.setLink(ix('h0'), { master: 99999 })],
  ['master not a bridge', (a, ix) => a.setLink(ix('h0'), { master: ix('v1') })],
  ['master lo', (a, ix) => a.setLink(1, { master: ix('br0') })],
  ['bridge into bridge', (a, ix) => a.setLink(ix('br1'), { master: ix('br0') })],
  ['port settings', (a, ix) => a.setBridgePort(ix('v0'), { hairpin: true, learning: false, isolated: true })],
  ['port settings on a non-port', (a, ix) => a.setBridgePort(ix('v1'), { hairpin: true })],
  ['port settings on a missing link', (a) => a.setBridgePort(99999, { hairpin: true })],
  ['br1 gets a port', (a, ix) => { a.addVeth({ name: 'p0', peerName: 'p1', mac: mac(0x05) }); a.setLink(ix('p0'), { master: ix('br1') }) }],
  ['up', (a, ix) => { for (const n of ['v0', 'v1', 'br0', 'h0', 'p0']) a.setLink(ix(n), { up: true }) }],
  ['port mtu (bridge follows)', (a, ix) => a.setLink(ix('v0'), { mtu: 1300 })],
  ['mtu too big', (a, ix) => a.setLink(ix('v0'), { mtu: 70000 })],
  ['mtu too small', (a, ix) => a.setLink(ix('v0'), { mtu: 10 })],
  ['multicast mac', (a, ix) => a.setLink(ix('v1'), { mac: '01:00:00:00:00:01' })],
  ['zero mac', (a, ix) => a.setLink(ix('v1'), { mac: '00:00:00:00:00:00' })],
  ['mac', (a, ix) => a.setLink(ix('v1'), { mac: mac(0x12) })],
  ['promisc', (a, ix) => a.setLink(ix('v1'), { promisc: true })],
  ['rename onto a taken name', (a, ix) => a.setLink(ix('v1'), { name: 'v0' })],
  ['rename too long', (a, ix) => a.setLink(ix('v1'), { name: 'a234567890123456' })],
  ['rename to .', (a, ix) => a.setLink(ix('v1'), { name: '.' })],
  ['rename', (a, ix) => a.setLink(ix('v1'), { name: 'v1x' })],
  ['setLink on a missing link', (a) => a.setLink(99999, { up: true })],
  ['setLink half done', (a, ix) => a.setLink(ix('p0'), { mtu: 1234, master: 99999 })],
  ['vxlan (MTU 1250 under a 1300 underlay: no IPv6)', (a, ix) => a.addVxlan({ name: 'vx0', vni: 42, port: 4789, learning: false, local: '10.2.0.1', dev: ix('br0'), mac: mac(0x30) })],
  ['vxlan same vni', (a) => a.addVxlan({ name: 'vx1', vni: 42, port: 4789 })],
  ['vxlan same vni, other port', (a) => a.addVxlan({ name: 'vx1', vni: 42, mac: mac(0x31) })],
  ['vxlan same vni over v6', (a) => a.addVxlan({ name: 'vx6', vni: 42, local: 'fd00::1', mac: mac(0x36) })],
  ['vxlan vni too big', (a) => a.addVxlan({ name: 'vx2', vni: 1 << 24 })],
  ['vxlan missing dev', (a) => a.addVxlan({ name: 'vx2', vni: 2, dev: 99999 })],
  ['vxlan mtu clamped', (a, ix) => a.addVxlan({ name: 'vx3', vni: 3, dev: ix('br0'), mtu: 9000, mac: mac(0x33) })],
  ['vxlan mtu over the underlay', (a, ix) => a.setLink(ix('vx3'), { mtu: 1400 })],
  ['addr4', (a, ix) => a.addAddress(ix('br0'), '10.2.0.1/24')],
  ['addr4 dup', (a, ix) => a.addAddress(ix('br0'), '10.2.0.1/24')],
  ['addr4 same address other prefix', (a, ix) => a.addAddress(ix('br0'), '10.2.0.1/16')],
  ['addr4 secondary', (a, ix) => a.addAddress(ix('br0'), '10.2.0.2/24')],
  ['addr4 /32', (a, ix) => a.addAddress(ix('br0'), '10.5.0.1/32')],
  ['addr4 /31', (a, ix) => a.addAddress(ix('br0'), '10.6.0.0/31')],
  ['addr4 noprefixroute', (a, ix) => a.addAddress(ix('br0'), '10.4.0.1/24', { noPrefixRoute: true })],
  ['addr4 scope link', (a, ix) => a.addAddress(ix('br0'), '169.254.1.1/16', { scope: 253 })],
  ['addr4 on a down link', (a, ix) => a.addAddress(ix('vx0'), '10.7.0.1/24')],
  ['addr4 on a missing link', (a) => a.addAddress(99999, '10.9.0.1/24')],
  ['addr6', (a, ix) => a.addAddress(ix('br0'), 'fd02::1/64')],
  ['addr6 dup', (a, ix) => a.addAddress(ix('br0'), 'fd02::1/64')],
  ['addr6 same address other prefix', (a, ix) => a.addAddress(ix('br0'), 'fd02::1/48')],
  ['addr6 /128', (a, ix) => a.addAddress(ix('br0'), 'fd09::9/128')],
  ['addr6 scope is derived', (a, ix) => a.addAddress(ix('br0'), 'fd03::1/64', { scope: 253 })],
  ['addr6 noprefixroute', (a, ix) => a.addAddress(ix('br0'), 'fd04::1/64', { noPrefixRoute: true })],
  ['addr6 on a link without IPv6', (a, ix) => a.addAddress(ix('vx0'), 'fd07::1/64')],
  ['addr6 on a missing link', (a) => a.addAddress(99999, 'fd05::1/64')],
  ['delete an absent address', (a, ix) => a.deleteAddress(ix('br0'), '10.9.0.1/24')],
  ['delete with the wrong prefix', (a, ix) => a.deleteAddress(ix('br0'), '10.5.0.1/24')],
  ['delete an absent v6 address', (a, ix) => a.deleteAddress(ix('br0'), 'fd06::1/64')],
  ['route via gw', (a) => a.addRoute({ family: 4, dst: '10.50.0.0/16', gw: '10.2.0.254' })],
  ['route dup', (a) => a.addRoute({ family: 4, dst: '10.50.0.0/16', gw: '10.2.0.254' })],
  ['route dup, other gw', (a) => a.addRoute({ family: 4, dst: '10.50.0.0/16', gw: '10.2.0.253' })],
  ['route other metric', (a) => a.addRoute({ family: 4, dst: '10.50.0.0/16', gw: '10.2.0.253', priority: 5 })],
  ['route unreachable gw', (a) => a.addRoute({ family: 4, dst: '10.51.0.0/16', gw: '10.99.0.1' })],
  ['route gw on the wrong dev', (a, ix) => a.addRoute({ family: 4, dst: '10.51.0.0/16', gw: '10.2.0.254', dev: ix('v1x') })],
  ['route gw is our own address', (a) => a.addRoute({ family: 4, dst: '10.52.0.0/16', gw: '10.2.0.1' })],
  ['route gw is the broadcast address', (a) => a.addRoute({ family: 4, dst: '10.53.0.0/16', gw: '10.2.0.255' })],
  ['route dev with metrics', (a, ix) => a.addRoute({ family: 4, dst: '10.60.0.0/16', dev: ix('v1x'), mtu: 1300, advmss: 1260 })],
  ['route gw via a dev route', (a) => a.addRoute({ family: 4, dst: '10.61.0.0/16', gw: '10.60.0.1' })],
  ['route gw via a gw route', (a) => a.addRoute({ family: 4, dst: '10.62.0.0/16', gw: '10.50.0.1' })],
  ['route dev down', (a, ix) => a.addRoute({ family: 4, dst: '10.63.0.0/16', dev: ix('vx0') })],
  ['route onlink', (a, ix) => a.addRoute({ family: 4, dst: '10.64.0.0/16', gw: '192.168.9.1', dev: ix('h0'), onlink: true })],
  ['route onlink without dev', (a) => a.addRoute({ family: 4, dst: '10.65.0.0/16', gw: '192.168.9.1', onlink: true })],
  ['route onlink dev down', (a, ix) => a.addRoute({ family: 4, dst: '10.65.0.0/16', gw: '192.168.9.1', dev: ix('vx0'), onlink: true })],
  ['route without dev or gw', (a) => a.addRoute({ family: 4, dst: '10.66.0.0/16' })],
  ['route with host bits', (a, ix) => a.addRoute({ family: 4, dst: '10.67.1.1/16', dev: ix('br0') })],
  ['route src', (a, ix) => a.addRoute({ family: 4, dst: '10.68.0.0/16', dev: ix('br0'), src: '10.2.0.1' })],
  ['route src not ours', (a, ix) => a.addRoute({ family: 4, dst: '10.69.0.0/16', dev: ix('br0'), src: '10.9.9.9' })],
  ['route table 100', (a) => a.addRoute({ family: 4, dst: '0.0.0.0/0', gw: '10.2.0.254', table: 100 })],
  ['route table 1000', (a) => a.addRoute({ family: 4, dst: '0.0.0.0/0', gw: '10.2.0.254', table: 1000, priority: 7 })],
  ['route blackhole', (a) => a.addRoute({ family: 4, dst: '10.70.0.0/16', type: 6 })],
  ['route ecmp', (a, ix) => a.addRoute({ family: 4, dst: '10.80.0.0/16', multipath: [{ gw: '10.2.0.250', dev: ix('br0') }, { gw: '10.2.0.251', dev: ix('br0'), weight: 3 }] })],
  ['route ecmp with a bad hop', (a, ix) => a.addRoute({ family: 4, dst: '10.81.0.0/16', multipath: [{ gw: '10.2.0.250', dev: ix('br0') }, { gw: '10.99.0.1', dev: ix('br0') }] })],
  ['route replace', (a) => a.addRoute({ family: 4, dst: '10.50.0.0/16', gw: '10.2.0.200' }, { replace: true })],
  ['route replace creates', (a) => a.addRoute({ family: 4, dst: '10.55.0.0/16', gw: '10.2.0.200' }, { replace: true })],
  ['route6 via gw', (a) => a.addRoute({ family: 6, dst: 'fd50::/64', gw: 'fd02::fe' })],
  ['route6 dup, other gw', (a) => a.addRoute({ family: 6, dst: 'fd50::/64', gw: 'fd02::fd' })],
  ['route6 unreachable gw', (a) => a.addRoute({ family: 6, dst: 'fd51::/64', gw: 'fd99::1' })],
  ['route6 gw on the wrong dev', (a, ix) => a.addRoute({ family: 6, dst: 'fd51::/64', gw: 'fd02::fe', dev: ix('v1x') })],
  ['route6 gw is our own address', (a) => a.addRoute({ family: 6, dst: 'fd51::/64', gw: 'fd02::1' })],
  ['route6 gw via a gw route', (a) => a.addRoute({ family: 6, dst: 'fd51::/64', gw: 'fd50::1' })],
  ['route6 link-local gw without dev', (a) => a.addRoute({ family: 6, dst: 'fd52::/64', gw: 'fe80::1' })],
  ['route6 link-local gw with dev', (a, ix) => a.addRoute({ family: 6, dst: 'fd52::/64', gw: 'fe80::1', dev: ix('v1x') })],
  ['route6 host bits are masked', (a, ix) => a.addRoute({ family: 6, dst: 'fd53::1/64', dev: ix('br0'), priority: 10 })],
  ['route6 via a link without IPv6', (a, ix) => a.addRoute({ family: 6, dst: 'fd54::/64', dev: ix('vx0') })],
  ['route6 unreachable type', (a) => a.addRoute({ family: 6, dst: 'fd55::/64', type: 7 })],
  ['route6 ecmp', (a, ix) => a.addRoute({ family: 6, dst: 'fd80::/64', multipath: [{ gw: 'fd02::250', dev: ix('br0') }, { gw: 'fd02::251', dev: ix('br0'), weight: 2 }] })],
  ['route6 replace', (a) => a.addRoute({ family: 6, dst: 'fd50::/64', gw: 'fd02::fc' }, { replace: true })],
  ['route family mismatch', (a, ix) => a.addRoute({ family: 4, dst: 'fd53::/64', dev: ix('br0') })],
  ['delete route', (a) => a.deleteRoute({ family: 4, dst: '10.55.0.0/16' })],
  ['delete route again', (a) => a.deleteRoute({ family: 4, dst: '10.55.0.0/16' })],
  ['delete route, wrong gw', (a) => a.deleteRoute({ family: 4, dst: '10.50.0.0/16', gw: '10.2.0.1' })],
  ['delete route by metric', (a) => a.deleteRoute({ family: 4, dst: '10.50.0.0/16', priority: 5 })],
  ['delete blackhole as unicast', (a) => a.deleteRoute({ family: 4, dst: '10.70.0.0/16' })],
  ['delete route, missing dev', (a) => a.deleteRoute({ family: 4, dst: '10.50.0.0/16', dev: 99999 })],
  ['delete route in table 1000', (a) => a.deleteRoute({ family: 4, dst: '0.0.0.0/0', table: 1000 })],
  ['delete route6 by dev', (a, ix) => a.deleteRoute({ family: 6, dst: 'fd53::/64', dev: ix('br0') })],
  ['delete route6 again', (a, ix) => a.deleteRoute({ family: 6, dst: 'fd53::/64', dev: ix('br0') })],
  ['delete route6 of another type', (a) => a.deleteRoute({ family: 6, dst: 'fd55::/64' })],
  ['delete a connected route', (a) => a.deleteRoute({ family: 4, dst: '10.6.0.0/31' })],
  ['neighbour', (a, ix) => a.setNeighbour({ index: ix('br0'), ip: '10.2.0.9', mac: mac(0x09) })],
  ['neighbour replace', (a, ix) => a.setNeighbour({ index: ix('br0'), ip: '10.2.0.9', mac: mac(0x0a) })],
  ['neighbour v6', (a, ix) => a.setNeighbour({ index: ix('br0'), ip: 'fd02::9', mac: mac(0x09) })],
  ['neighbour on v1x', (a, ix) => a.setNeighbour({ index: ix('v1x'), ip: '10.60.0.9', mac: mac(0x0b) })],
  ['neighbour on a missing link', (a) => a.setNeighbour({ index: 99999, ip: '10.2.0.9', mac: mac(0x09) })],
  ['delete neighbour', (a, ix) => a.deleteNeighbour({ index: ix('br0'), ip: '10.2.0.9' })],
  ['delete neighbour again', (a, ix) => a.deleteNeighbour({ index: ix('br0'), ip: '10.2.0.9' })],
  ['delete neighbour on a missing link', (a) => a.deleteNeighbour({ index: 99999, ip: '10.2.0.9' })],
  ['fdb', (a, ix) => a.setFdb({ index: ix('vx0'), mac: mac(0x40), dst: '192.168.5.5' })],
  ['fdb replace', (a, ix) => a.setFdb({ index: ix('vx0'), mac: mac(0x40), dst: '192.168.5.6' })],
  ['fdb second', (a, ix) => a.setFdb({ index: ix('vx0'), mac: mac(0x41), dst: '192.168.5.7' })],
  ['fdb without dst', (a, ix) => a.setFdb({ index: ix('vx0'), mac: mac(0x42) })],
  ['fdb v6 dst on a v4 vxlan', (a, ix) => a.setFdb({ index: ix('vx0'), mac: mac(0x44), dst: 'fd00::44' })],
  ['fdb v6 dst on a v6 vxlan', (a, ix) => a.setFdb({ index: ix('vx6'), mac: mac(0x46), dst: 'fd00::46' })],
  ['fdb zero mac', (a, ix) => a.setFdb({ index: ix('vx0'), mac: '00:00:00:00:00:00', dst: '192.168.5.8' })],
  ['fdb on a missing link', (a) => a.setFdb({ index: 99999, mac: mac(0x42) })],
  ['fdb on a veth', (a, ix) => a.setFdb({ index: ix('v1x'), mac: mac(0x43) })],
  ['delete fdb naming another dst', (a, ix) => a.deleteFdb({ index: ix('vx0'), mac: mac(0x41), dst: '192.168.5.9' })],
  ['delete fdb', (a, ix) => a.deleteFdb({ index: ix('vx0'), mac: mac(0x40), dst: '192.168.5.6' })],
  ['delete fdb again', (a, ix) => a.deleteFdb({ index: ix('vx0'), mac: mac(0x40), dst: '192.168.5.6' })],
  ['delete fdb on a missing link', (a) => a.deleteFdb({ index: 99999, mac: mac(0x40) })],
  ['delete a primary (its secondary goes too)', (a, ix) => a.deleteAddress(ix('br0'), '10.2.0.1/24')],
  ['add it back', (a, ix) => a.addAddress(ix('br0'), '10.2.0.1/24')],
  ['routes through v1x', (a, ix) => { a.addRoute({ family: 4, dst: '10.90.0.0/16', gw: '10.60.0.1' }); a.addRoute({ family: 6, dst: 'fd90::/64', dev: ix('v1x') }) }],
  ['addresses on v1x', (a, ix) => { a.addAddress(ix('v1x'), '10.60.0.2/24'); a.addAddress(ix('v1x'), 'fd60::2/64') }],
  ['v1x down', (a, ix) => a.setLink(ix('v1x'), { up: false })],
  ['v1x up', (a, ix) => a.setLink(ix('v1x'), { up: true })],
  ['mtu under 1280 drops IPv6', (a, ix) => { a.addAddress(ix('h0'), 'fd70::1/64'); a.setLink(ix('h0'), { mtu: 1200 }) }],
  ['move p1 away', (a, ix, fd) => { a.setLink(ix('p1'), { mac: mac(0x06) }); a.setLink(ix('p1'), { netnsFd: fd }) }],
  ['move a bridge', (a, ix, fd) => a.setLink(ix('br1'), { netnsFd: fd })],
  ['move onto a taken name', (a, ix, fd, b) => { b.addBridge({ name: 'v1x', mac: mac(0x07) }); a.setLink(ix('v1x'), { netnsFd: fd }) }],
  ['delete lo', (a) => a.deleteLink(1)],
  ['delete v1x (v0 and the routes go too)', (a, ix) => a.deleteLink(ix('v1x'))],
  ['delete it again', (a) => a.deleteLink(99999)],
  ['delete br0 (vx0 and vx3 ride on it)', (a, ix) => a.deleteLink(ix('br0'))],
  ['lo up', (a) => a.setLink(1, { up: true })]
]

function runScenario (ns: { netlink: (p: string) => Netlink, openFd: (p: string) => number, closeFd: (fd: number) => void }, pa: string, pb: string): Record<string, string[]> {
  const a = ns.netlink(pa)
  const b = ns.netlink(pb)
  const fd = ns.openFd(pb)
  const log: string[] = []
  const ix = (name: string): number => a.linkByName(name)?.index ?? 99999
  try {
    for (const [label, fn] of scenario) {
      try {
        fn(a, ix, fd, b)
        log.push(`${label}: ok`)
      } catch (e) {
        log.push(`${label}: ${e instanceof KernelError ? `errno ${e.errno}: ${e.message}` : String(e)}`)
      }
    }
    return {
      log,
      a: dumpNetlink(a, { macs: true }).split('\n'),
      b: dumpNetlink(b, { macs: true }).split('\n'),
      links: a.links().map((l) => `${l.index} ${l.name} running=${l.flags.running} operstate=${l.operstate} parent=${l.parentIndex} netnsid=${l.linkNetnsid} promiscuity=${l.promiscuity}`),
      local: a.routes({ family: 4, table: 255 }).map((r) => JSON.stringify(r)).sort(),
      addresses: a.addresses().filter((x) => x.scope !== 253 || x.family === 4).map((x) => JSON.stringify({ ...x, flags: x.flags & ~0x40 }))
    }
  } finally {
    ns.closeFd(fd)
    a.close()
    b.close()
  }
}

test('[kernel] the fake agrees with this kernel: one scenario, the same outcome and error at every step, the same state after', (t) => {
  requireRoot()
  const sb = sandbox(t, 'fake')
  const kernel = runScenario(new LinuxNetNS(), sb.ns('a'), sb.ns('b'))
  const fake = fakeNetNS(ciKernel)
  const fa = fake.create('a')
  const fb = fake.create('b')
  // The sandbox brings lo up in its namespaces, as runtimes do.
  for (const p of [fa, fb]) { const nl = fake.netlink(p); nl.setLink(1, { up: true }); nl.close() }
  const faked = runScenario(fake, fa, fb)
  t.true(kernel.log?.filter((l) => !l.endsWith(': ok')).length as number > 50, 'the scenario exercises plenty of errors')
  for (const k of Object.keys(kernel)) t.deepEqual(faked[k], kernel[k], k)
})

test('[kernel] under Bun the same kernel layer works through bun:ffi', async (t) => {
  requireRoot()
  t.true(fs.existsSync(bunExe), `Bun is expected at ${bunExe} (npm install)`)
  const sb = sandbox(t, 'bun')
  const a = sb.ns('a')
  const b = sb.ns('b')
  const own = `${sb.id}-bun`
  t.teardown(() => new LinuxNetNS().remove(own))
  const script = path.join(sb.dir, 'kernel-under-bun.mjs')
  fs.writeFileSync(script, `
import { LinuxNetNS, linuxSysctl, isExists, libc } from ${JSON.stringify(path.join(root, 'dist', 'kernel', 'index.js'))}
const [pa, pb, own] = process.argv.slice(2)
const ns = new LinuxNetNS()
const nl = ns.netlink(pa)
const fd = ns.openFd(pb)
try { nl.addVeth({ name: 'bh0', peerName: 'bc0', peerNetnsFd: fd, mtu: 1400 }) } finally { ns.closeFd(fd) }
nl.addBridge({ name: 'bbr0' })
const h0 = nl.linkByName('bh0').index, br = nl.linkByName('bbr0').index
nl.setLink(h0, { master: br, up: true })
nl.setLink(br, { up: true })
nl.addAddress(br, '10.77.0.1/24')
let dup = false
try { nl.addAddress(br, '10.77.0.1/24') } catch (e) { dup = isExists(e) }
nl.addRoute({ family: 4, dst: '10.78.0.0/16', gw: '10.77.0.254', priority: 9 })
nl.setNeighbour({ index: br, ip: '10.77.0.9', mac: '02:00:00:00:00:09' })
const forward = ns.run(pa, () => { linuxSysctl.set('net/ipv4/ip_forward', '1'); return linuxSysctl.get('net/ipv4/ip_forward') })
const p = ns.create(own)
const created = ns.exists(p)
ns.remove(own)
console.log(JSON.stringify({
  bun: typeof Bun !== 'undefined', tid: libc().gettid() > 0, dup, forward, created, removed: !ns.exists(p),
  links: nl.links().map((l) => l.name + ':' + (l.kind ?? '-') + ':' + l.mtu),
  route: nl.routes({ family: 4, table: 254 }).find((r) => r.dst === '10.78.0.0/16')
}))
nl.close()
`)
  const r = await run(bunExe, [script, a, b, own])
  const out = JSON.parse(r.stdout) as Record<string, unknown>
  t.like(out, { bun: true, tid: true, dup: true, forward: '1', created: true, removed: true })
  t.deepEqual([...(out.links as string[])].sort(), ['bbr0:bridge:1400', 'bh0:veth:1400', 'lo:-:65536'], 'the bridge took its port\'s MTU')
  // Node reads back what Bun made.
  const na = open(t, sb, a)
  const nb = open(t, sb, b)
  const h0 = must(na, 'bh0')
  const c0 = must(nb, 'bc0')
  t.is(h0.parentIndex, c0.index)
  t.is(h0.master, must(na, 'bbr0').index)
  t.is(must(na, 'bbr0').mtu, 1400)
  t.deepEqual(out.route, na.routes({ family: 4, table: 254 }).find((x) => x.dst === '10.78.0.0/16'))
  t.like(out.route, { gw: '10.77.0.254', priority: 9 })
  t.truthy(na.neighbours(4).find((n) => n.ip === '10.77.0.9' && n.mac === '02:00:00:00:00:09'))
  t.false(new LinuxNetNS().exists(`/run/netns/${own}`))
  t.is((await sb.exec(a, 'cat', ['/proc/sys/net/ipv4/ip_forward'])).stdout.trim(), '1')
})
