/**
 * Address helpers on top of `ip-address`: parsing, canonical text, byte and
 * bigint forms. Every address Weft writes to the kernel or to disk goes through
 * `canonical()` so that '10.1.0.5', 'fd00::5' are spelled one way only (the way
 * Go's net.IP.String() spells them, which the reference host-local store uses
 * as file names).
 */
import { Address4, Address6 } from 'ip-address'
import type { Family } from './types.js'

export interface Cidr {
  family: Family
  /** Canonical address text (host bits kept), in the family parsed: a v4-mapped address keeps its v6 spelling here. */
  address: string
  prefixLen: number
}

export class AddressError extends Error {
  override name = 'AddressError'
}

export function familyOf (ip: string): Family | undefined {
  if (ip.includes(':')) return Address6.isValid(ip) && !ip.includes('/') ? 6 : undefined
  return Address4.isValid(ip) && !ip.includes('/') ? 4 : undefined
}

/** Canonical text of an address; throws AddressError on garbage. */
export function canonical (ip: string): string {
  const fam = familyOf(ip)
  if (fam === 4) return new Address4(ip).correctForm()
  if (fam === 6) {
    const a = new Address6(ip)
    // Go prints v4-mapped v6 addresses (::ffff:0:0/96) as dotted quads; keep v6 form otherwise.
    return a.isMapped4() ? a.to4().correctForm() : a.correctForm()
  }
  throw new AddressError(`invalid IP address "${ip}"`)
}

/** Parses 'addr/prefix'; the prefix is required unless `defaultPrefix` is given. */
export function parseCidr (text: string, defaultPrefix?: boolean): Cidr {
  if (typeof text !== 'string') throw new AddressError(`invalid CIDR address: ${String(text)}`)
  const slash = text.indexOf('/')
  const addr = slash < 0 ? text : text.slice(0, slash)
  const fam = familyOf(addr)
  if (fam === undefined) throw new AddressError(`invalid CIDR address: ${text}`)
  const max = fam === 4 ? 32 : 128
  let prefixLen = max
  if (slash < 0) {
    if (defaultPrefix !== true) throw new AddressError(`invalid CIDR address: ${text}`)
  } else {
    const p = text.slice(slash + 1)
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) throw new AddressError(`invalid CIDR address: ${text}`)
    prefixLen = Number(p)
  }
  return { family: fam, address: fam === 6 ? new Address6(addr).correctForm() : canonical(addr), prefixLen }
}

export function formatCidr (c: { address: string, prefixLen: number }): string {
  return `${c.address}/${c.prefixLen}`
}

export function toBigInt (ip: string): bigint {
  const fam = familyOf(ip)
  if (fam === 4) return new Address4(ip).bigInt()
  if (fam === 6) return new Address6(ip).bigInt()
  throw new AddressError(`invalid IP address "${ip}"`)
}

export function fromBigInt (v: bigint, family: Family): string {
  if (family === 4) {
    return [Number((v >> 24n) & 255n), Number((v >> 16n) & 255n), Number((v >> 8n) & 255n), Number(v & 255n)].join('.')
  }
  return Address6.fromBigInt(v).correctForm()
}

export function toBytes (ip: string): Buffer {
  const fam = familyOf(ip)
  if (fam === 4) return Buffer.from(new Address4(ip).toArray())
  if (fam === 6) return pad16(new Address6(ip).toUnsignedByteArray())
  throw new AddressError(`invalid IP address "${ip}"`)
}

function pad16 (bytes: number[]): Buffer {
  const out = Buffer.alloc(16)
  Buffer.from(bytes).copy(out, 16 - bytes.length)
  return out
}

export function fromBytes (b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`
  if (b.length === 16) return Address6.fromUnsignedByteArray(Array.from(b)).correctForm()
  throw new AddressError(`address of ${b.length} bytes`)
}

/** The network address of a CIDR (host bits cleared). */
export function networkOf (c: Cidr): string {
  const bits = c.family === 4 ? 32 : 128
  const v = toBigInt(c.address)
  const mask = ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - c.prefixLen)) - 1n)
  return fromBigInt(v & mask, c.family)
}

/** The last address of a CIDR (all host bits set). */
export function lastOf (c: Cidr): string {
  const bits = c.family === 4 ? 32 : 128
  const v = toBigInt(c.address)
  const host = (1n << BigInt(bits - c.prefixLen)) - 1n
  return fromBigInt(v | host, c.family)
}

export function contains (net: Cidr, ip: string): boolean {
  if (familyOf(ip) !== net.family) return false
  return networkOf({ ...net, address: ip }) === networkOf(net)
}

export function overlaps (a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false
  const p = Math.min(a.prefixLen, b.prefixLen)
  return networkOf({ ...a, prefixLen: p }) === networkOf({ ...b, prefixLen: p })
}

export function macToBytes (mac: string): Buffer {
  if (!/^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(mac)) throw new AddressError(`invalid MAC address "${mac}"`)
  return Buffer.from(mac.replace(/[:-]/g, ''), 'hex')
}

export function macFromBytes (b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':')
}
