/**
 * What the IPVS tracer (proxy/testing/trace-ipvs.ts) models beyond the
 * compliance rows, each on what the real proxier leaves in the fakes: a
 * tracer that cannot tell these cases apart could not catch their bugs.
 */
import test from 'ava'
import { fakeIptables, fakeNetlink } from '../../kernel/testing/index.js'
import { complianceObjects, plan, slice, stateOf, svc, trackerWith, traceIpvs } from '../testing/index.js'
import type { Packet, TraceResult } from '../testing/index.js'
import type { EndpointSlice, Service } from '../tracker/index.js'
import { DUMMY_DEVICE, ipvsProxier } from './index.js'
import type { IpvsProxierInit } from './index.js'
import { fakeIpset, fakeIpvs } from './testing/index.js'

function node (services: Service[], slices: EndpointSlice[], init: Partial<IpvsProxierInit> = {}) {
  const k = { ipvs: fakeIpvs(), netlink: fakeNetlink(), ipset: fakeIpset(), iptables: fakeIptables(init.family ?? 4) }
  const family = init.family ?? 4
  const nodeIP = family === 4 ? plan.nodeIP : 'fd00:192::2'
  const p = ipvsProxier({ family, clusterCIDRs: family === 4 ? [plan.podCIDR] : ['fd00:1::/64'], masqueradeAll: false, nodeIPs: [nodeIP], ...init }, k)
  const tr = trackerWith(services, slices)
  p.sync(stateOf(tr, family), 'full')
  const trace = (pkt: Omit<Packet, 'proto'> & { proto?: Packet['proto'] }): TraceResult =>
    traceIpvs({ iptables: k.iptables.dump(), ipset: k.ipset.save(), ipvs: k.ipvs.dump(), netlink: k.netlink.dump() }, { proto: 'tcp', ...pkt }, { nodeIPs: [nodeIP] })
  return { k, p, tr, trace, sync: () => p.sync(stateOf(tr, family), tr.checkout().changed) }
}

test('a service address on a port no service uses is rejected by KUBE-IPVS-FILTER (kube-proxy#72236), not left to the node', (t) => {
  const { services, slices } = complianceObjects()
  const n = node(services, slices)
  t.deepEqual(n.trace({ src: plan.localPod, dst: '172.30.0.41', dport: 22 }), { output: 'REJECT', masq: false })
  t.deepEqual(n.trace({ src: plan.external, dst: '1.2.3.4', dport: 443 }), { output: 'REJECT', masq: false })
  // The health-check node port is accepted for the node's own server, on the node address.
  t.deepEqual(n.trace({ src: plan.external, dst: plan.nodeIP, dport: 30000 }), { output: '', masq: false })
})

test('weight-0 real servers (graceful termination) are never chosen; with only those left the service rejects', (t) => {
  const web = svc('ns1', 'web', { clusterIP: '172.30.0.41' })
  const n = node([web], [slice('ns1', 'web', [{ ip: '10.180.0.1' }, { ip: '10.180.0.2' }])])
  t.is(n.trace({ src: plan.localPod, dst: '172.30.0.41', dport: 80 }).output, '10.180.0.1:80, 10.180.0.2:80')
  n.k.ipvs.setConns({ protocol: 'tcp', address: '172.30.0.41', port: 80 }, '10.180.0.2:80', 3)
  n.tr.event({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('ns1', 'web', [{ ip: '10.180.0.1' }]) })
  n.sync()
  t.true(n.k.ipvs.dump().includes('-> 10.180.0.2:80 masq weight 0'))
  t.is(n.trace({ src: plan.localPod, dst: '172.30.0.41', dport: 80 }).output, '10.180.0.1:80')
  n.k.ipvs.setConns({ protocol: 'tcp', address: '172.30.0.41', port: 80 }, '10.180.0.1:80', 1)
  n.tr.event({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('ns1', 'web', []) })
  n.sync()
  t.regex(n.k.ipvs.dump(), /-> 10\.180\.0\.1:80 masq weight 0[^]*-> 10\.180\.0\.2:80 masq weight 0/)
  t.deepEqual(n.trace({ src: plan.localPod, dst: '172.30.0.41', dport: 80 }), { output: 'REJECT', masq: false })
})

test('ClientIP affinity (persistent virtual server) still offers every real server to a new client', (t) => {
  const { services, slices } = complianceObjects()
  const n = node(services, slices)
  t.true(n.k.ipvs.dump().includes('vs tcp 5.6.7.8:80 rr persistent 10800'))
  t.deepEqual(n.trace({ src: plan.external, dst: '5.6.7.8', dport: 80 }), { output: '10.180.0.3:80', masq: true })
})

test('UDP: the virtual server and the ipsets are per protocol', (t) => {
  const dns = svc('ns1', 'dns', { clusterIP: '172.30.0.53', type: 'NodePort', ports: [{ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }] })
  const n = node([dns], [slice('ns1', 'dns', [{ ip: '10.180.0.3' }], 5353, 'dns', 'UDP')])
  t.deepEqual(n.trace({ src: plan.localPod, dst: '172.30.0.53', dport: 53, proto: 'udp' }), { output: '10.180.0.3:5353', masq: false })
  t.deepEqual(n.trace({ src: plan.external, dst: plan.nodeIP, dport: 30053, proto: 'udp' }), { output: '10.180.0.3:5353', masq: true })
  // TCP to the same address and port is no service's: rejected by KUBE-IPVS-FILTER.
  t.deepEqual(n.trace({ src: plan.localPod, dst: '172.30.0.53', dport: 53 }), { output: 'REJECT', masq: false })
  t.deepEqual(n.trace({ src: plan.external, dst: plan.nodeIP, dport: 30053 }), { output: '', masq: false })
})

test('IPv6: KUBE-6- sets, /128 kube-ipvs0 addresses, masquerade from outside the pod range and hairpin', (t) => {
  const web = svc('ns1', 'web', { clusterIP: 'fd00:30::41', type: 'NodePort', ports: [{ name: 'p80', port: 80, nodePort: 30080 }] })
  const n = node([web], [slice('ns1', 'web', [{ ip: 'fd00:1::9', node: 'node-a' }, { ip: 'fd00:180::2' }], 8080)], { family: 6 })
  t.deepEqual(n.trace({ src: 'fd00:1::5', dst: 'fd00:30::41', dport: 80 }), { output: '[fd00:180::2]:8080, [fd00:1::9]:8080', masq: false })
  t.deepEqual(n.trace({ src: 'fd00:1::9', dst: 'fd00:30::41', dport: 80 }), { output: '[fd00:180::2]:8080, [fd00:1::9]:8080', masq: true })
  t.deepEqual(n.trace({ src: '2001:db8::1', dst: 'fd00:192::2', dport: 30080 }), { output: '[fd00:180::2]:8080, [fd00:1::9]:8080', masq: true })
  t.deepEqual(n.trace({ src: '2001:db8::1', dst: 'fd00:30::41', dport: 80 }), { output: '[fd00:180::2]:8080, [fd00:1::9]:8080', masq: true })
})

test('a virtual server whose address is not on kube-ipvs0 is only reached from the node (LOCAL_OUT); others are forwarded past it', (t) => {
  const web = svc('ns1', 'web', { clusterIP: '172.30.0.41' })
  const n = node([web], [slice('ns1', 'web', [{ ip: '10.180.0.1' }])])
  const dummy = n.k.netlink.linkByName(DUMMY_DEVICE)
  if (dummy === undefined) return t.fail('no kube-ipvs0')
  n.k.netlink.deleteAddress(dummy.index, '172.30.0.41/32')
  t.deepEqual(n.trace({ src: plan.localPod, dst: '172.30.0.41', dport: 80 }), { output: '', masq: false })
  t.deepEqual(n.trace({ src: plan.nodeIP, dst: '172.30.0.41', dport: 80 }), { output: '10.180.0.1:80', masq: true })
})

test('a rule matching an ipset that does not exist cannot be traced (iptables-restore would have refused it)', (t) => {
  const web = svc('ns1', 'web', { clusterIP: '172.30.0.41' })
  const n = node([web], [slice('ns1', 'web', [{ ip: '10.180.0.1' }])])
  n.k.ipset.restore('destroy KUBE-LOOP-BACK\n')
  t.throws(() => n.trace({ src: plan.localPod, dst: '172.30.0.41', dport: 80 }), { message: /ipset KUBE-LOOP-BACK, which does not exist/ })
})
