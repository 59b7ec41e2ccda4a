/**
 * Capabilities (RFC 5492 §4): `code(1) length(1) value`. Known codes decode to typed values; any other code, and an
 * FQDN capability that does not follow its draft's layout (or is not UTF-8), decode to `{ code, raw }` and re-encode byte for byte
 * (RFC 5492 §5: unknown capabilities are ignored, never refused). A known capability whose value breaks its layout
 * is an OPEN Message Error (subcode 0, as BIRD sends).
 */
import type { Codec } from './codec.js'
import { checkUint, copyBytes, defineCodec, strictUtf8Decoder, u16, u24, utf8Encoder, w16, w24 } from './codec.js'
import { CapabilityCode } from './constants.js'
import { BgpEncodeError, BgpMessageError } from './errors.js'
import { NotificationCode, OpenMessageErrorSubcode } from './notification-codes.js'

export interface MultiprotocolCapability { code: CapabilityCode.Multiprotocol, afi: number, safi: number }
export interface RouteRefreshCapability { code: CapabilityCode.RouteRefresh }
export interface ExtendedNextHopCapability {
  code: CapabilityCode.ExtendedNextHop
  /** RFC 8950 §3: NLRI of `afi`/`safi` may carry a next hop of `nextHopAfi`. */
  entries: Array<{ afi: number, safi: number, nextHopAfi: number }>
}
export interface ExtendedMessageCapability { code: CapabilityCode.ExtendedMessage }
export interface RoleCapability { code: CapabilityCode.Role, role: number }
export interface GracefulRestartCapability {
  code: CapabilityCode.GracefulRestart
  /** The 4 Restart Flags bits (`GracefulRestartFlags`). */
  flags: number
  /** Seconds, 0..4095. */
  restartTime: number
  /** Empty: a helper-only (GR-aware) speaker. `flags` holds `GracefulRestartAfFlags`. */
  families: Array<{ afi: number, safi: number, flags: number }>
}
export interface FourOctetAsCapability { code: CapabilityCode.FourOctetAs, asn: number }
export interface AddPathCapability {
  code: CapabilityCode.AddPath
  /** `sendReceive` is an `AddPathMode`; RFC 7911 §4 says to ignore other values, so they are kept, not refused. */
  families: Array<{ afi: number, safi: number, sendReceive: number }>
}
export interface EnhancedRouteRefreshCapability { code: CapabilityCode.EnhancedRouteRefresh }
export interface LongLivedGracefulRestartCapability {
  code: CapabilityCode.LongLivedGracefulRestart
  /** `flags` bit 0x80 is F (forwarding state preserved); `staleTime` is seconds, 24 bits. */
  families: Array<{ afi: number, safi: number, flags: number, staleTime: number }>
}
export interface FqdnCapability { code: CapabilityCode.Fqdn, hostname: string, domain: string }
export interface RouteRefreshCiscoCapability { code: CapabilityCode.RouteRefreshCisco }
/** Any capability this codec does not parse, kept byte for byte. */
export interface RawCapability { code: number, raw: Uint8Array }

export type KnownCapability =
  | MultiprotocolCapability | RouteRefreshCapability | ExtendedNextHopCapability | ExtendedMessageCapability
  | RoleCapability | GracefulRestartCapability | FourOctetAsCapability | AddPathCapability
  | EnhancedRouteRefreshCapability | LongLivedGracefulRestartCapability | FqdnCapability | RouteRefreshCiscoCapability

export type Capability = KnownCapability | RawCapability

export function isRawCapability (c: Capability): c is RawCapability {
  return 'raw' in c
}

export function malformedOpen (reason: string): BgpMessageError {
  return new BgpMessageError('BGP_ERR_OPEN_MALFORMED', `malformed OPEN: ${reason}`, {
    code: NotificationCode.OpenMessageError, subcode: OpenMessageErrorSubcode.Unspecific
  })
}

function tooLong (what: string, n: number, max: number): BgpEncodeError {
  return new BgpEncodeError('BGP_ERR_ENCODE_TOO_LONG', `${what} of ${n} bytes exceeds ${max}`)
}

/** Length of the capability value (without code and length octets). */
export function capabilityValueLength (c: Capability): number {
  if (isRawCapability(c)) return c.raw.length
  switch (c.code) {
    case CapabilityCode.Multiprotocol: return 4
    case CapabilityCode.RouteRefresh:
    case CapabilityCode.ExtendedMessage:
    case CapabilityCode.EnhancedRouteRefresh:
    case CapabilityCode.RouteRefreshCisco: return 0
    case CapabilityCode.ExtendedNextHop: return 6 * c.entries.length
    case CapabilityCode.Role: return 1
    case CapabilityCode.GracefulRestart: return 2 + 4 * c.families.length
    case CapabilityCode.FourOctetAs: return 4
    case CapabilityCode.AddPath: return 4 * c.families.length
    case CapabilityCode.LongLivedGracefulRestart: return 7 * c.families.length
    case CapabilityCode.Fqdn: return 2 + utf8Encoder.encode(c.hostname).length + utf8Encoder.encode(c.domain).length
  }
}

export function capabilityEncodingLength (c: Capability): number {
  checkUint(c.code, 255, 'capability code')
  const n = capabilityValueLength(c)
  if (n > 255) throw tooLong(`capability ${c.code}`, n, 255)
  return 2 + n
}

/** Writes code, length and value; returns the bytes written. */
export function writeCapability (c: Capability, buf: Uint8Array, offset: number): number {
  const len = capabilityEncodingLength(c)
  buf[offset] = c.code
  buf[offset + 1] = len - 2
  let o = offset + 2
  if (isRawCapability(c)) {
    buf.set(c.raw, o)
    return len
  }
  switch (c.code) {
    case CapabilityCode.Multiprotocol:
      checkUint(c.afi, 0xffff, 'AFI'); checkUint(c.safi, 255, 'SAFI')
      w16(buf, o, c.afi); buf[o + 2] = 0; buf[o + 3] = c.safi
      break
    case CapabilityCode.RouteRefresh:
    case CapabilityCode.ExtendedMessage:
    case CapabilityCode.EnhancedRouteRefresh:
    case CapabilityCode.RouteRefreshCisco:
      break
    case CapabilityCode.ExtendedNextHop:
      for (const e of c.entries) {
        checkUint(e.afi, 0xffff, 'AFI'); checkUint(e.safi, 0xffff, 'SAFI'); checkUint(e.nextHopAfi, 0xffff, 'next hop AFI')
        w16(buf, o, e.afi); w16(buf, o + 2, e.safi); w16(buf, o + 4, e.nextHopAfi); o += 6
      }
      break
    case CapabilityCode.Role:
      checkUint(c.role, 255, 'role')
      buf[o] = c.role
      break
    case CapabilityCode.GracefulRestart:
      checkUint(c.flags, 0xf, 'graceful restart flags'); checkUint(c.restartTime, 0xfff, 'restart time')
      w16(buf, o, (c.flags << 12) | c.restartTime); o += 2
      for (const f of c.families) {
        checkUint(f.afi, 0xffff, 'AFI'); checkUint(f.safi, 255, 'SAFI'); checkUint(f.flags, 255, 'AFI/SAFI flags')
        w16(buf, o, f.afi); buf[o + 2] = f.safi; buf[o + 3] = f.flags; o += 4
      }
      break
    case CapabilityCode.FourOctetAs:
      checkUint(c.asn, 0xffffffff, 'ASN')
      buf[o] = c.asn >>> 24; buf[o + 1] = (c.asn >>> 16) & 0xff; w16(buf, o + 2, c.asn & 0xffff)
      break
    case CapabilityCode.AddPath:
      for (const f of c.families) {
        checkUint(f.afi, 0xffff, 'AFI'); checkUint(f.safi, 255, 'SAFI'); checkUint(f.sendReceive, 255, 'send/receive')
        w16(buf, o, f.afi); buf[o + 2] = f.safi; buf[o + 3] = f.sendReceive; o += 4
      }
      break
    case CapabilityCode.LongLivedGracefulRestart:
      for (const f of c.families) {
        checkUint(f.afi, 0xffff, 'AFI'); checkUint(f.safi, 255, 'SAFI'); checkUint(f.flags, 255, 'LLGR flags')
        checkUint(f.staleTime, 0xffffff, 'long-lived stale time')
        w16(buf, o, f.afi); buf[o + 2] = f.safi; buf[o + 3] = f.flags; w24(buf, o + 4, f.staleTime); o += 7
      }
      break
    case CapabilityCode.Fqdn: {
      const host = utf8Encoder.encode(c.hostname)
      const domain = utf8Encoder.encode(c.domain)
      buf[o++] = host.length; buf.set(host, o); o += host.length
      buf[o++] = domain.length; buf.set(domain, o)
      break
    }
  }
  return len
}

function exact (code: number, len: number, want: number): void {
  if (len !== want) throw malformedOpen(`capability ${code} has length ${len}, expected ${want}`)
}

function multiple (code: number, len: number, unit: number): void {
  if (len % unit !== 0) throw malformedOpen(`capability ${code} has length ${len}, not a multiple of ${unit}`)
}

/** Decodes a capability value (`v` holds exactly the value octets). */
export function readCapabilityValue (code: number, v: Uint8Array): Capability {
  const len = v.length
  switch (code) {
    case CapabilityCode.Multiprotocol:
      exact(code, len, 4)
      return { code, afi: u16(v, 0), safi: v[3] as number }
    case CapabilityCode.RouteRefresh:
    case CapabilityCode.ExtendedMessage:
    case CapabilityCode.EnhancedRouteRefresh:
    case CapabilityCode.RouteRefreshCisco:
      exact(code, len, 0)
      return { code } as Capability
    case CapabilityCode.ExtendedNextHop: {
      multiple(code, len, 6)
      const entries = []
      for (let o = 0; o < len; o += 6) entries.push({ afi: u16(v, o), safi: u16(v, o + 2), nextHopAfi: u16(v, o + 4) })
      return { code, entries }
    }
    case CapabilityCode.Role:
      exact(code, len, 1)
      return { code, role: v[0] as number }
    case CapabilityCode.GracefulRestart: {
      if (len < 2 || (len - 2) % 4 !== 0) throw malformedOpen(`graceful restart capability has length ${len}`)
      const head = u16(v, 0)
      const families = []
      for (let o = 2; o < len; o += 4) families.push({ afi: u16(v, o), safi: v[o + 2] as number, flags: v[o + 3] as number })
      return { code, flags: head >>> 12, restartTime: head & 0xfff, families }
    }
    case CapabilityCode.FourOctetAs:
      exact(code, len, 4)
      return { code, asn: (v[0] as number) * 0x1000000 + u24(v, 1) }
    case CapabilityCode.AddPath: {
      multiple(code, len, 4)
      const families = []
      for (let o = 0; o < len; o += 4) families.push({ afi: u16(v, o), safi: v[o + 2] as number, sendReceive: v[o + 3] as number })
      return { code, families }
    }
    case CapabilityCode.LongLivedGracefulRestart: {
      multiple(code, len, 7)
      const families = []
      for (let o = 0; o < len; o += 7) {
        families.push({ afi: u16(v, o), safi: v[o + 2] as number, flags: v[o + 3] as number, staleTime: u24(v, o + 4) })
      }
      return { code, families }
    }
    case CapabilityCode.Fqdn: {
      // Informational (a draft): when it does not follow the layout, keep it raw rather than refuse the OPEN.
      const hl = v[0]
      if (hl !== undefined && 1 + hl < len) {
        const dl = v[1 + hl] as number
        if (2 + hl + dl === len) {
          try {
            return { code, hostname: strictUtf8Decoder.decode(v.subarray(1, 1 + hl)), domain: strictUtf8Decoder.decode(v.subarray(2 + hl, len)) }
          } catch {}
        }
      }
      return { code, raw: copyBytes(v, 0, len) }
    }
    default:
      return { code, raw: copyBytes(v, 0, len) }
  }
}

/** Reads one capability TLV at `offset`, never past `end`; returns it and the bytes it took. */
export function readCapability (buf: Uint8Array, offset: number, end: number): { value: Capability, bytes: number } {
  if (end - offset < 2) throw malformedOpen('capability header truncated')
  const code = buf[offset] as number
  const len = buf[offset + 1] as number
  if (offset + 2 + len > end) throw malformedOpen(`capability ${code} of length ${len} overruns its parameter`)
  return { value: readCapabilityValue(code, buf.subarray(offset + 2, offset + 2 + len)), bytes: 2 + len }
}

/** One capability TLV. */
export const capabilityCodec: Codec<Capability> = defineCodec<Capability>({
  encodingLength: capabilityEncodingLength,
  write: (c, buf, offset) => { writeCapability(c, buf, offset) },
  read: (buf, offset) => readCapability(buf, offset, buf.length)
})
