/**
 * Adj-RIB-In (per source, after import policy) and the Loc-RIB (every candidate path per prefix, and the decision).
 * One `Path` object sits in both, so a prefix costs one path per source plus one entry. The speaker's loop is
 * the only writer; every mutation returns whether the prefix's decision changed so the caller can mark it dirty.
 */
import type { Decision } from './best.js'
import { decide } from './best.js'
import type { Path, PeerRef } from './path.js'

/** A prefix's candidates and its decision in one object (one allocation per prefix; `multipath` is `paths` when alone). */
export interface RibEntry extends Decision {
  paths: Path[]
}

/** The Adj-RIB-In key of locally originated paths. */
export const LOCAL = ''

export class Rib {
  readonly loc = new Map<string, RibEntry>()
  readonly #adjIn = new Map<string, Map<string, Path>>()

  static keyOf (source: PeerRef | undefined): string { return source?.address ?? LOCAL }

  adjIn (source: string): ReadonlyMap<string, Path> {
    return this.#adjIn.get(source) ?? new Map()
  }

  /** How many prefixes a source has in the Adj-RIB-In. */
  count (source: string): number { return this.#adjIn.get(source)?.size ?? 0 }

  /** Adds or replaces `path` (one per source and prefix). True when the decision changed. */
  update (path: Path): boolean {
    const key = Rib.keyOf(path.source)
    let adj = this.#adjIn.get(key)
    if (adj === undefined) { adj = new Map(); this.#adjIn.set(key, adj) }
    const old = adj.get(path.prefix)
    adj.set(path.prefix, path)
    let e = this.loc.get(path.prefix)
    if (e === undefined) {
      const paths = [path]
      e = { paths, best: path, reason: 'only-path', multipath: paths }
      this.loc.set(path.prefix, e)
      return true
    }
    // `multipath` may be the `paths` array itself (a lone path): keep the old view intact for the comparison.
    if (e.multipath === e.paths) e.multipath = e.paths.slice()
    if (old !== undefined) {
      const i = e.paths.indexOf(old)
      if (i >= 0) e.paths[i] = path
      else e.paths.push(path)
    } else e.paths.push(path)
    return this.#decide(e)
  }

  /** Removes the path of `source` for `prefix`. True when the decision changed. */
  withdraw (source: string, prefix: string): boolean {
    const adj = this.#adjIn.get(source)
    const old = adj?.get(prefix)
    if (adj === undefined || old === undefined) return false
    adj.delete(prefix)
    const e = this.loc.get(prefix)
    if (e === undefined) return false
    e.paths = e.paths.filter((p) => p !== old)
    if (e.paths.length === 0) { this.loc.delete(prefix); return true }
    return this.#decide(e)
  }

  /** Removes every path of `source`; returns the prefixes whose decision changed. */
  dropSource (source: string): string[] {
    const adj = this.#adjIn.get(source)
    if (adj === undefined) return []
    const changed: string[] = []
    for (const prefix of [...adj.keys()]) if (this.withdraw(source, prefix)) changed.push(prefix)
    this.#adjIn.delete(source)
    return changed
  }

  /** RFC 4724 §4.2: marks every path of a restarting peer stale; returns the prefixes whose decision changed. */
  markStale (source: string): string[] {
    const adj = this.#adjIn.get(source)
    if (adj === undefined) return []
    const changed: string[] = []
    for (const p of adj.values()) {
      p.stale = true
      const e = this.loc.get(p.prefix)
      if (e !== undefined && this.#decide(e)) changed.push(p.prefix)
    }
    return changed
  }

  /** Removes the paths of `source` still stale (End-of-RIB received, or the restart/stale timer ran out). */
  sweepStale (source: string): string[] {
    const adj = this.#adjIn.get(source)
    if (adj === undefined) return []
    const changed: string[] = []
    for (const p of [...adj.values()]) if (p.stale === true && this.withdraw(source, p.prefix)) changed.push(p.prefix)
    return changed
  }

  decision (prefix: string): Decision | undefined { return this.loc.get(prefix) }

  /** Re-runs the decision for an entry with at least one path; true when best or multipath changed. */
  #decide (e: RibEntry): boolean {
    const before = { best: e.best, multipath: e.multipath }
    const d = decide(e.paths) as Decision
    e.best = d.best
    e.reason = d.reason
    e.multipath = d.multipath.length === 1 && e.paths.length === 1 ? e.paths : d.multipath
    if (before.best !== d.best || before.multipath.length !== d.multipath.length) return true
    return before.multipath.some((p, i) => p !== d.multipath[i])
  }
}
