/**
 * The strategic-merge-patch tables: golden text of the Pod table (every tag
 * from core/v1 types.go the engine uses), the pod template of Deployment and
 * ReplicaSet carrying exactly the Pod's tags, and every kind and patchable
 * subresource kind the server serves having a table.
 */
import test from 'ava'
import { RESOURCES } from '../resources.js'
import { type PatchTable, lookupPatchMeta, patchTableFor, patchTables } from './schema.js'

function dump (table: PatchTable, prefix = ''): string {
  return Object.entries(table)
    .filter(([path]) => path.startsWith(prefix))
    .map(([path, meta]) => `${path.slice(prefix.length)} ${meta.strategy}${meta.mergeKey === undefined ? '' : ` ${meta.mergeKey}`}`)
    .sort()
    .join('\n')
}

test('Pod: the patchStrategy/patchMergeKey tags of core/v1 and meta/v1', (t) => {
  t.is(dump(patchTableFor({ apiVersion: 'v1', kind: 'Pod' }) as PatchTable), `metadata.finalizers merge
metadata.ownerReferences merge uid
spec.containers merge name
spec.containers[].env merge name
spec.containers[].ports merge containerPort
spec.containers[].volumeDevices merge devicePath
spec.containers[].volumeMounts merge mountPath
spec.ephemeralContainers merge name
spec.ephemeralContainers[].env merge name
spec.ephemeralContainers[].ports merge containerPort
spec.ephemeralContainers[].volumeDevices merge devicePath
spec.ephemeralContainers[].volumeMounts merge mountPath
spec.hostAliases merge ip
spec.imagePullSecrets merge name
spec.initContainers merge name
spec.initContainers[].env merge name
spec.initContainers[].ports merge containerPort
spec.initContainers[].volumeDevices merge devicePath
spec.initContainers[].volumeMounts merge mountPath
spec.resourceClaims merge,retainKeys name
spec.schedulingGates merge name
spec.topologySpreadConstraints merge topologyKey
spec.volumes merge,retainKeys name
status.conditions merge type
status.hostIPs merge ip
status.podIPs merge ip
status.resourceClaimStatuses merge,retainKeys name`)
})

test('Node, Service, Namespace, ServiceAccount and Deployment tables', (t) => {
  const of = (apiVersion: string, kind: string): string => dump(patchTableFor({ apiVersion, kind }) as PatchTable)
  const meta = 'metadata.finalizers merge\nmetadata.ownerReferences merge uid'
  t.is(of('v1', 'Node'), `${meta}\nspec.podCIDRs merge\nstatus.addresses merge type\nstatus.conditions merge type`)
  t.is(of('v1', 'Service'), `${meta}\nspec.ports merge port\nstatus.conditions merge type`)
  t.is(of('v1', 'Namespace'), `${meta}\nstatus.conditions merge type`)
  t.is(of('v1', 'ServiceAccount'), `${meta}\nsecrets merge name`)
  for (const kind of ['ConfigMap', 'Secret', 'Event', 'Endpoints']) t.is(of('v1', kind), meta, kind)
  t.is(of('discovery.k8s.io/v1', 'EndpointSlice'), meta)
  t.is(of('coordination.k8s.io/v1', 'Lease'), meta)
  t.is(of('autoscaling/v1', 'Scale'), meta)
  const deployment = patchTableFor({ apiVersion: 'apps/v1', kind: 'Deployment' }) as PatchTable
  t.deepEqual(lookupPatchMeta(deployment, 'spec.strategy'), { strategy: '', mergeKey: '' }, 'retainKeys alone is no merge/replace strategy')
  t.deepEqual(lookupPatchMeta(deployment, 'status.conditions'), { strategy: 'merge', mergeKey: 'type' })
})

test('Deployment and ReplicaSet pod templates carry exactly the Pod tags', (t) => {
  const pod = patchTableFor({ apiVersion: 'v1', kind: 'Pod' }) as PatchTable
  const podPart = (prefix: string): string => dump(pod, prefix).split('\n').filter((l) => l !== '').join('\n')
  for (const kind of ['Deployment', 'ReplicaSet']) {
    const table = patchTableFor({ apiVersion: 'apps/v1', kind }) as PatchTable
    t.is(dump(table, 'spec.template.spec.'), podPart('spec.'), kind)
    t.is(dump(table, 'spec.template.metadata.'), podPart('metadata.'), kind)
  }
})

test('every served kind, and the kind of every patchable subresource, has a table', (t) => {
  const missing: string[] = []
  for (const r of RESOURCES) {
    const gv = r.group === '' ? r.version : `${r.group}/${r.version}`
    if (r.verbs.includes('patch') && patchTableFor({ apiVersion: gv, kind: r.kind }) === undefined) missing.push(`${gv}/${r.kind}`)
    for (const s of r.subresources) {
      const sgv = s.group === '' ? s.version : `${s.group}/${s.version}`
      if (s.verbs.includes('patch') && patchTableFor({ apiVersion: sgv, kind: s.kind }) === undefined) missing.push(`${sgv}/${s.kind} (${r.plural}/${s.name})`)
    }
  }
  t.deepEqual(missing, [])
  t.is(patchTables.size, 14)
})

test('lookupPatchMeta: an untagged path has no strategy', (t) => {
  const pod = patchTableFor({ apiVersion: 'v1', kind: 'Pod' }) as PatchTable
  t.deepEqual(lookupPatchMeta(pod, 'spec.tolerations'), { strategy: '', mergeKey: '' })
  t.deepEqual(lookupPatchMeta(pod, 'spec.volumes'), { strategy: 'merge', mergeKey: 'name' })
  t.deepEqual(lookupPatchMeta(pod, '__proto__'), { strategy: '', mergeKey: '' })
})
