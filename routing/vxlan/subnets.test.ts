/**
 * Subnet enumeration and choice, lease key names and lease values of
 * flannel's etcd layout (pkg/subnet/etcd, pkg/lease).
 */
import test from 'ava'
import {
  candidateSubnets, chooseSubnets, decodeLeaseAttrs, encodeLeaseAttrs, formatLeaseKey, freeSubnets, isLeaseCompatible,
  leasesOverlap, parseLeaseKey, subnetRanges
} from './subnets.js'
import type { LeaseSubnets, SubnetRange } from './subnets.js'
import { parseNetConf } from './netconf.js'
import { VxlanError } from './errors.js'

const conf16 = parseNetConf('{"Network":"10.5.0.0/16","Backend":{"Type":"vxlan"}}', { mode: 'etcd' })
const dual = parseNetConf('{"Network":"10.5.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/48","Backend":{"Type":"vxlan"}}', { mode: 'etcd' })
const v4 = (subnet: string): LeaseSubnets => ({ subnet, ipv6Subnet: undefined })

test('candidateSubnets walks [SubnetMin, SubnetMax] in SubnetLen steps', (t) => {
  t.deepEqual([...candidateSubnets({ family: 4, subnetLen: 26, min: '10.5.0.64', max: '10.5.1.0' })],
    ['10.5.0.64/26', '10.5.0.128/26', '10.5.0.192/26', '10.5.1.0/26'])
  t.deepEqual([...candidateSubnets({ family: 6, subnetLen: 64, min: 'fc00:0:0:fffe::', max: 'fc00:0:1::' })],
    ['fc00:0:0:fffe::/64', 'fc00:0:0:ffff::/64', 'fc00:0:1::/64'])
  t.deepEqual([...candidateSubnets({ family: 4, subnetLen: 24, min: '10.5.3.0', max: '10.5.2.0' })], [])
})

test('candidateSubnets is lazy: a /8 of /24s yields its first subnets at once', (t) => {
  const conf = parseNetConf('{"Network":"10.0.0.0/8","Backend":{"Type":"vxlan"}}', { mode: 'etcd' })
  const range = subnetRanges(conf).v4 as SubnetRange
  const it = candidateSubnets(range)
  t.is(it.next().value, '10.0.1.0/24')
  t.is(it.next().value, '10.0.2.0/24')
  let n = 2
  for (const s of it) { n++; if (n === 65535) t.is(s, '10.255.255.0/24') }
  t.is(n, 65535)
})

test('subnetRanges follows the NetConf and leaves out disabled families', (t) => {
  t.deepEqual(subnetRanges(conf16), { v4: { family: 4, subnetLen: 24, min: '10.5.1.0', max: '10.5.255.0' }, v6: undefined })
  t.deepEqual(subnetRanges(dual).v6, { family: 6, subnetLen: 64, min: 'fc00:0:0:1::', max: 'fc00:0:0:ffff::' })
})

test('freeSubnets skips taken subnets, supernets and subnets of other lengths, and stops at the limit', (t) => {
  const range: SubnetRange = { family: 4, subnetLen: 24, min: '10.5.1.0', max: '10.5.255.0' }
  t.deepEqual(freeSubnets(range, [], 3), ['10.5.1.0/24', '10.5.2.0/24', '10.5.3.0/24'])
  t.deepEqual(freeSubnets(range, ['10.5.1.0/24', '10.5.3.0/24', 'fc00::/64', '10.6.0.0/16'], 3), ['10.5.2.0/24', '10.5.4.0/24', '10.5.5.0/24'])
  // A /22 reservation covers four candidates; a /26 lease blocks the /24 around it.
  t.deepEqual(freeSubnets(range, ['10.5.0.0/22', '10.5.5.64/26'], 3), ['10.5.4.0/24', '10.5.6.0/24', '10.5.7.0/24'])
  t.is(freeSubnets(range, []).length, 100)
  t.deepEqual(freeSubnets(range, ['10.5.0.0/16']), [])
  t.deepEqual(freeSubnets(range, ['10.5.0.0/17', '10.5.128.0/18', '10.5.192.0/19', '10.5.224.0/20', '10.5.240.0/21', '10.5.248.0/22', '10.5.252.0/23', '10.5.254.0/24']), ['10.5.255.0/24'])
})

test('freeSubnets skips a huge taken block in one step (IPv6 /48 of /64s)', (t) => {
  const range: SubnetRange = { family: 6, subnetLen: 64, min: 'fc00::', max: 'fc00:0:ffff:ffff::' }
  const started = Date.now()
  t.deepEqual(freeSubnets(range, ['fc00::/33'], 2), ['fc00:0:8000::/64', 'fc00:0:8000:1::/64'])
  t.true(Date.now() - started < 500)
})

test('chooseSubnets draws among the first 100 free subnets with the injected RNG', (t) => {
  const taken = [v4('10.5.2.0/24')]
  t.deepEqual(chooseSubnets(conf16, taken, () => 0), v4('10.5.1.0/24'))
  t.deepEqual(chooseSubnets(conf16, taken, () => 0.01), v4('10.5.3.0/24'))
  // The 100th free subnet is 10.5.101.0 (10.5.2.0 is taken), never the 101st.
  t.deepEqual(chooseSubnets(conf16, taken, () => 0.999999), v4('10.5.101.0/24'))
  const seen = new Set<string>()
  for (let i = 0; i < 2000; i++) seen.add(chooseSubnets(conf16, taken).subnet as string)
  t.true(seen.size > 80 && seen.size <= 100, `${seen.size} distinct subnets`)
  t.false(seen.has('10.5.2.0/24'))
})

test('chooseSubnets picks one subnet per enabled family', (t) => {
  const taken: LeaseSubnets[] = [{ subnet: '10.5.1.0/24', ipv6Subnet: 'fc00:0:0:1::/64' }]
  t.deepEqual(chooseSubnets(dual, taken, () => 0), { subnet: '10.5.2.0/24', ipv6Subnet: 'fc00:0:0:2::/64' })
})

test('chooseSubnets runs out of subnets with VXLAN_ERR_LEASE', (t) => {
  const conf = parseNetConf('{"Network":"10.5.0.0/16","SubnetMin":"10.5.7.0","SubnetMax":"10.5.8.0","Backend":{"Type":"vxlan"}}', { mode: 'etcd' })
  t.deepEqual(chooseSubnets(conf, [v4('10.5.7.0/24')], () => 0), v4('10.5.8.0/24'))
  const err = t.throws(() => chooseSubnets(conf, [v4('10.5.7.0/24'), v4('10.5.8.0/24')]))
  t.true(err instanceof VxlanError)
  t.is((err as VxlanError).code, 'VXLAN_ERR_LEASE')
  t.is(err.message, 'out of subnets: every /24 from 10.5.7.0 to 10.5.8.0 is leased or reserved')
})

test('isLeaseCompatible: the configured length, aligned, inside [SubnetMin, SubnetMax], each family as configured', (t) => {
  const rows: Array<[string, LeaseSubnets, boolean]> = [
    ['a leasable /24', v4('10.5.7.0/24'), true],
    ['the first subnet, below SubnetMin', v4('10.5.0.0/24'), false],
    ['the last subnet', v4('10.5.255.0/24'), true],
    ['another length', v4('10.5.8.0/25'), false],
    ['outside the network', v4('10.6.1.0/24'), false],
    ['host bits set', v4('10.5.7.1/24'), false],
    ['an IPv6 subnet in a v4-only network', { subnet: '10.5.7.0/24', ipv6Subnet: 'fc00:0:0:1::/64' }, false],
    ['no subnet at all', { subnet: undefined, ipv6Subnet: undefined }, false],
    ['garbage', v4('nonsense'), false]
  ]
  for (const [name, s, want] of rows) t.is(isLeaseCompatible(conf16, s), want, name)
  t.true(isLeaseCompatible(dual, { subnet: '10.5.7.0/24', ipv6Subnet: 'fc00:0:0:7::/64' }))
  t.false(isLeaseCompatible(dual, v4('10.5.7.0/24')), 'dual stack needs both subnets')
  t.false(isLeaseCompatible(dual, { subnet: '10.5.7.0/24', ipv6Subnet: 'fc00::/64' }), 'the first IPv6 subnet is not leasable')
})

test('leasesOverlap compares each family', (t) => {
  t.true(leasesOverlap(v4('10.5.0.0/16'), v4('10.5.7.0/24')))
  t.false(leasesOverlap(v4('10.5.6.0/24'), v4('10.5.7.0/24')))
  t.true(leasesOverlap({ subnet: '10.5.1.0/24', ipv6Subnet: 'fc00::/64' }, { subnet: '10.5.2.0/24', ipv6Subnet: 'fc00::/48' }))
})

test('lease key names are flannel\'s: <ip>-<len>[&<ip6>-<len>]', (t) => {
  t.is(formatLeaseKey(v4('10.5.52.0/24')), '10.5.52.0-24')
  t.is(formatLeaseKey({ subnet: '10.5.52.0/24', ipv6Subnet: 'fc00::/64' }), '10.5.52.0-24&fc00::-64')
  t.is(formatLeaseKey({ subnet: '10.5.52.0/24', ipv6Subnet: 'FC00:0:0:0:0:0:0:0/64' }), '10.5.52.0-24&fc00::-64')
  t.throws(() => formatLeaseKey({ subnet: undefined, ipv6Subnet: 'fc00::/64' }), { instanceOf: VxlanError })
  t.throws(() => formatLeaseKey(v4('fc00::/64')), { instanceOf: VxlanError })
})

test('parseLeaseKey reads names and full keys, and refuses anything that names no subnet', (t) => {
  const rows: Array<[string, LeaseSubnets | undefined]> = [
    ['10.5.52.0-24', v4('10.5.52.0/24')],
    ['/coreos.com/network/subnets/10.5.52.0-24', v4('10.5.52.0/24')],
    ['10.5.52.0-24&fc00::-64', { subnet: '10.5.52.0/24', ipv6Subnet: 'fc00::/64' }],
    ['10.5.52.0-24&FC00:0000::-64', { subnet: '10.5.52.0/24', ipv6Subnet: 'fc00::/64' }],
    ['10.5.52.1-24', undefined],
    ['10.5.52.0-33', undefined],
    ['10.5.52.0', undefined],
    ['10.5.52.0/24', undefined],
    ['fc00::-64', undefined],
    ['10.5.52.0-24&10.5.53.0-24', undefined],
    ['10.5.52.0-24&fc00::-64&fc01::-64', undefined],
    ['10.5.52.0-24&fc00::1-64', undefined],
    ['config', undefined],
    ['', undefined],
    ['x10.5.52.0-24', undefined]
  ]
  for (const [key, want] of rows) t.deepEqual(parseLeaseKey(key), want, key)
})

test('parseLeaseKey and formatLeaseKey round-trip', (t) => {
  for (const s of [v4('0.0.0.0/0'), v4('10.5.52.128/25'), { subnet: '10.5.52.0/24', ipv6Subnet: '2001:db8:0:1::/64' }]) {
    t.deepEqual(parseLeaseKey(formatLeaseKey(s)), s)
  }
})

const flannelValue = '{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}'

test('a lease value as flanneld writes it decodes and re-encodes byte for byte', (t) => {
  const a = decodeLeaseAttrs(flannelValue)
  t.deepEqual(a, { PublicIP: '192.168.64.3', PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: 'c6:d2:32:6f:8f:44' } })
  t.is(encodeLeaseAttrs(a), flannelValue)
})

test('encodeLeaseAttrs: Go field order, PublicIPv6 always, empty fields omitted', (t) => {
  t.is(encodeLeaseAttrs({ PublicIP: '10.0.0.1', BackendType: '' }), '{"PublicIP":"10.0.0.1","PublicIPv6":null}')
  t.is(encodeLeaseAttrs({
    PublicIP: '10.0.0.1', PublicIPv6: 'fd00::1', BackendType: 'vxlan',
    BackendData: { VNI: 7, VtepMAC: '02:00:00:00:00:01' }, BackendV6Data: { VNI: 7, VtepMAC: '02:00:00:00:00:02' }
  }), '{"PublicIP":"10.0.0.1","PublicIPv6":"fd00::1","BackendType":"vxlan","BackendData":{"VNI":7,"VtepMAC":"02:00:00:00:00:01"},"BackendV6Data":{"VNI":7,"VtepMAC":"02:00:00:00:00:02"}}')
  t.is(encodeLeaseAttrs({ PublicIP: '10.0.0.1', BackendType: 'vxlan', BackendData: null }), '{"PublicIP":"10.0.0.1","PublicIPv6":null,"BackendType":"vxlan","BackendData":null}')
})

test('decodeLeaseAttrs keeps only the addresses and type of other backends', (t) => {
  t.deepEqual(decodeLeaseAttrs('{"PublicIP":"10.0.0.9","PublicIPv6":null,"BackendType":"wireguard","BackendData":{"PublicKey":"abc"}}'),
    { PublicIP: '10.0.0.9', PublicIPv6: null, BackendType: 'wireguard' })
  t.deepEqual(decodeLeaseAttrs('{"PublicIP":"10.0.0.9"}'), { PublicIP: '10.0.0.9', PublicIPv6: null, BackendType: '' })
  t.deepEqual(decodeLeaseAttrs('{"PublicIP":"10.0.0.9","PublicIPv6":"FD00::9","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"C6-D2-32-6F-8F-44"},"BackendV6Data":null}'),
    { PublicIP: '10.0.0.9', PublicIPv6: 'fd00::9', BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: 'c6:d2:32:6f:8f:44' }, BackendV6Data: null })
})

test('decodeLeaseAttrs refuses values no flannel node could use, naming the field', (t) => {
  const rows: Array<[string, string]> = [
    ['', 'not JSON'],
    ['[]', 'not a JSON object'],
    ['{}', 'PublicIP undefined'],
    ['{"PublicIP":"fd00::1"}', 'PublicIP "fd00::1"'],
    ['{"PublicIP":"10.0.0.1","PublicIPv6":"10.0.0.2"}', 'PublicIPv6 "10.0.0.2"'],
    ['{"PublicIP":"10.0.0.1","BackendType":1}', 'BackendType'],
    ['{"PublicIP":"10.0.0.1","BackendType":"vxlan","BackendData":{"VNI":"1","VtepMAC":"c6:d2:32:6f:8f:44"}}', 'BackendData.VNI'],
    ['{"PublicIP":"10.0.0.1","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32"}}', 'BackendData.VtepMAC'],
    ['{"PublicIP":"10.0.0.1","BackendType":"vxlan","BackendV6Data":[]}', 'BackendV6Data is not an object']
  ]
  for (const [text, says] of rows) {
    const err = t.throws(() => decodeLeaseAttrs(text), undefined, text)
    t.is((err as VxlanError).code, 'VXLAN_ERR_LEASE')
    t.true(err.message.includes(says), `${text}: "${err.message}" should say "${says}"`)
  }
})
