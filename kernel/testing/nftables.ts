/**
 * An in-memory nftables holding tables, chains and rules, applying `nft -f`
 * scripts atomically (a failing command leaves everything as it was) and
 * dumping itself as `nft list ruleset` prints it, so golden tests read like
 * a real ruleset.
 *
 * It understands the one-command-per-line script syntax Weft writes:
 * `add|create table`, `add|create chain` (with a `{ type … hook … priority …;
 * policy …; comment …; }` body), `add|insert rule`, `flush table|chain`,
 * `delete table|chain`, `delete rule … handle N`, and `#` comments. Anything
 * else fails as unsupported rather than being accepted blindly. Rules are kept
 * as text after the small canonicalisation nft applies to what Weft writes:
 * prefixes lose their host bits (and `/32`, `/128` vanish), IPv6 addresses are
 * shortened, `meta mark` values are printed as 8-digit hex, `==` is dropped
 * except after a mask, `counter` gains `packets 0 bytes 0`. The kernel's
 * refusals are modelled where Weft could meet them: a missing table or chain
 * (ENOENT), `create` of an existing one (EEXIST), redefining a base chain's
 * hook (EOPNOTSUPP), `masquerade` outside a nat postrouting chain (EOPNOTSUPP),
 * deleting a chain something jumps to (EBUSY). `e2e/routing/masq.test.ts`
 * holds the fake to the real nft for the scripts Weft writes.
 */
import { canonical, familyOf, networkOf, parseCidr } from '../ip.js'
import { nftFamilies, NftablesError } from '../nftables.js'
import type { NftFamily, Nftables } from '../nftables.js'

export interface FakeNftables extends Nftables {
  /** The whole ruleset as `nft list ruleset` prints it; with `handles`, as `nft -a list ruleset`. */
  dump (opts?: { handles?: boolean }): string
  /** Every command the Linux implementation would have run: `-f`, `list table ip t`, `delete table ip t`. */
  readonly calls: string[]
  /** When set and returning true for a call (as written to `calls`), that call fails as nft would. */
  failOn: ((call: string) => boolean) | undefined
  /** Simulates a host without nf_tables: every command fails. */
  unusable: boolean
}

interface Base { type: string, hook: string, priority: number, policy: string }
interface Rule { handle: number, text: string }
interface Chain { name: string, handle: number, comment: string | undefined, base: Base | undefined, rules: Rule[] }
interface Table {
  family: NftFamily
  name: string
  handle: number
  comment: string | undefined
  chains: Chain[]
  nextHandle: number
}
interface State { tables: Table[], nextTableHandle: number }

const clone = (s: State): State => ({
  nextTableHandle: s.nextTableHandle,
  tables: s.tables.map((t) => ({
    ...t,
    chains: t.chains.map((c) => ({ ...c, base: c.base === undefined ? undefined : { ...c.base }, rules: c.rules.map((r) => ({ ...r })) }))
  }))
})

/** Standard priorities (nft's prio_tbl for ip, ip6 and inet) and the hooks they are printed for. */
const stdPriorities: Array<{ name: string, value: number, hooks?: readonly string[] }> = [
  { name: 'raw', value: -300 },
  { name: 'mangle', value: -150 },
  { name: 'dstnat', value: -100, hooks: ['prerouting'] },
  { name: 'filter', value: 0 },
  { name: 'security', value: 50 },
  { name: 'srcnat', value: 100, hooks: ['postrouting'] }
]

function parsePriority (words: string[]): number | undefined {
  // `100`, `-100`, `srcnat`, `srcnat + 5`, `filter - 10`
  const [a, op, b] = words
  const base = a === undefined ? undefined : /^-?\d+$/.test(a) ? Number(a) : stdPriorities.find((p) => p.name === a)?.value
  if (base === undefined) return undefined
  if (op === undefined) return base
  if ((op !== '+' && op !== '-') || b === undefined || !/^\d+$/.test(b)) return undefined
  return op === '+' ? base + Number(b) : base - Number(b)
}

function printPriority (prio: number, hook: string): string {
  for (const p of stdPriorities) {
    if (p.hooks !== undefined && !p.hooks.includes(hook)) continue
    const off = prio - p.value
    if (off === 0) return p.name
    if (Math.abs(off) <= 10) return `${p.name} ${off > 0 ? '+' : '-'} ${Math.abs(off)}`
  }
  return String(prio)
}

/** Splits script text into words, keeping `"…"` strings whole and `{`, `}`, `;` as words of their own. */
function tokenize (line: string): string[] {
  const out: string[] = []
  let i = 0
  while (i < line.length) {
    const ch = line[i] as string
    if (ch === ' ' || ch === '\t') { i++; continue }
    if (ch === '{' || ch === '}' || ch === ';') { out.push(ch); i++; continue }
    if (ch === '"') {
      const end = line.indexOf('"', i + 1)
      if (end < 0) throw new NftablesError('nft -f -', 'Error: syntax error, unexpected end of file, unterminated string')
      out.push(line.slice(i, end + 1))
      i = end + 1
      continue
    }
    let j = i
    while (j < line.length && !' \t{};"'.includes(line[j] as string)) j++
    out.push(line.slice(i, j))
    i = j
  }
  return out
}

const isNumber = (w: string): boolean => /^(0x[0-9a-fA-F]+|\d+)$/.test(w)

/** A rule as `nft list` prints it, for the expressions Weft writes. */
export function canonicalNftRule (text: string): string {
  const words = tokenize(text)
  const out: string[] = []
  let inMark = false
  for (let i = 0; i < words.length; i++) {
    let w = words[i] as string
    const prev = out[out.length - 1]
    if (w === 'mark' && prev === 'meta') { inMark = true; out.push(w); continue }
    if (inMark) {
      if (isNumber(w)) { out.push('0x' + (Number(w) >>> 0).toString(16).padStart(8, '0')); continue }
      if (['&', '|', '^', '==', '!='].includes(w)) { out.push(w); continue }
      inMark = false
    }
    if (w === '==' && (prev === undefined || !isNumber(prev))) continue
    if (w === 'counter' && words[i + 1] !== 'packets') { out.push('counter', 'packets', '0', 'bytes', '0'); continue }
    if (!w.startsWith('"')) {
      const slash = w.indexOf('/')
      const addr = slash < 0 ? w : w.slice(0, slash)
      if (familyOf(addr) !== undefined) {
        if (slash < 0) w = canonical(addr)
        else {
          try {
            const c = parseCidr(w)
            w = c.prefixLen === (c.family === 4 ? 32 : 128) ? canonical(networkOf(c)) : `${networkOf(c)}/${c.prefixLen}`
          } catch { /* leave it to the parser's error */ }
        }
      }
    }
    out.push(w)
  }
  return out.join(' ')
}

const jumpTargets = (text: string): string[] => [...text.matchAll(/\b(?:jump|goto) (\S+)/g)].map((m) => m[1] as string)

/** A fake nft with an empty ruleset. */
export function fakeNftables (): FakeNftables {
  let state: State = { tables: [], nextTableHandle: 1 }
  const calls: string[] = []

  const call = (what: string): void => {
    calls.push(what)
    if (self.unusable) throw new NftablesError(what, 'Error: Could not process rule: Operation not supported')
    if (self.failOn?.(what) === true) throw new NftablesError(what, `Error: injected failure of "${what}"`)
  }

  const findTable = (s: State, family: NftFamily, name: string): Table | undefined =>
    s.tables.find((t) => t.family === family && t.name === name)

  /** Runs one script line on `s`; throws the error nft would print. */
  const exec = (s: State, words: string[]): void => {
    const fail = (reason: string): never => { throw new NftablesError('nft -f -', `Error: Could not process rule: ${reason}`) }
    const syntax = (what: string): never => { throw new NftablesError('nft -f -', `Error: syntax error, ${what}`) }
    const [verb = '', kind = ''] = words
    let rest = words.slice(2)
    let family: NftFamily = 'ip'
    if (nftFamilies.includes(rest[0] as NftFamily)) { family = rest[0] as NftFamily; rest = rest.slice(1) }
    const tableName = rest[0] ?? syntax(`${kind} name expected`)
    const needTable = (): Table => findTable(s, family, tableName) ?? fail('No such file or directory')
    const body = (from: number): string[] | undefined => {
      if (rest[from] === undefined) return undefined
      if (rest[from] !== '{' || rest[rest.length - 1] !== '}') syntax(`unexpected ${rest[from] ?? ''}`)
      return rest.slice(from + 1, -1)
    }
    const statements = (b: string[]): string[][] => {
      const out: string[][] = [[]]
      for (const w of b) {
        if (w === ';') out.push([])
        else (out[out.length - 1] as string[]).push(w)
      }
      return out.filter((x) => x.length > 0)
    }
    const comment = (st: string[]): string => {
      const c = st[1]
      if (st.length !== 2 || c === undefined || !c.startsWith('"')) syntax('comment string expected')
      return (c as string).slice(1, -1)
    }

    if (kind === 'table' && (verb === 'add' || verb === 'create')) {
      let cmt: string | undefined
      for (const st of statements(body(1) ?? [])) {
        if (st[0] === 'comment') cmt = comment(st)
        else syntax(`unexpected ${st[0] ?? ''}`)
      }
      const t = findTable(s, family, tableName)
      if (t !== undefined) { if (verb === 'create') fail('File exists'); return }
      s.tables.push({ family, name: tableName, handle: s.nextTableHandle++, comment: cmt, chains: [], nextHandle: 1 })
      return
    }
    if (kind === 'table' && (verb === 'delete' || verb === 'flush')) {
      const t = needTable()
      if (verb === 'delete') s.tables = s.tables.filter((x) => x !== t)
      else for (const c of t.chains) c.rules = []
      return
    }
    if (kind === 'chain') {
      const t = needTable()
      const name = rest[1] ?? syntax('chain name expected')
      const existing = t.chains.find((c) => c.name === name)
      if (verb === 'add' || verb === 'create') {
        let base: Base | undefined
        let cmt: string | undefined
        let policy: string | undefined
        for (const st of statements(body(2) ?? [])) {
          if (st[0] === 'type') {
            const [, type = '', h, hook = '', p, ...prio] = st
            const priority = parsePriority(prio)
            if (h !== 'hook' || p !== 'priority' || priority === undefined) syntax('type … hook … priority … expected')
            if (!['filter', 'nat', 'route'].includes(type)) fail('No such file or directory')
            base = { type, hook, priority: priority as number, policy: 'accept' }
          } else if (st[0] === 'policy' && (st[1] === 'accept' || st[1] === 'drop') && st.length === 2) policy = st[1]
          else if (st[0] === 'comment') cmt = comment(st)
          else syntax(`unexpected ${st[0] ?? ''}`)
        }
        if (base !== undefined && policy !== undefined) base.policy = policy
        if (existing !== undefined) {
          if (verb === 'create') fail('File exists')
          const same = base === undefined || (existing.base !== undefined && existing.base.type === base.type &&
            existing.base.hook === base.hook && existing.base.priority === base.priority)
          if (!same) fail('Operation not supported')
          if (base !== undefined && existing.base !== undefined) existing.base.policy = base.policy
          return
        }
        t.chains.push({ name, handle: t.nextHandle++, comment: cmt, base, rules: [] })
        return
      }
      const c = existing ?? fail('No such file or directory')
      if (verb === 'flush') { c.rules = []; return }
      if (verb === 'delete') {
        if (t.chains.some((o) => o.rules.some((r) => jumpTargets(r.text).includes(name)))) fail('Device or resource busy')
        t.chains = t.chains.filter((x) => x !== c)
        return
      }
      syntax(`unexpected ${verb}`)
    }
    if (kind === 'rule') {
      const t = needTable()
      const chainName = rest[1] ?? syntax('chain name expected')
      const c = t.chains.find((x) => x.name === chainName) ?? fail('No such file or directory')
      const spec = rest.slice(2)
      if (verb === 'delete') {
        if (spec[0] !== 'handle' || spec[1] === undefined || !/^\d+$/.test(spec[1]) || spec.length !== 2) syntax('handle expected')
        const i = c.rules.findIndex((r) => r.handle === Number(spec[1]))
        if (i < 0) fail('No such file or directory')
        c.rules.splice(i, 1)
        return
      }
      if (verb !== 'add' && verb !== 'insert') syntax(`unexpected ${verb}`)
      if (spec.length === 0) syntax('rule expected')
      const text = canonicalNftRule(spec.join(' '))
      for (const target of jumpTargets(text)) {
        const tc = t.chains.find((x) => x.name === target) ?? fail('No such file or directory')
        if (tc.base !== undefined) fail('Operation not supported')
      }
      if (/\bmasquerade\b/.test(text) && (c.base?.type !== 'nat' || c.base.hook !== 'postrouting')) fail('Operation not supported')
      const rule = { handle: t.nextHandle++, text }
      if (verb === 'add') c.rules.push(rule)
      else c.rules.unshift(rule)
      return
    }
    syntax(`unexpected ${verb} ${kind}`)
  }

  const renderTable = (t: Table, handles: boolean): string => {
    const h = (n: number): string => handles ? ` # handle ${n}` : ''
    const lines = [`table ${t.family} ${t.name} {${h(t.handle)}`]
    if (t.comment !== undefined) lines.push(`\tcomment "${t.comment}"`)
    t.chains.forEach((c, i) => {
      if (i > 0) lines.push('')
      lines.push(`\tchain ${c.name} {${h(c.handle)}`)
      if (c.comment !== undefined) lines.push(`\t\tcomment "${c.comment}"`)
      if (c.base !== undefined) lines.push(`\t\ttype ${c.base.type} hook ${c.base.hook} priority ${printPriority(c.base.priority, c.base.hook)}; policy ${c.base.policy};`)
      for (const r of c.rules) lines.push(`\t\t${r.text}${h(r.handle)}`)
      lines.push('\t}')
    })
    lines.push('}')
    return lines.join('\n') + '\n'
  }

  const self: FakeNftables = {
    calls,
    failOn: undefined,
    unusable: false,
    apply (script) {
      call('-f')
      const next = clone(state)
      const lines = script.split('\n')
      for (let n = 0; n < lines.length; n++) {
        const line = (lines[n] as string).trim()
        if (line === '' || line.startsWith('#')) continue
        try {
          exec(next, tokenize(line))
        } catch (e) {
          if (e instanceof NftablesError) throw new NftablesError('nft -f -', `/dev/stdin:${n + 1}: ${e.stderr}\n${line}\n`)
          throw e
        }
      }
      state = next
    },
    listTable (family, name, opts) {
      call(`${opts?.handles === true ? '-a ' : ''}list table ${family} ${name}`)
      const t = findTable(state, family, name)
      return t === undefined ? undefined : renderTable(t, opts?.handles === true)
    },
    deleteTable (family, name) {
      call(`delete table ${family} ${name}`)
      state.tables = state.tables.filter((t) => !(t.family === family && t.name === name))
    },
    dump (opts = {}) {
      return state.tables.map((t) => renderTable(t, opts.handles === true)).join('')
    }
  }
  return self
}
