/**
 * What decoding cannot know: the checks that depend on the session (STYLE.md convention 4, gobgp's validate.go).
 * `decodeMessage` depends only on the bytes and the codec options; these take the decoded message and the
 * session's facts and return the message with RFC 7606 handling applied, or throw the `BgpMessageError` the FSM
 * turns into a NOTIFICATION.
 */
import { ip } from '../../../kernel/index.js'
import { fromTwoOctetAttributes } from './as4.js'
import type { Capability } from './capabilities.js'
import { isRawCapability } from './capabilities.js'
import type { AfiSafi } from './constants.js'
import { AsPathSegmentType, AttrType, CapabilityCode } from './constants.js'
import { BgpMessageError } from './errors.js'
import type { BgpMessageErrorCode, ErrorHandling } from './errors.js'
import type { MpReachNlriAttribute, PathAttribute } from './attrs/types.js'
import { findAttribute, isRawAttribute } from './attrs/types.js'
import { NotificationCode, OpenMessageErrorSubcode, UpdateMessageErrorSubcode } from './notification-codes.js'
import type { OpenMessage } from './open.js'
import { capabilitiesOf, isRawParameter } from './open.js'
import type { UpdateMessage } from './update.js'

/** The facts about the session `validateUpdate` needs. */
export interface UpdateSession {
  /** The peer is in another AS (confederations are not modelled). */
  ebgp: boolean
  /** Our AS: a route whose AS path holds it is a loop (RFC 4271 §9.1.2). */
  localAs: number
  /** RFC 6793: both sides are 4-octet speakers. When not, AS4_PATH is merged in before the loop check. */
  fourOctetAs?: boolean
  /** How many times our AS may appear before it counts as a loop (BIRD's `allow local as`). Default 0. */
  allowOwnAs?: number
  /** Our BGP Identifier: an iBGP route with it as ORIGINATOR_ID is a reflection loop (RFC 4456 §8). */
  routerId?: string
  /** Our cluster id, when we reflect: a route with it in CLUSTER_LIST is a reflection loop (RFC 4456 §8). */
  clusterId?: string
  /** The peer's AS, for `enforceFirstAs`. */
  peerAs?: number
  /** RFC 4271 §6.3: on eBGP the leftmost AS must be the peer's (FRR 10 enforces it by default). */
  enforceFirstAs?: boolean
  /** Our addresses on the session: a next hop equal to one of them is invalid (RFC 4271 §6.3). */
  localAddresses?: readonly string[]
  /** The AFI/SAFIs negotiated; MP attributes of any other are discarded. Omitted: no check. */
  families?: readonly AfiSafi[]
}

function updateError (
  code: BgpMessageErrorCode, subcode: UpdateMessageErrorSubcode, handling: ErrorHandling, message: string, attrType?: number
): BgpMessageError {
  const init: ConstructorParameters<typeof BgpMessageError>[2] = { code: NotificationCode.UpdateMessageError, subcode, handling }
  if (attrType !== undefined) init.attrType = attrType
  return new BgpMessageError(code, message, init)
}

/** RFC 7606 §7.5, §7.9, §7.10: attributes discarded when they come from eBGP, whatever their content. */
const IBGP_ONLY: readonly number[] = [AttrType.LocalPref, AttrType.OriginatorId, AttrType.ClusterList]

const badV4 = ['0.0.0.0/8', '127.0.0.0/8', '224.0.0.0/4', '240.0.0.0/4'].map((c) => ip.parseCidr(c))
const badV6 = ['::/128', '::1/128', 'ff00::/8'].map((c) => ip.parseCidr(c))
const linkLocal = ip.parseCidr('fe80::/10')

function isLocal (addr: string, session: UpdateSession): boolean {
  if (session.localAddresses === undefined) return false
  const c = ip.canonical(addr)
  return session.localAddresses.some((l) => ip.familyOf(l) !== undefined && ip.canonical(l) === c)
}

/** Why `addr` cannot be a next hop, or undefined. */
function nextHopProblem (addr: string, session: UpdateSession): string | undefined {
  const fam = ip.familyOf(addr)
  const bad = (fam === 4 ? badV4 : badV6).find((c) => ip.contains(c, addr))
  if (bad !== undefined) return `${addr} is not a host address (${ip.formatCidr(bad)})`
  if (isLocal(addr, session)) return `${addr} is our own address`
  return undefined
}

function mpNextHopProblem (a: MpReachNlriAttribute, session: UpdateSession): string | undefined {
  if (a.linkLocalNextHop !== undefined) {
    if (!ip.contains(linkLocal, a.linkLocalNextHop)) return `${a.linkLocalNextHop} in the link-local position is not link-local`
    // BIRD's `native` form of a link-local-only next hop: `::` then the link-local address.
    if (a.nextHop === '::') return isLocal(a.linkLocalNextHop, session) ? `${a.linkLocalNextHop} is our own address` : undefined
  }
  return nextHopProblem(a.nextHop, session)
}

/**
 * Applies the session-dependent rules to a decoded UPDATE and returns a new message: discarded attributes are left
 * out, `errors` gains what was found, `treatAsWithdraw` is set when any error calls for it.
 * - from eBGP, LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST are discarded (RFC 7606 §7.5, §7.9, §7.10), along with
 *   any decoding error about them;
 * - MP attributes of families not negotiated are discarded;
 * and when the UPDATE carries routes, treat-as-withdraw for
 * - our AS in the AS path (merged with AS4_PATH on a 2-octet session), beyond `allowOwnAs`;
 * - on eBGP with `enforceFirstAs`, a path that does not start with the peer's AS;
 * - our router id as ORIGINATOR_ID, our cluster id in CLUSTER_LIST (RFC 4456 §8);
 * - a NEXT_HOP or MP next hop that is not a unicast host address, or is ours (RFC 4271 §6.3).
 */
export function validateUpdate (msg: UpdateMessage, session: UpdateSession): UpdateMessage {
  let errors = [...(msg.errors ?? [])]
  const attributes: PathAttribute[] = []
  if (session.ebgp) errors = errors.filter((e) => e.attrType === undefined || !IBGP_ONLY.includes(e.attrType))
  for (const a of msg.attributes) {
    if (session.ebgp && IBGP_ONLY.includes(a.type)) {
      errors.push(updateError('BGP_ERR_ATTR_UNEXPECTED', UpdateMessageErrorSubcode.MalformedAttributeList, 'attribute-discard',
        `attribute ${a.type} from an eBGP peer discarded`, a.type))
      continue
    }
    if ((a.type === AttrType.MpReachNlri || a.type === AttrType.MpUnreachNlri) && session.families !== undefined) {
      const fam = isRawAttribute(a)
        ? (a.raw.length >= 3 ? { afi: ((a.raw[0] as number) << 8) | (a.raw[1] as number), safi: a.raw[2] as number } : undefined)
        : { afi: a.afi, safi: a.safi }
      if (fam !== undefined && !session.families.some((f) => f.afi === fam.afi && f.safi === fam.safi)) {
        errors.push(updateError('BGP_ERR_ATTR_UNEXPECTED', UpdateMessageErrorSubcode.OptionalAttributeError, 'attribute-discard',
          `attribute ${a.type} for AFI ${fam.afi} SAFI ${fam.safi}, which was not negotiated, discarded`, a.type))
        continue
      }
    }
    attributes.push(a)
  }

  const mpReach = findAttribute(attributes, AttrType.MpReachNlri)
  if (msg.nlri.length > 0 || (mpReach !== undefined && mpReach.nlri.length > 0)) {
    const withdraw = (code: BgpMessageErrorCode, subcode: UpdateMessageErrorSubcode, message: string, attrType?: number): void => {
      errors.push(updateError(code, subcode, 'treat-as-withdraw', message, attrType))
    }
    const view = session.fourOctetAs === true ? attributes : fromTwoOctetAttributes(attributes)
    const segments = findAttribute(view, AttrType.AsPath)?.segments ?? []
    let own = 0
    for (const s of segments) for (const asn of s.asns) if (asn === session.localAs) own++
    if (own > (session.allowOwnAs ?? 0)) {
      withdraw('BGP_ERR_AS_LOOP', UpdateMessageErrorSubcode.Unspecific, `our AS ${session.localAs} is in the AS path`, AttrType.AsPath)
    }
    if (session.ebgp && session.enforceFirstAs === true && session.peerAs !== undefined) {
      const first = segments[0]
      if (first === undefined || first.type !== AsPathSegmentType.AsSequence || first.asns[0] !== session.peerAs) {
        withdraw('BGP_ERR_FIRST_AS', UpdateMessageErrorSubcode.MalformedAsPath, `the AS path does not start with the peer AS ${session.peerAs}`, AttrType.AsPath)
      }
    }
    const originator = findAttribute(attributes, AttrType.OriginatorId)
    if (!session.ebgp && session.routerId !== undefined && originator?.originatorId === session.routerId) {
      withdraw('BGP_ERR_ORIGINATOR_LOOP', UpdateMessageErrorSubcode.Unspecific, `ORIGINATOR_ID is our router id ${session.routerId}`, AttrType.OriginatorId)
    }
    const clusters = findAttribute(attributes, AttrType.ClusterList)
    if (session.clusterId !== undefined && clusters?.clusterList.includes(session.clusterId) === true) {
      withdraw('BGP_ERR_CLUSTER_LOOP', UpdateMessageErrorSubcode.Unspecific, `CLUSTER_LIST holds our cluster id ${session.clusterId}`, AttrType.ClusterList)
    }
    // RFC 4271 §6.3: a semantically incorrect NEXT_HOP: "the error SHOULD be logged, and the route SHOULD be ignored".
    const nh = findAttribute(attributes, AttrType.NextHop)
    const nhProblem = msg.nlri.length > 0 && nh !== undefined ? nextHopProblem(nh.nextHop, session) : undefined
    if (nhProblem !== undefined) withdraw('BGP_ERR_ATTR_NEXT_HOP', UpdateMessageErrorSubcode.InvalidNextHopAttribute, `invalid NEXT_HOP: ${nhProblem}`, AttrType.NextHop)
    const mpProblem = mpReach !== undefined && mpReach.nlri.length > 0 ? mpNextHopProblem(mpReach, session) : undefined
    if (mpProblem !== undefined) {
      withdraw('BGP_ERR_ATTR_NEXT_HOP', UpdateMessageErrorSubcode.InvalidNextHopAttribute, `invalid MP_REACH_NLRI next hop: ${mpProblem}`, AttrType.MpReachNlri)
    }
  }

  const out: UpdateMessage = { type: msg.type, withdrawn: msg.withdrawn, attributes, nlri: msg.nlri }
  if (errors.length > 0) {
    out.errors = errors
    if (errors.some((e) => e.handling === 'treat-as-withdraw')) out.treatAsWithdraw = true
  }
  return out
}

/** The facts about the session `validateOpen` needs. */
export interface OpenSession {
  /** Our AS: the session is iBGP when the peer's AS equals it. */
  localAs: number
  /** Our BGP Identifier (RFC 6286 §2.2: an iBGP peer must not share it). */
  localBgpId?: string
  /** The AS configured for the peer. Omitted: any. */
  peerAs?: number
  /** Local floor for a non-zero hold time (BIRD's `min hold time`). RFC 4271: at least 3. */
  minHoldTime?: number
  /** RFC 5492 §3: capability codes the peer must advertise. */
  requiredCapabilities?: readonly number[]
}

function openError (code: BgpMessageErrorCode, subcode: OpenMessageErrorSubcode, message: string, data?: Uint8Array): BgpMessageError {
  const init: ConstructorParameters<typeof BgpMessageError>[2] = { code: NotificationCode.OpenMessageError, subcode }
  if (data !== undefined) init.data = data
  return new BgpMessageError(code, message, init)
}

/**
 * RFC 4271 §6.2 (with RFC 5492, RFC 6286, RFC 6793, RFC 7607) on a decoded OPEN: throws the `BgpMessageError` to
 * answer with, or returns the peer's real AS. Checks, in this order: the peer AS (the 4-octet AS capability's when
 * present, as BIRD and GoBGP take it even when My AS disagrees; 0 is invalid), the hold time, the BGP Identifier, unsupported optional
 * parameters, required capabilities.
 */
export function validateOpen (open: OpenMessage, session: OpenSession): number {
  const caps: Capability[] = capabilitiesOf(open)
  const four = caps.find((c) => c.code === CapabilityCode.FourOctetAs && !isRawCapability(c))
  const peerAs = four !== undefined && 'asn' in four ? four.asn : open.myAs
  if (open.myAs === 0 || peerAs === 0) throw openError('BGP_ERR_OPEN_PEER_AS', OpenMessageErrorSubcode.BadPeerAs, 'peer AS 0 (RFC 7607)')
  if (session.peerAs !== undefined && peerAs !== session.peerAs) {
    throw openError('BGP_ERR_OPEN_PEER_AS', OpenMessageErrorSubcode.BadPeerAs, `peer AS ${peerAs}, expected ${session.peerAs}`)
  }
  if (open.holdTime !== 0 && open.holdTime < Math.max(3, session.minHoldTime ?? 0)) {
    throw openError('BGP_ERR_OPEN_HOLD_TIME', OpenMessageErrorSubcode.UnacceptableHoldTime, `unacceptable hold time ${open.holdTime}`)
  }
  if (open.bgpId === '0.0.0.0' || (peerAs === session.localAs && open.bgpId === session.localBgpId)) {
    throw openError('BGP_ERR_OPEN_BGP_ID', OpenMessageErrorSubcode.BadBgpIdentifier, `bad BGP identifier ${open.bgpId}`)
  }
  const raw = open.parameters.find(isRawParameter)
  if (raw !== undefined) {
    throw openError('BGP_ERR_OPEN_UNSUPPORTED_PARAMETER', OpenMessageErrorSubcode.UnsupportedOptionalParameter, `unsupported optional parameter ${raw.type}`)
  }
  const missing = (session.requiredCapabilities ?? []).filter((code) => !caps.some((c) => c.code === code))
  if (missing.length > 0) {
    // RFC 5492 §3: the Data field lists the capabilities, each as code and a zero length.
    throw openError('BGP_ERR_OPEN_MISSING_CAPABILITY', OpenMessageErrorSubcode.UnsupportedCapability,
      `required capabilities missing: ${missing.join(', ')}`, Uint8Array.from(missing.flatMap((c) => [c, 0])))
  }
  return peerAs
}
