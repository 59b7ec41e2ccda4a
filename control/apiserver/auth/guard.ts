/**
 * The whole authn + authz step of a request in one call, for the server's
 * request hook: authenticate the bearer token (401), map the request to
 * attributes (400/404/405), authorize (403), or pass with the user and the
 * attributes. Lookup failures answer 500, as upstream does for authorizer
 * errors. The bodies are metav1.Status objects kubectl prints as it would
 * kube-apiserver's.
 *
 * Run it where the body is parsed (fastify: preHandler) and pass the object's
 * metadata.name as `createName` for POSTs: the node rules check the name of
 * the Node or Lease a kubelet creates.
 */
import type { AuthorizeLookups } from './authorize.js'
import { authorize } from './authorize.js'
import { AuthError } from './errors.js'
import type { Query, RequestAttributes } from './request-info.js'
import { requestAttributes } from './request-info.js'
import { forbiddenStatus, unauthorizedStatus } from './status.js'
import type { TokenAuthenticator, UserInfo } from './tokens.js'

export interface GuardRequest {
  method: string
  /** Path with or without the query string. */
  url: string
  /** The Authorization header. */
  authorization?: string | undefined
  /** Parsed query (optional: else taken from url). */
  query?: Query
  /** For create: metadata.name of the object in the body. */
  createName?: string | undefined
  /** For a pod create: spec.nodeName when the body is a mirror pod (annotation kubernetes.io/config.mirror). */
  createMirrorPodNode?: string | undefined
}

export interface StatusFailure {
  kind: 'Status'
  apiVersion: 'v1'
  metadata: Record<string, never>
  status: 'Failure'
  message: string
  reason: string
  details?: Record<string, string>
  code: number
}

export type GuardResult =
  | { allowed: true, user: UserInfo, attrs: RequestAttributes, reason: string }
  | { allowed: false, httpStatus: number, body: StatusFailure, user?: UserInfo, attrs?: RequestAttributes }

const reasons: Readonly<Record<number, string>> = { 400: 'BadRequest', 404: 'NotFound', 405: 'MethodNotAllowed', 500: 'InternalError' }

function failure (code: number, message: string): GuardResult {
  return {
    allowed: false,
    httpStatus: code,
    body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: reasons[code] ?? 'InternalError', code }
  }
}

export async function checkRequest (
  deps: { authenticator: Pick<TokenAuthenticator, 'authenticate'>, lookups?: AuthorizeLookups },
  req: GuardRequest
): Promise<GuardResult> {
  const user = deps.authenticator.authenticate(req.authorization)
  if (user === undefined) return { allowed: false, httpStatus: 401, body: unauthorizedStatus() }
  let attrs: RequestAttributes
  try {
    attrs = requestAttributes(req.method, req.url, req.query)
  } catch (err) {
    if (err instanceof AuthError && err.code === 'CTRL_ERR_AUTH_REQUEST') return { ...failure(err.httpStatus ?? 400, err.message), user } as GuardResult
    throw err
  }
  if (attrs.verb === 'create' && attrs.name === undefined && req.createName !== undefined && req.createName !== '') attrs.name = req.createName
  if (attrs.verb === 'create' && req.createMirrorPodNode !== undefined && req.createMirrorPodNode !== '') attrs.mirrorPodNode = req.createMirrorPodNode
  try {
    const d = await authorize(user, attrs, deps.lookups)
    if (d.allowed) return { allowed: true, user, attrs, reason: d.reason }
    return { allowed: false, httpStatus: 403, body: forbiddenStatus(user.name, attrs, d.reason), user, attrs }
  } catch (err) {
    if (err instanceof AuthError && err.code === 'CTRL_ERR_AUTH_LOOKUP') {
      return { ...failure(500, `authorization failed: ${err.message}`), user, attrs } as GuardResult
    }
    throw err
  }
}
