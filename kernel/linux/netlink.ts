/**
 * rtnetlink over a synchronous socket. Message and attribute codecs come from
 * the `netlink` package (its pure-JS structs); the socket is ours because the
 * package's native socket is async-only and cannot load under Bun, which the
 * CNI plugins run on. A synchronous socket also keeps namespace switches safe:
 * see kernel/types.ts.
 */
import * as nl from 'netlink/dist/structs.js'
import type * as rt from 'netlink/dist/rt/structs.js'
import type * as ifla from 'netlink/dist/rt/ifla.js'
import { createRequire } from 'node:module'
import { AF_NETLINK, SOCK_CLOEXEC, SOCK_RAW, SOL_NETLINK, NETLINK_EXT_ACK, libc } from '../libc.js'
import { KernelError, isNotFound } from '../errors.js'
import { familyOf, fromBytes, macFromBytes, macToBytes, parseCidr, toBytes } from '../ip.js'
import type {
  Address, BridgePortChange, BridgeSpec, DummySpec, Family, FdbEntry, Link, LinkChange, Neighbour, Netlink,
  Route, VethSpec, VxlanSpec
} from '../types.js'

// The rtnetlink codecs are the largest module of the package (~12 MB resident once loaded): loaded on first use,
// so a daemon that never touches rtnetlink (a route reflector without FIB) does not carry them.
const requireCjs = createRequire(import.meta.url)
let rtMod: typeof rt | undefined
let iflaMod: typeof ifla | undefined
const RT = (): typeof rt => (rtMod ??= requireCjs('netlink/dist/rt/structs.js') as typeof rt)
const IFLA = (): typeof ifla => (iflaMod ??= requireCjs('netlink/dist/rt/ifla.js') as typeof ifla)

const NLM_F_REQUEST = 1
const NLM_F_MULTI = 2
const NLM_F_ACK = 4
const NLM_F_DUMP = 0x300
const NLM_F_REPLACE = 0x100
const NLM_F_EXCL = 0x200
const NLM_F_CREATE = 0x400
const NLMSG_ERROR = 2
const NLMSG_DONE = 3

const AF_INET = 2
const AF_INET6 = 10
const AF_BRIDGE = 7

const RTM = { NEWLINK: 16, DELLINK: 17, GETLINK: 18, SETLINK: 19, NEWADDR: 20, DELADDR: 21, GETADDR: 22, NEWROUTE: 24, DELROUTE: 25, GETROUTE: 26, NEWNEIGH: 28, DELNEIGH: 29, GETNEIGH: 30 } as const

const IFLA_INFO_KIND = 1
const IFLA_INFO_DATA = 2
const IFLA_INFO_SLAVE_DATA = 5
const VETH_INFO_PEER = 1
const IFLA_BR_VLAN_FILTERING = 7
const IFLA_PROTINFO = 12
const IFLA_BRPORT_MODE = 4
const IFLA_BRPORT_LEARNING = 8
const IFLA_BRPORT_ISOLATED = 33
const IFA_F_NOPREFIXROUTE = 0x200
const IFLA_AF_SPEC = 26
const IFLA_BRIDGE_VLAN_INFO = 2
const BRIDGE_VLAN_INFO_PVID = 2
const BRIDGE_VLAN_INFO_UNTAGGED = 4
const RTNH_F_ONLINK = 4
const NUD_PERMANENT = 0x80
const NTF_SELF = 0x02

const familyNum = (f: Family): number => (f === 4 ? AF_INET : AF_INET6)
const familyOfNum = (n: number): Family => (n === AF_INET6 ? 6 : 4)

/** Encode one attribute (header, payload, padding). */
function attr (type: number, payload: Uint8Array | Uint8Array[], isNested = false): Buffer {
  const b = Buffer.concat(nl.formatAttribute({ type, data: payload, nested: isNested }))
  const pad = (4 - (b.length % 4)) % 4
  return pad === 0 ? b : Buffer.concat([b, Buffer.alloc(pad)])
}
function nested (type: number, children: Uint8Array[]): Buffer {
  return attr(type, children, true)
}
const u8 = (v: number): Buffer => Buffer.from([v])
const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b }
const cstr = (s: string): Buffer => Buffer.from(s + '\0')

function streamBytes (fn: (s: nl.AttrStream) => void): Buffer {
  const s = new nl.AttrStream()
  fn(s)
  return Buffer.concat(s.bufs)
}

function attrsMap (buf: Buffer): Map<number, Buffer> {
  const m = new Map<number, Buffer>()
  nl.parseAttributes(buf, (a) => { m.set(a.type & 0x3fff, a.data) })
  return m
}

/**
 * A blocking netlink socket bound in the namespace of the thread that created
 * it: NETLINK_ROUTE (0) by default, NETLINK_GENERIC (16) for `linux/genetlink.ts`.
 */
export class RtSocket {
  #fd: number
  #seq = Math.floor(Math.random() * 0x7fff0000)
  #buf = Buffer.alloc(1 << 18)

  constructor (protocol = 0) {
    const c = libc()
    const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol)
    if (fd < 0) throw new KernelError('KERNEL_ERR_SYSCALL', 'socket(AF_NETLINK)', c.errno())
    const sa = Buffer.alloc(12)
    sa.writeUInt16LE(AF_NETLINK, 0)
    if (c.bind(fd, sa) < 0) {
      const e = c.errno()
      c.close(fd)
      throw new KernelError('KERNEL_ERR_SYSCALL', 'bind(AF_NETLINK)', e)
    }
    c.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, u32(1))
    this.#fd = fd
  }

  /**
   * Sends one request and returns the payloads of the reply messages. Dumps end
   * at NLMSG_DONE; other requests carry NLM_F_ACK and end at the ACK.
   */
  request (type: number, flags: number, payload: Uint8Array[], what: string): Array<{ type: number, data: Buffer }> {
    if (this.#fd < 0) throw new KernelError('KERNEL_ERR_NETLINK', 'netlink socket closed')
    const c = libc()
    const seq = ++this.#seq
    const dump = (flags & NLM_F_DUMP) === NLM_F_DUMP
    const msg = Buffer.concat(nl.formatMessage({ type, flags: NLM_F_REQUEST | (dump ? 0 : NLM_F_ACK) | flags, seq, port: 0, data: payload }))
    if (c.send(this.#fd, msg, msg.length, 0) < 0) throw new KernelError('KERNEL_ERR_NETLINK', `${what}: send`, c.errno())
    const out: Array<{ type: number, data: Buffer }> = []
    for (;;) {
      const n = c.recv(this.#fd, this.#buf, this.#buf.length, 0)
      if (n < 0) throw new KernelError('KERNEL_ERR_NETLINK', `${what}: recv`, c.errno())
      for (const m of nl.parseMessages(Buffer.from(this.#buf.subarray(0, n)))) {
        if (m.seq !== seq) continue
        if (m.type === NLMSG_ERROR) {
          const errno = -m.data.readInt32LE(0)
          if (errno === 0) return out
          throw new KernelError('KERNEL_ERR_NETLINK', what + extAckMessage(m.data, m.flags), errno)
        }
        if (m.type === NLMSG_DONE) return out
        out.push({ type: m.type, data: m.data })
        if (!dump && (m.flags & NLM_F_MULTI) === 0 && (flags & NLM_F_ACK) === 0) { /* wait for ACK */ }
      }
    }
  }

  close (): void {
    if (this.#fd >= 0) libc().close(this.#fd)
    this.#fd = -1
  }
}

function extAckMessage (data: Buffer, flags: number): string {
  // struct nlmsgerr: int error; struct nlmsghdr msg (+ payload unless NLM_F_CAPPED); then TLVs (NLMSGERR_ATTR_MSG = 1).
  if ((flags & 0x200) === 0) return ''
  const capped = (flags & 0x100) !== 0
  const origLen = data.readUInt32LE(4)
  let off = 4 + (capped ? 16 : origLen)
  off = (off + 3) & ~3
  if (off >= data.length) return ''
  try {
    const m = attrsMap(data.subarray(off))
    const text = m.get(1)
    return text !== undefined ? ` (${text.toString('utf8').replace(/\0.*$/s, '')})` : ''
  } catch { return '' }
}

function parseLink (data: Buffer): Link {
  const msg = RT().parseMessage(RTM.NEWLINK as never, data) as rt.LinkMessage
  const hdr = msg.data
  const a = msg.attrs
  const f = hdr.flags ?? {}
  let kind: string | undefined
  let vxlan: Link['vxlan']
  let bridge: Link['bridge']
  let bridgePort: Link['bridgePort']
  if (a.linkinfo !== undefined) {
    const info = attrsMap(a.linkinfo)
    const k = info.get(IFLA_INFO_KIND)
    kind = k !== undefined ? k.toString('utf8').replace(/\0.*$/s, '') : undefined
    const d = info.get(IFLA_INFO_DATA)
    if (kind === 'vxlan' && d !== undefined) {
      const v = IFLA().parseVxlan(d)
      vxlan = {
        vni: v.id ?? 0,
        port: v.port !== undefined ? v.port.readUInt16BE(0) : 0,
        learning: (v.learning ?? 0) !== 0,
        local: v.local !== undefined ? fromBytes(v.local) : (v.local6 !== undefined ? fromBytes(v.local6) : undefined),
        dev: v.link
      }
    }
    if (kind === 'bridge' && d !== undefined) {
      const b = attrsMap(d)
      bridge = { vlanFiltering: (b.get(IFLA_BR_VLAN_FILTERING)?.[0] ?? 0) !== 0 }
    }
    const sd = info.get(IFLA_INFO_SLAVE_DATA)
    if (sd !== undefined) {
      const p = attrsMap(sd)
      bridgePort = {
        hairpin: (p.get(IFLA_BRPORT_MODE)?.[0] ?? 0) !== 0,
        learning: (p.get(IFLA_BRPORT_LEARNING)?.[0] ?? 0) !== 0,
        isolated: (p.get(IFLA_BRPORT_ISOLATED)?.[0] ?? 0) !== 0
      }
    }
  }
  const operstates = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up']
  return {
    index: hdr.index ?? 0,
    name: a.ifname ?? '',
    kind,
    mtu: a.mtu ?? 0,
    mac: a.address !== undefined ? macFromBytes(a.address) : '00:00:00:00:00:00',
    flags: { up: f.up === true, promisc: f.promisc === true, loopback: f.loopback === true, running: f.running === true, noarp: f.noarp === true },
    operstate: operstates[a.operstate ?? 0] ?? 'unknown',
    master: a.master,
    parentIndex: a.link !== undefined ? a.link.readUInt32LE(0) : undefined,
    linkNetnsid: a.linkNetnsid,
    bridgePort,
    vxlan,
    bridge,
    promiscuity: a.promiscuity ?? 0
  }
}

function linkMessage (hdr: rt.Link, attrs: ifla.LinkAttrs): Uint8Array[] {
  const s = new nl.AttrStream()
  RT().formatLinkMessage({ kind: 'link', data: hdr, attrs }, s)
  return s.bufs
}

function baseLinkAttrs (spec: { name: string, mtu?: number, mac?: string }): ifla.LinkAttrs {
  const a: ifla.LinkAttrs = { ifname: spec.name }
  if (spec.mtu !== undefined && spec.mtu > 0) a.mtu = spec.mtu
  if (spec.mac !== undefined) a.address = macToBytes(spec.mac)
  return a
}

function linkinfo (kind: string, data?: Uint8Array[]): Buffer {
  const parts = [attr(IFLA_INFO_KIND, cstr(kind))]
  if (data !== undefined) parts.push(nested(IFLA_INFO_DATA, data))
  return Buffer.concat(parts)
}

function routeMessage (r: Route, forDelete: boolean): Uint8Array[] {
  const dst = parseCidr(r.dst, true)
  if (dst.family !== r.family) throw new KernelError('KERNEL_ERR_NETLINK', `route ${r.dst}: family mismatch`)
  const table = r.table ?? 254
  const hasGw = r.gw !== undefined || (r.multipath !== undefined && r.multipath.some((h) => h.gw !== undefined))
  const hdr: rt.Route = {
    family: familyNum(r.family),
    dstLen: dst.prefixLen,
    table: table < 256 ? table : 252,
    protocol: (r.protocol ?? (forDelete ? 0 : 3)) as never,
    // RT_SCOPE_NOWHERE (255) on delete matches any scope, as `ip route del` does.
    scope: (r.scope ?? (forDelete ? 255 : hasGw ? 0 : 253)) as never,
    type: (r.type ?? 1) as never,
    flags: { __unknown: r.onlink === true ? RTNH_F_ONLINK : 0 }
  }
  const attrs: rt.RouteAttrs = { dst: toBytes(dst.address), table }
  if (r.multipath !== undefined && r.multipath.length > 0) {
    const hops = r.multipath.map((h) => {
      const gw = h.gw !== undefined ? attr(5 /* RTA_GATEWAY */, toBytes(h.gw)) : Buffer.alloc(0)
      const head = Buffer.alloc(8)
      head.writeUInt16LE(8 + gw.length, 0)
      head.writeUInt8(h.onlink === true ? RTNH_F_ONLINK : 0, 2)
      head.writeUInt8(Math.max(0, (h.weight ?? 1) - 1), 3)
      head.writeInt32LE(h.dev, 4)
      return Buffer.concat([head, gw])
    })
    attrs.multipath = Buffer.concat(hops)
  } else {
    if (r.gw !== undefined) attrs.gateway = toBytes(r.gw)
    if (r.dev !== undefined) attrs.oif = r.dev
  }
  if (r.src !== undefined) attrs.prefsrc = toBytes(r.src)
  if (r.priority !== undefined) attrs.priority = r.priority
  if (r.mtu !== undefined || r.advmss !== undefined) {
    const m: rt.RouteMetrics = {}
    if (r.mtu !== undefined) m.mtu = u32(r.mtu)
    if (r.advmss !== undefined) m.advmss = u32(r.advmss)
    attrs.metrics = m
  }
  const s = new nl.AttrStream()
  RT().formatRouteMessage({ kind: 'route', data: hdr, attrs }, s)
  return s.bufs
}

function parseRoute (data: Buffer): Route | undefined {
  const msg = RT().parseMessage(RTM.NEWROUTE as never, data) as rt.RouteMessage
  const h = msg.data
  const a = msg.attrs
  const family = familyOfNum(h.family ?? AF_INET)
  if (h.family !== AF_INET && h.family !== AF_INET6) return undefined
  if (h.flags?.cloned === true) return undefined
  const dstAddr = a.dst !== undefined ? fromBytes(a.dst) : (family === 4 ? '0.0.0.0' : '::')
  const r: Route = {
    family,
    dst: `${dstAddr}/${h.dstLen ?? 0}`,
    table: a.table ?? h.table ?? 254,
    protocol: Number(RT().RouteProtocol[h.protocol as never] ?? h.protocol ?? 0),
    scope: Number(RT().RouteScope[h.scope as never] ?? h.scope ?? 0),
    type: Number(RT().RouteType[h.type as never] ?? h.type ?? 1)
  }
  if (typeof h.protocol === 'number') r.protocol = h.protocol
  if (typeof h.scope === 'number') r.scope = h.scope
  if (typeof h.type === 'number') r.type = h.type
  if (a.gateway !== undefined) r.gw = fromBytes(a.gateway)
  if (a.oif !== undefined) r.dev = a.oif
  if (a.prefsrc !== undefined) r.src = fromBytes(a.prefsrc)
  if (a.priority !== undefined) r.priority = a.priority
  if (((h.flags?.__unknown ?? 0) & RTNH_F_ONLINK) !== 0) r.onlink = true
  if (a.metrics !== undefined) {
    if (a.metrics.mtu !== undefined) r.mtu = a.metrics.mtu.readUInt32LE(0)
    if (a.metrics.advmss !== undefined) r.advmss = a.metrics.advmss.readUInt32LE(0)
  }
  if (a.multipath !== undefined) {
    const hops: NonNullable<Route['multipath']> = []
    let off = 0
    const mp = a.multipath
    while (off + 8 <= mp.length) {
      const len = mp.readUInt16LE(off)
      if (len < 8) break
      const hop: NonNullable<Route['multipath']>[number] = { dev: mp.readInt32LE(off + 4), weight: mp.readUInt8(off + 3) + 1 }
      if ((mp.readUInt8(off + 2) & RTNH_F_ONLINK) !== 0) hop.onlink = true
      const gw = attrsMap(mp.subarray(off + 8, off + len)).get(5)
      if (gw !== undefined) hop.gw = fromBytes(gw)
      hops.push(hop)
      off += (len + 3) & ~3
    }
    r.multipath = hops
  }
  return r
}

function neighMessage (family: number, index: number, ip: Buffer | undefined, mac: Buffer | undefined, state: number, flags: number): Uint8Array[] {
  const attrs: rt.NeighborAttrs = {}
  if (ip !== undefined) attrs.dst = ip
  if (mac !== undefined) attrs.lladdr = mac
  const s = new nl.AttrStream()
  RT().formatNeighborMessage({ kind: 'neighbor', data: { family, ifindex: index, state: { __unknown: state }, flags: { __unknown: flags }, type: 0 }, attrs }, s)
  return s.bufs
}

function parseNeigh (data: Buffer): Neighbour {
  const msg = RT().parseMessage(RTM.NEWNEIGH as never, data) as rt.NeighborMessage
  const h = msg.data
  const a = msg.attrs
  return {
    index: h.ifindex ?? 0,
    family: h.family === AF_BRIDGE ? 7 : familyOfNum(h.family ?? AF_INET),
    ip: a.dst !== undefined ? fromBytes(a.dst) : undefined,
    mac: a.lladdr !== undefined && a.lladdr.length === 6 ? macFromBytes(a.lladdr) : undefined,
    state: RT().formatNeighborState(h.state ?? {}),
    flags: RT().formatNeighborFlags(h.flags ?? {}),
    master: a.master
  }
}

/** The real rtnetlink, bound to whatever namespace its socket was created in. */
export class LinuxNetlink implements Netlink {
  #sock: RtSocket
  constructor (sock: RtSocket) { this.#sock = sock }

  #req (type: number, flags: number, payload: Uint8Array[], what: string): Array<{ type: number, data: Buffer }> {
    return this.#sock.request(type, flags, payload, what)
  }

  links (): Link[] {
    return this.#req(RTM.GETLINK, NLM_F_DUMP, linkMessage({}, {}), 'list links').filter((m) => m.type === RTM.NEWLINK).map((m) => parseLink(m.data))
  }

  linkByName (name: string): Link | undefined {
    try {
      const r = this.#req(RTM.GETLINK, 0, linkMessage({}, { ifname: name }), `get link ${name}`)
      return r[0] !== undefined ? parseLink(r[0].data) : undefined
    } catch (e) {
      if (isNotFound(e)) return undefined
      throw e
    }
  }

  linkByIndex (index: number): Link | undefined {
    try {
      const r = this.#req(RTM.GETLINK, 0, linkMessage({ index }, {}), `get link #${index}`)
      return r[0] !== undefined ? parseLink(r[0].data) : undefined
    } catch (e) {
      if (isNotFound(e)) return undefined
      throw e
    }
  }

  addVeth (spec: VethSpec): void {
    const peerAttrs = baseLinkAttrs({ name: spec.peerName, ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}), ...(spec.peerMac !== undefined ? { mac: spec.peerMac } : {}) })
    if (spec.peerNetnsFd !== undefined) peerAttrs.netNsFd = spec.peerNetnsFd
    if (spec.txqlen !== undefined) peerAttrs.txqlen = spec.txqlen
    const peer = Buffer.concat([RT().formatLink({}), streamBytes((s) => s.emit(IFLA().formatLinkAttrs(peerAttrs)))])
    const a = baseLinkAttrs(spec)
    if (spec.txqlen !== undefined) a.txqlen = spec.txqlen
    a.linkinfo = linkinfo('veth', [attr(VETH_INFO_PEER, peer)])
    this.#req(RTM.NEWLINK, NLM_F_CREATE | NLM_F_EXCL, linkMessage({}, a), `add veth ${spec.name}`)
  }

  addBridge (spec: BridgeSpec): void {
    const a = baseLinkAttrs(spec)
    a.linkinfo = linkinfo('bridge', spec.vlanFiltering === true ? [attr(IFLA_BR_VLAN_FILTERING, u8(1))] : undefined)
    this.#req(RTM.NEWLINK, NLM_F_CREATE | NLM_F_EXCL, linkMessage({}, a), `add bridge ${spec.name}`)
  }

  addDummy (spec: DummySpec): void {
    const a = baseLinkAttrs(spec)
    a.linkinfo = linkinfo('dummy')
    this.#req(RTM.NEWLINK, NLM_F_CREATE | NLM_F_EXCL, linkMessage({}, a), `add dummy ${spec.name}`)
  }

  addVxlan (spec: VxlanSpec): void {
    const v: ifla.Vxlan = { id: spec.vni, learning: spec.learning === false ? 0 : 1 }
    const port = Buffer.alloc(2)
    port.writeUInt16BE(spec.port ?? 8472)
    v.port = port
    if (spec.local !== undefined) {
      if (familyOf(spec.local) === 6) v.local6 = toBytes(spec.local)
      else v.local = toBytes(spec.local)
    }
    if (spec.dev !== undefined) v.link = spec.dev
    const a = baseLinkAttrs(spec)
    a.linkinfo = linkinfo('vxlan', [streamBytes((s) => s.emit(IFLA().formatVxlan(v)))])
    this.#req(RTM.NEWLINK, NLM_F_CREATE | NLM_F_EXCL, linkMessage({}, a), `add vxlan ${spec.name}`)
  }

  deleteLink (index: number): void {
    this.#req(RTM.DELLINK, 0, linkMessage({ index }, {}), `delete link #${index}`)
  }

  setLink (index: number, change: LinkChange): void {
    const hdr: rt.Link = { index }
    if (change.up !== undefined || change.promisc !== undefined) {
      hdr.flags = {}
      hdr.change = {}
      if (change.up !== undefined) { hdr.change.up = true; if (change.up) hdr.flags.up = true }
      if (change.promisc !== undefined) { hdr.change.promisc = true; if (change.promisc) hdr.flags.promisc = true }
    }
    const a: ifla.LinkAttrs = {}
    if (change.mtu !== undefined) a.mtu = change.mtu
    if (change.mac !== undefined) a.address = macToBytes(change.mac)
    if (change.master !== undefined) a.master = change.master
    if (change.name !== undefined) a.ifname = change.name
    if (change.netnsFd !== undefined) a.netNsFd = change.netnsFd
    this.#req(RTM.SETLINK, 0, linkMessage(hdr, a), `set link #${index}`)
  }

  setBridgePort (index: number, change: BridgePortChange): void {
    const kids: Buffer[] = []
    if (change.hairpin !== undefined) kids.push(attr(IFLA_BRPORT_MODE, u8(change.hairpin ? 1 : 0)))
    if (change.learning !== undefined) kids.push(attr(IFLA_BRPORT_LEARNING, u8(change.learning ? 1 : 0)))
    if (change.isolated !== undefined) kids.push(attr(IFLA_BRPORT_ISOLATED, u8(change.isolated ? 1 : 0)))
    if (kids.length === 0) return
    const msg = Buffer.concat([RT().formatLink({ family: AF_BRIDGE, index }), nested(IFLA_PROTINFO, kids)])
    this.#req(RTM.SETLINK, 0, [msg], `set bridge port #${index}`)
  }

  setBridgeVlan (index: number, v: { vid: number, pvid?: boolean, untagged?: boolean, remove?: boolean }): void {
    // IFLA_AF_SPEC { IFLA_BRIDGE_VLAN_INFO: struct bridge_vlan_info { u16 flags; u16 vid } } on an AF_BRIDGE ifinfomsg,
    // RTM_SETLINK to add, RTM_DELLINK to remove (as `bridge vlan add|del dev <port>` does).
    const info = Buffer.alloc(4)
    info.writeUInt16LE((v.pvid === true ? BRIDGE_VLAN_INFO_PVID : 0) | (v.untagged === true ? BRIDGE_VLAN_INFO_UNTAGGED : 0), 0)
    info.writeUInt16LE(v.vid, 2)
    const msg = Buffer.concat([RT().formatLink({ family: AF_BRIDGE, index }), nested(IFLA_AF_SPEC, [attr(IFLA_BRIDGE_VLAN_INFO, info)])])
    this.#req(v.remove === true ? RTM.DELLINK : RTM.SETLINK, 0, [msg], `${v.remove === true ? 'remove' : 'add'} vlan ${v.vid} on #${index}`)
  }

  addresses (family?: Family): Address[] {
    const s = new nl.AttrStream()
    RT().formatAddressMessage({ kind: 'address', data: { family: family === undefined ? 0 : familyNum(family) }, attrs: {} }, s)
    return this.#req(RTM.GETADDR, NLM_F_DUMP, s.bufs, 'list addresses').filter((m) => m.type === RTM.NEWADDR).map((m) => {
      const msg = RT().parseMessage(RTM.NEWADDR as never, m.data) as rt.AddressMessage
      const raw = msg.attrs.local ?? msg.attrs.address ?? Buffer.alloc(4)
      return {
        index: msg.data.index ?? 0,
        family: familyOfNum(msg.data.family ?? AF_INET),
        address: fromBytes(raw),
        prefixLen: msg.data.prefixlen ?? 0,
        scope: msg.data.scope ?? 0,
        flags: msg.attrs.flags !== undefined ? RT().formatAddressFlags(msg.attrs.flags) : RT().formatAddressFlags(msg.data.flags ?? {})
      }
    })
  }

  #addrMsg (index: number, cidr: string, opts?: { scope?: number, noPrefixRoute?: boolean }): Uint8Array[] {
    const c = parseCidr(cidr)
    const bytes = toBytes(c.address)
    const attrs: rt.AddressAttrs = { local: bytes, address: bytes }
    if (c.family === 4 && c.prefixLen < 31) {
      // Like Go's netlink.AddrAdd (and so the reference plugins): set the broadcast address.
      const b = Buffer.from(bytes)
      const host = 32 - c.prefixLen
      const v = (b.readUInt32BE(0) | (host === 32 ? 0xffffffff : ((1 << host) >>> 0) - 1)) >>> 0
      b.writeUInt32BE(v, 0)
      attrs.broadcast = b
    }
    if (opts?.noPrefixRoute === true) attrs.flags = { __unknown: IFA_F_NOPREFIXROUTE } as rt.AddressFlags
    const s = new nl.AttrStream()
    RT().formatAddressMessage({ kind: 'address', data: { family: familyNum(c.family), prefixlen: c.prefixLen, index, scope: opts?.scope ?? 0 }, attrs }, s)
    return s.bufs
  }

  addAddress (index: number, cidr: string, opts?: { scope?: number, noPrefixRoute?: boolean }): void {
    this.#req(RTM.NEWADDR, NLM_F_CREATE | NLM_F_EXCL, this.#addrMsg(index, cidr, opts), `add address ${cidr} on #${index}`)
  }

  deleteAddress (index: number, cidr: string): void {
    this.#req(RTM.DELADDR, 0, this.#addrMsg(index, cidr), `delete address ${cidr} on #${index}`)
  }

  routes (filter?: { family?: Family, table?: number }): Route[] {
    const s = new nl.AttrStream()
    RT().formatRouteMessage({ kind: 'route', data: { family: filter?.family === undefined ? 0 : familyNum(filter.family) }, attrs: {} }, s)
    const out: Route[] = []
    for (const m of this.#req(RTM.GETROUTE, NLM_F_DUMP, s.bufs, 'list routes')) {
      if (m.type !== RTM.NEWROUTE) continue
      const r = parseRoute(m.data)
      if (r === undefined) continue
      if (filter?.table !== undefined && r.table !== filter.table) continue
      out.push(r)
    }
    return out
  }

  addRoute (route: Route, opts?: { replace?: boolean }): void {
    const flags = NLM_F_CREATE | (opts?.replace === true ? NLM_F_REPLACE : NLM_F_EXCL)
    this.#req(RTM.NEWROUTE, flags, routeMessage(route, false), `add route ${route.dst}${route.gw !== undefined ? ' via ' + route.gw : ''}`)
  }

  deleteRoute (route: Route): void {
    this.#req(RTM.DELROUTE, 0, routeMessage(route, true), `delete route ${route.dst}`)
  }

  neighbours (family?: Family): Neighbour[] {
    const fam = family === undefined ? 0 : familyNum(family)
    return this.#req(RTM.GETNEIGH, NLM_F_DUMP, neighMessage(fam, 0, undefined, undefined, 0, 0), 'list neighbours')
      .filter((m) => m.type === RTM.NEWNEIGH).map((m) => parseNeigh(m.data)).filter((n) => n.family !== 7)
  }

  setNeighbour (n: { index: number, ip: string, mac: string, state?: number }): void {
    const fam = familyOf(n.ip) === 6 ? AF_INET6 : AF_INET
    this.#req(RTM.NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, neighMessage(fam, n.index, toBytes(n.ip), macToBytes(n.mac), n.state ?? NUD_PERMANENT, 0), `set neighbour ${n.ip}`)
  }

  deleteNeighbour (n: { index: number, ip: string }): void {
    const fam = familyOf(n.ip) === 6 ? AF_INET6 : AF_INET
    this.#req(RTM.DELNEIGH, 0, neighMessage(fam, n.index, toBytes(n.ip), undefined, 0, 0), `delete neighbour ${n.ip}`)
  }

  fdb (index?: number): FdbEntry[] {
    return this.#req(RTM.GETNEIGH, NLM_F_DUMP, neighMessage(AF_BRIDGE, 0, undefined, undefined, 0, 0), 'list fdb')
      .filter((m) => m.type === RTM.NEWNEIGH).map((m) => parseNeigh(m.data))
      .filter((n) => n.family === 7 && n.mac !== undefined && (index === undefined || n.index === index))
      .map((n) => ({ index: n.index, mac: n.mac ?? '', dst: n.ip, state: n.state, flags: n.flags, master: n.master }))
  }

  setFdb (e: { index: number, mac: string, dst?: string }): void {
    this.#req(RTM.NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, neighMessage(AF_BRIDGE, e.index, e.dst !== undefined ? toBytes(e.dst) : undefined, macToBytes(e.mac), NUD_PERMANENT, NTF_SELF), `set fdb ${e.mac}`)
  }

  deleteFdb (e: { index: number, mac: string, dst?: string }): void {
    this.#req(RTM.DELNEIGH, 0, neighMessage(AF_BRIDGE, e.index, e.dst !== undefined ? toBytes(e.dst) : undefined, macToBytes(e.mac), 0, NTF_SELF), `delete fdb ${e.mac}`)
  }

  close (): void { this.#sock.close() }
}
