/**
 * control/client: the Kubernetes client Weft's daemons share (kubelet,
 * scheduler, controllers, proxy, vxland's kube subnet manager). It speaks
 * JSON over HTTPS with a kubeconfig's CA and bearer token, to Weft's API
 * server or any Kubernetes API server, and offers client-go's essentials:
 * typed-enough CRUD on any resource path, watch streams, and an informer
 * (list, then watch from the list's resourceVersion, relist on 410 Expired,
 * reconnect with backoff) keeping a local cache.
 */
import * as http from 'node:http'
import * as https from 'node:https'
import { readKubeconfig } from '../apiserver/index.js'
import type { ClientConfig } from '../apiserver/index.js'

export type Obj = Record<string, unknown>

export interface ResourceRef {
  group?: string
  version?: string
  /** Plural resource name, e.g. 'pods'. */
  resource: string
  namespace?: string | undefined
  name?: string | undefined
  subresource?: string | undefined
}

/** An error answer of the API server, with its Status. */
export class KubeApiError extends Error {
  readonly status: number
  readonly reason: string
  readonly body: Obj | undefined
  constructor (status: number, body: Obj | undefined, what: string) {
    super(`${what}: ${status} ${typeof body?.message === 'string' ? body.message : ''}`.trim())
    this.name = 'KubeApiError'
    this.status = status
    this.reason = typeof body?.reason === 'string' ? body.reason : ''
    this.body = body
  }

  get notFound (): boolean { return this.status === 404 }
  get conflict (): boolean { return this.status === 409 }
  get alreadyExists (): boolean { return this.status === 409 && this.reason === 'AlreadyExists' }
  get expired (): boolean { return this.status === 410 }
}

export function resourcePath (r: ResourceRef): string {
  const group = r.group ?? ''
  const version = r.version ?? 'v1'
  let p = group === '' ? `/api/${version}` : `/apis/${group}/${version}`
  if (r.namespace !== undefined && r.namespace !== '' && r.resource !== 'namespaces') p += `/namespaces/${encodeURIComponent(r.namespace)}`
  p += `/${r.resource}`
  if (r.name !== undefined) p += `/${encodeURIComponent(r.name)}`
  if (r.subresource !== undefined) p += `/${r.subresource}`
  return p
}

function query (q: Record<string, string | number | boolean | undefined>): string {
  const parts: string[] = []
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') parts.push(`${k}=${encodeURIComponent(String(v))}`)
  return parts.length === 0 ? '' : `?${parts.join('&')}`
}

export interface ListOpts {
  labelSelector?: string
  fieldSelector?: string
  limit?: number
  continue?: string
  resourceVersion?: string
}

export interface WatchEvent { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR', object: Obj }

export class KubeClient {
  readonly server: URL
  readonly namespace: string
  private readonly agent: http.Agent
  private readonly token: string | undefined
  private readonly tlsServerName: string | undefined
  private readonly userAgent: string

  constructor (cfg: ClientConfig, opts: { userAgent?: string } = {}) {
    this.server = new URL(cfg.server)
    this.namespace = cfg.namespace
    this.token = cfg.token
    this.tlsServerName = cfg.tlsServerName
    this.userAgent = opts.userAgent ?? 'weft'
    this.agent = this.server.protocol === 'https:'
      ? new https.Agent({
        keepAlive: true,
        maxSockets: 32,
        ...(cfg.caCertPem !== undefined ? { ca: cfg.caCertPem } : {}),
        ...(cfg.clientCertPem !== undefined ? { cert: cfg.clientCertPem } : {}),
        ...(cfg.clientKeyPem !== undefined ? { key: cfg.clientKeyPem } : {}),
        rejectUnauthorized: !cfg.insecureSkipTlsVerify
      })
      : new http.Agent({ keepAlive: true, maxSockets: 32 })
  }

  static async fromKubeconfig (file: string, opts: { context?: string, userAgent?: string } = {}): Promise<KubeClient> {
    return new KubeClient(await readKubeconfig(file, opts.context !== undefined ? { context: opts.context } : {}), opts.userAgent !== undefined ? { userAgent: opts.userAgent } : {})
  }

  close (): void { this.agent.destroy() }

  private open (method: string, path: string, body: string | undefined, contentType: string, signal?: AbortSignal): Promise<http.IncomingMessage> {
    const mod = this.server.protocol === 'https:' ? https : http
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.userAgent }
      if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`
      if (body !== undefined) { headers['content-type'] = contentType; headers['content-length'] = String(Buffer.byteLength(body)) }
      const req = mod.request({
        host: this.server.hostname.replace(/^\[|\]$/g, ''),
        port: this.server.port === '' ? (this.server.protocol === 'https:' ? 443 : 80) : Number(this.server.port),
        method,
        path,
        headers,
        agent: this.agent,
        ...(this.tlsServerName !== undefined ? { servername: this.tlsServerName } : {}),
        ...(signal !== undefined ? { signal } : {})
      }, resolve)
      req.on('error', reject)
      if (body !== undefined) req.write(body)
      req.end()
    })
  }

  /** One request; resolves with the parsed JSON, rejects with KubeApiError for non-2xx answers. */
  async request (method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Obj> {
    const res = await this.open(method, path, body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body), contentType)
    const chunks: Buffer[] = []
    for await (const c of res) chunks.push(c as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    let parsed: Obj | undefined
    try { parsed = text === '' ? undefined : JSON.parse(text) as Obj } catch { parsed = undefined }
    const status = res.statusCode ?? 0
    if (status < 200 || status >= 300) throw new KubeApiError(status, parsed ?? { message: text.slice(0, 300) }, `${method} ${path}`)
    return parsed ?? {}
  }

  async get (r: ResourceRef): Promise<Obj> { return await this.request('GET', resourcePath(r)) }
  async list (r: ResourceRef, opts: ListOpts = {}): Promise<{ items: Obj[], resourceVersion: string }> {
    const items: Obj[] = []
    let cont: string | undefined
    let rv = ''
    do {
      const page = await this.request('GET', resourcePath(r) + query({ ...opts, limit: opts.limit ?? 500, continue: cont }))
      items.push(...((page.items ?? []) as Obj[]))
      const m = (page.metadata ?? {}) as Obj
      rv = String(m.resourceVersion ?? rv)
      cont = typeof m.continue === 'string' && m.continue !== '' ? m.continue : undefined
    } while (cont !== undefined)
    return { items, resourceVersion: rv }
  }

  async create (r: ResourceRef, obj: Obj): Promise<Obj> { return await this.request('POST', resourcePath({ ...r, name: undefined }), obj) }
  async update (r: ResourceRef, obj: Obj): Promise<Obj> { return await this.request('PUT', resourcePath(r), obj) }
  async patch (r: ResourceRef, patch: unknown, type: 'merge' | 'strategic' | 'json' = 'merge'): Promise<Obj> {
    const ct = type === 'merge' ? 'application/merge-patch+json' : type === 'strategic' ? 'application/strategic-merge-patch+json' : 'application/json-patch+json'
    return await this.request('PATCH', resourcePath(r), patch, ct)
  }

  async delete (r: ResourceRef, opts: { gracePeriodSeconds?: number, propagationPolicy?: string, preconditions?: { uid?: string, resourceVersion?: string } } = {}): Promise<Obj> {
    return await this.request('DELETE', resourcePath(r), Object.keys(opts).length > 0 ? { kind: 'DeleteOptions', apiVersion: 'v1', ...opts } : undefined)
  }

  /**
   * Streams watch events until the server ends the watch, `signal` aborts
   * (resolves), or the request fails (rejects). A 410 arrives as an ERROR event.
   */
  async watch (r: ResourceRef, opts: ListOpts & { allowWatchBookmarks?: boolean, timeoutSeconds?: number }, onEvent: (ev: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    const path = resourcePath(r) + query({ watch: 'true', ...opts, allowWatchBookmarks: opts.allowWatchBookmarks === false ? undefined : 'true' })
    let res: http.IncomingMessage
    try { res = await this.open('GET', path, undefined, '', signal) } catch (e) { if (signal.aborted) return; throw e }
    if ((res.statusCode ?? 0) !== 200) {
      const chunks: Buffer[] = []
      for await (const c of res) chunks.push(c as Buffer)
      let body: Obj | undefined
      try { body = JSON.parse(Buffer.concat(chunks).toString()) as Obj } catch {}
      throw new KubeApiError(res.statusCode ?? 0, body, `watch ${path}`)
    }
    let buf = ''
    try {
      for await (const chunk of res) {
        buf += (chunk as Buffer).toString('utf8')
        let nl: number
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl)
          buf = buf.slice(nl + 1)
          if (line.trim() === '') continue
          onEvent(JSON.parse(line) as WatchEvent)
        }
      }
    } catch (e) {
      if (!signal.aborted) throw e
    }
  }
}

export interface InformerHandlers {
  onAdd?: (o: Obj) => void
  onUpdate?: (o: Obj, old: Obj) => void
  onDelete?: (o: Obj) => void
  /** After the first full list has been delivered (and after every relist). */
  onSync?: () => void
  onError?: (e: unknown) => void
}

const keyOf = (o: Obj): string => {
  const m = (o.metadata ?? {}) as Obj
  return `${String(m.namespace ?? '')}/${String(m.name ?? '')}`
}

/**
 * client-go's reflector + store: list, then watch from the list's
 * resourceVersion; on 410 or a broken stream, relist and deliver the
 * difference. `cache` is the current state, keyed "namespace/name".
 */
export class Informer {
  readonly cache = new Map<string, Obj>()
  private readonly ac = new AbortController()
  private synced = false
  private readonly done: Promise<void>

  constructor (private readonly client: KubeClient, private readonly ref: ResourceRef, private readonly opts: ListOpts, private readonly h: InformerHandlers, private readonly backoffMs = 500) {
    this.done = this.run()
  }

  get hasSynced (): boolean { return this.synced }

  async stop (): Promise<void> {
    this.ac.abort()
    await this.done
  }

  /** Resolves once the first list has been delivered. */
  async waitForSync (timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs
    while (!this.synced) {
      if (Date.now() > until) throw new Error(`informer for ${resourcePath(this.ref)} did not sync in ${timeoutMs} ms`)
      if (this.ac.signal.aborted) throw new Error('informer stopped')
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  private async run (): Promise<void> {
    let rv = ''
    let failures = 0
    while (!this.ac.signal.aborted) {
      try {
        if (rv === '') rv = await this.relist()
        let expired = false
        await this.client.watch(this.ref, { ...this.opts, resourceVersion: rv, timeoutSeconds: 300 + Math.floor(Math.random() * 300) }, (ev) => {
          const m = (ev.object.metadata ?? {}) as Obj
          if (ev.type === 'ERROR') { expired = true; return }
          if (typeof m.resourceVersion === 'string') rv = m.resourceVersion
          if (ev.type === 'BOOKMARK') return
          const k = keyOf(ev.object)
          const old = this.cache.get(k)
          if (ev.type === 'DELETED') {
            this.cache.delete(k)
            this.h.onDelete?.(ev.object)
          } else {
            this.cache.set(k, ev.object)
            if (old === undefined) this.h.onAdd?.(ev.object)
            else this.h.onUpdate?.(ev.object, old)
          }
        }, this.ac.signal)
        failures = 0
        if (expired) rv = ''
      } catch (e) {
        if (this.ac.signal.aborted) return
        if (e instanceof KubeApiError && e.expired) rv = ''
        this.h.onError?.(e)
        failures++
        await new Promise((r) => setTimeout(r, Math.min(this.backoffMs * 2 ** Math.min(failures, 6), 30_000)))
      }
    }
  }

  private async relist (): Promise<string> {
    const { items, resourceVersion } = await this.client.list(this.ref, this.opts)
    const seen = new Set<string>()
    for (const o of items) {
      const k = keyOf(o)
      seen.add(k)
      const old = this.cache.get(k)
      this.cache.set(k, o)
      if (old === undefined) this.h.onAdd?.(o)
      else if ((old.metadata as Obj).resourceVersion !== (o.metadata as Obj).resourceVersion) this.h.onUpdate?.(o, old)
    }
    for (const [k, o] of [...this.cache]) {
      if (!seen.has(k)) { this.cache.delete(k); this.h.onDelete?.(o) }
    }
    this.synced = true
    this.h.onSync?.()
    return resourceVersion
  }
}
export { runLeaderElection, microTime, type LeaderElector, type LeaderElectionConfig } from './leader.js'
