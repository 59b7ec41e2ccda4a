/**
 * CNI errors: one registry, stable string codes, and the spec's numeric code
 * each one is reported with. docs/errors.md is checked against this table.
 *
 * 0-99 are the spec's well-known codes; 100 and up are Weft's own.
 */
const kCniError = Symbol.for('weft.CniError')

export const cniErrorCodes = {
  CNI_ERR_INCOMPATIBLE_VERSION: 1,
  CNI_ERR_UNSUPPORTED_FIELD: 2,
  CNI_ERR_UNKNOWN_CONTAINER: 3,
  CNI_ERR_INVALID_ENV: 4,
  CNI_ERR_IO: 5,
  CNI_ERR_DECODE: 6,
  CNI_ERR_INVALID_CONFIG: 7,
  CNI_ERR_INVALID_NETNS: 8,
  CNI_ERR_TRY_AGAIN: 11,
  CNI_ERR_NOT_AVAILABLE: 50,
  CNI_ERR_LIMITED_CONNECTIVITY: 51,
  CNI_ERR_INTERNAL: 100,
  CNI_ERR_KERNEL: 101,
  CNI_ERR_LINK_EXISTS: 102,
  CNI_ERR_NETNS_NOT_FOUND: 103,
  CNI_ERR_RANGE_EXHAUSTED: 104,
  CNI_ERR_IP_UNAVAILABLE: 105,
  CNI_ERR_DUPLICATE_ALLOCATION: 106,
  CNI_ERR_PLUGIN_NOT_FOUND: 107,
  CNI_ERR_DELEGATE: 108,
  CNI_ERR_IPTABLES: 109,
  CNI_ERR_CHECK_FAILED: 110,
  CNI_ERR_STORE: 111
} as const

export type CniErrorCode = keyof typeof cniErrorCodes

/** An error reported to the runtime as `{"cniVersion","code","msg","details"}` on stdout. */
export class CniError extends Error {
  readonly code: CniErrorCode
  readonly number: number
  readonly details: string
  constructor (code: CniErrorCode, msg: string, details = '', options?: { cause?: unknown, number?: number }) {
    super(msg, options?.cause !== undefined ? { cause: options.cause } : undefined)
    this.name = 'CniError'
    this.code = code
    // A delegate's own numeric code (e.g. the reference host-local's 999) is passed through unchanged.
    this.number = options?.number ?? cniErrorCodes[code]
    this.details = details
  }

  get [kCniError] (): true { return true }
  static override [Symbol.hasInstance] (v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kCniError] === true
  }
}

export function invalidConfig (msg: string, details = ''): CniError {
  return new CniError('CNI_ERR_INVALID_CONFIG', msg, details)
}
