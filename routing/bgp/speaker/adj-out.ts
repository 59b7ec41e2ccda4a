/**
 * Adj-RIB-Out of every peer in one map: prefix → the attributes sent to each peer, by the peer's slot. One map
 * entry and one small array per prefix instead of one map per peer (with a full table and a handful of clients the
 * per-peer maps were most of the memory).
 */
import type { Attrs } from '../rib/index.js'

export class AdjRibOut {
  readonly #m = new Map<string, Array<Attrs | undefined>>()
  readonly #counts: number[] = []
  readonly #slots: number

  /** `slots`: how many peers (arrays are made at exactly that size: a growing array reserves 17 slots). */
  constructor (slots: number) {
    this.#slots = Math.max(1, slots)
  }

  get (slot: number, prefix: string): Attrs | undefined { return this.#m.get(prefix)?.[slot] }

  /** What every peer was sent for `prefix`, by slot (read-only for callers). */
  row (prefix: string): ReadonlyArray<Attrs | undefined> | undefined { return this.#m.get(prefix) }

  /** Returns the prefix's row. */
  set (slot: number, prefix: string, attrs: Attrs): ReadonlyArray<Attrs | undefined> {
    let a = this.#m.get(prefix)
    if (a === undefined) { a = new Array<Attrs | undefined>(this.#slots).fill(undefined); this.#m.set(prefix, a) }
    if (a[slot] === undefined) this.#counts[slot] = (this.#counts[slot] ?? 0) + 1
    a[slot] = attrs
    return a
  }

  /** True when something was there. */
  delete (slot: number, prefix: string): boolean {
    const a = this.#m.get(prefix)
    if (a?.[slot] === undefined) return false
    a[slot] = undefined
    this.#counts[slot] = (this.#counts[slot] ?? 1) - 1
    if (a.every((x) => x === undefined)) this.#m.delete(prefix)
    return true
  }

  /** Forgets what a peer was sent (its session ended or it asked for a refresh), optionally for one family. */
  clear (slot: number, family?: 4 | 6): void {
    if ((this.#counts[slot] ?? 0) === 0) return
    for (const prefix of [...this.#m.keys()]) {
      if (family !== undefined && (prefix.includes(':') ? 6 : 4) !== family) continue
      this.delete(slot, prefix)
    }
  }

  count (slot: number): number { return this.#counts[slot] ?? 0 }
}
