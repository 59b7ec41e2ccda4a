/** Invariants of request mapping and authorization over generated requests (fast-check). */
import test from 'ava'
import fc from 'fast-check'
import { authorize } from './authorize.js'
import type { Decision } from './authorize.js'
import { AuthError } from './errors.js'
import { requestAttributes } from './request-info.js'

const segment = fc.constantFrom('api', 'apis', 'v1', 'apps', 'namespaces', 'ns', 'pods', 'secrets', 'nodes', 'n1', 'n2', 'status',
  'watch', 'proxy', 'finalize', 'leases', 'kube-node-lease', 'coordination.k8s.io', 'events', '', '%2F', '%zz', 'x')
const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE')
const query = fc.constantFrom('', '?watch=1', '?watch=false', '?fieldSelector=metadata.name%3Dn1', '?watch', '?limit=5')
const request = fc.tuple(method, fc.array(segment, { maxLength: 8 }), query)

function decide (d: Decision | Promise<Decision>): Decision {
  if (d instanceof Promise) throw new Error('async without a lookup')
  return d
}

test('requestAttributes maps any path to attributes or a CTRL_ERR_AUTH_REQUEST, nothing else', (t) => {
  fc.assert(fc.property(request, ([m, segs, q]) => {
    try {
      const a = requestAttributes(m, '/' + segs.join('/') + q)
      if (a.nonResourcePath !== undefined) return a.resource === '' && a.apiGroup === ''
      return a.resource !== '' && a.name !== '' && a.namespace !== '' && a.subresource !== ''
    } catch (err) {
      return err instanceof AuthError && err.code === 'CTRL_ERR_AUTH_REQUEST' && [400, 404, 405].includes(err.httpStatus ?? 0)
    }
  }), { numRuns: 5000 })
  t.pass()
})

test('whatever the request: read-only never writes, a group-less user reaches no resource, a node never touches secrets writes or another node', (t) => {
  const viewer = { name: 'v', groups: ['weft:read-only'] }
  const nobody = { name: 'nobody', groups: ['system:authenticated'] }
  const node = { name: 'system:node:n1', groups: ['system:nodes'] }
  const lookups = { podNodeName: (_ns: string, name: string) => name === 'n1' ? 'n1' : 'n2' }
  fc.assert(fc.property(request, ([m, segs, q]) => {
    let a
    try { a = requestAttributes(m, '/' + segs.join('/') + q) } catch { return true }
    const read = a.verb === 'get' || a.verb === 'list' || a.verb === 'watch'
    const v = decide(authorize(viewer, a))
    if (v.allowed && !read) return false
    if (v.allowed && a.resource === 'secrets' && a.apiGroup === '') return false
    const p = decide(authorize(nobody, a))
    if (p.allowed && (a.nonResourcePath === undefined || a.verb !== 'get' || a.nonResourcePath === '/metrics')) return false
    const n = decide(authorize(node, a, lookups))
    if (n.allowed && !read && a.resource === 'secrets') return false
    if (n.allowed && !read && a.resource === 'nodes' && a.name !== 'n1') return false
    if (n.allowed && a.nonResourcePath !== undefined && a.verb !== 'get') return false
    return typeof v.reason === 'string' && v.reason !== '' && n.reason !== '' && p.reason !== ''
  }), { numRuns: 5000 })
  t.pass()
})
