/**
 * NOTIFICATION Error Codes and Subcodes (IANA "BGP Error (Notification) Codes" and "Subcodes"), with the words logs
 * and the API show for them.
 */

export enum NotificationCode {
  /** RFC 4271 §6.1: the header's marker, length or type is wrong. */
  MessageHeaderError = 1,
  /** RFC 4271 §6.2: the OPEN is wrong or unacceptable. */
  OpenMessageError = 2,
  /** RFC 4271 §6.3, revised by RFC 7606: an UPDATE error that needs a session reset. */
  UpdateMessageError = 3,
  /** RFC 4271 §6.5: no KEEPALIVE or UPDATE within the hold time. Subcode 0. */
  HoldTimerExpired = 4,
  /** RFC 4271 §6.6 and RFC 6608: a message the FSM did not expect in its state. */
  FiniteStateMachineError = 5,
  /** RFC 4271 §6.7 and RFC 4486: the session is closed on purpose. */
  Cease = 6,
  /** RFC 7313 §5: a malformed ROUTE-REFRESH. */
  RouteRefreshMessageError = 7,
  /** RFC 9687: the local side could not send for the send hold time. Subcode 0. */
  SendHoldTimerExpired = 8
}

export enum MessageHeaderErrorSubcode {
  /** RFC Errata 4493 */
  Unspecific = 0,
  /** The marker is not all ones. */
  ConnectionNotSynchronized = 1,
  /** The Length field is out of bounds; the Data field holds it (2 octets). */
  BadMessageLength = 2,
  /** The Type is unknown; the Data field holds it (1 octet). */
  BadMessageType = 3
}

export enum OpenMessageErrorSubcode {
  /** RFC Errata 4493: used for malformed optional parameters and capabilities. */
  Unspecific = 0,
  /** The Data field holds the largest supported version (2 octets). */
  UnsupportedVersionNumber = 1,
  /** My AS (or the 4-octet AS capability) is not the configured peer AS, or is 0 (RFC 7607). */
  BadPeerAs = 2,
  /** The BGP Identifier is 0, or equals ours on an iBGP session (RFC 6286 §2.2). */
  BadBgpIdentifier = 3,
  /** An optional parameter type other than Capabilities. */
  UnsupportedOptionalParameter = 4,
  /** Deprecated (RFC 4271 Appendix A). */
  AuthenticationFailure = 5,
  /** Hold time 1 or 2 seconds, or below local policy. */
  UnacceptableHoldTime = 6,
  /** RFC 5492 §3: a capability we require is missing; the Data field lists it. */
  UnsupportedCapability = 7,
  /** RFC 9234 §4.2 */
  RoleMismatch = 11
}

export enum UpdateMessageErrorSubcode {
  /** RFC Errata 4493 */
  Unspecific = 0,
  MalformedAttributeList = 1,
  UnrecognizedWellKnownAttribute = 2,
  /** The Data field holds the missing attribute's type code. */
  MissingWellKnownAttribute = 3,
  AttributeFlagsError = 4,
  AttributeLengthError = 5,
  InvalidOriginAttribute = 6,
  /** Deprecated (RFC 4271 Appendix A). */
  AsRoutingLoop = 7,
  InvalidNextHopAttribute = 8,
  OptionalAttributeError = 9,
  InvalidNetworkField = 10,
  MalformedAsPath = 11
}

/** RFC 6608 §3 */
export enum FsmErrorSubcode {
  UnspecifiedError = 0,
  UnexpectedMessageInOpenSent = 1,
  UnexpectedMessageInOpenConfirm = 2,
  UnexpectedMessageInEstablished = 3
}

/** RFC 4486 §4, RFC 8538 §3, RFC 9384 */
export enum CeaseSubcode {
  /** The Data field may hold AFI(2) SAFI(1) prefix upper bound(4). */
  MaximumNumberOfPrefixesReached = 1,
  /** RFC 9003: the Data field may hold a shutdown communication. */
  AdministrativeShutdown = 2,
  PeerDeconfigured = 3,
  /** RFC 9003: the Data field may hold a shutdown communication. */
  AdministrativeReset = 4,
  ConnectionRejected = 5,
  OtherConfigurationChange = 6,
  ConnectionCollisionResolution = 7,
  OutOfResources = 8,
  /** RFC 8538 §3: the peer must not keep our routes as stale (graceful restart does not apply). */
  HardReset = 9,
  /** RFC 9384 */
  BfdDown = 10
}

/** RFC 7313 §5 */
export enum RouteRefreshErrorSubcode {
  /** The Data field holds the complete ROUTE-REFRESH message. */
  InvalidMessageLength = 1
}

const codeNames: Record<number, string> = {
  1: 'Message Header Error',
  2: 'OPEN Message Error',
  3: 'UPDATE Message Error',
  4: 'Hold Timer Expired',
  5: 'Finite State Machine Error',
  6: 'Cease',
  7: 'ROUTE-REFRESH Message Error',
  8: 'Send Hold Timer Expired'
}

const subcodeNames: Record<number, Record<number, string>> = {
  1: { 0: 'Unspecific', 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' },
  2: {
    0: 'Unspecific',
    1: 'Unsupported Version Number',
    2: 'Bad Peer AS',
    3: 'Bad BGP Identifier',
    4: 'Unsupported Optional Parameter',
    5: 'Authentication Failure',
    6: 'Unacceptable Hold Time',
    7: 'Unsupported Capability',
    11: 'Role Mismatch'
  },
  3: {
    0: 'Unspecific',
    1: 'Malformed Attribute List',
    2: 'Unrecognized Well-known Attribute',
    3: 'Missing Well-known Attribute',
    4: 'Attribute Flags Error',
    5: 'Attribute Length Error',
    6: 'Invalid ORIGIN Attribute',
    7: 'AS Routing Loop',
    8: 'Invalid NEXT_HOP Attribute',
    9: 'Optional Attribute Error',
    10: 'Invalid Network Field',
    11: 'Malformed AS_PATH'
  },
  5: {
    0: 'Unspecified Error',
    1: 'Receive Unexpected Message in OpenSent State',
    2: 'Receive Unexpected Message in OpenConfirm State',
    3: 'Receive Unexpected Message in Established State'
  },
  6: {
    1: 'Maximum Number of Prefixes Reached',
    2: 'Administrative Shutdown',
    3: 'Peer De-configured',
    4: 'Administrative Reset',
    5: 'Connection Rejected',
    6: 'Other Configuration Change',
    7: 'Connection Collision Resolution',
    8: 'Out of Resources',
    9: 'Hard Reset',
    10: 'BFD Down'
  },
  7: { 1: 'Invalid Message Length' }
}

/** 'Cease/Administrative Shutdown', 'UPDATE Message Error/Malformed AS_PATH', 'Hold Timer Expired', 'code 42/7'. */
export function notificationName (code: number, subcode: number): string {
  const name = codeNames[code]
  if (name === undefined) return `code ${code}/${subcode}`
  const sub = subcodeNames[code]?.[subcode]
  if (sub !== undefined) return `${name}/${sub}`
  return subcode === 0 ? name : `${name}/subcode ${subcode}`
}
