/**
 * /run/flannel/subnet.env: written by the overlay agent (`weft vxland`, or
 * flanneld), read by the `flannel` CNI plugin. flannel's keys and formatting:
 *
 *   FLANNEL_NETWORK=10.244.0.0/16
 *   FLANNEL_SUBNET=10.244.1.1/24        (first usable address of the node's subnet)
 *   FLANNEL_IPV6_NETWORK=fd00:10:244::/56
 *   FLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64
 *   FLANNEL_MTU=1450
 *   FLANNEL_IPMASQ=true
 */
import * as fs from 'node:fs'
import * as path from 'node:path'

export interface SubnetEnv {
  network?: string
  /** As written: the first usable address with the subnet's prefix, e.g. '10.244.1.1/24'. */
  subnet?: string
  ipv6Network?: string
  ipv6Subnet?: string
  mtu: number
  ipMasq: boolean
}

export const DEFAULT_SUBNET_FILE = '/run/flannel/subnet.env'

export class SubnetEnvError extends Error {
  override name = 'SubnetEnvError'
}

export function formatSubnetEnv (e: SubnetEnv): string {
  const lines: string[] = []
  if (e.network !== undefined) lines.push(`FLANNEL_NETWORK=${e.network}`)
  if (e.subnet !== undefined) lines.push(`FLANNEL_SUBNET=${e.subnet}`)
  if (e.ipv6Network !== undefined) lines.push(`FLANNEL_IPV6_NETWORK=${e.ipv6Network}`)
  if (e.ipv6Subnet !== undefined) lines.push(`FLANNEL_IPV6_SUBNET=${e.ipv6Subnet}`)
  lines.push(`FLANNEL_MTU=${e.mtu}`, `FLANNEL_IPMASQ=${e.ipMasq ? 'true' : 'false'}`)
  return lines.join('\n') + '\n'
}

/**
 * Parses subnet.env. Needs MTU, IPMASQ and at least one complete family
 * (network and subnet); names what is missing otherwise, as flannel does.
 */
export function parseSubnetEnv (text: string): SubnetEnv {
  const kv = new Map<string, string>()
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const eq = line.indexOf('=')
    if (eq <= 0) throw new SubnetEnvError(`malformed line "${line}"`)
    kv.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim())
  }
  const missing: string[] = []
  const v4 = kv.has('FLANNEL_NETWORK') || kv.has('FLANNEL_SUBNET')
  const v6 = kv.has('FLANNEL_IPV6_NETWORK') || kv.has('FLANNEL_IPV6_SUBNET')
  if (!v4 && !v6) missing.push('FLANNEL_NETWORK', 'FLANNEL_IPV6_NETWORK', 'FLANNEL_SUBNET', 'FLANNEL_IPV6_SUBNET')
  if (v4 && !kv.has('FLANNEL_NETWORK')) missing.push('FLANNEL_NETWORK')
  if (v4 && !kv.has('FLANNEL_SUBNET')) missing.push('FLANNEL_SUBNET')
  if (v6 && !kv.has('FLANNEL_IPV6_NETWORK')) missing.push('FLANNEL_IPV6_NETWORK')
  if (v6 && !kv.has('FLANNEL_IPV6_SUBNET')) missing.push('FLANNEL_IPV6_SUBNET')
  if (!kv.has('FLANNEL_MTU')) missing.push('FLANNEL_MTU')
  if (!kv.has('FLANNEL_IPMASQ')) missing.push('FLANNEL_IPMASQ')
  if (missing.length > 0) throw new SubnetEnvError(`subnet.env is missing ${missing.join(', ')}`)
  const mtu = Number(kv.get('FLANNEL_MTU'))
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new SubnetEnvError(`invalid FLANNEL_MTU "${kv.get('FLANNEL_MTU') ?? ''}"`)
  const masq = kv.get('FLANNEL_IPMASQ')
  if (masq !== 'true' && masq !== 'false') throw new SubnetEnvError(`invalid FLANNEL_IPMASQ "${masq ?? ''}"`)
  const out: SubnetEnv = { mtu, ipMasq: masq === 'true' }
  const net = kv.get('FLANNEL_NETWORK'); if (net !== undefined) out.network = net
  const sub = kv.get('FLANNEL_SUBNET'); if (sub !== undefined) out.subnet = sub
  const net6 = kv.get('FLANNEL_IPV6_NETWORK'); if (net6 !== undefined) out.ipv6Network = net6
  const sub6 = kv.get('FLANNEL_IPV6_SUBNET'); if (sub6 !== undefined) out.ipv6Subnet = sub6
  return out
}

export function readSubnetEnv (file: string): SubnetEnv {
  return parseSubnetEnv(fs.readFileSync(file, 'utf8'))
}

/** Writes atomically (temp file + rename): a plugin reading concurrently sees the old file or the new one. */
export function writeSubnetEnv (file: string, e: SubnetEnv): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 })
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, formatSubnetEnv(e), { mode: 0o644 })
  fs.renameSync(tmp, file)
}
