import test from 'ava'
import fc from 'fast-check'
import { CidrSet, NodeCidrAllocator, formatIp, parseCidr, parseIp } from './ipam.js'
import { ControllerError } from './errors.js'

test('IPv4 and IPv6 addresses round-trip through their integer form (RFC 5952 text)', (t) => {
  for (const ip of ['10.244.3.0', '0.0.0.0', '255.255.255.255', 'fd00::', '2001:db8::1', '::', '::1', '2001:db8:0:1:1:1:1:1', 'fd00:10:244:1::']) {
    const p = parseIp(ip)
    if (p === undefined) { t.fail(ip); continue }
    t.is(formatIp(p.family, p.value), ip)
  }
  t.is(formatIp(6, parseIp('2001:0db8:0000:0000:0001:0000:0000:0001')?.value ?? 0n), '2001:db8::1:0:0:1')
  t.is(formatIp(6, parseIp('::ffff:10.0.0.1')?.value ?? 0n), '::ffff:a00:1')
  fc.assert(fc.property(fc.ipV6(), (ip) => {
    const p = parseIp(ip)
    return p !== undefined && parseIp(formatIp(6, p.value))?.value === p.value
  }))
})

test('a CIDR is normalised to its network and bad ones are typed errors', (t) => {
  t.deepEqual(parseCidr('10.244.7.9/16'), { family: 4, base: parseIp('10.244.0.0')?.value, prefix: 16 })
  for (const bad of ['10.244.0.0', '10.244.0.0/33', 'x/8', 'fd00::/129', '10.0.0.0/8/1']) {
    const e = t.throws(() => parseCidr(bad))
    t.true(e instanceof ControllerError && e.code === 'CTRL_ERR_CONTROLLERS_INVALID_CIDR', bad)
  }
})

test('node subnets are handed out in order, rotate past released ones, and run out with a typed error', (t) => {
  const s = new CidrSet('10.244.0.0/22', 24)
  t.is(s.size, 4)
  t.deepEqual([s.allocateNext(), s.allocateNext()], ['10.244.0.0/24', '10.244.1.0/24'])
  t.true(s.release('10.244.0.0/24'))
  // Rotation: the next candidate follows the last allocation, so .0 is not reused at once.
  t.deepEqual([s.allocateNext(), s.allocateNext(), s.allocateNext()], ['10.244.2.0/24', '10.244.3.0/24', '10.244.0.0/24'])
  const e = t.throws(() => s.allocateNext())
  t.true(e instanceof ControllerError && e.code === 'CTRL_ERR_CONTROLLERS_CIDR_EXHAUSTED')
  t.false(s.occupy('10.245.0.0/24'), 'outside the cluster CIDR')
  t.false(s.occupy('10.244.0.0/25'), 'wrong mask size')
})

test('occupying existing podCIDRs first (a restart) means they are never handed out again', (t) => {
  const s = new CidrSet('10.244.0.0/16', 24)
  t.true(s.occupy('10.244.0.0/24'))
  t.true(s.occupy('10.244.2.0/24'))
  t.is(s.allocated, 2)
  t.deepEqual([s.allocateNext(), s.allocateNext()], ['10.244.1.0/24', '10.244.3.0/24'])
})

test('mask sizes must fit, and at most 16 bits of subnets', (t) => {
  t.throws(() => new CidrSet('10.244.0.0/16', 8), { code: 'CTRL_ERR_CONTROLLERS_INVALID_CIDR' })
  t.throws(() => new CidrSet('10.0.0.0/8', 26), { code: 'CTRL_ERR_CONTROLLERS_INVALID_CIDR' })
  t.is(new CidrSet('fd00:10:244::/56', 64).size, 256)
})

test('dual-stack: one subnet of each family per node, all or nothing, at most one CIDR per family', (t) => {
  const a = new NodeCidrAllocator({ clusterCidrs: ['10.244.0.0/23', 'fd00:10:244::/56'], maskSizeV4: 24, maskSizeV6: 64 })
  t.deepEqual(a.allocate(), ['10.244.0.0/24', 'fd00:10:244::/64'])
  t.deepEqual(a.allocate(), ['10.244.1.0/24', 'fd00:10:244:1::/64'])
  // v4 is exhausted: the v6 subnet taken in the attempt is given back.
  t.throws(() => a.allocate(), { code: 'CTRL_ERR_CONTROLLERS_CIDR_EXHAUSTED' })
  t.is(a.sets[1]?.allocated, 2)
  a.release(['10.244.0.0/24', 'fd00:10:244::/64'])
  t.deepEqual(a.allocate(), ['10.244.0.0/24', 'fd00:10:244:2::/64'])
  t.deepEqual(a.occupy(['192.168.0.0/24']), ['192.168.0.0/24'])
  t.throws(() => new NodeCidrAllocator({ clusterCidrs: ['10.0.0.0/16', '10.1.0.0/16'], maskSizeV4: 24, maskSizeV6: 64 }), { code: 'CTRL_ERR_CONTROLLERS_INVALID_CIDR' })
})
