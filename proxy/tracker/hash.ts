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

/**
 * The first 16 characters of base32(sha256(s)): every name here uses at most 16 (kube-proxy cuts its hashes at 16
 * and 8), and 16 characters are exactly the first 10 bytes, so the rest of the digest is not encoded.
 */
function sha256b32x16 (s: string): string {
  const d = sha256bin(s)
  let out = ''
  for (let i = 0; i < 10; i += 5) {
    // 5 bytes are 8 characters: 40 bits as the high byte and a 32-bit low word.
    const hi = d.charCodeAt(i)
    const lo = ((d.charCodeAt(i + 1) << 24) | (d.charCodeAt(i + 2) << 16) | (d.charCodeAt(i + 3) << 8) | d.charCodeAt(i + 4)) >>> 0
    out += alphabet.charAt(hi >>> 3) + alphabet.charAt(((hi & 7) << 2) | (lo >>> 30)) + alphabet.charAt((lo >>> 25) & 31) +
      alphabet.charAt((lo >>> 20) & 31) + alphabet.charAt((lo >>> 15) & 31) + alphabet.charAt((lo >>> 10) & 31) +
      alphabet.charAt((lo >>> 5) & 31) + alphabet.charAt(lo & 31)
  }
  return out
}

const memo = new Map<string, string>()
/** base32(sha256(s))[:16], memoized (chain names repeat on every full sync; bounded). */
const sha256b32 = (s: string): string => {
  const hit = memo.get(s)
  if (hit !== undefined) return hit
  if (memo.size > 500_000) memo.clear()
  const h = sha256b32x16(s)
  memo.set(s, h)
  return h
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
const truncCache = new Map<string, string>()

export function hashAndTruncate (name: string): string {
  // Names repeat on every full sync; a bounded memo spares a sha256 each.
  const hit = truncCache.get(name)
  if (hit !== undefined) return hit
  if (truncCache.size > 500_000) truncCache.clear()
  let out = sha256b32(name).slice(0, 8) + '-' + name
  if (out.length > NFT_NAME_MAX) out = out.slice(0, NFT_NAME_MAX - 3) + '...'
  truncCache.set(name, out)
  return out
}
