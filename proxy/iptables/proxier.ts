/**
 * The iptables proxier for one family: one `iptables-restore --noflush`
 * transaction per sync holding `*filter` then `*nat`. A full sync (start,
 * after a failure) declares every top-level chain and writes it whole,
 * ensures the jump rules from the built-in chains and deletes stale service
 * chains found with iptables-save (a node coming from kube-proxy). A partial
 * sync writes the per-service chains of services that changed (KEP-3453),
 * flushes and deletes those of removed services, and edits the top-level
 * chains rule by rule (`-D` of the exact rule, `-I <chain> 1`) without
 * declaring them, so adding a service to 10k costs a few rules, not a
 * rewrite of KUBE-SERVICES. What the kernel holds is what the last
 * successful sync committed; a failed transaction makes the next sync full.
 */
import type { Iptables, IptablesTable } from '../../kernel/index.js'
import { ProxyError } from '../tracker/index.js'
import type { Proxier, ProxyState, ServicePortInfo, SyncStats } from '../tracker/index.js'
import {
  filterTopChains, fixedRules, isServiceChain, jumpRules, natTopChains, serviceRules
} from './render.js'
import type { IptRenderConfig, ServiceRules } from './render.js'

export interface IptProxierInit extends IptRenderConfig {}
export interface IptProxierDeps {
  iptables: Iptables
  now?: () => number
}
export interface IptProxier extends Proxier {
  readonly lastTransaction: string
}

/** The top-level chains that hold per-service rules, and where a service's rules for each are. */
const topParts: ReadonlyArray<[IptablesTable, string, (r: ServiceRules) => string[]]> = [
  ['filter', 'KUBE-SERVICES', (r) => r.filterServices],
  ['filter', 'KUBE-EXTERNAL-SERVICES', (r) => r.filterExternal],
  ['filter', 'KUBE-NODEPORTS', (r) => r.filterNodeports],
  ['filter', 'KUBE-PROXY-FIREWALL', (r) => r.filterFirewall],
  ['nat', 'KUBE-SERVICES', (r) => r.natServices],
  ['nat', 'KUBE-NODEPORTS', (r) => r.natNodeports]
]

/** Pushes each line of `lines` and a newline onto `out`. */
const linesTo = (out: string[], lines: readonly string[]): void => {
  for (let i = 0; i < lines.length; i++) out.push(lines[i] as string, '\n')
}

export function iptablesProxier (init: IptProxierInit, deps: IptProxierDeps): IptProxier {
  const now = deps.now ?? (() => performance.now())
  const ipt = deps.iptables
  /**
   * What the last successful sync committed, per service: its ServicePortInfos. Rendering is pure, so a partial
   * sync re-renders the old rules of the services it changes from these; a full sync keeps no rules.
   */
  let committed = new Map<string, readonly ServicePortInfo[]>()
  let needFull = true
  let lastTransaction = ''

  /** iptables-save -t nat: the service chains the kernel holds. Kernel tool time, counted as apply. */
  const savedServiceChains = (): string[] => {
    let saved: string
    try {
      saved = ipt.save('nat')
    } catch (e) {
      needFull = true
      throw new ProxyError('PROXY_ERR_SYNC', `iptables-save -t nat: ${(e as Error).message}`, { cause: e })
    }
    const found: string[] = []
    for (const m of saved.matchAll(/^:(\S+) /gm)) if (isServiceChain(m[1] as string)) found.push(m[1] as string)
    return found
  }

  const applyScript = (full: boolean, script: string): void => {
    try {
      if (full) {
        // The chains must exist before the jump rules that point at them.
        for (const c of filterTopChains) ipt.ensureChain('filter', c)
        for (const c of natTopChains) ipt.ensureChain('nat', c)
        for (const j of jumpRules) ipt.insertUnique(j.table, j.from, j.rule)
      }
      if (script !== '') ipt.restore(script)
    } catch (e) {
      needFull = true
      throw new ProxyError('PROXY_ERR_SYNC', `iptables-restore (${full ? 'full' : 'partial'}) failed: ${(e as Error).message}`, { cause: e })
    }
  }

  /**
   * Every top-level chain declared (flushed) and written whole, services in key order, the nodeports jump last;
   * every service chain declared and written; service chains in the kernel that are not ours any more deleted.
   * The transaction is built as pieces of text joined once (no string per line built only to be copied again).
   */
  const fullSync = (state: ProxyState): SyncStats => {
    const start = now()
    const next = new Map<string, readonly ServicePortInfo[]>()
    const rendered = new Map<string, ServiceRules>()
    const keys: string[] = []
    const declarations: string[] = []
    const chainLines: string[] = []
    for (const key of state.keys()) {
      const ports = state.ports(key)
      if (ports.length === 0) continue
      const r = serviceRules(ports, init)
      next.set(key, ports)
      rendered.set(key, r)
      keys.push(key)
      for (let i = 0; i < r.chains.length; i++) {
        declarations.push(':', r.chains[i] as string, ' - [0:0]\n')
        linesTo(chainLines, r.rules[i] as string[])
      }
    }
    // Chains that go away: every service chain in the kernel that is not ours. The set of chains wanted is built
    // only when the kernel holds service chains (not on a fresh node's first sync).
    const saveStart = now()
    const found = savedServiceChains()
    const readMs = now() - saveStart
    const stale = new Set<string>()
    if (found.length > 0) {
      const active = new Set<string>()
      for (const r of rendered.values()) for (const c of r.chains) active.add(c)
      for (const c of found) if (!active.has(c)) stale.add(c)
    }
    for (const c of stale) declarations.push(':', c, ' - [0:0]\n')
    // The top-level chains' service rules, services in key order.
    const parts: string[][] = [[], [], [], [], [], []]
    keys.sort()
    for (let k = 0; k < keys.length; k++) {
      const r = rendered.get(keys[k] as string) as ServiceRules
      linesTo(parts[0] as string[], r.filterServices)
      linesTo(parts[1] as string[], r.filterExternal)
      linesTo(parts[2] as string[], r.filterNodeports)
      linesTo(parts[3] as string[], r.filterFirewall)
      linesTo(parts[4] as string[], r.natServices)
      linesTo(parts[5] as string[], r.natNodeports)
    }
    const fixed = fixedRules(init)
    const out: string[] = ['*filter\n']
    for (const c of filterTopChains) out.push(':', c, ' - [0:0]\n')
    const pieces = (p: string[]): void => { for (let i = 0; i < p.length; i++) out.push(p[i] as string) }
    pieces(parts[0] as string[])
    pieces(parts[1] as string[])
    linesTo(out, fixed.forward)
    pieces(parts[2] as string[])
    pieces(parts[3] as string[])
    out.push('COMMIT\n*nat\n')
    for (const c of natTopChains) out.push(':', c, ' - [0:0]\n')
    pieces(declarations)
    pieces(parts[4] as string[])
    linesTo(out, fixed.natNodePortJump)
    pieces(parts[5] as string[])
    linesTo(out, fixed.natPost)
    linesTo(out, fixed.natMark)
    pieces(chainLines)
    for (const c of stale) out.push('-X ', c, '\n')
    out.push('COMMIT\n')
    const script = out.join('')
    const computeMs = now() - start - readMs
    const applyStart = now()
    applyScript(true, script)
    const applyMs = now() - applyStart + readMs
    committed = next
    needFull = false
    lastTransaction = script
    return { family: init.family, full: true, computeMs, applyMs, bytes: script.length, servicesWritten: keys.length }
  }

  const partialSync = (state: ProxyState, changed: ReadonlySet<string>): SyncStats => {
    const start = now()
    const next = new Map(committed)
    /** The changed services' rules before and after this sync (undefined: none). */
    const before = new Map<string, ServiceRules | undefined>()
    const after = new Map<string, ServiceRules | undefined>()
    const written: string[] = []
    for (const key of changed) {
      const old = committed.get(key)
      before.set(key, old === undefined ? undefined : serviceRules(old, init))
      const ports = state.ports(key)
      if (ports.length === 0) { next.delete(key); after.set(key, undefined); continue }
      next.set(key, ports)
      after.set(key, serviceRules(ports, init))
      written.push(key)
    }
    // Chains that go away: those of services that changed.
    const stale = new Set<string>()
    for (const key of changed) {
      const b = before.get(key)
      const a = after.get(key)
      for (const c of b?.chains ?? []) if (a === undefined || !a.chains.includes(c)) stale.add(c)
    }
    const f: string[] = []
    const n: string[] = []
    const chainLines: string[] = []
    for (const k of written) {
      const r = after.get(k) as ServiceRules
      for (let i = 0; i < r.chains.length; i++) { n.push(`:${r.chains[i] as string} - [0:0]`); for (const l of r.rules[i] as string[]) chainLines.push(l) }
    }
    for (const c of stale) n.push(`:${c} - [0:0]`)
    // A partial sync leaves the top-level chains undeclared, so iptables-restore --noflush keeps them, and edits
    // them rule by rule: `-D <exact rule>` for each line a changed service no longer has, `-I <chain> 1 <rule>`
    // for each new one. Inserting at the top keeps nat KUBE-SERVICES' nodeports jump last; rules of different
    // services match disjoint (address, protocol, port) triples, so their order is free. A `-D` of a rule that is
    // not in the kernel (the chain edited behind our back) fails the transaction, and the next sync is full.
    for (const key of changed) {
      const b = before.get(key)
      const a = after.get(key)
      if (b === undefined && a === undefined) continue
      for (const [table, chain, pick] of topParts) {
        const into = table === 'filter' ? f : n
        const old = b === undefined ? [] : pick(b)
        const cur = a === undefined ? [] : pick(a)
        if (old.length === 0 && cur.length === 0) continue
        const count = new Map<string, number>()
        for (const l of old) count.set(l, (count.get(l) ?? 0) + 1)
        const added: string[] = []
        for (const l of cur) {
          const c = count.get(l) ?? 0
          if (c > 0) count.set(l, c - 1)
          else added.push(l)
        }
        for (const [l, c] of count) for (let i = 0; i < c; i++) into.push('-D' + l.slice(2))
        // In reverse, so that the service's rules read in their rendered order at the top of the chain.
        const head = `-A ${chain} `
        for (let i = added.length - 1; i >= 0; i--) into.push(`-I ${chain} 1 ` + (added[i] as string).slice(head.length))
      }
    }
    // Chain bodies after the top-level edits (a new service's jump only needs its chain declared), removals last.
    for (const l of chainLines) n.push(l)
    for (const c of stale) n.push(`-X ${c}`)
    const sections: string[] = []
    if (f.length > 0) sections.push('*filter', ...f, 'COMMIT')
    if (n.length > 0) { sections.push('*nat'); for (const l of n) sections.push(l); sections.push('COMMIT') }
    const script = sections.length === 0 ? '' : sections.join('\n') + '\n'
    const computeMs = now() - start
    const applyStart = now()
    applyScript(false, script)
    const applyMs = now() - applyStart
    committed = next
    needFull = false
    lastTransaction = script
    return { family: init.family, full: false, computeMs, applyMs, bytes: script.length, servicesWritten: written.length }
  }

  return {
    family: init.family,
    mode: 'iptables',
    get lastTransaction () { return lastTransaction },
    sync (state, changed) {
      if (changed === 'full' || needFull) return fullSync(state)
      return partialSync(state, changed)
    },
    cleanup () {
      try {
        for (const j of jumpRules) ipt.deleteRule(j.table, j.from, j.rule)
        for (const table of ['filter', 'nat'] as const) {
          const chains = ipt.listChains(table).filter((c) => isServiceChain(c) || (table === 'nat' ? natTopChains : filterTopChains).includes(c as never))
          if (chains.length === 0) continue
          const lines = [`*${table}`, ...chains.map((c) => `:${c} - [0:0]`), ...chains.map((c) => `-X ${c}`), 'COMMIT', '']
          ipt.restore(lines.join('\n'))
        }
      } catch (e) {
        throw new ProxyError('PROXY_ERR_CLEANUP', `iptables cleanup: ${(e as Error).message}`, { cause: e })
      }
      committed = new Map()
      needFull = true
    }
  }
}
