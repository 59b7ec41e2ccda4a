/** The session-dependent checks, kept apart from decoding: validateUpdate and validateOpen. */
import test from 'ava'
import {
  AttrType, BgpMessageError, CapabilityCode, decodeMessage, MessageType, validateOpen, validateUpdate
} from './index.js'
import type { OpenMessage, PathAttribute, UpdateMessage, UpdateSession } from './index.js'
import { hex } from './testing/assert-codec.js'
import { malformedFixtures, wireFixtures } from './testing/fixtures.js'

const ibgp: UpdateSession = { ebgp: false, localAs: 65000, routerId: '10.0.0.1', clusterId: '10.0.0.254', localAddresses: ['10.0.0.1', '2001:db8::1'] }
const ebgp: UpdateSession = { ebgp: true, localAs: 65000, peerAs: 65001, localAddresses: ['10.0.0.1'] }

function route (attrs: PathAttribute[], nlri = [{ prefix: '10.1.0.0/24' }]): UpdateMessage {
  return {
    type: MessageType.Update,
    withdrawn: [],
    attributes: [{ type: AttrType.Origin, origin: 0 }, { type: AttrType.AsPath, segments: [{ type: 2, asns: [65001] }] }, { type: AttrType.NextHop, nextHop: '10.0.0.2' }, ...attrs],
    nlri
  }
}

const verdict = (u: UpdateMessage): string[] => (u.errors ?? []).map((e) => `${e.code}/${e.handling}`)

test('a clean UPDATE passes unchanged', (t) => {
  const u = route([{ type: AttrType.LocalPref, localPref: 100 }])
  t.deepEqual(validateUpdate(u, ibgp), u)
  t.not(validateUpdate(u, ibgp), u, 'a new message is returned')
})

test('from eBGP, LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST are discarded (RFC 7606 §7.5, §7.9, §7.10)', (t) => {
  const u = validateUpdate(route([
    { type: AttrType.LocalPref, localPref: 100 }, { type: AttrType.OriginatorId, originatorId: '1.1.1.1' }, { type: AttrType.ClusterList, clusterList: ['2.2.2.2'] }
  ]), ebgp)
  t.deepEqual(u.attributes.map((a) => a.type), [1, 2, 3])
  t.deepEqual(verdict(u), ['BGP_ERR_ATTR_UNEXPECTED/attribute-discard', 'BGP_ERR_ATTR_UNEXPECTED/attribute-discard', 'BGP_ERR_ATTR_UNEXPECTED/attribute-discard'])
  t.is(u.treatAsWithdraw, undefined)
})

test('from eBGP a malformed LOCAL_PREF is discarded, not a reason to withdraw', (t) => {
  // LOCAL_PREF of 3 octets: decoding alone says treat-as-withdraw.
  const m = decodeMessage(hex`ffffffffffffffffffffffffffffffff 0033 02 0000 0018 40 01 01 00 40 02 04 02 01 fde9 40 03 04 0a000002 40 05 03 000064 18 0a0100`)
  if (m.type !== MessageType.Update) return t.fail()
  t.true(m.treatAsWithdraw)
  t.is(validateUpdate(m, ibgp).treatAsWithdraw, true)
  const e = validateUpdate(m, ebgp)
  t.is(e.treatAsWithdraw, undefined)
  t.deepEqual(verdict(e), [])
})

test('our AS in the path withdraws the routes, beyond allowOwnAs (RFC 4271 §9.1.2)', (t) => {
  const looped = route([]).attributes.map((a) => a.type === AttrType.AsPath ? { ...a, segments: [{ type: 2, asns: [65001, 65000] }] } : a) as PathAttribute[]
  const u = { ...route([]), attributes: looped }
  t.deepEqual(verdict(validateUpdate(u, ebgp)), ['BGP_ERR_AS_LOOP/treat-as-withdraw'])
  t.true(validateUpdate(u, ebgp).treatAsWithdraw)
  t.deepEqual(verdict(validateUpdate(u, { ...ebgp, allowOwnAs: 1 })), [])
})

test('on a 2-octet session the loop check sees through AS_TRANS into AS4_PATH', (t) => {
  const f = wireFixtures.find((x) => x.name.startsWith('UPDATE from a 2-octet speaker'))
  const m = decodeMessage(f?.bytes ?? new Uint8Array(0))
  if (m.type !== MessageType.Update) return t.fail()
  const session: UpdateSession = { ebgp: true, localAs: 4200000002 }
  t.deepEqual(verdict(validateUpdate(m, session)), ['BGP_ERR_AS_LOOP/treat-as-withdraw'])
  t.deepEqual(verdict(validateUpdate(m, { ...session, fourOctetAs: true })), [], 'on a 4-octet session AS4_PATH is not consulted')
})

test('enforceFirstAs: on eBGP the path must start with the peer AS', (t) => {
  const s = { ...ebgp, enforceFirstAs: true }
  t.deepEqual(verdict(validateUpdate(route([]), s)), [])
  const other = { ...route([]), attributes: [{ type: AttrType.Origin, origin: 0 }, { type: AttrType.AsPath, segments: [{ type: 2, asns: [65009] }] }, { type: AttrType.NextHop, nextHop: '10.0.0.2' }] } as UpdateMessage
  t.deepEqual(verdict(validateUpdate(other, s)), ['BGP_ERR_FIRST_AS/treat-as-withdraw'])
  t.deepEqual(verdict(validateUpdate(other, ebgp)), [], 'not enforced unless asked')
})

test('reflection loops: our router id as ORIGINATOR_ID, our cluster id in CLUSTER_LIST (RFC 4456 §8)', (t) => {
  t.deepEqual(verdict(validateUpdate(route([{ type: AttrType.OriginatorId, originatorId: '10.0.0.1' }]), ibgp)), ['BGP_ERR_ORIGINATOR_LOOP/treat-as-withdraw'])
  t.deepEqual(verdict(validateUpdate(route([{ type: AttrType.ClusterList, clusterList: ['10.0.0.9', '10.0.0.254'] }]), ibgp)), ['BGP_ERR_CLUSTER_LOOP/treat-as-withdraw'])
  t.deepEqual(verdict(validateUpdate(route([{ type: AttrType.ClusterList, clusterList: ['10.0.0.9'] }]), ibgp)), [])
})

test('a next hop that is not a unicast host address, or is ours, withdraws the routes (RFC 4271 §6.3)', (t) => {
  for (const nh of ['0.0.0.0', '127.0.0.1', '224.0.0.5', '255.255.255.255', '10.0.0.1']) {
    const u = { ...route([]), attributes: route([]).attributes.map((a) => a.type === AttrType.NextHop ? { type: AttrType.NextHop, nextHop: nh } : a) } as UpdateMessage
    t.deepEqual(verdict(validateUpdate(u, ebgp)), ['BGP_ERR_ATTR_NEXT_HOP/treat-as-withdraw'], nh)
  }
  const mp = (nextHop: string, linkLocalNextHop?: string): UpdateMessage => route([{
    type: AttrType.MpReachNlri, afi: 2, safi: 1, nextHop, ...(linkLocalNextHop !== undefined ? { linkLocalNextHop } : {}), nlri: [{ prefix: '2001:db8:5::/48' }]
  }], [])
  t.deepEqual(verdict(validateUpdate(mp('2001:db8::2', 'fe80::2'), ibgp)), [])
  t.deepEqual(verdict(validateUpdate(mp('::', 'fe80::2'), ibgp)), [], "BIRD's native link-local-only form")
  t.deepEqual(verdict(validateUpdate(mp('fe80::2'), ibgp)), [], "BIRD's single link-local-only form")
  for (const [nh, ll] of [['::'], ['ff02::1'], ['::1'], ['2001:db8::1'], ['2001:db8::2', '2001:db8::3']]) {
    t.deepEqual(verdict(validateUpdate(mp(nh as string, ll), ibgp)), ['BGP_ERR_ATTR_NEXT_HOP/treat-as-withdraw'], `${nh} ${ll ?? ''}`)
  }
})

test('nothing to withdraw, nothing checked: withdrawals alone pass whatever their attributes say', (t) => {
  const u: UpdateMessage = { type: MessageType.Update, withdrawn: [{ prefix: '10.0.0.0/8' }], attributes: [{ type: AttrType.NextHop, nextHop: '0.0.0.0' }], nlri: [] }
  t.deepEqual(validateUpdate(u, ibgp), u)
})

test('MP attributes of a family not negotiated are discarded', (t) => {
  const u = route([{ type: AttrType.MpReachNlri, afi: 2, safi: 1, nextHop: '2001:db8::2', nlri: [{ prefix: '2001:db8::/32' }] }])
  const v = validateUpdate(u, { ...ibgp, families: [{ afi: 1, safi: 1 }] })
  t.deepEqual(v.attributes.map((a) => a.type), [1, 2, 3])
  t.deepEqual(verdict(v), ['BGP_ERR_ATTR_UNEXPECTED/attribute-discard'])
  t.deepEqual(validateUpdate(u, { ...ibgp, families: [{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }] }), u)
  const raw = route([{ type: AttrType.MpUnreachNlri, flags: 0x80, raw: hex`0019 46` }])
  t.deepEqual(verdict(validateUpdate(raw, { ...ibgp, families: [{ afi: 1, safi: 1 }] })), ['BGP_ERR_ATTR_UNEXPECTED/attribute-discard'])
})

test('decoding errors are kept and the verdict recomputed', (t) => {
  const f = malformedFixtures.find((x) => x.name.startsWith('AGGREGATOR of 5 octets'))
  const m = decodeMessage(f?.bytes ?? new Uint8Array(0))
  if (m.type !== MessageType.Update) return t.fail()
  const v = validateUpdate(m, ibgp)
  t.deepEqual(verdict(v), ['BGP_ERR_ATTR_LENGTH/attribute-discard'])
  t.is(v.treatAsWithdraw, undefined)
})

const open: OpenMessage = {
  type: MessageType.Open,
  myAs: 23456,
  holdTime: 90,
  bgpId: '10.0.0.4',
  parameters: [{ type: 2, capabilities: [{ code: CapabilityCode.FourOctetAs, asn: 4200000001 }, { code: CapabilityCode.RouteRefresh }] }]
}

const openError = (o: OpenMessage, s: Parameters<typeof validateOpen>[1]): [string, number, number, string] => {
  const e = (() => { try { validateOpen(o, s); return undefined } catch (err) { return err } })()
  if (!(e instanceof BgpMessageError)) throw new Error('no BgpMessageError')
  return [e.code, e.notification.code, e.notification.subcode, Buffer.from(e.notification.data).toString('hex')]
}

test('validateOpen returns the peer AS, from the 4-octet AS capability when there is one', (t) => {
  t.is(validateOpen(open, { localAs: 65000 }), 4200000001)
  t.is(validateOpen({ ...open, parameters: [] }, { localAs: 65000, peerAs: 23456 }), 23456)
})

test('validateOpen answers each OPEN error with its subcode (RFC 4271 §6.2, RFC 5492, RFC 6286, RFC 7607)', (t) => {
  t.deepEqual(openError(open, { localAs: 65000, peerAs: 65001 }), ['BGP_ERR_OPEN_PEER_AS', 2, 2, ''])
  t.deepEqual(openError({ ...open, myAs: 0, parameters: [] }, { localAs: 65000 }), ['BGP_ERR_OPEN_PEER_AS', 2, 2, ''])
  t.deepEqual(openError({ ...open, holdTime: 2 }, { localAs: 65000 }), ['BGP_ERR_OPEN_HOLD_TIME', 2, 6, ''])
  t.deepEqual(openError({ ...open, holdTime: 5 }, { localAs: 65000, minHoldTime: 9 }), ['BGP_ERR_OPEN_HOLD_TIME', 2, 6, ''])
  t.is(validateOpen({ ...open, holdTime: 0 }, { localAs: 65000, minHoldTime: 9 }), 4200000001, 'hold time 0 turns keepalives off')
  t.deepEqual(openError({ ...open, bgpId: '0.0.0.0' }, { localAs: 65000 }), ['BGP_ERR_OPEN_BGP_ID', 2, 3, ''])
  t.deepEqual(openError(open, { localAs: 4200000001, localBgpId: '10.0.0.4' }), ['BGP_ERR_OPEN_BGP_ID', 2, 3, ''])
  t.is(validateOpen(open, { localAs: 65000, localBgpId: '10.0.0.4' }), 4200000001, 'eBGP peers may share our identifier')
  t.deepEqual(openError({ ...open, parameters: [...open.parameters, { type: 1, raw: hex`00` }] }, { localAs: 65000 }), ['BGP_ERR_OPEN_UNSUPPORTED_PARAMETER', 2, 4, ''])
  t.deepEqual(openError(open, { localAs: 65000, requiredCapabilities: [CapabilityCode.RouteRefresh, CapabilityCode.AddPath, CapabilityCode.ExtendedMessage] }),
    ['BGP_ERR_OPEN_MISSING_CAPABILITY', 2, 7, '45000600'])
})
