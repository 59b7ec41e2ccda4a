/**
 * The address plan of the proxy's tests (kube-proxy's test conventions):
 * pods 10.0.0.0/8 with endpoints in 10.180.0.0/16, ClusterIPs 172.30.0.0/16,
 * this node 192.168.0.2 (another node 192.168.0.3), externalIPs
 * 192.168.99.0/24, LoadBalancer IPs 1.2.3.4 and 5.6.7.8, and RFC 5737
 * 203.0.113.0/24 for clients outside the cluster (source range
 * 203.0.113.0/25 allowed). IPv6 mirrors it under fd00::/8 and 2001:db8::/32.
 */
import { ChangeTracker, servicePorts } from '../tracker/index.js'
import type { EndpointSlice, IpFamily, ProxyState, Service } from '../tracker/index.js'

export const plan = {
  nodeName: 'node-a',
  nodeIP: '192.168.0.2',
  otherNodeIP: '192.168.0.3',
  podCIDR: '10.0.0.0/8',
  localPod: '10.0.1.1',
  external: '203.0.113.1',
  externalBlocked: '203.0.113.130',
  sourceRange: '203.0.113.0/25'
} as const

export function svc (ns: string, name: string, spec: Service['spec'], lbIPs: string[] = []): Service {
  return {
    metadata: { namespace: ns, name },
    spec: { ports: [{ name: 'p80', port: 80, protocol: 'TCP' }], ...spec },
    ...(lbIPs.length > 0 ? { status: { loadBalancer: { ingress: lbIPs.map((ip) => ({ ip })) } } } : {})
  }
}

export interface Ep { ip: string, node?: string, ready?: boolean, serving?: boolean, terminating?: boolean }

export function slice (ns: string, svcName: string, eps: Ep[], port = 80, portName = 'p80', protocol: 'TCP' | 'UDP' = 'TCP'): EndpointSlice {
  const v6 = eps.some((e) => e.ip.includes(':'))
  return {
    metadata: { namespace: ns, name: `${svcName}-${v6 ? 'v6' : 'v4'}`, labels: { 'kubernetes.io/service-name': svcName } },
    addressType: v6 ? 'IPv6' : 'IPv4',
    ports: [{ name: portName, port, protocol }],
    endpoints: eps.map((e) => ({
      addresses: [e.ip],
      ...(e.node !== undefined ? { nodeName: e.node } : {}),
      ...(e.ready !== undefined || e.terminating !== undefined || e.serving !== undefined
        ? { conditions: { ready: e.ready ?? true, serving: e.serving ?? true, terminating: e.terminating ?? false } }
        : {})
    }))
  }
}

/**
 * The compliance fixture: one service per behaviour.
 * svc1 ClusterIP, one endpoint; svc2 LoadBalancer + externalIP + NodePort with
 * externalTrafficPolicy Local and its only endpoint on another node; svc3
 * NodePort; svc4 ClusterIP + externalIP, two endpoints; svc5 LoadBalancer
 * with source ranges and ClientIP affinity; svc6 no endpoints; svc7
 * internalTrafficPolicy Local with no local endpoint; svc8 only a
 * serving-terminating endpoint; svc9 externalTrafficPolicy Local with a
 * local endpoint.
 */
export function complianceObjects (): { services: Service[], slices: EndpointSlice[] } {
  const services = [
    svc('ns1', 'svc1', { clusterIP: '172.30.0.41' }),
    svc('ns2', 'svc2', { type: 'LoadBalancer', clusterIP: '172.30.0.42', externalIPs: ['192.168.99.22'], externalTrafficPolicy: 'Local', healthCheckNodePort: 30000, ports: [{ name: 'p80', port: 80, nodePort: 3001 }] }, ['1.2.3.4']),
    svc('ns3', 'svc3', { type: 'NodePort', clusterIP: '172.30.0.43', ports: [{ name: 'p80', port: 80, nodePort: 3003 }] }),
    svc('ns4', 'svc4', { clusterIP: '172.30.0.44', externalIPs: ['192.168.99.33'] }),
    svc('ns5', 'svc5', { type: 'LoadBalancer', clusterIP: '172.30.0.45', sessionAffinity: 'ClientIP', loadBalancerSourceRanges: [plan.sourceRange], ports: [{ name: 'p80', port: 80, nodePort: 3002 }] }, ['5.6.7.8']),
    svc('ns6', 'svc6', { clusterIP: '172.30.0.46' }),
    svc('ns7', 'svc7', { clusterIP: '172.30.0.47', internalTrafficPolicy: 'Local' }),
    svc('ns8', 'svc8', { clusterIP: '172.30.0.48' }),
    svc('ns9', 'svc9', { type: 'NodePort', clusterIP: '172.30.0.49', externalTrafficPolicy: 'Local', ports: [{ name: 'p80', port: 80, nodePort: 3009 }] })
  ]
  const slices = [
    slice('ns1', 'svc1', [{ ip: '10.180.0.1' }]),
    slice('ns2', 'svc2', [{ ip: '10.180.0.2', node: 'node-b' }]),
    slice('ns3', 'svc3', [{ ip: '10.180.0.3' }]),
    slice('ns4', 'svc4', [{ ip: '10.180.0.4' }, { ip: '10.180.0.5' }]),
    slice('ns5', 'svc5', [{ ip: '10.180.0.3' }]),
    slice('ns7', 'svc7', [{ ip: '10.180.0.7', node: 'node-b' }]),
    slice('ns8', 'svc8', [{ ip: '10.180.0.8', ready: false, serving: true, terminating: true }]),
    slice('ns9', 'svc9', [{ ip: '10.180.0.9', node: 'node-a' }, { ip: '10.180.0.10', node: 'node-b' }])
  ]
  return { services, slices }
}

/** A tracker fed with objects (changes checked out), and the ProxyState view a proxier reads for one family. */
export function trackerWith (services: readonly Service[], slices: readonly EndpointSlice[]): ChangeTracker {
  const tr = new ChangeTracker()
  for (const s of services) tr.event({ type: 'ADDED', kind: 'Service', object: s })
  for (const s of slices) tr.event({ type: 'ADDED', kind: 'EndpointSlice', object: s })
  tr.event({ type: 'SYNCED', kind: 'Service' })
  tr.event({ type: 'SYNCED', kind: 'EndpointSlice' })
  tr.checkout()
  return tr
}

export function stateOf (tr: ChangeTracker, family: IpFamily, nodeName: string = plan.nodeName): ProxyState {
  return {
    keys: () => tr.services().keys(),
    ports: (key) => {
      const s = tr.service(key)
      return s === undefined ? [] : servicePorts(s, tr.slicesOf(key), family, nodeName)
    }
  }
}
