import test from 'ava'
import { RESOURCES, resourceFor } from '../resources.js'
import { parseIncludeObject, parseTableAccept, toTable } from './table.js'
import { PRINTERS } from './printers.js'

const now = new Date('2026-03-01T12:00:00Z')
const pods = resourceFor('', 'v1', 'pods')
const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'default', uid: 'u1', resourceVersion: '41', labels: { app: 'web' }, creationTimestamp: '2026-03-01T11:00:00Z' },
  spec: { containers: [{ name: 'c', image: 'nginx' }], nodeName: 'node-1' },
  status: { phase: 'Running', podIPs: [{ ip: '10.244.0.9' }], containerStatuses: [{ name: 'c', ready: true, restartCount: 0, state: { running: {} } }] }
}

test('every resource in RESOURCES has a printer of its own (none falls back to Name/Created At)', (t) => {
  for (const r of RESOURCES) t.truthy(PRINTERS[`${r.group}/${r.kind}`], `${r.group}/${r.kind}`)
})

test('toTable: kubectl\'s shape with PartialObjectMetadata rows and list metadata', (t) => {
  if (pods === undefined) return t.fail()
  const table = toTable(pods, [pod], { now, includeObject: 'Metadata', resourceVersion: '42', continue: 'abc', remainingItemCount: 3 })
  t.is(table.kind, 'Table')
  t.is(table.apiVersion, 'meta.k8s.io/v1')
  t.deepEqual(table.metadata, { resourceVersion: '42', continue: 'abc', remainingItemCount: 3 })
  t.deepEqual(table.columnDefinitions.map((c) => [c.name, c.priority]),
    [['Name', 0], ['Ready', 0], ['Status', 0], ['Restarts', 0], ['Age', 0], ['IP', 1], ['Node', 1], ['Nominated Node', 1], ['Readiness Gates', 1]])
  t.deepEqual(table.rows, [{
    cells: ['web', '1/1', 'Running', '0', '60m', '10.244.0.9', 'node-1', '<none>', '<none>'],
    object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: pod.metadata }
  }])
  // The JSON kubectl reads: no undefined holes, metadata omits empty fields.
  const json = JSON.parse(JSON.stringify(toTable(pods, [], { now, includeObject: 'Metadata' }))) as Record<string, unknown>
  t.deepEqual(json.metadata, {})
  t.deepEqual(json.rows, [])
})

test('toTable: includeObject Object embeds the object, None omits it; noHeaders and v1beta1', (t) => {
  if (pods === undefined) return t.fail()
  t.deepEqual(toTable(pods, [pod], { now, includeObject: 'Object' }).rows[0]?.object, pod)
  t.false('object' in (toTable(pods, [pod], { now, includeObject: 'None' }).rows[0] ?? {}))
  const watchEvent = toTable(pods, [pod], { now, includeObject: 'Metadata', noHeaders: true, version: 'v1beta1' })
  t.deepEqual(watchEvent.columnDefinitions, [])
  t.is(watchEvent.apiVersion, 'meta.k8s.io/v1beta1')
  t.is((watchEvent.rows[0]?.object as { apiVersion: string }).apiVersion, 'meta.k8s.io/v1beta1')
})

test('toTable: column definitions are copies (callers may not mutate the printer table)', (t) => {
  if (pods === undefined) return t.fail()
  const a = toTable(pods, [], { now, includeObject: 'None' })
  const first = a.columnDefinitions[0]
  if (first === undefined) return t.fail()
  first.name = 'mutated'
  t.is(toTable(pods, [], { now, includeObject: 'None' }).columnDefinitions[0]?.name, 'Name')
})

test('toTable: a kind without a printer gets the default Name / Created At table', (t) => {
  const table = toTable({ group: 'example.com', kind: 'Widget' }, [{ metadata: { name: 'w', creationTimestamp: '2026-01-01T00:00:00Z' } }], { now, includeObject: 'None' })
  t.deepEqual(table.columnDefinitions.map((c) => [c.name, c.type, c.format]), [['Name', 'string', 'name'], ['Created At', 'date', '']])
  t.deepEqual(table.rows[0]?.cells, ['w', '2026-01-01T00:00:00Z'])
})

test('parseTableAccept: kubectl get\'s Accept asks for a v1 Table', (t) => {
  t.deepEqual(parseTableAccept('application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'),
    { table: true, version: 'v1', contentType: 'application/json;as=Table;v=v1;g=meta.k8s.io' })
  t.deepEqual(parseTableAccept('application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json'),
    { table: true, version: 'v1beta1', contentType: 'application/json;as=Table;v=v1beta1;g=meta.k8s.io' })
  // Spaces and parameter order do not matter.
  t.deepEqual(parseTableAccept('application/json; g=meta.k8s.io; v=v1; as=Table'),
    { table: true, version: 'v1', contentType: 'application/json;as=Table;v=v1;g=meta.k8s.io' })
})

test('parseTableAccept: plain JSON, protobuf-only Tables, other groups and q-values', (t) => {
  t.deepEqual(parseTableAccept('application/json'), { table: false })
  t.deepEqual(parseTableAccept(undefined), { table: false })
  t.deepEqual(parseTableAccept('*/*'), { table: false })
  t.deepEqual(parseTableAccept('application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json'), { table: false })
  t.deepEqual(parseTableAccept('application/json;as=Table;v=v2;g=meta.k8s.io,application/json'), { table: false })
  t.deepEqual(parseTableAccept('application/json;as=Table;v=v1;g=example.com'), { table: false })
  t.deepEqual(parseTableAccept('application/json;q=0.9,application/json;as=Table;v=v1;g=meta.k8s.io'), { table: true, version: 'v1', contentType: 'application/json;as=Table;v=v1;g=meta.k8s.io' })
  t.deepEqual(parseTableAccept('application/json;as=Table;v=v1;g=meta.k8s.io;q=0'), { table: false })
})

test('parseIncludeObject: the three values, absent, and invalid', (t) => {
  t.is(parseIncludeObject('Object'), 'Object')
  t.is(parseIncludeObject('None'), 'None')
  t.is(parseIncludeObject('Metadata'), 'Metadata')
  t.is(parseIncludeObject(undefined), undefined)
  t.is(parseIncludeObject(''), undefined)
  t.is(parseIncludeObject('object'), null)
})
