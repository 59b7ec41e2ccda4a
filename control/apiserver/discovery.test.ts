import test from 'ava'
import { RESOURCES } from './resources.js'
import {
  aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, negotiateDiscovery, storageVersionHash
} from './discovery.js'

type J = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

test('storageVersionHash matches kube-apiserver\'s values', (t) => {
  // As served by a real 1.32 cluster's /api/v1 and /apis/apps/v1.
  t.is(storageVersionHash('', 'v1', 'Pod'), 'xPOwRZ+Yhw8=')
  t.is(storageVersionHash('', 'v1', 'Service'), '0/CO1lhkEBI=')
  t.is(storageVersionHash('apps', 'v1', 'Deployment'), '8aSe+NMegvE=')
})

test('/api is APIVersions with the server address', (t) => {
  t.deepEqual(apiVersions('127.0.0.1:6443'), {
    kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }]
  })
})

test('/api/v1 lists core resources and subresources, sorted by name', (t) => {
  const list = apiResourceList('', 'v1') as J
  t.is(list.kind, 'APIResourceList')
  t.is(list.groupVersion, 'v1')
  const names = (list.resources as J[]).map((r) => r.name)
  t.deepEqual(names, [...names].sort())
  for (const n of ['pods', 'pods/status', 'pods/binding', 'pods/log', 'services', 'services/status', 'nodes', 'nodes/status', 'namespaces', 'namespaces/finalize', 'namespaces/status', 'endpoints', 'configmaps', 'secrets', 'events', 'serviceaccounts']) {
    t.true(names.includes(n), n)
  }
  const pods = (list.resources as J[]).find((r) => r.name === 'pods')
  t.deepEqual(pods, {
    name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod',
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    shortNames: ['po'], categories: ['all'], storageVersionHash: 'xPOwRZ+Yhw8='
  })
  t.deepEqual((list.resources as J[]).find((r) => r.name === 'pods/binding'), { name: 'pods/binding', singularName: '', namespaced: true, kind: 'Binding', verbs: ['create'] })
  t.deepEqual((list.resources as J[]).find((r) => r.name === 'nodes')?.namespaced, false)
  t.false('shortNames' in ((list.resources as J[]).find((r) => r.name === 'secrets') ?? {}))
})

test('/apis/apps/v1 carries deployments/scale as autoscaling/v1 Scale', (t) => {
  const list = apiResourceList('apps', 'v1') as J
  t.is(list.groupVersion, 'apps/v1')
  t.deepEqual((list.resources as J[]).map((r) => r.name), ['deployments', 'deployments/scale', 'deployments/status', 'replicasets', 'replicasets/scale', 'replicasets/status'])
  t.deepEqual((list.resources as J[]).find((r) => r.name === 'deployments/scale'),
    { name: 'deployments/scale', singularName: '', namespaced: true, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] })
  t.is(apiResourceList('apps', 'v2'), undefined)
  t.is(apiResourceList('example.com', 'v1'), undefined)
})

test('/apis lists every named group once with its preferred version', (t) => {
  const list = apiGroupList() as J
  t.is(list.kind, 'APIGroupList')
  const named = [...new Set(RESOURCES.filter((r) => r.group !== '').map((r) => r.group))]
  t.deepEqual((list.groups as J[]).map((g) => g.name), named)
  t.deepEqual((list.groups as J[]).find((g) => g.name === 'apps'),
    { name: 'apps', versions: [{ groupVersion: 'apps/v1', version: 'v1' }], preferredVersion: { groupVersion: 'apps/v1', version: 'v1' } })
  t.deepEqual((apiGroup('discovery.k8s.io') as J).preferredVersion, { groupVersion: 'discovery.k8s.io/v1', version: 'v1' })
  t.is((apiGroup('discovery.k8s.io') as J).kind, 'APIGroup')
  t.is(apiGroup(''), undefined)
})

test('aggregated discovery v2: /api holds the core group, /apis the named ones', (t) => {
  const core = aggregatedDiscovery('core') as J
  t.is(core.kind, 'APIGroupDiscoveryList')
  t.is(core.apiVersion, 'apidiscovery.k8s.io/v2')
  t.is(core.items.length, 1)
  t.deepEqual(core.items[0].metadata, { name: '' })
  const v1 = core.items[0].versions[0]
  t.is(v1.version, 'v1')
  t.is(v1.freshness, 'Current')
  const pods = (v1.resources as J[]).find((r) => r.resource === 'pods')
  t.deepEqual(pods, {
    resource: 'pods',
    responseKind: { group: '', version: 'v1', kind: 'Pod' },
    scope: 'Namespaced',
    singularResource: 'pod',
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    shortNames: ['po'],
    categories: ['all'],
    subresources: [
      { subresource: 'status', responseKind: { group: '', version: 'v1', kind: 'Pod' }, verbs: ['get', 'patch', 'update'] },
      { subresource: 'binding', responseKind: { group: '', version: 'v1', kind: 'Binding' }, verbs: ['create'] },
      { subresource: 'log', responseKind: { group: '', version: 'v1', kind: 'Pod' }, verbs: ['get'] }
    ]
  })
  t.is((v1.resources as J[]).find((r) => r.resource === 'nodes')?.scope, 'Cluster')
  const apis = aggregatedDiscovery('apis', 'v2beta1') as J
  t.is(apis.apiVersion, 'apidiscovery.k8s.io/v2beta1')
  t.deepEqual((apis.items as J[]).map((i) => i.metadata.name), ['discovery.k8s.io', 'coordination.k8s.io', 'apps'])
  const deploy = (apis.items as J[]).find((i) => i.metadata.name === 'apps')?.versions[0].resources.find((r: J) => r.resource === 'deployments')
  t.deepEqual(deploy.subresources[1], { subresource: 'scale', responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: ['get', 'patch', 'update'] })
  // Every resource of RESOURCES appears exactly once across the two documents.
  const all = [...core.items, ...apis.items].flatMap((i: J) => i.versions.flatMap((v: J) => v.resources.map((r: J) => `${i.metadata.name}/${r.resource}`)))
  t.deepEqual(all.sort(), RESOURCES.map((r) => `${r.group}/${r.plural}`).sort())
})

test('negotiateDiscovery: kubectl 1.32\'s Accept gets v2; v2beta1-only, plain JSON and 1.20\'s Accept get legacy or beta', (t) => {
  const kubectl132 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json'
  t.deepEqual(negotiateDiscovery(kubectl132), { aggregated: true, version: 'v2', contentType: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' })
  t.deepEqual(negotiateDiscovery('application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json'),
    { aggregated: true, version: 'v2beta1', contentType: 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList' })
  t.deepEqual(negotiateDiscovery('application/json, */*'), { aggregated: false, contentType: 'application/json' })
  t.deepEqual(negotiateDiscovery(undefined), { aggregated: false, contentType: 'application/json' })
  t.deepEqual(negotiateDiscovery('application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,application/json'), { aggregated: false, contentType: 'application/json' })
  t.deepEqual(negotiateDiscovery('application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json'), { aggregated: false, contentType: 'application/json' })
})
