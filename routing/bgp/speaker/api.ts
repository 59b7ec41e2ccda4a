/**
 * The local management API: HTTP/JSON (fastify) on a unix socket, which `weft bgp ...` finds at
 * `$WEFT_BGPD_SOCKET` or /run/weft/bgpd.sock without flags. Routes are listed in docs/bgp.md. Errors answer
 * `{ code, message }` with a `BGPD_ERR_*` code.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { BgpdError } from '../errors.js'
import { announceEntry } from './config.js'
import type { FibInstaller } from './fib.js'
import type { ReloadResult, Speaker } from './speaker.js'

export interface ApiDeps {
  speaker: Speaker
  fib: FibInstaller | undefined
  /** Ends the daemon; `graceful`: keep kernel routes and close sessions without a NOTIFICATION (RFC 4724). */
  shutdown: (graceful: boolean) => void
  /** Reads the configuration file again and applies it (peers and announcements). */
  reload?: () => ReloadResult
}

/** A prefix or announcement from a request: a bad one is the caller's error (BGPD_ERR_REQUEST), not the config's. */
function requestEntry (v: unknown, key: string): ReturnType<typeof announceEntry> {
  try {
    return announceEntry(v, key)
  } catch (e) {
    throw new BgpdError('BGPD_ERR_REQUEST', (e as Error).message)
  }
}

export function buildApi (deps: ApiDeps): FastifyInstance {
  const app = fastify({ logger: false })
  const { speaker } = deps
  app.setErrorHandler((err: unknown, _req, reply) => {
    if (err instanceof BgpdError) return reply.code(400).send({ code: err.code, message: err.message })
    const e = err as { statusCode?: number, message?: string }
    return reply.code(e.statusCode ?? 500).send({ code: 'BGPD_ERR_REQUEST', message: e.message ?? String(err) })
  })
  app.get('/v1/neighbors', async () => speaker.neighbors())
  app.get('/v1/rib', async (req) => {
    const q = req.query as { prefix?: string, family?: string, limit?: string }
    const filter: Parameters<Speaker['ribView']>[0] = {}
    if (q.prefix !== undefined) filter.prefix = requestEntry(q.prefix, 'prefix').prefix
    if (q.family === 'ipv4' || q.family === '4') filter.family = 4
    if (q.family === 'ipv6' || q.family === '6') filter.family = 6
    if (q.limit !== undefined) filter.limit = Number(q.limit)
    return speaker.ribView(filter)
  })
  app.get('/v1/announced', async () => speaker.announced())
  app.post('/v1/announce', async (req) => {
    const a = requestEntry(req.body, 'body')
    speaker.announce(a)
    return { announced: a.prefix }
  })
  app.post('/v1/withdraw', async (req) => {
    const body = req.body as { prefix?: unknown } | undefined
    if (typeof body?.prefix !== 'string') throw new BgpdError('BGPD_ERR_REQUEST', 'body.prefix: required')
    if (!speaker.withdraw(body.prefix)) throw new BgpdError('BGPD_ERR_REQUEST', `${body.prefix} is not announced here`)
    return { withdrawn: body.prefix }
  })
  app.post('/v1/neighbors/:address/refresh', async (req) => {
    speaker.refresh((req.params as { address: string }).address)
    return { ok: true }
  })
  app.post('/v1/neighbors/:address/reset', async (req) => {
    speaker.resetPeer((req.params as { address: string }).address, 'reset through the weft bgpd API')
    return { ok: true }
  })
  app.post('/v1/reload', async () => {
    if (deps.reload === undefined) throw new BgpdError('BGPD_ERR_REQUEST', 'this daemon was not started from a configuration file')
    return deps.reload()
  })
  app.post('/v1/shutdown', async (req) => {
    const graceful = (req.body as { graceful?: boolean } | undefined)?.graceful === true
    setImmediate(() => deps.shutdown(graceful))
    return { ok: true, graceful }
  })
  app.get('/metrics', async (_req, reply) => {
    const st = speaker.stats()
    const lines = [
      '# HELP weft_bgp_prefixes Prefixes in the Loc-RIB.', '# TYPE weft_bgp_prefixes gauge', `weft_bgp_prefixes ${st.prefixes}`,
      '# HELP weft_bgp_paths Paths in the Loc-RIB.', '# TYPE weft_bgp_paths gauge', `weft_bgp_paths ${st.paths}`,
      '# HELP weft_bgp_peer_up 1 when the session is Established.', '# TYPE weft_bgp_peer_up gauge'
    ]
    const ns = speaker.neighbors()
    for (const n of ns) lines.push(`weft_bgp_peer_up{peer="${n.address}",asn="${n.asn}"} ${n.state === 'Established' ? 1 : 0}`)
    lines.push('# HELP weft_bgp_peer_prefixes_received Prefixes accepted from the peer.', '# TYPE weft_bgp_peer_prefixes_received gauge')
    for (const n of ns) lines.push(`weft_bgp_peer_prefixes_received{peer="${n.address}"} ${n.prefixesReceived}`)
    lines.push('# HELP weft_bgp_peer_prefixes_advertised Prefixes advertised to the peer.', '# TYPE weft_bgp_peer_prefixes_advertised gauge')
    for (const n of ns) lines.push(`weft_bgp_peer_prefixes_advertised{peer="${n.address}"} ${n.prefixesAdvertised}`)
    lines.push('# HELP weft_bgp_peer_prefixes_looped_total Prefixes ignored because they looped back to us.', '# TYPE weft_bgp_peer_prefixes_looped_total counter')
    for (const n of ns) for (const [reason, v] of Object.entries(n.loopedIn)) lines.push(`weft_bgp_peer_prefixes_looped_total{peer="${n.address}",reason="${reason}"} ${v}`)
    lines.push('# HELP weft_bgp_peer_flaps_total Times the session went down.', '# TYPE weft_bgp_peer_flaps_total counter')
    for (const n of ns) lines.push(`weft_bgp_peer_flaps_total{peer="${n.address}"} ${n.flaps}`)
    if (deps.fib !== undefined) {
      lines.push('# HELP weft_bgp_fib_installs_total Kernel routes added or replaced.', '# TYPE weft_bgp_fib_installs_total counter', `weft_bgp_fib_installs_total ${deps.fib.installs}`)
    }
    const mem = process.memoryUsage()
    lines.push('# TYPE process_resident_memory_bytes gauge', `process_resident_memory_bytes ${mem.rss}`)
    lines.push('# TYPE nodejs_heap_used_bytes gauge', `nodejs_heap_used_bytes ${mem.heapUsed}`)
    reply.type('text/plain; version=0.0.4')
    return lines.join('\n') + '\n'
  })
  return app
}

/** Listens on a unix socket (replacing a stale one). */
export async function listenApi (app: FastifyInstance, socket: string): Promise<void> {
  fs.mkdirSync(path.dirname(socket), { recursive: true })
  try { fs.unlinkSync(socket) } catch { /* absent */ }
  await app.listen({ path: socket })
  fs.chmodSync(socket, 0o660)
}
