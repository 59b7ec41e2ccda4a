import test from 'ava'
import { AttrType, Afi, CapabilityCode, MessageType, RouteRefreshSubtype, Safi } from '../codec/index.js'
import type { PathAttribute } from '../codec/index.js'
import { PeerFsm, systemClock } from '../fsm/index.js'
import { transportPair } from '../testing/index.js'
import { parseConfig } from './config.js'
import { Speaker } from './speaker.js'

/** Speakers wired through in-memory transports: `links[x]` is the speaker at address x. */
function lab (configs: Record<string, unknown>): Record<string, Speaker> {
  const speakers: Record<string, Speaker> = {}
  for (const [address, doc] of Object.entries(configs)) {
    speakers[address] = new Speaker(parseConfig(doc), {
      noListener: true,
      connect: async (pc) => {
        const remote = speakers[pc.address]
        if (remote === undefined) throw new Error('ECONNREFUSED')
        const [mine, theirs] = transportPair({ a: address, b: pc.address })
        remote.accept(theirs)
        return mine
      }
    })
  }
  return speakers
}

async function until (cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const stopAll = async (s: Record<string, Speaker>): Promise<void> => { for (const x of Object.values(s)) await x.stop() }

test('route reflector: a client route reaches the other client with ORIGINATOR_ID and CLUSTER_LIST, goes back to its source which ignores it; a withdrawal follows', async (t) => {
  const s = lab({
    '10.0.0.1': { routerId: '10.0.0.1', asn: 65000, clusterId: '1.1.1.1', peers: [
      { address: '10.0.0.2', asn: 65000, routeReflectorClient: true, passive: true },
      { address: '10.0.0.3', asn: 65000, routeReflectorClient: true, passive: true }] },
    '10.0.0.2': { routerId: '10.0.0.2', asn: 65000, peers: [{ address: '10.0.0.1', asn: 65000 }], announce: ['10.2.0.0/16'] },
    '10.0.0.3': { routerId: '10.0.0.3', asn: 65000, peers: [{ address: '10.0.0.1', asn: 65000 }] }
  })
  t.teardown(() => stopAll(s))
  for (const x of Object.values(s)) await x.start()
  const c = s['10.0.0.3'] as Speaker
  await until(() => c.rib.loc.has('10.2.0.0/16'))
  const [row] = c.ribView({ prefix: '10.2.0.0/16' })
  const p = row?.paths[0]
  t.is(p?.originatorId, '10.0.0.2')
  t.deepEqual(p?.clusterList, ['1.1.1.1'])
  t.is(p?.nextHop, '10.0.0.2', 'reflection keeps the next hop')
  t.is(p?.localPref, 100)
  t.deepEqual(p?.asPath, [])
  const rr = s['10.0.0.1'] as Speaker
  t.is(rr.neighbors().find((n) => n.address === '10.0.0.2')?.prefixesReceived, 1)
  // Update-group style: the source client is sent its own route too, and ignores it (ORIGINATOR_ID is its router id).
  const src = s['10.0.0.2'] as Speaker
  await until(() => src.neighbors()[0]?.loopedIn.originatorId === 1)
  t.is(rr.neighbors().find((n) => n.address === '10.0.0.2')?.prefixesAdvertised, 1)
  t.is(src.neighbors()[0]?.prefixesReceived, 0)
  t.is(src.ribView({ prefix: '10.2.0.0/16' })[0]?.paths.length, 1, 'only its own path')
  ;(s['10.0.0.2'] as Speaker).withdraw('10.2.0.0/16')
  await until(() => !c.rib.loc.has('10.2.0.0/16'))
  t.pass()
})

test('eBGP without policy: nothing is accepted or sent (RFC 8212); with policy, the AS path is prepended and the next hop is ours', async (t) => {
  const s = lab({
    '10.0.0.1': { routerId: '10.0.0.1', asn: 65001, announce: ['10.1.0.0/16'], peers: [{ address: '10.0.0.2', asn: 65002, passive: true }] },
    '10.0.0.2': { routerId: '10.0.0.2', asn: 65002, announce: ['10.2.0.0/16'], peers: [{ address: '10.0.0.1', asn: 65001, policy: { import: 'accept', export: 'accept' } }] }
  })
  t.teardown(() => stopAll(s))
  for (const x of Object.values(s)) await x.start()
  const a = s['10.0.0.1'] as Speaker
  const b = s['10.0.0.2'] as Speaker
  await until(() => a.neighbors()[0]?.state === 'Established' && b.neighbors()[0]?.state === 'Established')
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.false(a.rib.loc.has('10.2.0.0/16'), 'A has no import policy: B\'s route is refused')
  t.false(b.rib.loc.has('10.1.0.0/16'), 'A has no export policy: nothing sent')
  t.is(b.neighbors()[0]?.prefixesAdvertised, 1, 'B sends under its policy')
})

test('eBGP with policy on both sides: the AS path starts with the sender and the next hop is its address', async (t) => {
  const pol = { import: 'accept', export: 'accept' }
  const s = lab({
    '10.0.0.1': { routerId: '10.0.0.1', asn: 65001, announce: [{ prefix: '10.1.0.0/16', communities: ['65001:7'] }], peers: [{ address: '10.0.0.2', asn: 65002, passive: true, policy: pol }] },
    '10.0.0.2': { routerId: '10.0.0.2', asn: 65002, peers: [{ address: '10.0.0.1', asn: 65001, policy: { import: { rules: [{ match: { communities: ['65001:7'] }, set: { localPref: 300 } }] }, export: 'accept' } }] }
  })
  t.teardown(() => stopAll(s))
  for (const x of Object.values(s)) await x.start()
  const b = s['10.0.0.2'] as Speaker
  await until(() => b.rib.loc.has('10.1.0.0/16'))
  const p = b.ribView({ prefix: '10.1.0.0/16' })[0]?.paths[0]
  t.deepEqual(p?.asPath, [[65001]])
  t.is(p?.nextHop, '10.0.0.1')
  t.is(p?.localPref, 300, 'import policy set LOCAL_PREF on the community match')
  t.deepEqual(p?.communities, ['65001:7'])
})

test('maxPrefixes: the peer that exceeds it is closed with Cease / Maximum Number of Prefixes Reached', async (t) => {
  const s = lab({
    '10.0.0.1': { routerId: '10.0.0.1', asn: 65000, peers: [{ address: '10.0.0.2', asn: 65000, passive: true, maxPrefixes: 2, idleHoldTime: 60 }] },
    '10.0.0.2': { routerId: '10.0.0.2', asn: 65000, announce: ['10.1.0.0/16', '10.2.0.0/16', '10.3.0.0/16'], peers: [{ address: '10.0.0.1', asn: 65000, idleHoldTime: 60 }] }
  })
  t.teardown(() => stopAll(s))
  for (const x of Object.values(s)) await x.start()
  const b = s['10.0.0.2'] as Speaker
  await until(() => b.neighbors()[0]?.lastError !== undefined)
  t.regex(b.neighbors()[0]?.lastError ?? '', /received 6\/1/)
  t.is((s['10.0.0.1'] as Speaker).rib.loc.size, 0)
})

test('IPv4 and IPv6 announcements with the same attributes go out with a next hop of their own family', async (t) => {
  const s = lab({
    '10.0.0.1': { routerId: '10.0.0.1', asn: 65000, announce: ['10.1.0.0/24', 'fd00:1::/64'], peers: [{ address: '10.0.0.2', asn: 65000, passive: true, nextHop6: 'fd00::1' }] },
    '10.0.0.2': { routerId: '10.0.0.2', asn: 65000, peers: [{ address: '10.0.0.1', asn: 65000 }] }
  })
  t.teardown(() => stopAll(s))
  for (const x of Object.values(s)) await x.start()
  const b = s['10.0.0.2'] as Speaker
  await until(() => b.rib.loc.has('10.1.0.0/24') && b.rib.loc.has('fd00:1::/64'))
  t.is(b.ribView({ prefix: '10.1.0.0/24' })[0]?.paths[0]?.nextHop, '10.0.0.1')
  t.is(b.ribView({ prefix: 'fd00:1::/64' })[0]?.paths[0]?.nextHop, 'fd00::1')
})

test('4-octet AS numbers: an AS above 65535 on both sides shows whole in the AS path (RFC 6793)', async (t) => {
  const pol = { import: 'accept', export: 'accept' }
  const s = lab({
    '10.0.0.1': { routerId: '10.0.0.1', asn: 4200000001, announce: ['10.1.0.0/16'], peers: [{ address: '10.0.0.2', asn: 4200000002, passive: true, policy: pol }] },
    '10.0.0.2': { routerId: '10.0.0.2', asn: 4200000002, peers: [{ address: '10.0.0.1', asn: 4200000001, policy: pol }] }
  })
  t.teardown(() => stopAll(s))
  for (const x of Object.values(s)) await x.start()
  const b = s['10.0.0.2'] as Speaker
  await until(() => b.rib.loc.has('10.1.0.0/16'))
  t.deepEqual(b.ribView({ prefix: '10.1.0.0/16' })[0]?.paths[0]?.asPath, [[4200000001]])
})

test('enhanced route refresh (RFC 7313): a request is answered between BoRR and EoRR; after the peer\'s BoRR, what it does not re-advertise by its EoRR is removed', async (t) => {
  const s = new Speaker(parseConfig({
    routerId: '10.0.0.1', asn: 65000, announce: ['10.1.0.0/16'],
    peers: [{ address: '10.0.0.2', asn: 65000, passive: true, families: ['ipv4'] }]
  }), { noListener: true })
  // The peer: a bare FSM, so the test says exactly what it sends.
  const seen: string[] = []
  const m = new PeerFsm({
    localAs: 65000, routerId: '10.0.0.2', peerAs: 65000, connectRetryTime: 1,
    capabilities: [
      { code: CapabilityCode.Multiprotocol, afi: Afi.Ipv4, safi: Safi.Unicast }, { code: CapabilityCode.RouteRefresh },
      { code: CapabilityCode.EnhancedRouteRefresh }, { code: CapabilityCode.FourOctetAs, asn: 65000 }
    ]
  }, {
    clock: systemClock,
    connect: async () => { const [mine, theirs] = transportPair({ a: '10.0.0.2', b: '10.0.0.1' }); s.accept(theirs); return mine },
    events: {
      established: () => {},
      update: (u) => { seen.push(u.nlri.length > 0 ? `update ${u.nlri.map((n) => n.prefix).join(',')}` : 'eor') },
      routeRefresh: (r) => { seen.push(['request', 'BoRR', 'EoRR'][r.subtype] ?? `subtype ${r.subtype}`) },
      down: () => {}
    }
  })
  t.teardown(async () => { m.stop(); await s.stop() })
  await s.start()
  m.start()
  await until(() => s.neighbors()[0]?.state === 'Established' && seen.includes('update 10.1.0.0/16'))
  const attrs: PathAttribute[] = [
    { type: AttrType.Origin, origin: 0 }, { type: AttrType.AsPath, segments: [] },
    { type: AttrType.NextHop, nextHop: '10.0.0.2' }, { type: AttrType.LocalPref, localPref: 100 }
  ]
  m.send({ type: MessageType.Update, withdrawn: [], attributes: attrs, nlri: [{ prefix: '10.2.0.0/16' }, { prefix: '10.3.0.0/16' }] })
  await until(() => s.rib.loc.has('10.2.0.0/16') && s.rib.loc.has('10.3.0.0/16'))

  // We ask; the peer's answer re-advertises 10.2 only: 10.3 goes at its EoRR.
  s.refresh('10.0.0.2')
  m.send({ type: MessageType.RouteRefresh, afi: Afi.Ipv4, safi: Safi.Unicast, subtype: RouteRefreshSubtype.BeginningOfRouteRefresh })
  m.send({ type: MessageType.Update, withdrawn: [], attributes: attrs, nlri: [{ prefix: '10.2.0.0/16' }] })
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.true(s.rib.loc.has('10.3.0.0/16'), 'stale, still used until EoRR')
  m.send({ type: MessageType.RouteRefresh, afi: Afi.Ipv4, safi: Safi.Unicast, subtype: RouteRefreshSubtype.EndOfRouteRefresh })
  await until(() => !s.rib.loc.has('10.3.0.0/16'))
  t.true(s.rib.loc.has('10.2.0.0/16'))

  // The peer asks: our whole table comes between BoRR and EoRR (no End-of-RIB).
  seen.length = 0
  m.send({ type: MessageType.RouteRefresh, afi: Afi.Ipv4, safi: Safi.Unicast, subtype: RouteRefreshSubtype.Request })
  await until(() => seen.includes('EoRR'))
  t.deepEqual(seen, ['BoRR', 'update 10.1.0.0/16', 'EoRR'])
})

test('extended messages (RFC 8654): when both sides advertise it, UPDATEs fill up to 65535 octets; otherwise 4096', async (t) => {
  const announce = Array.from({ length: 3000 }, (_, k) => `10.${k >> 8}.${k & 255}.0/24`)
  for (const [theirs, most] of [[true, 1], [false, 3]] as const) {
    const s = lab({
      '10.0.0.1': { routerId: '10.0.0.1', asn: 65000, announce, peers: [{ address: '10.0.0.2', asn: 65000, passive: true, families: ['ipv4'] }] },
      '10.0.0.2': { routerId: '10.0.0.2', asn: 65000, peers: [{ address: '10.0.0.1', asn: 65000, families: ['ipv4'], extendedMessages: theirs }] }
    })
    t.teardown(() => stopAll(s))
    for (const x of Object.values(s)) await x.start()
    const b = s['10.0.0.2'] as Speaker
    await until(() => b.rib.loc.size === 3000)
    const sent = (s['10.0.0.1'] as Speaker).neighbors()[0]?.updatesOut ?? 0
    // 3000 /24s take 12 KB of NLRI: one extended UPDATE, or three of at most 4096 octets.
    t.is(sent, most, `peer advertises extended messages: ${String(theirs)}`)
    await stopAll(s)
  }
})

test('ADD-PATH (RFC 7911): a reflector sends a client every path of a prefix, each under its own id, and withdraws one by id', async (t) => {
  const s = lab({
    '10.0.0.1': { routerId: '10.0.0.1', asn: 65000, clusterId: '1.1.1.1', peers: [
      { address: '10.0.0.2', asn: 65000, routeReflectorClient: true, passive: true, families: ['ipv4'] },
      { address: '10.0.0.3', asn: 65000, routeReflectorClient: true, passive: true, families: ['ipv4'] },
      { address: '10.0.0.4', asn: 65000, routeReflectorClient: true, passive: true, families: ['ipv4'], addPath: 'send' }] },
    '10.0.0.2': { routerId: '10.0.0.2', asn: 65000, peers: [{ address: '10.0.0.1', asn: 65000, families: ['ipv4'] }], announce: [{ prefix: '10.9.0.0/16', nextHop: '10.0.0.2' }] },
    '10.0.0.3': { routerId: '10.0.0.3', asn: 65000, peers: [{ address: '10.0.0.1', asn: 65000, families: ['ipv4'] }] },
    '10.0.0.4': { routerId: '10.0.0.4', asn: 65000, peers: [{ address: '10.0.0.1', asn: 65000, families: ['ipv4'], addPath: 'receive' }] }
  })
  t.teardown(() => stopAll(s))
  for (const x of Object.values(s)) await x.start()
  const c = s['10.0.0.4'] as Speaker
  const other = s['10.0.0.3'] as Speaker
  await until(() => (c.ribView({ prefix: '10.9.0.0/16' })[0]?.paths.length ?? 0) === 1)
  // A second path that does not change the reflector's best (10.0.0.2 keeps it: lower ORIGINATOR_ID) still goes out.
  other.announce({ prefix: '10.9.0.0/16', nextHop: '10.0.0.3', communities: [], localPref: undefined, med: undefined })
  await until(() => (c.ribView({ prefix: '10.9.0.0/16' })[0]?.paths.length ?? 0) === 2)
  const paths = c.ribView({ prefix: '10.9.0.0/16' })[0]?.paths ?? []
  t.deepEqual(paths.map((p) => p.nextHop).sort(), ['10.0.0.2', '10.0.0.3'])
  t.is(new Set(paths.map((p) => p.pathId)).size, 2)
  t.true(paths.every((p) => p.originatorId === p.nextHop && p.clusterList[0] === '1.1.1.1'))
  t.true(c.neighbors()[0]?.negotiated.includes('add-path-rx:ipv4'))
  t.deepEqual((s['10.0.0.1'] as Speaker).neighbors().find((n) => n.address === '10.0.0.4')?.negotiated.filter((x) => x.startsWith('add-path')), ['add-path-tx:ipv4'])
  // A client without ADD-PATH gets the best path only (10.0.0.2's: the lower ORIGINATOR_ID).
  t.is(other.ribView({ prefix: '10.9.0.0/16' })[0]?.paths.filter((p) => p.source !== 'local').length, 1)
  ;(s['10.0.0.3'] as Speaker).withdraw('10.9.0.0/16')
  await until(() => (c.ribView({ prefix: '10.9.0.0/16' })[0]?.paths.length ?? 0) === 1)
  t.is(c.ribView({ prefix: '10.9.0.0/16' })[0]?.paths[0]?.nextHop, '10.0.0.2')
})

test('reload: a peer added comes up, a removed one is closed and its routes withdrawn, a policy change applies in place; fixed settings are refused', async (t) => {
  const doc = (peers: unknown[], extra: Record<string, unknown> = {}): unknown => ({ routerId: '10.0.0.1', asn: 65000, clusterId: '1.1.1.1', announce: ['10.1.0.0/16'], peers, ...extra })
  const client = (address: string): unknown => ({ address, asn: 65000, routeReflectorClient: true, passive: true, families: ['ipv4'] })
  const s = lab({
    '10.0.0.1': doc([client('10.0.0.2')]),
    '10.0.0.2': { routerId: '10.0.0.2', asn: 65000, peers: [{ address: '10.0.0.1', asn: 65000, families: ['ipv4'] }], announce: ['10.2.0.0/16'] },
    '10.0.0.3': { routerId: '10.0.0.3', asn: 65000, peers: [{ address: '10.0.0.1', asn: 65000, families: ['ipv4'], connectRetryTime: 1 }], announce: ['10.3.0.0/16'] }
  })
  t.teardown(() => stopAll(s))
  for (const x of Object.values(s)) await x.start()
  const rr = s['10.0.0.1'] as Speaker
  const c2 = s['10.0.0.2'] as Speaker
  const c3 = s['10.0.0.3'] as Speaker
  await until(() => rr.rib.loc.has('10.2.0.0/16'))
  t.is(rr.neighbors().length, 1, '10.0.0.3 is not configured yet')

  // Add 10.0.0.3: it comes up and routes flow both ways.
  const added = rr.reload(parseConfig(doc([client('10.0.0.2'), client('10.0.0.3')])))
  t.deepEqual(added.added, ['10.0.0.3'])
  await until(() => rr.rib.loc.has('10.3.0.0/16') && c3.rib.loc.has('10.2.0.0/16') && c2.rib.loc.has('10.3.0.0/16'), 5000)

  // An export policy on 10.0.0.2 that rejects 10.3.0.0/16: applied in place, the route is withdrawn from it.
  const upd = rr.reload(parseConfig(doc([{ ...(client('10.0.0.2') as object), policy: { export: { rules: [{ match: { prefixes: ['10.3.0.0/16'] }, action: 'reject' }], default: 'accept' } } }, client('10.0.0.3')])))
  t.deepEqual(upd.updated, ['10.0.0.2'])
  t.deepEqual(upd.restarted, [])
  await until(() => !c2.rib.loc.has('10.3.0.0/16'))
  t.is(rr.neighbors().find((n) => n.address === '10.0.0.2')?.state, 'Established', 'the session stayed up')

  // Remove 10.0.0.2: closed with Cease / Peer De-configured, its route gone from 10.0.0.3.
  const rem = rr.reload(parseConfig(doc([client('10.0.0.3')])))
  t.deepEqual(rem.removed, ['10.0.0.2'])
  await until(() => !c3.rib.loc.has('10.2.0.0/16'))
  t.deepEqual(rr.neighbors().map((n) => n.address), ['10.0.0.3'])
  await until(() => /received 6\/3/.test(c2.neighbors()[0]?.lastError ?? ''), 3000)

  // What needs a restart is refused whole.
  t.throws(() => rr.reload(parseConfig(doc([client('10.0.0.3')], { asn: 65001 }))), { message: /asn changed: these take effect on a restart/ })
  t.deepEqual(rr.neighbors().map((n) => n.address), ['10.0.0.3'])
})
