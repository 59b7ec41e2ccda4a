/**
 * The pod status the kubelet writes through pods/status, computed from what it
 * runs (pkg/kubelet/kubelet_pods.go generateAPIPodStatus, getPhase;
 * pkg/kubelet/status/generate.go). Pure.
 */
export type Obj = Record<string, unknown>

export interface Waiting { reason: string, message?: string }
export interface Running { startedAt: string }
export interface Terminated { exitCode: number, signal?: number, reason: string, message?: string, startedAt: string, finishedAt: string, containerID?: string }
export type ContainerState = { waiting: Waiting } | { running: Running } | { terminated: Terminated }

export interface ContainerStatus {
  name: string
  image: string
  imageID: string
  containerID?: string
  state: ContainerState
  lastState: ContainerState | Record<string, never>
  ready: boolean
  started: boolean
  restartCount: number
}

export interface PodCondition { type: string, status: 'True' | 'False', lastProbeTime: null, lastTransitionTime: string, reason?: string, message?: string }

export interface PodView {
  restartPolicy: 'Always' | 'OnFailure' | 'Never'
  containerNames: string[]
  /** Init containers in order; `sidecar` ones (restartPolicy Always) count as initialized once started. */
  initContainers?: Array<{ name: string, sidecar: boolean }>
  readinessGates: string[]
  /** conditions already on the pod (for readiness gates, PodScheduled and transition times). */
  conditions: PodCondition[]
}

export interface RuntimeView {
  sandboxReady: boolean
  podIPs: string[]
  hostIPs: string[]
  startTime: string
  containers: ContainerStatus[]
  initContainers?: ContainerStatus[]
  /** The pod was rejected or its sandbox failed for good (e.g. admission). */
  failedReason?: { reason: string, message: string }
}

/** getPhase (kubelet_pods.go) for pods without init containers. */
export function podPhase (restartPolicy: PodView['restartPolicy'], statuses: ContainerStatus[], expected: number): 'Pending' | 'Running' | 'Succeeded' | 'Failed' {
  let waiting = 0; let running = 0; let stopped = 0; let succeeded = 0
  const unknown = expected - statuses.length
  for (const s of statuses) {
    if ('running' in s.state) running++
    else if ('terminated' in s.state) { stopped++; if (s.state.terminated.exitCode === 0) succeeded++ } else if ('terminated' in s.lastState) stopped++
    else waiting++
  }
  if (waiting > 0 || unknown > 0) return 'Pending'
  if (running > 0) return 'Running'
  if (stopped > 0) {
    if (restartPolicy === 'Always') return 'Running'
    if (stopped === succeeded) return 'Succeeded'
    if (restartPolicy === 'Never') return 'Failed'
    // OnFailure: the failed ones are restarting.
    return 'Running'
  }
  return 'Pending'
}

function condition (prev: PodCondition[], now: string, type: string, ok: boolean, reason?: string, message?: string): PodCondition {
  const old = prev.find((c) => c.type === type)
  const status = ok ? 'True' : 'False'
  return {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: old !== undefined && old.status === status ? old.lastTransitionTime : now,
    ...(reason !== undefined ? { reason } : {}),
    ...(message !== undefined ? { message } : {})
  }
}

/** Init containers not done yet, and whether one failed for good (restartPolicy Never). */
export function initProgress (pod: PodView, statuses: ContainerStatus[]): { incomplete: string[], failed: boolean } {
  const incomplete: string[] = []
  let failed = false
  for (const ic of pod.initContainers ?? []) {
    const s = statuses.find((c) => c.name === ic.name)
    if (ic.sidecar) { if (s === undefined || !('running' in s.state) || !s.started) incomplete.push(ic.name); continue }
    if (s !== undefined && 'terminated' in s.state && s.state.terminated.exitCode === 0) continue
    incomplete.push(ic.name)
    if (pod.restartPolicy === 'Never' && s !== undefined && 'terminated' in s.state) failed = true
  }
  return { incomplete, failed }
}

/** The whole status object. */
export function podStatus (pod: PodView, rt: RuntimeView, now: string): Obj {
  const init = initProgress(pod, rt.initContainers ?? [])
  const phase = rt.failedReason !== undefined || init.failed
    ? 'Failed'
    : init.incomplete.length > 0 ? 'Pending' : podPhase(pod.restartPolicy, rt.containers, pod.containerNames.length)
  const terminal = phase === 'Succeeded' || phase === 'Failed'
  const unready = pod.containerNames.filter((n) => rt.containers.find((c) => c.name === n)?.ready !== true)
  const gatesUnready = pod.readinessGates.filter((g) => pod.conditions.find((c) => c.type === g)?.status !== 'True')
  const containersReady = unready.length === 0
  const notReadyMessage = `containers with unready status: [${unready.join(' ')}]`
  // generate.go: a completed pod is not ready, with reason PodCompleted.
  const ready = !terminal && containersReady && gatesUnready.length === 0
  const readyReason = terminal && phase === 'Succeeded' ? 'PodCompleted' : !containersReady ? 'ContainersNotReady' : gatesUnready.length > 0 ? 'ReadinessGatesNotReady' : undefined
  const readyMessage = !containersReady ? notReadyMessage : gatesUnready.length > 0 ? `corresponding condition of pod readiness gate "${gatesUnready[0] as string}" does not exist.` : undefined
  const own = new Set(['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready', 'PodScheduled'])
  const conditions: PodCondition[] = [
    condition(pod.conditions, now, 'PodReadyToStartContainers', rt.sandboxReady && !terminal),
    init.incomplete.length === 0
      ? condition(pod.conditions, now, 'Initialized', true)
      : condition(pod.conditions, now, 'Initialized', false, 'ContainersNotInitialized', `containers with incomplete status: [${init.incomplete.join(' ')}]`),
    ready ? condition(pod.conditions, now, 'Ready', true) : condition(pod.conditions, now, 'Ready', false, readyReason, readyMessage),
    containersReady && !terminal
      ? condition(pod.conditions, now, 'ContainersReady', true)
      : condition(pod.conditions, now, 'ContainersReady', false, terminal && phase === 'Succeeded' ? 'PodCompleted' : 'ContainersNotReady', containersReady ? undefined : notReadyMessage),
    pod.conditions.find((c) => c.type === 'PodScheduled') ?? condition([], now, 'PodScheduled', true),
    ...pod.conditions.filter((c) => !own.has(c.type))
  ]
  const status: Obj = {
    phase,
    conditions,
    hostIP: rt.hostIPs[0] ?? null,
    hostIPs: rt.hostIPs.map((ip) => ({ ip })),
    podIP: rt.podIPs[0] ?? null,
    podIPs: rt.podIPs.map((ip) => ({ ip })),
    startTime: rt.startTime,
    qosClass: 'BestEffort',
    containerStatuses: pod.containerNames.map((n) => rt.containers.find((c) => c.name === n)).filter((c): c is ContainerStatus => c !== undefined)
  }
  if ((pod.initContainers ?? []).length > 0) {
    status.initContainerStatuses = (pod.initContainers ?? []).map((ic) => (rt.initContainers ?? []).find((c) => c.name === ic.name)).filter((c): c is ContainerStatus => c !== undefined)
  }
  if (rt.failedReason !== undefined) { status.reason = rt.failedReason.reason; status.message = rt.failedReason.message }
  return status
}
