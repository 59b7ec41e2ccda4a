import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { fakeProxyNft, plan, slice, stateOf, svc, trackerWith, traceNft } from '../testing/index.js'
import type { Service } from '../tracker/index.js'
import { nftablesProxier } from './index.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const golden = (name: string): string => fs.readFileSync(path.join(root, 'proxy', 'nftables', 'testdata', name), 'utf8')

const cfg = { family: 4 as const, clusterCIDRs: [plan.podCIDR], masqueradeAll: false }
const fixture = (): { services: Service[], slices: ReturnType<typeof slice>[] } => ({
  services: [
    svc('ns3', 'svc3', { type: 'NodePort', clusterIP: '172.30.0.43', ports: [{ name: 'p80', port: 80, nodePort: 3003 }] }),
    svc('ns4', 'svc4', { clusterIP: '172.30.0.44', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }),
    svc('ns6', 'svc6', { clusterIP: '172.30.0.46' })
  ],
  slices: [slice('ns3', 'svc3', [{ ip: '10.180.0.3' }]), slice('ns4', 'svc4', [{ ip: '10.180.0.4' }, { ip: '10.180.0.5' }])]
})

test('golden: the whole table for a NodePort, an affinity and an endpointless service (kube-proxy names and hashes; endpoint chains only with affinity)', (t) => {
  const { services, slices } = fixture()
  const nft = fakeProxyNft()
  nftablesProxier(cfg, { nft }).sync(stateOf(trackerWith(services, slices), 4), 'full')
  t.is(nft.dump('ip', 'kube-proxy'), golden('overall.nft'))
})

test('a partial sync is proportional to the change: one new service among 300 writes only its objects', (t) => {
  const services: Service[] = []
  const slices = []
  for (let i = 0; i < 300; i++) {
    services.push(svc(`ns${i}`, 'web', { clusterIP: `172.30.${i >> 8}.${i & 255}` }))
    slices.push(slice(`ns${i}`, 'web', [{ ip: `10.180.${i >> 8}.${i & 255}` }]))
  }
  const tr = trackerWith(services, slices)
  const nft = fakeProxyNft()
  const p = nftablesProxier(cfg, { nft })
  const full = p.sync(stateOf(tr, 4), 'full')
  tr.event({ type: 'ADDED', kind: 'Service', object: svc('new', 'web', { clusterIP: '172.30.9.9' }) })
  tr.event({ type: 'ADDED', kind: 'EndpointSlice', object: slice('new', 'web', [{ ip: '10.180.9.9' }, { ip: '10.180.9.10' }]) })
  const st = p.sync(stateOf(tr, 4), tr.checkout().changed)
  t.false(st.full)
  t.is(st.servicesWritten, 1)
  t.deepEqual(p.lastTransaction.trim().split('\n'), [
    'add chain ip kube-proxy service-PMWL3UFD-new/web/tcp/p80',
    'add rule ip kube-proxy service-PMWL3UFD-new/web/tcp/p80 ip daddr 172.30.9.9 tcp dport 80 ip saddr != { 10.0.0.0/8 } jump mark-for-masquerade',
    'add rule ip kube-proxy service-PMWL3UFD-new/web/tcp/p80 meta l4proto tcp dnat to numgen random mod 2 map { 0 : 10.180.9.10 . 80, 1 : 10.180.9.9 . 80 }',
    'add element ip kube-proxy cluster-ips { 172.30.9.9 }',
    'add element ip kube-proxy service-ips { 172.30.9.9 . tcp . 80 : goto service-PMWL3UFD-new/web/tcp/p80 }',
    'add element ip kube-proxy hairpin { 10.180.9.10 . 10.180.9.10 }',
    'add element ip kube-proxy hairpin { 10.180.9.9 . 10.180.9.9 }'
  ])
  t.true(st.bytes * 50 < full.bytes)
  // Removing an endpoint rewrites the service chain and drops its hairpin element, nothing else.
  tr.event({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('new', 'web', [{ ip: '10.180.9.9' }]) })
  p.sync(stateOf(tr, 4), tr.checkout().changed)
  t.deepEqual(p.lastTransaction.trim().split('\n'), [
    'flush chain ip kube-proxy service-PMWL3UFD-new/web/tcp/p80',
    'add rule ip kube-proxy service-PMWL3UFD-new/web/tcp/p80 ip daddr 172.30.9.9 tcp dport 80 ip saddr != { 10.0.0.0/8 } jump mark-for-masquerade',
    'add rule ip kube-proxy service-PMWL3UFD-new/web/tcp/p80 meta l4proto tcp dnat to numgen random mod 1 map { 0 : 10.180.9.9 . 80 }',
    'delete element ip kube-proxy hairpin { 10.180.9.10 . 10.180.9.10 }'
  ])
  // An endpoint IP shared with another service keeps its hairpin element while one of them still uses it.
  tr.event({ type: 'ADDED', kind: 'Service', object: svc('new', 'web2', { clusterIP: '172.30.9.10' }) })
  tr.event({ type: 'ADDED', kind: 'EndpointSlice', object: slice('new', 'web2', [{ ip: '10.180.9.9' }]) })
  p.sync(stateOf(tr, 4), tr.checkout().changed)
  t.false(p.lastTransaction.includes('hairpin'))
  tr.event({ type: 'DELETED', kind: 'Service', object: svc('new', 'web2', { clusterIP: '172.30.9.10' }) })
  p.sync(stateOf(tr, 4), tr.checkout().changed)
  t.false(p.lastTransaction.includes('hairpin'))
  t.true(nft.dump('ip', 'kube-proxy').includes('hairpin { 10.180.9.9 . 10.180.9.9 }'))
  tr.event({ type: 'DELETED', kind: 'EndpointSlice', object: slice('new', 'web2', []) })
  p.sync(stateOf(tr, 4), tr.checkout().changed)
  // Deleting the service removes its elements and chains: the table is back to the 300-service one.
  tr.event({ type: 'DELETED', kind: 'Service', object: svc('new', 'web', { clusterIP: '172.30.9.9' }) })
  tr.event({ type: 'DELETED', kind: 'EndpointSlice', object: slice('new', 'web', []) })
  p.sync(stateOf(tr, 4), tr.checkout().changed)
  const ref = fakeProxyNft()
  nftablesProxier(cfg, { nft: ref }).sync(stateOf(tr, 4), 'full')
  t.is(nft.dump('ip', 'kube-proxy'), ref.dump('ip', 'kube-proxy'))
})

test('nftables-only behaviour: an unused port of a ClusterIP is rejected', (t) => {
  const { services, slices } = fixture()
  const nft = fakeProxyNft()
  nftablesProxier(cfg, { nft }).sync(stateOf(trackerWith(services, slices), 4), 'full')
  t.is(traceNft(nft, 'ip', { src: plan.localPod, dst: '172.30.0.44', proto: 'tcp', dport: 81 }, { nodeIPs: [plan.nodeIP] }).output, 'REJECT')
})

test('IPv6: table ip6 kube-proxy with ipv6_addr maps and IPv6 DNAT targets, bracketed in the output', (t) => {
  const s = svc('ns1', 'v6', { clusterIP: 'fd00:30::41', ports: [{ name: 'p80', port: 80, nodePort: 3080 }], type: 'NodePort' })
  const sl = slice('ns1', 'v6', [{ ip: 'fd00:180::1' }])
  const nft = fakeProxyNft()
  nftablesProxier({ family: 6, clusterCIDRs: ['fd00:10::/64'], masqueradeAll: false }, { nft }).sync(stateOf(trackerWith([s], [sl]), 6), 'full')
  const dump = nft.dump('ip6', 'kube-proxy')
  t.regex(dump, /add map ip6 kube-proxy service-ips \{ type ipv6_addr \. inet_proto \. inet_service : verdict ;/)
  t.regex(dump, /meta l4proto tcp dnat to numgen random mod 1 map \{ 0 : fd00:180::1 \. 80 \}$/m)
  t.regex(dump, /add rule ip6 kube-proxy masquerading ct status dnat ip6 saddr \. ip6 daddr @hairpin masquerade fully-random/)
  t.regex(dump, /fib daddr type local ip6 daddr != ::1 meta l4proto/)
  const r = traceNft(nft, 'ip6', { src: 'fd00:10::5', dst: 'fd00:30::41', proto: 'tcp', dport: 80 }, { nodeIPs: ['fd00:1::2'] })
  t.deepEqual(r, { output: '[fd00:180::1]:80', masq: false })
  const ext = traceNft(nft, 'ip6', { src: '2001:db8::1', dst: 'fd00:1::2', proto: 'tcp', dport: 3080 }, { nodeIPs: ['fd00:1::2'] })
  t.deepEqual(ext, { output: '[fd00:180::1]:80', masq: true })
})
