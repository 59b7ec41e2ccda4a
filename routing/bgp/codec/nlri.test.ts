/** Prefixes as NLRI (RFC 4271 §4.3, RFC 4760 §5, RFC 7911 §3): layout, canonical text, path identifiers. */
import test from 'ava'
import { deepStrictEqual } from 'node:assert'
import fc from 'fast-check'
import { Afi, BgpEncodeError, BgpMessageError, prefixCodec } from './index.js'
import { assertCodec, hex } from './testing/assert-codec.js'
import { nlri } from './testing/arbitraries.js'

const rows = [
  { name: 'default route', afi: Afi.Ipv4, prefix: '0.0.0.0/0', bytes: '00' },
  { name: 'IPv4 /8 takes one octet', afi: Afi.Ipv4, prefix: '10.0.0.0/8', bytes: '080a' },
  { name: 'IPv4 /26 takes four octets', afi: Afi.Ipv4, prefix: '192.168.0.64/26', bytes: '1ac0a80040' },
  { name: 'IPv4 host route', afi: Afi.Ipv4, prefix: '192.0.2.1/32', bytes: '20c0000201' },
  { name: 'IPv6 /48', afi: Afi.Ipv6, prefix: '2001:db8:64::/48', bytes: '3020010db80064' },
  { name: 'IPv6 /122 (a Calico block)', afi: Afi.Ipv6, prefix: 'fd00::40/122', bytes: '7afd000000000000000000000000000040' },
  { name: 'IPv6 host route', afi: Afi.Ipv6, prefix: '2001:db8::1/128', bytes: '8020010db8000000000000000000000001' }
] as const

for (const r of rows) {
  test(`prefix round-trips: ${r.name}`, (t) => {
    assertCodec(t, prefixCodec(r.afi), { prefix: r.prefix }, { bytes: hex(r.bytes) })
  })
}

test('with ADD-PATH every prefix is preceded by its 4-octet path identifier', (t) => {
  assertCodec(t, prefixCodec(Afi.Ipv4, { addPath: true }), { prefix: '10.1.0.0/16', pathId: 0xdeadbeef }, { bytes: hex`deadbeef 10 0a01` })
  assertCodec(t, prefixCodec(Afi.Ipv6, { addPath: true }), { prefix: '::/0', pathId: 0 }, { bytes: hex`00000000 00` })
})

test('bits past the prefix length are cleared on decode (RFC 4271: they are irrelevant)', (t) => {
  t.deepEqual(prefixCodec(Afi.Ipv4).decode(hex`0c 0aff`).value, { prefix: '10.240.0.0/12' })
  t.deepEqual(prefixCodec(Afi.Ipv6).decode(hex`11 2001ff`).value, { prefix: '2001:8000::/17' })
})

test('encoding refuses host bits, a wrong family and a path identifier out of place', (t) => {
  const v4 = prefixCodec(Afi.Ipv4)
  t.throws(() => v4.encode({ prefix: '10.1.2.3/24' }), { instanceOf: BgpEncodeError, code: 'BGP_ERR_ENCODE_INVALID', message: /bits set past/ })
  t.throws(() => v4.encode({ prefix: '2001:db8::/32' }), { instanceOf: BgpEncodeError, message: /not IPv4/ })
  t.throws(() => v4.encode({ prefix: '10.0.0.0' }), { instanceOf: BgpEncodeError, message: /invalid prefix/ })
  t.throws(() => v4.encode({ prefix: '10.0.0.0/8', pathId: 1 }), { instanceOf: BgpEncodeError, message: /ADD-PATH does not apply/ })
  t.throws(() => prefixCodec(Afi.Ipv4, { addPath: true }).encode({ prefix: '10.0.0.0/8' }), { instanceOf: BgpEncodeError, message: /no pathId/ })
  t.throws(() => prefixCodec(Afi.Ipv4, { addPath: true }).encode({ prefix: '10.0.0.0/8', pathId: 2 ** 32 }), { instanceOf: BgpEncodeError })
})

test('a prefix longer than the family or overrunning the buffer is an Invalid Network Field', (t) => {
  for (const [afi, b] of [[Afi.Ipv4, hex`21 0a000000 00`], [Afi.Ipv6, hex`81`], [Afi.Ipv4, hex`18 0a00`], [Afi.Ipv4, hex``]] as const) {
    const err = t.throws(() => prefixCodec(afi).decode(b), { instanceOf: BgpMessageError }) as BgpMessageError
    t.is(err.code, 'BGP_ERR_UPDATE_NLRI')
    t.deepEqual([err.notification.code, err.notification.subcode], [3, 10])
  }
  t.throws(() => prefixCodec(Afi.Ipv4, { addPath: true }).decode(hex`000000`), { message: /path identifier truncated/ })
})

test('every canonical prefix round-trips, with and without path ids (property)', (t) => {
  for (const family of [4, 6] as const) {
    for (const addPath of [false, true]) {
      const codec = prefixCodec(family === 4 ? Afi.Ipv4 : Afi.Ipv6, { addPath })
      fc.assert(fc.property(nlri(family, addPath), (v) => { deepStrictEqual(codec.decode(codec.encode(v)).value, v) }), { numRuns: 300 })
    }
  }
  t.pass()
})

test('arbitrary bytes decode as a prefix or throw BgpMessageError (property)', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 24 }), fc.boolean(), fc.boolean(), (b, v6, addPath) => {
    try { prefixCodec(v6 ? Afi.Ipv6 : Afi.Ipv4, { addPath }).decode(b) } catch (err) { return err instanceof BgpMessageError }
    return true
  }), { numRuns: 3000 })
  t.pass()
})

test('IPv4 text: odd spellings still go to the address parser; decoded text is dotted decimal and re-encodes to the same bytes (property)', (t) => {
  const v4 = prefixCodec(Afi.Ipv4)
  const outcome = (prefix: string): string => {
    try { return Buffer.from(v4.encode({ prefix })).toString('hex') } catch (e) { return `error ${(e as Error).message.replace(/ \(.*$/, '')}` }
  }
  // Spellings the one-pass reader turns away go to the address parser, which decides as it always did.
  for (const p of ['010.0.0.0/8', '10.0.0.0/08', '10.0.0.0/33', '10.0.0/8', '10.0.0.0.0/8', '256.0.0.0/8', '10.0.0.0/', '/8', '1.2.3.4/32 ', '10.1.2.3/24']) {
    t.regex(outcome(p), /^error |^[0-9a-f]+$/, p)
  }
  t.is(outcome('10.1.2.3/24'), 'error prefix 10.1.2.3/24 has bits set past its length')
  t.is(outcome('10.0.0.0/33'), 'error invalid prefix "10.0.0.0/33"')
  // Canonical text from arbitrary octets: what decode builds, encode reads back to the same bytes.
  fc.assert(fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 }), (b, len) => {
    const n = (len + 7) >> 3
    const wire = new Uint8Array(1 + n)
    wire[0] = len
    wire.set(b.subarray(0, n), 1)
    const decoded = v4.decode(wire).value
    const masked = Array.from(b, (x, i) => i * 8 >= len ? 0 : i * 8 + 8 <= len ? x : x & (0xff << (8 - (len - i * 8))) & 0xff)
    deepStrictEqual(decoded.prefix, `${masked.join('.')}/${len}`)
    const again = v4.encode(decoded)
    deepStrictEqual(v4.decode(again).value, decoded)
  }), { numRuns: 500 })
})
