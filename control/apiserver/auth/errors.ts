/**
 * Errors of the API server's security layer (PKI, tokens, authorization,
 * kubeconfig) with stable codes, documented in docs/errors.md ("API server auth
 * errors"). Unauthorized and Forbidden are not errors here: authentication
 * returns `undefined` and authorization a `{ allowed: false, reason }` decision.
 */

const kAuthError = Symbol.for('weft.AuthError')

export const authErrorCodes = {
  CTRL_ERR_AUTH_PKI_CORRUPT: 'a file under <dataDir>/pki is unreadable, unparseable or does not match its pair',
  CTRL_ERR_AUTH_CA_EXPIRED: 'the CA certificate has expired or is not yet valid',
  CTRL_ERR_AUTH_IO: 'a credential file could not be written',
  CTRL_ERR_AUTH_TOKEN_FILE: 'the token file is unreadable or malformed',
  CTRL_ERR_AUTH_KUBECONFIG: 'the kubeconfig is unreadable, malformed or incomplete',
  CTRL_ERR_AUTH_REQUEST: 'the request URL or method cannot be mapped to authorization attributes',
  CTRL_ERR_AUTH_LOOKUP: 'an object lookup needed for an authorization decision failed',
  CTRL_ERR_AUTH_INVALID: 'invalid argument'
} as const

export type AuthErrorCode = keyof typeof authErrorCodes

export class AuthError extends Error {
  readonly code: AuthErrorCode
  /** The file the error is about, when there is one. */
  readonly path: string | undefined
  /** For CTRL_ERR_AUTH_REQUEST: the HTTP status the server should answer (400 or 405). */
  readonly httpStatus: number | undefined
  constructor (code: AuthErrorCode, message: string, extra?: { path?: string, httpStatus?: number, cause?: unknown }) {
    super(message, extra?.cause !== undefined ? { cause: extra.cause } : undefined)
    this.name = 'AuthError'
    this.code = code
    this.path = extra?.path
    this.httpStatus = extra?.httpStatus
  }

  get [kAuthError] (): true { return true }
  static override [Symbol.hasInstance] (v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kAuthError] === true
  }
}
