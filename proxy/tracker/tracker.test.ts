import test from 'ava'
import { ChangeTracker } from './tracker.js'
import type { EndpointSlice, Service } from './types.js'

const svc = (name: string, port = 80, extra: Partial<Service['metadata']> = {}): Service => ({
  metadata: { namespace: 'ns1', name, ...extra },
  spec: { clusterIP: '172.30.0.41', ports: [{ name: 'p80', port, protocol: 'TCP' }] }
})
const slice = (name: string, svcName: string, ips: string[]): EndpointSlice => ({
  metadata: { namespace: 'ns1', name, labels: { 'kubernetes.io/service-name': svcName } },
  addressType: 'IPv4',
  endpoints: ips.map((a) => ({ addresses: [a] })),
  ports: [{ name: 'p80', port: 80, protocol: 'TCP' }]
})

test('a service added then deleted before a sync is a net no-op', (t) => {
  const tr = new ChangeTracker()
  t.true(tr.event({ type: 'ADDED', kind: 'Service', object: svc('a') }))
  t.false(tr.event({ type: 'DELETED', kind: 'Service', object: svc('a') }))
  t.deepEqual(tr.pending, { services: 0, endpointSlices: 0 })
  t.deepEqual([...tr.checkout().changed], [])
})

test('a modification and its reversal drop the pending change; a label-only change is a no-op', (t) => {
  const tr = new ChangeTracker()
  tr.event({ type: 'ADDED', kind: 'Service', object: svc('a') })
  t.deepEqual([...tr.checkout().changed], ['ns1/a'])
  t.true(tr.event({ type: 'MODIFIED', kind: 'Service', object: svc('a', 81) }))
  t.false(tr.event({ type: 'MODIFIED', kind: 'Service', object: svc('a', 80) }))
  t.false(tr.event({ type: 'MODIFIED', kind: 'Service', object: svc('a', 80, { labels: { x: 'y' }, resourceVersion: '9' }) }))
  t.is(tr.checkout().changed.size, 0)
  t.true(tr.event({ type: 'MODIFIED', kind: 'Service', object: svc('a', 81) }))
  t.deepEqual([...tr.checkout().changed], ['ns1/a'])
  t.is(tr.service('ns1/a')?.spec.ports?.[0]?.port, 81)
})

test('slice changes mark their service; a slice moving between services marks both', (t) => {
  const tr = new ChangeTracker()
  tr.event({ type: 'ADDED', kind: 'EndpointSlice', object: slice('s1', 'a', ['10.0.0.1']) })
  t.deepEqual([...tr.checkout().changed], ['ns1/a'])
  t.deepEqual(tr.slicesOf('ns1/a').map((s) => s.metadata.name), ['s1'])
  tr.event({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('s1', 'b', ['10.0.0.1']) })
  t.deepEqual([...tr.checkout().changed].sort(), ['ns1/a', 'ns1/b'])
  t.deepEqual(tr.slicesOf('ns1/a'), [])
  t.is(tr.slicesOf('ns1/b').length, 1)
  tr.event({ type: 'DELETED', kind: 'EndpointSlice', object: slice('s1', 'b', []) })
  t.deepEqual([...tr.checkout().changed], ['ns1/b'])
  t.deepEqual(tr.slicesOf('ns1/b'), [])
})

test('synced only once both kinds have listed', (t) => {
  const tr = new ChangeTracker()
  t.false(tr.event({ type: 'SYNCED', kind: 'Service' }))
  t.false(tr.synced)
  t.true(tr.event({ type: 'SYNCED', kind: 'EndpointSlice' }))
  t.true(tr.synced)
})

test('an object without a name is PROXY_ERR_OBJECT', (t) => {
  const tr = new ChangeTracker()
  const e = t.throws(() => tr.event({ type: 'ADDED', kind: 'Service', object: { metadata: {}, spec: {} } as unknown as Service }))
  t.is((e as { code?: string }).code, 'PROXY_ERR_OBJECT')
})
