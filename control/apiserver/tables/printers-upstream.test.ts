/**
 * Upstream's own pod printer cases (kubernetes pkg/printers/internalversion/printers_test.go:
 * TestPrintPod, TestPrintPodWithRestartableInitContainer, TestPrintPodwide), restated as
 * v1 JSON objects. Go zero values become absent fields; `make([]api.Container, n)`
 * becomes n unnamed containers. Expected cells are upstream's, unchanged.
 */
import test from 'ava'
import { printPod } from './printers.js'

const now = new Date('2026-03-01T12:00:00Z')
const ago = (s: number): string => new Date(now.getTime() - s * 1000).toISOString()
const containers = (n: number): object[] => Array.from({ length: n }, () => ({}))
const running = { running: {} }
const lastTerm = (s: number): object => ({ terminated: { finishedAt: ago(s) } })
const DAY = 24 * 3600

interface Case { name: string, pod: { metadata?: object, spec: object, status: object }, cells: unknown[], conditions?: string }

const cases: Case[] = [
  {
    name: 'test3: waiting reason beats terminated reason of an earlier container',
    pod: { spec: { containers: containers(2) }, status: { phase: 'podPhase', containerStatuses: [{ state: { waiting: { reason: 'ContainerWaitingReason' } }, restartCount: 3 }, { state: { terminated: { reason: 'ContainerTerminatedReason' } }, restartCount: 3 }] } },
    cells: ['test3', '0/2', 'ContainerWaitingReason', '6', '<unknown>']
  },
  {
    name: 'test4: ready is not enough for reporting running',
    pod: { spec: { containers: containers(2) }, status: { phase: 'podPhase', containerStatuses: [{ ready: true, restartCount: 3, state: running }, { ready: true, restartCount: 3 }] } },
    cells: ['test4', '1/2', 'podPhase', '6', '<unknown>']
  },
  {
    name: 'test5: status.reason wins over the phase',
    pod: { spec: { containers: containers(2) }, status: { reason: 'podReason', phase: 'podPhase', containerStatuses: [{ ready: true, restartCount: 3, state: running }, { ready: true, restartCount: 3 }] } },
    cells: ['test5', '1/2', 'podReason', '6', '<unknown>']
  },
  {
    name: 'test6: running + completed without the Ready condition is NotReady',
    pod: { spec: { containers: containers(2) }, status: { phase: 'Running', containerStatuses: [{ ready: true, restartCount: 3, state: { terminated: { reason: 'Completed', exitCode: 0 } } }, { ready: true, restartCount: 3, state: running }] } },
    cells: ['test6', '1/2', 'NotReady', '6', '<unknown>']
  },
  {
    name: 'test6: running + completed with the Ready condition is Running',
    pod: { spec: { containers: containers(2) }, status: { phase: 'Running', containerStatuses: [{ ready: true, restartCount: 3, state: { terminated: { reason: 'Completed', exitCode: 0 } } }, { ready: true, restartCount: 3, state: running }], conditions: [{ type: 'Ready', status: 'True' }] } },
    cells: ['test6', '1/2', 'Running', '6', '<unknown>']
  },
  {
    name: 'test7: one init container restarting',
    pod: { spec: { initContainers: containers(1), containers: containers(1) }, status: { phase: 'podPhase', initContainerStatuses: [{ restartCount: 3, state: running, lastState: lastTerm(10) }], containerStatuses: [{ restartCount: 0, state: { waiting: {} } }] } },
    cells: ['test7', '0/1', 'Init:0/1', '3 (10s ago)', '<unknown>']
  },
  {
    name: 'test8: two init containers, the first restarting',
    pod: { spec: { initContainers: containers(2), containers: containers(1) }, status: { phase: 'podPhase', initContainerStatuses: [{ restartCount: 3, state: running, lastState: lastTerm(10) }, { state: { waiting: {} } }], containerStatuses: [{ state: { waiting: {} } }] } },
    cells: ['test8', '0/1', 'Init:0/2', '3 (10s ago)', '<unknown>']
  },
  {
    name: 'test9: first init completed, second restarting',
    pod: { spec: { initContainers: containers(2), containers: containers(1) }, status: { phase: 'podPhase', initContainerStatuses: [{ state: { terminated: {} } }, { restartCount: 3, state: running, lastState: lastTerm(10) }], containerStatuses: [{ state: { waiting: {} } }] } },
    cells: ['test9', '0/1', 'Init:1/2', '3 (10s ago)', '<unknown>']
  },
  {
    name: 'test10: first init completed with restarts, second restarting',
    pod: { spec: { initContainers: containers(2), containers: containers(1) }, status: { phase: 'podPhase', initContainerStatuses: [{ restartCount: 2, state: { terminated: {} }, lastState: lastTerm(120) }, { restartCount: 3, state: running, lastState: lastTerm(10) }], containerStatuses: [{ state: { waiting: {} } }] } },
    cells: ['test10', '0/1', 'Init:1/2', '5 (10s ago)', '<unknown>']
  },
  {
    name: 'test11: init done with restarts, container restarting: only the container counts',
    pod: { spec: { initContainers: containers(1), containers: containers(1) }, status: { phase: 'Running', initContainerStatuses: [{ restartCount: 2, state: { terminated: {} }, lastState: lastTerm(120) }], containerStatuses: [{ restartCount: 4, state: running, lastState: lastTerm(20) }] } },
    cells: ['test11', '0/1', 'Running', '4 (20s ago)', '<unknown>']
  },
  {
    name: 'test12: restarted 5d ago',
    pod: { spec: { containers: containers(1) }, status: { phase: 'Running', containerStatuses: [{ ready: true, restartCount: 3, state: running, lastState: lastTerm(5 * DAY) }] } },
    cells: ['test12', '1/1', 'Running', '3 (5d ago)', '<unknown>']
  },
  {
    name: 'test13: one never restarted, the other 10d ago',
    pod: { spec: { containers: containers(2) }, status: { phase: 'Running', containerStatuses: [{ ready: true, restartCount: 0, state: running }, { ready: true, restartCount: 3, state: running, lastState: lastTerm(10 * DAY) }] } },
    cells: ['test13', '2/2', 'Running', '3 (10d ago)', '<unknown>']
  },
  {
    name: 'test14: the latest restart of two (5d, 20d)',
    pod: { spec: { containers: containers(2) }, status: { phase: 'Running', containerStatuses: [{ ready: true, restartCount: 6, state: running, lastState: lastTerm(5 * DAY) }, { ready: true, restartCount: 3, state: running, lastState: lastTerm(20 * DAY) }] } },
    cells: ['test14', '2/2', 'Running', '9 (5d ago)', '<unknown>']
  },
  {
    name: 'test15: SchedulingGated',
    pod: { spec: { containers: containers(2) }, status: { phase: 'podPhase', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] } },
    cells: ['test15', '0/2', 'SchedulingGated', '0', '<unknown>']
  },
  {
    name: 'test16: succeeded',
    pod: { spec: { containers: containers(1) }, status: { phase: 'Succeeded', containerStatuses: [{ restartCount: 0, state: { terminated: { reason: 'Completed', exitCode: 0 } } }] } },
    cells: ['test16', '0/1', 'Completed', '0', '<unknown>'],
    conditions: 'Succeeded'
  },
  {
    name: 'test17: failed',
    pod: { spec: { containers: containers(1) }, status: { phase: 'Failed', containerStatuses: [{ restartCount: 0, state: { terminated: { reason: 'Error', exitCode: 1 } } }] } },
    cells: ['test17', '0/1', 'Error', '0', '<unknown>'],
    conditions: 'Failed'
  },
  {
    name: 'test18: succeeded with deletion stays Completed',
    pod: { metadata: { deletionTimestamp: ago(0) }, spec: { containers: containers(1) }, status: { phase: 'Succeeded', containerStatuses: [{ restartCount: 0, state: { terminated: { reason: 'Completed', exitCode: 0 } } }] } },
    cells: ['test18', '0/1', 'Completed', '0', '<unknown>'],
    conditions: 'Succeeded'
  },
  {
    name: 'test19: running with deletion is Terminating',
    pod: { metadata: { deletionTimestamp: ago(0) }, spec: { containers: containers(1) }, status: { phase: 'Running', containerStatuses: [{ restartCount: 0, state: running }] } },
    cells: ['test19', '0/1', 'Terminating', '0', '<unknown>']
  },
  {
    name: 'test20: pending with deletion is Terminating',
    pod: { metadata: { deletionTimestamp: ago(0) }, spec: { containers: containers(1) }, status: { phase: 'Pending' } },
    cells: ['test20', '0/1', 'Terminating', '0', '<unknown>']
  },
  // TestPrintPodWithRestartableInitContainer
  {
    name: 'sidecars: first running but not started',
    pod: {
      spec: { initContainers: [{ name: 'r1', restartPolicy: 'Always' }, { name: 'r2', restartPolicy: 'Always' }], containers: containers(1) },
      status: { phase: 'Pending', initContainerStatuses: [{ name: 'r1', restartCount: 3, state: running, started: false, lastState: lastTerm(10) }, { name: 'r2', state: { waiting: {} }, started: false }], containerStatuses: [{ restartCount: 0, state: { waiting: {} } }], conditions: [{ type: 'Initialized', status: 'False' }] }
    },
    cells: ['sidecars', '0/3', 'Init:0/2', '3 (10s ago)', '<unknown>']
  },
  {
    name: 'sidecars: first started, second running but not started',
    pod: {
      spec: { initContainers: [{ name: 'r1', restartPolicy: 'Always' }, { name: 'r2', restartPolicy: 'Always' }], containers: containers(1) },
      status: { phase: 'Pending', initContainerStatuses: [{ name: 'r1', restartCount: 3, state: running, started: true, lastState: lastTerm(10) }, { name: 'r2', state: running, started: false }], containerStatuses: [{ restartCount: 0, state: { waiting: {} } }], conditions: [{ type: 'Initialized', status: 'False' }] }
    },
    cells: ['sidecars', '0/3', 'Init:1/2', '3 (10s ago)', '<unknown>']
  },
  {
    name: 'sidecars: both started and one container running',
    pod: {
      spec: { initContainers: [{ name: 'r1', restartPolicy: 'Always' }, { name: 'r2', restartPolicy: 'Always' }], containers: containers(1) },
      status: { phase: 'Running', initContainerStatuses: [{ name: 'r1', restartCount: 3, state: running, started: true, lastState: lastTerm(10) }, { name: 'r2', state: running, started: true }], containerStatuses: [{ ready: true, restartCount: 4, state: running, lastState: lastTerm(20) }], conditions: [{ type: 'Initialized', status: 'True' }] }
    },
    cells: ['sidecars', '1/3', 'Running', '7 (10s ago)', '<unknown>']
  },
  {
    name: 'sidecars: both failed, the container completed',
    pod: {
      spec: { initContainers: [{ name: 'r1', restartPolicy: 'Always' }, { name: 'r2', restartPolicy: 'Always' }], containers: containers(1) },
      status: { phase: 'Succeeded', initContainerStatuses: [{ name: 'r1', restartCount: 3, state: { terminated: { reason: 'Error', exitCode: 137 } }, started: false, lastState: lastTerm(10) }, { name: 'r2', state: { terminated: { reason: 'Error', exitCode: 137 } }, started: false }], containerStatuses: [{ restartCount: 4, state: { terminated: { reason: 'Completed', exitCode: 0 } }, lastState: lastTerm(20) }], conditions: [{ type: 'Initialized', status: 'True' }] }
    },
    cells: ['sidecars', '0/3', 'Completed', '7 (10s ago)', '<unknown>'],
    conditions: 'Succeeded'
  },
  {
    name: 'sidecars: statuses of containers that do not exist',
    pod: {
      spec: { initContainers: [{ name: 'init1', image: 'initimage' }, { name: 'sidecar1', image: 'sidecarimage', restartPolicy: 'Always' }], containers: [{ name: 'container1', image: 'containerimage' }] },
      status: { phase: 'Running', initContainerStatuses: [{ name: 'initinvalid' }, { name: 'init1' }, { name: 'sidecar1' }], containerStatuses: [{ name: 'containerinvalid' }, { name: 'container1' }] }
    },
    cells: ['sidecars', '0/2', 'Init:0/2', '0', '<unknown>']
  }
]

for (const c of cases) {
  test(`upstream printPod case ${c.name}`, (t) => {
    const name = c.name.split(':')[0] as string
    const row = printPod({ metadata: { name, ...c.pod.metadata }, spec: c.pod.spec, status: c.pod.status }, now)
    t.deepEqual(row.cells.slice(0, 5), c.cells)
    t.is(row.conditions?.[0]?.reason, c.conditions)
  })
}

// TestPrintPodwide: the wide cells.
test('upstream TestPrintPodwide: IP from podIPs[0], node, nominated node, readiness gates', (t) => {
  const gates = [{ conditionType: 'condition1' }, { conditionType: 'condition2' }, { conditionType: 'condition3' }]
  const status = (podIPs: object[]): object => ({
    conditions: [{ type: 'condition1', status: 'False' }, { type: 'condition2', status: 'True' }],
    phase: 'podPhase', podIPs, nominatedNodeName: 'node1',
    containerStatuses: [{ ready: true, restartCount: 3, state: running }, { restartCount: 3 }]
  })
  for (const ips of [[{ ip: '1.1.1.1' }], [{ ip: '1.1.1.1' }, { ip: '2001:db8::' }]]) {
    t.deepEqual(printPod({ metadata: { name: 'test1' }, spec: { containers: containers(2), nodeName: 'test1', readinessGates: gates }, status: status(ips) }, now).cells,
      ['test1', '1/2', 'podPhase', '6', '<unknown>', '1.1.1.1', 'test1', 'node1', '1/3'])
  }
  t.deepEqual(printPod({
    metadata: { name: 'test2' },
    spec: { containers: containers(2), nodeName: '' },
    status: { phase: 'podPhase', containerStatuses: [{ ready: true, restartCount: 3, state: running }, { state: { waiting: { reason: 'ContainerWaitingReason' } }, restartCount: 3 }] }
  }, now).cells, ['test2', '1/2', 'ContainerWaitingReason', '6', '<unknown>', '<none>', '<none>', '<none>', '<none>'])
})
