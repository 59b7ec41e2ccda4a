/**
 * The service model the renderers share: a Service and its EndpointSlices
 * become one `ServicePortInfo` per (port, address family), and
 * `categorizeEndpoints` picks the endpoints each kind of traffic may use
 * (kube-proxy's `CategorizeEndpoints`: ready endpoints, else serving and
 * terminating ones; Local policies use only this node's). Pure.
 */
import { isIP } from 'node:net'
import { ip } from '../../kernel/index.js'
import type { EndpointSlice, Service } from './types.js'

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
  if (spec.type === 'ExternalName') return []
  const ips = (spec.clusterIPs !== undefined && spec.clusterIPs.length > 0) ? spec.clusterIPs : (spec.clusterIP !== undefined ? [spec.clusterIP] : [])
  const clusterIP = ips.find((a) => a !== 'None' && a !== '' && familyOfAddress(a) === family)
  if (clusterIP === undefined) return []
  const namespace = svc.metadata.namespace ?? 'default'
  const name = svc.metadata.name
  const ofFamily = (list: readonly string[] | undefined): string[] =>
    list === undefined || list.length === 0 ? [] : [...new Set(list.filter((a) => familyOfAddress(a) === family).map(norm))]
  const externalIPs = ofFamily(spec.externalIPs)
  const loadBalancerIPs = spec.type === 'LoadBalancer'
    ? ofFamily((svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((a): a is string => a !== undefined))
    : []
  const loadBalancerSourceRanges = spec.type === 'LoadBalancer'
    ? (spec.loadBalancerSourceRanges ?? []).map((r) => r.trim()).filter((r) => familyOfCidr(r) === family)
    : []
  const affinitySeconds = spec.sessionAffinity === 'ClientIP'
    ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS)
    : 0
  const familySlices = slices.filter((s) => s.addressType === (family === 4 ? 'IPv4' : 'IPv6'))
  const out: ServicePortInfo[] = []
  for (const p of spec.ports ?? []) {
    const portName = p.name ?? ''
    const protocol = (p.protocol ?? 'TCP').toLowerCase() as L4
    const nodePort = (spec.type === 'NodePort' || spec.type === 'LoadBalancer') ? (p.nodePort ?? 0) : 0
    const info: ServicePortInfo = {
      service: `${namespace}/${name}`,
      namespace,
      name,
      portName,
      servicePortName: portName === '' ? `${namespace}/${name}` : `${namespace}/${name}:${portName}`,
      family,
      protocol,
      clusterIP: norm(clusterIP),
      port: p.port,
      nodePort,
      externalIPs,
      loadBalancerIPs,
      loadBalancerSourceRanges,
      affinitySeconds,
      internalPolicyLocal: spec.internalTrafficPolicy === 'Local',
      externalPolicyLocal: false,
      healthCheckNodePort: 0,
      endpoints: []
    }
    info.externalPolicyLocal = spec.externalTrafficPolicy === 'Local' && externallyAccessible(info)
    if (info.externalPolicyLocal) info.healthCheckNodePort = spec.healthCheckNodePort ?? 0
    info.endpoints = endpointsFor(familySlices, portName, protocol, family, nodeName)
    out.push(info)
  }
  return out
}

function endpointsFor (slices: readonly EndpointSlice[], portName: string, protocol: L4, family: IpFamily, nodeName: string): EndpointInfo[] {
  const all: EndpointInfo[] = []
  let sorted = true
  for (const s of slices) {
    for (const p of s.ports ?? []) {
      if ((p.name ?? '') !== portName || (p.protocol ?? 'TCP').toLowerCase() !== protocol) continue
      if (p.port === undefined || p.port === 0) continue
      const port = String(p.port)
      for (const ep of s.endpoints ?? []) {
        const addr = ep.addresses[0]
        const a = addr === undefined ? undefined : addressOf(addr, family)
        if (a === undefined) continue
        const c = ep.conditions ?? {}
        const info: EndpointInfo = {
          ip: a,
          port: p.port,
          endpoint: family === 6 ? ['[', a, ']:', port].join('') : [a, port].join(':'),
          ready: c.ready === undefined || c.ready === null || c.ready,
          serving: c.serving === undefined || c.serving === null || c.serving,
          terminating: c.terminating === true,
          local: nodeName !== '' && ep.nodeName === nodeName
        }
        if (sorted && all.length > 0 && (all[all.length - 1] as EndpointInfo).endpoint > info.endpoint) sorted = false
        all.push(info)
      }
    }
  }
  // Slices usually list their endpoints in order already: the sort (stable) runs only when they do not.
  if (!sorted) all.sort((a, b) => a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0)
  // One per ip:port. The same ip:port in two slices (a pod moving between slices): the first listed, unless it is
  // terminating and a later one is not. Equal keys are adjacent now, in the order they were listed.
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
  clusterEndpoints: EndpointInfo[]
  /** Endpoints for traffic under Local policy. */
  localEndpoints: EndpointInfo[]
  /** The union: every endpoint a rule may point at. */
  allReachable: EndpointInfo[]
  /** Some ready or serving-terminating endpoint exists anywhere (REJECT when false, DROP for Local without local ones). */
  hasAnyEndpoints: boolean
}

/** kube-proxy's CategorizeEndpoints without topology hints. */
export function categorizeEndpoints (sp: ServicePortInfo): Categorized {
  let clusterEndpoints: EndpointInfo[] = []
  let localEndpoints: EndpointInfo[] = []
  let hasAnyEndpoints = false
  const eps = sp.endpoints
  if (usesClusterEndpoints(sp)) {
    clusterEndpoints = eps.filter((e) => e.ready)
    if (clusterEndpoints.length === 0) clusterEndpoints = eps.filter((e) => e.serving && e.terminating)
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
