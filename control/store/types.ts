/**
 * The storage contract of Weft's API server: the shape kube-apiserver itself
 * needs from etcd, and no more. Every backend (memory, the embedded file
 * store, etcd v3) implements it and passes one conformance suite
 * (control/store/conformance.ts).
 *
 * Semantics follow etcd's: one store-wide revision counter that every write
 * increments; each key remembers the revision that created it and the one
 * that last modified it; reads can be made at an older revision until that
 * revision is compacted; a watch delivers every change after a revision, in
 * order, with the previous value.
 */

export interface KeyValue {
  key: string
  /** The stored bytes (kube-apiserver stores JSON objects). */
  value: Uint8Array
  /** Revision of the write that created the key (it changes if the key is deleted and created again). */
  createRevision: number
  /** Revision of the last write to the key: the compare-and-swap token (Kubernetes' resourceVersion). */
  modRevision: number
  /** Writes since creation, 1 for a fresh key. */
  version: number
  /** Seconds to live given at the last write; the key is deleted when it runs out. Undefined: forever. */
  ttlSeconds?: number
}

export interface ListOptions {
  /** Keys >= start and < end (etcd's range). Use `prefixRange(p)` for a prefix. */
  end: string
  /** Read as of this revision (0 or undefined: the current one). Fails with CTRL_ERR_STORE_COMPACTED below the compacted revision. */
  revision?: number
  /** At most this many keys (0 or undefined: no limit); `more` says whether some were left. */
  limit?: number
  /** Count only; `kvs` is empty. */
  countOnly?: boolean
}

export interface ListResult {
  kvs: KeyValue[]
  /** The revision the read was made at. */
  revision: number
  /** Total matching keys (ignoring limit). */
  count: number
  more: boolean
}

export type WatchEvent =
  | { type: 'put', kv: KeyValue, prevKv: KeyValue | undefined }
  | { type: 'delete', kv: KeyValue, prevKv: KeyValue }

export interface WatchOptions {
  /** Keys >= start and < end. */
  end: string
  /**
   * Deliver every change with modRevision >= `fromRevision` (etcd semantics;
   * pass a list's revision + 1 to continue after it). Rejects with
   * CTRL_ERR_STORE_COMPACTED when that history is gone.
   */
  fromRevision: number
  signal: AbortSignal
  /** Called with events in revision order; a batch never splits one revision. */
  onEvents: (events: WatchEvent[]) => void
  /** Called when the store's revision moves past `rev` with nothing for this watch (for bookmarks). Optional. */
  onProgress?: (rev: number) => void
}

export interface Store {
  readonly kind: 'memory' | 'embedded' | 'etcd'
  /** The current revision. */
  revision (): Promise<number>
  get (key: string, opts?: { revision?: number }): Promise<KeyValue | undefined>
  list (start: string, opts: ListOptions): Promise<ListResult>
  /** Create `key` if absent. Rejects with CTRL_ERR_STORE_EXISTS when present. Resolves once durable. */
  create (key: string, value: Uint8Array, opts?: { ttlSeconds?: number }): Promise<KeyValue>
  /**
   * Replace `key` if its modRevision is `expectedModRevision`. Rejects with
   * CTRL_ERR_STORE_NOT_FOUND when absent, CTRL_ERR_STORE_CONFLICT (with the
   * current value) when the revision differs. Resolves once durable.
   */
  update (key: string, value: Uint8Array, expectedModRevision: number, opts?: { ttlSeconds?: number }): Promise<KeyValue>
  /**
   * Delete `key`, if `expectedModRevision` is given only when it matches.
   * Resolves with the deleted value. Rejects with NOT_FOUND / CONFLICT as update.
   */
  delete (key: string, expectedModRevision?: number): Promise<KeyValue>
  /** Runs until `signal` aborts (resolves) or the history is compacted (rejects CTRL_ERR_STORE_COMPACTED). */
  watch (start: string, opts: WatchOptions): Promise<void>
  /** Forget history before `revision`. */
  compact (revision: number): Promise<void>
  /** The oldest revision still readable. */
  compactedRevision (): Promise<number>
  close (): Promise<void>
}

/** The range [prefix, prefix+1) covering every key that starts with `prefix`. */
export function prefixRange (prefix: string): { start: string, end: string } {
  if (prefix === '') return { start: '', end: '\0' }
  const last = prefix.charCodeAt(prefix.length - 1)
  return { start: prefix, end: prefix.slice(0, -1) + String.fromCharCode(last + 1) }
}
