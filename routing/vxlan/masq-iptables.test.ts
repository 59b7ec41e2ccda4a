/**
 * The iptables backend against the fake iptables: golden iptables-save text
 * for a typical node and for dual-stack, and the resync behaviour (no-op when
 * nothing changed, repair, replacement after a subnet change, cleanup).
 * e2e/routing/masq.test.ts holds the same golden text to the kernel.
 */
import test from 'ava'
import { fakeIptables } from '../../kernel/testing/index.js'
import type { FakeIptables } from '../../kernel/testing/index.js'
import { forwardRules, masqRules } from './masq.js'
import { iptablesTrafficManager } from './masq-iptables.js'
import { VxlanError } from './errors.js'
import { dual, emptyNat, goldenFilter4, goldenNat4, node } from './testing/index.js'



const goldenNat6 = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:FLANNEL-POSTRTG - [0:0]
-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG
-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s fd00:10:244:1::/64 -d fd00:10:244::/56 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s fd00:10:244::/56 -d fd00:10:244:1::/64 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG ! -s fd00:10:244::/56 -d fd00:10:244:1::/64 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s fd00:10:244::/56 ! -d ff00::/8 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully
-A FLANNEL-POSTRTG ! -s fd00:10:244::/56 -d fd00:10:244::/56 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully
COMMIT
`



function setup (): { v4: FakeIptables, v6: FakeIptables, tm: ReturnType<typeof iptablesTrafficManager> } {
  const v4 = fakeIptables(4)
  const v6 = fakeIptables(6)
  return { v4, v6, tm: iptablesTrafficManager({ ipv4: v4, ipv6: v6 }) }
}

/** The calls that change something. */
const writes = (ipt: FakeIptables): string[] => ipt.calls.filter((c) => !c.startsWith('save') && !c.startsWith('-C'))

test('a typical node gets flannel\'s nat rules, in one restore', (t) => {
  const { v4, v6, tm } = setup()
  t.true(tm.ensure(masqRules(node)))
  t.is(v4.dump(), goldenNat4)
  t.is(v6.dump(), '', 'IPv6 untouched on a single-stack node')
  t.deepEqual(writes(v4), ['restore'])
})

test('dual-stack: the same chain in ip6tables with ff00::/8', (t) => {
  const { v4, v6, tm } = setup()
  t.true(tm.ensure(masqRules(dual)))
  t.is(v4.dump(), goldenNat4)
  t.is(v6.dump(), goldenNat6)
})

test('forward rules: FLANNEL-FWD in the filter table, jumped from FORWARD', (t) => {
  const { v4, v6, tm } = setup()
  t.true(tm.ensureForward(forwardRules({ network: node.network })))
  t.is(v4.dump(), goldenFilter4)
  t.is(v6.dump(), '')
  t.false(tm.ensureForward(forwardRules({ network: node.network })))
})

test('without --random-fully the MASQUERADE rules have no option', (t) => {
  const { v4, tm } = setup()
  tm.ensure(masqRules({ ...node, randomFully: false }))
  t.is(v4.dump(), goldenNat4.replaceAll(' --random-fully', ''))
})

test('ensure is a no-op when nothing changed: one save, no write', (t) => {
  const { v4, tm } = setup()
  tm.ensure(masqRules(node))
  v4.calls.length = 0
  t.false(tm.ensure(masqRules(node)))
  t.deepEqual(v4.calls, ['save nat'])
})

test('a deleted rule is repaired and the order restored', (t) => {
  const { v4, tm } = setup()
  tm.ensure(masqRules(node))
  v4.deleteRule('nat', 'FLANNEL-POSTRTG', ['-s', '10.244.1.0/24', '-d', '10.244.0.0/16', '-m', 'comment', '--comment', 'flanneld masq', '-j', 'RETURN'])
  t.not(v4.dump(), goldenNat4)
  t.true(tm.ensure(masqRules(node)))
  t.is(v4.dump(), goldenNat4)
})

test('a deleted POSTROUTING jump, and a deleted chain, are repaired', (t) => {
  const { v4, tm } = setup()
  tm.ensure(masqRules(node))
  v4.deleteRule('nat', 'POSTROUTING', ['-m', 'comment', '--comment', 'flanneld masq', '-j', 'FLANNEL-POSTRTG'])
  t.true(tm.ensure(masqRules(node)))
  t.is(v4.dump(), goldenNat4)
  v4.restore('*nat\n-D POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG\n-F FLANNEL-POSTRTG\n-X FLANNEL-POSTRTG\nCOMMIT\n')
  t.is(v4.dump('nat'), emptyNat)
  t.true(tm.ensure(masqRules(node)))
  t.is(v4.dump(), goldenNat4)
})

test('an extra rule in the chain and a second jump are removed', (t) => {
  const { v4, tm } = setup()
  tm.ensure(masqRules(node))
  v4.appendUnique('nat', 'FLANNEL-POSTRTG', ['-s', '192.0.2.0/24', '-j', 'MASQUERADE'])
  v4.insertUnique('nat', 'POSTROUTING', ['-s', '10.0.0.0/8', '-j', 'FLANNEL-POSTRTG'])
  t.true(tm.ensure(masqRules(node)))
  t.is(v4.dump(), goldenNat4)
})

test('rules in the wrong order are rewritten', (t) => {
  const { v4, tm } = setup()
  tm.ensure(masqRules(node))
  const rules = v4.listRules('nat', 'FLANNEL-POSTRTG')
  v4.deleteRule('nat', 'FLANNEL-POSTRTG', rules[0] ?? [])
  v4.appendUnique('nat', 'FLANNEL-POSTRTG', rules[0] ?? [])
  t.true(tm.ensure(masqRules(node)))
  t.is(v4.dump(), goldenNat4)
})

test('after the pod subnet changes the old subnet\'s rules are replaced, not kept beside the new', (t) => {
  const { v4, tm } = setup()
  tm.ensure(masqRules(node))
  t.true(tm.ensure(masqRules({ ...node, podSubnet: '10.244.7.0/24' })))
  t.is(v4.dump(), goldenNat4.replaceAll('10.244.1.0/24', '10.244.7.0/24'))
  t.false(v4.dump().includes('10.244.1.0'))
})

test('rules left by flanneld are adopted without a write; other POSTROUTING rules are left alone', (t) => {
  const kube = '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING\n'
  const saved = goldenNat4.replace(':FLANNEL-POSTRTG - [0:0]\n', ':FLANNEL-POSTRTG - [0:0]\n:KUBE-POSTROUTING - [0:0]\n')
    .replace('-A POSTROUTING', kube + '-A POSTROUTING')
  const v4 = fakeIptables(4, saved)
  const tm = iptablesTrafficManager({ ipv4: v4 })
  t.false(tm.ensure(masqRules(node)))
  t.deepEqual(writes(v4), [])
  tm.ensure(masqRules({ ...node, podSubnet: '10.244.2.0/24' }))
  t.true(v4.dump().includes(kube), 'kube-proxy\'s jump survives a rewrite')
  tm.cleanup()
  t.true(v4.dump().includes(kube), 'and cleanup')
  t.false(v4.dump().includes('FLANNEL'))
})

test('turning IPv6 off removes the IPv6 chain and leaves IPv4 as it was', (t) => {
  const { v4, v6, tm } = setup()
  tm.ensure(masqRules(dual))
  t.true(tm.ensure(masqRules(node)))
  t.is(v4.dump(), goldenNat4)
  t.is(v6.dump('nat'), emptyNat)
  t.false(tm.ensure(masqRules(node)))
})

test('cleanup removes the chains and jumps of both tables and both families, and is idempotent', (t) => {
  const { v4, v6, tm } = setup()
  tm.ensure(masqRules(dual))
  tm.ensureForward(forwardRules({ network: dual.network, ipv6Network: dual.ipv6Network }))
  tm.cleanup()
  for (const ipt of [v4, v6]) {
    t.is(ipt.dump('nat'), emptyNat)
    t.false(ipt.dump().includes('FLANNEL'))
    t.false(ipt.dump().includes('-A '))
  }
  t.notThrows(() => tm.cleanup())
})

test('cleanup skips a family whose tables cannot be read', (t) => {
  const { v4, v6, tm } = setup()
  tm.ensure(masqRules(node))
  v6.unusable = true
  tm.cleanup()
  t.is(v4.dump('nat'), emptyNat)
})

test('a failing restore is VXLAN_ERR_DATAPLANE with the kernel error as cause, and changes nothing', (t) => {
  const { v4, tm } = setup()
  tm.ensure(masqRules(node))
  v4.deleteRule('nat', 'FLANNEL-POSTRTG', ['-m', 'mark', '--mark', '0x4000/0x4000', '-m', 'comment', '--comment', 'flanneld masq', '-j', 'RETURN'])
  const before = v4.dump()
  v4.failOn = (c) => c === 'restore'
  const e = t.throws(() => tm.ensure(masqRules(node)))
  t.true(e instanceof VxlanError)
  t.is((e as VxlanError).code, 'VXLAN_ERR_DATAPLANE')
  t.truthy((e as VxlanError).cause)
  t.is(v4.dump(), before)
  v4.failOn = undefined
  t.true(tm.ensure(masqRules(node)), 'the next pass repairs it')
  t.is(v4.dump(), goldenNat4)
})

test('IPv6 rules without ip6tables is an error, not a silent skip', (t) => {
  const tm = iptablesTrafficManager({ ipv4: fakeIptables(4) })
  t.throws(() => tm.ensure(masqRules(dual)), { instanceOf: VxlanError, message: /no ip6tables/ })
})

test('an unreadable table is an error when rules are wanted there', (t) => {
  const { v4, tm } = setup()
  v4.unusable = true
  t.throws(() => tm.ensure(masqRules(node)), { instanceOf: VxlanError, message: /iptables-save/ })
})
