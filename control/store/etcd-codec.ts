/**
 * Pure mappings between the Store contract and etcd's wire shapes: keys and
 * ranges (with the optional `--etcd-prefix`), key-values, and the TTL of a
 * shared lease. No I/O here, so all of it is unit-tested without an etcd.
 */
import type { KeyValue as EtcdKeyValue } from './etcd-proto.js'
import type { KeyValue } from './types.js'

/** etcd's "every key >= start" range end, and the smallest key there is (etcd refuses an empty one). */
const ZERO = Buffer.from([0])

/**
 * The key space of one store: every key is `prefix + key` in etcd, and keys
 * read back have the prefix stripped. With no prefix, keys are stored exactly
 * as given, so data written by one Weft apiserver is where another (or a
 * kube-apiserver with the same `--etcd-prefix`) looks for it.
 */
export class KeySpace {
  readonly prefix: Buffer
  /** First key after every prefixed key; ZERO (no bound) without a prefix. */
  readonly #end: Buffer

  constructor (prefix: string) {
    this.prefix = Buffer.from(prefix, 'utf8')
    this.#end = prefix === '' ? ZERO : prefixEnd(this.prefix)
  }

  key (key: string): Buffer {
    const k = Buffer.from(key, 'utf8')
    return this.prefix.length === 0 ? k : Buffer.concat([this.prefix, k])
  }

  /** The store key of an etcd key this store wrote or read; only keys under the prefix ever reach here. */
  unkey (raw: Buffer): string {
    return raw.subarray(this.prefix.length).toString('utf8')
  }

  /**
   * An etcd range for the contract's [start, end): end '\0' is "every key >=
   * start", end '' is the single key `start` (both as etcd reads them), and an
   * empty start is the smallest key. With a prefix, "every key" stops at the
   * end of the prefix, so two prefixes never see each other's keys.
   */
  range (start: string, end: string): { key: Buffer, range_end?: Buffer } {
    if (end === '') return { key: this.key(start) }
    const key = start === '' ? (this.prefix.length === 0 ? ZERO : this.prefix) : this.key(start)
    return { key, range_end: end === '\0' ? this.#end : this.key(end) }
  }

  /** A key no store operation reads or writes, used for revision probes (a count of one key, at some revision). */
  probe (): Buffer {
    return this.prefix.length === 0 ? ZERO : this.prefix
  }
}

/** The first byte string after every string that starts with `prefix` (etcd's `GetPrefixRangeEnd`). */
export function prefixEnd (prefix: Uint8Array): Buffer {
  const end = Buffer.from(prefix)
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1
      return end.subarray(0, i + 1)
    }
  }
  // All 0xff: no upper bound.
  return ZERO
}

/** A number from an etcd field (numbers, or decimal strings for 64-bit IDs); revisions stay far below 2^53. */
export function num (s: string | number | null | undefined): number {
  return s === undefined || s === null ? 0 : Number(s)
}

/** A live key-value as the Store returns it; `ttlSeconds` is what the lease lookup found (undefined: no lease). */
export function toKeyValue (keys: KeySpace, kv: EtcdKeyValue, ttlSeconds: number | undefined): KeyValue {
  const out: KeyValue = {
    key: keys.unkey(kv.key),
    // A copy: the view into the response would keep the whole response (a 10k-object list) alive.
    value: new Uint8Array(kv.value),
    createRevision: num(kv.create_revision),
    modRevision: num(kv.mod_revision),
    version: num(kv.version)
  }
  if (ttlSeconds !== undefined) out.ttlSeconds = ttlSeconds
  return out
}

/** The lease ID of a key-value, undefined for none (etcd's '0'). */
export function leaseOf (kv: EtcdKeyValue): string | undefined {
  const id = String(kv.lease ?? '0')
  return id === '0' ? undefined : id
}

// ---- TTL leases ------------------------------------------------------------------------------------------------------

/**
 * kube-apiserver's lease manager (storage/etcd3/lease_manager.go): a write
 * with a TTL reuses the previous lease when that lease ends no earlier than the
 * write asks and at most `reuse` seconds later, so a key outlives its TTL by at
 * most 5 % (60 s at most) and never dies early. Each lease is granted for
 * `ttl + reuse` seconds, and serves at most 1000 keys.
 */
export const LEASE_REUSE_FRACTION = 0.05
export const LEASE_REUSE_MAX_SECONDS = 60
export const LEASE_MAX_KEYS = 1000

export function leaseReuseSeconds (ttl: number): number {
  return Math.min(Math.floor(ttl * LEASE_REUSE_FRACTION), LEASE_REUSE_MAX_SECONDS)
}

/** The TTL a lease for writes with `ttl` is granted with. */
export function grantTtl (ttl: number): number {
  return ttl + leaseReuseSeconds(ttl)
}

/**
 * The write TTL of a lease granted by another client with `granted` seconds,
 * inverting grantTtl (strictly increasing, so at most one ttl maps to it).
 * kube-apiserver grants with the same rule, so its keys read back right too.
 * A granted TTL outside grantTtl's image (etcd raised a TTL below its minimum,
 * or another rule) is returned as it is: the best bound there is.
 */
export function ttlFromGranted (granted: number): number {
  if (granted <= 0) return granted
  // grantTtl(t) is t plus something in [0, 60]: the answer lies in [granted - 60, granted].
  let lo = Math.max(1, granted - LEASE_REUSE_MAX_SECONDS)
  let hi = granted
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2)
    if (grantTtl(mid) < granted) lo = mid + 1
    else hi = mid
  }
  return grantTtl(lo) === granted ? lo : granted
}

/** The lease a TTL bucket holds: its ID, when it runs out (ms since the epoch, estimated from before the grant), and its keys. */
export interface BucketLease { id: string, expiresAt: number, attached: number }

/**
 * Whether a write at `now` with `ttl` may go on `lease`: the lease outlives
 * now + ttl (the key is not deleted early), by no more than the reuse margin,
 * and has room for one more key.
 */
export function canReuse (lease: BucketLease | undefined, ttl: number, now: number): boolean {
  if (lease === undefined) return false
  const want = now + ttl * 1000
  return want < lease.expiresAt && want + leaseReuseSeconds(ttl) * 1000 >= lease.expiresAt && lease.attached < LEASE_MAX_KEYS
}
