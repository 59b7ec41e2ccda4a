/** UPDATE (RFC 4271 §4.3) and how RFC 7606 decides between session reset, treat-as-withdraw and attribute discard. */
import test from 'ava'
import {
  AttrType, BgpMessageError, decodeMessage, encodeMessage, endOfRib, endOfRibFamily, MessageType
} from './index.js'
import type { CodecOptions, UpdateMessage } from './index.js'
import { hex } from './testing/assert-codec.js'

const M = 'ffffffffffffffffffffffffffffffff'

/** An UPDATE message around `body` (withdrawn, attributes and NLRI, lengths included). */
function update (body: Uint8Array): Uint8Array {
  const out = new Uint8Array(19 + body.length).fill(0xff, 0, 16)
  out[16] = out.length >> 8
  out[17] = out.length & 0xff
  out[18] = 2
  out.set(body, 19)
  return out
}

function decodeUpdate (b: Uint8Array, opts?: CodecOptions): UpdateMessage {
  const m = decodeMessage(b, opts)
  if (m.type !== MessageType.Update) throw new Error('not an UPDATE')
  return m
}

const errorsOf = (u: UpdateMessage): string[] => (u.errors ?? []).map((e) => `${e.code}/${e.handling}`)

test('MP_REACH_NLRI with conflicting flags is still parsed so its routes can be withdrawn', (t) => {
  const u = decodeUpdate(update(hex`
    0000                // Withdrawn Routes Length 0
    001d                // Total Path Attribute Length 29
    c0 0e 0c            // MP_REACH_NLRI flagged optional transitive (defined optional non-transitive)
    0001 01 04 0a000001 00 10 0a01  // IPv4 unicast, next hop 10.0.0.1, 10.1.0.0/16
    40 01 01 00         // ORIGIN IGP
    40 02 00            // AS_PATH empty
    40 03 04 0a000001   // NEXT_HOP (ignored without IPv4 NLRI)
  `))
  t.true(u.treatAsWithdraw)
  t.deepEqual(errorsOf(u), ['BGP_ERR_ATTR_FLAGS/treat-as-withdraw'])
  t.like(u.attributes[0], { type: AttrType.MpReachNlri, nlri: [{ prefix: '10.1.0.0/16' }] })
})

test('routes in MP_REACH_NLRI alone need ORIGIN and AS_PATH but no NEXT_HOP', (t) => {
  const mp = hex`80 0e 0c 0001 01 04 0a000001 00 10 0a01`
  const ok = decodeUpdate(update(hex`0000 0016 ${Buffer.from(mp).toString('hex')} 40 01 01 00 40 02 00`))
  t.is(ok.errors, undefined)
  const missing = decodeUpdate(update(hex`0000 000f ${Buffer.from(mp).toString('hex')}`))
  t.true(missing.treatAsWithdraw)
  t.deepEqual(missing.errors?.map((e) => e.notification.data[0]), [AttrType.Origin, AttrType.AsPath])
})

test('an MP_REACH_NLRI of a family not parsed still counts as reachable NLRI (RFC 7606 §5.2)', (t) => {
  const u = decodeUpdate(update(hex`
    0000 0012
    80 0e 0b 0019 46 04 0a000001 00 0102   // L2VPN EVPN, kept raw, with NLRI octets
    40 01 01 07                            // ORIGIN 7: malformed
  `))
  t.true(u.treatAsWithdraw)
  t.deepEqual(errorsOf(u).slice(0, 1), ['BGP_ERR_ATTR_ORIGIN/treat-as-withdraw'])
})

test('with no reachable NLRI, treat-as-withdraw becomes a session reset but attribute discard does not', (t) => {
  // Withdrawals only, and a malformed ORIGIN: nothing to treat as withdrawn.
  const err = t.throws(() => decodeUpdate(update(hex`0002 08 0b 0004 40 01 01 09`)), { instanceOf: BgpMessageError }) as BgpMessageError
  t.is(err.code, 'BGP_ERR_ATTR_ORIGIN')
  t.is(err.handling, 'session-reset')
  // Withdrawals only, and a malformed ATOMIC_AGGREGATE: discarded, the withdrawals stand.
  const u = decodeUpdate(update(hex`0002 08 0b 0004 40 06 01 00`))
  t.deepEqual(u.withdrawn, [{ prefix: '11.0.0.0/8' }])
  t.is(u.treatAsWithdraw, undefined)
  t.deepEqual(errorsOf(u), ['BGP_ERR_ATTR_LENGTH/attribute-discard'])
})

test('a framing error before MP_REACH_NLRI leaves no NLRI to withdraw: session reset', (t) => {
  const err = t.throws(() => decodeUpdate(update(hex`0000 0013 40 01 20 00 80 0e 0c 0001 01 04 0a000001 00 10 0a01`)), { instanceOf: BgpMessageError }) as BgpMessageError
  t.is(err.code, 'BGP_ERR_ATTR_FRAMING')
  t.deepEqual([err.notification.code, err.notification.subcode], [3, 1])
})

test('the strongest action wins and every error is reported in order (RFC 7606 §3(h))', (t) => {
  const u = decodeUpdate(update(hex`
    0000 001c
    40 06 01 00         // ATOMIC_AGGREGATE with a value: discard
    40 01 01 00         // ORIGIN IGP
    40 02 00            // AS_PATH empty
    40 03 04 0a000001   // NEXT_HOP 10.0.0.1
    80 04 03 000001     // MULTI_EXIT_DISC of 3 octets: treat-as-withdraw
    40 01 01 01         // ORIGIN again: discard
    18 0a0100           // 10.1.0.0/24
  `))
  t.true(u.treatAsWithdraw)
  t.deepEqual(errorsOf(u), ['BGP_ERR_ATTR_LENGTH/attribute-discard', 'BGP_ERR_ATTR_LENGTH/treat-as-withdraw', 'BGP_ERR_ATTR_DUPLICATE/attribute-discard'])
  t.deepEqual(u.attributes.map((a) => a.type), [1, 2, 3])
  t.deepEqual(u.nlri, [{ prefix: '10.1.0.0/24' }])
})

test('ADD-PATH applies to both IPv4 fields when negotiated for IPv4 unicast', (t) => {
  const opts: CodecOptions = { addPath: [{ afi: 1, safi: 1 }] }
  const u: UpdateMessage = {
    type: MessageType.Update,
    withdrawn: [{ prefix: '10.0.0.0/8', pathId: 1 }],
    attributes: [{ type: 1, origin: 0 }, { type: 2, segments: [] }, { type: 3, nextHop: '10.0.0.1' }],
    nlri: [{ prefix: '10.0.0.0/8', pathId: 2 }, { prefix: '10.0.0.0/8', pathId: 3 }]
  }
  const b = encodeMessage(u, opts)
  t.is(Buffer.from(b.subarray(19, 27)).toString('hex'), '0006' + '00000001' + '080a')
  t.deepEqual(decodeMessage(b, opts), u)
  // Read without ADD-PATH the same octets are other prefixes, or garbage.
  t.notDeepEqual((() => { try { return decodeMessage(b) } catch (e) { return e } })(), u)
})

test('End-of-RIB markers are built and recognised per family (RFC 4724 §2)', (t) => {
  t.deepEqual(encodeMessage(endOfRib()), hex`${M} 0017 02 0000 0000`)
  t.deepEqual(encodeMessage(endOfRib(2, 1)), hex`${M} 001d 02 0000 0006 800f03 000201`)
  t.deepEqual(encodeMessage(endOfRib(25, 70)), hex`${M} 001d 02 0000 0006 800f03 001946`)
  for (const [afi, safi] of [[1, 1], [2, 1], [1, 2], [25, 70]] as const) {
    t.deepEqual(endOfRibFamily(decodeUpdate(encodeMessage(endOfRib(afi, safi)))), { afi, safi })
  }
  t.is(endOfRibFamily({ ...endOfRib(), nlri: [{ prefix: '10.0.0.0/8' }] }), undefined)
  t.is(endOfRibFamily({ ...endOfRib(), attributes: [{ type: 1, origin: 0 }] }), undefined)
  t.is(endOfRibFamily({ ...endOfRib(2, 1), attributes: [{ type: 15, afi: 2, safi: 1, withdrawn: [{ prefix: '::/0' }] }] }), undefined)
})

test('a NEXT_HOP without IPv4 NLRI is accepted and kept (RFC 7606 §5.1: ignored by the receiver)', (t) => {
  const u = decodeUpdate(update(hex`0000 0007 40 03 04 0a000001`))
  t.is(u.errors, undefined)
  t.deepEqual(u.attributes, [{ type: 3, nextHop: '10.0.0.1' }])
})
