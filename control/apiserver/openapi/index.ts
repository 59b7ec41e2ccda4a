/** OpenAPI v2 (JSON and gnostic protobuf) and v3 documents of the served resources (see docs/apiserver-output.md). */
import { RESOURCES, type ResourceInfo } from '../resources.js'
import { documentHash, openAPIv2, openAPIv3, type OpenAPIv3Served } from './documents.js'
import { negotiateOpenAPIv2 } from './negotiate.js'
import { encodeOpenAPIv2 } from './v2proto.js'

export { openAPIv2, openAPIv3, openAPIv3Document, openAPIv3Roots, documentHash, OPENAPI_TITLE, OPENAPI_VERSION } from './documents.js'
export type { OpenAPIv3Served } from './documents.js'
export { encodeOpenAPIv2 } from './v2proto.js'
export { negotiateOpenAPIv2, OPENAPI_V2_PROTOBUF } from './negotiate.js'
export type { OpenAPIv2Format } from './negotiate.js'
export { PATCH_TYPES } from './paths.js'
export { allSchemas, definitionName } from './schemas.js'

/** Both forms of `/openapi/v2`, rendered once at startup (they depend only on RESOURCES). */
export function openAPIv2Served (resources: readonly ResourceInfo[] = RESOURCES): { json: string, protobuf: Uint8Array } {
  const doc = openAPIv2(resources)
  return { json: JSON.stringify(doc), protobuf: encodeOpenAPIv2(doc) }
}

// ---- the route-facing surface (control/apiserver/server.ts calls these) -----

let v2Cache: { json: string, protobuf: Buffer, jsonEtag: string, protobufEtag: string } | undefined
let v3Cache: OpenAPIv3Served | undefined

/**
 * `GET /openapi/v2`: the body for this Accept header (protobuf Buffer or JSON
 * string), its exact Content-Type and a strong ETag. Rendered on first use.
 */
export function openapiV2 (accept: string | undefined): { contentType: string, etag: string, body: string | Buffer } {
  if (v2Cache === undefined) {
    const served = openAPIv2Served()
    const protobuf = Buffer.from(served.protobuf)
    v2Cache = { json: served.json, protobuf, jsonEtag: `"${documentHash(served.json)}"`, protobufEtag: `"${documentHash(protobuf)}"` }
  }
  const f = negotiateOpenAPIv2(accept)
  return f.format === 'protobuf'
    ? { contentType: f.contentType, etag: v2Cache.protobufEtag, body: v2Cache.protobuf }
    : { contentType: f.contentType, etag: v2Cache.jsonEtag, body: v2Cache.json }
}

/** `GET /openapi/v3`: the index of per-group-version documents with their hashed URLs. */
export function openapiV3Index (): OpenAPIv3Served['index'] {
  v3Cache ??= openAPIv3()
  return v3Cache.index
}

/** `GET /openapi/v3/<root>` ("api/v1", "apis/apps/v1"): the exact JSON bytes the index's hash covers, or undefined (404). */
export function openapiV3Document (root: string): string | undefined {
  v3Cache ??= openAPIv3()
  return v3Cache.documents.get(root)?.body
}
