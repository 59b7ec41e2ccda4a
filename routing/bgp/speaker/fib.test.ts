import test from 'ava'
import { fakeNetlink } from '../../../kernel/testing/index.js'
import { AsPathSegmentType } from '../codec/index.js'
import { Rib } from '../rib/index.js'
import type { Attrs, PeerRef } from '../rib/index.js'
import { FibInstaller } from './fib.js'
import { silentLogger } from './speaker.js'

const attrs = (nextHop: string): Attrs => ({
  origin: 0, asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65002] }], nextHop, communities: [], largeCommunities: [],
  extCommunities: [], clusterList: [], atomicAggregate: false, other: []
})
const peer = (address: string, asn: number): PeerRef => ({ address, asn, routerId: address, ibgp: false, rrClient: false })

function setup (ecmp: boolean): { nl: ReturnType<typeof fakeNetlink>, rib: Rib, fib: FibInstaller } {
  const nl = fakeNetlink()
  nl.addVeth({ name: 'eth0', peerName: 'peer0' })
  const eth0 = nl.linkByName('eth0')
  if (eth0 === undefined) throw new Error('no eth0')
  nl.setLink(eth0.index, { up: true })
  nl.addAddress(eth0.index, '192.0.2.1/24')
  const rib = new Rib()
  const fib = new FibInstaller({ table: 254, protocol: 196, ecmp, resyncSeconds: 3600 }, { netlink: nl, log: silentLogger })
  return { nl, rib, fib }
}

const ours = (nl: ReturnType<typeof fakeNetlink>): string[] => nl.routes({ family: 4 }).filter((r) => r.protocol === 196)
  .map((r) => `${r.dst} ${r.multipath !== undefined ? r.multipath.map((h) => h.gw).join(',') : r.gw ?? ''}`)

test('FIB: installs the best path, ECMP over equal paths, removes on withdrawal, and reconcile repairs a manual delete', (t) => {
  const { nl, rib, fib } = setup(true)
  rib.update({ prefix: '10.5.0.0/24', family: 4, source: peer('192.0.2.2', 65002), attrs: attrs('192.0.2.2') })
  rib.update({ prefix: '10.5.0.0/24', family: 4, source: peer('192.0.2.3', 65003), attrs: attrs('192.0.2.3') })
  rib.update({ prefix: '10.6.0.0/24', family: 4, source: peer('192.0.2.2', 65002), attrs: attrs('192.0.2.2') })
  rib.update({ prefix: '10.7.0.0/24', family: 4, source: undefined, attrs: attrs('192.0.2.1') })
  fib.changed(['10.5.0.0/24', '10.6.0.0/24', '10.7.0.0/24'], rib)
  t.deepEqual(ours(nl), ['10.5.0.0/24 192.0.2.2,192.0.2.3', '10.6.0.0/24 192.0.2.2'], 'our own announcements stay out of the kernel')
  nl.deleteRoute({ family: 4, dst: '10.6.0.0/24', protocol: 196, table: 254 })
  t.deepEqual(fib.reconcile(), { added: 1, removed: 0 })
  t.deepEqual(ours(nl), ['10.5.0.0/24 192.0.2.2,192.0.2.3', '10.6.0.0/24 192.0.2.2'])
  rib.dropSource('192.0.2.2')
  fib.changed(['10.5.0.0/24', '10.6.0.0/24'], rib)
  t.deepEqual(ours(nl), ['10.5.0.0/24 192.0.2.3'])
  fib.close()
  t.deepEqual(ours(nl), [])
})

test('FIB: without ECMP one next hop; routes found at start are kept until release() (graceful restart)', (t) => {
  const { nl, rib, fib } = setup(false)
  nl.addRoute({ family: 4, dst: '10.9.0.0/24', gw: '192.0.2.9', protocol: 196, table: 254 })
  t.is(fib.existing(), 1)
  fib.holdStale()
  fib.start(rib)
  rib.update({ prefix: '10.5.0.0/24', family: 4, source: peer('192.0.2.2', 65002), attrs: attrs('192.0.2.2') })
  rib.update({ prefix: '10.5.0.0/24', family: 4, source: peer('192.0.2.3', 65003), attrs: attrs('192.0.2.3') })
  fib.changed(['10.5.0.0/24'], rib)
  fib.reconcile()
  t.deepEqual(ours(nl), ['10.5.0.0/24 192.0.2.2', '10.9.0.0/24 192.0.2.9'])
  fib.release()
  t.deepEqual(ours(nl), ['10.5.0.0/24 192.0.2.2'])
  fib.close(true)
  t.deepEqual(ours(nl), ['10.5.0.0/24 192.0.2.2'], 'close(keep) leaves the routes for the next run')
})

test('FIB: IPv6 link-local next hops go out of the interface facing the peer; a connected global next hop is preferred', (t) => {
  const { nl, rib, fib } = setup(false)
  const eth0 = nl.linkByName('eth0')
  if (eth0 === undefined) throw new Error('no eth0')
  nl.addAddress(eth0.index, '2001:db8:1::1/64')
  const v6 = (nextHop: string, linkLocalNextHop?: string): Attrs => ({ ...attrs(nextHop), ...(linkLocalNextHop !== undefined ? { linkLocalNextHop } : {}) })
  const src = peer('2001:db8:1::2', 65002)
  rib.update({ prefix: 'fd00:1::/64', family: 6, source: src, attrs: v6('::', 'fe80::2') })
  rib.update({ prefix: 'fd00:2::/64', family: 6, source: src, attrs: v6('2001:db8:99::2', 'fe80::2') })
  rib.update({ prefix: 'fd00:3::/64', family: 6, source: src, attrs: v6('2001:db8:1::2', 'fe80::2') })
  fib.changed(['fd00:1::/64', 'fd00:2::/64', 'fd00:3::/64'], rib)
  const got = nl.routes({ family: 6 }).filter((r) => r.protocol === 196).map((r) => `${r.dst} ${r.gw ?? ''} ${r.dev === eth0.index ? 'eth0' : String(r.dev)}`)
  t.deepEqual(got.sort(), [
    'fd00:1::/64 fe80::2 eth0', // link-local only (BIRD's '::' form)
    'fd00:2::/64 fe80::2 eth0', // the global next hop is not on a connected subnet
    'fd00:3::/64 2001:db8:1::2 eth0' // a connected global next hop (the device is the kernel's choice)
  ])
  t.deepEqual(fib.reconcile(), { added: 0, removed: 0 }, 'what was installed is what is wanted')
})
