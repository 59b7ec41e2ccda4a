/**
 * The resources Weft's API server serves: one table that discovery, OpenAPI,
 * routing, storage keys, Tables and the authorizer all read, so that a
 * resource exists everywhere or nowhere.
 */
import type { RegistryResource } from '../store/index.js'

export type Verb = 'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch'

export interface SubresourceInfo {
  /** 'status', 'binding', 'scale', 'log', ... */
  name: string
  /** The kind the subresource reads and writes (Binding, Scale, the parent's kind for status). */
  kind: string
  group: string
  version: string
  verbs: Verb[]
}

export interface ResourceInfo {
  /** API group, '' for core. */
  group: string
  version: string
  kind: string
  listKind: string
  /** Plural, lower case: the URL segment and the storage resource. */
  plural: RegistryResource
  singular: string
  namespaced: boolean
  shortNames: string[]
  categories: string[]
  verbs: Verb[]
  subresources: SubresourceInfo[]
}

const all: Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']
const statusOf = (group: string, version: string, kind: string): SubresourceInfo =>
  ({ name: 'status', kind, group, version, verbs: ['get', 'patch', 'update'] })

function r (group: string, version: string, kind: string, plural: RegistryResource, namespaced: boolean,
  extra: Partial<Pick<ResourceInfo, 'shortNames' | 'categories' | 'subresources' | 'verbs'>> = {}): ResourceInfo {
  return {
    group,
    version,
    kind,
    listKind: `${kind}List`,
    plural,
    singular: kind.toLowerCase(),
    namespaced,
    shortNames: extra.shortNames ?? [],
    categories: extra.categories ?? [],
    verbs: extra.verbs ?? all,
    subresources: extra.subresources ?? []
  }
}

export const RESOURCES: readonly ResourceInfo[] = [
  r('', 'v1', 'Namespace', 'namespaces', false, {
    shortNames: ['ns'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: [statusOf('', 'v1', 'Namespace'), { name: 'finalize', kind: 'Namespace', group: '', version: 'v1', verbs: ['update'] }]
  }),
  r('', 'v1', 'Pod', 'pods', true, {
    shortNames: ['po'],
    categories: ['all'],
    subresources: [
      statusOf('', 'v1', 'Pod'),
      { name: 'binding', kind: 'Binding', group: '', version: 'v1', verbs: ['create'] },
      { name: 'log', kind: 'Pod', group: '', version: 'v1', verbs: ['get'] }
    ]
  }),
  r('', 'v1', 'Service', 'services', true, {
    shortNames: ['svc'],
    categories: ['all'],
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: [statusOf('', 'v1', 'Service')]
  }),
  r('', 'v1', 'Endpoints', 'endpoints', true, { shortNames: ['ep'] }),
  r('', 'v1', 'Node', 'nodes', false, { shortNames: ['no'], subresources: [statusOf('', 'v1', 'Node')] }),
  r('', 'v1', 'ConfigMap', 'configmaps', true, { shortNames: ['cm'] }),
  r('', 'v1', 'Secret', 'secrets', true),
  r('', 'v1', 'Event', 'events', true, { shortNames: ['ev'] }),
  r('', 'v1', 'ServiceAccount', 'serviceaccounts', true, { shortNames: ['sa'] }),
  r('discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices', true),
  r('coordination.k8s.io', 'v1', 'Lease', 'leases', true),
  r('apps', 'v1', 'Deployment', 'deployments', true, {
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: [statusOf('apps', 'v1', 'Deployment'), { name: 'scale', kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] }]
  }),
  r('apps', 'v1', 'ReplicaSet', 'replicasets', true, {
    shortNames: ['rs'],
    categories: ['all'],
    subresources: [statusOf('apps', 'v1', 'ReplicaSet'), { name: 'scale', kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] }]
  })
]

export const apiVersionOf = (info: Pick<ResourceInfo, 'group' | 'version'>): string =>
  info.group === '' ? info.version : `${info.group}/${info.version}`

/** The groups in discovery order (core first). */
export function groupVersions (): Array<{ group: string, version: string, resources: ResourceInfo[] }> {
  const out: Array<{ group: string, version: string, resources: ResourceInfo[] }> = []
  for (const info of RESOURCES) {
    let gv = out.find((g) => g.group === info.group && g.version === info.version)
    if (gv === undefined) { gv = { group: info.group, version: info.version, resources: [] }; out.push(gv) }
    gv.resources.push(info)
  }
  return out
}

export function resourceFor (group: string, version: string, plural: string): ResourceInfo | undefined {
  return RESOURCES.find((i) => i.group === group && i.version === version && i.plural === plural)
}

export function resourceForKind (apiVersion: string, kind: string): ResourceInfo | undefined {
  return RESOURCES.find((i) => apiVersionOf(i) === apiVersion && i.kind === kind)
}
