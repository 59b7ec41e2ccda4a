/**
 * The nftables backend against the fake nft: golden `nft list ruleset` text
 * for a typical node and for dual-stack, and the resync behaviour.
 * e2e/routing/masq.test.ts holds the same golden text to the kernel.
 */
import test from 'ava'
import { fakeNftables } from '../../kernel/testing/index.js'
import type { FakeNftables } from '../../kernel/testing/index.js'
import { forwardRules, masqRules } from './masq.js'
import { nftRule, nftablesTrafficManager } from './masq-nftables.js'
import { VxlanError } from './errors.js'

const node = { network: '10.244.0.0/16', podSubnet: '10.244.1.0/24', randomFully: true }
const dual = { ...node, ipv6Network: 'fd00:10:244::/56', ipv6PodSubnet: 'fd00:10:244:1::/64' }

const golden4 = `table ip flannel-ipv4 {
	comment "rules for flannel-ipv4"
	chain postrtg {
		comment "chain to manage traffic masquerading by flannel"
		type nat hook postrouting priority srcnat; policy accept;
		meta mark & 0x00004000 == 0x00004000 return
		ip saddr 10.244.1.0/24 ip daddr 10.244.0.0/16 return
		ip saddr 10.244.0.0/16 ip daddr 10.244.1.0/24 return
		ip saddr != 10.244.0.0/16 ip daddr 10.244.1.0/24 return
		ip saddr 10.244.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random
		ip saddr != 10.244.0.0/16 ip daddr 10.244.0.0/16 masquerade fully-random
	}
}
`

const golden6 = `table ip6 flannel-ipv6 {
	comment "rules for flannel-ipv6"
	chain postrtg {
		comment "chain to manage traffic masquerading by flannel"
		type nat hook postrouting priority srcnat; policy accept;
		meta mark & 0x00004000 == 0x00004000 return
		ip6 saddr fd00:10:244:1::/64 ip6 daddr fd00:10:244::/56 return
		ip6 saddr fd00:10:244::/56 ip6 daddr fd00:10:244:1::/64 return
		ip6 saddr != fd00:10:244::/56 ip6 daddr fd00:10:244:1::/64 return
		ip6 saddr fd00:10:244::/56 ip6 daddr != ff00::/8 masquerade fully-random
		ip6 saddr != fd00:10:244::/56 ip6 daddr fd00:10:244::/56 masquerade fully-random
	}
}
`

const forward4 = `
	chain forward {
		comment "chain to accept flannel traffic"
		type filter hook forward priority filter; policy accept;
		ip saddr 10.244.0.0/16 accept
		ip daddr 10.244.0.0/16 accept
	}
}
`

function setup (): { nft: FakeNftables, tm: ReturnType<typeof nftablesTrafficManager> } {
  const nft = fakeNftables()
  return { nft, tm: nftablesTrafficManager({ nft }) }
}

/** The handle of the first rule containing `text`, from `nft -a` style output. */
function handleOf (nft: FakeNftables, text: string): number {
  const line = nft.dump({ handles: true }).split('\n').find((l) => l.includes(text) && l.includes('# handle'))
  const m = line === undefined ? null : /# handle (\d+)$/.exec(line)
  if (m === null) throw new Error(`no rule with ${text}`)
  return Number(m[1])
}

test('a typical node gets flannel\'s flannel-ipv4 table, in one nft transaction', (t) => {
  const { nft, tm } = setup()
  t.true(tm.ensure(masqRules(node)))
  t.is(nft.dump(), golden4)
  t.is(nft.calls.filter((c) => c === '-f').length, 1)
})

test('dual-stack: both tables, written by one transaction', (t) => {
  const { nft, tm } = setup()
  t.true(tm.ensure(masqRules(dual)))
  t.is(nft.dump(), golden4 + golden6)
  t.deepEqual(nft.calls, ['list table ip flannel-ipv4', 'list table ip6 flannel-ipv6', '-f'])
})

test('forward rules: chain forward beside postrtg in the same table', (t) => {
  const { nft, tm } = setup()
  tm.ensure(masqRules(node))
  t.true(tm.ensureForward(forwardRules({ network: node.network })))
  t.is(nft.dump(), golden4.replace(/}\n$/, '') + forward4)
  t.false(tm.ensureForward(forwardRules({ network: node.network })))
  t.false(tm.ensure(masqRules(node)))
})

test('without fully-random the masquerade rules are plain', (t) => {
  const { nft, tm } = setup()
  tm.ensure(masqRules({ ...node, randomFully: false }))
  t.is(nft.dump(), golden4.replaceAll(' fully-random', ''))
})

test('ensure is a no-op when nothing changed: one listing per family, no write', (t) => {
  const { nft, tm } = setup()
  tm.ensure(masqRules(dual))
  nft.calls.length = 0
  t.false(tm.ensure(masqRules(dual)))
  t.deepEqual(nft.calls, ['list table ip flannel-ipv4', 'list table ip6 flannel-ipv6'])
})

test('a deleted rule is repaired in place and the order restored', (t) => {
  const { nft, tm } = setup()
  tm.ensure(masqRules(node))
  nft.apply(`delete rule ip flannel-ipv4 postrtg handle ${handleOf(nft, 'ip saddr 10.244.1.0/24')}\n`)
  t.not(nft.dump(), golden4)
  t.true(tm.ensure(masqRules(node)))
  t.is(nft.dump(), golden4)
})

test('a deleted table or chain is recreated; an extra rule is removed', (t) => {
  const { nft, tm } = setup()
  tm.ensure(masqRules(node))
  nft.deleteTable('ip', 'flannel-ipv4')
  t.true(tm.ensure(masqRules(node)))
  t.is(nft.dump(), golden4)
  nft.apply('delete chain ip flannel-ipv4 postrtg\n')
  t.true(tm.ensure(masqRules(node)))
  t.is(nft.dump(), golden4)
  nft.apply('add rule ip flannel-ipv4 postrtg ip saddr 192.0.2.0/24 masquerade\n')
  t.true(tm.ensure(masqRules(node)))
  t.is(nft.dump(), golden4)
})

test('a postrtg chain with the wrong hook is replaced', (t) => {
  const { nft, tm } = setup()
  nft.apply('add table ip flannel-ipv4\nadd chain ip flannel-ipv4 postrtg { type filter hook forward priority 0 ; policy accept ; }\nadd rule ip flannel-ipv4 postrtg accept\n')
  t.true(tm.ensure(masqRules(node)))
  t.is(nft.dump(), golden4.replace('\tcomment "rules for flannel-ipv4"\n', ''), 'an existing table keeps its (absent) comment, as nft does')
})

test('after the pod subnet changes the old subnet\'s rules are replaced', (t) => {
  const { nft, tm } = setup()
  tm.ensure(masqRules(node))
  t.true(tm.ensure(masqRules({ ...node, podSubnet: '10.244.7.0/24' })))
  t.is(nft.dump(), golden4.replaceAll('10.244.1.0/24', '10.244.7.0/24'))
})

test('turning IPv6 off deletes the IPv6 table; IPv4 stays', (t) => {
  const { nft, tm } = setup()
  tm.ensure(masqRules(dual))
  t.true(tm.ensure(masqRules(node)))
  t.is(nft.dump(), golden4)
  t.false(tm.ensure(masqRules(node)))
})

test('turning masquerade off keeps the table while the forward chain is in it', (t) => {
  const { nft, tm } = setup()
  tm.ensure(masqRules(node))
  tm.ensureForward(forwardRules({ network: node.network }))
  t.true(tm.ensure({ v4: undefined, v6: undefined }))
  t.is(nft.dump(), 'table ip flannel-ipv4 {\n\tcomment "rules for flannel-ipv4"' + forward4)
})

test('cleanup deletes both tables and leaves other tables alone; idempotent', (t) => {
  const { nft, tm } = setup()
  nft.apply('add table inet other\n')
  tm.ensure(masqRules(dual))
  tm.ensureForward(forwardRules({ network: dual.network, ipv6Network: dual.ipv6Network }))
  tm.cleanup()
  t.is(nft.dump(), 'table inet other {\n}\n')
  t.notThrows(() => tm.cleanup())
})

test('cleanup on a host without nftables does nothing', (t) => {
  const { nft, tm } = setup()
  nft.unusable = true
  t.notThrows(() => tm.cleanup())
})

test('a failing transaction is VXLAN_ERR_DATAPLANE and changes nothing; the next pass repairs', (t) => {
  const { nft, tm } = setup()
  tm.ensure(masqRules(node))
  nft.apply(`delete rule ip flannel-ipv4 postrtg handle ${handleOf(nft, 'meta mark')}\n`)
  const before = nft.dump()
  nft.failOn = (c) => c === '-f'
  const e = t.throws(() => tm.ensure(masqRules(node)))
  t.true(e instanceof VxlanError)
  t.is((e as VxlanError).code, 'VXLAN_ERR_DATAPLANE')
  t.truthy((e as VxlanError).cause)
  t.is(nft.dump(), before)
  nft.failOn = undefined
  t.true(tm.ensure(masqRules(node)))
  t.is(nft.dump(), golden4)
})

test('rules are rendered in the text nft lists them in (host routes lose /32)', (t) => {
  t.is(nftRule({ src: { cidr: '10.0.0.1/32', negate: true }, verdict: 'masquerade', why: '' }, 4), 'ip saddr != 10.0.0.1 masquerade')
  t.is(nftRule({ dst: { cidr: 'fd00::1/128', negate: false }, verdict: 'accept', why: '' }, 6), 'ip6 daddr fd00::1 accept')
  t.is(nftRule({ markBits: 0x4000, verdict: 'return', why: '' }, 6), 'meta mark & 0x00004000 == 0x00004000 return')
})
