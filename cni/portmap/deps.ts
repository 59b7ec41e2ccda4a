/**
 * Everything portmap needs from the node, as one injectable object: unit
 * tests pass fakes (kernel/testing/iptables.ts and small records), the
 * binary passes `linuxPortmapDeps()`. All of it acts in the namespace the
 * plugin runs in (the node's).
 */
import { findTool, linuxIptables, spawnRunner } from '../../kernel/index.js'
import type { CommandRunner, Iptables } from '../../kernel/index.js'
import { LinuxNetNS, ip, linuxSysctl } from '../../kernel/index.js'
import type { Family, Netlink, Route, Sysctl } from '../../kernel/index.js'

/** Connection tracking: only the one flush portmap needs. */
export interface Conntrack {
  /** Deletes UDP flows whose original destination port is `port`; nothing to delete is not an error. */
  deleteUdpFlowsToPort (port: number, family: Family): void
}

export interface PortmapDeps {
  iptables (family: Family): Iptables
  /** The name of the interface the node would send packets for `addr` out of, if it has a route. */
  routeInterface (addr: string): string | undefined
  sysctl: Sysctl
  conntrack: Conntrack
  /** Informational messages (stderr in the binary). */
  log (msg: string): void
}

/** `conntrack -D -p udp --orig-port-dst <port> -f ipv4|ipv6`, via the conntrack-tools binary. */
export function linuxConntrack (run: CommandRunner = spawnRunner): Conntrack {
  return {
    deleteUdpFlowsToPort (port, family) {
      const r = run(findTool('conntrack'), ['-D', '-p', 'udp', '--orig-port-dst', String(port), '-f', family === 4 ? 'ipv4' : 'ipv6'])
      // Exit 1 with "0 flow entries have been deleted" just means there was nothing stale.
      if (r.status === 0 || /\b0 flow entries have been deleted/.test(r.stderr)) return
      throw new Error(`conntrack -D -p udp --orig-port-dst ${port}: ${r.stderr.trim() || `exit ${r.status}`}`)
    }
  }
}

const RTN_UNICAST = 1
const RTN_LOCAL = 2
const RTN_BROADCAST = 3
const RTN_THROW = 9

/**
 * The output interface for `addr` by longest-prefix match over the local,
 * main and default tables, in the order the default policy rules consult
 * them (a `throw` route moves on to the next table). Policy rules other than
 * the defaults are not consulted.
 */
export function routeInterfaceOf (nl: Netlink, addr: string): string | undefined {
  const family = ip.familyOf(addr)
  if (family === undefined) return undefined
  const routes = nl.routes({ family })
  for (const table of [255, 254, 253]) {
    let best: Route | undefined
    let bestLen = -1
    for (const r of routes) {
      if ((r.table ?? 254) !== table) continue
      let c: ip.Cidr
      try { c = ip.parseCidr(r.dst) } catch { continue }
      if (c.prefixLen > bestLen && ip.contains(c, addr)) { best = r; bestLen = c.prefixLen }
    }
    if (best === undefined) continue
    const type = best.type ?? RTN_UNICAST
    if (type === RTN_THROW) continue
    if (type !== RTN_UNICAST && type !== RTN_LOCAL && type !== RTN_BROADCAST) return undefined // unreachable, blackhole, prohibit
    const dev = best.dev ?? best.multipath?.[0]?.dev
    return dev === undefined ? undefined : nl.linkByIndex(dev)?.name
  }
  return undefined
}

export function linuxPortmapDeps (): PortmapDeps {
  const tables = new Map<Family, Iptables>()
  return {
    iptables (family) {
      let t = tables.get(family)
      if (t === undefined) { t = linuxIptables(family); tables.set(family, t) }
      return t
    },
    routeInterface (addr) {
      const nl = new LinuxNetNS().netlink()
      try { return routeInterfaceOf(nl, addr) } finally { nl.close() }
    },
    sysctl: linuxSysctl,
    conntrack: linuxConntrack(),
    log (msg) { process.stderr.write(`portmap: ${msg}\n`) }
  }
}
