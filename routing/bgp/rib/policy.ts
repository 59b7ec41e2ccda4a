/**
 * Import and export policy: an ordered list of rules, each a match (prefix list, AS-path regular expression,
 * communities, family) with optional `set` actions and an optional verdict, then a default verdict. A rule
 * without a verdict applies its `set` and evaluation goes on (BIRD's filters and GoBGP's statements read the same
 * way). Results share `Attrs` objects: the same input attributes through the same rules give the same object, so
 * the Adj-RIB-Out still groups prefixes by attribute set.
 */
import { ip } from '../../../kernel/index.js'
import type { Attrs, Family } from './path.js'
import { formatAsPath, parseCommunity } from './path.js'

export interface PrefixMatchConfig { prefix: string, ge?: number, le?: number }
export interface RuleConfig {
  match?: {
    /** Entries as objects or text: '10.0.0.0/8', '10.0.0.0/8 le 24', '10.0.0.0/8 ge 16 le 24'. */
    prefixes?: Array<string | PrefixMatchConfig>
    /** A regular expression over the AS path written as "65001 65002 {65003,65004}". */
    asPath?: string
    /** Matches when the path carries any of these ("65000:100", "no-export"). */
    communities?: string[]
    family?: 'ipv4' | 'ipv6'
  }
  set?: {
    localPref?: number
    med?: number
    communities?: { add?: string[], remove?: string[], replace?: string[] }
    nextHopSelf?: boolean
    /** Prepend our AS this many more times (export to eBGP only). */
    asPathPrepend?: number
  }
  action?: 'accept' | 'reject'
}
export interface PolicyConfig { rules?: RuleConfig[], default?: 'accept' | 'reject' }

interface PrefixMatch { net: ip.Cidr, family: Family, ge: number, le: number }
interface Rule {
  prefixes: PrefixMatch[] | undefined
  asPath: RegExp | undefined
  communities: number[] | undefined
  family: Family | undefined
  set: RuleConfig['set'] & { add?: number[], remove?: number[], replace?: number[] } | undefined
  action: 'accept' | 'reject' | undefined
}

export interface Policy {
  readonly rules: readonly Rule[]
  readonly default: 'accept' | 'reject'
  /** Some rule matches on the prefix: the result cannot be shared across prefixes with the same attributes. */
  readonly prefixDependent: boolean
  /** Input attrs → (rule index → output attrs), so equal inputs share one output object. */
  readonly cache: WeakMap<Attrs, Map<string, Attrs>>
}

export interface PolicyResult { attrs: Attrs, nextHopSelf: boolean, prepend: number }

function parsePrefixMatch (e: string | PrefixMatchConfig): PrefixMatch {
  let cfg: PrefixMatchConfig
  if (typeof e === 'string') {
    const m = /^(\S+)(?:\s+ge\s+(\d+))?(?:\s+le\s+(\d+))?$/.exec(e.trim())
    if (m === null) throw new RangeError(`prefix list entry "${e}" is not "PREFIX [ge N] [le N]"`)
    cfg = { prefix: m[1] as string }
    if (m[2] !== undefined) cfg.ge = Number(m[2])
    if (m[3] !== undefined) cfg.le = Number(m[3])
  } else cfg = e
  const net = ip.parseCidr(cfg.prefix)
  const family: Family = net.family === 6 ? 6 : 4
  const max = family === 4 ? 32 : 128
  const ge = cfg.ge ?? net.prefixLen
  const le = cfg.le ?? (cfg.ge !== undefined ? max : net.prefixLen)
  if (ge < net.prefixLen || le < ge || le > max) throw new RangeError(`prefix list entry ${cfg.prefix} ge ${ge} le ${le} is empty`)
  return { net, family, ge, le }
}

/** Compiles a policy; throws RangeError naming the bad part. */
export function compilePolicy (cfg: PolicyConfig | 'accept' | 'reject'): Policy {
  if (cfg === 'accept' || cfg === 'reject') return { rules: [], default: cfg, prefixDependent: false, cache: new WeakMap() }
  const rules = (cfg.rules ?? []).map((r, i): Rule => {
    try {
      const set = r.set === undefined
        ? undefined
        : {
            ...r.set,
            ...(r.set.communities?.add !== undefined ? { add: r.set.communities.add.map(parseCommunity) } : {}),
            ...(r.set.communities?.remove !== undefined ? { remove: r.set.communities.remove.map(parseCommunity) } : {}),
            ...(r.set.communities?.replace !== undefined ? { replace: r.set.communities.replace.map(parseCommunity) } : {})
          }
      return {
        prefixes: r.match?.prefixes?.map(parsePrefixMatch),
        asPath: r.match?.asPath !== undefined ? new RegExp(r.match.asPath) : undefined,
        communities: r.match?.communities?.map(parseCommunity),
        family: r.match?.family === 'ipv6' ? 6 : r.match?.family === 'ipv4' ? 4 : undefined,
        set,
        action: r.action
      }
    } catch (e) {
      throw new RangeError(`rule ${i}: ${(e as Error).message}`)
    }
  })
  return { rules, default: cfg.default ?? 'accept', prefixDependent: rules.some((r) => r.prefixes !== undefined), cache: new WeakMap() }
}

function prefixMatches (list: readonly PrefixMatch[], prefix: string, family: Family): boolean {
  const slash = prefix.indexOf('/')
  const len = Number(prefix.slice(slash + 1))
  const addr = prefix.slice(0, slash)
  for (const m of list) {
    if (m.family !== family || len < m.ge || len > m.le) continue
    if (ip.contains(m.net, addr)) return true
  }
  return false
}

function matches (r: Rule, prefix: string, family: Family, attrs: Attrs): boolean {
  if (r.family !== undefined && r.family !== family) return false
  if (r.prefixes !== undefined && !prefixMatches(r.prefixes, prefix, family)) return false
  if (r.asPath !== undefined && !r.asPath.test(formatAsPath(attrs.asPath))) return false
  if (r.communities !== undefined && !r.communities.some((c) => attrs.communities.includes(c))) return false
  return true
}

function applySet (attrs: Attrs, set: NonNullable<Rule['set']>): Attrs {
  let communities = attrs.communities
  if (set.replace !== undefined) communities = set.replace
  if (set.remove !== undefined) communities = communities.filter((c) => !(set.remove as number[]).includes(c))
  if (set.add !== undefined) communities = [...communities, ...set.add.filter((c) => !communities.includes(c))]
  return {
    ...attrs,
    ...(set.localPref !== undefined ? { localPref: set.localPref } : {}),
    ...(set.med !== undefined ? { med: set.med } : {}),
    communities
  }
}

/** Runs `policy` on one route: undefined when rejected, else the attributes to use and the flags rules set. */
export function evaluatePolicy (policy: Policy, prefix: string, family: Family, attrs: Attrs): PolicyResult | undefined {
  let verdict: 'accept' | 'reject' = policy.default
  let nextHopSelf = false
  let prepend = 0
  let cur = attrs
  for (let i = 0; i < policy.rules.length; i++) {
    const r = policy.rules[i] as Rule
    // Later rules see what earlier rules set.
    if (!matches(r, prefix, family, cur)) continue
    if (r.set !== undefined) {
      if (r.set.nextHopSelf === true) nextHopSelf = true
      if (r.set.asPathPrepend !== undefined) prepend += r.set.asPathPrepend
      let byRule = policy.cache.get(cur)
      if (byRule === undefined) { byRule = new Map(); policy.cache.set(cur, byRule) }
      let next = byRule.get(String(i))
      if (next === undefined) { next = applySet(cur, r.set); byRule.set(String(i), next) }
      cur = next
    }
    if (r.action !== undefined) { verdict = r.action; break }
  }
  if (verdict === 'reject') return undefined
  return { attrs: cur, nextHopSelf, prepend }
}
