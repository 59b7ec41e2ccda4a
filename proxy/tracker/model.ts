/**
 * The service model the renderers share: a Service and its EndpointSlices
 * become one `ServicePortInfo` per (port, address family), and
 * `categorizeEndpoints` picks the endpoints each kind of traffic may use
 * (kube-proxy's `CategorizeEndpoints`: ready endpoints, else serving and
 * terminating ones; Local policies use only this node's). Pure.
 */
import { isIP } from 'node:net'
import { ip } from '../../kernel/index.js'
import type { Endpoint, EndpointPort, EndpointSlice, Service, ServicePort } from './types.js'

export type IpFamily = 4 | 6
export type L4 = 'tcp' | 'udp' | 'sctp'

export interface EndpointInfo {
  ip: string
  port: number
  /** `ip:port`, `[ip]:port` for IPv6. */
  endpoint: string
  ready: boolean
  serving: boolean
  terminating: boolean
  /** On this node (nodeName matches). */
  local: boolean
}

export interface ServicePortInfo {
  /** `ns/name` */
  service: string
  namespace: string
  name: string
  /** Port name ('' when unnamed). */
  portName: string
  /** kube-proxy's ServicePortName text: `ns/name:port`, or `ns/name` for an unnamed port. */
  servicePortName: string
  family: IpFamily
  protocol: L4
  clusterIP: string
  port: number
  /** 0 when none. */
  nodePort: number
  externalIPs: string[]
  loadBalancerIPs: string[]
  loadBalancerSourceRanges: string[]
  /** ClientIP affinity timeout in seconds; 0 when sessionAffinity is None. */
  affinitySeconds: number
  internalPolicyLocal: boolean
  /** externalTrafficPolicy Local on an externally accessible service. */
  externalPolicyLocal: boolean
  healthCheckNodePort: number
  /** Sorted by `endpoint` text, one per ip:port. */
  endpoints: EndpointInfo[]
}

export const DEFAULT_AFFINITY_SECONDS = 10800

export function familyOfAddress (a: string): IpFamily | undefined {
  const v = isIP(a)
  return v === 4 ? 4 : v === 6 ? 6 : undefined
}

function familyOfCidr (c: string): IpFamily | undefined {
  return familyOfAddress(c.split('/')[0] ?? '')
}

const plainV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/
/** Canonical address text; the common case (a plain dotted quad) without parsing. */
const norm = (a: string): string => plainV4.test(a) ? a : ip.canonical(a)
/**
 * The canonical text of an address of `family`, undefined for an address of the other family or none: one
 * regular expression for the common case (a plain dotted quad), where familyOfAddress then norm took two.
 */
const addressOf = (a: string, family: IpFamily): string | undefined => {
  if (plainV4.test(a)) return family === 4 ? a : undefined
  return familyOfAddress(a) === family ? ip.canonical(a) : undefined
}

/** Whether traffic from outside the cluster can reach the service (NodePort, externalIPs or LB IPs). */
export function externallyAccessible (sp: ServicePortInfo): boolean {
  return sp.nodePort > 0 || sp.externalIPs.length > 0 || sp.loadBalancerIPs.length > 0
}

export function usesClusterEndpoints (sp: ServicePortInfo): boolean {
  return !sp.internalPolicyLocal || (externallyAccessible(sp) && !sp.externalPolicyLocal)
}

export function usesLocalEndpoints (sp: ServicePortInfo): boolean {
  return sp.internalPolicyLocal || (externallyAccessible(sp) && sp.externalPolicyLocal)
}

/**
 * The ServicePortInfos of one Service for one address family: none for
 * headless or ExternalName services, or when the service has no ClusterIP of
 * the family (a single-stack service is the other family's business).
 */
export function servicePorts (svc: Service, slices: readonly EndpointSlice[], family: IpFamily, nodeName: string): ServicePortInfo[] {
  const spec = svc.spec
  const out: ServicePortInfo[] = []
  if (spec.type === 'ExternalName') return out
  // This runs once per service in every sync, most often cold (a full sync in a fresh process, where the code is
  // not optimized yet): indexed loops, since `for … of` allocates an iterator and a result per step there, and no
  // closures or intermediate arrays on the usual path.
  // The first ClusterIP of the family, canonical ('None' and '' are of no family).
  let clusterIP: string | undefined
  if (spec.clusterIPs !== undefined && spec.clusterIPs.length > 0) {
    for (let i = 0; i < spec.clusterIPs.length && clusterIP === undefined; i++) clusterIP = addressOf(spec.clusterIPs[i] as string, family)
  } else if (spec.clusterIP !== undefined) {
    clusterIP = addressOf(spec.clusterIP, family)
  }
  if (clusterIP === undefined) return out
  const namespace = svc.metadata.namespace ?? 'default'
  const name = svc.metadata.name
  const service = `${namespace}/${name}`
  const externalIPs = ofFamily(spec.externalIPs, family)
  const loadBalancerIPs = spec.type === 'LoadBalancer'
    ? ofFamily((svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((a): a is string => a !== undefined), family)
    : []
  const loadBalancerSourceRanges = spec.type === 'LoadBalancer'
    ? (spec.loadBalancerSourceRanges ?? []).map((r) => r.trim()).filter((r) => familyOfCidr(r) === family)
    : []
  const affinitySeconds = spec.sessionAffinity === 'ClientIP'
    ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS)
    : 0
  const familySlices = slicesOfFamily(slices, family === 4 ? 'IPv4' : 'IPv6')
  const ports = spec.ports
  if (ports === undefined) return out
  const hasNodePorts = spec.type === 'NodePort' || spec.type === 'LoadBalancer'
  const internalPolicyLocal = spec.internalTrafficPolicy === 'Local'
  for (let i = 0; i < ports.length; i++) {
    const p = ports[i] as ServicePort
    const portName = p.name ?? ''
    const protocol = lowerProtocol(p.protocol)
    const nodePort = hasNodePorts ? (p.nodePort ?? 0) : 0
    const externalPolicyLocal = spec.externalTrafficPolicy === 'Local' && (nodePort > 0 || externalIPs.length > 0 || loadBalancerIPs.length > 0)
    out.push({
      service,
      namespace,
      name,
      portName,
      servicePortName: portName === '' ? service : `${service}:${portName}`,
      family,
      protocol,
      clusterIP,
      port: p.port,
      nodePort,
      externalIPs,
      loadBalancerIPs,
      loadBalancerSourceRanges,
      affinitySeconds,
      internalPolicyLocal,
      // externalTrafficPolicy Local counts only on an externally accessible service (`externallyAccessible`).
      externalPolicyLocal,
      healthCheckNodePort: externalPolicyLocal ? (spec.healthCheckNodePort ?? 0) : 0,
      endpoints: endpointsFor(familySlices, portName, protocol, family, nodeName)
    })
  }
  return out
}

/** `TCP` → `tcp` without a call to toLowerCase for the three protocols there are. */
function lowerProtocol (p: string | undefined): L4 {
  return p === undefined || p === 'TCP' ? 'tcp' : p === 'UDP' ? 'udp' : p === 'SCTP' ? 'sctp' : p.toLowerCase() as L4
}

/** The canonical addresses of `family` in a list, each once, in list order. */
function ofFamily (list: readonly string[] | undefined, family: IpFamily): string[] {
  if (list === undefined || list.length === 0) return []
  return [...new Set(list.filter((a) => familyOfAddress(a) === family).map(norm))]
}

/** The slices of one address type; the list itself when they all are (one slice per service, most often). */
function slicesOfFamily (slices: readonly EndpointSlice[], addressType: 'IPv4' | 'IPv6'): readonly EndpointSlice[] {
  for (let i = 0; i < slices.length; i++) if ((slices[i] as EndpointSlice).addressType !== addressType) return slices.filter((x) => x.addressType === addressType)
  return slices
}

function endpointsFor (slices: readonly EndpointSlice[], portName: string, protocol: L4, family: IpFamily, nodeName: string): EndpointInfo[] {
  const all: EndpointInfo[] = []
  let count = 0
  /** Strictly ascending so far: then there is neither a sort nor a duplicate to drop. */
  let ascending = true
  let last = ''
  for (let si = 0; si < slices.length; si++) {
    const s = slices[si] as EndpointSlice
    const sPorts = s.ports
    const eps = s.endpoints
    if (sPorts === undefined || eps === undefined) continue
    for (let pi = 0; pi < sPorts.length; pi++) {
      const p = sPorts[pi] as EndpointPort
      if ((p.name ?? '') !== portName || lowerProtocol(p.protocol) !== protocol) continue
      const portNumber = p.port
      if (portNumber === undefined || portNumber === 0) continue
      // `ip:port` (`[ip]:port`) as the address and one suffix per slice port: one concatenation per endpoint.
      const suffix = (family === 6 ? ']:' : ':') + String(portNumber)
      for (let ei = 0, n = eps.length; ei < n; ei++) {
        const ep = eps[ei] as Endpoint
        const addr = ep.addresses[0]
        const a = addr === undefined ? undefined : addressOf(addr, family)
        if (a === undefined) continue
        const c = ep.conditions
        const endpoint = family === 6 ? '[' + a + suffix : a + suffix
        if (ascending && count > 0 && !(last < endpoint)) ascending = false
        last = endpoint
        all[count++] = {
          ip: a,
          port: portNumber,
          endpoint,
          // No conditions (most slices): ready and serving, not terminating.
          ready: c == null || (c.ready ?? true),
          serving: c == null || (c.serving ?? true),
          terminating: c != null && c.terminating === true,
          local: nodeName !== '' && ep.nodeName === nodeName
        }
      }
    }
  }
  // Slices usually list their endpoints in order already, each once.
  if (ascending) return all
  all.sort((a, b) => a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0)
  // One per ip:port. The same ip:port in two slices (a pod moving between slices): the first listed, unless it is
  // terminating and a later one is not. Equal keys are adjacent now (the sort is stable), in the order listed.
  let w = 0
  for (let r = 0; r < all.length; r++) {
    const info = all[r] as EndpointInfo
    const prev = w > 0 ? all[w - 1] as EndpointInfo : undefined
    if (prev !== undefined && prev.endpoint === info.endpoint) {
      if (prev.terminating && !info.terminating) all[w - 1] = info
      continue
    }
    all[w++] = info
  }
  all.length = w
  return all
}

export interface Categorized {
  /** Endpoints for traffic under Cluster policy. */
  clusterEndpoints: readonly EndpointInfo[]
  /** Endpoints for traffic under Local policy. */
  localEndpoints: readonly EndpointInfo[]
  /** The union: every endpoint a rule may point at. */
  allReachable: readonly EndpointInfo[]
  /** Some ready or serving-terminating endpoint exists anywhere (REJECT when false, DROP for Local without local ones). */
  hasAnyEndpoints: boolean
}

const NONE: readonly EndpointInfo[] = Object.freeze([])

/**
 * kube-proxy's CategorizeEndpoints without topology hints. The lists are read-only: when every endpoint is ready,
 * the cluster list is `sp.endpoints` itself (no copy of it per service port in every sync).
 */
export function categorizeEndpoints (sp: ServicePortInfo): Categorized {
  let clusterEndpoints: readonly EndpointInfo[] = NONE
  let localEndpoints: readonly EndpointInfo[] = NONE
  let hasAnyEndpoints = false
  const eps = sp.endpoints
  if (usesClusterEndpoints(sp)) {
    let ready = 0
    for (let i = 0; i < eps.length; i++) if ((eps[i] as EndpointInfo).ready) ready++
    if (ready === eps.length) clusterEndpoints = eps
    else if (ready > 0) clusterEndpoints = eps.filter((e) => e.ready)
    else clusterEndpoints = eps.filter((e) => e.serving && e.terminating)
    if (clusterEndpoints.length > 0) hasAnyEndpoints = true
  }
  if (!usesLocalEndpoints(sp)) return { clusterEndpoints, localEndpoints, allReachable: clusterEndpoints, hasAnyEndpoints }
  let localReady = false
  let localTerminating = false
  for (const e of eps) {
    if (e.ready) { hasAnyEndpoints = true; if (e.local) localReady = true } else if (e.serving && e.terminating) { hasAnyEndpoints = true; if (e.local) localTerminating = true }
  }
  if (localReady) localEndpoints = eps.filter((e) => e.ready && e.local)
  else if (localTerminating) localEndpoints = eps.filter((e) => e.serving && e.terminating && e.local)
  if (!usesClusterEndpoints(sp)) return { clusterEndpoints, localEndpoints, allReachable: localEndpoints, hasAnyEndpoints }
  const seen = new Set(clusterEndpoints.map((e) => e.endpoint))
  const allReachable = [...clusterEndpoints, ...localEndpoints.filter((e) => !seen.has(e.endpoint))]
  return { clusterEndpoints, localEndpoints, allReachable, hasAnyEndpoints }
}

/** The ServicePortInfos of every Service of a tracker-like store, for one family. */
export function buildServicePorts (
  keys: Iterable<string>,
  get: (key: string) => Service | undefined,
  slicesOf: (key: string) => EndpointSlice[],
  family: IpFamily,
  nodeName: string
): Map<string, ServicePortInfo[]> {
  const out = new Map<string, ServicePortInfo[]>()
  for (const key of keys) {
    const svc = get(key)
    if (svc === undefined) continue
    const ports = servicePorts(svc, slicesOf(key), family, nodeName)
    if (ports.length > 0) out.set(key, ports)
  }
  return out
}
