/**
 * Golden cells for realistic objects of every served kind. Expected values follow
 * upstream's printers_test.go cases (TestPrintPod, TestPrintPodWithRestartableInitContainer,
 * TestPrintNodeStatus, TestPrintService, TestPrintEndpointSlice, TestPrintEvent, ...)
 * re-stated on v1 JSON objects.
 */
import test from 'ava'
import { PRINTERS, printerFor, DEFAULT_PRINTER } from './printers.js'
import type { TableCell } from './types.js'

const now = new Date('2026-03-01T12:00:00Z')
const ago = (ms: number): string => new Date(now.getTime() - ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
const MIN = 60_000
const HOUR = 60 * MIN
const created = ago(3 * HOUR + 5 * MIN) // AGE "3h5m"

function cells (key: string, o: object): TableCell[] {
  const p = PRINTERS[key]
  if (p === undefined) throw new Error(`no printer ${key}`)
  const row = p.print(o as Record<string, unknown>, now)
  if (row.cells.length !== p.columns.length) throw new Error(`${key}: ${row.cells.length} cells for ${p.columns.length} columns`)
  return row.cells
}
const podCells = (status: object, spec: object = { containers: [{ name: 'a' }, { name: 'b' }] }, metadata: object = {}): TableCell[] =>
  cells('/Pod', { metadata: { name: 'web', creationTimestamp: created, ...metadata }, spec, status })

const running = { running: { startedAt: ago(HOUR) } }

test('every served kind has a printer, and column priorities match upstream', (t) => {
  const wide = (k: string): string[] => (PRINTERS[k]?.columns ?? []).filter((c) => c.priority === 1).map((c) => c.name)
  const normal = (k: string): string[] => (PRINTERS[k]?.columns ?? []).filter((c) => c.priority === 0).map((c) => c.name)
  t.deepEqual(normal('/Pod'), ['Name', 'Ready', 'Status', 'Restarts', 'Age'])
  t.deepEqual(wide('/Pod'), ['IP', 'Node', 'Nominated Node', 'Readiness Gates'])
  t.deepEqual(normal('/Service'), ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age'])
  t.deepEqual(wide('/Service'), ['Selector'])
  t.deepEqual(normal('/Node'), ['Name', 'Status', 'Roles', 'Age', 'Version'])
  t.deepEqual(wide('/Node'), ['Internal-IP', 'External-IP', 'OS-Image', 'Kernel-Version', 'Container-Runtime'])
  t.deepEqual(normal('apps/Deployment'), ['Name', 'Ready', 'Up-to-date', 'Available', 'Age'])
  t.deepEqual(wide('apps/Deployment'), ['Containers', 'Images', 'Selector'])
  t.deepEqual(normal('apps/ReplicaSet'), ['Name', 'Desired', 'Current', 'Ready', 'Age'])
  t.deepEqual(wide('apps/ReplicaSet'), ['Containers', 'Images', 'Selector'])
  t.deepEqual(normal('/Event'), ['Last Seen', 'Type', 'Reason', 'Object', 'Message'])
  t.deepEqual(wide('/Event'), ['Subobject', 'Source', 'First Seen', 'Count', 'Name'])
  t.deepEqual(normal('discovery.k8s.io/EndpointSlice'), ['Name', 'AddressType', 'Ports', 'Endpoints', 'Age'])
  t.deepEqual(normal('coordination.k8s.io/Lease'), ['Name', 'Holder', 'Age'])
  t.deepEqual(normal('/Secret'), ['Name', 'Type', 'Data', 'Age'])
  t.deepEqual(normal('/ConfigMap'), ['Name', 'Data', 'Age'])
  t.deepEqual(normal('/ServiceAccount'), ['Name', 'Secrets', 'Age'])
  t.deepEqual(normal('/Namespace'), ['Name', 'Status', 'Age'])
  t.deepEqual(normal('/Endpoints'), ['Name', 'Endpoints', 'Age'])
  t.is(PRINTERS['/Pod']?.columns[0]?.format, 'name')
  t.is(PRINTERS['apps/ReplicaSet']?.columns[1]?.type, 'integer')
  t.is(printerFor('example.com', 'Widget'), DEFAULT_PRINTER)
})

// ---- Pod STATUS / READY / RESTARTS ----------------------------------------

test('pod: running and ready, one container not ready', (t) => {
  t.deepEqual(podCells({
    phase: 'Running',
    podIP: '10.244.1.5',
    podIPs: [{ ip: '10.244.1.5' }, { ip: 'fd00::5' }],
    conditions: [{ type: 'Ready', status: 'False' }],
    containerStatuses: [
      { name: 'a', ready: true, restartCount: 0, state: running },
      { name: 'b', ready: false, restartCount: 0, state: running }
    ]
  }, { nodeName: 'node-1', containers: [{ name: 'a' }, { name: 'b' }] }),
  ['web', '1/2', 'Running', '0', '3h5m', '10.244.1.5', 'node-1', '<none>', '<none>'])
})

test('pod: a waiting reason wins (ContainerCreating), pending pod has no IP or node', (t) => {
  t.deepEqual(podCells({
    phase: 'Pending',
    containerStatuses: [
      { name: 'a', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } },
      { name: 'b', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }
    ]
  }), ['web', '0/2', 'ContainerCreating', '0', '3h5m', '<none>', '<none>', '<none>', '<none>'])
  t.deepEqual(podCells({ phase: 'Pending' }).slice(0, 4), ['web', '0/2', 'Pending', '0'])
})

test('pod: CrashLoopBackOff with restarts shows "N (age ago)" from the latest lastState', (t) => {
  t.deepEqual(podCells({
    phase: 'Running',
    containerStatuses: [
      { name: 'a', ready: true, restartCount: 1, state: running, lastState: { terminated: { exitCode: 1, finishedAt: ago(2 * HOUR) } } },
      { name: 'b', ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 2, reason: 'Error', finishedAt: ago(5 * MIN) } } }
    ]
  }).slice(0, 4), ['web', '1/2', 'CrashLoopBackOff', '4 (5m ago)'])
})

test('pod: terminated containers: Completed, ExitCode:N, Signal:N', (t) => {
  const spec = { containers: [{ name: 'a' }] }
  t.deepEqual(podCells({ phase: 'Succeeded', containerStatuses: [{ name: 'a', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] }, spec).slice(0, 4),
    ['web', '0/1', 'Completed', '0'])
  t.deepEqual(podCells({ phase: 'Failed', containerStatuses: [{ name: 'a', restartCount: 0, state: { terminated: { exitCode: 3 } } }] }, spec).slice(2, 3), ['ExitCode:3'])
  t.deepEqual(podCells({ phase: 'Failed', containerStatuses: [{ name: 'a', restartCount: 0, state: { terminated: { exitCode: 137, signal: 9 } } }] }, spec).slice(2, 3), ['Signal:9'])
})

test('pod: Succeeded/Failed rows carry the Completed row condition', (t) => {
  const p = PRINTERS['/Pod']
  if (p === undefined) return t.fail()
  t.deepEqual(p.print({ metadata: { name: 'x' }, spec: {}, status: { phase: 'Succeeded' } }, now).conditions,
    [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }])
  t.deepEqual(p.print({ metadata: { name: 'x' }, spec: {}, status: { phase: 'Failed' } }, now).conditions?.[0]?.reason, 'Failed')
  t.is(p.print({ metadata: { name: 'x' }, spec: {}, status: { phase: 'Running' } }, now).conditions, undefined)
})

test('pod: Completed container beside a running one reads Running or NotReady', (t) => {
  const status = (ready: 'True' | 'False'): object => ({
    phase: 'Running',
    conditions: [{ type: 'Ready', status: ready }],
    containerStatuses: [
      { name: 'a', ready: true, restartCount: 0, state: running },
      { name: 'b', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }
    ]
  })
  t.deepEqual(podCells(status('True')).slice(1, 3), ['1/2', 'Running'])
  t.deepEqual(podCells(status('False')).slice(1, 3), ['1/2', 'NotReady'])
})

test('pod: Terminating when deletionTimestamp is set, unless the phase is terminal; Unknown when NodeLost', (t) => {
  const deleting = { deletionTimestamp: ago(MIN) }
  const st = { phase: 'Running', containerStatuses: [{ name: 'a', ready: true, restartCount: 0, state: running }, { name: 'b', ready: true, restartCount: 0, state: running }] }
  t.deepEqual(podCells(st, undefined, deleting).slice(1, 3), ['2/2', 'Terminating'])
  t.deepEqual(podCells({ ...st, reason: 'NodeLost' }, undefined, deleting).slice(2, 3), ['Unknown'])
  t.deepEqual(podCells({ phase: 'Succeeded' }, undefined, deleting).slice(2, 3), ['Succeeded'])
})

test('pod: init containers: Init:0/2, Init:CrashLoopBackOff, Init:Error, Init:ExitCode, PodInitializing', (t) => {
  const spec = { initContainers: [{ name: 'i1' }, { name: 'i2' }], containers: [{ name: 'a' }] }
  const init = (s1: object, s2: object, extra: object = {}): TableCell[] =>
    podCells({ phase: 'Pending', initContainerStatuses: [{ name: 'i1', restartCount: 0, state: s1 }, { name: 'i2', restartCount: 2, state: s2 }], ...extra }, spec)
  // The loop stops at the first unfinished init container: later containers' restarts are not counted (upstream too).
  t.deepEqual(init({ running: {} }, { waiting: { reason: 'PodInitializing' } }).slice(1, 4), ['0/1', 'Init:0/2', '0'])
  t.deepEqual(init({ terminated: { exitCode: 0 } }, { waiting: { reason: 'PodInitializing' } }).slice(1, 4), ['0/1', 'Init:1/2', '2'])
  t.deepEqual(init({ terminated: { exitCode: 0 } }, { running: {} }).slice(2, 3), ['Init:1/2'])
  t.deepEqual(init({ terminated: { exitCode: 0 } }, { waiting: { reason: 'CrashLoopBackOff' } }).slice(2, 3), ['Init:CrashLoopBackOff'])
  t.deepEqual(init({ terminated: { exitCode: 1, reason: 'Error' } }, { waiting: {} }).slice(2, 3), ['Init:Error'])
  t.deepEqual(init({ terminated: { exitCode: 2 } }, { waiting: {} }).slice(2, 3), ['Init:ExitCode:2'])
  t.deepEqual(init({ terminated: { exitCode: 137, signal: 9 } }, { waiting: {} }).slice(2, 3), ['Init:Signal:9'])
  // Every init container done: the regular containers decide.
  t.deepEqual(podCells({
    phase: 'Pending',
    initContainerStatuses: [{ name: 'i1', restartCount: 0, state: { terminated: { exitCode: 0 } } }, { name: 'i2', restartCount: 0, state: { terminated: { exitCode: 0 } } }],
    containerStatuses: [{ name: 'a', restartCount: 0, ready: false, state: { waiting: { reason: 'PodInitializing' } } }]
  }, spec).slice(1, 4), ['0/1', 'PodInitializing', '0'])
})

test('pod: restartable init containers (sidecars) count in READY and their restarts survive', (t) => {
  const spec = { initContainers: [{ name: 'proxy', restartPolicy: 'Always' }, { name: 'setup' }], containers: [{ name: 'a' }] }
  t.deepEqual(podCells({
    phase: 'Running',
    conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True' }],
    initContainerStatuses: [
      { name: 'proxy', started: true, ready: true, restartCount: 2, state: running, lastState: { terminated: { exitCode: 1, finishedAt: ago(10 * MIN) } } },
      { name: 'setup', restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }
    ],
    containerStatuses: [{ name: 'a', ready: true, restartCount: 1, state: running, lastState: { terminated: { exitCode: 1, finishedAt: ago(20 * MIN) } } }]
  }, spec).slice(1, 4), ['2/2', 'Running', '3 (10m ago)'])
  // Sidecar started, regular init still running: Init:1/2, sidecar already counted ready.
  t.deepEqual(podCells({
    phase: 'Pending',
    initContainerStatuses: [
      { name: 'proxy', started: true, ready: true, restartCount: 0, state: running },
      { name: 'setup', restartCount: 0, state: running }
    ]
  }, spec).slice(1, 3), ['1/2', 'Init:1/2'])
})

test('pod: SchedulingGated, status.reason (Evicted) and readiness gates', (t) => {
  t.deepEqual(podCells({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] }).slice(2, 3), ['SchedulingGated'])
  t.deepEqual(podCells({ phase: 'Failed', reason: 'Evicted' }).slice(2, 3), ['Evicted'])
  t.deepEqual(podCells({
    phase: 'Running',
    conditions: [{ type: 'example.com/lb', status: 'True' }, { type: 'example.com/dns', status: 'False' }]
  }, { containers: [], readinessGates: [{ conditionType: 'example.com/lb' }, { conditionType: 'example.com/dns' }, { conditionType: 'x' }], nodeName: 'n' }, {}).slice(5),
  ['<none>', 'n', '<none>', '1/3'])
  t.deepEqual(podCells({ phase: 'Pending', nominatedNodeName: 'node-2' }).slice(7, 8), ['node-2'])
})

// ---- Service --------------------------------------------------------------

const svc = (spec: object, status: object = {}): TableCell[] =>
  cells('/Service', { metadata: { name: 'web', creationTimestamp: created }, spec, status })

test('service: ClusterIP, NodePort, LoadBalancer pending/assigned, ExternalName, headless', (t) => {
  t.deepEqual(svc({ type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }], selector: { 'k8s-app': 'kube-dns' } }),
    ['web', 'ClusterIP', '10.96.0.10', '<none>', '53/UDP,53/TCP', '3h5m', 'k8s-app=kube-dns'])
  t.deepEqual(svc({ type: 'NodePort', clusterIPs: ['10.96.3.4'], ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }], externalIPs: ['192.0.2.7'] }),
    ['web', 'NodePort', '10.96.3.4', '192.0.2.7', '80:30080/TCP', '3h5m', '<none>'])
  t.deepEqual(svc({ type: 'LoadBalancer', clusterIPs: ['10.96.3.5'], ports: [{ port: 443, nodePort: 31443, protocol: 'TCP' }] }).slice(1, 5),
    ['LoadBalancer', '10.96.3.5', '<pending>', '443:31443/TCP'])
  t.deepEqual(svc({ type: 'LoadBalancer', clusterIPs: ['10.96.3.5'], ports: [{ port: 443, protocol: 'TCP' }], externalIPs: ['192.0.2.9'] },
    { loadBalancer: { ingress: [{ ip: '203.0.113.20' }, { hostname: 'lb.example.com' }, { ip: '203.0.113.10' }] } }).slice(3, 4),
  ['203.0.113.10,203.0.113.20,lb.example.com,192.0.2.9'])
  t.deepEqual(svc({ type: 'ExternalName', externalName: 'db.example.com' }).slice(1, 5), ['ExternalName', '<none>', 'db.example.com', '<none>'])
  t.deepEqual(svc({ type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 80 }] }).slice(2, 5), ['None', '<none>', '80/TCP'])
})

// ---- Endpoints / EndpointSlice -----------------------------------------

test('endpoints: ip:port list, first three then "+ N more...", headless without ports, <none>', (t) => {
  const ep = (subsets: object[] | undefined): TableCell[] => cells('/Endpoints', { metadata: { name: 'web', creationTimestamp: created }, subsets })
  t.deepEqual(ep([{ addresses: [{ ip: '10.244.1.5' }, { ip: '10.244.2.6' }], ports: [{ port: 8080 }] }]), ['web', '10.244.1.5:8080,10.244.2.6:8080', '3h5m'])
  t.deepEqual(ep([{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: '10.0.0.3' }], ports: [{ port: 80 }, { port: 443 }] }])[1],
    '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 3 more...')
  t.deepEqual(ep([{ addresses: [{ ip: 'fd00::1' }], ports: [{ port: 80 }] }])[1], '[fd00::1]:80')
  t.deepEqual(ep([{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }] }])[1], '10.0.0.1,10.0.0.2')
  t.deepEqual(ep(undefined)[1], '<none>')
})

test('endpointslice: ADDRESSTYPE, PORTS (named, unset) and ENDPOINTS with "+ N more..."', (t) => {
  t.deepEqual(cells('discovery.k8s.io/EndpointSlice', {
    metadata: { name: 'web-abc12', creationTimestamp: created },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'metrics' }],
    endpoints: [
      { addresses: ['10.0.0.1'], conditions: { ready: true } }, { addresses: ['10.0.0.2'] }, { addresses: ['10.0.0.3'] },
      { addresses: ['10.0.0.4'] }, { addresses: ['10.0.0.5'] }
    ]
  }), ['web-abc12', 'IPv4', '80,metrics', '10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...', '3h5m'])
  t.deepEqual(cells('discovery.k8s.io/EndpointSlice', { metadata: { name: 'e' }, addressType: 'IPv6', ports: [], endpoints: [] }),
    ['e', 'IPv6', '<unset>', '<unset>', '<unknown>'])
})

// ---- Node -----------------------------------------------------------------

test('node: Ready, NotReady, Unknown, SchedulingDisabled; roles; addresses and system info', (t) => {
  const node = (conditions: object[], extra: { unschedulable?: boolean, labels?: object } = {}): TableCell[] => cells('/Node', {
    metadata: { name: 'node-1', creationTimestamp: ago(50 * HOUR), labels: extra.labels ?? {} },
    spec: extra.unschedulable === true ? { unschedulable: true } : {},
    status: {
      conditions,
      addresses: [{ type: 'Hostname', address: 'node-1' }, { type: 'InternalIP', address: '192.168.56.10' }],
      nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.1.0-18-amd64', containerRuntimeVersion: 'weft://0.1.0' }
    }
  })
  t.deepEqual(node([{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'True' }], { labels: { 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/worker': '', 'kubernetes.io/role': 'edge' } }),
    ['node-1', 'Ready', 'control-plane,edge,worker', '2d2h', 'v1.32.0', '192.168.56.10', '<none>', 'Debian GNU/Linux 12 (bookworm)', '6.1.0-18-amd64', 'weft://0.1.0'])
  t.deepEqual(node([{ type: 'Ready', status: 'False' }]).slice(1, 3), ['NotReady', '<none>'])
  t.deepEqual(node([{ type: 'Ready', status: 'Unknown' }], { unschedulable: true }).slice(1, 2), ['NotReady,SchedulingDisabled'])
  t.deepEqual(node([], { unschedulable: true }).slice(1, 2), ['Unknown,SchedulingDisabled'])
  t.deepEqual(node([{ type: 'Ready', status: 'True' }], { unschedulable: true, labels: { 'node-role.kubernetes.io/': '' } }).slice(1, 3), ['Ready,SchedulingDisabled', '<none>'])
  t.deepEqual(cells('/Node', { metadata: { name: 'bare' }, status: {} }).slice(5), ['<none>', '<none>', '<unknown>', '<unknown>', '<unknown>'])
})

// ---- Deployment / ReplicaSet --------------------------------------------

const template = { spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }, { name: 'sidecar', image: 'busybox:1.36' }] } }

test('deployment: READY ready/desired, UP-TO-DATE, AVAILABLE, wide containers/images/selector', (t) => {
  t.deepEqual(cells('apps/Deployment', {
    metadata: { name: 'web', creationTimestamp: created },
    spec: { replicas: 3, selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['fe'] }] }, template },
    status: { replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2 }
  }), ['web', '2/3', 3, 2, '3h5m', 'nginx,sidecar', 'nginx:1.27,busybox:1.36', 'app=web,tier in (fe)'])
  t.deepEqual(cells('apps/Deployment', { metadata: { name: 'new' }, spec: { selector: {}, template: { spec: { containers: [] } } } }),
    ['new', '0/1', 0, 0, '<unknown>', '', '', ''])
  t.deepEqual(cells('apps/Deployment', { metadata: { name: 'bad' }, spec: { replicas: 0, selector: { matchExpressions: [{ key: 'a', operator: 'Bogus' }] } } }).slice(1, 2).concat(
    cells('apps/Deployment', { metadata: { name: 'bad' }, spec: { replicas: 0, selector: { matchExpressions: [{ key: 'a', operator: 'Bogus' }] } } }).slice(7)), ['0/0', '<invalid>'])
})

test('replicaset: DESIRED CURRENT READY integers, wide selector <none> when empty', (t) => {
  t.deepEqual(cells('apps/ReplicaSet', {
    metadata: { name: 'web-5d4f8c7b9', creationTimestamp: created },
    spec: { replicas: 3, selector: { matchLabels: { app: 'web', 'pod-template-hash': '5d4f8c7b9' } }, template },
    status: { replicas: 3, readyReplicas: 1 }
  }), ['web-5d4f8c7b9', 3, 3, 1, '3h5m', 'nginx,sidecar', 'nginx:1.27,busybox:1.36', 'app=web,pod-template-hash=5d4f8c7b9'])
  t.deepEqual(cells('apps/ReplicaSet', { metadata: { name: 'x' }, spec: { replicas: 0 }, status: {} }).slice(1, 4).concat(
    cells('apps/ReplicaSet', { metadata: { name: 'x' }, spec: { replicas: 0 }, status: {} }).slice(7)), [0, 0, 0, '<none>'])
})

// ---- Event ----------------------------------------------------------------

test('event: LAST SEEN/TYPE/REASON/OBJECT/MESSAGE and wide SUBOBJECT/SOURCE/FIRST SEEN/COUNT/NAME', (t) => {
  t.deepEqual(cells('/Event', {
    metadata: { name: 'web.17a2b3c4d5e6f', namespace: 'default', creationTimestamp: ago(HOUR) },
    involvedObject: { kind: 'Pod', name: 'web', namespace: 'default', fieldPath: 'spec.containers{nginx}' },
    reason: 'BackOff', message: 'Back-off restarting failed container\n', type: 'Warning',
    source: { component: 'kubelet', host: 'node-1' },
    firstTimestamp: ago(HOUR), lastTimestamp: ago(90_000), count: 12
  }), ['90s', 'Warning', 'BackOff', 'pod/web', 'spec.containers{nginx}', 'kubelet, node-1', 'Back-off restarting failed container', '60m', 12, 'web.17a2b3c4d5e6f'])
  // events.k8s.io style: eventTime, series, reportingComponent; no firstTimestamp/count.
  t.deepEqual(cells('/Event', {
    metadata: { name: 'n.1' },
    involvedObject: { kind: 'Node', name: '' },
    reason: 'RegisteredNode', message: 'registered', type: 'Normal',
    reportingComponent: 'node-controller',
    eventTime: ago(10 * MIN), series: { count: 4, lastObservedTime: ago(3 * MIN) }
  }), ['3m', 'Normal', 'RegisteredNode', 'node', '', 'node-controller', 'registered', '10m', 4, 'n.1'])
  t.deepEqual(cells('/Event', { metadata: { name: 'z' }, involvedObject: { kind: 'Pod', name: 'p' }, eventTime: ago(5_000) }).slice(0, 1).concat(
    cells('/Event', { metadata: { name: 'z' }, involvedObject: { kind: 'Pod', name: 'p' }, eventTime: ago(5_000) }).slice(8, 9)), ['5s', 1])
})

// ---- the small ones -------------------------------------------------------

test('configmap DATA counts data and binaryData; secret TYPE DATA; serviceaccount SECRETS', (t) => {
  t.deepEqual(cells('/ConfigMap', { metadata: { name: 'kube-root-ca.crt', creationTimestamp: created }, data: { 'ca.crt': 'x' }, binaryData: { b: 'AA==' } }), ['kube-root-ca.crt', 2, '3h5m'])
  t.deepEqual(cells('/ConfigMap', { metadata: { name: 'empty', creationTimestamp: created } }), ['empty', 0, '3h5m'])
  t.deepEqual(cells('/Secret', { metadata: { name: 'tls', creationTimestamp: created }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'x', 'tls.key': 'y' } }), ['tls', 'kubernetes.io/tls', 2, '3h5m'])
  t.deepEqual(cells('/Secret', { metadata: { name: 'plain', creationTimestamp: created } }), ['plain', 'Opaque', 0, '3h5m'])
  t.deepEqual(cells('/ServiceAccount', { metadata: { name: 'default', creationTimestamp: created }, secrets: [{ name: 'default-token-abc' }] }), ['default', 1, '3h5m'])
  t.deepEqual(cells('/ServiceAccount', { metadata: { name: 'builder', creationTimestamp: created } }), ['builder', 0, '3h5m'])
})

test('namespace STATUS and lease HOLDER', (t) => {
  t.deepEqual(cells('/Namespace', { metadata: { name: 'default', creationTimestamp: ago(400 * 24 * HOUR) }, status: { phase: 'Active' } }), ['default', 'Active', '400d'])
  t.deepEqual(cells('/Namespace', { metadata: { name: 'old', creationTimestamp: created, deletionTimestamp: ago(MIN) }, status: { phase: 'Terminating' } }), ['old', 'Terminating', '3h5m'])
  t.deepEqual(cells('/Namespace', { metadata: { name: 'fresh', creationTimestamp: created } }), ['fresh', 'Active', '3h5m'])
  t.deepEqual(cells('coordination.k8s.io/Lease', { metadata: { name: 'node-1', namespace: 'kube-node-lease', creationTimestamp: created }, spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40 } }), ['node-1', 'node-1', '3h5m'])
  t.deepEqual(cells('coordination.k8s.io/Lease', { metadata: { name: 'free', creationTimestamp: created }, spec: {} }), ['free', '', '3h5m'])
})
