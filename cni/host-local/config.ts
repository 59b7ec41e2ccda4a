/**
 * host-local configuration: everything is parsed, canonicalised and validated
 * here, before the store is opened, so that bad input changes nothing on disk.
 *
 * The rules follow the reference plugin's `allocator/config.go` and
 * `range.go` (defaults, overlap rules, the order in which range sources are
 * combined), with two deliberate differences: every failure is code 7 with a
 * message naming the offending key (the reference answers most with 999), and
 * a few inputs the reference silently accepts are refused (see
 * docs/host-local.md, "Differences from the reference").
 */
import { CniError, compareVersions, invalidConfig, parseCniArgs } from '../skel/index.js'
import type { NetConf, RouteConfig } from '../skel/index.js'
import { ip } from '../../kernel/index.js'

export const DEFAULT_DATA_DIR = '/var/lib/cni/networks'

/**
 * CNI_ARGS keys host-local accepts. `IP` is its own; the others are what a
 * chaining plugin (bridge) accepts and passes on unchanged, so a request the
 * bridge took must not fail here.
 */
export const KNOWN_CNI_ARGS = ['IP', 'MAC', 'K8S_POD_NAMESPACE', 'K8S_POD_NAME', 'K8S_POD_INFRA_CONTAINER_ID', 'K8S_POD_UID'] as const

/** One canonicalised range: every field set, every address in canonical text. */
export interface Range {
  /** The subnet; `address` is the network address. */
  subnet: ip.Cidr
  /** First allocatable address, inclusive. */
  rangeStart: string
  /** Last allocatable address, inclusive. */
  rangeEnd: string
  gateway: string
}

/** The ranges one address is allocated from (one RangeSet = one address in the result). */
export type RangeSet = readonly Range[]

export interface HostLocalConfig {
  /** The network name: the store directory is `<dataDir>/<name>`. */
  name: string
  cniVersion: string
  dataDir: string
  /** Path of a resolv.conf to report as `dns`; undefined when not configured. */
  resolvConf: string | undefined
  routes: RouteConfig[]
  rangeSets: RangeSet[]
  /** Requested addresses (canonical), in request order, without duplicates. */
  requestedIps: string[]
}

export interface LoadOptions {
  /**
   * Raw CNI_ARGS to read `IP=` from. Only ADD passes it: DEL, CHECK, GC and
   * STATUS do not depend on requested addresses, so a malformed CNI_ARGS must
   * not stop a DEL from releasing.
   */
  cniArgs?: string
  /**
   * DEL and GC release by owner (container ID and ifname) and never read the
   * ranges, so they accept a configuration without any: the flannel plugin's
   * DEL after a reboot has neither its saved config nor subnet.env to take
   * them from, and must still release. ADD, CHECK and STATUS require ranges.
   */
  rangesOptional?: boolean
}

type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const present = (v: unknown): boolean => v !== undefined && v !== null

/** 'a.b.c.d-e.f.g.h' for one range, as the reference prints it in errors. */
export function rangeString (r: Range): string {
  return `${r.rangeStart}-${r.rangeEnd}`
}

export function rangeSetString (s: RangeSet): string {
  return s.map(rangeString).join(',')
}

/** True when `addr` lies in `r`'s subnet between rangeStart and rangeEnd (inclusive). */
export function rangeContains (r: Range, addr: string): boolean {
  if (!ip.contains(r.subnet, addr)) return false
  const v = ip.toBigInt(addr)
  return v >= ip.toBigInt(r.rangeStart) && v <= ip.toBigInt(r.rangeEnd)
}

/** The range of `s` that holds `addr`, or undefined. */
export function rangeFor (s: RangeSet, addr: string): Range | undefined {
  return s.find((r) => rangeContains(r, addr))
}

function rangesOverlap (a: Range, b: Range): boolean {
  if (a.subnet.family !== b.subnet.family) return false
  return ip.toBigInt(a.rangeStart) <= ip.toBigInt(b.rangeEnd) && ip.toBigInt(b.rangeStart) <= ip.toBigInt(a.rangeEnd)
}

function rangeSetsOverlap (a: RangeSet, b: RangeSet): boolean {
  return a.some((x) => b.some((y) => rangesOverlap(x, y)))
}

/** Parses an address, with an optional prefix that is ignored (`10.1.0.5` or `10.1.0.5/24`). */
export function parseRequestedIp (text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined
  try {
    return text.includes('/') ? ip.parseCidr(text).address : ip.canonical(text)
  } catch {
    return undefined
  }
}

function addressIn (r: Obj, key: string, where: string, subnet: ip.Cidr): string | undefined {
  const v = r[key]
  if (!present(v) || v === '') return undefined
  if (typeof v !== 'string' || ip.familyOf(v) === undefined) throw invalidConfig(`${where}.${key}: invalid IP address ${JSON.stringify(v)}`)
  const a = ip.canonical(v)
  if (ip.familyOf(a) !== subnet.family) throw invalidConfig(`${where}.${key}: ${a} is not the same address family as subnet ${ip.formatCidr(subnet)}`)
  if (!ip.contains(subnet, a)) throw invalidConfig(`${where}.${key}: ${a} not in network ${ip.formatCidr(subnet)}`)
  return a
}

/** Canonicalises one range (the reference's Range.Canonicalize, plus rangeEnd >= rangeStart). */
export function canonicalizeRange (raw: unknown, where: string): Range {
  if (!isObj(raw)) throw invalidConfig(`${where}: a range must be an object like {"subnet": "10.1.0.0/24"}`, `got ${JSON.stringify(raw)}`)
  const s = raw.subnet
  if (!present(s) || s === '') throw invalidConfig(`${where}.subnet is missing`)
  let subnet: ip.Cidr
  try {
    if (typeof s !== 'string') throw new Error()
    subnet = ip.parseCidr(s)
  } catch {
    throw invalidConfig(`${where}.subnet: invalid CIDR address ${JSON.stringify(s)}`)
  }
  const network = ip.networkOf(subnet)
  if (network !== subnet.address) {
    throw invalidConfig(`${where}.subnet: network ${ip.formatCidr(subnet)} has host bits set. For a subnet mask of length ${subnet.prefixLen} the network address is ${network}`)
  }
  const bits = subnet.family === 4 ? 32 : 128
  if (subnet.prefixLen > bits - 2) throw invalidConfig(`${where}.subnet: network ${ip.formatCidr(subnet)} too small to allocate from`)

  const first = ip.fromBigInt(ip.toBigInt(network) + 1n, subnet.family)
  // IPv4 keeps the broadcast address out of the default range; IPv6 has none.
  const last = subnet.family === 4 ? ip.fromBigInt(ip.toBigInt(ip.lastOf(subnet)) - 1n, 4) : ip.lastOf(subnet)
  const gateway = addressIn(raw, 'gateway', where, subnet) ?? first
  const rangeStart = addressIn(raw, 'rangeStart', where, subnet) ?? first
  const rangeEnd = addressIn(raw, 'rangeEnd', where, subnet) ?? last
  if (ip.toBigInt(rangeEnd) < ip.toBigInt(rangeStart)) {
    throw invalidConfig(`${where}: rangeEnd ${rangeEnd} is before rangeStart ${rangeStart}`)
  }
  return { subnet, rangeStart, rangeEnd, gateway }
}

/** Canonicalises a RangeSet: non-empty, one family, no two ranges sharing an address. */
export function canonicalizeRangeSet (raw: unknown, where: string): Range[] {
  if (!Array.isArray(raw)) throw invalidConfig(`${where}: a range set must be a list of ranges`, `got ${JSON.stringify(raw)}`)
  if (raw.length === 0) throw invalidConfig(`${where}: empty range set`)
  const set = raw.map((r, i) => canonicalizeRange(r, `${where}[${i}]`))
  const fam = set[0]?.subnet.family
  if (set.some((r) => r.subnet.family !== fam)) throw invalidConfig(`${where}: mixed address families in one range set`)
  for (let i = 0; i < set.length; i++) {
    for (let j = i + 1; j < set.length; j++) {
      const a = set[i] as Range
      const b = set[j] as Range
      if (rangesOverlap(a, b)) throw invalidConfig(`${where}: ranges ${rangeString(a)} and ${rangeString(b)} overlap`)
    }
  }
  return set
}

function rangeSetList (raw: unknown, where: string): Range[][] {
  if (!present(raw)) return []
  if (!Array.isArray(raw)) throw invalidConfig(`${where} must be a list of range sets (a list of lists of ranges)`, `got ${JSON.stringify(raw)}`)
  return raw.map((s, i) => canonicalizeRangeSet(s, `${where}[${i}]`))
}

function parseRoutes (raw: unknown): RouteConfig[] {
  if (!present(raw)) return []
  if (!Array.isArray(raw)) throw invalidConfig('ipam.routes must be a list of routes')
  return raw.map((r, i) => {
    const where = `ipam.routes[${i}]`
    if (!isObj(r)) throw invalidConfig(`${where}: a route must be an object like {"dst": "0.0.0.0/0"}`)
    let dst: ip.Cidr
    try {
      if (typeof r.dst !== 'string') throw new Error()
      dst = ip.parseCidr(r.dst)
    } catch {
      throw invalidConfig(`${where}.dst: invalid CIDR address ${JSON.stringify(r.dst)}`)
    }
    // Host bits are kept, as the reference does (Go's types.IPNet keeps the address as written).
    const out: RouteConfig = { dst: ip.formatCidr(dst) }
    if (present(r.gw) && r.gw !== '') {
      if (typeof r.gw !== 'string' || ip.familyOf(r.gw) === undefined) throw invalidConfig(`${where}.gw: invalid IP address ${JSON.stringify(r.gw)}`)
      out.gw = ip.canonical(r.gw)
    }
    for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
      const v = r[k]
      if (!present(v)) continue
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw invalidConfig(`${where}.${k} must be a non-negative integer`, `got ${JSON.stringify(v)}`)
      out[k] = v
    }
    return out
  })
}

function optionalString (o: Obj, key: string, where: string): string | undefined {
  const v = o[key]
  if (!present(v) || v === '') return undefined
  if (typeof v !== 'string') throw invalidConfig(`${where}.${key} must be a string`, `got ${JSON.stringify(v)}`)
  return v
}

function requestedFromList (raw: unknown, where: string): string[] {
  if (!present(raw)) return []
  if (!Array.isArray(raw)) throw invalidConfig(`${where} must be a list of IP addresses`, `got ${JSON.stringify(raw)}`)
  return raw.map((v, i) => {
    const a = parseRequestedIp(v)
    if (a === undefined) throw invalidConfig(`${where}[${i}]: invalid IP address ${JSON.stringify(v)}`)
    return a
  })
}

function requestedFromCniArgs (raw: string): string[] {
  const args = parseCniArgs(raw, KNOWN_CNI_ARGS)
  const v = args.IP
  if (v === undefined || v === '') return []
  // A comma-separated list is accepted so that a dual-stack request fits in CNI_ARGS.
  return v.split(',').map((text) => {
    const a = parseRequestedIp(text)
    if (a === undefined) throw new CniError('CNI_ERR_INVALID_ENV', `CNI_ARGS: invalid IP address ${JSON.stringify(text)} in "IP=${v}"`)
    return a
  })
}

/** Reads and validates the host-local part of a request configuration. */
export function loadConfig (conf: NetConf, opts: LoadOptions = {}): HostLocalConfig {
  const ipam = conf.ipam as unknown
  if (!present(ipam)) throw invalidConfig("IPAM config missing 'ipam' key")
  if (!isObj(ipam)) throw invalidConfig('"ipam" must be an object')

  // Sources of requested addresses, in the reference's order: CNI_ARGS, args.cni.ips, runtimeConfig.ips.
  const requested: string[] = []
  if (opts.cniArgs !== undefined) requested.push(...requestedFromCniArgs(opts.cniArgs))
  const args = conf.args as unknown
  if (present(args)) {
    if (!isObj(args)) throw invalidConfig('"args" must be an object')
    const cni = args.cni
    if (present(cni)) {
      if (!isObj(cni)) throw invalidConfig('"args.cni" must be an object')
      requested.push(...requestedFromList(cni.ips, 'args.cni.ips'))
    }
  }
  const rc = conf.runtimeConfig as unknown
  let rcRanges: unknown
  if (present(rc)) {
    if (!isObj(rc)) throw invalidConfig('"runtimeConfig" must be an object')
    requested.push(...requestedFromList(rc.ips, 'runtimeConfig.ips'))
    rcRanges = rc.ipRanges
  }

  // Range sets, in the reference's order: runtimeConfig.ipRanges, then the
  // legacy single range under ipam, then ipam.ranges.
  const rangeSets = rangeSetList(rcRanges, 'runtimeConfig.ipRanges')
  const legacyKeys = ['subnet', 'rangeStart', 'rangeEnd', 'gateway'].filter((k) => present(ipam[k]) && ipam[k] !== '')
  if (legacyKeys.length > 0) {
    // The reference ignores rangeStart/rangeEnd/gateway without a subnet; that
    // silently drops configuration the user meant, so we refuse it.
    if (!legacyKeys.includes('subnet')) {
      throw invalidConfig(`ipam.${legacyKeys[0] as string} is set but ipam.subnet is not`, 'the single-range keys under "ipam" need "subnet"; with "ranges", put rangeStart/rangeEnd/gateway inside each range')
    }
    rangeSets.push([canonicalizeRange(ipam, 'ipam')])
  }
  rangeSets.push(...rangeSetList(ipam.ranges, 'ipam.ranges'))
  if (rangeSets.length === 0 && opts.rangesOptional !== true) throw invalidConfig('no IP ranges specified', 'set "ipam.ranges" (or "ipam.subnet")')

  let v4 = 0
  let v6 = 0
  for (const s of rangeSets) if (s[0]?.subnet.family === 4) v4++; else v6++
  if ((v4 > 1 || v6 > 1) && compareVersions(conf.cniVersion, '0.3.0') < 0) {
    throw invalidConfig(`CNI version ${conf.cniVersion} does not support more than 1 address per family`)
  }
  for (let i = 0; i < rangeSets.length; i++) {
    for (let j = i + 1; j < rangeSets.length; j++) {
      if (rangeSetsOverlap(rangeSets[i] as RangeSet, rangeSets[j] as RangeSet)) {
        throw invalidConfig(`range set ${i} overlaps with ${j}`, `${rangeSetString(rangeSets[i] as RangeSet)} and ${rangeSetString(rangeSets[j] as RangeSet)} share addresses`)
      }
    }
  }

  const dataDir = optionalString(ipam, 'dataDir', 'ipam') ?? DEFAULT_DATA_DIR
  const resolvConf = optionalString(ipam, 'resolvConf', 'ipam')
  return {
    name: conf.name,
    cniVersion: conf.cniVersion,
    dataDir,
    resolvConf,
    routes: parseRoutes(ipam.routes),
    rangeSets,
    requestedIps: [...new Set(requested)]
  }
}

export interface Attachment {
  containerID: string
  ifname: string
}

/**
 * The attachments a GC request says are still in use: `cni.dev/valid-attachments`
 * (spec 1.1 after PR #1103) and the older `cni.dev/attachments`; when both are
 * sent (libcni does) their union is kept. Neither key is refused: an absent list
 * would otherwise read as "nothing is valid" and release every address.
 */
export function loadValidAttachments (conf: NetConf): Attachment[] {
  const keys = ['cni.dev/valid-attachments', 'cni.dev/attachments'].filter((k) => present(conf[k]))
  if (keys.length === 0) throw invalidConfig('GC needs "cni.dev/valid-attachments"', 'refusing to treat a missing list as "no attachment is valid"')
  const out: Attachment[] = []
  for (const key of keys) {
    const list = conf[key]
    if (!Array.isArray(list)) throw invalidConfig(`"${key}" must be a list of {"containerID", "ifname"}`, `got ${JSON.stringify(list)}`)
    list.forEach((a, i) => {
      if (!isObj(a) || typeof a.containerID !== 'string' || a.containerID === '' || typeof a.ifname !== 'string') {
        throw invalidConfig(`"${key}"[${i}] must be {"containerID": string, "ifname": string}`, `got ${JSON.stringify(a)}`)
      }
      out.push({ containerID: a.containerID, ifname: a.ifname })
    })
  }
  return out
}
