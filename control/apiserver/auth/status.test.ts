/** Golden 401/403 bodies: the JSON kube-apiserver answers, byte for byte (key order included). */
import test from 'ava'
import { requestAttributes } from './request-info.js'
import { forbiddenStatus, unauthorizedStatus } from './status.js'

test('401 Unauthorized', (t) => {
  t.is(JSON.stringify(unauthorizedStatus()),
    '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}')
})

test('403 on a non-resource path', (t) => {
  t.is(JSON.stringify(forbiddenStatus('system:anonymous', requestAttributes('GET', '/metrics'), '')),
    '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"forbidden: User \\"system:anonymous\\" cannot get path \\"/metrics\\"","reason":"Forbidden","details":{},"code":403}')
})

test('403 on a named object in a namespace', (t) => {
  t.is(JSON.stringify(forbiddenStatus('system:anonymous', requestAttributes('GET', '/api/v1/namespaces/default/pods/x'), '')),
    '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"x\\" is forbidden: User \\"system:anonymous\\" cannot get resource \\"pods\\" in API group \\"\\" in the namespace \\"default\\"","reason":"Forbidden","details":{"name":"x","kind":"pods"},"code":403}')
})

test('403 on a cluster-wide list of a named group, with a reason', (t) => {
  const body = forbiddenStatus('viewer', requestAttributes('DELETE', '/apis/apps/v1/deployments'), 'weft:read-only may only get, list and watch')
  t.is(body.message, 'deployments.apps is forbidden: User "viewer" cannot deletecollection resource "deployments" in API group "apps" at the cluster scope: weft:read-only may only get, list and watch')
  t.deepEqual(body.details, { group: 'apps', kind: 'deployments' })
})

test('403 on a subresource names resource/subresource in the sentence and the resource in details', (t) => {
  const body = forbiddenStatus('system:node:n1', requestAttributes('PATCH', '/api/v1/nodes/n2/status'), 'node "n1" is not allowed to modify node "n2"')
  t.is(body.message, 'nodes "n2" is forbidden: User "system:node:n1" cannot patch resource "nodes/status" in API group "" at the cluster scope: node "n1" is not allowed to modify node "n2"')
  t.deepEqual(body.details, { name: 'n2', kind: 'nodes' })
  t.is(body.code, 403)
})
