/**
 * TTLs on etcd leases, the way kube-apiserver attaches them (one lease shared
 * by many keys, not one per key: Events alone would otherwise make a lease per
 * write), and the reverse lookup from a key's lease to the TTL it was written
 * with, for `KeyValue.ttlSeconds`.
 *
 * A store keeps one lease per TTL value ("bucket"), so the TTL of every lease
 * it granted is known exactly; leases granted by other clients are looked up
 * once (LeaseTimeToLive) and their TTL derived from the granted one.
 */
import { canReuse, grantTtl, leaseReuseSeconds, ttlFromGranted } from './etcd-codec.js'
import type { BucketLease } from './etcd-codec.js'

export interface LeaseRpc {
  /** Grants a lease of `ttl` seconds; resolves with its ID. */
  grant (ttl: number): Promise<string>
  /** The TTL a lease was granted with; 0 or less when the lease is gone. */
  grantedTtl (id: string): Promise<number>
}

/** Lease IDs whose TTL is remembered; leases are shared, so a handful usually covers every key. */
const TTL_CACHE_SIZE = 10_000
/** A write waits for at most this many fresh grants before taking the last one as it is (grants slower than the reuse margin). */
const GRANT_ROUNDS = 3

export class Leases {
  readonly #rpc: LeaseRpc
  readonly #now: () => number
  readonly #buckets = new Map<number, BucketLease>()
  readonly #granting = new Map<number, Promise<BucketLease>>()
  /** Lease ID → the TTL its keys were written with. */
  readonly #ttls = new Map<string, number>()
  readonly #lookups = new Map<string, Promise<number | undefined>>()

  constructor (rpc: LeaseRpc, now: () => number = Date.now) {
    this.#rpc = rpc
    this.#now = now
  }

  /** The lease a write with `ttl` seconds goes on: the bucket's lease when it still fits, else a new one. */
  async forWrite (ttl: number): Promise<string> {
    if (leaseReuseSeconds(ttl) === 0) {
      // No margin to share within (TTLs under 20 s): a lease of its own, as kube-apiserver does.
      const id = await this.#rpc.grant(ttl)
      this.#remember(id, ttl)
      return id
    }
    let lease = this.#buckets.get(ttl)
    let rounds = 0
    while (lease === undefined || (!canReuse(lease, ttl, this.#now()) && rounds < GRANT_ROUNDS)) {
      // Concurrent writes wait for one grant instead of each making their own.
      lease = await (this.#granting.get(ttl) ?? this.#grant(ttl))
      rounds++
    }
    lease.attached++
    return lease.id
  }

  async #grant (ttl: number): Promise<BucketLease> {
    const p = (async () => {
      const started = this.#now()
      const granted = grantTtl(ttl)
      const id = await this.#rpc.grant(granted)
      this.#remember(id, ttl)
      // Counted from before the request: etcd starts the clock later, so the lease never ends before this.
      const lease: BucketLease = { id, expiresAt: started + granted * 1000, attached: 0 }
      this.#buckets.set(ttl, lease)
      return lease
    })()
    this.#granting.set(ttl, p)
    try {
      return await p
    } finally {
      this.#granting.delete(ttl)
    }
  }

  /** etcd no longer has this lease (revoked by someone, or lost): never hand it out again. */
  forget (id: string): void {
    for (const [ttl, lease] of this.#buckets) if (lease.id === id) this.#buckets.delete(ttl)
  }

  /** The write TTL of a lease when known without asking etcd. */
  known (id: string): number | undefined {
    return this.#ttls.get(id)
  }

  /** The write TTL of a lease, asking etcd once per lease; undefined when the lease is already gone. */
  async ttlOf (id: string): Promise<number | undefined> {
    const hit = this.#ttls.get(id)
    if (hit !== undefined) return hit
    let p = this.#lookups.get(id)
    if (p === undefined) {
      p = (async () => {
        const granted = await this.#rpc.grantedTtl(id)
        if (granted <= 0) return undefined
        const ttl = ttlFromGranted(granted)
        this.#remember(id, ttl)
        return ttl
      })()
      this.#lookups.set(id, p)
      p.finally(() => this.#lookups.delete(id)).catch(() => {})
    }
    return await p
  }

  #remember (id: string, ttl: number): void {
    if (this.#ttls.size >= TTL_CACHE_SIZE) {
      const oldest = this.#ttls.keys().next().value
      if (oldest !== undefined) this.#ttls.delete(oldest)
    }
    this.#ttls.set(id, ttl)
  }
}
