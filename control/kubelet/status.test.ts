import test from 'ava'
import { podPhase, podStatus } from './status.js'
import type { ContainerStatus, PodView, RuntimeView } from './status.js'

const T0 = '2026-01-01T00:00:00Z'
const T1 = '2026-01-01T00:01:00Z'
const running = (name: string, ready = true): ContainerStatus => ({ name, image: 'weft/echo', imageID: 'x', state: { running: { startedAt: T0 } }, lastState: {}, ready, started: true, restartCount: 0 })
const exited = (name: string, exitCode: number): ContainerStatus => ({ name, image: 'weft/shell', imageID: 'x', state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: T0, finishedAt: T1 } }, lastState: {}, ready: false, started: false, restartCount: 0 })
const backingOff = (name: string): ContainerStatus => ({ ...exited(name, 1), state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: T0, finishedAt: T1 } }, restartCount: 2 })
const waiting = (name: string, reason = 'ContainerCreating'): ContainerStatus => ({ ...exited(name, 0), state: { waiting: { reason } } })

const phaseRows: Array<{ name: string, policy: PodView['restartPolicy'], cs: ContainerStatus[], expected?: number, phase: ReturnType<typeof podPhase> }> = [
  { name: 'a container not created yet', policy: 'Always', cs: [running('a')], expected: 2, phase: 'Pending' },
  { name: 'a container waiting for its image', policy: 'Always', cs: [running('a'), waiting('b', 'ErrImagePull')], phase: 'Pending' },
  { name: 'all running', policy: 'Always', cs: [running('a'), running('b')], phase: 'Running' },
  { name: 'one running one exited', policy: 'Never', cs: [running('a'), exited('b', 1)], phase: 'Running' },
  { name: 'crash-looping counts as stopped, Always restarts it', policy: 'Always', cs: [backingOff('a')], phase: 'Running' },
  { name: 'all exited 0 with Always', policy: 'Always', cs: [exited('a', 0)], phase: 'Running' },
  { name: 'all exited 0 with OnFailure', policy: 'OnFailure', cs: [exited('a', 0), exited('b', 0)], phase: 'Succeeded' },
  { name: 'all exited 0 with Never', policy: 'Never', cs: [exited('a', 0)], phase: 'Succeeded' },
  { name: 'one failed with Never', policy: 'Never', cs: [exited('a', 0), exited('b', 2)], phase: 'Failed' },
  { name: 'one failed with OnFailure restarts it', policy: 'OnFailure', cs: [exited('a', 2)], phase: 'Running' }
]
for (const row of phaseRows) {
  test(`phase: ${row.name} → ${row.phase}`, (t) => {
    t.is(podPhase(row.policy, row.cs, row.expected ?? row.cs.length), row.phase)
  })
}

const view = (over: Partial<PodView> = {}): PodView => ({ restartPolicy: 'Always', containerNames: ['a', 'b'], readinessGates: [], conditions: [], ...over })
const rt = (over: Partial<RuntimeView> = {}): RuntimeView => ({ sandboxReady: true, podIPs: ['10.244.1.5'], hostIPs: ['10.0.0.2'], startTime: T0, containers: [running('a'), running('b')], ...over })

test('a running, ready pod has every condition True, IPs and host IPs', (t) => {
  const s = podStatus(view(), rt(), T1)
  t.like(s, { phase: 'Running', podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }], hostIP: '10.0.0.2', hostIPs: [{ ip: '10.0.0.2' }], startTime: T0 })
  const conds = s.conditions as Array<{ type: string, status: string }>
  t.deepEqual(conds.map((c) => `${c.type}=${c.status}`), ['PodReadyToStartContainers=True', 'Initialized=True', 'Ready=True', 'ContainersReady=True', 'PodScheduled=True'])
})

test('an unready container makes Ready and ContainersReady False with upstream reason and message; transition times are kept while unchanged', (t) => {
  const prev = [{ type: 'Ready', status: 'False' as const, lastProbeTime: null, lastTransitionTime: T0 }, { type: 'PodScheduled', status: 'True' as const, lastProbeTime: null, lastTransitionTime: T0 }]
  const s = podStatus(view({ conditions: prev }), rt({ containers: [running('a'), running('b', false)] }), T1)
  const byType = new Map((s.conditions as Array<{ type: string }>).map((c) => [c.type, c]))
  t.like(byType.get('Ready'), { status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [b]', lastTransitionTime: T0 })
  t.like(byType.get('ContainersReady'), { status: 'False', reason: 'ContainersNotReady', lastTransitionTime: T1 })
  t.like(byType.get('PodScheduled'), { status: 'True', lastTransitionTime: T0 })
})

test('readiness gates keep Ready False until their condition is True, and foreign conditions are kept', (t) => {
  const gate = { type: 'example.com/lb', status: 'False' as const, lastProbeTime: null, lastTransitionTime: T0 }
  const s = podStatus(view({ readinessGates: ['example.com/lb'], conditions: [gate] }), rt(), T1)
  const ready = (s.conditions as Array<{ type: string }>).find((c) => c.type === 'Ready')
  t.like(ready, { status: 'False', reason: 'ReadinessGatesNotReady' })
  t.truthy((s.conditions as Array<{ type: string }>).find((c) => c.type === 'example.com/lb'))
  const s2 = podStatus(view({ readinessGates: ['example.com/lb'], conditions: [{ ...gate, status: 'True' }] }), rt(), T1)
  t.like((s2.conditions as Array<{ type: string }>).find((c) => c.type === 'Ready'), { status: 'True' })
})

test('a completed pod is not ready, with reason PodCompleted, and keeps its IP', (t) => {
  const s = podStatus(view({ restartPolicy: 'Never', containerNames: ['a'] }), rt({ sandboxReady: false, containers: [exited('a', 0)] }), T1)
  t.is(s.phase, 'Succeeded')
  t.like((s.conditions as Array<{ type: string }>).find((c) => c.type === 'Ready'), { status: 'False', reason: 'PodCompleted' })
  t.like((s.conditions as Array<{ type: string }>).find((c) => c.type === 'PodReadyToStartContainers'), { status: 'False' })
  t.is(s.podIP, '10.244.1.5')
})

test('before the sandbox exists: Pending, no pod IP (null clears it in a merge patch)', (t) => {
  const s = podStatus(view(), rt({ sandboxReady: false, podIPs: [], containers: [waiting('a'), waiting('b')] }), T1)
  t.is(s.phase, 'Pending')
  t.is(s.podIP, null)
  t.deepEqual(s.podIPs, [])
})

test('init containers: Pending and Initialized False until each is done; a failed one with Never fails the pod; sidecars count once started', (t) => {
  const pv = view({ containerNames: ['a'], initContainers: [{ name: 'i1', sidecar: false }, { name: 'side', sidecar: true }] })
  const s1 = podStatus(pv, rt({ containers: [waiting('a', 'PodInitializing')], initContainers: [running('i1', false)] }), T1)
  t.is(s1.phase, 'Pending')
  t.like((s1.conditions as Array<{ type: string }>).find((c) => c.type === 'Initialized'), { status: 'False', reason: 'ContainersNotInitialized', message: 'containers with incomplete status: [i1 side]' })
  t.deepEqual((s1.initContainerStatuses as ContainerStatus[]).map((c) => c.name), ['i1'])
  const s2 = podStatus(pv, rt({ containers: [running('a')], initContainers: [exited('i1', 0), running('side')] }), T1)
  t.is(s2.phase, 'Running')
  t.like((s2.conditions as Array<{ type: string }>).find((c) => c.type === 'Initialized'), { status: 'True' })
  const s3 = podStatus({ ...pv, restartPolicy: 'Never' }, rt({ containers: [waiting('a', 'PodInitializing')], initContainers: [exited('i1', 1)] }), T1)
  t.is(s3.phase, 'Failed')
  const s4 = podStatus({ ...pv, restartPolicy: 'OnFailure' }, rt({ containers: [waiting('a', 'PodInitializing')], initContainers: [exited('i1', 1)] }), T1)
  t.is(s4.phase, 'Pending')
})
