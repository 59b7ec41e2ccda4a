/**
 * flannel's masquerade and forward rules as data: the pure part of the
 * overlay agent's traffic management (flannel's `pkg/trafficmngr`). The rules
 * are computed here once and rendered by two backends, `masq-iptables.ts`
 * (nat chain FLANNEL-POSTRTG, filter chain FLANNEL-FWD) and `masq-nftables.ts`
 * (tables `ip flannel-ipv4` and `ip6 flannel-ipv6`), which both implement
 * `TrafficManager`. See docs/vxlan-masquerade.md.
 *
 * Per family, in order (first match wins; `return` leaves the packet alone):
 *
 *   1. mark & 0x4000            → return      kube-proxy marked it and masquerades it itself (no double NAT)
 *   2. pod subnet → network     → return      our pods to any pod: pod IPs are routable in the overlay
 *   3. network → pod subnet     → return      any pod to our pods
 *   4. !network → pod subnet    → return      external traffic to a pod keeps its source (e.g. via NodePort on another node)
 *   5. network → !multicast     → masquerade  pods leaving the cluster network take the node's address
 *   6. !network → network       → masquerade  the host (or anything outside) reaching remote pods uses its flannel.1 address
 *
 * and, when forward rules are on, `network → any: accept`, `any → network:
 * accept`, for hosts whose FORWARD policy is DROP (Docker ≥ 1.13).
 */
import { ip } from '../../kernel/index.js'
import type { Family } from '../../kernel/index.js'
import { VxlanError } from './errors.js'

/** kube-proxy's masquerade mark (KUBE-MARK-MASQ, `--masquerade-bit` 14). */
export const KUBE_PROXY_MARK = 0x4000

export const MULTICAST: Readonly<Record<Family, string>> = { 4: '224.0.0.0/4', 6: 'ff00::/8' }

/** An address match: `[!] -s/-d <cidr>` in iptables, `ip[6] saddr/daddr [!=] <cidr>` in nftables. */
export interface AddrMatch {
  /** Canonical network/prefix, host bits cleared. */
  readonly cidr: string
  readonly negate: boolean
}

export type Verdict = 'return' | 'masquerade' | 'accept'

/** One rule of a masquerade or forward chain, independent of the backend. */
export interface TrafficRule {
  /** Matches packets whose mark has all these bits set (`-m mark --mark b/b`, `meta mark & b == b`). */
  readonly markBits?: number
  readonly src?: AddrMatch
  readonly dst?: AddrMatch
  readonly verdict: Verdict
  /** masquerade only: fully randomised source ports (`--random-fully`, `fully-random`). */
  readonly randomFully?: boolean
  /** Why the rule exists; for logs and documentation, not rendered. */
  readonly why: string
}

/**
 * Rules per address family, in order. `undefined` for a family means "this
 * family is not in use": a TrafficManager removes what it owns there.
 */
export interface RuleSet {
  readonly v4: readonly TrafficRule[] | undefined
  readonly v6: readonly TrafficRule[] | undefined
}

export interface MasqInit {
  /** The IPv4 cluster network (`Network`), e.g. '10.244.0.0/16'; undefined when IPv4 is off. */
  network?: string | undefined
  /** This node's IPv4 subnet, e.g. '10.244.1.0/24' (subnet.env's '10.244.1.1/24' is accepted). */
  podSubnet?: string | undefined
  ipv6Network?: string | undefined
  ipv6PodSubnet?: string | undefined
  /**
   * Masquerade with fully random source ports (flannel's default when the
   * kernel and iptables support it; `--ip-masq-fully-random-disable` turns it
   * off). Kernels since 3.13 and iptables since 1.6.2 have it.
   */
  randomFully: boolean
}

export interface ForwardInit {
  network?: string | undefined
  ipv6Network?: string | undefined
}

function netconf (msg: string, cause?: unknown): VxlanError {
  return new VxlanError('VXLAN_ERR_NETCONF', msg, cause !== undefined ? { cause } : undefined)
}

/** A CIDR with its host bits cleared, in the expected family. */
function network (text: string, family: Family, what: string): ip.Cidr {
  let c: ip.Cidr
  try { c = ip.parseCidr(text) } catch (e) { throw netconf(`${what} ${JSON.stringify(text)} is not a CIDR`, e) }
  if (c.family !== family) throw netconf(`${what} ${text} is not an IPv${family} CIDR`)
  return { family, address: ip.networkOf(c), prefixLen: c.prefixLen }
}

const text = (c: ip.Cidr): string => ip.formatCidr(c)
const is = (cidr: string): AddrMatch => ({ cidr, negate: false })
const not = (cidr: string): AddrMatch => ({ cidr, negate: true })

function familyMasq (family: Family, netText: string, subnetText: string, randomFully: boolean): TrafficRule[] {
  const net = network(netText, family, family === 4 ? 'Network' : 'IPv6Network')
  const sub = network(subnetText, family, family === 4 ? 'pod subnet' : 'IPv6 pod subnet')
  if (sub.prefixLen < net.prefixLen || !ip.contains(net, sub.address)) {
    throw netconf(`pod subnet ${text(sub)} is not inside the cluster network ${text(net)}`)
  }
  const n = text(net)
  const s = text(sub)
  const masq = (r: Omit<TrafficRule, 'verdict' | 'randomFully'>): TrafficRule =>
    randomFully ? { ...r, verdict: 'masquerade', randomFully: true } : { ...r, verdict: 'masquerade' }
  return [
    { markBits: KUBE_PROXY_MARK, verdict: 'return', why: 'kube-proxy masquerades packets it marked; do not NAT them twice' },
    { src: is(s), dst: is(n), verdict: 'return', why: 'our pods to pods anywhere in the network keep their address' },
    { src: is(n), dst: is(s), verdict: 'return', why: 'pods anywhere to our pods keep their address' },
    { src: not(n), dst: is(s), verdict: 'return', why: 'traffic from outside to our pods keeps its source' },
    masq({ src: is(n), dst: not(MULTICAST[family]), why: 'pods leaving the network take the node address (multicast excepted)' }),
    masq({ src: not(n), dst: is(n), why: 'the host and outside reaching remote pods take the node address' })
  ]
}

function pair (a: string | undefined, b: string | undefined, names: string): [string, string] | undefined {
  if (a === undefined && b === undefined) return undefined
  if (a === undefined || b === undefined) throw netconf(`${names} must be given together`)
  return [a, b]
}

/**
 * flannel's masquerade rules for this node (nat FLANNEL-POSTRTG, nft chain
 * `postrtg`), per family. Throws VXLAN_ERR_NETCONF for unparsable CIDRs, a
 * family given by half, or a pod subnet outside its network.
 */
export function masqRules (init: MasqInit): RuleSet {
  const v4 = pair(init.network, init.podSubnet, 'network and podSubnet')
  const v6 = pair(init.ipv6Network, init.ipv6PodSubnet, 'ipv6Network and ipv6PodSubnet')
  return {
    v4: v4 === undefined ? undefined : familyMasq(4, v4[0], v4[1], init.randomFully),
    v6: v6 === undefined ? undefined : familyMasq(6, v6[0], v6[1], init.randomFully)
  }
}

/**
 * flannel's forward rules (filter FLANNEL-FWD, nft chain `forward`): accept
 * everything from and to the cluster network, per family.
 */
export function forwardRules (networks: ForwardInit): RuleSet {
  const fam = (family: Family, t: string | undefined): TrafficRule[] | undefined => {
    if (t === undefined) return undefined
    const n = text(network(t, family, family === 4 ? 'Network' : 'IPv6Network'))
    return [
      { src: is(n), verdict: 'accept', why: 'forward traffic from the cluster network' },
      { dst: is(n), verdict: 'accept', why: 'forward traffic to the cluster network' }
    ]
  }
  return { v4: fam(4, networks.network), v6: fam(6, networks.ipv6Network) }
}

/**
 * Keeps a node's masquerade and forward rules as wanted. Implemented by
 * `iptablesTrafficManager` and `nftablesTrafficManager`. Every method is
 * synchronous, acts in the calling thread's network namespace, and must be
 * called from the agent's single reconcile loop only (the calls read, compare
 * and then write, so two callers at once could undo each other). Kernel
 * failures are thrown as VXLAN_ERR_DATAPLANE with the KernelError as `cause`;
 * the loop retries.
 */
export interface TrafficManager {
  readonly backend: 'iptables' | 'nftables'
  /**
   * Makes the masquerade chain of each family hold exactly `desired`, in
   * order, and be reached from postrouting; removes it where `desired` has no
   * rules for the family. Reads first and writes only when a rule is missing,
   * extra, changed or out of order, then rewrites the whole set in one
   * transaction (flannel's `--iptables-resync` check, every 5 s there).
   * Returns whether it changed anything.
   */
  ensure (desired: RuleSet): boolean
  /** `ensure` for the forward chain (FLANNEL-FWD / `forward`), e.g. with `forwardRules(...)`. */
  ensureForward (desired: RuleSet): boolean
  /**
   * Removes every chain, jump and table this manager owns, in both families
   * (also those flanneld left). No error when there is nothing; a family whose
   * tables cannot be read at all holds nothing of ours and is skipped.
   */
  cleanup (): void
}

/** Two rule lists in one backend's rendering, compared in order. */
export function sameRules (have: readonly string[], want: readonly string[]): boolean {
  return have.length === want.length && have.every((r, i) => r === want[i])
}
