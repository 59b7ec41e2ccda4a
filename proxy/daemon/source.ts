/**
 * Local event sources for `weft proxy` until the kube client is wired: a
 * services file or a directory of YAML/JSON manifests (Service and
 * EndpointSlice objects, `List`s of them, or multi-document YAML), read once
 * and, with `watchMs`, re-read on that period, each difference becoming an
 * ADDED/MODIFIED/DELETED event. And an in-memory source tests push into.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { parseAllDocuments } from 'yaml'
import { ProxyError, objectKey, stableJson } from '../tracker/index.js'
import type { EndpointSlice, ProxyEvent, ProxySource, Service } from '../tracker/index.js'

type Obj = { kind: 'Service', object: Service } | { kind: 'EndpointSlice', object: EndpointSlice }

/** Service and EndpointSlice objects of a manifest text; other kinds are ignored, malformed ones throw. */
export function parseManifests (text: string, where: string): Obj[] {
  const out: Obj[] = []
  const visit = (o: unknown): void => {
    if (o === null || typeof o !== 'object') return
    const r = o as Record<string, unknown>
    if (Array.isArray(r.items)) { for (const i of r.items) visit(i); return }
    const meta = r.metadata as { name?: unknown } | undefined
    if (r.kind === 'Service' || r.kind === 'EndpointSlice') {
      if (typeof meta?.name !== 'string') throw new ProxyError('PROXY_ERR_OBJECT', `${where}: a ${r.kind} without metadata.name`)
      if (r.kind === 'Service' && (typeof r.spec !== 'object' || r.spec === null)) throw new ProxyError('PROXY_ERR_OBJECT', `${where}: Service ${meta.name} has no spec`)
      if (r.kind === 'EndpointSlice' && typeof r.addressType !== 'string') throw new ProxyError('PROXY_ERR_OBJECT', `${where}: EndpointSlice ${meta.name} has no addressType`)
      out.push({ kind: r.kind, object: o } as Obj)
    }
  }
  let docs
  try {
    docs = parseAllDocuments(text)
  } catch (e) {
    throw new ProxyError('PROXY_ERR_SOURCE', `${where}: ${(e as Error).message}`, { cause: e })
  }
  for (const d of Array.isArray(docs) ? docs : [docs]) {
    if (d.errors.length > 0) throw new ProxyError('PROXY_ERR_SOURCE', `${where}: ${d.errors[0]?.message ?? 'YAML error'}`)
    visit(d.toJS())
  }
  return out
}

export interface FileSourceInit {
  /** A manifest file, or a directory whose *.yaml, *.yml and *.json files are read. */
  path: string
  /** Re-read this often (ms); 0 reads once. */
  watchMs?: number
  onError?: (e: unknown) => void
}

export function fileSource (init: FileSourceInit): ProxySource {
  let timer: ReturnType<typeof setInterval> | undefined
  let known = new Map<string, { obj: Obj, text: string }>()
  const readAll = (): Obj[] => {
    let files: string[]
    try {
      const st = fs.statSync(init.path)
      files = st.isDirectory()
        ? fs.readdirSync(init.path).filter((f) => /\.(ya?ml|json)$/.test(f)).sort().map((f) => path.join(init.path, f))
        : [init.path]
      return files.flatMap((f) => parseManifests(fs.readFileSync(f, 'utf8'), f))
    } catch (e) {
      if (e instanceof ProxyError) throw e
      throw new ProxyError('PROXY_ERR_SOURCE', `reading ${init.path}: ${(e as Error).message}`, { cause: e })
    }
  }
  const diff = (emit: (e: ProxyEvent) => void): void => {
    const next = new Map<string, { obj: Obj, text: string }>()
    for (const o of readAll()) next.set(`${o.kind}/${objectKey(o.object)}`, { obj: o, text: stableJson(o.object) })
    for (const [k, v] of next) {
      const old = known.get(k)
      if (old === undefined) emit({ type: 'ADDED', ...v.obj } as ProxyEvent)
      else if (old.text !== v.text) emit({ type: 'MODIFIED', ...v.obj } as ProxyEvent)
    }
    for (const [k, v] of known) if (!next.has(k)) emit({ type: 'DELETED', ...v.obj } as ProxyEvent)
    known = next
  }
  return {
    start (onEvent) {
      diff(onEvent)
      onEvent({ type: 'SYNCED', kind: 'Service' })
      onEvent({ type: 'SYNCED', kind: 'EndpointSlice' })
      if ((init.watchMs ?? 0) > 0) {
        timer = setInterval(() => {
          try { diff(onEvent) } catch (e) { init.onError?.(e) }
        }, init.watchMs)
      }
    },
    stop () { if (timer !== undefined) clearInterval(timer); timer = undefined }
  }
}

/** A source tests push events into; `start` replays what was pushed before it. */
export function memorySource (): ProxySource & { push (e: ProxyEvent): void } {
  const backlog: ProxyEvent[] = []
  let sink: ((e: ProxyEvent) => void) | undefined
  return {
    push (e) { if (sink === undefined) backlog.push(e); else sink(e) },
    start (onEvent) { sink = onEvent; for (const e of backlog.splice(0)) onEvent(e) },
    stop () { sink = undefined }
  }
}
