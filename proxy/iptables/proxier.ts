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
import type { Proxier, ProxyState, SyncStats } from '../tracker/index.js'
import {
  emptyServiceRules, filterTopChains, fixedRules, isServiceChain, jumpRules, natTopChains, serviceRules
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
  ['filter', 'KUBE-SERVICES', (r) => r.filter.services],
  ['filter', 'KUBE-EXTERNAL-SERVICES', (r) => r.filter.external],
  ['filter', 'KUBE-NODEPORTS', (r) => r.filter.nodeports],
  ['filter', 'KUBE-PROXY-FIREWALL', (r) => r.filter.firewall],
  ['nat', 'KUBE-SERVICES', (r) => r.nat.services],
  ['nat', 'KUBE-NODEPORTS', (r) => r.nat.nodeports]
]

export function iptablesProxier (init: IptProxierInit, deps: IptProxierDeps): IptProxier {
  const now = deps.now ?? (() => performance.now())
  const ipt = deps.iptables
  let committed = new Map<string, ServiceRules>()
  let needFull = true
  let lastTransaction = ''

  const sync = (state: ProxyState, changed: ReadonlySet<string> | 'full'): SyncStats => {
    const full = changed === 'full' || needFull
    const start = now()
    const next = full ? new Map<string, ServiceRules>() : new Map(committed)
    const written = new Set<string>()
    if (full) {
      for (const key of state.keys()) {
        const ports = state.ports(key)
        if (ports.length === 0) continue
        next.set(key, serviceRules(ports, init))
        written.add(key)
      }
    } else {
      for (const key of changed) {
        const ports = state.ports(key)
        if (ports.length === 0) next.delete(key)
        else { next.set(key, serviceRules(ports, init)); written.add(key) }
      }
    }
    // Chains that go away: those of services that changed (partial), or every service chain in the kernel (full).
    const stale = new Set<string>()
    /** Time in iptables-save (a full sync reads the nat table): the kernel tool's, counted as apply, not compute. */
    let readMs = 0
    if (full) {
      let saved: string
      const saveStart = now()
      try {
        saved = ipt.save('nat')
        readMs = now() - saveStart
      } catch (e) {
        needFull = true
        throw new ProxyError('PROXY_ERR_SYNC', `iptables-save -t nat: ${(e as Error).message}`, { cause: e })
      }
      const found: string[] = []
      for (const m of saved.matchAll(/^:(\S+) /gm)) if (isServiceChain(m[1] as string)) found.push(m[1] as string)
      // The set of chains wanted only when the kernel holds service chains (not on a fresh node's first sync).
      if (found.length > 0) {
        const active = new Set<string>()
        for (const r of next.values()) for (const c of r.chains.keys()) active.add(c)
        for (const c of found) if (!active.has(c)) stale.add(c)
      }
    } else {
      for (const key of changed) {
        const before = committed.get(key)
        const after = next.get(key) ?? emptyServiceRules()
        for (const c of before?.chains.keys() ?? []) if (!after.chains.has(c)) stale.add(c)
      }
    }

    const f: string[] = []
    const n: string[] = []
    const declarations: string[] = []
    const chainLines: string[] = []
    for (const k of written) {
      for (const [c, rules] of (next.get(k) as ServiceRules).chains) { declarations.push(`:${c} - [0:0]`); for (const l of rules) chainLines.push(l) }
    }
    for (const c of stale) declarations.push(`:${c} - [0:0]`)
    if (full) {
      // Every top-level chain declared (flushed) and written whole, services in key order, the nodeports jump last.
      const fixed = fixedRules(init)
      const keys = [...next.keys()].sort()
      const collect = (pick: (r: ServiceRules) => string[], tail: readonly string[] = []): string[] => {
        const out: string[] = []
        for (const k of keys) for (const l of pick(next.get(k) as ServiceRules)) out.push(l)
        for (const l of tail) out.push(l)
        return out
      }
      const top: Array<[IptablesTable, string, string[]]> = [
        ['filter', 'KUBE-SERVICES', collect((r) => r.filter.services)],
        ['filter', 'KUBE-EXTERNAL-SERVICES', collect((r) => r.filter.external)],
        ['filter', 'KUBE-FORWARD', fixed.forward],
        ['filter', 'KUBE-NODEPORTS', collect((r) => r.filter.nodeports)],
        ['filter', 'KUBE-PROXY-FIREWALL', collect((r) => r.filter.firewall)],
        ['nat', 'KUBE-SERVICES', collect((r) => r.nat.services, fixed.natNodePortJump)],
        ['nat', 'KUBE-NODEPORTS', collect((r) => r.nat.nodeports)],
        ['nat', 'KUBE-POSTROUTING', fixed.natPost],
        ['nat', 'KUBE-MARK-MASQ', fixed.natMark]
      ]
      for (const [table, chain] of top) (table === 'filter' ? f : n).push(`:${chain} - [0:0]`)
      for (const d of declarations) n.push(d)
      for (const [table, , lines] of top) { const into = table === 'filter' ? f : n; for (const l of lines) into.push(l) }
    } else {
      for (const d of declarations) n.push(d)
      // A partial sync leaves the top-level chains undeclared, so iptables-restore --noflush keeps them, and edits
      // them rule by rule: `-D <exact rule>` for each line a changed service no longer has, `-I <chain> 1 <rule>`
      // for each new one. Inserting at the top keeps nat KUBE-SERVICES' nodeports jump last; rules of different
      // services match disjoint (address, protocol, port) triples, so their order is free. A `-D` of a rule that is
      // not in the kernel (the chain edited behind our back) fails the transaction, and the next sync is full.
      for (const key of changed) {
        const before = committed.get(key)
        const after = next.get(key)
        if (before === after) continue
        for (const [table, chain, pick] of topParts) {
          const into = table === 'filter' ? f : n
          const old = before === undefined ? [] : pick(before)
          const cur = after === undefined ? [] : pick(after)
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
    }
    // Chain bodies after the top-level edits (a new service's jump only needs its chain declared), removals last.
    for (const l of chainLines) n.push(l)
    for (const c of stale) n.push(`-X ${c}`)
    const sections: string[] = []
    if (full || f.length > 0) sections.push('*filter', ...f, 'COMMIT')
    if (full || n.length > 0) { sections.push('*nat'); for (const l of n) sections.push(l); sections.push('COMMIT') }
    const script = sections.length === 0 ? '' : sections.join('\n') + '\n'
    const computeMs = now() - start - readMs
    const applyStart = now()
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
    const applyMs = now() - applyStart + readMs
    committed = next
    needFull = false
    lastTransaction = script
    return { family: init.family, full, computeMs, applyMs, bytes: script.length, servicesWritten: written.size }
  }

  return {
    family: init.family,
    mode: 'iptables',
    get lastTransaction () { return lastTransaction },
    sync,
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
