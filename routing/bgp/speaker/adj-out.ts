/**
 * Adj-RIB-Out of every peer in one map: prefix → the attributes sent to each peer, by the peer's slot. One map
 * entry per prefix instead of one map per peer (with a full table and a handful of clients the per-peer maps were
 * most of the memory). A row where every peer was sent the same attributes (a reflector's clients, which all get
 * the same UPDATEs) is kept as that one attributes object instead of an array of slots: 88 bytes less a prefix.
 */
import type { Attrs } from '../rib/index.js'

/** One prefix's row: the attributes every slot holds, or the attributes by slot. */
export type Row = Attrs | ReadonlyArray<Attrs | undefined>

/** What `slot` holds in `row`. */
export function atSlot (row: Row | undefined, slot: number): Attrs | undefined {
  if (row === undefined) return undefined
  return isSlots(row) ? row[slot] : row
}

function isSlots (row: Row): row is ReadonlyArray<Attrs | undefined> {
  return Array.isArray(row)
}

export class AdjRibOut {
  readonly #m = new Map<string, Row>()
  readonly #counts: number[] = []
  #slots: number
  /** Slots of removed peers: left out when deciding whether a row is shared by every peer. */
  readonly #retired = new Set<number>()

  /** `slots`: how many peers (arrays are made at exactly that size: a growing array reserves 17 slots). */
  constructor (slots: number) {
    this.#slots = Math.max(1, slots)
  }

  get (slot: number, prefix: string): Attrs | undefined { return atSlot(this.#m.get(prefix), slot) }

  /** What every peer was sent for `prefix` (read it with `atSlot`). */
  row (prefix: string): Row | undefined { return this.#m.get(prefix) }

  /** Returns the prefix's row. */
  set (slot: number, prefix: string, attrs: Attrs): Row {
    const cur = this.#m.get(prefix)
    if (cur !== undefined && !isSlots(cur)) {
      if (cur === attrs) return cur
      const a = this.#expand(cur)
      a[slot] = attrs
      this.#m.set(prefix, a)
      return a
    }
    let a = cur as Array<Attrs | undefined> | undefined
    if (a === undefined) {
      if (this.#slots === 1) {
        this.#counts[slot] = (this.#counts[slot] ?? 0) + 1
        this.#m.set(prefix, attrs)
        return attrs
      }
      a = new Array<Attrs | undefined>(this.#slots).fill(undefined)
      this.#m.set(prefix, a)
    }
    if (a[slot] === undefined) this.#counts[slot] = (this.#counts[slot] ?? 0) + 1
    a[slot] = attrs
    if (a.every((x, i) => x === attrs || this.#retired.has(i))) {
      this.#m.set(prefix, attrs)
      return attrs
    }
    return a
  }

  /** True when something was there. */
  delete (slot: number, prefix: string): boolean {
    const cur = this.#m.get(prefix)
    if (atSlot(cur, slot) === undefined) return false
    this.#counts[slot] = (this.#counts[slot] ?? 1) - 1
    if (this.#slots === 1) { this.#m.delete(prefix); return true }
    const a = isSlots(cur as Row) ? cur as Array<Attrs | undefined> : this.#expand(cur as Attrs)
    a[slot] = undefined
    if (a.every((x) => x === undefined)) this.#m.delete(prefix)
    else this.#m.set(prefix, a)
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

  get slots (): number { return this.#slots }

  /** A slot for one more peer; returns it. Shared rows become slots, so the new one reads empty (a table walk). */
  addSlot (): number {
    const slot = this.#slots
    this.#slots++
    for (const [prefix, row] of this.#m) {
      if (isSlots(row)) (row as Array<Attrs | undefined>).push(undefined)
      else { const a = this.#expand(row); a[slot] = undefined; this.#m.set(prefix, a) }
    }
    return slot
  }

  /** A removed peer's slot: emptied, and no longer counted when rows are shared. */
  retireSlot (slot: number): void {
    this.clear(slot)
    this.#retired.add(slot)
  }

  /** A retired slot taken by a new peer: it must read empty where shared rows say "every peer" (a table walk). */
  reuseSlot (slot: number): void {
    if (!this.#retired.delete(slot)) return
    for (const [prefix, row] of this.#m) {
      if (isSlots(row)) continue
      const a = this.#expand(row)
      a[slot] = undefined
      this.#m.set(prefix, a)
    }
  }

  #expand (attrs: Attrs): Array<Attrs | undefined> {
    const a = new Array<Attrs | undefined>(this.#slots).fill(attrs)
    for (const r of this.#retired) a[r] = undefined
    return a
  }
}
