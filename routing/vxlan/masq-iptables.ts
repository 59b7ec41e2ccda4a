/**
 * The iptables backend of TrafficManager, with flannel's exact chains, rule
 * words and comments, so rules left by flanneld are recognised as ours and
 * kept, and ours look like flannel's to anyone reading `iptables-save`:
 *
 *   *nat     -A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG
 *            -A FLANNEL-POSTRTG … -m comment --comment "flanneld masq" -j RETURN|MASQUERADE [--random-fully]
 *   *filter  -A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD
 *            -A FLANNEL-FWD -s|-d <network> -m comment --comment "flanneld forward" -j ACCEPT
 *
 * One `iptables-save -t <table>` per family and check (not one `iptables -C`
 * per rule, as flannel does); when anything differs, one
 * `iptables-restore --noflush` transaction re-declares the chain (which
 * empties it), drops every jump into it from the hook chain and appends the
 * jump and the rules again. Traffic never sees a half-written chain.
 */
import { canonicalRule, parseSaveTable, renderRestore, ruleTarget } from '../../kernel/index.js'
import type { Family, Iptables, IptablesTable, RestoreOp, RuleSpec, SavedTable } from '../../kernel/index.js'
import { VxlanError } from './errors.js'
import { sameRules } from './masq.js'
import type { RuleSet, TrafficManager, TrafficRule } from './masq.js'

export const MASQ_CHAIN = 'FLANNEL-POSTRTG'
export const FORWARD_CHAIN = 'FLANNEL-FWD'
export const MASQ_COMMENT = 'flanneld masq'
export const FORWARD_COMMENT = 'flanneld forward'

/** Where one of our chains lives and where it is jumped from. */
interface ChainSpec { table: IptablesTable, chain: string, from: string, comment: string }

const masqSpec: ChainSpec = { table: 'nat', chain: MASQ_CHAIN, from: 'POSTROUTING', comment: MASQ_COMMENT }
const forwardSpec: ChainSpec = { table: 'filter', chain: FORWARD_CHAIN, from: 'FORWARD', comment: FORWARD_COMMENT }

/** A rule in flannel's word order (iptables-save reorders it; compare canonical forms). */
export function iptablesRule (rule: TrafficRule, comment: string): string[] {
  const w: string[] = []
  if (rule.src !== undefined) w.push(...(rule.src.negate ? ['!'] : []), '-s', rule.src.cidr)
  if (rule.dst !== undefined) w.push(...(rule.dst.negate ? ['!'] : []), '-d', rule.dst.cidr)
  if (rule.markBits !== undefined) {
    const m = '0x' + rule.markBits.toString(16)
    w.push('-m', 'mark', '--mark', `${m}/${m}`)
  }
  w.push('-m', 'comment', '--comment', comment)
  switch (rule.verdict) {
    case 'return': w.push('-j', 'RETURN'); break
    case 'accept': w.push('-j', 'ACCEPT'); break
    case 'masquerade': w.push('-j', 'MASQUERADE', ...(rule.randomFully === true ? ['--random-fully'] : [])); break
  }
  return w
}

const jumpRule = (spec: ChainSpec): RuleSpec => ['-m', 'comment', '--comment', spec.comment, '-j', spec.chain]

export interface IptablesTrafficDeps {
  /** iptables; needed when any rule set has IPv4 rules. */
  ipv4?: Iptables | undefined
  /** ip6tables; needed when any rule set has IPv6 rules. */
  ipv6?: Iptables | undefined
}

function dataplane (msg: string, cause: unknown): VxlanError {
  return new VxlanError('VXLAN_ERR_DATAPLANE', `${msg}: ${(cause as Error).message}`, { cause })
}

/** Reads one table; undefined when the family's tables cannot be read at all (no kernel support, no tool). */
function read (ipt: Iptables, table: IptablesTable): SavedTable | undefined {
  try { return parseSaveTable(ipt.save(table), table) } catch { return undefined }
}

/** Every rule in the table that jumps or goes to `chain`, with the chain it sits in. */
function referencesTo (saved: SavedTable, chain: string): Array<{ chain: string, rule: string[] }> {
  const out: Array<{ chain: string, rule: string[] }> = []
  for (const [c, rules] of saved.rules) for (const r of rules) if (ruleTarget(r) === chain) out.push({ chain: c, rule: r })
  return out
}

/** Makes one chain of one family match `rules` (or vanish when undefined); returns whether it wrote. */
function sync (ipt: Iptables, spec: ChainSpec, rules: readonly TrafficRule[] | undefined): boolean {
  const fam: Family = ipt.family
  const tool = fam === 4 ? 'iptables' : 'ip6tables'
  let saved: SavedTable | undefined
  if (rules === undefined) {
    saved = read(ipt, spec.table)
    if (saved === undefined) return false // nothing of ours can be in a table nobody can read
  } else {
    try { saved = parseSaveTable(ipt.save(spec.table), spec.table) } catch (e) { throw dataplane(`${tool}-save -t ${spec.table}`, e) }
  }
  const exists = saved.chains.some((c) => c.name === spec.chain)
  const refs = referencesTo(saved, spec.chain)
  const ops: RestoreOp[] = []
  if (rules === undefined) {
    if (!exists && refs.length === 0) return false
    for (const r of refs) ops.push({ op: 'delete', chain: r.chain, rule: r.rule })
    if (exists) ops.push({ op: 'flush', chain: spec.chain }, { op: 'deleteChain', chain: spec.chain })
  } else {
    const want = rules.map((r) => canonicalRule(iptablesRule(r, spec.comment), fam).join(' '))
    const have = (saved.rules.get(spec.chain) ?? []).map((r) => canonicalRule(r, fam).join(' '))
    const jump = canonicalRule(jumpRule(spec), fam).join(' ')
    const jumpOk = refs.length === 1 && refs[0]?.chain === spec.from && canonicalRule(refs[0].rule, fam).join(' ') === jump
    if (exists && jumpOk && sameRules(have, want)) return false
    ops.push({ op: 'declare', chain: spec.chain }) // creates the chain, or empties it
    for (const r of refs) ops.push({ op: 'delete', chain: r.chain, rule: r.rule })
    ops.push({ op: 'append', chain: spec.from, rule: jumpRule(spec) })
    for (const r of rules) ops.push({ op: 'append', chain: spec.chain, rule: iptablesRule(r, spec.comment) })
  }
  try { ipt.restore(renderRestore(spec.table, ops)) } catch (e) { throw dataplane(`${tool}-restore (${spec.table} ${spec.chain})`, e) }
  return true
}

/**
 * A TrafficManager on iptables/ip6tables. A family without an `Iptables` in
 * `deps` is left alone; asking for rules in it is a VXLAN_ERR_DATAPLANE.
 */
export function iptablesTrafficManager (deps: IptablesTrafficDeps): TrafficManager {
  const each = (spec: ChainSpec, desired: RuleSet): boolean => {
    let changed = false
    for (const [fam, ipt, rules] of [[4, deps.ipv4, desired.v4], [6, deps.ipv6, desired.v6]] as const) {
      if (ipt === undefined) {
        if (rules !== undefined) throw new VxlanError('VXLAN_ERR_DATAPLANE', `IPv${fam} ${spec.chain} rules wanted but no ${fam === 4 ? 'iptables' : 'ip6tables'} given`)
        continue
      }
      if (sync(ipt, spec, rules)) changed = true
    }
    return changed
  }
  return {
    backend: 'iptables',
    ensure (desired) { return each(masqSpec, desired) },
    ensureForward (desired) { return each(forwardSpec, desired) },
    cleanup () {
      const none: RuleSet = { v4: undefined, v6: undefined }
      each(masqSpec, none)
      each(forwardSpec, none)
    }
  }
}
