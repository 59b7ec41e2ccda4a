/**
 * The nftables backend of TrafficManager, in flannel's layout (`EnableNFTables`):
 *
 *   table ip flannel-ipv4 / table ip6 flannel-ipv6   comment "rules for flannel-ipv4|6"
 *     chain postrtg   type nat hook postrouting priority srcnat   the masquerade rules
 *     chain forward   type filter hook forward priority filter    the forward rules
 *
 * Rules are written in the very syntax `nft list` prints them in, so a check
 * is one `nft list table` per family and a text comparison per rule. When a
 * chain differs, one `nft -f` transaction for both families re-adds the table
 * and chain, flushes the chain and adds every rule again.
 *
 * One deliberate difference from flannel: the kube-proxy mark is matched as a
 * bit (`meta mark & 0x00004000 == 0x00004000`, as iptables' `--mark
 * 0x4000/0x4000` does), where flannel's nftables mode compares the whole mark
 * (`meta mark 0x00004000`) and so misses packets carrying other mark bits too.
 */
import { nftChainBody, nftString, parseNftTable } from '../../kernel/index.js'
import type { Family, NftBaseChain, NftChainListing, NftFamily, NftTableListing, Nftables } from '../../kernel/index.js'
import { VxlanError } from './errors.js'
import { sameRules } from './masq.js'
import type { AddrMatch, RuleSet, TrafficManager, TrafficRule } from './masq.js'

export const NFT_TABLES: Readonly<Record<Family, { family: NftFamily, name: string }>> = {
  4: { family: 'ip', name: 'flannel-ipv4' },
  6: { family: 'ip6', name: 'flannel-ipv6' }
}

interface ChainSpec {
  name: string
  base: NftBaseChain
  /** The base line as `nft list` prints it, to tell a chain with the wrong hook. */
  listed: string
  comment: string
}

export const NFT_MASQ_CHAIN = 'postrtg'
export const NFT_FORWARD_CHAIN = 'forward'

const masqSpec: ChainSpec = {
  name: NFT_MASQ_CHAIN,
  base: { type: 'nat', hook: 'postrouting', priority: 'srcnat', policy: 'accept' },
  listed: 'type nat hook postrouting priority srcnat; policy accept;',
  comment: 'chain to manage traffic masquerading by flannel'
}
const forwardSpec: ChainSpec = {
  name: NFT_FORWARD_CHAIN,
  // Never a drop policy here: it would cut the node off (flannel's warning).
  base: { type: 'filter', hook: 'forward', priority: 'filter', policy: 'accept' },
  listed: 'type filter hook forward priority filter; policy accept;',
  comment: 'chain to accept flannel traffic'
}

/** An address as `nft list` prints it: a prefix, or a bare address for a /32 or /128. */
function addr (a: AddrMatch, family: Family): string {
  const full = family === 4 ? '/32' : '/128'
  return a.cidr.endsWith(full) ? a.cidr.slice(0, -full.length) : a.cidr
}

/** A rule in the text `nft list` prints for it. */
export function nftRule (rule: TrafficRule, family: Family): string {
  const p = family === 4 ? 'ip' : 'ip6'
  const w: string[] = []
  if (rule.markBits !== undefined) {
    const m = '0x' + rule.markBits.toString(16).padStart(8, '0')
    w.push(`meta mark & ${m} == ${m}`)
  }
  if (rule.src !== undefined) w.push(`${p} saddr ${rule.src.negate ? '!= ' : ''}${addr(rule.src, family)}`)
  if (rule.dst !== undefined) w.push(`${p} daddr ${rule.dst.negate ? '!= ' : ''}${addr(rule.dst, family)}`)
  switch (rule.verdict) {
    case 'return': w.push('return'); break
    case 'accept': w.push('accept'); break
    case 'masquerade': w.push(rule.randomFully === true ? 'masquerade fully-random' : 'masquerade'); break
  }
  return w.join(' ')
}

export interface NftablesTrafficDeps {
  nft: Nftables
}

function dataplane (msg: string, cause: unknown): VxlanError {
  return new VxlanError('VXLAN_ERR_DATAPLANE', `${msg}: ${(cause as Error).message}`, { cause })
}

/** A TrafficManager on nftables. */
export function nftablesTrafficManager (deps: NftablesTrafficDeps): TrafficManager {
  const { nft } = deps

  /** The table's listing; undefined when it does not exist. With `tolerant`, also when nftables cannot be read. */
  const read = (fam: Family, tolerant: boolean): NftTableListing | undefined => {
    const t = NFT_TABLES[fam]
    try {
      const text = nft.listTable(t.family, t.name)
      return text === undefined ? undefined : parseNftTable(text)
    } catch (e) {
      if (tolerant) return undefined
      throw dataplane(`nft list table ${t.family} ${t.name}`, e)
    }
  }

  /** Script lines that make one chain of one family right; [] when it already is. */
  const plan = (spec: ChainSpec, fam: Family, rules: readonly TrafficRule[] | undefined): string[] => {
    const t = NFT_TABLES[fam]
    const listing = read(fam, rules === undefined)
    const chain: NftChainListing | undefined = listing?.chains.find((c) => c.name === spec.name)
    const where = `${t.family} ${t.name}`
    if (rules === undefined) {
      if (listing === undefined || chain === undefined) return []
      // The last chain of ours goes with its table.
      const others = listing.chains.filter((c) => c.name !== spec.name)
      return others.length === 0 ? [`delete table ${where}`] : [`delete chain ${where} ${spec.name}`]
    }
    const want = rules.map((r) => nftRule(r, fam))
    if (chain !== undefined && chain.base === spec.listed && sameRules(chain.rules, want)) return []
    const lines = [`add table ${where} { comment ${nftString(`rules for ${t.name}`)} ; }`]
    // A chain of this name with another hook cannot be redefined in place.
    if (chain !== undefined && chain.base !== spec.listed) lines.push(`delete chain ${where} ${spec.name}`)
    lines.push(
      `add chain ${where} ${spec.name}${nftChainBody(spec.base, spec.comment)}`,
      `flush chain ${where} ${spec.name}`,
      ...want.map((r) => `add rule ${where} ${spec.name} ${r}`)
    )
    return lines
  }

  const sync = (spec: ChainSpec, desired: RuleSet): boolean => {
    const script = [...plan(spec, 4, desired.v4), ...plan(spec, 6, desired.v6)]
    if (script.length === 0) return false
    try { nft.apply(script.join('\n') + '\n') } catch (e) { throw dataplane(`nft -f (${spec.name})`, e) }
    return true
  }

  return {
    backend: 'nftables',
    ensure (desired) { return sync(masqSpec, desired) },
    ensureForward (desired) { return sync(forwardSpec, desired) },
    cleanup () {
      for (const fam of [4, 6] as const) {
        const t = NFT_TABLES[fam]
        if (read(fam, true) === undefined) continue
        try { nft.deleteTable(t.family, t.name) } catch (e) { throw dataplane(`nft delete table ${t.family} ${t.name}`, e) }
      }
    }
  }
}
