/**
 * The proxy's input, typed minimally: the fields of Kubernetes `v1.Service`
 * and `discovery.k8s.io/v1.EndpointSlice` that kube-proxy reads, as plain
 * JSON objects (what a list/watch or a YAML file gives). Anything else on the
 * objects is ignored.
 */

export interface ObjectMeta {
  name: string
  namespace?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  resourceVersion?: string
}

export type Protocol = 'TCP' | 'UDP' | 'SCTP'

export interface ServicePort {
  name?: string
  protocol?: Protocol
  port: number
  targetPort?: number | string
  nodePort?: number
}

export interface ServiceSpec {
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName'
  clusterIP?: string
  clusterIPs?: string[]
  ports?: ServicePort[]
  externalIPs?: string[]
  sessionAffinity?: 'None' | 'ClientIP'
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } }
  externalTrafficPolicy?: 'Cluster' | 'Local'
  internalTrafficPolicy?: 'Cluster' | 'Local'
  healthCheckNodePort?: number
  loadBalancerSourceRanges?: string[]
}

export interface Service {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
  spec: ServiceSpec
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string, hostname?: string }> } }
}

export interface EndpointConditions {
  ready?: boolean | null
  serving?: boolean | null
  terminating?: boolean | null
}

export interface Endpoint {
  addresses: string[]
  conditions?: EndpointConditions
  nodeName?: string
  zone?: string
}

export interface EndpointPort {
  name?: string
  protocol?: Protocol
  port?: number
}

export interface EndpointSlice {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
  addressType: 'IPv4' | 'IPv6' | 'FQDN'
  endpoints?: Endpoint[]
  ports?: EndpointPort[]
}

/** The label tying an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name'
/** EndpointSlice annotation: when the change that produced it happened (network programming latency). */
export const LAST_CHANGE_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time'

/**
 * One event of the proxy's input stream: an object added, modified or
 * deleted, or the end of the initial listing of a kind (`SYNCED`; the proxy
 * does not sync before both kinds have it, as kube-proxy waits for its
 * informers).
 */
export type ProxyEvent =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED', kind: 'Service', object: Service }
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED', kind: 'EndpointSlice', object: EndpointSlice }
  | { type: 'SYNCED', kind: 'Service' | 'EndpointSlice' }

/** A source of events (a kube watch, a directory of files, a test's array). */
export interface ProxySource {
  /** Calls `onEvent` for each event, initial listing first, until `stop()`. */
  start (onEvent: (e: ProxyEvent) => void): void | Promise<void>
  stop (): void | Promise<void>
}

import type { IpFamily, ServicePortInfo } from './model.js'

/** What a renderer reads of the tracked state: the service keys, and one service's ports for its family. */
export interface ProxyState {
  keys (): Iterable<string>
  /** The ServicePortInfos of a service for the proxier's family ([] when it is gone or of the other family). */
  ports (key: string): ServicePortInfo[]
}

export interface SyncStats {
  family: IpFamily
  full: boolean
  /** Time spent computing the transaction. */
  computeMs: number
  /** Time spent in the kernel tools (nft -f; iptables-save of a full sync, the jump-rule checks and iptables-restore). */
  applyMs: number
  /** Size of the transaction text. */
  bytes: number
  /** Services (re)written in this sync. */
  servicesWritten: number
}

/**
 * One mode's renderer and applier for one address family (kube-proxy's
 * Proxier, behind a metaproxier for dual stack). `sync` writes what changed
 * (or everything when `changed` is 'full', or when the last sync failed) in
 * one transaction; on failure it throws a PROXY_ERR_SYNC ProxyError and the
 * next sync is a full one.
 */
export interface Proxier {
  readonly family: IpFamily
  readonly mode: 'nftables' | 'iptables' | 'ipvs'
  sync (state: ProxyState, changed: ReadonlySet<string> | 'full'): SyncStats
  /** Removes every object of this mode (kube-proxy --cleanup). */
  cleanup (): void
}
