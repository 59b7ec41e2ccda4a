import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fakeIptables } from '../../kernel/testing/index.js'
import { fileURLToPath } from 'node:url'
import { plan, slice, stateOf, svc, trackerWith } from '../testing/index.js'
import type { Service } from '../tracker/index.js'
import { iptablesProxier, probability } from './index.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const golden = (name: string): string => fs.readFileSync(path.join(root, 'proxy', 'iptables', 'testdata', name), 'utf8')
const cfg = { family: 4 as const, clusterCIDRs: [plan.podCIDR], masqueradeAll: false }

const fixture = (): { services: Service[], slices: ReturnType<typeof slice>[] } => ({
  services: [
    svc('ns3', 'svc3', { type: 'NodePort', clusterIP: '172.30.0.43', ports: [{ name: 'p80', port: 80, nodePort: 3003 }] }),
    svc('ns4', 'svc4', { clusterIP: '172.30.0.44', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }),
    svc('ns6', 'svc6', { clusterIP: '172.30.0.46' })
  ],
  slices: [slice('ns3', 'svc3', [{ ip: '10.180.0.3' }]), slice('ns4', 'svc4', [{ ip: '10.180.0.4' }, { ip: '10.180.0.5' }])]
})

test('golden: the iptables-restore input of a full sync (kube-proxy chain names, hashes, probabilities)', (t) => {
  const { services, slices } = fixture()
  const p = iptablesProxier(cfg, { iptables: fakeIptables(4) })
  p.sync(stateOf(trackerWith(services, slices), 4), 'full')
  t.is(p.lastTransaction, golden('overall.restore'))
})

test('statistic probabilities are 1/(n-i) with ten decimals', (t) => {
  t.deepEqual([4, 3, 2].map(probability), ['0.2500000000', '0.3333333333', '0.5000000000'])
})

test('one restore per sync; a partial sync writes the changed service chains and edits the top-level chains rule by rule', (t) => {
  const { services, slices } = fixture()
  const tr = trackerWith(services, slices)
  const ipt = fakeIptables(4)
  const p = iptablesProxier(cfg, { iptables: ipt })
  p.sync(stateOf(tr, 4), 'full')
  const restoresBefore = ipt.calls.filter((c) => c === 'restore').length
  tr.event({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('ns4', 'svc4', [{ ip: '10.180.0.4' }, { ip: '10.180.0.6' }]) })
  const st = p.sync(stateOf(tr, 4), tr.checkout().changed)
  t.false(st.full)
  t.is(ipt.calls.filter((c) => c === 'restore').length, restoresBefore + 1)
  t.is(ipt.calls.slice(-1)[0], 'restore')
  const declared = p.lastTransaction.split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0])
  // The endpoint swap leaves every top-level chain as it was: only svc4's chains are written, and no *filter.
  t.deepEqual(declared, ['KUBE-SVC-4SW47YFZTEDKD3PK', 'KUBE-SEP-UKSFD7AGPMPPLUHC', 'KUBE-SEP-ULL74CTELUH2BDLI', 'KUBE-SEP-C6EBXVWJJZMIWKLZ'])
  t.false(p.lastTransaction.includes('*filter'))
  t.true(p.lastTransaction.includes('-X KUBE-SEP-C6EBXVWJJZMIWKLZ\n'))
  t.false(p.lastTransaction.includes('KUBE-SVC-X27LE4BHSL4DOUIK -m'))
  t.false(ipt.dump('nat').includes('KUBE-SEP-C6EBXVWJJZMIWKLZ'))
  t.true(ipt.dump('nat').includes('--to-destination 10.180.0.6:80'))
  // svc4 losing every endpoint: its nat jump is deleted by its exact text and a REJECT inserted in filter
  // KUBE-SERVICES; neither KUBE-SERVICES is declared, so neither is flushed.
  tr.event({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('ns4', 'svc4', []) })
  p.sync(stateOf(tr, 4), tr.checkout().changed)
  t.is(p.lastTransaction, [
    '*filter',
    '-I KUBE-SERVICES 1 -m comment --comment "ns4/svc4:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.44 --dport 80 -j REJECT',
    'COMMIT',
    '*nat',
    ':KUBE-SVC-4SW47YFZTEDKD3PK - [0:0]',
    ':KUBE-SEP-UKSFD7AGPMPPLUHC - [0:0]',
    ':KUBE-SEP-ULL74CTELUH2BDLI - [0:0]',
    '-D KUBE-SERVICES -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 -j KUBE-SVC-4SW47YFZTEDKD3PK',
    '-X KUBE-SVC-4SW47YFZTEDKD3PK',
    '-X KUBE-SEP-UKSFD7AGPMPPLUHC',
    '-X KUBE-SEP-ULL74CTELUH2BDLI',
    'COMMIT',
    ''
  ].join('\n'))
  t.regex(ipt.dump('filter'), /-A KUBE-SERVICES .*ns4\/svc4:p80 has no endpoints.* -j REJECT/)
  t.regex(ipt.dump('nat'), /-A KUBE-SERVICES .*ns3\/svc3:p80 cluster IP/)
  t.notRegex(ipt.dump('nat'), /KUBE-SVC-4SW47YFZTEDKD3PK/)
  // A sync with nothing to write runs no restore.
  const restores = ipt.calls.filter((c) => c === 'restore').length
  t.is(p.sync(stateOf(tr, 4), new Set()).bytes, 0)
  t.is(ipt.calls.filter((c) => c === 'restore').length, restores)
})

test('a service added by a partial sync goes first in KUBE-SERVICES and KUBE-NODEPORTS, and the nodeports jump stays last', (t) => {
  const { services, slices } = fixture()
  const tr = trackerWith(services, slices)
  const ipt = fakeIptables(4)
  const p = iptablesProxier(cfg, { iptables: ipt })
  p.sync(stateOf(tr, 4), 'full')
  tr.event({ type: 'ADDED', kind: 'Service', object: svc('ns7', 'svc7', { type: 'NodePort', clusterIP: '172.30.0.47', ports: [{ name: 'p80', port: 80, nodePort: 3007 }] }) })
  tr.event({ type: 'ADDED', kind: 'EndpointSlice', object: slice('ns7', 'svc7', [{ ip: '10.180.0.7' }]) })
  p.sync(stateOf(tr, 4), tr.checkout().changed)
  t.false(p.lastTransaction.includes(':KUBE-SERVICES'))
  t.false(p.lastTransaction.includes(':KUBE-NODEPORTS'))
  const rules = (chain: string): string[] => ipt.dump('nat').split('\n').filter((l) => l.startsWith(`-A ${chain} `))
  const svcRules = rules('KUBE-SERVICES')
  t.regex(svcRules[0] as string, /ns7\/svc7:p80 cluster IP/)
  t.regex(svcRules[svcRules.length - 1] as string, /NOTE: this must be the last rule in this chain/)
  t.regex(rules('KUBE-NODEPORTS')[0] as string, /--dport 3007 -j KUBE-EXT-/)
})

test('a partial sync whose -D finds no rule (a chain edited behind our back) fails whole, and the next sync is full and repairs it', (t) => {
  const { services, slices } = fixture()
  const tr = trackerWith(services, slices)
  const ipt = fakeIptables(4)
  const p = iptablesProxier(cfg, { iptables: ipt })
  p.sync(stateOf(tr, 4), 'full')
  ipt.flushChain('nat', 'KUBE-SERVICES')
  const before = ipt.dump('nat') + ipt.dump('filter')
  tr.event({ type: 'DELETED', kind: 'Service', object: services[0] as Service })
  const changed = tr.checkout().changed
  const e = t.throws(() => p.sync(stateOf(tr, 4), changed))
  t.is((e as { code?: string }).code, 'PROXY_ERR_SYNC')
  t.is(ipt.dump('nat') + ipt.dump('filter'), before)
  const st = p.sync(stateOf(tr, 4), new Set())
  t.true(st.full)
  const fresh = fakeIptables(4)
  iptablesProxier(cfg, { iptables: fresh }).sync(stateOf(tr, 4), 'full')
  t.is(ipt.dump('nat') + ipt.dump('filter'), fresh.dump('nat') + fresh.dump('filter'))
})

const kubeProxyLeftovers = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]
:KUBE-SEP-BBBBBBBBBBBBBBBB - [0:0]
:OTHER-CHAIN - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A PREROUTING -j OTHER-CHAIN
-A KUBE-SERVICES -d 172.30.9.9/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-AAAAAAAAAAAAAAAA
-A KUBE-SVC-AAAAAAAAAAAAAAAA -j KUBE-SEP-BBBBBBBBBBBBBBBB
-A KUBE-SEP-BBBBBBBBBBBBBBBB -p tcp -m tcp -j DNAT --to-destination 10.180.9.9:80
-A OTHER-CHAIN -j RETURN
COMMIT
`

test('a node coming from kube-proxy: the full sync deletes its stale service chains and keeps other rules', (t) => {
  const { services, slices } = fixture()
  const ipt = fakeIptables(4, kubeProxyLeftovers)
  const p = iptablesProxier(cfg, { iptables: ipt })
  p.sync(stateOf(trackerWith(services, slices), 4), 'full')
  const nat = ipt.dump('nat')
  t.false(nat.includes('AAAAAAAAAAAAAAAA'))
  t.false(nat.includes('BBBBBBBBBBBBBBBB'))
  t.true(nat.includes('-A PREROUTING -j OTHER-CHAIN'))
  t.is(nat.split('\n').filter((l) => l.includes('-A PREROUTING -m comment --comment "kubernetes service portals"')).length, 1)
})

test('cleanup leaves the tables as they were before the proxy ran', (t) => {
  const ipt = fakeIptables(4, '*nat\n:PREROUTING ACCEPT [0:0]\n:OTHER-CHAIN - [0:0]\n-A PREROUTING -j OTHER-CHAIN\nCOMMIT\n')
  const before = ipt.dump('nat') + ipt.dump('filter')
  const { services, slices } = fixture()
  const p = iptablesProxier(cfg, { iptables: ipt })
  p.sync(stateOf(trackerWith(services, slices), 4), 'full')
  t.not(ipt.dump('nat') + ipt.dump('filter'), before)
  p.cleanup()
  t.is(ipt.dump('nat') + ipt.dump('filter'), before)
})
