/**
 * The OpenAPI documents: `/openapi/v2` (Swagger 2.0, served as JSON or as
 * gnostic protobuf, see v2proto.ts) and `/openapi/v3` (an index of one
 * OpenAPI 3.0 document per group/version, each addressed with a content hash
 * so clients can cache it forever).
 */
import { createHash } from 'node:crypto'
import { RESOURCES, type ResourceInfo } from '../resources.js'
import { allPaths, type Method, type Operation, type Param, type PathEntry } from './paths.js'
import { allSchemas, type JsonSchema } from './schemas.js'

export const OPENAPI_TITLE = 'Kubernetes'
/** The Kubernetes version the documents describe (kubectl only warns on skew). */
export const OPENAPI_VERSION = 'v1.32.0'

const METHODS: Method[] = ['get', 'put', 'post', 'delete', 'patch']

// ---- v2 ---------------------------------------------------------------------

function v2Param (p: Param): JsonSchema {
  const out: JsonSchema = { uniqueItems: true, type: p.type, description: p.description, name: p.name, in: p.in }
  if (p.required === true) out.required = true
  return out
}

function v2Operation (o: Operation): JsonSchema {
  const parameters: JsonSchema[] = []
  if (o.body !== undefined) parameters.push({ name: 'body', in: 'body', required: true, schema: { $ref: `#/definitions/${o.body}` } })
  parameters.push(...o.params.map(v2Param))
  const responses: JsonSchema = {}
  for (const r of o.responses) {
    responses[r.code] = r.text === true
      ? { description: r.description, schema: { type: 'string' } }
      : { description: r.description, schema: { $ref: `#/definitions/${r.schema ?? ''}` } }
  }
  responses['401'] = { description: 'Unauthorized' }
  const out: JsonSchema = {
    description: o.description,
    consumes: o.consumes,
    produces: o.produces,
    schemes: ['https'],
    tags: [o.tag],
    operationId: o.operationId,
    responses,
    'x-kubernetes-action': o.action,
    'x-kubernetes-group-version-kind': { group: o.gvk.group, kind: o.gvk.kind, version: o.gvk.version }
  }
  if (parameters.length > 0) out.parameters = parameters
  return out
}

function v2PathItem (e: PathEntry): JsonSchema {
  const item: JsonSchema = {}
  for (const m of METHODS) {
    const o = e.operations[m]
    if (o !== undefined) item[m] = v2Operation(o)
  }
  item.parameters = e.params.map(v2Param)
  return item
}

/** The Swagger 2.0 document of `/openapi/v2` (the JSON form; v2proto.ts encodes it as protobuf). */
export function openAPIv2 (resources: readonly ResourceInfo[] = RESOURCES): JsonSchema {
  const paths: JsonSchema = {}
  for (const e of allPaths(resources)) paths[e.path] = v2PathItem(e)
  return {
    swagger: '2.0',
    info: { title: OPENAPI_TITLE, version: OPENAPI_VERSION },
    paths,
    definitions: allSchemas('#/definitions/', resources),
    securityDefinitions: { BearerToken: { description: 'Bearer Token authentication', type: 'apiKey', name: 'authorization', in: 'header' } },
    security: [{ BearerToken: [] }]
  }
}

// ---- v3 ---------------------------------------------------------------------

function v3Param (p: Param): JsonSchema {
  const out: JsonSchema = { name: p.name, in: p.in, description: p.description, schema: { type: p.type, uniqueItems: true } }
  if (p.required === true) out.required = true
  return out
}

const ref3 = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` })

function v3Operation (o: Operation): JsonSchema {
  const responses: JsonSchema = {}
  for (const r of o.responses) {
    const content: JsonSchema = {}
    for (const ct of o.produces) content[ct] = { schema: r.text === true ? { type: 'string' } : ref3(r.schema ?? '') }
    responses[r.code] = { description: r.description, content }
  }
  responses['401'] = { description: 'Unauthorized' }
  const out: JsonSchema = {
    tags: [o.tag],
    description: o.description,
    operationId: o.operationId
  }
  if (o.params.length > 0) out.parameters = o.params.map(v3Param)
  if (o.body !== undefined) {
    const content: JsonSchema = {}
    for (const ct of (o.consumes.includes('*/*') ? ['*/*'] : o.consumes)) content[ct] = { schema: ref3(o.body) }
    out.requestBody = { content, required: true }
  }
  out.responses = responses
  out['x-kubernetes-action'] = o.action
  out['x-kubernetes-group-version-kind'] = { group: o.gvk.group, kind: o.gvk.kind, version: o.gvk.version }
  return out
}

/** Definition names a value references (through `$ref`), transitively closed over `schemas`. */
function referenced (value: unknown, schemas: Record<string, JsonSchema>, out = new Set<string>()): Set<string> {
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) { v.forEach(visit); return }
    if (typeof v !== 'object' || v === null) return
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string') {
        const name = x.slice(x.lastIndexOf('/') + 1)
        if (!out.has(name)) { out.add(name); visit(schemas[name]) }
      } else {
        visit(x)
      }
    }
  }
  visit(value)
  return out
}

/** The API roots with a v3 document: "api/v1", "apis/apps/v1", ... */
export function openAPIv3Roots (resources: readonly ResourceInfo[] = RESOURCES): string[] {
  return [...new Set(allPaths(resources).map((e) => e.root))]
}

/** The OpenAPI 3.0 document of one root ("api/v1", "apis/apps/v1"), or undefined (404). */
export function openAPIv3Document (root: string, resources: readonly ResourceInfo[] = RESOURCES): JsonSchema | undefined {
  const entries = allPaths(resources).filter((e) => e.root === root)
  if (entries.length === 0) return undefined
  const paths: JsonSchema = {}
  for (const e of entries) {
    const item: JsonSchema = {}
    for (const m of METHODS) {
      const o = e.operations[m]
      if (o !== undefined) item[m] = v3Operation(o)
    }
    item.parameters = e.params.map(v3Param)
    paths[e.path] = item
  }
  const all = allSchemas('#/components/schemas/', resources)
  const names = [...referenced(paths, all)].sort()
  const schemas = Object.fromEntries(names.map((n) => [n, all[n] as JsonSchema]))
  return {
    openapi: '3.0.0',
    info: { title: OPENAPI_TITLE, version: OPENAPI_VERSION },
    paths,
    components: {
      schemas,
      securitySchemes: { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } }
    }
  }
}

/** Hash of a document as kube-openapi computes it: SHA-512 of the served bytes, upper-case hex. */
export function documentHash (body: string | Uint8Array): string {
  return createHash('sha512').update(body).digest('hex').toUpperCase()
}

export interface OpenAPIv3Served {
  /** `GET /openapi/v3`. */
  index: { paths: Record<string, { serverRelativeURL: string }> }
  /** `GET /openapi/v3/<root>`: the exact bytes to serve (Content-Type application/json) and their hash. */
  documents: Map<string, { body: string, hash: string }>
}

/**
 * Everything `/openapi/v3` serves, rendered once: the index whose
 * `serverRelativeURL`s carry each document's hash, and the documents' bytes.
 * Same RESOURCES ⇒ same bytes ⇒ same hashes (stable across restarts).
 */
export function openAPIv3 (resources: readonly ResourceInfo[] = RESOURCES): OpenAPIv3Served {
  const documents = new Map<string, { body: string, hash: string }>()
  const paths: Record<string, { serverRelativeURL: string }> = {}
  for (const root of openAPIv3Roots(resources)) {
    const body = JSON.stringify(openAPIv3Document(root, resources))
    const hash = documentHash(body)
    documents.set(root, { body, hash })
    paths[root] = { serverRelativeURL: `/openapi/v3/${root}?hash=${hash}` }
  }
  return { index: { paths }, documents }
}
