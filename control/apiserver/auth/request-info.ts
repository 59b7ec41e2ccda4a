/**
 * Request ⇒ authorization attributes, as kube-apiserver's RequestInfoFactory
 * (staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go) derives
 * them, so that a rule means the same here as in RBAC:
 *
 *   /api/{version}/...                 core group ('' API group)
 *   /apis/{group}/{version}/...        named groups
 *   .../namespaces/{ns}/{resource}[/{name}[/{subresource}]]
 *   .../{resource}[/{name}[/{subresource}]]
 *   /api/v1/namespaces/{ns}[/status|/finalize]   the namespace itself (resource "namespaces", name ns)
 *   .../watch/...                      the legacy watch prefix ⇒ verb watch
 *
 * Verbs: POST create, GET/HEAD get, PUT update, PATCH patch, DELETE delete; a
 * GET without a name is list, or watch when ?watch is set (anything but
 * "false"/"0"); a DELETE without a name is deletecollection; a list/watch with
 * fieldSelector=metadata.name=<n> carries name <n>. Shorter paths (/api,
 * /api/v1, /apis/apps/v1, /version, /healthz, /openapi/v2, ...) are
 * non-resource requests: `nonResourcePath` is set and the verb is the method's
 * (GET/HEAD get, POST create, PUT update, PATCH patch, DELETE delete).
 *
 * Differences from upstream: the "proxy" special verb is not served (404),
 * an empty segment inside an API path ("//", a decoded "%2F") is refused (404),
 * and a method with no kube verb (OPTIONS, ...) is an error (405) instead of
 * the empty verb.
 */
import type { Verb } from '../resources.js'
import { AuthError } from './errors.js'

export type { Verb }

export interface RequestAttributes {
  verb: Verb
  /** '' for the core group and for non-resource requests. */
  apiGroup: string
  /** '' for non-resource requests. */
  resource: string
  subresource?: string
  namespace?: string
  name?: string
  /** Set exactly for non-resource requests: the URL path. */
  nonResourcePath?: string
  /** The API version of a resource request (informative; authorization ignores it). */
  apiVersion?: string
  /** For a pod create: the node a mirror pod (annotation kubernetes.io/config.mirror) is bound to. */
  mirrorPodNode?: string
}

export type Query = URLSearchParams | Record<string, string | readonly string[] | undefined>

function firstValue (query: Query | undefined, key: string): string | undefined {
  if (query === undefined) return undefined
  if (query instanceof URLSearchParams) return query.get(key) ?? undefined
  const v = query[key]
  if (v === undefined) return undefined
  return typeof v === 'string' ? v : v[0]
}

const methodVerb: Readonly<Record<string, Verb>> = {
  POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete'
}

/** What upstream's path.IsValidPathSegmentName accepts: not "." or "..", no "/" or "%". */
const validPathSegmentName = (s: string): boolean => s !== '.' && s !== '..' && !s.includes('/') && !s.includes('%')

/** The name a field selector pins with metadata.name=<n> or metadata.name==<n> (unescaped selectors only). */
export function fieldSelectorName (selector: string | undefined): string | undefined {
  if (selector === undefined || selector.includes('\\')) return undefined
  for (const term of selector.split(',')) {
    const m = /^\s*metadata\.name\s*==?\s*(.*?)\s*$/.exec(term)
    if (m !== null) return m[1]
  }
  return undefined
}

/**
 * Maps a request to authorization attributes. `url` may carry the query string;
 * `query` (parsed, e.g. fastify's request.query) takes precedence over it.
 * Throws CTRL_ERR_AUTH_REQUEST with httpStatus 400 (undecodable path, /watch
 * without a resource), 404 (/proxy) or 405 (method without a kube verb).
 *
 * For create, the name is in the body, not the URL: the server must set
 * `attrs.name` from the object's metadata.name before authorizing (the node
 * rules need it, as upstream's NodeRestriction reads it from the object).
 */
export function requestAttributes (method: string, url: string, query?: Query): RequestAttributes {
  const q = url.indexOf('?')
  const rawPath = q >= 0 ? url.slice(0, q) : url
  const params = query ?? (q >= 0 ? new URLSearchParams(url.slice(q + 1)) : undefined)
  let path: string
  try {
    path = decodeURIComponent(rawPath)
  } catch (err) {
    throw new AuthError('CTRL_ERR_AUTH_REQUEST', `malformed URL path ${JSON.stringify(rawPath)}`, { httpStatus: 400, cause: err })
  }
  const upper = method.toUpperCase()
  const baseVerb = methodVerb[upper]
  if (baseVerb === undefined) {
    throw new AuthError('CTRL_ERR_AUTH_REQUEST', `method ${method} is not supported`, { httpStatus: 405 })
  }
  const nonResource = (): RequestAttributes => ({ verb: baseVerb, apiGroup: '', resource: '', nonResourcePath: path })

  const trimmed = path.replace(/^\/+|\/+$/g, '')
  let parts = trimmed === '' ? [] : trimmed.split('/')
  if (parts.length < 3) return nonResource()
  const prefix = parts[0]
  if (prefix !== 'api' && prefix !== 'apis') return nonResource()
  parts = parts.slice(1)
  let apiGroup = ''
  if (prefix === 'apis') {
    if (parts.length < 3) return nonResource()
    apiGroup = parts[0] as string
    parts = parts.slice(1)
  }
  // Upstream would read an empty segment ("/api/v1/namespaces//pods", or a
  // decoded "%2F") as an empty namespace, name or resource; no such object
  // exists, so refuse it here rather than authorize a half-empty request.
  if (parts.includes('')) throw new AuthError('CTRL_ERR_AUTH_REQUEST', `empty path segment in ${JSON.stringify(path)}`, { httpStatus: 404 })
  const apiVersion = parts[0] as string
  parts = parts.slice(1)

  let verb: Verb = baseVerb
  if (parts[0] === 'watch' || parts[0] === 'proxy') {
    if (parts[0] === 'proxy') throw new AuthError('CTRL_ERR_AUTH_REQUEST', `the proxy verb is not served: ${path}`, { httpStatus: 404 })
    if (parts.length < 2) {
      throw new AuthError('CTRL_ERR_AUTH_REQUEST', `unable to determine kind and namespace from url ${url}`, { httpStatus: 400 })
    }
    verb = 'watch'
    parts = parts.slice(1)
  }

  let namespace: string | undefined
  if (parts[0] === 'namespaces' && parts.length > 1) {
    namespace = parts[1] as string
    // /namespaces/{ns}/{resource}/...: relative to the resource, unless the third
    // segment is one of the namespace's own subresources (status, finalize).
    if (parts.length > 2 && parts[2] !== 'status' && parts[2] !== 'finalize') parts = parts.slice(2)
  }

  const attrs: RequestAttributes = { verb, apiGroup, resource: parts[0] as string, apiVersion }
  if (namespace !== undefined) attrs.namespace = namespace
  if (parts.length >= 2) attrs.name = parts[1] as string
  if (parts.length >= 3) attrs.subresource = parts[2] as string

  if (attrs.name === undefined && attrs.verb === 'get') {
    const watch = firstValue(params, 'watch')
    attrs.verb = watch !== undefined && !['false', '0'].includes(watch.toLowerCase()) ? 'watch' : 'list'
    const pinned = fieldSelectorName(firstValue(params, 'fieldSelector'))
    if (pinned !== undefined && pinned !== '' && validPathSegmentName(pinned)) attrs.name = pinned
  }
  if (attrs.name === undefined && attrs.verb === 'delete') attrs.verb = 'deletecollection'
  return attrs
}
