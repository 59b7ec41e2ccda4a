/**
 * NOTIFICATION (RFC 4271 §4.5) with the shutdown communication of RFC 9003, the names of every code and subcode,
 * and ROUTE-REFRESH (RFC 2918, RFC 7313).
 */
import test from 'ava'
import {
  BgpEncodeError, BgpMessageError, ceaseNotification, CeaseSubcode, decodeMessage, describeNotification,
  encodeMessage, encodeShutdownCommunication, messageCodec, MessageType, notificationMessage, notificationName,
  NotificationCode, RouteRefreshSubtype, shutdownCommunication, UpdateMessageErrorSubcode
} from './index.js'
import { assertCodec, hex } from './testing/assert-codec.js'

const M = 'ffffffffffffffffffffffffffffffff'

test('a Cease with a shutdown communication carries length then UTF-8 (RFC 9003 §2)', (t) => {
  const n = ceaseNotification(CeaseSubcode.AdministrativeReset, 'réinitialisation')
  assertCodec(t, messageCodec(), n, { bytes: hex`${M} 0027 03 06 04 11 72c3a9696e697469616c69736174696f6e` })
  t.deepEqual(shutdownCommunication(n), { valid: true, message: 'réinitialisation' })
})

test('a shutdown communication may be empty, and up to 255 octets, not more', (t) => {
  t.deepEqual(ceaseNotification(CeaseSubcode.AdministrativeShutdown, '').data, Uint8Array.of(0))
  t.deepEqual(ceaseNotification(CeaseSubcode.AdministrativeShutdown).data, new Uint8Array(0))
  t.is(encodeShutdownCommunication('é'.repeat(127) + 'x').length, 256)
  t.throws(() => encodeShutdownCommunication('é'.repeat(128)), { instanceOf: BgpEncodeError, code: 'BGP_ERR_ENCODE_TOO_LONG' })
  t.throws(() => ceaseNotification(CeaseSubcode.PeerDeconfigured, 'bye'), { instanceOf: BgpEncodeError })
})

test('a malformed shutdown communication is reported as such, never as text (RFC 9003 §4)', (t) => {
  const n = (data: Uint8Array): { code: number, subcode: number, data: Uint8Array } => ({ code: 6, subcode: 2, data })
  t.deepEqual(shutdownCommunication(n(hex`05 6869`)), { valid: false, reason: 'length 5 overruns the 2 octets that follow' })
  t.deepEqual(shutdownCommunication(n(hex`02 c328`)), { valid: false, reason: 'invalid UTF-8' })
  t.deepEqual(shutdownCommunication(n(hex`02 6869 ffff`)), { valid: true, message: 'hi' }, 'octets after it are ignored')
  t.is(shutdownCommunication({ code: 6, subcode: 3, data: hex`02 6869` }), undefined, 'only Administrative Shutdown and Reset carry one')
  t.is(shutdownCommunication(n(new Uint8Array(0))), undefined)
  t.is(describeNotification(n(hex`02 c328`)), 'Cease/Administrative Shutdown (malformed shutdown communication, invalid UTF-8: 02c328)')
})

test('describeNotification escapes control characters so a peer cannot forge log lines', (t) => {
  const n = ceaseNotification(CeaseSubcode.AdministrativeShutdown, 'a\nFAKE LOG LINE')
  t.is(describeNotification(n), 'Cease/Administrative Shutdown: "a\\nFAKE LOG LINE"')
})

test('every code and subcode of the IANA registry has its name', (t) => {
  t.is(notificationName(NotificationCode.MessageHeaderError, 1), 'Message Header Error/Connection Not Synchronized')
  t.is(notificationName(NotificationCode.OpenMessageError, 11), 'OPEN Message Error/Role Mismatch')
  t.is(notificationName(NotificationCode.UpdateMessageError, UpdateMessageErrorSubcode.MalformedAsPath), 'UPDATE Message Error/Malformed AS_PATH')
  t.is(notificationName(NotificationCode.HoldTimerExpired, 0), 'Hold Timer Expired')
  t.is(notificationName(NotificationCode.FiniteStateMachineError, 3), 'Finite State Machine Error/Receive Unexpected Message in Established State')
  t.is(notificationName(NotificationCode.Cease, CeaseSubcode.HardReset), 'Cease/Hard Reset')
  t.is(notificationName(NotificationCode.Cease, CeaseSubcode.BfdDown), 'Cease/BFD Down')
  t.is(notificationName(NotificationCode.RouteRefreshMessageError, 1), 'ROUTE-REFRESH Message Error/Invalid Message Length')
  t.is(notificationName(NotificationCode.SendHoldTimerExpired, 0), 'Send Hold Timer Expired')
  t.is(notificationName(6, 42), 'Cease/subcode 42')
  t.is(notificationName(42, 1), 'code 42/1')
  for (const [code, subs] of [[1, [1, 2, 3]], [2, [1, 2, 3, 4, 5, 6, 7, 11]], [3, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]], [5, [0, 1, 2, 3]], [6, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], [7, [1]]] as const) {
    for (const s of subs) t.notRegex(notificationName(code, s), /subcode/, `${code}/${s}`)
  }
})

test('the NOTIFICATION a BgpMessageError carries encodes as it is', (t) => {
  const err = t.throws(() => decodeMessage(hex`${M} 0013 09`), { instanceOf: BgpMessageError }) as BgpMessageError
  t.deepEqual(encodeMessage(notificationMessage(err.notification)), hex`${M} 0016 03 01 03 09`)
})

test('ROUTE-REFRESH subtypes round-trip, ORF entries of a plain request are kept raw', (t) => {
  for (const subtype of [RouteRefreshSubtype.Request, RouteRefreshSubtype.BeginningOfRouteRefresh, RouteRefreshSubtype.EndOfRouteRefresh, 9]) {
    assertCodec(t, messageCodec(), { type: MessageType.RouteRefresh, afi: 2, safi: 1, subtype }, { bytes: hex(`${M} 0017 05 0002 ${subtype.toString(16).padStart(2, '0')} 01`) })
  }
  assertCodec(t, messageCodec(), { type: MessageType.RouteRefresh, afi: 1, safi: 1, subtype: 0, orf: hex`01 0040` }, { bytes: hex`${M} 001a 05 0001 00 01 010040` })
  t.throws(() => encodeMessage({ type: MessageType.RouteRefresh, afi: 1, safi: 1, subtype: 2, orf: hex`00` }), { instanceOf: BgpEncodeError })
})

test('a ROUTE-REFRESH above 4096 octets needs extended messages', (t) => {
  const big = { type: MessageType.RouteRefresh as const, afi: 1, safi: 1, subtype: 0, orf: new Uint8Array(5000) }
  t.throws(() => encodeMessage(big), { instanceOf: BgpEncodeError })
  t.deepEqual(decodeMessage(encodeMessage(big, { extendedMessages: true }), { extendedMessages: true }), big)
})
