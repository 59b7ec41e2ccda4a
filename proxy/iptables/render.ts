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

/** One service's lines: rules for the shared chains, and its own chains (name → `-A` lines). */
export interface ServiceRules {
  nat: { services: string[], nodeports: string[] }
  filter: { services: string[], external: string[], nodeports: string[], firewall: string[] }
  chains: Map<string, string[]>
}

export const emptyServiceRules = (): ServiceRules => ({
  nat: { services: [], nodeports: [] },
  filter: { services: [], external: [], nodeports: [], firewall: [] },
  chains: new Map()
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
/** Words joined by spaces into one flat string (one array, one join per rule; see `line`). */
const L = (...words: string[]): string => words.join(' ')
/** `-m comment --comment <text>`, the text quoted as `line` quotes it. */
const cm = (c: string): string => '-m comment --comment ' + quoteWord(c)

/** The chain prefixes of service chains (`isServiceChainName`). */
export const serviceChainPrefixes = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-EXT-', 'KUBE-FW-', 'KUBE-SEP-']
export const isServiceChain = (name: string): boolean => serviceChainPrefixes.some((p) => name.startsWith(p))

/** `%0.10f` of 1/n (kube-proxy's probability text). */
export function probability (n: number): string {
  return (1 / n).toFixed(10)
}

export function serviceRules (ports: readonly ServicePortInfo[], cfg: IptRenderConfig, into: ServiceRules = emptyServiceRules()): ServiceRules {
  for (const sp of ports) servicePortRules(sp, cfg, into)
  return into
}

function servicePortRules (sp: ServicePortInfo, cfg: IptRenderConfig, out: ServiceRules): void {
  const S = sp.servicePortName
  const p = sp.protocol
  const h = portProtoHash(S, p)
  const clusterChain = `KUBE-SVC-${h}`
  const localChain = `KUBE-SVL-${h}`
  const extChain = `KUBE-EXT-${h}`
  const fwChain = `KUBE-FW-${h}`
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
  const sepName = (ep: EndpointInfo): string => endpointChainName(S, p, ep.endpoint)
  // Rules are joined from fragments computed once per service port (see `L`); every fragment is what
  // `line` would write for the same words, which the golden tests hold byte for byte.
  const pp = `-m ${p} -p ${p}`
  const port = String(sp.port)
  const cS = cm(S)
  const noEp = (local: boolean): [string, string] => !hasEndpoints ? [`${S} has no endpoints`, 'REJECT'] : local ? [`${S} has no local endpoints`, 'DROP'] : [`${S} has no endpoints`, 'REJECT']

  // ClusterIP
  const cipMatch = L(cm(`${S} cluster IP`), pp, '-d', sp.clusterIP, '--dport', port)
  if (hasInternal) {
    out.nat.services.push(L('-A KUBE-SERVICES', cipMatch, '-j', internalChain))
  } else {
    const [c, target] = noEp(sp.internalPolicyLocal)
    out.filter.services.push(L('-A KUBE-SERVICES', cm(c), pp, '-d', sp.clusterIP, '--dport', port, '-j', target))
  }
  // External IPs
  for (const ip of sp.externalIPs) {
    if (usesExt) out.nat.services.push(L('-A KUBE-SERVICES', cm(`${S} external IP`), pp, '-d', ip, '--dport', port, '-j', extChain))
    if (!hasExternal) {
      const [c, target] = noEp(sp.externalPolicyLocal)
      out.filter.external.push(L('-A KUBE-EXTERNAL-SERVICES', cm(c), pp, '-d', ip, '--dport', port, '-j', target))
    }
  }
  // Load balancer IPs
  for (const ip of sp.loadBalancerIPs) {
    if (usesExt) out.nat.services.push(L('-A KUBE-SERVICES', cm(`${S} loadbalancer IP`), pp, '-d', ip, '--dport', port, '-j', usesFw ? fwChain : extChain))
    if (usesFw) out.filter.firewall.push(L('-A KUBE-PROXY-FIREWALL', cm(`${S} traffic not accepted by ${fwChain}`), pp, '-d', ip, '--dport', port, '-j DROP'))
    if (!hasExternal) {
      const [c, target] = noEp(sp.externalPolicyLocal)
      out.filter.external.push(L('-A KUBE-EXTERNAL-SERVICES', cm(c), pp, '-d', ip, '--dport', port, '-j', target))
    }
  }
  // NodePort
  if (sp.nodePort > 0) {
    if (usesExt) out.nat.nodeports.push(L('-A KUBE-NODEPORTS', cS, pp, '--dport', String(sp.nodePort), '-j', extChain))
    if (!hasExternal) {
      const [c, target] = noEp(sp.externalPolicyLocal)
      out.filter.external.push(L('-A KUBE-EXTERNAL-SERVICES', cm(c), '-m addrtype --dst-type LOCAL', pp, '--dport', String(sp.nodePort), '-j', target))
    }
  }
  if (sp.healthCheckNodePort > 0) {
    out.filter.nodeports.push(L('-A KUBE-NODEPORTS', cm(`${S} health check node port`), '-m tcp -p tcp --dport', String(sp.healthCheckNodePort), '-j ACCEPT'))
  }

  // Per-service chains.
  const masqRule = (): string[] => {
    if (cfg.masqueradeAll) return [L('-A', internalChain, cipMatch, '-j KUBE-MARK-MASQ')]
    if (cfg.clusterCIDRs.length > 0) return cfg.clusterCIDRs.map((c) => L('-A', internalChain, cipMatch, '! -s', c, '-j KUBE-MARK-MASQ'))
    return []
  }
  const toEndpoints = (chain: string, eps: readonly EndpointInfo[], lines: string[]): string[] => {
    if (sp.affinitySeconds > 0) {
      const seconds = String(sp.affinitySeconds)
      for (const ep of eps) { const sep = sepName(ep); lines.push(L('-A', chain, cS, '-m recent --name', sep, '--rcheck --seconds', seconds, '--reap -j', sep)) }
    }
    for (let i = 0; i < eps.length; i++) {
      const ep = eps[i] as EndpointInfo
      lines.push(i < eps.length - 1
        ? L('-A', chain, cm(`${S} -> ${ep.endpoint}`), '-m statistic --mode random --probability', probability(eps.length - i), '-j', sepName(ep))
        : L('-A', chain, cm(`${S} -> ${ep.endpoint}`), '-j', sepName(ep)))
    }
    return lines
  }
  if (usesExt) {
    const r: string[] = []
    if (!sp.externalPolicyLocal) {
      r.push(L('-A', extChain, cm(`masquerade traffic for ${S} external destinations`), '-j KUBE-MARK-MASQ'))
    } else if (usesCluster) {
      for (const c of cfg.clusterCIDRs) r.push(L('-A', extChain, cm(`pod traffic for ${S} external destinations`), '-s', c, '-j', clusterChain))
      r.push(L('-A', extChain, cm(`masquerade LOCAL traffic for ${S} external destinations`), '-m addrtype --src-type LOCAL -j KUBE-MARK-MASQ'))
      r.push(L('-A', extChain, cm(`route LOCAL traffic for ${S} external destinations`), '-m addrtype --src-type LOCAL -j', clusterChain))
    }
    if (hasExternal) r.push(L('-A', extChain, '-j', externalPolicyChain))
    out.chains.set(extChain, r)
  }
  if (usesFw) {
    const r: string[] = []
    const c = cm(`${S} loadbalancer IP`)
    for (const src of [...sp.loadBalancerSourceRanges, ...sp.loadBalancerIPs]) r.push(L('-A', fwChain, c, '-s', src, '-j', extChain))
    out.chains.set(fwChain, r)
  }
  if (usesCluster) out.chains.set(clusterChain, toEndpoints(clusterChain, cat.clusterEndpoints, sp.internalPolicyLocal ? [] : masqRule()))
  if (usesLocal) out.chains.set(localChain, toEndpoints(localChain, cat.localEndpoints, sp.internalPolicyLocal ? masqRule() : []))
  for (const ep of cat.allReachable) {
    const sep = sepName(ep)
    out.chains.set(sep, [
      L('-A', sep, cS, '-s', ep.ip, '-j KUBE-MARK-MASQ'),
      sp.affinitySeconds > 0
        ? L('-A', sep, cS, '-m recent --name', sep, '--set', pp, '-j DNAT --to-destination', ep.endpoint)
        : L('-A', sep, cS, pp, '-j DNAT --to-destination', ep.endpoint)
    ])
  }
}

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
