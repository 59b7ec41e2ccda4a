/** The message header (RFC 4271 §4.1, §6.1): round trips and every header check, in the RFC's order. */
import test from 'ava'
import fc from 'fast-check'
import { BgpMessageError, headerCodec, MessageType } from './index.js'
import { assertCodec, hex } from './testing/assert-codec.js'
import { header } from './testing/arbitraries.js'

const M = 'ffffffffffffffffffffffffffffffff'

test('a header round-trips with the marker, length and type in place', (t) => {
  assertCodec(t, headerCodec(), { length: 29, type: MessageType.Open }, { bytes: hex`${M} 001d 01` })
  assertCodec(t, headerCodec({ extendedMessages: true }), { length: 65535, type: MessageType.Update }, { bytes: hex`${M} ffff 02` })
})

test('every valid header round-trips (property)', (t) => {
  fc.assert(fc.property(header, (h) => {
    const min = [0, 29, 23, 21, 19, 23][h.type] as number
    const length = h.type === MessageType.Keepalive ? 19 : Math.max(h.length, min)
    const v = { ...h, length }
    const codec = headerCodec()
    t.deepEqual(codec.decode(codec.encode(v)).value, v)
  }))
})

test('the checks run in RFC 4271 §6.1 order: marker before length before type', (t) => {
  const codec = headerCodec()
  const err = (b: Uint8Array): string => (t.throws(() => codec.decode(b), { instanceOf: BgpMessageError }) as BgpMessageError).code
  t.is(err(hex`ffffffffffffffffffffffffffffff00 0001 09`), 'BGP_ERR_MARKER')
  t.is(err(hex`${M} 0001 09`), 'BGP_ERR_MESSAGE_LENGTH')
  t.is(err(hex`${M} 0013 09`), 'BGP_ERR_MESSAGE_TYPE')
  t.is(err(hex`${M} 0016 02`), 'BGP_ERR_MESSAGE_LENGTH', 'an UPDATE needs 23 octets')
  t.is(err(hex`${M} 00`), 'BGP_ERR_TRUNCATED')
})

test('extended messages lift the limit for UPDATE, NOTIFICATION and ROUTE-REFRESH only (RFC 8654 §4)', (t) => {
  const ext = headerCodec({ extendedMessages: true })
  for (const type of [2, 3, 5]) t.is(ext.decode(hex`${M} 2000 0${type}`).value.length, 0x2000)
  t.throws(() => ext.decode(hex`${M} 2000 01`), { message: /4096-byte limit of message type 1/ })
  t.throws(() => ext.decode(hex`${M} 2000 04`), { message: /KEEPALIVE is header only/ })
  t.throws(() => headerCodec().decode(hex`${M} 1001 02`), { message: /4096/ })
})

test('arbitrary bytes either decode as a header or throw BgpMessageError (property)', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 24 }), fc.boolean(), (b, ext) => {
    try { headerCodec({ extendedMessages: ext }).decode(b) } catch (err) { return err instanceof BgpMessageError }
    return true
  }), { numRuns: 2000 })
  t.pass()
})
