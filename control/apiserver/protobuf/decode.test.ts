/**
 * The protobuf decoder on hand-written bytes (each field commented), its error cases, and
 * properties: generated objects of every served kind round-trip through encode → decode → encode
 * byte for byte, and arbitrary or mutated bytes either decode or throw a ProtobufError.
 */
import test from 'ava'
import fc from 'fast-check'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { KINDS, message, type FieldDef, type MessageDef } from '../schema/index.js'
import { decodeKubeProtobuf, decodeMessageJson, decodeObject, encodeKubeProtobuf, encodeMessage, ProtobufError, type ProtobufErrorCode } from './index.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')
const testdata = path.join(root, 'control', 'apiserver', 'protobuf', 'testdata')

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+|\/\/[^\n]*/g, ''), 'hex'))

/** `k8s\0` + runtime.Unknown around an object message. */
function envelope (apiVersion: string, kind: string, raw: Uint8Array): Uint8Array {
  const s = (f: number, b: Uint8Array | string): Buffer => {
    const v = typeof b === 'string' ? Buffer.from(b) : Buffer.from(b)
    return Buffer.concat([Buffer.from([f << 3 | 2]), varint(v.length), v])
  }
  const tm = Buffer.concat([s(1, apiVersion), s(2, kind)])
  return Uint8Array.from(Buffer.concat([Buffer.from('k8s\0', 'latin1'), s(1, tm), s(2, raw), s(3, ''), s(4, '')]))
}
function varint (n: number): Buffer {
  const out: number[] = []
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return Buffer.from(out)
}

function protoError (t: import('ava').ExecutionContext, fn: () => unknown, code: ProtobufErrorCode, match?: RegExp): void {
  const e = t.throws(fn)
  t.true(e instanceof ProtobufError, String(e))
  t.is((e as ProtobufError).code, code, e?.message)
  if (match !== undefined) t.regex(e?.message ?? '', match)
}

test('a hand-written ConfigMap: omitempty strings, creationTimestamp null, maps and []byte as base64', (t) => {
  const meta = hex(`
    0a 03 636d31       // 1 name "cm1"
    12 00              // 2 generateName "" (gogo always writes it; omitempty drops it)
    42 00              // 8 creationTimestamp: an empty Timestamp is the zero time → null
    5a 06 0a01 61 1201 62 // 11 labels entry {1 key "a", 2 value "b"}
  `)
  const body = Buffer.concat([
    Buffer.from([0x0a, meta.length]), meta, // 1 metadata
    hex('12 08 0a 01 6b 12 03 763d31'), // 2 data {k: "v=1"}
    hex('1a 08 0a 03 62696e 12 01 ff'), // 3 binaryData {bin: 0xff}
    hex('20 00') // 4 immutable: pointer present and false → written
  ])
  t.deepEqual(decodeObject('v1', 'ConfigMap', body), {
    kind: 'ConfigMap',
    apiVersion: 'v1',
    metadata: { name: 'cm1', creationTimestamp: null, labels: { a: 'b' } },
    immutable: false,
    data: { k: 'v=1' },
    binaryData: { bin: '/w==' }
  })
})

test('Time as RFC 3339 seconds, MicroTime with microseconds, IntOrString as number or string, Quantity as its string', (t) => {
  // metav1.Time {1 seconds: 1767323045 (2026-01-02T03:04:05Z), 2 nanos: 999999999 (dropped: JSON has seconds)}
  const ts = hex('08 a5 eb dc ca 06  10 ff 93 eb dc 03')
  t.deepEqual(decodeMessageJson('meta.ObjectMeta', Buffer.concat([Buffer.from([0x42, ts.length]), ts])), { creationTimestamp: '2026-01-02T03:04:05Z' })
  // MicroTime keeps microseconds: 1767323045.123456789 → .123456
  const micro = hex('08 a5 eb dc ca 06  10 95 9a ef 3a')
  t.deepEqual(decodeMessageJson('coordination.LeaseSpec', Buffer.concat([Buffer.from([0x22, micro.length]), micro])), { renewTime: '2026-01-02T03:04:05.123456Z' })
  // Go's zero time (seconds -62135596800) is null, as is an empty Timestamp
  const zero = encodeMessage(message('meta.ObjectMeta'), {})
  t.deepEqual(decodeMessageJson('meta.ObjectMeta', zero), { creationTimestamp: null })
  // ServicePort {3 port: 80, 4 targetPort {1 type 1, 3 strVal "http"}}
  t.deepEqual(decodeMessageJson('core.ServicePort', hex('18 50  22 0a 08 01 10 00 1a 04 68747470')), { port: 80, targetPort: 'http' })
  t.deepEqual(decodeMessageJson('core.ServicePort', hex('18 50  22 07 08 00 10 90 3f 1a 00')), { port: 80, targetPort: 8080 })
  // a non-pointer IntOrString absent still appears (Go does not omit structs): 0
  t.deepEqual(decodeMessageJson('core.ServicePort', hex('18 50')), { port: 80, targetPort: 0 })
  // ResourceRequirements {1 limits {cpu: Quantity{"500m"}}}
  t.deepEqual(decodeMessageJson('core.ResourceRequirements', hex('0a 0d 0a 03 637075 12 06 0a 04 3530306d')), { limits: { cpu: '500m' } })
})

test('pointers are written when present even if zero; non-omitempty zero values and nil slices are written as Go does', (t) => {
  // DeploymentSpec {1 replicas: 0 (pointer), 5 minReadySeconds: 0 (omitempty)}
  t.deepEqual(decodeMessageJson('apps.DeploymentSpec', hex('08 00 28 00')), {
    replicas: 0,
    selector: null, // *LabelSelector without omitempty
    template: { metadata: { creationTimestamp: null }, spec: { containers: null } },
    strategy: {}
  })
  // negative int32 as a 10-byte varint: Container.ports[0].containerPort -1 (validation's job to refuse)
  const port = hex('18 ff ff ff ff ff ff ff ff ff 01')
  const c = decodeMessageJson('core.Container', Buffer.concat([hex('0a 01 63'), Buffer.from([0x32, port.length]), port]))
  t.deepEqual(c.ports, [{ containerPort: -1 }])
  t.deepEqual(c.resources, {})
  // repeated int64 accepted packed or not: PodSecurityContext.supplementalGroups (4)
  t.deepEqual(decodeMessageJson('core.PodSecurityContext', hex('20 01 20 02 22 02 03 04')).supplementalGroups, [1, 2, 3, 4])
})

test('envelope errors: no magic, no raw object, a content encoding, an unknown kind', (t) => {
  protoError(t, () => decodeKubeProtobuf(Buffer.from('{"kind":"Pod"}')), 'CTRL_ERR_PROTO_ENVELOPE', /k8s/)
  protoError(t, () => decodeKubeProtobuf(Buffer.from('k8s\0', 'latin1')), 'CTRL_ERR_PROTO_ENVELOPE', /no object/)
  const gz = Buffer.concat([Buffer.from(envelope('v1', 'ConfigMap', new Uint8Array()).slice(0, -2)), hex('1a 04 677a6970 22 00')])
  protoError(t, () => decodeKubeProtobuf(gz), 'CTRL_ERR_PROTO_ENVELOPE', /content encoding "gzip"/)
  protoError(t, () => decodeKubeProtobuf(envelope('batch/v1', 'Job', new Uint8Array())), 'CTRL_ERR_PROTO_UNKNOWN_KIND', /Job/)
})

test('unknown field numbers are refused, not dropped; wire-type and length errors are malformed', (t) => {
  // ConfigMap field 9 does not exist
  protoError(t, () => decodeObject('v1', 'ConfigMap', hex('4a 01 78')), 'CTRL_ERR_PROTO_UNKNOWN_FIELD', /core\.ConfigMap has no field number 9/)
  // nested: Pod.spec (2) → PodSpec field 999 (varint)
  protoError(t, () => decodeObject('v1', 'Pod', hex('12 03 b8 3e 01')), 'CTRL_ERR_PROTO_UNKNOWN_FIELD', /^spec: core\.PodSpec has no field number 999/)
  protoError(t, () => decodeObject('v1', 'ConfigMap', hex('0a 05 0a 03 61')), 'CTRL_ERR_PROTO_MALFORMED', /runs past the end/)
  protoError(t, () => decodeObject('v1', 'ConfigMap', hex('0a')), 'CTRL_ERR_PROTO_MALFORMED', /truncated varint/)
  protoError(t, () => decodeObject('v1', 'ConfigMap', hex('08 01')), 'CTRL_ERR_PROTO_MALFORMED', /metadata: wire type 0, expected 2/)
  protoError(t, () => decodeObject('v1', 'ConfigMap', hex('0b')), 'CTRL_ERR_PROTO_MALFORMED', /wire type 3/)
  protoError(t, () => decodeObject('v1', 'ConfigMap', hex('00 01')), 'CTRL_ERR_PROTO_MALFORMED', /field number 0/)
  protoError(t, () => decodeObject('v1', 'ConfigMap', hex('20 ff ff ff ff ff ff ff ff ff ff 01')), 'CTRL_ERR_PROTO_MALFORMED', /longer than 10 bytes/)
})

test('values without a JSON form are refused: int64 beyond 2^53, years past 9999, IntOrString type 2, empty quantity, fieldsV1 not JSON', (t) => {
  // ObjectMeta.generation (7) = 2^60
  protoError(t, () => decodeMessageJson('meta.ObjectMeta', hex('38 80 80 80 80 80 80 80 80 10')), 'CTRL_ERR_PROTO_VALUE', /2\^53/)
  // creationTimestamp seconds 400000000000 (year ~14645)
  protoError(t, () => decodeMessageJson('meta.ObjectMeta', hex('42 07 08 80 c0 ee 8e d2 0b')), 'CTRL_ERR_PROTO_VALUE', /years 0-9999/)
  protoError(t, () => decodeMessageJson('core.ServicePort', hex('22 02 08 02')), 'CTRL_ERR_PROTO_VALUE', /IntOrString type 2/)
  protoError(t, () => decodeMessageJson('core.ResourceRequirements', hex('0a 09 0a 03 637075 12 02 0a 00')), 'CTRL_ERR_PROTO_VALUE', /empty quantity/)
  // managedFields[0].fieldsV1 (7) {1 raw "{"}
  protoError(t, () => decodeMessageJson('meta.ObjectMeta', hex('8a 01 05 3a 03 0a 01 7b')), 'CTRL_ERR_PROTO_VALUE', /fieldsV1 is not JSON/)
})

// ---- properties -------------------------------------------------------------------------------

const MAX_DEPTH = 4
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })
const seconds = fc.integer({ min: -62135596799, max: 253402300799 }) // 0001-01-01T00:00:01Z .. 9999-12-31T23:59:59Z
const rfc = (s: number): string => new Date(s * 1000).toISOString().slice(0, 19) + 'Z'

function valueArb (f: FieldDef, depth: number): fc.Arbitrary<unknown> | undefined {
  const ty = f.type
  if (ty.kind === 'message') {
    if (depth >= MAX_DEPTH) return undefined
    return messageArb(message(ty.name), depth + 1)
  }
  if (ty.kind === 'special') {
    switch (ty.name) {
      case 'Time': return seconds.map(rfc)
      case 'MicroTime': return fc.tuple(seconds, fc.integer({ min: 0, max: 999999 })).map(([s, us]) => `${rfc(s).slice(0, 19)}.${String(us).padStart(6, '0')}Z`)
      case 'IntOrString': return fc.oneof(int32, fc.string())
      case 'Quantity': return fc.constantFrom('0', '1', '100m', '2Gi', '1.5', '1e3')
      case 'FieldsV1': return fc.dictionary(fc.string({ maxLength: 4 }), fc.constant({}), { maxKeys: 2 })
    }
  }
  switch (ty.name) {
    case 'string': return fc.string({ maxLength: 6 })
    case 'bool': return fc.boolean()
    case 'int32': return int32
    case 'int64': return fc.maxSafeInteger()
    case 'bytes': return fc.uint8Array({ maxLength: 6 }).map((b) => Buffer.from(b).toString('base64'))
  }
}

function messageArb (def: MessageDef, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const parts: Record<string, fc.Arbitrary<unknown>> = {}
  for (const f of def.fields) {
    if (f.num === 0) continue
    if (f.inline) continue // inline fields are generated as the inner message's keys below
    const v = valueArb(f, depth)
    if (v === undefined) continue
    if (f.shape === 'repeated') parts[f.json] = fc.array(v, { maxLength: 2 })
    else if (f.shape === 'map') parts[f.json] = fc.dictionary(fc.string({ maxLength: 4 }), v, { maxKeys: 2 })
    else parts[f.json] = v
  }
  const own = fc.record(parts, { requiredKeys: [] })
  const inlines = def.fields.filter((f) => f.inline && depth < MAX_DEPTH).map((f) => messageArb(message((f.type as { name: string }).name), depth + 1))
  return fc.tuple(own, ...inlines).map(([o, ...ins]) => Object.assign({}, ...ins, o) as Record<string, unknown>)
}

const objectArb = fc.constantFrom(...KINDS).chain((k) => messageArb(message(k.message), 0).map((o) => ({ ...o, apiVersion: k.apiVersion, kind: k.kind })))

test('property: any object of a served kind survives encode → decode → encode byte for byte, and decoding is stable', (t) => {
  fc.assert(fc.property(objectArb, (o) => {
    const b1 = encodeKubeProtobuf(o)
    const j1 = decodeKubeProtobuf(b1)
    const b2 = encodeKubeProtobuf(j1)
    t.deepEqual(Buffer.from(b2), Buffer.from(b1))
    t.deepEqual(decodeKubeProtobuf(b2), j1)
    // what was set and non-empty is still there (the top level at least)
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === 'string' && v !== '' && k !== 'kind' && k !== 'apiVersion') t.is(j1[k], v, k)
    }
  }), { numRuns: 300 })
})

test('property: arbitrary bytes after the magic decode or throw ProtobufError, nothing else', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
    for (const body of [b, Uint8Array.from([0x6b, 0x38, 0x73, 0x00, ...b])]) {
      try { decodeKubeProtobuf(body) } catch (e) { if (!(e instanceof ProtobufError)) throw e }
    }
  }), { numRuns: 2000 })
  t.pass()
})

test('property: kubectl captures with flipped, dropped or truncated bytes decode or throw ProtobufError', (t) => {
  const bodies = fs.readdirSync(testdata).filter((f) => f.endsWith('.bin')).map((f) => fs.readFileSync(path.join(testdata, f)))
  t.true(bodies.length >= 5)
  const arb = fc.tuple(fc.constantFrom(...bodies), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'set', 'cut', 'drop'))
  let decoded = 0
  fc.assert(fc.property(arb, ([body, at, val, how]) => {
    const b = Buffer.from(body)
    const i = 4 + (at % (b.length - 4))
    let m: Buffer
    if (how === 'flip') { m = Buffer.from(b); m[i] = (m[i] as number) ^ (1 << (val % 8)) } else if (how === 'set') { m = Buffer.from(b); m[i] = val } else if (how === 'cut') m = b.subarray(0, i)
    else m = Buffer.concat([b.subarray(0, i), b.subarray(i + 1)])
    try { decodeKubeProtobuf(m); decoded++ } catch (e) { if (!(e instanceof ProtobufError)) throw e }
  }), { numRuns: 3000 })
  t.log(`${decoded} of 3000 mutated bodies still decoded`)
})
