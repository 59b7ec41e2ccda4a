/** From two OPENs to the codec options of each direction (RFC 5492 §3, RFC 6793, RFC 7911 §4, RFC 8654). */
import test from 'ava'
import { CapabilityCode, MessageType, negotiate } from './index.js'
import type { Capability, OpenMessage } from './index.js'
import { wireFixtures } from './testing/fixtures.js'

const openWith = (holdTime: number, ...capabilities: Capability[]): OpenMessage =>
  ({ type: MessageType.Open, myAs: 65000, holdTime, bgpId: '10.0.0.1', parameters: [{ type: 2, capabilities }] })

test('a capability is in effect only when both sides advertised it', (t) => {
  const n = negotiate(openWith(90, { code: CapabilityCode.FourOctetAs, asn: 65000 }, { code: CapabilityCode.ExtendedMessage }), openWith(180, { code: CapabilityCode.FourOctetAs, asn: 65001 }))
  t.deepEqual(n.rx, { fourOctetAs: true, extendedMessages: false, addPath: [] })
  t.deepEqual(n.tx, n.rx)
  t.is(n.holdTime, 90)
  t.deepEqual(n.families, [{ afi: 1, safi: 1 }], 'IPv4 unicast when neither sent Multiprotocol')
})

test('ADD-PATH applies from the side that can send to the side that can receive', (t) => {
  const ours = openWith(90, { code: CapabilityCode.AddPath, families: [{ afi: 1, safi: 1, sendReceive: 3 }, { afi: 2, safi: 1, sendReceive: 1 }, { afi: 1, safi: 2, sendReceive: 9 }] })
  const theirs = openWith(90, { code: CapabilityCode.AddPath, families: [{ afi: 1, safi: 1, sendReceive: 1 }, { afi: 2, safi: 1, sendReceive: 2 }, { afi: 1, safi: 2, sendReceive: 3 }] })
  const n = negotiate(ours, theirs)
  t.deepEqual(n.tx.addPath, [{ afi: 1, safi: 1 }], 'we send IPv4 path ids: we can send, they can receive')
  t.deepEqual(n.rx.addPath, [{ afi: 2, safi: 1 }], 'they send IPv6 path ids; an unknown mode (9) counts for nothing')
})

test('BIRD and GoBGP, as in the fixtures, negotiate IPv4+IPv6 and path ids from BIRD to GoBGP only', (t) => {
  const bird = wireFixtures[0]?.message as OpenMessage
  const gobgp = wireFixtures[1]?.message as OpenMessage
  const n = negotiate(bird, gobgp)
  t.deepEqual(n.families, [{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }])
  t.deepEqual(n.tx, { fourOctetAs: true, extendedMessages: false, addPath: [{ afi: 1, safi: 1 }] })
  t.deepEqual(n.rx.addPath, [])
  t.true(n.routeRefresh)
  t.false(n.enhancedRouteRefresh)
  t.is(n.holdTime, 90)
})
