/**
 * The host-local allocator: pure policy over a `Store`. Every operation takes
 * the store's lock itself, so that one call is one critical section on disk
 * (the reference locks per range set; holding the lock for the whole request
 * keeps a multi-range-set ADD and its rollback atomic towards other callers).
 *
 * Allocation is round-robin, as in the reference: a range set continues after
 * its last reserved address, walks its ranges cyclically, skips each range's
 * gateway and gives up after one full loop. The point (from the reference's
 * own comment) is that a crash-looping container does not get the address it
 * just released back at once.
 */
import { CniError } from '../skel/index.js'
import { ip } from '../../kernel/index.js'
import { rangeContains, rangeFor, rangeSetString } from './config.js'
import type { Attachment, Range, RangeSet } from './config.js'
import { legacyOwnedBy, ownedBy } from './store.js'
import type { Owner, Reservation, Store } from './store.js'

export interface Allocation {
  rangeSetIndex: number
  /** Canonical address text. */
  ip: string
  prefixLen: number
  gateway: string
}

export interface AllocateRequest {
  rangeSets: readonly RangeSet[]
  owner: Owner
  /** Requested addresses (canonical); each must be served by some range set. */
  requested: readonly string[]
}

/**
 * The candidate addresses of a range set in allocation order: after
 * `last` (when it lies in the set), else from the first range's start; each
 * range's gateway skipped; every address of the set at most once.
 */
export function * candidates (set: RangeSet, last: string | undefined): Generator<{ ip: string, range: Range }> {
  const n = set.length
  if (n === 0) return
  const bounds = set.map((r) => ({ r, start: ip.toBigInt(r.rangeStart), end: ip.toBigInt(r.rangeEnd), gw: ip.toBigInt(r.gateway) }))
  const total = bounds.reduce((sum, b) => sum + b.end - b.start + 1n, 0n)
  const at = last !== undefined ? set.findIndex((r) => rangeContains(r, last)) : -1
  let idx = at >= 0 ? at : 0
  let b = bounds[idx] as typeof bounds[number]
  let cur = at >= 0 ? ip.toBigInt(last as string) : b.start
  const step = (): void => {
    if (cur === b.end) {
      idx = (idx + 1) % n
      b = bounds[idx] as typeof bounds[number]
      cur = b.start
    } else {
      cur++
    }
  }
  // Resuming: the first candidate is the one after the cursor.
  if (at >= 0) step()
  for (let i = 0n; i < total; i++, step()) {
    if (cur === b.gw) continue
    yield { ip: ip.fromBigInt(cur, b.r.subnet.family), range: b.r }
  }
}

function fail (code: 'CNI_ERR_RANGE_EXHAUSTED' | 'CNI_ERR_IP_UNAVAILABLE' | 'CNI_ERR_DUPLICATE_ALLOCATION', index: number, msg: string, details = ''): CniError {
  // "failed to allocate for range N: ..." is the reference's wording; logs and runbooks grep for it.
  return new CniError(code, `failed to allocate for range ${index}: ${msg}`, details)
}

function allocateInSet (store: Store, set: RangeSet, index: number, owner: Owner, held: readonly Reservation[], requested: string | undefined): Allocation {
  // The spec forbids a second ADD for one attachment without a DEL in between;
  // an address already held in this set means exactly that.
  const dup = held.find((r) => (ownedBy(r, owner) || legacyOwnedBy(r, owner)) && rangeFor(set, r.ip) !== undefined)
  if (dup !== undefined) {
    throw fail('CNI_ERR_DUPLICATE_ALLOCATION', index, `${dup.ip} has been allocated to ${owner.id}, duplicate allocation is not allowed`,
      `interface ${owner.ifname}; DEL the attachment before adding it again`)
  }
  if (requested !== undefined) {
    const r = rangeFor(set, requested) as Range
    if (requested === r.gateway) throw fail('CNI_ERR_IP_UNAVAILABLE', index, `requested ip ${requested} is subnet's gateway`)
    if (!store.reserve(requested, owner, index)) {
      const holder = held.find((h) => h.ip === requested)
      throw fail('CNI_ERR_IP_UNAVAILABLE', index, `requested IP address ${requested} is not available in range set ${rangeSetString(set)}`,
        holder !== undefined ? `held by ${holder.id}${holder.ifname !== undefined ? `/${holder.ifname}` : ''}` : '')
    }
    return { rangeSetIndex: index, ip: requested, prefixLen: r.subnet.prefixLen, gateway: r.gateway }
  }
  const taken = new Set(held.map((h) => h.ip))
  for (const c of candidates(set, store.lastReserved(index))) {
    // Under the lock `held` is current, so known-taken addresses skip the
    // syscall; reserve()'s O_EXCL still has the final word.
    if (taken.has(c.ip)) continue
    if (store.reserve(c.ip, owner, index)) return { rangeSetIndex: index, ip: c.ip, prefixLen: c.range.subnet.prefixLen, gateway: c.range.gateway }
  }
  throw fail('CNI_ERR_RANGE_EXHAUSTED', index, `no IP addresses available in range set: ${rangeSetString(set)}`)
}

/**
 * Allocates one address per range set (the requested one where a requested
 * address falls in the set). All or nothing: on any failure every address
 * reserved by this call is released again, and nothing else is touched.
 */
export function allocate (store: Store, req: AllocateRequest): Allocation[] {
  return store.withLock(() => {
    const held = store.list()
    const pending = [...req.requested]
    const done: Allocation[] = []
    let ok = false
    try {
      req.rangeSets.forEach((set, index) => {
        const at = pending.findIndex((a) => rangeFor(set, a) !== undefined)
        const requested = at >= 0 ? pending.splice(at, 1)[0] : undefined
        done.push(allocateInSet(store, set, index, req.owner, held, requested))
      })
      if (pending.length > 0) {
        throw new CniError('CNI_ERR_IP_UNAVAILABLE', `failed to allocate all requested IPs: ${pending.join(' ')}`,
          'a requested address must lie between rangeStart and rangeEnd of a configured range, and at most one per range set')
      }
      ok = true
      return done
    } finally {
      if (!ok) {
        for (const a of done) {
          try { store.release(a.ip) } catch { /* the original error is the one to report */ }
        }
      }
    }
  })
}

/** Reservations of `owner`: exact matches, or else its legacy ID-only entries. */
function ownersReservations (all: readonly Reservation[], owner: Owner): Reservation[] {
  const exact = all.filter((r) => ownedBy(r, owner))
  return exact.length > 0 ? exact : all.filter((r) => legacyOwnedBy(r, owner))
}

/**
 * Releases every address `owner` holds (whatever range it is in, so a
 * changed configuration does not strand addresses). Idempotent. Tries every
 * address even when one fails, then reports the failures together.
 */
export function releaseOwner (store: Store, owner: Owner): string[] {
  return store.withLock(() => releaseAll(store, ownersReservations(store.list(), owner)))
}

/** True when `owner` holds at least one address. */
export function holdsAddress (store: Store, owner: Owner): boolean {
  return store.withLock(() => ownersReservations(store.list(), owner).length > 0)
}

/**
 * Spec 1.1 GC: releases every reservation whose holder is not in `valid`. A
 * legacy ID-only entry is kept when any valid attachment has its container
 * ID. An empty `valid` list releases everything.
 */
export function collectGarbage (store: Store, valid: readonly Attachment[]): string[] {
  const exact = new Set(valid.map((a) => `${a.containerID}\r\n${a.ifname}`))
  const ids = new Set(valid.map((a) => a.containerID))
  return store.withLock(() => {
    const stale = store.list().filter((r) => r.ifname === undefined ? !ids.has(r.id) : !exact.has(`${r.id}\r\n${r.ifname}`))
    return releaseAll(store, stale)
  })
}

function releaseAll (store: Store, rs: readonly Reservation[]): string[] {
  const released: string[] = []
  const failed: string[] = []
  for (const r of rs) {
    try {
      store.release(r.ip)
      released.push(r.ip)
    } catch (e) {
      failed.push(`${r.ip}: ${e instanceof Error ? e.message : String(e)}`)
    }
  }
  if (failed.length > 0) throw new CniError('CNI_ERR_STORE', `failed to release ${failed.length} of ${rs.length} addresses`, failed.join('; '))
  return released
}
