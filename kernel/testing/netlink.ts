/**
 * In-memory fakes of the kernel interfaces (STYLE.md convention 7): a
 * `Netlink` that holds links, addresses, routes, neighbours and FDB entries
 * and dumps them as sorted text, and a `NetNS` that keeps one such state per
 * namespace. They raise the errors the real kernel raises, with the same
 * errno and the same message text as `kernel/linux/netlink.ts`, and they make
 * the side effects the kernel makes: connected and local routes follow
 * addresses and link state, deleting a link takes its veth peer, its
 * addresses, routes, neighbours and FDB entries with it, a bridge's MTU and
 * MAC follow its ports. The kernel behaviour copied here was read off the CI
 * kernel (6.18) and is checked against it by `e2e/kernel/netlink.test.ts`.
 *
 * Not modelled (README.md lists them): IPv6 link-local addresses and the
 * fe80::/64 and ff00::/8 routes a link gets when it comes up, DAD (IPv6
 * addresses are usable at once), entries the kernel learns from traffic
 * (neighbours, bridge FDB), carrier timing, and sysctls other than the
 * forwarding switches having any effect.
 */
import { KernelError } from '../errors.js'
import { familyOf, fromBigInt, fromBytes, macToBytes, macFromBytes, networkOf, parseCidr, toBigInt, toBytes } from '../ip.js'
import type {
  Address, BridgePortChange, BridgeSpec, DummySpec, Family, FdbEntry, Link, LinkChange, NetNS, Neighbour, Netlink,
  Route, Sysctl, VethSpec, VxlanSpec
} from '../types.js'

// The kernel's errno values, as the real implementation reports them.
const ENOENT = 2
const ESRCH = 3
const EBADF = 9
const EEXIST = 17
const ENODEV = 19
const EINVAL = 22
const ERANGE = 34
const ELOOP = 40
const EOPNOTSUPP = 95
const EAFNOSUPPORT = 97
const EADDRNOTAVAIL = 99
const ENETDOWN = 100
const ENETUNREACH = 101
const EHOSTUNREACH = 113

const NUD_PERMANENT = 0x80
const NUD_NOARP = 0x40
const NTF_SELF = 0x02
const IFA_F_SECONDARY = 0x01
const IFA_F_PERMANENT = 0x80
const IFA_F_NOPREFIXROUTE = 0x200
const RT_TABLE_MAIN = 254
const RT_TABLE_LOCAL = 255
const RTN_UNICAST = 1
const RTN_LOCAL = 2
const RTN_BROADCAST = 3
const RTPROT_KERNEL = 2
const RTPROT_BOOT = 3
const SCOPE_UNIVERSE = 0
const SCOPE_LINK = 253
const SCOPE_HOST = 254
const VXLAN_PORT = 8472
const MIN_MTU = 68
const MAX_MTU = 65535
/** Below this a device has no IPv6 at all (no inet6_dev): addresses are refused, routes find no device. */
const IPV6_MIN_MTU = 1280

/** The same error the real implementation raises for a kernel refusal: `what (extack): ERRNO`. */
function nlError (what: string, errno: number, extack?: string): KernelError {
  return new KernelError('KERNEL_ERR_NETLINK', extack !== undefined ? `${what} (${extack})` : what, errno)
}

export type FakeKernelFeature = 'veth' | 'bridge' | 'vxlan' | 'dummy' | 'bridge-vlan-filtering'

export interface FakeKernelOptions {
  /** Features to treat as absent from the kernel: creating them fails with EOPNOTSUPP, as a kernel without the module answers. */
  missing?: readonly FakeKernelFeature[]
}

/** The CI machine's kernel: no dummy links, no bridge VLAN filtering (see shared/reference/kernel-and-runtime.md). */
export const ciKernel: FakeKernelOptions = Object.freeze({ missing: Object.freeze(['dummy', 'bridge-vlan-filtering'] as const) })

export interface DumpOptions {
  /** Include ` mac=` on every link but lo (off by default: generated MACs make goldens brittle). */
  macs?: boolean
}

/** A fake rtnetlink handle. `dump()` keeps working after `close()`, so a test can read what the code under test left. */
export interface FakeNetlink extends Netlink {
  dump (opts?: DumpOptions): string
}

/** Fake namespaces, each with its own fake rtnetlink state; `dump()` shows them all. */
export interface FakeNetNS extends NetNS {
  /** The path of the process's own namespace in the fake: '/proc/self/ns/net'. */
  readonly hostPath: string
  /** Sysctls of the namespace the caller is in: the host, or the one `run` has entered. */
  readonly sysctl: Sysctl
  dump (opts?: DumpOptions): string
}

type Kind = 'veth' | 'bridge' | 'vxlan' | 'dummy' | undefined

interface LinkRec {
  space: Space
  index: number
  name: string
  kind: Kind
  mtu: number
  mac: string
  up: boolean
  promisc: boolean
  loopback: boolean
  master: LinkRec | undefined
  port: { hairpin: boolean, learning: boolean, isolated: boolean } | undefined
  peer: LinkRec | undefined
  vxlan: { vni: number, port: number, learning: boolean, local: string | undefined, dev: LinkRec | undefined } | undefined
  vlanFiltering: boolean
  /** Port VLANs (vid → flags), on a port of a VLAN-filtering bridge. */
  vlans?: Map<number, { pvid: boolean, untagged: boolean }>
  /** A bridge's MTU/MAC stop following its ports once set through setLink (MAC: also at creation), as in br_mtu_auto_adjust and br_stp_recalculate_bridge_id. */
  mtuByUser: boolean
  macByUser: boolean
  sysctl: Map<string, string>
}

interface AddrRec {
  link: LinkRec
  family: Family
  address: string
  prefixLen: number
  scope: number
  secondary: boolean
  noPrefixRoute: boolean
  broadcast: string | undefined
  /** Made by the kernel itself (lo's ::1), without a prefix route. */
  auto: boolean
}

interface Hop { gw: string | undefined, dev: LinkRec, weight: number, onlink: boolean }

interface RouteRec {
  family: Family
  /** Network text and prefix, e.g. '10.1.0.0/16'. */
  dst: string
  table: number
  protocol: number
  scope: number
  type: number
  /** 0 = none (IPv4 leaves it out of dumps). */
  priority: number
  src: string | undefined
  /** Single-hop routes; multipath routes use `hops`. Reject-type IPv4 routes have neither. */
  hop: Hop | undefined
  hops: Hop[] | undefined
  mtu: number | undefined
  advmss: number | undefined
}

interface NeighRec { link: LinkRec, family: Family, ip: string, mac: string, state: number }
interface FdbRec { link: LinkRec, mac: string, dst: string | undefined, flags: number, master: LinkRec | undefined }

// ---------------------------------------------------------------------------------------------------------------------
// Sysctls

const ipv4Conf: Record<string, string> = {
  forwarding: '0', rp_filter: '0', proxy_arp: '0', route_localnet: '0', accept_local: '0', arp_ignore: '0',
  arp_announce: '0', send_redirects: '1', arp_notify: '0', promote_secondaries: '0'
}
const ipv6Conf: Record<string, string> = {
  forwarding: '0', disable_ipv6: '0', accept_dad: '1', accept_ra: '1', keep_addr_on_down: '0', autoconf: '1'
}
const globalSysctls: Record<string, string> = {
  'net/ipv4/ip_forward': '0',
  'net/ipv4/ip_local_port_range': '32768\t60999',
  'net/core/somaxconn': '4096'
}

/** As linuxSysctl words them: ENOENT as an errno, anything else by name. */
function sysctlError (op: 'read' | 'write', key: string, value: string | undefined, code: 'ENOENT' | 'EINVAL'): KernelError {
  const what = op === 'read' ? `read sysctl ${key}` : `write sysctl ${key}=${value ?? ''}`
  return code === 'ENOENT' ? new KernelError('KERNEL_ERR_SYSCALL', what, ENOENT) : new KernelError('KERNEL_ERR_SYSCALL', `${what}: ${code}`)
}

// ---------------------------------------------------------------------------------------------------------------------
// The world (every namespace, fake file descriptors) and one namespace's state

class World {
  readonly missing: ReadonlySet<FakeKernelFeature>
  readonly fds = new Map<number, Space>()
  #nextFd = 1000
  #macSeq = 0
  #spaceSeq = 0

  constructor (opts: FakeKernelOptions) {
    this.missing = new Set(opts.missing ?? [])
  }

  /** Locally administered unicast MACs in creation order: fa:ce:00:00:00:01, ... */
  nextMac (): string {
    const n = ++this.#macSeq
    return macFromBytes(Buffer.from([0xfa, 0xce, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]))
  }

  newSpace (label: string): Space { return new Space(this, label, ++this.#spaceSeq) }

  openFd (s: Space): number {
    const fd = this.#nextFd++
    this.fds.set(fd, s)
    s.refs++
    return fd
  }

  closeFd (fd: number): void {
    const s = this.fds.get(fd)
    if (s === undefined) return
    this.fds.delete(fd)
    s.unref()
  }

  /** The namespace behind an fd passed in IFLA_NET_NS_FD: EBADF for an fd that is not open. */
  spaceOfFd (fd: number, what: string): Space {
    const s = this.fds.get(fd)
    if (s === undefined || s.dead) throw nlError(what, EBADF)
    return s
  }
}

class Space {
  readonly world: World
  readonly label: string
  readonly id: number
  readonly links = new Map<number, LinkRec>()
  addrs: AddrRec[] = []
  routes: RouteRec[] = []
  neighs: NeighRec[] = []
  fdbs: FdbRec[] = []
  readonly sysctl = new Map<string, string>()
  readonly #nsids = new Map<Space, number>()
  #lastIndex = 0
  /** Named (pinned by a file) or the host: kept alive regardless of references. */
  pinned = false
  refs = 0
  dead = false

  constructor (world: World, label: string, id: number) {
    this.world = world
    this.label = label
    this.id = id
    for (const [k, v] of Object.entries(globalSysctls)) this.sysctl.set(k, v)
    for (const dev of ['all', 'default']) {
      for (const [k, v] of Object.entries(ipv4Conf)) this.sysctl.set(`net/ipv4/conf/${dev}/${k}`, v)
      for (const [k, v] of Object.entries(ipv6Conf)) this.sysctl.set(`net/ipv6/conf/${dev}/${k}`, dev === 'all' && k === 'accept_dad' ? '0' : v)
    }
    const lo = this.#newLink('lo', undefined, 65536, '00:00:00:00:00:00')
    lo.loopback = true
  }

  unref (): void {
    this.refs--
    this.maybeDestroy()
  }

  /** A namespace nobody pins or holds dies, taking its links (and so veth peers elsewhere) with it. */
  maybeDestroy (): void {
    if (this.dead || this.pinned || this.refs > 0) return
    this.dead = true
    for (const l of [...this.links.values()].sort((a, b) => b.index - a.index)) {
      if (this.links.get(l.index) === l) this.removeLink(l)
    }
  }

  /** The id this namespace knows another one by (IFLA_LINK_NETNSID), allocated on first use from 0. */
  nsidOf (other: Space): number {
    let id = this.#nsids.get(other)
    if (id === undefined) {
      id = this.#nsids.size
      this.#nsids.set(other, id)
    }
    return id
  }

  allocIndex (): number {
    do { this.#lastIndex++ } while (this.links.has(this.#lastIndex))
    return this.#lastIndex
  }

  #newLink (name: string, kind: Kind, mtu: number, mac: string): LinkRec {
    // A new device's conf/<dev>/* start as copies of conf/default/*.
    const sysctl = new Map<string, string>()
    for (const fam of ['4', '6'] as const) {
      for (const leaf of Object.keys(fam === '4' ? ipv4Conf : ipv6Conf)) sysctl.set(`${fam}/${leaf}`, this.sysctl.get(`net/ipv${fam}/conf/default/${leaf}`) ?? '0')
    }
    const l: LinkRec = {
      space: this, index: this.allocIndex(), name, kind, mtu, mac, up: false, promisc: false, loopback: false,
      master: undefined, port: undefined, peer: undefined, vxlan: undefined, vlanFiltering: false,
      mtuByUser: false, macByUser: false, sysctl
    }
    this.links.set(l.index, l)
    return l
  }

  newLink (name: string, kind: Kind, mtu: number, mac: string | undefined): LinkRec {
    const l = this.#newLink(name, kind, mtu, mac ?? this.world.nextMac())
    if (mac !== undefined && kind === 'bridge') l.macByUser = true
    return l
  }

  byName (name: string): LinkRec | undefined {
    for (const l of this.links.values()) if (l.name === name) return l
    return undefined
  }

  lo (): LinkRec | undefined {
    for (const l of this.links.values()) if (l.loopback) return l
    return undefined
  }

  ports (br: LinkRec): LinkRec[] {
    return [...this.links.values()].filter((l) => l.master === br)
  }

  // -- derived state ----------------------------------------------------------------------------------------------------

  running (l: LinkRec): boolean {
    if (!l.up) return false
    switch (l.kind) {
      case 'veth': return l.peer !== undefined && l.peer.up
      case 'bridge': {
        const ports = this.ports(l)
        return ports.length === 0 || ports.some((p) => this.running(p))
      }
      default: return true
    }
  }

  operstate (l: LinkRec): string {
    if (!l.up) return 'down'
    if (l.kind === 'veth') {
      if (this.running(l)) return 'up'
      // RFC 2863 as the kernel applies it: no carrier on a device with a lower one is lowerlayerdown, unless
      // the veth's peer happens to have its own ifindex (as when it was created straight into a fresh namespace).
      return l.peer !== undefined && l.peer.index !== l.index ? 'lowerlayerdown' : 'down'
    }
    if (l.kind === 'bridge') {
      const ports = this.ports(l)
      if (ports.length === 0) return 'unknown'
      return ports.some((p) => this.running(p)) ? 'up' : 'down'
    }
    return 'unknown'
  }

  /** Bridges follow their ports' smallest MTU and lowest MAC unless set by hand. */
  adjustBridge (br: LinkRec): void {
    const ports = this.ports(br)
    if (!br.mtuByUser) setMtu(br, ports.length === 0 ? 1500 : Math.min(...ports.map((p) => p.mtu)))
    if (!br.macByUser && ports.length > 0) br.mac = ports.map((p) => p.mac).sort()[0] as string
  }

  toLink (l: LinkRec): Link {
    const peer = l.peer
    return {
      index: l.index,
      name: l.name,
      kind: l.kind,
      mtu: l.mtu,
      mac: l.mac,
      flags: { up: l.up, promisc: l.promisc, loopback: l.loopback, running: this.running(l), noarp: false },
      operstate: this.operstate(l),
      master: l.master?.index,
      parentIndex: peer?.index,
      linkNetnsid: peer !== undefined && peer.space !== this ? this.nsidOf(peer.space) : undefined,
      bridgePort: l.port !== undefined ? { hairpin: l.port.hairpin, learning: l.port.learning, isolated: l.port.isolated } : undefined,
      vxlan: l.vxlan !== undefined ? { vni: l.vxlan.vni, port: l.vxlan.port, learning: l.vxlan.learning, local: l.vxlan.local, dev: l.vxlan.dev?.index } : undefined,
      bridge: l.kind === 'bridge' ? { vlanFiltering: l.vlanFiltering } : undefined,
      promiscuity: (l.promisc ? 1 : 0) + (l.master !== undefined ? 1 : 0)
    }
  }

  // -- links --------------------------------------------------------------------------------------------------------------

  /** Removes a link and everything hanging off it (in this and other namespaces), as unregister_netdevice does. */
  removeLink (l: LinkRec): void {
    if (l.space.links.get(l.index) !== l) return
    const s = l.space
    s.links.delete(l.index)
    s.addrs = s.addrs.filter((a) => a.link !== l)
    s.routes = s.routes.filter((r) => !routeUses(r, l))
    s.neighs = s.neighs.filter((n) => n.link !== l)
    s.fdbs = s.fdbs.filter((f) => f.link !== l && f.master !== l)
    if (l.kind === 'bridge') {
      for (const p of s.ports(l)) { p.master = undefined; p.port = undefined }
    }
    if (l.master !== undefined) {
      const br = l.master
      l.master = undefined
      s.adjustBridge(br)
    }
    // A VXLAN device goes with its underlay device (vxlan_handle_lowerdev_unregister).
    for (const v of [...s.links.values()]) if (v.vxlan?.dev === l) s.removeLink(v)
    const peer = l.peer
    l.peer = undefined
    if (peer !== undefined) { peer.peer = undefined; peer.space.removeLink(peer) }
  }

  /** Admin down: routes through the link go (IPv4 local routes stay), IPv6 addresses go, neighbours go. */
  linkDown (l: LinkRec): void {
    l.up = false
    this.routes = this.routes.filter((r) => {
      if (r.family === 4 && r.type === RTN_LOCAL && r.table === RT_TABLE_LOCAL && r.hop?.dev === l) return true
      if (r.hops !== undefined) return !r.hops.every((h) => h.dev === l || !h.dev.up)
      return r.hop?.dev !== l
    })
    for (const a of this.addrs.filter((x) => x.link === l && x.family === 6)) this.dropAddress(a)
    this.neighs = this.neighs.filter((n) => n.link !== l)
  }

  linkUp (l: LinkRec): void {
    l.up = true
    if (l.loopback) {
      if (!this.addrs.some((a) => a.link === l && a.address === '127.0.0.1')) this.insertAddress(l, parseCidr('127.0.0.1/8'), SCOPE_HOST, false)
      if (!this.addrs.some((a) => a.link === l && a.address === '::1')) this.insertAddress(l, parseCidr('::1/128'), SCOPE_HOST, false, true)
    }
    for (const a of this.addrs.filter((x) => x.link === l)) this.addDerived(a)
  }

  // -- addresses ----------------------------------------------------------------------------------------------------------

  insertAddress (l: LinkRec, c: { family: Family, address: string, prefixLen: number }, scope: number, noPrefixRoute: boolean, auto = false): AddrRec {
    let secondary = false
    let broadcast: string | undefined
    if (c.family === 4) {
      const net = networkOf(c)
      secondary = this.addrs.some((a) => a.link === l && a.family === 4 && !a.secondary && a.prefixLen === c.prefixLen && networkOf(a) === net)
      if (c.prefixLen < 31) broadcast = lastAddress(c)
    }
    const a: AddrRec = { link: l, family: c.family, address: c.address, prefixLen: c.prefixLen, scope, secondary, noPrefixRoute, broadcast, auto }
    // The kernel's list order: IPv4 primaries after the last primary of the same or wider scope, secondaries at the
    // end (inet_insert_ifa); IPv6 by scope, newest first within one (ipv6_link_dev_addr).
    const mine = this.addrs.filter((x) => x.link === l && x.family === c.family)
    let at = this.addrs.length
    if (c.family === 4 && !secondary) {
      const after = mine.filter((x) => !x.secondary && scope <= x.scope).pop()
      const first = mine[0]
      if (after !== undefined) at = this.addrs.indexOf(after) + 1
      else if (first !== undefined) at = this.addrs.indexOf(first)
    } else if (c.family === 6) {
      const before = mine.find((x) => scope >= x.scope)
      if (before !== undefined) at = this.addrs.indexOf(before)
    }
    this.addrs.splice(at, 0, a)
    this.addDerived(a)
    return a
  }

  /** The primary address a secondary one hangs off (its local route's src). */
  primaryOf (a: AddrRec): AddrRec {
    if (!a.secondary) return a
    const net = networkOf(a)
    return this.addrs.find((x) => x.link === a.link && x.family === 4 && !x.secondary && x.prefixLen === a.prefixLen && networkOf(x) === net) ?? a
  }

  /** The routes the kernel derives from an address (fib_add_ifaddr, addrconf_prefix_route). */
  derived (a: AddrRec): RouteRec[] {
    const l = a.link
    const hop = (): Hop => ({ gw: undefined, dev: l, weight: 1, onlink: false })
    const base = { protocol: RTPROT_KERNEL, priority: 0, hops: undefined, mtu: undefined, advmss: undefined }
    const out: RouteRec[] = []
    if (a.family === 4) {
      const src = this.primaryOf(a).address
      out.push({ ...base, family: 4, dst: `${a.address}/32`, table: RT_TABLE_LOCAL, scope: SCOPE_HOST, type: RTN_LOCAL, src, hop: hop() })
      if (!l.up) return out
      if (a.broadcast !== undefined) {
        out.push({ ...base, family: 4, dst: `${a.broadcast}/32`, table: RT_TABLE_LOCAL, scope: SCOPE_LINK, type: RTN_BROADCAST, src, hop: hop() })
      }
      if (!a.secondary && !a.noPrefixRoute && a.prefixLen < 32) {
        const dst = `${networkOf(a)}/${a.prefixLen}`
        out.push(l.loopback
          ? { ...base, family: 4, dst, table: RT_TABLE_LOCAL, scope: SCOPE_HOST, type: RTN_LOCAL, src, hop: hop() }
          : { ...base, family: 4, dst, table: RT_TABLE_MAIN, scope: SCOPE_LINK, type: RTN_UNICAST, src, hop: hop() })
      }
      return out
    }
    if (!l.up) return out
    if (!a.noPrefixRoute && !a.auto) {
      out.push({ ...base, family: 6, dst: `${networkOf(a)}/${a.prefixLen}`, table: RT_TABLE_MAIN, scope: SCOPE_UNIVERSE, type: RTN_UNICAST, priority: 256, src: undefined, hop: hop() })
    }
    out.push({ ...base, family: 6, dst: `${a.address}/128`, table: RT_TABLE_LOCAL, scope: SCOPE_UNIVERSE, type: RTN_LOCAL, src: undefined, hop: hop() })
    return out
  }

  addDerived (a: AddrRec): void {
    for (const r of this.derived(a)) {
      if (!this.routes.some((x) => derivedKey(x) === derivedKey(r))) this.routes.push(r)
    }
  }

  /** Removes an address and the derived routes no remaining address still accounts for. */
  dropAddress (a: AddrRec): void {
    const gone = this.derived(a)
    this.addrs = this.addrs.filter((x) => x !== a)
    const still = new Set(this.addrs.flatMap((x) => this.derived(x)).map(derivedKey))
    const drop = new Set(gone.map(derivedKey).filter((k) => !still.has(k)))
    this.routes = this.routes.filter((r) => r.protocol !== RTPROT_KERNEL || !drop.has(derivedKey(r)))
  }

  isLocalAddress (ip: string): boolean {
    return this.addrs.some((a) => a.address === ip)
  }

  // -- route lookups ------------------------------------------------------------------------------------------------------

  /** Longest-prefix match of `ip` among `routes` in `tables` (the first table with a match wins), optionally only via `dev`. */
  lookup (ip: string, family: Family, tables: number[], accept: (r: RouteRec) => boolean): RouteRec | undefined {
    const v = toBigInt(ip)
    for (const t of tables) {
      let best: RouteRec | undefined
      let bestLen = -1
      for (const r of this.routes) {
        if (r.family !== family || r.table !== t || !accept(r)) continue
        const c = parseCidr(r.dst)
        if (c.prefixLen <= bestLen) continue
        const bits = family === 4 ? 32 : 128
        const host = (1n << BigInt(bits - c.prefixLen)) - 1n
        if ((v & ~host) !== (toBigInt(c.address) & ~host)) continue
        best = r
        bestLen = c.prefixLen
      }
      if (best !== undefined) return best
    }
    return undefined
  }
}

/** An MTU change, with what follows from it: a port's bridge re-adjusts, IPv6 leaves a device below 1280. */
function setMtu (l: LinkRec, mtu: number): void {
  if (l.mtu === mtu) return
  l.mtu = mtu
  const s = l.space
  if (mtu < IPV6_MIN_MTU) {
    for (const a of s.addrs.filter((x) => x.link === l && x.family === 6)) s.dropAddress(a)
    s.routes = s.routes.filter((r) => r.family !== 6 || !routeUses(r, l))
    s.neighs = s.neighs.filter((n) => n.link !== l || n.family !== 6)
  }
  if (l.master !== undefined) s.adjustBridge(l.master)
}

function lastAddress (c: { family: Family, address: string, prefixLen: number }): string {
  const bits = c.family === 4 ? 32 : 128
  return fromBigInt(toBigInt(c.address) | ((1n << BigInt(bits - c.prefixLen)) - 1n), c.family)
}

function routeUses (r: RouteRec, l: LinkRec): boolean {
  return r.hop?.dev === l || (r.hops?.some((h) => h.dev === l) ?? false)
}

function derivedKey (r: RouteRec): string {
  return `${r.table} ${r.type} ${r.dst} ${r.hop?.dev.index ?? '-'} ${r.priority}`
}

// ---------------------------------------------------------------------------------------------------------------------
// Validation shared by the link operations

function validName (name: string, what: string): void {
  // The IFLA_IFNAME policy (ERANGE) comes before dev_valid_name (EINVAL).
  if (name.length > 15) throw nlError(what, ERANGE, 'Attribute failed policy validation')
  if (name === '' || name === '.' || name === '..' || /[/:\s]/.test(name)) throw nlError(what, EINVAL)
}

function validMac (mac: string): string {
  // Same parse (and AddressError on garbage) as the real encoder, then the canonical lower-case form.
  return macFromBytes(macToBytes(mac))
}

function isUnicastMac (mac: string): boolean {
  const b = macToBytes(mac)
  return ((b[0] ?? 0) & 1) === 0 && !b.every((x) => x === 0)
}

/** An address as the kernel hands it back: the real implementation's toBytes/fromBytes round trip. */
function canonicalIp (ip: string): string {
  return fromBytes(toBytes(ip))
}

// ---------------------------------------------------------------------------------------------------------------------
// The Netlink handle

class FakeRtnl implements FakeNetlink {
  readonly #space: Space
  readonly #onClose: (() => void) | undefined
  #closed = false

  constructor (space: Space, onClose?: () => void) {
    this.#space = space
    this.#onClose = onClose
  }

  get #s (): Space {
    if (this.#closed) throw new KernelError('KERNEL_ERR_NETLINK', 'netlink socket closed')
    return this.#space
  }

  #link (index: number, what: string, extack?: string): LinkRec {
    const l = this.#s.links.get(index)
    if (l === undefined) throw nlError(what, ENODEV, extack)
    return l
  }

  #feature (f: FakeKernelFeature, what: string): void {
    if (this.#space.world.missing.has(f)) throw nlError(what, EOPNOTSUPP, f === 'bridge-vlan-filtering' ? undefined : 'Unknown device type')
  }

  links (): Link[] {
    const s = this.#s
    return [...s.links.values()].sort((a, b) => a.index - b.index).map((l) => s.toLink(l))
  }

  linkByName (name: string): Link | undefined {
    const s = this.#s
    const l = s.byName(name)
    return l !== undefined ? s.toLink(l) : undefined
  }

  linkByIndex (index: number): Link | undefined {
    const s = this.#s
    const l = s.links.get(index)
    return l !== undefined ? s.toLink(l) : undefined
  }

  addVeth (spec: VethSpec): void {
    const s = this.#s
    const what = `add veth ${spec.name}`
    validName(spec.name, what)
    validName(spec.peerName, what)
    this.#feature('veth', what)
    if (s.byName(spec.name) !== undefined) throw nlError(what, EEXIST)
    if (spec.mtu !== undefined && spec.mtu > 0 && (spec.mtu < MIN_MTU || spec.mtu > MAX_MTU)) throw nlError(what, EINVAL)
    const mac = spec.mac !== undefined ? validMac(spec.mac) : undefined
    const peerMac = spec.peerMac !== undefined ? validMac(spec.peerMac) : undefined
    const ps = spec.peerNetnsFd !== undefined ? s.world.spaceOfFd(spec.peerNetnsFd, what) : s
    if (ps.byName(spec.peerName) !== undefined) throw nlError(what, EEXIST)
    if (ps === s && spec.peerName === spec.name) {
      // The peer is registered (and takes an ifindex) before the second registration fails on the name.
      s.allocIndex()
      throw nlError(what, EEXIST)
    }
    const mtu = spec.mtu !== undefined && spec.mtu > 0 ? spec.mtu : 1500
    // The kernel registers the peer first, so in one namespace it gets the lower ifindex.
    const peer = ps.newLink(spec.peerName, 'veth', mtu, peerMac)
    const l = s.newLink(spec.name, 'veth', mtu, mac)
    l.peer = peer
    peer.peer = l
    if (ps !== s) { s.nsidOf(ps); ps.nsidOf(s) }
  }

  addBridge (spec: BridgeSpec): void {
    const s = this.#s
    const what = `add bridge ${spec.name}`
    validName(spec.name, what)
    this.#feature('bridge', what)
    if (spec.vlanFiltering === true) this.#feature('bridge-vlan-filtering', what)
    if (s.byName(spec.name) !== undefined) throw nlError(what, EEXIST)
    if (spec.mtu !== undefined && spec.mtu > 0 && (spec.mtu < MIN_MTU || spec.mtu > MAX_MTU)) throw nlError(what, EINVAL, spec.mtu > MAX_MTU ? 'mtu greater than device maximum' : 'mtu less than device minimum')
    const l = s.newLink(spec.name, 'bridge', spec.mtu !== undefined && spec.mtu > 0 ? spec.mtu : 1500, spec.mac !== undefined ? validMac(spec.mac) : undefined)
    l.vlanFiltering = spec.vlanFiltering === true
  }

  addDummy (spec: DummySpec): void {
    const s = this.#s
    const what = `add dummy ${spec.name}`
    validName(spec.name, what)
    this.#feature('dummy', what)
    if (s.byName(spec.name) !== undefined) throw nlError(what, EEXIST)
    if (spec.mtu !== undefined && spec.mtu > 0 && (spec.mtu < MIN_MTU || spec.mtu > MAX_MTU)) throw nlError(what, EINVAL)
    s.newLink(spec.name, 'dummy', spec.mtu !== undefined && spec.mtu > 0 ? spec.mtu : 1500, spec.mac !== undefined ? validMac(spec.mac) : undefined)
  }

  addVxlan (spec: VxlanSpec): void {
    const s = this.#s
    const what = `add vxlan ${spec.name}`
    validName(spec.name, what)
    if (spec.vni >= 1 << 24 || spec.vni < 0) throw nlError(what, ERANGE, 'VXLAN ID must be lower than 16777216')
    if (spec.mtu !== undefined && spec.mtu > 0 && (spec.mtu < MIN_MTU || spec.mtu > MAX_MTU)) throw nlError(what, EINVAL, `MTU must be between ${MIN_MTU} and ${MAX_MTU}`)
    this.#feature('vxlan', what)
    if (s.byName(spec.name) !== undefined) throw nlError(what, EEXIST)
    const local = spec.local !== undefined ? canonicalIp(spec.local) : undefined
    const v6 = local !== undefined && familyOf(local) === 6
    let dev: LinkRec | undefined
    if (spec.dev !== undefined) {
      dev = s.links.get(spec.dev)
      if (dev === undefined) throw nlError(what, ENODEV, 'Invalid local interface, device not found')
    }
    const port = spec.port ?? VXLAN_PORT
    for (const o of s.links.values()) {
      if (o.vxlan !== undefined && o.vxlan.vni === spec.vni && o.vxlan.port === port && (o.vxlan.local !== undefined && familyOf(o.vxlan.local) === 6) === v6) {
        throw nlError(what, EEXIST, 'A VXLAN device with the specified VNI already exists')
      }
    }
    // With an underlay the MTU is clamped to what fits in it (vxlan_config_apply); IPv6 needs 20 more bytes.
    const headroom = v6 ? 70 : 50
    let mtu = spec.mtu !== undefined && spec.mtu > 0 ? spec.mtu : 1500
    if (dev !== undefined) {
      const max = Math.max(MIN_MTU, dev.mtu - headroom)
      mtu = spec.mtu !== undefined && spec.mtu > 0 ? Math.min(spec.mtu, max) : max
    }
    const l = s.newLink(spec.name, 'vxlan', mtu, spec.mac !== undefined ? validMac(spec.mac) : undefined)
    l.vxlan = { vni: spec.vni, port, learning: spec.learning !== false, local, dev }
  }

  deleteLink (index: number): void {
    const what = `delete link #${index}`
    const l = this.#link(index, what)
    if (l.loopback) throw nlError(what, EOPNOTSUPP)
    l.space.removeLink(l)
  }

  setLink (index: number, change: LinkChange): void {
    const s = this.#s
    const what = `set link #${index}`
    if (change.name !== undefined && change.name.length > 15) throw nlError(what, ERANGE, 'Attribute failed policy validation')
    let l = this.#link(index, what)
    const mac = change.mac !== undefined ? validMac(change.mac) : undefined
    // do_setlink's order; like the kernel, a failing step leaves the earlier ones done.
    if (change.netnsFd !== undefined) {
      const target = s.world.spaceOfFd(change.netnsFd, what)
      if (target !== s) {
        if (l.kind === 'bridge' || l.loopback) throw nlError(what, EINVAL, 'The interface netns is immutable')
        if (target.byName(change.name ?? l.name) !== undefined) throw nlError(what, EEXIST, 'An interface with the same name exists in the target netns')
        l = moveLink(l, target)
      }
    }
    const ls = l.space
    if (mac !== undefined) {
      if (!isUnicastMac(mac)) throw nlError(what, EADDRNOTAVAIL)
      l.mac = mac
      if (l.kind === 'bridge') l.macByUser = true
      if (l.master !== undefined) ls.adjustBridge(l.master)
    }
    if (change.mtu !== undefined) {
      if (change.mtu < MIN_MTU) throw nlError(what, EINVAL, 'mtu less than device minimum')
      if (change.mtu > (l.loopback ? 65536 : MAX_MTU)) throw nlError(what, EINVAL, 'mtu greater than device maximum')
      const dev = l.vxlan?.dev
      if (dev !== undefined && change.mtu > dev.mtu - (l.vxlan?.local !== undefined && familyOf(l.vxlan.local) === 6 ? 70 : 50)) throw nlError(what, EINVAL)
      setMtu(l, change.mtu)
      if (l.kind === 'bridge') l.mtuByUser = true
    }
    if (change.name !== undefined && change.name !== l.name) {
      validName(change.name, what)
      if (ls.byName(change.name) !== undefined) throw nlError(what, EEXIST)
      l.name = change.name
    }
    if (change.up !== undefined && change.up !== l.up) {
      if (change.up) ls.linkUp(l)
      else ls.linkDown(l)
    }
    if (change.promisc !== undefined) l.promisc = change.promisc
    if (change.master !== undefined) setMaster(l, change.master, what)
  }

  setBridgePort (index: number, change: BridgePortChange): void {
    if (change.hairpin === undefined && change.learning === undefined && change.isolated === undefined) return
    const what = `set bridge port #${index}`
    const l = this.#link(index, what, 'unknown ifindex')
    if (l.port === undefined) throw nlError(what, EOPNOTSUPP)
    if (change.hairpin !== undefined) l.port.hairpin = change.hairpin
    if (change.learning !== undefined) l.port.learning = change.learning
    if (change.isolated !== undefined) l.port.isolated = change.isolated
  }

  setBridgeVlan (index: number, v: { vid: number, pvid?: boolean, untagged?: boolean, remove?: boolean }): void {
    const what = `${v.remove === true ? 'remove' : 'add'} vlan ${v.vid} on #${index}`
    const l = this.#link(index, what, 'unknown ifindex')
    this.#feature('bridge-vlan-filtering', what)
    if (l.port === undefined || l.master?.vlanFiltering !== true) throw nlError(what, EOPNOTSUPP)
    if (v.vid < 1 || v.vid > 4094) throw nlError(what, EINVAL)
    const vlans = (l.vlans ??= new Map())
    if (v.remove === true) {
      if (!vlans.delete(v.vid)) throw nlError(what, ENOENT)
      return
    }
    if (v.pvid === true) for (const x of vlans.values()) x.pvid = false
    vlans.set(v.vid, { pvid: v.pvid === true, untagged: v.untagged === true })
  }

  addresses (family?: Family): Address[] {
    const s = this.#s
    const order = (a: AddrRec): number => (a.family === 4 ? 0 : 1e9) + a.link.index
    return s.addrs
      .filter((a) => family === undefined || a.family === family)
      .map((a, i) => ({ a, i }))
      .sort((x, y) => order(x.a) - order(y.a) || x.i - y.i)
      .map(({ a }) => ({
        index: a.link.index,
        family: a.family,
        address: a.address,
        prefixLen: a.prefixLen,
        scope: a.scope,
        flags: IFA_F_PERMANENT | (a.secondary ? IFA_F_SECONDARY : 0) | (a.noPrefixRoute ? IFA_F_NOPREFIXROUTE : 0)
      }))
  }

  addAddress (index: number, cidr: string, opts?: { scope?: number, noPrefixRoute?: boolean }): void {
    const s = this.#s
    const c = parseCidr(cidr)
    const what = `add address ${cidr} on #${index}`
    const l = this.#link(index, what, c.family === 4 ? 'ipv4: Device not found' : 'ipv6: Unable to find the interface')
    if (c.family === 4) {
      const net = networkOf(c)
      for (const a of s.addrs) {
        if (a.link !== l || a.family !== 4 || a.prefixLen !== c.prefixLen || networkOf(a) !== net) continue
        if (a.address === c.address) throw nlError(what, EEXIST, 'ipv4: Address already assigned')
        if (!a.secondary && a.scope !== (opts?.scope ?? 0)) throw nlError(what, EINVAL, 'ipv4: Invalid scope value')
      }
      s.insertAddress(l, c, opts?.scope ?? 0, opts?.noPrefixRoute === true)
      return
    }
    if (l.mtu < IPV6_MIN_MTU) throw nlError(what, EINVAL)
    if (s.addrs.some((a) => a.link === l && a.address === c.address)) throw nlError(what, EEXIST, 'ipv6: address already assigned')
    // IPv6 derives the scope from the address (ipv6_addr_scope); the request's scope is ignored.
    const scope = c.address === '::1' ? SCOPE_HOST : /^fe[89ab]/.test(c.address) ? SCOPE_LINK : SCOPE_UNIVERSE
    s.insertAddress(l, c, scope, opts?.noPrefixRoute === true)
  }

  deleteAddress (index: number, cidr: string): void {
    const s = this.#s
    const c = parseCidr(cidr)
    const what = `delete address ${cidr} on #${index}`
    const l = this.#link(index, what, c.family === 4 ? 'ipv4: Device not found' : 'ipv6: Unable to find the interface')
    const a = s.addrs.find((x) => x.link === l && x.family === c.family && x.address === c.address && x.prefixLen === c.prefixLen)
    if (a === undefined) throw nlError(what, EADDRNOTAVAIL, c.family === 4 ? 'ipv4: Address not found' : 'ipv6: address not found')
    // Without promote_secondaries, deleting a primary takes its secondaries with it.
    if (a.family === 4 && !a.secondary) {
      for (const x of s.addrs.filter((y) => y.link === l && y.secondary && y.prefixLen === a.prefixLen && networkOf(y) === networkOf(a))) s.dropAddress(x)
    }
    s.dropAddress(a)
  }

  routes (filter?: { family?: Family, table?: number }): Route[] {
    const s = this.#s
    return s.routes
      .filter((r) => (filter?.family === undefined || r.family === filter.family) && (filter?.table === undefined || r.table === filter.table))
      .sort((a, b) => a.family - b.family || a.table - b.table || cmpDst(a.dst, b.dst) || a.priority - b.priority)
      .map((r) => toRoute(r))
  }

  addRoute (route: Route, opts?: { replace?: boolean }): void {
    const s = this.#s
    const what = `add route ${route.dst}${route.gw !== undefined ? ' via ' + route.gw : ''}`
    const dst = parseCidr(route.dst, true)
    if (dst.family !== route.family) throw new KernelError('KERNEL_ERR_NETLINK', `route ${route.dst}: family mismatch`)
    const family = dst.family
    const net = `${networkOf(dst)}/${dst.prefixLen}`
    if (family === 4 && networkOf(dst) !== dst.address) throw nlError(what, EINVAL, 'Invalid prefix for given prefix length')
    const table = route.table ?? RT_TABLE_MAIN
    const type = route.type ?? RTN_UNICAST
    const reject = type >= 6 && type <= 8
    let hop: Hop | undefined
    let hops: Hop[] | undefined
    if (route.multipath !== undefined && route.multipath.length > 0) {
      hops = route.multipath.map((h) => this.#checkHop(family, table, what, h.gw, h.dev, h.onlink === true, h.weight ?? 1))
    } else if (reject) {
      if (family === 6) {
        const lo = s.lo()
        if (lo !== undefined) hop = { gw: undefined, dev: lo, weight: 1, onlink: false }
      }
    } else {
      hop = this.#checkHop(family, table, what, route.gw, route.dev, route.onlink === true, 1)
    }
    let src: string | undefined
    if (route.src !== undefined) {
      src = canonicalIp(route.src)
      if (!s.isLocalAddress(src)) throw nlError(what, EINVAL, family === 4 ? 'Invalid prefsrc address' : 'Invalid source address')
    }
    const priority = route.priority ?? (family === 6 ? 1024 : 0)
    const hasGw = hop?.gw !== undefined || (hops?.some((h) => h.gw !== undefined) ?? false)
    const rec: RouteRec = {
      family,
      dst: net,
      table,
      protocol: route.protocol ?? RTPROT_BOOT,
      scope: family === 6 ? SCOPE_UNIVERSE : (route.scope ?? (hasGw ? SCOPE_UNIVERSE : SCOPE_LINK)),
      type,
      priority,
      src,
      hop,
      hops,
      mtu: route.mtu,
      advmss: route.advmss
    }
    const i = s.routes.findIndex((r) => r.family === family && r.table === table && r.dst === net && r.priority === priority)
    if (i >= 0) {
      if (opts?.replace !== true) throw nlError(what, EEXIST)
      s.routes[i] = rec
      return
    }
    s.routes.push(rec)
  }

  /** fib_check_nh (IPv4) and ip6_route_check_nh (IPv6) as far as our routes reach. */
  #checkHop (family: Family, table: number, what: string, gwText: string | undefined, devIndex: number | undefined, onlink: boolean, weight: number): Hop {
    const s = this.#s
    const dev = devIndex !== undefined ? s.links.get(devIndex) : undefined
    const devDown = family === 4 && gwText === undefined ? 'Device for nexthop is not up' : 'Nexthop device is not up'
    if (family === 6 && dev !== undefined && dev.mtu < IPV6_MIN_MTU) throw nlError(what, ENODEV)
    if (gwText === undefined) {
      if (dev === undefined) throw nlError(what, ENODEV)
      if (!dev.up) throw nlError(what, ENETDOWN, devDown)
      return { gw: undefined, dev, weight, onlink }
    }
    const gw = canonicalIp(gwText)
    if (onlink) {
      if (devIndex === undefined) throw nlError(what, ENODEV, 'Nexthop device required for onlink')
      if (dev === undefined) throw nlError(what, ENODEV)
      if (!dev.up) throw nlError(what, ENETDOWN, devDown)
      return { gw, dev, weight, onlink }
    }
    const tables = table !== RT_TABLE_MAIN && table !== RT_TABLE_LOCAL ? [table, RT_TABLE_LOCAL, RT_TABLE_MAIN] : [RT_TABLE_LOCAL, RT_TABLE_MAIN]
    if (family === 4) {
      // The gateway must be reachable by a route of link or host scope, through `dev` when one is named.
      const r = s.lookup(gw, 4, tables, (x) => x.scope >= SCOPE_LINK && x.hop !== undefined && (devIndex === undefined || x.hop.dev.index === devIndex))
      if (r === undefined || r.hop === undefined) throw nlError(what, ENETUNREACH, 'Nexthop has invalid gateway')
      if (r.type !== RTN_UNICAST && r.type !== RTN_LOCAL) throw nlError(what, EINVAL, 'Nexthop has invalid gateway')
      return { gw, dev: r.hop.dev, weight, onlink }
    }
    if (s.isLocalAddress(gw)) throw nlError(what, EINVAL, 'Gateway can not be a local address')
    if (/^fe[89ab]/.test(gw)) {
      if (dev === undefined) throw nlError(what, devIndex === undefined ? EINVAL : ENODEV, devIndex === undefined ? 'Egress device not specified' : undefined)
      if (!dev.up) throw nlError(what, ENETDOWN, devDown)
      return { gw, dev, weight, onlink }
    }
    if (devIndex !== undefined && dev === undefined) throw nlError(what, ENODEV)
    const r = s.lookup(gw, 6, tables.filter((t) => t !== RT_TABLE_LOCAL), () => true)
    if (r === undefined || r.hop === undefined || r.hop.gw !== undefined || r.type !== RTN_UNICAST || (dev !== undefined && r.hop.dev !== dev)) throw nlError(what, EHOSTUNREACH)
    if (!r.hop.dev.up) throw nlError(what, ENETDOWN, devDown)
    return { gw, dev: r.hop.dev, weight, onlink }
  }

  deleteRoute (route: Route): void {
    const s = this.#s
    const what = `delete route ${route.dst}`
    const dst = parseCidr(route.dst, true)
    if (dst.family !== route.family) throw new KernelError('KERNEL_ERR_NETLINK', `route ${route.dst}: family mismatch`)
    if (dst.family === 4 && networkOf(dst) !== dst.address) throw nlError(what, EINVAL, 'Invalid prefix for given prefix length')
    const net = `${networkOf(dst)}/${dst.prefixLen}`
    const table = route.table ?? RT_TABLE_MAIN
    const gw = route.gw !== undefined ? canonicalIp(route.gw) : undefined
    const candidates = s.routes
      .filter((r) => r.family === dst.family && r.table === table && r.dst === net)
      .sort((a, b) => a.priority - b.priority)
    const match = candidates.find((r) => {
      const first = r.hop ?? r.hops?.[0]
      if (route.priority !== undefined && route.priority !== 0 && r.priority !== route.priority) return false
      if (route.protocol !== undefined && route.protocol !== 0 && r.protocol !== route.protocol) return false
      if (route.dev !== undefined && first?.dev.index !== route.dev) return false
      if (gw !== undefined && !(r.hops?.some((h) => h.gw === gw) ?? first?.gw === gw)) return false
      if (dst.family === 4) {
        // fib_table_delete also matches type, scope (RT_SCOPE_NOWHERE = any), prefsrc and metrics.
        if (r.type !== (route.type ?? RTN_UNICAST)) return false
        if (route.scope !== undefined && route.scope !== 255 && r.scope !== route.scope) return false
        if (route.src !== undefined && r.src !== canonicalIp(route.src)) return false
        if (route.mtu !== undefined && r.mtu !== route.mtu) return false
        if (route.advmss !== undefined && r.advmss !== route.advmss) return false
        if (gw !== undefined && r.hops !== undefined && r.hops[0]?.gw !== gw) return false
      }
      return true
    })
    if (match === undefined) throw nlError(what, ESRCH)
    // IPv6 keeps ECMP routes as siblings: naming a gateway removes only that hop.
    if (dst.family === 6 && gw !== undefined && match.hops !== undefined && match.hops.length > 1) {
      const rest = match.hops.filter((h) => h.gw !== gw)
      if (rest.length === 1) { match.hop = rest[0]; match.hops = undefined } else match.hops = rest
      return
    }
    s.routes = s.routes.filter((r) => r !== match)
  }

  neighbours (family?: Family): Neighbour[] {
    const s = this.#s
    return s.neighs
      .filter((n) => family === undefined || n.family === family)
      .sort((a, b) => a.family - b.family || a.link.index - b.link.index)
      .map((n) => ({ index: n.link.index, family: n.family, ip: n.ip, mac: n.mac, state: n.state, flags: 0, master: undefined }))
  }

  setNeighbour (n: { index: number, ip: string, mac: string, state?: number }): void {
    const s = this.#s
    const ip = canonicalIp(n.ip)
    const mac = validMac(n.mac)
    const l = this.#link(n.index, `set neighbour ${n.ip}`)
    const family = familyOf(ip) as Family
    const old = s.neighs.find((x) => x.link === l && x.ip === ip)
    if (old !== undefined) { old.mac = mac; old.state = n.state ?? NUD_PERMANENT; return }
    s.neighs.push({ link: l, family, ip, mac, state: n.state ?? NUD_PERMANENT })
  }

  deleteNeighbour (n: { index: number, ip: string }): void {
    const s = this.#s
    const ip = canonicalIp(n.ip)
    const what = `delete neighbour ${n.ip}`
    const l = this.#link(n.index, what)
    const i = s.neighs.findIndex((x) => x.link === l && x.ip === ip)
    if (i < 0) throw nlError(what, ENOENT)
    s.neighs.splice(i, 1)
  }

  fdb (index?: number): FdbEntry[] {
    const s = this.#s
    return s.fdbs
      .filter((f) => index === undefined || f.link.index === index)
      .sort((a, b) => a.link.index - b.link.index)
      .map((f) => ({ index: f.link.index, mac: f.mac, dst: f.dst, state: NUD_PERMANENT, flags: f.flags, master: f.master?.index }))
  }

  setFdb (e: { index: number, mac: string, dst?: string }): void {
    const s = this.#s
    const mac = validMac(e.mac)
    const what = `set fdb ${e.mac}`
    const l = this.#link(e.index, what, 'unknown ifindex')
    const dst = e.dst !== undefined ? canonicalIp(e.dst) : undefined
    const old = s.fdbs.find((f) => f.link === l && f.mac === mac)
    if (l.kind === 'vxlan') {
      // vxlan_fdb_add: a remote is required (our devices have no default one), and NLM_F_REPLACE is refused for
      // the all-zeros and multicast entries, which only NLM_F_APPEND may create.
      if (dst === undefined) throw nlError(what, EINVAL)
      // The remote must be of the device's own family: IPv6 only when its local address is.
      const v6 = l.vxlan?.local !== undefined && familyOf(l.vxlan.local) === 6
      if ((familyOf(dst) === 6) !== v6) throw nlError(what, EAFNOSUPPORT)
      if (!isUnicastMac(mac)) throw nlError(what, EOPNOTSUPP)
      if (old !== undefined) { old.dst = dst; return }
      s.fdbs.push({ link: l, mac, dst, flags: NTF_SELF, master: undefined })
      return
    }
    if (old !== undefined) return
    // On a bridge device itself the entry lands in the bridge's own table (flags 0, master = the bridge).
    s.fdbs.push(l.kind === 'bridge'
      ? { link: l, mac, dst: undefined, flags: 0, master: l }
      : { link: l, mac, dst: undefined, flags: NTF_SELF, master: undefined })
  }

  deleteFdb (e: { index: number, mac: string, dst?: string }): void {
    const s = this.#s
    const mac = validMac(e.mac)
    const what = `delete fdb ${e.mac}`
    const l = this.#link(e.index, what, 'unknown ifindex')
    const f = s.fdbs.find((x) => x.link === l && x.mac === mac)
    if (f === undefined) throw nlError(what, ENOENT)
    // __vxlan_fdb_delete answers 0 without deleting when the named remote is not the entry's.
    if (l.kind === 'vxlan' && e.dst !== undefined && f.dst !== canonicalIp(e.dst)) return
    s.fdbs = s.fdbs.filter((x) => x !== f)
  }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    this.#onClose?.()
  }

  dump (opts?: DumpOptions): string {
    const s = this.#space
    return dumpNetlink(new FakeRtnl(s), { ...opts, peerName: (l) => peerLabel(s, l) })
  }
}

function cmpDst (a: string, b: string): number {
  const ca = parseCidr(a)
  const cb = parseCidr(b)
  const d = toBigInt(ca.address) - toBigInt(cb.address)
  return d < 0n ? -1 : d > 0n ? 1 : ca.prefixLen - cb.prefixLen
}

function toRoute (r: RouteRec): Route {
  const out: Route = { family: r.family, dst: r.dst, table: r.table, protocol: r.protocol, scope: r.scope, type: r.type }
  if (r.hop !== undefined) {
    if (r.hop.gw !== undefined) out.gw = r.hop.gw
    out.dev = r.hop.dev.index
    if (r.hop.onlink) out.onlink = true
  }
  if (r.src !== undefined) out.src = r.src
  if (r.family === 6 || r.priority !== 0) out.priority = r.priority
  if (r.mtu !== undefined) out.mtu = r.mtu
  if (r.advmss !== undefined) out.advmss = r.advmss
  if (r.hops !== undefined) {
    out.multipath = r.hops.map((h) => {
      const x: NonNullable<Route['multipath']>[number] = { dev: h.dev.index, weight: h.weight }
      if (h.onlink) x.onlink = true
      if (h.gw !== undefined) x.gw = h.gw
      return x
    })
  }
  return out
}

/** dev_change_net_namespace: the link arrives down, without addresses, routes or master, keeping its ifindex if free. */
function moveLink (l: LinkRec, target: Space): LinkRec {
  const from = l.space
  if (l.up) from.linkDown(l)
  if (l.master !== undefined) setMaster(l, 0, '')
  for (const a of from.addrs.filter((x) => x.link === l)) from.dropAddress(a)
  from.routes = from.routes.filter((r) => !routeUses(r, l))
  from.neighs = from.neighs.filter((n) => n.link !== l)
  from.fdbs = from.fdbs.filter((f) => f.link !== l)
  for (const v of [...from.links.values()]) if (v.vxlan?.dev === l) from.removeLink(v)
  from.links.delete(l.index)
  l.space = target
  if (target.links.has(l.index)) l.index = target.allocIndex()
  target.links.set(l.index, l)
  if (l.peer !== undefined && l.peer.space !== target) { target.nsidOf(l.peer.space); l.peer.space.nsidOf(target) }
  return l
}

/** do_set_master: leave the current bridge first (even if the new one then fails), then join `index`. */
function setMaster (l: LinkRec, index: number, what: string): void {
  const s = l.space
  if (l.master !== undefined) {
    if (l.master.index === index) return
    const br = l.master
    l.master = undefined
    l.port = undefined
    s.fdbs = s.fdbs.filter((f) => !(f.link === l && f.master === br))
    s.adjustBridge(br)
  }
  if (index === 0) return
  const br = s.links.get(index)
  if (br === undefined) throw nlError(what, EINVAL)
  if (br.kind !== 'bridge') throw nlError(what, EOPNOTSUPP)
  if (l.loopback) throw nlError(what, EINVAL)
  if (l.kind === 'bridge') throw nlError(what, ELOOP, 'Can not enslave a bridge to a bridge')
  l.master = br
  l.port = { hairpin: false, learning: true, isolated: false }
  s.adjustBridge(br)
}

function peerLabel (s: Space, l: Link): string | undefined {
  const rec = s.links.get(l.index)
  const peer = rec?.peer
  if (peer === undefined) return undefined
  return peer.space === s ? peer.name : `${peer.name}@${peer.space.label}`
}

// ---------------------------------------------------------------------------------------------------------------------
// Text dumps

const protoNames: Record<number, string> = { 2: 'kernel', 3: 'boot', 4: 'static' }
const scopeNames: Record<number, string> = { 253: 'link', 254: 'host' }
const typeNames: Record<number, string> = { 2: 'local', 3: 'broadcast', 4: 'anycast', 5: 'multicast', 6: 'blackhole', 7: 'unreachable', 8: 'prohibit' }
const tableNames: Record<number, string> = { 253: 'default', 254: 'main', 255: 'local' }

/**
 * The state behind any `Netlink`, fake or real, as sorted text: one line per link, address, route, neighbour and
 * FDB entry, with names instead of ifindexes. Left out, because the kernel makes them on its own and the fake does
 * not model them: the local routing table (derived from the addresses), IPv6 link-local addresses and the
 * fe80::/64 and ff00::/8 routes, NOARP neighbours, multicast FDB entries and the bridges' own FDB tables.
 */
export function dumpNetlink (nl: Netlink, opts: DumpOptions & { peerName?: (l: Link) => string | undefined } = {}): string {
  const links = nl.links()
  const byIndex = new Map(links.map((l) => [l.index, l.name]))
  const name = (i: number | undefined): string => (i === undefined ? '-' : byIndex.get(i) ?? `#${i}`)
  const out: string[] = []
  const sorted = (lines: string[]): void => { out.push(...lines.sort()) }

  sorted(links.map((l) => {
    let s = `link ${l.name} ${l.kind ?? '-'} mtu=${l.mtu} ${l.flags.up ? 'up' : 'down'}`
    if (l.flags.promisc) s += ' promisc'
    if (opts.macs === true && !l.flags.loopback) s += ` mac=${l.mac}`
    if (l.master !== undefined) s += ` master=${name(l.master)}`
    if (l.bridgePort !== undefined) {
      if (l.bridgePort.hairpin) s += ' hairpin'
      if (!l.bridgePort.learning) s += ' learning=off'
      if (l.bridgePort.isolated) s += ' isolated'
    }
    if (l.kind === 'veth') {
      const peer = opts.peerName?.(l)
      if (peer !== undefined) s += ` peer=${peer}`
      else if (l.linkNetnsid !== undefined) s += ` link-netnsid=${l.linkNetnsid}`
      else if (l.parentIndex !== undefined) s += ` peer=${name(l.parentIndex)}`
    }
    if (l.vxlan !== undefined) {
      s += ` vni=${l.vxlan.vni} port=${l.vxlan.port} learning=${l.vxlan.learning ? 'on' : 'off'}`
      if (l.vxlan.local !== undefined) s += ` local=${l.vxlan.local}`
      if (l.vxlan.dev !== undefined) s += ` dev=${name(l.vxlan.dev)}`
    }
    if (l.bridge?.vlanFiltering === true) s += ' vlan_filtering'
    return s
  }))

  sorted(nl.addresses().filter((a) => !(a.family === 6 && a.scope === SCOPE_LINK)).map((a) => {
    let s = `addr ${name(a.index)} ${a.address}/${a.prefixLen}`
    if (a.scope !== 0) s += ` scope=${scopeNames[a.scope] ?? a.scope}`
    if ((a.flags & IFA_F_SECONDARY) !== 0) s += ' secondary'
    if ((a.flags & IFA_F_NOPREFIXROUTE) !== 0) s += ' noprefixroute'
    return s
  }))

  sorted(nl.routes().filter((r) => r.table !== RT_TABLE_LOCAL && !(r.family === 6 && r.protocol === RTPROT_KERNEL && r.dst === 'fe80::/64')).map((r) => {
    let s = 'route'
    if (r.table !== undefined && r.table !== RT_TABLE_MAIN) s += ` table=${tableNames[r.table] ?? r.table}`
    if (r.type !== undefined && r.type !== RTN_UNICAST) s += ` ${typeNames[r.type] ?? `type=${r.type}`}`
    s += ` ${r.dst}`
    if (r.gw !== undefined) s += ` via ${r.gw}`
    if (r.dev !== undefined && r.multipath === undefined) s += ` dev ${name(r.dev)}`
    if (r.onlink === true) s += ' onlink'
    if (r.src !== undefined) s += ` src ${r.src}`
    if (r.priority !== undefined && r.priority !== 0) s += ` metric ${r.priority}`
    if (r.protocol !== undefined) s += ` proto=${protoNames[r.protocol] ?? r.protocol}`
    if (r.scope !== undefined && r.scope !== 0) s += ` scope=${scopeNames[r.scope] ?? r.scope}`
    if (r.mtu !== undefined) s += ` mtu=${r.mtu}`
    if (r.advmss !== undefined) s += ` advmss=${r.advmss}`
    for (const h of r.multipath ?? []) {
      s += ` nexthop${h.gw !== undefined ? ` via ${h.gw}` : ''} dev ${name(h.dev)} weight ${h.weight ?? 1}${h.onlink === true ? ' onlink' : ''}`
    }
    return s
  }))

  sorted(nl.neighbours().filter((n) => (n.state & NUD_NOARP) === 0 && n.mac !== undefined).map((n) =>
    `neigh ${name(n.index)} ${n.ip ?? '-'} lladdr ${n.mac ?? '-'} ${nudNames(n.state)}`))

  sorted(nl.fdb().filter((f) => !isMulticastMac(f.mac) && !(f.master !== undefined && (f.flags & NTF_SELF) === 0)).map((f) =>
    `fdb ${name(f.index)} ${f.mac}${f.dst !== undefined ? ` dst ${f.dst}` : ''}${(f.flags & NTF_SELF) !== 0 ? ' self' : ''} ${nudNames(f.state)}`))

  return out.join('\n')
}

function nudNames (state: number): string {
  const names: Array<[number, string]> = [[0x80, 'permanent'], [0x40, 'noarp'], [0x20, 'failed'], [0x10, 'probe'], [0x08, 'delay'], [0x04, 'stale'], [0x02, 'reachable'], [0x01, 'incomplete']]
  const on = names.filter(([bit]) => (state & bit) !== 0).map(([, n]) => n)
  return on.length > 0 ? on.join(',') : 'none'
}

function isMulticastMac (mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 1) === 1
}

// ---------------------------------------------------------------------------------------------------------------------
// Factories

/** A fake rtnetlink for one namespace of its own, holding only `lo` (down), like a fresh network namespace. */
export function fakeNetlink (opts: FakeKernelOptions = {}): FakeNetlink {
  const world = new World(opts)
  const space = world.newSpace('netns')
  space.pinned = true
  return new FakeRtnl(space) satisfies Netlink
}

const HOST_PATH = '/proc/self/ns/net'
const THREAD_PATH = '/proc/thread-self/ns/net'

/**
 * Fake namespaces. The host namespace (`hostPath`) has `lo` up; `create` makes a namespace with `lo` down, as
 * `ip netns add` does. A namespace lives while it is named or something holds it (an open `netlink()` handle, an
 * fd from `openFd`, a `run` inside it), and when it dies its links go, with their veth peers in other namespaces
 * (the kernel does this a moment later, from a workqueue). Stricter than the real one in one way: `run` refuses a
 * `fn` that returns a promise, which on the real kernel would quietly run code in the wrong namespace.
 */
export function fakeNetNS (opts: FakeKernelOptions & { runDir?: string } = {}): FakeNetNS {
  const world = new World(opts)
  const runDir = (opts.runDir ?? '/run/netns').replace(/\/+$/, '')
  const host = world.newSpace('host')
  host.pinned = true
  new FakeRtnl(host).setLink(1, { up: true })
  const named = new Map<string, Space>()
  const stack: Space[] = []
  const current = (): Space => stack[stack.length - 1] ?? host

  const pathOf = (name: string): string => {
    if (!/^[A-Za-z0-9_.-]{1,200}$/.test(name) || name === '.' || name === '..') throw new KernelError('KERNEL_ERR_NETNS', `invalid namespace name "${name}"`)
    return `${runDir}/${name}`
  }
  const resolve = (p: string): Space | undefined => {
    if (p === HOST_PATH) return host
    if (p === THREAD_PATH) return current()
    if (p.startsWith(runDir + '/')) return named.get(p.slice(runDir.length + 1))
    return undefined
  }
  const mustResolve = (p: string): Space => {
    const s = resolve(p)
    if (s === undefined) throw new KernelError('KERNEL_ERR_NOT_FOUND', `failed to open netns "${p}"`, ENOENT)
    return s
  }
  const sysctlLink = (s: Space, key: string): { map: Map<string, string>, leaf: string } | undefined => {
    const m = /^net\/ipv([46])\/conf\/([^/]+)\/([a-z_0-9]+)$/.exec(key)
    if (m === null) return undefined
    const [, fam, dev, leaf] = m as unknown as [string, '4' | '6', string, string]
    if (dev === 'all' || dev === 'default') return undefined
    const l = s.byName(dev)
    const known = fam === '4' ? ipv4Conf : ipv6Conf
    if (l === undefined || !(leaf in known)) return undefined
    return { map: l.sysctl, leaf: `${fam}/${leaf}` }
  }

  const sysctl: Sysctl = {
    get (key) {
      const s = current()
      const dev = sysctlLink(s, key)
      if (dev !== undefined) return dev.map.get(dev.leaf) ?? '0'
      const v = s.sysctl.get(key)
      if (v === undefined) throw sysctlError('read', key, undefined, 'ENOENT')
      return v
    },
    set (key, value) {
      const s = current()
      const v = value.trim()
      const dev = sysctlLink(s, key)
      if (dev === undefined && !s.sysctl.has(key)) throw sysctlError('write', key, value, 'ENOENT')
      const ok = key === 'net/ipv4/ip_local_port_range' ? /^\d+\s+\d+$/.test(v) : /^-?\d+$/.test(v)
      if (!ok) throw sysctlError('write', key, value, 'EINVAL')
      if (dev !== undefined) { dev.map.set(dev.leaf, v); return }
      s.sysctl.set(key, key === 'net/ipv4/ip_local_port_range' ? v.split(/\s+/).join('\t') : v)
      // The forwarding switches fan out to every device (devinet_sysctl_forward, addrconf_fixup_forwarding).
      const fam = key === 'net/ipv4/ip_forward' || key === 'net/ipv4/conf/all/forwarding' ? '4' : key === 'net/ipv6/conf/all/forwarding' ? '6' : undefined
      if (fam !== undefined) {
        if (fam === '4') { s.sysctl.set('net/ipv4/ip_forward', v); s.sysctl.set('net/ipv4/conf/all/forwarding', v) }
        s.sysctl.set(`net/ipv${fam}/conf/default/forwarding`, v)
        for (const l of s.links.values()) l.sysctl.set(`${fam}/forwarding`, v)
      }
    }
  }

  const ns = {
    hostPath: HOST_PATH,
    sysctl,
    pathOf,
    create (name: string): string {
      const p = pathOf(name)
      if (named.has(name)) throw new KernelError('KERNEL_ERR_NETNS', `cannot create namespace file ${p}`, EEXIST)
      const s = world.newSpace(name)
      s.pinned = true
      named.set(name, s)
      return p
    },
    remove (name: string): void {
      pathOf(name)
      const s = named.get(name)
      if (s === undefined) return
      named.delete(name)
      s.pinned = false
      s.maybeDestroy()
    },
    list (): string[] { return [...named.keys()].sort() },
    exists (p: string): boolean { return resolve(p) !== undefined },
    isCurrent (p: string): boolean { return resolve(p) === current() },
    run<T> (p: string, fn: () => T): T {
      const s = mustResolve(p)
      s.refs++
      stack.push(s)
      let out: T
      try {
        out = fn()
      } finally {
        stack.pop()
        s.unref()
      }
      if (typeof (out as { then?: unknown } | null)?.then === 'function') {
        (out as unknown as Promise<unknown>).then(undefined, () => {})
        throw new KernelError('KERNEL_ERR_NETNS', `run(${p}): fn returned a promise; it must be synchronous (an await would continue outside the namespace)`)
      }
      return out
    },
    netlink (p?: string): Netlink {
      const s = p === undefined ? current() : mustResolve(p)
      s.refs++
      return new FakeRtnl(s, () => s.unref())
    },
    openFd (p: string): number { return world.openFd(mustResolve(p)) },
    closeFd (fd: number): void { world.closeFd(fd) },
    dump (dumpOpts?: DumpOptions): string {
      const spaces: Array<[string, Space]> = [['host', host], ...[...named.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]
      return spaces.map(([label, s]) => {
        const body = new FakeRtnl(s).dump(dumpOpts)
        return `netns ${label}\n${body.split('\n').filter((x) => x !== '').map((x) => `  ${x}`).join('\n')}`
      }).join('\n')
    }
  } satisfies FakeNetNS
  return ns
}
