/**
 * Applying the portmap ruleset to one family's iptables.
 *
 * Setup reads the nat table once (`iptables-save`). Shared chains and their
 * rules that the snapshot already holds cost nothing more; missing ones are
 * created with the one-rule primitives, which check with `-C` first (so a
 * rule the snapshot comparison missed is never added twice, and concurrent
 * plugins never flush each other's shared chains). The per-container chain
 * and its jump rules are then written in one `iptables-restore --noflush`
 * transaction: declaring the chain empties it, so a repeated ADD converges on
 * exactly the wanted rules, and nobody ever sees half of them. On a warm node
 * that is two commands per family where the reference runs about twenty.
 *
 * Teardown removes every rule jumping to the per-container chain (in any
 * chain), then the chain, in one transaction; what is already gone is simply
 * not in the transaction.
 */
import { CniError } from '../skel/index.js'
import { canonicalRule, formatRule, parseSaveTable, renderRestore, ruleTarget } from '../../kernel/index.js'
import type { Iptables, RestoreOp, RuleSpec, SavedTable } from '../../kernel/index.js'
import { dnatChain, sharedChains, toplevelDnatChain } from './rules.js'
import type { ChainSpec } from './rules.js'
import type { ContainerNet, PortmapConf } from './config.js'

const TABLE = 'nat'

function iptablesError (what: string, e: unknown): CniError {
  return new CniError('CNI_ERR_IPTABLES', what, e instanceof Error ? e.message : String(e), { cause: e })
}

function snapshot (ipt: Iptables): SavedTable {
  return parseSaveTable(ipt.save(TABLE), TABLE)
}

/** Whether the snapshot holds the rule, comparing canonical forms. */
function inSnapshot (saved: SavedTable, chain: string, rule: RuleSpec, ipt: Iptables): boolean {
  const want = canonicalRule(rule, ipt.family).join('\0')
  return (saved.rules.get(chain) ?? []).some((r) => canonicalRule(r, ipt.family).join('\0') === want)
}

/** Creates a shared chain, its rules and its entry rules where missing; never removes anything. */
function ensureShared (ipt: Iptables, saved: SavedTable, spec: ChainSpec): void {
  if (!saved.rules.has(spec.name)) ipt.ensureChain(TABLE, spec.name)
  for (const rule of spec.rules) {
    if (!inSnapshot(saved, spec.name, rule, ipt)) ipt.appendUnique(TABLE, spec.name, rule)
  }
  for (const entry of spec.entryChains) {
    for (const r of spec.entryRules) {
      const rule = [...r, '-j', spec.name]
      if (inSnapshot(saved, entry, rule, ipt)) continue
      if (spec.prependEntry) ipt.insertUnique(TABLE, entry, rule, 1)
      else ipt.appendUnique(TABLE, entry, rule)
    }
  }
}

/** Rules anywhere in the table that jump or go to one of `chains` (other than from those chains themselves). */
function jumpsTo (saved: SavedTable, chains: readonly string[]): RestoreOp[] {
  const ops: RestoreOp[] = []
  for (const [chain, rules] of saved.rules) {
    if (chains.includes(chain)) continue
    for (const rule of rules) {
      const t = ruleTarget(rule)
      if (t !== undefined && chains.includes(t)) ops.push({ op: 'delete', chain, rule })
    }
  }
  return ops
}

/**
 * Builds a transaction from a snapshot (`first`, or a fresh read) and applies
 * it; once more on a fresh snapshot if it failed, which happens when another
 * process changed a rule we meant to delete between our read and our write.
 */
function transact (ipt: Iptables, fn: (saved: SavedTable) => RestoreOp[], first?: SavedTable): void {
  for (let attempt = 0; ; attempt++) {
    const ops = fn(attempt === 0 && first !== undefined ? first : snapshot(ipt))
    if (ops.length === 0) return
    try {
      ipt.restore(renderRestore(TABLE, ops))
      return
    } catch (e) {
      if (attempt >= 1) throw e
    }
  }
}

export interface ForwardHooks {
  /** Called for v4 when marking is on, after the shared chains exist (the reference sets route_localnet here). */
  enableLocalnet?: (net: ContainerNet) => void
}

/** Sets up forwarding of every mapping to one container address. */
export function forwardPorts (ipt: Iptables, conf: PortmapConf, containerId: string, net: ContainerNet, hooks: ForwardHooks = {}): void {
  let saved: SavedTable
  try {
    saved = snapshot(ipt)
    for (const spec of sharedChains(conf)) {
      if (spec.name === toplevelDnatChain().name && net.family === 4 && conf.snat) hooks.enableLocalnet?.(net)
      ensureShared(ipt, saved, spec)
    }
  } catch (e) {
    if (e instanceof CniError) throw e
    throw iptablesError(`failed to set up the shared portmap chains for ${net.address}`, e)
  }
  const spec = dnatChain(conf, containerId, net)
  try {
    transact(ipt, (s) => {
      // Old jumps to our chain go (a repeated ADD), the chain is emptied by its declaration and refilled.
      const ops: RestoreOp[] = [{ op: 'declare', chain: spec.name }, ...jumpsTo(s, [spec.name])]
      for (const rule of spec.rules) ops.push({ op: 'append', chain: spec.name, rule })
      for (const entry of spec.entryChains) {
        for (const r of spec.entryRules) ops.push({ op: 'append', chain: entry, rule: [...r, '-j', spec.name] })
      }
      return ops
    }, saved)
  } catch (e) {
    throw iptablesError(`unable to set up DNAT chain ${spec.name} for ${net.address}`, e)
  }
}

/** Removes the per-container chains and every rule leading to them. True when anything was there. */
export function unforwardPorts (ipt: Iptables, chains: readonly string[]): boolean {
  let removed = false
  transact(ipt, (saved) => {
    const ops = jumpsTo(saved, chains)
    for (const c of chains) {
      if (saved.rules.has(c)) ops.push({ op: 'flush', chain: c }, { op: 'deleteChain', chain: c })
    }
    removed = ops.length > 0
    return ops
  })
  return removed
}

function checkFailed (msg: string): CniError {
  return new CniError('CNI_ERR_CHECK_FAILED', msg)
}

/** Verifies the rules `forwardPorts` would have written (code 110 on the first missing one). */
export function checkPorts (ipt: Iptables, conf: PortmapConf, containerId: string, net: ContainerNet): void {
  let saved: SavedTable
  try {
    saved = snapshot(ipt)
  } catch (e) {
    throw iptablesError(`cannot read the ${net.family === 4 ? 'iptables' : 'ip6tables'} nat table`, e)
  }
  const has = (chain: string, rule: RuleSpec): boolean => inSnapshot(saved, chain, rule, ipt) || ipt.ruleExists(TABLE, chain, rule)
  const verify = (spec: ChainSpec): void => {
    if (!saved.rules.has(spec.name)) throw checkFailed(`chain ${spec.name} not found in iptables table ${TABLE}`)
    for (const rule of spec.rules) {
      if (!has(spec.name, rule)) throw checkFailed(`rule "-A ${spec.name} ${formatRule(rule)}" not found in table ${TABLE}`)
    }
    for (const entry of spec.entryChains) {
      for (const r of spec.entryRules) {
        const rule = [...r, '-j', spec.name]
        if (!has(entry, rule)) throw checkFailed(`rule "-A ${entry} ${formatRule(rule)}" not found in table ${TABLE}`)
      }
    }
  }
  verify(dnatChain(conf, containerId, net))
  for (const spec of sharedChains(conf)) verify(spec)
}
