/**
 * portmap configuration: the reference plugin's keys, validated before
 * anything touches the kernel. Field meanings and defaults follow
 * containernetworking/plugins `plugins/meta/portmap/main.go` (v1.1.1).
 */
import { invalidConfig } from '../skel/index.js'
import type { CmdArgs, Result } from '../skel/index.js'
import { ip } from '../../kernel/index.js'
import type { Family } from '../../kernel/index.js'

/** One entry of `runtimeConfig.portMappings` (CNI CONVENTIONS.md, capability `portMappings`). */
export interface PortMapping {
  hostPort: number
  containerPort: number
  /** Lower-cased: 'tcp', 'udp' or 'sctp'. */
  protocol: string
  /** Canonical address text; undefined when not given. */
  hostIP: string | undefined
}

/** A container address as the previous result gave it (host bits kept, as the reference writes it). */
export interface ContainerNet {
  family: Family
  address: string
  prefixLen: number
}

export interface PortmapConf {
  name: string
  cniVersion: string
  /** Mark hairpin and localhost traffic for masquerade (default true). */
  snat: boolean
  /** Mark every forwarded connection, not only those from the container's own network. */
  masqAll: boolean
  /** Bit of the packet mark meaning "masquerade me" (default 13 → 0x2000). */
  markMasqBit: number
  /** Jump here instead of CNI-HOSTPORT-SETMARK, and create no SETMARK/MASQ chains. */
  externalSetMarkChain: string | undefined
  /** Extra match arguments appended to the entry rules, per family. */
  conditionsV4: string[] | undefined
  conditionsV6: string[] | undefined
  portMappings: PortMapping[]
  prevResult: Result | undefined
  /** First IPv4 / IPv6 address of the container interface in `prevResult`. */
  containerV4: ContainerNet | undefined
  containerV6: ContainerNet | undefined
}

export const DEFAULT_MARK_BIT = 13
const protocols = new Set(['tcp', 'udp', 'sctp'])
// iptables chain names: up to 28 characters, no whitespace, not an option.
const chainNameRe = /^[^\s!-][^\s!]{0,27}$/

function isInt (v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v)
}

function optBool (conf: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = conf[key]
  if (v === undefined || v === null) return dflt
  if (typeof v !== 'boolean') throw invalidConfig(`failed to parse config: ${key} must be a boolean`)
  return v
}

function conditions (conf: Record<string, unknown>, key: string): string[] | undefined {
  const v = conf[key]
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw invalidConfig(`failed to parse config: ${key} must be a list of strings`)
  for (const w of v as string[]) {
    if (/[\n\r\0]/.test(w)) throw invalidConfig(`failed to parse config: ${key} holds a line break or NUL`)
  }
  return v as string[]
}

function parseMapping (raw: unknown, i: number): PortMapping {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalidConfig(`failed to parse config: portMappings[${i}] is not an object`)
  const m = raw as Record<string, unknown>
  if (!isInt(m.containerPort) || m.containerPort <= 0 || m.containerPort > 65535) {
    throw invalidConfig(`Invalid container port number: ${String(m.containerPort)}`)
  }
  if (!isInt(m.hostPort) || m.hostPort <= 0 || m.hostPort > 65535) {
    throw invalidConfig(`Invalid host port number: ${String(m.hostPort)}`)
  }
  const protocol = typeof m.protocol === 'string' ? m.protocol.toLowerCase() : ''
  if (!protocols.has(protocol)) throw invalidConfig(`Invalid protocol "${String(m.protocol)}" in portMappings[${i}]: must be tcp, udp or sctp`)
  let hostIP: string | undefined
  if (m.hostIP !== undefined && m.hostIP !== null && m.hostIP !== '') {
    if (typeof m.hostIP !== 'string' || ip.familyOf(m.hostIP) === undefined) throw invalidConfig(`Invalid host IP "${String(m.hostIP)}" in portMappings[${i}]`)
    hostIP = ip.canonical(m.hostIP)
  }
  return { hostPort: m.hostPort, containerPort: m.containerPort, protocol, hostIP }
}

/** The `runtimeConfig.portMappings` list, unparsed (DEL only needs to know it is not empty). */
function rawMappings (conf: Record<string, unknown>): unknown[] {
  const rc = conf.runtimeConfig
  if (typeof rc !== 'object' || rc === null) return []
  const pm = (rc as Record<string, unknown>).portMappings
  if (pm === undefined || pm === null) return []
  if (!Array.isArray(pm)) throw invalidConfig('failed to parse config: runtimeConfig.portMappings must be a list')
  return pm
}

/**
 * The container's addresses the reference forwards to: per family the first
 * address of `prevResult.ips` whose interface is `ifName` inside a sandbox
 * (addresses without an interface index, or with one out of range, count).
 */
export function containerNets (prev: Result, ifName: string): { v4: ContainerNet | undefined, v6: ContainerNet | undefined } {
  let v4: ContainerNet | undefined
  let v6: ContainerNet | undefined
  for (const x of prev.ips ?? []) {
    let c: ip.Cidr
    try { c = ip.parseCidr(x.address) } catch { throw invalidConfig(`could not parse prevResult: invalid address "${x.address}"`) }
    if ((c.family === 4 && v4 !== undefined) || (c.family === 6 && v6 !== undefined)) continue
    if (x.interface !== undefined) {
      const itf = prev.interfaces?.[x.interface]
      if (x.interface >= 0 && itf !== undefined && (itf.name !== ifName || (itf.sandbox ?? '') === '')) continue
    }
    const net = { family: c.family, address: c.address, prefixLen: c.prefixLen }
    if (c.family === 4) v4 = net
    else v6 = net
  }
  return { v4, v6 }
}

/** Parses and validates everything ADD and CHECK need. Throws code 7 on any problem. */
export function loadPortmapConf (args: CmdArgs): PortmapConf {
  const conf = args.conf as Record<string, unknown>
  const snat = optBool(conf, 'snat', true)
  const masqAll = optBool(conf, 'masqAll', false)
  const bitRaw = conf.markMasqBit
  const extRaw = conf.externalSetMarkChain
  const hasBit = bitRaw !== undefined && bitRaw !== null
  const hasExt = extRaw !== undefined && extRaw !== null
  if (hasBit && hasExt) throw invalidConfig('Cannot specify externalSetMarkChain and markMasqBit')
  let markMasqBit = DEFAULT_MARK_BIT
  if (hasBit) {
    if (!isInt(bitRaw) || bitRaw < 0 || bitRaw > 31) throw invalidConfig('MasqMarkBit must be between 0 and 31')
    markMasqBit = bitRaw
  }
  let externalSetMarkChain: string | undefined
  if (hasExt) {
    if (typeof extRaw !== 'string' || !chainNameRe.test(extRaw)) throw invalidConfig(`invalid externalSetMarkChain ${JSON.stringify(extRaw)}: an iptables chain name of at most 28 characters`)
    externalSetMarkChain = extRaw
  }
  const backend = conf.backend
  if (backend !== undefined && backend !== null && backend !== '' && backend !== 'iptables') {
    throw invalidConfig(`unsupported portmap backend ${JSON.stringify(backend)}: this build implements "iptables" only`)
  }
  const portMappings = rawMappings(conf).map(parseMapping)
  const prevResult = args.conf.prevResult
  const nets = prevResult !== undefined ? containerNets(prevResult, args.ifName) : { v4: undefined, v6: undefined }
  return {
    name: args.conf.name,
    cniVersion: args.conf.cniVersion,
    snat,
    masqAll,
    markMasqBit,
    externalSetMarkChain,
    conditionsV4: conditions(conf, 'conditionsV4'),
    conditionsV6: conditions(conf, 'conditionsV6'),
    portMappings,
    prevResult,
    containerV4: nets.v4,
    containerV6: nets.v6
  }
}

/**
 * DEL reads only whether there are port mappings: the chains to remove are
 * named by network and container ID, so a DEL with an otherwise broken config
 * (or no prevResult) still cleans up.
 */
export function delHasMappings (args: CmdArgs): boolean {
  try {
    return rawMappings(args.conf as Record<string, unknown>).length > 0
  } catch {
    return true // unreadable: clean up rather than leak
  }
}
