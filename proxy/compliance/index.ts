/**
 * The compliance suite every proxy mode passes (STYLE.md convention 9): the
 * same fixture of services, the same packet-flow rows, the same change
 * sequences, traced through whatever ruleset the mode wrote.
 */
import type { TestFn } from 'ava'
import type { IpFamily, Proxier, ProxyState } from '../tracker/index.js'
import { complianceObjects, plan, slice, stateOf, trackerWith } from '../testing/index.js'
import type { Packet, TraceResult } from '../testing/index.js'

export interface ComplianceConfig {
  family: IpFamily
  clusterCIDRs: string[]
  masqueradeAll: boolean
}

export interface ComplianceSetup {
  proxier: Proxier
  /** Traces a packet through what the proxier has written so far. */
  trace (p: Packet): TraceResult
  /** Makes the next kernel transaction fail. */
  failNext (): void
}

export interface ComplianceHarness {
  mode: string
  setup (cfg: ComplianceConfig): ComplianceSetup
}

export interface FlowRow {
  name: string
  src: string
  dst: string
  dport: number
  proto?: 'tcp' | 'udp'
  output: string
  masq: boolean
  /**
   * What a mode does instead, where its kernel mechanism legitimately
   * differs (keyed by `ComplianceHarness.mode`). Every entry says why at
   * the row, citing upstream; a mode is never skipped.
   */
  byMode?: Readonly<Record<string, Pick<FlowRow, 'output' | 'masq'>>>
}

/**
 * IPVS mode: a virtual server without a real server answers ICMP port
 * unreachable and drops (`ip_vs_leave`, net/netfilter/ipvs/ip_vs_core.c:
 * "the scheduler can not find destination, so try bypass or return ICMP
 * and then NF_DROP"); IPVS mode has no DROP of its own for services.
 */
const ipvsNoRealServer = { ipvs: { output: 'REJECT', masq: false } } as const

/** kube-proxy's packet-flow rows over the compliance fixture (proxy/testing/fixtures.ts). */
export const flowRows: readonly FlowRow[] = [
  { name: 'pod to cluster IP', src: plan.localPod, dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80', masq: false },
  { name: 'node outside the pod network to cluster IP is masqueraded', src: plan.otherNodeIP, dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80', masq: true },
  // IPVS mode masquerades hairpin traffic through KUBE-LOOP-BACK, which holds this node's endpoints only, as
  // kube-proxy's (pkg/proxy/ipvs/proxier.go, syncProxyRules: `if !ep.IsLocal() { continue }` before the
  // kubeLoopBackIPSet entry); 10.180.0.1 has no nodeName, so it is not this node's. Next row: a local one.
  { name: 'hairpin: endpoint to its own service is masqueraded', src: '10.180.0.1', dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80', masq: true, byMode: { ipvs: { output: '10.180.0.1:80', masq: false } } },
  { name: 'hairpin: a local endpoint to its own service is masqueraded', src: '10.180.0.9', dst: '172.30.0.49', dport: 80, output: '10.180.0.10:80, 10.180.0.9:80', masq: true },
  { name: 'pod to cluster IP with two endpoints may reach either', src: plan.localPod, dst: '172.30.0.44', dport: 80, output: '10.180.0.4:80, 10.180.0.5:80', masq: false },
  { name: 'external to externalIP', src: plan.external, dst: '192.168.99.33', dport: 80, output: '10.180.0.4:80, 10.180.0.5:80', masq: true },
  { name: 'external to NodePort', src: plan.external, dst: plan.nodeIP, dport: 3003, output: '10.180.0.3:80', masq: true },
  { name: 'pod to NodePort', src: plan.localPod, dst: plan.nodeIP, dport: 3003, output: '10.180.0.3:80', masq: true },
  { name: 'node to its own NodePort', src: plan.nodeIP, dst: plan.nodeIP, dport: 3003, output: '10.180.0.3:80', masq: true },
  { name: 'NodePort is not served on localhost', src: '127.0.0.1', dst: '127.0.0.1', dport: 3003, output: '', masq: false },
  { name: 'pod to cluster IP with no endpoints is rejected', src: plan.localPod, dst: '172.30.0.46', dport: 80, output: 'REJECT', masq: false },
  // Local policies without a local endpoint: IPVS mode's virtual server has no real server, so REJECT, not DROP
  // (ipvsNoRealServer). kube-proxy's IPVS mode differs from both: without local endpoints its syncEndpoint falls back
  // to every endpoint ("Allow access from local PODs even if no local endpoints exist", kubernetes#97081), for
  // internalTrafficPolicy too; weft keeps the Local policies' "no local endpoint, no traffic" (docs/proxy.md).
  { name: 'internalTrafficPolicy Local without local endpoints drops', src: plan.localPod, dst: '172.30.0.47', dport: 80, output: 'DROP', masq: false, byMode: ipvsNoRealServer },
  { name: 'external to LB IP, externalTrafficPolicy Local without local endpoints, drops', src: plan.external, dst: '1.2.3.4', dport: 80, output: 'DROP', masq: false, byMode: ipvsNoRealServer },
  { name: 'external to NodePort, externalTrafficPolicy Local without local endpoints, drops', src: plan.external, dst: plan.nodeIP, dport: 3001, output: 'DROP', masq: false, byMode: ipvsNoRealServer },
  // IPVS mode has one virtual server per LB IP / externalIP : port for in-cluster and external clients alike (kube-proxy
  // too: syncEndpoint(svcPortName, svcInfo.ExternalPolicyLocal(), serv) for both), so in-cluster clients get the local
  // endpoints only, and here there are none: REJECT. (kube-proxy would fall back to every endpoint, #97081, see above.)
  { name: 'pod to LB IP of a Local service short-circuits to any endpoint', src: plan.localPod, dst: '1.2.3.4', dport: 80, output: '10.180.0.2:80', masq: false, byMode: ipvsNoRealServer },
  { name: 'node to externalIP of a Local service short-circuits, masqueraded', src: plan.nodeIP, dst: '192.168.99.22', dport: 80, output: '10.180.0.2:80', masq: true, byMode: ipvsNoRealServer },
  { name: 'pod to cluster IP of an externalTrafficPolicy Local service', src: plan.localPod, dst: '172.30.0.42', dport: 80, output: '10.180.0.2:80', masq: false },
  { name: 'external inside loadBalancerSourceRanges to LB IP', src: plan.external, dst: '5.6.7.8', dport: 80, output: '10.180.0.3:80', masq: true },
  { name: 'external outside loadBalancerSourceRanges to LB IP drops', src: plan.externalBlocked, dst: '5.6.7.8', dport: 80, output: 'DROP', masq: false },
  { name: 'source ranges do not apply to the NodePort', src: plan.externalBlocked, dst: plan.nodeIP, dport: 3002, output: '10.180.0.3:80', masq: true },
  { name: 'only a serving terminating endpoint: it is used', src: plan.localPod, dst: '172.30.0.48', dport: 80, output: '10.180.0.8:80', masq: false },
  { name: 'external to NodePort, externalTrafficPolicy Local, local endpoint only, source kept', src: plan.external, dst: plan.nodeIP, dport: 3009, output: '10.180.0.9:80', masq: false },
  { name: 'pod to cluster IP of that service reaches every endpoint', src: plan.localPod, dst: '172.30.0.49', dport: 80, output: '10.180.0.10:80, 10.180.0.9:80', masq: false },
  { name: 'pod to a pod IP is left alone', src: plan.localPod, dst: '10.180.0.4', dport: 80, output: '', masq: false },
  { name: 'external to an unused NodePort is left alone', src: plan.external, dst: plan.nodeIP, dport: 3999, output: '', masq: false }
]

const cfg: ComplianceConfig = { family: 4, clusterCIDRs: [plan.podCIDR], masqueradeAll: false }

const pkt = (r: FlowRow): Packet => ({ src: r.src, dst: r.dst, dport: r.dport, proto: r.proto ?? 'tcp' })

/** What a row expects of one mode: its own expectation where it has one, the shared one otherwise. */
export function expected (r: FlowRow, mode: string): Pick<FlowRow, 'output' | 'masq'> {
  const own = r.byMode?.[mode]
  return own ?? { output: r.output, masq: r.masq }
}

function checkRows (t: { deepEqual: (a: unknown, b: unknown, m?: string) => void }, s: ComplianceSetup, rows: readonly FlowRow[], mode: string): void {
  for (const r of rows) {
    const got = s.trace(pkt(r))
    const want = expected(r, mode)
    t.deepEqual({ output: got.output, masq: got.masq }, { output: want.output, masq: want.masq }, r.byMode?.[mode] === undefined ? r.name : `${r.name} (${mode})`)
  }
}

/** Registers the suite's tests for one mode. */
export function proxierCompliance (test: TestFn, h: ComplianceHarness): void {
  const title = (s: string): string => `${h.mode} compliance: ${s}`

  test(title('packet flows after a full sync'), (t) => {
    const { services, slices } = complianceObjects()
    const tr = trackerWith(services, slices)
    tr.checkout()
    const s = h.setup(cfg)
    const st = s.proxier.sync(stateOf(tr, 4), 'full')
    t.true(st.full)
    checkRows(t, s, flowRows, h.mode)
  })

  test(title('masqueradeAll masquerades pod traffic to cluster IPs'), (t) => {
    const { services, slices } = complianceObjects()
    const tr = trackerWith(services, slices)
    const s = h.setup({ ...cfg, masqueradeAll: true })
    s.proxier.sync(stateOf(tr, 4), 'full')
    checkRows(t, s, [{ name: 'pod to cluster IP', src: plan.localPod, dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80', masq: true }], h.mode)
  })

  test(title('partial syncs: endpoint removed, endpoints gone, service deleted, service added'), (t) => {
    const { services, slices } = complianceObjects()
    const tr = trackerWith(services, slices)
    tr.checkout()
    const s = h.setup(cfg)
    const state: ProxyState = stateOf(tr, 4)
    s.proxier.sync(state, 'full')
    // svc4 loses 10.180.0.5
    tr.event({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('ns4', 'svc4', [{ ip: '10.180.0.4' }]) })
    let st = s.proxier.sync(state, tr.checkout().changed)
    t.false(st.full)
    t.is(st.servicesWritten, 1)
    checkRows(t, s, [
      { name: 'svc4 now has one endpoint', src: plan.localPod, dst: '172.30.0.44', dport: 80, output: '10.180.0.4:80', masq: false },
      { name: 'svc1 untouched', src: plan.localPod, dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80', masq: false }
    ], h.mode)
    // svc1's endpoints go: REJECT
    tr.event({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('ns1', 'svc1', []) })
    s.proxier.sync(state, tr.checkout().changed)
    checkRows(t, s, [{ name: 'svc1 without endpoints rejects', src: plan.localPod, dst: '172.30.0.41', dport: 80, output: 'REJECT', masq: false }], h.mode)
    // svc3 deleted: its ClusterIP and NodePort are no longer handled
    tr.event({ type: 'DELETED', kind: 'Service', object: services[2]! })
    st = s.proxier.sync(state, tr.checkout().changed)
    t.false(st.full)
    checkRows(t, s, [
      { name: 'deleted service cluster IP', src: plan.localPod, dst: '172.30.0.43', dport: 80, output: '', masq: false },
      { name: 'deleted service NodePort', src: plan.external, dst: plan.nodeIP, dport: 3003, output: '', masq: false }
    ], h.mode)
    // and added back
    tr.event({ type: 'ADDED', kind: 'Service', object: services[2]! })
    s.proxier.sync(state, tr.checkout().changed)
    checkRows(t, s, flowRows.filter((r) => r.dport === 3003 && r.src !== '127.0.0.1'), h.mode)
    // A no-op sync writes no service
    t.is(s.proxier.sync(state, new Set()).servicesWritten, 0)
  })

  test(title('a failed transaction changes nothing and the next sync is full'), (t) => {
    const { services, slices } = complianceObjects()
    const tr = trackerWith(services, slices)
    tr.checkout()
    const s = h.setup(cfg)
    const state = stateOf(tr, 4)
    s.proxier.sync(state, 'full')
    tr.event({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('ns1', 'svc1', [{ ip: '10.180.0.11' }]) })
    const changed = tr.checkout().changed
    s.failNext()
    const e = t.throws(() => s.proxier.sync(state, changed))
    t.is((e as { code?: string }).code, 'PROXY_ERR_SYNC')
    checkRows(t, s, [{ name: 'old endpoint still in place', src: plan.localPod, dst: '172.30.0.41', dport: 80, output: '10.180.0.1:80', masq: false }], h.mode)
    const st = s.proxier.sync(state, new Set())
    t.true(st.full)
    checkRows(t, s, [{ name: 'new endpoint after the full retry', src: plan.localPod, dst: '172.30.0.41', dport: 80, output: '10.180.0.11:80', masq: false }], h.mode)
    checkRows(t, s, flowRows.filter((r) => r.dst !== '172.30.0.41' && r.src !== '10.180.0.1'), h.mode)
  })

  test(title('cleanup removes everything the mode wrote'), (t) => {
    const { services, slices } = complianceObjects()
    const tr = trackerWith(services, slices)
    const s = h.setup(cfg)
    s.proxier.sync(stateOf(tr, 4), 'full')
    s.proxier.cleanup()
    for (const r of flowRows) t.is(s.trace(pkt(r)).output, '', r.name)
  })
}
