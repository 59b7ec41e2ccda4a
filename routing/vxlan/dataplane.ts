/**
 * The VXLAN dataplane as flannel programs it, computed as a pure function of
 * the leases and applied by diffing against the kernel:
 *
 *   device  flannel.<VNI>: vxlan id <VNI> local <public IP> dev <underlay> dstport <port> nolearning,
 *           MTU underlay − 50 (− 70 on an IPv6 underlay), address <own subnet .0>/32, up
 *   per remote lease, in this order, with replace semantics:
 *     neighbour  <remote .0> lladdr <VtepMAC> nud permanent            (on flannel.<VNI>)
 *     fdb        <VtepMAC> dst <remote public IP> self permanent       (on flannel.<VNI>)
 *     route      <remote subnet> via <remote .0> dev flannel.<VNI> onlink
 *   or, with DirectRouting and the remote on our L2 segment: route <remote subnet> via <remote public IP>
 *
 * `reconcile` reads what is there and fixes what differs, so a device deleted by
 * hand, or a route or fdb entry removed, comes back on the next pass, and entries
 * of leases that are gone are removed.
 */
import { ip, isExists, isNotFound } from '../../kernel/index.js'
import type { Link, Netlink, Route, Sysctl } from '../../kernel/index.js'
import { VxlanError } from './errors.js'
import type { Lease, NetConf } from './types.js'

/** VXLAN encapsulation overhead: outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8; IPv6 outer header is 20 more. */
export const ENCAP_OVERHEAD_V4 = 50
export const ENCAP_OVERHEAD_V6 = 70
/**
 * The route protocol our overlay routes carry (`ip route` shows `proto 87`), so a
 * pass can tell its own direct routes from an operator's. Routes over the
 * device itself are ours whatever their protocol (e.g. left by flanneld).
 */
export const ROUTE_PROTOCOL = 87

export interface Underlay {
  /** ifindex of the underlay interface. */
  index: number
  name: string
  /** The node's public (underlay) IPv4 address: the VTEP source. */
  publicIp: string
  /** The node's public IPv6 address, for the IPv6 VXLAN device. */
  publicIpv6: string | undefined
  mtu: number
}

export interface DeviceSpec {
  name: string
  vni: number
  port: number
  learning: boolean
  local: string
  dev: number
  mtu: number
  mac: string
  /** '<subnet network>/32' (or /128). */
  address: string
  family: 4 | 6
}

export interface RemoteEntry {
  /** The remote node's subnet, e.g. '10.244.2.0/24'. */
  subnet: string
  /** '<subnet network>': the remote VTEP's address inside the overlay. */
  gateway: string
  vtepMac: string
  publicIp: string
  /** Route straight via the public IP (DirectRouting on the same L2), no neighbour/fdb. */
  direct: boolean
}

export interface Desired {
  device: DeviceSpec
  remotes: RemoteEntry[]
  /** The cluster network: routes inside it over our device that are not desired are removed. */
  network: string
}

export function deviceName (vni: number, family: 4 | 6): string {
  return family === 4 ? `flannel.${vni}` : `flannel-v6.${vni}`
}

/** The overlay MTU that subnet.env reports and pods get. */
export function overlayMtu (conf: NetConf, underlay: Underlay, family: 4 | 6 = 4): number {
  const base = conf.backend.mtu ?? underlay.mtu
  return base - (family === 6 ? ENCAP_OVERHEAD_V6 : ENCAP_OVERHEAD_V4)
}

/**
 * What the kernel should hold for one family, given our lease and everyone's.
 * `onLink(ip)` says whether a public IP is directly reachable on our segment
 * (for DirectRouting).
 */
export function desiredState (opts: {
  conf: NetConf
  underlay: Underlay
  own: Lease
  leases: Iterable<Lease>
  mac: string
  family?: 4 | 6
  onLink?: (publicIp: string) => boolean
}): Desired {
  const family = opts.family ?? 4
  const conf = opts.conf
  const own = family === 4 ? opts.own.subnet : opts.own.ipv6Subnet
  const network = family === 4 ? conf.network : conf.ipv6Network
  if (own === undefined || network === undefined) throw new VxlanError('VXLAN_ERR_LEASE', `no IPv${family} subnet in our lease`)
  const ownC = ip.parseCidr(own)
  const local = family === 4 ? opts.underlay.publicIp : opts.underlay.publicIpv6
  if (local === undefined) throw new VxlanError('VXLAN_ERR_UNDERLAY', `the underlay ${opts.underlay.name} has no IPv${family} address`)
  const device: DeviceSpec = {
    name: deviceName(conf.backend.vni, family),
    vni: conf.backend.vni,
    port: conf.backend.port === 0 ? 8472 : conf.backend.port,
    learning: conf.backend.learning,
    local,
    dev: opts.underlay.index,
    mtu: overlayMtu(conf, opts.underlay, local.includes(':') ? 6 : 4),
    mac: opts.mac,
    address: `${ip.networkOf(ownC)}/${family === 4 ? 32 : 128}`,
    family
  }
  const remotes: RemoteEntry[] = []
  const seen = new Set<string>()
  for (const l of opts.leases) {
    const subnet = family === 4 ? l.subnet : l.ipv6Subnet
    if (subnet === undefined || l.attrs.BackendType !== 'vxlan') continue
    const data = family === 4 ? l.attrs.BackendData : (l.attrs.BackendV6Data ?? l.attrs.BackendData)
    const publicIp = family === 4 ? l.attrs.PublicIP : (l.attrs.PublicIPv6 ?? undefined)
    if (data === undefined || data === null || publicIp === undefined || publicIp === null) continue
    const c = ip.parseCidr(subnet)
    const key = `${ip.networkOf(c)}/${c.prefixLen}`
    if (key === `${ip.networkOf(ownC)}/${ownC.prefixLen}`) continue // our own lease
    if (seen.has(key)) continue
    seen.add(key)
    const direct = conf.backend.directRouting && (opts.onLink?.(publicIp) ?? false)
    remotes.push({ subnet: key, gateway: ip.networkOf(c), vtepMac: data.VtepMAC.toLowerCase(), publicIp, direct })
  }
  remotes.sort((a, b) => a.subnet.localeCompare(b.subnet))
  return { device, remotes, network }
}

export interface ReconcileReport {
  /** Human-readable actions taken, in order (empty when the kernel already matched). */
  actions: string[]
  /** The device's ifindex after the pass. */
  index: number
}

function compatible (l: Link, d: DeviceSpec): boolean {
  const v = l.vxlan
  return l.kind === 'vxlan' && v !== undefined && v.vni === d.vni && v.port === d.port && v.learning === d.learning &&
    (v.local === undefined || v.local === d.local) && (v.dev === undefined || v.dev === d.dev)
}

/**
 * One reconcile pass for one family. Synchronous, safe to repeat: a pass over a
 * kernel that already matches changes nothing.
 */
export function reconcile (nl: Netlink, sysctl: Sysctl | undefined, want: Desired): ReconcileReport {
  const actions: string[] = []
  const d = want.device
  // 1. the device
  let dev = nl.linkByName(d.name)
  if (dev !== undefined && !compatible(dev, d)) {
    nl.deleteLink(dev.index)
    actions.push(`recreate ${d.name} (incompatible: ${dev.kind ?? 'device'} vni=${dev.vxlan?.vni ?? '-'})`)
    dev = undefined
  }
  if (dev === undefined) {
    try {
      nl.addVxlan({ name: d.name, vni: d.vni, port: d.port, learning: d.learning, local: d.local, dev: d.dev, mtu: d.mtu, mac: d.mac })
    } catch (e) {
      if (!isExists(e)) throw new VxlanError('VXLAN_ERR_DATAPLANE', `cannot create ${d.name}: ${(e as Error).message}`, { cause: e })
    }
    actions.push(`create ${d.name}`)
    dev = nl.linkByName(d.name)
    if (dev === undefined) throw new VxlanError('VXLAN_ERR_DATAPLANE', `${d.name} vanished after creation`)
    if (sysctl !== undefined && d.family === 6) { try { sysctl.set(`net/ipv6/conf/${d.name}/accept_ra`, '0') } catch { /* no IPv6 */ } }
  }
  const index = dev.index
  if (dev.mac !== d.mac) { nl.setLink(index, { mac: d.mac }); actions.push(`set ${d.name} mac ${d.mac}`) }
  if (dev.mtu !== d.mtu) { nl.setLink(index, { mtu: d.mtu }); actions.push(`set ${d.name} mtu ${d.mtu}`) }
  // 2. its one address; others inside the network go
  const wantAddr = ip.parseCidr(d.address)
  const net = ip.parseCidr(want.network)
  let hasAddr = false
  for (const a of nl.addresses(d.family)) {
    if (a.index !== index || a.scope === 253) continue
    if (a.address === wantAddr.address && a.prefixLen === wantAddr.prefixLen) { hasAddr = true; continue }
    if (ip.contains(net, a.address)) {
      nl.deleteAddress(index, `${a.address}/${a.prefixLen}`)
      actions.push(`remove stale address ${a.address}/${a.prefixLen}`)
    }
  }
  if (!hasAddr) { nl.addAddress(index, d.address); actions.push(`add address ${d.address}`) }
  if (!dev.flags.up) { nl.setLink(index, { up: true }); actions.push(`set ${d.name} up`) }

  // 3. per remote: neighbour, fdb, route — only what differs
  const neigh = new Map<string, string | undefined>()
  for (const n of nl.neighbours(d.family)) if (n.index === index && n.ip !== undefined && (n.state & 0x80) !== 0) neigh.set(n.ip, n.mac)
  const fdb = new Map<string, string | undefined>()
  for (const f of nl.fdb(index)) if ((f.state & 0x80) !== 0) fdb.set(f.mac, f.dst)
  const routes = nl.routes({ family: d.family, table: 254 }).filter((r) => r.dst !== '0.0.0.0/0' && r.dst !== '::/0')
  const routeOf = new Map<string, Route>()
  for (const r of routes) {
    const c = ip.parseCidr(r.dst, true)
    if (c.prefixLen === 0 || !ip.contains(net, c.address)) continue
    routeOf.set(r.dst, r)
  }
  const wanted = new Set<string>()
  for (const r of want.remotes) {
    wanted.add(r.subnet)
    if (r.direct) {
      const cur = routeOf.get(r.subnet)
      if (cur?.gw !== r.publicIp || cur.dev === index) {
        nl.addRoute({ family: d.family, dst: r.subnet, gw: r.publicIp, protocol: ROUTE_PROTOCOL }, { replace: true })
        actions.push(`route ${r.subnet} via ${r.publicIp} (direct)`)
      }
      continue
    }
    if (neigh.get(r.gateway) !== r.vtepMac) {
      nl.setNeighbour({ index, ip: r.gateway, mac: r.vtepMac })
      actions.push(`neigh ${r.gateway} lladdr ${r.vtepMac}`)
    }
    if (fdb.get(r.vtepMac) !== r.publicIp) {
      nl.setFdb({ index, mac: r.vtepMac, dst: r.publicIp })
      actions.push(`fdb ${r.vtepMac} dst ${r.publicIp}`)
    }
    const cur = routeOf.get(r.subnet)
    if (cur === undefined || cur.gw !== r.gateway || cur.dev !== index || cur.onlink !== true) {
      nl.addRoute({ family: d.family, dst: r.subnet, gw: r.gateway, dev: index, onlink: true, protocol: ROUTE_PROTOCOL }, { replace: true })
      actions.push(`route ${r.subnet} via ${r.gateway} dev ${d.name} onlink`)
    }
  }
  // 4. entries of leases that are gone: routes over our device (or direct routes to a
  //    public IP we no longer want), then the neighbours and fdb entries nobody wants.
  const wantedGw = new Set(want.remotes.filter((r) => !r.direct).map((r) => r.gateway))
  const wantedMac = new Set(want.remotes.filter((r) => !r.direct).map((r) => r.vtepMac))
  for (const [dst, r] of routeOf) {
    if (wanted.has(dst)) continue
    const ours = r.dev === index || r.protocol === ROUTE_PROTOCOL
    if (!ours) continue
    try { nl.deleteRoute(r) } catch (e) { if (!isNotFound(e)) throw e }
    actions.push(`remove route ${dst}`)
  }
  for (const [addr] of neigh) {
    if (wantedGw.has(addr)) continue
    try { nl.deleteNeighbour({ index, ip: addr }) } catch (e) { if (!isNotFound(e)) throw e }
    actions.push(`remove neigh ${addr}`)
  }
  for (const [mac, dst] of fdb) {
    if (wantedMac.has(mac) || mac === '00:00:00:00:00:00') continue
    try { nl.deleteFdb({ index, mac, ...(dst !== undefined ? { dst } : {}) }) } catch (e) { if (!isNotFound(e)) throw e }
    actions.push(`remove fdb ${mac}`)
  }
  return { actions, index }
}

/** Removes the device (and with it every neighbour, fdb entry and route over it). */
export function teardown (nl: Netlink, vni: number, family: 4 | 6 = 4): boolean {
  const l = nl.linkByName(deviceName(vni, family))
  if (l === undefined) return false
  try { nl.deleteLink(l.index) } catch (e) { if (!isNotFound(e)) throw e }
  return true
}

/** The underlay: `iface` by name, or the interface of the default route; `publicIp` overrides its address. */
export function findUnderlay (nl: Netlink, opts: { iface?: string, publicIp?: string }): Underlay {
  let link: Link | undefined
  if (opts.iface !== undefined) {
    link = nl.linkByName(opts.iface)
    if (link === undefined) throw new VxlanError('VXLAN_ERR_UNDERLAY', `interface "${opts.iface}" (--iface) does not exist`)
  } else {
    const def = nl.routes({ family: 4, table: 254 }).find((r) => r.dst === '0.0.0.0/0' && r.dev !== undefined)
    if (def?.dev === undefined) throw new VxlanError('VXLAN_ERR_UNDERLAY', 'no default route to pick the underlay interface from; pass --iface')
    link = nl.linkByIndex(def.dev)
    if (link === undefined) throw new VxlanError('VXLAN_ERR_UNDERLAY', `the default route's interface #${def.dev} vanished`)
  }
  const addrs = nl.addresses().filter((a) => a.index === link?.index && a.scope === 0)
  const v4 = addrs.find((a) => a.family === 4)?.address
  const v6 = addrs.find((a) => a.family === 6)?.address
  const publicIp = opts.publicIp ?? v4
  if (publicIp === undefined) throw new VxlanError('VXLAN_ERR_UNDERLAY', `interface "${link.name}" has no IPv4 address; pass --public-ip`)
  return { index: link.index, name: link.name, publicIp, publicIpv6: v6, mtu: link.mtu }
}

/** True when `target` is reachable without a gateway from `nl`'s namespace (same L2 segment). */
export function onLinkChecker (nl: Netlink): (target: string) => boolean {
  // One route dump per family per checker (a checker lives for one pass), not one per remote.
  const tables = new Map<4 | 6, Route[]>()
  return (target) => {
    const fam = ip.familyOf(target)
    if (fam === undefined) return false
    let routes = tables.get(fam)
    if (routes === undefined) { routes = nl.routes({ family: fam, table: 254 }); tables.set(fam, routes) }
    let best: Route | undefined
    let bestLen = -1
    for (const r of routes) {
      const c = ip.parseCidr(r.dst, true)
      if (c.prefixLen > bestLen && ip.contains(c, target)) { best = r; bestLen = c.prefixLen }
    }
    return best !== undefined && best.gw === undefined && (best.multipath === undefined || best.multipath.length === 0)
  }
}
