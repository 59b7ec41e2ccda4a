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
 *
 * The networks may be comma-separated lists (flannel's plugin reads them so).
 * Every value is checked here, so a reader gets either a usable SubnetEnv or
 * a SubnetEnvError naming the key: flannel's plugin fails on the same inputs
 * (net.ParseCIDR, strconv.ParseUint), only with less precise messages.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { ip } from '../../kernel/index.js'

export interface SubnetEnv {
  /** As written: one CIDR, or several separated by commas. */
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

function isCidr (text: string, family: 4 | 6): boolean {
  try {
    return ip.parseCidr(text).family === family
  } catch {
    return false
  }
}

/**
 * Parses subnet.env. Needs MTU, IPMASQ and at least one complete family
 * (network and subnet); names what is missing otherwise, as flannel does.
 * A key with an empty value counts as missing.
 */
export function parseSubnetEnv (text: string): SubnetEnv {
  const kv = new Map<string, string>()
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const eq = line.indexOf('=')
    if (eq <= 0) throw new SubnetEnvError(`malformed line "${line}"`)
    const value = line.slice(eq + 1).trim()
    if (value !== '') kv.set(line.slice(0, eq).trim(), value)
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
  // Decimal digits only, as strconv.ParseUint reads it ('0x5aa' or '1450.0' are not an MTU).
  const mtuText = kv.get('FLANNEL_MTU') ?? ''
  const mtu = Number(mtuText)
  if (!/^\d+$/.test(mtuText) || mtu < 68 || mtu > 65535) throw new SubnetEnvError(`invalid FLANNEL_MTU "${mtuText}"`)
  const masq = kv.get('FLANNEL_IPMASQ')
  if (masq !== 'true' && masq !== 'false') throw new SubnetEnvError(`invalid FLANNEL_IPMASQ "${masq ?? ''}"`)
  const cidrs = (key: string, family: 4 | 6, list: boolean): string | undefined => {
    const v = kv.get(key)
    if (v === undefined) return undefined
    const items = list ? v.split(',').map((x) => x.trim()) : [v]
    const bad = items.find((x) => !isCidr(x, family))
    if (bad !== undefined) throw new SubnetEnvError(`invalid ${key} "${v}": "${bad}" is not an IPv${family} CIDR`)
    return v
  }
  const out: SubnetEnv = { mtu, ipMasq: masq === 'true' }
  const net = cidrs('FLANNEL_NETWORK', 4, true); if (net !== undefined) out.network = net
  const sub = cidrs('FLANNEL_SUBNET', 4, false); if (sub !== undefined) out.subnet = sub
  const net6 = cidrs('FLANNEL_IPV6_NETWORK', 6, true); if (net6 !== undefined) out.ipv6Network = net6
  const sub6 = cidrs('FLANNEL_IPV6_SUBNET', 6, false); if (sub6 !== undefined) out.ipv6Subnet = sub6
  return out
}

/**
 * Reads and parses `file`. A content error comes back as a SubnetEnvError
 * whose message starts with the file name; a read error (ENOENT while the
 * agent has not written it yet) is thrown as node's own, `code` included.
 */
export function readSubnetEnv (file: string): SubnetEnv {
  const text = fs.readFileSync(file, 'utf8')
  try {
    return parseSubnetEnv(text)
  } catch (e) {
    if (e instanceof SubnetEnvError) throw new SubnetEnvError(`${file}: ${e.message}`)
    throw e
  }
}

/** Writes atomically (temp file + rename): a plugin reading concurrently sees the old file or the new one. */
export function writeSubnetEnv (file: string, e: SubnetEnv): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 })
  const tmp = `${file}.${process.pid}.tmp`
  try {
    // fsync before the rename: with --subnet-file on a disk (not /run's tmpfs) a crash must not leave an empty file.
    const fd = fs.openSync(tmp, 'w', 0o644)
    try {
      fs.writeSync(fd, formatSubnetEnv(e))
      fs.fsyncSync(fd)
    } finally { fs.closeSync(fd) }
    fs.renameSync(tmp, file)
  } catch (err) {
    try { fs.unlinkSync(tmp) } catch { /* never created, or already renamed */ }
    throw err
  }
}
