/**
 * nftables behind a narrow, synchronous interface: apply a script as one
 * transaction (`nft -f -`), list one table as `nft list table` prints it, and
 * delete a table. Everything else (diffing, ownership, what to write) belongs
 * to the caller, which renders scripts in the syntax `nft list` prints, so
 * that what it wrote can be compared with what it reads back as text.
 *
 * The listing is text rather than JSON on purpose: the fake in
 * `kernel/testing/nftables.ts` can then hold rules as the text `nft list`
 * prints without modelling nftables' expression tree, and golden tests read
 * like a real ruleset. `parseNftTable` splits a listing into chains and rule
 * lines for callers that compare.
 *
 * `linuxNftables` runs `/usr/sbin/nft` with `spawnSync`, found in fixed system
 * directories only (an npm script's PATH puts `node_modules/.bin` first, and
 * the `nft` there is an unrelated npm binary). Like iptables, nft acts in the
 * network namespace of the calling thread, so `NetNS.run` targets another one.
 */
import { KernelError } from './errors.js'
import { findTool, spawnRunner } from './iptables.js'
import type { CommandRunner } from './iptables.js'

/** nftables address families. */
export type NftFamily = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev'

export const nftFamilies: readonly NftFamily[] = ['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev']

export interface Nftables {
  /**
   * Applies an nft script (`nft -f -`) as one atomic transaction: every
   * command or none. Throws an NftablesError naming the failing line.
   */
  apply (script: string): void
  /**
   * The table as `nft list table <family> <name>` prints it (without counters'
   * live values; with `handles`, as `nft -a` prints it, each rule and chain
   * followed by `# handle N`); undefined when there is no such table.
   * Throws when nftables itself is unusable.
   */
  listTable (family: NftFamily, name: string, opts?: { handles?: boolean }): string | undefined
  /** Deletes the table and everything in it; no error when it is absent. */
  deleteTable (family: NftFamily, name: string): void
}

// ---------------------------------------------------------------------------
// Errors

const errnoByText: Array<[RegExp, number]> = [
  [/No such file or directory/, 2],
  [/File exists/, 17],
  [/Device or resource busy/, 16],
  [/Operation not supported/, 95],
  [/Protocol not supported/, 93],
  [/Operation not permitted/, 1],
  [/Invalid argument/, 22]
]

export class NftablesError extends KernelError {
  readonly stderr: string
  /** The kernel answered ENOENT: the table, chain or rule named is not there. */
  readonly notExist: boolean
  constructor (what: string, stderr: string) {
    const errno = errnoByText.find(([re]) => re.test(stderr))?.[1] ?? 0
    // nft prints the offending line with a caret under it; the first line carries the reason.
    const first = stderr.trim().split('\n')[0] ?? ''
    super('KERNEL_ERR_COMMAND', `${what}: ${first}`, errno)
    this.stderr = stderr
    this.notExist = errno === 2
  }
}

// ---------------------------------------------------------------------------
// Script helpers

/**
 * A string as an nft script literal. nft has no escapes inside double quotes,
 * so a quote, a line break or a NUL cannot be written at all.
 */
export function nftString (s: string): string {
  if (/["\n\r\0]/.test(s)) throw new KernelError('KERNEL_ERR_COMMAND', `nft string cannot hold a quote, line break or NUL: ${JSON.stringify(s)}`)
  return `"${s}"`
}

/** A base chain's hook, as `{ type nat hook postrouting priority srcnat ; policy accept ; }` declares it. */
export interface NftBaseChain {
  type: 'filter' | 'nat' | 'route'
  hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress'
  /** A number or a standard name (`filter`, `srcnat`, `dstnat`, `mangle`, `raw`, `security`). */
  priority: number | string
  policy?: 'accept' | 'drop'
}

/**
 * The `{ ... }` body of an `add chain` command; empty for a regular chain
 * without a comment.
 */
export function nftChainBody (base: NftBaseChain | undefined, comment?: string): string {
  const parts: string[] = []
  if (base !== undefined) parts.push(`type ${base.type} hook ${base.hook} priority ${base.priority} ;`, `policy ${base.policy ?? 'accept'} ;`)
  if (comment !== undefined) parts.push(`comment ${nftString(comment)} ;`)
  return parts.length === 0 ? '' : ` { ${parts.join(' ')} }`
}

// ---------------------------------------------------------------------------
// Reading `nft list table` text

export interface NftChainListing {
  name: string
  comment: string | undefined
  /** The base chain line without indentation, e.g. `type nat hook postrouting priority srcnat; policy accept;`. */
  base: string | undefined
  /** Rule lines as printed, trimmed, without `# handle N`. */
  rules: string[]
}

export interface NftTableListing {
  family: NftFamily
  name: string
  comment: string | undefined
  chains: NftChainListing[]
}

const braceBalance = (line: string): number => {
  let n = 0
  let quoted = false
  for (const ch of line) {
    if (ch === '"') quoted = !quoted
    else if (!quoted && ch === '{') n++
    else if (!quoted && ch === '}') n--
  }
  return n
}

/** Runs of blanks become one space, except inside `"…"` strings. */
const collapseSpaces = (line: string): string =>
  line.split(/("[^"]*")/).map((part, i) => i % 2 === 1 ? part : part.replace(/\s+/g, ' ')).join('')

const stripHandle = (line: string): string => line.replace(/\s*# handle \d+$/, '')
const unquote = (s: string): string => s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s

/**
 * Parses the text of `nft list table` (or of a ruleset holding several
 * tables) into tables, chains and rule lines. Sets, maps, flowtables and
 * other objects are skipped; a rule whose anonymous set nft wrapped over
 * several lines is joined back into one line.
 */
export function parseNftRuleset (text: string): NftTableListing[] {
  const tables: NftTableListing[] = []
  const lines = text.split('\n')
  let table: NftTableListing | undefined
  let chain: NftChainListing | undefined
  let skipDepth = 0
  for (let i = 0; i < lines.length; i++) {
    let line = stripHandle((lines[i] as string).trim())
    if (line === '') continue
    if (skipDepth > 0) { skipDepth += braceBalance(line); continue }
    if (table === undefined) {
      const m = /^table (\S+) (\S+) \{$/.exec(line)
      if (m !== null && nftFamilies.includes(m[1] as NftFamily)) {
        table = { family: m[1] as NftFamily, name: m[2] as string, comment: undefined, chains: [] }
        tables.push(table)
      }
      continue
    }
    if (chain === undefined) {
      if (line === '}') { table = undefined; continue }
      const c = /^chain (\S+) \{$/.exec(line)
      if (c !== null) { chain = { name: c[1] as string, comment: undefined, base: undefined, rules: [] }; table.chains.push(chain); continue }
      const cm = /^comment (".*")$/.exec(line)
      if (cm !== null) { table.comment = unquote(cm[1] as string); continue }
      const bal = braceBalance(line)
      if (bal > 0) skipDepth = bal // set, map, flowtable, counter, quota ... blocks
      continue
    }
    if (line === '}') { chain = undefined; continue }
    const cm = /^comment (".*")$/.exec(line)
    if (cm !== null && chain.rules.length === 0 && chain.base === undefined) { chain.comment = unquote(cm[1] as string); continue }
    if (/^type \S+ hook /.test(line) && chain.rules.length === 0) { chain.base = line; continue }
    // An anonymous set wrapped over lines: join until the braces balance.
    let bal = braceBalance(line)
    while (bal > 0 && i + 1 < lines.length) {
      const next = stripHandle((lines[++i] as string).trim())
      line = `${line} ${next}`
      bal += braceBalance(next)
    }
    chain.rules.push(collapseSpaces(line))
  }
  return tables
}

/** The one table of an `nft list table` output; undefined for empty text. */
export function parseNftTable (text: string): NftTableListing | undefined {
  return parseNftRuleset(text)[0]
}

// ---------------------------------------------------------------------------
// Linux implementation

export interface LinuxNftablesOptions {
  /** Defaults to spawnSync. */
  run?: CommandRunner
}

/**
 * One nft command: a script (`nft -f -`) or a single command line (`list table ip t`), with `handles` as `nft -a`.
 * What every Nftables implementation runs its three operations through.
 */
export type NftRun = (text: string, opts: { script?: boolean, handles?: boolean }) => { ok: boolean, out: string, err: string }

/** The Nftables operations over a runner: the same commands, the same errors, absent tables as undefined. */
export function nftablesOver (run: NftRun): Nftables {
  return {
    apply (script) {
      const r = run(script, { script: true })
      if (!r.ok) throw new NftablesError('nft -f -', r.err)
    },
    listTable (family, name, opts) {
      const r = run(`list table ${family} ${name}`, { handles: opts?.handles === true })
      if (r.ok) return r.out
      const e = new NftablesError(`nft list table ${family} ${name}`, r.err)
      if (e.notExist) return undefined
      throw e
    },
    deleteTable (family, name) {
      const r = run(`delete table ${family} ${name}`, {})
      if (r.ok) return
      const e = new NftablesError(`nft delete table ${family} ${name}`, r.err)
      if (!e.notExist) throw e
    }
  }
}

/** nft in the calling thread's network namespace. */
export function linuxNftables (opts: LinuxNftablesOptions = {}): Nftables {
  const run = opts.run ?? spawnRunner
  return nftablesOver((text, o) => {
    const r = o.script === true
      ? run(findTool('nft'), ['-f', '-'], text)
      : run(findTool('nft'), [...(o.handles === true ? ['-a'] : []), ...text.split(' ')])
    return { ok: r.status === 0, out: r.stdout, err: r.stderr }
  })
}
