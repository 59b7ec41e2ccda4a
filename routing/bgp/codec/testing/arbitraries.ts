/**
 * fast-check arbitraries for valid values of every wire structure, in the canonical form decoding produces (so
 * `decode(encode(x))` equals `x`). The FSM and RIB tests can reuse them.
 */
import fc from 'fast-check'
import { ip } from '../../../../kernel/index.js'
import type { Capability } from '../capabilities.js'
import {
  Afi, AsPathSegmentType, AttrFlag, AttrType, CapabilityCode, MessageType, OptionalParameterType, Origin, Safi
} from '../constants.js'
import type { MessageHeader } from '../header.js'
import type { BgpMessage } from '../message.js'
import type { Nlri } from '../nlri.js'
import type { NotificationMessage } from '../notification.js'
import type { OpenMessage, OptionalParameter } from '../open.js'
import type { CodecOptions } from '../options.js'
import { hasAddPath } from '../options.js'
import type { RouteRefreshMessage } from '../route-refresh.js'
import type { UpdateMessage } from '../update.js'
import type { AsPathSegment, AttrBits, PathAttribute } from '../attrs/types.js'

/** `fc.record` with ordinary objects (fast-check 4 builds them without a prototype, which node:assert tells apart). */
function rec<T> (model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record<T>(model, { noNullPrototype: true }) as fc.Arbitrary<T>
}

const u8 = fc.integer({ min: 0, max: 255 })
const u16 = fc.integer({ min: 0, max: 0xffff })
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const bytes = (maxLength: number, minLength = 0): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength, maxLength }).map((b) => new Uint8Array(b))

export const asn = fc.integer({ min: 1, max: 0xffffffff })
export const asn16 = fc.integer({ min: 1, max: 0xffff })
export const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => ip.fromBytes(b))
export const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => ip.fromBytes(b))

/** A canonical prefix of `family`: random address, host bits cleared. */
export function prefix (family: 4 | 6): fc.Arbitrary<string> {
  const max = family === 4 ? 32 : 128
  return fc.tuple(fc.uint8Array({ minLength: max / 8, maxLength: max / 8 }), fc.integer({ min: 0, max })).map(([b, len]) => {
    const out = new Uint8Array(max / 8)
    const n = (len + 7) >> 3
    out.set(b.subarray(0, n))
    if ((len & 7) !== 0) out[n - 1] = (out[n - 1] as number) & (0xff << (8 - (len & 7)))
    return `${ip.fromBytes(out)}/${len}`
  })
}

export function nlri (family: 4 | 6, addPath: boolean): fc.Arbitrary<Nlri> {
  return addPath
    ? rec({ prefix: prefix(family), pathId: u32 })
    : prefix(family).map((p) => ({ prefix: p }))
}

export const header: fc.Arbitrary<MessageHeader> = rec({
  type: fc.integer({ min: 1, max: 5 }),
  length: fc.integer({ min: 19, max: 4096 })
})

export const capability: fc.Arbitrary<Capability> = fc.oneof(
  rec({ code: fc.constant(CapabilityCode.Multiprotocol as const), afi: u16, safi: u8 }),
  fc.constantFrom(CapabilityCode.RouteRefresh, CapabilityCode.ExtendedMessage, CapabilityCode.EnhancedRouteRefresh,
    CapabilityCode.RouteRefreshCisco).map((code) => ({ code }) as Capability),
  rec({ code: fc.constant(CapabilityCode.ExtendedNextHop as const), entries: fc.array(rec({ afi: u16, safi: u16, nextHopAfi: u16 }), { maxLength: 8 }) }),
  rec({ code: fc.constant(CapabilityCode.Role as const), role: u8 }),
  rec({
    code: fc.constant(CapabilityCode.GracefulRestart as const),
    flags: fc.integer({ min: 0, max: 15 }),
    restartTime: fc.integer({ min: 0, max: 4095 }),
    families: fc.array(rec({ afi: u16, safi: u8, flags: u8 }), { maxLength: 8 })
  }),
  rec({ code: fc.constant(CapabilityCode.FourOctetAs as const), asn: u32 }),
  rec({ code: fc.constant(CapabilityCode.AddPath as const), families: fc.array(rec({ afi: u16, safi: u8, sendReceive: u8 }), { maxLength: 8 }) }),
  rec({
    code: fc.constant(CapabilityCode.LongLivedGracefulRestart as const),
    families: fc.array(rec({ afi: u16, safi: u8, flags: u8, staleTime: fc.integer({ min: 0, max: 0xffffff }) }), { maxLength: 8 })
  }),
  rec({ code: fc.constant(CapabilityCode.Fqdn as const), hostname: fc.string({ maxLength: 40 }), domain: fc.string({ maxLength: 40 }) }),
  rec({
    code: u8.filter((c) => !(Object.values(CapabilityCode) as unknown[]).includes(c)),
    raw: bytes(40)
  })
)

const parameter: fc.Arbitrary<OptionalParameter> = fc.oneof(
  { weight: 4, arbitrary: rec({ type: fc.constant(OptionalParameterType.Capabilities as const), capabilities: fc.array(capability, { maxLength: 6 }) }) },
  { weight: 1, arbitrary: rec({ type: u8.filter((t) => t !== OptionalParameterType.Capabilities), raw: bytes(20) }) }
)

export const open: fc.Arbitrary<OpenMessage> = rec({
  type: fc.constant(MessageType.Open as const),
  myAs: u16,
  holdTime: u16,
  bgpId: ipv4,
  parameters: fc.array(parameter, { maxLength: 4 }),
  extendedParameters: fc.boolean()
}).map((o) => {
  if (!o.extendedParameters) delete (o as { extendedParameters?: boolean }).extendedParameters
  return o
}).filter((o) => {
  // Leave out what the encoder switches to the extended form by itself: decoding then says so.
  const lens = o.parameters.map((p) => 'raw' in p ? p.raw.length : p.capabilities.reduce((n, c) => n + 2 + capLen(c), 0))
  const compact = lens.reduce((n, l) => n + 2 + l, 0)
  return o.extendedParameters === true || (compact <= 255 && lens.every((l) => l <= 255))
})

function capLen (c: Capability): number {
  if ('raw' in c) return c.raw.length
  switch (c.code) {
    case CapabilityCode.Multiprotocol: case CapabilityCode.FourOctetAs: return 4
    case CapabilityCode.ExtendedNextHop: return 6 * c.entries.length
    case CapabilityCode.Role: return 1
    case CapabilityCode.GracefulRestart: return 2 + 4 * c.families.length
    case CapabilityCode.AddPath: return 4 * c.families.length
    case CapabilityCode.LongLivedGracefulRestart: return 7 * c.families.length
    case CapabilityCode.Fqdn: return 2 + new TextEncoder().encode(c.hostname + c.domain).length
    default: return 0
  }
}

const bits: fc.Arbitrary<AttrBits> = rec({ partial: fc.boolean(), extendedLength: fc.boolean() }).map((b) => {
  const out: AttrBits = {}
  if (b.partial) out.partial = true
  if (b.extendedLength) out.extendedLength = true
  return out
})

function segments (asnArb: fc.Arbitrary<number>, maxSegments: number): fc.Arbitrary<AsPathSegment[]> {
  return fc.array(rec({
    type: fc.constantFrom(AsPathSegmentType.AsSet, AsPathSegmentType.AsSequence, AsPathSegmentType.AsConfedSequence, AsPathSegmentType.AsConfedSet),
    asns: fc.array(asnArb, { minLength: 1, maxLength: 12 })
  }), { maxLength: maxSegments })
}

/** Every attribute valid under `opts`, each value within 255 bytes (so `extendedLength` survives a round trip). */
export function attribute (opts: CodecOptions): fc.Arbitrary<PathAttribute> {
  const four = opts.fourOctetAs === true
  const asnArb = four ? asn : asn16
  const mpFamily = rec({ afi: fc.constantFrom(Afi.Ipv4, Afi.Ipv6), safi: fc.constantFrom(Safi.Unicast, Safi.Multicast) })
  const known: Array<fc.Arbitrary<PathAttribute>> = [
    rec({ type: fc.constant(AttrType.Origin as const), origin: fc.constantFrom(Origin.Igp, Origin.Egp, Origin.Incomplete) }),
    rec({ type: fc.constant(AttrType.AsPath as const), segments: segments(asnArb, 4) }),
    rec({ type: fc.constant(AttrType.NextHop as const), nextHop: ipv4 }),
    rec({ type: fc.constant(AttrType.MultiExitDisc as const), med: u32 }),
    rec({ type: fc.constant(AttrType.LocalPref as const), localPref: u32 }),
    fc.constant({ type: AttrType.AtomicAggregate as const }),
    rec({ type: fc.constant(AttrType.Aggregator as const), asn: asnArb, address: ipv4 }),
    rec({ type: fc.constant(AttrType.Communities as const), communities: fc.array(u32, { minLength: 1, maxLength: 60 }) }),
    rec({ type: fc.constant(AttrType.OriginatorId as const), originatorId: ipv4 }),
    rec({ type: fc.constant(AttrType.ClusterList as const), clusterList: fc.array(ipv4, { minLength: 1, maxLength: 60 }) }),
    mpFamily.chain(({ afi, safi }) => {
      const fam = afi === Afi.Ipv4 ? 4 : 6
      const nh = afi === Afi.Ipv4
        ? fc.oneof(ipv4.map((a) => ({ nextHop: a })), ipv6.map((a) => ({ nextHop: a })), fc.tuple(ipv6, ipv6).map(([a, b]) => ({ nextHop: a, linkLocalNextHop: b })))
        : fc.oneof(ipv6.map((a) => ({ nextHop: a })), fc.tuple(ipv6, ipv6).map(([a, b]) => ({ nextHop: a, linkLocalNextHop: b })))
      return fc.tuple(nh, fc.array(nlri(fam, hasAddPath(opts, afi, safi)), { maxLength: 8 }))
        .map(([n, list]) => ({ type: AttrType.MpReachNlri as const, afi, safi, ...n, nlri: list }))
    }),
    mpFamily.chain(({ afi, safi }) => fc.array(nlri(afi === Afi.Ipv4 ? 4 : 6, hasAddPath(opts, afi, safi)), { maxLength: 10 })
      .map((list) => ({ type: AttrType.MpUnreachNlri as const, afi, safi, withdrawn: list }))),
    rec({ type: fc.constant(AttrType.ExtendedCommunities as const), communities: fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 1, maxLength: 30 }) }),
    rec({ type: fc.constant(AttrType.LargeCommunity as const), communities: fc.array(rec({ global: u32, local1: u32, local2: u32 }), { minLength: 1, maxLength: 20 }) })
  ]
  if (!four) {
    known.push(
      rec({ type: fc.constant(AttrType.As4Path as const), segments: segments(asn, 4).filter((s) => s.length > 0) }),
      rec({ type: fc.constant(AttrType.As4Aggregator as const), asn, address: ipv4 })
    )
  }
  const parsed = new Set<number>(Object.values(AttrType).filter((v): v is number => typeof v === 'number'))
  const raw = rec({
    type: u8.filter((t) => !parsed.has(t)),
    flags: u8.map((f) => f | AttrFlag.Optional),
    raw: bytes(300)
  }).map((a) => a.raw.length > 255 ? { ...a, flags: a.flags | AttrFlag.ExtendedLength } : a)
  return fc.oneof(
    { weight: known.length, arbitrary: fc.tuple(fc.oneof(...known), bits).map(([a, b]) => ({ ...a, ...b }) as PathAttribute) },
    { weight: 2, arbitrary: raw }
  )
}

/**
 * A valid UPDATE under `opts`: each attribute type at most once, and ORIGIN, AS_PATH (and NEXT_HOP with IPv4
 * NLRI) present whenever it carries routes, as decoding otherwise reports them missing.
 */
export function update (opts: CodecOptions): fc.Arbitrary<UpdateMessage> {
  const ap = hasAddPath(opts, Afi.Ipv4, Safi.Unicast)
  return rec({
    withdrawn: fc.array(nlri(4, ap), { maxLength: 20 }),
    attributes: fc.uniqueArray(attribute(opts), { maxLength: 10, selector: (a) => a.type }),
    nlri: fc.array(nlri(4, ap), { maxLength: 20 }),
    mandatory: fc.tuple(
      fc.constantFrom(Origin.Igp, Origin.Egp, Origin.Incomplete), segments(opts.fourOctetAs === true ? asn : asn16, 2), ipv4)
  }).map(({ withdrawn, attributes, nlri: list, mandatory: [origin, segs, nh] }) => {
    const attrs = [...attributes]
    const reach = list.length > 0 || attrs.some((a) => a.type === AttrType.MpReachNlri && 'nlri' in a && a.nlri.length > 0)
    const add = (a: PathAttribute): void => { if (!attrs.some((x) => x.type === a.type)) attrs.push(a) }
    if (reach) {
      add({ type: AttrType.Origin, origin })
      add({ type: AttrType.AsPath, segments: segs })
      if (list.length > 0) add({ type: AttrType.NextHop, nextHop: nh })
    }
    return { type: MessageType.Update as const, withdrawn, attributes: attrs, nlri: list }
  })
}

export const notification: fc.Arbitrary<NotificationMessage> = rec({
  type: fc.constant(MessageType.Notification as const), code: u8, subcode: u8, data: bytes(64)
})

export const routeRefresh: fc.Arbitrary<RouteRefreshMessage> = rec({
  type: fc.constant(MessageType.RouteRefresh as const),
  afi: u16,
  safi: u8,
  subtype: u8,
  orf: bytes(16)
}).map((r) => {
  const { orf, ...rest } = r
  return (orf.length === 0 || r.subtype === 1 || r.subtype === 2) ? rest : { ...rest, orf }
})

export function message (opts: CodecOptions): fc.Arbitrary<BgpMessage> {
  return fc.oneof(open, update(opts), notification, fc.constant({ type: MessageType.Keepalive as const }), routeRefresh)
}

/** Options a session may have negotiated. */
export const codecOptions: fc.Arbitrary<CodecOptions> = rec({
  fourOctetAs: fc.boolean(),
  extendedMessages: fc.boolean(),
  addPath: fc.subarray([
    { afi: Afi.Ipv4, safi: Safi.Unicast }, { afi: Afi.Ipv6, safi: Safi.Unicast },
    { afi: Afi.Ipv4, safi: Safi.Multicast }, { afi: Afi.Ipv6, safi: Safi.Multicast }
  ])
})

/** Arbitrary bytes behind a valid-looking header, to reach past the header checks. */
export function framedGarbage (maxBody = 200): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.integer({ min: 1, max: 5 }), bytes(maxBody)).map(([type, body]) => {
    const out = new Uint8Array(19 + body.length).fill(0xff, 0, 16)
    out[16] = (19 + body.length) >> 8
    out[17] = (19 + body.length) & 0xff
    out[18] = type
    out.set(body, 19)
    return out
  })
}

export { u8, u16, u32, bytes }
