/**
 * A packet-flow tracer for IPVS mode. IPVS mode spreads one decision over
 * four kernel objects, so the tracer reads all four as the proxier left
 * them, in the text forms the golden tests compare (nothing is taken from
 * the proxier's memory):
 *
 * - `iptables-save` text of nat and filter (walked by the iptables tracer,
 *   with the fwmark and `-m set` matches modelled);
 * - `ipset save` text (sets, their types, their members);
 * - the IPVS table in the fake's `ipvsadm -Ln`-like dump (virtual servers
 *   and real servers with their weights);
 * - the netlink dump, for the addresses bound to kube-ipvs0.
 *
 * It follows one new connection the way the kernel's hooks order it
 * (net/netfilter/ipvs/ip_vs_core.c, `ip_vs_ops`):
 *
 * - from another host or a pod: nat PREROUTING; then routing: a destination
 *   that is not local (a node address, loopback, or an address bound on
 *   kube-ipvs0) is forwarded (filter FORWARD, nat POSTROUTING) and IPVS never
 *   sees it; a local one goes through filter INPUT, then IPVS's LOCAL_IN hook
 *   (priority NF_IP_PRI_NAT_SRC - 1, after filtering);
 * - from the node itself: nat OUTPUT, then IPVS's LOCAL_OUT hook (priority
 *   NF_IP_PRI_NAT_DST + 2, before filter OUTPUT), whatever the route;
 * - IPVS looks up the virtual server (protocol, destination, port). None:
 *   the packet goes on unchanged (a local socket, or the output path). One
 *   without a real server of weight > 0: the scheduler finds no destination
 *   and `ip_vs_leave` answers ICMP port unreachable and drops, i.e. `REJECT`
 *   (persistent services too: `ip_vs_sched_persist` sets `*ignored = 0`).
 *   A packet to a kube-ipvs0 address that IPVS does not take is accepted
 *   by the node itself: `LOCAL`.
 *   Otherwise every real server of weight > 0 is a possible output (weight-0
 *   ones are never scheduled for new connections: every scheduler skips
 *   them), and each branch goes through (for node traffic) filter OUTPUT and
 *   nat POSTROUTING with the real server as destination; the packet is
 *   masqueraded if any branch is.
 *
 * Not modelled: the scheduler's choice among real servers (all are
 * reported), persistence templates and connection state (as the other
 * tracers, affinity never matches), established connections to weight-0
 * real servers, `conntrack` states other than NEW, fwmark virtual servers,
 * direct-routing/tunnel forwarding, source ports, ICMP.
 */
import { ip as ipUtil } from '../../kernel/index.js'
import { inCidr, iptablesTables, iptChain, isLocal } from './trace.js'
import type { IptCtx, Packet, TraceNode, TraceResult } from './trace.js'

/** What the IPVS proxier left in the (fake) kernel, as text. */
export interface IpvsKernelText {
  /** `iptables-save` of (at least) the nat and filter tables. */
  iptables: string
  /** `ipset save`. */
  ipset: string
  /** The IPVS table: `vs <proto> <addr:port> <sched>[ persistent N]` lines, each followed by `  -> <addr:port> masq weight W…`. */
  ipvs: string
  /** A netlink dump: `addr kube-ipvs0 <address>/<len>` lines. */
  netlink: string
}

interface IpsetState { type: string, entries: string[] }
interface RealServer { addr: string, port: number, weight: number }

const DUMMY = 'kube-ipvs0'

function splitHostPort (s: string): [string, number] {
  const m = /^\[(.+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s)
  if (m === null) throw new Error(`trace: cannot parse address ${s}`)
  return [ipUtil.canonical(m[1] as string), Number(m[2])]
}

/** `proto/addr/port` → real servers, from the IPVS dump. */
export function parseIpvsDump (text: string): Map<string, RealServer[]> {
  const out = new Map<string, RealServer[]>()
  let cur: RealServer[] | undefined
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null
    if ((m = /^vs (tcp|udp|sctp) (\S+) \S+/.exec(line)) !== null) {
      const [a, p] = splitHostPort(m[2] as string)
      cur = []
      out.set(`${m[1] as string}/${a}/${p}`, cur)
    } else if ((m = /^\s+-> (\S+) \S+ weight (\d+)/.exec(line)) !== null) {
      if (cur === undefined) throw new Error(`trace: real server before any virtual server: ${line}`)
      const [a, p] = splitHostPort(m[1] as string)
      cur.push({ addr: a, port: p, weight: Number(m[2]) })
    } else if (line.trim() !== '') throw new Error(`trace: cannot parse IPVS line "${line}"`)
  }
  return out
}

function parseIpsets (text: string): Map<string, IpsetState> {
  const out = new Map<string, IpsetState>()
  for (const line of text.split('\n')) {
    const w = line.trim().split(/\s+/)
    if (w[0] === 'create' && w[1] !== undefined && w[2] !== undefined) out.set(w[1], { type: w[2], entries: [] })
    else if (w[0] === 'add' && w[1] !== undefined && w[2] !== undefined) {
      const s = out.get(w[1])
      if (s === undefined) throw new Error(`trace: ipset entry for a set never created: ${line}`)
      s.entries.push(w[2])
    }
  }
  return out
}

/**
 * Whether the packet is in a set, as xt_set/ip_set do it: each component of
 * the set's type (`hash:ip,port,net`) is compared with the packet field its
 * direction picks; `port` components carry the protocol (`tcp:80`, tcp when
 * left out) except in bitmap:port sets, which hold bare port numbers.
 */
function inSet (set: IpsetState, dirs: string[], pkt: Packet): boolean {
  const [kind = '', compsText = ''] = set.type.split(':')
  const comps = compsText.split(',')
  if (dirs.length < comps.length) throw new Error(`trace: --match-set with ${dirs.join(',')} on a ${set.type} set`)
  return set.entries.some((entry) => {
    const parts = entry.split(',')
    return comps.every((c, i) => {
      const dir = dirs[i]
      const part = parts[i] ?? ''
      const addr = dir === 'src' ? pkt.src : pkt.dst
      switch (c) {
        case 'ip': return ipUtil.canonical(part) === ipUtil.canonical(addr)
        case 'net': return inCidr(addr, part)
        case 'port': {
          if (dir === 'src') throw new Error('trace: source ports are not modelled')
          if (kind === 'bitmap') return Number(part) === pkt.dport
          const [proto, port] = part.includes(':') ? part.split(':') : ['tcp', part]
          return proto === pkt.proto && Number(port) === pkt.dport
        }
        default: throw new Error(`trace: ipset type ${set.type} is not modelled`)
      }
    })
  })
}

function boundAddresses (netlinkDump: string): Set<string> {
  const out = new Set<string>()
  for (const line of netlinkDump.split('\n')) {
    const m = new RegExp(`^addr ${DUMMY} ([^/\\s]+)/`).exec(line)
    if (m !== null) out.add(ipUtil.canonical(m[1] as string))
  }
  return out
}

const hostPort = (a: string, p: number): string => a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`

/** Traces a new connection through IPVS mode's iptables rules, ipsets, kube-ipvs0 addresses and IPVS table. */
export function traceIpvs (k: IpvsKernelText, pkt: Packet, node: TraceNode): TraceResult {
  const tables = iptablesTables(k.iptables)
  const sets = parseIpsets(k.ipset)
  const vss = parseIpvsDump(k.ipvs)
  const bound = boundAddresses(k.netlink)
  // Addresses on kube-ipvs0 are local to the routing decision (and to `-m addrtype --dst-type LOCAL`).
  const routeNode: TraceNode = { nodeIPs: [...node.nodeIPs, ...bound] }
  const ipset = (name: string, dirs: string, p: Packet): boolean => {
    const s = sets.get(name)
    // iptables-restore refuses a rule naming a set that does not exist; so would the kernel.
    if (s === undefined) throw new Error(`trace: a rule matches ipset ${name}, which does not exist`)
    return inSet(s, dirs.split(','), p)
  }
  const fromNode = isLocal(pkt.src, node)
  const ctx: IptCtx = { tables, pkt, node: routeNode, masq: false, outs: [], verdict: undefined, mark: 0, ipset }
  const hook = (table: string, chain: string, p: Packet, mark: number): IptCtx => {
    const c: IptCtx = { tables, pkt: p, node: routeNode, masq: false, outs: [], verdict: undefined, mark, ipset }
    iptChain(c, table, chain)
    return c
  }
  const ended = (c: IptCtx): TraceResult | undefined => {
    if (c.outs.length > 0) throw new Error(`trace: IPVS mode's iptables rules DNAT (${c.outs.join(', ')}); they should leave that to IPVS`)
    return c.verdict === undefined ? undefined : { output: c.verdict, masq: false }
  }

  // 1. nat PREROUTING / OUTPUT: in IPVS mode only marks and ACCEPTs.
  iptChain(ctx, 'nat', fromNode ? 'OUTPUT' : 'PREROUTING')
  const natEnd = ended(ctx)
  if (natEnd !== undefined) return natEnd
  const mark = ctx.mark ?? 0

  // 2. Routing and the filter hook before IPVS (LOCAL_IN), or forwarding past it.
  if (!fromNode) {
    if (!isLocal(pkt.dst, routeNode)) {
      const f = ended(hook('filter', 'FORWARD', pkt, mark))
      if (f !== undefined) return f
      return { output: '', masq: hook('nat', 'POSTROUTING', pkt, mark).masq }
    }
    const f = ended(hook('filter', 'INPUT', pkt, mark))
    if (f !== undefined) return f
  }

  // 3. IPVS: the virtual server, then a real server of weight > 0.
  const rs = vss.get(`${pkt.proto}/${ipUtil.canonical(pkt.dst)}/${pkt.dport}`)
  if (rs === undefined) {
    // Not IPVS's: delivered to a local socket, or (node traffic) on through filter OUTPUT.
    if (fromNode) {
      const f = ended(hook('filter', 'OUTPUT', pkt, mark))
      if (f !== undefined) return f
    }
    // A kube-ipvs0 address no virtual server serves on this port reaches the node's own sockets (kube-proxy#72236):
    // reported, as no row expects it.
    return { output: bound.has(ipUtil.canonical(pkt.dst)) ? 'LOCAL' : '', masq: false }
  }
  const live = rs.filter((r) => r.weight > 0)
  if (live.length === 0) return { output: 'REJECT', masq: false } // ip_vs_leave: ICMP port unreachable, NF_DROP
  let masq = false
  const outs: string[] = []
  for (const r of live) {
    const after: Packet = { ...pkt, dst: r.addr, dport: r.port }
    if (fromNode) {
      const f = ended(hook('filter', 'OUTPUT', after, mark))
      if (f !== undefined) { outs.push(f.output); continue }
    }
    if (hook('nat', 'POSTROUTING', after, mark).masq) masq = true
    outs.push(hostPort(r.addr, r.port))
  }
  return { output: [...new Set(outs)].sort().join(', '), masq }
}
