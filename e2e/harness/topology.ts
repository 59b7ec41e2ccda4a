/**
 * Multi-host topologies in namespaces: an "underlay" namespace holding one
 * bridge per underlay subnet (and routing between them when there are two),
 * and N host namespaces, each with `eth0` on one of those bridges, an address,
 * and a default route via the underlay namespace. Everything lives in the
 * sandbox's namespaces, so its cleanup removes it.
 */
import type { Sandbox } from './index.js'

export interface Host {
  name: string
  /** Namespace path. */
  ns: string
  /** Underlay address of eth0. */
  ip: string
  /** Underlay IPv6 address of eth0 (with `ipv6: true`). */
  ip6: string | undefined
  /** Prefix length of the underlay subnet. */
  prefixLen: number
  subnetIndex: number
}

export interface Topology {
  /** The underlay namespace (bridges, router). */
  underlay: string
  hosts: Host[]
  /** Gateway address of each underlay subnet (on the underlay namespace's bridge). */
  gateways: string[]
  /** Bridge names in the underlay namespace, one per subnet. */
  bridges: string[]
}

/**
 * Builds `hosts` host namespaces. With `subnets: 2`, hosts alternate between
 * 192.168.50.0/24 and 192.168.60.0/24 and the underlay namespace routes
 * between them (a router in the middle, as between racks).
 */
export async function underlayTopology (sb: Sandbox, opts: { hosts: number, subnets?: 1 | 2, mtu?: number, ipv6?: boolean }): Promise<Topology> {
  const ul = sb.ns('ul')
  const nl = sb.netlink(ul)
  const subnets = opts.subnets ?? 1
  const bridges: string[] = []
  const gateways: string[] = []
  try {
    for (let s = 0; s < subnets; s++) {
      const br = `br${s}`
      nl.addBridge({ name: br, ...(opts.mtu !== undefined ? { mtu: opts.mtu } : {}) })
      const l = nl.linkByName(br)
      if (l === undefined) throw new Error(`bridge ${br} missing`)
      nl.setLink(l.index, { up: true })
      const gw = `192.168.${50 + s * 10}.1`
      nl.addAddress(l.index, `${gw}/24`)
      if (opts.ipv6 === true) nl.addAddress(l.index, `fd50:${s}::1/64`)
      bridges.push(br)
      gateways.push(gw)
    }
  } finally { nl.close() }
  if (opts.ipv6 === true) await sb.exec(ul, 'sh', ['-c', 'for f in /proc/sys/net/ipv6/conf/*/accept_dad; do echo 0 > $f; done'])
  if (subnets > 1) await sb.exec(ul, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1', ...(opts.ipv6 === true ? ['net.ipv6.conf.all.forwarding=1'] : [])])

  const hosts: Host[] = []
  for (let i = 0; i < opts.hosts; i++) {
    const name = `h${i + 1}`
    const ns = sb.ns(name)
    const s = i % subnets
    const hostIp = `192.168.${50 + s * 10}.${11 + i}`
    const hostIp6 = opts.ipv6 === true ? `fd50:${s}::${11 + i}` : undefined
    // No DAD on the underlay: a tentative address cannot source VXLAN packets yet.
    if (hostIp6 !== undefined) await sb.exec(ns, 'sh', ['-c', 'for f in /proc/sys/net/ipv6/conf/*/accept_dad; do echo 0 > $f; done'])
    const fd = netnsFd(sb, ns)
    const u = sb.netlink(ul)
    try {
      u.addVeth({ name: `ul${i + 1}`, peerName: 'eth0', peerNetnsFd: fd.fd, ...(opts.mtu !== undefined ? { mtu: opts.mtu } : {}) })
      const port = u.linkByName(`ul${i + 1}`)
      const br = u.linkByName(bridges[s] as string)
      if (port === undefined || br === undefined) throw new Error('underlay port missing')
      u.setLink(port.index, { master: br.index, up: true })
    } finally { u.close(); fd.close() }
    const h = sb.netlink(ns)
    try {
      const eth0 = h.linkByName('eth0')
      if (eth0 === undefined) throw new Error(`eth0 missing in ${name}`)
      h.addAddress(eth0.index, `${hostIp}/24`)
      h.setLink(eth0.index, { up: true })
      h.addRoute({ family: 4, dst: '0.0.0.0/0', gw: gateways[s] as string, dev: eth0.index })
      if (hostIp6 !== undefined) {
        h.addAddress(eth0.index, `${hostIp6}/64`)
        h.addRoute({ family: 6, dst: '::/0', gw: `fd50:${s}::1`, dev: eth0.index })
      }
    } finally { h.close() }
    hosts.push({ name, ns, ip: hostIp, ip6: hostIp6, prefixLen: 24, subnetIndex: s })
  }
  return { underlay: ul, hosts, gateways, bridges }
}

function netnsFd (sb: Sandbox, ns: string): { fd: number, close: () => void } {
  const fd = sb.openNsFd(ns)
  return { fd, close: () => { sb.closeNsFd(fd) } }
}
