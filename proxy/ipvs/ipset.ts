/**
 * kube-proxy's ipsets (pkg/proxy/ipvs/ipset.go): the fixed list of sets IPVS
 * mode always creates, their types, and one `ipset restore` script per sync
 * that brings the kernel's sets to the desired entries. The script is pure
 * text (golden-tested); `linuxIpset` runs `ipset` (absolute path, through
 * execa) in the calling thread's network namespace, like `kernel/`'s
 * iptables, so `NetNS.run` targets another namespace.
 */
import { execaSync } from 'execa'
import { findTool } from '../../kernel/index.js'
import type { IpFamily } from '../tracker/index.js'
import { ProxyError } from '../tracker/index.js'

/** `ipset save` text in, `ipset restore` scripts out; both in the calling thread's namespace. */
export interface Ipset {
  /** What `ipset save` prints (every set of the namespace). */
  save (): string
  /** `ipset restore` of the script, as one call; throws a PROXY_ERR_SYNC ProxyError with ipset's message when refused. */
  restore (script: string): void
}

export interface IpsetSpec { name: string, type: string }

/**
 * A set's name for a family: IPv6 sets are `KUBE-6-…`, cut to ipset's 31
 * characters (kube-proxy's rule, so `KUBE-6-LOAD-BALANCER-SOURCE-CID`).
 */
export function ipsetName (family: IpFamily, name: string): string {
  return family === 6 ? name.replace(/^KUBE-/, 'KUBE-6-').slice(0, 31) : name
}

/**
 * The sets of one family, as kube-proxy names and types them; IPv6 names
 * are `KUBE-6-…` (kube-proxy's dual-stack rule). Bitmap sets have no family.
 */
export function ipsetSpecs (family: IpFamily): IpsetSpec[] {
  const n = (s: string): string => ipsetName(family, s)
  return [
    ['KUBE-LOOP-BACK', 'hash:ip,port,ip'],
    ['KUBE-CLUSTER-IP', 'hash:ip,port'],
    ['KUBE-EXTERNAL-IP', 'hash:ip,port'],
    ['KUBE-EXTERNAL-IP-LOCAL', 'hash:ip,port'],
    ['KUBE-LOAD-BALANCER', 'hash:ip,port'],
    ['KUBE-LOAD-BALANCER-LOCAL', 'hash:ip,port'],
    ['KUBE-LOAD-BALANCER-FW', 'hash:ip,port'],
    ['KUBE-LOAD-BALANCER-SOURCE-IP', 'hash:ip,port,ip'],
    ['KUBE-LOAD-BALANCER-SOURCE-CIDR', 'hash:ip,port,net'],
    ['KUBE-NODE-PORT-TCP', 'bitmap:port'],
    ['KUBE-NODE-PORT-LOCAL-TCP', 'bitmap:port'],
    ['KUBE-NODE-PORT-UDP', 'bitmap:port'],
    ['KUBE-NODE-PORT-LOCAL-UDP', 'bitmap:port'],
    ['KUBE-NODE-PORT-SCTP-HASH', 'hash:ip,port'],
    ['KUBE-NODE-PORT-LOCAL-SCTP-HASH', 'hash:ip,port'],
    ['KUBE-HEALTH-CHECK-NODE-PORT', 'bitmap:port'],
    ['KUBE-IPVS-IPS', 'hash:ip']
  ].map(([name, type]) => ({ name: n(name as string), type: type as string }))
}

/** The `create` options of a set: family for hash types, the port range for bitmaps (as kube-proxy). */
function createLine (s: IpsetSpec, family: IpFamily): string {
  const opts = s.type.startsWith('bitmap:')
    ? 'range 0-65535'
    : `family ${family === 4 ? 'inet' : 'inet6'} hashsize 1024 maxelem 65536`
  return `create ${s.name} ${s.type} ${opts}`
}

export interface SavedSet { type: string, entries: Set<string> }

/** Parses `ipset save` text (create/add lines); entries normalised with `normalEntry`. */
export function parseIpsetSave (text: string): Map<string, SavedSet> {
  const out = new Map<string, SavedSet>()
  for (const line of text.split('\n')) {
    const w = line.trim().split(/\s+/)
    if (w[0] === 'create' && w[1] !== undefined && w[2] !== undefined) out.set(w[1], { type: w[2], entries: new Set() })
    else if (w[0] === 'add' && w[1] !== undefined && w[2] !== undefined) out.get(w[1])?.entries.add(normalEntry(w[2]))
  }
  return out
}

/** ipset prints a host-sized net part without its prefix length; entries are compared in that form. */
export function normalEntry (e: string): string {
  return e.replace(/\/(32|128)$/, '')
}

/**
 * The `ipset restore` script taking the kernel's sets (`current`, for this
 * family's set names) to `want`: every set created (`-exist` makes that a
 * no-op when it is there), stale entries deleted, missing ones added.
 * A set of ours with another type cannot be changed while iptables rules
 * reference it (kube-proxy#77265): that is an error naming the set.
 */
export function ipsetRestoreScript (family: IpFamily, want: ReadonlyMap<string, ReadonlySet<string>>, current: ReadonlyMap<string, SavedSet>): string {
  const lines: string[] = []
  for (const spec of ipsetSpecs(family)) {
    const cur = current.get(spec.name)
    if (cur !== undefined && cur.type !== spec.type) {
      throw new ProxyError('PROXY_ERR_SYNC', `ipset ${spec.name} exists with type ${cur.type}, IPVS mode needs ${spec.type}: remove it (weft proxy --cleanup) and restart`)
    }
    if (cur === undefined) lines.push(createLine(spec, family))
    const wanted = new Set([...(want.get(spec.name) ?? [])].map(normalEntry))
    for (const e of [...(cur?.entries ?? [])].sort()) if (!wanted.has(e)) lines.push(`del ${spec.name} ${e}`)
    for (const e of [...wanted].sort()) if (cur?.entries.has(e) !== true) lines.push(`add ${spec.name} ${e}`)
  }
  return lines.length === 0 ? '' : lines.join('\n') + '\n'
}

/** The script destroying this family's sets (cleanup); `-exist`-style: only sets that are there. */
export function ipsetDestroyScript (family: IpFamily, current: ReadonlyMap<string, SavedSet>): string {
  const lines = ipsetSpecs(family).filter((s) => current.has(s.name)).map((s) => `destroy ${s.name}`)
  return lines.length === 0 ? '' : lines.join('\n') + '\n'
}

/** `ipset` from a system directory (never node_modules/.bin), run with execa. */
export function linuxIpset (): Ipset {
  const run = (args: string[], input?: string): string => {
    let bin: string
    try { bin = findTool('ipset') } catch (e) { throw new ProxyError('PROXY_ERR_UNSUPPORTED', `ipset: ${(e as Error).message}`, { cause: e }) }
    const r = execaSync(bin, args, { reject: false, ...(input !== undefined ? { input } : {}), env: { LC_ALL: 'C' } })
    if (r.exitCode !== 0) throw new ProxyError('PROXY_ERR_SYNC', `ipset ${args.join(' ')}: ${String(r.stderr).trim()}`)
    return String(r.stdout)
  }
  return {
    save: () => run(['save']),
    restore: (script) => { if (script !== '') run(['-exist', 'restore'], script) }
  }
}
