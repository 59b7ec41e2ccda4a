/**
 * A throwaway single-member etcd for e2e tests (Debian's etcd 3.4 in
 * /usr/bin). Each server gets its own temp dir (data dir and log), free ports
 * and a cluster token; it is stopped and its dir removed by ava's
 * `t.teardown`, so a failing test leaves nothing behind, and a process-exit
 * sweep kills whatever a crashed worker could not tear down.
 *
 * By default etcd listens on 127.0.0.1 of the test's own namespace. The overlay
 * tests run it on an underlay address inside a network namespace instead:
 *
 *   const etcd = await startEtcd(t, { host: '192.0.2.1', execPrefix: ['ip', 'netns', 'exec', 'wt1-node'] })
 *
 * `execPrefix` is put in front of both `etcd` and `etcdctl`, so health checks
 * and `etcd.etcdctl([...])` run where the server is reachable. Ports inside
 * another namespace cannot be probed from here, so they are drawn at random
 * (a clash makes etcd exit at once and is retried with other ports).
 *
 * `startTcpProxy` puts a proxy in front of a server that a test can cut and
 * restore, to make clients lose their connection while etcd keeps running.
 */
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { execa } from 'execa'

export const ETCD_BIN = '/usr/bin/etcd'
export const ETCDCTL_BIN = '/usr/bin/etcdctl'

type Teardown = { teardown: (fn: () => void | Promise<void>) => void }

export interface EtcdInit {
  /** Address to listen on, for clients and peers; default 127.0.0.1. IPv6 addresses are bracketed in URLs. */
  host?: string
  /** argv prepended to `etcd` and `etcdctl`, e.g. `['ip', 'netns', 'exec', 'wt1-node']`. */
  execPrefix?: string[]
  /** Fixed ports; default: free ones (host namespace) or random ones (execPrefix). */
  clientPort?: number
  peerPort?: number
  /** Extra etcd flags, e.g. `['--auto-compaction-retention=1']`. */
  args?: string[]
  /** How long to wait for `endpoint health`; default 20 s. */
  startTimeoutMs?: number
  /**
   * Serve clients over TLS with these PEM files (server certificate and key, and the CA that signs client
   * certificates, which are then required): the endpoint is https://, and etcdctl uses `client`.
   */
  tls?: { ca: string, cert: string, key: string, client: { cert: string, key: string } }
}

export interface EtcdRun {
  exitCode: number
  stdout: string
  stderr: string
}

export interface Etcd {
  /** Client URL, e.g. 'http://127.0.0.1:34567'. */
  readonly endpoint: string
  readonly host: string
  readonly clientPort: number
  readonly peerPort: number
  /** The server's temp dir (data dir `data/`, log `etcd.log`), removed by stop(). */
  readonly dir: string
  readonly pid: number
  /** Runs etcdctl (API v3) against this server, through the exec prefix. Rejects on a non-zero exit unless `reject: false`. */
  etcdctl (args: string[], opts?: { input?: string, reject?: boolean }): Promise<EtcdRun>
  /** The server's log so far (for failure messages). */
  log (): string
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its dir. Idempotent. */
  stop (): Promise<void>
}

/** Used when present: it makes the kernel kill etcd if this process dies without running any handler (ava's timeout). */
const SETPRIV_BIN = '/usr/bin/setpriv'
const DIR_PREFIX = 'weft-etcd-'

const live = new Set<{ child: ChildProcess, dir: string }>()
let counter = 0
let swept = false

process.on('exit', () => {
  for (const s of live) {
    killGroup(s.child, 'SIGKILL')
    try { fs.rmSync(s.dir, { recursive: true, force: true }) } catch { /* keep going */ }
  }
})

/** Removes the temp dirs of test processes that died before their teardown (named weft-etcd-<pid>-…). */
function sweepStaleDirs (): void {
  if (swept) return
  swept = true
  for (const name of fs.readdirSync(os.tmpdir())) {
    const pid = new RegExp(`^${DIR_PREFIX}(\\d+)-`).exec(name)?.[1]
    if (pid === undefined || Number(pid) === process.pid || alive(Number(pid))) continue
    try { fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true }) } catch { /* keep going */ }
  }
}

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM' }
}

/** Starts an etcd that is stopped and removed when the test ends, whether it passed or not. */
export async function startEtcd (t: Teardown, init: EtcdInit = {}): Promise<Etcd> {
  sweepStaleDirs()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${DIR_PREFIX}${process.pid}-${counter++}-`))
  let server: Etcd | undefined
  t.teardown(async () => {
    if (server !== undefined) await server.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  const host = init.host ?? '127.0.0.1'
  const fixed = init.clientPort !== undefined && init.peerPort !== undefined
  let lastError: Error | undefined
  for (let attempt = 0; attempt < (fixed ? 1 : 5); attempt++) {
    const [clientPort, peerPort] = fixed
      ? [init.clientPort as number, init.peerPort as number]
      : init.execPrefix === undefined ? await freePorts(host) : randomPorts()
    try {
      server = await launch(dir, host, clientPort, peerPort, init)
      return server
    } catch (err) {
      lastError = err as Error
      if (!/address already in use/.test(lastError.message)) break
    }
  }
  throw lastError ?? new Error('etcd did not start')
}

async function launch (dir: string, host: string, clientPort: number, peerPort: number, init: EtcdInit): Promise<Etcd> {
  const prefix = init.execPrefix ?? []
  const urlHost = host.includes(':') ? `[${host}]` : host
  const endpoint = `${init.tls !== undefined ? 'https' : 'http'}://${urlHost}:${clientPort}`
  const peer = `http://${urlHost}:${peerPort}`
  const dataDir = path.join(dir, 'data')
  fs.rmSync(dataDir, { recursive: true, force: true })
  const logFile = path.join(dir, 'etcd.log')
  const name = `weft-e2e-${path.basename(dir).slice(-6).toLowerCase()}`
  const argv = [
    ...prefix, ETCD_BIN,
    '--name', name,
    '--data-dir', dataDir,
    '--listen-client-urls', endpoint,
    '--advertise-client-urls', endpoint,
    '--listen-peer-urls', peer,
    '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `${name}=${peer}`,
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', name,
    // A lone member elects itself after one election timeout: keep it short.
    '--heartbeat-interval', '50',
    '--election-timeout', '250',
    '--logger', 'zap',
    '--log-outputs', 'stderr',
    '--log-level', 'warn',
    ...(init.tls !== undefined ? ['--cert-file', init.tls.cert, '--key-file', init.tls.key, '--trusted-ca-file', init.tls.ca, '--client-cert-auth'] : []),
    ...(init.args ?? [])
  ]
  const fd = fs.openSync(logFile, 'w')
  let child: ChildProcess
  try {
    // Own process group: stop() signals the group, which also reaches etcd behind `ip netns exec`, sudo or a shell.
    const guarded = fs.existsSync(SETPRIV_BIN) ? [SETPRIV_BIN, '--pdeathsig', 'KILL', ...argv] : argv
    child = spawn(guarded[0] as string, guarded.slice(1), { detached: true, stdio: ['ignore', fd, fd] })
  } finally { fs.closeSync(fd) }
  const entry = { child, dir }
  live.add(entry)
  let exited: { code: number | null, signal: NodeJS.Signals | null } | undefined
  const exitP = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => { exited = { code, signal }; live.delete(entry); resolve() })
    child.once('error', (err) => { exited = { code: -1, signal: null }; fs.appendFileSync(logFile, `spawn failed: ${err.message}\n`); live.delete(entry); resolve() })
  })
  const readLog = (): string => { try { return fs.readFileSync(logFile, 'utf8') } catch { return '' } }

  const etcdctl = async (args: string[], opts: { input?: string, reject?: boolean } = {}): Promise<EtcdRun> => {
    const tlsArgs = init.tls !== undefined ? [`--cacert=${init.tls.ca}`, `--cert=${init.tls.client.cert}`, `--key=${init.tls.client.key}`] : []
    const full = [...prefix, ETCDCTL_BIN, `--endpoints=${endpoint}`, ...tlsArgs, '--command-timeout=5s', ...args]
    const r = await execa(full[0] as string, full.slice(1), {
      reject: false, env: { ETCDCTL_API: '3' }, ...(opts.input !== undefined ? { input: opts.input } : {})
    })
    const run = { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) }
    if (run.exitCode !== 0 && opts.reject !== false) {
      throw new Error(`etcdctl ${args.join(' ')} failed (${run.exitCode}): ${run.stderr || run.stdout}`)
    }
    return run
  }

  const terminate = async (): Promise<void> => {
    if (exited !== undefined) return
    killGroup(child, 'SIGTERM')
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000)
    await exitP
    clearTimeout(timer)
  }
  let stopped: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    stopped ??= terminate().then(() => fs.rmSync(dir, { recursive: true, force: true }))
    await stopped
  }

  const deadline = Date.now() + (init.startTimeoutMs ?? 20_000)
  for (;;) {
    if (exited !== undefined) {
      throw new Error(`etcd exited during start-up (code ${String(exited.code)}, signal ${String(exited.signal)}):\n${readLog()}`)
    }
    const h = await etcdctl(['endpoint', 'health', '--command-timeout=1s'], { reject: false })
    if (h.exitCode === 0 && /is healthy/.test(h.stdout + h.stderr)) break
    if (Date.now() > deadline) {
      await terminate()
      throw new Error(`etcd at ${endpoint} not healthy after ${init.startTimeoutMs ?? 20_000} ms: ${h.stderr}\n${readLog()}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }

  return { endpoint, host, clientPort, peerPort, dir, pid: child.pid ?? -1, etcdctl, log: readLog, stop }
}

function killGroup (child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return
  try { process.kill(-child.pid, sig) } catch {
    try { child.kill(sig) } catch { /* already gone */ }
  }
}

/** Two ports the kernel reports free on `host` (released again at once; etcd binds them right after). */
async function freePorts (host: string): Promise<[number, number]> {
  const ports = await freePortsOn(host, 2)
  return [ports[0] as number, ports[1] as number]
}

/**
 * `n` distinct ports the kernel reports free on `host`, held together while
 * they are picked and released at once: nothing listens on them, and a server
 * started right after may bind them (another process could still take one).
 */
export async function freePortsOn (host: string, n: number): Promise<number[]> {
  const servers: net.Server[] = []
  try {
    const ports: number[] = []
    for (let i = 0; i < n; i++) {
      const s = net.createServer()
      servers.push(s)
      await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(0, host, () => resolve()) })
      ports.push((s.address() as net.AddressInfo).port)
    }
    return ports
  } finally {
    await Promise.all(servers.map(async (s) => await new Promise<void>((resolve) => s.close(() => resolve()))))
  }
}

/** One port free on loopback right now (see freePortsOn). */
export async function freePort (): Promise<number> {
  return (await freePortsOn('127.0.0.1', 1))[0] as number
}

function randomPorts (): [number, number] {
  const p = 20000 + Math.floor(Math.random() * 20000) * 2
  return [p, p + 1]
}

export interface TcpProxy {
  /** Client URL of the proxy, e.g. 'http://127.0.0.1:40001'. */
  readonly endpoint: string
  /** Drops every open connection and refuses new ones (closes them at once) until restore(). */
  cut (): void
  restore (): void
  /** Connections accepted so far (to see that a client did reconnect). */
  readonly accepted: number
}

/** A TCP proxy on 127.0.0.1 in front of `target`, closed when the test ends. */
export async function startTcpProxy (t: Teardown, target: { host: string, port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>()
  let isCut = false
  let accepted = 0
  const server = net.createServer((client) => {
    if (isCut) { client.destroy(); return }
    accepted++
    const upstream = net.connect(target.port, target.host)
    sockets.add(client); sockets.add(upstream)
    const drop = (): void => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream) }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', () => resolve()) })
  const port = (server.address() as net.AddressInfo).port
  t.teardown(async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return {
    endpoint: `http://127.0.0.1:${port}`,
    cut () {
      isCut = true
      for (const s of sockets) s.destroy()
      sockets.clear()
    },
    restore () { isCut = false },
    get accepted () { return accepted }
  }
}
