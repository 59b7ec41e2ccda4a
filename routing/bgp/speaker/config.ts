/**
 * `weft bgpd --config FILE`: YAML or JSON (docs/bgp.md has the schema). `parseConfig` checks every key and throws
 * `BgpdError('BGPD_ERR_CONFIG')` naming the first bad one; what it returns has every default filled in.
 */
import * as fs from 'node:fs'
import { createRequire } from 'node:module'
import { ip } from '../../../kernel/index.js'
import { BgpdError } from '../errors.js'
import { compilePolicy } from '../rib/index.js'
import type { PolicyConfig } from '../rib/index.js'

export type FamilyName = 'ipv4' | 'ipv6'

export interface PeerConfig {
  address: string
  asn: number
  port: number
  passive: boolean
  routeReflectorClient: boolean
  holdTime: number
  keepaliveTime: number | undefined
  connectRetryTime: number
  idleHoldTime: number
  families: FamilyName[]
  policy: { import: PolicyConfig | 'accept' | 'reject' | undefined, export: PolicyConfig | 'accept' | 'reject' | undefined }
  maxPrefixes: number | undefined
  nextHopSelf: boolean
  /** Source address for our connection, and the next hop for routes we originate when the session is of that family. */
  localAddress: string | undefined
  /** Our next hop for IPv6 routes on an IPv4 session and for IPv4 routes on an IPv6 session. */
  nextHop4: string | undefined
  nextHop6: string | undefined
  /** RFC 4724: advertise Graceful Restart to this peer and keep its routes while it restarts. */
  gracefulRestart: boolean
  /** RFC 8654: advertise Extended Message; UPDATEs up to 65535 octets both ways when the peer does too. */
  extendedMessages: boolean
  /** RFC 7313: advertise Enhanced Route Refresh (BoRR/EoRR around a re-advertisement, stale routes purged at EoRR). */
  enhancedRouteRefresh: boolean
  /**
   * RFC 7911 ADD-PATH for every family of the session: 'receive' takes several paths of a prefix from the peer (each
   * kept under its path identifier), 'send' advertises the peer every path we may send it, 'both', or 'off'.
   */
  addPath: 'off' | 'receive' | 'send' | 'both'
  description: string | undefined
}

export interface AnnounceConfig {
  prefix: string
  nextHop: string | undefined
  communities: string[]
  localPref: number | undefined
  med: number | undefined
}

export interface BgpdConfig {
  routerId: string
  asn: number
  listen: { address: string, port: number } | undefined
  clusterId: string | undefined
  peers: PeerConfig[]
  announce: AnnounceConfig[]
  fib: { enabled: boolean, table: number, protocol: number, ecmp: boolean, resyncSeconds: number }
  api: { socket: string }
  gracefulRestart: { restartTime: number, staleTime: number }
}

/** The API socket the CLI looks for when given no --socket. */
export const DEFAULT_API_SOCKET = process.env.WEFT_BGPD_SOCKET ?? '/run/weft/bgpd.sock'
/** Our route protocol number in the kernel (RTPROT_*; 186 is RTPROT_BGP, which BIRD and FRR use: we stay apart). */
export const DEFAULT_FIB_PROTOCOL = 196

function bad (key: string, why: string): never {
  throw new BgpdError('BGPD_ERR_CONFIG', `${key}: ${why}`)
}

type Obj = Record<string, unknown>
function obj (v: unknown, key: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(key, 'must be an object')
  return v as Obj
}
function known (o: Obj, key: string, keys: string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) bad(`${key}.${k}`, 'unknown key')
}
function int (v: unknown, key: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(key, `must be an integer in [${min}, ${max}]`)
  return v
}
function optInt (v: unknown, key: string, min: number, max: number): number | undefined {
  return v === undefined ? undefined : int(v, key, min, max)
}
function bool (v: unknown, key: string, def: boolean): boolean {
  if (v === undefined) return def
  if (typeof v !== 'boolean') bad(key, 'must be true or false')
  return v
}
function str (v: unknown, key: string): string {
  if (typeof v !== 'string' || v === '') bad(key, 'must be a non-empty string')
  return v
}
function addr (v: unknown, key: string, family?: 4 | 6): string {
  const s = str(v, key)
  const f = ip.familyOf(s)
  if (f === undefined || (family !== undefined && f !== family)) bad(key, `"${s}" is not an IPv${family ?? '4 or IPv6'} address`)
  return ip.canonical(s)
}
function optAddr (v: unknown, key: string, family?: 4 | 6): string | undefined {
  return v === undefined ? undefined : addr(v, key, family)
}
function holdTime (v: unknown, key: string, def: number): number {
  const h = v === undefined ? def : int(v, key, 0, 65535)
  if (h === 1 || h === 2) bad(key, 'must be 0 or at least 3 (RFC 4271 §4.2)')
  return h
}
function prefix (v: unknown, key: string): string {
  const s = str(v, key)
  let c: ip.Cidr
  try { c = ip.parseCidr(s) } catch { bad(key, `"${s}" is not a prefix`) }
  if (!s.includes('/')) bad(key, `"${s}" has no prefix length`)
  const net = ip.formatCidr({ address: ip.networkOf(c), prefixLen: c.prefixLen })
  if (net !== ip.formatCidr(c)) bad(key, `"${s}" has host bits set (did you mean ${net}?)`)
  return net
}
function policy (v: unknown, key: string): PolicyConfig | 'accept' | 'reject' | undefined {
  if (v === undefined) return undefined
  if (v === 'accept' || v === 'reject') return v
  const o = obj(v, key)
  known(o, key, ['rules', 'default'])
  try { compilePolicy(o as PolicyConfig) } catch (e) { bad(key, (e as Error).message) }
  return o as PolicyConfig
}

function peer (v: unknown, key: string, defaults: { holdTime: number, connectRetryTime: number }): PeerConfig {
  const o = obj(v, key)
  known(o, key, ['address', 'asn', 'port', 'passive', 'routeReflectorClient', 'holdTime', 'keepaliveTime', 'connectRetryTime', 'extendedMessages', 'enhancedRouteRefresh', 'addPath',
    'idleHoldTime', 'families', 'policy', 'maxPrefixes', 'nextHopSelf', 'localAddress', 'nextHop4', 'nextHop6',
    'gracefulRestart', 'description'])
  const families = o.families === undefined ? ['ipv4', 'ipv6'] : o.families
  if (!Array.isArray(families) || families.length === 0 || families.some((f) => f !== 'ipv4' && f !== 'ipv6')) bad(`${key}.families`, 'must be a non-empty list of "ipv4", "ipv6"')
  const pol = o.policy === undefined ? {} : obj(o.policy, `${key}.policy`)
  known(pol, `${key}.policy`, ['import', 'export'])
  return {
    address: addr(o.address, `${key}.address`),
    asn: int(o.asn, `${key}.asn`, 1, 0xffffffff),
    port: o.port === undefined ? 179 : int(o.port, `${key}.port`, 1, 65535),
    passive: bool(o.passive, `${key}.passive`, false),
    routeReflectorClient: bool(o.routeReflectorClient, `${key}.routeReflectorClient`, false),
    holdTime: holdTime(o.holdTime, `${key}.holdTime`, defaults.holdTime),
    keepaliveTime: optInt(o.keepaliveTime, `${key}.keepaliveTime`, 1, 21845),
    connectRetryTime: o.connectRetryTime === undefined ? defaults.connectRetryTime : int(o.connectRetryTime, `${key}.connectRetryTime`, 1, 65535),
    idleHoldTime: o.idleHoldTime === undefined ? 1 : int(o.idleHoldTime, `${key}.idleHoldTime`, 0, 3600),
    families: [...new Set(families as FamilyName[])],
    policy: { import: policy(pol.import, `${key}.policy.import`), export: policy(pol.export, `${key}.policy.export`) },
    maxPrefixes: optInt(o.maxPrefixes, `${key}.maxPrefixes`, 1, 0xffffffff),
    nextHopSelf: bool(o.nextHopSelf, `${key}.nextHopSelf`, false),
    localAddress: optAddr(o.localAddress, `${key}.localAddress`),
    nextHop4: optAddr(o.nextHop4, `${key}.nextHop4`, 4),
    nextHop6: optAddr(o.nextHop6, `${key}.nextHop6`, 6),
    gracefulRestart: bool(o.gracefulRestart, `${key}.gracefulRestart`, true),
    extendedMessages: bool(o.extendedMessages, `${key}.extendedMessages`, true),
    enhancedRouteRefresh: bool(o.enhancedRouteRefresh, `${key}.enhancedRouteRefresh`, true),
    addPath: o.addPath === undefined ? 'off' : oneOf(o.addPath, `${key}.addPath`, ['off', 'receive', 'send', 'both'] as const),
    description: o.description === undefined ? undefined : str(o.description, `${key}.description`)
  }
}

function oneOf<T extends string> (v: unknown, key: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) bad(key, `must be one of ${allowed.join(', ')}`)
  return v as T
}

export function announceEntry (v: unknown, key: string): AnnounceConfig {
  if (typeof v === 'string') return { prefix: prefix(v, key), nextHop: undefined, communities: [], localPref: undefined, med: undefined }
  const o = obj(v, key)
  known(o, key, ['prefix', 'nextHop', 'communities', 'localPref', 'med'])
  const communities = o.communities === undefined ? [] : o.communities
  if (!Array.isArray(communities) || communities.some((c) => typeof c !== 'string' || !/^\d+:\d+$/.test(c))) bad(`${key}.communities`, 'must be a list of "ASN:VALUE"')
  const p = prefix(o.prefix, `${key}.prefix`)
  return {
    prefix: p,
    nextHop: optAddr(o.nextHop, `${key}.nextHop`, p.includes(':') ? 6 : 4),
    communities: communities as string[],
    localPref: optInt(o.localPref, `${key}.localPref`, 0, 0xffffffff),
    med: optInt(o.med, `${key}.med`, 0, 0xffffffff)
  }
}

/** Validates a parsed document (YAML or JSON) into a full configuration. */
export function parseConfig (doc: unknown): BgpdConfig {
  const o = obj(doc, 'config')
  known(o, 'config', ['routerId', 'asn', 'listen', 'clusterId', 'peers', 'announce', 'fib', 'api', 'holdTime', 'connectRetryTime', 'gracefulRestart'])
  const routerId = addr(o.routerId, 'routerId', 4)
  if (routerId === '0.0.0.0') bad('routerId', 'must not be 0.0.0.0')
  const defaults = { holdTime: holdTime(o.holdTime, 'holdTime', 90), connectRetryTime: o.connectRetryTime === undefined ? 5 : int(o.connectRetryTime, 'connectRetryTime', 1, 65535) }
  let listen: BgpdConfig['listen'] = { address: '0.0.0.0', port: 179 }
  if (o.listen === false) listen = undefined
  else if (o.listen !== undefined) {
    const l = obj(o.listen, 'listen')
    known(l, 'listen', ['address', 'port'])
    listen = { address: l.address === undefined ? '0.0.0.0' : addr(l.address, 'listen.address'), port: l.port === undefined ? 179 : int(l.port, 'listen.port', 0, 65535) }
  }
  const peersRaw = o.peers === undefined ? [] : o.peers
  if (!Array.isArray(peersRaw)) bad('peers', 'must be a list')
  const peers = peersRaw.map((p, i) => peer(p, `peers[${i}]`, defaults))
  const seen = new Set<string>()
  for (const p of peers) { if (seen.has(p.address)) bad('peers', `${p.address} is listed twice`); seen.add(p.address) }
  const annRaw = o.announce === undefined ? [] : o.announce
  if (!Array.isArray(annRaw)) bad('announce', 'must be a list')
  const fib = o.fib === undefined ? {} : obj(o.fib, 'fib')
  known(fib, 'fib', ['enabled', 'table', 'protocol', 'ecmp', 'resyncSeconds'])
  const api = o.api === undefined ? {} : obj(o.api, 'api')
  known(api, 'api', ['socket'])
  const gr = o.gracefulRestart === undefined ? {} : obj(o.gracefulRestart, 'gracefulRestart')
  known(gr, 'gracefulRestart', ['restartTime', 'staleTime'])
  return {
    routerId,
    asn: int(o.asn, 'asn', 1, 0xffffffff),
    listen,
    clusterId: optAddr(o.clusterId, 'clusterId', 4),
    peers,
    announce: annRaw.map((a, i) => announceEntry(a, `announce[${i}]`)),
    fib: {
      enabled: bool(fib.enabled, 'fib.enabled', false),
      table: fib.table === undefined ? 254 : int(fib.table, 'fib.table', 1, 0xfffffffe),
      protocol: fib.protocol === undefined ? DEFAULT_FIB_PROTOCOL : int(fib.protocol, 'fib.protocol', 5, 255),
      ecmp: bool(fib.ecmp, 'fib.ecmp', false),
      resyncSeconds: fib.resyncSeconds === undefined ? 5 : int(fib.resyncSeconds, 'fib.resyncSeconds', 1, 3600)
    },
    api: { socket: api.socket === undefined ? DEFAULT_API_SOCKET : str(api.socket, 'api.socket') },
    gracefulRestart: {
      restartTime: gr.restartTime === undefined ? 120 : int(gr.restartTime, 'gracefulRestart.restartTime', 1, 4095),
      staleTime: gr.staleTime === undefined ? 360 : int(gr.staleTime, 'gracefulRestart.staleTime', 1, 65535)
    }
  }
}

/** Reads and validates a configuration file (YAML, which includes JSON). */
export function loadConfig (file: string): BgpdConfig {
  let text: string
  try { text = fs.readFileSync(file, 'utf8') } catch (e) { throw new BgpdError('BGPD_ERR_CONFIG', `${file}: ${(e as Error).message}`) }
  let doc: unknown
  try { doc = parseDocument(text) } catch (e) { throw new BgpdError('BGPD_ERR_CONFIG', `${file}: ${(e as Error).message}`) }
  return parseConfig(doc)
}

/**
 * JSON as JSON; anything else (or JSON that does not parse, for YAML's error messages) through the YAML parser,
 * loaded only then: the `yaml` package costs a daemon about 8 MB resident.
 */
function parseDocument (text: string): unknown {
  if (/^\s*[{[]/.test(text)) {
    try { return JSON.parse(text) } catch { /* YAML flow style, or broken: the YAML parser says which */ }
  }
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml')
  return yaml.parse(text)
}
