/**
 * RFC 6793 §4.2: AS paths and aggregators across a 2-octet AS speaker. The rest of the speaker works with 4-octet
 * ASNs only; toward a peer without the 4-octet AS capability `toTwoOctetAttributes` puts AS_TRANS in AS_PATH and
 * AGGREGATOR and the real values in AS4_PATH and AS4_AGGREGATOR, and from such a peer `fromTwoOctetAttributes`
 * rebuilds the real ones (what BIRD's bgp_process_as4_attrs does).
 */
import { AS_TRANS, AsPathSegmentType, AttrType } from './constants.js'
import type { AsPathSegment, PathAttribute } from './attrs/types.js'
import { findAttribute } from './attrs/types.js'

function isConfed (s: AsPathSegment): boolean {
  return s.type === AsPathSegmentType.AsConfedSequence || s.type === AsPathSegmentType.AsConfedSet
}

/** RFC 4271 §9.1.2.2(a) with RFC 5065 §5.3: an AS_SET counts 1, confederation segments count 0. */
export function asPathLength (segments: readonly AsPathSegment[]): number {
  let n = 0
  for (const s of segments) {
    if (s.type === AsPathSegmentType.AsSequence) n += s.asns.length
    else if (s.type === AsPathSegmentType.AsSet) n += 1
  }
  return n
}

/**
 * RFC 6793 §4.2.3: the AS path from a 2-octet speaker's AS_PATH and AS4_PATH. When AS_PATH counts fewer ASNs,
 * AS4_PATH is ignored; otherwise the leading ASNs of AS_PATH (and the confederation segments leading or adjacent
 * to them) are put in front of AS4_PATH so the result counts as many as AS_PATH. Confederation segments in
 * AS4_PATH are dropped (RFC 6793 §6).
 */
export function mergeAs4Path (asPath: readonly AsPathSegment[], as4Path: readonly AsPathSegment[]): AsPathSegment[] {
  const as4 = as4Path.filter((s) => !isConfed(s))
  const total = asPathLength(asPath)
  if (total < asPathLength(as4)) return asPath.map((s) => ({ type: s.type, asns: [...s.asns] }))
  let need = total - asPathLength(as4)
  const lead: AsPathSegment[] = []
  for (const s of asPath) {
    if (isConfed(s)) { lead.push({ type: s.type, asns: [...s.asns] }); continue }
    if (need === 0) break
    if (s.type === AsPathSegmentType.AsSet) {
      lead.push({ type: s.type, asns: [...s.asns] })
      need -= 1
    } else {
      const take = Math.min(need, s.asns.length)
      lead.push({ type: s.type, asns: s.asns.slice(0, take) })
      need -= take
    }
  }
  // Merge a split AS_SEQUENCE with a leading AS_SEQUENCE of AS4_PATH so the result is what the sender had.
  const last = lead[lead.length - 1]
  const first = as4[0]
  if (last !== undefined && first !== undefined && last.type === AsPathSegmentType.AsSequence &&
      first.type === AsPathSegmentType.AsSequence && last.asns.length + first.asns.length <= 255) {
    return [...lead.slice(0, -1), { type: last.type, asns: [...last.asns, ...first.asns] }, ...as4.slice(1).map((s) => ({ type: s.type, asns: [...s.asns] }))]
  }
  return [...lead, ...as4.map((s) => ({ type: s.type, asns: [...s.asns] }))]
}

/** Attributes as a 4-octet speaker must send them to a 2-octet one (RFC 6793 §4.2.2). */
export function toTwoOctetAttributes (attrs: readonly PathAttribute[]): PathAttribute[] {
  const out: PathAttribute[] = []
  for (const a of attrs) {
    if (a.type === AttrType.As4Path || a.type === AttrType.As4Aggregator) continue
    const asPath = a.type === AttrType.AsPath ? findAttribute([a], AttrType.AsPath) : undefined
    if (asPath !== undefined) {
      const wide = asPath.segments.some((s) => s.asns.some((n) => n > 0xffff))
      out.push({ ...asPath, segments: asPath.segments.map((s) => ({ type: s.type, asns: s.asns.map((n) => n > 0xffff ? AS_TRANS : n) })) })
      const segments = asPath.segments.filter((s) => !isConfed(s)).map((s) => ({ type: s.type, asns: [...s.asns] }))
      if (wide && segments.length > 0) out.push({ type: AttrType.As4Path, segments })
      continue
    }
    const agg = a.type === AttrType.Aggregator ? findAttribute([a], AttrType.Aggregator) : undefined
    if (agg !== undefined && agg.asn > 0xffff) {
      out.push({ ...agg, asn: AS_TRANS })
      out.push({ type: AttrType.As4Aggregator, asn: agg.asn, address: agg.address })
      continue
    }
    out.push(a)
  }
  return out
}

/** The 4-octet view of attributes received from a 2-octet speaker (RFC 6793 §4.2.3); AS4_* are consumed. */
export function fromTwoOctetAttributes (attrs: readonly PathAttribute[]): PathAttribute[] {
  const as4Path = findAttribute(attrs, AttrType.As4Path)
  const as4Agg = findAttribute(attrs, AttrType.As4Aggregator)
  const agg = findAttribute(attrs, AttrType.Aggregator)
  // "If the AGGREGATOR attribute contains an AS number other than AS_TRANS, then AS4_AGGREGATOR and AS4_PATH SHALL
  // be ignored": a 2-octet speaker aggregated after the 4-octet path was recorded.
  const ignore = agg !== undefined && agg.asn !== AS_TRANS
  const out: PathAttribute[] = []
  for (const a of attrs) {
    if ((a.type === AttrType.As4Path || a.type === AttrType.As4Aggregator) && !('raw' in a)) continue
    const asPath = a.type === AttrType.AsPath ? findAttribute([a], AttrType.AsPath) : undefined
    if (asPath !== undefined && as4Path !== undefined && !ignore) {
      out.push({ ...asPath, segments: mergeAs4Path(asPath.segments, as4Path.segments) })
      continue
    }
    if (a === agg && as4Agg !== undefined && !ignore) {
      out.push({ ...agg, asn: as4Agg.asn, address: as4Agg.address })
      continue
    }
    out.push(a)
  }
  return out
}
