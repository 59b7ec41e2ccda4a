/**
 * The Node and its Lease as the kubelet registers and renews them
 * (pkg/kubelet/kubelet_node_status.go, nodestatus/setters.go,
 * nodelease/controller.go). Pure: the host facts come in as `NodeFacts`.
 */
import { KubeletError } from './errors.js'

export type Obj = Record<string, unknown>

export const KUBELET_VERSION = 'v1.32.0-weft'
/** pkg/kubelet/apis/config/v1beta1 defaults. */
export const MAX_PODS = 110
export const LEASE_DURATION_SECONDS = 40
export const LEASE_RENEW_MS = 10_000
export const NODE_LEASE_NAMESPACE = 'kube-node-lease'

export interface NodeFacts {
  name: string
  nodeIp: string
  hostname: string
  port: number
  labels: Record<string, string>
  taints: Taint[]
  cpus: number
  memoryBytes: number
  ephemeralStorageBytes?: number
  arch: string
  kernelVersion: string
  osImage: string
  machineId: string
  systemUuid: string
  bootId: string
  runtimeVersion: string
}

export interface Taint { key: string, value?: string, effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }

/** Node architecture names as GOARCH spells them. */
export function goArch (nodeArch: string): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[nodeArch] ?? nodeArch
}

/** `--node-labels k=v,k2=v2`. */
export function parseLabels (text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = part.indexOf('=')
    const k = eq < 0 ? part : part.slice(0, eq)
    const v = eq < 0 ? '' : part.slice(eq + 1)
    if (!/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(k) || k.length > 316) throw new KubeletError('KUBELET_ERR_FLAGS', `--node-labels: invalid label key ${JSON.stringify(k)}`)
    if (!/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/.test(v) || v.length > 63) throw new KubeletError('KUBELET_ERR_FLAGS', `--node-labels: invalid value ${JSON.stringify(v)} of ${k}`)
    out[k] = v
  }
  return out
}

/** `--register-with-taints key=value:Effect,key:Effect`. */
export function parseTaints (text: string): Taint[] {
  const out: Taint[] = []
  for (const part of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(part)
    if (m === null) throw new KubeletError('KUBELET_ERR_FLAGS', `--register-with-taints: ${JSON.stringify(part)} is not key[=value]:NoSchedule|PreferNoSchedule|NoExecute`)
    out.push({ key: m[1] as string, ...(m[2] !== undefined && m[2] !== '' ? { value: m[2] } : {}), effect: m[3] as Taint['effect'] })
  }
  return out
}

function resources (f: NodeFacts): Record<string, string> {
  return {
    cpu: String(f.cpus),
    memory: `${Math.floor(f.memoryBytes / 1024)}Ki`,
    pods: String(MAX_PODS),
    ...(f.ephemeralStorageBytes !== undefined ? { 'ephemeral-storage': `${Math.floor(f.ephemeralStorageBytes / 1024)}Ki` } : {})
  }
}

/** The Node the kubelet POSTs at registration (status is written through nodes/status after). */
export function nodeObject (f: NodeFacts): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: f.name,
      labels: {
        'beta.kubernetes.io/arch': goArch(f.arch),
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': goArch(f.arch),
        'kubernetes.io/hostname': f.hostname,
        'kubernetes.io/os': 'linux',
        ...f.labels
      },
      annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' }
    },
    spec: f.taints.length > 0 ? { taints: f.taints } : {}
  }
}

export interface NodeHealth {
  /** A network configuration list was found in the CNI conf dir. */
  networkReady: boolean
  /** Why not, for the Ready condition's message. */
  networkMessage?: string
}

export interface Condition { type: string, status: 'True' | 'False' | 'Unknown', lastHeartbeatTime?: string, lastTransitionTime: string, reason: string, message: string }

/** The four conditions (setters.go ReadyCondition, MemoryPressureCondition, ...), keeping transition times of unchanged ones. */
export function nodeConditions (h: NodeHealth, previous: Condition[], now: string): Condition[] {
  const want: Array<Omit<Condition, 'lastTransitionTime' | 'lastHeartbeatTime'>> = [
    { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
    { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
    { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
    h.networkReady
      ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
      : {
          type: 'Ready',
          status: 'False',
          reason: 'KubeletNotReady',
          message: `container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: ${h.networkMessage ?? 'cni config uninitialized'}`
        }
  ]
  return want.map((c) => {
    const old = previous.find((p) => p.type === c.type)
    return { ...c, lastHeartbeatTime: now, lastTransitionTime: old !== undefined && old.status === c.status ? old.lastTransitionTime : now }
  })
}

/** The status written through nodes/status. */
export function nodeStatus (f: NodeFacts, conditions: Condition[]): Obj {
  return {
    capacity: resources(f),
    allocatable: resources(f),
    conditions,
    addresses: [{ type: 'InternalIP', address: f.nodeIp }, { type: 'Hostname', address: f.hostname }],
    daemonEndpoints: { kubeletEndpoint: { Port: f.port } },
    nodeInfo: {
      machineID: f.machineId,
      systemUUID: f.systemUuid,
      bootID: f.bootId,
      kernelVersion: f.kernelVersion,
      osImage: f.osImage,
      containerRuntimeVersion: f.runtimeVersion,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: goArch(f.arch)
    },
    images: [
      { names: ['weft/echo:latest'], sizeBytes: 0 },
      { names: ['weft/shell:latest'], sizeBytes: 0 }
    ]
  }
}

/** Time in the API's MicroTime format (RFC 3339 with microseconds). */
export function microTime (ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

/** The node's Lease (nodelease/controller.go newLease). */
export function leaseObject (node: string, nodeUid: string | undefined, nowMs: number): Obj {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: node,
      namespace: NODE_LEASE_NAMESPACE,
      ...(nodeUid !== undefined ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node, uid: nodeUid }] } : {})
    },
    spec: { holderIdentity: node, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime(nowMs) }
  }
}
