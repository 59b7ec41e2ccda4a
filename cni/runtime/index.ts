/**
 * The runtime side of CNI, as libcni does it: run a network configuration
 * list's plugins in order for ADD (each gets the previous result as
 * `prevResult`), in reverse for DEL, inject `runtimeConfig` from capabilities,
 * cache the final ADD result and hand it to DEL and CHECK.
 *
 * Used by `weft demo` and, later, by the kubelet. Plugins are found as
 * `<dir>/<type>` along `binDirs`. `execPrefix` runs them through a wrapper
 * (e.g. `ip netns exec <node>` to act for a node namespace).
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { execa } from 'execa'
import { CniError } from '../skel/index.js'

export interface PluginConf { type: string, capabilities?: Record<string, boolean>, [key: string]: unknown }

export interface NetworkList {
  cniVersion: string
  name: string
  plugins: PluginConf[]
  disableCheck?: boolean
  disableGC?: boolean
}

export interface Attachment {
  containerId: string
  netns: string
  ifName: string
  /** CNI_ARGS pairs. */
  args?: Array<[string, string]>
  /** Capability arguments (e.g. `portMappings`), injected as `runtimeConfig` for plugins that declare them. */
  capabilityArgs?: Record<string, unknown>
}

export interface RuntimeOptions {
  binDirs: string[]
  /** Where ADD results are cached (libcni: /var/lib/cni). */
  cacheDir: string
  execPrefix?: string[]
  env?: Record<string, string>
}

const nameRe = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

/**
 * The PATH plugins get: ours without node_modules/.bin entries. Under npm
 * scripts that holds an unrelated `nft` (from @vercel/nft) which would shadow
 * nftables' own for plugins that look it up by name (the reference's spoof check does).
 */
export function systemPath (): string {
  const parts = (process.env.PATH ?? '').split(':').filter((p) => p !== '' && !p.includes('node_modules'))
  for (const p of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) if (!parts.includes(p)) parts.push(p)
  return parts.join(':')
}

/** Parses and validates a .conflist document. */
export function parseConfList (text: string): NetworkList {
  let raw: unknown
  try { raw = JSON.parse(text) } catch (e) { throw new CniError('CNI_ERR_DECODE', 'error parsing configuration list', (e as Error).message) }
  const o = raw as Record<string, unknown>
  if (typeof o !== 'object' || o === null) throw new CniError('CNI_ERR_DECODE', 'configuration list is not an object')
  if (typeof o.name !== 'string' || !nameRe.test(o.name)) throw new CniError('CNI_ERR_INVALID_CONFIG', `invalid network name ${JSON.stringify(o.name)}`)
  if (typeof o.cniVersion !== 'string') throw new CniError('CNI_ERR_INVALID_CONFIG', 'missing cniVersion')
  if (!Array.isArray(o.plugins) || o.plugins.length === 0) throw new CniError('CNI_ERR_INVALID_CONFIG', `no plugins in list "${o.name}"`)
  for (const p of o.plugins as unknown[]) {
    const t = (p as { type?: unknown }).type
    if (typeof t !== 'string' || t === '' || t.includes('/')) throw new CniError('CNI_ERR_INVALID_CONFIG', `invalid plugin type ${JSON.stringify(t)}`)
  }
  return o as unknown as NetworkList
}

export class CniRuntime {
  readonly #o: RuntimeOptions
  constructor (opts: RuntimeOptions) { this.#o = opts }

  #find (type: string): string {
    for (const d of this.#o.binDirs) {
      const f = path.join(d, type)
      if (fs.existsSync(f)) return f
    }
    throw new CniError('CNI_ERR_PLUGIN_NOT_FOUND', `failed to find plugin "${type}" in path [${this.#o.binDirs.join(' ')}]`)
  }

  #cacheFile (list: NetworkList, a: Attachment): string {
    return path.join(this.#o.cacheDir, 'results', `${list.name}-${a.containerId}-${a.ifName}`)
  }

  #conf (list: NetworkList, p: PluginConf, a: Attachment, prevResult: unknown): string {
    const conf: Record<string, unknown> = { ...p, name: list.name, cniVersion: list.cniVersion }
    const rc: Record<string, unknown> = {}
    for (const [cap, on] of Object.entries(p.capabilities ?? {})) {
      if (on && a.capabilityArgs?.[cap] !== undefined) rc[cap] = a.capabilityArgs[cap]
    }
    if (Object.keys(rc).length > 0) conf.runtimeConfig = rc
    if (prevResult !== undefined) conf.prevResult = prevResult
    return JSON.stringify(conf)
  }

  async #exec (command: string, p: PluginConf, stdin: string, a: Attachment | undefined): Promise<unknown> {
    const file = this.#find(p.type)
    const env: Record<string, string> = {
      PATH: systemPath(),
      ...this.#o.env,
      CNI_COMMAND: command,
      CNI_PATH: this.#o.binDirs.join(':')
    }
    if (a !== undefined) {
      env.CNI_CONTAINERID = a.containerId
      env.CNI_IFNAME = a.ifName
      if (a.netns !== '') env.CNI_NETNS = a.netns
      if (a.args !== undefined && a.args.length > 0) env.CNI_ARGS = a.args.map(([k, v]) => `${k}=${v}`).join(';')
    }
    const prefix = this.#o.execPrefix ?? []
    const [cmd, ...args] = [...prefix, file]
    const r = await execa(cmd as string, args, { input: stdin, env, extendEnv: false, reject: false })
    if (r.exitCode !== 0) {
      let e: { code?: number, msg?: string, details?: string } = {}
      try { e = JSON.parse(String(r.stdout)) as typeof e } catch { /* not JSON */ }
      throw new CniError('CNI_ERR_DELEGATE', `plugin type="${p.type}" failed (${command.toLowerCase()}): ${e.msg ?? (String(r.stderr).trim() || `exit ${String(r.exitCode)}`)}`, e.details ?? '', { number: e.code ?? 999 })
    }
    const out = String(r.stdout).trim()
    return out === '' ? undefined : JSON.parse(out)
  }

  /** ADD through the whole list; caches and returns the final result. */
  async add (list: NetworkList, a: Attachment): Promise<unknown> {
    let prev: unknown
    for (const p of list.plugins) {
      prev = await this.#exec('ADD', p, this.#conf(list, p, a, prev), a)
    }
    const file = this.#cacheFile(list, a)
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
    fs.writeFileSync(file, JSON.stringify({ kind: 'cniCacheV1', containerId: a.containerId, ifName: a.ifName, networkName: list.name, netns: a.netns, result: prev }), { mode: 0o600 })
    return prev
  }

  /** The cached result of an attachment, if any. */
  cachedResult (list: NetworkList, a: Attachment): unknown {
    try {
      return (JSON.parse(fs.readFileSync(this.#cacheFile(list, a), 'utf8')) as { result?: unknown }).result
    } catch { return undefined }
  }

  /** DEL in reverse order with the cached result as prevResult; removes the cache. */
  async del (list: NetworkList, a: Attachment): Promise<void> {
    const prev = this.cachedResult(list, a)
    for (const p of [...list.plugins].reverse()) {
      await this.#exec('DEL', p, this.#conf(list, p, a, prev), a)
    }
    try { fs.unlinkSync(this.#cacheFile(list, a)) } catch { /* already gone */ }
  }

  async check (list: NetworkList, a: Attachment): Promise<void> {
    if (list.disableCheck === true) return
    const prev = this.cachedResult(list, a)
    if (prev === undefined) throw new CniError('CNI_ERR_INVALID_CONFIG', `no cached result for ${a.containerId}/${a.ifName}`)
    for (const p of list.plugins) await this.#exec('CHECK', p, this.#conf(list, p, a, prev), a)
  }
}
