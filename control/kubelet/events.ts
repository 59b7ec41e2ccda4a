/**
 * Events the kubelet records about pods (pkg/kubelet/events): Pulled,
 * Created, Started, Killing, BackOff, Unhealthy, Failed,
 * FailedCreatePodSandBox. Posted fire-and-forget as core/v1 Events; a failure
 * is logged at debug level and never affects the pod.
 */
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { KubeClient } from '../client/index.js'

export type Obj = Record<string, unknown>

export interface PodRef { namespace: string, name: string, uid: string }

export interface EventSink {
  /** `container` sets involvedObject.fieldPath to `spec.containers{<name>}` (or initContainers). */
  emit: (pod: PodRef, type: 'Normal' | 'Warning', reason: string, message: string, container?: { name: string, init: boolean }) => void
}

/** The Event object (pure). */
export function eventObject (node: string, pod: PodRef, type: 'Normal' | 'Warning', reason: string, message: string, container: { name: string, init: boolean } | undefined, now: Date): Obj {
  const ts = now.toISOString().replace(/\.\d{3}Z$/, 'Z')
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${pod.name}.${randomBytes(8).toString('hex')}`, namespace: pod.namespace },
    involvedObject: {
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: pod.namespace,
      name: pod.name,
      uid: pod.uid,
      ...(container !== undefined ? { fieldPath: `spec.${container.init ? 'initContainers' : 'containers'}{${container.name}}` } : {})
    },
    reason,
    message,
    source: { component: 'kubelet', host: node },
    firstTimestamp: ts,
    lastTimestamp: ts,
    count: 1,
    type,
    reportingComponent: 'kubelet',
    reportingInstance: node
  }
}

export function apiEvents (client: Pick<KubeClient, 'create'>, node: string, log: Logger): EventSink {
  return {
    emit: (pod, type, reason, message, container) => {
      client.create({ resource: 'events', namespace: pod.namespace }, eventObject(node, pod, type, reason, message, container, new Date()))
        .catch((e: unknown) => { log.debug({ err: (e as Error).message, reason }, 'event not recorded') })
    }
  }
}
