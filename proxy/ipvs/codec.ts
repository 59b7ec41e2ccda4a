/**
 * IPVS generic-netlink attributes (include/uapi/linux/ip_vs.h), pure:
 * `IPVS_CMD_ATTR_SERVICE` and `IPVS_CMD_ATTR_DEST` nests as moby/ipvs and
 * kube-proxy send them. Ports are big-endian (network order) u16; addresses
 * are 4 bytes for IPv4 on the way in and 16 on the way out (the kernel pads),
 * so decoding needs the address family.
 */
import { ip } from '../../kernel/index.js'

export const IPVS_GENL_NAME = 'IPVS'
export const IPVS_GENL_VERSION = 1

/** IPVS_CMD_* */
export const IpvsCmd = {
  NewService: 1, SetService: 2, DelService: 3, GetService: 4,
  NewDest: 5, SetDest: 6, DelDest: 7, GetDest: 8, SetConfig: 12, GetConfig: 13, Flush: 17
} as const

const CmdAttr = { Service: 1, Dest: 2, TimeoutTcp: 4, TimeoutTcpFin: 5, TimeoutUdp: 6 } as const
const Svc = { Af: 1, Protocol: 2, Addr: 3, Port: 4, Fwmark: 5, SchedName: 6, Flags: 7, Timeout: 8, Netmask: 9 } as const
const Dst = { Addr: 1, Port: 2, FwdMethod: 3, Weight: 4, UThresh: 5, LThresh: 6, ActiveConns: 7, InactConns: 8, PersistConns: 9, AddrFamily: 11 } as const

export const AF_INET = 2
export const AF_INET6 = 10
export const IPPROTO = { tcp: 6, udp: 17, sctp: 132 } as const
/** IP_VS_SVC_F_PERSISTENT: ClientIP affinity. */
export const SVC_F_PERSISTENT = 0x1
/** IP_VS_CONN_F_MASQ: NAT forwarding. */
export const FWD_MASQ = 0
const NLA_F_NESTED = 0x8000

export interface IpvsService {
  family: 4 | 6
  protocol: 'tcp' | 'udp' | 'sctp'
  address: string
  port: number
  scheduler: string
  flags: number
  /** Persistence timeout in seconds (affinity), 0 for none. */
  timeout: number
  netmask: number
}

export interface IpvsDest {
  address: string
  port: number
  weight: number
  fwdMethod: number
  /** Read-only counters from the kernel (0 when encoding). */
  activeConns: number
  inactConns: number
}

// ---------------------------------------------------------------------------
// nlattr TLVs

function attr (type: number, payload: Uint8Array): Buffer {
  const len = 4 + payload.length
  const b = Buffer.alloc((len + 3) & ~3)
  b.writeUInt16LE(len, 0)
  b.writeUInt16LE(type, 2)
  Buffer.from(payload).copy(b, 4)
  return b
}
const u16 = (t: number, v: number): Buffer => { const p = Buffer.alloc(2); p.writeUInt16LE(v); return attr(t, p) }
const be16 = (t: number, v: number): Buffer => { const p = Buffer.alloc(2); p.writeUInt16BE(v); return attr(t, p) }
const u32 = (t: number, v: number): Buffer => { const p = Buffer.alloc(4); p.writeUInt32LE(v >>> 0); return attr(t, p) }
const str = (t: number, v: string): Buffer => attr(t, Buffer.concat([Buffer.from(v), Buffer.alloc(1)]))
const nested = (t: number, parts: Buffer[]): Buffer => attr(t | NLA_F_NESTED, Buffer.concat(parts))

export class IpvsDecodeError extends Error {}

/** Attributes of a nest: type (flags stripped) → payload. */
export function parseAttrs (buf: Uint8Array): Map<number, Buffer> {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  const out = new Map<number, Buffer>()
  let off = 0
  while (off + 4 <= b.length) {
    const len = b.readUInt16LE(off)
    if (len < 4 || off + len > b.length) throw new IpvsDecodeError(`attribute length ${len} at ${off} overruns ${b.length} bytes`)
    out.set(b.readUInt16LE(off + 2) & 0x3fff, b.subarray(off + 4, off + len))
    off += (len + 3) & ~3
  }
  return out
}

/** Checked fixed-size reads: a too-short attribute is a decode error, never a RangeError. */
function rd (b: Buffer | undefined, size: 2 | 4, what: string, be = false): number | undefined {
  if (b === undefined) return undefined
  if (b.length < size) throw new IpvsDecodeError(`${what}: ${b.length} bytes, need ${size}`)
  return size === 2 ? (be ? b.readUInt16BE(0) : b.readUInt16LE(0)) : b.readUInt32LE(0)
}

const addrBytes = (a: string, family: 4 | 6): Buffer => {
  const bytes = ip.toBytes(a)
  if (bytes.length !== (family === 4 ? 4 : 16)) throw new IpvsDecodeError(`${a} is not an IPv${family} address`)
  return bytes
}
const addrText = (b: Buffer, family: 4 | 6): string => {
  const n = family === 4 ? 4 : 16
  if (b.length < n) throw new IpvsDecodeError(`address of ${b.length} bytes for IPv${family}`)
  return ip.fromBytes(b.subarray(0, n))
}

/** The IPVS_CMD_ATTR_SERVICE nest identifying (and, with all fields, defining) a virtual server. */
export function encodeService (s: IpvsService): Buffer {
  const flags = Buffer.alloc(8)
  flags.writeUInt32LE(s.flags >>> 0, 0)
  flags.writeUInt32LE(0xffffffff, 4)
  return nested(CmdAttr.Service, [
    u16(Svc.Af, s.family === 4 ? AF_INET : AF_INET6),
    u16(Svc.Protocol, IPPROTO[s.protocol]),
    attr(Svc.Addr, addrBytes(s.address, s.family)),
    be16(Svc.Port, s.port),
    str(Svc.SchedName, s.scheduler),
    attr(Svc.Flags, flags),
    u32(Svc.Timeout, s.timeout),
    u32(Svc.Netmask, s.netmask)
  ])
}

export function decodeService (nest: Uint8Array): IpvsService {
  const a = parseAttrs(nest)
  const need = (t: number, what: string): Buffer => { const v = a.get(t); if (v === undefined) throw new IpvsDecodeError(`service without ${what}`); return v }
  const af = rd(need(Svc.Af, 'AF'), 2, 'AF') as number
  const family = af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined
  if (family === undefined) throw new IpvsDecodeError(`unknown address family ${af}`)
  const proto = rd(need(Svc.Protocol, 'PROTOCOL'), 2, 'PROTOCOL') as number
  const protocol = (Object.entries(IPPROTO).find(([, n]) => n === proto)?.[0]) as IpvsService['protocol'] | undefined
  if (protocol === undefined) throw new IpvsDecodeError(`unknown protocol ${proto}`)
  const sched = a.get(Svc.SchedName)
  return {
    family,
    protocol,
    address: addrText(need(Svc.Addr, 'ADDR'), family),
    port: rd(need(Svc.Port, 'PORT'), 2, 'PORT', true) as number,
    scheduler: sched === undefined ? '' : sched.toString('utf8').replace(/\0.*$/s, ''),
    flags: rd(a.get(Svc.Flags), 4, 'FLAGS') ?? 0,
    timeout: rd(a.get(Svc.Timeout), 4, 'TIMEOUT') ?? 0,
    netmask: rd(a.get(Svc.Netmask), 4, 'NETMASK') ?? 0
  }
}

/** The IPVS_CMD_ATTR_DEST nest of a real server. */
export function encodeDest (d: IpvsDest, family: 4 | 6): Buffer {
  return nested(CmdAttr.Dest, [
    attr(Dst.Addr, addrBytes(d.address, family)),
    be16(Dst.Port, d.port),
    u32(Dst.FwdMethod, d.fwdMethod),
    u32(Dst.Weight, d.weight),
    u32(Dst.UThresh, 0),
    u32(Dst.LThresh, 0),
    u16(Dst.AddrFamily, family === 4 ? AF_INET : AF_INET6)
  ])
}

export function decodeDest (nest: Uint8Array, family: 4 | 6): IpvsDest {
  const a = parseAttrs(nest)
  const addr = a.get(Dst.Addr)
  const port = a.get(Dst.Port)
  if (addr === undefined || port === undefined) throw new IpvsDecodeError('destination without ADDR or PORT')
  const af = rd(a.get(Dst.AddrFamily), 2, 'ADDR_FAMILY')
  const fam: 4 | 6 = af === AF_INET6 ? 6 : af === AF_INET ? 4 : family
  return {
    address: addrText(addr, fam),
    port: rd(port, 2, 'PORT', true) as number,
    fwdMethod: (rd(a.get(Dst.FwdMethod), 4, 'FWD_METHOD') ?? 0) & 0x7,
    weight: rd(a.get(Dst.Weight), 4, 'WEIGHT') ?? 0,
    activeConns: rd(a.get(Dst.ActiveConns), 4, 'ACTIVE_CONNS') ?? 0,
    inactConns: rd(a.get(Dst.InactConns), 4, 'INACT_CONNS') ?? 0
  }
}

/** The payload of a reply message: its top-level service or dest nest. */
export function nestOf (payload: Uint8Array, kind: 'service' | 'dest'): Buffer | undefined {
  return parseAttrs(payload).get(kind === 'service' ? CmdAttr.Service : CmdAttr.Dest)
}

/** `ipvsadm --set tcp tcpfin udp`: connection timeouts in seconds; 0 leaves one unchanged (IPVS_CMD_SET_CONFIG). */
export interface IpvsTimeouts { tcp: number, tcpFin: number, udp: number }

/** The attributes of IPVS_CMD_SET_CONFIG / the reply of IPVS_CMD_GET_CONFIG: three top-level u32. */
export function encodeTimeouts (t: IpvsTimeouts): Buffer {
  return Buffer.concat([u32(CmdAttr.TimeoutTcp, t.tcp), u32(CmdAttr.TimeoutTcpFin, t.tcpFin), u32(CmdAttr.TimeoutUdp, t.udp)])
}

export function decodeTimeouts (payload: Uint8Array): IpvsTimeouts {
  const a = parseAttrs(payload)
  const get = (t: number): number => { const v = rd(a.get(t), 4, `timeout attribute ${t}`); if (v === undefined) throw new IpvsDecodeError(`config reply without timeout attribute ${t}`); return v }
  return { tcp: get(CmdAttr.TimeoutTcp), tcpFin: get(CmdAttr.TimeoutTcpFin), udp: get(CmdAttr.TimeoutUdp) }
}
