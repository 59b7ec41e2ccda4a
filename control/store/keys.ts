/**
 * kube-apiserver's etcd key layout for the resources Weft serves, so that an
 * etcd shared with (or inspected like) a real cluster looks the same:
 *
 *   /registry/<resource prefix>/<namespace>/<name>   namespaced
 *   /registry/<resource prefix>/<name>               cluster-scoped
 *
 * Built-in groups carry no group segment (/registry/deployments/…,
 * /registry/leases/…, /registry/endpointslices/…). The exceptions are
 * kube-apiserver's `SpecialDefaultResourcePrefixes`
 * (pkg/kubeapiserver/default_storage_factory_builder.go): nodes live under
 * `minions`, services under `services/specs`, endpoints under
 * `services/endpoints`. Listing uses the prefix with a trailing slash, as the
 * apiserver does, so `pods/default/` never matches `pods/default-2/…`.
 */
import { StoreError } from './errors.js'

export const REGISTRY_PREFIX = '/registry'

export interface ResourceLayout {
  /** The path under /registry. */
  prefix: string
  namespaced: boolean
  /** API group ('' for core), for reference: it is not part of the key. */
  group: string
}

export const registryResources = {
  pods: { prefix: 'pods', namespaced: true, group: '' },
  nodes: { prefix: 'minions', namespaced: false, group: '' },
  services: { prefix: 'services/specs', namespaced: true, group: '' },
  endpoints: { prefix: 'services/endpoints', namespaced: true, group: '' },
  namespaces: { prefix: 'namespaces', namespaced: false, group: '' },
  configmaps: { prefix: 'configmaps', namespaced: true, group: '' },
  secrets: { prefix: 'secrets', namespaced: true, group: '' },
  events: { prefix: 'events', namespaced: true, group: '' },
  serviceaccounts: { prefix: 'serviceaccounts', namespaced: true, group: '' },
  endpointslices: { prefix: 'endpointslices', namespaced: true, group: 'discovery.k8s.io' },
  leases: { prefix: 'leases', namespaced: true, group: 'coordination.k8s.io' },
  deployments: { prefix: 'deployments', namespaced: true, group: 'apps' },
  replicasets: { prefix: 'replicasets', namespaced: true, group: 'apps' }
} as const satisfies Record<string, ResourceLayout>

export type RegistryResource = keyof typeof registryResources

const invalid = (message: string): StoreError => new StoreError('CTRL_ERR_STORE_INVALID', message)

function layoutOf (resource: RegistryResource): ResourceLayout {
  const layout: ResourceLayout | undefined = Object.hasOwn(registryResources, resource) ? registryResources[resource] : undefined
  if (layout === undefined) throw invalid(`no key layout for resource ${String(resource)}`)
  return layout
}

/** A name or namespace must be one path segment (kube-apiserver's IsValidPathSegmentName). */
function checkSegment (what: string, s: string): void {
  if (typeof s !== 'string' || s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('%')) {
    throw invalid(`${what} ${JSON.stringify(s)} cannot be a key segment`)
  }
}

/** The key of one object: `keyFor('pods', 'default', 'web')` is `/registry/pods/default/web`. */
export function keyFor (resource: RegistryResource, namespace: string | undefined, name: string): string {
  const layout = layoutOf(resource)
  if (layout.namespaced && (namespace ?? '') === '') throw invalid(`${resource} are namespaced: a key needs a namespace`)
  checkSegment('name', name)
  return prefixFor(resource, namespace) + name
}

/**
 * The prefix covering every object of a resource, or of one namespace (with a
 * trailing slash): pass it to `prefixRange` to list or watch.
 */
export function prefixFor (resource: RegistryResource, namespace?: string): string {
  const layout = layoutOf(resource)
  const ns = namespace ?? ''
  if (ns === '') return `${REGISTRY_PREFIX}/${layout.prefix}/`
  if (!layout.namespaced) throw invalid(`${resource} are cluster-scoped: no namespace in their keys`)
  checkSegment('namespace', ns)
  return `${REGISTRY_PREFIX}/${layout.prefix}/${ns}/`
}

/** Longest prefixes first, so services/specs is not read as a resource "services". */
const byPrefix = (Object.entries(registryResources) as Array<[RegistryResource, ResourceLayout]>)
  .sort((a, b) => b[1].prefix.length - a[1].prefix.length)

/** The object a key names, or undefined when it is not one of ours. */
export function parseKey (key: string): { resource: RegistryResource, namespace: string | undefined, name: string } | undefined {
  if (!key.startsWith(REGISTRY_PREFIX + '/')) return undefined
  const rest = key.slice(REGISTRY_PREFIX.length + 1)
  for (const [resource, layout] of byPrefix) {
    if (!rest.startsWith(layout.prefix + '/')) continue
    const parts = rest.slice(layout.prefix.length + 1).split('/')
    if (layout.namespaced && parts.length === 2 && parts[0] !== '' && parts[1] !== '') return { resource, namespace: parts[0], name: parts[1] as string }
    if (!layout.namespaced && parts.length === 1 && parts[0] !== '') return { resource, namespace: undefined, name: parts[0] as string }
    return undefined
  }
  return undefined
}
