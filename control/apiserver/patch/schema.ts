/**
 * Strategic-merge-patch metadata of the built-in kinds Weft serves: for each
 * field path, the `patchStrategy` and `patchMergeKey` struct tags of the
 * upstream Go types (k8s.io/api: core/v1/types.go, apps/v1/types.go,
 * discovery/v1/types.go, coordination/v1/types.go, autoscaling/v1/types.go;
 * k8s.io/apimachinery: meta/v1/types.go), as of Kubernetes 1.32.
 *
 * A path names a field from the object root: `spec.containers` is the list,
 * `spec.containers[].ports` the `ports` field of each of its items. A field
 * missing from a table has no tag: maps are merged key by key, lists are
 * replaced whole (atomic), scalars are replaced.
 *
 * Fields are declared once per Go struct (the fragments below, named after
 * the struct) and placed under the paths where that struct occurs, so the
 * PodSpec inside a Deployment's template has exactly the Pod's tags.
 */

/** The values the `patchStrategy` tag takes in k8s.io/api. */
export type PatchStrategy = 'merge' | 'replace' | 'retainKeys' | 'merge,retainKeys'

export interface FieldPatchMeta {
  strategy: PatchStrategy
  /** For lists of objects with strategy merge: the field identifying an item. */
  mergeKey?: string
}

/** Field path → patch metadata. */
export type PatchTable = Readonly<Record<string, FieldPatchMeta>>

const merge = (mergeKey?: string): FieldPatchMeta => mergeKey === undefined ? { strategy: 'merge' } : { strategy: 'merge', mergeKey }
const mergeRetainKeys = (mergeKey: string): FieldPatchMeta => ({ strategy: 'merge,retainKeys', mergeKey })
const retainKeys: FieldPatchMeta = { strategy: 'retainKeys' }

/** Places a fragment's paths under `prefix`. */
function at (prefix: string, fragment: PatchTable): Record<string, FieldPatchMeta> {
  const out: Record<string, FieldPatchMeta> = {}
  for (const [path, meta] of Object.entries(fragment)) out[`${prefix}.${path}`] = meta
  return out
}

/** meta/v1 ObjectMeta. */
const ObjectMeta: PatchTable = {
  finalizers: merge(), //                     `patchStrategy:"merge"` (a set of strings)
  ownerReferences: merge('uid') //            `patchStrategy:"merge" patchMergeKey:"uid"`
}

/** core/v1 Container and EphemeralContainerCommon (identical tags). */
const Container: PatchTable = {
  ports: merge('containerPort'),
  env: merge('name'),
  volumeMounts: merge('mountPath'),
  volumeDevices: merge('devicePath')
}

/** core/v1 PodSpec. tolerations, readinessGates, resizePolicy and the like carry no tag: atomic. */
const PodSpec: PatchTable = {
  volumes: mergeRetainKeys('name'),
  initContainers: merge('name'),
  ...at('initContainers[]', Container),
  containers: merge('name'),
  ...at('containers[]', Container),
  ephemeralContainers: merge('name'),
  ...at('ephemeralContainers[]', Container),
  imagePullSecrets: merge('name'),
  hostAliases: merge('ip'),
  topologySpreadConstraints: merge('topologyKey'),
  schedulingGates: merge('name'),
  resourceClaims: mergeRetainKeys('name')
}

/** core/v1 PodStatus. containerStatuses and friends are atomic. */
const PodStatus: PatchTable = {
  conditions: merge('type'),
  podIPs: merge('ip'),
  hostIPs: merge('ip'),
  resourceClaimStatuses: mergeRetainKeys('name')
}

/** core/v1 PodTemplateSpec (in apps/v1 DeploymentSpec and ReplicaSetSpec). */
const PodTemplateSpec: PatchTable = {
  ...at('metadata', ObjectMeta),
  ...at('spec', PodSpec)
}

const conditionsByType: PatchTable = { conditions: merge('type') }

function kind (fields: Record<string, FieldPatchMeta>): PatchTable {
  return Object.freeze({ ...at('metadata', ObjectMeta), ...fields })
}

/** `${apiVersion}/${kind}` → table. The served built-in kinds; anything else has no SMP metadata. */
export const patchTables: ReadonlyMap<string, PatchTable> = new Map<string, PatchTable>([
  ['v1/Namespace', kind({ ...at('status', conditionsByType) })],
  ['v1/Pod', kind({ ...at('spec', PodSpec), ...at('status', PodStatus) })],
  ['v1/Service', kind({ 'spec.ports': merge('port'), ...at('status', conditionsByType) })],
  ['v1/Endpoints', kind({})], //              subsets and their lists are atomic
  ['v1/Node', kind({
    'spec.podCIDRs': merge(), //              `patchStrategy:"merge"` on a []string
    'status.conditions': merge('type'),
    'status.addresses': merge('type')
  })],
  ['v1/ConfigMap', kind({})],
  ['v1/Secret', kind({})],
  ['v1/Event', kind({})],
  ['v1/ServiceAccount', kind({ secrets: merge('name') })],
  ['discovery.k8s.io/v1/EndpointSlice', kind({})], // endpoints and ports are atomic
  ['coordination.k8s.io/v1/Lease', kind({})],
  ['apps/v1/Deployment', kind({
    'spec.strategy': retainKeys, //           `patchStrategy:"retainKeys"`
    ...at('spec.template', PodTemplateSpec),
    ...at('status', conditionsByType)
  })],
  ['apps/v1/ReplicaSet', kind({
    ...at('spec.template', PodTemplateSpec),
    ...at('status', conditionsByType)
  })],
  ['autoscaling/v1/Scale', kind({})]
])

/** The table for a kind, or undefined when the kind has no strategic merge patch metadata (CRDs, unknown kinds). */
export function patchTableFor (gvk: { apiVersion: string, kind: string }): PatchTable | undefined {
  return patchTables.get(`${gvk.apiVersion}/${gvk.kind}`)
}

/** Strategy and merge key at a path: the `merge`/`replace` part of the strategy ('' when none). */
export function lookupPatchMeta (table: PatchTable, path: string): { strategy: '' | 'merge' | 'replace', mergeKey: string } {
  const meta = Object.prototype.hasOwnProperty.call(table, path) ? table[path] : undefined
  if (meta === undefined) return { strategy: '', mergeKey: '' }
  const parts = meta.strategy.split(',')
  const strategy = parts.includes('merge') ? 'merge' : parts.includes('replace') ? 'replace' : ''
  return { strategy, mergeKey: meta.mergeKey ?? '' }
}
