/**
 * Server-side Tables: what `kubectl get` asks for with
 * `Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...`. Mirrors the API
 * server's TableConvertor (`printers/storage` + `endpoints/handlers/response.go`):
 * every column is rendered (kubectl drops priority > 0 without `-o wide`), each row
 * carries the object as PartialObjectMetadata (default), the full object, or nothing.
 */
import type { ResourceInfo } from '../resources.js'
import { printerFor } from './printers.js'
import type { ListMeta, Table, TableRow } from './types.js'

export type IncludeObject = 'None' | 'Metadata' | 'Object'

export interface ToTableOptions {
  now: Date
  /** `?includeObject=`; the API server's default is Metadata. */
  includeObject: IncludeObject
  /** Table API version the client negotiated (parseTableAccept); v1 by default. */
  version?: 'v1' | 'v1beta1'
  /** Omit the column definitions (watch events after the first: kubectl keeps the first event's columns). */
  noHeaders?: boolean
  resourceVersion?: string
  continue?: string
  remainingItemCount?: number
}

/** Parses `?includeObject=`: undefined when absent (use Metadata), null when not one of the three values (400 upstream). */
export function parseIncludeObject (v: string | undefined): IncludeObject | undefined | null {
  if (v === undefined || v === '') return undefined
  return v === 'None' || v === 'Metadata' || v === 'Object' ? v : null
}

function rowObject (o: Record<string, unknown>, include: IncludeObject, apiVersion: string): Record<string, unknown> | undefined {
  switch (include) {
    case 'None': return undefined
    case 'Object': return o
    case 'Metadata': return { kind: 'PartialObjectMetadata', apiVersion, metadata: (o.metadata ?? {}) as Record<string, unknown> }
  }
}

/**
 * Renders objects of one resource as a Table. `objects` are the list's items
 * (or the single object of a GET); a row per object, in order.
 */
export function toTable (resource: Pick<ResourceInfo, 'group' | 'kind'>, objects: readonly object[], opts: ToTableOptions): Table {
  const printer = printerFor(resource.group, resource.kind)
  const apiVersion = opts.version === 'v1beta1' ? 'meta.k8s.io/v1beta1' : 'meta.k8s.io/v1'
  const metadata: ListMeta = {}
  if (opts.resourceVersion !== undefined && opts.resourceVersion !== '') metadata.resourceVersion = opts.resourceVersion
  if (opts.continue !== undefined && opts.continue !== '') metadata.continue = opts.continue
  if (opts.remainingItemCount !== undefined) metadata.remainingItemCount = opts.remainingItemCount
  const rows: TableRow[] = objects.map((raw) => {
    const o = raw as Record<string, unknown>
    const printed = printer.print(o, opts.now)
    const row: TableRow = { cells: printed.cells }
    if (printed.conditions !== undefined) row.conditions = printed.conditions
    const object = rowObject(o, opts.includeObject, apiVersion)
    if (object !== undefined) row.object = object
    return row
  })
  return {
    kind: 'Table',
    apiVersion,
    metadata,
    columnDefinitions: opts.noHeaders === true ? [] : printer.columns.map((c) => ({ ...c })),
    rows
  }
}

// ---- Accept negotiation --------------------------------------------------

interface MediaRange { type: string, subtype: string, params: Record<string, string>, q: number, index: number }

/** Splits an Accept header into media ranges (RFC 9110 §12.5.1), keeping parameters, sorted by q then order. */
export function parseAccept (accept: string): MediaRange[] {
  const out: MediaRange[] = []
  accept.split(',').forEach((part, index) => {
    const [mt, ...rawParams] = part.split(';')
    const [type, subtype] = (mt ?? '').trim().toLowerCase().split('/')
    if (type === undefined || type === '' || subtype === undefined || subtype === '') return
    const params: Record<string, string> = {}
    let q = 1
    for (const p of rawParams) {
      const eq = p.indexOf('=')
      if (eq < 0) continue
      const k = p.slice(0, eq).trim().toLowerCase()
      const v = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1')
      if (k === 'q') q = Number.isNaN(Number(v)) ? 0 : Number(v)
      else params[k] = v
    }
    out.push({ type, subtype, params, q, index })
  })
  return out.filter((m) => m.q > 0).sort((a, b) => b.q - a.q || a.index - b.index)
}

export type TableNegotiation =
  | { table: true, version: 'v1' | 'v1beta1', contentType: string }
  | { table: false }

const jsonish = (m: MediaRange): boolean =>
  (m.type === 'application' && m.subtype === 'json') || (m.type === 'application' && m.subtype === '*') || (m.type === '*' && m.subtype === '*')

/**
 * Whether the client asked for a Table, and with which Content-Type to answer.
 * The first acceptable range decides: a JSON `as=Table;g=meta.k8s.io;v=v1|v1beta1`
 * range means a Table; a plain JSON range (or none we can serve, e.g. protobuf
 * Tables only) means the ordinary object or list.
 */
export function parseTableAccept (accept: string | undefined): TableNegotiation {
  for (const m of parseAccept(accept ?? '')) {
    if (!jsonish(m)) continue
    const as = m.params.as
    if (as === undefined) return { table: false }
    if (as !== 'Table' || m.params.g !== 'meta.k8s.io') continue
    const v = m.params.v
    if (v !== 'v1' && v !== 'v1beta1') continue
    return { table: true, version: v, contentType: `application/json;as=Table;v=${v};g=meta.k8s.io` }
  }
  return { table: false }
}
