/** OPEN (RFC 4271 §4.2), its optional parameters (incl. RFC 9072's extended form) and every capability. */
import test from 'ava'
import { deepStrictEqual } from 'node:assert'
import fc from 'fast-check'
import {
  BgpEncodeError, BgpMessageError, capabilitiesOf, capabilityCodec, CapabilityCode, decodeMessage, encodeMessage,
  findCapability, messageCodec, MessageType, speakerAs
} from './index.js'
import type { Capability, OpenMessage } from './index.js'
import { assertCodec, hex } from './testing/assert-codec.js'
import { capability, open } from './testing/arbitraries.js'

const M = 'ffffffffffffffffffffffffffffffff'

const capabilityRows: Array<{ name: string, value: Capability, bytes: string }> = [
  { name: 'Multiprotocol IPv6 unicast (RFC 4760)', value: { code: CapabilityCode.Multiprotocol, afi: 2, safi: 1 }, bytes: '0104 0002 00 01' },
  { name: 'Route Refresh (RFC 2918)', value: { code: CapabilityCode.RouteRefresh }, bytes: '0200' },
  {
    name: 'Extended Next Hop: IPv4 unicast over IPv6 (RFC 8950)',
    value: { code: CapabilityCode.ExtendedNextHop, entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
    bytes: '0506 0001 0001 0002'
  },
  { name: 'Extended Message (RFC 8654)', value: { code: CapabilityCode.ExtendedMessage }, bytes: '0600' },
  { name: 'BGP Role: customer (RFC 9234)', value: { code: CapabilityCode.Role, role: 3 }, bytes: '0901 03' },
  {
    name: 'Graceful Restart: restarting, notification, 4095 s, IPv4 unicast with forwarding state (RFC 4724, RFC 8538)',
    value: { code: CapabilityCode.GracefulRestart, flags: 0xc, restartTime: 4095, families: [{ afi: 1, safi: 1, flags: 0x80 }] },
    bytes: '4006 cfff 0001 01 80'
  },
  { name: 'Graceful Restart helper only: no families', value: { code: CapabilityCode.GracefulRestart, flags: 0, restartTime: 0, families: [] }, bytes: '4002 0000' },
  { name: '4-octet AS 4294967295 (RFC 6793)', value: { code: CapabilityCode.FourOctetAs, asn: 0xffffffff }, bytes: '4104 ffffffff' },
  {
    name: 'ADD-PATH: IPv4 receive, IPv6 send (RFC 7911)',
    value: { code: CapabilityCode.AddPath, families: [{ afi: 1, safi: 1, sendReceive: 1 }, { afi: 2, safi: 1, sendReceive: 2 }] },
    bytes: '4508 0001 01 01 0002 01 02'
  },
  { name: 'Enhanced Route Refresh (RFC 7313)', value: { code: CapabilityCode.EnhancedRouteRefresh }, bytes: '4600' },
  {
    name: 'Long-Lived Graceful Restart: IPv6 unicast, F, one day (RFC 9494)',
    value: { code: CapabilityCode.LongLivedGracefulRestart, families: [{ afi: 2, safi: 1, flags: 0x80, staleTime: 86400 }] },
    bytes: '4707 0002 01 80 015180'
  },
  { name: 'FQDN (draft-walton)', value: { code: CapabilityCode.Fqdn, hostname: 'r1', domain: '' }, bytes: '4904 02 7231 00' },
  { name: 'Route Refresh, Cisco pre-standard', value: { code: CapabilityCode.RouteRefreshCisco }, bytes: '8000' },
  { name: 'unknown capability 200 kept raw', value: { code: 200, raw: Uint8Array.of(1, 2, 3) }, bytes: 'c803 010203' }
]

for (const r of capabilityRows) {
  test(`capability round-trips: ${r.name}`, (t) => {
    assertCodec(t, capabilityCodec, r.value, { bytes: hex(r.bytes) })
  })
}

test('a known capability that breaks its layout is an OPEN Message Error/Unspecific', (t) => {
  for (const b of ['0103 000100', '0201 00', '0505 0001000100', '0900', '4003 000000', '4105 0000000000', '4503 000101', '4708 00010180000001 00']) {
    const err = t.throws(() => capabilityCodec.decode(hex(b)), { instanceOf: BgpMessageError }) as BgpMessageError
    t.is(err.code, 'BGP_ERR_OPEN_MALFORMED', b)
    t.deepEqual([err.notification.code, err.notification.subcode], [2, 0])
  }
})

test('an FQDN capability off its layout, or not UTF-8, is kept raw rather than refused', (t) => {
  t.deepEqual(capabilityCodec.decode(hex`4903 05 6162`).value, { code: 73, raw: hex`05 6162` })
  t.deepEqual(capabilityCodec.decode(hex`4903 01 ff 00`).value, { code: 73, raw: hex`01 ff 00` })
})

test('encoding refuses out-of-range capability fields', (t) => {
  t.throws(() => capabilityCodec.encode({ code: CapabilityCode.GracefulRestart, flags: 16, restartTime: 0, families: [] }), { instanceOf: BgpEncodeError })
  t.throws(() => capabilityCodec.encode({ code: CapabilityCode.GracefulRestart, flags: 0, restartTime: 4096, families: [] }), { instanceOf: BgpEncodeError })
  t.throws(() => capabilityCodec.encode({ code: CapabilityCode.FourOctetAs, asn: -1 }), { instanceOf: BgpEncodeError })
  t.throws(() => capabilityCodec.encode({ code: 300, raw: new Uint8Array(0) }), { instanceOf: BgpEncodeError })
  t.throws(() => capabilityCodec.encode({ code: 200, raw: new Uint8Array(256) }), { instanceOf: BgpEncodeError, code: 'BGP_ERR_ENCODE_TOO_LONG' })
})

test('every capability round-trips (property)', (t) => {
  fc.assert(fc.property(capability, (c) => { deepStrictEqual(capabilityCodec.decode(capabilityCodec.encode(c)).value, c) }), { numRuns: 1000 })
  t.pass()
})

test('arbitrary bytes decode as a capability or throw BgpMessageError (property)', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
    try { capabilityCodec.decode(b) } catch (err) { return err instanceof BgpMessageError }
    return true
  }), { numRuns: 3000 })
  t.pass()
})

test('every OPEN round-trips, compact or extended (property)', (t) => {
  const codec = messageCodec()
  fc.assert(fc.property(open, (o) => { deepStrictEqual(codec.decode(codec.encode(o)).value, o) }), { numRuns: 500 })
  t.pass()
})

const base: OpenMessage = { type: MessageType.Open, myAs: 65000, holdTime: 180, bgpId: '10.0.0.1', parameters: [] }

test('an OPEN without parameters is 29 octets', (t) => {
  assertCodec(t, messageCodec(), base, { bytes: hex`${M} 001d 01 04 fde8 00b4 0a000001 00` })
})

test('RFC 9072: optional parameters beyond 255 octets switch to the extended form, and it is kept on decode', (t) => {
  const many: Capability[] = Array.from({ length: 70 }, (_, i) => ({ code: CapabilityCode.Multiprotocol, afi: 1, safi: i }))
  const big: OpenMessage = { ...base, parameters: [{ type: 2, capabilities: many }] }
  const bytes = encodeMessage(big)
  // Non-Ext OP Len 255, Non-Ext OP Type 255, Extended Opt Parm Len 423 (3 + 70 * 6), then type 2 with a 2-octet length 420.
  t.is(Buffer.from(bytes.subarray(28, 35)).toString('hex'), 'ffff01a70201a4')
  t.deepEqual(decodeMessage(bytes), { ...big, extendedParameters: true })
  // A small set in the extended form, as a speaker may send it, stays in that form.
  const small: OpenMessage = { ...base, parameters: [{ type: 2, capabilities: [{ code: CapabilityCode.RouteRefresh }] }], extendedParameters: true }
  assertCodec(t, messageCodec(), small, { bytes: hex`${M} 0025 01 04 fde8 00b4 0a000001 ff ff 0005 02 0002 0200` })
})

test('an optional parameter other than Capabilities decodes raw (validateOpen refuses it)', (t) => {
  const bytes = hex`${M} 0021 01 04 fde8 00b4 0a000001 04 01 02 abcd`
  t.deepEqual(decodeMessage(bytes), { ...base, parameters: [{ type: 1, raw: hex`abcd` }] })
})

test('capabilitiesOf, findCapability and speakerAs read across parameters', (t) => {
  const o: OpenMessage = {
    ...base,
    myAs: 23456,
    parameters: [
      { type: 2, capabilities: [{ code: CapabilityCode.RouteRefresh }] },
      { type: 3, raw: new Uint8Array(0) },
      { type: 2, capabilities: [{ code: 65, raw: hex`01` }, { code: CapabilityCode.FourOctetAs, asn: 4200000000 }] }
    ]
  }
  t.is(capabilitiesOf(o).length, 3)
  t.deepEqual(findCapability(o, CapabilityCode.FourOctetAs), { code: 65, asn: 4200000000 }, 'a raw capability with the code is skipped')
  t.is(speakerAs(o), 4200000000)
  t.is(speakerAs(base), 65000)
})

test('encoding refuses a BGP Identifier that is not a dotted quad and fields out of range', (t) => {
  t.throws(() => encodeMessage({ ...base, bgpId: '::1' }), { instanceOf: BgpEncodeError, message: /dotted quad/ })
  t.throws(() => encodeMessage({ ...base, myAs: 70000 }), { instanceOf: BgpEncodeError, message: /My AS/ })
  t.throws(() => encodeMessage({ ...base, holdTime: -1 }), { instanceOf: BgpEncodeError })
})
