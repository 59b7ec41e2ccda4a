/**
 * Path attributes one by one (RFC 4271 §5, RFC 4456, RFC 4760, RFC 4360, RFC 6793, RFC 8092): wire layout, flags
 * kept from the wire, unknown attributes byte for byte, and each attribute's RFC 7606 handling when malformed.
 */
import test from 'ava'
import { deepStrictEqual } from 'node:assert'
import fc from 'fast-check'
import {
  ATTRIBUTE_FLAGS, attributeName, AttrType, BgpEncodeError, BgpMessageError, pathAttributeCodec
} from './index.js'
import type { BgpMessageErrorCode, CodecOptions, ErrorHandling, PathAttribute } from './index.js'
import { assertCodec, hex } from './testing/assert-codec.js'
import { attribute, codecOptions } from './testing/arbitraries.js'

const two: CodecOptions = {}
const four: CodecOptions = { fourOctetAs: true }

const rows: Array<{ name: string, opts?: CodecOptions, value: PathAttribute, bytes: string }> = [
  { name: 'ORIGIN EGP', value: { type: AttrType.Origin, origin: 1 }, bytes: '40 01 01 01' },
  { name: 'AS_PATH empty', value: { type: AttrType.AsPath, segments: [] }, bytes: '40 02 00' },
  {
    name: 'AS_PATH with 2-octet ASNs: a sequence and a set',
    value: { type: AttrType.AsPath, segments: [{ type: 2, asns: [65001, 65002] }, { type: 1, asns: [1, 2] }] },
    bytes: '40 02 0c 02 02 fde9 fdea 01 02 0001 0002'
  },
  {
    name: 'AS_PATH with 4-octet ASNs and confederation segments (RFC 5065)',
    opts: four,
    value: { type: AttrType.AsPath, segments: [{ type: 3, asns: [64512] }, { type: 4, asns: [64513] }, { type: 2, asns: [4200000001] }] },
    bytes: '40 02 12 03 01 0000fc00 04 01 0000fc01 02 01 fa56ea01'
  },
  { name: 'NEXT_HOP', value: { type: AttrType.NextHop, nextHop: '192.0.2.1' }, bytes: '40 03 04 c0000201' },
  { name: 'MULTI_EXIT_DISC', value: { type: AttrType.MultiExitDisc, med: 0xffffffff }, bytes: '80 04 04 ffffffff' },
  { name: 'LOCAL_PREF', value: { type: AttrType.LocalPref, localPref: 100 }, bytes: '40 05 04 00000064' },
  { name: 'ATOMIC_AGGREGATE', value: { type: AttrType.AtomicAggregate }, bytes: '40 06 00' },
  { name: 'AGGREGATOR with a 2-octet AS', value: { type: AttrType.Aggregator, asn: 65001, address: '10.0.0.1' }, bytes: 'c0 07 06 fde9 0a000001' },
  { name: 'AGGREGATOR with a 4-octet AS', opts: four, value: { type: AttrType.Aggregator, asn: 4200000001, address: '10.0.0.1' }, bytes: 'c0 07 08 fa56ea01 0a000001' },
  {
    name: 'COMMUNITIES: NO_EXPORT and 65001:100',
    value: { type: AttrType.Communities, communities: [0xffffff01, 0xfde90064] },
    bytes: 'c0 08 08 ffffff01 fde90064'
  },
  { name: 'ORIGINATOR_ID', value: { type: AttrType.OriginatorId, originatorId: '10.0.0.9' }, bytes: '80 09 04 0a000009' },
  { name: 'CLUSTER_LIST', value: { type: AttrType.ClusterList, clusterList: ['1.1.1.1', '2.2.2.2'] }, bytes: '80 0a 08 01010101 02020202' },
  {
    name: 'MP_REACH_NLRI IPv4 unicast with an IPv4 next hop',
    value: { type: AttrType.MpReachNlri, afi: 1, safi: 1, nextHop: '10.0.0.1', nlri: [{ prefix: '10.1.0.0/16' }] },
    bytes: '80 0e 0c 0001 01 04 0a000001 00 10 0a01'
  },
  {
    name: 'MP_REACH_NLRI IPv4 unicast with an IPv6 next hop (RFC 8950)',
    value: { type: AttrType.MpReachNlri, afi: 1, safi: 1, nextHop: '2001:db8::1', nlri: [{ prefix: '10.1.0.0/16' }] },
    bytes: '80 0e 18 0001 01 10 20010db8000000000000000000000001 00 10 0a01'
  },
  {
    name: 'MP_REACH_NLRI IPv6 with only a link-local next hop (BIRD\'s single format)',
    value: { type: AttrType.MpReachNlri, afi: 2, safi: 1, nextHop: 'fe80::1', nlri: [{ prefix: '2001:db8::/32' }] },
    bytes: '80 0e 1a 0002 01 10 fe800000000000000000000000000001 00 20 20010db8'
  },
  {
    name: 'MP_REACH_NLRI IPv6 with :: and a link-local next hop (BIRD\'s native format)',
    value: { type: AttrType.MpReachNlri, afi: 2, safi: 1, nextHop: '::', linkLocalNextHop: 'fe80::1', nlri: [] },
    bytes: '80 0e 25 0002 01 20 00000000000000000000000000000000 fe800000000000000000000000000001 00'
  },
  {
    name: 'MP_REACH_NLRI IPv6 with ADD-PATH',
    opts: { addPath: [{ afi: 2, safi: 1 }] },
    value: { type: AttrType.MpReachNlri, afi: 2, safi: 1, nextHop: '2001:db8::1', nlri: [{ prefix: '2001:db8:1::/48', pathId: 7 }] },
    bytes: '80 0e 20 0002 01 10 20010db8000000000000000000000001 00 00000007 30 20010db80001'
  },
  {
    name: 'MP_UNREACH_NLRI IPv6 multicast',
    value: { type: AttrType.MpUnreachNlri, afi: 2, safi: 2, withdrawn: [{ prefix: 'ff00::/8' }] },
    bytes: '80 0f 05 0002 02 08 ff'
  },
  {
    name: 'EXTENDED_COMMUNITIES: route target 65001:100',
    value: { type: AttrType.ExtendedCommunities, communities: [0x0002fde900000064n] },
    bytes: 'c0 10 08 0002fde900000064'
  },
  {
    name: 'AS4_PATH',
    value: { type: AttrType.As4Path, segments: [{ type: 2, asns: [4200000001, 65001] }] },
    bytes: 'c0 11 0a 02 02 fa56ea01 0000fde9'
  },
  { name: 'AS4_AGGREGATOR', value: { type: AttrType.As4Aggregator, asn: 4200000001, address: '10.0.0.1' }, bytes: 'c0 12 08 fa56ea01 0a000001' },
  {
    name: 'LARGE_COMMUNITY',
    value: { type: AttrType.LargeCommunity, communities: [{ global: 4200000001, local1: 1, local2: 0xffffffff }] },
    bytes: 'c0 20 0c fa56ea01 00000001 ffffffff'
  },
  { name: 'COMMUNITIES passed on with the Partial bit', value: { type: AttrType.Communities, communities: [1], partial: true }, bytes: 'e0 08 04 00000001' },
  {
    name: 'a short value sent with Extended Length keeps that form',
    value: { type: AttrType.Origin, origin: 0, extendedLength: true },
    bytes: '50 01 0001 00'
  },
  { name: 'unknown optional transitive attribute 99, byte for byte', value: { type: 99, flags: 0xc0, raw: hex`0102` }, bytes: 'c0 63 02 0102' },
  { name: 'unknown attribute with Extended Length and unused flag bits set', value: { type: 250, flags: 0x9f, raw: hex`aa` }, bytes: '9f fa 0001 aa' },
  {
    name: 'MP_REACH_NLRI of a family not parsed (L2VPN EVPN) kept raw',
    value: { type: AttrType.MpReachNlri, flags: 0x80, raw: hex`0019 46 04 0a000001 00 0102` },
    bytes: '80 0e 0b 0019 46 04 0a000001 00 0102'
  }
]

for (const r of rows) {
  test(`attribute round-trips: ${r.name}`, (t) => {
    assertCodec(t, pathAttributeCodec(r.opts ?? two), r.value, { bytes: hex(r.bytes) })
  })
}

test('a value over 255 octets gets the Extended Length flag and a 2-octet length', (t) => {
  const v: PathAttribute = { type: AttrType.Communities, communities: Array.from({ length: 100 }, (_, i) => i) }
  const b = assertCodec(t, pathAttributeCodec(), v)
  t.is(Buffer.from(b.subarray(0, 4)).toString('hex'), 'd0080190')
  const raw: PathAttribute = { type: 99, flags: 0xc0, raw: new Uint8Array(300) }
  t.deepEqual(pathAttributeCodec().decode(pathAttributeCodec().encode(raw)).value, { ...raw, flags: 0xd0 })
})

test('the attribute table has the flags the RFCs define', (t) => {
  t.like(ATTRIBUTE_FLAGS, { 1: 0x40, 2: 0x40, 3: 0x40, 4: 0x80, 5: 0x40, 6: 0x40, 7: 0xc0, 8: 0xc0, 9: 0x80, 10: 0x80, 14: 0x80, 15: 0x80, 16: 0xc0, 17: 0xc0, 18: 0xc0, 32: 0xc0 })
  t.is(attributeName(2), 'AS_PATH')
  t.is(attributeName(99), 'attribute 99')
})

// Each attribute's handling when malformed (RFC 7606 §7, RFC 6793 §6, RFC 7607).
const malformed: Array<{ name: string, opts?: CodecOptions, bytes: string, code: BgpMessageErrorCode, handling: ErrorHandling, subcode: number }> = [
  { name: 'ORIGIN of 2 octets', bytes: '40 01 02 0000', code: 'BGP_ERR_ATTR_LENGTH', handling: 'treat-as-withdraw', subcode: 5 },
  { name: 'ORIGIN 3', bytes: '40 01 01 03', code: 'BGP_ERR_ATTR_ORIGIN', handling: 'treat-as-withdraw', subcode: 6 },
  { name: 'AS_PATH with an unknown segment type', bytes: '40 02 04 05 01 fde9', code: 'BGP_ERR_ATTR_AS_PATH', handling: 'treat-as-withdraw', subcode: 11 },
  { name: 'AS_PATH with an empty segment', bytes: '40 02 02 02 00', code: 'BGP_ERR_ATTR_AS_PATH', handling: 'treat-as-withdraw', subcode: 11 },
  { name: 'AS_PATH with a truncated segment header', bytes: '40 02 01 02', code: 'BGP_ERR_ATTR_AS_PATH', handling: 'treat-as-withdraw', subcode: 11 },
  { name: 'AS_PATH with 2-octet ASNs on a 4-octet session', opts: four, bytes: '40 02 04 02 01 fde9', code: 'BGP_ERR_ATTR_AS_PATH', handling: 'treat-as-withdraw', subcode: 11 },
  { name: 'NEXT_HOP of 16 octets', bytes: '40 03 10 20010db8000000000000000000000001', code: 'BGP_ERR_ATTR_LENGTH', handling: 'treat-as-withdraw', subcode: 5 },
  { name: 'MULTI_EXIT_DISC of 2 octets', bytes: '80 04 02 0001', code: 'BGP_ERR_ATTR_LENGTH', handling: 'treat-as-withdraw', subcode: 5 },
  { name: 'LOCAL_PREF of 0 octets', bytes: '40 05 00', code: 'BGP_ERR_ATTR_LENGTH', handling: 'treat-as-withdraw', subcode: 5 },
  { name: 'ATOMIC_AGGREGATE with a value', bytes: '40 06 01 00', code: 'BGP_ERR_ATTR_LENGTH', handling: 'attribute-discard', subcode: 5 },
  { name: 'AGGREGATOR of 8 octets on a 2-octet session', bytes: 'c0 07 08 0000fde9 0a000001', code: 'BGP_ERR_ATTR_LENGTH', handling: 'attribute-discard', subcode: 5 },
  { name: 'AGGREGATOR with AS 0', bytes: 'c0 07 06 0000 0a000001', code: 'BGP_ERR_ATTR_AGGREGATOR', handling: 'attribute-discard', subcode: 9 },
  { name: 'COMMUNITIES empty', bytes: 'c0 08 00', code: 'BGP_ERR_ATTR_LENGTH', handling: 'treat-as-withdraw', subcode: 5 },
  { name: 'ORIGINATOR_ID of 8 octets', bytes: '80 09 08 0a0000090a000009', code: 'BGP_ERR_ATTR_LENGTH', handling: 'treat-as-withdraw', subcode: 5 },
  { name: 'CLUSTER_LIST of 6 octets', bytes: '80 0a 06 010101010202', code: 'BGP_ERR_ATTR_LENGTH', handling: 'treat-as-withdraw', subcode: 5 },
  { name: 'MP_REACH_NLRI shorter than 5 octets', bytes: '80 0e 04 0002 01 00', code: 'BGP_ERR_ATTR_MP', handling: 'session-reset', subcode: 9 },
  { name: 'MP_REACH_NLRI next hop overrunning it', bytes: '80 0e 06 0002 01 10 00 00', code: 'BGP_ERR_ATTR_MP', handling: 'session-reset', subcode: 9 },
  { name: 'MP_REACH_NLRI IPv6 with a 4-octet next hop', bytes: '80 0e 09 0002 01 04 0a000001 00', code: 'BGP_ERR_ATTR_MP', handling: 'session-reset', subcode: 9 },
  { name: 'MP_UNREACH_NLRI of 2 octets', bytes: '80 0f 02 0002', code: 'BGP_ERR_ATTR_MP', handling: 'session-reset', subcode: 9 },
  { name: 'MP_UNREACH_NLRI with a truncated prefix', bytes: '80 0f 05 0001 01 18 0a', code: 'BGP_ERR_ATTR_MP', handling: 'session-reset', subcode: 9 },
  { name: 'EXTENDED_COMMUNITIES of 12 octets', bytes: 'c0 10 0c 000000000000000000000000', code: 'BGP_ERR_ATTR_LENGTH', handling: 'treat-as-withdraw', subcode: 5 },
  { name: 'AS4_PATH empty', bytes: 'c0 11 00', code: 'BGP_ERR_ATTR_LENGTH', handling: 'attribute-discard', subcode: 5 },
  { name: 'AS4_PATH with AS 0', bytes: 'c0 11 06 02 01 00000000', code: 'BGP_ERR_ATTR_AS_PATH', handling: 'attribute-discard', subcode: 11 },
  { name: 'AS4_AGGREGATOR from a 4-octet speaker', opts: four, bytes: 'c0 12 08 fa56ea01 0a000001', code: 'BGP_ERR_ATTR_UNEXPECTED', handling: 'attribute-discard', subcode: 9 },
  { name: 'AS4_AGGREGATOR of 6 octets', bytes: 'c0 12 06 fde9 0a000001', code: 'BGP_ERR_ATTR_LENGTH', handling: 'attribute-discard', subcode: 5 },
  { name: 'LARGE_COMMUNITY of 8 octets', bytes: 'c0 20 08 0000000000000000', code: 'BGP_ERR_ATTR_LENGTH', handling: 'treat-as-withdraw', subcode: 5 },
  { name: 'LOCAL_PREF flagged optional', bytes: 'c0 05 04 00000064', code: 'BGP_ERR_ATTR_FLAGS', handling: 'treat-as-withdraw', subcode: 4 },
  { name: 'MULTI_EXIT_DISC flagged transitive', bytes: 'c0 04 04 00000064', code: 'BGP_ERR_ATTR_FLAGS', handling: 'treat-as-withdraw', subcode: 4 },
  { name: 'unknown attribute without the Optional flag', bytes: '40 fe 00', code: 'BGP_ERR_ATTR_UNRECOGNIZED', handling: 'treat-as-withdraw', subcode: 2 },
  { name: 'attribute overrunning the buffer', bytes: '40 01 05 00', code: 'BGP_ERR_ATTR_FRAMING', handling: 'treat-as-withdraw', subcode: 1 }
]

for (const r of malformed) {
  test(`malformed attribute: ${r.name} → ${r.handling}`, (t) => {
    const err = t.throws(() => pathAttributeCodec(r.opts ?? two).decode(hex(r.bytes)), { instanceOf: BgpMessageError }) as BgpMessageError
    t.is(err.code, r.code)
    t.is(err.handling, r.handling)
    t.deepEqual([err.notification.code, err.notification.subcode], [3, r.subcode])
  })
}

test('encoding refuses what decoding would call malformed', (t) => {
  const refuse = (a: unknown, opts: CodecOptions = two, message?: RegExp): void => {
    t.throws(() => pathAttributeCodec(opts).encode(a as PathAttribute), { instanceOf: BgpEncodeError, ...(message !== undefined ? { message } : {}) })
  }
  refuse({ type: AttrType.Origin, origin: 3 })
  refuse({ type: AttrType.AsPath, segments: [{ type: 2, asns: [] }] })
  refuse({ type: AttrType.AsPath, segments: [{ type: 2, asns: Array.from({ length: 256 }, () => 1) }] })
  refuse({ type: AttrType.AsPath, segments: [{ type: 5, asns: [1] }] })
  refuse({ type: AttrType.AsPath, segments: [{ type: 2, asns: [0] }] })
  refuse({ type: AttrType.AsPath, segments: [{ type: 2, asns: [4200000001] }] }, two, /toTwoOctetAttributes/)
  refuse({ type: AttrType.Aggregator, asn: 4200000001, address: '10.0.0.1' }, two, /toTwoOctetAttributes/)
  refuse({ type: AttrType.NextHop, nextHop: '2001:db8::1' })
  refuse({ type: AttrType.Communities, communities: [] })
  refuse({ type: AttrType.ClusterList, clusterList: [] })
  refuse({ type: AttrType.ExtendedCommunities, communities: [-1n] })
  refuse({ type: AttrType.LargeCommunity, communities: [] })
  refuse({ type: AttrType.As4Path, segments: [{ type: 2, asns: [1] }] }, four, /never sent/)
  refuse({ type: AttrType.As4Aggregator, asn: 1, address: '10.0.0.1' }, four)
  refuse({ type: AttrType.As4Path, segments: [] })
  refuse({ type: AttrType.MpReachNlri, afi: 2, safi: 1, nextHop: '10.0.0.1', nlri: [] }, two, /IPv4 next hop for AFI 2/)
  refuse({ type: AttrType.MpReachNlri, afi: 25, safi: 70, nextHop: '10.0.0.1', nlri: [] }, two, /RawAttribute/)
  refuse({ type: AttrType.MpReachNlri, afi: 2, safi: 1, nextHop: '2001:db8::1', nlri: [{ prefix: '10.0.0.0/8' }] }, two, /not IPv6/)
  refuse({ type: 300, flags: 0x80, raw: new Uint8Array(0) })
  refuse({ type: 99, flags: 0xc0, raw: new Uint8Array(65536) }, two, /exceeds 65535/)
})

test('every attribute round-trips under every option set (property)', (t) => {
  fc.assert(fc.property(codecOptions.chain((o) => fc.tuple(fc.constant(o), attribute(o))), ([opts, a]) => {
    const codec = pathAttributeCodec(opts)
    deepStrictEqual(codec.decode(codec.encode(a)).value, a)
  }), { numRuns: 2000 })
  t.pass()
})

test('arbitrary bytes decode as an attribute or throw BgpMessageError (property)', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 48 }), codecOptions, (b, opts) => {
    try { pathAttributeCodec(opts).decode(b) } catch (err) { return err instanceof BgpMessageError }
    return true
  }), { numRuns: 5000 })
  // Behind a plausible header, to reach the value decoders.
  const plausible = fc.tuple(fc.constantFrom(...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 32, 99]), fc.boolean(), fc.uint8Array({ maxLength: 60 }))
    .map(([type, optional, v]) => Uint8Array.of((optional ? 0xc0 : 0x40) & ((ATTRIBUTE_FLAGS as Record<number, number>)[type] ?? 0xff), type, v.length, ...v))
  fc.assert(fc.property(plausible, codecOptions, (b, opts) => {
    try { pathAttributeCodec(opts).decode(b) } catch (err) { return err instanceof BgpMessageError }
    return true
  }), { numRuns: 5000 })
  t.pass()
})
