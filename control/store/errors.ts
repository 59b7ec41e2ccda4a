/** Storage errors with stable codes (docs/errors.md, "Control-plane errors"). */
import type { KeyValue } from './types.js'

const kStoreError = Symbol.for('weft.StoreError')

export const storeErrorCodes = {
  CTRL_ERR_STORE_EXISTS: 'the key already exists',
  CTRL_ERR_STORE_NOT_FOUND: 'the key does not exist',
  CTRL_ERR_STORE_CONFLICT: 'the key was modified since the given revision',
  CTRL_ERR_STORE_COMPACTED: 'the requested revision has been compacted',
  CTRL_ERR_STORE_FUTURE_REVISION: 'the requested revision is newer than the store',
  CTRL_ERR_STORE_UNAVAILABLE: 'the store cannot be reached or has been closed',
  CTRL_ERR_STORE_CORRUPT: 'the on-disk data is damaged beyond the last durable write',
  CTRL_ERR_STORE_INVALID: 'invalid key, value or options'
} as const

export type StoreErrorCode = keyof typeof storeErrorCodes

export class StoreError extends Error {
  readonly code: StoreErrorCode
  /** For CONFLICT: the current value, so callers can retry without another read. */
  readonly current: KeyValue | undefined
  /** For COMPACTED: the oldest revision still available. */
  readonly compactedRevision: number | undefined
  constructor (code: StoreErrorCode, message: string, extra?: { current?: KeyValue, compactedRevision?: number, cause?: unknown }) {
    super(message, extra?.cause !== undefined ? { cause: extra.cause } : undefined)
    this.name = 'StoreError'
    this.code = code
    this.current = extra?.current
    this.compactedRevision = extra?.compactedRevision
  }

  get [kStoreError] (): true { return true }
  static override [Symbol.hasInstance] (v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kStoreError] === true
  }
}
