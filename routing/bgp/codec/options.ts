/**
 * What the session negotiated that changes the wire layout (gobgp's MarshallingOption). Decoding received messages
 * uses what applies to receiving, encoding uses what applies to sending: `negotiate()` (negotiate.ts) derives both
 * from the two OPENs.
 */
import type { AfiSafi } from './constants.js'
import { MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH, MessageType } from './constants.js'

export interface CodecOptions {
  /** RFC 6793: both sides advertised the 4-octet AS capability; AS_PATH and AGGREGATOR carry 4-octet ASNs. */
  readonly fourOctetAs?: boolean
  /** RFC 8654: both sides advertised Extended Message; UPDATE, NOTIFICATION and ROUTE-REFRESH may reach 65535. */
  readonly extendedMessages?: boolean
  /** RFC 7911: the AFI/SAFIs whose NLRI carry a Path Identifier in this direction. */
  readonly addPath?: readonly AfiSafi[]
}

/** Before the OPEN exchange: 2-octet ASNs, 4096-byte messages, no path identifiers. */
export const DEFAULT_OPTIONS: CodecOptions = Object.freeze({})

export function hasAddPath (opts: CodecOptions, afi: number, safi: number): boolean {
  const list = opts.addPath
  if (list === undefined) return false
  for (const f of list) if (f.afi === afi && f.safi === safi) return true
  return false
}

/** RFC 8654 §4: OPEN and KEEPALIVE stay within 4096 bytes even with extended messages. */
export function maxMessageLength (opts: CodecOptions, type?: number): number {
  if (opts.extendedMessages !== true) return MAX_MESSAGE_LENGTH
  if (type === MessageType.Open || type === MessageType.Keepalive) return MAX_MESSAGE_LENGTH
  return MAX_EXTENDED_MESSAGE_LENGTH
}
