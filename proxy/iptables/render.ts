/**
 * kube-proxy's iptables layout (pkg/proxy/iptables): nat KUBE-SERVICES,
 * KUBE-NODEPORTS, KUBE-POSTROUTING, KUBE-MARK-MASQ; filter KUBE-SERVICES,
 * KUBE-EXTERNAL-SERVICES, KUBE-NODEPORTS, KUBE-FORWARD, KUBE-PROXY-FIREWALL;
 * per service port KUBE-SVC-/SVL-/EXT-/FW- with upstream's hash and
 * KUBE-SEP- per endpoint; random choice with `-m statistic` probabilities
 * 1/(n-i); the 0x4000 masquerade mark; REJECT (no endpoints) or DROP (Local
 * policy without local endpoints) in the filter table.
 *
 * Pure: `servicePortRules` renders one Service's contribution to the
 * top-level chains and its own chains as iptables-restore lines.
 */
import { quoteWord } from '../../kernel/index.js'
import type { IptablesTable, RuleSpec } from '../../kernel/index.js'
import { categorizeEndpoints, endpointChainName, externallyAccessible, portProtoHash } from '../tracker/index.js'
import type { EndpointInfo, IpFamily, ServicePortInfo } from '../tracker/index.js'

export const MASQ_MARK = '0x4000'

export const natTopChains = ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'] as const
export const filterTopChains = ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL'] as const

/** Jump rules from built-in chains, ensured (`-C` then `-I`) on full syncs. */
export const jumpRules: ReadonlyArray<{ table: IptablesTable, from: string, rule: RuleSpec }> = [
  ...(['INPUT', 'FORWARD'].map((from) => ({ table: 'filter' as const, from, rule: ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'kubernetes externally-visible service portals', '-j', 'KUBE-EXTERNAL-SERVICES'] }))),
  { table: 'filter', from: 'INPUT', rule: ['-m', 'comment', '--comment', 'kubernetes health check service ports', '-j', 'KUBE-NODEPORTS'] },
  ...(['FORWARD', 'OUTPUT'].map((from) => ({ table: 'filter' as const, from, rule: ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES'] }))),
  { table: 'filter', from: 'FORWARD', rule: ['-m', 'comment', '--comment', 'kubernetes forwarding rules', '-j', 'KUBE-FORWARD'] },
  ...(['INPUT', 'OUTPUT', 'FORWARD'].map((from) => ({ table: 'filter' as const, from, rule: ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'kubernetes load balancer firewall', '-j', 'KUBE-PROXY-FIREWALL'] }))),
  { table: 'nat', from: 'OUTPUT', rule: ['-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES'] },
  { table: 'nat', from: 'PREROUTING', rule: ['-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES'] },
  { table: 'nat', from: 'POSTROUTING', rule: ['-m', 'comment', '--comment', 'kubernetes postrouting rules', '-j', 'KUBE-POSTROUTING'] }
]

export interface IptRenderConfig {
  family: IpFamily
  clusterCIDRs: readonly string[]
  masqueradeAll: boolean
  /** Node IPs accepting NodePorts; undefined: every local address but loopback. */
  nodePortIPs?: readonly string[] | undefined
  /** `MASQUERADE --random-fully` (iptables ≥ 1.6.2). */
  randomFully?: boolean
}

/**
 * One service's lines: its rules for the shared chains, and its own chains (`chains[i]` with the `-A` lines
 * `rules[i]`, in the order written).
 */
export interface ServiceRules {
  natServices: string[]
  natNodeports: string[]
  filterServices: string[]
  filterExternal: string[]
  filterNodeports: string[]
  filterFirewall: string[]
  chains: string[]
  rules: string[][]
}

export const emptyServiceRules = (): ServiceRules => ({
  natServices: [], natNodeports: [], filterServices: [], filterExternal: [], filterNodeports: [], filterFirewall: [], chains: [], rules: []
})

/**
 * One `-A` line. Every word these renderers write is an option, a number, an address or a chain name
 * (safe bare) except comment texts, quoted as iptables-save quotes them (what kernel's formatRule
 * does, without a regular expression per word: this runs for every rule of a full sync). Built with
 * one `join`, so the line is one flat string: concatenating word by word leaves a rope of ~30 nodes
 * per line, which stays alive until the transaction is joined and costs the young-generation GC
 * more than building the text does.
 */
const line = (chain: string, words: RuleSpec): string => {
  const out = new Array<string>(words.length + 2)
  out[0] = '-A'
  out[1] = chain
  for (let i = 0; i < words.length; i++) out[i + 2] = i > 0 && words[i - 1] === '--comment' ? quoteWord(words[i] as string) : words[i] as string
  return out.join(' ')
}
const comment = (c: string): string[] => ['-m', 'comment', '--comment', c]

/** The chain prefixes of service chains (`isServiceChainName`). */
export const serviceChainPrefixes = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-EXT-', 'KUBE-FW-', 'KUBE-SEP-']
export const isServiceChain = (name: string): boolean => serviceChainPrefixes.some((p) => name.startsWith(p))

/** `%0.10f` of 1/n (kube-proxy's probability text). */
export function probability (n: number): string {
  return (1 / n).toFixed(10)
}
/** `probability(n)`, formatted once per n. */
const probabilities: string[] = []
const probabilityText = (n: number): string => probabilities[n] ?? (probabilities[n] = probability(n))

export function serviceRules (ports: readonly ServicePortInfo[], cfg: IptRenderConfig, into: ServiceRules = emptyServiceRules()): ServiceRules {
  for (let i = 0; i < ports.length; i++) servicePortRules(ports[i] as ServicePortInfo, cfg, into)
  if (ports.length > 1) uniqueChains(into)
  return into
}

/**
 * Two ports with the same name and protocol (not valid in Kubernetes, possible in a manifest) render chains of the
 * same name: the chain keeps its first position and its last rules, as a map of chains would.
 */
function uniqueChains (r: ServiceRules): void {
  if (new Set(r.chains).size === r.chains.length) return
  const m = new Map<string, string[]>()
  for (let i = 0; i < r.chains.length; i++) m.set(r.chains[i] as string, r.rules[i] as string[])
  r.chains = [...m.keys()]
  r.rules = [...m.values()]
}

/**
 * One service port's rules. Every line is one `join('')` of its pieces (a flat string, see `line`), with the
 * pieces that repeat computed once per service port: the quoted comment texts (`"ns/name:port …"`; a name
 * with `"`, `\` or `'` is escaped by `quoteWord` as iptables-save does, never the case for Kubernetes names),
 * the protocol match, each endpoint's KUBE-SEP- chain name (one hash per endpoint).
 */
function servicePortRules (sp: ServicePortInfo, cfg: IptRenderConfig, out: ServiceRules): void {
  const S = sp.servicePortName
  const p = sp.protocol
  const h = portProtoHash(S, p)
  const clusterChain = 'KUBE-SVC-' + h
  const localChain = 'KUBE-SVL-' + h
  const extChain = 'KUBE-EXT-' + h
  const fwChain = 'KUBE-FW-' + h
  const cat = categorizeEndpoints(sp)
  const usesCluster = cat.clusterEndpoints.length > 0
  const usesLocal = cat.localEndpoints.length > 0 && (sp.internalPolicyLocal || sp.externalPolicyLocal)
  const internalChain = sp.internalPolicyLocal ? localChain : clusterChain
  const hasInternal = sp.internalPolicyLocal ? usesLocal : usesCluster
  const externalPolicyChain = sp.externalPolicyLocal ? localChain : clusterChain
  const hasExternal = sp.externalPolicyLocal ? usesLocal : usesCluster
  const hasEndpoints = cat.hasAnyEndpoints
  const usesExt = hasEndpoints && externallyAccessible(sp)
  const usesFw = hasEndpoints && sp.loadBalancerIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0
  const plain = !specialChars.test(S)
  /** `-m comment --comment "<S><suffix>"`. */
  const cm = (suffix: string): string => plain ? '-m comment --comment "' + S + suffix + '"' : '-m comment --comment ' + quoteWord(S + suffix)
  const pp = ' -m ' + p + ' -p ' + p + ' '
  const pp1 = pp.slice(1)
  const port = String(sp.port)
  const cS = plain ? '-m comment --comment "' + S + '"' : '-m comment --comment ' + quoteWord(S)
  const reach = cat.allReachable
  // The KUBE-SEP- chain of each reachable endpoint (the cluster and local lists are made of the same objects).
  const seps = new Array<string>(reach.length)
  for (let i = 0; i < reach.length; i++) seps[i] = endpointChainName(S, p, (reach[i] as EndpointInfo).endpoint)
  const sepOf = (eps: readonly EndpointInfo[], i: number): string =>
    (eps === reach ? seps[i] : seps[reach.indexOf(eps[i] as EndpointInfo)]) ?? endpointChainName(S, p, (eps[i] as EndpointInfo).endpoint)
  const noEp = (local: boolean): string => !hasEndpoints || !local ? ' has no endpoints" ' : ' has no local endpoints" '
  const noEpTarget = (local: boolean): string => !hasEndpoints || !local ? 'REJECT' : 'DROP'
  const noEpComment = (local: boolean): string => plain ? '-m comment --comment "' + S + noEp(local) : cm(!hasEndpoints || !local ? ' has no endpoints' : ' has no local endpoints') + ' '

  // ClusterIP
  const cipMatch = [cm(' cluster IP'), pp, '-d ', sp.clusterIP, ' --dport ', port].join('')
  if (hasInternal) {
    out.natServices.push(['-A KUBE-SERVICES ', cipMatch, ' -j ', internalChain].join(''))
  } else {
    out.filterServices.push(['-A KUBE-SERVICES ', noEpComment(sp.internalPolicyLocal), pp1, '-d ', sp.clusterIP, ' --dport ', port, ' -j ', noEpTarget(sp.internalPolicyLocal)].join(''))
  }
  // External IPs
  for (const ip of sp.externalIPs) {
    if (usesExt) out.natServices.push(['-A KUBE-SERVICES ', cm(' external IP'), pp, '-d ', ip, ' --dport ', port, ' -j ', extChain].join(''))
    if (!hasExternal) out.filterExternal.push(['-A KUBE-EXTERNAL-SERVICES ', noEpComment(sp.externalPolicyLocal), pp1, '-d ', ip, ' --dport ', port, ' -j ', noEpTarget(sp.externalPolicyLocal)].join(''))
  }
  // Load balancer IPs
  for (const ip of sp.loadBalancerIPs) {
    if (usesExt) out.natServices.push(['-A KUBE-SERVICES ', cm(' loadbalancer IP'), pp, '-d ', ip, ' --dport ', port, ' -j ', usesFw ? fwChain : extChain].join(''))
    if (usesFw) out.filterFirewall.push(['-A KUBE-PROXY-FIREWALL ', cm(` traffic not accepted by ${fwChain}`), pp, '-d ', ip, ' --dport ', port, ' -j DROP'].join(''))
    if (!hasExternal) out.filterExternal.push(['-A KUBE-EXTERNAL-SERVICES ', noEpComment(sp.externalPolicyLocal), pp1, '-d ', ip, ' --dport ', port, ' -j ', noEpTarget(sp.externalPolicyLocal)].join(''))
  }
  // NodePort
  if (sp.nodePort > 0) {
    if (usesExt) out.natNodeports.push(['-A KUBE-NODEPORTS ', cS, pp, '--dport ', String(sp.nodePort), ' -j ', extChain].join(''))
    if (!hasExternal) out.filterExternal.push(['-A KUBE-EXTERNAL-SERVICES ', noEpComment(sp.externalPolicyLocal), '-m addrtype --dst-type LOCAL', pp, '--dport ', String(sp.nodePort), ' -j ', noEpTarget(sp.externalPolicyLocal)].join(''))
  }
  if (sp.healthCheckNodePort > 0) {
    out.filterNodeports.push(['-A KUBE-NODEPORTS ', cm(' health check node port'), ' -m tcp -p tcp --dport ', String(sp.healthCheckNodePort), ' -j ACCEPT'].join(''))
  }

  // Per-service chains.
  const masqRule = (chain: string): string[] => {
    if (cfg.masqueradeAll) return [['-A ', chain, ' ', cipMatch, ' -j KUBE-MARK-MASQ'].join('')]
    const rules: string[] = []
    for (const c of cfg.clusterCIDRs) rules.push(['-A ', chain, ' ', cipMatch, ' ! -s ', c, ' -j KUBE-MARK-MASQ'].join(''))
    return rules
  }
  const toEndpoints = (chain: string, eps: readonly EndpointInfo[], lines: string[]): string[] => {
    const n = eps.length
    if (sp.affinitySeconds > 0) {
      const seconds = String(sp.affinitySeconds)
      for (let i = 0; i < n; i++) { const sep = sepOf(eps, i); lines.push(['-A ', chain, ' ', cS, ' -m recent --name ', sep, ' --rcheck --seconds ', seconds, ' --reap -j ', sep].join('')) }
    }
    for (let i = 0; i < n; i++) {
      const ep = eps[i] as EndpointInfo
      const c = plain ? ['-m comment --comment "', S, ' -> ', ep.endpoint, '"'].join('') : cm(' -> ' + ep.endpoint)
      lines.push(i < n - 1
        ? ['-A ', chain, ' ', c, ' -m statistic --mode random --probability ', probabilityText(n - i), ' -j ', sepOf(eps, i)].join('')
        : ['-A ', chain, ' ', c, ' -j ', sepOf(eps, i)].join(''))
    }
    return lines
  }
  if (usesExt) {
    const r: string[] = []
    if (!sp.externalPolicyLocal) {
      r.push(['-A ', extChain, ' ', commentText(`masquerade traffic for ${S} external destinations`), ' -j KUBE-MARK-MASQ'].join(''))
    } else if (usesCluster) {
      for (const c of cfg.clusterCIDRs) r.push(['-A ', extChain, ' ', commentText(`pod traffic for ${S} external destinations`), ' -s ', c, ' -j ', clusterChain].join(''))
      r.push(['-A ', extChain, ' ', commentText(`masquerade LOCAL traffic for ${S} external destinations`), ' -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ'].join(''))
      r.push(['-A ', extChain, ' ', commentText(`route LOCAL traffic for ${S} external destinations`), ' -m addrtype --src-type LOCAL -j ', clusterChain].join(''))
    }
    if (hasExternal) r.push(['-A ', extChain, ' -j ', externalPolicyChain].join(''))
    out.chains.push(extChain)
    out.rules.push(r)
  }
  if (usesFw) {
    const r: string[] = []
    const c = cm(' loadbalancer IP')
    for (const src of [...sp.loadBalancerSourceRanges, ...sp.loadBalancerIPs]) r.push(['-A ', fwChain, ' ', c, ' -s ', src, ' -j ', extChain].join(''))
    out.chains.push(fwChain)
    out.rules.push(r)
  }
  if (usesCluster) {
    out.chains.push(clusterChain)
    out.rules.push(toEndpoints(clusterChain, cat.clusterEndpoints, sp.internalPolicyLocal ? [] : masqRule(internalChain)))
  }
  if (usesLocal) {
    out.chains.push(localChain)
    out.rules.push(toEndpoints(localChain, cat.localEndpoints, sp.internalPolicyLocal ? masqRule(internalChain) : []))
  }
  const dnat = sp.affinitySeconds > 0 ? '' : [' ', cS, pp, '-j DNAT --to-destination '].join('')
  for (let i = 0; i < reach.length; i++) {
    const ep = reach[i] as EndpointInfo
    const sep = seps[i] as string
    out.chains.push(sep)
    out.rules.push([
      ['-A ', sep, ' ', cS, ' -s ', ep.ip, ' -j KUBE-MARK-MASQ'].join(''),
      sp.affinitySeconds > 0
        ? ['-A ', sep, ' ', cS, ' -m recent --name ', sep, ' --set', pp, '-j DNAT --to-destination ', ep.endpoint].join('')
        : ['-A ', sep, dnat, ep.endpoint].join('')
    ])
  }
}

/** A comment text's quoting as iptables-save writes it (see `line`). */
const commentText = (c: string): string => '-m comment --comment ' + quoteWord(c)
/** Characters iptables-save escapes inside a quoted word. */
const specialChars = /["\\']/

/** Rules of the fixed chains, written on every sync. */
export function fixedRules (cfg: IptRenderConfig): { natPost: string[], natMark: string[], natNodePortJump: string[], forward: string[] } {
  const loop = cfg.family === 4 ? '127.0.0.0/8' : '::1/128'
  const np = 'kubernetes service nodeports; NOTE: this must be the last rule in this chain'
  return {
    natPost: [
      line('KUBE-POSTROUTING', ['-m', 'mark', '!', '--mark', `${MASQ_MARK}/${MASQ_MARK}`, '-j', 'RETURN']),
      line('KUBE-POSTROUTING', ['-j', 'MARK', '--xor-mark', MASQ_MARK]),
      line('KUBE-POSTROUTING', [...comment('kubernetes service traffic requiring SNAT'), '-j', 'MASQUERADE', ...(cfg.randomFully === true ? ['--random-fully'] : [])])
    ],
    natMark: [line('KUBE-MARK-MASQ', ['-j', 'MARK', '--or-mark', MASQ_MARK])],
    natNodePortJump: cfg.nodePortIPs === undefined
      ? [line('KUBE-SERVICES', [...comment(np), '-m', 'addrtype', '--dst-type', 'LOCAL', '!', '-d', loop, '-j', 'KUBE-NODEPORTS'])]
      : cfg.nodePortIPs.map((ip) => line('KUBE-SERVICES', [...comment(np), '-d', ip, '-j', 'KUBE-NODEPORTS'])),
    forward: [
      line('KUBE-FORWARD', [...comment('kubernetes forwarding rules'), '-m', 'mark', '--mark', `${MASQ_MARK}/${MASQ_MARK}`, '-j', 'ACCEPT']),
      line('KUBE-FORWARD', [...comment('kubernetes forwarding conntrack rule'), '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT'])
    ]
  }
}
