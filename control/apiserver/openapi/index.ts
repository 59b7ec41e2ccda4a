/** OpenAPI v2 (JSON and gnostic protobuf) and v3 documents of the served resources (see docs/apiserver-output.md). */
export { openAPIv2, openAPIv3, openAPIv3Document, openAPIv3Roots, documentHash, OPENAPI_TITLE, OPENAPI_VERSION } from './documents.js'
export type { OpenAPIv3Served } from './documents.js'
export { encodeOpenAPIv2 } from './v2proto.js'
export { negotiateOpenAPIv2, OPENAPI_V2_PROTOBUF } from './negotiate.js'
export type { OpenAPIv2Format } from './negotiate.js'
export { PATCH_TYPES } from './paths.js'
export { allSchemas, definitionName } from './schemas.js'

import { RESOURCES, type ResourceInfo } from '../resources.js'
import { openAPIv2 } from './documents.js'
import { encodeOpenAPIv2 } from './v2proto.js'

/** Both forms of `/openapi/v2`, rendered once at startup (they depend only on RESOURCES). */
export function openAPIv2Served (resources: readonly ResourceInfo[] = RESOURCES): { json: string, protobuf: Uint8Array } {
  const doc = openAPIv2(resources)
  return { json: JSON.stringify(doc), protobuf: encodeOpenAPIv2(doc) }
}
