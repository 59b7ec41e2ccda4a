/**
 * JSON object → Kubernetes protobuf, with the same table and gogo-protobuf's rules, so that
 * re-encoding what client-go sent gives back its exact bytes: fields in ascending number order,
 * non-pointer scalars and structs always written (zero or not), pointers and []byte when non-nil,
 * map entries sorted by key with both key and value. The server does not answer in protobuf; this
 * is the oracle for the decoder's round-trip and golden tests.
 */
import { message, messageForKind, type FieldDef, type MessageDef, type SpecialName, type ValueType } from '../schema/index.js'
import { ProtobufError } from './errors.js'
import { MAGIC } from './decode.js'
import { WIRE_VARINT, Writer, encodeUtf8 } from './wire.js'

type Obj = Record<string, unknown>

const badValue = (where: string, what: string): ProtobufError => new ProtobufError('CTRL_ERR_PROTO_VALUE', `${where}: ${what}`)

function str (v: unknown, where: string): string {
  if (typeof v !== 'string') throw badValue(where, `expected a string, got ${JSON.stringify(v)}`)
  return v
}
function int (v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw badValue(where, `expected an integer, got ${JSON.stringify(v)}`)
  return v
}
function obj (v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badValue(where, `expected an object, got ${JSON.stringify(v)}`)
  return v as Obj
}

function timestamp (v: unknown, where: string, micro: boolean): Uint8Array {
  if (v === null || v === undefined) return new Uint8Array() // the zero time
  const s = str(v, where)
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(s)
  if (m === null) throw badValue(where, `not an RFC 3339 time: ${s}`)
  const ms = Date.parse(`${m[1] as string}${m[3] as string}`)
  if (Number.isNaN(ms)) throw badValue(where, `not an RFC 3339 time: ${s}`)
  const nanos = micro && m[2] !== undefined ? Number((m[2]).padEnd(9, '0')) : 0
  return new Writer().tag(1, WIRE_VARINT).varint(BigInt(Math.floor(ms / 1000))).tag(2, WIRE_VARINT).varint(nanos).finish()
}

function special (name: SpecialName, v: unknown, where: string): Uint8Array {
  switch (name) {
    case 'Time': return timestamp(v, where, false)
    case 'MicroTime': return timestamp(v, where, true)
    case 'IntOrString': {
      const w = new Writer()
      if (typeof v === 'string') return w.tag(1, WIRE_VARINT).varint(1).tag(2, WIRE_VARINT).varint(0).bytes(3, encodeUtf8(v)).finish()
      const n = int(v ?? 0, where)
      if (n !== (n | 0)) throw badValue(where, `IntOrString ${n} does not fit int32`)
      return w.tag(1, WIRE_VARINT).varint(0).tag(2, WIRE_VARINT).varint(n).bytes(3, new Uint8Array()).finish()
    }
    case 'Quantity': return new Writer().bytes(1, encodeUtf8(v === undefined || v === null ? '0' : typeof v === 'number' ? String(v) : str(v, where))).finish()
    case 'FieldsV1': return v === null || v === undefined ? new Uint8Array() : new Writer().bytes(1, encodeUtf8(JSON.stringify(v))).finish()
  }
}

function writeValue (w: Writer, num: number, type: ValueType, v: unknown, where: string): void {
  if (type.kind === 'message') { w.bytes(num, encodeMessage(message(type.name), v === undefined || v === null ? {} : obj(v, where), where)); return }
  if (type.kind === 'special') { w.bytes(num, special(type.name, v, where)); return }
  switch (type.name) {
    case 'string': w.bytes(num, encodeUtf8(v === undefined || v === null ? '' : str(v, where))); return
    case 'bytes': w.bytes(num, v === undefined || v === null ? new Uint8Array() : Buffer.from(str(v, where), 'base64')); return
    case 'bool':
      if (v !== undefined && v !== null && typeof v !== 'boolean') throw badValue(where, `expected a boolean, got ${JSON.stringify(v)}`)
      w.tag(num, WIRE_VARINT).varint(v === true ? 1 : 0); return
    case 'int32': {
      const n = int(v ?? 0, where)
      if (n !== (n | 0)) throw badValue(where, `${n} does not fit int32`)
      w.tag(num, WIRE_VARINT).varint(n); return
    }
    case 'int64': w.tag(num, WIRE_VARINT).varint(int(v ?? 0, where)); return
  }
}

function writeField (w: Writer, f: FieldDef, o: Obj, where: string): void {
  if (f.inline) { w.bytes(f.num, encodeMessage(message((f.type as { name: string }).name), o, where)); return }
  const v = o[f.json]
  const at = where === '' ? f.json : `${where}.${f.json}`
  switch (f.shape) {
    case 'pointer':
      if (v !== undefined && v !== null) writeValue(w, f.num, f.type, v, at)
      return
    case 'repeated':
      if (v === undefined || v === null) return
      if (!Array.isArray(v)) throw badValue(at, 'expected an array')
      v.forEach((e, i) => { writeValue(w, f.num, f.type, e, `${at}[${i}]`) })
      return
    case 'map': {
      if (v === undefined || v === null) return
      const m = obj(v, at)
      for (const k of Object.keys(m).sort()) {
        const e = new Writer().bytes(1, encodeUtf8(k))
        const ev = m[k]
        // gogo writes a []byte map value only when non-nil; every other value always.
        if (!(f.type.kind === 'scalar' && f.type.name === 'bytes' && (ev === null || ev === undefined))) writeValue(e, 2, f.type, ev, `${at}.${k}`)
        w.bytes(f.num, e.finish())
      }
      return
    }
    case 'single':
      // []byte is nil-able: written only when set.
      if (f.type.kind === 'scalar' && f.type.name === 'bytes' && (v === undefined || v === null)) return
      writeValue(w, f.num, f.type, v, at)
  }
}

export function encodeMessage (def: MessageDef, o: Obj, where = ''): Uint8Array {
  const w = new Writer()
  for (const f of [...def.fields].filter((x) => x.num !== 0).sort((a, b) => a.num - b.num)) writeField(w, f, o, where)
  return w.finish()
}

/** The whole body client-go sends: `k8s\0` + runtime.Unknown{typeMeta, raw, contentEncoding "", contentType ""}. */
export function encodeKubeProtobuf (o: Obj): Uint8Array {
  const apiVersion = str(o.apiVersion, 'apiVersion')
  const kind = str(o.kind, 'kind')
  const def = messageForKind(apiVersion, kind)
  if (def === undefined) throw new ProtobufError('CTRL_ERR_PROTO_UNKNOWN_KIND', `no kind "${kind}" is registered for version "${apiVersion}"`)
  const typeMeta = new Writer().bytes(1, encodeUtf8(apiVersion)).bytes(2, encodeUtf8(kind)).finish()
  const unknown = new Writer().bytes(1, typeMeta).bytes(2, encodeMessage(def, o)).bytes(3, new Uint8Array()).bytes(4, new Uint8Array()).finish()
  const out = new Uint8Array(MAGIC.length + unknown.length)
  out.set(MAGIC, 0)
  out.set(unknown, MAGIC.length)
  return out
}

