/**
 * ROUTE-REFRESH (RFC 2918 §3, RFC 7313 §3.2): AFI(2) | Message Subtype(1) (formerly Reserved) | SAFI(1).
 * A plain request may be followed by RFC 5291 ORF entries, kept raw. RFC 7313 §5: a BoRR or EoRR whose body is not
 * 4 octets is a ROUTE-REFRESH Message Error/Invalid Message Length with the whole message as data; a subtype
 * above 2 must be ignored by the receiver, which is the session's call, so it decodes.
 */
import { checkUint, copyBytes, u16, w16 } from './codec.js'
import { MessageType, RouteRefreshSubtype } from './constants.js'
import { BgpEncodeError, BgpMessageError } from './errors.js'
import { NotificationCode, RouteRefreshErrorSubcode } from './notification-codes.js'

export interface RouteRefreshMessage {
  type: MessageType.RouteRefresh
  afi: number
  safi: number
  /** A `RouteRefreshSubtype`. */
  subtype: number
  /** RFC 5291: Outbound Route Filtering entries after a plain request, as received. */
  orf?: Uint8Array
}

export function routeRefreshBodyLength (v: RouteRefreshMessage): number {
  return 4 + (v.orf?.length ?? 0)
}

export function writeRouteRefreshBody (v: RouteRefreshMessage, buf: Uint8Array, offset: number): number {
  checkUint(v.afi, 0xffff, 'AFI')
  checkUint(v.subtype, 255, 'ROUTE-REFRESH subtype')
  checkUint(v.safi, 255, 'SAFI')
  if (v.orf !== undefined && (v.subtype === RouteRefreshSubtype.BeginningOfRouteRefresh || v.subtype === RouteRefreshSubtype.EndOfRouteRefresh)) {
    throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', 'a BoRR or EoRR ROUTE-REFRESH carries nothing after SAFI (RFC 7313 §5)')
  }
  w16(buf, offset, v.afi)
  buf[offset + 2] = v.subtype
  buf[offset + 3] = v.safi
  if (v.orf !== undefined) buf.set(v.orf, offset + 4)
  return routeRefreshBodyLength(v)
}

/** `message` is the whole message (header included), the Data of the length error. */
export function readRouteRefreshBody (body: Uint8Array, message: Uint8Array): RouteRefreshMessage {
  const subtype = body[2] as number
  if (body.length !== 4 && (subtype === RouteRefreshSubtype.BeginningOfRouteRefresh || subtype === RouteRefreshSubtype.EndOfRouteRefresh)) {
    throw new BgpMessageError('BGP_ERR_ROUTE_REFRESH_LENGTH', `ROUTE-REFRESH subtype ${subtype} with a ${body.length}-octet body`, {
      code: NotificationCode.RouteRefreshMessageError, subcode: RouteRefreshErrorSubcode.InvalidMessageLength, data: new Uint8Array(message)
    })
  }
  const value: RouteRefreshMessage = { type: MessageType.RouteRefresh, afi: u16(body, 0), safi: body[3] as number, subtype }
  if (body.length > 4) value.orf = copyBytes(body, 4, body.length)
  return value
}
