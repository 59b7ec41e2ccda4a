/**
 * IPVS mode's iptables rules (kube-proxy pkg/proxy/ipvs, writeIptablesRules):
 * a constant number of rules whatever the number of services, because every
 * per-service decision is an ipset lookup (`-m set --match-set`). The
 * chains are rewritten whole in one `iptables-restore --noflush` per sync;
 * the jumps from the built-in chains are ensured separately (`-C`, then
 * `-I`), as in iptables mode. Pure: golden-tested.
 */
import type { IptablesTable, RuleSpec } from '../../kernel/index.js'
import { formatRule } from '../../kernel/index.js'
import type { IpFamily } from '../tracker/index.js'
import { ipsetName } from './ipset.js'

export const MASQ_MARK = '0x4000'

export interface IpvsRulesConfig {
  family: IpFamily
  /** Pod CIDRs of this family: ClusterIP traffic from outside them is masqueraded. */
  clusterCIDRs: readonly string[]
  masqueradeAll: boolean
  /** Node addresses NodePorts are served on (`-d <ip> -j KUBE-NODE-PORT`). */
  nodeIPs: readonly string[]
  /** MASQUERADE --random-fully. */
  randomFully?: boolean
}

export const natChains = ['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-NODE-PORT', 'KUBE-LOAD-BALANCER', 'KUBE-MARK-MASQ'] as const
export const filterChains = ['KUBE-FORWARD', 'KUBE-NODE-PORT', 'KUBE-PROXY-FIREWALL', 'KUBE-SOURCE-RANGES-FIREWALL', 'KUBE-IPVS-FILTER', 'KUBE-IPVS-OUT-FILTER'] as const

export interface JumpRule { table: IptablesTable, from: string, rule: RuleSpec }

const jump = (table: IptablesTable, from: string, to: string, comment: string): JumpRule =>
  ({ table, from, rule: ['-m', 'comment', '--comment', comment, '-j', to] })

/** The jumps from built-in chains (kube-proxy's iptablesJumpChain for IPVS mode). */
export const ipvsJumpRules: readonly JumpRule[] = [
  jump('nat', 'OUTPUT', 'KUBE-SERVICES', 'kubernetes service portals'),
  jump('nat', 'PREROUTING', 'KUBE-SERVICES', 'kubernetes service portals'),
  jump('nat', 'POSTROUTING', 'KUBE-POSTROUTING', 'kubernetes postrouting rules'),
  jump('filter', 'FORWARD', 'KUBE-FORWARD', 'kubernetes forwarding rules'),
  jump('filter', 'INPUT', 'KUBE-NODE-PORT', 'kubernetes health check rules'),
  jump('filter', 'INPUT', 'KUBE-PROXY-FIREWALL', 'kube-proxy firewall rules'),
  jump('filter', 'FORWARD', 'KUBE-PROXY-FIREWALL', 'kube-proxy firewall rules'),
  jump('filter', 'INPUT', 'KUBE-IPVS-FILTER', 'kubernetes ipvs access filter'),
  jump('filter', 'OUTPUT', 'KUBE-IPVS-OUT-FILTER', 'kubernetes ipvs access filter')
]

/** The per-table restore text: `*nat` and `*filter` with every chain declared (so flushed) and refilled. */
export function ipvsRestoreText (cfg: IpvsRulesConfig): string {
  const s = (name: string): string => ipsetName(cfg.family, name)
  const set = (name: string, dirs: string): string[] => ['-m', 'set', '--match-set', s(name), dirs]
  const c = (text: string): string[] => ['-m', 'comment', '--comment', text]
  const nat: Array<[string, string[]]> = []
  const A = (chain: string, ...w: string[]): void => { nat.push([chain, w]) }

  // ClusterIP: masquerade everything (masqueradeAll) or what comes from outside the pod CIDRs; then accept, so
  // nothing else in nat touches it (IPVS does the DNAT in LOCAL_IN).
  const clusterMasq = c('Kubernetes service cluster ip + port for masquerade purpose')
  if (cfg.masqueradeAll) A('KUBE-SERVICES', ...clusterMasq, ...set('KUBE-CLUSTER-IP', 'dst,dst'), '-j', 'KUBE-MARK-MASQ')
  else for (const cidr of cfg.clusterCIDRs) A('KUBE-SERVICES', '!', '-s', cidr, ...clusterMasq, ...set('KUBE-CLUSTER-IP', 'dst,dst'), '-j', 'KUBE-MARK-MASQ')
  // externalIPs: masqueraded unless externalTrafficPolicy Local.
  const ext = c('Kubernetes service external ip + port for masquerade and filter purpose')
  A('KUBE-SERVICES', ...ext, ...set('KUBE-EXTERNAL-IP', 'dst,dst'), '-j', 'KUBE-MARK-MASQ')
  A('KUBE-SERVICES', ...ext, ...set('KUBE-EXTERNAL-IP', 'dst,dst'), '-j', 'ACCEPT')
  A('KUBE-SERVICES', ...c('Kubernetes service external ip + port with externalTrafficPolicy=local'), ...set('KUBE-EXTERNAL-IP-LOCAL', 'dst,dst'), '-j', 'ACCEPT')
  // LoadBalancer ingress IPs.
  A('KUBE-SERVICES', ...c('Kubernetes service lb portal'), ...set('KUBE-LOAD-BALANCER', 'dst,dst'), '-j', 'KUBE-LOAD-BALANCER')
  A('KUBE-LOAD-BALANCER', ...c('Kubernetes service load balancer ip + port with externalTrafficPolicy=local'), ...set('KUBE-LOAD-BALANCER-LOCAL', 'dst,dst'), '-j', 'RETURN')
  A('KUBE-LOAD-BALANCER', '-j', 'KUBE-MARK-MASQ')
  // NodePorts, on the node's addresses only (never 127.0.0.1, never the service addresses on kube-ipvs0).
  for (const ip of cfg.nodeIPs) A('KUBE-SERVICES', '-d', ip, '-j', 'KUBE-NODE-PORT')
  for (const p of ['tcp', 'udp'] as const) {
    const P = p.toUpperCase()
    A('KUBE-NODE-PORT', '-p', p, ...c(`Kubernetes nodeport ${P} port with externalTrafficPolicy=local`), ...set(`KUBE-NODE-PORT-LOCAL-${P}`, 'dst'), '-j', 'RETURN')
    A('KUBE-NODE-PORT', '-p', p, ...c(`Kubernetes nodeport ${P} port for masquerade purpose`), ...set(`KUBE-NODE-PORT-${P}`, 'dst'), '-j', 'KUBE-MARK-MASQ')
  }
  A('KUBE-NODE-PORT', '-p', 'sctp', ...c('Kubernetes nodeport SCTP port with externalTrafficPolicy=local'), ...set('KUBE-NODE-PORT-LOCAL-SCTP-HASH', 'dst,dst'), '-j', 'RETURN')
  A('KUBE-NODE-PORT', '-p', 'sctp', ...c('Kubernetes nodeport SCTP port for masquerade purpose'), ...set('KUBE-NODE-PORT-SCTP-HASH', 'dst,dst'), '-j', 'KUBE-MARK-MASQ')
  A('KUBE-SERVICES', ...c('Kubernetes service cluster ip + port for masquerade purpose'), ...set('KUBE-CLUSTER-IP', 'dst,dst'), '-j', 'ACCEPT')
  A('KUBE-SERVICES', ...c('Kubernetes service lb portal'), ...set('KUBE-LOAD-BALANCER', 'dst,dst'), '-j', 'ACCEPT')
  // Masquerading: hairpin (a pod reaching itself through a service), then the 0x4000 mark.
  A('KUBE-POSTROUTING', ...c('Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose'), ...set('KUBE-LOOP-BACK', 'dst,dst,src'), '-j', 'MASQUERADE')
  A('KUBE-POSTROUTING', '-m', 'mark', '!', '--mark', `${MASQ_MARK}/${MASQ_MARK}`, '-j', 'RETURN')
  // `--xor-mark 0x4000` / `--or-mark 0x4000` as the kernel stores and iptables-save prints them.
  A('KUBE-POSTROUTING', '-j', 'MARK', '--set-xmark', `${MASQ_MARK}/0x0`)
  A('KUBE-POSTROUTING', ...c('kubernetes service traffic requiring SNAT'), '-j', 'MASQUERADE', ...(cfg.randomFully === true ? ['--random-fully'] : []))
  A('KUBE-MARK-MASQ', '-j', 'MARK', '--set-xmark', `${MASQ_MARK}/${MASQ_MARK}`)

  const filter: Array<[string, string[]]> = []
  const F = (chain: string, ...w: string[]): void => { filter.push([chain, w]) }
  F('KUBE-FORWARD', ...c('kubernetes forwarding rules'), '-m', 'mark', '--mark', `${MASQ_MARK}/${MASQ_MARK}`, '-j', 'ACCEPT')
  F('KUBE-FORWARD', ...c('kubernetes forwarding conntrack rule'), '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT')
  F('KUBE-NODE-PORT', ...c('Kubernetes health check node port'), ...set('KUBE-HEALTH-CHECK-NODE-PORT', 'dst'), '-j', 'ACCEPT')
  // loadBalancerSourceRanges: packets to a firewalled LB IP:port from outside its ranges are dropped.
  F('KUBE-PROXY-FIREWALL', ...c('Kubernetes service load balancer ip + port for load balancer with sourceRange'), ...set('KUBE-LOAD-BALANCER-FW', 'dst,dst'), '-j', 'KUBE-SOURCE-RANGES-FIREWALL')
  F('KUBE-SOURCE-RANGES-FIREWALL', ...c('Kubernetes service load balancer ip + port + source cidr for packet filter purpose'), ...set('KUBE-LOAD-BALANCER-SOURCE-CIDR', 'dst,dst,src'), '-j', 'RETURN')
  F('KUBE-SOURCE-RANGES-FIREWALL', ...c('Kubernetes service load balancer ip + port + source IP for packet filter purpose'), ...set('KUBE-LOAD-BALANCER-SOURCE-IP', 'dst,dst,src'), '-j', 'RETURN')
  F('KUBE-SOURCE-RANGES-FIREWALL', '-j', 'DROP')
  // Only service ports answer on the service addresses (kube-proxy#72236): new connections to any other port are rejected.
  for (const name of ['KUBE-LOAD-BALANCER', 'KUBE-CLUSTER-IP', 'KUBE-EXTERNAL-IP', 'KUBE-EXTERNAL-IP-LOCAL']) F('KUBE-IPVS-FILTER', ...set(name, 'dst,dst'), '-j', 'RETURN')
  F('KUBE-IPVS-FILTER', ...set('KUBE-HEALTH-CHECK-NODE-PORT', 'dst'), '-j', 'RETURN')
  F('KUBE-IPVS-FILTER', '-m', 'conntrack', '--ctstate', 'NEW', ...set('KUBE-IPVS-IPS', 'dst'), '-j', 'REJECT', '--reject-with', cfg.family === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable')
  // The node itself is held to loadBalancerSourceRanges too (kube-proxy#119656).
  F('KUBE-IPVS-OUT-FILTER', ...set('KUBE-LOAD-BALANCER-FW', 'dst,dst'), '-j', 'KUBE-SOURCE-RANGES-FIREWALL')

  const table = (name: string, chains: readonly string[], rules: Array<[string, string[]]>): string[] => [
    `*${name}`,
    ...chains.map((ch) => `:${ch} - [0:0]`),
    // Grouped by chain (declaration order), each chain's rules in the order written.
    ...chains.flatMap((ch) => rules.filter(([c]) => c === ch).map(([, w]) => `-A ${ch} ${formatRule(w)}`)),
    'COMMIT'
  ]
  return [...table('filter', filterChains, filter), ...table('nat', natChains, nat), ''].join('\n')
}

/** The restore text deleting IPVS mode's chains (after the jumps are gone); only chains that exist. */
export function ipvsDeleteText (existing: { nat: readonly string[], filter: readonly string[] }): string {
  const out: string[] = []
  for (const [name, ours] of [['filter', filterChains], ['nat', natChains]] as const) {
    const chains = ours.filter((ch) => existing[name].includes(ch))
    if (chains.length === 0) continue
    out.push(`*${name}`, ...chains.map((ch) => `:${ch} - [0:0]`), ...chains.map((ch) => `-X ${ch}`), 'COMMIT')
  }
  return out.length === 0 ? '' : out.join('\n') + '\n'
}
