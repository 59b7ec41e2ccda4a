/**
 * The fake rtnetlink and namespaces (kernel/testing), without root. What the
 * fake does is what the CI kernel was seen to do; e2e/kernel/netlink.test.ts
 * runs one long scenario through both and requires identical outcomes.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'
import { KernelError, isExists, isNotFound } from './index.js'
import type { Link, NetNS, Netlink } from './index.js'
import { ciKernel, dumpNetlink, fakeNetNS, fakeNetlink } from './testing/index.js'
import type { FakeNetlink } from './testing/index.js'

const mac = (n: number): string => `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`

function must (nl: Netlink, name: string): Link {
  const l = nl.linkByName(name)
  if (l === undefined) throw new Error(`link ${name} missing`)
  return l
}

function kerr (t: ExecutionContext, fn: () => unknown): KernelError {
  const e = t.throws(fn)
  if (!(e instanceof KernelError)) throw new Error(`expected a KernelError, got ${String(e)}`)
  return e
}

/** A namespace with v0/v1 up and 10.2.0.1/24 + fd02::1/64 on v0, the start of most route tests. */
function withLink (): { nl: FakeNetlink, v0: number, v1: number } {
  const nl = fakeNetlink()
  nl.addVeth({ name: 'v0', peerName: 'v1' })
  const v0 = must(nl, 'v0').index
  const v1 = must(nl, 'v1').index
  nl.setLink(v0, { up: true })
  nl.setLink(v1, { up: true })
  nl.addAddress(v0, '10.2.0.1/24')
  nl.addAddress(v0, 'fd02::1/64')
  return { nl, v0, v1 }
}

test('a fake namespace starts like a fresh one: only lo, down, with the shape the real parser returns', (t) => {
  const nl: Netlink = fakeNetlink()
  t.deepEqual(nl.links(), [{
    index: 1,
    name: 'lo',
    kind: undefined,
    mtu: 65536,
    mac: '00:00:00:00:00:00',
    flags: { up: false, promisc: false, loopback: true, running: false, noarp: false },
    operstate: 'down',
    master: undefined,
    parentIndex: undefined,
    linkNetnsid: undefined,
    bridgePort: undefined,
    vxlan: undefined,
    bridge: undefined,
    promiscuity: 0
  }])
  t.deepEqual(nl.addresses(), [])
  t.deepEqual(nl.routes(), [])
  nl.setLink(1, { up: true })
  t.deepEqual(nl.addresses().map((a) => `${a.address}/${a.prefixLen} scope ${a.scope}`), ['127.0.0.1/8 scope 254', '::1/128 scope 254'], 'lo up gets its addresses')
  t.deepEqual(nl.routes({ table: 255 }).map((r) => r.dst), ['127.0.0.0/8', '127.0.0.1/32', '127.255.255.255/32', '::1/128'])
  t.deepEqual(nl.routes({ table: 254 }), [], 'and no main-table routes')
})

test('veth: the peer registers first, each end names the other, carrier only when both ends are up', (t) => {
  const nl = fakeNetlink()
  nl.addVeth({ name: 'v0', peerName: 'v1', mtu: 1400, mac: mac(1), peerMac: mac(2) })
  const v0 = must(nl, 'v0')
  const v1 = must(nl, 'v1')
  t.like(v1, { index: 2, kind: 'veth', mtu: 1400, mac: mac(2), parentIndex: 3, linkNetnsid: undefined })
  t.like(v0, { index: 3, kind: 'veth', mtu: 1400, mac: mac(1), parentIndex: 2 })
  t.deepEqual(nl.linkByIndex(3), v0)
  t.is(nl.linkByIndex(99), undefined)
  t.is(nl.linkByName('nope'), undefined)
  nl.setLink(v0.index, { up: true })
  t.like(must(nl, 'v0'), { flags: { up: true, running: false }, operstate: 'lowerlayerdown' })
  nl.setLink(v1.index, { up: true })
  t.like(must(nl, 'v0'), { flags: { up: true, running: true }, operstate: 'up' })
  t.like(must(nl, 'v1'), { flags: { up: true, running: true }, operstate: 'up' })
  nl.addVeth({ name: 'a0', peerName: 'a1' })
  t.notDeepEqual(must(nl, 'a0').mac, must(nl, 'a1').mac, 'generated MACs differ')
  t.regex(must(nl, 'a0').mac, /^fa:ce:(?:[0-9a-f]{2}:){3}[0-9a-f]{2}$/, 'locally administered unicast')
})

test('errors carry the kernel errno and the same message as the real implementation', (t) => {
  const { nl, v0, v1 } = withLink()
  nl.addBridge({ name: 'br0' })
  nl.addBridge({ name: 'br1' })
  nl.addVxlan({ name: 'vx0', vni: 1 })
  const br = must(nl, 'br0').index
  const br1 = must(nl, 'br1').index
  const vx = must(nl, 'vx0').index
  const rows: Array<{ name: string, fn: () => unknown, errno: number, message: string }> = [
    { name: 'veth name taken', fn: () => nl.addVeth({ name: 'v0', peerName: 'x' }), errno: 17, message: 'add veth v0: EEXIST' },
    { name: 'bridge name taken', fn: () => nl.addBridge({ name: 'br0' }), errno: 17, message: 'add bridge br0: EEXIST' },
    { name: 'name too long', fn: () => nl.addBridge({ name: 'a234567890123456' }), errno: 34, message: 'add bridge a234567890123456 (Attribute failed policy validation): ERANGE' },
    { name: 'name with a slash', fn: () => nl.addBridge({ name: 'a/b' }), errno: 22, message: 'add bridge a/b: EINVAL' },
    { name: 'vni taken', fn: () => nl.addVxlan({ name: 'vx1', vni: 1 }), errno: 17, message: 'add vxlan vx1 (A VXLAN device with the specified VNI already exists): EEXIST' },
    { name: 'vni too big', fn: () => nl.addVxlan({ name: 'vx1', vni: 1 << 24 }), errno: 34, message: 'add vxlan vx1 (VXLAN ID must be lower than 16777216): ERANGE' },
    { name: 'delete a missing link', fn: () => nl.deleteLink(99), errno: 19, message: 'delete link #99: ENODEV' },
    { name: 'delete lo', fn: () => nl.deleteLink(1), errno: 95, message: 'delete link #1: EOPNOTSUPP' },
    { name: 'set a missing link', fn: () => nl.setLink(99, { up: true }), errno: 19, message: 'set link #99: ENODEV' },
    { name: 'mtu too big', fn: () => nl.setLink(v0, { mtu: 70000 }), errno: 22, message: `set link #${v0} (mtu greater than device maximum): EINVAL` },
    { name: 'multicast mac', fn: () => nl.setLink(v0, { mac: '01:00:00:00:00:01' }), errno: 99, message: `set link #${v0}: EADDRNOTAVAIL` },
    { name: 'rename onto a taken name', fn: () => nl.setLink(v0, { name: 'v1' }), errno: 17, message: `set link #${v0}: EEXIST` },
    { name: 'master missing', fn: () => nl.setLink(v1, { master: 99 }), errno: 22, message: `set link #${v1}: EINVAL` },
    { name: 'master not a bridge', fn: () => nl.setLink(v1, { master: v0 }), errno: 95, message: `set link #${v1}: EOPNOTSUPP` },
    { name: 'bridge into bridge', fn: () => nl.setLink(br1, { master: br }), errno: 40, message: `set link #${br1} (Can not enslave a bridge to a bridge): ELOOP` },
    { name: 'port settings on a non-port', fn: () => nl.setBridgePort(v1, { hairpin: true }), errno: 95, message: `set bridge port #${v1}: EOPNOTSUPP` },
    { name: 'port settings on a missing link', fn: () => nl.setBridgePort(99, { hairpin: true }), errno: 19, message: 'set bridge port #99 (unknown ifindex): ENODEV' },
    { name: 'address taken', fn: () => nl.addAddress(v0, '10.2.0.1/24'), errno: 17, message: `add address 10.2.0.1/24 on #${v0} (ipv4: Address already assigned): EEXIST` },
    { name: 'v6 address taken under another prefix', fn: () => nl.addAddress(v0, 'fd02::1/48'), errno: 17, message: `add address fd02::1/48 on #${v0} (ipv6: address already assigned): EEXIST` },
    { name: 'address on a missing link', fn: () => nl.addAddress(99, '10.9.0.1/24'), errno: 19, message: 'add address 10.9.0.1/24 on #99 (ipv4: Device not found): ENODEV' },
    { name: 'delete an absent address', fn: () => nl.deleteAddress(v0, '10.2.0.1/16'), errno: 99, message: `delete address 10.2.0.1/16 on #${v0} (ipv4: Address not found): EADDRNOTAVAIL` },
    { name: 'route exists', fn: () => nl.addRoute({ family: 4, dst: '10.2.0.0/24', dev: v0 }), errno: 17, message: 'add route 10.2.0.0/24: EEXIST' },
    { name: 'gateway unreachable', fn: () => nl.addRoute({ family: 4, dst: '10.9.0.0/16', gw: '10.99.0.1' }), errno: 101, message: 'add route 10.9.0.0/16 via 10.99.0.1 (Nexthop has invalid gateway): ENETUNREACH' },
    { name: 'v6 gateway unreachable', fn: () => nl.addRoute({ family: 6, dst: 'fd09::/64', gw: 'fd99::1' }), errno: 113, message: 'add route fd09::/64 via fd99::1: EHOSTUNREACH' },
    { name: 'delete an absent route', fn: () => nl.deleteRoute({ family: 4, dst: '10.9.0.0/16' }), errno: 3, message: 'delete route 10.9.0.0/16: ESRCH' },
    { name: 'family mismatch', fn: () => nl.addRoute({ family: 4, dst: 'fd00::/64', dev: v0 }), errno: 0, message: 'route fd00::/64: family mismatch' },
    { name: 'neighbour on a missing link', fn: () => nl.setNeighbour({ index: 99, ip: '10.2.0.9', mac: mac(9) }), errno: 19, message: 'set neighbour 10.2.0.9: ENODEV' },
    { name: 'delete an absent neighbour', fn: () => nl.deleteNeighbour({ index: v0, ip: '10.2.0.9' }), errno: 2, message: 'delete neighbour 10.2.0.9: ENOENT' },
    { name: 'fdb without a remote on vxlan', fn: () => nl.setFdb({ index: vx, mac: mac(9) }), errno: 22, message: `set fdb ${mac(9)}: EINVAL` },
    { name: 'delete an absent fdb entry', fn: () => nl.deleteFdb({ index: vx, mac: mac(9) }), errno: 2, message: `delete fdb ${mac(9)}: ENOENT` },
    { name: 'fdb on a missing link', fn: () => nl.setFdb({ index: 99, mac: mac(9) }), errno: 19, message: `set fdb ${mac(9)} (unknown ifindex): ENODEV` }
  ]
  for (const row of rows) {
    const e = kerr(t, row.fn)
    t.is(e.errno, row.errno, row.name)
    t.is(e.message, row.message, row.name)
    t.is(e.code, 'KERNEL_ERR_NETLINK', row.name)
  }
  // The helpers callers use to tolerate idempotent operations.
  t.true(isExists(kerr(t, () => nl.addVeth({ name: 'v0', peerName: 'x' }))))
  for (const fn of [() => nl.deleteLink(99), () => nl.deleteAddress(v0, '10.9.9.9/24'), () => nl.deleteRoute({ family: 6, dst: 'fd99::/64' }), () => nl.deleteNeighbour({ index: v0, ip: 'fd02::9' }), () => nl.deleteFdb({ index: vx, mac: mac(8) })]) {
    t.true(isNotFound(kerr(t, fn)))
  }
  t.throws(() => nl.setLink(v0, { mac: 'zz:00:00:00:00:00' }), { name: 'AddressError' }, 'garbage is refused before it reaches the kernel, as the real encoder does')
})

test('addresses bring the kernel\'s routes: connected and broadcast only on up links, none for /32 or noprefixroute', (t) => {
  const nl = fakeNetlink()
  nl.addVeth({ name: 'v0', peerName: 'v1' })
  const v0 = must(nl, 'v0').index
  nl.addAddress(v0, '10.2.0.1/24')
  nl.addAddress(v0, 'fd02::1/64')
  t.deepEqual(nl.routes({ table: 254 }), [], 'a down link has no connected routes')
  t.deepEqual(nl.routes({ table: 255 }).map((r) => r.dst), ['10.2.0.1/32'], 'but the IPv4 local route is there')
  nl.setLink(v0, { up: true })
  t.deepEqual(nl.routes({ table: 254 }), [
    { family: 4, dst: '10.2.0.0/24', table: 254, protocol: 2, scope: 253, type: 1, dev: v0, src: '10.2.0.1' },
    { family: 6, dst: 'fd02::/64', table: 254, protocol: 2, scope: 0, type: 1, dev: v0, priority: 256 }
  ])
  t.deepEqual(nl.routes({ family: 4, table: 255 }), [
    { family: 4, dst: '10.2.0.1/32', table: 255, protocol: 2, scope: 254, type: 2, dev: v0, src: '10.2.0.1' },
    { family: 4, dst: '10.2.0.255/32', table: 255, protocol: 2, scope: 253, type: 3, dev: v0, src: '10.2.0.1' }
  ])
  nl.addAddress(v0, '10.2.0.2/24')
  nl.addAddress(v0, '10.5.0.1/32')
  nl.addAddress(v0, '10.4.0.1/24', { noPrefixRoute: true })
  nl.addAddress(v0, '169.254.1.1/16', { scope: 253 })
  nl.addAddress(v0, 'fd03::1/64', { scope: 253 })
  t.deepEqual(nl.addresses().map((a) => `${a.address}/${a.prefixLen} scope=${a.scope} flags=${a.flags.toString(16)}`), [
    '169.254.1.1/16 scope=253 flags=80',
    '10.2.0.1/24 scope=0 flags=80',
    '10.5.0.1/32 scope=0 flags=80',
    '10.4.0.1/24 scope=0 flags=280',
    '10.2.0.2/24 scope=0 flags=81',
    'fd03::1/64 scope=0 flags=80',
    'fd02::1/64 scope=0 flags=80'
  ], 'kernel order: wider-scope primaries first, secondaries last; IPv6 newest first; IPv6 scope comes from the address')
  t.deepEqual(nl.routes({ family: 4, table: 254 }).map((r) => r.dst), ['10.2.0.0/24', '169.254.0.0/16'])
  t.deepEqual(nl.routes({ family: 4, table: 255 }).find((r) => r.dst === '10.2.0.2/32')?.src, '10.2.0.1', 'a secondary\'s local route uses the primary as src')

  nl.deleteAddress(v0, '10.2.0.1/24')
  t.deepEqual(nl.addresses(4).map((a) => a.address), ['169.254.1.1', '10.5.0.1', '10.4.0.1'], 'the secondary goes with its primary')
  t.deepEqual(nl.routes({ family: 4, table: 254 }).map((r) => r.dst), ['169.254.0.0/16'])
  t.false(nl.routes({ table: 255 }).some((r) => r.dst.startsWith('10.2.0.')), 'its local and broadcast routes too')
  nl.addAddress(v0, '10.9.0.1/31')
  t.false(nl.routes({ table: 255 }).some((r) => r.type === 3 && r.dst.startsWith('10.9.0.')), 'no broadcast route for a /31')
})

test('a link going down loses its routes, IPv6 addresses and neighbours; IPv4 addresses and local routes stay', (t) => {
  const { nl, v0, v1 } = withLink()
  nl.addRoute({ family: 4, dst: '10.50.0.0/16', gw: '10.2.0.254' })
  nl.addRoute({ family: 4, dst: '10.51.0.0/16', dev: v1 })
  nl.setNeighbour({ index: v0, ip: '10.2.0.9', mac: mac(9) })
  nl.setLink(v0, { up: false })
  t.deepEqual(nl.routes({ table: 254 }).map((r) => r.dst), ['10.51.0.0/16'])
  t.deepEqual(nl.addresses().map((a) => a.address), ['10.2.0.1'])
  t.deepEqual(nl.routes({ table: 255 }).map((r) => r.dst), ['10.2.0.1/32'])
  t.deepEqual(nl.neighbours(), [])
  nl.setLink(v0, { up: true })
  t.deepEqual(nl.routes({ table: 254 }).map((r) => r.dst), ['10.2.0.0/24', '10.51.0.0/16'], 'connected routes come back, static ones do not')
  nl.setLink(v0, { mtu: 1200 })
  nl.setLink(v0, { mtu: 1500 })
  t.is(kerr(t, () => { nl.setLink(v0, { mtu: 1200 }); nl.addAddress(v0, 'fd09::1/64') }).errno, 22, 'below 1280 a link has no IPv6')
  t.is(kerr(t, () => nl.addRoute({ family: 6, dst: 'fd09::/64', dev: v0 })).errno, 19)
})

test('routes: gateways are checked like the kernel does, the key is table + destination + metric, replace and delete', (t) => {
  const { nl, v0, v1 } = withLink()
  nl.addRoute({ family: 4, dst: '10.50.0.0/16', gw: '10.2.0.254' })
  t.deepEqual(nl.routes({ family: 4, table: 254 }).find((r) => r.dst === '10.50.0.0/16'), { family: 4, dst: '10.50.0.0/16', table: 254, protocol: 3, scope: 0, type: 1, gw: '10.2.0.254', dev: v0 }, 'dev filled in from the connected route')
  t.is(kerr(t, () => nl.addRoute({ family: 4, dst: '10.50.0.0/16', gw: '10.2.0.253' })).errno, 17, 'same key, other gateway: EEXIST')
  nl.addRoute({ family: 4, dst: '10.50.0.0/16', gw: '10.2.0.253', priority: 5 })
  nl.addRoute({ family: 4, dst: '10.50.0.0/16', gw: '10.2.0.200' }, { replace: true })
  t.deepEqual(nl.routes({ family: 4, table: 254 }).filter((r) => r.dst === '10.50.0.0/16').map((r) => `${r.gw} ${r.priority ?? 0}`), ['10.2.0.200 0', '10.2.0.253 5'])
  t.is(kerr(t, () => nl.addRoute({ family: 4, dst: '10.51.0.0/16', gw: '10.2.0.254', dev: v1 })).errno, 101, 'the gateway must be reachable through the named dev')
  t.is(kerr(t, () => nl.addRoute({ family: 4, dst: '10.52.0.0/16', gw: '10.50.0.1' })).errno, 101, 'not through another gateway')
  t.is(kerr(t, () => nl.addRoute({ family: 4, dst: '10.53.0.0/16', gw: '10.2.0.255' })).errno, 22, 'not the broadcast address')
  nl.addRoute({ family: 4, dst: '10.54.0.0/16', gw: '192.168.9.1', dev: v1, onlink: true })
  t.like(nl.routes({ family: 4 }).find((r) => r.dst === '10.54.0.0/16'), { gw: '192.168.9.1', dev: v1, onlink: true })
  t.is(kerr(t, () => nl.addRoute({ family: 4, dst: '10.55.1.0/16', dev: v0 })).errno, 22, 'IPv4 refuses host bits')
  nl.addRoute({ family: 6, dst: 'fd55::1/64', dev: v0 })
  t.truthy(nl.routes({ family: 6 }).find((r) => r.dst === 'fd55::/64' && r.priority === 1024), 'IPv6 masks them; user routes get metric 1024')
  t.is(kerr(t, () => nl.addRoute({ family: 6, dst: 'fd56::/64', gw: 'fd02::1' })).errno, 22, 'an IPv6 gateway may not be our own address')
  t.is(kerr(t, () => nl.addRoute({ family: 6, dst: 'fd56::/64', gw: 'fe80::1' })).errno, 22, 'a link-local gateway needs a dev')
  nl.addRoute({ family: 4, dst: '0.0.0.0/0', gw: '10.2.0.254', table: 1000, mtu: 1400, advmss: 1360, src: '10.2.0.1' })
  t.deepEqual(nl.routes({ table: 1000 }), [{ family: 4, dst: '0.0.0.0/0', table: 1000, protocol: 3, scope: 0, type: 1, gw: '10.2.0.254', dev: v0, src: '10.2.0.1', mtu: 1400, advmss: 1360 }])
  t.is(kerr(t, () => nl.addRoute({ family: 4, dst: '10.57.0.0/16', dev: v0, src: '10.9.9.9' })).errno, 22, 'src must be one of ours')

  nl.deleteRoute({ family: 4, dst: '10.50.0.0/16' })
  t.deepEqual(nl.routes({ family: 4, table: 254 }).filter((r) => r.dst === '10.50.0.0/16').map((r) => r.priority ?? 0), [5], 'without a metric the lowest one goes first')
  t.is(kerr(t, () => nl.deleteRoute({ family: 4, dst: '10.50.0.0/16', gw: '10.2.0.1' })).errno, 3, 'what is named must match')
  nl.deleteRoute({ family: 4, dst: '10.50.0.0/16', gw: '10.2.0.253' })
  t.true(isNotFound(kerr(t, () => nl.deleteRoute({ family: 4, dst: '10.50.0.0/16' }))))
  nl.addRoute({ family: 4, dst: '10.60.0.0/16', type: 6 })
  t.is(kerr(t, () => nl.deleteRoute({ family: 4, dst: '10.60.0.0/16' })).errno, 3, 'IPv4 delete matches the type')
  nl.deleteRoute({ family: 4, dst: '10.60.0.0/16', type: 6 })
  nl.deleteRoute({ family: 4, dst: '10.2.0.0/24' })
  t.false(nl.routes({ table: 254 }).some((r) => r.dst === '10.2.0.0/24'), 'kernel routes can be deleted too')
})

test('multipath routes read back hop by hop; one bad hop fails the route; IPv6 can drop a single hop', (t) => {
  const { nl, v0 } = withLink()
  nl.addVeth({ name: 'w0', peerName: 'w1' })
  const w0 = must(nl, 'w0').index
  nl.setLink(w0, { up: true })
  nl.addAddress(w0, '10.3.0.1/24')
  nl.addAddress(w0, 'fd03::1/64')
  nl.addRoute({ family: 4, dst: '10.80.0.0/16', multipath: [{ gw: '10.2.0.250', dev: v0 }, { gw: '10.3.0.250', dev: w0, weight: 3, onlink: true }] })
  t.deepEqual(nl.routes({ family: 4, table: 254 }).find((r) => r.dst === '10.80.0.0/16'), {
    family: 4, dst: '10.80.0.0/16', table: 254, protocol: 3, scope: 0, type: 1,
    multipath: [{ dev: v0, weight: 1, gw: '10.2.0.250' }, { dev: w0, weight: 3, onlink: true, gw: '10.3.0.250' }]
  })
  t.is(kerr(t, () => nl.addRoute({ family: 4, dst: '10.81.0.0/16', multipath: [{ gw: '10.2.0.250', dev: v0 }, { gw: '10.99.0.1', dev: w0 }] })).errno, 101)
  nl.addRoute({ family: 6, dst: 'fd80::/64', multipath: [{ gw: 'fd02::250', dev: v0 }, { gw: 'fd03::250', dev: w0 }] })
  nl.deleteRoute({ family: 6, dst: 'fd80::/64', gw: 'fd03::250' })
  t.deepEqual(nl.routes({ family: 6, table: 254 }).find((r) => r.dst === 'fd80::/64'), { family: 6, dst: 'fd80::/64', table: 254, protocol: 3, scope: 0, type: 1, gw: 'fd02::250', dev: v0, priority: 1024 })
  nl.setLink(w0, { up: false })
  t.truthy(nl.routes({ family: 4 }).find((r) => r.dst === '10.80.0.0/16'), 'one hop down: the route stays')
  nl.deleteLink(w0)
  t.falsy(nl.routes({ family: 4 }).find((r) => r.dst === '10.80.0.0/16'), 'a hop\'s device deleted: the route goes')
})

test('bridge: ports get default port settings; the bridge follows their MTU and lowest MAC unless set by hand', (t) => {
  const nl = fakeNetlink()
  nl.addBridge({ name: 'br0', mtu: 1450 })
  nl.addVeth({ name: 'a0', peerName: 'a1', mtu: 1400, mac: mac(0x20) })
  nl.addVeth({ name: 'b0', peerName: 'b1', mtu: 1500, mac: mac(0x10) })
  const br = must(nl, 'br0').index
  t.like(must(nl, 'br0'), { kind: 'bridge', mtu: 1450, bridge: { vlanFiltering: false } })
  nl.setLink(must(nl, 'a0').index, { master: br })
  nl.setLink(must(nl, 'b0').index, { master: br })
  t.like(must(nl, 'br0'), { mtu: 1400, mac: mac(0x10) })
  t.like(must(nl, 'a0'), { master: br, bridgePort: { hairpin: false, learning: true, isolated: false }, promiscuity: 1 })
  nl.setBridgePort(must(nl, 'a0').index, { hairpin: true, isolated: true })
  t.deepEqual(must(nl, 'a0').bridgePort, { hairpin: true, learning: true, isolated: true })
  nl.setLink(must(nl, 'a0').index, { mtu: 1300 })
  t.is(must(nl, 'br0').mtu, 1300)
  nl.setLink(br, { mtu: 1350 })
  nl.setLink(must(nl, 'a0').index, { mtu: 1200 })
  t.is(must(nl, 'br0').mtu, 1350, 'an MTU set on the bridge sticks')
  nl.setLink(must(nl, 'b0').index, { master: 0 })
  t.like(must(nl, 'b0'), { master: undefined, bridgePort: undefined, promiscuity: 0 })
  t.is(must(nl, 'br0').mac, mac(0x20), 'the MAC follows the remaining port')
  nl.addBridge({ name: 'br1', mac: mac(0xf0) })
  nl.setLink(must(nl, 'b0').index, { master: must(nl, 'br1').index })
  t.is(must(nl, 'br1').mac, mac(0xf0), 'a MAC given at creation sticks')
  nl.deleteLink(br)
  t.like(must(nl, 'a0'), { master: undefined, bridgePort: undefined })
})

test('vxlan: defaults, MTU clamped to the underlay, deleted with it; FDB entries need a unicast MAC and a remote of the right family', (t) => {
  const nl = fakeNetlink()
  nl.addVeth({ name: 'u0', peerName: 'u1', mtu: 1400 })
  const u0 = must(nl, 'u0').index
  nl.addVxlan({ name: 'vx0', vni: 42, port: 4789, learning: false, local: '10.2.0.1', dev: u0, mtu: 9000 })
  nl.addVxlan({ name: 'vx1', vni: 7 })
  nl.addVxlan({ name: 'vx6', vni: 7, local: 'fd00::1' })
  t.like(must(nl, 'vx0'), { kind: 'vxlan', mtu: 1350, vxlan: { vni: 42, port: 4789, learning: false, local: '10.2.0.1', dev: u0 }, parentIndex: undefined })
  t.deepEqual(must(nl, 'vx1').vxlan, { vni: 7, port: 8472, learning: true, local: undefined, dev: undefined })
  t.is(must(nl, 'vx6').vxlan?.local, 'fd00::1', 'the same VNI over IPv6 is another socket')
  t.is(kerr(t, () => nl.setLink(must(nl, 'vx0').index, { mtu: 1400 })).errno, 22, 'no bigger than the underlay allows')

  const vx = must(nl, 'vx1').index
  nl.setFdb({ index: vx, mac: mac(0x41), dst: '192.168.5.5' })
  nl.setFdb({ index: vx, mac: mac(0x41), dst: '192.168.5.6' })
  t.deepEqual(nl.fdb(vx), [{ index: vx, mac: mac(0x41), dst: '192.168.5.6', state: 0x80, flags: 2, master: undefined }])
  t.is(kerr(t, () => nl.setFdb({ index: vx, mac: '00:00:00:00:00:00', dst: '192.168.5.7' })).errno, 95, 'all-zeros needs NLM_F_APPEND, which we do not send')
  t.is(kerr(t, () => nl.setFdb({ index: vx, mac: mac(0x42), dst: 'fd00::42' })).errno, 97)
  nl.setFdb({ index: must(nl, 'vx6').index, mac: mac(0x46), dst: 'fd00::46' })
  nl.deleteFdb({ index: vx, mac: mac(0x41), dst: '192.168.5.99' })
  t.is(nl.fdb(vx).length, 1, 'naming another remote deletes nothing and is no error')
  nl.deleteFdb({ index: vx, mac: mac(0x41) })
  t.deepEqual(nl.fdb(vx), [])
  nl.setFdb({ index: must(nl, 'u1').index, mac: mac(0x43) })
  t.deepEqual(nl.fdb(must(nl, 'u1').index), [{ index: must(nl, 'u1').index, mac: mac(0x43), dst: undefined, state: 0x80, flags: 2, master: undefined }])
  t.is(nl.fdb().length, 2, 'vx6\'s entry and u1\'s')

  nl.deleteLink(u0)
  t.deepEqual(nl.links().map((l) => l.name), ['lo', 'vx1', 'vx6'], 'the VXLAN on u0 went with it (and u1 with its peer)')
})

test('setLink applies in the kernel\'s order and keeps what it did when a later step fails', (t) => {
  const nl = fakeNetlink()
  nl.addVeth({ name: 'v0', peerName: 'v1' })
  nl.addBridge({ name: 'br0' })
  const v0 = must(nl, 'v0').index
  nl.setLink(v0, { mtu: 1300, mac: mac(0x50), up: true, promisc: true, master: must(nl, 'br0').index, name: 'eth9' })
  t.like(nl.linkByIndex(v0), { name: 'eth9', mtu: 1300, mac: mac(0x50), flags: { up: true, promisc: true }, promiscuity: 2 })
  t.is(kerr(t, () => nl.setLink(v0, { mtu: 1234, master: 99 })).errno, 22)
  t.like(nl.linkByIndex(v0), { mtu: 1234, master: undefined }, 'the MTU changed and the old bridge was left before the new one failed')
})

test('ciKernel makes the fake refuse what the CI kernel lacks; the default fake has it', (t) => {
  const ci = fakeNetlink(ciKernel)
  const e = kerr(t, () => ci.addDummy({ name: 'd0' }))
  t.is(e.errno, 95)
  t.is(e.message, 'add dummy d0 (Unknown device type): EOPNOTSUPP')
  t.is(kerr(t, () => ci.addBridge({ name: 'br0', vlanFiltering: true })).errno, 95)
  t.is(ci.links().length, 1)
  const full = fakeNetlink()
  full.addDummy({ name: 'd0', mtu: 1400 })
  full.addBridge({ name: 'br0', vlanFiltering: true })
  t.like(must(full, 'd0'), { kind: 'dummy', mtu: 1400 })
  t.deepEqual(must(full, 'br0').bridge, { vlanFiltering: true })
  t.is(kerr(t, () => fakeNetlink({ missing: ['vxlan'] }).addVxlan({ name: 'vx0', vni: 1 })).errno, 95)
})

test('neighbours: permanent by default, replaced in place, listed by family', (t) => {
  const { nl, v0 } = withLink()
  nl.setNeighbour({ index: v0, ip: '10.2.0.9', mac: mac(9) })
  nl.setNeighbour({ index: v0, ip: '10.2.0.9', mac: mac(10) })
  nl.setNeighbour({ index: v0, ip: 'FD02::9', mac: '02:00:00:00:00:0B', state: 0x02 })
  t.deepEqual(nl.neighbours(), [
    { index: v0, family: 4, ip: '10.2.0.9', mac: mac(10), state: 0x80, flags: 0, master: undefined },
    { index: v0, family: 6, ip: 'fd02::9', mac: mac(11), state: 0x02, flags: 0, master: undefined }
  ], 'addresses and MACs come back canonical')
  t.deepEqual(nl.neighbours(6).map((n) => n.ip), ['fd02::9'])
  nl.deleteNeighbour({ index: v0, ip: 'fd02::9' })
  t.true(isNotFound(kerr(t, () => nl.deleteNeighbour({ index: v0, ip: 'fd02::9' }))))
})

test('dump: the state of every namespace as sorted text, names instead of indexes', (t) => {
  const ns = fakeNetNS(ciKernel)
  const pod = ns.create('pod1')
  const host = ns.netlink()
  const fd = ns.openFd(pod)
  host.addBridge({ name: 'cni0' })
  host.addVeth({ name: 'veth1234', peerName: 'eth0', peerNetnsFd: fd, mtu: 1450 })
  ns.closeFd(fd)
  const br = must(host, 'cni0').index
  const veth = must(host, 'veth1234').index
  host.setLink(veth, { master: br, up: true })
  host.setBridgePort(veth, { hairpin: true })
  host.setLink(br, { up: true })
  host.addAddress(br, '10.1.0.1/24')
  host.addVxlan({ name: 'flannel.1', vni: 1, learning: false, local: '192.168.1.10' })
  const vx = must(host, 'flannel.1').index
  host.setLink(vx, { up: true })
  host.addAddress(vx, '10.1.0.0/32')
  host.addRoute({ family: 4, dst: '10.2.0.0/24', gw: '10.2.0.0', dev: vx, onlink: true })
  host.setNeighbour({ index: vx, ip: '10.2.0.0', mac: '0a:00:00:00:00:02' })
  host.setFdb({ index: vx, mac: '0a:00:00:00:00:02', dst: '192.168.1.11' })
  const p = ns.netlink(pod)
  const eth0 = must(p, 'eth0').index
  p.setLink(eth0, { up: true })
  p.addAddress(eth0, '10.1.0.5/24')
  p.addAddress(eth0, 'fd01::5/64')
  p.addRoute({ family: 4, dst: '0.0.0.0/0', gw: '10.1.0.1' })
  host.close()
  p.close()
  t.is(ns.dump(), [
    'netns host',
    '  link cni0 bridge mtu=1450 up',
    '  link flannel.1 vxlan mtu=1500 up vni=1 port=8472 learning=off local=192.168.1.10',
    '  link lo - mtu=65536 up',
    '  link veth1234 veth mtu=1450 up master=cni0 hairpin peer=eth0@pod1',
    '  addr cni0 10.1.0.1/24',
    '  addr flannel.1 10.1.0.0/32',
    '  addr lo 127.0.0.1/8 scope=host',
    '  addr lo ::1/128 scope=host',
    '  route 10.1.0.0/24 dev cni0 src 10.1.0.1 proto=kernel scope=link',
    '  route 10.2.0.0/24 via 10.2.0.0 dev flannel.1 onlink proto=boot',
    '  neigh flannel.1 10.2.0.0 lladdr 0a:00:00:00:00:02 permanent',
    '  fdb flannel.1 0a:00:00:00:00:02 dst 192.168.1.11 self permanent',
    'netns pod1',
    '  link eth0 veth mtu=1450 up peer=veth1234@host',
    '  link lo - mtu=65536 down',
    '  addr eth0 10.1.0.5/24',
    '  addr eth0 fd01::5/64',
    '  route 0.0.0.0/0 via 10.1.0.1 dev eth0 proto=boot',
    '  route 10.1.0.0/24 dev eth0 src 10.1.0.5 proto=kernel scope=link',
    '  route fd01::/64 dev eth0 metric 256 proto=kernel'
  ].join('\n'))
  t.regex(ns.dump({ macs: true }), /link cni0 bridge mtu=1450 up mac=fa:ce:(?:[0-9a-f]{2}:){3}[0-9a-f]{2}\n/)
  // The same renderer reads any Netlink: over the fake's own handle it names the cross-namespace peer by netnsid.
  const again = ns.netlink(pod)
  t.is(dumpNetlink(again).split('\n')[0], 'link eth0 veth mtu=1450 up link-netnsid=0')
  again.close()
})

test('a closed handle refuses calls with the real message, but its dump still shows the state', (t) => {
  const nl = fakeNetlink()
  nl.addBridge({ name: 'br0' })
  nl.close()
  t.is(kerr(t, () => nl.links()).message, 'netlink socket closed')
  t.throws(() => nl.addBridge({ name: 'br1' }), { message: 'netlink socket closed' })
  t.notThrows(() => nl.close())
  t.is(nl.dump(), 'link br0 bridge mtu=1500 down\nlink lo - mtu=65536 down')
})

// ---------------------------------------------------------------------------------------------------------------------
// fakeNetNS

test('fakeNetNS: create, list, exists, isCurrent, remove, with the real one\'s errors', (t) => {
  const ns: NetNS = fakeNetNS()
  const p = ns.create('a')
  t.is(p, '/run/netns/a')
  t.is(ns.pathOf('a'), p)
  t.deepEqual(ns.list(), ['a'])
  t.true(ns.exists(p))
  t.false(ns.isCurrent(p))
  t.true(ns.isCurrent('/proc/self/ns/net'))
  t.true(ns.isCurrent('/proc/thread-self/ns/net'))
  const dup = kerr(t, () => ns.create('a'))
  t.is(dup.errno, 17)
  t.is(dup.message, 'cannot create namespace file /run/netns/a: EEXIST')
  t.is(kerr(t, () => ns.pathOf('../x')).code, 'KERNEL_ERR_NETNS')
  t.deepEqual(ns.netlink(p).links().map((l) => `${l.name} ${l.flags.up}`), ['lo false'], 'a new namespace has lo, down')
  t.deepEqual(ns.netlink().links().map((l) => `${l.name} ${l.flags.up}`), ['lo true'], 'the host\'s lo is up')
  ns.remove('a')
  t.false(ns.exists(p))
  t.deepEqual(ns.list(), [])
  t.notThrows(() => ns.remove('a'))
  for (const fn of [() => ns.openFd(p), () => ns.netlink(p), () => ns.run(p, () => 1)]) {
    const e = kerr(t, fn)
    t.true(isNotFound(e))
    t.is(e.message, `failed to open netns "${p}": ENOENT`, 'the errno named once')
  }
  t.is(fakeNetNS({ runDir: '/var/run/netns/' }).create('b'), '/var/run/netns/b')
})

test('fakeNetNS: a veth peer lands in the namespace behind the fd; a moved link keeps its index and arrives down', (t) => {
  const ns = fakeNetNS()
  const a = ns.create('a')
  const b = ns.create('b')
  const na = ns.netlink(a)
  const nb = ns.netlink(b)
  const fd = ns.openFd(b)
  na.addVeth({ name: 'h0', peerName: 'c0', peerNetnsFd: fd })
  t.like(must(na, 'h0'), { index: 2, parentIndex: 2, linkNetnsid: 0 })
  t.like(must(nb, 'c0'), { index: 2, parentIndex: 2, linkNetnsid: 0 })
  t.is(na.linkByName('c0'), undefined)
  t.is(must(na, 'h0').operstate, 'down')
  na.setLink(2, { up: true })
  t.is(must(na, 'h0').operstate, 'down', 'no carrier, and the peer has the same ifindex: down, not lowerlayerdown')
  t.true(isExists(kerr(t, () => na.addVeth({ name: 'h1', peerName: 'c0', peerNetnsFd: fd }))), 'the peer name is checked where the peer goes')
  t.is(kerr(t, () => na.addVeth({ name: 'h1', peerName: 'c1', peerNetnsFd: 4242 })).errno, 9, 'an fd that is not open: EBADF')

  na.addVeth({ name: 'm0', peerName: 'm1' })
  na.addBridge({ name: 'br0' })
  const m0 = must(na, 'm0')
  na.setLink(m0.index, { up: true, master: must(na, 'br0').index })
  na.addAddress(m0.index, '10.9.0.1/24')
  na.setLink(m0.index, { netnsFd: fd })
  t.is(na.linkByName('m0'), undefined)
  t.like(must(nb, 'm0'), { index: m0.index, flags: { up: false }, master: undefined, linkNetnsid: 0 })
  t.deepEqual(nb.addresses(), [])
  t.like(must(na, 'm1'), { linkNetnsid: 0, parentIndex: m0.index })
  t.regex(kerr(t, () => na.setLink(must(na, 'br0').index, { netnsFd: fd })).message, /The interface netns is immutable/)
  ns.closeFd(fd)
  t.is(kerr(t, () => na.addVeth({ name: 'h2', peerName: 'c2', peerNetnsFd: fd })).errno, 9, 'a closed fd is gone')
  na.close()
  nb.close()
})

test('fakeNetNS: a namespace dies when nothing holds it, taking its veth ends and their peers elsewhere', (t) => {
  const ns = fakeNetNS()
  const a = ns.create('a')
  const host = ns.netlink()
  const fd = ns.openFd(a)
  host.addVeth({ name: 'h0', peerName: 'c0', peerNetnsFd: fd })
  ns.closeFd(fd)
  const held = ns.netlink(a)
  ns.remove('a')
  t.truthy(host.linkByName('h0'), 'an open handle keeps the namespace alive, as an open socket does')
  t.deepEqual(held.links().map((l) => l.name), ['lo', 'c0'])
  held.close()
  t.is(host.linkByName('h0'), undefined, 'gone with the last reference')

  const b = ns.create('b')
  const fd2 = ns.openFd(b)
  host.addVeth({ name: 'h1', peerName: 'c1', peerNetnsFd: fd2 })
  ns.remove('b')
  t.truthy(host.linkByName('h1'), 'an open fd holds it too')
  ns.closeFd(fd2)
  t.is(host.linkByName('h1'), undefined)
})

test('fakeNetNS.run: enters the namespace for fn, always returns, and refuses a fn that returns a promise', async (t) => {
  const ns = fakeNetNS()
  const p = ns.create('a')
  const seen = ns.run(p, () => {
    const here = ns.netlink()
    try {
      here.addBridge({ name: 'inside' })
      return { current: ns.isCurrent(p), thread: ns.isCurrent('/proc/thread-self/ns/net'), self: ns.isCurrent('/proc/self/ns/net') }
    } finally { here.close() }
  })
  t.deepEqual(seen, { current: true, thread: true, self: false })
  t.truthy(ns.netlink(p).linkByName('inside'), 'netlink() inside run is bound to the namespace')
  t.is(ns.netlink().linkByName('inside'), undefined)
  t.false(ns.isCurrent(p))
  t.throws(() => ns.run(p, () => { throw new Error('boom') }), { message: 'boom' })
  t.false(ns.isCurrent(p), 'back home after a throw')
  const inner = ns.create('b')
  t.true(ns.run(p, () => ns.run(inner, () => ns.isCurrent(inner)) && ns.isCurrent(p)), 'runs nest')
  const e = kerr(t, () => ns.run(p, async () => 1))
  t.is(e.code, 'KERNEL_ERR_NETNS')
  t.regex(e.message, /must be synchronous/)
  t.false(ns.isCurrent(p))
  await Promise.resolve()
})

test('fakeNetNS.sysctl: per namespace, the forwarding switches fan out to every device, unknown keys are ENOENT', (t) => {
  const ns = fakeNetNS()
  const p = ns.create('a')
  ns.run(p, () => {
    const nl = ns.netlink()
    nl.addVeth({ name: 'v0', peerName: 'v1' })
    nl.close()
  })
  t.is(ns.sysctl.get('net/ipv4/ip_forward'), '0')
  ns.run(p, () => ns.sysctl.set('net/ipv4/ip_forward', '1'))
  t.is(ns.sysctl.get('net/ipv4/ip_forward'), '0', 'the host is untouched')
  t.deepEqual(ns.run(p, () => ['net/ipv4/ip_forward', 'net/ipv4/conf/all/forwarding', 'net/ipv4/conf/default/forwarding', 'net/ipv4/conf/v0/forwarding', 'net/ipv6/conf/v0/forwarding'].map((k) => ns.sysctl.get(k))), ['1', '1', '1', '1', '0'])
  ns.run(p, () => ns.sysctl.set('net/ipv4/conf/v1/rp_filter', '2'))
  t.is(ns.run(p, () => ns.sysctl.get('net/ipv4/conf/v1/rp_filter')), '2')
  t.is(ns.run(p, () => ns.sysctl.get('net/ipv4/conf/v0/rp_filter')), '0')
  ns.run(p, () => ns.sysctl.set('net/ipv4/ip_local_port_range', '1024 65000'))
  t.is(ns.run(p, () => ns.sysctl.get('net/ipv4/ip_local_port_range')), '1024\t65000')
  const missing = kerr(t, () => ns.sysctl.get('net/ipv4/conf/nosuchdev/forwarding'))
  t.is(missing.errno, 2)
  t.is(missing.message, 'read sysctl net/ipv4/conf/nosuchdev/forwarding: ENOENT')
  t.is(kerr(t, () => ns.sysctl.set('net/ipv4/no_such_thing', '1')).errno, 2)
  t.is(kerr(t, () => ns.sysctl.set('net/ipv4/ip_forward', 'yes')).message, 'write sysctl net/ipv4/ip_forward=yes: EINVAL')
})
