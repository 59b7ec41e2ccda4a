/**
 * The kubelet's HTTP endpoint (plain HTTP; only reachable inside the cluster
 * network): `GET /containerLogs/<ns>/<pod>/<container>` with follow,
 * tailLines, previous, timestamps, limitBytes, sinceSeconds as the real
 * kubelet serves them; `/pods` (the pods it runs), `/healthz`.
 */
import * as fs from 'node:fs'
import * as http from 'node:http'
import { logPath, parseLine, readLog, renderLines } from './logs.js'
import type { LogOptions } from './logs.js'

export interface LogSource {
  /** The pod's log facts, by namespace and name. */
  find: (namespace: string, name: string) => { pods: () => unknown, info: (container: string) => { uid: string, restartCount: number, running: boolean } | undefined, containers: string[] } | undefined
  pods: () => unknown[]
  rootDir: string
}

function intParam (v: string | null): number | undefined {
  if (v === null || v === '') return undefined
  const n = Number(v)
  return Number.isInteger(n) ? n : undefined
}

function status (res: http.ServerResponse, code: number, message: string): void {
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: code === 404 ? 'NotFound' : code === 501 ? 'NotImplemented' : code === 405 ? 'MethodNotAllowed' : 'BadRequest', code })
  res.writeHead(code, { 'content-type': 'application/json' })
  res.end(body)
}

export function kubeletHandler (src: LogSource): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://kubelet')
    // Streaming endpoints are refused outright: a half-implemented SPDY/WebSocket upgrade would hang a client.
    if (/^\/(exec|attach|portForward|run)\//.test(url.pathname)) { status(res, 501, `${url.pathname.split('/')[1] ?? ''} is not supported by weft kubelet`); return }
    if (req.method !== 'GET') { status(res, 405, `method ${req.method ?? ''} not allowed`); return }
    if (url.pathname === '/healthz') { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('ok'); return }
    if (url.pathname === '/pods' || url.pathname === '/pods/') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: src.pods() }))
      return
    }
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)\/?$/.exec(url.pathname)
    if (m === null) { status(res, 404, `${url.pathname} not found`); return }
    const [ns, name, container] = [m[1], m[2], m[3]].map((s) => decodeURIComponent(s as string)) as [string, string, string]
    const pod = src.find(ns, name)
    if (pod === undefined) { status(res, 404, `pod "${name}" not found in namespace "${ns}"`); return }
    const info = pod.info(container)
    if (info === undefined) { status(res, 400, `container ${container} is not valid for pod ${name}`); return }
    const q = url.searchParams
    const previous = q.get('previous') === 'true'
    const follow = q.get('follow') === 'true' && !previous
    const opts: LogOptions = { timestamps: q.get('timestamps') === 'true' }
    const tl = intParam(q.get('tailLines')); if (tl !== undefined) opts.tailLines = tl
    const lb = intParam(q.get('limitBytes')); if (lb !== undefined) opts.limitBytes = lb
    const ss = intParam(q.get('sinceSeconds')); if (ss !== undefined) opts.sinceSeconds = ss
    const st = q.get('sinceTime'); if (st !== null && st !== '') opts.sinceTime = st
    const run = previous ? info.restartCount - 1 : info.restartCount
    if (run < 0) { status(res, 400, `previous terminated container "${container}" in pod "${name}" not found`); return }
    const file = logPath(src.rootDir, info.uid, container, run)
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', ...(follow ? { 'transfer-encoding': 'chunked' } : {}) })
    let size = 0
    try { size = fs.statSync(file).size } catch { size = 0 }
    const head = fs.existsSync(file) ? fs.readFileSync(file).subarray(0, size).toString('utf8') : ''
    const lines = head.split('\n').filter((l) => l !== '').map(parseLine).filter((l) => l !== undefined)
    res.write(renderLines(lines, opts))
    if (!follow) { res.end(); return }
    // Follow: new complete lines as they arrive, until the run ends (or the client leaves).
    let offset = Buffer.byteLength(head)
    let rest = ''
    const tick = setInterval(() => {
      let chunk = ''
      try {
        const fd = fs.openSync(file, 'r')
        try {
          const len = fs.fstatSync(fd).size - offset
          if (len > 0) { const b = Buffer.alloc(len); fs.readSync(fd, b, 0, len, offset); offset += len; chunk = b.toString('utf8') }
        } finally { fs.closeSync(fd) }
      } catch { /* not created yet */ }
      if (chunk !== '') {
        const text = rest + chunk
        const cut = text.lastIndexOf('\n')
        rest = text.slice(cut + 1)
        const fresh = text.slice(0, cut + 1).split('\n').filter((l) => l !== '').map(parseLine).filter((l) => l !== undefined)
        const { tailLines: _t, ...noTail } = opts
        if (fresh.length > 0) res.write(renderLines(fresh, noTail))
      }
      const now = pod.info(container)
      if (chunk === '' && (now === undefined || !now.running || now.restartCount !== run)) { clearInterval(tick); res.end() }
    }, 200)
    req.on('close', () => { clearInterval(tick) })
    res.on('close', () => { clearInterval(tick) })
  }
}

export { readLog }
