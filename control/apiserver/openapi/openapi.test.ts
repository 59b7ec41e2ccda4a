/**
 * The OpenAPI documents. The v2 protobuf is decoded with an independent decoder
 * (protobufjs, driven by the message definitions of gnostic's OpenAPIv2.proto
 * restated below) and compared with the JSON form it was encoded from.
 */
import test from 'ava'
import fc from 'fast-check'
import protobuf from 'protobufjs'
import { parse as parseYaml } from 'yaml'
import { RESOURCES } from '../resources.js'
import {
  documentHash, encodeOpenAPIv2, negotiateOpenAPIv2, openAPIv2, openAPIv2Served, openAPIv3, openAPIv3Document, OPENAPI_V2_PROTOBUF, definitionName
} from './index.js'
import { ProtoWriter } from './protobuf.js'
import { encodeSchema } from './v2proto.js'

type J = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

// Message definitions from google/gnostic openapiv2/OpenAPIv2.proto (the fields we emit; same numbers).
const GNOSTIC = `
syntax = "proto3";
package openapi.v2;
message AdditionalPropertiesItem { oneof oneof { Schema schema = 1; bool boolean = 2; } }
message Any { string yaml = 2; }
message ApiKeySecurity { string type = 1; string name = 2; string in = 3; string description = 4; repeated NamedAny vendor_extension = 5; }
message BodyParameter { string description = 1; string name = 2; string in = 3; bool required = 4; Schema schema = 5; repeated NamedAny vendor_extension = 6; }
message Definitions { repeated NamedSchema additional_properties = 1; }
message Document { string swagger = 1; Info info = 2; string host = 3; string base_path = 4; repeated string schemes = 5; repeated string consumes = 6;
  repeated string produces = 7; Paths paths = 8; Definitions definitions = 9; repeated SecurityRequirement security = 12;
  SecurityDefinitions security_definitions = 13; repeated NamedAny vendor_extension = 16; }
message HeaderParameterSubSchema { bool required = 1; string in = 2; string description = 3; string name = 4; string type = 5; }
message Info { string title = 1; string version = 2; string description = 3; repeated NamedAny vendor_extension = 7; }
message ItemsItem { repeated Schema schema = 1; }
message JsonReference { string _ref = 1; string description = 2; }
message NamedAny { string name = 1; Any value = 2; }
message NamedPathItem { string name = 1; PathItem value = 2; }
message NamedResponseValue { string name = 1; ResponseValue value = 2; }
message NamedSchema { string name = 1; Schema value = 2; }
message NamedSecurityDefinitionsItem { string name = 1; SecurityDefinitionsItem value = 2; }
message NamedStringArray { string name = 1; StringArray value = 2; }
message NonBodyParameter { oneof oneof { HeaderParameterSubSchema header_parameter_sub_schema = 1; QueryParameterSubSchema query_parameter_sub_schema = 3; PathParameterSubSchema path_parameter_sub_schema = 4; } }
message Operation { repeated string tags = 1; string summary = 2; string description = 3; string operation_id = 5; repeated string produces = 6;
  repeated string consumes = 7; repeated ParametersItem parameters = 8; Responses responses = 9; repeated string schemes = 10; bool deprecated = 11;
  repeated NamedAny vendor_extension = 13; }
message Parameter { oneof oneof { BodyParameter body_parameter = 1; NonBodyParameter non_body_parameter = 2; } }
message ParametersItem { oneof oneof { Parameter parameter = 1; JsonReference json_reference = 2; } }
message PathItem { string _ref = 1; Operation get = 2; Operation put = 3; Operation post = 4; Operation delete = 5; Operation options = 6;
  Operation head = 7; Operation patch = 8; repeated ParametersItem parameters = 9; repeated NamedAny vendor_extension = 10; }
message PathParameterSubSchema { bool required = 1; string in = 2; string description = 3; string name = 4; string type = 5; string format = 6; bool unique_items = 19; }
message Paths { repeated NamedAny vendor_extension = 1; repeated NamedPathItem path = 2; }
message Properties { repeated NamedSchema additional_properties = 1; }
message QueryParameterSubSchema { bool required = 1; string in = 2; string description = 3; string name = 4; bool allow_empty_value = 5; string type = 6; string format = 7; bool unique_items = 20; }
message Response { string description = 1; SchemaItem schema = 2; repeated NamedAny vendor_extension = 5; }
message ResponseValue { oneof oneof { Response response = 1; JsonReference json_reference = 2; } }
message Responses { repeated NamedResponseValue response_code = 1; repeated NamedAny vendor_extension = 2; }
message Schema { string _ref = 1; string format = 2; string title = 3; string description = 4; bool unique_items = 16; repeated string required = 19;
  AdditionalPropertiesItem additional_properties = 21; TypeItem type = 22; ItemsItem items = 23; Properties properties = 25; bool read_only = 27;
  repeated NamedAny vendor_extension = 31; }
message SchemaItem { oneof oneof { Schema schema = 1; } }
message SecurityDefinitions { repeated NamedSecurityDefinitionsItem additional_properties = 1; }
message SecurityDefinitionsItem { oneof oneof { ApiKeySecurity api_key_security = 2; } }
message SecurityRequirement { repeated NamedStringArray additional_properties = 1; }
message StringArray { repeated string value = 1; }
message TypeItem { repeated string value = 1; }
`
const Document = protobuf.parse(GNOSTIC, { keepCase: true }).root.lookupType('openapi.v2.Document')
/** protobufjs' `arrays: true` adds empty arrays for absent repeated fields; drop them so objects compare with the JSON. */
function dropEmpty (v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropEmpty)
  if (typeof v !== 'object' || v === null) return v
  return Object.fromEntries(Object.entries(v).filter(([, x]) => !(Array.isArray(x) && x.length === 0)).map(([k, x]) => [k, dropEmpty(x)]))
}
const decode = (b: Uint8Array): J => dropEmpty(Document.toObject(Document.decode(b), { defaults: false, arrays: true })) as J
const ext = (list: J[] | undefined, name: string): unknown => {
  const e = (list ?? []).find((x) => x.name === name)
  return e === undefined ? undefined : parseYaml(e.value.yaml as string)
}

test('ProtoWriter: varints, strings, proto3 defaults, nested messages (checked against protobufjs)', (t) => {
  const T = protobuf.parse('syntax = "proto3"; message M { string s = 1; int64 n = 2; bool b = 3; M m = 4; repeated string r = 5; }', { keepCase: true }).root.lookupType('M')
  const w = new ProtoWriter().string(1, 'héllo').int(2, 300).bool(3, true).message(4, new ProtoWriter().int(2, 2 ** 40)).strings(5, ['', 'x'])
  const got = dropEmpty(T.toObject(T.decode(w.finish()), { longs: Number, arrays: true }))
  t.deepEqual(got, { s: 'héllo', n: 300, b: true, m: { n: 2 ** 40 }, r: ['', 'x'] })
  t.deepEqual([...new ProtoWriter().string(1, '').int(2, 0).bool(3, false).finish()], [])
  t.deepEqual([...new ProtoWriter().int(1, 150).finish()], [0x08, 0x96, 0x01]) // the protobuf docs' example
  t.throws(() => new ProtoWriter().int(1, -1), { instanceOf: RangeError })
})

test('v2 protobuf decodes as gnostic Document: swagger, info, every path and operation, GVK extensions', (t) => {
  const json = openAPIv2()
  const doc = decode(encodeOpenAPIv2(json))
  t.is(doc.swagger, '2.0')
  t.deepEqual(doc.info, { title: 'Kubernetes', version: 'v1.32.0' })
  const paths = doc.paths.path as J[]
  t.deepEqual(paths.map((p) => p.name), Object.keys(json.paths as J))
  const byPath = new Map(paths.map((p) => [p.name as string, p.value as J]))
  const podItem = byPath.get('/api/v1/namespaces/{namespace}/pods/{name}')
  if (podItem === undefined) return t.fail()
  t.is(podItem.patch.operation_id, 'patchCoreV1NamespacedPod')
  t.deepEqual(ext(podItem.patch.vendor_extension, 'x-kubernetes-group-version-kind'), { group: '', kind: 'Pod', version: 'v1' })
  t.is(ext(podItem.patch.vendor_extension, 'x-kubernetes-action'), 'patch')
  t.deepEqual(podItem.patch.consumes, ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'])
  const names = (podItem.patch.parameters as J[]).map((p) => p.parameter.body_parameter?.name ?? p.parameter.non_body_parameter.query_parameter_sub_schema?.name)
  t.deepEqual(names, ['body', 'dryRun', 'fieldManager', 'fieldValidation', 'force'])
  t.is(podItem.patch.parameters[0].parameter.body_parameter.schema._ref, '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch')
  const pathParams = (podItem.parameters as J[]).map((p) => p.parameter.non_body_parameter.path_parameter_sub_schema ?? p.parameter.non_body_parameter.query_parameter_sub_schema)
  t.deepEqual(pathParams.map((p) => [p.name, p.in, p.required ?? false]), [['name', 'path', true], ['namespace', 'path', true], ['pretty', 'query', false]])
  const ok = (podItem.get.responses.response_code as J[]).find((r) => r.name === '200')
  t.is(ok?.value.response.schema.schema._ref, '#/definitions/io.k8s.api.core.v1.Pod')
  const scale = byPath.get('/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale')
  t.deepEqual(ext(scale?.put.vendor_extension, 'x-kubernetes-group-version-kind'), { group: 'autoscaling', kind: 'Scale', version: 'v1' })
  t.deepEqual(ext(byPath.get('/api/v1/namespaces/{namespace}/pods/{name}/binding')?.post.vendor_extension, 'x-kubernetes-group-version-kind'), { group: '', kind: 'Binding', version: 'v1' })
  // Every operation of every path decodes with the operationId and GVK of its JSON form.
  let ops = 0
  for (const [path, item] of Object.entries(json.paths as J)) {
    for (const m of ['get', 'put', 'post', 'delete', 'patch']) {
      if (item[m] === undefined) continue
      ops++
      const got = byPath.get(path)?.[m]
      t.is(got?.operation_id, item[m].operationId, `${m} ${path}`)
      t.deepEqual(ext(got?.vendor_extension, 'x-kubernetes-group-version-kind'), item[m]['x-kubernetes-group-version-kind'])
    }
  }
  t.true(ops > 60)
})

test('v2 protobuf definitions: kinds with GVK, properties, refs and map types', (t) => {
  const doc = decode(encodeOpenAPIv2(openAPIv2()))
  const defs = new Map((doc.definitions.additional_properties as J[]).map((d) => [d.name as string, d.value as J]))
  for (const r of RESOURCES) {
    const s = defs.get(definitionName(r.group, r.version, r.kind))
    t.truthy(s, r.kind)
    t.deepEqual(ext(s?.vendor_extension, 'x-kubernetes-group-version-kind'), [{ group: r.group, kind: r.kind, version: r.version }])
    t.deepEqual(s?.type.value, ['object'])
    t.true(defs.has(definitionName(r.group, r.version, r.listKind)), r.listKind)
  }
  const pod = defs.get('io.k8s.api.core.v1.Pod') as J
  t.deepEqual((pod.properties.additional_properties as J[]).map((p) => p.name), ['apiVersion', 'kind', 'metadata', 'spec', 'status'])
  const metadata = (pod.properties.additional_properties as J[]).find((p) => p.name === 'metadata')
  t.is(metadata?.value._ref, '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta')
  const cm = defs.get('io.k8s.api.core.v1.ConfigMap') as J
  const data = (cm.properties.additional_properties as J[]).find((p) => p.name === 'data')
  t.deepEqual(data?.value.additional_properties.schema.type.value, ['string'])
  const podList = defs.get('io.k8s.api.core.v1.PodList') as J
  const items = (podList.properties.additional_properties as J[]).find((p) => p.name === 'items')
  t.is(items?.value.items.schema[0]._ref, '#/definitions/io.k8s.api.core.v1.Pod')
  t.deepEqual(podList.required, ['items'])
  t.deepEqual(doc.security, [{ additional_properties: [{ name: 'BearerToken', value: {} }] }])
  t.is(doc.security_definitions.additional_properties[0].value.api_key_security.name, 'authorization')
})

test('every $ref of the v2 document resolves to a definition', (t) => {
  const json = openAPIv2()
  const refs = new Set<string>()
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit)
    else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) { if (k === '$ref') refs.add(x as string); else visit(x) }
  }
  visit(json)
  const defs = json.definitions as J
  for (const r of refs) t.truthy(defs[r.replace('#/definitions/', '')], r)
})

test('openAPIv2Served renders both forms once; the protobuf is the encoding of the JSON', (t) => {
  const served = openAPIv2Served()
  t.deepEqual(served.protobuf, encodeOpenAPIv2(JSON.parse(served.json) as J))
  t.deepEqual(decode(served.protobuf).info, { title: 'Kubernetes', version: 'v1.32.0' })
})

test('negotiateOpenAPIv2: both protobuf spellings, JSON, wildcard, order', (t) => {
  t.deepEqual(negotiateOpenAPIv2('application/com.github.proto-openapi.spec.v2@v1.0+protobuf'), { format: 'protobuf', contentType: OPENAPI_V2_PROTOBUF })
  t.deepEqual(negotiateOpenAPIv2('application/com.github.proto-openapi.spec.v2.v1.0+protobuf, application/json'), { format: 'protobuf', contentType: OPENAPI_V2_PROTOBUF })
  t.deepEqual(negotiateOpenAPIv2('application/json, application/com.github.proto-openapi.spec.v2@v1.0+protobuf'), { format: 'json', contentType: 'application/json' })
  t.deepEqual(negotiateOpenAPIv2(undefined), { format: 'json', contentType: 'application/json' })
  t.deepEqual(negotiateOpenAPIv2('*/*'), { format: 'json', contentType: 'application/json' })
  t.is(OPENAPI_V2_PROTOBUF, 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf')
})

test('v3 index: one document per group/version, addressed by the SHA-512 of its bytes, stable across renders', (t) => {
  const a = openAPIv3()
  const b = openAPIv3()
  t.deepEqual(Object.keys(a.index.paths), ['api/v1', 'apis/apps/v1', 'apis/coordination.k8s.io/v1', 'apis/discovery.k8s.io/v1'])
  t.deepEqual(a.index, b.index)
  for (const [root, d] of a.documents) {
    t.is(d.hash, documentHash(d.body))
    t.regex(d.hash, /^[0-9A-F]{128}$/)
    t.is(a.index.paths[root]?.serverRelativeURL, `/openapi/v3/${root}?hash=${d.hash}`)
    t.deepEqual(JSON.parse(d.body), openAPIv3Document(root))
  }
  t.is(openAPIv3Document('apis/example.com/v1'), undefined)
})

test('v3 documents: every kind has a PATCH operation with its GVK and a fieldValidation parameter (kubectl 1.32 then skips client validation)', (t) => {
  for (const r of RESOURCES) {
    const root = r.group === '' ? `api/${r.version}` : `apis/${r.group}/${r.version}`
    const doc = openAPIv3Document(root) as J
    t.is(doc.openapi, '3.0.0')
    // kubectl's check: the first path whose patch carries the GVK decides.
    const first = Object.values(doc.paths as J).find((p: J) => p.patch !== undefined &&
      p.patch['x-kubernetes-group-version-kind'].kind === r.kind && p.patch['x-kubernetes-group-version-kind'].group === r.group) as J | undefined
    t.truthy(first, r.kind)
    t.true((first?.patch.parameters as J[]).some((p) => p.name === 'fieldValidation' && p.in === 'query'), r.kind)
    t.deepEqual(Object.keys(first?.patch.requestBody.content), ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'])
    // explain finds the kind's schema by its GVK extension.
    const schema = doc.components.schemas[definitionName(r.group, r.version, r.kind)] as J
    t.deepEqual(schema['x-kubernetes-group-version-kind'], [{ group: r.group, kind: r.kind, version: r.version }])
  }
})

test('v3 documents: refs resolve within the document, and only referenced schemas are included', (t) => {
  for (const root of Object.keys(openAPIv3().index.paths)) {
    const doc = openAPIv3Document(root) as J
    const refs = new Set<string>()
    const visit = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(visit)
      else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) { if (k === '$ref') refs.add((x as string).replace('#/components/schemas/', '')); else visit(x) }
    }
    visit(doc)
    t.deepEqual([...refs].sort(), Object.keys(doc.components.schemas as J).sort(), root)
  }
  const apps = openAPIv3Document('apis/apps/v1') as J
  t.truthy(apps.components.schemas['io.k8s.api.autoscaling.v1.Scale'])
  t.falsy(apps.components.schemas['io.k8s.api.core.v1.Pod'])
})

// ---- property: any schema we could emit survives encodeSchema → protobufjs ----

const SchemaType = protobuf.parse(GNOSTIC, { keepCase: true }).root.lookupType('openapi.v2.Schema')

/** The JSON a decoded gnostic Schema stands for (the inverse of encodeSchema, written independently). */
function schemaJson (d: J): J {
  const out: J = {}
  if (d._ref !== undefined) out.$ref = d._ref
  if (d.format !== undefined) out.format = d.format
  if (d.description !== undefined) out.description = d.description
  if (d.type !== undefined) out.type = d.type.value?.[0]
  if (d.required !== undefined) out.required = d.required
  if (d.items !== undefined) out.items = schemaJson(d.items.schema[0])
  if (d.properties !== undefined) out.properties = Object.fromEntries((d.properties.additional_properties ?? []).map((p: J) => [p.name, schemaJson(p.value ?? {})]))
  if (d.additional_properties !== undefined) out.additionalProperties = d.additional_properties.schema !== undefined ? schemaJson(d.additional_properties.schema) : d.additional_properties.boolean
  for (const e of d.vendor_extension ?? []) out[e.name] = parseYaml(e.value.yaml as string)
  return out
}

const text = fc.string({ minLength: 1, maxLength: 12 })
/** Schemas nested at most `depth` levels (items, properties, additionalProperties). */
function schemaArb (depth: number): fc.Arbitrary<J> {
  const sub = depth === 0 ? fc.constant({}) : schemaArb(depth - 1)
  return fc.record({
    $ref: text.map((x) => `#/definitions/${x}`),
    format: fc.constantFrom('int32', 'int64', 'date-time', 'byte'),
    description: fc.string({ minLength: 1, maxLength: 40 }),
    type: fc.constantFrom('string', 'object', 'integer', 'boolean', 'array', 'number'),
    required: fc.array(text, { minLength: 1, maxLength: 3 }),
    items: sub,
    properties: fc.dictionary(fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9]{0,8}$/), sub, { maxKeys: 3 }),
    additionalProperties: fc.oneof(fc.boolean(), sub),
    'x-kubernetes-group-version-kind': fc.array(fc.record({ group: fc.constantFrom('', 'apps'), kind: fc.stringMatching(/^[A-Z][a-z]{1,8}$/), version: fc.constant('v1') }), { minLength: 1, maxLength: 2 }),
    'x-kubernetes-preserve-unknown-fields': fc.boolean()
  }, { requiredKeys: [] }) as fc.Arbitrary<J>
}

test('property: every schema decodes back to itself through gnostic\'s Schema message', (t) => {
  fc.assert(fc.property(schemaArb(2), (s) => {
    const decoded = SchemaType.toObject(SchemaType.decode(encodeSchema(s).finish()), { defaults: false }) as J
    t.deepEqual(schemaJson(decoded), s)
  }), { numRuns: 300 })
})

test('route surface: openapiV2 negotiates and carries a strong ETag; openapiV3Index/Document serve the hashed bytes', async (t) => {
  const { openapiV2, openapiV3Index, openapiV3Document } = await import('./index.js')
  const pb = openapiV2('application/com.github.proto-openapi.spec.v2@v1.0+protobuf')
  t.is(pb.contentType, OPENAPI_V2_PROTOBUF)
  t.true(Buffer.isBuffer(pb.body))
  t.deepEqual(decode(pb.body as Buffer).swagger, '2.0')
  t.is(pb.etag, `"${documentHash(pb.body)}"`)
  const js = openapiV2('application/json')
  t.is(js.contentType, 'application/json')
  t.is((JSON.parse(js.body as string) as J).swagger, '2.0')
  t.not(js.etag, pb.etag)
  t.deepEqual(openapiV2(undefined), js)
  const index = openapiV3Index()
  for (const [root, { serverRelativeURL }] of Object.entries(index.paths)) {
    const body = openapiV3Document(root)
    if (body === undefined) return t.fail(root)
    t.is(serverRelativeURL, `/openapi/v3/${root}?hash=${documentHash(body)}`)
  }
  t.is(openapiV3Document('apis/nope/v1'), undefined)
})
