/**
 * API errors: each one is answered as a Kubernetes `Status` object with the
 * reason and HTTP code kube-apiserver uses (k8s.io/apimachinery/pkg/api/errors),
 * and carries a stable Weft code (docs/errors.md, "API server errors").
 */

const kApiError = Symbol.for('weft.ApiError')

export const apiErrorCodes = {
  CTRL_ERR_API_NOT_FOUND: { reason: 'NotFound', status: 404, what: 'the object, collection or path does not exist' },
  CTRL_ERR_API_ALREADY_EXISTS: { reason: 'AlreadyExists', status: 409, what: 'an object of that name already exists' },
  CTRL_ERR_API_CONFLICT: { reason: 'Conflict', status: 409, what: 'the object changed since the resourceVersion or precondition given' },
  CTRL_ERR_API_INVALID: { reason: 'Invalid', status: 422, what: 'the object fails validation; details.causes names each field' },
  CTRL_ERR_API_BAD_REQUEST: { reason: 'BadRequest', status: 400, what: 'malformed body, selector, query parameter or continue token' },
  CTRL_ERR_API_EXPIRED: { reason: 'Expired', status: 410, what: 'the resourceVersion or continue token is older than the retained history' },
  CTRL_ERR_API_UNSUPPORTED_MEDIA_TYPE: { reason: 'UnsupportedMediaType', status: 415, what: 'the body\'s Content-Type is not one the endpoint accepts' },
  CTRL_ERR_API_NOT_ACCEPTABLE: { reason: 'NotAcceptable', status: 406, what: 'no representation the client accepts (e.g. protobuf only)' },
  CTRL_ERR_API_METHOD_NOT_ALLOWED: { reason: 'MethodNotAllowed', status: 405, what: 'the verb is not served on this resource or subresource' },
  CTRL_ERR_API_TOO_LARGE: { reason: 'RequestEntityTooLarge', status: 413, what: 'the request body exceeds the limit (3 MiB, like kube-apiserver)' },
  CTRL_ERR_API_UNAUTHORIZED: { reason: 'Unauthorized', status: 401, what: 'no valid bearer token' },
  CTRL_ERR_API_FORBIDDEN: { reason: 'Forbidden', status: 403, what: 'the user may not do this, or the namespace is terminating' },
  CTRL_ERR_API_SERVICE_UNAVAILABLE: { reason: 'ServiceUnavailable', status: 503, what: 'the store is unavailable or an allocation range is full' },
  CTRL_ERR_API_INTERNAL: { reason: 'InternalError', status: 500, what: 'a bug: please report it with the server log line' }
} as const

export type ApiErrorCode = keyof typeof apiErrorCodes

export interface StatusCause { type?: string, message: string, field?: string }

export interface StatusDetails {
  name?: string
  group?: string
  kind?: string
  uid?: string
  causes?: StatusCause[]
  retryAfterSeconds?: number
}

export class ApiError extends Error {
  readonly code: ApiErrorCode
  readonly details: StatusDetails | undefined
  constructor (code: ApiErrorCode, message: string, details?: StatusDetails, cause?: unknown) {
    super(message, cause !== undefined ? { cause } : undefined)
    this.name = 'ApiError'
    this.code = code
    this.details = details
  }

  get status (): number { return apiErrorCodes[this.code].status }
  get reason (): string { return apiErrorCodes[this.code].reason }

  /** The Kubernetes Status object for the response body. */
  toStatus (): Record<string, unknown> {
    const s: Record<string, unknown> = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason
    }
    if (this.details !== undefined) s.details = this.details
    s.code = this.status
    return s
  }

  get [kApiError] (): true { return true }
  static override [Symbol.hasInstance] (v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kApiError] === true
  }
}

/** `pods "web"` / `deployments.apps "web"`: how kube-apiserver names a resource in messages. */
export function qualified (resource: string, group: string): string {
  return group === '' ? resource : `${resource}.${group}`
}

export const notFound = (resource: string, group: string, name: string): ApiError =>
  new ApiError('CTRL_ERR_API_NOT_FOUND', `${qualified(resource, group)} "${name}" not found`, { name, group, kind: resource })

export const alreadyExists = (resource: string, group: string, name: string): ApiError =>
  new ApiError('CTRL_ERR_API_ALREADY_EXISTS', `${qualified(resource, group)} "${name}" already exists`, { name, group, kind: resource })

export const conflict = (resource: string, group: string, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): ApiError =>
  new ApiError('CTRL_ERR_API_CONFLICT', `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": ${why}`, { name, group, kind: resource })

export const badRequest = (message: string): ApiError => new ApiError('CTRL_ERR_API_BAD_REQUEST', message)

/** 422 with one cause per field error, message as kube-apiserver's NewInvalid. */
export function invalid (kind: string, group: string, name: string, causes: StatusCause[]): ApiError {
  const list = causes.map((c) => `${c.field !== undefined ? `${c.field}: ` : ''}${c.message}`)
  const msg = `${kind} "${name}" is invalid: ${list.length === 1 ? list[0] as string : `[${list.join(', ')}]`}`
  return new ApiError('CTRL_ERR_API_INVALID', msg, { name, group, kind, causes })
}
