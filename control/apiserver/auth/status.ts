/**
 * The 401 and 403 bodies kube-apiserver sends (metav1.Status), with its
 * message wording (responsewriters.forbiddenMessage and apierrors.NewForbidden),
 * so that kubectl prints the familiar
 *   Error from server (Forbidden): pods "x" is forbidden: User "u" cannot get resource "pods" in API group "" in the namespace "ns": <reason>
 */
import type { AuthorizationAttributes } from './authorize.js'

export interface StatusBody {
  kind: 'Status'
  apiVersion: 'v1'
  metadata: Record<string, never>
  status: 'Failure'
  message: string
  reason: 'Unauthorized' | 'Forbidden'
  details?: { name?: string, group?: string, kind?: string }
  code: 401 | 403
}

/** 401: no, unknown or malformed credentials. */
export function unauthorizedStatus (): StatusBody {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 }
}

/** `User "u" cannot <verb> resource "r/sub" in API group "g" in the namespace "ns"` (or `at the cluster scope`, or `path "/p"`). */
export function forbiddenMessage (userName: string, attrs: AuthorizationAttributes): string {
  if (attrs.nonResourcePath !== undefined) return `User ${JSON.stringify(userName)} cannot ${attrs.verb} path ${JSON.stringify(attrs.nonResourcePath)}`
  const resource = attrs.subresource !== undefined ? `${attrs.resource}/${attrs.subresource}` : attrs.resource
  const where = attrs.namespace !== undefined && attrs.namespace !== ''
    ? `in the namespace ${JSON.stringify(attrs.namespace)}`
    : 'at the cluster scope'
  return `User ${JSON.stringify(userName)} cannot ${attrs.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(attrs.apiGroup)} ${where}`
}

/** 403 for a denied decision: message, reason Forbidden and details as upstream's NewForbidden builds them. */
export function forbiddenStatus (userName: string, attrs: AuthorizationAttributes, reason: string): StatusBody {
  const msg = forbiddenMessage(userName, attrs)
  const err = reason === '' ? msg : `${msg}: ${reason}`
  const details: NonNullable<StatusBody['details']> = {}
  let message: string
  if (attrs.nonResourcePath !== undefined || attrs.resource === '') {
    message = `forbidden: ${err}`
  } else {
    const qualified = attrs.apiGroup === '' ? attrs.resource : `${attrs.resource}.${attrs.apiGroup}`
    message = attrs.name !== undefined && attrs.name !== '' ? `${qualified} ${JSON.stringify(attrs.name)} is forbidden: ${err}` : `${qualified} is forbidden: ${err}`
    if (attrs.name !== undefined && attrs.name !== '') details.name = attrs.name
    if (attrs.apiGroup !== '') details.group = attrs.apiGroup
    details.kind = attrs.resource
  }
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'Forbidden', details, code: 403 }
}
