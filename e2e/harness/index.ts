/**
 * Netns-based e2e harness. A `Sandbox` owns throwaway network namespaces (a
 * "node" acting as the host, "pods"), a temp dir, and everything made in them;
 * `cleanup()` removes it all and is registered with ava's `t.teardown`, plus a
 * process-exit sweep, so a failing test still leaves `ip netns list` empty.
 *
 * Plugins run as a real runtime would run them: exec'd with CNI_* env and the
 * config on stdin, inside the node namespace (`ip netns exec <node>`), so the
 * "host" side of every attachment (bridges, host veths, iptables rules) lands
 * in a namespace the test owns, never on the machine itself.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { execa } from 'execa'
import { LinuxNetNS } from '../../kernel/index.js'
import { systemPath } from '../../cni/runtime/index.js'

export { systemPath }
import type { Netlink } from '../../kernel/index.js'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
export const weftCniDir = path.join(repoRoot, 'bin', 'cni')
export const referenceCniDir = '/usr/lib/cni'
export const NS_PREFIX = 'wt'

export type Impl = 'weft' | 'ref'

export function cniDir (impl: Impl): string {
  return impl === 'weft' ? weftCniDir : referenceCniDir
}

export function haveReference (): boolean {
  return fs.existsSync(path.join(referenceCniDir, 'bridge')) && fs.existsSync(path.join(referenceCniDir, 'host-local'))
}

export function isRoot (): boolean {
  return process.getuid?.() === 0
}

const netns = new LinuxNetNS()
const live = new Set<Sandbox>()
let counter = 0

process.on('exit', () => {
  for (const sb of live) sb.cleanupSync()
})

export interface CniCall {
  impl?: Impl
  plugin: string
  command: 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC' | 'VERSION'
  conf: unknown
  /** Namespace the plugin process runs in (the node); default: the sandbox's node. */
  hostNs?: string
  /** CNI_NETNS path; '' to leave it unset. */
  netns?: string
  ifName?: string
  containerId?: string
  cniArgs?: string
  /** CNI_PATH override; default: the impl's own directory. */
  cniPath?: string
  extraEnv?: Record<string, string>
}

export interface CniOutcome {
  exitCode: number
  stdout: string
  stderr: string
  /** Parsed stdout, when it is JSON. */
  json: Record<string, unknown> | undefined
}

export class Sandbox {
  readonly id: string
  readonly dir: string
  readonly #namespaces: string[] = []
  #node: string | undefined

  constructor (label = 't') {
    this.id = `${NS_PREFIX}${process.pid.toString(36)}${(counter++).toString(36)}${label.replace(/[^a-z0-9]/gi, '').slice(0, 4)}`
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `weft-${this.id}-`))
    live.add(this)
  }

  /** Create a namespace named `<id>-<suffix>`; returns its path. */
  ns (suffix: string): string {
    const name = `${this.id}-${suffix}`
    const p = netns.create(name)
    this.#namespaces.push(name)
    // Loopback up, as every runtime leaves it.
    const nl = netns.netlink(p)
    try {
      const lo = nl.linkByName('lo')
      if (lo !== undefined) nl.setLink(lo.index, { up: true })
    } finally { nl.close() }
    return p
  }

  /** The node namespace plugins run in (created on first use). */
  get node (): string {
    this.#node ??= this.ns('node')
    return this.#node
  }

  nameOf (p: string): string { return path.basename(p) }

  netlink (p: string): Netlink { return netns.netlink(p) }

  /** A file descriptor of a namespace (for veth peers created straight into it); close with `closeNsFd`. */
  openNsFd (p: string): number { return netns.openFd(p) }
  closeNsFd (fd: number): void { netns.closeFd(fd) }

  /** Run a command inside a namespace (`ip netns exec`). */
  async exec (p: string, cmd: string, args: string[], opts: { input?: string, reject?: boolean, env?: Record<string, string> } = {}): Promise<{ exitCode: number, stdout: string, stderr: string }> {
    const r = await execa('ip', ['netns', 'exec', path.basename(p), cmd, ...args], {
      reject: opts.reject ?? true,
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      ...(opts.env !== undefined ? { env: opts.env, extendEnv: false } : {})
    })
    return { exitCode: r.exitCode ?? 0, stdout: String(r.stdout), stderr: String(r.stderr) }
  }

  /** Run a CNI plugin exactly as a runtime would. */
  async cni (call: CniCall): Promise<CniOutcome> {
    const impl = call.impl ?? 'weft'
    const dir = cniDir(impl)
    const env: Record<string, string> = {
      PATH: systemPath(),
      CNI_COMMAND: call.command,
      CNI_PATH: call.cniPath ?? dir,
      ...(call.containerId !== undefined ? { CNI_CONTAINERID: call.containerId } : { CNI_CONTAINERID: 'c0ffee' }),
      ...(call.ifName !== undefined ? { CNI_IFNAME: call.ifName } : { CNI_IFNAME: 'eth0' }),
      ...(call.cniArgs !== undefined ? { CNI_ARGS: call.cniArgs } : {}),
      ...call.extraEnv
    }
    if (call.netns !== undefined && call.netns !== '') env.CNI_NETNS = call.netns
    const host = call.hostNs ?? this.node
    const input = typeof call.conf === 'string' ? call.conf : JSON.stringify(call.conf)
    const r = await execa('ip', ['netns', 'exec', path.basename(host), path.join(dir, call.plugin)], {
      input, env, extendEnv: false, reject: false
    })
    let json: Record<string, unknown> | undefined
    try { json = JSON.parse(String(r.stdout)) as Record<string, unknown> } catch { json = undefined }
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), json }
  }

  /** Remove a namespace early (e.g. to test DEL with the netns gone). */
  removeNs (p: string): void {
    const name = path.basename(p)
    netns.remove(name)
  }

  cleanupSync (): void {
    for (const name of this.#namespaces.reverse()) {
      try { netns.remove(name) } catch { /* keep going */ }
    }
    this.#namespaces.length = 0
    try { fs.rmSync(this.dir, { recursive: true, force: true }) } catch { /* keep going */ }
    live.delete(this)
  }

  async cleanup (): Promise<void> { this.cleanupSync() }
}

/** A sandbox whose cleanup is tied to an ava test (runs on pass and on failure). */
export function sandbox (t: { teardown: (fn: () => void | Promise<void>) => void }, label?: string): Sandbox {
  const sb = new Sandbox(label)
  t.teardown(() => sb.cleanupSync())
  return sb
}

/** Removes every namespace the harness could have left behind (any `wt*` name). */
export function sweep (): string[] {
  const gone: string[] = []
  for (const name of netns.list()) {
    if (name.startsWith(NS_PREFIX)) { netns.remove(name); gone.push(name) }
  }
  return gone
}

/** A snapshot of a namespace's network state in a stable text form, for comparing two implementations. */
export async function kernelState (sb: Sandbox, p: string, opts: { iptables?: boolean } = {}): Promise<string> {
  const nl = sb.netlink(p)
  try {
    const links = nl.links()
    const byIndex = new Map(links.map((l) => [l.index, l]))
    // Names of generated host veths differ between runs; replace them with their role.
    const out: string[] = []
    for (const l of links.sort((a, b) => a.name.localeCompare(b.name))) {
      const master = l.master !== undefined ? byIndex.get(l.master)?.name : undefined
      out.push(`link ${normName(l.name)} kind=${l.kind ?? '-'} mtu=${l.mtu} up=${l.flags.up} promisc=${l.flags.promisc}${master !== undefined ? ` master=${master}` : ''}${l.bridgePort !== undefined ? ` hairpin=${l.bridgePort.hairpin}` : ''}`)
    }
    for (const a of nl.addresses().sort((x, y) => `${x.index}${x.address}`.localeCompare(`${y.index}${y.address}`))) {
      if (a.scope === 253 && a.family === 6) continue // link-local v6 addresses are random
      out.push(`addr ${normName(byIndex.get(a.index)?.name ?? '?')} ${a.address}/${a.prefixLen} scope=${a.scope}`)
    }
    for (const r of nl.routes({ table: 254 })) {
      if (r.dst.startsWith('fe80:') || r.dst.startsWith('ff00:')) continue
      out.push(`route ${r.dst}${r.gw !== undefined ? ` via ${r.gw}` : ''} dev=${normName(byIndex.get(r.dev ?? -1)?.name ?? '-')} scope=${r.scope ?? 0} proto=${r.protocol ?? 0}`)
    }
    out.sort()
    if (opts.iptables === true) {
      const r = await sb.exec(p, 'iptables-save', ['-t', 'nat'])
      out.push(...String(r.stdout).split('\n').filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith(':') && !l.startsWith('*') && l !== 'COMMIT').map((l) => `ipt ${l}`))
    }
    return out.join('\n')
  } finally { nl.close() }
}

function normName (n: string): string {
  return /^veth[0-9a-f]{8}$/.test(n) ? 'veth<host>' : n
}

/** Kernel tests need root (CI runs as root); without it they fail loudly rather than pass vacuously. */
export function requireRoot (): void {
  if (!isRoot()) throw new Error('this test creates network namespaces and must run as root (CI does)')
}

/** Tests that compare with the Go reference plugins need them installed (scripts/install-deps.sh does). */
export function requireReference (): void {
  if (!haveReference()) throw new Error(`reference plugins missing in ${referenceCniDir}: run scripts/install-deps.sh`)
}
export { underlayTopology } from './topology.js'
export { waitFor } from './wait.js'
export type { Host, Topology } from './topology.js'
export { freePort, startEtcd, startTcpProxy, ETCD_BIN, ETCDCTL_BIN } from './etcd.js'
export type { Etcd, EtcdInit, EtcdRun, TcpProxy } from './etcd.js'
