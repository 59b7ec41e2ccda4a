/**
 * The declarative type table of the API server (table.ts), parsed once: per message, each field's
 * JSON name, protobuf number and wire type, and its shape (scalar, message, repeated, map, pointer).
 * The protobuf decoder (../protobuf) and the strict field checker (./strict.ts) both read it, so a
 * field exists for both or for neither.
 */
import { TABLE } from './table.js'

export type ScalarName = 'string' | 'bool' | 'int32' | 'int64' | 'bytes'
/** Types with a JSON form of their own (metav1.Time, intstr.IntOrString, resource.Quantity, ...). */
export type SpecialName = 'Time' | 'MicroTime' | 'IntOrString' | 'Quantity' | 'FieldsV1'

export type ValueType =
  | { kind: 'scalar', name: ScalarName }
  | { kind: 'special', name: SpecialName }
  | { kind: 'message', name: string }

export interface FieldDef {
  /** The JSON key (for an inline field: the protobuf name; its fields are flattened into the parent). */
  readonly json: string
  /** Protobuf field number; 0 for JSON-only fields (apiVersion, kind). */
  readonly num: number
  readonly proto: string
  readonly shape: 'single' | 'pointer' | 'repeated' | 'map'
  /** The element type for repeated, the value type for maps (keys are strings). */
  readonly type: ValueType
  readonly omitempty: boolean
  readonly inline: boolean
}

export interface MessageDef {
  readonly name: string
  /** In Go declaration order (JSON key order). */
  readonly fields: readonly FieldDef[]
  readonly byNumber: ReadonlyMap<number, FieldDef>
  /** JSON keys, with inline messages' fields flattened in. */
  readonly byJson: ReadonlyMap<string, FieldDef>
}

/** Protobuf wire types (https://protobuf.dev/programming-guides/encoding/#structure). */
export const WireType = { Varint: 0, Fixed64: 1, Len: 2, Fixed32: 5 } as const
export type WireType = typeof WireType[keyof typeof WireType]

const SCALARS = new Set<string>(['string', 'bool', 'int32', 'int64', 'bytes'])
const SPECIALS = new Set<string>(['Time', 'MicroTime', 'IntOrString', 'Quantity', 'FieldsV1'])

function valueType (t: string): ValueType {
  if (SCALARS.has(t)) return { kind: 'scalar', name: t as ScalarName }
  if (SPECIALS.has(t)) return { kind: 'special', name: t as SpecialName }
  if (/^[a-z]+\.[A-Z][A-Za-z0-9]*$/.test(t)) return { kind: 'message', name: t }
  throw new Error(`schema table: unknown type ${t}`)
}

function parseField (line: string): FieldDef {
  const [json, num, type, ...flags] = line.trim().split(/\s+/)
  if (json === undefined || num === undefined || type === undefined || !/^\d+$/.test(num)) throw new Error(`schema table: bad line "${line}"`)
  let shape: FieldDef['shape'] = 'single'
  let t = type
  if (t.startsWith('*')) { shape = 'pointer'; t = t.slice(1) } else if (t.startsWith('[]')) { shape = 'repeated'; t = t.slice(2) } else if (t.startsWith('map[string]')) { shape = 'map'; t = t.slice('map[string]'.length) }
  let proto = json
  for (const f of flags) {
    if (f.startsWith('proto=')) proto = f.slice(6)
    else if (f !== 'omitempty' && f !== 'inline') throw new Error(`schema table: bad flag ${f} in "${line}"`)
  }
  return { json, num: Number(num), proto, shape, type: valueType(t), omitempty: flags.includes('omitempty'), inline: flags.includes('inline') }
}

function parseTable (text: string): Map<string, MessageDef> {
  const raw = new Map<string, FieldDef[]>()
  let cur: FieldDef[] | undefined
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    if (!line.startsWith(' ')) {
      const name = line.trim()
      if (raw.has(name)) throw new Error(`schema table: ${name} twice`)
      cur = []
      raw.set(name, cur)
    } else {
      if (cur === undefined) throw new Error('schema table: field before message')
      cur.push(parseField(line))
    }
  }
  const out = new Map<string, MessageDef>()
  const build = (name: string, stack: string[]): MessageDef => {
    const done = out.get(name)
    if (done !== undefined) return done
    const fields = raw.get(name)
    if (fields === undefined) throw new Error(`schema table: message ${name} is referenced but not defined`)
    if (stack.includes(name)) throw new Error(`schema table: ${name} inlines itself`)
    const byNumber = new Map<number, FieldDef>()
    const byJson = new Map<string, FieldDef>()
    for (const f of fields) {
      if (f.num !== 0) {
        if (byNumber.has(f.num)) throw new Error(`schema table: ${name} uses number ${f.num} twice`)
        byNumber.set(f.num, f)
      }
      if (f.inline) {
        if (f.type.kind !== 'message' || f.shape !== 'single') throw new Error(`schema table: ${name}.${f.json} inline must be a message`)
        // encoding/json: the outer struct's own keys win over the embedded struct's.
        for (const [k, v] of build(f.type.name, [...stack, name]).byJson) if (!fields.some((o) => !o.inline && o.json === k)) byJson.set(k, v)
      } else {
        byJson.set(f.json, f)
      }
    }
    const def: MessageDef = { name, fields, byNumber, byJson }
    out.set(name, def)
    return def
  }
  for (const name of raw.keys()) build(name, [])
  for (const def of out.values()) {
    for (const f of def.fields) if (f.type.kind === 'message' && !out.has(f.type.name)) throw new Error(`schema table: ${def.name}.${f.json} refers to undefined ${f.type.name}`)
  }
  return out
}

export const MESSAGES: ReadonlyMap<string, MessageDef> = parseTable(TABLE)

export function message (name: string): MessageDef {
  const m = MESSAGES.get(name)
  if (m === undefined) throw new Error(`schema: no message ${name}`)
  return m
}

/** The kinds a body may carry: apiVersion/kind → message. `DeleteOptions` is accepted under every group version, as upstream registers it in each. */
export const KINDS: ReadonlyArray<{ apiVersion: string, kind: string, message: string }> = [
  { apiVersion: 'v1', kind: 'Namespace', message: 'core.Namespace' },
  { apiVersion: 'v1', kind: 'Pod', message: 'core.Pod' },
  { apiVersion: 'v1', kind: 'Service', message: 'core.Service' },
  { apiVersion: 'v1', kind: 'Endpoints', message: 'core.Endpoints' },
  { apiVersion: 'v1', kind: 'Node', message: 'core.Node' },
  { apiVersion: 'v1', kind: 'ConfigMap', message: 'core.ConfigMap' },
  { apiVersion: 'v1', kind: 'Secret', message: 'core.Secret' },
  { apiVersion: 'v1', kind: 'Event', message: 'core.Event' },
  { apiVersion: 'v1', kind: 'ServiceAccount', message: 'core.ServiceAccount' },
  { apiVersion: 'v1', kind: 'Binding', message: 'core.Binding' },
  { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', message: 'discovery.EndpointSlice' },
  { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', message: 'coordination.Lease' },
  { apiVersion: 'apps/v1', kind: 'Deployment', message: 'apps.Deployment' },
  { apiVersion: 'apps/v1', kind: 'ReplicaSet', message: 'apps.ReplicaSet' },
  { apiVersion: 'autoscaling/v1', kind: 'Scale', message: 'autoscaling.Scale' }
]

/** The message for a body's apiVersion and kind, or undefined when the table does not know it. */
export function messageForKind (apiVersion: string, kind: string): MessageDef | undefined {
  if (kind === 'DeleteOptions') return MESSAGES.get('meta.DeleteOptions')
  const k = KINDS.find((e) => e.apiVersion === apiVersion && e.kind === kind)
  return k === undefined ? undefined : MESSAGES.get(k.message)
}

/** The wire type a field's values use (repeated scalars may also arrive packed, as Len). */
export function wireTypeOf (f: FieldDef): WireType {
  if (f.shape === 'map') return WireType.Len
  if (f.type.kind === 'scalar' && (f.type.name === 'bool' || f.type.name === 'int32' || f.type.name === 'int64')) return WireType.Varint
  return WireType.Len
}

export { fieldIssues, fieldValidationIssues, unknownFieldsOf, duplicateFieldsOf, parseFieldValidation, warningHeader, type FieldValidation, type FieldCheck } from './strict.js'
