/** requestAttributes against the cases of upstream's requestinfo_test.go, plus Weft's resources. */
import test from 'ava'
import { AuthError } from './errors.js'
import { fieldSelectorName, requestAttributes } from './request-info.js'
import type { Query, RequestAttributes } from './request-info.js'

type Want = Omit<RequestAttributes, 'apiVersion'>
const rows: Array<{ name: string, method: string, url: string, query?: Query, want: Want }> = [
  { name: 'list namespaces', method: 'GET', url: '/api/v1/namespaces', want: { verb: 'list', apiGroup: '', resource: 'namespaces' } },
  { name: 'get a namespace', method: 'GET', url: '/api/v1/namespaces/other', want: { verb: 'get', apiGroup: '', resource: 'namespaces', namespace: 'other', name: 'other' } },
  { name: 'list pods in a namespace', method: 'GET', url: '/api/v1/namespaces/other/pods', want: { verb: 'list', apiGroup: '', resource: 'pods', namespace: 'other' } },
  { name: 'get a pod', method: 'GET', url: '/api/v1/namespaces/other/pods/foo', want: { verb: 'get', apiGroup: '', resource: 'pods', namespace: 'other', name: 'foo' } },
  { name: 'HEAD is get', method: 'HEAD', url: '/api/v1/namespaces/other/pods/foo', want: { verb: 'get', apiGroup: '', resource: 'pods', namespace: 'other', name: 'foo' } },
  { name: 'trailing slash', method: 'GET', url: '/api/v1/namespaces/other/pods/foo/', want: { verb: 'get', apiGroup: '', resource: 'pods', namespace: 'other', name: 'foo' } },
  { name: 'list pods in all namespaces', method: 'GET', url: '/api/v1/pods', want: { verb: 'list', apiGroup: '', resource: 'pods' } },
  { name: 'watch prefix', method: 'GET', url: '/api/v1/watch/pods', want: { verb: 'watch', apiGroup: '', resource: 'pods' } },
  { name: 'watch prefix on one object', method: 'GET', url: '/api/v1/watch/namespaces/other/pods/foo', want: { verb: 'watch', apiGroup: '', resource: 'pods', namespace: 'other', name: 'foo' } },
  { name: '?watch=true', method: 'GET', url: '/api/v1/namespaces/other/pods?watch=true', want: { verb: 'watch', apiGroup: '', resource: 'pods', namespace: 'other' } },
  { name: '?watch=1', method: 'GET', url: '/api/v1/pods?watch=1', want: { verb: 'watch', apiGroup: '', resource: 'pods' } },
  { name: '?watch=TRUE', method: 'GET', url: '/api/v1/pods?watch=TRUE', want: { verb: 'watch', apiGroup: '', resource: 'pods' } },
  { name: '?watch=false', method: 'GET', url: '/api/v1/pods?watch=false', want: { verb: 'list', apiGroup: '', resource: 'pods' } },
  { name: '?watch=False', method: 'GET', url: '/api/v1/pods?watch=False', want: { verb: 'list', apiGroup: '', resource: 'pods' } },
  { name: '?watch=0', method: 'GET', url: '/api/v1/pods?watch=0', want: { verb: 'list', apiGroup: '', resource: 'pods' } },
  { name: 'parsed query wins over the URL', method: 'GET', url: '/api/v1/pods?watch=0', query: { watch: ['true'] }, want: { verb: 'watch', apiGroup: '', resource: 'pods' } },
  { name: 'fastify-style query object', method: 'GET', url: '/api/v1/pods', query: { watch: 'true', resourceVersion: '5' }, want: { verb: 'watch', apiGroup: '', resource: 'pods' } },
  {
    name: 'fieldSelector metadata.name pins the name of a list',
    method: 'GET',
    url: '/api/v1/namespaces/other/pods?fieldSelector=metadata.name%3Dfoo',
    want: { verb: 'list', apiGroup: '', resource: 'pods', namespace: 'other', name: 'foo' }
  },
  {
    name: 'fieldSelector on a watch (kubectl get --watch of one object)',
    method: 'GET',
    url: '/api/v1/namespaces/kube-node-lease/leases',
    query: new URLSearchParams({ fieldSelector: 'metadata.name==n1', watch: '1' }),
    want: { verb: 'watch', apiGroup: '', resource: 'leases', namespace: 'kube-node-lease', name: 'n1' }
  },
  {
    name: 'fieldSelector with another field only',
    method: 'GET',
    url: '/api/v1/pods?fieldSelector=spec.nodeName%3Dn1',
    want: { verb: 'list', apiGroup: '', resource: 'pods' }
  },
  { name: 'create', method: 'POST', url: '/api/v1/namespaces/other/pods', want: { verb: 'create', apiGroup: '', resource: 'pods', namespace: 'other' } },
  { name: 'update', method: 'PUT', url: '/api/v1/namespaces/other/pods/foo', want: { verb: 'update', apiGroup: '', resource: 'pods', namespace: 'other', name: 'foo' } },
  { name: 'patch', method: 'PATCH', url: '/api/v1/namespaces/other/pods/foo', want: { verb: 'patch', apiGroup: '', resource: 'pods', namespace: 'other', name: 'foo' } },
  { name: 'lower-case method', method: 'patch', url: '/api/v1/nodes/n1', want: { verb: 'patch', apiGroup: '', resource: 'nodes', name: 'n1' } },
  { name: 'delete', method: 'DELETE', url: '/api/v1/namespaces/other/pods/foo', want: { verb: 'delete', apiGroup: '', resource: 'pods', namespace: 'other', name: 'foo' } },
  { name: 'deletecollection', method: 'DELETE', url: '/api/v1/namespaces/other/pods', want: { verb: 'deletecollection', apiGroup: '', resource: 'pods', namespace: 'other' } },
  { name: 'named group, cluster-wide list', method: 'GET', url: '/apis/apps/v1/deployments', want: { verb: 'list', apiGroup: 'apps', resource: 'deployments' } },
  {
    name: 'named group subresource',
    method: 'PUT',
    url: '/apis/apps/v1/namespaces/ns/deployments/web/scale',
    want: { verb: 'update', apiGroup: 'apps', resource: 'deployments', namespace: 'ns', name: 'web', subresource: 'scale' }
  },
  { name: 'namespace status', method: 'PUT', url: '/api/v1/namespaces/ns/status', want: { verb: 'update', apiGroup: '', resource: 'namespaces', namespace: 'ns', name: 'ns', subresource: 'status' } },
  { name: 'namespace finalize', method: 'PUT', url: '/api/v1/namespaces/ns/finalize', want: { verb: 'update', apiGroup: '', resource: 'namespaces', namespace: 'ns', name: 'ns', subresource: 'finalize' } },
  { name: 'node status', method: 'PATCH', url: '/api/v1/nodes/n1/status', want: { verb: 'patch', apiGroup: '', resource: 'nodes', name: 'n1', subresource: 'status' } },
  { name: 'pod binding', method: 'POST', url: '/api/v1/namespaces/ns/pods/p/binding', want: { verb: 'create', apiGroup: '', resource: 'pods', namespace: 'ns', name: 'p', subresource: 'binding' } },
  { name: 'pod log', method: 'GET', url: '/api/v1/namespaces/ns/pods/p/log?follow=true', want: { verb: 'get', apiGroup: '', resource: 'pods', namespace: 'ns', name: 'p', subresource: 'log' } },
  { name: 'lease', method: 'PUT', url: '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1', want: { verb: 'update', apiGroup: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-node-lease', name: 'n1' } },
  { name: 'percent-encoded name', method: 'GET', url: '/api/v1/namespaces/ns/configmaps/a%3Ab', want: { verb: 'get', apiGroup: '', resource: 'configmaps', namespace: 'ns', name: 'a:b' } },
  { name: '/api', method: 'GET', url: '/api', want: { verb: 'get', apiGroup: '', resource: '', nonResourcePath: '/api' } },
  { name: '/api/v1', method: 'GET', url: '/api/v1', want: { verb: 'get', apiGroup: '', resource: '', nonResourcePath: '/api/v1' } },
  { name: '/apis/apps', method: 'GET', url: '/apis/apps', want: { verb: 'get', apiGroup: '', resource: '', nonResourcePath: '/apis/apps' } },
  { name: '/apis/apps/v1', method: 'GET', url: '/apis/apps/v1?timeout=32s', want: { verb: 'get', apiGroup: '', resource: '', nonResourcePath: '/apis/apps/v1' } },
  { name: '/version', method: 'GET', url: '/version', want: { verb: 'get', apiGroup: '', resource: '', nonResourcePath: '/version' } },
  { name: '/openapi/v3/apis/apps/v1', method: 'GET', url: '/openapi/v3/apis/apps/v1', want: { verb: 'get', apiGroup: '', resource: '', nonResourcePath: '/openapi/v3/apis/apps/v1' } },
  { name: 'POST to a non-resource path', method: 'POST', url: '/healthz', want: { verb: 'create', apiGroup: '', resource: '', nonResourcePath: '/healthz' } },
  { name: '/', method: 'GET', url: '/', want: { verb: 'get', apiGroup: '', resource: '', nonResourcePath: '/' } },
  { name: 'unknown prefix', method: 'GET', url: '/other/v1/pods/x', want: { verb: 'get', apiGroup: '', resource: '', nonResourcePath: '/other/v1/pods/x' } }
]

for (const row of rows) {
  test(`requestAttributes: ${row.name}`, (t) => {
    const got = requestAttributes(row.method, row.url, row.query)
    const { apiVersion, ...rest } = got
    t.deepEqual(rest, row.want)
    if (got.nonResourcePath === undefined) t.is(apiVersion, 'v1')
  })
}

test('requestAttributes errors carry the status the server should answer', (t) => {
  const rows: Array<[string, string, number]> = [
    ['GET', '/api/v1/watch', 400],
    ['GET', '/api/v1/namespaces/a%zz/pods', 400],
    ['GET', '/api/v1/proxy/namespaces/ns/pods/p', 404],
    ['GET', '/api/v1/namespaces//pods', 404],
    ['GET', '/api/v1/namespaces/ns/configmaps/%2Fb', 404],
    ['OPTIONS', '/api/v1/pods', 405],
    ['CONNECT', '/version', 405]
  ]
  for (const [method, url, status] of rows) {
    const err = t.throws(() => requestAttributes(method, url))
    t.true(err instanceof AuthError)
    t.is((err as AuthError).code, 'CTRL_ERR_AUTH_REQUEST')
    t.is((err as AuthError).httpStatus, status, `${method} ${url}`)
  }
})

test('fieldSelectorName', (t) => {
  t.is(fieldSelectorName('metadata.name=a'), 'a')
  t.is(fieldSelectorName('spec.nodeName=n1,metadata.name==b'), 'b')
  t.is(fieldSelectorName('metadata.name!=a'), undefined)
  t.is(fieldSelectorName('metadata.namespace=a'), undefined)
  t.is(fieldSelectorName('metadata.name=a\\,b'), undefined)
  t.is(fieldSelectorName(undefined), undefined)
})
