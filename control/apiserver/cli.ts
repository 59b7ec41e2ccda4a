/**
 * `weft apiserver`: the store (embedded file store by default, etcd v3 with
 * --etcd-servers), the PKI and token file in the data dir, admin.kubeconfig,
 * the bootstrap objects, the namespace finalizer and compaction, then HTTPS.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { pino } from 'pino'
import type { Logger } from 'pino'
import type { Store } from '../store/index.js'
import { embeddedStore, etcdStore, memoryStore } from '../store/index.js'
import { ensurePki, ensureTokenFile, watchTokenFile, writeKubeconfig } from './auth/index.js'
import type { TokenAuthenticator } from './auth/index.js'
import { NamespaceFinalizer, bootstrap, startCompactor } from './bootstrap.js'
import { buildApiServer } from './server.js'
import type { ApiServer } from './server.js'

export interface ApiserverOptions {
  securePort: number
  bindAddress: string
  advertiseAddress?: string
  dataDir: string
  etcdServers?: string
  /** TLS to etcd, as kube-apiserver's flags: the CA of etcd's certificate, our client certificate and key. */
  etcdCafile?: string
  etcdCertfile?: string
  etcdKeyfile?: string
  etcdPrefix?: string
  storageBackend?: 'embedded' | 'etcd3' | 'memory'
  serviceClusterIpRange: string
  serviceNodePortRange: string
  tokenAuthFile?: string
  tlsCertFile?: string
  tlsPrivateKeyFile?: string
  /** Seconds; 0 turns compaction off. */
  etcdCompactionInterval: number
  logLevel: string
  /** Extra SANs for the serving certificate. */
  tlsSans?: string[]
}

export const apiserverDefaults = {
  securePort: 6443,
  bindAddress: '0.0.0.0',
  dataDir: '/var/lib/weft/apiserver',
  serviceClusterIpRange: '10.96.0.0/12',
  serviceNodePortRange: '30000-32767',
  etcdCompactionInterval: 300,
  logLevel: 'info'
}

export interface RunningApiserver {
  server: ApiServer
  store: Store
  url: string
  kubeconfig: string
  stop: () => Promise<void>
}

function advertiseIP (opts: ApiserverOptions): string {
  if (opts.advertiseAddress !== undefined && opts.advertiseAddress !== '') return opts.advertiseAddress
  if (opts.bindAddress !== '0.0.0.0' && opts.bindAddress !== '::') return opts.bindAddress
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') return a.address
  }
  return '127.0.0.1'
}

/** Starts the server and resolves once it listens. */
export async function startApiserver (opts: ApiserverOptions, logger?: Logger): Promise<RunningApiserver> {
  const log = logger ?? pino({ level: opts.logLevel, base: { daemon: 'apiserver' } }, pino.destination(2))
  fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 })
  const backend = opts.storageBackend ?? (opts.etcdServers !== undefined && opts.etcdServers !== '' ? 'etcd3' : 'embedded')
  let store: Store
  if (backend === 'etcd3') {
    const endpoints = (opts.etcdServers ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
    if (endpoints.length === 0) throw new Error('--storage-backend etcd3 needs --etcd-servers')
    const read = (flag: string, file: string | undefined): Buffer | undefined => {
      if (file === undefined || file === '') return undefined
      try { return fs.readFileSync(file) } catch (e) { throw new Error(`${flag} ${file}: ${(e as Error).message}`) }
    }
    const ca = read('--etcd-cafile', opts.etcdCafile)
    const cert = read('--etcd-certfile', opts.etcdCertfile)
    const key = read('--etcd-keyfile', opts.etcdKeyfile)
    if (ca === undefined && (cert !== undefined || key !== undefined)) throw new Error('--etcd-certfile and --etcd-keyfile need --etcd-cafile (the CA of etcd\'s serving certificate)')
    const tls = ca !== undefined ? { tls: { ca, ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) } } : {}
    store = etcdStore({ endpoints, ...tls, ...(opts.etcdPrefix !== undefined && opts.etcdPrefix !== '' ? { prefix: opts.etcdPrefix } : {}), logger: log })
    await store.revision()
  } else if (backend === 'memory') {
    store = memoryStore()
  } else {
    store = await embeddedStore({ dir: path.join(opts.dataDir, 'store') })
  }
  const advertise = advertiseIP(opts)
  let tls: { key: string, cert: string }
  let caCertPem: string
  if (opts.tlsCertFile !== undefined && opts.tlsPrivateKeyFile !== undefined) {
    tls = { cert: fs.readFileSync(opts.tlsCertFile, 'utf8'), key: fs.readFileSync(opts.tlsPrivateKeyFile, 'utf8') }
    caCertPem = tls.cert
  } else {
    const hosts = [advertise, os.hostname(), ...(opts.tlsSans ?? [])]
    if (opts.bindAddress !== '0.0.0.0' && opts.bindAddress !== '::') hosts.push(opts.bindAddress)
    const pki = await ensurePki(opts.dataDir, { hosts, serviceCidr: opts.serviceClusterIpRange })
    if (pki.created.ca) log.info({ dir: pki.paths.dir }, 'generated a cluster CA')
    if (pki.created.serving) log.info({ reason: pki.reissueReason, sans: pki.sans }, 'issued the serving certificate')
    tls = { cert: pki.certPem, key: pki.keyPem }
    caCertPem = pki.caCertPem
  }
  let authenticator: TokenAuthenticator
  let tokenFile: string
  if (opts.tokenAuthFile !== undefined && opts.tokenAuthFile !== '') {
    tokenFile = opts.tokenAuthFile
  } else {
    const t = await ensureTokenFile(opts.dataDir)
    tokenFile = t.path
    if (t.created) log.info({ file: t.path }, 'created the token file with an admin token')
  }
  const watched = await watchTokenFile(tokenFile, {
    onReload: (a) => { log.info({ file: tokenFile, tokens: a.size }, 'token file reloaded') },
    onError: (err) => { log.warn({ err: err.message }, 'token file reload failed; keeping the previous tokens') }
  })
  authenticator = watched
  for (const w of watched.warnings) log.warn({ file: tokenFile }, w)
  const server = await buildApiServer({
    store,
    logger: log,
    serviceClusterIPRange: opts.serviceClusterIpRange,
    serviceNodePortRange: opts.serviceNodePortRange,
    tls,
    authenticator,
    advertiseAddress: `${advertise.includes(':') ? `[${advertise}]` : advertise}:${opts.securePort}`
  })
  const finalizer = new NamespaceFinalizer(server.registry, log)
  finalizer.start()
  const stopCompactor = opts.etcdCompactionInterval > 0 ? startCompactor(server.registry, log, opts.etcdCompactionInterval * 1000) : () => {}
  await server.app.listen({ host: opts.bindAddress, port: opts.securePort })
  const port = (server.app.server.address() as { port: number }).port
  await bootstrap(server.registry, { advertiseIP: advertise, securePort: port })
  const host = opts.bindAddress === '0.0.0.0' || opts.bindAddress === '::' ? '127.0.0.1' : opts.bindAddress
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`
  const kubeconfig = path.join(opts.dataDir, 'admin.kubeconfig')
  const admin = authenticator.admin
  if (admin !== undefined) {
    await writeKubeconfig(kubeconfig, { server: url, caCertPem, token: admin.token, user: admin.user.name, cluster: 'weft', namespace: 'default' })
  } else {
    log.warn({ file: tokenFile }, 'no system:masters user in the token file: admin.kubeconfig not written')
  }
  log.info({ url, kubeconfig, store: store.kind }, 'serving')
  return {
    server,
    store,
    url,
    kubeconfig,
    stop: async () => {
      finalizer.stop()
      stopCompactor()
      watched.close()
      await server.close()
      await store.close()
    }
  }
}

/** `weft apiserver`: runs until SIGINT/SIGTERM. */
export async function runApiserver (opts: ApiserverOptions): Promise<void> {
  const running = await startApiserver(opts)
  process.stdout.write(`weft apiserver: serving on ${running.url}\nkubeconfig: ${running.kubeconfig}\n`)
  await new Promise<void>((resolve) => {
    const stop = (): void => { resolve() }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await running.stop()
}
