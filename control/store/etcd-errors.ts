/**
 * Every failure of an etcd request becomes a StoreError (STYLE.md 6: no bare
 * Error leaves a public path). A failed call is a GrpcError (etcd-rpc.ts) with
 * the gRPC status code, and etcd's own reason as the message ("etcdserver:
 * mvcc: required revision has been compacted"), so both are looked at.
 */
import { GrpcCode, GrpcError } from './etcd-rpc.js'
import { StoreError } from './errors.js'
import type { StoreErrorCode } from './errors.js'

/** etcd's reasons (server/etcdserver/api/v3rpc/rpctypes/error.go) that decide the code, by the text etcd sends. */
const REASONS: ReadonlyArray<[RegExp, StoreErrorCode]> = [
  [/required revision has been compacted/, 'CTRL_ERR_STORE_COMPACTED'],
  [/required revision is a future revision/, 'CTRL_ERR_STORE_FUTURE_REVISION'],
  // Too big for etcd (--max-request-bytes) or for gRPC's message limit, too many ops, an empty key.
  [/request is too large|larger than max|too many operations in txn|key is not provided|value is not provided/, 'CTRL_ERR_STORE_INVALID']
]

/**
 * The StoreError for a failed etcd request. `what` names the operation
 * ("create /registry/pods/a/b"). Anything not recognised as the caller's
 * fault or a revision problem is UNAVAILABLE: the store cannot serve it now
 * (unreachable, timed out, no leader, out of space, not allowed), and a later
 * try may work.
 */
export function toStoreError (err: unknown, what: string): StoreError {
  if (err instanceof StoreError) return err
  const message = err instanceof Error ? err.message : String(err)
  for (const [re, code] of REASONS) {
    if (re.test(message)) return new StoreError(code, `etcd: ${what}: ${message}`, { cause: err })
  }
  const code = err instanceof GrpcError ? err.code : GrpcCode.UNKNOWN
  if (code === GrpcCode.INVALID_ARGUMENT) return new StoreError('CTRL_ERR_STORE_INVALID', `etcd: ${what}: ${message}`, { cause: err })
  const why = code === GrpcCode.DEADLINE_EXCEEDED ? 'no answer in time' : /the client is closed/.test(message) ? 'the client is closed' : 'etcd cannot serve it'
  return new StoreError('CTRL_ERR_STORE_UNAVAILABLE', `etcd: ${what}: ${why} (${message})`, { cause: err })
}

/**
 * TLS refusals that another try will not change: etcd refused our client
 * certificate (or wanted one), or we refused etcd's. Retrying them until the
 * deadline would only hide the reason behind a timeout.
 */
const TLS_REFUSED = /alert (bad certificate|unknown ca|certificate required|certificate unknown|unsupported certificate|certificate revoked|certificate expired|access denied)|self[- ]signed certificate|unable to (verify|get local issuer)|certificate has expired|Hostname\/IP does not match|ERR_TLS_CERT|wrong version number/

/** etcd refused before doing anything: no leader yet, or too busy (both leave nothing behind). */
const NOT_APPLIED = /etcdserver: (no leader|too many requests|not capable)/

/**
 * Whether a failed request may be sent again within its deadline.
 *
 * Reads are idempotent: any transport failure or transient etcd refusal is
 * retried. Writes are retried only when etcd certainly did not apply them:
 * gRPC never had a connection to send them on ("No connection established"),
 * or etcd refused them up front. A write that timed out or whose connection
 * dropped may have been applied, and sending it again would turn a success
 * into EXISTS or CONFLICT against our own write: it fails UNAVAILABLE and the
 * caller decides (kube-apiserver returns a timeout and clients retry with a
 * fresh read), as etcd's Go client does for mutations.
 */
export function isRetriable (err: unknown, write: boolean): boolean {
  if (err instanceof StoreError) return false
  const message = err instanceof Error ? err.message : String(err)
  if (TLS_REFUSED.test(message)) return false
  if (NOT_APPLIED.test(message)) return true
  if (err instanceof GrpcError && err.notSent) return true
  if (write) return false
  if (/etcdserver: (leader changed|request timed out)/.test(message)) return true
  if (!(err instanceof GrpcError)) return false
  const c = err.code
  return c === GrpcCode.UNAVAILABLE || c === GrpcCode.INTERNAL || c === GrpcCode.UNKNOWN || c === GrpcCode.CANCELLED ||
    (c === GrpcCode.RESOURCE_EXHAUSTED && !/larger than max/.test(message))
}

/**
 * Whether the endpoint a request went to looks unable to serve (unreachable,
 * silent, or cut off from the cluster's leader), so the next request had
 * better go to another member.
 */
export function isEndpointFailure (err: unknown): boolean {
  if (err instanceof StoreError) return err.code === 'CTRL_ERR_STORE_UNAVAILABLE'
  const message = err instanceof Error ? err.message : String(err)
  const code = err instanceof GrpcError ? err.code : undefined
  return code === GrpcCode.UNAVAILABLE || code === GrpcCode.DEADLINE_EXCEEDED || NOT_APPLIED.test(message) ||
    /etcdserver: (leader changed|request timed out)/.test(message)
}
