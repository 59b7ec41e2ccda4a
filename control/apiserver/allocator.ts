/**
 * ClusterIP and NodePort allocation, conflict-free across API servers that
 * share one store: every allocated value is a key of its own, claimed with the
 * store's create-if-absent, so two servers can never hand out the same IP or
 * port. (kube-apiserver keeps one bitmap object per range under
 * /registry/ranges and CASes it; per-value keys give the same guarantee
 * without a hot key.) A repair pass at start releases claims whose Service is
 * gone, as kube-apiserver's repair controllers do.
 */
import { ip } from '../../kernel/index.js'
import type { Store } from '../store/index.js'
import { StoreError, prefixRange } from '../store/index.js'
import { ApiError } from './errors.js'

export const SERVICE_IP_PREFIX = '/registry/weft/ranges/serviceips/'
export const NODE_PORT_PREFIX = '/registry/weft/ranges/servicenodeports/'

interface Claim { owner: string, at: number }

const enc = (c: Claim): Uint8Array => Buffer.from(JSON.stringify(c))

export interface IpRange { cidr: ip.Cidr, base: bigint, size: bigint, text: string }

export function parseServiceRange (text: string): IpRange[] {
  const out: IpRange[] = []
  for (const part of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    let cidr: ip.Cidr
    try { cidr = ip.parseCidr(part) } catch { throw new Error(`--service-cluster-ip-range: "${part}" is not a CIDR`) }
    const bits = (cidr.family === 4 ? 32 : 128) - cidr.prefixLen
    if (cidr.family === 4 && bits < 2) throw new Error(`--service-cluster-ip-range: ${part} is too small`)
    if (cidr.family === 6 && bits > 20) throw new Error(`--service-cluster-ip-range: ${part} is too large (an IPv6 range may have at most 20 host bits, like kube-apiserver's /108)`)
    if (cidr.family === 4 && bits > 20) throw new Error(`--service-cluster-ip-range: ${part} is too large (at most 20 host bits, e.g. /12)`)
    const base = ip.toBigInt(ip.networkOf(cidr))
    out.push({ cidr, base, size: 1n << BigInt(bits), text: `${ip.networkOf(cidr)}/${cidr.prefixLen}` })
  }
  if (out.length === 0 || out.length > 2 || (out.length === 2 && out[0]?.cidr.family === out[1]?.cidr.family)) {
    throw new Error('--service-cluster-ip-range: one CIDR, or two of different families')
  }
  return out
}

export function parsePortRange (text: string): { min: number, max: number } {
  const m = /^(\d+)-(\d+)$/.exec(text.trim())
  const min = Number(m?.[1])
  const max = Number(m?.[2])
  if (m === null || min < 1 || max > 65535 || min > max) throw new Error(`--service-node-port-range: "${text}" is not a range like 30000-32767`)
  return { min, max }
}

/** The first usable IP of the range: the `kubernetes` Service's ClusterIP. */
export function firstServiceIP (r: IpRange): string {
  return ip.fromBigInt(r.base + 1n, r.cidr.family)
}

export class Allocator {
  constructor (private readonly store: Store, readonly ranges: IpRange[], readonly ports: { min: number, max: number }) {}

  rangeFor (family: 4 | 6): IpRange | undefined { return this.ranges.find((r) => r.cidr.family === family) }

  /** Claims a specific IP for `owner` ("ns/name"); 422 when outside the range or taken by another service. */
  async claimIP (addr: string, owner: string, field: string, svcName: string): Promise<string> {
    let canon: string
    try { canon = ip.canonical(addr) } catch { throw invalidField(svcName, field, addr, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)') }
    const fam = ip.familyOf(canon) as 4 | 6
    const r = this.rangeFor(fam)
    if (r === undefined || !ip.contains(r.cidr, canon)) {
      throw invalidField(svcName, field, addr, `failed to allocate IP ${addr}: provided IP is not in the valid range. The range of valid IPs is ${this.ranges.map((x) => x.text).join(',')}`)
    }
    const off = ip.toBigInt(canon) - r.base
    if (fam === 4 && (off === 0n || off === r.size - 1n)) throw invalidField(svcName, field, addr, 'failed to allocate IP: the network and broadcast addresses are reserved')
    if (!await this.claim(SERVICE_IP_PREFIX + canon, owner)) {
      throw invalidField(svcName, field, addr, `failed to allocate IP ${addr}: provided IP is already allocated`)
    }
    return canon
  }

  /** Allocates a free IP of `family`. */
  async allocateIP (family: 4 | 6, owner: string): Promise<string> {
    const r = this.rangeFor(family)
    if (r === undefined) throw new ApiError('CTRL_ERR_API_INVALID', `IPv${family} is not configured on this cluster`)
    const lo = 1n
    const hi = family === 4 ? r.size - 2n : r.size - 1n
    const span = hi - lo + 1n
    // Random start, then probe upwards: the store's create-if-absent is the lock.
    const start = BigInt(Math.floor(Math.random() * Number(span)))
    for (let i = 0n; i < span && i < 256n; i++) {
      const a = ip.fromBigInt(r.base + lo + (start + i) % span, family)
      if (await this.claim(SERVICE_IP_PREFIX + a, owner)) return a
    }
    // Crowded: list what is taken and pick a free one.
    const taken = new Set((await this.list(SERVICE_IP_PREFIX)).map((k) => k.slice(SERVICE_IP_PREFIX.length)))
    for (let o = lo; o <= hi; o++) {
      const a = ip.fromBigInt(r.base + o, family)
      if (!taken.has(a) && await this.claim(SERVICE_IP_PREFIX + a, owner)) return a
    }
    throw new ApiError('CTRL_ERR_API_SERVICE_UNAVAILABLE', `Internal error occurred: failed to allocate a serviceIP: range is full (${r.text})`)
  }

  async claimPort (port: number, owner: string, field: string, svcName: string): Promise<void> {
    if (!Number.isInteger(port) || port < this.ports.min || port > this.ports.max) {
      throw invalidField(svcName, field, port, `provided port is not in the valid range. The range of valid ports is ${this.ports.min}-${this.ports.max}`)
    }
    if (!await this.claim(NODE_PORT_PREFIX + String(port), owner)) throw invalidField(svcName, field, port, 'provided port is already allocated')
  }

  async allocatePort (owner: string): Promise<number> {
    const span = this.ports.max - this.ports.min + 1
    const start = Math.floor(Math.random() * span)
    for (let i = 0; i < span && i < 256; i++) {
      const p = this.ports.min + (start + i) % span
      if (await this.claim(NODE_PORT_PREFIX + String(p), owner)) return p
    }
    const taken = new Set((await this.list(NODE_PORT_PREFIX)).map((k) => Number(k.slice(NODE_PORT_PREFIX.length))))
    for (let p = this.ports.min; p <= this.ports.max; p++) {
      if (!taken.has(p) && await this.claim(NODE_PORT_PREFIX + String(p), owner)) return p
    }
    throw new ApiError('CTRL_ERR_API_SERVICE_UNAVAILABLE', `Internal error occurred: failed to allocate a nodePort: range is full (${this.ports.min}-${this.ports.max})`)
  }

  async releaseIP (addr: string, owner: string): Promise<void> { await this.release(SERVICE_IP_PREFIX + ip.canonical(addr), owner) }
  async releasePort (port: number, owner: string): Promise<void> { await this.release(NODE_PORT_PREFIX + String(port), owner) }

  /**
   * Release claims that no Service holds. `held` maps claim keys to owners
   * from a list of all Services; claims younger than `graceMs` are left alone
   * (another server may be between claiming and creating).
   */
  async repair (held: Map<string, string>, graceMs = 60_000, now = Date.now()): Promise<string[]> {
    const released: string[] = []
    for (const prefix of [SERVICE_IP_PREFIX, NODE_PORT_PREFIX]) {
      const r = prefixRange(prefix)
      const res = await this.store.list(r.start, { end: r.end })
      for (const kv of res.kvs) {
        let claim: Claim
        try { claim = JSON.parse(Buffer.from(kv.value).toString()) as Claim } catch { claim = { owner: '', at: 0 } }
        if (held.get(kv.key) === claim.owner || now - claim.at < graceMs) continue
        try { await this.store.delete(kv.key, kv.modRevision); released.push(kv.key) } catch (e) { if (!(e instanceof StoreError)) throw e }
      }
    }
    return released
  }

  private async claim (key: string, owner: string): Promise<boolean> {
    try {
      await this.store.create(key, enc({ owner, at: Date.now() }))
      return true
    } catch (e) {
      if (e instanceof StoreError && e.code === 'CTRL_ERR_STORE_EXISTS') {
        // A claim by the same owner (a retried create) is ours already.
        const cur = await this.store.get(key)
        if (cur !== undefined) {
          try { if ((JSON.parse(Buffer.from(cur.value).toString()) as Claim).owner === owner) return true } catch {}
        }
        return false
      }
      throw e
    }
  }

  private async release (key: string, owner: string): Promise<void> {
    const cur = await this.store.get(key)
    if (cur === undefined) return
    try {
      const c = JSON.parse(Buffer.from(cur.value).toString()) as Claim
      if (c.owner !== owner) return
    } catch {}
    try { await this.store.delete(key, cur.modRevision) } catch (e) { if (!(e instanceof StoreError)) throw e }
  }

  private async list (prefix: string): Promise<string[]> {
    const r = prefixRange(prefix)
    return (await this.store.list(r.start, { end: r.end })).kvs.map((kv) => kv.key)
  }
}

function invalidField (name: string, field: string, value: unknown, detail: string): ApiError {
  const message = `Invalid value: ${JSON.stringify(value)}: ${detail}`
  return new ApiError('CTRL_ERR_API_INVALID', `Service "${name}" is invalid: ${field}: ${message}`,
    { name, group: '', kind: 'Service', causes: [{ type: 'FieldValueInvalid', message, field }] })
}
