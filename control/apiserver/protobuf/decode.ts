/**
 * Kubernetes protobuf bodies → the JSON object client-go would have sent for the same Go value.
 *
 * 1. The envelope: the magic `k8s\0`, then a runtime.Unknown {1 typeMeta {1 apiVersion, 2 kind},
 *    2 raw, 3 contentEncoding, 4 contentType}; `raw` is the object's message
 *    (k8s.io/apimachinery/pkg/runtime/serializer/protobuf).
 * 2. The message is read field by field against the type table (../schema): a field number the
 *    table lacks is an error, never skipped, so nothing is dropped silently.
 * 3. The Go value is then written as encoding/json would: non-pointer scalars default to their zero
 *    value and are left out only under `omitempty`; pointers are written when present even if zero;
 *    structs are always written; nil slices, maps and []byte without `omitempty` are `null`.
 */
import { message, messageForKind, type FieldDef, type MessageDef, type SpecialName, type ValueType } from '../schema/index.js'
import { ProtobufError } from './errors.js'
import { Reader, WIRE_LEN, WIRE_VARINT, decodeUtf8, type Tag } from './wire.js'

export const MAGIC = Uint8Array.from([0x6b, 0x38, 0x73, 0x00]) // "k8s\0"
export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf'

/** Messages nest at most this deep (the table's deepest path is far shorter). */
const MAX_DEPTH = 64

/** A decoded special type, already in its JSON form. */
class Json { constructor (readonly v: unknown) {} }
type Val = string | boolean | number | Uint8Array | Json | Decoded | Val[] | Map<string, Val>
/** A message as read: field number → value (arrays for repeated, Map for map fields). */
type Decoded = Map<number, Val>

const malformed = (m: string): ProtobufError => new ProtobufError('CTRL_ERR_PROTO_MALFORMED', m)
const badValue = (m: string): ProtobufError => new ProtobufError('CTRL_ERR_PROTO_VALUE', m)

function expectWire (t: Tag, want: number, where: string): void {
  if (t.wire !== want) throw malformed(`${where}: wire type ${t.wire}, expected ${want}`)
}

function int64 (v: bigint, where: string): number {
  const s = BigInt.asIntN(64, v)
  if (s > BigInt(Number.MAX_SAFE_INTEGER) || s < BigInt(Number.MIN_SAFE_INTEGER)) throw badValue(`${where}: ${s} is beyond what JSON numbers carry exactly (2^53)`)
  return Number(s)
}
const int32 = (v: bigint): number => Number(BigInt.asIntN(32, v))

/** Reads the scalar fields of a small fixed message (Timestamp, IntOrString, ...). */
function small (b: Uint8Array, where: string, fields: Record<number, 'varint' | 'bytes'>): Map<number, bigint | Uint8Array> {
  const out = new Map<number, bigint | Uint8Array>()
  const r = new Reader(b)
  while (!r.done) {
    const t = r.tag()
    const kind = fields[t.field]
    if (kind === undefined) throw new ProtobufError('CTRL_ERR_PROTO_UNKNOWN_FIELD', `${where}: unknown field number ${t.field} (wire type ${t.wire})`)
    if (kind === 'varint') { expectWire(t, WIRE_VARINT, where); out.set(t.field, r.varint()) } else { expectWire(t, WIRE_LEN, where); out.set(t.field, r.bytes()) }
  }
  return out
}

const GO_ZERO_UNIX = -62135596800 // time.Time{}.Unix(): January 1, year 1, UTC

function rfc3339 (seconds: number, micros: number | undefined, where: string): string {
  const d = new Date(seconds * 1000)
  const y = d.getUTCFullYear()
  // Go's Time.MarshalJSON refuses years outside [0,9999].
  if (Number.isNaN(y) || y < 0 || y > 9999) throw badValue(`${where}: time ${seconds}s is outside years 0-9999`)
  const iso = d.toISOString() // YYYY-MM-DDTHH:MM:SS.sssZ for these years
  const base = iso.slice(0, 19)
  return micros === undefined ? `${base}Z` : `${base}.${String(micros).padStart(6, '0')}Z`
}

function special (name: SpecialName, b: Uint8Array, where: string): Json {
  switch (name) {
    case 'Time':
    case 'MicroTime': {
      // metav1.Time{} marshals to zero bytes; Unmarshal of an empty message is the zero time.
      if (b.length === 0) return new Json(null)
      const f = small(b, where, { 1: 'varint', 2: 'varint' })
      let seconds = int64((f.get(1) as bigint | undefined) ?? 0n, where)
      let nanos = int32((f.get(2) as bigint | undefined) ?? 0n)
      if (name === 'Time') {
        // metav1.Time.Unmarshal keeps seconds only (JSON has no more).
        if (seconds === GO_ZERO_UNIX) return new Json(null)
        return new Json(rfc3339(seconds, undefined, where))
      }
      // time.Unix(sec, nsec) normalises nsec into [0, 1e9).
      seconds += Math.floor(nanos / 1e9)
      nanos = ((nanos % 1e9) + 1e9) % 1e9
      if (seconds === GO_ZERO_UNIX && nanos === 0) return new Json(null)
      return new Json(rfc3339(seconds, Math.floor(nanos / 1000), where))
    }
    case 'IntOrString': {
      const f = small(b, where, { 1: 'varint', 2: 'varint', 3: 'bytes' })
      const type = BigInt.asIntN(64, (f.get(1) as bigint | undefined) ?? 0n)
      if (type === 0n) return new Json(int32((f.get(2) as bigint | undefined) ?? 0n))
      if (type === 1n) return new Json(decodeUtf8((f.get(3) as Uint8Array | undefined) ?? new Uint8Array()))
      throw badValue(`${where}: IntOrString type ${type} is neither 0 (int) nor 1 (string)`)
    }
    case 'Quantity': {
      const f = small(b, where, { 1: 'bytes' })
      const s = f.get(1) as Uint8Array | undefined
      if (s === undefined) return new Json('0') // the zero Quantity
      const str = decodeUtf8(s)
      // resource.Quantity.Unmarshal parses the string: an empty one is ErrFormatWrong.
      if (str === '') throw badValue(`${where}: empty quantity`)
      return new Json(str)
    }
    case 'FieldsV1': {
      const f = small(b, where, { 1: 'bytes' })
      const raw = f.get(1) as Uint8Array | undefined
      if (raw === undefined) return new Json(null)
      try { return new Json(JSON.parse(decodeUtf8(raw))) } catch (e) {
        throw new ProtobufError('CTRL_ERR_PROTO_VALUE', `${where}: fieldsV1 is not JSON`, { cause: e })
      }
    }
  }
}

function decodeValue (type: ValueType, t: Tag, r: Reader, where: string, depth: number, into?: Val): Val {
  if (type.kind === 'message') {
    expectWire(t, WIRE_LEN, where)
    return decodeMessage(r.bytes(), message(type.name), where, depth + 1, into instanceof Map ? into as Decoded : undefined)
  }
  if (type.kind === 'special') {
    expectWire(t, WIRE_LEN, where)
    return special(type.name, r.bytes(), where)
  }
  switch (type.name) {
    case 'string': expectWire(t, WIRE_LEN, where); return decodeUtf8(r.bytes())
    case 'bytes': expectWire(t, WIRE_LEN, where); return r.bytes().slice()
    case 'bool': expectWire(t, WIRE_VARINT, where); return r.varint() !== 0n
    case 'int32': expectWire(t, WIRE_VARINT, where); return int32(r.varint())
    case 'int64': expectWire(t, WIRE_VARINT, where); return int64(r.varint(), where)
  }
}

function decodeMapEntry (f: FieldDef, b: Uint8Array, where: string, depth: number): [string, Val | undefined] {
  const r = new Reader(b)
  let key = ''
  let value: Val | undefined
  while (!r.done) {
    const t = r.tag()
    if (t.field === 1) {
      expectWire(t, WIRE_LEN, `${where} key`)
      key = decodeUtf8(r.bytes())
    } else if (t.field === 2) {
      value = decodeValue(f.type, t, r, `${where}[${key}]`, depth)
    } else {
      throw new ProtobufError('CTRL_ERR_PROTO_UNKNOWN_FIELD', `${where}: map entry has unknown field number ${t.field}`)
    }
  }
  return [key, value]
}

function decodeMessage (b: Uint8Array, def: MessageDef, where: string, depth: number, into?: Decoded): Decoded {
  if (depth > MAX_DEPTH) throw badValue(`${where}: messages nested deeper than ${MAX_DEPTH}`)
  const out: Decoded = into ?? new Map()
  const r = new Reader(b)
  while (!r.done) {
    const t = r.tag()
    const f = def.byNumber.get(t.field)
    if (f === undefined) {
      throw new ProtobufError('CTRL_ERR_PROTO_UNKNOWN_FIELD', `${where === '' ? def.name : where}: ${def.name} has no field number ${t.field} (wire type ${t.wire}); refusing to drop it`)
    }
    const at = f.inline ? where : (where === '' ? f.json : `${where}.${f.json}`)
    switch (f.shape) {
      case 'map': {
        expectWire(t, WIRE_LEN, at)
        const m = (out.get(f.num) as Map<string, Val> | undefined) ?? new Map<string, Val>()
        const [k, v] = decodeMapEntry(f, r.bytes(), at, depth)
        m.set(k, v ?? zeroMapValue(f))
        out.set(f.num, m)
        break
      }
      case 'repeated': {
        const list = (out.get(f.num) as Val[] | undefined) ?? []
        if (f.type.kind === 'scalar' && (f.type.name === 'int64' || f.type.name === 'int32' || f.type.name === 'bool') && t.wire === WIRE_LEN) {
          // packed encoding: accepted as proto2 parsers must
          const packed = new Reader(r.bytes())
          while (!packed.done) list.push(decodeValue(f.type, { field: t.field, wire: WIRE_VARINT }, packed, at, depth))
        } else {
          list.push(decodeValue(f.type, t, r, `${at}[${list.length}]`, depth))
        }
        out.set(f.num, list)
        break
      }
      default:
        // A repeated occurrence of a singular field: scalars, last one wins; messages merge.
        out.set(f.num, decodeValue(f.type, t, r, at, depth, out.get(f.num)))
    }
  }
  return out
}

/** A map entry without a value holds the value type's zero (Go's map decode). */
function zeroMapValue (f: FieldDef): Val {
  if (f.type.kind === 'scalar') return f.type.name === 'bytes' ? new Uint8Array() : f.type.name === 'string' ? '' : f.type.name === 'bool' ? false : 0
  if (f.type.kind === 'special') return new Json(f.type.name === 'Quantity' ? '0' : f.type.name === 'IntOrString' ? 0 : null)
  return new Map()
}

const base64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')

function jsonOf (type: ValueType, v: Val): unknown {
  if (v instanceof Json) return v.v
  if (v instanceof Uint8Array) return base64(v)
  if (type.kind === 'message') return render(message(type.name), v as Decoded)
  return v
}

/** encoding/json's "empty" for omitempty: false, 0, "", and zero-length slices and maps. */
function isEmpty (v: unknown): boolean {
  return v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0) || (v instanceof Uint8Array && v.length === 0) || (v instanceof Map && v.size === 0)
}

function zeroJson (f: FieldDef): unknown {
  switch (f.type.kind) {
    case 'message': return render(message(f.type.name), new Map())
    case 'special': return f.type.name === 'Quantity' ? '0' : f.type.name === 'IntOrString' ? 0 : null
    case 'scalar': return f.type.name === 'string' ? '' : f.type.name === 'bool' ? false : f.type.name === 'bytes' ? null : 0
  }
}

function render (def: MessageDef, d: Decoded, out: Record<string, unknown> = {}, typeMeta?: { apiVersion: string, kind: string }): Record<string, unknown> {
  for (const f of def.fields) {
    if (f.num === 0) {
      const v = typeMeta?.[f.json as 'apiVersion' | 'kind']
      if (v !== undefined && v !== '') out[f.json] = v
      continue
    }
    const v = d.get(f.num)
    if (f.inline) {
      const inner: Record<string, unknown> = {}
      render(message((f.type as { name: string }).name), (v as Decoded | undefined) ?? new Map(), inner)
      // encoding/json: the outer struct's own keys win over an embedded struct's.
      for (const [k, iv] of Object.entries(inner)) if (!def.fields.some((o) => !o.inline && o.json === k)) out[k] = iv
      continue
    }
    switch (f.shape) {
      case 'pointer':
        if (v !== undefined) out[f.json] = jsonOf(f.type, v)
        else if (!f.omitempty) out[f.json] = null
        break
      case 'repeated':
        if (v !== undefined && (v as Val[]).length > 0) out[f.json] = (v as Val[]).map((e) => jsonOf(f.type, e))
        else if (!f.omitempty) out[f.json] = null
        break
      case 'map':
        if (v !== undefined && (v as Map<string, Val>).size > 0) {
          const m: Record<string, unknown> = {}
          // encoding/json writes map keys sorted
          for (const k of [...(v as Map<string, Val>).keys()].sort()) m[k] = jsonOf(f.type, (v as Map<string, Val>).get(k) as Val)
          out[f.json] = m
        } else if (!f.omitempty) out[f.json] = null
        break
      case 'single': {
        if (f.type.kind === 'message' || f.type.kind === 'special') {
          // Go never leaves out a struct, omitempty or not.
          out[f.json] = v === undefined ? zeroJson(f) : jsonOf(f.type, v)
          break
        }
        if (v === undefined) {
          const z = zeroJson(f)
          if (!f.omitempty) out[f.json] = z
          break
        }
        if (f.omitempty && isEmpty(v)) break
        out[f.json] = jsonOf(f.type, v)
      }
    }
  }
  return out
}

export interface Envelope {
  apiVersion: string
  kind: string
  raw: Uint8Array
  contentEncoding: string
  contentType: string
}

/** Splits a body into its runtime.Unknown envelope. */
export function decodeEnvelope (body: Uint8Array): Envelope {
  if (body.length < 4 || body[0] !== MAGIC[0] || body[1] !== MAGIC[1] || body[2] !== MAGIC[2] || body[3] !== MAGIC[3]) {
    throw new ProtobufError('CTRL_ERR_PROTO_ENVELOPE', 'the body does not start with the Kubernetes protobuf prefix "k8s\\x00"')
  }
  const f = small(body.subarray(4), 'runtime.Unknown', { 1: 'bytes', 2: 'bytes', 3: 'bytes', 4: 'bytes' })
  const tm = small((f.get(1) as Uint8Array | undefined) ?? new Uint8Array(), 'runtime.Unknown.typeMeta', { 1: 'bytes', 2: 'bytes' })
  const str = (m: Map<number, bigint | Uint8Array>, n: number): string => decodeUtf8((m.get(n) as Uint8Array | undefined) ?? new Uint8Array())
  const raw = f.get(2) as Uint8Array | undefined
  if (raw === undefined) throw new ProtobufError('CTRL_ERR_PROTO_ENVELOPE', 'the protobuf envelope carries no object (runtime.Unknown.raw)')
  return { apiVersion: str(tm, 1), kind: str(tm, 2), raw, contentEncoding: str(f, 3), contentType: str(f, 4) }
}

/**
 * Decodes a whole `application/vnd.kubernetes.protobuf` body into the JSON object (with kind and
 * apiVersion from the envelope). Throws ProtobufError, and nothing else, on any input.
 */
export function decodeKubeProtobuf (body: Uint8Array): Record<string, unknown> {
  const env = decodeEnvelope(body)
  if (env.contentEncoding !== '') throw new ProtobufError('CTRL_ERR_PROTO_ENVELOPE', `unsupported content encoding ${JSON.stringify(env.contentEncoding)} in the protobuf envelope`)
  if (env.contentType !== '' && env.contentType !== PROTOBUF_MEDIA_TYPE) throw new ProtobufError('CTRL_ERR_PROTO_ENVELOPE', `unsupported content type ${JSON.stringify(env.contentType)} in the protobuf envelope`)
  return decodeObject(env.apiVersion, env.kind, env.raw)
}

/** Decodes an object message of a known apiVersion/kind into its JSON form. */
export function decodeObject (apiVersion: string, kind: string, raw: Uint8Array): Record<string, unknown> {
  const def = messageForKind(apiVersion, kind)
  if (def === undefined) throw new ProtobufError('CTRL_ERR_PROTO_UNKNOWN_KIND', `no kind "${kind}" is registered for version "${apiVersion}" in the protobuf decoder`)
  return render(def, decodeMessage(raw, def, '', 0), {}, { apiVersion, kind })
}

/** Decodes one message of the table (tests, and callers holding a bare message). */
export function decodeMessageJson (name: string, raw: Uint8Array): Record<string, unknown> {
  const def = message(name)
  return render(def, decodeMessage(raw, def, '', 0))
}
