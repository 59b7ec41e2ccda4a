/**
 * The HTTP face of the API server (fastify): kube-apiserver's URL layout,
 * verbs, content negotiation (JSON, YAML, Tables, aggregated discovery),
 * watch streams, Status errors, authentication and authorization hooks,
 * health and metrics. Everything below it is pure or behind the store.
 */
import fastify from 'fastify'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { parse as parseYaml } from 'yaml'
import type { Store } from '../store/index.js'
import { prefixFor, prefixRange } from '../store/index.js'
import { Allocator, parsePortRange, parseServiceRange } from './allocator.js'
import { ApiError, badRequest } from './errors.js'
import type { ResourceInfo } from './resources.js'
import { RESOURCES, apiVersionOf, resourceFor } from './resources.js'
import type { DeleteOptions, ListOptions } from './registry.js'
import { Registry, nowRfc3339 } from './registry.js'
import { parseFieldSelector, parseLabelSelector } from './selectors.js'
import { meta, supportsField } from './strategy.js'
import type { Obj } from './validation.js'
import type { WatchEventType } from './watch.js'
import { WatchHub } from './watch.js'
import { applyPatch, PatchError } from './patch/index.js'
import { parseIncludeObject, parseTableAccept, toTable } from './tables/index.js'
import { aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, negotiateDiscovery } from './discovery.js'
import { Metrics } from './metrics.js'
import { openapiV2, openapiV3Document, openapiV3Index } from './openapi/index.js'
import { checkRequest, requestAttributes } from './auth/index.js'
import type { TokenAuthenticator } from './auth/index.js'
import { decodeKubeProtobuf, isProtobufMediaType, ProtobufError } from './protobuf/index.js'
import { fieldValidationIssues, parseFieldValidation, warningHeader } from './schema/index.js'

export const BODY_LIMIT = 3 * 1024 * 1024

/** JSON text of watch event objects, shared by all watchers that receive the same object. */
const serialized = new WeakMap<object, string>()

export interface ApiServerOptions {
  store: Store
  logger: Logger
  serviceClusterIPRange?: string
  serviceNodePortRange?: string
  /** HTTPS when given; plain HTTP otherwise (tests, or behind a proxy). */
  tls?: { key: string, cert: string }
  /** Bearer-token authentication + the three-role authorizer; without it every request is allowed (loopback tests only). */
  authenticator?: Pick<TokenAuthenticator, 'authenticate'>
  /** Address clients reach the server at, for /api's serverAddressByClientCIDRs and the kubernetes Service. */
  advertiseAddress?: string
  bookmarkIntervalMs?: number
  watchHistorySize?: number
}

export interface ApiServer {
  app: FastifyInstance
  registry: Registry
  hub: WatchHub
  metrics: Metrics
  close: () => Promise<void>
}

interface Target {
  info: ResourceInfo
  namespace: string | undefined
  name: string | undefined
  subresource: string | undefined
  watchPath: boolean
}

const JSON_TYPE = 'application/json'

export const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-weft',
  gitCommit: 'weft',
  gitTreeState: 'clean',
  buildDate: '2026-11-22T00:00:00Z',
  goVersion: 'n/a (weft, TypeScript on Node.js)',
  compiler: 'weft',
  platform: `${process.platform}/${process.arch}`
}

export async function buildApiServer (opts: ApiServerOptions): Promise<ApiServer> {
  const ranges = parseServiceRange(opts.serviceClusterIPRange ?? '10.96.0.0/12')
  const ports = parsePortRange(opts.serviceNodePortRange ?? '30000-32767')
  const allocator = new Allocator(opts.store, ranges, ports)
  const registry = new Registry({ store: opts.store, allocator })
  const hub = new WatchHub(registry, {
    ...(opts.bookmarkIntervalMs !== undefined ? { bookmarkIntervalMs: opts.bookmarkIntervalMs } : {}),
    ...(opts.watchHistorySize !== undefined ? { historySize: opts.watchHistorySize } : {})
  })
  const metrics = new Metrics()
  const log = opts.logger
  const app = fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    ...(opts.tls !== undefined ? { https: { key: opts.tls.key, cert: opts.tls.cert } } : {}),
    // The API's own URLs carry ':' in names only in rare cases; keep the router permissive.
    routerOptions: { maxParamLength: 1000, ignoreDuplicateSlashes: true },
    forceCloseConnections: true
  } as unknown as Parameters<typeof fastify>[0]) as unknown as FastifyInstance

  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) => { done(null, body) })

  app.setErrorHandler((err: unknown, req, reply) => {
    const e = toApiError(err)
    if (e.code === 'CTRL_ERR_API_INTERNAL') log.error({ err, url: req.url, method: req.method }, 'internal error')
    void sendStatus(reply, e)
  })
  app.setNotFoundHandler((req, reply) => {
    void sendStatus(reply, new ApiError('CTRL_ERR_API_NOT_FOUND', 'the server could not find the requested resource', {}))
    void req
  })

  // Authentication and authorization for every request, once the body is parsed (node rules look at a created object's name).
  app.addHook('onRequest', async (req) => { (req as unknown as { startedAt: bigint }).startedAt = process.hrtime.bigint() })
  const lookups = {
    podNodeName: async (ns: string, name: string): Promise<string | undefined> => {
      try {
        const pod = await registry.get(resourceFor('', 'v1', 'pods') as ResourceInfo, ns, name)
        const n = (pod.spec as Obj | undefined)?.nodeName
        return typeof n === 'string' ? n : ''
      } catch (e) {
        if (e instanceof ApiError && e.code === 'CTRL_ERR_API_NOT_FOUND') return undefined
        throw e
      }
    }
  }
  if (opts.authenticator !== undefined) {
    const authenticator = opts.authenticator
    app.addHook('preHandler', async (req, reply) => {
      let createName: string | undefined
      let createMirrorPodNode: string | undefined
      if (req.method === 'POST' && Buffer.isBuffer(req.body)) {
        try {
          const body = parseBody(req.body, String(req.headers['content-type'] ?? JSON_TYPE)) as Obj
          ;(req as unknown as { parsedBody: unknown }).parsedBody = body
          createName = meta(body).name as string | undefined
          const ann = meta(body).annotations as Record<string, unknown> | undefined
          if (ann?.['kubernetes.io/config.mirror'] !== undefined) createMirrorPodNode = (body.spec as Obj | undefined)?.nodeName as string | undefined
        } catch {}
      }
      const r = await checkRequest({ authenticator, lookups }, { method: req.method, url: req.url, authorization: req.headers.authorization, createName, createMirrorPodNode })
      if (!r.allowed) {
        await reply.code(r.httpStatus).type(JSON_TYPE).send(JSON.stringify(r.body))
        return reply
      }
    })
  }
  app.addHook('onResponse', async (req, reply) => {
    const started = (req as unknown as { startedAt?: bigint }).startedAt
    let verb = req.method.toLowerCase()
    let resource = ''
    try { const a = requestAttributes(req.method, req.url); verb = a.verb; resource = a.resource } catch {}
    if (started !== undefined && verb !== 'watch') {
      metrics.observeRequest(verb, resource, reply.statusCode, Number(process.hrtime.bigint() - started) / 1e9)
    }
  })

  // ---------------------------------------------------------------- non-resource endpoints
  app.get('/version', async (_req, reply) => await reply.type(JSON_TYPE).send(VERSION_INFO))
  const health = async (req: FastifyRequest, reply: FastifyReply, check: boolean): Promise<FastifyReply> => {
    const verbose = Object.hasOwn(req.query as object, 'verbose')
    let ok = true
    let storeLine = '[+]etcd ok'
    if (check) {
      try {
        await Promise.race([opts.store.revision(), new Promise((_r, rej) => setTimeout(() => { rej(new Error('timeout')) }, 2000).unref())])
      } catch (e) { ok = false; storeLine = `[-]etcd failed: ${(e as Error).message}` }
    }
    const body = verbose ? `[+]ping ok\n${storeLine}\nhealthz check ${ok ? 'passed' : 'failed'}\n` : ok ? 'ok' : `${storeLine}\nhealthz check failed\n`
    return await reply.code(ok ? 200 : 500).type('text/plain; charset=utf-8').send(body)
  }
  app.get('/healthz', async (req, reply) => await health(req, reply, true))
  app.get('/livez', async (req, reply) => await health(req, reply, false))
  app.get('/readyz', async (req, reply) => await health(req, reply, true))
  app.get('/metrics', async (_req, reply) => {
    const counts = new Map<string, number>()
    for (const info of RESOURCES) {
      try {
        const { count } = await opts.store.list(...rangeArgs(info))
        counts.set(info.group === '' ? info.plural : `${info.plural}.${info.group}`, count)
      } catch {}
    }
    return await reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render(counts, hub.watchers()))
  })

  // Discovery
  const serverAddress = opts.advertiseAddress ?? '127.0.0.1:6443'
  app.get('/api', async (req, reply) => {
    const neg = negotiateDiscovery(req.headers.accept)
    if (neg.aggregated) return await sendTyped(reply, 200, neg.contentType, aggregatedDiscovery('core', neg.version))
    return await reply.type(JSON_TYPE).send(apiVersions(serverAddress))
  })
  app.get('/apis', async (req, reply) => {
    const neg = negotiateDiscovery(req.headers.accept)
    if (neg.aggregated) return await sendTyped(reply, 200, neg.contentType, aggregatedDiscovery('apis', neg.version))
    return await reply.type(JSON_TYPE).send(apiGroupList())
  })
  // OpenAPI
  app.get('/openapi/v2', async (req, reply) => {
    const v2 = openapiV2(req.headers.accept)
    return await reply.type(v2.contentType).header('etag', v2.etag).send(v2.body)
  })
  app.get('/openapi/v3', async (_req, reply) => await reply.type(JSON_TYPE).send(openapiV3Index()))
  app.get('/openapi/v3/*', async (req, reply) => {
    const gv = (req.params as { '*': string })['*']
    const doc = openapiV3Document(gv)
    if (doc === undefined) throw new ApiError('CTRL_ERR_API_NOT_FOUND', `no OpenAPI v3 document for ${gv}`)
    return await reply.type(JSON_TYPE).header('cache-control', 'public, immutable').send(doc)
  })

  // ---------------------------------------------------------------- resources
  const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const url = req.url.split('?')[0] as string
    const parts = url.split('/').filter((s) => s !== '').map(decodeURIComponent)
    let group: string
    let version: string | undefined
    let rest: string[]
    if (parts[0] === 'api') {
      group = ''
      version = parts[1]
      rest = parts.slice(2)
    } else {
      group = parts[1] ?? ''
      version = parts[2]
      rest = parts.slice(3)
      if (version === undefined) {
        const g = apiGroup(group)
        if (g === undefined || req.method !== 'GET') throw new ApiError('CTRL_ERR_API_NOT_FOUND', 'the server could not find the requested resource')
        return await reply.type(JSON_TYPE).send(g)
      }
    }
    if (version === undefined) throw new ApiError('CTRL_ERR_API_NOT_FOUND', 'the server could not find the requested resource')
    if (rest.length === 0) {
      const list = apiResourceList(group, version)
      if (list === undefined || req.method !== 'GET') throw new ApiError('CTRL_ERR_API_NOT_FOUND', 'the server could not find the requested resource')
      return await reply.type(JSON_TYPE).send(list)
    }
    const target = parseTarget(group, version, rest)
    return await serveResource(req, reply, target)
  }
  app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], url: '/api/*', handler })
  app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], url: '/apis/*', handler })

  async function serveResource (req: FastifyRequest, reply: FastifyReply, t: Target): Promise<unknown> {
    const q = req.query as Record<string, string | undefined>
    const { info } = t
    const dryRun = q.dryRun !== undefined && q.dryRun !== ''
    if (q.dryRun !== undefined && q.dryRun !== '' && q.dryRun !== 'All') throw badRequest(`Invalid dry run value: ${q.dryRun}`)
    if (info.namespaced && t.namespace === undefined && t.name !== undefined) {
      throw new ApiError('CTRL_ERR_API_NOT_FOUND', 'the server could not find the requested resource')
    }
    const method = req.method
    const watch = t.watchPath || q.watch === 'true' || q.watch === '1'
    if (t.subresource !== undefined && !info.subresources.some((s) => s.name === t.subresource) && !(info.plural === 'namespaces' && t.subresource === 'finalize')) {
      throw new ApiError('CTRL_ERR_API_NOT_FOUND', 'the server could not find the requested resource')
    }
    switch (method) {
      case 'GET': {
        if (t.name === undefined) {
          if (watch) return await serveWatch(req, reply, t)
          return await serveList(req, reply, t)
        }
        if (watch) return await serveWatch(req, reply, { ...t, name: undefined }, t.name)
        if (t.subresource === 'scale') return await send(reply, 200, toScale(await registry.get(info, t.namespace, t.name)))
        if (t.subresource === 'log') return await serveLog(req, reply, t.namespace as string, t.name)
        const obj = await registry.get(info, t.namespace, t.name, q.resourceVersion)
        return await sendMaybeTable(req, reply, t.info, [obj], obj, undefined)
      }
      case 'POST': {
        const body = decodeBody(req)
        checkFieldValidation(req, reply, info, t.subresource, body, 'CreateOptions')
        if (t.name !== undefined && t.subresource === 'binding') return await send(reply, 201, await bind(t.namespace, t.name, body))
        if (t.name !== undefined) throw new ApiError('CTRL_ERR_API_METHOD_NOT_ALLOWED', `the server does not allow this method on the requested resource`)
        const created = await registry.create(info, info.namespaced ? t.namespace : undefined, body as Obj, { dryRun })
        return await send(reply, 201, created)
      }
      case 'PUT': {
        if (t.name === undefined) throw new ApiError('CTRL_ERR_API_METHOD_NOT_ALLOWED', 'the server does not allow this method on the requested resource')
        const body = decodeBody(req) as Obj
        checkFieldValidation(req, reply, info, t.subresource, body, 'UpdateOptions')
        if (t.subresource === 'scale') return await send(reply, 200, await updateScale(info, t.namespace, t.name, () => body, String(meta(body).resourceVersion ?? '')))
        const updated = await registry.update(info, t.namespace, t.name, body, { dryRun, ...(t.subresource !== undefined ? { subresource: t.subresource } : {}) })
        return await send(reply, 200, updated)
      }
      case 'PATCH': {
        if (t.name === undefined) throw new ApiError('CTRL_ERR_API_METHOD_NOT_ALLOWED', 'the server does not allow this method on the requested resource')
        const ct = String(req.headers['content-type'] ?? '')
        const raw = req.body as Buffer | undefined
        if (raw === undefined || raw.length === 0) throw badRequest('the body of the request was empty')
        const name = t.name
        if (t.subresource === 'scale') {
          return await send(reply, 200, await updateScale(info, t.namespace, name, (scale) => patchObject(ct, scale, raw, { apiVersion: 'autoscaling/v1', kind: 'Scale' }), ''))
        }
        const gvk = { apiVersion: apiVersionOf(info), kind: info.kind }
        const isApply = ct.split(';')[0]?.trim() === 'application/apply-patch+yaml'
        try {
          const out = await registry.guaranteedUpdate(info, t.namespace, name, (cur) => {
            const next = patchObject(ct, cur, raw, gvk)
            // A patch that carries metadata.resourceVersion is a precondition on the current one.
            const rv = meta(next).resourceVersion
            if (rv !== undefined && rv !== meta(cur).resourceVersion) {
              throw new ApiError('CTRL_ERR_API_CONFLICT', `Operation cannot be fulfilled on ${info.group === '' ? info.plural : `${info.plural}.${info.group}`} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, group: info.group, kind: info.plural })
            }
            return next
          }, { dryRun, ...(t.subresource !== undefined ? { subresource: t.subresource } : {}) })
          return await send(reply, 200, out)
        } catch (e) {
          // Server-side apply creates what is not there yet.
          if (isApply && e instanceof ApiError && e.code === 'CTRL_ERR_API_NOT_FOUND' && t.subresource === undefined) {
            const body = parseBodyText(raw.toString('utf8'), 'application/yaml') as Obj
            const m = meta(body)
            if (m.name !== undefined && m.name !== name) throw badRequest(`the name of the object (${String(m.name)}) does not match the name on the URL (${name})`)
            m.name = name
            return await send(reply, 201, await registry.create(info, t.namespace, body, { dryRun }))
          }
          throw e
        }
      }
      case 'DELETE': {
        const dopts = deleteOptions(req)
        if (dryRun) dopts.dryRun = true
        if (t.name === undefined) {
          const items = await registry.deleteCollection(info, t.namespace, listOptions(info, q), dopts)
          return await send(reply, 200, { kind: info.listKind, apiVersion: apiVersionOf(info), metadata: {}, items })
        }
        const { obj } = await registry.delete(info, t.namespace, t.name, dopts)
        return await send(reply, 200, obj)
      }
      default:
        throw new ApiError('CTRL_ERR_API_METHOD_NOT_ALLOWED', 'the server does not allow this method on the requested resource')
    }
  }

  function patchObject (ct: string, cur: Obj, raw: Buffer, gvk: { apiVersion: string, kind: string }): Obj {
    try {
      return applyPatch(ct, cur, raw, gvk) as Obj
    } catch (e) {
      if (e instanceof PatchError) {
        const code = e.status === 415 ? 'CTRL_ERR_API_UNSUPPORTED_MEDIA_TYPE' : e.status === 422 ? 'CTRL_ERR_API_INVALID' : e.status === 409 ? 'CTRL_ERR_API_CONFLICT' : 'CTRL_ERR_API_BAD_REQUEST'
        throw new ApiError(code, e.message)
      }
      throw e
    }
  }

  async function serveList (req: FastifyRequest, reply: FastifyReply, t: Target): Promise<unknown> {
    const q = req.query as Record<string, string | undefined>
    const lo = listOptions(t.info, q)
    const table = parseTableAccept(req.headers.accept).table
    const res = await registry.list(t.info, t.namespace, lo, !table)
    const listMeta = {
      resourceVersion: res.resourceVersion,
      ...(res.continue !== undefined ? { continue: res.continue } : {}),
      ...(res.remainingItemCount !== undefined ? { remainingItemCount: res.remainingItemCount } : {})
    }
    if (!table) {
      // Items as stored text: no parse and re-serialization of every object.
      const parts: Uint8Array[] = [Buffer.from(`{"kind":"${t.info.listKind}","apiVersion":"${apiVersionOf(t.info)}","metadata":${JSON.stringify(listMeta)},"items":[`)]
      const comma = Buffer.from(',')
      ;(res.chunks ?? []).forEach((c, i) => { if (i > 0) parts.push(comma); parts.push(...c) })
      parts.push(Buffer.from(']}'))
      return await reply.code(200).type(JSON_TYPE).send(Buffer.concat(parts))
    }
    const list: Obj = { kind: t.info.listKind, apiVersion: apiVersionOf(t.info), metadata: listMeta, items: res.items }
    return await sendMaybeTable(req, reply, t.info, res.items, list, res)
  }

  async function sendMaybeTable (req: FastifyRequest, reply: FastifyReply, info: ResourceInfo, items: Obj[], plain: Obj, list: { resourceVersion: string, continue?: string, remainingItemCount?: number } | undefined): Promise<unknown> {
    const neg = parseTableAccept(req.headers.accept)
    if (!neg.table) return await send(reply, 200, plain)
    const q = req.query as Record<string, string | undefined>
    const include = parseIncludeObject(q.includeObject)
    if (include === null) throw badRequest(`includeObject: Unsupported value: "${String(q.includeObject)}": supported values: "Metadata", "None", "Object"`)
    const table = toTable(info, items, {
      now: new Date(),
      includeObject: include ?? 'Metadata',
      version: neg.version,
      ...(list !== undefined ? { resourceVersion: list.resourceVersion } : { resourceVersion: String(meta(plain).resourceVersion ?? '') }),
      ...(list?.continue !== undefined ? { continue: list.continue } : {}),
      ...(list?.remainingItemCount !== undefined ? { remainingItemCount: list.remainingItemCount } : {})
    })
    return await sendTyped(reply, 200, neg.contentType, table)
  }

  async function serveWatch (req: FastifyRequest, reply: FastifyReply, t: Target, singleName?: string): Promise<void> {
    const q = req.query as Record<string, string | undefined>
    const lo = listOptions(t.info, q)
    if (singleName !== undefined) {
      lo.fieldSelector = parseFieldSelector(`metadata.name=${singleName}${lo.fieldSelector !== undefined && lo.fieldSelector.text !== '' ? `,${lo.fieldSelector.text}` : ''}`, (f) => supportsField(t.info, f))
    }
    const neg = parseTableAccept(req.headers.accept)
    const include = parseIncludeObject(q.includeObject) ?? 'Metadata'
    const timeoutSeconds = q.timeoutSeconds !== undefined ? Number(q.timeoutSeconds) : 1800 + Math.floor(Math.random() * 1800)
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0) throw badRequest(`invalid timeoutSeconds "${String(q.timeoutSeconds)}"`)
    const sendInitialEvents = q.sendInitialEvents === 'true'
    if (sendInitialEvents && q.resourceVersionMatch !== 'NotOlderThan') throw badRequest('sendInitialEvents requires resourceVersionMatch=NotOlderThan')
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'Content-Type': neg.table ? neg.contentType : JSON_TYPE,
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked'
    })
    res.flushHeaders()
    const ac = new AbortController()
    const stop = (): void => { ac.abort() }
    req.raw.on('close', stop)
    res.on('close', stop)
    const timer = setTimeout(stop, timeoutSeconds * 1000)
    timer.unref()
    let headersSent = false
    const write = (type: WatchEventType, object: Obj): void => {
      if (res.writableEnded) return
      let out: unknown = object
      if (neg.table && type !== 'BOOKMARK' && type !== 'ERROR') {
        out = toTable(t.info, [object], { now: new Date(), includeObject: include, version: neg.version, noHeaders: headersSent, resourceVersion: String(meta(object).resourceVersion ?? '') })
        headersSent = true
      }
      let text = out === object ? serialized.get(object) : undefined
      if (text === undefined) {
        text = JSON.stringify(out)
        // The same event object goes to every watcher of its resource: serialize it once.
        if (out === object) serialized.set(object, text)
      }
      res.write(`{"type":"${type}","object":${text}}\n`)
    }
    metrics.watchOpened()
    try {
      await hub.watch({
        info: t.info,
        namespace: t.namespace,
        selectors: { ...(lo.labelSelector !== undefined ? { labelSelector: lo.labelSelector } : {}), ...(lo.fieldSelector !== undefined ? { fieldSelector: lo.fieldSelector } : {}) },
        resourceVersion: q.resourceVersion,
        allowBookmarks: q.allowWatchBookmarks === 'true',
        sendInitialEvents,
        signal: ac.signal,
        send: write,
        backlog: () => res.writableLength
      })
    } catch (e) {
      const err = toApiError(e)
      write('ERROR', err.toStatus())
    } finally {
      metrics.watchClosed()
      clearTimeout(timer)
      req.raw.off('close', stop)
      if (!res.writableEnded) res.end()
    }
  }

  /** pods/log: proxied to the kubelet of the pod's node (its InternalIP and daemonEndpoints port), as kube-apiserver does. */
  async function serveLog (req: FastifyRequest, reply: FastifyReply, ns: string, name: string): Promise<unknown> {
    const q = req.query as Record<string, string | undefined>
    const pod = await registry.get(resourceFor('', 'v1', 'pods') as ResourceInfo, ns, name)
    const spec = (pod.spec ?? {}) as Obj
    const names = ((spec.containers ?? []) as Obj[]).map((c) => String(c.name))
    const initNames = ((spec.initContainers ?? []) as Obj[]).map((c) => String(c.name))
    let container = q.container
    if (container === undefined || container === '') {
      if (names.length !== 1) throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]${initNames.length > 0 ? ` or one of the init containers: [${initNames.join(' ')}]` : ''}`)
      container = names[0] as string
    } else if (!names.includes(container) && !initNames.includes(container)) {
      throw badRequest(`container ${container} is not valid for pod ${name}`)
    }
    const nodeName = spec.nodeName
    if (typeof nodeName !== 'string' || nodeName === '') throw badRequest(`pod ${name} is not yet scheduled to a node: no logs`)
    let node: Obj
    try { node = await registry.get(resourceFor('', 'v1', 'nodes') as ResourceInfo, undefined, nodeName) } catch {
      throw new ApiError('CTRL_ERR_API_SERVICE_UNAVAILABLE', `node ${nodeName} of pod ${name} is not registered`)
    }
    const status = (node.status ?? {}) as Obj
    const addr = ((status.addresses ?? []) as Obj[]).find((a) => a.type === 'InternalIP')?.address
    const port = (((status.daemonEndpoints ?? {}) as Obj).kubeletEndpoint as Obj | undefined)?.Port
    if (typeof addr !== 'string' || typeof port !== 'number') throw new ApiError('CTRL_ERR_API_SERVICE_UNAVAILABLE', `node ${nodeName} has no kubelet endpoint (InternalIP and daemonEndpoints.kubeletEndpoint.Port)`)
    const params = new URLSearchParams()
    for (const k of ['follow', 'previous', 'tailLines', 'sinceSeconds', 'sinceTime', 'timestamps', 'limitBytes']) { const v = q[k]; if (v !== undefined) params.set(k, v) }
    const host = addr.includes(':') ? `[${addr}]` : addr
    const url = `http://${host}:${port}/containerLogs/${encodeURIComponent(ns)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}?${params.toString()}`
    const ac = new AbortController()
    req.raw.on('close', () => { ac.abort() })
    let upstream: Response
    try { upstream = await fetch(url, { signal: ac.signal }) } catch (e) {
      throw new ApiError('CTRL_ERR_API_SERVICE_UNAVAILABLE', `Get "${url}": ${(e as Error).message}`)
    }
    if (!upstream.ok || upstream.body === null) {
      const text = await upstream.text().catch(() => '')
      const code = upstream.status === 404 ? 'CTRL_ERR_API_NOT_FOUND' : upstream.status === 400 ? 'CTRL_ERR_API_BAD_REQUEST' : 'CTRL_ERR_API_SERVICE_UNAVAILABLE'
      throw new ApiError(code, text.trim() !== '' ? text.trim() : `kubelet answered ${upstream.status} for the logs of ${ns}/${name}/${container}`)
    }
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' })
    res.flushHeaders()
    try {
      for await (const chunk of upstream.body as unknown as AsyncIterable<Uint8Array>) {
        if (!res.write(chunk)) await new Promise((r) => res.once('drain', r))
      }
    } catch {} finally { if (!res.writableEnded) res.end() }
    return undefined
  }

  async function bind (ns: string | undefined, name: string, body: unknown): Promise<Obj> {
    const b = body as Obj
    if (b.kind !== undefined && b.kind !== 'Binding') throw badRequest(`Binding in version "v1" cannot be handled as a ${String(b.kind)}`)
    const target = (b.target ?? {}) as Obj
    const node = target.name
    if (typeof node !== 'string' || node === '') throw new ApiError('CTRL_ERR_API_INVALID', 'Binding is invalid: target.name: Required value', { kind: 'Binding', causes: [{ type: 'FieldValueRequired', message: 'Required value', field: 'target.name' }] })
    const bm = (b.metadata ?? {}) as Obj
    if (bm.name !== undefined && bm.name !== name) throw badRequest('the name of the binding does not match the pod on the URL')
    const pods = resourceFor('', 'v1', 'pods') as ResourceInfo
    await registry.guaranteedUpdate(pods, ns, name, (pod) => {
      const m = meta(pod)
      if (bm.uid !== undefined && bm.uid !== m.uid) throw new ApiError('CTRL_ERR_API_CONFLICT', `Operation cannot be fulfilled on pods/binding "${name}": Precondition failed: UID in precondition: ${String(bm.uid)}, UID in object meta: ${String(m.uid)}`)
      if (m.deletionTimestamp !== undefined) throw new ApiError('CTRL_ERR_API_CONFLICT', `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is being deleted, cannot be assigned to a host`)
      const spec = pod.spec as Obj
      if (typeof spec.nodeName === 'string' && spec.nodeName !== '') {
        throw new ApiError('CTRL_ERR_API_CONFLICT', `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is already assigned to node "${spec.nodeName}"`, { name, kind: 'pods/binding' })
      }
      spec.nodeName = node
      const status = (pod.status ?? {}) as Obj
      const conds = (Array.isArray(status.conditions) ? status.conditions : []) as Obj[]
      const c = { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: nowRfc3339() }
      const i = conds.findIndex((x) => x.type === 'PodScheduled')
      if (i >= 0) conds[i] = c
      else conds.push(c)
      status.conditions = conds
      pod.status = status
      // binding is the one way to set nodeName: go around the pod update rules.
      return pod
    }, { subresource: 'binding-internal' })
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }
  }

  async function updateScale (info: ResourceInfo, ns: string | undefined, name: string, mutate: (scale: Obj) => Obj, precondition: string): Promise<Obj> {
    const out = await registry.guaranteedUpdate(info, ns, name, (cur) => {
      const scale = mutate(toScale(cur))
      const replicas = (scale.spec as Obj | undefined)?.replicas
      if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
        throw new ApiError('CTRL_ERR_API_INVALID', `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
          { name, group: 'autoscaling', kind: 'Scale', causes: [{ type: 'FieldValueInvalid', message: 'must be greater than or equal to 0', field: 'spec.replicas' }] })
      }
      const srv = meta(scale).resourceVersion
      if (typeof srv === 'string' && srv !== '' && srv !== meta(cur).resourceVersion) throw new ApiError('CTRL_ERR_API_CONFLICT', `Operation cannot be fulfilled on ${info.plural}.${info.group} "${name}": the object has been modified; please apply your changes to the latest version and try again`)
      ;(cur.spec as Obj).replicas = replicas
      return cur
    }, precondition !== '' ? { precondition } : {})
    return toScale(out)
  }

  const started = async (): Promise<void> => {
    try {
      const released = await registry.repairAllocations()
      if (released.length > 0) log.info({ released }, 'released allocations no Service holds')
    } catch (e) { log.warn({ err: e }, 'allocation repair failed; will retry at next start') }
  }
  await started()
  await registry.namespaces.start()

  return {
    app,
    registry,
    hub,
    metrics,
    close: async () => {
      registry.namespaces.stop()
      hub.close()
      await app.close()
    }
  }
}

// ---------------------------------------------------------------- helpers

/** Count-only range over one resource's keys (kube-apiserver's layout, from the store's keys). */
function rangeArgs (info: ResourceInfo): [string, { end: string, countOnly: true }] {
  const r = prefixRange(prefixFor(info.plural))
  return [r.start, { end: r.end, countOnly: true }]
}

export function parseTarget (group: string, version: string, rest: string[]): Target {
  let parts = rest
  let watchPath = false
  if (parts[0] === 'watch') { watchPath = true; parts = parts.slice(1) }
  let namespace: string | undefined
  if (parts[0] === 'namespaces' && parts.length > 1) {
    namespace = parts[1]
    if (parts.length > 2 && !(parts.length === 3 && (parts[2] === 'status' || parts[2] === 'finalize'))) parts = parts.slice(2)
  }
  const [resource, name, sub, ...extra] = parts
  const info = resource !== undefined ? resourceFor(group, version, resource) : undefined
  if (info === undefined || extra.length > 0) throw new ApiError('CTRL_ERR_API_NOT_FOUND', 'the server could not find the requested resource')
  if (info.plural === 'namespaces') {
    // /namespaces/{name}[/status|/finalize]: the namespace is the object itself.
    return { info, namespace: undefined, name, subresource: sub, watchPath }
  }
  if (!info.namespaced && namespace !== undefined) throw new ApiError('CTRL_ERR_API_NOT_FOUND', 'the server could not find the requested resource')
  return { info, namespace, name, subresource: sub, watchPath }
}

function listOptions (info: ResourceInfo, q: Record<string, string | undefined>): ListOptions {
  const lo: ListOptions = {}
  if (q.labelSelector !== undefined && q.labelSelector !== '') lo.labelSelector = parseLabelSelector(q.labelSelector)
  if (q.fieldSelector !== undefined && q.fieldSelector !== '') lo.fieldSelector = parseFieldSelector(q.fieldSelector, (f) => supportsField(info, f))
  if (q.limit !== undefined && q.limit !== '') {
    const n = Number(q.limit)
    if (!Number.isInteger(n) || n < 0) throw badRequest(`invalid limit "${q.limit}"`)
    lo.limit = n
  }
  if (q.continue !== undefined) lo.continue = q.continue
  if (q.resourceVersion !== undefined) lo.resourceVersion = q.resourceVersion
  if (q.resourceVersionMatch !== undefined && q.resourceVersionMatch !== '') {
    if (q.resourceVersionMatch !== 'Exact' && q.resourceVersionMatch !== 'NotOlderThan') throw badRequest(`resourceVersionMatch: Unsupported value: "${q.resourceVersionMatch}": supported values: "Exact", "NotOlderThan"`)
    lo.resourceVersionMatch = q.resourceVersionMatch
  }
  return lo
}

function deleteOptions (req: FastifyRequest): DeleteOptions {
  const q = req.query as Record<string, string | undefined>
  const out: DeleteOptions = {}
  const raw = req.body as Buffer | undefined
  if (raw !== undefined && raw.length > 0) {
    const b = decodeBody(req) as Obj
    if (typeof b !== 'object' || b === null) throw badRequest('DeleteOptions must be an object')
    if (b.gracePeriodSeconds !== undefined && b.gracePeriodSeconds !== null) out.gracePeriodSeconds = Number(b.gracePeriodSeconds)
    if (typeof b.propagationPolicy === 'string') out.propagationPolicy = b.propagationPolicy as 'Orphan'
    if (b.orphanDependents === true) out.propagationPolicy = 'Orphan'
    if (typeof b.preconditions === 'object' && b.preconditions !== null) out.preconditions = b.preconditions as DeleteOptions['preconditions'] & object
    if (Array.isArray(b.dryRun) && b.dryRun.includes('All')) out.dryRun = true
  }
  if (q.gracePeriodSeconds !== undefined) out.gracePeriodSeconds = Number(q.gracePeriodSeconds)
  if (q.propagationPolicy !== undefined) out.propagationPolicy = q.propagationPolicy as 'Orphan'
  if (q.orphanDependents === 'true') out.propagationPolicy = 'Orphan'
  if (out.gracePeriodSeconds !== undefined && (!Number.isInteger(out.gracePeriodSeconds))) throw badRequest('gracePeriodSeconds must be an integer')
  if (out.propagationPolicy !== undefined && !['Orphan', 'Background', 'Foreground'].includes(out.propagationPolicy)) {
    throw new ApiError('CTRL_ERR_API_INVALID', `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${out.propagationPolicy}": supported values: "Foreground", "Background", "Orphan", "nil"`)
  }
  return out
}

function decodeBody (req: FastifyRequest): unknown {
  const parsed = (req as unknown as { parsedBody?: unknown }).parsedBody
  if (parsed !== undefined) return parsed
  const raw = req.body as Buffer | undefined
  if (raw === undefined || raw.length === 0) throw badRequest('the body of the request was empty')
  const ct = String(req.headers['content-type'] ?? JSON_TYPE)
  return parseBody(raw, ct)
}

/** A request body of any accepted media type; Kubernetes protobuf goes to protobuf/ (docs/apiserver-protobuf.md). */
export function parseBody (raw: Buffer, contentType: string): unknown {
  if (!isProtobufMediaType(contentType)) return parseBodyText(raw.toString('utf8'), contentType)
  try { return decodeKubeProtobuf(raw) } catch (e) {
    if (e instanceof ProtobufError) throw new ApiError('CTRL_ERR_API_BAD_REQUEST', e.message, undefined, e)
    throw e
  }
}

/**
 * `?fieldValidation=` on a create or update (schema/strict.ts): Strict answers 400 for unknown or
 * duplicate fields, Warn (the default) sends them as Warning headers, Ignore does nothing.
 * Protobuf bodies need no check: the decoder refuses unknown field numbers itself.
 */
function checkFieldValidation (req: FastifyRequest, reply: FastifyReply, info: ResourceInfo, subresource: string | undefined, body: unknown, options: 'CreateOptions' | 'UpdateOptions'): void {
  const directive = (req.query as Record<string, string | undefined>).fieldValidation
  parseFieldValidation(directive, options)
  const raw = req.body as Buffer | undefined
  const ct = String(req.headers['content-type'] ?? JSON_TYPE)
  if (raw === undefined || isProtobufMediaType(ct) || typeof body !== 'object' || body === null) return
  const sub = info.subresources.find((s) => s.name === subresource && s.name !== 'status')
  const resource = sub !== undefined ? { apiVersion: apiVersionOf(sub), kind: sub.kind } : { apiVersion: apiVersionOf(info), kind: info.kind }
  const mt = (ct.split(';')[0] ?? '').trim().toLowerCase()
  const json = mt === 'application/json' || mt === '' || mt === '*/*'
  const warnings = fieldValidationIssues({ directive, text: raw.toString('utf8'), json, body: body as Record<string, unknown>, resource, options })
  if (warnings.length > 0) void reply.header('warning', warnings.map(warningHeader))
}

export function parseBodyText (text: string, contentType: string): unknown {
  const mt = (contentType.split(';')[0] ?? '').trim().toLowerCase()
  let v: unknown
  if (mt === 'application/json' || mt === '' || mt === '*/*') {
    try { v = JSON.parse(text) } catch (e) {
      throw badRequest(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (invalid JSON: ${(e as Error).message})`)
    }
  } else if (mt === 'application/yaml' || mt === 'application/apply-patch+yaml' || mt === 'text/yaml' || mt === 'application/x-yaml') {
    try { v = parseYaml(text, { maxAliasCount: 100, uniqueKeys: true }) } catch (e) {
      throw badRequest(`error converting YAML to JSON: ${(e as Error).message.split('\n')[0] ?? ''}`)
    }
  } else {
    // (protobuf bodies are decoded before this, in parseBody)
    throw new ApiError('CTRL_ERR_API_UNSUPPORTED_MEDIA_TYPE', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf; got ${mt}`)
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badRequest('the body must be a JSON or YAML object')
  return v
}

function toScale (o: Obj): Obj {
  const m = meta(o)
  const spec = (o.spec ?? {}) as Obj
  const status = (o.status ?? {}) as Obj
  const sel = spec.selector as { matchLabels?: Record<string, string> } | undefined
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: spec.replicas ?? 0 },
    status: { replicas: status.replicas ?? 0, selector: Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') }
  }
}

export function toApiError (err: unknown): ApiError {
  if (err instanceof ApiError) return err
  const e = err as { code?: string, statusCode?: number, message?: string }
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new ApiError('CTRL_ERR_API_TOO_LARGE', `Request entity too large: limit is ${BODY_LIMIT}`)
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new ApiError('CTRL_ERR_API_UNSUPPORTED_MEDIA_TYPE', e.message ?? 'unsupported media type')
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return badRequest(e.message ?? 'bad request')
  return new ApiError('CTRL_ERR_API_INTERNAL', `Internal error occurred: ${e.message ?? String(err)}`)
}

async function sendStatus (reply: FastifyReply, e: ApiError): Promise<FastifyReply> {
  if (e.details?.retryAfterSeconds !== undefined) void reply.header('retry-after', String(e.details.retryAfterSeconds))
  return await reply.code(e.status).type(JSON_TYPE).send(JSON.stringify(e.toStatus()))
}

/** Sends JSON under a Content-Type with parameters (Table, aggregated discovery) exactly as given: fastify would re-quote them. */
async function sendTyped (reply: FastifyReply, code: number, contentType: string, body: unknown): Promise<FastifyReply> {
  return await reply.code(code).header('content-type', contentType).send(Buffer.from(JSON.stringify(body)))
}

async function send (reply: FastifyReply, code: number, body: unknown): Promise<FastifyReply> {
  return await reply.code(code).type(JSON_TYPE).send(JSON.stringify(body))
}

