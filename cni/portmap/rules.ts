/**
 * The portmap ruleset as data, built purely from the configuration. Chain
 * names, rule contents and rule order are those of the reference plugin, so
 * either implementation can tear down what the other set up:
 *
 *   PREROUTING, OUTPUT:  -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
 *   CNI-HOSTPORT-DNAT:   -m comment --comment 'dnat name: "<net>" id: "<cid>"'
 *                        -m multiport -p <proto> --destination-ports <≤15 ports> -j CNI-DN-<hash>
 *   CNI-DN-<hash>:       per mapping: hairpin mark, localhost mark (v4), DNAT
 *   CNI-HOSTPORT-SETMARK: -j MARK --set-xmark <bit>/<bit>
 *   POSTROUTING (first): -j CNI-HOSTPORT-MASQ
 *   CNI-HOSTPORT-MASQ:   -m mark --mark <bit>/<bit> -j MASQUERADE
 *
 * The top-level names must never change: nodes upgrade in place.
 */
import { createHash } from 'node:crypto'
import { canonicalRule } from '../../kernel/index.js'
import type { ContainerNet, PortMapping, PortmapConf } from './config.js'

export const TOPLEVEL_DNAT_CHAIN = 'CNI-HOSTPORT-DNAT'
export const SETMARK_CHAIN = 'CNI-HOSTPORT-SETMARK'
export const MASQ_CHAIN = 'CNI-HOSTPORT-MASQ'
/** Entry chain of the per-container SNAT chains of old reference versions; only ever torn down. */
export const OLD_SNAT_CHAIN = 'CNI-HOSTPORT-SNAT'

const MAX_CHAIN_LENGTH = 28
const MULTIPORT_MAX = 15
const MAX_COMMENT = 255

/** A chain, its rules, and the rules in other chains that lead to it (without their `-j <name>`). */
export interface ChainSpec {
  name: string
  rules: string[][]
  entryChains: string[]
  entryRules: string[][]
  /** Entry rules go first in their chain (only POSTROUTING → CNI-HOSTPORT-MASQ). */
  prependEntry: boolean
}

/** `CNI-<prefix><sha512(network + containerID) in hex>`, cut to 28 characters, as the reference's FormatChainNameWithPrefix. */
export function chainNameWithPrefix (network: string, containerId: string, prefix: string): string {
  const hex = createHash('sha512').update(network + containerId).digest('hex')
  return `CNI-${prefix}${hex}`.slice(0, MAX_CHAIN_LENGTH)
}

export const dnatChainName = (network: string, containerId: string): string => chainNameWithPrefix(network, containerId, 'DN-')
export const oldSnatChainName = (network: string, containerId: string): string => chainNameWithPrefix(network, containerId, 'SN-')

/**
 * Comments longer than iptables' 255 characters are cut. The reference writes
 * the first 253 characters plus "..." (256 in all) and iptables keeps 255 of
 * them; writing exactly what the kernel keeps gives the same rule, and also
 * fits iptables builds that reject an over-long comment.
 */
export function trimComment (s: string): string {
  return s.length <= MAX_COMMENT ? s : s.slice(0, MAX_COMMENT - 2) + '..'
}

export function markDef (bit: number): string {
  const v = ((1 << bit) >>> 0).toString(16)
  return `0x${v}/0x${v}`
}

export function toplevelDnatChain (): ChainSpec {
  return {
    name: TOPLEVEL_DNAT_CHAIN,
    rules: [],
    entryChains: ['PREROUTING', 'OUTPUT'],
    entryRules: [['-m', 'addrtype', '--dst-type', 'LOCAL']],
    prependEntry: false
  }
}

export function setMarkChain (bit: number): ChainSpec {
  return {
    name: SETMARK_CHAIN,
    rules: [['-m', 'comment', '--comment', 'CNI portfwd masquerade mark', '-j', 'MARK', '--set-xmark', markDef(bit)]],
    entryChains: [],
    entryRules: [],
    prependEntry: false
  }
}

export function markMasqChain (bit: number): ChainSpec {
  return {
    name: MASQ_CHAIN,
    rules: [['-m', 'mark', '--mark', markDef(bit), '-j', 'MASQUERADE']],
    // First in POSTROUTING, or the bridge and ptp plugins' masquerade chains would take these packets first.
    entryChains: ['POSTROUTING'],
    entryRules: [['-m', 'comment', '--comment', 'CNI portfwd requiring masquerade']],
    prependEntry: true
  }
}

/** `ip:port`, with v6 addresses in brackets. */
function ipPort (net: ContainerNet, port: number): string {
  return net.family === 6 ? `[${net.address}]:${port}` : `${net.address}:${port}`
}

function isUnspecified (addr: string): boolean {
  return addr === '0.0.0.0' || addr === '::'
}

/** Drops rules equal (as the kernel compares them) to an earlier one, as the reference's check-then-append does. */
function unique (rules: string[][], net: ContainerNet): string[][] {
  const seen = new Set<string>()
  return rules.filter((r) => {
    const key = canonicalRule(r, net.family).join('\0')
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/** Host ports per protocol, protocols in sorted order, ports in mapping order; split into multiport lists of at most 15. */
function portLists (mappings: readonly PortMapping[]): Array<[string, string]> {
  const byProto = new Map<string, number[]>()
  for (const m of mappings) byProto.set(m.protocol, [...(byProto.get(m.protocol) ?? []), m.hostPort])
  const out: Array<[string, string]> = []
  for (const proto of [...byProto.keys()].sort()) {
    const ports = byProto.get(proto) ?? []
    for (let i = 0; i < ports.length; i += MULTIPORT_MAX) out.push([proto, ports.slice(i, i + MULTIPORT_MAX).join(',')])
  }
  return out
}

/** The per-container chain for one container address. */
export function dnatChain (conf: PortmapConf, containerId: string, net: ContainerNet): ChainSpec {
  const v6 = net.family === 6
  const comment = trimComment(`dnat name: "${conf.name}" id: "${containerId}"`)
  const conditions = (v6 ? conf.conditionsV6 : conf.conditionsV4) ?? []
  // Entry rules name every mapped port of the protocol, whichever family its hostIP is.
  const entryRules = portLists(conf.portMappings).map(([proto, ports]) =>
    ['-m', 'comment', '--comment', comment, '-m', 'multiport', '-p', proto, '--destination-ports', ports, ...conditions])

  const setMark = conf.externalSetMarkChain ?? SETMARK_CHAIN
  const rules: string[][] = []
  for (const m of conf.portMappings) {
    let dst: string[] = []
    if (m.hostIP !== undefined) {
      if ((m.hostIP.includes(':') ? 6 : 4) !== net.family) continue // a hostIP of the other family: not this table's business
      if (!isUnspecified(m.hostIP)) dst = ['-d', m.hostIP]
    }
    const base = ['-p', m.protocol, '--dport', String(m.hostPort), ...dst]
    // The mark rules come first: DNAT ends the chain's traversal.
    if (conf.snat) {
      const from = conf.masqAll ? (v6 ? '::/0' : '0.0.0.0/0') : `${net.address}/${net.prefixLen}`
      rules.push([...base, '-s', from, '-j', setMark]) // hairpin: the container reaching itself through the host port
      if (!v6 && !conf.masqAll) rules.push([...base, '-s', '127.0.0.1', '-j', setMark]) // the node's own 127.0.0.1
    }
    rules.push([...base, '-j', 'DNAT', '--to-destination', ipPort(net, m.containerPort)])
  }
  return {
    name: dnatChainName(conf.name, containerId),
    rules: unique(rules, net),
    entryChains: [TOPLEVEL_DNAT_CHAIN],
    entryRules: unique(entryRules, net),
    prependEntry: false
  }
}

/** The shared chains a container address needs, in the order the reference sets them up. */
export function sharedChains (conf: PortmapConf): ChainSpec[] {
  const out: ChainSpec[] = []
  if (conf.snat && conf.externalSetMarkChain === undefined) out.push(setMarkChain(conf.markMasqBit), markMasqChain(conf.markMasqBit))
  out.push(toplevelDnatChain())
  return out
}
