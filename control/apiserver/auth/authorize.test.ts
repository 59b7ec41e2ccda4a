import test from 'ava'
import { RESOURCES } from '../resources.js'
import type { Verb } from '../resources.js'
import { authorize, nodeIdentity } from './authorize.js'
import type { AuthorizeLookups, Decision } from './authorize.js'
import { AuthError } from './errors.js'
import { requestAttributes } from './request-info.js'
import type { RequestAttributes } from './request-info.js'
import type { UserInfo } from './tokens.js'

const admin: UserInfo = { name: 'admin', uid: '1', groups: ['system:masters', 'system:authenticated'] }
const viewer: UserInfo = { name: 'viewer', uid: '2', groups: ['weft:read-only', 'system:authenticated'] }
const plain: UserInfo = { name: 'alice', uid: '3', groups: ['system:authenticated'] }
const n1: UserInfo = { name: 'system:node:n1', uid: '4', groups: ['system:nodes', 'system:authenticated'] }

const pods: Record<string, string> = { 'ns/mine': 'n1', 'ns/theirs': 'n2', 'ns/pending': '' }
const syncLookup: AuthorizeLookups = { podNodeName: (ns, name) => pods[`${ns}/${name}`] }
const asyncLookup: AuthorizeLookups = { podNodeName: async (ns, name) => await Promise.resolve(pods[`${ns}/${name}`]) }

/** A request line as kubectl/kubelet would send it, with the body's name for creates. */
function req (method: string, url: string, createName?: string): RequestAttributes {
  const a = requestAttributes(method, url)
  if (createName !== undefined) a.name = createName
  return a
}

function sync (d: Decision | Promise<Decision>): Decision {
  if (d instanceof Promise) throw new Error('expected a synchronous decision')
  return d
}

test('system:masters may do anything, resource or not', (t) => {
  for (const a of [
    req('DELETE', '/api/v1/namespaces/ns/secrets'), req('GET', '/metrics'), req('POST', '/anything'),
    req('PATCH', '/api/v1/nodes/n9/status'), req('GET', '/api/v1/namespaces/ns/pods/p/exec')
  ]) {
    t.deepEqual(sync(authorize(admin, a)), { allowed: true, reason: 'system:masters may do anything' })
  }
})

test('any authenticated user may GET discovery, version, health and OpenAPI, nothing else', (t) => {
  for (const url of ['/version', '/version/', '/healthz', '/livez', '/readyz', '/api', '/api/v1', '/apis', '/apis/apps', '/apis/apps/v1', '/openapi/v2', '/openapi/v3/apis/apps/v1']) {
    t.true(sync(authorize(plain, req('GET', url))).allowed, url)
    t.true(sync(authorize(viewer, req('GET', url))).allowed, url)
    t.true(sync(authorize(n1, req('GET', url))).allowed, url)
  }
  for (const [method, url] of [['POST', '/api'], ['GET', '/metrics'], ['GET', '/debug/pprof/'], ['GET', '/healthz/etcd'], ['GET', '/logs']] as const) {
    t.false(sync(authorize(plain, req(method, url))).allowed, `${method} ${url}`)
  }
  t.is(sync(authorize(plain, req('GET', '/metrics'))).reason, '/metrics is readable only by system:masters and weft:read-only')
  t.is(sync(authorize(n1, req('GET', '/metrics'))).allowed, false)
  const d = sync(authorize(plain, req('GET', '/api/v1/pods')))
  t.deepEqual(d, { allowed: false, reason: 'user "alice" is in none of the groups system:masters, system:nodes, weft:read-only' })
})

test('weft:read-only may get, list and watch every served resource except secrets, and write none', (t) => {
  const reads: Verb[] = ['get', 'list', 'watch']
  const writes: Verb[] = ['create', 'update', 'patch', 'delete', 'deletecollection']
  let checked = 0
  for (const info of RESOURCES) {
    for (const verb of [...reads, ...writes]) {
      const a: RequestAttributes = { verb, apiGroup: info.group, resource: info.plural, ...(info.namespaced ? { namespace: 'ns' } : {}) }
      const d = sync(authorize(viewer, a))
      t.is(d.allowed, reads.includes(verb) && info.plural !== 'secrets', `${verb} ${info.plural}: ${d.reason}`)
      checked++
    }
  }
  t.is(checked, RESOURCES.length * 8)
  t.true(RESOURCES.some((r) => r.plural === 'secrets'), 'the table still serves secrets')
})

test('weft:read-only: subresources, /metrics and non-resource GETs', (t) => {
  t.true(sync(authorize(viewer, req('GET', '/api/v1/namespaces/ns/pods/p/log'))).allowed)
  t.true(sync(authorize(viewer, req('GET', '/apis/apps/v1/namespaces/ns/deployments/web/scale'))).allowed)
  t.deepEqual(sync(authorize(viewer, req('GET', '/api/v1/namespaces/ns/pods/p/exec'))), { allowed: false, reason: 'weft:read-only may not use pods/exec' })
  t.false(sync(authorize(viewer, req('POST', '/api/v1/namespaces/ns/pods/p/exec'))).allowed)
  t.deepEqual(sync(authorize(viewer, req('GET', '/api/v1/namespaces/ns/secrets/s'))), { allowed: false, reason: 'weft:read-only may not read secrets' })
  t.deepEqual(sync(authorize(viewer, req('PATCH', '/api/v1/namespaces/ns/pods/p'))), { allowed: false, reason: 'weft:read-only may only get, list and watch' })
  t.true(sync(authorize(viewer, req('GET', '/metrics'))).allowed)
  t.true(sync(authorize(viewer, req('GET', '/debug/pprof/'))).allowed)
  t.false(sync(authorize(viewer, req('POST', '/metrics'))).allowed)
})

const nodeRows: Array<{ name: string, a: RequestAttributes, allowed: boolean, reason?: string }> = [
  { name: 'list nodes', a: req('GET', '/api/v1/nodes'), allowed: true },
  { name: 'watch pods on all nodes', a: req('GET', '/api/v1/pods?watch=1'), allowed: true },
  { name: 'get another node', a: req('GET', '/api/v1/nodes/n2'), allowed: true },
  { name: 'list services', a: req('GET', '/api/v1/services'), allowed: true },
  { name: 'watch endpoints', a: req('GET', '/api/v1/namespaces/ns/endpoints?watch=true'), allowed: true },
  { name: 'list endpointslices', a: req('GET', '/apis/discovery.k8s.io/v1/endpointslices'), allowed: true },
  { name: 'get a namespace', a: req('GET', '/api/v1/namespaces/ns'), allowed: true },
  { name: 'get a configmap', a: req('GET', '/api/v1/namespaces/ns/configmaps/c'), allowed: true },
  { name: 'get a secret', a: req('GET', '/api/v1/namespaces/ns/secrets/s'), allowed: true },
  { name: 'get a pod status', a: req('GET', '/api/v1/namespaces/ns/pods/p/status'), allowed: true },
  { name: 'list deployments', a: req('GET', '/apis/apps/v1/deployments'), allowed: false, reason: 'no rule allows nodes to list "deployments" in API group "apps"' },
  { name: 'list secrets of the wrong group', a: req('GET', '/apis/example.com/v1/secrets'), allowed: false },
  { name: 'read pod logs', a: req('GET', '/api/v1/namespaces/ns/pods/p/log'), allowed: false, reason: 'no rule allows nodes to get "pods/log" in API group ""' },
  { name: 'create its own Node', a: req('POST', '/api/v1/nodes', 'n1'), allowed: true, reason: 'node "n1" may create its own Node' },
  { name: 'create another Node', a: req('POST', '/api/v1/nodes', 'n2'), allowed: false, reason: 'node "n1" is not allowed to modify node "n2"' },
  { name: 'create a Node without telling which', a: req('POST', '/api/v1/nodes'), allowed: false, reason: 'node "n1" must name the node it creates' },
  { name: 'patch its own Node', a: req('PATCH', '/api/v1/nodes/n1'), allowed: true },
  { name: 'update its own node status', a: req('PUT', '/api/v1/nodes/n1/status'), allowed: true },
  { name: 'patch another node status', a: req('PATCH', '/api/v1/nodes/n2/status'), allowed: false, reason: 'node "n1" is not allowed to modify node "n2"' },
  { name: 'delete its own Node', a: req('DELETE', '/api/v1/nodes/n1'), allowed: false },
  { name: 'get its own lease', a: req('GET', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1'), allowed: true },
  { name: 'create its own lease', a: req('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', 'n1'), allowed: true },
  { name: 'update its own lease', a: req('PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1'), allowed: true },
  { name: 'patch its own lease', a: req('PATCH', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1'), allowed: true },
  {
    name: 'update another node lease',
    a: req('PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n2'),
    allowed: false,
    reason: 'can only access node lease with the same name as the requesting node'
  },
  {
    name: 'a lease elsewhere',
    a: req('PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/n1'),
    allowed: false,
    reason: 'can only access leases in the "kube-node-lease" system namespace'
  },
  { name: 'list leases', a: req('GET', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases'), allowed: false },
  { name: 'delete its own lease', a: req('DELETE', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1'), allowed: false },
  { name: 'create an event', a: req('POST', '/api/v1/namespaces/ns/events', 'e'), allowed: true },
  { name: 'patch an event', a: req('PATCH', '/api/v1/namespaces/ns/events/e'), allowed: true },
  { name: 'create an events.k8s.io event', a: req('POST', '/apis/events.k8s.io/v1/namespaces/ns/events'), allowed: true },
  { name: 'delete an event', a: req('DELETE', '/api/v1/namespaces/ns/events/e'), allowed: false },
  { name: 'create a pod', a: req('POST', '/api/v1/namespaces/ns/pods', 'p'), allowed: false },
  { name: 'update a pod spec', a: req('PUT', '/api/v1/namespaces/ns/pods/mine'), allowed: false },
  { name: 'bind a pod', a: req('POST', '/api/v1/namespaces/ns/pods/mine/binding'), allowed: false },
  { name: 'write a configmap', a: req('PUT', '/api/v1/namespaces/ns/configmaps/c'), allowed: false },
  { name: 'deletecollection pods', a: req('DELETE', '/api/v1/namespaces/ns/pods'), allowed: false },
  { name: 'a non-resource POST', a: req('POST', '/version'), allowed: false, reason: 'nodes may not create /version' }
]

for (const row of nodeRows) {
  test(`node n1: ${row.name}`, (t) => {
    const d = sync(authorize(n1, row.a, syncLookup))
    t.is(d.allowed, row.allowed, d.reason)
    if (row.reason !== undefined) t.is(d.reason, row.reason)
  })
}

const podRows: Array<{ name: string, a: RequestAttributes, allowed: boolean, reason: string }> = [
  { name: 'patch the status of its pod', a: req('PATCH', '/api/v1/namespaces/ns/pods/mine/status'), allowed: true, reason: 'pod "ns/mine" is bound to node "n1"' },
  { name: 'update the status of its pod', a: req('PUT', '/api/v1/namespaces/ns/pods/mine/status'), allowed: true, reason: 'pod "ns/mine" is bound to node "n1"' },
  {
    name: 'patch the status of a pod on n2',
    a: req('PATCH', '/api/v1/namespaces/ns/pods/theirs/status'),
    allowed: false,
    reason: 'node "n1" can only update pod status for pods with spec.nodeName set to itself'
  },
  {
    name: 'patch the status of an unscheduled pod',
    a: req('PATCH', '/api/v1/namespaces/ns/pods/pending/status'),
    allowed: false,
    reason: 'node "n1" can only update pod status for pods with spec.nodeName set to itself'
  },
  {
    name: 'patch the status of a missing pod',
    a: req('PATCH', '/api/v1/namespaces/ns/pods/gone/status'),
    allowed: false,
    reason: 'node "n1" can only update pod status for pods with spec.nodeName set to itself: pod "ns/gone" not found'
  },
  { name: 'delete its pod', a: req('DELETE', '/api/v1/namespaces/ns/pods/mine'), allowed: true, reason: 'pod "ns/mine" is bound to node "n1"' },
  { name: 'delete a pod on n2', a: req('DELETE', '/api/v1/namespaces/ns/pods/theirs'), allowed: false, reason: 'node "n1" can only delete pods with spec.nodeName set to itself' }
]

for (const row of podRows) {
  test(`node n1 with a synchronous pod lookup: ${row.name}`, (t) => {
    t.deepEqual(sync(authorize(n1, row.a, syncLookup)), { allowed: row.allowed, reason: row.reason })
  })
  test(`node n1 with an asynchronous pod lookup: ${row.name}`, async (t) => {
    const d = authorize(n1, row.a, asyncLookup)
    t.true(d instanceof Promise)
    t.deepEqual(await d, { allowed: row.allowed, reason: row.reason })
  })
}

test('node pod writes without a lookup are denied, saying why', (t) => {
  t.deepEqual(sync(authorize(n1, req('DELETE', '/api/v1/namespaces/ns/pods/mine'))), {
    allowed: false,
    reason: 'node "n1" can only delete pods with spec.nodeName set to itself (no pod lookup is configured)'
  })
})

test('a failing pod lookup is CTRL_ERR_AUTH_LOOKUP, thrown or rejected', async (t) => {
  const a = req('PATCH', '/api/v1/namespaces/ns/pods/mine/status')
  const thrown = t.throws(() => authorize(n1, a, { podNodeName: () => { throw new Error('store closed') } }))
  t.is((thrown as AuthError).code, 'CTRL_ERR_AUTH_LOOKUP')
  t.is(thrown?.message, 'looking up the node of pod "ns/mine": store closed')
  const rejected = await t.throwsAsync(async () => await authorize(n1, a, { podNodeName: async () => { throw new Error('timeout') } }))
  t.true(rejected instanceof AuthError)
  t.is((rejected as AuthError).code, 'CTRL_ERR_AUTH_LOOKUP')
  // The lookup is not consulted for requests that do not need it.
  t.true(sync(authorize(n1, req('GET', '/api/v1/pods'), { podNodeName: () => { throw new Error('must not be called') } })).allowed)
})

test('node identity needs both the group and the system:node: name', (t) => {
  t.deepEqual(nodeIdentity(n1), { isNode: true, nodeName: 'n1' })
  t.deepEqual(nodeIdentity({ ...n1, groups: ['system:authenticated'] }), { isNode: false })
  t.deepEqual(nodeIdentity({ ...n1, name: 'kubelet' }), { isNode: false })
  const impostor = sync(authorize({ name: 'system:node:n1', uid: '9', groups: ['system:authenticated'] }, req('GET', '/api/v1/nodes')))
  t.false(impostor.allowed)
  const unnamed = sync(authorize({ name: 'kubelet', uid: '9', groups: ['system:nodes'] }, req('GET', '/api/v1/nodes')))
  t.deepEqual(unnamed, { allowed: false, reason: 'unknown node for user "kubelet"' })
  const empty = sync(authorize({ name: 'system:node:', uid: '9', groups: ['system:nodes'] }, req('GET', '/api/v1/nodes')))
  t.deepEqual(empty, { allowed: false, reason: 'unknown node for user "system:node:"' })
})

test('several groups: the union of their rules, the reasons of every refusal', async (t) => {
  const both: UserInfo = { name: 'system:node:n1', uid: '5', groups: ['system:nodes', 'weft:read-only'] }
  t.true(sync(authorize(both, req('GET', '/apis/apps/v1/deployments'))).allowed, 'read-only grants what the node rule lacks')
  t.true(sync(authorize(both, req('PATCH', '/api/v1/nodes/n1/status'))).allowed, 'the node rule grants what read-only lacks')
  t.deepEqual(sync(authorize(both, req('PATCH', '/api/v1/nodes/n2'))), {
    allowed: false,
    reason: 'weft:read-only may only get, list and watch; node "n1" is not allowed to modify node "n2"'
  })
  t.deepEqual(await authorize(both, req('DELETE', '/api/v1/namespaces/ns/pods/theirs'), asyncLookup), {
    allowed: false,
    reason: 'weft:read-only may only get, list and watch; node "n1" can only delete pods with spec.nodeName set to itself'
  })
})

test('attributes from another RequestInfo (any verb string, a user without uid) are accepted', (t) => {
  const server = { name: 'viewer', groups: ['weft:read-only'] }
  t.deepEqual(sync(authorize(server, { verb: 'head', apiGroup: '', resource: 'pods', namespace: 'ns' })), {
    allowed: false, reason: 'weft:read-only may only get, list and watch'
  })
  t.true(sync(authorize({ name: 'root', groups: ['system:masters'] }, { verb: 'options', apiGroup: '', resource: '', nonResourcePath: '/x' })).allowed)
  t.false(sync(authorize(n1, { verb: 'escalate', apiGroup: '', resource: 'nodes', name: 'n1' })).allowed)
})
