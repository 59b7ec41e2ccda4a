/**
 * An in-memory `Store` for unit tests. It holds the same state the disk store
 * does (reservation bodies as the exact text a file would hold, and the
 * round-robin cursors) and is strict about the contract: any call outside
 * `withLock` throws, so a test also proves the allocator's lock discipline.
 */
import { ip } from '../../../kernel/index.js'
import { decodeOwner, encodeOwner } from '../store.js'
import type { Owner, Reservation, Store } from '../store.js'

export interface FakeStoreInit {
  /** Address → file body, e.g. `{ '10.1.0.2': 'c1\r\neth0', '10.1.0.3': 'legacy-id' }`. */
  files?: Record<string, string>
  /** Range set index → cursor. */
  lastReserved?: Record<number, string>
  /** Addresses whose release fails (to exercise error paths). */
  failRelease?: string[]
  /** Fail the n-th reserve call (1-based) with an I/O-like error. */
  failReserveAt?: number
}

export interface FakeStore extends Store {
  /** The state as text lines in address order: `<ip> <id>/<ifname>` (or `<ip> <id>` for legacy), then `last_reserved_ip.<n> <ip>`. */
  dump (): string
  /** How many times the lock was taken (outermost calls only). */
  readonly lockCount: number
}

export function fakeStore (init: FakeStoreInit = {}): FakeStore {
  const files = new Map<string, string>(Object.entries(init.files ?? {}).map(([k, v]) => [ip.canonical(k), v]))
  const last = new Map<number, string>(Object.entries(init.lastReserved ?? {}).map(([k, v]) => [Number(k), v]))
  const failRelease = new Set(init.failRelease ?? [])
  let held = false
  let lockCount = 0
  let reserves = 0
  const guard = (op: string): void => {
    if (!held) throw new Error(`fake store: ${op} called without holding the lock`)
  }
  const store: FakeStore = {
    withLock<T> (fn: () => T): T {
      if (held) return fn()
      held = true
      lockCount++
      try { return fn() } finally { held = false }
    },
    reserve (addr: string, owner: Owner, rangeSetIndex: number): boolean {
      guard('reserve')
      reserves++
      if (init.failReserveAt === reserves) throw new Error(`fake store: injected failure reserving ${addr}`)
      if (files.has(addr)) return false
      files.set(addr, encodeOwner(owner))
      last.set(rangeSetIndex, addr)
      return true
    },
    lastReserved (rangeSetIndex: number): string | undefined {
      guard('lastReserved')
      return last.get(rangeSetIndex)
    },
    list (): Reservation[] {
      guard('list')
      return [...files].map(([addr, body]) => ({ ip: addr, ...decodeOwner(body) }))
    },
    release (addr: string): void {
      guard('release')
      if (failRelease.has(addr)) throw new Error(`fake store: injected failure releasing ${addr}`)
      files.delete(addr)
    },
    dump (): string {
      // Numeric address order (v4 before v6), so 10.1.0.2 comes before 10.1.0.10.
      const byAddr = [...files].sort(([a], [b]) => (ip.familyOf(a) ?? 0) - (ip.familyOf(b) ?? 0) || (ip.toBigInt(a) < ip.toBigInt(b) ? -1 : ip.toBigInt(a) > ip.toBigInt(b) ? 1 : 0))
      const lines = byAddr.map(([addr, body]) => {
        const o = decodeOwner(body)
        return `${addr} ${o.id}${o.ifname !== undefined ? `/${o.ifname}` : ''}`
      })
      for (const [k, v] of [...last].sort((a, b) => a[0] - b[0])) lines.push(`last_reserved_ip.${k} ${v}`)
      return lines.join('\n')
    },
    get lockCount () { return lockCount }
  }
  return store
}
