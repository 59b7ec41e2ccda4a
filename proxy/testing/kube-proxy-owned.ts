/**
 * Which names on a node kube-proxy owns, per mode: the chains, nftables
 * objects, ipsets and links it rewrites, flushes or deletes by itself when it
 * starts (its first full sync) — so that a node going back from `weft proxy`
 * to kube-proxy (a DaemonSet image switched back, weft killed without
 * `--cleanup`) ends with kube-proxy's ruleset and nothing of ours.
 *
 * Every rule below is taken from kube-proxy's source; docs/proxy.md ("Back to
 * kube-proxy") cites the files. The checks are pure: they read what the
 * kernel tools print (`iptables-save`, `nft -j list ruleset`, `ipset list -n`,
 * link names) and return every name kube-proxy would *not* take over.
 */

export type ProxyMode = 'iptables' | 'nftables' | 'ipvs'

/** A name kube-proxy would leave behind, and why. */
export interface Unowned { where: string, name: string, why: string }

const BUILTIN = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'])

/**
 * iptables mode (pkg/proxy/iptables/proxier.go): the top-level chains are
 * declared (`:CHAIN - [0:0]`, i.e. flushed) and written whole by every full
 * sync; nat chains with a service prefix that the sync does not want are
 * flushed and `-X`'d (`isServiceChainName`, nat table only).
 */
const iptablesModeChains: Record<string, ReadonlySet<string>> = {
  nat: new Set(['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']),
  filter: new Set(['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL'])
}
/** `KUBE-SVC-`/`SVL-`/`EXT-`/`FW-`/`SEP-` + base32(sha256(…))[:16], as `portProtoHash` and `servicePortEndpointChainName` make them. */
export const iptablesServiceChain = /^KUBE-(SVC|SVL|EXT|FW|SEP)-[A-Z2-7]{16}$/

/** `iptablesJumpChains` (iptables mode): kube-proxy finds these by `iptables -C` with exactly these arguments. */
const iptablesModeJumps: ReadonlyArray<[table: string, rule: string]> = [
  ['filter', '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES'],
  ['filter', '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES'],
  ['filter', '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS'],
  ['filter', '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'],
  ['filter', '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'],
  ['filter', '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD'],
  ['filter', '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL'],
  ['filter', '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL'],
  ['filter', '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL'],
  ['nat', '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'],
  ['nat', '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'],
  ['nat', '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING']
]

/** IPVS mode (pkg/proxy/ipvs/proxier.go `iptablesChains`): rewritten whole by every sync. */
const ipvsModeChains: Record<string, ReadonlySet<string>> = {
  nat: new Set(['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-NODE-PORT', 'KUBE-LOAD-BALANCER', 'KUBE-MARK-MASQ']),
  filter: new Set(['KUBE-FORWARD', 'KUBE-NODE-PORT', 'KUBE-PROXY-FIREWALL', 'KUBE-SOURCE-RANGES-FIREWALL', 'KUBE-IPVS-FILTER', 'KUBE-IPVS-OUT-FILTER'])
}
/** IPVS mode's `iptablesJumpChain`: `-m comment --comment <c> -j <to>`, no conntrack match. */
const ipvsModeJumps: ReadonlyArray<[table: string, rule: string]> = [
  ['nat', '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'],
  ['nat', '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'],
  ['nat', '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING'],
  ['filter', '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD'],
  ['filter', '-A INPUT -m comment --comment "kubernetes health check rules" -j KUBE-NODE-PORT'],
  ['filter', '-A INPUT -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL'],
  ['filter', '-A FORWARD -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL'],
  ['filter', '-A INPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER'],
  ['filter', '-A OUTPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-OUT-FILTER']
]

/**
 * Names in `iptables-save` (or `ip6tables-save`) output that kube-proxy in
 * `mode` would not take over: a user chain it neither rewrites nor deletes as
 * stale, or a rule in a built-in chain that is not one of its jumps exactly
 * (kube-proxy would add its own jump and leave ours). In nftables mode no
 * iptables chain or rule is kube-proxy's to keep.
 */
export function unownedIptables (save: string, mode: ProxyMode): Unowned[] {
  const out: Unowned[] = []
  const chains = mode === 'iptables' ? iptablesModeChains : mode === 'ipvs' ? ipvsModeChains : {}
  const jumps = new Set((mode === 'iptables' ? iptablesModeJumps : mode === 'ipvs' ? ipvsModeJumps : []).map(([t, r]) => `${t} ${r}`))
  let table = ''
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) { table = line.slice(1).trim(); continue }
    if (line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0] as string
      if (BUILTIN.has(name)) continue
      const owned = chains[table]?.has(name) === true || (mode === 'iptables' && table === 'nat' && iptablesServiceChain.test(name))
      if (!owned) out.push({ where: `iptables ${table}`, name, why: `kube-proxy (${mode} mode) neither rewrites nor deletes this chain` })
      continue
    }
    if (line.startsWith('-A ')) {
      const chain = line.split(' ')[1] as string
      if (BUILTIN.has(chain) && !jumps.has(`${table} ${line}`)) {
        out.push({ where: `iptables ${table} ${chain}`, name: line, why: `not one of kube-proxy's ${mode}-mode jump rules: it would add its own and leave this one` })
      }
    }
  }
  return out
}

/** nftables mode, `table ip kube-proxy` / `table ip6 kube-proxy` (pkg/proxy/nftables/proxier.go). */
export const NFT_TABLE = 'kube-proxy'
/**
 * Base chains of kube-proxy ≥ 1.33 (`nftablesBaseChains`; the 1.31–1.32
 * names differ: `filter-prerouting`, `filter-output-post-dnat`, see
 * docs/proxy.md). `setupNFTables` adds and deletes each once at start, then
 * re-creates and flushes it.
 */
export const nftBaseChains: ReadonlySet<string> = new Set([
  'filter-prerouting-pre-dnat', 'filter-output-pre-dnat', 'filter-input', 'filter-forward', 'filter-output',
  'nat-prerouting', 'nat-output', 'nat-postrouting'
])
/** Regular top-level chains `setupNFTables` adds and flushes on every full sync. */
export const nftTopChains: ReadonlySet<string> = new Set([
  'services', 'service-endpoints-check', 'nodeport-endpoints-check', 'reject-chain', 'cluster-ips-check',
  'firewall-check', 'mark-for-masquerade', 'masquerading'
])
/** Sets and maps `setupNFTables` adds and flushes (`nodeport-ips` is added, then flushed or deleted). */
export const nftSets: ReadonlySet<string> = new Set(['cluster-ips', 'nodeport-ips'])
export const nftMaps: ReadonlySet<string> = new Set(['service-ips', 'service-nodeports', 'no-endpoint-services', 'no-endpoint-nodeports', 'firewall-ips'])
/**
 * Service and endpoint chains: kube-proxy flushes every chain whose name has
 * a `/` that its sync does not want and deletes it a second later
 * (`isServiceChainName`). The shape checked here is the one kube-proxy makes:
 * prefix + base32 hash[:8] + `-ns/name/proto/port[__ip/port]` (`hashAndTruncate`).
 */
export const nftServiceChain = /^(service|local|external|firewall|endpoint)-[A-Z2-7]{8}-[a-z0-9-]+\/[a-z0-9-]+\/(tcp|udp|sctp)\/[a-z0-9-]*(__[0-9a-f.]+\/\d+)?$/
/** Affinity sets: deleted at every sync when not wanted (`isAffinitySetName`: prefix `affinity-`). */
export const nftAffinitySet = /^affinity-[A-Z2-7]{8}-[a-z0-9-]+\/[a-z0-9-]+\/(tcp|udp|sctp)\/[a-z0-9-]*__[0-9a-f.]+\/\d+$/

/** The tables iptables-nft keeps its chains in: read through iptables-save, not here. */
const iptablesNftTables = new Set(['filter', 'nat', 'mangle', 'raw', 'security'])

type NftJsonItem = Record<string, Record<string, unknown> | undefined>

/**
 * Objects in `nft -j list ruleset` that kube-proxy would not take over: any
 * table but `ip`/`ip6` `kube-proxy` (iptables-nft's own tables aside, they are
 * checked through iptables-save), and inside those tables any chain, set, map
 * or other object that is not kube-proxy's by the rules above. kube-proxy in
 * iptables or IPVS mode deletes both `kube-proxy` tables whole at start
 * (`platformCleanup` → `nftables.CleanupLeftovers`), so there only other
 * tables count.
 */
export function unownedNft (json: string, mode: ProxyMode): Unowned[] {
  const out: Unowned[] = []
  const items = (JSON.parse(json) as { nftables: NftJsonItem[] }).nftables
  for (const item of items) {
    const [kind, o] = Object.entries(item)[0] ?? []
    if (kind === undefined || o === undefined || kind === 'metainfo' || kind === 'rule' || kind === 'element') continue
    const family = String(o.family)
    const table = kind === 'table' ? String(o.name) : String(o.table)
    const name = String(o.name)
    const ours = (family === 'ip' || family === 'ip6') && table === NFT_TABLE
    if ((family === 'ip' || family === 'ip6') && iptablesNftTables.has(table)) continue
    if (!ours) {
      if (kind === 'table') out.push({ where: `nft ${family}`, name: `table ${name}`, why: 'kube-proxy owns no other table' })
      continue
    }
    if (kind === 'table' || mode !== 'nftables') continue
    const where = `nft ${family} ${NFT_TABLE}`
    if (kind === 'chain') {
      const base = o.hook !== undefined
      if (base ? nftBaseChains.has(name) : (nftTopChains.has(name) || nftServiceChain.test(name))) continue
      out.push({ where, name: `${base ? 'base ' : ''}chain ${name}`, why: base ? 'not one of kube-proxy\'s base chains: it is neither re-created nor flushed' : 'neither a top-level chain kube-proxy flushes nor a service chain (`/` in the name) it deletes when stale' })
    } else if (kind === 'set') {
      if (nftSets.has(name) || nftAffinitySet.test(name)) continue
      out.push({ where, name: `set ${name}`, why: 'kube-proxy flushes cluster-ips and nodeport-ips and deletes stale affinity-… sets; any other set stays' })
    } else if (kind === 'map') {
      if (nftMaps.has(name)) continue
      out.push({ where, name: `map ${name}`, why: 'not one of the verdict maps kube-proxy flushes; it stays' })
    } else {
      out.push({ where, name: `${kind} ${name}`, why: 'kube-proxy creates no such object and deletes none' })
    }
  }
  return out
}

/** kube-proxy's IPVS-mode ipsets (pkg/proxy/ipvs/ipset.go, `ipsetInfo` in proxier.go). */
export const ipvsIpsets: readonly string[] = [
  'KUBE-LOOP-BACK', 'KUBE-CLUSTER-IP', 'KUBE-EXTERNAL-IP', 'KUBE-EXTERNAL-IP-LOCAL', 'KUBE-LOAD-BALANCER',
  'KUBE-LOAD-BALANCER-FW', 'KUBE-LOAD-BALANCER-LOCAL', 'KUBE-LOAD-BALANCER-SOURCE-IP', 'KUBE-LOAD-BALANCER-SOURCE-CIDR',
  'KUBE-NODE-PORT-TCP', 'KUBE-NODE-PORT-LOCAL-TCP', 'KUBE-NODE-PORT-UDP', 'KUBE-NODE-PORT-LOCAL-UDP',
  'KUBE-NODE-PORT-SCTP-HASH', 'KUBE-NODE-PORT-LOCAL-SCTP-HASH', 'KUBE-HEALTH-CHECK-NODE-PORT', 'KUBE-IPVS-IPS'
]
/** IPv6 ones: `KUBE-` → `KUBE-6-`, cut to ipset's 31 characters (`NewIPSet`). */
const ipvsIpsetNames = new Set([...ipvsIpsets, ...ipvsIpsets.map((n) => `KUBE-6-${n.slice('KUBE-'.length)}`.slice(0, 31))])

/** ipsets kube-proxy would not take over: in IPVS mode anything but its sets; in the other modes any set. */
export function unownedIpsets (names: readonly string[], mode: ProxyMode): Unowned[] {
  return names.filter((n) => n !== '' && !(mode === 'ipvs' && ipvsIpsetNames.has(n)))
    .map((name) => ({ where: 'ipset', name, why: mode === 'ipvs' ? 'not one of kube-proxy\'s IPVS-mode ipsets' : `kube-proxy in ${mode} mode creates no ipset (IPVS mode's are destroyed by its CleanupLeftovers only)` }))
}

/** The dummy link IPVS mode binds service addresses to (`defaultDummyDevice`). */
export const IPVS_DUMMY = 'kube-ipvs0'

/** Links kube-proxy would not take over: `kube-ipvs0` in IPVS mode, nothing otherwise. */
export function unownedLinks (names: readonly string[], mode: ProxyMode): Unowned[] {
  return names.filter((n) => !(mode === 'ipvs' && n === IPVS_DUMMY))
    .map((name) => ({ where: 'link', name, why: `kube-proxy in ${mode} mode owns no link of this name` }))
}
