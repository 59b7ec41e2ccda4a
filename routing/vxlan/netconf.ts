/**
 * flannel's net-conf.json (kube mode: `/etc/kube-flannel/net-conf.json`; etcd
 * mode: the value of `<prefix>/config`), parsed into a validated `NetConf`.
 *
 * The document is shared with flannel nodes, so it is read the way flanneld
 * reads it (`pkg/subnet/config.go`: `ParseConfig`, then `CheckNetworkConfig`
 * in etcd mode only):
 *
 * - keys match case-insensitively, as Go's encoding/json matches struct
 *   fields; the last of two spellings wins; unknown keys are ignored (they are
 *   reported through `onWarning`), `null` counts as absent;
 * - CIDRs are reduced to their network address (`10.244.1.5/16` is
 *   `10.244.0.0/16`), as Go's `net.ParseCIDR` does;
 * - etcd mode fills in flannel's defaults and applies its coherence rules:
 *   SubnetLen defaults to 24 when Network is a /22 or larger, else to the
 *   Network's prefix + 2; SubnetLen must be at most 30 and at least the
 *   prefix + 2; without SubnetLen the Network must be a /28 or larger;
 *   SubnetMin defaults to the second subnet (the first is never leased: its
 *   `.0` would be the Network's own address), SubnetMax to the last; both must
 *   lie in the Network and on a SubnetLen boundary. IPv6 likewise with 64,
 *   126 and /124;
 * - kube mode takes node podCIDRs as the API server assigns them, so nothing is
 *   defaulted: an absent SubnetLen/IPv6SubnetLen is 0 and absent bounds are
 *   undefined.
 *
 * Two rules are ours, not flannel's: at least one family must be enabled, and
 * SubnetMin may not lie above SubnetMax (flannel would start, then fail every
 * allocation with "out of subnets").
 *
 * Only the vxlan backend exists in this agent. flannel falls back to `udp`
 * when `Backend` is missing (its documentation says vxlan), so a missing
 * Backend is an error here rather than a silent guess.
 */
import { ip } from '../../kernel/index.js'
import { VxlanError } from './errors.js'
import type { NetConf, VxlanBackendConf } from './types.js'

export interface ParseNetConfOptions {
  /** 'etcd': flannel's CheckNetworkConfig rules and defaults; 'kube': syntax only. */
  mode: 'etcd' | 'kube'
  /** Told about keys that are ignored (unknown to flannel's Config or VXLAN backend). */
  onWarning?: (message: string) => void
}

/** Default VNI of flannel's VXLAN backend (device `flannel.1`). */
export const DEFAULT_VNI = 1
/** VXLAN encapsulation overhead flannel subtracts from the underlay MTU. */
export const VXLAN_OVERHEAD = 50

const topKeys = [
  'Network', 'IPv6Network', 'EnableIPv4', 'EnableIPv6', 'EnableNFTables',
  'SubnetLen', 'SubnetMin', 'SubnetMax', 'IPv6SubnetLen', 'IPv6SubnetMin', 'IPv6SubnetMax', 'Backend'
] as const
/** VXLANConfig of flannel's backend; MacPrefix and Name are Windows-only and ignored here. */
const backendKeys = ['Type', 'VNI', 'Port', 'MTU', 'GBP', 'Learning', 'DirectRouting', 'MacPrefix', 'Name'] as const

type Fields<K extends string> = Partial<Record<K, unknown>>

export function parseNetConf (text: string, opts: ParseNetConfOptions): NetConf {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw bad(`not valid JSON (${(err as Error).message})`, err)
  }
  if (!isObject(doc)) throw bad(`the document must be a JSON object, got ${describe(doc)}`)
  const f = fields(doc, topKeys, '', opts.onWarning)

  const enableIPv4 = bool(f, 'EnableIPv4', true)
  const enableIPv6 = bool(f, 'EnableIPv6', false)
  const enableNFTables = bool(f, 'EnableNFTables', false)
  if (!enableIPv4 && !enableIPv6) throw bad('EnableIPv4 and EnableIPv6 are both false: enable at least one family')

  // Parse everything first, so a malformed key is reported even in the family that is off.
  const network = cidr(f, 'Network', 4)
  const ipv6Network = cidr(f, 'IPv6Network', 6)
  const subnetLen = uint(f, 'SubnetLen', 32)
  const ipv6SubnetLen = uint(f, 'IPv6SubnetLen', 128)
  const subnetMin = addr(f, 'SubnetMin', 4)
  const subnetMax = addr(f, 'SubnetMax', 4)
  const ipv6SubnetMin = addr(f, 'IPv6SubnetMin', 6)
  const ipv6SubnetMax = addr(f, 'IPv6SubnetMax', 6)
  const backend = parseBackend(f.Backend, opts.onWarning)

  const conf: NetConf = {
    network: undefined,
    ipv6Network: undefined,
    enableIPv4,
    enableIPv6,
    enableNFTables,
    subnetLen: subnetLen ?? 0,
    subnetMin,
    subnetMax,
    ipv6SubnetLen: ipv6SubnetLen ?? 0,
    ipv6SubnetMin,
    ipv6SubnetMax,
    backend
  }
  if (enableIPv4) {
    if (network === undefined) throw bad('Network is missing: set it to the IPv4 cluster CIDR, e.g. "10.244.0.0/16" (or set EnableIPv4 to false)')
    conf.network = ip.formatCidr(network)
  }
  if (enableIPv6) {
    if (ipv6Network === undefined) throw bad('IPv6Network is missing: EnableIPv6 is true, so set it to the IPv6 cluster CIDR, e.g. "fd00:10:244::/56"')
    conf.ipv6Network = ip.formatCidr(ipv6Network)
  }
  if (opts.mode === 'kube') return conf

  if (network !== undefined && enableIPv4) {
    const r = checkFamily(network, subnetLen, subnetMin, subnetMax, {
      len: 'SubnetLen', min: 'SubnetMin', max: 'SubnetMax', net: 'Network', maxLen: 30, minNetPrefix: 28, bigNetPrefix: 22, bigNetLen: 24
    })
    conf.subnetLen = r.len; conf.subnetMin = r.min; conf.subnetMax = r.max
  }
  if (ipv6Network !== undefined && enableIPv6) {
    const r = checkFamily(ipv6Network, ipv6SubnetLen, ipv6SubnetMin, ipv6SubnetMax, {
      len: 'IPv6SubnetLen', min: 'IPv6SubnetMin', max: 'IPv6SubnetMax', net: 'IPv6Network', maxLen: 126, minNetPrefix: 124, bigNetPrefix: 62, bigNetLen: 64
    })
    conf.ipv6SubnetLen = r.len; conf.ipv6SubnetMin = r.min; conf.ipv6SubnetMax = r.max
  }
  return conf
}

interface FamilyRules {
  len: string, min: string, max: string, net: string
  /** A node subnet needs room for the VXLAN device address and a bridge: /30 (v6 /126) at most. */
  maxLen: number
  /** Without an explicit length the network is split at least in four: /28 (v6 /124) at least. */
  minNetPrefix: number
  /** Networks up to this prefix get `bigNetLen` subnets by default. */
  bigNetPrefix: number
  bigNetLen: number
}

/** flannel's CheckNetworkConfig for one family: defaults and coherence of length and bounds. */
function checkFamily (net: ip.Cidr, givenLen: number | undefined, givenMin: string | undefined, givenMax: string | undefined, k: FamilyRules): { len: number, min: string, max: string } {
  const netText = ip.formatCidr(net)
  let len: number
  if (givenLen !== undefined && givenLen > 0) {
    if (givenLen > k.maxLen) throw bad(`${k.len} ${givenLen} is too long: it must be at most ${k.maxLen}, so that each node's subnet holds the VXLAN device address and a bridge`)
    // The first subnet is never leased, so two subnets would leave a single usable one.
    if (givenLen < net.prefixLen + 2) throw bad(`${k.len} ${givenLen} is too short for ${k.net} ${netText}: it must be at least ${net.prefixLen + 2}, so that the network holds at least four subnets`)
    len = givenLen
  } else if (net.prefixLen > k.minNetPrefix) {
    throw bad(`${k.net} ${netText} is too small: without ${k.len} the network must be a /${k.minNetPrefix} or larger`)
  } else {
    len = net.prefixLen <= k.bigNetPrefix ? k.bigNetLen : net.prefixLen + 2
  }
  const bits = net.family === 4 ? 32 : 128
  const size = 1n << BigInt(bits - len)
  const base = ip.toBigInt(net.address)
  const bound = (given: string | undefined, key: string, dflt: bigint): string => {
    if (given === undefined) return ip.fromBigInt(dflt, net.family)
    if (!ip.contains(net, given)) throw bad(`${key} ${given} is not inside ${k.net} ${netText}`)
    if (ip.networkOf({ family: net.family, address: given, prefixLen: len }) !== given) throw bad(`${key} ${given} is not on a /${len} boundary (${k.len})`)
    return given
  }
  // Skip the first subnet: its `.0` would be the address of the whole Network.
  const min = bound(givenMin, k.min, base + size)
  const max = bound(givenMax, k.max, ip.toBigInt(ip.lastOf(net)) + 1n - size)
  if (ip.toBigInt(min) > ip.toBigInt(max)) throw bad(`${k.min} ${min} lies above ${k.max} ${max}: no subnet could ever be leased`)
  return { len, min, max }
}

function parseBackend (v: unknown, onWarning: ((m: string) => void) | undefined): VxlanBackendConf {
  if (v === undefined) {
    throw bad('Backend is missing: flannel would fall back to the "udp" backend, which this agent does not implement; set "Backend": {"Type": "vxlan"}')
  }
  if (!isObject(v)) throw bad(`Backend must be an object such as {"Type": "vxlan"}, got ${describe(v)}`)
  const f = fields(v, backendKeys, 'Backend.', onWarning)
  const type = f.Type
  if (type === undefined) throw bad('Backend.Type is missing: set it to "vxlan"')
  if (typeof type !== 'string') throw bad(`Backend.Type must be a string, got ${describe(type)}`)
  // flannel looks backends up by their lower-cased name.
  if (type.toLowerCase() !== 'vxlan') throw bad(`Backend.Type "${type}" is not supported: weft vxland implements only the "vxlan" backend`)
  for (const k of ['MacPrefix', 'Name'] as const) {
    if (f[k] !== undefined) onWarning?.(`net-conf: Backend.${k} is a Windows-only option of flannel and is ignored`)
  }
  const vni = int(f, 'VNI', 'Backend.', 0, 0xffffff) ?? DEFAULT_VNI
  const port = int(f, 'Port', 'Backend.', 0, 65535) ?? 0
  const mtu = int(f, 'MTU', 'Backend.', 0, 65535)
  // 0 means "the external interface's MTU", as in flannel; otherwise the VXLAN device gets MTU − 50 ≥ 68.
  if (mtu !== undefined && mtu !== 0 && mtu < 68 + VXLAN_OVERHEAD) {
    throw bad(`Backend.MTU ${mtu} is too small: the VXLAN device gets MTU − ${VXLAN_OVERHEAD}, which must be at least 68`)
  }
  return {
    type: 'vxlan',
    vni,
    port,
    mtu: mtu === 0 ? undefined : mtu,
    gbp: bool(f, 'GBP', false, 'Backend.'),
    learning: bool(f, 'Learning', false, 'Backend.'),
    directRouting: bool(f, 'DirectRouting', false, 'Backend.')
  }
}

/** Go's encoding/json field matching: exact or case-insensitive; null is absent; later keys win. */
function fields<K extends string> (obj: Record<string, unknown>, keys: readonly K[], where: string, onWarning: ((m: string) => void) | undefined): Fields<K> {
  const byLower = new Map(keys.map((k) => [k.toLowerCase(), k]))
  const out: Fields<K> = {}
  for (const [key, value] of Object.entries(obj)) {
    const k = byLower.get(key.toLowerCase())
    if (k === undefined) {
      onWarning?.(`net-conf: unknown key ${where}${key} is ignored`)
      continue
    }
    if (value === null) delete out[k]
    else out[k] = value
  }
  return out
}

function bool<K extends string> (f: Fields<K>, key: K, dflt: boolean, where = ''): boolean {
  const v = f[key]
  if (v === undefined) return dflt
  if (typeof v !== 'boolean') throw bad(`${where}${key} must be true or false, got ${describe(v)}`)
  return v
}

function int<K extends string> (f: Fields<K>, key: K, where: string, min: number, max: number): number | undefined {
  const v = f[key]
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw bad(`${where}${key} must be an integer from ${min} to ${max}, got ${describe(v)}`)
  }
  return v
}

function uint<K extends string> (f: Fields<K>, key: K, max: number): number | undefined {
  return int(f, key, '', 0, max)
}

function cidr<K extends string> (f: Fields<K>, key: K, family: 4 | 6): ip.Cidr | undefined {
  const v = f[key]
  if (v === undefined) return undefined
  const example = family === 4 ? '"10.244.0.0/16"' : '"fd00:10:244::/56"'
  if (typeof v !== 'string') throw bad(`${key} must be an IPv${family} CIDR string such as ${example}, got ${describe(v)}`)
  let c: ip.Cidr
  try {
    c = ip.parseCidr(v)
  } catch (err) {
    throw bad(`${key} "${v}" is not a CIDR such as ${example}`, err)
  }
  if (c.family !== family) throw bad(`${key} "${v}" is not an IPv${family} CIDR (e.g. ${example})`)
  return { ...c, address: ip.networkOf(c) }
}

function addr<K extends string> (f: Fields<K>, key: K, family: 4 | 6): string | undefined {
  const v = f[key]
  if (v === undefined) return undefined
  if (typeof v !== 'string' || ip.familyOf(v) !== family) throw bad(`${key} must be an IPv${family} address string, got ${describe(v)}`)
  return ip.canonical(v)
}

function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function describe (v: unknown): string {
  if (Array.isArray(v)) return 'an array'
  if (v === null) return 'null'
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'object') return 'an object'
  return String(v)
}

function bad (message: string, cause?: unknown): VxlanError {
  return new VxlanError('VXLAN_ERR_NETCONF', `net-conf: ${message}`, cause !== undefined ? { cause } : undefined)
}
