/**
 * IP prefixes as NLRI (RFC 4271 §4.3, RFC 4760 §5): `length-in-bits(1) | ceil(length/8) octets`, preceded by a
 * 4-octet Path Identifier where ADD-PATH applies (RFC 7911 §3). Prefixes are canonical CIDR text ('10.1.0.0/16',
 * '2001:db8::/32'): decode clears bits past the length (RFC 4271: they are irrelevant), encode refuses them.
 */
import { ip } from '../../../kernel/index.js'
import type { Codec } from './codec.js'
import { checkUint, defineCodec, u32, w32 } from './codec.js'
import { Afi } from './constants.js'
import { BgpEncodeError, BgpMessageError } from './errors.js'
import { NotificationCode, UpdateMessageErrorSubcode } from './notification-codes.js'

export interface Nlri {
  /** Canonical CIDR text; the address has no bits set past the prefix length. */
  prefix: string
  /** RFC 7911: present exactly when ADD-PATH applies to the family in this direction. */
  pathId?: number
}

/** The address families whose NLRI this codec parses (AFI 1 and 2; unicast and multicast share the layout). */
export function familyOfAfi (afi: number): 4 | 6 | undefined {
  return afi === Afi.Ipv4 ? 4 : afi === Afi.Ipv6 ? 6 : undefined
}

/** `bytes` holds the ceil(length/8) address octets that go on the wire. */
interface ParsedPrefix { family: 4 | 6, length: number, bytes: number[] }

/**
 * Prefix text already parsed. A route reflector encodes the same prefixes for every client, and parsing address
 * text (ip-address underneath) costs microseconds, so recently parsed prefixes are kept in two generations of at
 * most `GENERATION` entries: when the young one fills up it becomes the old one and the old one is dropped, so hot
 * prefixes survive and memory stays bounded. Canonical IPv4 text skips it (`packedV4`); an IPv4 prefix in another
 * spelling is kept as one number, `length * 2^32 + address` (about 50 bytes an entry instead of 110 for an object).
 */
let young = new Map<string, ParsedPrefix | number>()
let old = new Map<string, ParsedPrefix | number>()
const GENERATION = 131072

function invalidPrefix (text: unknown, cause?: unknown): BgpEncodeError {
  return new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `invalid prefix "${String(text)}"`, cause !== undefined ? { cause } : undefined)
}

function parsePrefixText (text: string): ParsedPrefix | number {
  if (typeof text !== 'string') throw invalidPrefix(text)
  const slash = text.indexOf('/')
  const lengthText = text.slice(slash + 1)
  if (slash < 0 || !/^\d{1,3}$/.test(lengthText)) throw invalidPrefix(text)
  let bytes: Uint8Array
  try {
    bytes = ip.toBytes(text.slice(0, slash))
  } catch (err) {
    throw invalidPrefix(text, err)
  }
  const length = Number(lengthText)
  if (length > bytes.length * 8) throw invalidPrefix(text)
  const n = (length + 7) >> 3
  let stray = (length & 7) !== 0 ? (bytes[n - 1] as number) & (0xff >> (length & 7)) : 0
  for (let i = n; i < bytes.length; i++) stray |= bytes[i] as number
  if (stray !== 0) throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `prefix ${text} has bits set past its length`)
  if (bytes.length === 4) return length * 0x100000000 + u32(bytes, 0)
  return { family: 6, length, bytes: Array.from(bytes.subarray(0, n)) }
}

/**
 * Canonical IPv4 prefix text ('a.b.c.d/n': decimal octets without leading zeros, no bits past the length) packed
 * as `length * 2^32 + address`, read in one pass; undefined for anything else, which the full parser then accepts
 * or refuses with its reason. What this speaker decodes is always in this form, so a reflector re-encoding a full
 * IPv4 table needs neither the address parser nor a cache (a 100k-entry map) for it.
 */
function packedV4 (t: string): number | undefined {
  let addr = 0
  let octet = 0
  let digits = 0
  let dots = 0
  let i = 0
  for (; i < t.length; i++) {
    const c = t.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return undefined
      octet = octet * 10 + c - 48
      if (++digits > 3 || octet > 255) return undefined
    } else if (c === 46 || c === 47) {
      if (digits === 0) return undefined
      addr = addr * 256 + octet
      octet = 0
      digits = 0
      if (c === 47) break
      if (++dots > 3) return undefined
    } else {
      return undefined
    }
  }
  if (dots !== 3 || i >= t.length) return undefined
  let length = 0
  let ld = 0
  for (i++; i < t.length; i++) {
    const c = t.charCodeAt(i)
    if (c < 48 || c > 57 || ++ld > 2 || (ld === 2 && length === 0)) return undefined
    length = length * 10 + c - 48
  }
  if (ld === 0 || length > 32 || (length < 32 && addr % 2 ** (32 - length) !== 0)) return undefined
  return length * 0x100000000 + addr
}

const textCodes: number[] = []
const textOctets = new Uint8Array(4)

/** 'a.b.c.d/n' built as one flat string (template concatenation leaves a chain of cons strings, ~60 bytes more a prefix kept in the RIB). */
function v4Text (b: Uint8Array, length: number): string {
  let n = 0
  const put = (v: number): void => {
    if (v >= 100) textCodes[n++] = 48 + Math.floor(v / 100)
    if (v >= 10) textCodes[n++] = 48 + Math.floor(v / 10) % 10
    textCodes[n++] = 48 + v % 10
  }
  for (let k = 0; k < 4; k++) {
    put(b[k] as number)
    textCodes[n++] = k < 3 ? 46 : 47
  }
  put(length)
  textCodes.length = n
  return String.fromCharCode.apply(null, textCodes)
}

function unpack (p: ParsedPrefix | number): ParsedPrefix {
  if (typeof p !== 'number') return p
  const length = Math.floor(p / 0x100000000)
  const addr = p % 0x100000000
  const bytes = [addr >>> 24, (addr >>> 16) & 0xff, (addr >>> 8) & 0xff, addr & 0xff].slice(0, (length + 7) >> 3)
  return { family: 4, length, bytes }
}

function remember (text: string, p: ParsedPrefix | number): void {
  if (young.size >= GENERATION) { old = young; young = new Map() }
  young.set(text, p)
}

function parsePrefix (nlri: Nlri, family: 4 | 6): ParsedPrefix {
  const v4 = typeof nlri.prefix === 'string' ? packedV4(nlri.prefix) : undefined
  if (v4 !== undefined) {
    if (family !== 4) throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `prefix ${nlri.prefix} is not IPv${family}`)
    return unpack(v4)
  }
  let p = young.get(nlri.prefix)
  if (p === undefined) {
    p = old.get(nlri.prefix) ?? parsePrefixText(nlri.prefix)
    remember(nlri.prefix, p)
  }
  const parsed = unpack(p)
  if (parsed.family !== family) throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `prefix ${nlri.prefix} is not IPv${family}`)
  return parsed
}

function checkPathId (nlri: Nlri, addPath: boolean): void {
  if (addPath) {
    if (nlri.pathId === undefined) throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `ADD-PATH applies but ${nlri.prefix} has no pathId`)
    checkUint(nlri.pathId, 0xffffffff, 'path identifier')
  } else if (nlri.pathId !== undefined) {
    throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `ADD-PATH does not apply but ${nlri.prefix} has a pathId`)
  }
}

export function prefixEncodingLength (nlri: Nlri, family: 4 | 6, addPath: boolean): number {
  checkPathId(nlri, addPath)
  const v4 = family === 4 && typeof nlri.prefix === 'string' ? packedV4(nlri.prefix) : undefined
  if (v4 !== undefined) return (addPath ? 4 : 0) + 1 + ((Math.floor(v4 / 0x100000000) + 7) >> 3)
  return (addPath ? 4 : 0) + 1 + parsePrefix(nlri, family).bytes.length
}

/** Writes one prefix; returns the bytes written. */
export function writePrefix (nlri: Nlri, family: 4 | 6, addPath: boolean, buf: Uint8Array, offset: number): number {
  checkPathId(nlri, addPath)
  let o = offset
  const v4 = family === 4 && typeof nlri.prefix === 'string' ? packedV4(nlri.prefix) : undefined
  if (v4 !== undefined) {
    // Straight from the packed form: no parse object per prefix.
    if (addPath) { w32(buf, o, nlri.pathId as number); o += 4 }
    const length = Math.floor(v4 / 0x100000000)
    const addr = v4 % 0x100000000
    buf[o++] = length
    for (let k = 0; k < (length + 7) >> 3; k++) buf[o++] = (addr >>> (24 - 8 * k)) & 0xff
    return o - offset
  }
  const p = parsePrefix(nlri, family)
  if (addPath) { w32(buf, o, nlri.pathId as number); o += 4 }
  buf[o++] = p.length
  for (const b of p.bytes) buf[o++] = b
  return o - offset
}

export function prefixesEncodingLength (list: readonly Nlri[], family: 4 | 6, addPath: boolean): number {
  let n = 0
  for (const x of list) n += prefixEncodingLength(x, family, addPath)
  return n
}

export function writePrefixes (list: readonly Nlri[], family: 4 | 6, addPath: boolean, buf: Uint8Array, offset: number): number {
  let o = offset
  for (const x of list) o += writePrefix(x, family, addPath, buf, o)
  return o - offset
}

/**
 * Reads one prefix at `offset`, never past `end`. `fail` builds the error for the context (Invalid Network Field
 * for the UPDATE's own fields, Optional Attribute Error inside MP_REACH_NLRI/MP_UNREACH_NLRI).
 */
export function readPrefix (
  buf: Uint8Array, offset: number, end: number, family: 4 | 6, addPath: boolean, fail: (reason: string) => BgpMessageError
): { value: Nlri, bytes: number } {
  let o = offset
  let pathId: number | undefined
  if (addPath) {
    if (o + 4 > end) throw fail('path identifier truncated')
    pathId = u32(buf, o)
    o += 4
  }
  if (o >= end) throw fail('prefix length missing')
  const length = buf[o++] as number
  const max = family === 4 ? 32 : 128
  if (length > max) throw fail(`prefix length ${length} exceeds ${max}`)
  const n = (length + 7) >> 3
  if (o + n > end) throw fail(`/${length} prefix needs ${n} octets, ${end - o} left`)
  if (family === 4) {
    // No scratch arrays: a full table is hundreds of thousands of these.
    const keep = (length & 7) !== 0 ? 0xff & (0xff << (8 - (length & 7))) : 0xff
    textOctets[0] = n > 0 ? (n === 1 ? (buf[o] as number) & keep : buf[o] as number) : 0
    textOctets[1] = n > 1 ? (n === 2 ? (buf[o + 1] as number) & keep : buf[o + 1] as number) : 0
    textOctets[2] = n > 2 ? (n === 3 ? (buf[o + 2] as number) & keep : buf[o + 2] as number) : 0
    textOctets[3] = n > 3 ? (buf[o + 3] as number) & keep : 0
    const value: Nlri = pathId === undefined ? { prefix: v4Text(textOctets, length) } : { prefix: v4Text(textOctets, length), pathId }
    return { value, bytes: o + n - offset }
  }
  const bytes = new Uint8Array(max >> 3)
  bytes.set(buf.subarray(o, o + n))
  // RFC 4271 §4.3: "trailing bits ... are irrelevant": clear them so equal prefixes compare equal.
  if ((length & 7) !== 0) bytes[n - 1] = (bytes[n - 1] as number) & (0xff << (8 - (length & 7)))
  o += n
  const prefix = `${ip.fromBytes(bytes)}/${length}`
  // What a route reflector decodes it encodes again for its clients: remember the parse that text stands for.
  if (!young.has(prefix)) remember(prefix, { family, length, bytes: Array.from(bytes.subarray(0, n)) })
  const value: Nlri = { prefix }
  if (pathId !== undefined) value.pathId = pathId
  return { value, bytes: o - offset }
}

export function readPrefixes (
  buf: Uint8Array, start: number, end: number, family: 4 | 6, addPath: boolean, fail: (reason: string) => BgpMessageError
): Nlri[] {
  const out: Nlri[] = []
  let o = start
  while (o < end) {
    const r = readPrefix(buf, o, end, family, addPath, fail)
    out.push(r.value)
    o += r.bytes
  }
  return out
}

export function invalidNetworkField (reason: string): BgpMessageError {
  return new BgpMessageError('BGP_ERR_UPDATE_NLRI', `invalid network field: ${reason}`, {
    code: NotificationCode.UpdateMessageError, subcode: UpdateMessageErrorSubcode.InvalidNetworkField
  })
}

/** One prefix of an AFI, e.g. for tests and for callers that build NLRI fields themselves. */
export function prefixCodec (afi: Afi.Ipv4 | Afi.Ipv6, opts: { addPath?: boolean } = {}): Codec<Nlri> {
  const family = afi === Afi.Ipv4 ? 4 : 6
  const addPath = opts.addPath === true
  return defineCodec<Nlri>({
    encodingLength: (v) => prefixEncodingLength(v, family, addPath),
    write: (v, buf, offset) => { writePrefix(v, family, addPath, buf, offset) },
    read: (buf, offset) => readPrefix(buf, offset, buf.length, family, addPath, invalidNetworkField)
  })
}
