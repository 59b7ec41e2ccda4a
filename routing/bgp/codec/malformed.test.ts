/**
 * Broken messages (testing/fixtures.ts, one commented field per line) and the exact outcome each must have: the
 * error code, the NOTIFICATION (code, subcode, data) and the RFC 7606 handling, or the UPDATE returned with its
 * errors when no session reset is called for.
 */
import test from 'ava'
import { BgpMessageError, decodeMessage, MessageType } from './index.js'
import { hexOf } from './testing/assert-codec.js'
import { malformedFixtures } from './testing/fixtures.js'

for (const f of malformedFixtures) {
  test(`malformed: ${f.name}`, (t) => {
    if (f.throws !== undefined) {
      const err = t.throws(() => decodeMessage(f.bytes, f.opts), { instanceOf: BgpMessageError }) as BgpMessageError
      t.is(err.code, f.throws.code)
      t.deepEqual([err.notification.code, err.notification.subcode], f.throws.notification)
      t.is(err.handling, f.throws.handling)
      if (f.throws.data !== undefined) t.is(hexOf(err.notification.data), f.throws.data)
    } else if (f.returns !== undefined) {
      const m = decodeMessage(f.bytes, f.opts)
      if (m.type !== MessageType.Update) return t.fail('not an UPDATE')
      t.is(m.treatAsWithdraw === true, f.returns.treatAsWithdraw)
      t.deepEqual((m.errors ?? []).map((e) => [e.code, e.handling]), f.returns.errors)
    } else {
      t.fail('fixture without an expected outcome')
    }
  })
}

test('a malformed attribute error carries the attribute as NOTIFICATION data (RFC 4271 §6.3)', (t) => {
  const f = malformedFixtures.find((x) => x.name.startsWith('ORIGIN value 3 with NLRI'))
  const m = decodeMessage(f?.bytes ?? new Uint8Array(0))
  if (m.type !== MessageType.Update) return t.fail()
  const e = m.errors?.[0]
  t.is(e?.attrType, 1)
  t.deepEqual(e?.notification, { code: 3, subcode: 6, data: Uint8Array.of(0x40, 0x01, 0x01, 0x03) })
})

test('a missing attribute error names the missing type as data', (t) => {
  const f = malformedFixtures.find((x) => x.name.startsWith('NEXT_HOP missing'))
  const m = decodeMessage(f?.bytes ?? new Uint8Array(0))
  if (m.type !== MessageType.Update) return t.fail()
  t.deepEqual(m.errors?.[0]?.notification, { code: 3, subcode: 3, data: Uint8Array.of(3) })
})

test('the first of duplicated attributes is the one kept', (t) => {
  const f = malformedFixtures.find((x) => x.name.startsWith('duplicate ORIGIN'))
  const m = decodeMessage(f?.bytes ?? new Uint8Array(0))
  if (m.type !== MessageType.Update) return t.fail()
  t.deepEqual(m.attributes.filter((a) => a.type === 1), [{ type: 1, origin: 0 }])
})

test('a discarded attribute is left out while the rest of the UPDATE stands', (t) => {
  const f = malformedFixtures.find((x) => x.name.startsWith('AGGREGATOR of 5 octets'))
  const m = decodeMessage(f?.bytes ?? new Uint8Array(0))
  if (m.type !== MessageType.Update) return t.fail()
  t.deepEqual(m.attributes.map((a) => a.type), [1, 2, 3])
  t.deepEqual(m.nlri, [{ prefix: '10.1.0.0/24' }])
})
