/**
 * The iptables proxier for one family: one `iptables-restore --noflush`
 * transaction per sync holding `*filter` then `*nat`. The top-level chains
 * are always rewritten (iptables-restore needs all of a chain once it is
 * mentioned); per-service chains only for services that changed (KEP-3453
 * partial sync); chains of removed services are flushed and deleted in the
 * same transaction. Full syncs (start, after a failure) also ensure the jump
 * rules from the built-in chains and delete stale service chains found with
 * iptables-save (a node coming from kube-proxy).
 */
import type { Iptables } from '../../kernel/index.js'
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

export function iptablesProxier (init: IptProxierInit, deps: IptProxierDeps): IptProxier {
  const now = deps.now ?? (() => performance.now())
  const ipt = deps.iptables
  let committed = new Map<string, ServiceRules>()
  /** The top-level chains' contents as last written. */
  let committedTop = new Map<string, string>()
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
    if (full) {
      const active = new Set<string>()
      for (const r of next.values()) for (const c of r.chains.keys()) active.add(c)
      let saved: string
      try {
        saved = ipt.save('nat')
      } catch (e) {
        needFull = true
        throw new ProxyError('PROXY_ERR_SYNC', `iptables-save -t nat: ${(e as Error).message}`, { cause: e })
      }
      for (const m of saved.matchAll(/^:(\S+) /gm)) if (isServiceChain(m[1] as string) && !active.has(m[1] as string)) stale.add(m[1] as string)
    } else {
      for (const key of changed) {
        const before = committed.get(key)
        const after = next.get(key) ?? emptyServiceRules()
        for (const c of before?.chains.keys() ?? []) if (!after.chains.has(c)) stale.add(c)
      }
    }

    // Whether any changed service's contribution to the top-level chains changed: if not (an endpoint
    // change), the top-level texts are the committed ones and need not be rebuilt (O(change) compute).
    const topOf = (r: ServiceRules | undefined): string => r === undefined
      ? ''
      : [r.nat.services, r.nat.nodeports, r.filter.services, r.filter.external, r.filter.nodeports, r.filter.firewall].map((l) => l.join('\n')).join('\n\n')
    const topSame = !full && committedTop.size > 0 && [...(changed as ReadonlySet<string>)].every((k) => topOf(committed.get(k)) === topOf(next.get(k)))
    const keys = topSame ? [] : [...next.keys()].sort()
    const fixed = fixedRules(init)
    const collect = (pick: (r: ServiceRules) => string[], tail: string[] = [], head: string[] = []): string => {
      const out: string[] = [...head]
      for (const k of keys) for (const l of pick(next.get(k) as ServiceRules)) out.push(l)
      for (const l of tail) out.push(l)
      return out.join('\n')
    }
    // The top-level chains' contents. A partial sync mentions only those that changed: iptables-restore
    // --noflush leaves an unmentioned chain as it is, and one mentioned must be written whole.
    const top = topSame ? committedTop : new Map<string, string>([
      ['filter/KUBE-SERVICES', collect((r) => r.filter.services)],
      ['filter/KUBE-EXTERNAL-SERVICES', collect((r) => r.filter.external)],
      ['filter/KUBE-FORWARD', fixed.forward.join('\n')],
      ['filter/KUBE-NODEPORTS', collect((r) => r.filter.nodeports)],
      ['filter/KUBE-PROXY-FIREWALL', collect((r) => r.filter.firewall)],
      ['nat/KUBE-SERVICES', collect((r) => r.nat.services, fixed.natNodePortJump)],
      ['nat/KUBE-NODEPORTS', collect((r) => r.nat.nodeports)],
      ['nat/KUBE-POSTROUTING', fixed.natPost.join('\n')],
      ['nat/KUBE-MARK-MASQ', fixed.natMark.join('\n')]
    ])
    const changedTop = [...top].filter(([k, v]) => full || committedTop.get(k) !== v)
    const f: string[] = ['*filter']
    const n: string[] = ['*nat']
    for (const [k] of changedTop) (k.startsWith('filter/') ? f : n).push(`:${k.split('/')[1] as string} - [0:0]`)
    const chainLines: string[] = []
    for (const k of written) {
      for (const [c, rules] of (next.get(k) as ServiceRules).chains) { n.push(`:${c} - [0:0]`); chainLines.push(...rules) }
    }
    for (const c of stale) n.push(`:${c} - [0:0]`)
    for (const [k, v] of changedTop) if (v !== '') (k.startsWith('filter/') ? f : n).push(v)
    f.push('COMMIT')
    n.push(...chainLines)
    for (const c of stale) n.push(`-X ${c}`)
    n.push('COMMIT')
    const script = f.join('\n') + '\n' + n.join('\n') + '\n'
    const computeMs = now() - start
    const applyStart = now()
    try {
      if (full) {
        // The chains must exist before the jump rules that point at them.
        for (const c of filterTopChains) ipt.ensureChain('filter', c)
        for (const c of natTopChains) ipt.ensureChain('nat', c)
        for (const j of jumpRules) ipt.insertUnique(j.table, j.from, j.rule)
      }
      ipt.restore(script)
    } catch (e) {
      needFull = true
      throw new ProxyError('PROXY_ERR_SYNC', `iptables-restore (${full ? 'full' : 'partial'}) failed: ${(e as Error).message}`, { cause: e })
    }
    const applyMs = now() - applyStart
    committed = next
    committedTop = top
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
      committedTop = new Map()
      needFull = true
    }
  }
}
