/**
 * The nftables proxier for one family: a full sync replaces the table in one
 * transaction; a partial sync diffs the objects of the changed services
 * against what the last successful sync committed and writes only that
 * (new and rewritten chains, element adds and deletes, removed chains and
 * affinity sets), so its size is proportional to the change. A failed
 * transaction leaves the kernel and the committed model as they were and
 * makes the next sync a full one.
 */
import { ProxyError } from '../tracker/index.js'
import type { IpFamily, Proxier, ProxyState, SyncStats } from '../tracker/index.js'
import type { Nftables } from '../../kernel/index.js'
import { TABLE, baseObjects, elementText, emptyObjects, renderDecls, serviceObjects } from './render.js'
import type { NftObjects, NftRenderConfig } from './render.js'

export interface NftProxierInit extends NftRenderConfig {}
export interface NftProxierDeps {
  nft: Nftables
  /** Milliseconds clock for the stats (defaults to performance.now). */
  now?: () => number
}

export interface NftProxier extends Proxier {
  /** The transaction text of the last sync (for tests and debugging). */
  readonly lastTransaction: string
}

const fam = (f: IpFamily): 'ip' | 'ip6' => f === 4 ? 'ip' : 'ip6'

/**
 * Owners of each value-less set element, per set then element key (the key strings are the elements' own, already
 * hashed by the elements map: no composite key is built per element on a full sync).
 */
type Refs = Map<string, Map<string, number>>
const refsOf = (r: Refs, set: string): Map<string, number> => {
  let m = r.get(set)
  if (m === undefined) { m = new Map(); r.set(set, m) }
  return m
}

export function nftablesProxier (init: NftProxierInit, deps: NftProxierDeps): NftProxier {
  const now = deps.now ?? (() => performance.now())
  const t = `${fam(init.family)} ${TABLE}`
  let committed = new Map<string, NftObjects>()
  /** Owners of each value-less set element (a ClusterIP or a hairpin endpoint several services share). */
  let refs: Refs = new Map()
  let needFull = true
  let lastTransaction = ''

  const apply = (script: string): number => {
    const start = now()
    try {
      deps.nft.apply(script)
    } catch (e) {
      needFull = true
      throw new ProxyError('PROXY_ERR_SYNC', `nft transaction for table ${t} failed: ${(e as Error).message}`, { cause: e })
    }
    return now() - start
  }

  const fullSync = (state: ProxyState): SyncStats => {
    const start = now()
    const next = new Map<string, NftObjects>()
    const nextRefs: Refs = new Map()
    // Base objects first, then each service's sets, chains and rules: they refer only to their own chains and
    // sets and to base objects, so this order is valid without one table-wide sort. Then every set's elements in
    // one `add element` per set (verdicts name chains, all declared by then): one statement instead of one per
    // element, which nft also loads faster (1k services × 10 endpoints: ~0.20 s instead of ~0.26 s).
    const lines = [
      `add table ${t} { comment "rules for kube-proxy" ; }`,
      `delete table ${t}`,
      `add table ${t} { comment "rules for kube-proxy" ; }`
    ]
    const elements = new Map<string, string[]>()
    const collect = (objs: NftObjects, counted: boolean): void => {
      for (const [set, els] of objs.elements) {
        let texts = elements.get(set)
        if (texts === undefined) { texts = []; elements.set(set, texts) }
        let counts: Map<string, number> | undefined
        for (const [k, v] of els) {
          if (v === '' && counted) {
            // A value-less element several services share (a hairpin endpoint) is written once and counted.
            counts ??= refsOf(nextRefs, set)
            const n = (counts.get(k) ?? 0) + 1
            counts.set(k, n)
            if (n > 1) continue
          }
          texts.push(elementText(k, v))
        }
      }
    }
    const base = baseObjects(init)
    renderDecls(base, init.family, lines)
    collect(base, false)
    for (const key of state.keys()) {
      const ports = state.ports(key)
      if (ports.length === 0) continue
      const objs = serviceObjects(ports, init)
      next.set(key, objs)
      renderDecls(objs, init.family, lines)
      collect(objs, true)
    }
    for (const [set, texts] of elements) if (texts.length > 0) lines.push(`add element ${t} ${set} { ${texts.join(', ')} }`)
    const script = lines.join('\n') + '\n'
    const computeMs = now() - start
    const applyMs = apply(script)
    committed = next
    refs = nextRefs
    needFull = false
    lastTransaction = script
    return { family: init.family, full: true, computeMs, applyMs, bytes: script.length, servicesWritten: next.size }
  }

  const partialSync = (state: ProxyState, changed: ReadonlySet<string>): SyncStats => {
    const start = now()
    const adds: string[] = [] // new sets and chains
    const rewrites: string[] = [] // flush + rules of new or changed chains
    const elDeletes: string[] = []
    const elAdds: string[] = []
    const removals: string[] = [] // flush then delete chains, delete sets
    // Applied to `committed` only once the transaction succeeded (no O(services) copy per sync).
    const updates = new Map<string, NftObjects | undefined>()
    const delta: Refs = new Map()
    const count = (set: string, k: string): number => (refs.get(set)?.get(k) ?? 0) + (delta.get(set)?.get(k) ?? 0)
    const bump = (set: string, k: string, by: number): number => { const d = refsOf(delta, set); d.set(k, (d.get(k) ?? 0) + by); return count(set, k) }
    let written = 0
    for (const key of changed) {
      const old = committed.get(key) ?? emptyObjects()
      const ports = state.ports(key)
      const cur = ports.length === 0 ? emptyObjects() : serviceObjects(ports, init)
      updates.set(key, ports.length === 0 ? undefined : cur)
      written++
      for (const [name, body] of cur.sets) if (!old.sets.has(name)) adds.push(`add set ${t} ${name} ${body}`)
      for (const [name, rules] of cur.chains) {
        const before = old.chains.get(name)
        if (before !== undefined && before.length === rules.length && before.every((r, i) => r === rules[i])) continue
        if (before === undefined) adds.push(`add chain ${t} ${name}`)
        else rewrites.push(`flush chain ${t} ${name}`)
        for (const r of rules) rewrites.push(`add rule ${t} ${name} ${r}`)
      }
      for (const [set, els] of old.elements) {
        const curEls = cur.elements.get(set)
        for (const [k, v] of els) {
          if (curEls?.get(k) === v) continue
          if (v === '' && bump(set, k, -1) > 0) continue
          elDeletes.push(`delete element ${t} ${set} { ${k} }`)
        }
      }
      for (const [set, els] of cur.elements) {
        const oldEls = old.elements.get(set)
        for (const [k, v] of els) {
          if (oldEls?.get(k) === v) continue
          if (v === '' && bump(set, k, 1) > 1) continue
          elAdds.push(`add element ${t} ${set} { ${v === '' ? k : `${k} : ${v}`} }`)
        }
      }
      for (const name of old.chains.keys()) if (!cur.chains.has(name)) removals.push(`flush chain ${t} ${name}`, `delete chain ${t} ${name}`)
      for (const name of old.sets.keys()) if (!cur.sets.has(name)) removals.push(`delete set ${t} ${name}`)
    }
    // Flushes first, so a removed chain is no longer jumped to when it is deleted.
    const flushes = removals.filter((l) => l.startsWith('flush'))
    const deletes = removals.filter((l) => !l.startsWith('flush'))
    const lines = [...adds, ...rewrites, ...elDeletes, ...elAdds, ...flushes, ...deletes]
    const script = lines.length === 0 ? '' : lines.join('\n') + '\n'
    const computeMs = now() - start
    const applyMs = script === '' ? 0 : apply(script)
    for (const [set, ds] of delta) {
      const counts = refsOf(refs, set)
      for (const [k, d] of ds) {
        const n = (counts.get(k) ?? 0) + d
        if (n <= 0) counts.delete(k)
        else counts.set(k, n)
      }
    }
    for (const [key, o] of updates) {
      if (o === undefined) committed.delete(key)
      else committed.set(key, o)
    }
    lastTransaction = script
    return { family: init.family, full: false, computeMs, applyMs, bytes: script.length, servicesWritten: written }
  }

  return {
    family: init.family,
    mode: 'nftables',
    get lastTransaction () { return lastTransaction },
    sync (state, changed) {
      if (changed === 'full' || needFull) return fullSync(state)
      return partialSync(state, changed)
    },
    cleanup () {
      try {
        deps.nft.deleteTable(fam(init.family), TABLE)
      } catch (e) {
        throw new ProxyError('PROXY_ERR_CLEANUP', `deleting table ${t}: ${(e as Error).message}`, { cause: e })
      }
      committed = new Map()
      refs = new Map()
      needFull = true
    }
  }
}
