/**
 * Errors of the BGP speaker (`weft bgpd`, `weft bgp ...`), with stable codes listed in docs/errors.md
 * ("BGP speaker errors", checked by errors.test.ts). Wire errors are the codec's `BgpMessageError`
 * (docs/bgp-codec.md); these are the daemon's own.
 */
const kBgpdError = Symbol.for('weft.BgpdError')

export const bgpdErrorCodes = {
  /** The configuration file is missing, does not parse, or breaks a rule (the message names the key). */
  BGPD_ERR_CONFIG: 'invalid bgpd configuration',
  /** The BGP listener could not be bound. */
  BGPD_ERR_LISTEN: 'the BGP listener could not be bound',
  /** A management request names no such peer or prefix, or is invalid. */
  BGPD_ERR_REQUEST: 'invalid management request',
  /** The CLI found no running bgpd (no API socket) or the daemon answered an error. */
  BGPD_ERR_DAEMON: 'no bgpd to talk to',
  /** Installing or removing a kernel route failed (logged; the next reconcile retries). */
  BGPD_ERR_FIB: 'the FIB could not be programmed'
} as const

export type BgpdErrorCode = keyof typeof bgpdErrorCodes

export class BgpdError extends Error {
  readonly code: BgpdErrorCode
  constructor (code: BgpdErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined)
    this.name = 'BgpdError'
    this.code = code
  }

  get [kBgpdError] (): true { return true }
  static override [Symbol.hasInstance] (v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kBgpdError] === true
  }
}
