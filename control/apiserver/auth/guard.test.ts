import test from 'ava'
import { checkRequest } from './guard.js'
import { parseTokenFile, tokenAuthenticator } from './tokens.js'

const authenticator = tokenAuthenticator(parseTokenFile('adm,admin,1,system:masters\nnode,system:node:n1,2,system:nodes\nview,viewer,3,weft:read-only\n', 'f').records)

test('no or unknown token: 401 before anything else, even for an unparseable request', async (t) => {
  for (const authorization of [undefined, 'Bearer nope', 'Basic YTpi']) {
    const r = await checkRequest({ authenticator }, { method: 'OPTIONS', url: '/api/v1/watch', authorization })
    t.false(r.allowed)
    if (!r.allowed) {
      t.is(r.httpStatus, 401)
      t.is(r.body.reason, 'Unauthorized')
    }
  }
})

test('requests that map to no attributes: 400, 404, 405 Status bodies', async (t) => {
  const rows: Array<[string, string, number, string]> = [
    ['GET', '/api/v1/watch', 400, 'BadRequest'],
    ['GET', '/api/v1/proxy/nodes/n1', 404, 'NotFound'],
    ['OPTIONS', '/api/v1/pods', 405, 'MethodNotAllowed']
  ]
  for (const [method, url, status, reason] of rows) {
    const r = await checkRequest({ authenticator }, { method, url, authorization: 'Bearer adm' })
    t.false(r.allowed)
    if (!r.allowed) {
      t.is(r.httpStatus, status)
      t.is(r.body.reason, reason)
      t.is(r.body.code, status)
      t.is(r.user?.name, 'admin')
    }
  }
})

test('allowed requests carry the user and attributes; creates take their name from the body', async (t) => {
  const ok = await checkRequest({ authenticator }, { method: 'POST', url: '/api/v1/nodes', authorization: 'Bearer node', createName: 'n1' })
  t.true(ok.allowed)
  if (ok.allowed) {
    t.is(ok.user.name, 'system:node:n1')
    t.deepEqual(ok.attrs, { verb: 'create', apiGroup: '', resource: 'nodes', apiVersion: 'v1', name: 'n1' })
  }
  const other = await checkRequest({ authenticator }, { method: 'POST', url: '/api/v1/nodes', authorization: 'Bearer node', createName: 'n2' })
  t.false(other.allowed)
  if (!other.allowed) {
    t.is(other.httpStatus, 403)
    t.is(other.body.message, 'nodes "n2" is forbidden: User "system:node:n1" cannot create resource "nodes" in API group "" at the cluster scope: node "n1" is not allowed to modify node "n2"')
  }
  const list = await checkRequest({ authenticator }, { method: 'GET', url: '/api/v1/pods', query: { watch: 'true' }, authorization: 'Bearer view' })
  t.true(list.allowed)
  if (list.allowed) t.is(list.attrs.verb, 'watch')
})

test('a failing pod lookup answers 500 InternalError', async (t) => {
  const r = await checkRequest(
    { authenticator, lookups: { podNodeName: async () => { throw new Error('etcd timeout') } } },
    { method: 'DELETE', url: '/api/v1/namespaces/ns/pods/p', authorization: 'Bearer node' })
  t.false(r.allowed)
  if (!r.allowed) {
    t.is(r.httpStatus, 500)
    t.is(r.body.reason, 'InternalError')
    t.regex(r.body.message, /etcd timeout/)
  }
})
