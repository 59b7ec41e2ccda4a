/**
 * Stale UDP conntrack entries (kube-proxy's `conntrack.CleanStaleEntries`,
 * the pre-reconciler form): when a UDP service loses an endpoint, entries
 * DNATed to it keep sending datagrams into the void, and when a UDP service
 * gets its first endpoint, entries created while it rejected keep the
 * reject. Both are deleted after a successful sync, by the `conntrack` tool.
 */
import { findTool, spawnRunner } from '../../kernel/index.js'
import type { CommandRunner } from '../../kernel/index.js'
import { categorizeEndpoints } from '../tracker/index.js'
import type { ServicePortInfo } from '../tracker/index.js'

export interface ConntrackFilter {
  family: 4 | 6
  /** Original destination (a service IP); with `dport`. */
  origDst?: string
  /** Original destination port (NodePort) when no origDst. */
  dport?: number
  /** The endpoint the entry was DNATed to. */
  dstNat?: string
}

export interface Conntrack {
  /** Deletes UDP entries matching the filter; none matching is not an error. */
  deleteUdp (f: ConntrackFilter): void
}

export function conntrackTool (opts: { run?: CommandRunner } = {}): Conntrack {
  const run = opts.run ?? spawnRunner
  return {
    deleteUdp (f) {
      const args = ['-D', '-f', f.family === 4 ? 'ipv4' : 'ipv6', '-p', 'udp']
      if (f.origDst !== undefined) args.push('--orig-dst', f.origDst)
      if (f.dport !== undefined) args.push('--orig-port-dst', String(f.dport))
      if (f.dstNat !== undefined) args.push('--dst-nat', f.dstNat)
      // exit 1 with "0 flow entries have been deleted" is the normal "nothing to do"
      run(findTool('conntrack'), args)
    }
  }
}

/** The deletions a change of one service's ports calls for. */
export function staleUdpFilters (before: readonly ServicePortInfo[], after: readonly ServicePortInfo[]): ConntrackFilter[] {
  const out: ConntrackFilter[] = []
  const key = (sp: ServicePortInfo): string => `${sp.portName}/${sp.protocol}`
  const afterBy = new Map(after.map((sp) => [key(sp), sp]))
  const beforeBy = new Map(before.map((sp) => [key(sp), sp]))
  const ips = (sp: ServicePortInfo): string[] => [sp.clusterIP, ...sp.externalIPs, ...sp.loadBalancerIPs]
  for (const b of before) {
    if (b.protocol !== 'udp') continue
    const a = afterBy.get(key(b))
    const keep = new Set(a === undefined ? [] : categorizeEndpoints(a).allReachable.map((e) => e.ip))
    for (const ep of categorizeEndpoints(b).allReachable) {
      if (keep.has(ep.ip)) continue
      for (const ip of ips(b)) out.push({ family: b.family, origDst: ip, dstNat: ep.ip })
      if (b.nodePort > 0) out.push({ family: b.family, dport: b.nodePort, dstNat: ep.ip })
    }
  }
  for (const a of after) {
    if (a.protocol !== 'udp') continue
    const b = beforeBy.get(key(a))
    const had = b !== undefined && categorizeEndpoints(b).allReachable.length > 0
    if (had || categorizeEndpoints(a).allReachable.length === 0) continue
    for (const ip of ips(a)) out.push({ family: a.family, origDst: ip })
    if (a.nodePort > 0) out.push({ family: a.family, dport: a.nodePort })
  }
  return out
}
