/**
 * Pure subnet arithmetic and wire formats of flannel's etcd layout, shared by
 * the etcd subnet manager and its tests:
 *
 * - lease key names under `<prefix>/subnets/`: `10.5.52.0-24`, dual stack
 *   `10.5.52.0-24&fc00::-64` (flannel's `MakeSubnetKey`/`ParseSubnetKey`);
 * - lease values: flannel's `LeaseAttrs` JSON, byte for byte as Go marshals it;
 * - the candidate node subnets of a NetConf, in order, and flannel's choice
 *   among them (random among the first 100 free ones);
 * - whether an existing lease still fits the configuration
 *   (`isSubnetConfigCompat`, `isIPv6SubnetConfigCompat`).
 *
 * All address arithmetic goes through the kernel's `ip` helpers (bigint forms
 * of `ip-address`); nothing here does I/O.
 */
import { ip } from '../../kernel/index.js'
import { VxlanError } from './errors.js'
import type { LeaseAttrs, NetConf, VxlanBackendData } from './types.js'

/** The subnets a lease key names (canonical CIDR text, network addresses). */
export interface LeaseSubnets {
  subnet: string | undefined
  ipv6Subnet: string | undefined
}

/** One family's leasable range: subnets of `subnetLen` whose network address lies in [min, max]. */
export interface SubnetRange {
  family: 4 | 6
  subnetLen: number
  /** Network address of the first leasable subnet. */
  min: string
  /** Network address of the last leasable subnet. */
  max: string
}

/** How many free candidates flannel draws from (`allocateSubnet`). */
export const FREE_CANDIDATES = 100

/** The IPv4 and IPv6 ranges of an etcd-mode NetConf (those of enabled families with bounds). */
export function subnetRanges (conf: NetConf): { v4: SubnetRange | undefined, v6: SubnetRange | undefined } {
  const v4 = conf.enableIPv4 && conf.subnetMin !== undefined && conf.subnetMax !== undefined && conf.subnetLen > 0
    ? { family: 4 as const, subnetLen: conf.subnetLen, min: conf.subnetMin, max: conf.subnetMax }
    : undefined
  const v6 = conf.enableIPv6 && conf.ipv6SubnetMin !== undefined && conf.ipv6SubnetMax !== undefined && conf.ipv6SubnetLen > 0
    ? { family: 6 as const, subnetLen: conf.ipv6SubnetLen, min: conf.ipv6SubnetMin, max: conf.ipv6SubnetMax }
    : undefined
  return { v4, v6 }
}

/**
 * Every subnet of a range, ascending, as CIDR text. Lazy: a /8 cut in /24s is
 * 65536 subnets, an IPv6 /48 cut in /64s is 65536 as well, and callers usually
 * stop after a few.
 */
export function * candidateSubnets (range: SubnetRange): Generator<string, void, undefined> {
  const size = subnetSize(range)
  const last = ip.toBigInt(range.max)
  for (let v = ip.toBigInt(range.min); v <= last; v += size) {
    yield `${ip.fromBigInt(v, range.family)}/${range.subnetLen}`
  }
}

/**
 * The first `limit` subnets of `range`, ascending, that overlap none of
 * `taken` (CIDRs of any length; other families are ignored). Runs in
 * O(taken · log taken + limit): a taken block, however large, is skipped in
 * one step.
 */
export function freeSubnets (range: SubnetRange, taken: Iterable<string>, limit = FREE_CANDIDATES): string[] {
  const size = subnetSize(range)
  const first = ip.toBigInt(range.min)
  const last = ip.toBigInt(range.max)
  const blocks = mergedBlocks(range.family, taken)
  const out: string[] = []
  let b = 0
  for (let v = first; v <= last && out.length < limit;) {
    const end = v + size - 1n
    while (b < blocks.length && (blocks[b] as Block).last < v) b++
    const blk = blocks[b]
    if (blk !== undefined && blk.first <= end) {
      // Overlaps this block: continue at the first candidate past it.
      v = first + ((blk.last - first) / size + 1n) * size
      continue
    }
    out.push(`${ip.fromBigInt(v, range.family)}/${range.subnetLen}`)
    v += size
  }
  return out
}

/**
 * flannel's allocation (`allocateSubnet`): for each enabled family, one subnet
 * drawn at random among the first 100 free ones. `rng` returns a number in
 * [0, 1), like Math.random (the default). Throws VXLAN_ERR_LEASE "out of
 * subnets" when a family has no free subnet left.
 */
export function chooseSubnets (conf: NetConf, taken: Iterable<LeaseSubnets>, rng: () => number = Math.random): LeaseSubnets {
  const list = [...taken]
  const { v4, v6 } = subnetRanges(conf)
  if (v4 === undefined && v6 === undefined) throw new VxlanError('VXLAN_ERR_LEASE', 'no subnet range to allocate from: the network configuration has no family with SubnetMin/SubnetMax')
  const pick = (range: SubnetRange | undefined, sel: (l: LeaseSubnets) => string | undefined): string | undefined => {
    if (range === undefined) return undefined
    const free = freeSubnets(range, list.map(sel).filter((s): s is string => s !== undefined))
    if (free.length === 0) {
      throw new VxlanError('VXLAN_ERR_LEASE', `out of subnets: every /${range.subnetLen} from ${range.min} to ${range.max} is leased or reserved`)
    }
    const i = Math.min(free.length - 1, Math.max(0, Math.floor(rng() * free.length)))
    return free[i]
  }
  const subnet = pick(v4, (l) => l.subnet)
  const ipv6Subnet = pick(v6, (l) => l.ipv6Subnet)
  return { subnet, ipv6Subnet }
}

/**
 * Whether an existing or previous lease still fits the configuration
 * (flannel's `isSubnetConfigCompat` and `isIPv6SubnetConfigCompat`): each
 * enabled family has a subnet of the configured length, aligned, between
 * SubnetMin and SubnetMax; a disabled family has none. The etcd manager
 * reuses only compatible leases and deletes an incompatible one of its own.
 */
export function isLeaseCompatible (conf: NetConf, s: LeaseSubnets): boolean {
  const { v4, v6 } = subnetRanges(conf)
  return familyCompatible(conf.enableIPv4, v4, s.subnet) && familyCompatible(conf.enableIPv6, v6, s.ipv6Subnet)
}

function familyCompatible (enabled: boolean, range: SubnetRange | undefined, subnet: string | undefined): boolean {
  if (!enabled) return subnet === undefined
  if (subnet === undefined || range === undefined) return false
  let c: ip.Cidr
  try { c = ip.parseCidr(subnet) } catch { return false }
  if (c.family !== range.family || c.prefixLen !== range.subnetLen || ip.networkOf(c) !== c.address) return false
  const v = ip.toBigInt(c.address)
  return v >= ip.toBigInt(range.min) && v <= ip.toBigInt(range.max)
}

/** Whether two leases claim overlapping address space in either family. */
export function leasesOverlap (a: LeaseSubnets, b: LeaseSubnets): boolean {
  const both = (x: string | undefined, y: string | undefined): boolean =>
    x !== undefined && y !== undefined && ip.overlaps(ip.parseCidr(x), ip.parseCidr(y))
  return both(a.subnet, b.subnet) || both(a.ipv6Subnet, b.ipv6Subnet)
}

/**
 * The key name of a lease (the part after `<prefix>/subnets/`), as flannel's
 * MakeSubnetKey spells it: `10.5.52.0-24`, or `10.5.52.0-24&fc00::-64`. flannel's
 * etcd keys always start with the IPv4 subnet.
 */
export function formatLeaseKey (s: LeaseSubnets): string {
  if (s.subnet === undefined) throw new VxlanError('VXLAN_ERR_LEASE', 'an etcd lease key needs an IPv4 subnet (flannel names keys <ip>-<len>[&<ip6>-<len>])')
  const part = (cidr: string, family: 4 | 6): string => {
    const c = ip.parseCidr(cidr)
    if (c.family !== family) throw new VxlanError('VXLAN_ERR_LEASE', `"${cidr}" is not an IPv${family} subnet`)
    return `${ip.networkOf(c)}-${c.prefixLen}`
  }
  const v4 = part(s.subnet, 4)
  return s.ipv6Subnet === undefined ? v4 : `${v4}&${part(s.ipv6Subnet, 6)}`
}

/**
 * Parses a lease key name (`10.5.52.0-24`, `10.5.52.0-24&fc00::-64`); a full
 * etcd key is accepted too (its last path segment is used). Returns undefined
 * for anything else, including a subnet with host bits set (`10.5.52.1-24`),
 * which names no subnet. IPv6 spellings are accepted in any valid form and
 * returned canonical.
 */
export function parseLeaseKey (key: string): LeaseSubnets | undefined {
  const name = key.slice(key.lastIndexOf('/') + 1)
  const parts = name.split('&')
  if (parts.length > 2) return undefined
  const subnet = parsePart(parts[0] as string, 4)
  if (subnet === undefined) return undefined
  if (parts.length === 1) return { subnet, ipv6Subnet: undefined }
  const ipv6Subnet = parsePart(parts[1] as string, 6)
  return ipv6Subnet === undefined ? undefined : { subnet, ipv6Subnet }
}

function parsePart (text: string, family: 4 | 6): string | undefined {
  const m = /^([0-9a-fA-F.:]+)-(\d{1,3})$/.exec(text)
  if (m === null) return undefined
  let c: ip.Cidr
  try { c = ip.parseCidr(`${m[1] as string}/${m[2] as string}`) } catch { return undefined }
  if (c.family !== family || ip.networkOf(c) !== c.address) return undefined
  return ip.formatCidr(c)
}

/**
 * A lease value exactly as flanneld's json.Marshal(LeaseAttrs) writes it:
 * fields in struct order, `PublicIPv6` always present (null when unset),
 * `BackendType`, `BackendData` and `BackendV6Data` left out when empty.
 *
 *   {"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}
 */
export function encodeLeaseAttrs (a: LeaseAttrs): string {
  const data = (d: VxlanBackendData | null): string =>
    d === null ? 'null' : `{"VNI":${JSON.stringify(d.VNI)},"VtepMAC":${JSON.stringify(d.VtepMAC)}}`
  let out = `{"PublicIP":${JSON.stringify(a.PublicIP)},"PublicIPv6":${a.PublicIPv6 == null ? 'null' : JSON.stringify(a.PublicIPv6)}`
  if (a.BackendType !== '') out += `,"BackendType":${JSON.stringify(a.BackendType)}`
  if (a.BackendData !== undefined) out += `,"BackendData":${data(a.BackendData)}`
  if (a.BackendV6Data !== undefined) out += `,"BackendV6Data":${data(a.BackendV6Data)}`
  return out + '}'
}

/**
 * Reads a lease value written by flanneld or by us. Throws VXLAN_ERR_LEASE
 * naming what is wrong. PublicIP must be an IPv4 address (flannel's `ip.IP4`);
 * the VXLAN backend data is checked when BackendType is "vxlan"; the backend
 * data of other backends (host-gw, wireguard, …) is not ours to read and is
 * dropped, so such a lease carries only its addresses and type.
 */
export function decodeLeaseAttrs (text: string): LeaseAttrs {
  let v: unknown
  try { v = JSON.parse(text) } catch (err) { throw badAttrs(`not JSON (${(err as Error).message})`, err) }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badAttrs('not a JSON object')
  const o = v as Record<string, unknown>
  if (typeof o.PublicIP !== 'string' || ip.familyOf(o.PublicIP) !== 4) throw badAttrs(`PublicIP ${JSON.stringify(o.PublicIP)} is not an IPv4 address`)
  const out: LeaseAttrs = { PublicIP: ip.canonical(o.PublicIP), PublicIPv6: null, BackendType: '' }
  if (o.PublicIPv6 != null) {
    if (typeof o.PublicIPv6 !== 'string' || ip.familyOf(o.PublicIPv6) !== 6) throw badAttrs(`PublicIPv6 ${JSON.stringify(o.PublicIPv6)} is not an IPv6 address`)
    out.PublicIPv6 = ip.canonical(o.PublicIPv6)
  }
  if (o.BackendType !== undefined) {
    if (typeof o.BackendType !== 'string') throw badAttrs('BackendType is not a string')
    out.BackendType = o.BackendType
  }
  if (out.BackendType === 'vxlan') {
    if (o.BackendData !== undefined) out.BackendData = backendData(o.BackendData, 'BackendData')
    if (o.BackendV6Data !== undefined) out.BackendV6Data = backendData(o.BackendV6Data, 'BackendV6Data')
  }
  return out
}

function backendData (v: unknown, key: string): VxlanBackendData | null {
  if (v === null) return null
  if (typeof v !== 'object' || Array.isArray(v)) throw badAttrs(`${key} is not an object`)
  const d = v as Record<string, unknown>
  if (typeof d.VNI !== 'number' || !Number.isInteger(d.VNI) || d.VNI < 0 || d.VNI > 0xffffff) throw badAttrs(`${key}.VNI ${JSON.stringify(d.VNI)} is not a VNI`)
  if (typeof d.VtepMAC !== 'string') throw badAttrs(`${key}.VtepMAC ${JSON.stringify(d.VtepMAC)} is not a MAC address`)
  let mac: string
  try { mac = ip.macFromBytes(ip.macToBytes(d.VtepMAC)) } catch (err) { throw badAttrs(`${key}.VtepMAC ${JSON.stringify(d.VtepMAC)} is not a MAC address`, err) }
  return { VNI: d.VNI, VtepMAC: mac }
}

function badAttrs (message: string, cause?: unknown): VxlanError {
  return new VxlanError('VXLAN_ERR_LEASE', `lease attributes: ${message}`, cause !== undefined ? { cause } : undefined)
}

interface Block { first: bigint, last: bigint }

function subnetSize (range: SubnetRange): bigint {
  return 1n << BigInt((range.family === 4 ? 32 : 128) - range.subnetLen)
}

/** Taken CIDRs of one family as sorted, disjoint [first, last] blocks. */
function mergedBlocks (family: 4 | 6, taken: Iterable<string>): Block[] {
  const blocks: Block[] = []
  for (const t of taken) {
    const c = ip.parseCidr(t)
    if (c.family !== family) continue
    blocks.push({ first: ip.toBigInt(ip.networkOf(c)), last: ip.toBigInt(ip.lastOf(c)) })
  }
  blocks.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0))
  const out: Block[] = []
  for (const b of blocks) {
    const prev = out[out.length - 1]
    if (prev !== undefined && b.first <= prev.last + 1n) {
      if (b.last > prev.last) prev.last = b.last
    } else out.push({ ...b })
  }
  return out
}
