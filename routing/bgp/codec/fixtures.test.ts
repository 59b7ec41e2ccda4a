/**
 * Messages captured from BIRD 2.0.12 and GoBGP 3.10.0, and written as the RFC layouts and those daemons lay them
 * out (testing/fixtures.ts): each decodes to the expected value and re-encodes to the same bytes.
 */
import test from 'ava'
import {
  AttrType, CapabilityCode, decodeMessage, describeNotification, findCapability, messageCodec, MessageType, negotiate,
  shutdownCommunication, speakerAs, validateUpdate
} from './index.js'
import type { NotificationMessage, OpenMessage } from './index.js'
import { assertCodec } from './testing/assert-codec.js'
import { capturedFixtures, wireFixtures } from './testing/fixtures.js'

for (const f of [...capturedFixtures, ...wireFixtures]) {
  test(`fixture round-trips: ${f.name}`, (t) => {
    assertCodec(t, messageCodec(f.opts), f.message, { bytes: f.bytes })
  })
}

function fixture (prefix: string): (typeof wireFixtures)[number] {
  const f = [...capturedFixtures, ...wireFixtures].find((x) => x.name.startsWith(prefix))
  if (f === undefined) throw new Error(`no fixture ${prefix}`)
  return f
}

test('GoBGP names its real AS in the 4-octet AS capability behind AS_TRANS', (t) => {
  const open = decodeMessage(fixture('captured: GoBGP 3.10.0 OPEN').bytes) as OpenMessage
  t.is(open.myAs, 23456)
  t.is(speakerAs(open), 4200000002)
  t.deepEqual(findCapability(open, CapabilityCode.ExtendedNextHop)?.entries, [{ afi: 1, safi: 1, nextHopAfi: 2 }])
})

test('the captured OPENs negotiate what the captured UPDATEs were encoded with', (t) => {
  const bird = decodeMessage(fixture('captured: BIRD 2.0.12 OPEN on the IPv4').bytes) as OpenMessage
  const gobgp = decodeMessage(fixture('captured: GoBGP 3.10.0 OPEN').bytes) as OpenMessage
  const n = negotiate(bird, gobgp)
  t.deepEqual(n.rx, { extendedMessages: false, ...fixture('captured: GoBGP 3.10.0 UPDATE over eBGP IPv4').opts }, 'what BIRD decodes GoBGP with')
  t.deepEqual(n.tx, { extendedMessages: false, ...fixture('captured: BIRD 2.0.12 UPDATE over eBGP IPv4').opts }, 'what BIRD encodes with')
  t.deepEqual(n.families, [{ afi: 1, safi: 1 }])
  t.true(n.routeRefresh)
  t.false(n.enhancedRouteRefresh, 'GoBGP does not advertise capability 70')
})

test('the captured UPDATEs pass validateUpdate on their eBGP sessions', (t) => {
  const cases = [
    ['captured: BIRD 2.0.12 UPDATE over eBGP IPv4', { ebgp: true, localAs: 4200000002, fourOctetAs: true, peerAs: 65001, enforceFirstAs: true, localAddresses: ['10.99.0.2'] }],
    ['captured: BIRD 2.0.12 UPDATE over eBGP IPv6', { ebgp: true, localAs: 4200000002, fourOctetAs: true, localAddresses: ['2001:db8:99::2'], families: [{ afi: 2, safi: 1 }] }],
    ['captured: GoBGP 3.10.0 UPDATE over eBGP IPv4', { ebgp: true, localAs: 65001, fourOctetAs: true, peerAs: 4200000002, enforceFirstAs: true, localAddresses: ['10.99.0.1'] }],
    ['captured: GoBGP 3.10.0 UPDATE over eBGP IPv6', { ebgp: true, localAs: 65001, fourOctetAs: true, localAddresses: ['2001:db8:99::1'] }]
  ] as const
  for (const [name, session] of cases) {
    const f = fixture(name)
    const u = decodeMessage(f.bytes, f.opts)
    if (u.type !== MessageType.Update) return t.fail(name)
    t.deepEqual(validateUpdate(u, session), u, name)
  }
})

test('the shutdown communication of the Cease fixture reads back as UTF-8 text', (t) => {
  const n = messageCodec().decode(fixture('NOTIFICATION Cease').bytes).value as NotificationMessage
  t.deepEqual(shutdownCommunication(n), { valid: true, message: 'Wartung: zurück um 14 Uhr' })
  t.is(describeNotification(n), 'Cease/Administrative Shutdown: "Wartung: zurück um 14 Uhr"')
})

test('the link-local next hop of the IPv6 fixture is kept apart from the global one', (t) => {
  const f = fixture('eBGP UPDATE')
  const u = messageCodec(f.opts).decode(f.bytes).value
  t.like(u, { attributes: [{ type: AttrType.MpReachNlri, nextHop: '2001:db8:1::2', linkLocalNextHop: 'fe80::2' }] })
})
