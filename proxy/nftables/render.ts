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
  /** Map/set name → element key → verdict ('' for a set). */
  elements: Map<string, Map<string, string>>
}

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
  o.sets.set('hairpin', `{ type ${at} . ${at} ; comment "endpoint . endpoint: a pod reaching itself through a service" ; }`)
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

/** Everything one Service (all its ports, one family) adds to the table. */
export function serviceObjects (ports: readonly ServicePortInfo[], cfg: NftRenderConfig, into: NftObjects = emptyObjects()): NftObjects {
  for (const sp of ports) servicePortObjects(sp, cfg, into)
  return into
}

function servicePortObjects (sp: ServicePortInfo, cfg: NftRenderConfig, o: NftObjects): void {
  const f = fam(cfg.family)
  const base = hashAndTruncate(servicePortBase(sp))
  const clusterChain = `service-${base}`
  const localChain = `local-${base}`
  const externalChain = `external-${base}`
  const firewallChain = `firewall-${base}`
  const cat = categorizeEndpoints(sp)
  const usesCluster = cat.clusterEndpoints.length > 0
  const usesLocal = cat.localEndpoints.length > 0 && (sp.internalPolicyLocal || sp.externalPolicyLocal)
  const internalChain = sp.internalPolicyLocal ? localChain : clusterChain
  const hasInternal = sp.internalPolicyLocal ? usesLocal : usesCluster
  const externalTarget = sp.externalPolicyLocal ? localChain : clusterChain
  const hasExternal = sp.externalPolicyLocal ? usesLocal : usesCluster
  const noEndpointVerdict = cat.hasAnyEndpoints ? 'drop' : 'goto reject-chain'
  const proto = sp.protocol
  const epChain = (ep: EndpointInfo): string => `endpoint-${hashAndTruncate(endpointBase(sp, ep))}`
  const affinitySet = (ep: EndpointInfo): string => `affinity-${hashAndTruncate(endpointBase(sp, ep))}`

  addElement(o, 'cluster-ips', sp.clusterIP)
  if (hasInternal) addElement(o, 'service-ips', key3(sp.clusterIP, proto, sp.port), `goto ${internalChain}`)
  else addElement(o, 'no-endpoint-services', key3(sp.clusterIP, proto, sp.port), noEndpointVerdict)

  // The external chain exists while the service has endpoints anywhere: with a Local policy and
  // none here, it still short-circuits pod and host traffic, and the no-endpoint element drops
  // what falls through (the filter hooks see the destination unchanged only when nothing DNATed).
  const dests = [...sp.externalIPs, ...sp.loadBalancerIPs]
  const usesExternalChain = cat.hasAnyEndpoints && externallyAccessible(sp)
  for (const ip of dests) {
    if (usesExternalChain) addElement(o, 'service-ips', key3(ip, proto, sp.port), `goto ${externalChain}`)
    if (!hasExternal) addElement(o, 'no-endpoint-services', key3(ip, proto, sp.port), noEndpointVerdict)
  }
  if (sp.nodePort > 0) {
    if (usesExternalChain) addElement(o, 'service-nodeports', `${proto} . ${sp.nodePort}`, `goto ${externalChain}`)
    if (!hasExternal) addElement(o, 'no-endpoint-nodeports', `${proto} . ${sp.nodePort}`, noEndpointVerdict)
  }
  if (cat.hasAnyEndpoints && sp.loadBalancerSourceRanges.length > 0 && sp.loadBalancerIPs.length > 0) {
    o.chains.set(firewallChain, [`${f} saddr != { ${sp.loadBalancerSourceRanges.join(', ')} } drop`])
    for (const ip of sp.loadBalancerIPs) addElement(o, 'firewall-ips', key3(ip, proto, sp.port), `goto ${firewallChain}`)
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
    o.chains.set(externalChain, rules)
  }

  // Endpoint choice. Without affinity, one rule DNATs through a numgen-keyed map and the hairpin
  // case is caught after DNAT by the `hairpin` set: no chain per endpoint (see README.md: nft's
  // cache fetch before every transaction is proportional to the number of chains in the table).
  // With ClientIP affinity, kube-proxy's per-endpoint chains and affinity sets.
  const affinity = sp.affinitySeconds > 0
  const dispatch = (eps: readonly EndpointInfo[]): string[] => {
    if (!affinity) {
      return [`meta l4proto ${proto} dnat to numgen random mod ${eps.length} map { ${eps.map((ep, i) => `${i} : ${ep.ip} . ${ep.port}`).join(', ')} }`]
    }
    const rules: string[] = []
    for (const ep of eps) rules.push(`${f} saddr @${affinitySet(ep)} goto ${epChain(ep)}`)
    rules.push(`numgen random mod ${eps.length} vmap { ${eps.map((ep, i) => `${i} : goto ${epChain(ep)}`).join(', ')} }`)
    return rules
  }
  if (usesCluster) {
    const rules: string[] = []
    if (!sp.internalPolicyLocal) {
      const match = `${f} daddr ${sp.clusterIP} ${proto} dport ${sp.port}`
      if (cfg.masqueradeAll) rules.push(`${match} jump mark-for-masquerade`)
      else if (cfg.clusterCIDRs.length > 0) rules.push(`${match} ${f} saddr != { ${cfg.clusterCIDRs.join(', ')} } jump mark-for-masquerade`)
    }
    o.chains.set(clusterChain, [...rules, ...dispatch(cat.clusterEndpoints)])
  }
  if (usesLocal) o.chains.set(localChain, dispatch(cat.localEndpoints))
  for (const ep of cat.allReachable) {
    if (!affinity) { addElement(o, 'hairpin', `${ep.ip} . ${ep.ip}`); continue }
    o.chains.set(epChain(ep), [
      `${f} saddr ${ep.ip} jump mark-for-masquerade`,
      `update @${affinitySet(ep)} { ${f} saddr }`,
      `meta l4proto ${proto} dnat to ${dnatTarget(ep)}`
    ])
    o.sets.set(affinitySet(ep), `{ type ${addrType(cfg.family)} ; flags dynamic,timeout ; timeout ${sp.affinitySeconds}s ; }`)
  }
}

/** The whole table as `add` commands (sets, chains with rules, elements), for golden tests and full syncs. */
const baseChainDecl = new Map(baseChains)

export function renderAll (o: NftObjects, family: IpFamily, into: string[] = []): string[] {
  const t = `${fam(family)} ${TABLE}`
  const lines = renderDecls(o, family, into)
  for (const [set, els] of o.elements) {
    for (const [k, v] of els) lines.push(['add element', t, set, '{', elementText(k, v), '}'].join(' '))
  }
  return lines
}

/** One element of a set (`key`) or verdict map (`key : verdict`), as written inside `{ … }`. */
export const elementText = (k: string, v: string): string => v === '' ? k : [k, ':', v].join(' ')

/**
 * The sets, chains and rules of `o` as `add` commands, without the elements (a full sync writes every set's
 * elements at the end in one `add element` per set). Each line is built with one `join` so it is a flat string:
 * template literals of template literals leave ropes that stay alive until the transaction is joined, and
 * copying them is most of a full sync's GC time.
 */
export function renderDecls (o: NftObjects, family: IpFamily, into: string[] = []): string[] {
  const t = `${fam(family)} ${TABLE}`
  const lines = into
  for (const [name, body] of o.sets) lines.push([body.includes(': verdict') ? 'add map' : 'add set', t, name, body].join(' '))
  // Every chain before any rule, since a rule may jump to a chain declared later.
  for (const name of o.chains.keys()) {
    const b = baseChainDecl.get(name)
    lines.push(b !== undefined ? ['add chain', t, name, '{', b, '}'].join(' ') : ['add chain', t, name].join(' '))
  }
  for (const [name, rules] of o.chains) for (const r of rules) lines.push(['add rule', t, name, r].join(' '))
  return lines
}
