/**
 * Node IPAM, pure part: the range allocator of kube-controller-manager
 * (`pkg/controller/nodeipam/ipam/cidrset`). A CidrSet hands out fixed-size
 * subnets of one cluster CIDR from a bitmap, rotating from the last one given
 * so a just-released subnet is not reused at once. A NodeCidrAllocator holds
 * one set per cluster CIDR (dual-stack: one per family) and gives a node one
 * subnet of each.
 */
import * as net from 'node:net'
import { ControllerError } from './errors.js'

export interface Cidr { family: 4 | 6, base: bigint, prefix: number }

export function parseIp (ip: string): { family: 4 | 6, value: bigint } | undefined {
  if (net.isIPv4(ip)) {
    return { family: 4, value: ip.split('.').reduce((a, o) => (a << 8n) | BigInt(Number(o)), 0n) }
  }
  if (!net.isIPv6(ip)) return undefined
  let s = ip
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s)
  if (v4tail !== null) {
    const v = parseIp(v4tail[1] as string)?.value ?? 0n
    s = s.slice(0, -(v4tail[1] as string).length) + `${(v >> 16n).toString(16)}:${(v & 0xffffn).toString(16)}`
  }
  const [head, tail] = s.includes('::') ? s.split('::') as [string, string] : [s, undefined]
  const h = head === '' ? [] : head.split(':')
  const t = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0') as string[], ...t]
  return { family: 6, value: groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g, 16)), 0n) }
}

export function formatIp (family: 4 | 6, v: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.')
  const groups = Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(112 - 16 * i)) & 0xffffn))
  // RFC 5952: compress the longest run (length ≥ 2) of zero groups, the first if tied.
  let best = -1; let bestLen = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) { best = i; bestLen = j - i }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (best < 0) return hex.join(':')
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`
}

export function parseCidr (s: string): Cidr {
  const [ip, len, ...rest] = s.trim().split('/')
  const p = parseIp(ip ?? '')
  const prefix = Number(len)
  const bits = p?.family === 4 ? 32 : 128
  if (p === undefined || rest.length > 0 || len === undefined || !/^\d+$/.test(len) || prefix > bits) {
    throw new ControllerError('CTRL_ERR_CONTROLLERS_INVALID_CIDR', `"${s}" is not a CIDR`)
  }
  const hostBits = BigInt(bits - prefix)
  return { family: p.family, base: (p.value >> hostBits) << hostBits, prefix }
}

export const formatCidr = (c: Cidr): string => `${formatIp(c.family, c.base)}/${c.prefix}`

export class CidrSet {
  readonly cluster: Cidr
  readonly maskSize: number
  readonly size: number
  readonly #used: Uint8Array
  #allocated = 0
  #next = 0

  constructor (clusterCidr: string, maskSize: number) {
    this.cluster = parseCidr(clusterCidr)
    const bits = this.cluster.family === 4 ? 32 : 128
    if (!Number.isInteger(maskSize) || maskSize < this.cluster.prefix || maskSize > bits) {
      throw new ControllerError('CTRL_ERR_CONTROLLERS_INVALID_CIDR', `node CIDR mask size ${maskSize} does not fit in ${clusterCidr}`)
    }
    // Upstream's limit: at most 2^16 node subnets per cluster CIDR.
    if (maskSize - this.cluster.prefix > 16) {
      throw new ControllerError('CTRL_ERR_CONTROLLERS_INVALID_CIDR', `node CIDR mask size ${maskSize} is more than 16 bits longer than ${clusterCidr}'s /${this.cluster.prefix}`)
    }
    this.maskSize = maskSize
    this.size = 2 ** (maskSize - this.cluster.prefix)
    this.#used = new Uint8Array(this.size)
  }

  get family (): 4 | 6 { return this.cluster.family }
  get allocated (): number { return this.#allocated }

  #shift (): bigint { return BigInt((this.family === 4 ? 32 : 128) - this.maskSize) }
  #cidrAt (i: number): string { return formatCidr({ family: this.family, base: this.cluster.base + (BigInt(i) << this.#shift()), prefix: this.maskSize }) }

  /** Index of a subnet of this set, or undefined if `cidr` is not exactly one of them. */
  indexOf (cidr: string): number | undefined {
    let c: Cidr
    try { c = parseCidr(cidr) } catch { return undefined }
    if (c.family !== this.family || c.prefix !== this.maskSize) return undefined
    const off = c.base - this.cluster.base
    if (off < 0n) return undefined
    const i = Number(off >> this.#shift())
    return i < this.size ? i : undefined
  }

  allocateNext (): string {
    if (this.#allocated >= this.size) throw new ControllerError('CTRL_ERR_CONTROLLERS_CIDR_EXHAUSTED', `no /${this.maskSize} left in ${formatCidr(this.cluster)}`)
    for (let n = 0; n < this.size; n++) {
      const i = (this.#next + n) % this.size
      if (this.#used[i] === 0) {
        this.#used[i] = 1
        this.#allocated++
        this.#next = (i + 1) % this.size
        return this.#cidrAt(i)
      }
    }
    throw new ControllerError('CTRL_ERR_CONTROLLERS_CIDR_EXHAUSTED', `no /${this.maskSize} left in ${formatCidr(this.cluster)}`)
  }

  /** Marks a subnet used (a node that already has it); false if it is not one of this set's. */
  occupy (cidr: string): boolean {
    const i = this.indexOf(cidr)
    if (i === undefined) return false
    if (this.#used[i] === 0) { this.#used[i] = 1; this.#allocated++ }
    return true
  }

  release (cidr: string): boolean {
    const i = this.indexOf(cidr)
    if (i === undefined) return false
    if (this.#used[i] === 1) { this.#used[i] = 0; this.#allocated-- }
    return true
  }

  isUsed (cidr: string): boolean {
    const i = this.indexOf(cidr)
    return i !== undefined && this.#used[i] === 1
  }
}

export interface NodeCidrOptions {
  clusterCidrs: string[]
  /** Mask size per family. */
  maskSizeV4: number
  maskSizeV6: number
}

/** One CidrSet per cluster CIDR; at most one per family, as upstream's dual-stack validation demands. */
export class NodeCidrAllocator {
  readonly sets: CidrSet[]
  constructor (opts: NodeCidrOptions) {
    if (opts.clusterCidrs.length === 0) throw new ControllerError('CTRL_ERR_CONTROLLERS_INVALID_CIDR', 'no cluster CIDR given')
    this.sets = opts.clusterCidrs.map((c) => {
      const fam = parseCidr(c).family
      return new CidrSet(c, fam === 4 ? opts.maskSizeV4 : opts.maskSizeV6)
    })
    if (this.sets.length > 2 || (this.sets.length === 2 && this.sets[0]?.family === this.sets[1]?.family)) {
      throw new ControllerError('CTRL_ERR_CONTROLLERS_INVALID_CIDR', `cluster CIDRs ${opts.clusterCidrs.join(',')}: at most one per family`)
    }
  }

  /** Records podCIDRs a node already has (restart); returns the ones that fit none of our sets. */
  occupy (podCidrs: string[]): string[] {
    return podCidrs.filter((c) => !this.sets.some((s) => s.occupy(c)))
  }

  /** One subnet from every set, in cluster-CIDR order; all or nothing. */
  allocate (): string[] {
    const got: string[] = []
    try {
      for (const s of this.sets) got.push(s.allocateNext())
    } catch (e) {
      this.release(got)
      throw e
    }
    return got
  }

  release (podCidrs: string[]): void {
    for (const c of podCidrs) for (const s of this.sets) if (s.release(c)) break
  }
}
