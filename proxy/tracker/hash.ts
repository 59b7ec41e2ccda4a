/**
 * kube-proxy's chain-name hashes, bit for bit, so rulesets stay
 * diff-compatible with kube-proxy's and a node can move between the two.
 */
import * as crypto from 'node:crypto'

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** RFC 4648 base32 with `=` padding (Go's base32.StdEncoding). */
export function base32 (buf: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const b of buf) {
    value = (value << 8) | b
    bits += 8
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31] as string
      bits -= 5
    }
    value &= (1 << bits) - 1
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31] as string
  while (out.length % 8 !== 0) out += '='
  return out
}

/**
 * SHA-256 as a binary string, one character per byte: one-shot `crypto.hash` (Node ≥ 20.12; several times cheaper
 * than a Hash object for short input), and no Buffer to allocate.
 */
const sha256bin: (s: string) => string = typeof (crypto as { hash?: unknown }).hash === 'function'
  ? (s) => (crypto as unknown as { hash: (alg: string, data: string, enc: 'latin1') => string }).hash('sha256', s, 'latin1')
  : (s) => crypto.createHash('sha256').update(s).digest().toString('latin1')

/** The base32 character codes of the 5-bit values 0–31 (`A`–`Z`, `2`–`7`). */
const B32: readonly number[] = Array.from(alphabet, (c) => c.charCodeAt(0))

/**
 * The first 16 (or 8) characters of base32(sha256(s)): every name here uses at most 16 (kube-proxy cuts its hashes
 * at 16 and 8), and 16 characters are exactly the first 10 bytes, so the rest of the digest is not encoded. One
 * `String.fromCharCode` of the codes: no intermediate strings. Not memoized: a name is hashed once per full sync,
 * and a memo only cost a cold first sync (every lookup a miss, every name kept) what it saved a later one.
 */
function sha256b32 (s: string, eight = false): string {
  const d = sha256bin(s)
  // 5 bytes are 8 characters: 40 bits as the high byte and a 32-bit low word.
  const h0 = d.charCodeAt(0)
  const l0 = ((d.charCodeAt(1) << 24) | (d.charCodeAt(2) << 16) | (d.charCodeAt(3) << 8) | d.charCodeAt(4)) >>> 0
  const c0 = B32[h0 >>> 3] as number
  const c1 = B32[((h0 & 7) << 2) | (l0 >>> 30)] as number
  const c2 = B32[(l0 >>> 25) & 31] as number
  const c3 = B32[(l0 >>> 20) & 31] as number
  const c4 = B32[(l0 >>> 15) & 31] as number
  const c5 = B32[(l0 >>> 10) & 31] as number
  const c6 = B32[(l0 >>> 5) & 31] as number
  const c7 = B32[l0 & 31] as number
  if (eight) return String.fromCharCode(c0, c1, c2, c3, c4, c5, c6, c7)
  const h1 = d.charCodeAt(5)
  const l1 = ((d.charCodeAt(6) << 24) | (d.charCodeAt(7) << 16) | (d.charCodeAt(8) << 8) | d.charCodeAt(9)) >>> 0
  return String.fromCharCode(c0, c1, c2, c3, c4, c5, c6, c7,
    B32[h1 >>> 3] as number, B32[((h1 & 7) << 2) | (l1 >>> 30)] as number, B32[(l1 >>> 25) & 31] as number,
    B32[(l1 >>> 20) & 31] as number, B32[(l1 >>> 15) & 31] as number, B32[(l1 >>> 10) & 31] as number,
    B32[(l1 >>> 5) & 31] as number, B32[l1 & 31] as number)
}

/** iptables mode: the 16-character hash of `KUBE-SVC-`/`SVL-`/`EXT-`/`FW-` chains (`portProtoHash`). */
export function portProtoHash (servicePortName: string, protocol: string): string {
  return sha256b32(servicePortName + protocol.toLowerCase())
}

/** iptables mode: `KUBE-SEP-` + hash of service port, protocol and `ip:port` (`[ip]:port` for IPv6). */
export function endpointChainName (servicePortName: string, protocol: string, endpoint: string): string {
  return 'KUBE-SEP-' + sha256b32(servicePortName + protocol.toLowerCase() + endpoint)
}

const NFT_NAME_MAX = 240

/** nftables mode: 8 hash characters, a dash and the readable name, cut at 240 (`hashAndTruncate`). */
export function hashAndTruncate (name: string): string {
  const out = sha256b32(name, true) + '-' + name
  return out.length > NFT_NAME_MAX ? out.slice(0, NFT_NAME_MAX - 3) + '...' : out
}
