import test from 'ava'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { base32, endpointChainName, hashAndTruncate, portProtoHash } from './hash.js'
import { categorizeEndpoints, servicePorts } from './model.js'
import type { EndpointSlice, Service } from './types.js'

test('chain hashes match kube-proxy golden vectors', (t) => {
  t.is(portProtoHash('ns1/svc1:p80', 'tcp'), 'XPGD46QRK7WJZT7O')
  t.is(endpointChainName('ns1/svc1:p80', 'tcp', '10.180.0.1:80'), 'KUBE-SEP-SXIVWICOYRO3J4NJ')
  t.is(portProtoHash('ns3/svc3:p80', 'TCP'), 'X27LE4BHSL4DOUIK')
  t.is(portProtoHash('ns4/svc4:p80', 'tcp'), '4SW47YFZTEDKD3PK')
  t.is(endpointChainName('ns4/svc4:p80', 'tcp', '10.180.0.4:80'), 'KUBE-SEP-UKSFD7AGPMPPLUHC')
  t.is(hashAndTruncate('ns1/svc1/tcp/p80'), 'ULMVA6XW-ns1/svc1/tcp/p80')
  t.is(hashAndTruncate('ns1/svc1/tcp/p80__10.180.0.1/80').slice(0, 8), '5OJB2KTY')
  t.is(hashAndTruncate('x'.repeat(300)).length, 240)
})

test('the chain hashes are base32(sha256(…)) cut as kube-proxy cuts them, for any name (the short encoder agrees with the full one)', (t) => {
  const full = (s: string): string => base32(createHash('sha256').update(s).digest())
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 80 }), fc.constantFrom('TCP', 'udp', 'SCTP'), fc.string({ maxLength: 30 }), (name, proto, ep) => {
    return portProtoHash(name, proto) === full(name + proto.toLowerCase()).slice(0, 16) &&
      endpointChainName(name, proto, ep) === 'KUBE-SEP-' + full(name + proto.toLowerCase() + ep).slice(0, 16) &&
      hashAndTruncate('n' + name).slice(0, 9) === full('n' + name).slice(0, 8) + '-'
  }), { numRuns: 500 })
  t.pass()
})

test('base32 is RFC 4648 with padding', (t) => {
  const enc = (s: string): string => base32(Buffer.from(s))
  t.is(enc(''), '')
  t.is(enc('f'), 'MY======')
  t.is(enc('fo'), 'MZXQ====')
  t.is(enc('foo'), 'MZXW6===')
  t.is(enc('foob'), 'MZXW6YQ=')
  t.is(enc('fooba'), 'MZXW6YTB')
  t.is(enc('foobar'), 'MZXW6YTBOI======')
})

const dual: Service = {
  metadata: { namespace: 'ns1', name: 'web' },
  spec: {
    type: 'LoadBalancer',
    clusterIP: '172.30.0.41',
    clusterIPs: ['172.30.0.41', 'fd00:30::41'],
    ports: [{ name: 'http', port: 80, nodePort: 30080 }, { port: 53, protocol: 'UDP', nodePort: 30053 }],
    externalIPs: ['192.168.99.11', '2001:db8:99::11'],
    sessionAffinity: 'ClientIP',
    externalTrafficPolicy: 'Local',
    healthCheckNodePort: 30999,
    loadBalancerSourceRanges: ['203.0.113.0/25', '2001:db8::/32']
  },
  status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }, { ip: '2001:db8:1::4' }, { hostname: 'lb.example' }] } }
}
const slices: EndpointSlice[] = [
  {
    metadata: { namespace: 'ns1', name: 'web-v4', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: '', port: 5353, protocol: 'UDP' }],
    endpoints: [
      { addresses: ['10.180.0.5'], nodeName: 'node-a' },
      { addresses: ['10.180.0.4'], nodeName: 'node-b', conditions: { ready: false, serving: true, terminating: true } },
      { addresses: ['10.180.0.6'], nodeName: 'node-a', conditions: { ready: false, serving: false, terminating: true } }
    ]
  },
  {
    metadata: { namespace: 'ns1', name: 'web-v6', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv6',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ addresses: ['fd00:180:0:0::7'], nodeName: 'node-b' }]
  }
]

test('a dual-stack LoadBalancer service yields one port set per family', (t) => {
  const v4 = servicePorts(dual, slices, 4, 'node-a')
  t.is(v4.length, 2)
  const http = v4[0]!
  t.like(http, {
    servicePortName: 'ns1/web:http', protocol: 'tcp', clusterIP: '172.30.0.41', port: 80, nodePort: 30080,
    externalIPs: ['192.168.99.11'], loadBalancerIPs: ['1.2.3.4'], loadBalancerSourceRanges: ['203.0.113.0/25'],
    affinitySeconds: 10800, externalPolicyLocal: true, healthCheckNodePort: 30999
  })
  t.deepEqual(http.endpoints.map((e) => [e.endpoint, e.ready, e.local]), [
    ['10.180.0.4:8080', false, false], ['10.180.0.5:8080', true, true], ['10.180.0.6:8080', false, true]
  ])
  t.like(v4[1], { servicePortName: 'ns1/web', protocol: 'udp', port: 53 })
  t.deepEqual(v4[1]!.endpoints.map((e) => e.endpoint), ['10.180.0.4:5353', '10.180.0.5:5353', '10.180.0.6:5353'])
  const v6 = servicePorts(dual, slices, 6, 'node-a')
  t.like(v6[0], { clusterIP: 'fd00:30::41', externalIPs: ['2001:db8:99::11'], loadBalancerIPs: ['2001:db8:1::4'] })
  t.deepEqual(v6[0]!.endpoints.map((e) => e.endpoint), ['[fd00:180::7]:8080'])
})

test('single-stack, headless and ExternalName services are skipped for other families', (t) => {
  const one: Service = { metadata: { name: 'a' }, spec: { clusterIP: '172.30.0.1', ports: [{ port: 80 }] } }
  t.is(servicePorts(one, [], 6, 'n').length, 0)
  t.is(servicePorts(one, [], 4, 'n')[0]?.service, 'default/a')
  t.is(servicePorts({ metadata: { name: 'h' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } }, [], 4, 'n').length, 0)
  t.is(servicePorts({ metadata: { name: 'x' }, spec: { type: 'ExternalName', ports: [{ port: 80 }] } }, [], 4, 'n').length, 0)
})

test('categorize: ready endpoints, then the terminating fallback, and Local policies', (t) => {
  const [http] = servicePorts(dual, slices, 4, 'node-a')
  const c = categorizeEndpoints(http!)
  t.deepEqual(c.clusterEndpoints.map((e) => e.ip), ['10.180.0.5'])
  t.deepEqual(c.localEndpoints.map((e) => e.ip), ['10.180.0.5'])
  t.true(c.hasAnyEndpoints)
  // node-b holds only a serving-terminating endpoint: Local falls back to it
  const b = categorizeEndpoints(servicePorts(dual, slices, 4, 'node-b')[0]!)
  t.deepEqual(b.localEndpoints.map((e) => e.ip), ['10.180.0.4'])
  // node-c has none: Local traffic gets nothing but the service has endpoints (DROP, not REJECT)
  const c2 = categorizeEndpoints(servicePorts(dual, slices, 4, 'node-c')[0]!)
  t.deepEqual(c2.localEndpoints, [])
  t.true(c2.hasAnyEndpoints)
  // no ready endpoint at all: cluster traffic falls back to serving+terminating
  const term = slices[0]!.endpoints!.filter((e) => e.conditions?.terminating === true)
  const onlyTerm = servicePorts({ ...dual, spec: { ...dual.spec, externalTrafficPolicy: 'Cluster' } }, [{ ...slices[0]!, endpoints: term }], 4, 'node-a')[0]!
  t.deepEqual(categorizeEndpoints(onlyTerm).clusterEndpoints.map((e) => e.ip), ['10.180.0.4'])
  const none = servicePorts({ ...dual, spec: { ...dual.spec, externalTrafficPolicy: 'Cluster' } }, [], 4, 'node-a')[0]!
  t.false(categorizeEndpoints(none).hasAnyEndpoints)
})

test('a duplicate ip:port across slices keeps the endpoint that is not terminating', (t) => {
  const s = (name: string, terminating: boolean): EndpointSlice => ({
    metadata: { namespace: 'ns1', name, labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4', ports: [{ name: 'http', port: 8080 }],
    endpoints: [{ addresses: ['10.180.0.9'], conditions: { ready: !terminating, terminating } }]
  })
  const [http] = servicePorts(dual, [s('a', true), s('b', false)], 4, 'n')
  t.deepEqual(http!.endpoints.map((e) => [e.endpoint, e.terminating]), [['10.180.0.9:8080', false]])
})
