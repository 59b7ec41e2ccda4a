/**
 * IPVS mode's desired state, pure (kube-proxy pkg/proxy/ipvs): every
 * ClusterIP, externalIP and LoadBalancer IP bound to the `kube-ipvs0` dummy,
 * one virtual server per (IP, protocol, port) and one per node IP for each
 * NodePort, real servers with weight 1 and NAT forwarding, ClientIP affinity
 * as the persistent flag with its timeout, and the ipsets that keep the
 * iptables rule count constant (IPv6 sets are named `KUBE-6-…`, see `ipsetName`).
 */
import { categorizeEndpoints } from '../tracker/index.js'
import type { EndpointInfo, IpFamily, ServicePortInfo } from '../tracker/index.js'
import { FWD_MASQ, SVC_F_PERSISTENT } from './codec.js'
import { ipsetName } from './ipset.js'
import type { IpvsDest, IpvsService } from './codec.js'

export const DUMMY_DEVICE = 'kube-ipvs0'

export interface IpvsRenderConfig {
  family: IpFamily
  /** Node addresses NodePorts are served on (kube-proxy: every local address but kube-ipvs0's and loopback). */
  nodeIPs: readonly string[]
  /** `--ipvs-scheduler`, default rr. */
  scheduler?: string
}

export interface VirtualServer {
  service: IpvsService
  dests: Map<string, IpvsDest>
  /** The Service (`ns/name`) it serves: what a sync counts as written when this virtual server changes. */
  owner: string
}

export interface IpvsDesired {
  /** `proto/address/port` → virtual server. */
  virtualServers: Map<string, VirtualServer>
  /** Addresses bound to kube-ipvs0. */
  addresses: Set<string>
  /** ipset name → entries in `ipset add` syntax. */
  ipsets: Map<string, Set<string>>
}

export const vsKey = (s: Pick<IpvsService, 'protocol' | 'address' | 'port'>): string => `${s.protocol}/${s.address}/${s.port}`
const hostPort = (a: string, p: number): string => a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`

export function emptyDesired (): IpvsDesired {
  return { virtualServers: new Map(), addresses: new Set(), ipsets: new Map() }
}


export function ipvsDesired (services: Iterable<readonly ServicePortInfo[]>, cfg: IpvsRenderConfig, into: IpvsDesired = emptyDesired()): IpvsDesired {
  const add = (set: string, entry: string): void => {
    const n = ipsetName(cfg.family, set)
    let s = into.ipsets.get(n)
    if (s === undefined) { s = new Set(); into.ipsets.set(n, s) }
    s.add(entry)
  }
  for (const ports of services) {
    for (const sp of ports) {
      const cat = categorizeEndpoints(sp)
      const internal = sp.internalPolicyLocal ? cat.localEndpoints : cat.clusterEndpoints
      // Local policies: only local endpoints, for in-cluster and external clients alike (one virtual server serves
      // both); none means an empty virtual server, which IPVS answers with ICMP port unreachable. kube-proxy falls
      // back to every endpoint when there is no local one (#97081, both policies); weft does not (docs/proxy.md).
      const external = sp.externalPolicyLocal ? cat.localEndpoints : cat.clusterEndpoints
      const vs = (address: string, port: number, eps: readonly EndpointInfo[]): void => {
        const service: IpvsService = {
          family: cfg.family, protocol: sp.protocol, address, port,
          scheduler: cfg.scheduler ?? 'rr',
          flags: sp.affinitySeconds > 0 ? SVC_F_PERSISTENT : 0,
          timeout: sp.affinitySeconds,
          netmask: cfg.family === 4 ? 0xffffffff : 128
        }
        const dests = new Map<string, IpvsDest>()
        for (const ep of eps) dests.set(hostPort(ep.ip, ep.port), { address: ep.ip, port: ep.port, weight: 1, fwdMethod: FWD_MASQ, activeConns: 0, inactConns: 0 })
        into.virtualServers.set(vsKey(service), { service, dests, owner: sp.service })
      }
      const pp = `${sp.protocol}:${sp.port}`
      into.addresses.add(sp.clusterIP)
      vs(sp.clusterIP, sp.port, internal)
      add('KUBE-CLUSTER-IP', `${sp.clusterIP},${pp}`)
      for (const ep of cat.allReachable) if (ep.local) add('KUBE-LOOP-BACK', `${ep.ip},${sp.protocol}:${ep.port},${ep.ip}`)
      for (const ip of sp.externalIPs) {
        into.addresses.add(ip)
        vs(ip, sp.port, external)
        add(sp.externalPolicyLocal ? 'KUBE-EXTERNAL-IP-LOCAL' : 'KUBE-EXTERNAL-IP', `${ip},${pp}`)
      }
      for (const ip of sp.loadBalancerIPs) {
        into.addresses.add(ip)
        vs(ip, sp.port, external)
        add('KUBE-LOAD-BALANCER', `${ip},${pp}`)
        if (sp.externalPolicyLocal) add('KUBE-LOAD-BALANCER-LOCAL', `${ip},${pp}`)
        if (sp.loadBalancerSourceRanges.length > 0) {
          add('KUBE-LOAD-BALANCER-FW', `${ip},${pp}`)
          for (const c of sp.loadBalancerSourceRanges) add('KUBE-LOAD-BALANCER-SOURCE-CIDR', `${ip},${pp},${c}`)
        }
      }
      if (sp.nodePort > 0) {
        for (const n of cfg.nodeIPs) vs(n, sp.nodePort, external)
        const P = sp.protocol.toUpperCase()
        if (sp.protocol === 'sctp') {
          for (const n of cfg.nodeIPs) add(sp.externalPolicyLocal ? 'KUBE-NODE-PORT-LOCAL-SCTP-HASH' : 'KUBE-NODE-PORT-SCTP-HASH', `${n},sctp:${sp.nodePort}`)
        } else {
          add(`KUBE-NODE-PORT-${P}`, String(sp.nodePort))
          if (sp.externalPolicyLocal) add(`KUBE-NODE-PORT-LOCAL-${P}`, String(sp.nodePort))
        }
      }
      if (sp.healthCheckNodePort > 0) add('KUBE-HEALTH-CHECK-NODE-PORT', String(sp.healthCheckNodePort))
    }
  }
  for (const a of into.addresses) add('KUBE-IPVS-IPS', a)
  return into
}

/** A stable text form (`ipvsadm -Ln`-like), for golden tests and the fake's dump. */
export function dumpDesired (d: Pick<IpvsDesired, 'virtualServers' | 'addresses' | 'ipsets'>): string {
  const lines: string[] = []
  for (const a of [...d.addresses].sort()) lines.push(`addr ${DUMMY_DEVICE} ${a}`)
  for (const key of [...d.virtualServers.keys()].sort()) {
    const { service: s, dests } = d.virtualServers.get(key) as VirtualServer
    lines.push(`vs ${s.protocol} ${hostPort(s.address, s.port)} ${s.scheduler}${s.flags & SVC_F_PERSISTENT ? ` persistent ${s.timeout}` : ''}`)
    for (const k of [...dests.keys()].sort()) lines.push(`  -> ${k} masq weight ${(dests.get(k) as IpvsDest).weight}`)
  }
  for (const n of [...d.ipsets.keys()].sort()) for (const e of [...(d.ipsets.get(n) as Set<string>)].sort()) lines.push(`ipset ${n} ${e}`)
  return lines.join('\n') + '\n'
}
