/** Content negotiation for `/openapi/v2` (kube-openapi `handler.go`). */
import { parseAccept } from '../tables/index.js'

/** The Content-Type of the protobuf answer. The `@` form is only accepted in Accept: as a Content-Type Go's mime parser rejects it. */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf'
const PROTOBUF_ACCEPTED = new Set([
  'application/com.github.proto-openapi.spec.v2@v1.0+protobuf',
  'application/com.github.proto-openapi.spec.v2.v1.0+protobuf'
])

export type OpenAPIv2Format = { format: 'protobuf', contentType: typeof OPENAPI_V2_PROTOBUF } | { format: 'json', contentType: 'application/json' }

/** Protobuf when the first acceptable range is one of the gnostic protobuf types; JSON otherwise (including no Accept or `*\/*`). */
export function negotiateOpenAPIv2 (accept: string | undefined): OpenAPIv2Format {
  for (const m of parseAccept(accept ?? '')) {
    const mt = `${m.type}/${m.subtype}`
    if (PROTOBUF_ACCEPTED.has(mt)) return { format: 'protobuf', contentType: OPENAPI_V2_PROTOBUF }
    if (mt === 'application/json' || mt === 'application/*' || mt === '*/*') return { format: 'json', contentType: 'application/json' }
  }
  return { format: 'json', contentType: 'application/json' }
}
