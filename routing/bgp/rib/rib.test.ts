import test from 'ava'
import { AsPathSegmentType } from '../codec/index.js'
import { mayAdvertise, reflectAttrs } from '../rr/index.js'
import { DECISION_STEPS, decide } from './best.js'
import type { BestPathReason } from './best.js'
import type { Attrs, Path, PeerRef } from './path.js'
import { compilePolicy, evaluatePolicy } from './policy.js'
import { Rib } from './rib.js'

const base: Attrs = {
  origin: 0, asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65010] }], nextHop: '192.0.2.10', communities: [],
  largeCommunities: [], extCommunities: [], clusterList: [], atomicAggregate: false, other: []
}
const peer = (address: string, o: Partial<PeerRef> = {}): PeerRef => ({ address, asn: 65000, routerId: address, ibgp: true, rrClient: false, ...o })
const path = (source: PeerRef | undefined, attrs: Partial<Attrs> = {}, prefix = '10.1.0.0/16'): Path =>
  ({ prefix, family: 4, source, attrs: { ...base, ...attrs } })
const seq = (...asns: number[]): Attrs['asPath'] => [{ type: AsPathSegmentType.AsSequence, asns }]

const rows: Array<{ name: string, winner: Path, loser: Path, reason: BestPathReason }> = [
  { name: 'a fresh path beats a stale one', winner: path(peer('192.0.2.2')), loser: { ...path(peer('192.0.2.1'), { localPref: 500 }), stale: true }, reason: 'not-stale' },
  { name: 'higher LOCAL_PREF wins', winner: path(peer('192.0.2.2'), { localPref: 200 }), loser: path(peer('192.0.2.1')), reason: 'local-pref' },
  { name: 'a path originated here wins over a learned one', winner: path(undefined, { asPath: seq(1, 2, 3) }), loser: path(peer('192.0.2.1')), reason: 'local-origin' },
  { name: 'the shorter AS path wins, an AS_SET counting one', winner: path(peer('192.0.2.2'), { asPath: [{ type: AsPathSegmentType.AsSet, asns: [1, 2, 3] }] }), loser: path(peer('192.0.2.1'), { asPath: seq(1, 2) }), reason: 'as-path-length' },
  { name: 'IGP origin beats INCOMPLETE', winner: path(peer('192.0.2.2'), { origin: 0 }), loser: path(peer('192.0.2.1'), { origin: 2 }), reason: 'origin' },
  { name: 'the lower MED wins between paths from the same AS', winner: path(peer('192.0.2.2'), { med: 5 }), loser: path(peer('192.0.2.1'), { med: 10 }), reason: 'med' },
  { name: 'eBGP beats iBGP', winner: path(peer('192.0.2.2', { ibgp: false })), loser: path(peer('192.0.2.1')), reason: 'ebgp-over-ibgp' },
  { name: 'the lower ORIGINATOR_ID stands in for the router id', winner: path(peer('192.0.2.1'), { originatorId: '1.1.1.1' }), loser: path(peer('192.0.2.2', { routerId: '1.1.1.0' }), { originatorId: '9.9.9.9' }), reason: 'router-id' },
  { name: 'the shorter CLUSTER_LIST wins', winner: path(peer('192.0.2.2', { routerId: '5.5.5.5' }), { originatorId: '7.7.7.7' }), loser: path(peer('192.0.2.1', { routerId: '5.5.5.5' }), { originatorId: '7.7.7.7', clusterList: ['1.1.1.1'] }), reason: 'cluster-list-length' },
  { name: 'the lower peer address breaks the last tie', winner: path(peer('192.0.2.1', { routerId: '5.5.5.5' })), loser: path(peer('192.0.2.2', { routerId: '5.5.5.5' })), reason: 'peer-address' }
]

for (const r of rows) {
  test(`best path: ${r.name}`, (t) => {
    for (const order of [[r.winner, r.loser], [r.loser, r.winner]]) {
      const d = decide(order)
      t.is(d?.best, r.winner)
      t.is(d?.reason, r.reason)
    }
  })
}

test('every decision step is covered by a row', (t) => {
  t.deepEqual(DECISION_STEPS.map(([r]) => r).filter((r) => !rows.some((x) => x.reason === r)), [])
})

test('MED is not compared between paths from different neighbouring ASes', (t) => {
  const a = path(peer('192.0.2.2'), { med: 50, asPath: seq(65020) })
  const b = path(peer('192.0.2.1'), { med: 10, asPath: seq(65010) })
  t.is(decide([a, b])?.reason, 'router-id')
})

test('multipath holds the paths equal to the best up to the tie-breakers', (t) => {
  const a = path(peer('192.0.2.1'), { nextHop: '192.0.2.1' })
  const b = path(peer('192.0.2.2'), { nextHop: '192.0.2.2' })
  const c = path(peer('192.0.2.3'), { nextHop: '192.0.2.3', asPath: seq(1, 2) })
  const d = decide([c, b, a])
  t.is(d?.best, a)
  t.deepEqual(d?.multipath, [a, b])
})

test('Rib: update, replace and withdraw report decision changes; dropSource removes a peer', (t) => {
  const rib = new Rib()
  const p1 = peer('192.0.2.1'); const p2 = peer('192.0.2.2')
  t.true(rib.update(path(p1)))
  t.true(rib.update(path(p2, { localPref: 200 })))
  t.is(rib.decision('10.1.0.0/16')?.best.source, p2)
  t.false(rib.update(path(p1, { med: 7 })), 'a change to a losing path does not change the decision')
  t.is(rib.loc.get('10.1.0.0/16')?.paths.length, 2)
  t.true(rib.withdraw('192.0.2.2', '10.1.0.0/16'))
  t.is(rib.decision('10.1.0.0/16')?.best.source, p1)
  t.false(rib.withdraw('192.0.2.2', '10.1.0.0/16'))
  rib.update(path(p1, {}, '10.2.0.0/16'))
  t.is(rib.count('192.0.2.1'), 2)
  t.deepEqual(rib.dropSource('192.0.2.1').sort(), ['10.1.0.0/16', '10.2.0.0/16'])
  t.is(rib.loc.size, 0)
})

test('Rib: stale paths lose to fresh ones and are swept', (t) => {
  const rib = new Rib()
  const p1 = peer('192.0.2.1'); const p2 = peer('192.0.2.2')
  rib.update(path(p1, { localPref: 300 }))
  rib.update(path(p2))
  t.is(rib.decision('10.1.0.0/16')?.best.source, p1)
  t.deepEqual(rib.markStale('192.0.2.1'), ['10.1.0.0/16'])
  t.is(rib.decision('10.1.0.0/16')?.best.source, p2)
  rib.update(path(p1, { localPref: 300 }, '10.9.0.0/16'))
  t.deepEqual(rib.sweepStale('192.0.2.1'), [], 'the stale path was not the best: no decision changes')
  t.is(rib.loc.get('10.1.0.0/16')?.paths.length, 1)
  t.is(rib.count('192.0.2.1'), 1, 'the path refreshed after the restart stays')
})

test('policy: prefix lists with ge/le, AS-path and community matches, set actions, defaults', (t) => {
  const pol = compilePolicy({
    rules: [
      { match: { prefixes: ['10.0.0.0/8 ge 16 le 24'] }, set: { localPref: 250, communities: { add: ['65000:1'] } } },
      { match: { asPath: '^65666( |$)' }, action: 'reject' },
      { match: { communities: ['65000:1'] }, set: { med: 9 }, action: 'accept' },
      { match: { family: 'ipv6' }, action: 'accept' }
    ],
    default: 'reject'
  })
  const a = evaluatePolicy(pol, '10.1.0.0/16', 4, base)
  t.is(a?.attrs.localPref, 250)
  t.is(a?.attrs.med, 9)
  t.deepEqual(a?.attrs.communities, [65000 * 65536 + 1])
  t.is(evaluatePolicy(pol, '10.1.0.0/16', 4, base)?.attrs, a?.attrs, 'same input, same output object')
  t.is(evaluatePolicy(pol, '10.0.0.0/8', 4, base), undefined, '/8 is outside ge 16')
  t.is(evaluatePolicy(pol, '10.1.0.0/16', 4, { ...base, asPath: seq(65666, 1) }), undefined)
  t.truthy(evaluatePolicy(pol, '2001:db8::/32', 6, base))
  t.is(evaluatePolicy(pol, '192.168.0.0/16', 4, base), undefined)
  t.is(evaluatePolicy(compilePolicy('accept'), '192.168.0.0/16', 4, base)?.attrs, base)
  t.throws(() => compilePolicy({ rules: [{ match: { prefixes: ['10.0.0.0/8 le 4'] } }] }), { message: /rule 0/ })
})

test('route reflection: client and non-client rules, back to the source only for a client, ORIGINATOR_ID and CLUSTER_LIST', (t) => {
  const local = { asn: 65000, routerId: '10.0.0.1', clusterId: '10.0.0.1' }
  const c1 = peer('192.0.2.1', { rrClient: true, routerId: '1.1.1.1' }); const c2 = peer('192.0.2.2', { rrClient: true })
  const n1 = peer('192.0.2.3'); const n2 = peer('192.0.2.4'); const e = peer('198.51.100.1', { ibgp: false, asn: 65100 })
  const fromClient = path(c1)
  t.true(mayAdvertise(fromClient, c1, local), 'a client gets its own routes back (update-group style), and ignores them')
  t.false(mayAdvertise(fromClient, c1, { asn: 65000, routerId: '10.0.0.1' }), 'not without a cluster id')
  t.false(mayAdvertise(path(n1), n1, local), 'never back to a non-client')
  t.false(mayAdvertise(path(e), e, local), 'never back to an eBGP peer')
  t.true(mayAdvertise(fromClient, c2, local))
  t.true(mayAdvertise(fromClient, n1, local))
  const fromNonClient = path(n1)
  t.true(mayAdvertise(fromNonClient, c1, local))
  t.false(mayAdvertise(fromNonClient, n2, local))
  t.true(mayAdvertise(fromNonClient, e, local))
  t.true(mayAdvertise(path(e), n1, local))
  t.false(mayAdvertise(fromNonClient, n2, { asn: 65000, routerId: '10.0.0.1' }), 'no reflection without a cluster id')
  const r = reflectAttrs(fromClient, '10.0.0.1')
  t.is(r.originatorId, '1.1.1.1')
  t.deepEqual(r.clusterList, ['10.0.0.1'])
  t.is(reflectAttrs(fromClient, '10.0.0.1'), r)
  const again = reflectAttrs({ ...fromClient, attrs: { ...base, originatorId: '9.9.9.9', clusterList: ['10.0.0.7'] } }, '10.0.0.1')
  t.is(again.originatorId, '9.9.9.9')
  t.deepEqual(again.clusterList, ['10.0.0.1', '10.0.0.7'])
})


test('ADD-PATH (RFC 7911): one source holds several paths of a prefix, each under its path identifier', (t) => {
  const rib = new Rib()
  const a = peer('192.0.2.1')
  const p1: Path = { ...path(a, { nextHop: '192.0.2.11' }), pathId: 1 }
  const p2: Path = { ...path(a, { nextHop: '192.0.2.12' }), pathId: 2 }
  t.true(rib.update(p2))
  t.true(rib.update(p1), 'the lower path identifier breaks the last tie')
  t.is(rib.decision('10.1.0.0/16')?.best, p1)
  t.is(rib.count('192.0.2.1'), 2)
  t.false(rib.withdraw('192.0.2.1', '10.1.0.0/16'), 'no path without an identifier')
  t.true(rib.withdraw('192.0.2.1', '10.1.0.0/16', 1))
  t.is(rib.decision('10.1.0.0/16')?.best, p2)
  rib.update(p1)
  rib.markStale('192.0.2.1')
  t.true(p1.stale === true && p2.stale === true)
  t.deepEqual(rib.sweepStale('192.0.2.1'), ['10.1.0.0/16'])
  t.is(rib.count('192.0.2.1'), 0)
  rib.update({ ...p1, stale: false })
  rib.update({ ...p2, stale: false })
  t.deepEqual(rib.dropSource('192.0.2.1'), ['10.1.0.0/16'])
  t.is(rib.decision('10.1.0.0/16'), undefined)
})
