/**
 * `weft proxy`: kube-proxy's flags (and a KubeProxyConfiguration through
 * `--config`), the Linux kernel behind the proxiers, /healthz and /metrics
 * servers, `--cleanup`. Until Weft's kube client exists, Services and
 * EndpointSlices come from `--services-file` or `--watch-dir`.
 */
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as os from 'node:os'
import { pino } from 'pino'
import { parse as parseYaml } from 'yaml'
import { LinuxNetNS, findTool, libNftables, linuxIptables, linuxNftables, linuxSysctl, openGenetlink } from '../../kernel/index.js'
import type { Genetlink, Netlink } from '../../kernel/index.js'
import { iptablesProxier } from '../iptables/index.js'
import { ipvsCleanup, ipvsProxier, ipvsSysctls, linuxIpset, linuxIpvs } from '../ipvs/index.js'
import type { Ipvs } from '../ipvs/index.js'
import { nftablesProxier } from '../nftables/index.js'
import { ProxyError, familyOfAddress } from '../tracker/index.js'
import type { IpFamily, Proxier } from '../tracker/index.js'
import { conntrackTool } from './conntrack.js'
import { healthCheckServers } from './healthcheck.js'
import { startProxyLoop } from './proxy.js'
import type { ProxyLoop } from './proxy.js'
import { kubeSource } from './kube-source.js'
import { fileSource } from './source.js'

export type ProxyMode = 'iptables' | 'nftables' | 'ipvs'

export interface ProxyOptions {
  proxyMode: ProxyMode
  kubeconfig?: string | undefined
  clusterCidr: string
  hostnameOverride?: string | undefined
  masqueradeAll: boolean
  cleanup: boolean
  healthzBindAddress: string
  metricsBindAddress: string
  nodeportAddresses: string[]
  config?: string | undefined
  servicesFile?: string | undefined
  watchDir?: string | undefined
  watchMs: number
  minSyncPeriodMs: number
  syncPeriodMs: number
  logLevel: string
  /** IPVS mode: `--ipvs-scheduler` (rr when empty). */
  ipvsScheduler: string
  /** IPVS mode: `--ipvs-strict-arp` (arp_ignore=1, arp_announce=2). */
  ipvsStrictArp: boolean
  /** IPVS mode: `--ipvs-tcp-timeout`, `--ipvs-tcpfin-timeout`, `--ipvs-udp-timeout` in ms; 0 leaves the kernel's. */
  ipvsTcpTimeoutMs: number
  ipvsTcpFinTimeoutMs: number
  ipvsUdpTimeoutMs: number
}

export const proxyDefaults: ProxyOptions = {
  proxyMode: 'iptables',
  clusterCidr: '',
  masqueradeAll: false,
  cleanup: false,
  healthzBindAddress: '0.0.0.0:10256',
  metricsBindAddress: '127.0.0.1:10249',
  nodeportAddresses: [],
  watchMs: 1000,
  minSyncPeriodMs: 1000,
  syncPeriodMs: 30_000,
  logLevel: 'info',
  ipvsScheduler: '',
  ipvsStrictArp: false,
  ipvsTcpTimeoutMs: 0,
  ipvsTcpFinTimeoutMs: 0,
  ipvsUdpTimeoutMs: 0
}

/** Go duration text (`1s`, `30s`, `500ms`, `1m0s`) in milliseconds. */
export function parseDuration (v: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g
  let total = 0
  let seen = ''
  for (const m of v.matchAll(re)) {
    seen += m[0]
    total += Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3600_000 } as Record<string, number>)[m[2] as string]!
  }
  if (seen !== v || v === '') throw new ProxyError('PROXY_ERR_CONFIG', `invalid duration ${JSON.stringify(v)}`)
  return total
}

/**
 * Applies a KubeProxyConfiguration file under the options: its values are
 * used wherever the command line left a default (`explicit` names the
 * options given on the command line).
 */
export function applyConfigFile (opts: ProxyOptions, text: string, explicit: ReadonlySet<string>): ProxyOptions {
  let cfg: Record<string, unknown>
  try {
    cfg = parseYaml(text) as Record<string, unknown>
  } catch (e) {
    throw new ProxyError('PROXY_ERR_CONFIG', `--config: ${(e as Error).message}`, { cause: e })
  }
  if (cfg === null || typeof cfg !== 'object' || cfg.kind !== 'KubeProxyConfiguration') {
    throw new ProxyError('PROXY_ERR_CONFIG', '--config: not a KubeProxyConfiguration')
  }
  const out = { ...opts }
  const set = <K extends keyof ProxyOptions>(k: K, v: ProxyOptions[K] | undefined): void => {
    if (v !== undefined && !explicit.has(k)) out[k] = v
  }
  const str = (v: unknown): string | undefined => typeof v === 'string' && v !== '' ? v : undefined
  const mode = str(cfg.mode)
  if (mode !== undefined && !['iptables', 'nftables', 'ipvs'].includes(mode)) throw new ProxyError('PROXY_ERR_CONFIG', `--config: unknown mode ${mode}`)
  set('proxyMode', mode as ProxyMode | undefined)
  set('clusterCidr', str(cfg.clusterCIDR))
  set('hostnameOverride', str(cfg.hostnameOverride))
  set('healthzBindAddress', str(cfg.healthzBindAddress))
  set('metricsBindAddress', str(cfg.metricsBindAddress))
  if (Array.isArray(cfg.nodePortAddresses)) set('nodeportAddresses', cfg.nodePortAddresses.map(String))
  const conn = (cfg.clientConnection as { kubeconfig?: unknown } | undefined)?.kubeconfig
  set('kubeconfig', str(conn))
  const modeCfg = (cfg[(mode ?? out.proxyMode)] ?? cfg.iptables) as Record<string, unknown> | undefined
  if (modeCfg !== undefined && modeCfg !== null) {
    if (typeof modeCfg.masqueradeAll === 'boolean') set('masqueradeAll', modeCfg.masqueradeAll)
    const min = str(modeCfg.minSyncPeriod)
    if (min !== undefined) set('minSyncPeriodMs', parseDuration(min))
    const per = str(modeCfg.syncPeriod)
    if (per !== undefined) set('syncPeriodMs', parseDuration(per))
  }
  // The ipvs section (KubeProxyIPVSConfiguration), read whatever the mode, as kube-proxy does.
  const ipvsCfg = cfg.ipvs as Record<string, unknown> | undefined | null
  if (ipvsCfg !== undefined && ipvsCfg !== null && typeof ipvsCfg === 'object') {
    set('ipvsScheduler', str(ipvsCfg.scheduler))
    if (typeof ipvsCfg.strictARP === 'boolean') set('ipvsStrictArp', ipvsCfg.strictARP)
    for (const [k, o] of [['tcpTimeout', 'ipvsTcpTimeoutMs'], ['tcpFinTimeout', 'ipvsTcpFinTimeoutMs'], ['udpTimeout', 'ipvsUdpTimeoutMs']] as const) {
      const v = str(ipvsCfg[k])
      if (v !== undefined) set(o, parseDuration(v))
    }
    const unsupported = ['excludeCIDRs'].filter((k) => Array.isArray(ipvsCfg[k]) && (ipvsCfg[k] as unknown[]).length > 0)
    if (unsupported.length > 0) throw new ProxyError('PROXY_ERR_CONFIG', `--config: ipvs.${unsupported.join(', ipvs.')} is not supported`)
  }
  if (typeof cfg.syncPeriod === 'string') set('syncPeriodMs', parseDuration(cfg.syncPeriod))
  if (typeof cfg.minSyncPeriod === 'string') set('minSyncPeriodMs', parseDuration(cfg.minSyncPeriod))
  return out
}

/** Local addresses inside the `--nodeport-addresses` CIDRs (`primary`: none given, kube-proxy's nftables default). */
export function resolveNodePortIPs (cidrs: readonly string[], family: IpFamily): string[] | undefined {
  if (cidrs.length === 0 || cidrs.includes('primary')) return undefined
  const out: string[] = []
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (familyOfAddress(a.address) !== family) continue
      if (cidrs.some((c) => inCidr(a.address, c))) out.push(a.address)
    }
  }
  return out
}

function inCidr (addr: string, cidr: string): boolean {
  const [net = '', len = ''] = cidr.split('/')
  const fam = familyOfAddress(net)
  if (fam === undefined || fam !== familyOfAddress(addr)) return false
  const bits = fam === 4 ? 32 : 128
  const toBig = (a: string): bigint => fam === 4
    ? a.split('.').reduce((acc, o) => (acc << 8n) + BigInt(o), 0n)
    : expand6(a).reduce((acc, h) => (acc << 16n) + BigInt(parseInt(h, 16)), 0n)
  const shift = BigInt(bits - Number(len === '' ? bits : len))
  return (toBig(addr) >> shift) === (toBig(net) >> shift)
}

function expand6 (a: string): string[] {
  const [head = '', tail] = a.split('::')
  const h = head === '' ? [] : head.split(':')
  const t = tail === undefined || tail === '' ? [] : tail.split(':')
  return [...h, ...Array(8 - h.length - t.length).fill('0'), ...t]
}

/** IPVS in this namespace, or why not (PROXY_ERR_NO_IPVS's message on a kernel without it). */
function openIpvs (): { ipvs: Ipvs, genl: Genetlink } | { missing: string } {
  let genl: Genetlink | undefined
  try {
    genl = openGenetlink()
    return { ipvs: linuxIpvs(genl), genl }
  } catch (e) {
    genl?.close()
    if (e instanceof ProxyError && e.code === 'PROXY_ERR_NO_IPVS') return { missing: e.message }
    throw e
  }
}

/**
 * IPVS mode's leftovers of both families: chains, ipsets, kube-ipvs0 and
 * (when the kernel has IPVS) virtual servers. `skipped` says what could not
 * be looked at.
 */
function cleanupIpvs (nl: Netlink): { done: string[], errors: string[], skipped: string[] } {
  const done: string[] = []
  const errors: string[] = []
  const skipped: string[] = []
  const found = openIpvs()
  if ('missing' in found) skipped.push(`IPVS virtual servers (${found.missing})`)
  let ipset = linuxIpset()
  try { findTool('ipset') } catch {
    skipped.push('ipsets (no ipset tool)')
    ipset = { save: () => '', restore: () => {} }
  }
  try {
    for (const family of [4, 6] as const) {
      const ipt = linuxIptables(family)
      let usable = true
      try { ipt.save('nat') } catch { usable = false }
      const r = ipvsCleanup(family, { ipvs: 'ipvs' in found ? found.ipvs : undefined, netlink: nl, ipset, iptables: usable ? ipt : undefined })
      done.push(...r.removed)
      errors.push(...r.errors)
    }
  } finally {
    if ('genl' in found) found.genl.close()
  }
  return { done, errors, skipped }
}

/** Removes every mode's rules of both families (kube-proxy --cleanup); returns what it removed and what it had to skip. */
export function cleanupAll (): { done: string[], skipped: string[] } {
  const done: string[] = []
  const errors: string[] = []
  // IPVS first: while its chains reference KUBE-MARK-MASQ, iptables mode's cleanup could not delete that chain.
  const nl = new LinuxNetNS().netlink()
  let skipped: string[] = []
  try {
    const r = cleanupIpvs(nl)
    done.push(...r.done)
    errors.push(...r.errors)
    skipped = r.skipped
  } catch (e) {
    errors.push((e as Error).message)
  } finally { nl.close() }
  for (const family of [4, 6] as const) {
    const cfg = { family, clusterCIDRs: [], masqueradeAll: false }
    try {
      const nft = linuxNftables()
      if (nft.listTable(family === 4 ? 'ip' : 'ip6', 'kube-proxy') !== undefined) {
        nftablesProxier(cfg, { nft }).cleanup()
        done.push(`nftables ${family === 4 ? 'ip' : 'ip6'} kube-proxy`)
      }
    } catch (e) { if (!/not found/.test((e as Error).message)) errors.push((e as Error).message) }
    const ipt = linuxIptables(family)
    let ours = false
    try {
      ours = [...ipt.listChains('nat'), ...ipt.listChains('filter')].some((c) => c.startsWith('KUBE-'))
    } catch { continue } // no iptables for this family
    if (!ours) continue
    try {
      iptablesProxier(cfg, { iptables: ipt }).cleanup()
      done.push(`iptables IPv${family}`)
    } catch (e) { errors.push((e as Error).message) }
  }
  if (errors.length > 0) throw new ProxyError('PROXY_ERR_CLEANUP', errors.join('; '))
  return { done, skipped }
}

/** A netlink socket in the proxy's own namespace (kube-ipvs0, node addresses). */
function ipvsNetlink (): Netlink {
  return new LinuxNetNS().netlink()
}

function splitHostPort (v: string, what: string): { host: string, port: number } {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(v)
  if (m === null) throw new ProxyError('PROXY_ERR_CONFIG', `${what}: expected host:port, got ${JSON.stringify(v)}`)
  return { host: m[1] as string, port: Number(m[2]) }
}

/** Runs `weft proxy` until SIGINT/SIGTERM. */
export async function runProxy (raw: ProxyOptions, explicit: ReadonlySet<string> = new Set()): Promise<void> {
  let opts = raw
  if (opts.config !== undefined) {
    let text: string
    try { text = fs.readFileSync(opts.config, 'utf8') } catch (e) { throw new ProxyError('PROXY_ERR_CONFIG', `--config: ${(e as Error).message}`, { cause: e }) }
    opts = applyConfigFile(opts, text, explicit)
  }
  if (opts.cleanup) {
    const { done, skipped } = cleanupAll()
    process.stdout.write(done.length === 0 ? 'nothing to clean up\n' : `removed: ${done.join(', ')}\n`)
    for (const s of skipped) process.stdout.write(`skipped: ${s}\n`)
    return
  }
  if (!['iptables', 'nftables', 'ipvs'].includes(opts.proxyMode)) throw new ProxyError('PROXY_ERR_CONFIG', `unknown --proxy-mode ${String(opts.proxyMode)}`)
  // IPVS mode needs IPVS: unlike kube-proxy, which falls back to another mode, refuse (PROXY_ERR_NO_IPVS).
  let ipvsKit: { ipvs: Ipvs, genl: Genetlink } | undefined
  if (opts.proxyMode === 'ipvs') {
    const found = openIpvs()
    if ('missing' in found) throw new ProxyError('PROXY_ERR_NO_IPVS', found.missing)
    ipvsKit = found
  }
  if (opts.servicesFile === undefined && opts.watchDir === undefined && opts.kubeconfig === undefined) {
    throw new ProxyError('PROXY_ERR_CONFIG', 'no source of Services: give --kubeconfig, --services-file or --watch-dir')
  }
  const log = pino({ level: opts.logLevel, base: { daemon: 'proxy' } }, pino.destination(2))
  const nodeName = opts.hostnameOverride ?? os.hostname()
  const cidrs = opts.clusterCidr.split(',').map((c) => c.trim()).filter((c) => c !== '')
  const proxiers: Proxier[] = []
  for (const family of [4, 6] as const) {
    const cfg = {
      family,
      clusterCIDRs: cidrs.filter((c) => familyOfAddress(c.split('/')[0] ?? '') === family),
      masqueradeAll: opts.masqueradeAll,
      nodePortIPs: resolveNodePortIPs(opts.nodeportAddresses, family)
    }
    if (opts.proxyMode === 'nftables') {
      // In-process libnftables where it loads (no nft process per sync: ~20 ms less for a small change on a large
      // table), else the nft command.
      proxiers.push(nftablesProxier(cfg, { nft: libNftables() ?? linuxNftables() }))
    } else if (ipvsKit !== undefined) {
      const ipt = linuxIptables(family)
      try { ipt.save('nat') } catch (e) {
        log.warn({ family, err: (e as Error).message }, 'family unusable in ipvs mode (no ip(6)tables); skipped')
        continue
      }
      const nodePortCIDRs = opts.nodeportAddresses.filter((c) => c !== 'primary' && familyOfAddress(c.split('/')[0] ?? '') === family)
      proxiers.push(ipvsProxier({
        family,
        clusterCIDRs: cfg.clusterCIDRs,
        masqueradeAll: opts.masqueradeAll,
        ...(nodePortCIDRs.length > 0 ? { nodePortCIDRs } : {}),
        ...(opts.ipvsScheduler !== '' ? { scheduler: opts.ipvsScheduler } : {}),
        randomFully: true
      }, { ipvs: ipvsKit.ipvs, netlink: ipvsNetlink(), ipset: linuxIpset(), iptables: ipt }))
    } else {
      const ipt = linuxIptables(family)
      try { ipt.save('nat') } catch (e) {
        log.warn({ family, err: (e as Error).message }, 'family unusable in iptables mode; skipped')
        continue
      }
      proxiers.push(iptablesProxier({ ...cfg, randomFully: true }, { iptables: ipt }))
    }
  }
  if (proxiers.length === 0) throw new ProxyError('PROXY_ERR_UNSUPPORTED', `${opts.proxyMode}: no usable address family`)
  if (ipvsKit !== undefined) {
    ipvsSysctls(linuxSysctl, { strictARP: opts.ipvsStrictArp })
    const sec = (ms: number): number => Math.round(ms / 1000)
    if (opts.ipvsTcpTimeoutMs + opts.ipvsTcpFinTimeoutMs + opts.ipvsUdpTimeoutMs > 0) {
      ipvsKit.ipvs.setTimeouts({ tcp: sec(opts.ipvsTcpTimeoutMs), tcpFin: sec(opts.ipvsTcpFinTimeoutMs), udp: sec(opts.ipvsUdpTimeoutMs) })
    }
  }
  // Leftovers of the other mode (a node switching modes).
  for (const family of [4, 6] as const) {
    const cfg = { family, clusterCIDRs: [], masqueradeAll: false }
    try {
      if (opts.proxyMode !== 'nftables') {
        const nft = linuxNftables()
        if (nft.listTable(family === 4 ? 'ip' : 'ip6', 'kube-proxy') !== undefined) nftablesProxier(cfg, { nft }).cleanup()
      }
      if (opts.proxyMode === 'nftables') {
        const ipt = linuxIptables(family)
        if (ipt.listChains('nat').includes('KUBE-SERVICES')) iptablesProxier(cfg, { iptables: ipt }).cleanup()
      }
      if (opts.proxyMode === 'ipvs') {
        // iptables mode's own chains only (the shared KUBE-SERVICES may be IPVS mode's from an earlier run).
        const ipt = linuxIptables(family)
        const nat = ipt.listChains('nat')
        if (nat.includes('KUBE-NODEPORTS') || nat.some((c) => /^KUBE-(SVC|SEP)-/.test(c))) iptablesProxier(cfg, { iptables: ipt }).cleanup()
      }
    } catch (e) { log.warn({ family, err: (e as Error).message }, 'cleaning the other mode\'s leftovers failed') }
  }
  if (opts.proxyMode !== 'ipvs') {
    const nl = ipvsNetlink()
    try {
      const r = cleanupIpvs(nl)
      if (r.done.length > 0) log.info({ removed: r.done }, 'removed IPVS mode\'s leftovers')
      if (r.errors.length > 0) log.warn({ err: r.errors.join('; ') }, 'cleaning IPVS mode\'s leftovers failed')
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'cleaning IPVS mode\'s leftovers failed')
    } finally { nl.close() }
  }
  const onSourceError = (e: unknown): void => { log.error({ err: (e as Error).message, code: (e as { code?: string }).code }, 'source') }
  const source = opts.servicesFile === undefined && opts.watchDir === undefined
    ? kubeSource({ kubeconfig: opts.kubeconfig as string, onError: onSourceError })
    : fileSource({ path: (opts.servicesFile ?? opts.watchDir) as string, watchMs: opts.watchMs, onError: onSourceError })
  let loopRef: ProxyLoop | undefined
  const healthChecks = healthCheckServers({
    proxyHealthy: () => loopRef?.health().healthy ?? false,
    onError: (port, e) => { log.error({ port, err: (e as Error).message }, 'FailedToStartServiceHealthcheck') }
  })
  const loop = await startProxyLoop({ nodeName, minSyncPeriodMs: opts.minSyncPeriodMs, syncPeriodMs: opts.syncPeriodMs }, {
    source,
    proxiers,
    conntrack: conntrackTool(),
    healthChecks,
    logger: log,
    onSync: ({ stats, error }) => {
      if (error === undefined) log.debug({ stats }, 'synced')
    }
  })
  loopRef = loop
  const servers: http.Server[] = []
  const listen = async (addr: string, what: string, handler: http.RequestListener): Promise<void> => {
    if (addr === '' || addr.endsWith(':0')) return
    const { host, port } = splitHostPort(addr, what)
    const srv = http.createServer(handler)
    await new Promise<void>((resolve, reject) => { srv.once('error', reject); srv.listen(port, host, () => { resolve() }) })
    servers.push(srv)
  }
  const healthHandler: http.RequestListener = (req, res) => {
    if (req.url !== '/healthz' && req.url !== '/livez') { res.writeHead(404).end(); return }
    const h = loop.health()
    res.writeHead(h.healthy ? 200 : 503, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' })
    res.end(JSON.stringify({ lastUpdated: new Date(h.lastUpdated).toISOString(), currentTime: new Date(h.now).toISOString(), nodeEligible: true, healthy: h.healthy }))
  }
  await listen(opts.healthzBindAddress, '--healthz-bind-address', healthHandler)
  await listen(opts.metricsBindAddress, '--metrics-bind-address', (req, res) => {
    if (req.url === '/metrics') { res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(loop.metrics.render(opts.proxyMode)); return }
    healthHandler(req, res)
  })
  log.info({ mode: opts.proxyMode, families: proxiers.map((p) => p.family), nodeName }, 'weft proxy started')
  await new Promise<void>((resolve) => {
    const done = (): void => { resolve() }
    process.once('SIGINT', done)
    process.once('SIGTERM', done)
  })
  await loop.stop()
  for (const s of servers) s.close()
  log.info({}, 'weft proxy stopped')
}
