/**
 * The RIB's value model: a path's attributes, normalised once per UPDATE and family into an immutable `Attrs`
 * that every prefix of that UPDATE shares (comparators and policy read fields, not attribute lists), and the
 * `Path` of one prefix from one source. `toAttributes` turns `Attrs` back into the codec's attribute list.
 */
import { AsPathSegmentType, AttrFlag, AttrType, findAttribute, isRawAttribute } from '../codec/index.js'
import type { AsPathSegment, LargeCommunity, PathAttribute } from '../codec/index.js'

export type Family = 4 | 6

/** Where a path came from. `undefined` as a path's source means "originated here" (announce[] or the API). */
export interface PeerRef {
  /** The peer's configured address: its key everywhere. */
  readonly address: string
  readonly asn: number
  /** The peer's BGP Identifier. */
  readonly routerId: string
  readonly ibgp: boolean
  readonly rrClient: boolean
}

export interface Attrs {
  readonly origin: number
  readonly asPath: readonly AsPathSegment[]
  readonly nextHop: string | undefined
  readonly linkLocalNextHop?: string | undefined
  readonly med?: number | undefined
  readonly localPref?: number | undefined
  readonly communities: readonly number[]
  readonly largeCommunities: readonly LargeCommunity[]
  readonly extCommunities: readonly bigint[]
  readonly originatorId?: string | undefined
  readonly clusterList: readonly string[]
  readonly atomicAggregate: boolean
  readonly aggregator?: { asn: number, address: string } | undefined
  /** Optional transitive attributes this speaker does not interpret, passed on with Partial set (RFC 4271 §5). */
  readonly other: readonly PathAttribute[]
}

export interface Path {
  readonly prefix: string
  readonly family: Family
  readonly source: PeerRef | undefined
  readonly attrs: Attrs
  /** RFC 7911: the path identifier the peer gave it, when ADD-PATH is received from that peer. */
  readonly pathId?: number
  /** RFC 4724: kept from a restarting peer until its End-of-RIB or the restart time. */
  stale?: boolean
}

/** RFC 4271 §9.1.2.2 (a): an AS_SET counts as one, whatever its size. */
export function asPathLength (segs: readonly AsPathSegment[]): number {
  let n = 0
  for (const s of segs) n += s.type === AsPathSegmentType.AsSet || s.type === AsPathSegmentType.AsConfedSet ? 1 : s.type === AsPathSegmentType.AsSequence ? s.asns.length : 0
  return n
}

/** The neighbouring AS a path came through (RFC 4271 §9.1.2.2 (c)), undefined for a path of our own AS. */
export function firstAs (segs: readonly AsPathSegment[]): number | undefined {
  const s = segs[0]
  return s !== undefined && s.type === AsPathSegmentType.AsSequence ? s.asns[0] : undefined
}

export function familyOfPrefix (prefix: string): Family {
  return prefix.includes(':') ? 6 : 4
}

/**
 * The attributes of a decoded UPDATE for one family: IPv4 NLRI take NEXT_HOP, MP_REACH_NLRI routes its next hop(s).
 */
export function attrsFromUpdate (attributes: readonly PathAttribute[], mp: { nextHop: string, linkLocalNextHop?: string } | undefined): Attrs {
  const other: PathAttribute[] = []
  for (const a of attributes) {
    if (isRawAttribute(a) && (a.flags & AttrFlag.Optional) !== 0 && (a.flags & AttrFlag.Transitive) !== 0) {
      other.push({ type: a.type, flags: a.flags | AttrFlag.Partial, raw: a.raw })
    }
  }
  const agg = findAttribute(attributes, AttrType.Aggregator)
  return {
    origin: findAttribute(attributes, AttrType.Origin)?.origin ?? 2,
    asPath: findAttribute(attributes, AttrType.AsPath)?.segments ?? [],
    nextHop: mp !== undefined ? mp.nextHop : findAttribute(attributes, AttrType.NextHop)?.nextHop,
    linkLocalNextHop: mp?.linkLocalNextHop,
    med: findAttribute(attributes, AttrType.MultiExitDisc)?.med,
    localPref: findAttribute(attributes, AttrType.LocalPref)?.localPref,
    communities: findAttribute(attributes, AttrType.Communities)?.communities ?? [],
    largeCommunities: findAttribute(attributes, AttrType.LargeCommunity)?.communities ?? [],
    extCommunities: findAttribute(attributes, AttrType.ExtendedCommunities)?.communities ?? [],
    originatorId: findAttribute(attributes, AttrType.OriginatorId)?.originatorId,
    clusterList: findAttribute(attributes, AttrType.ClusterList)?.clusterList ?? [],
    atomicAggregate: findAttribute(attributes, AttrType.AtomicAggregate) !== undefined,
    aggregator: agg !== undefined ? { asn: agg.asn, address: agg.address } : undefined,
    other
  }
}

/**
 * The attribute list to encode for `attrs` (RFC 7606 §5.1: MP_REACH_NLRI first). For IPv6 the NLRI go in
 * MP_REACH_NLRI, so `nlri` is given here; for IPv4 the caller puts them in the NLRI field.
 */
export function toAttributes (attrs: Attrs, family: Family, mpNlri?: Array<{ prefix: string }>): PathAttribute[] {
  const out: PathAttribute[] = []
  if (family === 6) {
    const mp: PathAttribute = {
      type: AttrType.MpReachNlri, afi: 2, safi: 1, nextHop: attrs.nextHop ?? '::', nlri: mpNlri ?? []
    }
    if (attrs.linkLocalNextHop !== undefined) mp.linkLocalNextHop = attrs.linkLocalNextHop
    out.push(mp)
  }
  out.push({ type: AttrType.Origin, origin: attrs.origin })
  out.push({ type: AttrType.AsPath, segments: attrs.asPath as AsPathSegment[] })
  if (family === 4 && attrs.nextHop !== undefined) out.push({ type: AttrType.NextHop, nextHop: attrs.nextHop })
  if (attrs.med !== undefined) out.push({ type: AttrType.MultiExitDisc, med: attrs.med })
  if (attrs.localPref !== undefined) out.push({ type: AttrType.LocalPref, localPref: attrs.localPref })
  if (attrs.atomicAggregate) out.push({ type: AttrType.AtomicAggregate })
  if (attrs.aggregator !== undefined) out.push({ type: AttrType.Aggregator, ...attrs.aggregator })
  if (attrs.communities.length > 0) out.push({ type: AttrType.Communities, communities: attrs.communities as number[] })
  if (attrs.originatorId !== undefined) out.push({ type: AttrType.OriginatorId, originatorId: attrs.originatorId })
  if (attrs.clusterList.length > 0) out.push({ type: AttrType.ClusterList, clusterList: attrs.clusterList as string[] })
  if (attrs.extCommunities.length > 0) out.push({ type: AttrType.ExtendedCommunities, communities: attrs.extCommunities as bigint[] })
  if (attrs.largeCommunities.length > 0) out.push({ type: AttrType.LargeCommunity, communities: attrs.largeCommunities as LargeCommunity[] })
  out.push(...attrs.other)
  return out
}

/** "65000:100" ⇄ the 32-bit community. Well-known names too (RFC 1997). */
export function parseCommunity (s: string): number {
  const named: Record<string, number> = { 'no-export': 0xffffff01, 'no-advertise': 0xffffff02, 'no-export-subconfed': 0xffffff03, blackhole: 0xffff029a }
  const n = named[s.toLowerCase()]
  if (n !== undefined) return n
  const m = /^(\d+):(\d+)$/.exec(s)
  if (m === null) throw new RangeError(`community "${s}" is not ASN:VALUE`)
  const hi = Number(m[1]); const lo = Number(m[2])
  if (hi > 0xffff || lo > 0xffff) throw new RangeError(`community "${s}" out of range`)
  return hi * 65536 + lo
}

export function formatCommunity (c: number): string {
  return `${Math.floor(c / 65536)}:${c % 65536}`
}

export function formatAsPath (segs: readonly AsPathSegment[]): string {
  return segs.map((s) => s.type === AsPathSegmentType.AsSequence ? s.asns.join(' ') : `{${s.asns.join(',')}}`).join(' ')
}
