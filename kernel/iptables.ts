/**
 * iptables behind a narrow, synchronous interface, one instance per address
 * family. The core is text: `save` returns what `iptables-save -t <table>`
 * prints and `restore` applies an `iptables-restore --noflush` transaction
 * (atomic: all of it or nothing). The usual one-rule primitives
 * (`ensureChain`, `appendUnique`, `deleteRule`, ...) sit on top, each
 * tolerant where the reference plugins' `pkg/utils` helpers are.
 *
 * Rules are argument arrays as given to the `iptables` command
 * (`['-p', 'tcp', '--dport', '80', '-j', 'ACCEPT']`). The kernel stores them
 * in a canonical form that `iptables-save` prints (`-p tcp -m tcp --dport 80
 * -j ACCEPT`); `canonicalRule` computes that form for the matches and targets
 * Weft's plugins use, so a saved ruleset can be searched without running
 * `iptables -C` per rule, and so `kernel/testing/iptables.ts` can dump exactly
 * what the kernel would.
 *
 * `linuxIptables` runs `/usr/sbin/iptables*` with `spawnSync`. The binaries
 * are looked up in fixed system directories only, never through PATH (an npm
 * script PATH can shadow system tools with `node_modules/.bin`). Commands run
 * in the network namespace of the calling thread, so wrapping calls in
 * `NetNS.run` targets another namespace.
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { KernelError } from './errors.js'
import { AddressError, familyOf, networkOf, parseCidr } from './ip.js'
import type { Family } from './types.js'

export type IptablesTable = 'filter' | 'nat' | 'mangle' | 'raw' | 'security'

/** One rule as iptables command arguments, without `-A <chain>`. */
export type RuleSpec = readonly string[]

export interface Iptables {
  readonly family: Family
  /**
   * The table as `iptables-save -t <table>` prints it. Throws a KernelError
   * when the table cannot be read (no iptables, or no kernel support for the
   * family): callers use that to tell an unusable family from an empty one.
   */
  save (table: IptablesTable): string
  /** Applies an iptables-restore script with `--noflush`, as one atomic transaction. */
  restore (script: string): void
  /** Built-in and user chains, in `iptables-save` order. */
  listChains (table: IptablesTable): string[]
  chainExists (table: IptablesTable, chain: string): boolean
  /** The chain's rules in canonical (saved) form; [] when the chain is absent. */
  listRules (table: IptablesTable, chain: string): string[][]
  /** `iptables -C`: the kernel's own comparison. False when the chain is absent. */
  ruleExists (table: IptablesTable, chain: string, rule: RuleSpec): boolean
  /** Creates the chain unless it exists. */
  ensureChain (table: IptablesTable, chain: string): void
  /** Appends the rule unless an equal rule is in the chain. */
  appendUnique (table: IptablesTable, chain: string, rule: RuleSpec): void
  /** Inserts the rule at `position` (1 = first) unless an equal rule is in the chain. */
  insertUnique (table: IptablesTable, chain: string, rule: RuleSpec, position?: number): void
  /** Deletes one instance of the rule; no error when it or the chain is absent. */
  deleteRule (table: IptablesTable, chain: string, rule: RuleSpec): void
  /** Empties the chain; no error when it is absent. */
  flushChain (table: IptablesTable, chain: string): void
  /** Deletes an empty, unreferenced chain; no error when it is absent. */
  deleteChain (table: IptablesTable, chain: string): void
}

// ---------------------------------------------------------------------------
// Saved text: parsing and formatting

export const builtinChains: Readonly<Record<IptablesTable, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT']
}

export function isTable (t: string): t is IptablesTable {
  return Object.prototype.hasOwnProperty.call(builtinChains, t)
}

export interface SavedTable {
  table: string
  /** Chains in the order they were declared, with their policy ('-' for user chains). */
  chains: Array<{ name: string, policy: string }>
  /** Rules per chain, each as argument words after `-A <chain>`. */
  rules: Map<string, string[][]>
}

/**
 * Splits one line of iptables-save/restore text into words: whitespace
 * separates, double quotes group, and inside quotes a backslash takes the next
 * character literally (iptables-save writes `\"`, `\\` and `\'`).
 */
export function splitWords (line: string): string[] {
  const out: string[] = []
  let cur = ''
  let inWord = false
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string
    if (quoted) {
      if (ch === '\\' && i + 1 < line.length) { cur += line[++i] as string; continue }
      if (ch === '"') { quoted = false; continue }
      cur += ch
      continue
    }
    if (ch === '"') { quoted = true; inWord = true; continue }
    if (ch === ' ' || ch === '\t') {
      if (inWord) { out.push(cur); cur = ''; inWord = false }
      continue
    }
    cur += ch
    inWord = true
  }
  if (quoted) throw new KernelError('KERNEL_ERR_COMMAND', `unterminated quote in iptables rule: ${line}`)
  if (inWord) out.push(cur)
  return out
}

const bare = /^[A-Za-z0-9_-]+$/

/** One word as iptables-save writes it: bare when `[A-Za-z0-9_-]+`, else double-quoted with `"`, `\` and `'` escaped. */
export function quoteWord (w: string): string {
  if (bare.test(w)) return w
  return '"' + w.replace(/["\\']/g, (c) => '\\' + c) + '"'
}

/** Options whose value iptables-save always passes through its quoting (xtables_save_string). */
const savedStrings = new Set(['--comment', '--log-prefix', '--nflog-prefix', '--string'])

/**
 * Formats rule words as iptables-save prints them (and iptables-restore reads
 * them): free-text option values such as comments quoted unless
 * `[A-Za-z0-9_-]+`, other words bare when they hold only address, port and
 * option characters, anything else quoted.
 */
export function formatRule (rule: RuleSpec): string {
  return rule.map((w, i) => {
    if (i > 0 && savedStrings.has(rule[i - 1] as string)) return quoteWord(w)
    return /^[A-Za-z0-9_.:/,[\]!=+@%-]+$/.test(w) ? w : quoteWord(w)
  }).join(' ')
}

/** Parses `iptables-save` output into tables of chains and rules. */
export function parseSave (text: string): Map<string, SavedTable> {
  const tables = new Map<string, SavedTable>()
  let cur: SavedTable | undefined
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    if (line.startsWith('*')) {
      cur = { table: line.slice(1), chains: [], rules: new Map() }
      tables.set(cur.table, cur)
      continue
    }
    if (cur === undefined) continue
    if (line === 'COMMIT') { cur = undefined; continue }
    if (line.startsWith(':')) {
      const [name = '', policy = '-'] = line.slice(1).split(/\s+/)
      cur.chains.push({ name, policy })
      if (!cur.rules.has(name)) cur.rules.set(name, [])
      continue
    }
    const words = splitWords(line)
    if (words[0] === '-A' && words[1] !== undefined) {
      const list = cur.rules.get(words[1]) ?? []
      list.push(words.slice(2))
      cur.rules.set(words[1], list)
    }
  }
  return tables
}

/** The one table of an `iptables-save -t <table>` output (empty when absent). */
export function parseSaveTable (text: string, table: string): SavedTable {
  return parseSave(text).get(table) ?? { table, chains: [], rules: new Map() }
}

/** The chain a rule jumps or goes to (`-j X` / `-g X`), if any. */
export function ruleTarget (rule: RuleSpec): string | undefined {
  for (let i = 0; i < rule.length - 1; i++) {
    const w = rule[i]
    if (w === '-j' || w === '--jump' || w === '-g' || w === '--goto') return rule[i + 1]
  }
  return undefined
}

/** An operation of an iptables-restore transaction. */
export type RestoreOp =
  /** `:chain - [0:0]`: creates the chain, or empties it when it exists. */
  | { op: 'declare', chain: string }
  | { op: 'append', chain: string, rule: RuleSpec }
  | { op: 'insert', chain: string, rule: RuleSpec, position?: number }
  | { op: 'delete', chain: string, rule: RuleSpec }
  | { op: 'flush', chain: string }
  | { op: 'deleteChain', chain: string }

/** Renders a one-table `iptables-restore --noflush` script. */
export function renderRestore (table: IptablesTable, ops: readonly RestoreOp[]): string {
  const lines = [`*${table}`]
  // Declarations must precede the rules that reference the chain.
  for (const o of ops) if (o.op === 'declare') lines.push(`:${o.chain} - [0:0]`)
  for (const o of ops) {
    switch (o.op) {
      case 'declare': break
      case 'append': lines.push(`-A ${o.chain} ${formatRule(checkWords(o.rule))}`.trimEnd()); break
      case 'insert': lines.push(`-I ${o.chain} ${o.position ?? 1} ${formatRule(checkWords(o.rule))}`.trimEnd()); break
      case 'delete': lines.push(`-D ${o.chain} ${formatRule(checkWords(o.rule))}`.trimEnd()); break
      case 'flush': lines.push(`-F ${o.chain}`); break
      case 'deleteChain': lines.push(`-X ${o.chain}`); break
    }
  }
  lines.push('COMMIT', '')
  return lines.join('\n')
}

function checkWords (rule: RuleSpec): RuleSpec {
  for (const w of rule) {
    if (/[\n\r\0]/.test(w)) throw new KernelError('KERNEL_ERR_COMMAND', `iptables rule word contains a line break or NUL: ${JSON.stringify(w)}`)
  }
  return rule
}

// ---------------------------------------------------------------------------
// Canonical form

const basicOpts: Record<string, string> = {
  '-s': '-s', '--source': '-s', '--src': '-s',
  '-d': '-d', '--destination': '-d', '--dst': '-d',
  '-i': '-i', '--in-interface': '-i',
  '-o': '-o', '--out-interface': '-o',
  '-p': '-p', '--protocol': '-p',
  '-f': '-f', '--fragment': '-f'
}
const basicOrder = ['-s', '-d', '-i', '-o', '-p', '-f']
const protoNumbers: Record<string, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'ipv6-icmp', 132: 'sctp', 136: 'udplite', 33: 'dccp' }
const portProtos = new Set(['tcp', 'udp', 'sctp', 'udplite', 'dccp'])
const portOpts: Record<string, string> = {
  '--sport': '--sport', '--source-port': '--sport',
  '--dport': '--dport', '--destination-port': '--dport'
}
const multiportAliases: Record<string, string> = {
  '--destination-ports': '--dports', '--dports': '--dports',
  '--source-ports': '--sports', '--sports': '--sports',
  '--ports': '--ports'
}

const MAX_COMMENT = 255

interface Opt { neg: boolean, name: string, values: string[] }
interface Block { name: string, opts: Opt[] }

function hexMark (v: string): string {
  const n = v.startsWith('0x') || v.startsWith('0X') ? Number.parseInt(v, 16) : Number.parseInt(v, 10)
  if (!Number.isFinite(n)) return v
  return '0x' + (n >>> 0).toString(16)
}

function markValue (v: string, defaultMask: string | undefined): string {
  const [val = '', mask] = v.split('/')
  if (mask !== undefined) return `${hexMark(val)}/${hexMark(mask)}`
  return defaultMask !== undefined ? `${hexMark(val)}/${defaultMask}` : hexMark(val)
}

function canonicalAddress (v: string, family: Family): string | undefined {
  // '1.2.3.4', '1.2.3.4/24', '1.2.3.4/255.255.0.0', 'fd00::1/64'
  if (v === '0/0') return undefined
  let text = v
  const slash = v.indexOf('/')
  if (slash >= 0 && family === 4 && v.slice(slash + 1).includes('.')) {
    const mask = v.slice(slash + 1).split('.').map(Number)
    let bits = 0
    for (const m of mask) bits += m.toString(2).replace(/0/g, '').length
    text = `${v.slice(0, slash)}/${bits}`
  }
  try {
    const c = parseCidr(text, true)
    if (c.family !== family) return v
    if (c.prefixLen === 0) return undefined
    return `${networkOf(c)}/${c.prefixLen}`
  } catch (e) {
    if (e instanceof AddressError) return v // a host name or a set: leave it to iptables
    throw e
  }
}

/**
 * The form iptables-save prints a rule in: basic selectors first (`-s -d -i
 * -o -p -f`), addresses as network/prefix, any-address and `-p all` dropped,
 * the implicit `-m tcp`/`-m udp` made explicit where the first port option
 * was, multiport's long option names shortened, marks in hex, `--set-mark`
 * as `--set-xmark`, and the target with its options last.
 *
 * Covers the selectors, matches (comment, multiport, addrtype, mark, tcp,
 * udp, sctp, conntrack-style key/value options) and targets (ACCEPT, RETURN,
 * DROP, DNAT, SNAT, MASQUERADE, MARK, chain jumps) Weft writes; other
 * options are kept as given, in order.
 */
export function canonicalRule (rule: RuleSpec, family: Family): string[] {
  const basic = new Map<string, Opt>()
  const matches: Block[] = []
  let target: Block | undefined
  let jumpWord = '-j'
  let cur: Block | undefined // the match or target that takes `--option` words
  let neg = false
  let proto: string | undefined
  const words = [...rule]
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string
    if (w === '!') { neg = true; continue }
    const b = basicOpts[w]
    if (b !== undefined) {
      const values: string[] = []
      if (b !== '-f') { const v = words[++i]; if (v !== undefined) values.push(v) }
      basic.set(b, { neg, name: b, values })
      if (b === '-p') proto = values[0]?.toLowerCase()
      neg = false
      continue // `-m multiport -p tcp --dports ...`: the options still belong to the match before -p
    }
    if (w === '-m' || w === '--match') {
      const name = (words[++i] ?? '').toLowerCase()
      const existing = portProtos.has(name) ? matches.find((m) => m.name === name) : undefined
      cur = existing ?? { name, opts: [] }
      if (existing === undefined) matches.push(cur)
      neg = false
      continue
    }
    if (w === '-j' || w === '--jump' || w === '-g' || w === '--goto') {
      jumpWord = w === '-g' || w === '--goto' ? '-g' : '-j'
      target = { name: words[++i] ?? '', opts: [] }
      cur = target
      neg = false
      continue
    }
    if (w.startsWith('-')) {
      const values: string[] = []
      while (i + 1 < words.length && !(words[i + 1] as string).startsWith('-') && words[i + 1] !== '!') values.push(words[++i] as string)
      let block = cur
      const pname = portOpts[w]
      if (pname !== undefined && (block === undefined || !portProtos.has(block.name))) {
        // tcp/udp options without their match: iptables loads the protocol's match here
        const name = proto !== undefined && portProtos.has(proto) ? proto : (protoNumbers[proto ?? ''] ?? proto ?? 'tcp')
        block = matches.find((m) => m.name === name)
        if (block === undefined) { block = { name, opts: [] }; matches.push(block) }
      }
      if (block === undefined) { block = { name: '', opts: [] }; matches.push(block) }
      block.opts.push({ neg, name: w, values })
      neg = false
      continue
    }
    // A stray word: keep it where it was.
    if (cur === undefined) { cur = { name: '', opts: [] }; matches.push(cur) }
    cur.opts.push({ neg, name: w, values: [] })
    neg = false
  }

  const out: string[] = []
  for (const key of basicOrder) {
    const o = basic.get(key)
    if (o === undefined) continue
    let v = o.values[0]
    if (key === '-s' || key === '-d') {
      v = v === undefined ? v : canonicalAddress(v, family)
      if (v === undefined && !o.neg) continue
      v ??= family === 4 ? '0.0.0.0/0' : '::/0'
    } else if (key === '-p' && v !== undefined) {
      v = protoNumbers[v] ?? v.toLowerCase()
      if (v === 'all' || v === '0') continue
    }
    if (o.neg) out.push('!')
    out.push(key, ...(v !== undefined ? [v] : []))
  }
  for (const m of matches) {
    if (m.name !== '') out.push('-m', m.name)
    let opts = m.opts
    if (portProtos.has(m.name)) {
      const rank = (o: Opt): number => (portOpts[o.name] === '--sport' ? 0 : portOpts[o.name] === '--dport' ? 1 : 2)
      opts = [...opts].map((o) => ({ ...o, name: portOpts[o.name] ?? o.name })).sort((a, b) => rank(a) - rank(b))
    }
    for (const o of opts) {
      let name = o.name
      let values = o.values
      if (m.name === 'multiport') name = multiportAliases[name] ?? name
      if (m.name === 'mark' && name === '--mark') values = values.map((v) => markValue(v, undefined)).map((v) => v.endsWith('/0xffffffff') ? v.slice(0, -11) : v)
      if (m.name === 'comment' && name === '--comment') values = values.map((v) => v.slice(0, MAX_COMMENT)) // the kernel keeps 255
      if (o.neg) out.push('!')
      out.push(name, ...values)
    }
  }
  if (target !== undefined) {
    out.push(jumpWord, target.name)
    for (const o of target.opts) {
      let name = o.name
      let values = o.values
      if (target.name === 'MARK' && (name === '--set-mark' || name === '--set-xmark')) {
        name = '--set-xmark'
        values = values.map((v) => markValue(v, '0xffffffff'))
      }
      if (o.neg) out.push('!')
      out.push(name, ...values)
    }
  }
  return out
}

/** True when two rules have the same canonical form. */
export function sameRule (a: RuleSpec, b: RuleSpec, family: Family): boolean {
  const ca = canonicalRule(a, family)
  const cb = canonicalRule(b, family)
  return ca.length === cb.length && ca.every((w, i) => w === cb[i])
}

// ---------------------------------------------------------------------------
// Linux implementation

const toolDirs = ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/local/bin']
const toolCache = new Map<string, string>()

/** Absolute path of a system tool, from fixed directories only (never PATH). */
export function findTool (name: string): string {
  const hit = toolCache.get(name)
  if (hit !== undefined) return hit
  for (const dir of toolDirs) {
    const p = `${dir}/${name}`
    try {
      fs.accessSync(p, fs.constants.X_OK)
      toolCache.set(name, p)
      return p
    } catch { /* next */ }
  }
  throw new KernelError('KERNEL_ERR_COMMAND', `${name} not found in ${toolDirs.join(':')}`)
}

export interface CommandResult { status: number, stdout: string, stderr: string }

/** Runs a tool synchronously; a hook so tests can see the commands. */
export type CommandRunner = (file: string, args: readonly string[], input?: string) => CommandResult

export const spawnRunner: CommandRunner = (file, args, input) => {
  const r = spawnSync(file, args, {
    input,
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C' },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  if (r.error !== undefined) throw new KernelError('KERNEL_ERR_COMMAND', `${file}: ${r.error.message}`)
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

/** The messages iptables uses for "no such chain/rule", as go-iptables' IsNotExist reads them. */
export function isIptablesNotExist (stderr: string): boolean {
  return /No chain\/target\/match by that name|Bad rule \(does a matching rule exist in that chain\?\)|does not exist|No such file or directory/.test(stderr)
}

export class IptablesError extends KernelError {
  readonly stderr: string
  readonly notExist: boolean
  constructor (what: string, stderr: string) {
    const notExist = isIptablesNotExist(stderr)
    super('KERNEL_ERR_COMMAND', `${what}: ${stderr.trim()}`, notExist ? 2 : 0)
    this.stderr = stderr
    this.notExist = notExist
  }
}

export interface LinuxIptablesOptions {
  /** Defaults to spawnSync. */
  run?: CommandRunner
}

/** iptables (family 4) or ip6tables (family 6) in the calling thread's network namespace. */
export function linuxIptables (family: Family, opts: LinuxIptablesOptions = {}): Iptables {
  const run = opts.run ?? spawnRunner
  const base = family === 4 ? 'iptables' : 'ip6tables'
  const ipt = (table: IptablesTable, args: readonly string[]): CommandResult =>
    run(findTool(base), ['-w', '-t', table, ...args])
  const must = (table: IptablesTable, args: readonly string[], tolerate: (stderr: string) => boolean = () => false): void => {
    const r = ipt(table, args)
    if (r.status !== 0 && !tolerate(r.stderr)) throw new IptablesError(`${base} -t ${table} ${args.join(' ')}`, r.stderr)
  }
  const self: Iptables = {
    family,
    save (table) {
      const r = run(findTool(`${base}-save`), ['-t', table])
      if (r.status !== 0) throw new IptablesError(`${base}-save -t ${table}`, r.stderr)
      return r.stdout
    },
    restore (script) {
      const r = run(findTool(`${base}-restore`), ['-w', '--noflush'], script)
      if (r.status !== 0) throw new IptablesError(`${base}-restore --noflush`, r.stderr)
    },
    listChains (table) { return parseSaveTable(self.save(table), table).chains.map((c) => c.name) },
    chainExists (table, chain) { return self.listChains(table).includes(chain) },
    listRules (table, chain) { return parseSaveTable(self.save(table), table).rules.get(chain) ?? [] },
    ruleExists (table, chain, rule) {
      const r = ipt(table, ['-C', chain, ...rule])
      if (r.status === 0) return true
      if (r.status === 1) return false
      throw new IptablesError(`${base} -t ${table} -C ${chain}`, r.stderr)
    },
    ensureChain (table, chain) { must(table, ['-N', chain], (e) => /already exists/.test(e)) },
    appendUnique (table, chain, rule) { if (!self.ruleExists(table, chain, rule)) must(table, ['-A', chain, ...rule]) },
    insertUnique (table, chain, rule, position = 1) { if (!self.ruleExists(table, chain, rule)) must(table, ['-I', chain, String(position), ...rule]) },
    deleteRule (table, chain, rule) { must(table, ['-D', chain, ...rule], isIptablesNotExist) },
    flushChain (table, chain) { must(table, ['-F', chain], isIptablesNotExist) },
    deleteChain (table, chain) { must(table, ['-X', chain], isIptablesNotExist) }
  }
  return self
}

/** The family of an address, for picking `iptables` or `ip6tables`; undefined for garbage. */
export function addressFamily (addr: string): Family | undefined {
  const slash = addr.indexOf('/')
  return familyOf(slash >= 0 ? addr.slice(0, slash) : addr)
}
