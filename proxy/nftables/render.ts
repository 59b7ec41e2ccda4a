/**
 * kube-proxy's nftables layout (pkg/proxy/nftables, 1.33): one table per
 * family (`ip kube-proxy`, `ip6 kube-proxy`), service dispatch through the
 * `service-ips` and `service-nodeports` verdict maps, `numgen random mod N`
 * endpoint choice, a mark-and-masquerade pair of chains, and the
 * `no-endpoint-*` maps that reject (no endpoints) or drop (Local policy
 * without local endpoints) in the filter hooks.
 *
 * Rendering is pure: `baseObjects` are the fixed chains, sets and maps,
 * `serviceObjects` the chains, affinity sets and map elements of one
 * Service. The proxier diffs them per service against what it committed.
 */
import { categorizeEndpoints, externallyAccessible, hashAndTruncate } from '../tracker/index.js'
import type { EndpointInfo, IpFamily, ServicePortInfo } from '../tracker/index.js'

export const TABLE = 'kube-proxy'
export const MASQ_MARK = '0x4000'

export interface NftRenderConfig {
  family: IpFamily
  /** Pod CIDRs of the cluster: traffic from elsewhere to a ClusterIP is masqueraded (`--cluster-cidr`). */
  clusterCIDRs: readonly string[]
  /** Masquerade all traffic to ClusterIPs (`--masquerade-all`). */
  masqueradeAll: boolean
  /** Node IPs accepting NodePorts (`--nodeport-addresses` resolved); undefined: every local address but loopback. */
  nodePortIPs?: readonly string[] | undefined
}

export interface NftChainSpec { name: string, base?: string, rules: string[] }
export interface NftObjects {
  chains: Map<string, string[]>
  /** Sets and maps: name → `{ type … ; flags … ; }` body. */
  sets: Map<string, string>
  /**
   * Map/set name → element key → verdict ('' for a set). The key is the element as written (`elementKeyText`),
   * except in `hairpin`, whose elements pair an endpoint address with itself: there the key is the address.
   */
  elements: Map<string, Map<string, string>>
}

/** The set of `endpoint . endpoint` pairs that masquerading matches (a pod reaching itself through a service). */
export const HAIRPIN = 'hairpin'

export const emptyObjects = (): NftObjects => ({ chains: new Map(), sets: new Map(), elements: new Map() })

export function addElement (o: NftObjects, set: string, key: string, value = ''): void {
  let m = o.elements.get(set)
  if (m === undefined) { m = new Map(); o.elements.set(set, m) }
  m.set(key, value)
}

const fam = (f: IpFamily): 'ip' | 'ip6' => f === 4 ? 'ip' : 'ip6'
const addrType = (f: IpFamily): string => f === 4 ? 'ipv4_addr' : 'ipv6_addr'

/** Base chains: name → hook declaration (kube-proxy 1.33 priorities). */
export const baseChains: ReadonlyArray<[string, string]> = [
  ['filter-prerouting-pre-dnat', 'type filter hook prerouting priority -110 ;'],
  ['filter-output-pre-dnat', 'type filter hook output priority -110 ;'],
  ['filter-forward', 'type filter hook forward priority 0 ;'],
  ['filter-input', 'type filter hook input priority 0 ;'],
  ['filter-output', 'type filter hook output priority 0 ;'],
  ['nat-prerouting', 'type nat hook prerouting priority -100 ;'],
  ['nat-output', 'type nat hook output priority -100 ;'],
  ['nat-postrouting', 'type nat hook postrouting priority 100 ;']
]

/** The fixed part of the table. */
export function baseObjects (cfg: NftRenderConfig): NftObjects {
  const f = fam(cfg.family)
  const at = addrType(cfg.family)
  const o = emptyObjects()
  const loop = cfg.family === 4 ? '127.0.0.0/8' : '::1'
  o.sets.set('cluster-ips', `{ type ${at} ; comment "Active ClusterIPs" ; }`)
  o.sets.set('nodeport-ips', `{ type ${at} ; comment "IPs that accept NodePort traffic" ; }`)
  o.sets.set(HAIRPIN, `{ type ${at} . ${at} ; comment "endpoint . endpoint: a pod reaching itself through a service" ; }`)
  o.sets.set('service-ips', `{ type ${at} . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`)
  o.sets.set('service-nodeports', '{ type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }')
  o.sets.set('no-endpoint-services', `{ type ${at} . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }`)
  o.sets.set('no-endpoint-nodeports', '{ type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }')
  o.sets.set('firewall-ips', `{ type ${at} . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }`)
  const ct = 'ct state new'
  o.chains.set('filter-prerouting-pre-dnat', [`${ct} jump firewall-check`])
  o.chains.set('filter-output-pre-dnat', [`${ct} jump firewall-check`])
  o.chains.set('filter-forward', [`${ct} jump service-endpoints-check`, `${ct} jump cluster-ips-check`])
  o.chains.set('filter-input', [`${ct} jump nodeport-endpoints-check`, `${ct} jump service-endpoints-check`])
  o.chains.set('filter-output', [`${ct} jump service-endpoints-check`, `${ct} jump cluster-ips-check`])
  o.chains.set('nat-prerouting', ['jump services'])
  o.chains.set('nat-output', ['jump services'])
  o.chains.set('nat-postrouting', ['jump masquerading'])
  o.chains.set('mark-for-masquerade', [`mark set mark or ${MASQ_MARK}`])
  o.chains.set('masquerading', [`ct status dnat ${f} saddr . ${f} daddr @hairpin masquerade fully-random`, `mark and ${MASQ_MARK} == 0 return`, `mark set mark xor ${MASQ_MARK}`, 'masquerade fully-random'])
  const nodePortMatch = cfg.nodePortIPs === undefined ? `fib daddr type local ${f} daddr != ${loop}` : `${f} daddr @nodeport-ips`
  o.chains.set('services', [
    `${f} daddr . meta l4proto . th dport vmap @service-ips`,
    `${nodePortMatch} meta l4proto . th dport vmap @service-nodeports`
  ])
  o.chains.set('service-endpoints-check', [`${f} daddr . meta l4proto . th dport vmap @no-endpoint-services`])
  o.chains.set('nodeport-endpoints-check', [`${nodePortMatch} meta l4proto . th dport vmap @no-endpoint-nodeports`])
  o.chains.set('firewall-check', [`${f} daddr . meta l4proto . th dport vmap @firewall-ips`])
  o.chains.set('cluster-ips-check', [`${f} daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`])
  o.chains.set('reject-chain', ['reject'])
  for (const a of cfg.nodePortIPs ?? []) addElement(o, 'nodeport-ips', a)
  return o
}

/** `ns/name/proto/port`: the readable part of a service port's chain names. */
export function servicePortBase (sp: ServicePortInfo): string {
  return `${sp.namespace}/${sp.name}/${sp.protocol}/${sp.portName}`
}

/** `ns/name/proto/port__ip/port` (IPv6 `:` as `.`). */
export function endpointBase (sp: ServicePortInfo, ep: EndpointInfo): string {
  return `${servicePortBase(sp)}__${ep.ip.replace(/:/g, '.')}/${ep.port}`
}

const key3 = (ip: string, proto: string, port: number): string => `${ip} . ${proto} . ${port}`
const dnatTarget = (ep: EndpointInfo): string => ep.ip.includes(':') ? `[${ep.ip}]:${ep.port}` : `${ep.ip}:${ep.port}`

/**
 * One Service's objects as flat arrays, in the order the renderer adds them: what a full sync writes out as they
 * are (no map per service and per set, which were about half of what rendering a service allocated), and what
 * `serviceObjects` turns into maps for a partial sync's diff.
 */
export interface NftServiceParts {
  /** Sets and maps: name, body, name, body, … */
  sets: string[]
  /** Chain names; `rules[i]` are the rules of `chains[i]`. */
  chains: string[]
  rules: string[][]
  /** set, key, value, set, key, value, … ('' value: an element of a set, not of a map). */
  elements: string[]
  /**
   * A one-port service's `hairpin` elements (keyed by address, see `NftObjects.elements`), which come after all of
   * its other elements; a service with several ports has them in `elements`, port by port.
   */
  hairpin: string[]
  /**
   * No set, chain or element key is added twice, so the parts read as they are equal `serviceObjects`' maps (which
   * keep a repeated name at its first position with its last value). True for a service with one port whose
   * endpoint addresses and external destinations are distinct (the usual case); otherwise the parts are only
   * written through those maps.
   */
  distinct: boolean
}

/** Everything one Service (all its ports, one family) adds to the table, as flat parts. */
export function serviceParts (ports: readonly ServicePortInfo[], cfg: NftRenderConfig): NftServiceParts {
  const o: NftServiceParts = { sets: [], chains: [], rules: [], elements: [], hairpin: [], distinct: ports.length === 1 }
  for (let i = 0; i < ports.length; i++) servicePortParts(ports[i] as ServicePortInfo, cfg, o, ports.length === 1)
  return o
}

/** Everything one Service (all its ports, one family) adds to the table, as maps (what a partial sync diffs). */
export function serviceObjects (ports: readonly ServicePortInfo[], cfg: NftRenderConfig, into: NftObjects = emptyObjects()): NftObjects {
  const p = serviceParts(ports, cfg)
  for (let i = 0; i < p.sets.length; i += 2) into.sets.set(p.sets[i] as string, p.sets[i + 1] as string)
  for (let i = 0; i < p.chains.length; i++) into.chains.set(p.chains[i] as string, p.rules[i] as string[])
  for (let i = 0; i < p.elements.length; i += 3) addElement(into, p.elements[i] as string, p.elements[i + 1] as string, p.elements[i + 2] as string)
  for (let i = 0; i < p.hairpin.length; i++) addElement(into, HAIRPIN, p.hairpin[i] as string)
  return into
}

/**
 * Endpoint choice. Without affinity, one rule DNATs through a numgen-keyed map and the hairpin case is caught
 * after DNAT by the `hairpin` set: no chain per endpoint (see README.md: nft's cache fetch before every
 * transaction is proportional to the number of chains in the table). With ClientIP affinity, kube-proxy's
 * per-endpoint chains and affinity sets. The map is one array joined once (a flat string).
 */
function dispatch (sp: ServicePortInfo, eps: readonly EndpointInfo[], f: string, rules: string[]): string[] {
  const n = eps.length
  if (sp.affinitySeconds === 0) {
    // `meta l4proto tcp dnat to numgen random mod 2 map { 0 : 10.0.0.1 . 80, 1 : 10.0.0.2 . 80 }`, joined from
    // three pieces per endpoint: `0 : ` (kept per index), the address, and ` . 80, ` (kept while the port repeats).
    const words = new Array<string>(3 * n + 1)
    words[0] = `meta l4proto ${sp.protocol} dnat to numgen random mod ${n} map { `
    let port = -1
    let portText = ''
    for (let i = 0; i < n; i++) {
      const ep = eps[i] as EndpointInfo
      if (ep.port !== port) { port = ep.port; portText = ` . ${port}, ` }
      words[1 + 3 * i] = indexText(i)
      words[2 + 3 * i] = ep.ip
      words[3 + 3 * i] = i < n - 1 ? portText : ` . ${port} }`
    }
    rules.push(words.join(''))
    return rules
  }
  const names = eps.map((ep) => hashAndTruncate(endpointBase(sp, ep)))
  for (const h of names) rules.push(`${f} saddr @affinity-${h} goto endpoint-${h}`)
  rules.push(`numgen random mod ${n} vmap { ${names.map((h, i) => `${i} : goto endpoint-${h}`).join(', ')} }`)
  return rules
}

/**
 * What follows `ip daddr <ClusterIP> tcp dport <port>` in a service chain's masquerade rule (`--masquerade-all`, or
 * traffic from outside the cluster CIDRs), '' for none; made once per configuration.
 */
const masqueradeMatches = new WeakMap<NftRenderConfig, string>()
function masqueradeMatch (cfg: NftRenderConfig): string {
  let m = masqueradeMatches.get(cfg)
  if (m === undefined) {
    m = cfg.masqueradeAll
      ? ' jump mark-for-masquerade'
      : cfg.clusterCIDRs.length > 0 ? ` ${fam(cfg.family)} saddr != { ${cfg.clusterCIDRs.join(', ')} } jump mark-for-masquerade` : ''
    masqueradeMatches.set(cfg, m)
  }
  return m
}

/** `0 : `, `1 : `, …: the map keys of `dispatch`, made once per index. */
const indexTexts: string[] = []
const indexText = (i: number): string => indexTexts[i] ?? (indexTexts[i] = `${i} : `)

/**
 * Whether the addresses of `eps` are distinct. The model keeps endpoints sorted by `ip:port` text, one per ip:port
 * (`ServicePortInfo.endpoints`), so the endpoints of one address are adjacent: comparing neighbours is enough.
 */
function distinctAddresses (eps: readonly EndpointInfo[]): boolean {
  for (let i = 1; i < eps.length; i++) if ((eps[i - 1] as EndpointInfo).ip === (eps[i] as EndpointInfo).ip) return false
  return true
}

function servicePortParts (sp: ServicePortInfo, cfg: NftRenderConfig, o: NftServiceParts, onePort: boolean): void {
  const f = fam(cfg.family)
  const base = hashAndTruncate(servicePortBase(sp))
  const clusterChain = 'service-' + base
  const localChain = 'local-' + base
  const externalChain = 'external-' + base
  const cat = categorizeEndpoints(sp)
  const usesCluster = cat.clusterEndpoints.length > 0
  const usesLocal = cat.localEndpoints.length > 0 && (sp.internalPolicyLocal || sp.externalPolicyLocal)
  const internalChain = sp.internalPolicyLocal ? localChain : clusterChain
  const hasInternal = sp.internalPolicyLocal ? usesLocal : usesCluster
  const externalTarget = sp.externalPolicyLocal ? localChain : clusterChain
  const hasExternal = sp.externalPolicyLocal ? usesLocal : usesCluster
  const noEndpointVerdict = cat.hasAnyEndpoints ? 'drop' : 'goto reject-chain'
  const proto = sp.protocol
  const els = o.elements

  els.push('cluster-ips', sp.clusterIP, '')
  if (hasInternal) els.push('service-ips', key3(sp.clusterIP, proto, sp.port), 'goto ' + internalChain)
  else els.push('no-endpoint-services', key3(sp.clusterIP, proto, sp.port), noEndpointVerdict)

  // The external chain exists while the service has endpoints anywhere: with a Local policy and
  // none here, it still short-circuits pod and host traffic, and the no-endpoint element drops
  // what falls through (the filter hooks see the destination unchanged only when nothing DNATed).
  const usesExternalChain = cat.hasAnyEndpoints && externallyAccessible(sp)
  if (sp.externalIPs.length > 0 || sp.loadBalancerIPs.length > 0) {
    const dests = [...sp.externalIPs, ...sp.loadBalancerIPs]
    // A destination that is also the ClusterIP or listed twice would repeat an element key.
    if (o.distinct && (new Set(dests).size < dests.length || dests.includes(sp.clusterIP))) o.distinct = false
    for (const ip of dests) {
      if (usesExternalChain) els.push('service-ips', key3(ip, proto, sp.port), `goto ${externalChain}`)
      if (!hasExternal) els.push('no-endpoint-services', key3(ip, proto, sp.port), noEndpointVerdict)
    }
  }
  if (sp.nodePort > 0) {
    if (usesExternalChain) els.push('service-nodeports', `${proto} . ${sp.nodePort}`, `goto ${externalChain}`)
    if (!hasExternal) els.push('no-endpoint-nodeports', `${proto} . ${sp.nodePort}`, noEndpointVerdict)
  }
  if (cat.hasAnyEndpoints && sp.loadBalancerSourceRanges.length > 0 && sp.loadBalancerIPs.length > 0) {
    const firewallChain = `firewall-${base}`
    o.chains.push(firewallChain)
    o.rules.push([`${f} saddr != { ${sp.loadBalancerSourceRanges.join(', ')} } drop`])
    for (const ip of sp.loadBalancerIPs) els.push('firewall-ips', key3(ip, proto, sp.port), `goto ${firewallChain}`)
  }

  if (usesExternalChain) {
    const rules: string[] = []
    if (!sp.externalPolicyLocal) {
      rules.push('jump mark-for-masquerade', `goto ${clusterChain}`)
    } else {
      // Pod and host traffic to an external destination of a Local service may use any endpoint.
      if (usesCluster) {
        if (cfg.clusterCIDRs.length > 0) rules.push(`${f} saddr { ${cfg.clusterCIDRs.join(', ')} } goto ${clusterChain} comment "short-circuit pod traffic"`)
        rules.push('fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"')
        rules.push(`fib saddr type local goto ${clusterChain} comment "short-circuit local traffic"`)
      }
      if (hasExternal) rules.push(`goto ${externalTarget}`)
    }
    o.chains.push(externalChain)
    o.rules.push(rules)
  }

  if (usesCluster) {
    const rules: string[] = []
    if (!sp.internalPolicyLocal) {
      const masq = masqueradeMatch(cfg)
      if (masq !== '') rules.push([f, ' daddr ', sp.clusterIP, ' ', proto, ' dport ', sp.port, masq].join(''))
    }
    o.chains.push(clusterChain)
    o.rules.push(dispatch(sp, cat.clusterEndpoints, f, rules))
  }
  if (usesLocal) {
    o.chains.push(localChain)
    o.rules.push(dispatch(sp, cat.localEndpoints, f, []))
  }
  const reach = cat.allReachable
  // Elements and endpoint chains are keyed by address (and port): distinct when the addresses are. The cluster or
  // local list keeps the model's order, where one address's endpoints are adjacent; their union does not.
  const ordered = reach === cat.clusterEndpoints || reach === cat.localEndpoints
  if (o.distinct && reach.length > 1 && !distinctAddresses(ordered ? reach : sp.endpoints)) o.distinct = false
  if (sp.affinitySeconds === 0) {
    if (onePort) for (let i = 0, n = reach.length; i < n; i++) o.hairpin.push((reach[i] as EndpointInfo).ip)
    else for (let i = 0, n = reach.length; i < n; i++) els.push(HAIRPIN, (reach[i] as EndpointInfo).ip, '')
    return
  }
  for (const ep of reach) {
    const h = hashAndTruncate(endpointBase(sp, ep))
    o.chains.push(`endpoint-${h}`)
    o.rules.push([
      `${f} saddr ${ep.ip} jump mark-for-masquerade`,
      `update @affinity-${h} { ${f} saddr }`,
      `meta l4proto ${proto} dnat to ${dnatTarget(ep)}`
    ])
    o.sets.push(`affinity-${h}`, `{ type ${addrType(cfg.family)} ; flags dynamic,timeout ; timeout ${sp.affinitySeconds}s ; }`)
  }
}

/** The whole table as `add` commands (sets, chains with rules, elements), one element per line. */
export function renderAll (o: NftObjects, family: IpFamily): string[] {
  const out: string[] = []
  writeDecls(o, family, out)
  const t = `${fam(family)} ${TABLE}`
  for (const [set, els] of o.elements) {
    for (const [k, v] of els) out.push('add element ', t, ' ', set, ' { ', elementText(set, k, v), ' }\n')
  }
  return out.join('').split('\n').slice(0, -1)
}

/** How an element key is written: the key itself, or for `hairpin` the address paired with itself. */
export const elementKeyText = (set: string, k: string): string => set === HAIRPIN ? `${k} . ${k}` : k

/** One element of a set (`key`) or verdict map (`key : verdict`), as written inside `{ … }`. */
export const elementText = (set: string, k: string, v: string): string => v === '' ? elementKeyText(set, k) : `${k} : ${v}`

const baseChainDecl = new Map(baseChains)

/** `add … ip kube-proxy ` and the like, once per family (not a template per line). */
interface Verbs { addSet: string, addMap: string, addChain: string, addRule: string }
const verbsOf = (family: IpFamily): Verbs => {
  const t = `${fam(family)} ${TABLE} `
  return { addSet: 'add set ' + t, addMap: 'add map ' + t, addChain: 'add chain ' + t, addRule: 'add rule ' + t }
}
const verbs4 = verbsOf(4)
const verbs6 = verbsOf(6)

/**
 * The sets, chains and rules of `o` as `add` commands, without the elements (a full sync writes every set's
 * elements at the end in one `add element` per set), as pieces of text pushed onto `out`, each line ending in
 * `\n`: the transaction is one `join('')` of the pieces, so no string is built per line and copied again.
 */
export function writeDecls (o: NftObjects, family: IpFamily, out: string[]): void {
  const v = family === 4 ? verbs4 : verbs6
  for (const [name, body] of o.sets) out.push(body.includes(': verdict') ? v.addMap : v.addSet, name, ' ', body, '\n')
  // Every chain before any rule, since a rule may jump to a chain declared later.
  for (const name of o.chains.keys()) {
    const b = baseChainDecl.get(name)
    if (b !== undefined) out.push(v.addChain, name, ' { ', b, ' }\n')
    else out.push(v.addChain, name, '\n')
  }
  for (const [name, rules] of o.chains) for (const r of rules) out.push(v.addRule, name, ' ', r, '\n')
}

/**
 * `writeDecls` of distinct parts (`NftServiceParts.distinct`), without building maps: the same text in the same
 * order (a service's chains are never base chains).
 */
export function writePartsDecls (p: NftServiceParts, family: IpFamily, out: string[]): void {
  const v = family === 4 ? verbs4 : verbs6
  const sets = p.sets
  const chains = p.chains
  for (let i = 0; i < sets.length; i += 2) {
    const body = sets[i + 1] as string
    out.push(body.includes(': verdict') ? v.addMap : v.addSet, sets[i] as string, ' ', body, '\n')
  }
  for (let i = 0; i < chains.length; i++) out.push(v.addChain, chains[i] as string, '\n')
  for (let i = 0; i < chains.length; i++) {
    const name = chains[i] as string
    const rules = p.rules[i] as string[]
    for (let j = 0; j < rules.length; j++) out.push(v.addRule, name, ' ', rules[j] as string, '\n')
  }
}
