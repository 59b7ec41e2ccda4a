/**
 * Address helpers. Canonical text must be Go's net.IP.String(), because the
 * reference host-local names its store files by it and both implementations
 * share a node's store: RFC 5952 for IPv6 (lower case, the first longest run
 * of zero groups compressed, never a single group), v4-mapped addresses as
 * dotted quads.
 */
import test from 'ava'
import {
  AddressError, canonical, contains, familyOf, formatCidr, fromBigInt, fromBytes, lastOf, macFromBytes, macToBytes,
  networkOf, overlaps, parseCidr, toBigInt, toBytes
} from './ip.js'

test('familyOf: 4, 6, or undefined for anything that is not a bare address', (t) => {
  t.is(familyOf('10.1.2.3'), 4)
  t.is(familyOf('fd00::1'), 6)
  t.is(familyOf('::'), 6)
  for (const bad of ['10.1.2.3/24', 'fd00::/64', '1.2.3', '256.0.0.1', 'hello', '', '1::2::3']) t.is(familyOf(bad), undefined, bad)
})

test('canonical spells every address the way Go\'s net.IP.String() does', (t) => {
  const rows: Array<[string, string]> = [
    ['10.1.2.3', '10.1.2.3'],
    ['0.0.0.0', '0.0.0.0'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:0:0:1:0:0:1:1', '1::1:0:0:1:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['FD00::ABCD', 'fd00::abcd'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['fd00:0:0:1::', 'fd00:0:0:1::'],
    ['fe80::1', 'fe80::1'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['::ffff:a01:203', '10.1.2.3'],
    ['::10.1.2.3', '::a01:203']
  ]
  for (const [input, want] of rows) t.is(canonical(input), want, input)
  for (const bad of ['010.1.2.3', '1.2.3', '256.1.1.1', ' 10.1.2.3', '10.1.2.3/24', '1::2::3', 'fd00::/64', 'x']) {
    t.throws(() => canonical(bad), { instanceOf: AddressError, message: `invalid IP address "${bad}"` }, bad)
  }
})

test('parseCidr: family, canonical address with host bits kept, prefix; errors name the input', (t) => {
  t.deepEqual(parseCidr('10.1.2.3/24'), { family: 4, address: '10.1.2.3', prefixLen: 24 })
  t.deepEqual(parseCidr('2001:DB8:0:0::5/64'), { family: 6, address: '2001:db8::5', prefixLen: 64 })
  t.deepEqual(parseCidr('0.0.0.0/0'), { family: 4, address: '0.0.0.0', prefixLen: 0 })
  t.deepEqual(parseCidr('::/0'), { family: 6, address: '::', prefixLen: 0 })
  t.deepEqual(parseCidr('fd00::1/128'), { family: 6, address: 'fd00::1', prefixLen: 128 })
  t.deepEqual(parseCidr('10.1.2.3', true), { family: 4, address: '10.1.2.3', prefixLen: 32 }, 'a bare address is a host route when allowed')
  t.deepEqual(parseCidr('fd00::1', true), { family: 6, address: 'fd00::1', prefixLen: 128 })
  t.deepEqual(parseCidr('::ffff:10.1.2.3/120'), { family: 6, address: '::ffff:a01:203', prefixLen: 120 }, 'a v4-mapped CIDR stays IPv6, bytes and prefix consistent')
  for (const bad of ['10.1.2.3', '10.1.2.3/33', 'fd00::1/129', '10.1.2.3/', '10.1.2.3/+4', '10.1.2.3/-1', '10.1.2.3/ 4', ' 10.1.2.3/24', 'x/24', '10.1.2.3/2a']) {
    t.throws(() => parseCidr(bad), { instanceOf: AddressError, message: `invalid CIDR address: ${bad}` }, bad)
  }
  t.throws(() => parseCidr(undefined as unknown as string), { instanceOf: AddressError })
  t.is(formatCidr(parseCidr('10.1.2.3/24')), '10.1.2.3/24')
})

test('networkOf and lastOf: the first and last address of a prefix, at every edge', (t) => {
  const rows: Array<[string, string, string]> = [
    ['10.1.2.3/24', '10.1.2.0', '10.1.2.255'],
    ['10.1.2.3/32', '10.1.2.3', '10.1.2.3'],
    ['10.1.2.3/31', '10.1.2.2', '10.1.2.3'],
    ['10.1.2.3/0', '0.0.0.0', '255.255.255.255'],
    ['10.1.2.3/8', '10.0.0.0', '10.255.255.255'],
    ['172.16.5.4/12', '172.16.0.0', '172.31.255.255'],
    ['fd00::1:2/112', 'fd00::1:0', 'fd00::1:ffff'],
    ['fd00:1:2:3:4:5:6:7/64', 'fd00:1:2:3::', 'fd00:1:2:3:ffff:ffff:ffff:ffff'],
    ['fd00::5/128', 'fd00::5', 'fd00::5'],
    ['::/0', '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']
  ]
  for (const [cidr, first, last] of rows) {
    t.is(networkOf(parseCidr(cidr)), first, `${cidr} network`)
    t.is(lastOf(parseCidr(cidr)), last, `${cidr} last`)
  }
})

test('contains and overlaps respect prefix boundaries and never mix families', (t) => {
  const net = parseCidr('10.1.0.0/16')
  t.true(contains(net, '10.1.0.0'))
  t.true(contains(net, '10.1.255.255'))
  t.false(contains(net, '10.2.0.0'))
  t.false(contains(net, '10.0.255.255'))
  t.false(contains(net, 'fd00::1'))
  t.false(contains(parseCidr('::/0'), '10.0.0.1'), '::/0 holds no IPv4 address')
  t.true(contains(parseCidr('0.0.0.0/0'), '203.0.113.9'))
  t.true(contains(parseCidr('fd00::/64'), 'fd00::ffff:ffff:ffff:ffff'))
  t.false(contains(parseCidr('fd00::/64'), 'fd00:0:0:1::'))

  t.true(overlaps(parseCidr('10.0.0.0/8'), parseCidr('10.1.0.0/16')), 'nested')
  t.true(overlaps(parseCidr('10.1.0.0/16'), parseCidr('10.0.0.0/8')), 'symmetric')
  t.true(overlaps(parseCidr('10.1.2.3/24'), parseCidr('10.1.2.200/28')), 'host bits do not matter')
  t.false(overlaps(parseCidr('10.0.0.0/16'), parseCidr('10.1.0.0/16')), 'adjacent')
  t.false(overlaps(parseCidr('10.0.0.0/8'), parseCidr('fd00::/8')))
  t.true(overlaps(parseCidr('fd00::/48'), parseCidr('fd00:0:0:ff::/64')))
  t.false(overlaps(parseCidr('fd00::/64'), parseCidr('fd00:0:0:1::/64')))
})

test('bigints: exact over the whole range of both families, and back', (t) => {
  t.is(toBigInt('0.0.0.0'), 0n)
  t.is(toBigInt('255.255.255.255'), 0xffffffffn)
  t.is(toBigInt('10.1.2.3'), (10n << 24n) + (1n << 16n) + (2n << 8n) + 3n)
  t.is(toBigInt('::'), 0n)
  t.is(toBigInt('::1'), 1n)
  t.is(toBigInt('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), (1n << 128n) - 1n)
  t.is(toBigInt('fd00::1'), (0xfd00n << 112n) + 1n)
  t.is(fromBigInt(0xffffffffn, 4), '255.255.255.255')
  t.is(fromBigInt(0n, 6), '::')
  t.is(fromBigInt((1n << 128n) - 1n, 6), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')
  for (const ip of ['10.1.2.3', '0.0.0.1', 'fd00::1:0:0:1', '2001:db8::', '::ffff:0:1']) {
    t.is(fromBigInt(toBigInt(ip), ip.includes(':') ? 6 : 4), ip, ip)
  }
  t.is(fromBigInt(toBigInt('10.1.0.255') + 1n, 4), '10.1.1.0', 'arithmetic carries across octets')
  t.throws(() => toBigInt('nope'), { instanceOf: AddressError })
})

test('bytes: 4 for IPv4, 16 for IPv6, and back the way the kernel\'s bytes read', (t) => {
  t.deepEqual([...toBytes('10.1.2.3')], [10, 1, 2, 3])
  t.deepEqual([...toBytes('::')], new Array(16).fill(0))
  t.deepEqual([...toBytes('fd00::1')], [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
  t.deepEqual([...toBytes('::ffff:1.2.3.4')], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4])
  t.is(fromBytes(Buffer.from([192, 168, 0, 1])), '192.168.0.1')
  t.is(fromBytes(new Uint8Array(16)), '::')
  t.is(fromBytes(toBytes('2001:db8::8:800:200c:417a')), '2001:db8::8:800:200c:417a')
  t.is(fromBytes(toBytes('::ffff:1.2.3.4')), '::ffff:102:304', 'bytes keep the family the kernel gave them')
  t.throws(() => fromBytes(new Uint8Array(5)), { instanceOf: AddressError, message: 'address of 5 bytes' })
  t.throws(() => toBytes('10.1.2.3/24'), { instanceOf: AddressError })
})

test('MACs: colon or dash, any case, in; lower-case colon hex out', (t) => {
  t.deepEqual([...macToBytes('02:AA:bb:00:0F:01')], [2, 0xaa, 0xbb, 0, 0x0f, 1])
  t.deepEqual([...macToBytes('02-aa-bb-00-0f-01')], [2, 0xaa, 0xbb, 0, 0x0f, 1])
  t.is(macFromBytes(Buffer.from([2, 0xaa, 0xbb, 0, 0x0f, 1])), '02:aa:bb:00:0f:01')
  t.is(macFromBytes(new Uint8Array(6)), '00:00:00:00:00:00')
  for (const bad of ['02:aa:bb:00:0f', '02:aa:bb:00:0f:01:02', '02:aa:bb:00:0f:0g', '02aabb000f01', '2:aa:bb:0:f:1', '']) {
    t.throws(() => macToBytes(bad), { instanceOf: AddressError, message: `invalid MAC address "${bad}"` }, bad)
  }
})
