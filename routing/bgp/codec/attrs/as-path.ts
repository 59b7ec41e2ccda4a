/**
 * AS_PATH (RFC 4271 §4.3, §5.1.2) and AS4_PATH (RFC 6793 §3): segments of `type(1) count(1) ASNs`, each ASN 2
 * octets, or 4 with the 4-octet AS capability; AS4_PATH is always 4.
 *
 * Malformed (RFC 7606 §7.2, RFC 7607 §2): an unknown segment type, a segment of zero ASNs, a segment overrunning
 * the attribute, or AS 0. AS_PATH → treat-as-withdraw. AS4_PATH → attribute-discard (RFC 6793 §6), as is an AS4_PATH
 * between two 4-octet speakers, who never send it; an empty AS4_PATH is malformed (RFC 7606 §4: only AS_PATH and
 * ATOMIC_AGGREGATE may be empty).
 */
import { checkUint, u16, u32, w16, w32 } from '../codec.js'
import { AsPathSegmentType, AttrFlag, AttrType } from '../constants.js'
import { BgpEncodeError } from '../errors.js'
import type { ErrorHandling } from '../errors.js'
import { UpdateMessageErrorSubcode } from '../notification-codes.js'
import type { AttrSpec, ReadContext } from './spec.js'
import { attrError, lengthError } from './spec.js'
import type { As4PathAttribute, AsPathAttribute, AsPathSegment } from './types.js'

export function segmentsLength (segments: readonly AsPathSegment[], asnSize: 2 | 4): number {
  let n = 0
  for (const s of segments) n += 2 + asnSize * s.asns.length
  return n
}

export function writeSegments (segments: readonly AsPathSegment[], asnSize: 2 | 4, buf: Uint8Array, offset: number, what: string): void {
  let o = offset
  for (const s of segments) {
    checkUint(s.type, AsPathSegmentType.AsConfedSet, `${what} segment type`, AsPathSegmentType.AsSet)
    checkUint(s.asns.length, 255, `${what} segment size`, 1)
    buf[o++] = s.type
    buf[o++] = s.asns.length
    for (const asn of s.asns) {
      if (asnSize === 2 && asn > 0xffff && Number.isInteger(asn)) {
        throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID',
          `${what} AS ${asn} needs 4 octets on a 2-octet session: use toTwoOctetAttributes() to add AS4_PATH`)
      }
      checkUint(asn, asnSize === 2 ? 0xffff : 0xffffffff, `${what} ASN`, 1)
      if (asnSize === 2) { w16(buf, o, asn); o += 2 } else { w32(buf, o, asn); o += 4 }
    }
  }
}

export function readSegments (
  v: Uint8Array, asnSize: 2 | 4, fail: (reason: string) => Error
): AsPathSegment[] {
  const segments: AsPathSegment[] = []
  let o = 0
  while (o < v.length) {
    if (v.length - o < 2) throw fail('segment header truncated')
    const type = v[o] as number
    const count = v[o + 1] as number
    o += 2
    if (type < AsPathSegmentType.AsSet || type > AsPathSegmentType.AsConfedSet) throw fail(`unknown segment type ${type}`)
    if (count === 0) throw fail('empty segment')
    if (o + count * asnSize > v.length) throw fail(`segment of ${count} ASNs overruns the attribute`)
    const asns = new Array<number>(count)
    for (let i = 0; i < count; i++) {
      const asn = asnSize === 2 ? u16(v, o) : u32(v, o)
      // RFC 7607 §2: AS 0 in AS_PATH or AS4_PATH makes the attribute malformed.
      if (asn === 0) throw fail('AS 0')
      asns[i] = asn
      o += asnSize
    }
    segments.push({ type, asns })
  }
  return segments
}

function malformed (name: string, type: number, handling: ErrorHandling, ctx: ReadContext) {
  return (reason: string) => attrError('BGP_ERR_ATTR_AS_PATH', UpdateMessageErrorSubcode.MalformedAsPath, handling, type, ctx,
    `malformed ${name}: ${reason}`)
}

export const asPathSpec: AttrSpec<AsPathAttribute> = {
  type: AttrType.AsPath,
  name: 'AS_PATH',
  flags: AttrFlag.Transitive,
  valueLength: (a, opts) => segmentsLength(a.segments, opts.fourOctetAs === true ? 4 : 2),
  write: (a, buf, offset, opts) => { writeSegments(a.segments, opts.fourOctetAs === true ? 4 : 2, buf, offset, 'AS_PATH') },
  read (v, ctx) {
    const segments = readSegments(v, ctx.opts.fourOctetAs === true ? 4 : 2, malformed('AS_PATH', AttrType.AsPath, 'treat-as-withdraw', ctx))
    return { type: AttrType.AsPath, segments }
  }
}

export const as4PathSpec: AttrSpec<As4PathAttribute> = {
  type: AttrType.As4Path,
  name: 'AS4_PATH',
  flags: AttrFlag.Optional | AttrFlag.Transitive,
  valueLength: (a) => segmentsLength(a.segments, 4),
  write (a, buf, offset, opts) {
    if (opts.fourOctetAs === true) throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', 'AS4_PATH is never sent between 4-octet AS speakers (RFC 6793 §4.1)')
    if (a.segments.length === 0) throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', 'an empty AS4_PATH is malformed (RFC 7606 §4)')
    writeSegments(a.segments, 4, buf, offset, 'AS4_PATH')
  },
  read (v, ctx) {
    if (ctx.opts.fourOctetAs === true) {
      throw attrError('BGP_ERR_ATTR_UNEXPECTED', UpdateMessageErrorSubcode.OptionalAttributeError, 'attribute-discard', AttrType.As4Path, ctx,
        'AS4_PATH from a 4-octet AS speaker discarded (RFC 6793 §4.1)')
    }
    if (v.length === 0) throw lengthError(as4PathSpec, 0, 'attribute-discard', ctx)
    const segments = readSegments(v, 4, malformed('AS4_PATH', AttrType.As4Path, 'attribute-discard', ctx))
    return { type: AttrType.As4Path, segments }
  }
}
