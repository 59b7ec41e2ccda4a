/**
 * Discovery documents, computed from RESOURCES: the legacy documents every
 * kubectl reads (`/api` APIVersions, `/api/v1` and `/apis/<g>/<v>`
 * APIResourceList, `/apis` APIGroupList, `/apis/<g>` APIGroup) and aggregated
 * discovery (`apidiscovery.k8s.io/v2` and `v2beta1` APIGroupDiscoveryList for
 * `/api` and `/apis`), which kubectl 1.30+ asks for first and recognises only by
 * the response Content-Type (client-go `discovery_client.go`).
 */
import { createHash } from 'node:crypto'
import { RESOURCES, apiVersionOf, type ResourceInfo, type SubresourceInfo, type Verb } from './resources.js'
import { parseAccept } from './tables/index.js'

export interface GroupVersionForDiscovery { groupVersion: string, version: string }
export interface APIGroup { name: string, versions: GroupVersionForDiscovery[], preferredVersion: GroupVersionForDiscovery }
export interface APIResource {
  name: string
  singularName: string
  namespaced: boolean
  group?: string
  version?: string
  kind: string
  verbs: Verb[]
  shortNames?: string[]
  categories?: string[]
  storageVersionHash?: string
}

/**
 * `discovery.StorageVersionHash`: base64 of the first 8 bytes of
 * sha256("<group>/<version>/<kind>") (of the storage version); clients use
 * it only to notice that a resource's storage changed.
 */
export function storageVersionHash (group: string, version: string, kind: string): string {
  return createHash('sha256').update(`${group}/${version}/${kind}`).digest().subarray(0, 8).toString('base64')
}

interface GV { group: string, version: string, resources: ResourceInfo[] }

function groupsOf (resources: readonly ResourceInfo[]): GV[] {
  const out: GV[] = []
  for (const info of resources) {
    let gv = out.find((g) => g.group === info.group && g.version === info.version)
    if (gv === undefined) { gv = { group: info.group, version: info.version, resources: [] }; out.push(gv) }
    gv.resources.push(info)
  }
  return out
}

/** `GET /api`: the legacy core versions, with the address clients should use (e.g. "10.0.0.1:6443"). */
export function apiVersions (serverAddress: string, resources: readonly ResourceInfo[] = RESOURCES): object {
  const versions = [...new Set(resources.filter((r) => r.group === '').map((r) => r.version))]
  return {
    kind: 'APIVersions',
    versions,
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }]
  }
}

function apiGroupOf (gvs: GV[]): APIGroup {
  const first = gvs[0] as GV
  const versions = gvs.map((g) => ({ groupVersion: `${g.group}/${g.version}`, version: g.version }))
  return { name: first.group, versions, preferredVersion: versions[0] as GroupVersionForDiscovery }
}

/** The named groups (core excluded), each with its versions, preferred first. */
function namedGroups (resources: readonly ResourceInfo[]): APIGroup[] {
  const byGroup = new Map<string, GV[]>()
  for (const gv of groupsOf(resources)) {
    if (gv.group === '') continue
    byGroup.set(gv.group, [...(byGroup.get(gv.group) ?? []), gv])
  }
  return [...byGroup.values()].map(apiGroupOf)
}

/** `GET /apis`: APIGroupList of every named group (core is served at /api). */
export function apiGroupList (resources: readonly ResourceInfo[] = RESOURCES): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: namedGroups(resources) }
}

/** `GET /apis/<group>`: that group's APIGroup, or undefined (404) for a group not served. */
export function apiGroup (group: string, resources: readonly ResourceInfo[] = RESOURCES): object | undefined {
  const g = namedGroups(resources).find((x) => x.name === group)
  return g === undefined ? undefined : { kind: 'APIGroup', apiVersion: 'v1', ...g }
}

function subresourceEntry (parent: ResourceInfo, sub: SubresourceInfo): APIResource {
  const entry: APIResource = { name: `${parent.plural}/${sub.name}`, singularName: '', namespaced: parent.namespaced, kind: sub.kind, verbs: [...sub.verbs] }
  // group/version appear only when the subresource's kind lives elsewhere (deployments/scale: autoscaling/v1 Scale).
  if (sub.group !== parent.group || sub.version !== parent.version) {
    entry.group = sub.group
    entry.version = sub.version
  }
  return entry
}

function resourceEntry (info: ResourceInfo): APIResource {
  const entry: APIResource = { name: info.plural, singularName: info.singular, namespaced: info.namespaced, kind: info.kind, verbs: [...info.verbs] }
  if (info.shortNames.length > 0) entry.shortNames = [...info.shortNames]
  if (info.categories.length > 0) entry.categories = [...info.categories]
  entry.storageVersionHash = storageVersionHash(info.group, info.version, info.kind)
  return entry
}

/**
 * `GET /api/v1` or `GET /apis/<group>/<version>`: APIResourceList with one
 * entry per resource and per subresource (`pods/status`, `pods/binding`,
 * `deployments/scale`, ...), sorted by name as kube-apiserver sorts them.
 * Undefined (404) for a group/version not served.
 */
export function apiResourceList (group: string, version: string, resources: readonly ResourceInfo[] = RESOURCES): object | undefined {
  const gv = groupsOf(resources).find((g) => g.group === group && g.version === version)
  if (gv === undefined) return undefined
  const entries: APIResource[] = []
  for (const info of gv.resources) {
    entries.push(resourceEntry(info))
    for (const sub of info.subresources) entries.push(subresourceEntry(info, sub))
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(gv), resources: entries }
}

// ---- aggregated discovery (KEP-3352) ---------------------------------------

export type AggregatedVersion = 'v2' | 'v2beta1'

function aggregatedResource (info: ResourceInfo): object {
  const out: Record<string, unknown> = {
    resource: info.plural,
    responseKind: { group: info.group, version: info.version, kind: info.kind },
    scope: info.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: info.singular,
    verbs: [...info.verbs]
  }
  if (info.shortNames.length > 0) out.shortNames = [...info.shortNames]
  if (info.categories.length > 0) out.categories = [...info.categories]
  if (info.subresources.length > 0) {
    out.subresources = info.subresources.map((s) => ({
      subresource: s.name,
      responseKind: { group: s.group, version: s.version, kind: s.kind },
      verbs: [...s.verbs]
    }))
  }
  return out
}

function aggregatedGroups (resources: readonly ResourceInfo[], core: boolean): object[] {
  const byGroup = new Map<string, GV[]>()
  for (const gv of groupsOf(resources)) {
    if ((gv.group === '') !== core) continue
    byGroup.set(gv.group, [...(byGroup.get(gv.group) ?? []), gv])
  }
  return [...byGroup.entries()].map(([name, gvs]) => ({
    metadata: { name },
    versions: gvs.map((gv) => ({
      version: gv.version,
      resources: [...gv.resources].sort((a, b) => (a.plural < b.plural ? -1 : a.plural > b.plural ? 1 : 0)).map(aggregatedResource),
      freshness: 'Current'
    }))
  }))
}

/**
 * Aggregated discovery: `scope: 'core'` is the document for `/api` (the core
 * group, named ""), `scope: 'apis'` the one for `/apis` (every named group).
 */
export function aggregatedDiscovery (scope: 'core' | 'apis', version: AggregatedVersion = 'v2', resources: readonly ResourceInfo[] = RESOURCES): object {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: aggregatedGroups(resources, scope === 'core')
  }
}

export type DiscoveryNegotiation =
  | { aggregated: true, version: AggregatedVersion, contentType: string }
  | { aggregated: false, contentType: 'application/json' }

/**
 * Decides from the Accept header of `GET /api` or `GET /apis` whether to answer
 * with aggregated discovery. kubectl 1.30+ sends
 * `application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,…;v=v2beta1…,application/json`
 * and tells the two answers apart by the Content-Type alone, so the aggregated
 * answer must carry exactly `application/json;g=apidiscovery.k8s.io;v=<v>;as=APIGroupDiscoveryList`.
 */
export function negotiateDiscovery (accept: string | undefined): DiscoveryNegotiation {
  for (const m of parseAccept(accept ?? '')) {
    const json = m.type === 'application' && m.subtype === 'json'
    const any = (m.type === 'application' && m.subtype === '*') || (m.type === '*' && m.subtype === '*')
    if (!json && !any) continue
    const as = m.params.as
    if (as === undefined) return { aggregated: false, contentType: 'application/json' }
    if (!json || as !== 'APIGroupDiscoveryList' || m.params.g !== 'apidiscovery.k8s.io') continue
    const v = m.params.v
    if (v !== 'v2' && v !== 'v2beta1') continue
    return { aggregated: true, version: v, contentType: `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList` }
  }
  return { aggregated: false, contentType: 'application/json' }
}
