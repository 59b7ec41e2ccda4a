/**
 * Adj-RIB-In (per source, after import policy) and the Loc-RIB (every candidate path per prefix, and the decision)
 * in one structure: the Adj-RIB-In of a source is its paths across the Loc-RIB entries, so a prefix costs one entry
 * and one path per source, with no per-source map (a full table from several peers is what a reflector holds).
 * Operations on one prefix look at that prefix's few paths; operations on a whole source (a session lost, a peer
 * restarting) walk the table. The speaker's loop is the only writer; every mutation returns whether the prefix's
 * decision changed so the caller can mark it dirty.
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
  readonly #counts = new Map<string, number>()

  static keyOf (source: PeerRef | undefined): string { return source?.address ?? LOCAL }

  /** How many prefixes a source has in the Adj-RIB-In. */
  count (source: string): number { return this.#counts.get(source) ?? 0 }

  /** The prefixes a source has a path for (walks the table). */
  prefixesOf (source: string): string[] {
    const out: string[] = []
    for (const [prefix, e] of this.loc) if (e.paths.some((p) => Rib.keyOf(p.source) === source)) out.push(prefix)
    return out
  }

  /** The path of `source` for `prefix`. */
  path (source: string, prefix: string): Path | undefined {
    return this.loc.get(prefix)?.paths.find((p) => Rib.keyOf(p.source) === source)
  }

  /** Adds or replaces `path` (one per source, prefix and path identifier). True when the decision changed. */
  update (path: Path): boolean {
    const key = Rib.keyOf(path.source)
    const id = path.pathId
    let e = this.loc.get(path.prefix)
    if (e === undefined) {
      const paths = [path]
      e = { paths, best: path, reason: 'only-path', multipath: paths }
      this.loc.set(path.prefix, e)
      this.#counts.set(key, this.count(key) + 1)
      return true
    }
    // `multipath` may be the `paths` array itself (a lone path): keep the old view intact for the comparison.
    if (e.multipath === e.paths) e.multipath = e.paths.slice()
    const i = e.paths.findIndex((p) => p.pathId === id && Rib.keyOf(p.source) === key)
    if (i >= 0) e.paths[i] = path
    else {
      e.paths.push(path)
      this.#counts.set(key, this.count(key) + 1)
    }
    return this.#decide(e)
  }

  /**
   * Removes the path of `source` for `prefix` with path identifier `pathId` (RFC 7911; none without ADD-PATH), or
   * with `pathId` 'all' every path of that source. True when the decision changed.
   */
  withdraw (source: string, prefix: string, pathId?: number | 'all'): boolean {
    if (pathId === 'all') {
      let changed = false
      while (this.path(source, prefix) !== undefined) changed = this.withdraw(source, prefix, this.path(source, prefix)?.pathId) || changed
      return changed
    }
    const e = this.loc.get(prefix)
    if (e === undefined) return false
    const i = e.paths.findIndex((p) => p.pathId === pathId && Rib.keyOf(p.source) === source)
    if (i < 0) return false
    this.#counts.set(source, this.count(source) - 1)
    if (e.paths.length === 1) { this.loc.delete(prefix); return true }
    if (e.multipath === e.paths) e.multipath = e.paths.slice()
    e.paths = e.paths.filter((_, j) => j !== i)
    return this.#decide(e)
  }

  /** Removes every path of `source`; returns the prefixes whose decision changed. */
  dropSource (source: string): string[] {
    if (this.count(source) === 0) return []
    const changed: string[] = []
    for (const prefix of this.prefixesOf(source)) if (this.withdraw(source, prefix, 'all')) changed.push(prefix)
    this.#counts.delete(source)
    return changed
  }

  /** RFC 4724 §4.2: marks every path of a restarting peer stale; returns the prefixes whose decision changed. */
  markStale (source: string): string[] {
    const changed: string[] = []
    for (const [prefix, e] of this.loc) {
      let found = false
      for (const p of e.paths) if (Rib.keyOf(p.source) === source) { p.stale = true; found = true }
      if (!found) continue
      if (e.paths.length > 1) {
        if (e.multipath === e.paths) e.multipath = e.paths.slice()
        if (this.#decide(e)) changed.push(prefix)
      }
    }
    return changed
  }

  /** Removes the paths of `source` still stale (End-of-RIB received, or the restart/stale timer ran out). */
  sweepStale (source: string): string[] {
    const changed: string[] = []
    for (const [prefix, e] of [...this.loc]) {
      let c = false
      for (const p of e.paths.filter((x) => x.stale === true && Rib.keyOf(x.source) === source)) c = this.withdraw(source, prefix, p.pathId) || c
      if (c) changed.push(prefix)
    }
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
