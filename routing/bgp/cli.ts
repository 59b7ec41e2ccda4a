/**
 * `weft bgpd --config FILE` (the daemon) and `weft bgp <command>` (its client over the API socket).
 */
import * as fs from 'node:fs'
import * as http from 'node:http'
import { pino } from 'pino'
import { LinuxNetNS } from '../../kernel/index.js'
import { BgpdError } from './errors.js'
import { buildApi, listenApi } from './speaker/api.js'
import { DEFAULT_API_SOCKET, loadConfig } from './speaker/config.js'
import { FibInstaller } from './speaker/fib.js'
import { Speaker } from './speaker/speaker.js'
import type { Logger, ReloadResult } from './speaker/speaker.js'

export interface BgpdOptions { config: string, logLevel?: string }

/** Runs the daemon until SIGTERM/SIGINT or `POST /v1/shutdown`. */
export async function runBgpd (opts: BgpdOptions): Promise<void> {
  const cfg = loadConfig(opts.config)
  const log = pino({ level: opts.logLevel ?? 'info', base: { daemon: 'bgpd', routerId: cfg.routerId } }, pino.destination(2)) as unknown as Logger
  let fib: FibInstaller | undefined
  let restarting = false
  const netlink = cfg.fib.enabled ? new LinuxNetNS().netlink() : undefined
  if (netlink !== undefined) {
    fib = new FibInstaller(cfg.fib, { netlink, log: log.child({ component: 'fib' }) })
    const left = fib.existing()
    if (left > 0) {
      // RFC 4724: routes of our protocol survived a restart of ours; keep forwarding on them until the peers
      // have sent their End-of-RIB (or the restart time runs out), then drop what is no longer wanted.
      restarting = true
      fib.holdStale()
      log.info({ routes: left }, 'kernel routes of a previous run found: restarting gracefully')
    }
  }
  let releaseTimer: NodeJS.Timeout | undefined
  const speaker = new Speaker(cfg, {
    log,
    ...(fib !== undefined ? { sink: fib } : {}),
    onConverged: () => { if (releaseTimer !== undefined) { clearTimeout(releaseTimer); releaseTimer = undefined; fib?.release() } }
  }, { restarting })
  if (restarting) releaseTimer = setTimeout(() => { releaseTimer = undefined; fib?.release() }, cfg.gracefulRestart.restartTime * 1000)
  let done!: () => void
  const finished = new Promise<void>((resolve) => { done = resolve })
  let stopping = false
  const shutdown = (graceful: boolean): void => {
    if (stopping) return
    stopping = true
    log.info({ graceful }, 'stopping')
    void (async () => {
      if (graceful) speaker.abandon()
      else await speaker.stop()
      fib?.close(graceful)
      netlink?.close()
      await api.close()
      try { fs.unlinkSync(cfg.api.socket) } catch { /* gone */ }
      done()
    })()
  }
  // The configuration file again: peers and announcements change live (Speaker.reload), the rest needs a restart.
  const reload = (): ReloadResult => speaker.reload(loadConfig(opts.config))
  const api = buildApi({ speaker, fib, shutdown, reload })
  await speaker.start()
  fib?.start(speaker.rib)
  await listenApi(api, cfg.api.socket)
  log.info({ listen: cfg.listen, api: cfg.api.socket, peers: cfg.peers.length }, 'bgpd running')
  process.on('SIGHUP', () => {
    try { reload() } catch (e) { log.error({ code: (e as { code?: string }).code }, `reload on SIGHUP refused: ${(e as Error).message}`) }
  })
  process.on('SIGTERM', () => shutdown(false))
  process.on('SIGINT', () => shutdown(false))
  await finished
}

export interface BgpCliOptions {
  socket?: string
  json?: boolean
  nextHop?: string
  community?: string[]
  localPref?: string
  med?: string
  family?: string
  graceful?: boolean
}

async function call (socket: string, method: string, url: string, body?: unknown): Promise<unknown> {
  return await new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body)
    const req = http.request({
      socketPath: socket, method, path: url,
      headers: data !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json: unknown = text
        try { json = JSON.parse(text) } catch { /* text */ }
        if ((res.statusCode ?? 500) >= 400) {
          const e = json as { code?: string, message?: string }
          reject(new BgpdError('BGPD_ERR_DAEMON', `${e.code !== undefined ? `[${e.code}] ` : ''}${e.message ?? text}`))
        } else resolve(json)
      })
    })
    req.on('error', (e) => reject(new BgpdError('BGPD_ERR_DAEMON', `no bgpd at ${socket} (${e.message}); is \`weft bgpd\` running?`, { cause: e })))
    if (data !== undefined) req.write(data)
    req.end()
  })
}

function table (rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n')
}

function uptime (s: number | undefined): string {
  if (s === undefined) return '-'
  const h = Math.floor(s / 3600); const m = Math.floor((s % 3600) / 60)
  return h > 0 ? `${h}h${m}m` : m > 0 ? `${m}m${s % 60}s` : `${s}s`
}

/** `weft bgp <command> [args]`; prints to stdout, throws BgpdError. */
export async function bgpCli (command: string, args: string[], opts: BgpCliOptions): Promise<void> {
  const socket = opts.socket ?? DEFAULT_API_SOCKET
  const out = (v: unknown, text: () => string): void => { process.stdout.write((opts.json === true ? JSON.stringify(v, null, 2) : text()) + '\n') }
  switch (command) {
    case 'neighbors': case 'neighbours': case 'peers': {
      const ns = await call(socket, 'GET', '/v1/neighbors') as Array<Record<string, unknown>>
      out(ns, () => table([['PEER', 'AS', 'STATE', 'UP', 'RCVD', 'SENT', 'ROUTER-ID', 'LAST ERROR'],
        ...ns.map((n) => [String(n.address), String(n.asn), String(n.state), uptime(n.uptimeSeconds as number | undefined),
          String(n.prefixesReceived), String(n.prefixesAdvertised), String(n.routerId ?? '-'), String(n.lastError ?? '')])]))
      return
    }
    case 'rib': {
      const q = new URLSearchParams()
      if (args[0] !== undefined) q.set('prefix', args[0])
      if (opts.family !== undefined) q.set('family', opts.family)
      const rows = await call(socket, 'GET', `/v1/rib?${q.toString()}`) as Array<{ prefix: string, reason?: string, paths: Array<Record<string, unknown>> }>
      out(rows, () => {
        const lines: string[][] = [['', 'PREFIX', 'NEXT HOP', 'FROM', 'AS PATH', 'LP', 'MED', 'WHY BEST']]
        for (const r of rows) {
          for (const p of r.paths) {
            lines.push([p.best === true ? '*>' : (p.stale === true ? ' S' : ' '), r.prefix, String(p.nextHop ?? '-'), String(p.source),
              (p.asPath as number[][]).map((s) => s.join(' ')).join(' ') || '-', String(p.localPref ?? '-'), String(p.med ?? '-'),
              p.best === true ? String(r.reason ?? '') : ''])
          }
        }
        return table(lines)
      })
      return
    }
    case 'announce': {
      if (args[0] === undefined) throw new BgpdError('BGPD_ERR_REQUEST', 'usage: weft bgp announce <prefix> [--next-hop IP] [--community A:B ...] [--local-pref N] [--med N]')
      const body: Record<string, unknown> = { prefix: args[0] }
      if (opts.nextHop !== undefined) body.nextHop = opts.nextHop
      if (opts.community !== undefined) body.communities = opts.community
      if (opts.localPref !== undefined) body.localPref = Number(opts.localPref)
      if (opts.med !== undefined) body.med = Number(opts.med)
      out(await call(socket, 'POST', '/v1/announce', body), () => `announced ${args[0] ?? ''}`)
      return
    }
    case 'withdraw': {
      if (args[0] === undefined) throw new BgpdError('BGPD_ERR_REQUEST', 'usage: weft bgp withdraw <prefix>')
      out(await call(socket, 'POST', '/v1/withdraw', { prefix: args[0] }), () => `withdrawn ${args[0] ?? ''}`)
      return
    }
    case 'refresh': case 'reset': {
      if (args[0] === undefined) throw new BgpdError('BGPD_ERR_REQUEST', `usage: weft bgp ${command} <peer>`)
      out(await call(socket, 'POST', `/v1/neighbors/${encodeURIComponent(args[0])}/${command}`, {}), () => `${command} ${args[0] ?? ''}: ok`)
      return
    }
    case 'reload': {
      const r = await call(socket, 'POST', '/v1/reload', {}) as Record<string, string[]>
      out(r, () => {
        const parts = Object.entries(r).filter(([, v]) => v.length > 0).map(([k, v]) => `${k}: ${v.join(', ')}`)
        return parts.length > 0 ? `reloaded; ${parts.join('; ')}` : 'reloaded; no peer changed'
      })
      return
    }
    case 'shutdown': {
      out(await call(socket, 'POST', '/v1/shutdown', { graceful: opts.graceful === true }), () => opts.graceful === true ? 'bgpd stopping gracefully (kernel routes kept)' : 'bgpd stopping')
      return
    }
    default:
      throw new BgpdError('BGPD_ERR_REQUEST', `unknown command "${command}" (neighbors, rib, announce, withdraw, refresh, reset, reload, shutdown)`)
  }
}
