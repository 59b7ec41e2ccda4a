/**
 * Wire constants with their RFC names. Decoded values keep unknown numbers as numbers, so fields typed `number`
 * hold these enums' values and anything else the wire carried.
 */

/** RFC 4271 §4.1: the message Type octet. */
export enum MessageType {
  /** RFC 4271 §4.2: the first message on a connection; proposes the session's parameters. */
  Open = 1,
  /** RFC 4271 §4.3: advertises and withdraws routes. */
  Update = 2,
  /** RFC 4271 §4.5: reports an error; the sender closes the connection after it. */
  Notification = 3,
  /** RFC 4271 §4.4: header only; confirms an OPEN and keeps the hold timer from expiring. */
  Keepalive = 4,
  /** RFC 2918 §3: asks the peer to re-advertise its Adj-RIB-Out for one AFI/SAFI. */
  RouteRefresh = 5
}

/** RFC 4271 §4.1: the 16-octet marker, all ones. */
export const MARKER_LENGTH = 16
/** RFC 4271 §4.1: marker, length and type. */
export const HEADER_LENGTH = 19
/** RFC 4271 §4.1: the largest message without RFC 8654. */
export const MAX_MESSAGE_LENGTH = 4096
/** RFC 8654 §4: the largest UPDATE, NOTIFICATION or ROUTE-REFRESH once both sides advertised Extended Message. */
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535
/** RFC 4271 §4.2: the only version this codec speaks. */
export const BGP_VERSION = 4
/** RFC 6793 §9: the 2-octet stand-in for an AS number above 65535. */
export const AS_TRANS = 23456

/** Per-type minimum message lengths, header included (RFC 4271 §4, RFC 2918 §3). */
export const MIN_MESSAGE_LENGTH: Readonly<Record<MessageType, number>> = {
  [MessageType.Open]: 29,
  [MessageType.Update]: 23,
  [MessageType.Notification]: 21,
  [MessageType.Keepalive]: 19,
  [MessageType.RouteRefresh]: 23
}

/** IANA Address Family Numbers, as used by RFC 4760. */
export enum Afi {
  Ipv4 = 1,
  Ipv6 = 2,
  /** RFC 4761/7432 (VPLS, EVPN): recognised by name only; its NLRI stay raw. */
  L2vpn = 25
}

/** IANA Subsequent Address Family Identifiers (RFC 4760 §6). */
export enum Safi {
  Unicast = 1,
  Multicast = 2,
  /** RFC 8277 */
  LabeledUnicast = 4,
  /** RFC 4364 */
  MplsVpn = 128,
  /** RFC 8955 */
  FlowSpec = 133
}

export interface AfiSafi {
  afi: number
  safi: number
}

/** RFC 5492 §4: Optional Parameter types in an OPEN. */
export enum OptionalParameterType {
  /** RFC 4271 (deprecated by RFC 5492). Decoded as a raw parameter. */
  Authentication = 1,
  /** RFC 5492 §4: a list of capabilities. */
  Capabilities = 2,
  /** RFC 9072 §2: reserved as the marker of the extended optional parameters form. */
  ExtendedLength = 255
}

/** IANA Capability Codes (RFC 5492 §4). */
export enum CapabilityCode {
  /** RFC 4760 §8: AFI(2) Reserved(1) SAFI(1). */
  Multiprotocol = 1,
  /** RFC 2918 §2: empty. */
  RouteRefresh = 2,
  /** RFC 8950 §3: {NLRI AFI(2), NLRI SAFI(2), Next Hop AFI(2)}*. */
  ExtendedNextHop = 5,
  /** RFC 8654 §3: empty. */
  ExtendedMessage = 6,
  /** RFC 9234 §4.1: role(1). */
  Role = 9,
  /** RFC 4724 §3: flags(4 bits) restart time(12 bits) {AFI(2) SAFI(1) flags(1)}*. */
  GracefulRestart = 64,
  /** RFC 6793 §3: ASN(4). */
  FourOctetAs = 65,
  /** RFC 7911 §4: {AFI(2) SAFI(1) Send/Receive(1)}*. */
  AddPath = 69,
  /** RFC 7313 §3.1: empty. */
  EnhancedRouteRefresh = 70,
  /** RFC 9494 §3: {AFI(2) SAFI(1) flags(1) stale time(3)}*. */
  LongLivedGracefulRestart = 71,
  /** draft-walton-bgp-hostname-capability: hostname length(1) hostname, domain length(1) domain. */
  Fqdn = 73,
  /** Cisco's pre-standard Route Refresh, still sent by FRR and others: empty. */
  RouteRefreshCisco = 128
}

/** RFC 4724 §3: Restart Flags (the high 4 bits of the first capability octet, given here as a 4-bit value). */
export enum GracefulRestartFlags {
  /** R: the sender has restarted. */
  Restarting = 0x8,
  /** N (RFC 8538 §2): the sender does graceful restart for NOTIFICATION messages too. */
  Notification = 0x4
}

/** RFC 4724 §3: per-AFI/SAFI flags. */
export enum GracefulRestartAfFlags {
  /** F: forwarding state was preserved across the restart. */
  ForwardingState = 0x80
}

/** RFC 7911 §4: what the sender of the ADD-PATH capability can do for an AFI/SAFI. */
export enum AddPathMode {
  Receive = 1,
  Send = 2,
  Both = 3
}

/** RFC 9234 §4.1: BGP roles. */
export enum BgpRole {
  Provider = 0,
  RouteServer = 1,
  RouteServerClient = 2,
  Customer = 3,
  Peer = 4
}

/** RFC 4271 §4.3: Attribute Flags. The low 4 bits are unused: sent as 0, ignored on receipt. */
export enum AttrFlag {
  /** Set: optional; clear: well-known. */
  Optional = 0x80,
  /** Set: transitive. Well-known attributes are always transitive. */
  Transitive = 0x40,
  /** Set when an optional transitive attribute passed a speaker that did not recognise it. */
  Partial = 0x20,
  /** Set: a 2-octet Attribute Length follows; clear: 1 octet. */
  ExtendedLength = 0x10
}

/** IANA BGP Path Attributes. */
export enum AttrType {
  /** RFC 4271 §5.1.1: well-known mandatory. */
  Origin = 1,
  /** RFC 4271 §5.1.2: well-known mandatory. */
  AsPath = 2,
  /** RFC 4271 §5.1.3: well-known mandatory when the IPv4 NLRI field is used. */
  NextHop = 3,
  /** RFC 4271 §5.1.4: optional non-transitive. */
  MultiExitDisc = 4,
  /** RFC 4271 §5.1.5: well-known; iBGP only. */
  LocalPref = 5,
  /** RFC 4271 §5.1.6: well-known discretionary, empty. */
  AtomicAggregate = 6,
  /** RFC 4271 §5.1.7: optional transitive. */
  Aggregator = 7,
  /** RFC 1997: optional transitive. */
  Communities = 8,
  /** RFC 4456 §8: optional non-transitive. */
  OriginatorId = 9,
  /** RFC 4456 §8: optional non-transitive. */
  ClusterList = 10,
  /** RFC 4760 §3: optional non-transitive. */
  MpReachNlri = 14,
  /** RFC 4760 §4: optional non-transitive. */
  MpUnreachNlri = 15,
  /** RFC 4360: optional transitive. */
  ExtendedCommunities = 16,
  /** RFC 6793 §3: optional transitive. */
  As4Path = 17,
  /** RFC 6793 §3: optional transitive. */
  As4Aggregator = 18,
  /** RFC 8092: optional transitive. */
  LargeCommunity = 32
}

/** RFC 4271 §5.1.1: ORIGIN values. */
export enum Origin {
  Igp = 0,
  Egp = 1,
  Incomplete = 2
}

/** RFC 4271 §4.3 and RFC 5065 §3: AS_PATH segment types. */
export enum AsPathSegmentType {
  AsSet = 1,
  AsSequence = 2,
  AsConfedSequence = 3,
  AsConfedSet = 4
}

/** RFC 1997 and RFC 9494: well-known communities. */
export enum WellKnownCommunity {
  /** RFC 9494 §4.1 */
  LlgrStale = 0xffff0006,
  /** RFC 9494 §4.2 */
  NoLlgr = 0xffff0007,
  NoExport = 0xffffff01,
  NoAdvertise = 0xffffff02,
  NoExportSubconfed = 0xffffff03
}

/** RFC 7313 §3.2: the ROUTE-REFRESH Message Subtype (the former Reserved octet). */
export enum RouteRefreshSubtype {
  /** RFC 2918: a plain request. */
  Request = 0,
  /** Beginning of Route Refresh. */
  BeginningOfRouteRefresh = 1,
  /** End of Route Refresh. */
  EndOfRouteRefresh = 2
}
