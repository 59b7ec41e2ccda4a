import test from 'ava'
import { fakeNetNS } from '../../kernel/testing/index.js'
import type { Netlink } from '../../kernel/index.js'
import { desiredState, findUnderlay, onLinkChecker, overlayMtu, reconcile, teardown } from './dataplane.js'
import type { Lease, NetConf } from './types.js'

const conf: NetConf = {
  network: '10.244.0.0/16',
  ipv6Network: undefined,
  enableIPv4: true,
  enableIPv6: false,
  enableNFTables: false,
  subnetLen: 24,
  subnetMin: '10.244.1.0',
  subnetMax: '10.244.255.0',
  ipv6SubnetLen: 64,
  ipv6SubnetMin: undefined,
  ipv6SubnetMax: undefined,
  backend: { type: 'vxlan', vni: 1, port: 0, mtu: undefined, gbp: false, learning: false, directRouting: false }
}

function lease (subnet: string, publicIp: string, mac: string, type = 'vxlan'): Lease {
  return { subnet, ipv6Subnet: undefined, expiration: undefined, attrs: { PublicIP: publicIp, BackendType: type, BackendData: { VNI: 1, VtepMAC: mac } } }
}

const own = lease('10.244.1.0/24', '192.168.1.11', '0a:00:00:00:00:01')
const b = lease('10.244.2.0/24', '192.168.1.12', 'aa:bb:cc:dd:ee:02')
const c = lease('10.244.3.0/24', '192.168.1.13', 'aa:bb:cc:dd:ee:03')

function node (): { nl: Netlink, dump: () => string } {
  const ns = fakeNetNS()
  const nl = ns.netlink()
  nl.addVeth({ name: 'eth0', peerName: 'peer0' })
  const eth0 = nl.linkByName('eth0')?.index ?? 0
  nl.setLink(eth0, { up: true })
  nl.setLink(nl.linkByName('peer0')?.index ?? 0, { up: true })
  nl.addAddress(eth0, '192.168.1.11/24')
  nl.addRoute({ family: 4, dst: '0.0.0.0/0', gw: '192.168.1.1', dev: eth0 })
  return { nl, dump: () => ns.dump() }
}

function want (nl: Netlink, leases: Lease[], extra: Partial<NetConf['backend']> = {}) {
  const underlay = findUnderlay(nl, {})
  return desiredState({ conf: { ...conf, backend: { ...conf.backend, ...extra } }, underlay, own, leases, mac: '0a:00:00:00:00:01', onLink: onLinkChecker(nl) })
}

test('desired state: device flannel.1 with MTU underlay−50 and the /32 of our subnet; one entry per remote vxlan lease', (t) => {
  const { nl } = node()
  const d = want(nl, [own, b, c, lease('10.244.9.0/24', '192.168.1.19', 'aa:00:00:00:00:09', 'host-gw')])
  t.like(d.device, { name: 'flannel.1', vni: 1, port: 8472, learning: false, local: '192.168.1.11', mtu: 1450, address: '10.244.1.0/32' })
  t.deepEqual(d.remotes.map((r) => `${r.subnet} ${r.gateway} ${r.vtepMac} ${r.publicIp} ${String(r.direct)}`), [
    '10.244.2.0/24 10.244.2.0 aa:bb:cc:dd:ee:02 192.168.1.12 false',
    '10.244.3.0/24 10.244.3.0 aa:bb:cc:dd:ee:03 192.168.1.13 false'
  ])
  t.is(overlayMtu(conf, { index: 1, name: 'eth0', publicIp: 'fd00::1', publicIpv6: undefined, mtu: 1500 }, 6), 1430)
})

test('reconcile programs device, neighbour, fdb and route, and a second pass changes nothing', (t) => {
  const { nl, dump } = node()
  const first = reconcile(nl, undefined, want(nl, [own, b]))
  t.deepEqual(first.actions, [
    'create flannel.1',
    'add address 10.244.1.0/32',
    'set flannel.1 up',
    'neigh 10.244.2.0 lladdr aa:bb:cc:dd:ee:02',
    'fdb aa:bb:cc:dd:ee:02 dst 192.168.1.12',
    'route 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink'
  ])
  const text = dump()
  t.regex(text, /link flannel\.1 vxlan mtu=1450 up/)
  t.regex(text, /route 10\.244\.2\.0\/24 via 10\.244\.2\.0 dev flannel\.1 .*onlink/)
  t.deepEqual(reconcile(nl, undefined, want(nl, [own, b])).actions, [])
})

test('tampering is repaired: a deleted route, fdb entry or the whole device comes back with the same MAC', (t) => {
  const { nl } = node()
  const d = want(nl, [own, b])
  const { index } = reconcile(nl, undefined, d)
  nl.deleteRoute({ family: 4, dst: '10.244.2.0/24', gw: '10.244.2.0', dev: index })
  nl.deleteFdb({ index, mac: 'aa:bb:cc:dd:ee:02', dst: '192.168.1.12' })
  t.deepEqual(reconcile(nl, undefined, d).actions, ['fdb aa:bb:cc:dd:ee:02 dst 192.168.1.12', 'route 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink'])
  nl.deleteLink(index)
  const again = reconcile(nl, undefined, d)
  t.true(again.actions.includes('create flannel.1'))
  t.is(nl.linkByName('flannel.1')?.mac, '0a:00:00:00:00:01')
})

test('a lease that goes takes its route, neighbour and fdb entry with it; a new VtepMAC replaces the old entries', (t) => {
  const { nl } = node()
  reconcile(nl, undefined, want(nl, [own, b, c]))
  const gone = reconcile(nl, undefined, want(nl, [own, c]))
  t.deepEqual(gone.actions, ['remove route 10.244.2.0/24', 'remove neigh 10.244.2.0', 'remove fdb aa:bb:cc:dd:ee:02'])
  const moved = reconcile(nl, undefined, want(nl, [own, lease('10.244.3.0/24', '192.168.1.13', 'aa:bb:cc:dd:ee:33')]))
  t.deepEqual(moved.actions, ['neigh 10.244.3.0 lladdr aa:bb:cc:dd:ee:33', 'fdb aa:bb:cc:dd:ee:33 dst 192.168.1.13', 'remove fdb aa:bb:cc:dd:ee:03'])
})

test('DirectRouting: peers on our segment get a plain route via their public IP, others the overlay', (t) => {
  const { nl } = node()
  const far = lease('10.244.4.0/24', '172.16.0.4', 'aa:bb:cc:dd:ee:04')
  const r = reconcile(nl, undefined, want(nl, [own, b, far], { directRouting: true }))
  t.true(r.actions.includes('route 10.244.2.0/24 via 192.168.1.12 (direct)'))
  t.true(r.actions.includes('route 10.244.4.0/24 via 10.244.4.0 dev flannel.1 onlink'))
  t.false(r.actions.some((a) => a.includes('aa:bb:cc:dd:ee:02')))
  // Dropping the direct peer removes its route too.
  t.deepEqual(reconcile(nl, undefined, want(nl, [own, far], { directRouting: true })).actions, ['remove route 10.244.2.0/24'])
})

test('an incompatible existing device is recreated; teardown removes it', (t) => {
  const { nl } = node()
  nl.addVxlan({ name: 'flannel.1', vni: 7, port: 4789, learning: true })
  const r = reconcile(nl, undefined, want(nl, [own]))
  t.regex(r.actions[0] ?? '', /^recreate flannel\.1/)
  t.is(nl.linkByName('flannel.1')?.vxlan?.vni, 1)
  t.true(teardown(nl, 1))
  t.is(nl.linkByName('flannel.1'), undefined)
  t.false(teardown(nl, 1))
})

test('no underlay: a clear error naming what to pass', (t) => {
  const ns = fakeNetNS()
  const e = t.throws(() => findUnderlay(ns.netlink(), {}))
  t.regex(e?.message ?? '', /--iface/)
  t.regex(t.throws(() => findUnderlay(ns.netlink(), { iface: 'nope0' }))?.message ?? '', /"nope0"/)
})
