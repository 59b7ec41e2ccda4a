/**
 * Encodes the Swagger 2.0 document (documents.ts `openAPIv2()`) as gnostic's
 * `openapi.v2.Document` protobuf (google/gnostic `openapiv2/OpenAPIv2.proto`),
 * the body kubectl expects from `/openapi/v2` with
 * Content-Type `application/com.github.proto-openapi.spec.v2.v1.0+protobuf`.
 * Field numbers are cited per message. Vendor extensions (`x-…`) become
 * NamedAny entries whose Any carries the value as YAML, as kube-openapi writes
 * them and kubectl reads them back.
 */
import { stringify } from 'yaml'
import { ProtoWriter } from './protobuf.js'

type J = Record<string, unknown>
const obj = (v: unknown): J => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v as J : {})
const strs = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined)
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
const isObj = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v)

/** NamedAny { 1 name, 2 value: Any { 2 yaml } } for every `x-` key of `o`. */
function vendorExtensions (w: ProtoWriter, field: number, o: J): void {
  for (const [k, v] of Object.entries(o)) {
    if (!k.startsWith('x-')) continue
    const any = new ProtoWriter().string(2, stringify(v))
    w.message(field, new ProtoWriter().string(1, k).message(2, any))
  }
}

/** Schema (1 _ref, 2 format, 3 title, 4 description, 16 unique_items, 19 required, 21 additional_properties, 22 type, 23 items, 25 properties, 27 read_only, 31 vendor_extension). */
export function encodeSchema (s: J): ProtoWriter {
  const w = new ProtoWriter()
  w.string(1, str(s.$ref)).string(2, str(s.format)).string(3, str(s.title)).string(4, str(s.description))
  w.bool(16, s.uniqueItems === true)
  w.strings(19, strs(s.required))
  if (isObj(s.additionalProperties)) {
    w.message(21, new ProtoWriter().message(1, encodeSchema(obj(s.additionalProperties)))) // AdditionalPropertiesItem.schema = 1
  } else if (typeof s.additionalProperties === 'boolean') {
    // AdditionalPropertiesItem.boolean = 2; a false value must still select the oneof.
    w.message(21, new ProtoWriter().boolAlways(2, s.additionalProperties))
  }
  const type = typeof s.type === 'string' ? [s.type] : strs(s.type)
  if (type !== undefined) w.message(22, new ProtoWriter().strings(1, type)) // TypeItem.value = 1
  if (isObj(s.items)) w.message(23, new ProtoWriter().message(1, encodeSchema(obj(s.items)))) // ItemsItem.schema = 1
  if (isObj(s.properties)) {
    const props = new ProtoWriter()
    for (const [name, sub] of Object.entries(obj(s.properties))) {
      props.message(1, new ProtoWriter().string(1, name).message(2, encodeSchema(obj(sub)))) // Properties.additional_properties: NamedSchema
    }
    w.message(25, props)
  }
  w.bool(27, s.readOnly === true)
  vendorExtensions(w, 31, s)
  return w
}

/** ParametersItem { 1 parameter: Parameter { 1 body_parameter | 2 non_body_parameter } }. */
function encodeParameter (p: J): ProtoWriter {
  const param = new ProtoWriter()
  if (p.in === 'body') {
    // BodyParameter: 1 description, 2 name, 3 in, 4 required, 5 schema, 6 vendor_extension.
    const b = new ProtoWriter().string(1, str(p.description)).string(2, str(p.name)).string(3, 'body').bool(4, p.required === true)
    if (isObj(p.schema)) b.message(5, encodeSchema(obj(p.schema)))
    vendorExtensions(b, 6, p)
    param.message(1, b)
  } else {
    const nonBody = new ProtoWriter()
    if (p.in === 'path') {
      // PathParameterSubSchema: 1 required, 2 in, 3 description, 4 name, 5 type, 6 format, 19 unique_items, 22 vendor_extension.
      const s = new ProtoWriter().bool(1, p.required === true).string(2, 'path').string(3, str(p.description)).string(4, str(p.name))
        .string(5, str(p.type)).string(6, str(p.format)).bool(19, p.uniqueItems === true)
      vendorExtensions(s, 22, p)
      nonBody.message(4, s)
    } else if (p.in === 'query') {
      // QueryParameterSubSchema: 1 required, 2 in, 3 description, 4 name, 6 type, 7 format, 20 unique_items, 23 vendor_extension.
      const s = new ProtoWriter().bool(1, p.required === true).string(2, 'query').string(3, str(p.description)).string(4, str(p.name))
        .string(6, str(p.type)).string(7, str(p.format)).bool(20, p.uniqueItems === true)
      vendorExtensions(s, 23, p)
      nonBody.message(3, s)
    } else {
      // HeaderParameterSubSchema: 1 required, 2 in, 3 description, 4 name, 5 type.
      const s = new ProtoWriter().bool(1, p.required === true).string(2, str(p.in)).string(3, str(p.description)).string(4, str(p.name)).string(5, str(p.type))
      nonBody.message(1, s)
    }
    param.message(2, nonBody)
  }
  return new ProtoWriter().message(1, param)
}

/** Responses { 1 response_code: NamedResponseValue { 1 name, 2 value: ResponseValue { 1 response: Response { 1 description, 2 schema: SchemaItem { 1 schema } } } } }. */
function encodeResponses (r: J): ProtoWriter {
  const w = new ProtoWriter()
  for (const [code, v] of Object.entries(r)) {
    if (code.startsWith('x-')) continue
    const resp = obj(v)
    const response = new ProtoWriter().string(1, str(resp.description))
    if (isObj(resp.schema)) response.message(2, new ProtoWriter().message(1, encodeSchema(obj(resp.schema))))
    vendorExtensions(response, 5, resp)
    w.message(1, new ProtoWriter().string(1, code).message(2, new ProtoWriter().message(1, response)))
  }
  vendorExtensions(w, 2, r)
  return w
}

/** Operation: 1 tags, 2 summary, 3 description, 5 operation_id, 6 produces, 7 consumes, 8 parameters, 9 responses, 10 schemes, 11 deprecated, 13 vendor_extension. */
function encodeOperation (o: J): ProtoWriter {
  const w = new ProtoWriter()
  w.strings(1, strs(o.tags)).string(2, str(o.summary)).string(3, str(o.description)).string(5, str(o.operationId))
  w.strings(6, strs(o.produces)).strings(7, strs(o.consumes))
  for (const p of Array.isArray(o.parameters) ? o.parameters : []) w.message(8, encodeParameter(obj(p)))
  if (isObj(o.responses)) w.message(9, encodeResponses(obj(o.responses)))
  w.strings(10, strs(o.schemes)).bool(11, o.deprecated === true)
  vendorExtensions(w, 13, o)
  return w
}

const PATH_ITEM_FIELDS: Record<string, number> = { get: 2, put: 3, post: 4, delete: 5, options: 6, head: 7, patch: 8 }

/** PathItem: 1 _ref, 2 get, 3 put, 4 post, 5 delete, 6 options, 7 head, 8 patch, 9 parameters, 10 vendor_extension. */
function encodePathItem (item: J): ProtoWriter {
  const w = new ProtoWriter().string(1, str(item.$ref))
  for (const [method, field] of Object.entries(PATH_ITEM_FIELDS)) {
    if (isObj(item[method])) w.message(field, encodeOperation(obj(item[method])))
  }
  for (const p of Array.isArray(item.parameters) ? item.parameters : []) w.message(9, encodeParameter(obj(p)))
  vendorExtensions(w, 10, item)
  return w
}

/**
 * Document: 1 swagger, 2 info (Info: 1 title, 2 version, 3 description), 3 host, 4 base_path, 5 schemes,
 * 6 consumes, 7 produces, 8 paths (Paths: 1 vendor_extension, 2 path: NamedPathItem), 9 definitions
 * (Definitions: 1 additional_properties: NamedSchema), 12 security, 13 security_definitions, 16 vendor_extension.
 */
export function encodeOpenAPIv2 (doc: J): Uint8Array {
  const w = new ProtoWriter()
  w.string(1, str(doc.swagger))
  const info = obj(doc.info)
  if (isObj(doc.info)) {
    const i = new ProtoWriter().string(1, str(info.title)).string(2, str(info.version)).string(3, str(info.description))
    vendorExtensions(i, 7, info)
    w.message(2, i)
  }
  w.string(3, str(doc.host)).string(4, str(doc.basePath)).strings(5, strs(doc.schemes)).strings(6, strs(doc.consumes)).strings(7, strs(doc.produces))
  if (isObj(doc.paths)) {
    const paths = new ProtoWriter()
    vendorExtensions(paths, 1, obj(doc.paths))
    for (const [path, item] of Object.entries(obj(doc.paths))) {
      if (path.startsWith('x-')) continue
      paths.message(2, new ProtoWriter().string(1, path).message(2, encodePathItem(obj(item))))
    }
    w.message(8, paths)
  }
  if (isObj(doc.definitions)) {
    const defs = new ProtoWriter()
    for (const [name, s] of Object.entries(obj(doc.definitions))) defs.message(1, new ProtoWriter().string(1, name).message(2, encodeSchema(obj(s))))
    w.message(9, defs)
  }
  // SecurityRequirement { 1 additional_properties: NamedStringArray { 1 name, 2 value: StringArray { 1 value } } }.
  for (const req of Array.isArray(doc.security) ? doc.security : []) {
    const r = new ProtoWriter()
    for (const [name, scopes] of Object.entries(obj(req))) r.message(1, new ProtoWriter().string(1, name).message(2, new ProtoWriter().strings(1, strs(scopes))))
    w.message(12, r)
  }
  if (isObj(doc.securityDefinitions)) {
    // SecurityDefinitions { 1: NamedSecurityDefinitionsItem { 1 name, 2 value: SecurityDefinitionsItem { 2 api_key_security: ApiKeySecurity { 1 type, 2 name, 3 in, 4 description } } } }.
    const sd = new ProtoWriter()
    for (const [name, v] of Object.entries(obj(doc.securityDefinitions))) {
      const d = obj(v)
      if (d.type !== 'apiKey') continue
      const key = new ProtoWriter().string(1, 'apiKey').string(2, str(d.name)).string(3, str(d.in)).string(4, str(d.description))
      sd.message(1, new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(2, key)))
    }
    w.message(13, sd)
  }
  vendorExtensions(w, 16, doc)
  return w.finish()
}
