/**
 * kube-apiserver's key layout (reference/control-plane.md §2.2): /registry/<resource>/<ns>/<name>, no group segment for
 * built-in groups, and the SpecialDefaultResourcePrefixes overrides (nodes → minions, services → services/specs,
 * endpoints → services/endpoints).
 */
import test from 'ava'
import { REGISTRY_PREFIX, keyFor, parseKey, prefixFor, registryResources } from './keys.js'
import type { RegistryResource } from './keys.js'
import { StoreError } from './errors.js'
import { prefixRange } from './types.js'

const layout: Array<{ name: string, resource: RegistryResource, namespace: string | undefined, key: string }> = [
  { name: 'pods', resource: 'pods', namespace: 'default', key: '/registry/pods/default/web' },
  { name: 'nodes are minions', resource: 'nodes', namespace: undefined, key: '/registry/minions/web' },
  { name: 'services are services/specs', resource: 'services', namespace: 'default', key: '/registry/services/specs/default/web' },
  { name: 'endpoints are services/endpoints', resource: 'endpoints', namespace: 'default', key: '/registry/services/endpoints/default/web' },
  { name: 'namespaces are cluster-scoped', resource: 'namespaces', namespace: undefined, key: '/registry/namespaces/web' },
  { name: 'configmaps', resource: 'configmaps', namespace: 'kube-system', key: '/registry/configmaps/kube-system/web' },
  { name: 'secrets', resource: 'secrets', namespace: 'default', key: '/registry/secrets/default/web' },
  { name: 'events', resource: 'events', namespace: 'default', key: '/registry/events/default/web' },
  { name: 'serviceaccounts', resource: 'serviceaccounts', namespace: 'default', key: '/registry/serviceaccounts/default/web' },
  { name: 'endpointslices carry no discovery.k8s.io segment', resource: 'endpointslices', namespace: 'default', key: '/registry/endpointslices/default/web' },
  { name: 'leases carry no coordination.k8s.io segment', resource: 'leases', namespace: 'kube-node-lease', key: '/registry/leases/kube-node-lease/web' },
  { name: 'deployments carry no apps segment', resource: 'deployments', namespace: 'default', key: '/registry/deployments/default/web' },
  { name: 'replicasets carry no apps segment', resource: 'replicasets', namespace: 'default', key: '/registry/replicasets/default/web' }
]

for (const row of layout) {
  test(`key layout: ${row.name}`, (t) => {
    t.is(keyFor(row.resource, row.namespace, 'web'), row.key)
    t.deepEqual(parseKey(row.key), { resource: row.resource, namespace: row.namespace, name: 'web' })
    const all = prefixFor(row.resource)
    t.true(row.key.startsWith(all))
    t.true(all.endsWith('/'))
    if (row.namespace !== undefined) t.is(prefixFor(row.resource, row.namespace), row.key.slice(0, -'web'.length))
  })
}

test('the table covers exactly the resources of issue 3', (t) => {
  t.deepEqual(Object.keys(registryResources).sort(), layout.map((r) => r.resource).sort())
  t.is(REGISTRY_PREFIX, '/registry')
})

test('a namespace prefix does not cover a namespace that merely starts the same', (t) => {
  const { start, end } = prefixRange(prefixFor('pods', 'default'))
  const inside = (k: string): boolean => k >= start && k < end
  t.true(inside(keyFor('pods', 'default', 'a')))
  t.false(inside(keyFor('pods', 'default-2', 'a')))
  t.false(inside(keyFor('services', 'default', 'a')))
})

test('bad names and scopes are CTRL_ERR_STORE_INVALID', (t) => {
  const bad: Array<[string, () => unknown]> = [
    ['a namespaced resource without a namespace', () => keyFor('pods', undefined, 'web')],
    ['a namespace on a cluster-scoped resource', () => keyFor('nodes', 'default', 'n1')],
    ['a prefix with a namespace on a cluster-scoped resource', () => prefixFor('namespaces', 'x')],
    ['a name with a slash', () => keyFor('pods', 'default', 'a/b')],
    ['an empty name', () => keyFor('pods', 'default', '')],
    ['a dot-dot name', () => keyFor('pods', 'default', '..')],
    ['a namespace with a slash', () => keyFor('pods', 'a/b', 'web')],
    ['an unknown resource', () => keyFor('widgets' as RegistryResource, 'default', 'x')]
  ]
  for (const [name, fn] of bad) {
    const e = t.throws(fn, undefined, name)
    t.true(e instanceof StoreError && e.code === 'CTRL_ERR_STORE_INVALID', name)
  }
})

test('parseKey leaves keys that are not objects of ours alone', (t) => {
  for (const k of ['/registry/pods/default', '/registry/pods/default/web/extra', '/registry/minions/ns/n', '/registry/widgets/a/b', '/other/pods/a/b', 'compact_rev_key', '/registry/services/specs/']) {
    t.is(parseKey(k), undefined, k)
  }
})
