/**
 * Back to kube-proxy, IPVS mode. This kernel has no IPVS, so the kernel e2e
 * (e2e/proxy/back-to-kube-proxy.test.ts) cannot run this mode; here the same
 * ownership check runs on what the proxier leaves in the fakes (the state the
 * golden files hold): every iptables chain and jump, every ipset and every
 * link is one kube-proxy's IPVS mode rewrites, re-syncs or deletes by itself.
 * Virtual servers are not names; kube-proxy deletes the ones on kube-ipvs0
 * addresses it does not want (see docs/proxy.md, "Back to kube-proxy").
 */
import test from 'ava'
import { fakeIptables, fakeNetlink } from '../../kernel/testing/index.js'
import { complianceObjects, plan, slice, stateOf, svc, trackerWith, unownedIpsets, unownedIptables, unownedLinks } from '../testing/index.js'
import type { Unowned } from '../testing/index.js'
import { ipvsProxier } from './index.js'
import { fakeIpset, fakeIpvs } from './testing/index.js'

const label = (u: Unowned): string => `${u.where}: ${u.name}`

function leftovers (k: { iptables: { dump: () => string }, ipset: { dump: () => string }, netlink: { dump: () => string } }): string[] {
  const ipsets = k.ipset.dump().split('\n').filter((l) => l.startsWith('create ')).map((l) => l.split(' ')[1] as string)
  const links = k.netlink.dump().split('\n').filter((l) => l.startsWith('link ')).map((l) => l.split(' ')[1] as string).filter((n) => n !== 'lo')
  return [...unownedIptables(k.iptables.dump(), 'ipvs'), ...unownedIpsets(ipsets, 'ipvs'), ...unownedLinks(links, 'ipvs')].map(label)
}

test('IPVS mode, IPv4: after a full and a partial sync of the compliance fixture, every chain, jump, ipset and link is kube-proxy\'s', (t) => {
  const { services, slices } = complianceObjects()
  const k = { ipvs: fakeIpvs(), netlink: fakeNetlink(), ipset: fakeIpset(), iptables: fakeIptables(4) }
  const p = ipvsProxier({ family: 4, clusterCIDRs: [plan.podCIDR], masqueradeAll: false, nodeIPs: [plan.nodeIP], randomFully: true }, k)
  const tr = trackerWith(services, slices)
  p.sync(stateOf(tr, 4), 'full')
  t.regex(k.iptables.dump(), /^:KUBE-IPVS-FILTER /m)
  t.regex(k.netlink.dump(), /^link kube-ipvs0 /m)
  t.deepEqual(leftovers(k), [])
  tr.event({ type: 'DELETED', kind: 'Service', object: services[0]! })
  t.false(p.sync(stateOf(tr, 4), tr.checkout().changed).full)
  t.deepEqual(leftovers(k), [])
})

test('IPVS mode, IPv6: the KUBE-6- ipsets (cut to 31 characters) and the ip6tables chains are kube-proxy\'s', (t) => {
  const services = [svc('ns1', 'web', { clusterIP: 'fd00:30::41', type: 'NodePort', ports: [{ name: 'p80', port: 80, nodePort: 30080 }] })]
  const slices = [slice('ns1', 'web', [{ ip: 'fd00:180::1', node: 'node-a' }], 8080)]
  const k = { ipvs: fakeIpvs(), netlink: fakeNetlink(), ipset: fakeIpset(), iptables: fakeIptables(6) }
  const p = ipvsProxier({ family: 6, clusterCIDRs: [], masqueradeAll: true, nodeIPs: ['fd00:192::2'] }, k)
  p.sync(stateOf(trackerWith(services, slices), 6), 'full')
  t.regex(k.ipset.dump(), /^create KUBE-6-NODE-PORT-LOCAL-SCTP-HAS /m)
  t.deepEqual(leftovers(k), [])
})

test('the check is not blind: a chain, a jump, an ipset and a link kube-proxy does not know are reported', (t) => {
  const save = '*filter\n:INPUT ACCEPT [0:0]\n:WEFT-X - [0:0]\n-A INPUT -m comment --comment "kubernetes health check rules" -j KUBE-NODE-PORT\n-A INPUT -j KUBE-NODE-PORT\nCOMMIT\n'
  t.deepEqual([...unownedIptables(save, 'ipvs'), ...unownedIpsets(['KUBE-CLUSTER-IP', 'WEFT-SET'], 'ipvs'), ...unownedLinks(['kube-ipvs0', 'weft0'], 'ipvs')].map(label), [
    'iptables filter: WEFT-X',
    'iptables filter INPUT: -A INPUT -j KUBE-NODE-PORT',
    'ipset: WEFT-SET',
    'link: weft0'
  ])
})
