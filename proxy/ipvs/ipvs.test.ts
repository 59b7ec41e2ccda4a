import test from 'ava'
import { complianceObjects, plan, stateOf, trackerWith } from '../testing/index.js'
import * as fc from 'fast-check'
import {
  IpvsDecodeError, decodeDest, decodeService, decodeTimeouts, dumpDesired, encodeDest, encodeService, encodeTimeouts, ipvsDesired, nestOf, parseAttrs
} from './index.js'
import type { IpvsDest, IpvsService } from './index.js'

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

test('codec: IPVS_CMD_SET_CONFIG timeouts, byte for byte, and back', (t) => {
  const b = encodeTimeouts({ tcp: 900, tcpFin: 120, udp: 300 })
  t.is(b.toString('hex'), [
    '0800040084030000', // IPVS_CMD_ATTR_TIMEOUT_TCP 900
    '0800050078000000', // IPVS_CMD_ATTR_TIMEOUT_TCP_FIN 120
    '080006002c010000' // IPVS_CMD_ATTR_TIMEOUT_UDP 300
  ].join(''))
  t.deepEqual(decodeTimeouts(b), { tcp: 900, tcpFin: 120, udp: 300 })
  t.throws(() => decodeTimeouts(b.subarray(0, 16)), { instanceOf: IpvsDecodeError })
})

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'))
const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((h) => h.map((x) => x.toString(16)).join(':'))
  .map((a) => ipCanonical(a))
function ipCanonical (a: string): string {
  // The codec prints addresses in canonical form; compare in that form.
  return decodeService(nestOf(encodeService({ ...web, family: 6, address: a, netmask: 128 }), 'service')!).address
}

test('codec: property — any service and destination round-trips', (t) => {
  fc.assert(fc.property(
    fc.boolean(), v4, v6, fc.constantFrom('tcp', 'udp', 'sctp'), fc.nat(65535), fc.constantFrom('rr', 'wrr', 'lc', 'sh', 'mh'),
    fc.nat(), fc.nat(0x7fffffff), fc.nat(65535),
    (is4, a4, a6, protocol, port, scheduler, timeout, weight, dport) => {
      const s: IpvsService = { family: is4 ? 4 : 6, protocol: protocol as IpvsService['protocol'], address: is4 ? a4 : a6, port, scheduler, flags: timeout > 0 ? 1 : 0, timeout, netmask: is4 ? 0xffffffff : 128 }
      const d: IpvsDest = { address: is4 ? a4 : a6, port: dport, weight, fwdMethod: 0, activeConns: 0, inactConns: 0 }
      t.deepEqual(decodeService(nestOf(encodeService(s), 'service')!), s)
      t.deepEqual(decodeDest(nestOf(encodeDest(d, s.family), 'dest')!, s.family), d)
    }), { numRuns: 300 })
})

test('codec: property — arbitrary bytes either decode or throw IpvsDecodeError', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => {
    for (const f of [() => parseAttrs(bytes), () => decodeService(bytes), () => decodeDest(bytes, 4), () => decodeTimeouts(bytes)]) {
      try { f() } catch (e) { if (!(e instanceof IpvsDecodeError)) throw e }
    }
  }), { numRuns: 500 })
  t.pass()
})

test('codec: property — well-formed attributes of any size decode or throw IpvsDecodeError (short payloads included)', (t) => {
  const attrs = fc.array(fc.record({ type: fc.nat(12), payload: fc.uint8Array({ maxLength: 20 }) }), { maxLength: 10 }).map((as) => Buffer.concat(as.map(({ type, payload }) => {
    const b = Buffer.alloc((4 + payload.length + 3) & ~3)
    b.writeUInt16LE(4 + payload.length, 0)
    b.writeUInt16LE(type, 2)
    Buffer.from(payload).copy(b, 4)
    return b
  })))
  fc.assert(fc.property(attrs, (bytes) => {
    for (const f of [() => decodeService(bytes), () => decodeDest(bytes, 4), () => decodeDest(bytes, 6), () => decodeTimeouts(bytes)]) {
      try { f() } catch (e) { if (!(e instanceof IpvsDecodeError)) throw e }
    }
  }), { numRuns: 2000 })
  // Regression: an AF attribute with no payload used to escape as a RangeError.
  t.throws(() => decodeService(Buffer.from('04000100' + '04000200', 'hex')), { instanceOf: IpvsDecodeError })
})
