/**
 * The BGP wire codec: pure encode/decode/encodingLength triples for every message, capability, path attribute
 * and NLRI; the stream framer; RFC 7606 error handling; and the session-dependent checks kept apart from decoding.
 * The public surface of routing/bgp/codec (see ../README.md and docs/bgp-codec.md).
 */
export type { Codec, Decoded } from './codec.js'
export * from './constants.js'
export * from './notification-codes.js'
export { BgpMessageError, BgpEncodeError, bgpErrorCodes, strongerHandling } from './errors.js'
export type {
  BgpErrorCode, BgpEncodeErrorCode, BgpMessageErrorCode, BgpMessageErrorInit, ErrorHandling, NotificationFields
} from './errors.js'
export { DEFAULT_OPTIONS, hasAddPath, maxMessageLength } from './options.js'
export type { CodecOptions } from './options.js'

export { headerCodec } from './header.js'
export type { MessageHeader } from './header.js'
export { messageCodec, decodeMessage, encodeMessage, KEEPALIVE } from './message.js'
export type { BgpMessage, KeepaliveMessage } from './message.js'
export { capabilitiesOf, findCapability, speakerAs, isRawParameter } from './open.js'
export type { OpenMessage, OptionalParameter, CapabilitiesParameter, RawParameter } from './open.js'
export { capabilityCodec, isRawCapability } from './capabilities.js'
export type {
  Capability, KnownCapability, RawCapability, MultiprotocolCapability, RouteRefreshCapability,
  ExtendedNextHopCapability, ExtendedMessageCapability, RoleCapability, GracefulRestartCapability,
  FourOctetAsCapability, AddPathCapability, EnhancedRouteRefreshCapability, LongLivedGracefulRestartCapability,
  FqdnCapability, RouteRefreshCiscoCapability
} from './capabilities.js'
export { endOfRib, endOfRibFamily } from './update.js'
export type { UpdateMessage } from './update.js'
export { pathAttributeCodec, ATTRIBUTE_FLAGS, attributeName } from './attrs/attribute.js'
export { findAttribute, isRawAttribute } from './attrs/types.js'
export type {
  PathAttribute, KnownAttribute, RawAttribute, AttrBits, OriginAttribute, AsPathAttribute, AsPathSegment,
  NextHopAttribute, MultiExitDiscAttribute, LocalPrefAttribute, AtomicAggregateAttribute, AggregatorAttribute,
  CommunitiesAttribute, OriginatorIdAttribute, ClusterListAttribute, MpReachNlriAttribute, MpUnreachNlriAttribute,
  ExtendedCommunitiesAttribute, As4PathAttribute, As4AggregatorAttribute, LargeCommunity, LargeCommunityAttribute
} from './attrs/types.js'
export { prefixCodec } from './nlri.js'
export type { Nlri } from './nlri.js'
export {
  ceaseNotification, describeNotification, encodeShutdownCommunication, notificationMessage, shutdownCommunication,
  MAX_SHUTDOWN_COMMUNICATION
} from './notification.js'
export type { NotificationMessage, ShutdownCommunication } from './notification.js'
export type { RouteRefreshMessage } from './route-refresh.js'

export { Framer, frameMessages, frameMessagesAsync } from './framer.js'
export type { FramerOptions } from './framer.js'
export { validateUpdate, validateOpen } from './validate.js'
export type { UpdateSession, OpenSession } from './validate.js'
export { negotiate } from './negotiate.js'
export type { Negotiated } from './negotiate.js'
export { asPathLength, mergeAs4Path, toTwoOctetAttributes, fromTwoOctetAttributes } from './as4.js'
