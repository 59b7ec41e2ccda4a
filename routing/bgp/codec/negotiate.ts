/**
 * From the two OPENs to the codec options of each direction (RFC 5492 §3: a capability is in effect when both
 * sides advertised it) and the other values the FSM needs from them. Pure: the FSM calls it once the OPEN
 * exchange is done and hands `rx` to its decoder and `tx` to its encoder.
 */
import type { AddPathCapability } from './capabilities.js'
import type { AfiSafi } from './constants.js'
import { AddPathMode, Afi, CapabilityCode, Safi } from './constants.js'
import type { OpenMessage } from './open.js'
import { capabilitiesOf, findCapability } from './open.js'
import type { CodecOptions } from './options.js'

export interface Negotiated {
  /** Options for decoding what the peer sends. */
  rx: CodecOptions
  /** Options for encoding what we send. */
  tx: CodecOptions
  /** RFC 4271 §4.2: the smaller of the two hold times (0: no keepalives, no hold timer). */
  holdTime: number
  /** RFC 4760 §8: the AFI/SAFIs both advertised; IPv4 unicast when neither sent a Multiprotocol capability. */
  families: AfiSafi[]
  /** RFC 2918 (or Cisco's code 128): the peer accepts ROUTE-REFRESH. */
  routeRefresh: boolean
  /** RFC 7313: both sides do enhanced route refresh. */
  enhancedRouteRefresh: boolean
}

function families (open: OpenMessage): AfiSafi[] {
  const out: AfiSafi[] = []
  for (const c of capabilitiesOf(open)) if (c.code === CapabilityCode.Multiprotocol && 'afi' in c) out.push({ afi: c.afi, safi: c.safi })
  return out
}

function addPathModes (open: OpenMessage): AddPathCapability['families'] {
  return findCapability(open, CapabilityCode.AddPath)?.families ?? []
}

function has (open: OpenMessage, code: CapabilityCode): boolean {
  return capabilitiesOf(open).some((c) => c.code === code)
}

/**
 * RFC 7911 §4: NLRI of an AFI/SAFI carry Path Identifiers from A to B when A advertised Send and B advertised
 * Receive for it. Only values 1–3 count (others "SHOULD be ignored").
 */
function addPathFamilies (sender: OpenMessage, receiver: OpenMessage): AfiSafi[] {
  const out: AfiSafi[] = []
  for (const s of addPathModes(sender)) {
    if (s.sendReceive !== AddPathMode.Send && s.sendReceive !== AddPathMode.Both) continue
    const r = addPathModes(receiver).find((x) => x.afi === s.afi && x.safi === s.safi)
    if (r === undefined || (r.sendReceive !== AddPathMode.Receive && r.sendReceive !== AddPathMode.Both)) continue
    if (!out.some((f) => f.afi === s.afi && f.safi === s.safi)) out.push({ afi: s.afi, safi: s.safi })
  }
  return out
}

/** `sent` is our OPEN, `received` the peer's. */
export function negotiate (sent: OpenMessage, received: OpenMessage): Negotiated {
  const fourOctetAs = has(sent, CapabilityCode.FourOctetAs) && has(received, CapabilityCode.FourOctetAs)
  const extendedMessages = has(sent, CapabilityCode.ExtendedMessage) && has(received, CapabilityCode.ExtendedMessage)
  const ours = families(sent)
  const theirs = families(received)
  const common = ours.length === 0 && theirs.length === 0
    ? [{ afi: Afi.Ipv4, safi: Safi.Unicast }]
    : ours.filter((f, i) => theirs.some((t) => t.afi === f.afi && t.safi === f.safi) &&
      ours.findIndex((g) => g.afi === f.afi && g.safi === f.safi) === i)
  const base = { fourOctetAs, extendedMessages }
  return {
    rx: { ...base, addPath: addPathFamilies(received, sent) },
    tx: { ...base, addPath: addPathFamilies(sent, received) },
    holdTime: Math.min(sent.holdTime, received.holdTime),
    families: common,
    routeRefresh: has(received, CapabilityCode.RouteRefresh) || has(received, CapabilityCode.RouteRefreshCisco),
    enhancedRouteRefresh: has(sent, CapabilityCode.EnhancedRouteRefresh) && has(received, CapabilityCode.EnhancedRouteRefresh)
  }
}
