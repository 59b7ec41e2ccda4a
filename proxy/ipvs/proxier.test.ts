import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ciKernel, fakeIptables, fakeNetlink } from '../../kernel/testing/index.js'
import { complianceObjects, plan, slice, stateOf, svc, trackerWith } from '../testing/index.js'
import { ProxyError } from '../tracker/index.js'
import { DUMMY_DEVICE, ipvsCleanup, ipvsProxier, ipvsSysctls, localNodeIPs } from './index.js'
import type { IpvsProxierInit } from './index.js'
import { fakeIpset, fakeIpvs } from './testing/index.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const golden = (name: string, actual: string): string => {
  const p = path.join(root, 'proxy', 'ipvs', 'testdata', name)
  if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(p, actual)
  return fs.readFileSync(p, 'utf8')
}

const init4: IpvsProxierInit = { family: 4, clusterCIDRs: [plan.podCIDR], masqueradeAll: false, nodeIPs: [plan.nodeIP], randomFully: true }

function kit (opts: { netlink?: ReturnType<typeof fakeNetlink> } = {}): {
  ipvs: ReturnType<typeof fakeIpvs>, netlink: ReturnType<typeof fakeNetlink>, ipset: ReturnType<typeof fakeIpset>, iptables: ReturnType<typeof fakeIptables>, ip6tables: ReturnType<typeof fakeIptables>
} {
  return { ipvs: fakeIpvs(), netlink: opts.netlink ?? fakeNetlink(), ipset: fakeIpset(), iptables: fakeIptables(4), ip6tables: fakeIptables(6) }
}

test('golden: a full sync of the compliance fixture — the ipset restore script, the iptables-restore text, and what the kernel then holds', (t) => {
  const { services, slices } = complianceObjects()
  const k = kit()
  const p = ipvsProxier(init4, k)
  const st = p.sync(stateOf(trackerWith(services, slices), 4), 'full')
  t.true(st.full)
  t.is(p.lastIpsetScript, golden('compliance.ipset', p.lastIpsetScript))
  t.is(p.lastIptablesText, golden('compliance.restore', p.lastIptablesText))
  t.is(k.ipvs.dump(), golden('compliance.ipvs', k.ipvs.dump()))
  // The jumps from the built-in chains, in kube-proxy's order, and nothing else outside our chains.
  const saved = k.iptables.dump()
  t.is(saved, golden('compliance.iptables-save', saved))
  t.is(k.netlink.dump(), golden('compliance.netlink', k.netlink.dump()))
})

test('golden: IPv6 — KUBE-6- sets, ip6tables text, /128 addresses on kube-ipvs0, masqueradeAll', (t) => {
  const services = [
    svc('ns1', 'web', { clusterIP: 'fd00:30::41', type: 'NodePort', ports: [{ name: 'p80', port: 80, nodePort: 30080 }] }),
    svc('ns1', 'dns', { clusterIP: 'fd00:30::53', sessionAffinity: 'ClientIP', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] })
  ]
  const slices = [slice('ns1', 'web', [{ ip: 'fd00:180::1', node: 'node-a' }, { ip: 'fd00:180::2' }], 8080), slice('ns1', 'dns', [{ ip: 'fd00:180::3' }], 5353, 'dns', 'UDP')]
  const k = kit()
  const p = ipvsProxier({ family: 6, clusterCIDRs: [], masqueradeAll: true, nodeIPs: ['fd00:192::2'] }, { ...k, iptables: k.ip6tables })
  p.sync(stateOf(trackerWith(services, slices), 6), 'full')
  const all = [p.lastIpsetScript, p.lastIptablesText, k.ipvs.dump(), k.netlink.dump()].join('---\n')
  t.is(all, golden('ipv6.txt', all))
})

test('a partial sync writes only the ipset changes; the iptables text is rewritten only when it changes', (t) => {
  const { services, slices } = complianceObjects()
  const tr = trackerWith(services, slices)
  const k = kit()
  const p = ipvsProxier(init4, k)
  p.sync(stateOf(tr, 4), 'full')
  const restores = (): number => k.iptables.calls.filter((c) => c === 'restore').length
  const before = restores()
  tr.event({ type: 'DELETED', kind: 'Service', object: services[0]! })
  const changed = tr.checkout().changed
  const st = p.sync(stateOf(tr, 4), changed)
  t.false(st.full)
  t.is(p.lastIpsetScript, 'del KUBE-CLUSTER-IP 172.30.0.41,tcp:80\ndel KUBE-IPVS-IPS 172.30.0.41\n')
  t.is(p.lastIptablesText, '')
  t.is(restores(), before)
  t.false(k.ipvs.dump().includes('172.30.0.41'))
  t.false(k.netlink.dump().includes('172.30.0.41'))
  t.false(k.ipset.dump().includes('172.30.0.41'))
})

test('servicesWritten counts the Services whose virtual or real servers a sync changed, not every virtual server', (t) => {
  // It used to report every virtual server of the node on every sync (17 for the compliance fixture, even for a no-op).
  const { services, slices } = complianceObjects()
  const tr = trackerWith(services, slices)
  const k = kit()
  const p = ipvsProxier(init4, k)
  // The first sync writes every service (svc1…svc9).
  t.is(p.sync(stateOf(tr, 4), 'full').servicesWritten, 9)
  t.is(p.sync(stateOf(tr, 4), new Set()).servicesWritten, 0)
  // svc4 loses an endpoint: two virtual servers change (ClusterIP and externalIP), one Service.
  tr.event({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('ns4', 'svc4', [{ ip: '10.180.0.4' }]) })
  t.is(p.sync(stateOf(tr, 4), tr.checkout().changed).servicesWritten, 1)
  // svc3 deleted: its virtual servers go, and that is one Service written.
  tr.event({ type: 'DELETED', kind: 'Service', object: services[2]! })
  t.is(p.sync(stateOf(tr, 4), tr.checkout().changed).servicesWritten, 1)
  // A full resync with nothing to change writes nothing.
  t.is(p.sync(stateOf(tr, 4), 'full').servicesWritten, 0)
})

test('graceful termination: removed TCP real servers with connections go to weight 0 and are deleted once idle; UDP ones at once', (t) => {
  const k = kit()
  const tcpSvc = svc('ns1', 'web', { clusterIP: '172.30.0.41' })
  const udpSvc = svc('ns1', 'dns', { clusterIP: '172.30.0.53', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] })
  const udpSlice = (ips: string[]): ReturnType<typeof slice> => slice('ns1', 'dns', ips.map((ip) => ({ ip })), 5353, 'dns', 'UDP')
  const tr = trackerWith([tcpSvc, udpSvc], [slice('ns1', 'web', [{ ip: '10.180.0.1' }, { ip: '10.180.0.2' }]), udpSlice(['10.180.0.1', '10.180.0.2'])])
  const p = ipvsProxier(init4, k)
  p.sync(stateOf(tr, 4), 'full')
  const web = { protocol: 'tcp' as const, address: '172.30.0.41', port: 80 }
  k.ipvs.setConns(web, '10.180.0.2:80', 2)
  tr.event({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('ns1', 'web', [{ ip: '10.180.0.1' }]) })
  tr.event({ type: 'MODIFIED', kind: 'EndpointSlice', object: udpSlice(['10.180.0.1']) })
  const changed = tr.checkout().changed
  k.ipvs.calls.length = 0
  p.sync(stateOf(tr, 4), changed)
  t.deepEqual(k.ipvs.calls, ['set tcp/172.30.0.41/80 -> 10.180.0.2:80 w0', 'del udp/172.30.0.53/53 -> 10.180.0.2:5353'])
  t.is(k.ipvs.dump(), `vs tcp 172.30.0.41:80 rr
  -> 10.180.0.1:80 masq weight 1 active 0 inactive 0
  -> 10.180.0.2:80 masq weight 0 active 2 inactive 0
vs udp 172.30.0.53:53 rr
  -> 10.180.0.1:5353 masq weight 1 active 0 inactive 0
`)
  // Still busy: nothing happens; idle (inactive counts too): deleted.
  k.ipvs.calls.length = 0
  p.sync(stateOf(tr, 4), new Set())
  t.deepEqual(k.ipvs.calls, [])
  k.ipvs.setConns(web, '10.180.0.2:80', 0, 1)
  p.sync(stateOf(tr, 4), new Set())
  t.deepEqual(k.ipvs.calls, [])
  k.ipvs.setConns(web, '10.180.0.2:80', 0, 0)
  p.sync(stateOf(tr, 4), new Set())
  t.deepEqual(k.ipvs.calls, ['del tcp/172.30.0.41/80 -> 10.180.0.2:80'])
  // A real server left at weight 0 (a restart during termination, kube-proxy#92019) that is wanted again is re-weighted, not re-added.
  k.ipvs.updateDest({ ...k.ipvs.services()[0]!, ...web }, { address: '10.180.0.1', port: 80, weight: 0, fwdMethod: 0, activeConns: 0, inactConns: 0 })
  k.ipvs.calls.length = 0
  p.sync(stateOf(tr, 4), new Set())
  t.deepEqual(k.ipvs.calls, ['set tcp/172.30.0.41/80 -> 10.180.0.1:80 w1'])
})

test('stale virtual servers: ours (on kube-ipvs0, or a NodePort on a node address) are deleted; others are left alone', (t) => {
  const k = kit()
  const tr = trackerWith([svc('ns1', 'web', { clusterIP: '172.30.0.41' })], [slice('ns1', 'web', [{ ip: '10.180.0.1' }])])
  const p = ipvsProxier(init4, k)
  p.sync(stateOf(tr, 4), 'full')
  const base = k.ipvs.services()[0]!
  k.ipvs.addService({ ...base, address: '198.51.100.9' }) // someone else's
  k.ipvs.addService({ ...base, address: plan.nodeIP, port: 31000 }) // a NodePort left by an earlier run
  k.ipvs.addService({ ...base, address: plan.nodeIP, port: 443 }) // someone else's on the node address
  k.ipvs.calls.length = 0
  p.sync(stateOf(tr, 4), 'full')
  t.deepEqual(k.ipvs.calls, ['del tcp/192.168.0.2/31000'])
  p.cleanup()
  t.is(k.ipvs.dump(), 'vs tcp 192.168.0.2:443 rr\nvs tcp 198.51.100.9:80 rr\n')
})

test('a failed sync throws PROXY_ERR_SYNC and makes the next one full (ipset save read again, iptables rewritten, jumps ensured)', (t) => {
  const { services, slices } = complianceObjects()
  const tr = trackerWith(services, slices)
  const k = kit()
  const p = ipvsProxier(init4, k)
  p.sync(stateOf(tr, 4), 'full')
  tr.event({ type: 'DELETED', kind: 'Service', object: services[0]! })
  const changed = tr.checkout().changed
  k.ipset.failOn = () => true
  const err = t.throws(() => p.sync(stateOf(tr, 4), changed), { instanceOf: ProxyError })
  t.is(err?.code, 'PROXY_ERR_SYNC')
  k.ipset.failOn = undefined
  // Someone flushed our chain meanwhile: the retry, full, puts it back.
  k.iptables.flushChain('nat', 'KUBE-SERVICES')
  const st = p.sync(stateOf(tr, 4), new Set())
  t.true(st.full)
  t.not(p.lastIptablesText, '')
  t.true(k.iptables.listRules('nat', 'KUBE-SERVICES').length > 0)
  t.false(k.ipset.dump().includes('172.30.0.41'))
})

test('kube-ipvs0: refused on a kernel without dummy links (EOPNOTSUPP, as here), and an existing non-dummy kube-ipvs0 is an error', (t) => {
  const tr = trackerWith([svc('ns1', 'web', { clusterIP: '172.30.0.41' })], [])
  const noDummy = kit({ netlink: fakeNetlink(ciKernel) })
  const e1 = t.throws(() => ipvsProxier(init4, noDummy).sync(stateOf(tr, 4), 'full'), { instanceOf: ProxyError })
  t.is(e1?.code, 'PROXY_ERR_SYNC')
  t.regex(e1?.message ?? '', /add dummy kube-ipvs0.*EOPNOTSUPP/)
  const k = kit()
  k.netlink.addBridge({ name: DUMMY_DEVICE })
  const e2 = t.throws(() => ipvsProxier(init4, k).sync(stateOf(tr, 4), 'full'), { instanceOf: ProxyError })
  t.regex(e2?.message ?? '', /kube-ipvs0 exists and is a bridge, not a dummy/)
})

test('an ipset of ours with another type is an error naming it (kube-proxy#77265)', (t) => {
  const k = kit()
  k.ipset.restore('create KUBE-CLUSTER-IP hash:ip family inet\n')
  const err = t.throws(() => ipvsProxier(init4, k).sync(stateOf(trackerWith([], []), 4), 'full'), { instanceOf: ProxyError })
  t.regex(err?.message ?? '', /ipset KUBE-CLUSTER-IP exists with type hash:ip, IPVS mode needs hash:ip,port/)
})

test('node addresses for NodePorts: every address of the family but loopback, IPv6 link-local and kube-ipvs0\'s', (t) => {
  const nl = fakeNetlink()
  nl.addBridge({ name: 'br0' })
  const br = nl.linkByName('br0')!.index
  nl.addAddress(br, '192.168.0.2/24')
  nl.addAddress(br, 'fd00:192::2/64')
  nl.addAddress(br, 'fe80::1/64')
  nl.addDummy({ name: DUMMY_DEVICE })
  nl.addAddress(nl.linkByName(DUMMY_DEVICE)!.index, '172.30.0.41/32')
  t.deepEqual(localNodeIPs(nl, 4), ['192.168.0.2'])
  t.deepEqual(localNodeIPs(nl, 6), ['fd00:192::2'])
})

test('cleanup removes chains, jumps, ipsets, virtual servers, addresses and kube-ipvs0; other rules stay; without IPVS it skips the virtual servers', (t) => {
  const { services, slices } = complianceObjects()
  const k = kit()
  k.iptables.restore('*filter\n:OTHER - [0:0]\n-A INPUT -j OTHER\nCOMMIT\n')
  const before = k.iptables.dump()
  const links = k.netlink.dump()
  const p = ipvsProxier(init4, k)
  p.sync(stateOf(trackerWith(services, slices), 4), 'full')
  // Without IPVS: everything else goes, the virtual servers stay (nothing could have made them).
  const r = ipvsCleanup(4, { netlink: k.netlink, ipset: k.ipset, iptables: k.iptables })
  t.deepEqual(r, { removed: ['IPVS iptables chains (IPv4)', 'ipsets (IPv4)', 'kube-ipvs0 addresses (IPv4)', 'kube-ipvs0'], errors: [] })
  t.is(k.iptables.dump(), before)
  t.is(k.ipset.dump(), '')
  t.is(k.netlink.dump(), links)
  t.not(k.ipvs.dump(), '')
  // With IPVS, from a fresh sync: the proxier's own cleanup leaves nothing, and is idempotent.
  p.sync(stateOf(trackerWith(services, slices), 4), 'full')
  p.cleanup()
  p.cleanup()
  t.is(k.ipvs.dump(), '')
  t.is(k.iptables.dump(), before)
  t.is(k.ipset.dump(), '')
  t.is(k.netlink.dump(), links)
})

test('cleanup while iptables mode\'s chains are there flushes the shared chains but leaves them and their jumps', (t) => {
  const k = kit()
  ipvsProxier(init4, k).sync(stateOf(trackerWith([svc('ns1', 'web', { clusterIP: '172.30.0.41' })], []), 4), 'full')
  k.iptables.restore('*nat\n:KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]\n-A KUBE-SVC-AAAAAAAAAAAAAAAA -j KUBE-MARK-MASQ\nCOMMIT\n')
  const r = ipvsCleanup(4, { netlink: k.netlink, ipset: k.ipset, iptables: k.iptables })
  t.deepEqual(r.errors, [])
  const nat = k.iptables.listChains('nat')
  t.true(nat.includes('KUBE-SERVICES') && nat.includes('KUBE-MARK-MASQ'))
  t.false(nat.includes('KUBE-NODE-PORT') || nat.includes('KUBE-LOAD-BALANCER'))
  t.deepEqual(k.iptables.listRules('nat', 'KUBE-SERVICES'), [])
  t.is(k.ipset.dump(), '')
})

test('sysctls: kube-proxy\'s IPVS set, strictARP adds arp_ignore/arp_announce', (t) => {
  // /proc/sys/net/ipv4/vs exists only with IPVS loaded: a map stands for it (the kernel fake has no IPVS keys).
  const vals = new Map<string, string>([['net/ipv4/vs/conntrack', '0'], ['net/ipv4/vs/conn_reuse_mode', '1'], ['net/ipv4/vs/expire_nodest_conn', '0'],
    ['net/ipv4/vs/expire_quiescent_template', '0'], ['net/ipv4/ip_forward', '1'], ['net/ipv4/conf/all/arp_ignore', '0'], ['net/ipv4/conf/all/arp_announce', '0']])
  const writes: string[] = []
  const sysctl = { get: (k: string) => vals.get(k) ?? '', set: (k: string, v: string) => { writes.push(`${k}=${v}`); vals.set(k, v) } }
  ipvsSysctls(sysctl, { strictARP: false })
  t.deepEqual(writes, ['net/ipv4/vs/conntrack=1', 'net/ipv4/vs/conn_reuse_mode=0', 'net/ipv4/vs/expire_nodest_conn=1', 'net/ipv4/vs/expire_quiescent_template=1'])
  writes.length = 0
  ipvsSysctls(sysctl, { strictARP: true })
  t.deepEqual(writes, ['net/ipv4/conf/all/arp_ignore=1', 'net/ipv4/conf/all/arp_announce=2'])
})
