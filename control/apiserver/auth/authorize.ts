/**
 * Weft's authorizer: three fixed roles chosen by group, as a pure function of
 * (user, attributes) plus one lookup the caller provides.
 *
 * | group            | may                                                                          |
 * |------------------|------------------------------------------------------------------------------|
 * | system:masters   | everything                                                                   |
 * | system:nodes     | what a kubelet needs, for its own node only (user system:node:<nodeName>);   |
 * |                  | upstream's Node authorizer + NodeRestriction admission, simplified           |
 * | weft:read-only   | get/list/watch every resource except secrets (and exec/attach/portforward/   |
 * |                  | proxy subresources, as upstream's "view"); GET on every non-resource path     |
 * | (authenticated)  | GET /version, /healthz, /livez, /readyz, /api*, /apis*, /openapi*            |
 *
 * A user in several groups gets the union. Everything else is denied with a
 * reason. Anonymous users never get here (authentication refuses them first).
 */
import type { RequestAttributes } from './request-info.js'
import { GROUP_MASTERS, GROUP_NODES, GROUP_READ_ONLY, NODE_USER_PREFIX } from './tokens.js'
import { AuthError } from './errors.js'

export interface Decision {
  allowed: boolean
  /** Why: the rule that allowed, or what is missing (goes after ": " in the 403 message). */
  reason: string
}

export type MaybePromise<T> = T | Promise<T>

export interface AuthorizeLookups {
  /**
   * spec.nodeName of pod namespace/name ('' when unscheduled), undefined when
   * there is no such pod. Called only for a node's pods/status writes and pod
   * deletes. May be sync (an in-memory cache) or async (a store read); a throw
   * or rejection becomes CTRL_ERR_AUTH_LOOKUP (answer 500, as upstream does
   * for authorizer errors).
   */
  podNodeName?: (namespace: string, name: string) => MaybePromise<string | undefined>
}

export const NODE_LEASE_NAMESPACE = 'kube-node-lease'

/**
 * What authorize reads of the user: looser than UserInfo (uid optional) so a
 * server's own user type fits.
 */
export interface Subject { name: string, groups: readonly string[], uid?: string | undefined }

/**
 * What authorize reads of a request: RequestAttributes with any verb string, so
 * attributes from another RequestInfo implementation fit. A verb outside the
 * eight kube verbs is allowed to system:masters only.
 */
export type AuthorizationAttributes = Omit<RequestAttributes, 'verb' | 'apiVersion'> & { verb: string }

/** Non-resource paths any authenticated user may GET (upstream's system:discovery + system:public-info-viewer). */
export function isPublicPath (p: string): boolean {
  if (['/version', '/version/', '/healthz', '/livez', '/readyz', '/api', '/apis', '/openapi'].includes(p)) return true
  return p.startsWith('/api/') || p.startsWith('/apis/') || p.startsWith('/openapi/')
}

const allow = (reason: string): Decision => ({ allowed: true, reason })
const deny = (reason: string): Decision => ({ allowed: false, reason })
const isRead = (verb: string): boolean => verb === 'get' || verb === 'list' || verb === 'watch'
const isWrite = (verb: string): boolean => verb === 'create' || verb === 'update' || verb === 'patch'

/** The node a user is, per upstream's NodeIdentity: group system:nodes and name system:node:<name>. */
export function nodeIdentity (user: Subject): { isNode: false } | { isNode: true, nodeName: string } {
  if (!user.groups.includes(GROUP_NODES) || !user.name.startsWith(NODE_USER_PREFIX)) return { isNode: false }
  return { isNode: true, nodeName: user.name.slice(NODE_USER_PREFIX.length) }
}

function readOnlyRule (attrs: AuthorizationAttributes): Decision {
  if (attrs.nonResourcePath !== undefined) {
    return attrs.verb === 'get' ? allow(`${GROUP_READ_ONLY} may GET non-resource paths`) : deny(`${GROUP_READ_ONLY} may only GET non-resource paths`)
  }
  if (!isRead(attrs.verb)) return deny(`${GROUP_READ_ONLY} may only get, list and watch`)
  if (attrs.apiGroup === '' && attrs.resource === 'secrets') return deny(`${GROUP_READ_ONLY} may not read secrets`)
  if (attrs.subresource !== undefined && ['exec', 'attach', 'portforward', 'proxy'].includes(attrs.subresource)) {
    return deny(`${GROUP_READ_ONLY} may not use ${attrs.resource}/${attrs.subresource}`)
  }
  return allow(`${GROUP_READ_ONLY} may ${attrs.verb} ${attrs.resource}`)
}

/** Resources (API group, resource) a node may get/list/watch, whole or their status. */
const nodeReadable: ReadonlyArray<readonly [string, string]> = [
  ['', 'nodes'], ['', 'pods'], ['', 'services'], ['', 'endpoints'], ['', 'namespaces'], ['', 'configmaps'], ['', 'secrets'],
  ['discovery.k8s.io', 'endpointslices']
]

function nodeRule (nodeName: string, attrs: AuthorizationAttributes, lookups: AuthorizeLookups): MaybePromise<Decision> {
  const node = JSON.stringify(nodeName)
  const { verb, apiGroup: g, resource: r, subresource: sub, name } = attrs
  if (nodeName === '') return deny(`unknown node for user "${NODE_USER_PREFIX}"`)
  if (attrs.nonResourcePath !== undefined) return deny(`nodes may not ${verb} ${attrs.nonResourcePath}`)

  if (isRead(verb) && (sub === undefined || sub === 'status') && nodeReadable.some(([rg, rr]) => rg === g && rr === r)) {
    return allow(`nodes may ${verb} ${r}`)
  }
  if (g === '' && r === 'nodes' && isWrite(verb) && (sub === undefined || sub === 'status')) {
    if (name === undefined) return deny(`node ${node} must name the node it ${verb === 'create' ? 'creates' : 'modifies'}`)
    return name === nodeName ? allow(`node ${node} may ${verb} its own Node`) : deny(`node ${node} is not allowed to modify node ${JSON.stringify(name)}`)
  }
  if (g === 'coordination.k8s.io' && r === 'leases' && sub === undefined && (verb === 'get' || isWrite(verb))) {
    if (attrs.namespace !== NODE_LEASE_NAMESPACE) return deny(`can only access leases in the "${NODE_LEASE_NAMESPACE}" system namespace`)
    if (name !== nodeName) return deny('can only access node lease with the same name as the requesting node')
    return allow(`node ${node} may ${verb} its own Lease`)
  }
  if (g === '' && r === 'events' && sub === undefined && (verb === 'create' || verb === 'patch')) return allow(`nodes may ${verb} events`)
  if (g === 'events.k8s.io' && r === 'events' && sub === undefined && (verb === 'create' || verb === 'patch')) return allow(`nodes may ${verb} events`)

  // NodeRestriction: a node may create mirror pods of its static pods, bound to itself.
  if (g === '' && r === 'pods' && sub === undefined && verb === 'create') {
    const mirror = (attrs as { mirrorPodNode?: string }).mirrorPodNode
    if (mirror === undefined) return deny(`node ${node} can only create mirror pods (annotation kubernetes.io/config.mirror)`)
    return mirror === nodeName ? allow(`node ${node} may create mirror pods bound to itself`) : deny(`node ${node} can only create mirror pods bound to itself`)
  }
  const podStatus = g === '' && r === 'pods' && sub === 'status' && (verb === 'update' || verb === 'patch')
  const podDelete = g === '' && r === 'pods' && sub === undefined && verb === 'delete'
  if (podStatus || podDelete) {
    const refusal = podStatus
      ? `node ${node} can only update pod status for pods with spec.nodeName set to itself`
      : `node ${node} can only delete pods with spec.nodeName set to itself`
    if (name === undefined || attrs.namespace === undefined) return deny(refusal)
    if (lookups.podNodeName === undefined) return deny(`${refusal} (no pod lookup is configured)`)
    const pod = `${attrs.namespace}/${name}`
    const decide = (bound: string | undefined): Decision => {
      if (bound === undefined) return deny(`${refusal}: pod ${JSON.stringify(pod)} not found`)
      return bound === nodeName ? allow(`pod ${JSON.stringify(pod)} is bound to node ${node}`) : deny(refusal)
    }
    const failed = (err: unknown): never => {
      if (err instanceof AuthError) throw err
      throw new AuthError('CTRL_ERR_AUTH_LOOKUP', `looking up the node of pod ${JSON.stringify(pod)}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
    }
    let bound: MaybePromise<string | undefined>
    try {
      bound = lookups.podNodeName(attrs.namespace, name)
    } catch (err) {
      return failed(err)
    }
    return bound instanceof Promise ? bound.then(decide, failed) : decide(bound)
  }
  const what = sub === undefined ? r : `${r}/${sub}`
  return deny(`no rule allows nodes to ${verb} ${JSON.stringify(what)} in API group ${JSON.stringify(g)}`)
}

/**
 * Decides one request. Synchronous unless a node's pod write needs an async
 * podNodeName lookup: `await` the result. Throws (or rejects with)
 * CTRL_ERR_AUTH_LOOKUP only when the lookup itself fails.
 */
export function authorize (user: Subject, attrs: AuthorizationAttributes, lookups: AuthorizeLookups = {}): MaybePromise<Decision> {
  if (user.groups.includes(GROUP_MASTERS)) return allow(`${GROUP_MASTERS} may do anything`)
  const denials: string[] = []

  if (attrs.nonResourcePath !== undefined) {
    if (attrs.verb === 'get' && isPublicPath(attrs.nonResourcePath)) return allow(`any authenticated user may GET ${attrs.nonResourcePath}`)
    if (attrs.nonResourcePath === '/metrics' && !user.groups.includes(GROUP_READ_ONLY)) {
      return deny(`/metrics is readable only by ${GROUP_MASTERS} and ${GROUP_READ_ONLY}`)
    }
  }
  if (user.groups.includes(GROUP_READ_ONLY)) {
    const d = readOnlyRule(attrs)
    if (d.allowed) return d
    denials.push(d.reason)
  }
  const id = nodeIdentity(user)
  if (user.groups.includes(GROUP_NODES) && !id.isNode) denials.push(`unknown node for user ${JSON.stringify(user.name)}`)
  if (id.isNode) {
    const d = nodeRule(id.nodeName, attrs, lookups)
    if (d instanceof Promise) return d.then((r) => r.allowed || denials.length === 0 ? r : deny([...denials, r.reason].join('; ')))
    if (d.allowed) return d
    denials.push(d.reason)
  }
  if (denials.length === 0) {
    denials.push(attrs.nonResourcePath !== undefined
      ? `only ${GROUP_MASTERS} and ${GROUP_READ_ONLY} may ${attrs.verb} ${attrs.nonResourcePath}`
      : `user ${JSON.stringify(user.name)} is in none of the groups ${GROUP_MASTERS}, ${GROUP_NODES}, ${GROUP_READ_ONLY}`)
  }
  return deny(denials.join('; '))
}
