/**
 * Container probes (pkg/kubelet/prober): exec (run in the pod's network
 * namespace), httpGet (200 ≤ code < 400; host defaults to the pod IP),
 * tcpSocket (a connect). A `ProbeWorker` applies upstream's defaults and
 * thresholds (period 10 s, timeout 1 s, success 1, failure 3) and reports
 * each change of result.
 */
import * as http from 'node:http'
import * as https from 'node:https'
import * as net from 'node:net'
import type { ChildProcess } from 'node:child_process'

export type Obj = Record<string, unknown>
export type ProbeKind = 'liveness' | 'readiness' | 'startup'
export type ProbeResult = 'success' | 'failure'

export interface ProbeSpec {
  exec?: { command?: string[] }
  httpGet?: { path?: string, port: number | string, host?: string, scheme?: string, httpHeaders?: Array<{ name: string, value: string }> }
  tcpSocket?: { port: number | string, host?: string }
  initialDelaySeconds?: number
  periodSeconds?: number
  timeoutSeconds?: number
  successThreshold?: number
  failureThreshold?: number
}

export interface ProbeTarget {
  podIP: string
  /** Named container ports. */
  ports: Array<{ name?: string, containerPort?: number }>
  /** Runs an exec probe's command in the pod's network namespace. */
  spawn: (argv: string[]) => ChildProcess
}

/** Probe settings with upstream's defaults (liveness and startup force successThreshold 1). */
export function withDefaults (p: ProbeSpec, kind: ProbeKind): Required<Pick<ProbeSpec, 'initialDelaySeconds' | 'periodSeconds' | 'timeoutSeconds' | 'successThreshold' | 'failureThreshold'>> {
  return {
    initialDelaySeconds: p.initialDelaySeconds ?? 0,
    periodSeconds: p.periodSeconds ?? 10,
    timeoutSeconds: p.timeoutSeconds ?? 1,
    successThreshold: kind === 'readiness' ? (p.successThreshold ?? 1) : 1,
    failureThreshold: p.failureThreshold ?? 3
  }
}

function resolvePort (port: number | string, t: ProbeTarget): number | undefined {
  if (typeof port === 'number') return port
  if (/^\d+$/.test(port)) return Number(port)
  return t.ports.find((p) => p.name === port)?.containerPort
}

/** One probe run. */
export async function probeOnce (p: ProbeSpec, t: ProbeTarget, timeoutMs: number): Promise<{ result: ProbeResult, output: string }> {
  if (p.exec !== undefined) {
    const argv = p.exec.command ?? []
    if (argv.length === 0) return { result: 'failure', output: 'exec probe without a command' }
    return await new Promise((resolve) => {
      let out = ''
      let child: ChildProcess
      try { child = t.spawn(argv) } catch (e) { resolve({ result: 'failure', output: (e as Error).message }); return }
      const timer = setTimeout(() => { try { process.kill(-(child.pid ?? 0), 'SIGKILL') } catch {} ; resolve({ result: 'failure', output: `command timed out after ${timeoutMs} ms` }) }, timeoutMs)
      child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
      child.stderr?.on('data', (d: Buffer) => { out += d.toString() })
      child.on('error', (e) => { clearTimeout(timer); resolve({ result: 'failure', output: e.message }) })
      child.on('exit', (code) => { clearTimeout(timer); resolve({ result: code === 0 ? 'success' : 'failure', output: out.slice(0, 1024) }) })
    })
  }
  if (p.httpGet !== undefined) {
    const port = resolvePort(p.httpGet.port, t)
    if (port === undefined) return { result: 'failure', output: `unknown port ${String(p.httpGet.port)}` }
    const host = p.httpGet.host ?? t.podIP
    const mod = (p.httpGet.scheme ?? 'HTTP').toUpperCase() === 'HTTPS' ? https : http
    const headers: Record<string, string> = { 'user-agent': 'kube-probe/1.32', accept: '*/*' }
    for (const h of p.httpGet.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value
    return await new Promise((resolve) => {
      const req = mod.request({ host, port, path: p.httpGet?.path ?? '/', method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false, agent: false }, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => { if (body.length < 1024) body += d.toString() })
        res.on('end', () => {
          const code = res.statusCode ?? 0
          resolve({ result: code >= 200 && code < 400 ? 'success' : 'failure', output: `HTTP probe failed with statuscode: ${code}` })
        })
        res.on('error', (e) => { resolve({ result: 'failure', output: e.message }) })
      })
      req.on('timeout', () => { req.destroy(new Error(`Get "http://${host}:${port}${p.httpGet?.path ?? '/'}": context deadline exceeded`)) })
      req.on('error', (e) => { resolve({ result: 'failure', output: e.message }) })
      req.end()
    })
  }
  if (p.tcpSocket !== undefined) {
    const port = resolvePort(p.tcpSocket.port, t)
    if (port === undefined) return { result: 'failure', output: `unknown port ${String(p.tcpSocket.port)}` }
    const host = p.tcpSocket.host ?? t.podIP
    return await new Promise((resolve) => {
      const s = net.connect({ host, port, timeout: timeoutMs })
      s.once('connect', () => { s.destroy(); resolve({ result: 'success', output: '' }) })
      s.once('timeout', () => { s.destroy(); resolve({ result: 'failure', output: `dial tcp ${host}:${port}: i/o timeout` }) })
      s.once('error', (e) => { resolve({ result: 'failure', output: e.message }) })
    })
  }
  return { result: 'failure', output: 'probe has no handler (exec, httpGet or tcpSocket)' }
}

/** Periodic runs with thresholds; `onChange` gets each flip of the (thresholded) result. */
export class ProbeWorker {
  #timer: NodeJS.Timeout | undefined
  #stopped = false
  #successes = 0
  #failures = 0
  result: ProbeResult | undefined
  constructor (readonly kind: ProbeKind, readonly spec: ProbeSpec, readonly target: ProbeTarget, readonly onChange: (r: ProbeResult, output: string) => void) {
    const d = withDefaults(spec, kind)
    this.#timer = setTimeout(() => { void this.#tick() }, d.initialDelaySeconds * 1000)
  }

  stop (): void { this.#stopped = true; if (this.#timer !== undefined) clearTimeout(this.#timer) }

  async #tick (): Promise<void> {
    if (this.#stopped) return
    const d = withDefaults(this.spec, this.kind)
    const { result, output } = await probeOnce(this.spec, this.target, d.timeoutSeconds * 1000)
    if (this.#stopped) return
    if (result === 'success') { this.#successes++; this.#failures = 0 } else { this.#failures++; this.#successes = 0 }
    let next: ProbeResult | undefined = this.result
    if (result === 'success' && this.#successes >= d.successThreshold) next = 'success'
    if (result === 'failure' && this.#failures >= d.failureThreshold) next = 'failure'
    if (next !== this.result && next !== undefined) {
      this.result = next
      this.onChange(next, output)
    }
    // A startup probe stops once it succeeded.
    if (this.kind === 'startup' && this.result === 'success') return
    this.#timer = setTimeout(() => { void this.#tick() }, d.periodSeconds * 1000)
  }
}
