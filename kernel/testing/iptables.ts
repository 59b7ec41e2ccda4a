/**
 * An in-memory iptables for one address family. It keeps rules in the
 * canonical form the kernel stores (see `canonicalRule`), applies
 * `iptables-restore --noflush` scripts atomically with the kernel's rules
 * (declaring an existing user chain empties it; `-A` needs the chain and a
 * known target; `-D` of a missing rule fails the whole transaction; `-X` needs
 * an empty, unreferenced chain), and dumps itself as `iptables-save` text
 * without the `#` comment lines, so golden tests read like a real ruleset.
 */
import { KernelError } from '../errors.js'
import {
  builtinChains, canonicalRule, formatRule, isTable, parseSave, ruleTarget, sameRule, splitWords
} from '../iptables.js'
import type { Iptables, IptablesTable, RuleSpec } from '../iptables.js'
import type { Family } from '../types.js'

interface Chain { policy: string, rules: string[][] }
type Table = Map<string, Chain>
type State = Map<IptablesTable, Table>

const builtinTargets = new Set([
  'ACCEPT', 'DROP', 'RETURN', 'REJECT', 'QUEUE', 'DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT', 'MARK', 'CONNMARK',
  'LOG', 'NFLOG', 'NOTRACK', 'CT', 'TPROXY', 'TCPMSS', 'CHECKSUM', 'NETMAP', 'SET'
])

export interface FakeIptables extends Iptables {
  /** iptables-save text (no `#` lines) of one table, or of every table holding user chains or rules. */
  dump (table?: IptablesTable): string
  /** Every command the Linux implementation would have run, e.g. `-C nat CNI-HOSTPORT-MASQ`, `save nat`, `restore`. */
  readonly calls: string[]
  /** When set and returning true for a call (as written to `calls`), that call fails as the tool would. */
  failOn: ((call: string) => boolean) | undefined
  /** Simulates a host without this family: `save` and every command fail. */
  unusable: boolean
}

function emptyTable (table: IptablesTable): Table {
  const t: Table = new Map()
  for (const c of builtinChains[table]) t.set(c, { policy: 'ACCEPT', rules: [] })
  return t
}

function clone (s: State): State {
  const out: State = new Map()
  for (const [name, t] of s) {
    const tt: Table = new Map()
    for (const [c, ch] of t) tt.set(c, { policy: ch.policy, rules: ch.rules.map((r) => [...r]) })
    out.set(name, tt)
  }
  return out
}

class RestoreFailure extends KernelError {
  constructor (msg: string, notExist = false) { super('KERNEL_ERR_COMMAND', msg, notExist ? 2 : 0) }
}

/** A fake iptables (family 4) or ip6tables (family 6); `init` is iptables-save text to start from. */
export function fakeIptables (family: Family, init?: string): FakeIptables {
  let state: State = new Map()
  const tool = family === 4 ? 'iptables' : 'ip6tables'

  const tableOf = (s: State, name: IptablesTable): Table => {
    let t = s.get(name)
    if (t === undefined) { t = emptyTable(name); s.set(name, t) }
    return t
  }
  const isBuiltin = (table: IptablesTable, chain: string): boolean => builtinChains[table].includes(chain)
  const referenced = (t: Table, chain: string): boolean => {
    for (const ch of t.values()) if (ch.rules.some((r) => ruleTarget(r) === chain)) return true
    return false
  }
  const validTarget = (t: Table, rule: string[]): boolean => {
    const target = ruleTarget(rule)
    return target === undefined || builtinTargets.has(target) || t.has(target)
  }

  // The operations, on a given state; they throw RestoreFailure as the tool would fail.
  const ops = {
    declare (t: Table, table: IptablesTable, chain: string, policy: string): void {
      const ch = t.get(chain)
      if (isBuiltin(table, chain)) { if (ch !== undefined && policy !== '-') ch.policy = policy; return }
      if (ch === undefined) t.set(chain, { policy: '-', rules: [] })
      else ch.rules = []
    },
    newChain (t: Table, chain: string): void {
      if (t.has(chain)) throw new RestoreFailure(`${tool}: Chain already exists.`)
      t.set(chain, { policy: '-', rules: [] })
    },
    add (t: Table, chain: string, rule: RuleSpec, position: number | undefined): void {
      const ch = t.get(chain)
      if (ch === undefined) throw new RestoreFailure(`${tool}: No chain/target/match by that name.`, true)
      const canon = canonicalRule(rule, family)
      if (!validTarget(t, canon)) throw new RestoreFailure(`${tool}: Couldn't load target \`${ruleTarget(canon) ?? ''}'`)
      if (position === undefined) ch.rules.push(canon)
      else {
        if (position < 1 || position > ch.rules.length + 1) throw new RestoreFailure(`${tool}: Index of insertion too big.`)
        ch.rules.splice(position - 1, 0, canon)
      }
    },
    del (t: Table, chain: string, rule: RuleSpec): void {
      const ch = t.get(chain)
      const i = ch === undefined ? -1 : ch.rules.findIndex((r) => sameRule(r, rule, family))
      if (ch === undefined || i < 0) throw new RestoreFailure(`${tool}: Bad rule (does a matching rule exist in that chain?).`, true)
      ch.rules.splice(i, 1)
    },
    flush (t: Table, chain: string): void {
      const ch = t.get(chain)
      if (ch === undefined) throw new RestoreFailure(`${tool}: No chain/target/match by that name.`, true)
      ch.rules = []
    },
    deleteChain (t: Table, table: IptablesTable, chain: string): void {
      const ch = t.get(chain)
      if (ch === undefined || isBuiltin(table, chain)) throw new RestoreFailure(`${tool}: No chain/target/match by that name.`, true)
      if (ch.rules.length > 0) throw new RestoreFailure(`${tool}: Directory not empty.`)
      if (referenced(t, chain)) throw new RestoreFailure(`${tool}: Too many links.`)
      t.delete(chain)
    }
  }

  const render = (s: State, table: IptablesTable): string => {
    const t = s.get(table) ?? emptyTable(table)
    const names = [...builtinChains[table], ...[...t.keys()].filter((c) => !isBuiltin(table, c)).sort()]
    const lines = [`*${table}`]
    for (const c of names) lines.push(`:${c} ${t.get(c)?.policy ?? 'ACCEPT'} [0:0]`)
    for (const c of names) for (const r of t.get(c)?.rules ?? []) lines.push(`-A ${c} ${formatRule(r)}`.trimEnd())
    lines.push('COMMIT')
    return lines.join('\n') + '\n'
  }

  const calls: string[] = []
  const call = (what: string): void => {
    calls.push(what)
    if (self.unusable) throw new KernelError('KERNEL_ERR_COMMAND', `${tool}: can't initialize ${tool} table: Table does not exist (do you need to insmod?)`)
    if (self.failOn?.(what) === true) throw new KernelError('KERNEL_ERR_COMMAND', `${tool}: injected failure of "${what}"`)
  }
  /** Runs one primitive on the live state, tolerating "does not exist" when asked. */
  const direct = (fn: (s: State) => void, tolerateNotExist: boolean): void => {
    const next = clone(state)
    try { fn(next) } catch (e) {
      if (tolerateNotExist && e instanceof RestoreFailure && e.errno === 2) return
      throw e
    }
    state = next
  }

  const applyScript = (script: string): void => {
    const next = clone(state)
    let table: IptablesTable | undefined
    const lines = script.split('\n')
    for (let n = 0; n < lines.length; n++) {
      const line = (lines[n] as string).trim()
      if (line === '' || line.startsWith('#')) continue
      const fail = (msg: string): never => { throw new KernelError('KERNEL_ERR_COMMAND', `${tool}-restore: line ${n + 1} failed: ${msg}`) }
      if (line.startsWith('*')) {
        const name = line.slice(1)
        if (!isTable(name)) fail(`unknown table ${name}`)
        table = name as IptablesTable
        tableOf(next, table)
        continue
      }
      if (table === undefined) fail('no table specified')
      const t = tableOf(next, table as IptablesTable)
      if (line === 'COMMIT') { table = undefined; continue }
      try {
        if (line.startsWith(':')) {
          const [name = '', policy = '-'] = line.slice(1).split(/\s+/)
          ops.declare(t, table as IptablesTable, name, policy)
          continue
        }
        const w = splitWords(line)
        const [op, chain = ''] = w
        switch (op) {
          case '-A': ops.add(t, chain, w.slice(2), undefined); break
          case '-I': {
            const pos = /^\d+$/.test(w[2] ?? '') ? Number(w[2]) : undefined
            ops.add(t, chain, w.slice(pos === undefined ? 2 : 3), pos ?? 1)
            break
          }
          case '-D': ops.del(t, chain, w.slice(2)); break
          case '-F': ops.flush(t, chain); break
          case '-X': ops.deleteChain(t, table as IptablesTable, chain); break
          case '-N': ops.newChain(t, chain); break
          default: fail(`unsupported command ${op ?? ''}`)
        }
      } catch (e) {
        if (e instanceof RestoreFailure) fail(e.message)
        throw e
      }
    }
    if (table !== undefined) throw new KernelError('KERNEL_ERR_COMMAND', `${tool}-restore: COMMIT expected at line ${lines.length}`)
    state = next
  }

  const self: FakeIptables = {
    family,
    calls,
    failOn: undefined,
    unusable: false,
    save (table) { call(`save ${table}`); return render(state, table) },
    restore (script) { call('restore'); applyScript(script) },
    listChains (table) {
      const text = self.save(table)
      return (parseSave(text).get(table)?.chains ?? []).map((c) => c.name)
    },
    chainExists (table, chain) { return self.listChains(table).includes(chain) },
    listRules (table, chain) {
      const text = self.save(table)
      return parseSave(text).get(table)?.rules.get(chain) ?? []
    },
    ruleExists (table, chain, rule) {
      call(`-C ${table} ${chain}`)
      return state.get(table)?.get(chain)?.rules.some((r) => sameRule(r, rule, family)) ?? false
    },
    ensureChain (table, chain) {
      call(`-N ${table} ${chain}`)
      direct((s) => { const t = tableOf(s, table); if (!t.has(chain)) ops.newChain(t, chain) }, false)
    },
    appendUnique (table, chain, rule) {
      if (self.ruleExists(table, chain, rule)) return
      call(`-A ${table} ${chain}`)
      direct((s) => ops.add(tableOf(s, table), chain, rule, undefined), false)
    },
    insertUnique (table, chain, rule, position = 1) {
      if (self.ruleExists(table, chain, rule)) return
      call(`-I ${table} ${chain}`)
      direct((s) => ops.add(tableOf(s, table), chain, rule, position), false)
    },
    deleteRule (table, chain, rule) {
      call(`-D ${table} ${chain}`)
      direct((s) => ops.del(tableOf(s, table), chain, rule), true)
    },
    flushChain (table, chain) {
      call(`-F ${table} ${chain}`)
      direct((s) => ops.flush(tableOf(s, table), chain), true)
    },
    deleteChain (table, chain) {
      call(`-X ${table} ${chain}`)
      direct((s) => ops.deleteChain(tableOf(s, table), table, chain), true)
    },
    dump (table) {
      if (table !== undefined) return render(state, table)
      const out: string[] = []
      for (const name of Object.keys(builtinChains) as IptablesTable[]) {
        const t = state.get(name)
        if (t === undefined) continue
        const used = [...t.entries()].some(([c, ch]) => !isBuiltin(name, c) || ch.rules.length > 0)
        if (used) out.push(render(state, name))
      }
      return out.join('')
    }
  }
  if (init !== undefined) {
    // Load a saved ruleset: every table, chain and rule as the kernel printed it.
    const script = init.split('\n').filter((l) => !l.startsWith('#')).join('\n')
    applyScript(script)
  }
  return self
}
