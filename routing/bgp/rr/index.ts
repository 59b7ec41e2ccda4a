/**
 * Route reflection (RFC 4456) and the other rules of who gets which path: which peers a best path may be
 * advertised to (§6: client and non-client rules, never back to its source, RFC 4271 §9.2 for plain iBGP), and
 * the ORIGINATOR_ID and CLUSTER_LIST a reflected path carries (§8).
 */
import type { Attrs, Path, PeerRef } from '../rib/path.js'

export interface LocalFacts {
  asn: number
  routerId: string
  /** Set: we are a route reflector with this cluster id. */
  clusterId?: string | undefined
}

/**
 * Whether `path` may go to `to`:
 * - back to the peer it came from only when we reflect and that peer is a client: like FRR's and Cisco's update
 *   groups, every client gets the same UPDATEs, its own routes included; they carry its router id as
 *   ORIGINATOR_ID, so it ignores them (§8; we do too, see codec/validate.ts). Otherwise never back to its source;
 * - our own paths and paths learned over eBGP go to everyone;
 * - to an eBGP peer, any path;
 * - an iBGP path to an iBGP peer only through reflection: from a client to every other peer, from a non-client
 *   to clients only (§6); without a cluster id, never (RFC 4271 §9.2, full mesh).
 */
export function mayAdvertise (path: Path, to: PeerRef, local: LocalFacts): boolean {
  const from = path.source
  if (from === undefined) return true
  if (from.address === to.address) return from.ibgp && from.rrClient && local.clusterId !== undefined
  if (!from.ibgp || !to.ibgp) return true
  if (local.clusterId === undefined) return false
  return from.rrClient || to.rrClient
}

const reflected = new WeakMap<Attrs, Map<string, Attrs>>()

/**
 * The attributes of an iBGP path reflected to an iBGP peer (§8): ORIGINATOR_ID set to the originating peer's
 * BGP Identifier unless already there, our cluster id prepended to CLUSTER_LIST. The same input gives the same
 * object (so outgoing UPDATEs still group by attribute set).
 */
export function reflectAttrs (path: Path, clusterId: string): Attrs {
  const source = path.source
  const a = path.attrs
  if (source === undefined) return a
  const key = `${clusterId} ${source.routerId}`
  let m = reflected.get(a)
  if (m === undefined) { m = new Map(); reflected.set(a, m) }
  let out = m.get(key)
  if (out === undefined) {
    out = { ...a, originatorId: a.originatorId ?? source.routerId, clusterList: [clusterId, ...a.clusterList] }
    m.set(key, out)
  }
  return out
}

