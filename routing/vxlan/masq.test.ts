/**
 * The pure rule sets: what flannel installs, as data, before any backend
 * renders it.
 */
import test from 'ava'
import { KUBE_PROXY_MARK, forwardRules, masqRules } from './masq.js'
import type { TrafficRule } from './masq.js'
import { VxlanError } from './errors.js'

/** A rule in a compact, backend-neutral notation for the tables below. */
const show = (r: TrafficRule): string => [
  r.markBits !== undefined ? `mark&0x${r.markBits.toString(16)}` : '',
  r.src !== undefined ? `src ${r.src.negate ? '!' : ''}${r.src.cidr}` : '',
  r.dst !== undefined ? `dst ${r.dst.negate ? '!' : ''}${r.dst.cidr}` : '',
  r.verdict + (r.randomFully === true ? ' random-fully' : '')
].filter((w) => w !== '').join(' ')

test('a typical node: flannel\'s six masquerade rules in flannel\'s order', (t) => {
  const set = masqRules({ network: '10.244.0.0/16', podSubnet: '10.244.1.0/24', randomFully: true })
  t.is(set.v6, undefined)
  t.deepEqual(set.v4?.map(show), [
    'mark&0x4000 return',
    'src 10.244.1.0/24 dst 10.244.0.0/16 return',
    'src 10.244.0.0/16 dst 10.244.1.0/24 return',
    'src !10.244.0.0/16 dst 10.244.1.0/24 return',
    'src 10.244.0.0/16 dst !224.0.0.0/4 masquerade random-fully',
    'src !10.244.0.0/16 dst 10.244.0.0/16 masquerade random-fully'
  ])
  t.is(KUBE_PROXY_MARK, 0x4000)
  t.true(set.v4?.every((r) => r.why.length > 0))
})

test('dual-stack: the IPv6 set excepts ff00::/8 instead of 224.0.0.0/4', (t) => {
  const set = masqRules({ network: '10.244.0.0/16', podSubnet: '10.244.1.0/24', ipv6Network: 'fd00:10:244::/56', ipv6PodSubnet: 'fd00:10:244:1::/64', randomFully: false })
  t.deepEqual(set.v6?.map(show), [
    'mark&0x4000 return',
    'src fd00:10:244:1::/64 dst fd00:10:244::/56 return',
    'src fd00:10:244::/56 dst fd00:10:244:1::/64 return',
    'src !fd00:10:244::/56 dst fd00:10:244:1::/64 return',
    'src fd00:10:244::/56 dst !ff00::/8 masquerade',
    'src !fd00:10:244::/56 dst fd00:10:244::/56 masquerade'
  ])
  t.is(set.v4?.length, 6)
})

test('IPv6 only: no IPv4 set', (t) => {
  const set = masqRules({ network: undefined, podSubnet: undefined, ipv6Network: 'fd00:10:244::/56', ipv6PodSubnet: 'fd00:10:244:1::/64', randomFully: true })
  t.is(set.v4, undefined)
  t.is(set.v6?.length, 6)
})

test('subnet.env spellings are accepted: host bits and long IPv6 forms are normalised', (t) => {
  const set = masqRules({ network: '10.244.0.0/16', podSubnet: '10.244.1.1/24', ipv6Network: 'FD00:10:244:0::/56', ipv6PodSubnet: 'fd00:10:244:1::1/64', randomFully: true })
  t.is(set.v4?.[1]?.src?.cidr, '10.244.1.0/24')
  t.is(set.v6?.[1]?.src?.cidr, 'fd00:10:244:1::/64')
  t.is(set.v6?.[1]?.dst?.cidr, 'fd00:10:244::/56')
})

const invalid: Array<{ name: string, init: Parameters<typeof masqRules>[0], message: RegExp }> = [
  { name: 'a pod subnet outside the network', init: { network: '10.244.0.0/16', podSubnet: '10.245.1.0/24', randomFully: true }, message: /not inside/ },
  { name: 'a pod subnet larger than the network', init: { network: '10.244.0.0/16', podSubnet: '10.0.0.0/8', randomFully: true }, message: /not inside/ },
  { name: 'a network without a pod subnet', init: { network: '10.244.0.0/16', randomFully: true }, message: /together/ },
  { name: 'an IPv6 pod subnet without its network', init: { ipv6PodSubnet: 'fd00::/64', randomFully: true }, message: /together/ },
  { name: 'garbage', init: { network: '10.244.0.0', podSubnet: '10.244.1.0/24', randomFully: true }, message: /not a CIDR/ },
  { name: 'IPv6 where IPv4 belongs', init: { network: 'fd00::/48', podSubnet: 'fd00::/64', randomFully: true }, message: /not an IPv4 CIDR/ }
]

for (const row of invalid) {
  test(`masqRules refuses ${row.name} with VXLAN_ERR_NETCONF`, (t) => {
    const e = t.throws(() => masqRules(row.init), { message: row.message })
    t.true(e instanceof VxlanError)
    t.is((e as VxlanError).code, 'VXLAN_ERR_NETCONF')
  })
}

test('forward rules accept from and to each cluster network', (t) => {
  const set = forwardRules({ network: '10.244.0.0/16', ipv6Network: 'fd00:10:244::/56' })
  t.deepEqual(set.v4?.map(show), ['src 10.244.0.0/16 accept', 'dst 10.244.0.0/16 accept'])
  t.deepEqual(set.v6?.map(show), ['src fd00:10:244::/56 accept', 'dst fd00:10:244::/56 accept'])
  t.deepEqual(forwardRules({}), { v4: undefined, v6: undefined })
  t.throws(() => forwardRules({ network: 'fd00::/8' }), { instanceOf: VxlanError })
})
