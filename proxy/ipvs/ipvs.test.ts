import test from 'ava'
import { complianceObjects, plan, slice, stateOf, svc, trackerWith } from '../testing/index.js'
import {
  IpvsDecodeError, decodeDest, decodeService, dumpDesired, encodeDest, encodeService, ipvsDesired, ipvsProxier, nestOf, vsKey
} from './index.js'
import type { Ipvs, IpvsDest, IpvsService } from './index.js'

const web: IpvsService = { family: 4, protocol: 'tcp', address: '172.30.0.41', port: 80, scheduler: 'rr', flags: 1, timeout: 10800, netmask: 0xffffffff }

test('codec: the service nest, byte for byte (ip_vs.h: AF, PROTOCOL, ADDR, PORT big-endian, SCHED_NAME, FLAGS+mask, TIMEOUT, NETMASK)', (t) => {
  const b = encodeService(web)
  t.is(b.toString('hex'), [
    '48000180', // len 72, IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED
    '060001000200' + '0000', // AF = AF_INET (2)
    '060002000600' + '0000', // PROTOCOL = 6
    '08000300ac1e0029', // ADDR 172.30.0.41
    '060004000050' + '0000', // PORT 80, network order
    '070006007272' + '0000', // SCHED_NAME "rr\0"
    '0c00070001000000ffffffff', // FLAGS persistent / mask
    '08000800302a0000', // TIMEOUT 10800
    '08000900ffffffff' // NETMASK
  ].join(''))
  t.deepEqual(decodeService(nestOf(Buffer.concat([b]), 'service')!), web)
})

test('codec: round trips for IPv6 services and destinations; the kernel\'s 16-byte IPv4 addresses decode', (t) => {
  const v6: IpvsService = { ...web, family: 6, address: 'fd00:30::41', flags: 0, timeout: 0, netmask: 128, protocol: 'udp', port: 53 }
  t.deepEqual(decodeService(nestOf(encodeService(v6), 'service')!), v6)
  const d: IpvsDest = { address: '10.180.0.1', port: 8080, weight: 1, fwdMethod: 0, activeConns: 0, inactConns: 0 }
  t.deepEqual(decodeDest(nestOf(encodeDest(d, 4), 'dest')!, 4), d)
  // As the kernel answers: ADDR padded to 16 bytes, counters present.
  const reply = Buffer.from('14000100' + '0ab40001' + '00'.repeat(12) + '06000200' + '1f900000' + '08000400' + '00000000' + '08000700' + '03000000', 'hex')
  t.deepEqual(decodeDest(reply, 4), { address: '10.180.0.1', port: 8080, weight: 0, fwdMethod: 0, activeConns: 3, inactConns: 0 })
  t.throws(() => decodeDest(Buffer.from('20000100', 'hex'), 4), { instanceOf: IpvsDecodeError })
  t.throws(() => decodeService(Buffer.alloc(0)), { instanceOf: IpvsDecodeError })
})

test('golden: virtual servers, kube-ipvs0 addresses and ipsets for the compliance fixture', (t) => {
  const { services, slices } = complianceObjects()
  const tr = trackerWith(services.filter((s) => ['svc1', 'svc2', 'svc5', 'svc6'].includes(s.metadata.name)), slices)
  const st = stateOf(tr, 4)
  const d = ipvsDesired([...st.keys()].map((k) => st.ports(k)), { family: 4, nodeIPs: [plan.nodeIP] })
  t.is(dumpDesired(d), `addr kube-ipvs0 1.2.3.4
addr kube-ipvs0 172.30.0.41
addr kube-ipvs0 172.30.0.42
addr kube-ipvs0 172.30.0.45
addr kube-ipvs0 172.30.0.46
addr kube-ipvs0 192.168.99.22
addr kube-ipvs0 5.6.7.8
vs tcp 1.2.3.4:80 rr
vs tcp 172.30.0.41:80 rr
  -> 10.180.0.1:80 masq weight 1
vs tcp 172.30.0.42:80 rr
  -> 10.180.0.2:80 masq weight 1
vs tcp 172.30.0.45:80 rr persistent 10800
  -> 10.180.0.3:80 masq weight 1
vs tcp 172.30.0.46:80 rr
vs tcp 192.168.0.2:3001 rr
vs tcp 192.168.0.2:3002 rr persistent 10800
  -> 10.180.0.3:80 masq weight 1
vs tcp 192.168.99.22:80 rr
vs tcp 5.6.7.8:80 rr persistent 10800
  -> 10.180.0.3:80 masq weight 1
ipset KUBE-CLUSTER-IP 172.30.0.41,tcp:80
ipset KUBE-CLUSTER-IP 172.30.0.42,tcp:80
ipset KUBE-CLUSTER-IP 172.30.0.45,tcp:80
ipset KUBE-CLUSTER-IP 172.30.0.46,tcp:80
ipset KUBE-EXTERNAL-IP-LOCAL 192.168.99.22,tcp:80
ipset KUBE-HEALTH-CHECK-NODE-PORT 30000
ipset KUBE-IPVS-IPS 1.2.3.4
ipset KUBE-IPVS-IPS 172.30.0.41
ipset KUBE-IPVS-IPS 172.30.0.42
ipset KUBE-IPVS-IPS 172.30.0.45
ipset KUBE-IPVS-IPS 172.30.0.46
ipset KUBE-IPVS-IPS 192.168.99.22
ipset KUBE-IPVS-IPS 5.6.7.8
ipset KUBE-LOAD-BALANCER 1.2.3.4,tcp:80
ipset KUBE-LOAD-BALANCER 5.6.7.8,tcp:80
ipset KUBE-LOAD-BALANCER-FW 5.6.7.8,tcp:80
ipset KUBE-LOAD-BALANCER-LOCAL 1.2.3.4,tcp:80
ipset KUBE-LOAD-BALANCER-SOURCE-CIDR 5.6.7.8,tcp:80,203.0.113.0/25
ipset KUBE-NODE-PORT-LOCAL-TCP 3001
ipset KUBE-NODE-PORT-TCP 3001
ipset KUBE-NODE-PORT-TCP 3002
`)
})

/** An in-memory IPVS table. */
function fakeIpvs (): Ipvs & { table: Map<string, { s: IpvsService, d: Map<string, IpvsDest> }>, calls: string[] } {
  const table = new Map<string, { s: IpvsService, d: Map<string, IpvsDest> }>()
  const calls: string[] = []
  const dk = (d: IpvsDest): string => `${d.address}:${d.port}`
  const get = (s: IpvsService): { s: IpvsService, d: Map<string, IpvsDest> } => {
    const e = table.get(vsKey(s))
    if (e === undefined) throw new Error(`no such service ${vsKey(s)}`)
    return e
  }
  return {
    table,
    calls,
    services: () => [...table.values()].map((e) => e.s),
    addService (s) { calls.push(`add ${vsKey(s)}`); if (table.has(vsKey(s))) throw new Error('EEXIST'); table.set(vsKey(s), { s, d: new Map() }) },
    updateService (s) { calls.push(`set ${vsKey(s)}`); get(s).s = s },
    deleteService (s) { calls.push(`del ${vsKey(s)}`); get(s); table.delete(vsKey(s)) },
    dests: (s) => [...get(s).d.values()],
    addDest (s, d) { calls.push(`add ${vsKey(s)} -> ${dk(d)}`); get(s).d.set(dk(d), { ...d }) },
    updateDest (s, d) { calls.push(`set ${vsKey(s)} -> ${dk(d)} w${d.weight}`); const e = get(s).d.get(dk(d)); if (e === undefined) throw new Error('ENOENT'); e.weight = d.weight },
    deleteDest (s, d) { calls.push(`del ${vsKey(s)} -> ${dk(d)}`); if (!get(s).d.delete(dk(d))) throw new Error('ENOENT') }
  }
}

test('proxier: removed TCP real servers with connections go to weight 0 and are deleted once idle; UDP ones at once; stale virtual servers deleted', (t) => {
  const ipvs = fakeIpvs()
  const tcpSvc = svc('ns1', 'web', { clusterIP: '172.30.0.41' })
  const udpSvc = svc('ns1', 'dns', { clusterIP: '172.30.0.53', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] })
  const udpSlice = (ips: string[]): ReturnType<typeof slice> => slice('ns1', 'dns', ips.map((ip) => ({ ip })), 5353, 'dns', 'UDP')
  const tr = trackerWith([tcpSvc, udpSvc], [slice('ns1', 'web', [{ ip: '10.180.0.1' }, { ip: '10.180.0.2' }]), udpSlice(['10.180.0.1', '10.180.0.2'])])
  const p = ipvsProxier({ family: 4, nodeIPs: [plan.nodeIP] }, { ipvs })
  p.sync(stateOf(tr, 4), 'full')
  t.deepEqual([...ipvs.table.keys()].sort(), ['tcp/172.30.0.41/80', 'udp/172.30.0.53/53'])
  ipvs.table.get('tcp/172.30.0.41/80')!.d.get('10.180.0.2:80')!.activeConns = 2
  tr.event({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('ns1', 'web', [{ ip: '10.180.0.1' }]) })
  tr.event({ type: 'MODIFIED', kind: 'EndpointSlice', object: udpSlice(['10.180.0.1']) })
  tr.checkout()
  ipvs.calls.length = 0
  p.sync(stateOf(tr, 4), 'full')
  t.deepEqual(ipvs.calls, ['set tcp/172.30.0.41/80 -> 10.180.0.2:80 w0', 'del udp/172.30.0.53/53 -> 10.180.0.2:5353'])
  // Still busy: nothing happens; idle: deleted.
  ipvs.calls.length = 0
  p.sync(stateOf(tr, 4), 'full')
  t.deepEqual(ipvs.calls, [])
  ipvs.table.get('tcp/172.30.0.41/80')!.d.get('10.180.0.2:80')!.activeConns = 0
  p.sync(stateOf(tr, 4), 'full')
  t.deepEqual(ipvs.calls, ['del tcp/172.30.0.41/80 -> 10.180.0.2:80'])
  // An endpoint coming back while at weight 0 is re-weighted, not re-added.
  ipvs.table.get('tcp/172.30.0.41/80')!.d.set('10.180.0.1:80', { ...ipvs.table.get('tcp/172.30.0.41/80')!.d.get('10.180.0.1:80')!, weight: 0 })
  ipvs.calls.length = 0
  p.sync(stateOf(tr, 4), 'full')
  t.deepEqual(ipvs.calls, ['set tcp/172.30.0.41/80 -> 10.180.0.1:80 w1'])
  // A deleted service's virtual server goes; a virtual server that is not ours stays.
  ipvs.addService({ ...(ipvs.table.get('tcp/172.30.0.41/80')!.s), address: '198.51.100.9' })
  tr.event({ type: 'DELETED', kind: 'Service', object: udpSvc })
  tr.checkout()
  ipvs.calls.length = 0
  p.sync(stateOf(tr, 4), 'full')
  t.deepEqual(ipvs.calls, ['del udp/172.30.0.53/53'])
  p.cleanup()
  t.deepEqual([...ipvs.table.keys()], ['tcp/198.51.100.9/80'])
})
