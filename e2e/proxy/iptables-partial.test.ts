/**
 * iptables mode's partial syncs against the real kernel (iptables-nft): a
 * partial sync edits the top-level chains rule by rule (`-I <chain> 1`, `-D
 * <exact rule>`) instead of rewriting them, so the kernel's own rule
 * comparison must find every rule the proxier deletes, in every shape the
 * renderer writes (DNAT jumps, REJECT and DROP, addrtype, health-check
 * ACCEPT, firewall DROP). After every step the namespace's iptables-save
 * equals the fake's state after the same transactions, and a full sync in a
 * second fresh namespace holds the same rules.
 */
import test from 'ava'
import { LinuxNetNS, linuxIptables } from '../../kernel/index.js'
import { fakeIptables } from '../../kernel/testing/index.js'
import { iptablesProxier } from '../../proxy/iptables/index.js'
import { complianceObjects, plan, slice, stateOf, trackerWith } from '../../proxy/testing/index.js'
import type { Service } from '../../proxy/tracker/index.js'
import { requireRoot, sandbox } from '../harness/index.js'
import type { Sandbox } from '../harness/index.js'

const netns = new LinuxNetNS()
const cfg = { family: 4 as const, clusterCIDRs: [plan.podCIDR], masqueradeAll: false, randomFully: true }
/** Our chains and every rule of them and of the built-in chains. */
const OURS = /^(:KUBE-|-A (KUBE-\S+|INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) )/
/**
 * What a partial sync edits rule by rule: the chain list and the top-level chains, compared in order with the fake
 * (the fake keeps some targets and matches in the form they are written, the kernel in its saved form, so the
 * per-service chains are compared kernel against kernel at the end).
 */
const TOP = /^(:KUBE-|-A (KUBE-SERVICES|KUBE-NODEPORTS|KUBE-EXTERNAL-SERVICES|KUBE-PROXY-FIREWALL) )/

async function rules (sb: Sandbox, ns: string, table: 'nat' | 'filter', which = OURS): Promise<string> {
  const out = (await sb.exec(ns, '/usr/sbin/iptables-save', ['-t', table])).stdout
  const lines = out.split('\n').filter((l) => which.test(l))
  // REJECT's default, which the kernel prints and the fake does not add.
  return (which === TOP ? lines.map((l) => l.replace(/ --reject-with icmp-port-unreachable$/, '')) : lines).join('\n')
}
const top = (dump: string): string => dump.split('\n').filter((l) => TOP.test(l)).join('\n')
const sorted = (s: string): string => s.split('\n').sort().join('\n')

test.serial('[kernel] iptables: partial syncs add and remove services rule by rule; the kernel matches the fake after each step and a full sync elsewhere', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'iptp')
  const ns = sb.ns('node')
  const { services, slices } = complianceObjects()
  const tr = trackerWith(services, slices)
  tr.checkout()
  const state = stateOf(tr, 4)
  const real = iptablesProxier(cfg, { iptables: linuxIptables(4) })
  const fake = fakeIptables(4)
  const oracle = iptablesProxier(cfg, { iptables: fake })
  netns.run(ns, () => real.sync(state, 'full'))
  oracle.sync(state, 'full')
  const steps: Array<[string, () => void]> = [
    // Each service deleted (every top-level rule shape goes through -D), then added back (-I), then endpoint changes.
    ...services.map((s): [string, () => void] => [`delete ${s.metadata.name ?? ''}`, () => tr.event({ type: 'DELETED', kind: 'Service', object: s })]),
    ...services.map((s): [string, () => void] => [`add ${s.metadata.name ?? ''}`, () => tr.event({ type: 'ADDED', kind: 'Service', object: s })]),
    ['svc1 loses its endpoints (jump out, REJECT in)', () => tr.event({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('ns1', 'svc1', []) })],
    ['svc1 gets them back', () => tr.event({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('ns1', 'svc1', [{ ip: '10.180.0.1' }]) })],
    ['svc2 gets a local endpoint (DROPs out)', () => tr.event({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('ns2', 'svc2', [{ ip: '10.180.0.2', node: 'node-a' }]) })],
    ['svc5 loses its endpoints (firewall out)', () => tr.event({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('ns5', 'svc5', []) })],
    ['svc3 deleted and svc6 gains an endpoint in one sync', () => {
      tr.event({ type: 'DELETED', kind: 'Service', object: services[2] as Service })
      tr.event({ type: 'ADDED', kind: 'EndpointSlice', object: slice('ns6', 'svc6', [{ ip: '10.180.0.6' }]) })
    }]
  ]
  for (const [name, change] of steps) {
    change()
    const changed = tr.checkout().changed
    const st = netns.run(ns, () => real.sync(state, changed))
    oracle.sync(state, changed)
    t.false(st.full, name)
    t.is(real.lastTransaction, oracle.lastTransaction, name)
    t.is(await rules(sb, ns, 'nat', TOP), top(fake.dump('nat')), `${name}: nat`)
    t.is(await rules(sb, ns, 'filter', TOP), top(fake.dump('filter')), `${name}: filter`)
  }
  const natServices = (await rules(sb, ns, 'nat')).split('\n').filter((l) => l.startsWith('-A KUBE-SERVICES '))
  t.regex(natServices[natServices.length - 1] as string, /this must be the last rule/)
  // A full sync of the final state in another fresh namespace: the same rules (order inside a chain aside).
  const ns2 = sb.ns('node2')
  netns.run(ns2, () => iptablesProxier(cfg, { iptables: linuxIptables(4) }).sync(state, 'full'))
  t.is(sorted(await rules(sb, ns, 'nat')), sorted(await rules(sb, ns2, 'nat')))
  t.is(sorted(await rules(sb, ns, 'filter')), sorted(await rules(sb, ns2, 'filter')))
})
