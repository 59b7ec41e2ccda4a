/**
 * Path attribute values. Each known attribute is `{ type, ...fields }`; its flags are the ones the RFC defines
 * (`ATTRIBUTE_FLAGS`), plus what a value may carry over from the wire:
 * - `partial`: the Partial bit, which an optional transitive attribute keeps once set (RFC 4271 §5);
 * - `extendedLength`: the Extended Length bit on a value short enough not to need it (so re-encoding is exact).
 * An attribute this codec does not parse is a `RawAttribute` holding its flags octet and value as received.
 */
import type { AsPathSegmentType, AttrType, Origin } from '../constants.js'
import type { Nlri } from '../nlri.js'

export interface AttrBits {
  partial?: boolean
  extendedLength?: boolean
}

export interface OriginAttribute extends AttrBits { type: AttrType.Origin, origin: Origin }

export interface AsPathSegment {
  /** An `AsPathSegmentType`. */
  type: AsPathSegmentType
  /** 1 to 255 ASNs, none of them 0 (RFC 7607). */
  asns: number[]
}

/** AS numbers are 2 or 4 octets on the wire, per `CodecOptions.fourOctetAs`; here they are always numbers. */
export interface AsPathAttribute extends AttrBits { type: AttrType.AsPath, segments: AsPathSegment[] }
export interface NextHopAttribute extends AttrBits { type: AttrType.NextHop, nextHop: string }
export interface MultiExitDiscAttribute extends AttrBits { type: AttrType.MultiExitDisc, med: number }
export interface LocalPrefAttribute extends AttrBits { type: AttrType.LocalPref, localPref: number }
export interface AtomicAggregateAttribute extends AttrBits { type: AttrType.AtomicAggregate }
/** 2- or 4-octet AS per `CodecOptions.fourOctetAs`. */
export interface AggregatorAttribute extends AttrBits { type: AttrType.Aggregator, asn: number, address: string }
export interface CommunitiesAttribute extends AttrBits { type: AttrType.Communities, communities: number[] }
export interface OriginatorIdAttribute extends AttrBits { type: AttrType.OriginatorId, originatorId: string }
/** Dotted quads, most recent reflector first. */
export interface ClusterListAttribute extends AttrBits { type: AttrType.ClusterList, clusterList: string[] }

/**
 * RFC 4760 §3 for AFI 1/2 with SAFI 1/2 (other families decode to a `RawAttribute`). The Network Address of Next
 * Hop is `nextHop` (4 octets for IPv4; 16 for IPv6, also for IPv4 NLRI per RFC 8950) plus, when the field is 32
 * octets, `linkLocalNextHop` (RFC 2545 §3).
 */
export interface MpReachNlriAttribute extends AttrBits {
  type: AttrType.MpReachNlri
  afi: number
  safi: number
  nextHop: string
  linkLocalNextHop?: string
  nlri: Nlri[]
}

/** RFC 4760 §4. With no `withdrawn`, the End-of-RIB marker of its AFI/SAFI (RFC 4724 §2). */
export interface MpUnreachNlriAttribute extends AttrBits {
  type: AttrType.MpUnreachNlri
  afi: number
  safi: number
  withdrawn: Nlri[]
}

/** RFC 4360: each community is the 8 octets as an unsigned 64-bit integer. */
export interface ExtendedCommunitiesAttribute extends AttrBits { type: AttrType.ExtendedCommunities, communities: bigint[] }
/** RFC 6793 §3: always 4-octet ASNs. */
export interface As4PathAttribute extends AttrBits { type: AttrType.As4Path, segments: AsPathSegment[] }
export interface As4AggregatorAttribute extends AttrBits { type: AttrType.As4Aggregator, asn: number, address: string }

/** RFC 8092 §3: Global Administrator : Local Data Part 1 : Local Data Part 2. */
export interface LargeCommunity { global: number, local1: number, local2: number }
export interface LargeCommunityAttribute extends AttrBits { type: AttrType.LargeCommunity, communities: LargeCommunity[] }

/** An attribute kept as received: an unknown type, or MP_REACH_NLRI/MP_UNREACH_NLRI of a family not parsed. */
export interface RawAttribute {
  type: number
  /** The flags octet as received (Extended Length is forced on when `raw` needs it). */
  flags: number
  raw: Uint8Array
}

export type KnownAttribute =
  | OriginAttribute | AsPathAttribute | NextHopAttribute | MultiExitDiscAttribute | LocalPrefAttribute
  | AtomicAggregateAttribute | AggregatorAttribute | CommunitiesAttribute | OriginatorIdAttribute
  | ClusterListAttribute | MpReachNlriAttribute | MpUnreachNlriAttribute | ExtendedCommunitiesAttribute
  | As4PathAttribute | As4AggregatorAttribute | LargeCommunityAttribute

export type PathAttribute = KnownAttribute | RawAttribute

export function isRawAttribute (a: PathAttribute): a is RawAttribute {
  return 'raw' in a
}

/** The parsed attribute of `type` in a list (raw ones are skipped), typed by `type`. */
export function findAttribute<T extends AttrType> (
  attrs: readonly PathAttribute[], type: T
): Extract<KnownAttribute, { type: T }> | undefined {
  for (const a of attrs) if (a.type === type && !isRawAttribute(a)) return a as Extract<KnownAttribute, { type: T }>
  return undefined
}
