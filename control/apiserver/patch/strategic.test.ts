/**
 * Strategic merge patch. The first tables are apimachinery's own cases
 * (strategicpatch/patch_test.go: customStrategicMergePatchTestCaseData,
 * createStrategicMergePatchTestCaseData, strategicMergePatchRawTestCases),
 * rewritten as rows over a table equivalent to its MergeItem struct: each
 * upstream `original + twoWay → modified` and `current + threeWay → result`
 * pair is an apply case here. The last ones run the built-in kinds' tables.
 */
import test from 'ava'
import { parse } from 'yaml'
import { PatchError } from './errors.js'
import type { JsonObject } from './json.js'
import { type FieldPatchMeta, type PatchTable, patchTableFor } from './schema.js'
import { strategicMergePatch } from './strategic.js'

const merge = (mergeKey?: string): FieldPatchMeta => mergeKey === undefined ? { strategy: 'merge' } : { strategy: 'merge', mergeKey }

/** The MergeItem struct of patch_test.go (two levels deep: paths are explicit). */
function mergeItem (prefix: string, depth: number): Record<string, FieldPatchMeta> {
  const p = (f: string): string => prefix === '' ? f : `${prefix}.${f}`
  const out: Record<string, FieldPatchMeta> = {
    [p('mergingList')]: merge('name'),
    [p('mergingIntList')]: merge(),
    [p('mergeItemPtr')]: merge('name'),
    [p('replacingItem')]: { strategy: 'replace' },
    [p('retainKeysMap')]: { strategy: 'retainKeys' },
    [p('retainKeysMap.mergingIntList')]: merge(),
    [p('retainKeysMap.mergingList')]: merge('name'),
    [p('retainKeysMergingList')]: { strategy: 'merge,retainKeys', mergeKey: 'name' }
  }
  if (depth > 0) {
    Object.assign(out, mergeItem(p('mergingList[]'), depth - 1), mergeItem(p('mergeItemPtr[]'), depth - 1),
      mergeItem(p('nonMergingList[]'), depth - 1))
  }
  return out
}
const mergeItemTable: PatchTable = mergeItem('', 2)

interface Row { name: string, original: JsonObject, patch: JsonObject, expected?: JsonObject, error?: string }

const y = (s: string): JsonObject => (parse(s) ?? {}) as JsonObject

function run (rows: Row[], table: PatchTable): void {
  for (const row of rows) {
    test(`smp: ${row.name}`, (t) => {
      const before = JSON.stringify(row.original)
      if (row.error !== undefined) {
        const err = t.throws(() => strategicMergePatch(row.original, row.patch, table))
        t.true(err instanceof PatchError)
        t.true(err?.message.includes(row.error), err?.message)
      } else {
        t.deepEqual(strategicMergePatch(row.original, row.patch, table), row.expected)
      }
      t.is(JSON.stringify(row.original), before, 'original untouched')
    })
  }
}

// customStrategicMergePatchTestCaseData and customStrategicMergePatchRawTestCases
run([
  { name: 'unique scalars when merging lists', original: y('mergingIntList: [1, 2]'), patch: y('mergingIntList: [2, 3]'), expected: y('mergingIntList: [1, 2, 3]') },
  { name: 'delete map from nested map', original: y('simpleMap: {key1: 1, key2: 1}'), patch: y('simpleMap: {$patch: delete}'), expected: y('simpleMap: {}') },
  { name: 'delete all items from merging list', original: y('mergingList: [{name: 1}, {name: 2}]'), patch: y('mergingList: [{$patch: replace}]'), expected: y('mergingList: []') },
  { name: 'merge empty merging lists', original: y('mergingList: []'), patch: y('mergingList: []'), expected: y('mergingList: []') },
  { name: 'delete all keys from map', original: y('{name: 1, value: 1}'), patch: y('$patch: replace'), expected: {} },
  { name: 'add key and delete all keys from map', original: y('{name: 1, value: 1}'), patch: y('{other: a, $patch: replace}'), expected: y('other: a') },
  {
    name: 'delete all duplicate entries in a merging list',
    original: y('mergingList: [{name: 1}, {name: 1}, {name: 2, value: a}, {name: 3}, {name: 3}]'),
    patch: y('mergingList: [{name: 1, $patch: delete}, {name: 3, $patch: delete}]'),
    expected: y('mergingList: [{name: 2, value: a}]')
  },
  { name: 'retainKeys map can add a field when no retainKeys directive present', original: y('retainKeysMap: {name: foo}'), patch: y('retainKeysMap: {value: bar}'), expected: y('retainKeysMap: {name: foo, value: bar}') },
  { name: 'retainKeys map can delete a field when no retainKeys directive present', original: y('retainKeysMap: {name: foo, value: a}'), patch: y('retainKeysMap: {value: null}'), expected: y('retainKeysMap: {name: foo}') },
  { name: 'retainKeys map merge an empty map', original: y('retainKeysMap: {name: foo, value: a}'), patch: y('retainKeysMap: {}'), expected: y('retainKeysMap: {name: foo, value: a}') },
  {
    name: 'retainKeys list can change a field when no retainKeys directive present',
    original: y('retainKeysMergingList: [{name: bar}, {name: foo, value: a}]'),
    patch: y('retainKeysMergingList: [{name: foo, value: b}]'),
    expected: y('retainKeysMergingList: [{name: bar}, {name: foo, value: b}]')
  },
  {
    name: 'preserve the order from the patch in a merging list',
    original: y('mergingList: [{name: 1}, {name: 2, value: b}, {name: 3}]'),
    patch: y('mergingList: [{name: 3, value: c}, {name: 1, value: a}, {name: 2, other: x}]'),
    expected: y('mergingList: [{name: 3, value: c}, {name: 1, value: a}, {name: 2, value: b, other: x}]')
  },
  {
    name: 'preserve the order from the patch in a merging list 2',
    original: y('mergingList: [{name: 1}, {name: 2, value: b}, {name: 3}]'),
    patch: y('mergingList: [{name: 3, value: c}, {name: 1, value: a}]'),
    expected: y('mergingList: [{name: 2, value: b}, {name: 3, value: c}, {name: 1, value: a}]')
  },
  { name: 'preserve the order from the patch in a merging int list', original: y('mergingIntList: [1, 2, 3]'), patch: y('mergingIntList: [3, 1, 2]'), expected: y('mergingIntList: [3, 1, 2]') },
  { name: 'preserve the order from the patch in a merging int list 2', original: y('mergingIntList: [1, 2, 3]'), patch: y('mergingIntList: [3, 1]'), expected: y('mergingIntList: [2, 3, 1]') },
  {
    name: '$setElementOrder contains item that is not present in the list to be merged',
    original: y('mergingList: [{name: 1}, {name: 3}]'),
    patch: y('{$setElementOrder/mergingList: [{name: 3}, {name: 2}, {name: 1}], mergingList: [{name: 3, value: 3}, {name: 1, value: 1}]}'),
    expected: y('mergingList: [{name: 3, value: 3}, {name: 1, value: 1}]')
  },
  {
    name: '$setElementOrder contains item that is not present in the int list to be merged',
    original: y('mergingIntList: [1, 3]'),
    patch: y('$setElementOrder/mergingIntList: [3, 2, 1]'),
    expected: y('mergingIntList: [3, 1]')
  },
  {
    name: 'should check if order in $setElementOrder and patch list match',
    original: y('mergingList: [{name: 1}, {name: 3}, {name: 2}]'),
    patch: y('{$setElementOrder/mergingList: [{name: 1}, {name: 2}, {name: 3}], mergingList: [{name: 3, value: 3}, {name: 1, value: 1}]}'),
    error: "doesn't match"
  },
  {
    name: 'should check if order in $setElementOrder and patch int list match',
    original: y('mergingIntList: [1, 3, 2]'),
    patch: y('{$setElementOrder/mergingIntList: [1, 2, 3], mergingIntList: [3, 1]}'),
    error: "doesn't match"
  },
  { name: 'missing merge key should error out', original: y('mergingList: [{name: 1, value: a}]'), patch: y('mergingList: [{value: b}]'), error: 'does not contain declared merge key' }
], mergeItemTable)

// createStrategicMergePatchTestCaseData (current + threeWay → result) and strategicMergePatchRawTestCases
run([
  { name: 'nil original', original: y('{name: 1, other: a}'), patch: y('value: 1'), expected: y('{name: 1, value: 1, other: a}') },
  { name: 'add field and delete field from map', original: y('{name: 1, other: a}'), patch: y('{name: null, value: 1}'), expected: y('{value: 1, other: a}') },
  { name: 'delete field from nested map', original: y('simpleMap: {key1: 1, key2: 1, other: a}'), patch: y('simpleMap: {key2: null}'), expected: y('simpleMap: {key1: 1, other: a}') },
  { name: 'replace list of scalars with conflict', original: y('nonMergingIntList: [1, 4]'), patch: y('nonMergingIntList: [2, 3]'), expected: y('nonMergingIntList: [2, 3]') },
  {
    name: 'delete all maps from merging list with conflict',
    original: y('mergingList: [{name: 1, other: a}, {name: 2, other: b}]'),
    patch: y('mergingList: [{name: 1, $patch: delete}, {name: 2, $patch: delete}]'),
    expected: y('mergingList: []')
  },
  { name: 'delete all maps from empty merging list', original: y('mergingList: []'), patch: y('mergingList: [{name: 1, $patch: delete}, {name: 2, $patch: delete}]'), expected: y('mergingList: []') },
  { name: 'defined null values should propagate overwrite current fields', original: y('{name: a, other: a}'), patch: y('{name: 1, value: 1, other: null}'), expected: y('{name: 1, value: 1}') },
  {
    name: 'delete items in lists of scalars',
    original: y('mergingIntList: [1, 2, 3, 4]'),
    patch: y('{$setElementOrder/mergingIntList: [1, 2], $deleteFromPrimitiveList/mergingIntList: [3]}'),
    expected: y('mergingIntList: [1, 2, 4]')
  },
  {
    name: 'delete all duplicate items in lists of scalars',
    original: y('mergingIntList: [1, 2, 3, 3, 4]'),
    patch: y('{$setElementOrder/mergingIntList: [1, 2], $deleteFromPrimitiveList/mergingIntList: [3]}'),
    expected: y('mergingIntList: [1, 2, 4]')
  },
  {
    name: 'add and delete items in lists of scalars',
    original: y('mergingIntList: [1, 2, 3]'),
    patch: y('{$setElementOrder/mergingIntList: [1, 2, 4], $deleteFromPrimitiveList/mergingIntList: [3], mergingIntList: [4]}'),
    expected: y('mergingIntList: [1, 2, 4]')
  },
  {
    name: 'merge lists of maps',
    original: y('mergingList: [{name: 1, other: a}, {name: 2, value: 2, other: b}]'),
    patch: y('{$setElementOrder/mergingList: [{name: 4}, {name: 1}, {name: 2}, {name: 3}], mergingList: [{name: 4, value: 4}, {name: 3, value: 3}]}'),
    expected: y('mergingList: [{name: 4, value: 4}, {name: 1, other: a}, {name: 2, value: 2, other: b}, {name: 3, value: 3}]')
  },
  {
    name: 'merge lists of maps with conflict',
    original: y('mergingList: [{name: 1, other: a}, {name: 2, value: 3, other: b}]'),
    patch: y('{$setElementOrder/mergingList: [{name: 1}, {name: 2}, {name: 3}], mergingList: [{name: 2, value: 2}, {name: 3, value: 3}]}'),
    expected: y('mergingList: [{name: 1, other: a}, {name: 2, value: 2, other: b}, {name: 3, value: 3}]')
  },
  {
    name: 'add field to map in merging list with conflict',
    original: y('mergingList: [{name: 1, other: a}, {name: 3, value: 2, other: b}]'),
    patch: y('{$setElementOrder/mergingList: [{name: 1}, {name: 2}], mergingList: [{name: 1, value: 1}, {name: 2, value: 2}]}'),
    expected: y('mergingList: [{name: 1, value: 1, other: a}, {name: 2, value: 2}, {name: 3, value: 2, other: b}]')
  },
  {
    name: 'replace map field value in merging list',
    original: y('mergingList: [{name: 1, value: 1, other: a}, {name: 2, value: 2, other: b}]'),
    patch: y('{$setElementOrder/mergingList: [{name: 1}, {name: 2}], mergingList: [{name: 1, value: a}]}'),
    expected: y('mergingList: [{name: 1, value: a, other: a}, {name: 2, value: 2, other: b}]')
  },
  {
    name: 'delete field from map in merging list',
    original: y('mergingList: [{name: 1, value: 1, other: a}, {name: 2, value: 2, other: b}]'),
    patch: y('{$setElementOrder/mergingList: [{name: 1}, {name: 2}], mergingList: [{name: 1, value: null}]}'),
    expected: y('mergingList: [{name: 1, other: a}, {name: 2, value: 2, other: b}]')
  },
  {
    name: 'replace non merging list nested in merging list with value conflict',
    original: y('mergingList: [{name: 1, other: a, nonMergingList: [{name: 1, value: c}]}, {name: 2, other: b}]'),
    patch: y('{$setElementOrder/mergingList: [{name: 1}, {name: 2}], mergingList: [{name: 1, nonMergingList: [{name: 1, value: 1}]}]}'),
    expected: y('mergingList: [{name: 1, other: a, nonMergingList: [{name: 1, value: 1}]}, {name: 2, other: b}]')
  },
  {
    name: 'add field to map in merging list nested in merging list with deletion conflict (reordered)',
    original: y('mergingList: [{name: 1, other: a, mergingList: [{name: 2, value: 2, other: d}]}, {name: 2, other: b}]'),
    patch: y('{$setElementOrder/mergingList: [{name: 1}, {name: 2}], mergingList: [{$setElementOrder/mergingList: [{name: 2}, {name: 1}], name: 1, mergingList: [{name: 1, value: 1}]}]}'),
    expected: y('mergingList: [{name: 1, other: a, mergingList: [{name: 2, value: 2, other: d}, {name: 1, value: 1}]}, {name: 2, other: b}]')
  },
  {
    name: 'add map to merging list by pointer',
    original: y('mergeItemPtr: [{name: 1, other: a}, {name: 3}]'),
    patch: y('{$setElementOrder/mergeItemPtr: [{name: 1}, {name: 2}], mergeItemPtr: [{name: 2}]}'),
    expected: y('mergeItemPtr: [{name: 1, other: a}, {name: 2}, {name: 3}]')
  },
  {
    name: 'add map to merging list by pointer with conflict',
    original: y('mergeItemPtr: [{name: 3}]'),
    patch: y('{$setElementOrder/mergeItemPtr: [{name: 1}, {name: 2}], mergeItemPtr: [{name: 1}, {name: 2}]}'),
    expected: y('mergeItemPtr: [{name: 1}, {name: 2}, {name: 3}]')
  },
  {
    // Our derivation from mergeSlice: without $setElementOrder, items new to the list come before
    // server-only items (mergeSortedSlice cannot place them), $patch delete applies first.
    name: 'add map and delete map from merging list with conflict',
    original: y('mergingList: [{name: 1, other: a}, {name: 4, other: c}]'),
    patch: y('{$setElementOrder/mergingList: [{name: 2}, {name: 3}], mergingList: [{name: 3}, {name: 1, $patch: delete}]}'),
    expected: y('mergingList: [{name: 3}, {name: 4, other: c}]')
  },
  {
    name: 'retainKeys map adds an item in nested merging list',
    original: y('retainKeysMap: {name: foo, other: x, mergingList: [{name: a}, {name: b}]}'),
    patch: y('retainKeysMap: {$retainKeys: [mergingList, name, value], $setElementOrder/mergingList: [{name: a}, {name: b}, {name: c}], mergingList: [{name: c}], value: bar}'),
    expected: y('retainKeysMap: {name: foo, value: bar, mergingList: [{name: a}, {name: b}, {name: c}]}')
  },
  {
    name: 'retainKeys rejects a patch key it does not list',
    original: y('retainKeysMap: {name: foo}'),
    patch: y('retainKeysMap: {$retainKeys: [name], value: bar}'),
    error: 'invalid patch format of retainKeys'
  },
  { name: 'replace strategy replaces the whole map', original: y('replacingItem: {Some: Generic, Yaml: Inside}'), patch: y('replacingItem: {Newly: Modified, Yaml: Inside}'), expected: y('replacingItem: {Newly: Modified, Yaml: Inside}') },
  { name: 'nonMergingList is replaced whole', original: y('nonMergingList: [{name: 1}, {name: 2}]'), patch: y('nonMergingList: [{name: 3}]'), expected: y('nonMergingList: [{name: 3}]') },
  {
    name: 'merging list nested in a merging list merges by name (new items first without $setElementOrder)',
    original: y('mergingList: [{name: 1, mergingList: [{name: a, value: x}]}]'),
    patch: y('mergingList: [{name: 1, mergingList: [{name: b}]}]'),
    expected: y('mergingList: [{name: 1, mergingList: [{name: b}, {name: a, value: x}]}]')
  },
  { name: '$patch merge on a map is the default merge', original: y('simpleMap: {a: 1}'), patch: y('simpleMap: {$patch: merge, b: 2}'), expected: y('simpleMap: {a: 1, b: 2}') },
  { name: 'unknown $patch on a map is an error', original: y('simpleMap: {a: 1}'), patch: y('simpleMap: {$patch: frobnicate}'), error: 'unknown patch type: frobnicate' },
  { name: 'a list holding lists cannot be merged', original: y('mergingIntList: [[1]]'), patch: y('mergingIntList: [[2]]'), error: 'the server rejected our request' },
  { name: 'list element types must agree', original: y('mergingIntList: [1]'), patch: y('mergingIntList: [a]'), error: 'list element types are not identical' },
  { name: 'malformed $deleteFromPrimitiveList key', original: y('mergingIntList: [1]'), patch: y('$deleteFromPrimitiveListX: [1]'), error: 'invalid patch format of primitive list' },
  { name: 'malformed $setElementOrder key', original: y('mergingIntList: [1]'), patch: y('$setElementOrderX: [1]'), error: 'invalid patch format of setElementOrder list' },
  {
    name: 'new values are stored without directives or nulls',
    original: y('name: a'),
    patch: y('{mergingList: [{name: 1, $setElementOrder/mergingList: [{name: x}], mergingList: [{name: x}], drop: null}], simpleMap: {$patch: replace, k: v}}'),
    expected: y('{name: a, mergingList: [{name: 1, mergingList: [{name: x}]}], simpleMap: {k: v}}')
  },
  { name: '$deleteFromPrimitiveList on an absent list changes nothing', original: y('name: a'), patch: y('$deleteFromPrimitiveList/mergingIntList: [1]'), expected: y('name: a') }
], mergeItemTable)

const pod = patchTableFor({ apiVersion: 'v1', kind: 'Pod' }) as PatchTable
const deployment = patchTableFor({ apiVersion: 'apps/v1', kind: 'Deployment' }) as PatchTable
const node = patchTableFor({ apiVersion: 'v1', kind: 'Node' }) as PatchTable
const service = patchTableFor({ apiVersion: 'v1', kind: 'Service' }) as PatchTable

run([
  {
    name: 'Pod: env merged by name, volumeMounts by mountPath, ports by containerPort',
    original: y(`spec:
      containers:
      - name: c
        env: [{name: A, value: '1'}, {name: B, value: '2'}]
        volumeMounts: [{name: v, mountPath: /a}]
        ports: [{containerPort: 80, protocol: TCP}]`),
    patch: y(`spec:
      containers:
      - name: c
        env: [{name: B, value: '3'}, {name: C, value: '4'}]
        volumeMounts: [{name: w, mountPath: /b}]
        ports: [{containerPort: 80, name: http}]`),
    expected: y(`spec:
      containers:
      - name: c
        env: [{name: A, value: '1'}, {name: B, value: '3'}, {name: C, value: '4'}]
        volumeMounts: [{name: w, mountPath: /b}, {name: v, mountPath: /a}]
        ports: [{containerPort: 80, protocol: TCP, name: http}]`)
  },
  {
    name: 'Pod: $patch delete removes a container by name',
    original: y('spec: {containers: [{name: a, image: x}, {name: b, image: y}]}'),
    patch: y('spec: {containers: [{name: a, $patch: delete}]}'),
    expected: y('spec: {containers: [{name: b, image: y}]}')
  },
  {
    name: 'Pod: tolerations are atomic (replaced whole)',
    original: y('spec: {tolerations: [{key: a, operator: Exists}, {key: b, operator: Exists}]}'),
    patch: y('spec: {tolerations: [{key: c, operator: Exists}]}'),
    expected: y('spec: {tolerations: [{key: c, operator: Exists}]}')
  },
  {
    name: 'Pod: volumes merged by name, retainKeys swaps the volume source',
    original: y('spec: {volumes: [{name: data, emptyDir: {}}, {name: cfg, configMap: {name: c}}]}'),
    patch: y('spec: {volumes: [{name: data, $retainKeys: [hostPath, name], hostPath: {path: /srv}}]}'),
    expected: y('spec: {volumes: [{name: data, hostPath: {path: /srv}}, {name: cfg, configMap: {name: c}}]}')
  },
  {
    name: 'Pod: status conditions merged by type, podIPs by ip',
    original: y('status: {conditions: [{type: Ready, status: "False"}, {type: PodScheduled, status: "True"}], podIPs: [{ip: 10.0.0.1}]}'),
    patch: y('status: {conditions: [{type: Ready, status: "True"}], podIPs: [{ip: "fd00::1"}]}'),
    expected: y('status: {conditions: [{type: Ready, status: "True"}, {type: PodScheduled, status: "True"}], podIPs: [{ip: "fd00::1"}, {ip: 10.0.0.1}]}')
  },
  {
    name: 'metadata: finalizers are a merged set, $deleteFromPrimitiveList removes one',
    original: y('metadata: {finalizers: [a, b]}'),
    patch: y('metadata: {finalizers: [c, a], $deleteFromPrimitiveList/finalizers: [b]}'),
    expected: y('metadata: {finalizers: [c, a]}')
  },
  {
    name: 'metadata: ownerReferences merged by uid, labels key by key, null deletes',
    original: y('metadata: {labels: {a: "1", b: "2"}, ownerReferences: [{uid: u1, name: rs1}]}'),
    patch: y('metadata: {labels: {b: null, c: "3"}, ownerReferences: [{uid: u2, name: rs2}]}'),
    expected: y('metadata: {labels: {a: "1", c: "3"}, ownerReferences: [{uid: u2, name: rs2}, {uid: u1, name: rs1}]}')
  },
  {
    name: 'Deployment: the pod template has the PodSpec tags',
    original: y('spec: {template: {metadata: {labels: {app: a}}, spec: {containers: [{name: c, image: x}], initContainers: [{name: i, image: y}]}}}'),
    patch: y('spec: {template: {metadata: {labels: {v: "2"}}, spec: {containers: [{name: c, image: z}], initContainers: [{name: j, image: w}]}}}'),
    expected: y('spec: {template: {metadata: {labels: {app: a, v: "2"}}, spec: {containers: [{name: c, image: z}], initContainers: [{name: j, image: w}, {name: i, image: y}]}}}')
  },
  {
    name: 'Deployment: kubectl switching strategy to Recreate (retainKeys drops rollingUpdate)',
    original: y('spec: {strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}}}'),
    patch: y('spec: {strategy: {$retainKeys: [type], type: Recreate, rollingUpdate: null}}'),
    expected: y('spec: {strategy: {type: Recreate}}')
  },
  {
    name: 'Node: conditions and addresses merged by type, podCIDRs as a set',
    original: y('spec: {podCIDRs: [10.244.1.0/24]}\nstatus: {conditions: [{type: Ready, status: "False"}], addresses: [{type: InternalIP, address: 10.0.0.5}]}'),
    patch: y('spec: {podCIDRs: ["fd00:1::/64"]}\nstatus: {conditions: [{type: Ready, status: "True"}, {type: MemoryPressure, status: "False"}], addresses: [{type: Hostname, address: n1}]}'),
    expected: y('spec: {podCIDRs: ["fd00:1::/64", 10.244.1.0/24]}\nstatus: {conditions: [{type: Ready, status: "True"}, {type: MemoryPressure, status: "False"}], addresses: [{type: Hostname, address: n1}, {type: InternalIP, address: 10.0.0.5}]}')
  },
  {
    name: 'Service: ports merged by port',
    original: y('spec: {ports: [{port: 80, targetPort: 8080, protocol: TCP}, {port: 443, protocol: TCP}]}'),
    patch: y('spec: {ports: [{port: 80, targetPort: 9090}]}'),
    expected: y('spec: {ports: [{port: 80, targetPort: 9090, protocol: TCP}, {port: 443, protocol: TCP}]}')
  }
], { ...pod, ...deployment, ...node, ...service })

test('smp: the kubectl 1.32 client-side apply payload (new port and sidecar)', (t) => {
  const lastApplied = '{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{},"name":"web","namespace":"default"},"spec":{"containers":[{"image":"busybox:1.36","name":"c","ports":[{"containerPort":80},{"containerPort":81,"name":"alt"}]},{"image":"busybox","name":"side"}]}}\n'
  const original = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: 'f3c1',
      resourceVersion: '41',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"old":true}\n' }
    },
    spec: {
      containers: [{ name: 'c', image: 'busybox:1.35', ports: [{ containerPort: 80, protocol: 'TCP' }], terminationMessagePath: '/dev/termination-log' }],
      restartPolicy: 'Always'
    },
    status: { phase: 'Running' }
  }
  const patch = JSON.parse(`{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":${JSON.stringify(lastApplied)}}},"spec":{"$setElementOrder/containers":[{"name":"c"},{"name":"side"}],"containers":[{"$setElementOrder/ports":[{"containerPort":80},{"containerPort":81}],"image":"busybox:1.36","name":"c","ports":[{"containerPort":81,"name":"alt"}]},{"image":"busybox","name":"side"}]}}`) as JsonObject
  const got = strategicMergePatch(original, patch, pod)
  t.deepEqual(got, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: 'f3c1',
      resourceVersion: '41',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied }
    },
    spec: {
      containers: [
        {
          name: 'c',
          image: 'busybox:1.36',
          ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 81, name: 'alt' }],
          terminationMessagePath: '/dev/termination-log'
        },
        { image: 'busybox', name: 'side' }
      ],
      restartPolicy: 'Always'
    },
    status: { phase: 'Running' }
  })
  // Exact JSON text too: list order and key placement are part of what kubectl sees.
  t.is(JSON.stringify(got.spec), '{"containers":[{"name":"c","image":"busybox:1.36","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":81,"name":"alt"}],"terminationMessagePath":"/dev/termination-log"},{"image":"busybox","name":"side"}],"restartPolicy":"Always"}')
  t.is(original.spec.containers[0]?.image, 'busybox:1.35', 'original untouched')
})

test('smp: kubectl removing a sidecar and reordering (3-way patch with $patch delete and $setElementOrder)', (t) => {
  const original = y(`spec:
    containers:
    - {name: a, image: x}
    - {name: side, image: s}
    - {name: b, image: y}`)
  const patch = y(`spec:
    $setElementOrder/containers: [{name: b}, {name: a}]
    containers:
    - {name: side, $patch: delete}`)
  t.deepEqual(strategicMergePatch(original, patch, pod), y(`spec:
    containers:
    - {name: b, image: y}
    - {name: a, image: x}`))
})

test('smp: kubectl apply dropping an env var from a Deployment (nested $setElementOrder with a $patch delete item)', (t) => {
  const original = y(`spec:
    replicas: 2
    template:
      metadata: {labels: {app: web}}
      spec:
        containers:
        - name: c
          image: nginx
          env: [{name: A, value: '1'}, {name: B, value: '2'}]`)
  const patch = JSON.parse('{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"c"}],"containers":[{"$setElementOrder/env":[{"name":"A"}],"env":[{"$patch":"delete","name":"B"}],"name":"c"}]}}}}') as JsonObject
  t.deepEqual(strategicMergePatch(original, patch, deployment), y(`spec:
    replicas: 2
    template:
      metadata: {labels: {app: web}}
      spec:
        containers:
        - name: c
          image: nginx
          env: [{name: A, value: '1'}]`))
})

test('smp: kubectl set image and rollout restart patches on a Deployment', (t) => {
  const original = y('spec: {template: {metadata: {annotations: {x: y}}, spec: {containers: [{name: a, image: one}, {name: b, image: two}]}}}')
  const setImage = JSON.parse('{"spec":{"template":{"spec":{"containers":[{"image":"three","name":"b"}]}}}}') as JsonObject
  const restart = JSON.parse('{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-01-01T00:00:00Z"}}}}}') as JsonObject
  const after = strategicMergePatch(strategicMergePatch(original, setImage, deployment), restart, deployment)
  t.deepEqual(after, y('spec: {template: {metadata: {annotations: {x: y, kubectl.kubernetes.io/restartedAt: "2026-01-01T00:00:00Z"}}, spec: {containers: [{name: a, image: one}, {name: b, image: three}]}}}'))
})
