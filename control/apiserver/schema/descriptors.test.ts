/**
 * The type table against the source of truth: the `generated.proto` descriptors compiled into
 * kubectl (gogo-protobuf registers each file as a gzipped FileDescriptorProto). Every field of the
 * table must exist in its upstream message under the same name and number, repeated exactly when
 * the table says repeated or map, and with a message type when the table names one; and every
 * upstream field of a message the table covers must be in the table (nothing silently missing).
 */
import test from 'ava'
import * as fs from 'node:fs'
import * as zlib from 'node:zlib'
import { Reader, WIRE_LEN, WIRE_VARINT, decodeUtf8 } from '../protobuf/wire.js'
import { MESSAGES } from './index.js'

const KUBECTL = '/usr/bin/kubectl'
const have = fs.existsSync(KUBECTL)

const PACKAGES: Record<string, string> = {
  'k8s.io/api/core/v1/generated.proto': 'core',
  'k8s.io/api/apps/v1/generated.proto': 'apps',
  'k8s.io/api/discovery/v1/generated.proto': 'discovery',
  'k8s.io/api/coordination/v1/generated.proto': 'coordination',
  'k8s.io/api/autoscaling/v1/generated.proto': 'autoscaling',
  'k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto': 'meta'
}

interface UpField { name: string, number: number, repeated: boolean, typeName: string }

function fields (b: Uint8Array): Array<[number, bigint | Uint8Array]> {
  const out: Array<[number, bigint | Uint8Array]> = []
  const r = new Reader(b)
  while (!r.done) {
    const t = r.tag()
    if (t.wire === WIRE_VARINT) out.push([t.field, r.varint()])
    else if (t.wire === WIRE_LEN) out.push([t.field, r.bytes()])
    else r.fixed(t.wire === 1 ? 8 : 4)
  }
  return out
}

/** message name ("core.PodSpec") → its upstream fields, from every descriptor in the binary. */
function upstream (): Map<string, UpField[]> {
  const bin = fs.readFileSync(fs.realpathSync(KUBECTL))
  const magic = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff])
  const out = new Map<string, UpField[]>()
  for (let i = bin.indexOf(magic); i >= 0; i = bin.indexOf(magic, i + 1)) {
    let fd: Buffer
    try { fd = zlib.inflateRawSync(bin.subarray(i + 10, i + 10 + 400_000)) } catch { continue }
    const top = fields(fd)
    const file = top.find(([n]) => n === 1)?.[1]
    const pkg = file instanceof Uint8Array ? PACKAGES[decodeUtf8(file)] : undefined
    if (pkg === undefined) continue
    for (const [n, v] of top) {
      if (n !== 4 || !(v instanceof Uint8Array)) continue // DescriptorProto message_type
      const m = fields(v)
      const name = decodeUtf8(m.find(([k]) => k === 1)?.[1] as Uint8Array)
      const fs2: UpField[] = []
      for (const [k, fv] of m) {
        if (k !== 2 || !(fv instanceof Uint8Array)) continue // FieldDescriptorProto
        const f = fields(fv)
        const get = (x: number): bigint | Uint8Array | undefined => f.find(([y]) => y === x)?.[1]
        fs2.push({
          name: decodeUtf8(get(1) as Uint8Array),
          number: Number(get(3) as bigint),
          repeated: get(4) === 3n,
          typeName: get(6) instanceof Uint8Array ? decodeUtf8(get(6) as Uint8Array) : ''
        })
      }
      out.set(`${pkg}.${name}`, fs2)
    }
  }
  return out
}

const SPECIAL_UPSTREAM: Record<string, string> = {
  Time: '.k8s.io.apimachinery.pkg.apis.meta.v1.Time',
  MicroTime: '.k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime',
  IntOrString: '.k8s.io.apimachinery.pkg.util.intstr.IntOrString',
  Quantity: '.k8s.io.apimachinery.pkg.api.resource.Quantity',
  FieldsV1: '.k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1'
}
const PKG_PREFIX: Record<string, string> = {
  core: '.k8s.io.api.core.v1.',
  apps: '.k8s.io.api.apps.v1.',
  discovery: '.k8s.io.api.discovery.v1.',
  coordination: '.k8s.io.api.coordination.v1.',
  autoscaling: '.k8s.io.api.autoscaling.v1.',
  meta: '.k8s.io.apimachinery.pkg.apis.meta.v1.'
}

;(have ? test : test.skip)('every table field matches kubectl\'s compiled generated.proto, and no upstream field is missing', (t) => {
  const up = upstream()
  t.true(up.size > 200, `found ${up.size} upstream messages`)
  let checked = 0
  for (const def of MESSAGES.values()) {
    const u = up.get(def.name)
    if (u === undefined) { t.fail(`${def.name} not in kubectl's descriptors`); continue }
    const mine = def.fields.filter((f) => f.num !== 0)
    for (const f of mine) {
      const uf = u.find((x) => x.name === f.proto)
      if (uf === undefined) { t.fail(`${def.name}.${f.proto} is not upstream`); continue }
      t.is(uf.number, f.num, `${def.name}.${f.proto} number`)
      t.is(uf.repeated, f.shape === 'repeated' || f.shape === 'map', `${def.name}.${f.proto} repeated`)
      if (f.shape !== 'map') {
        const want = f.type.kind === 'message'
          ? `${PKG_PREFIX[f.type.name.split('.')[0] as string] ?? '?'}${f.type.name.split('.')[1] as string}`
          : f.type.kind === 'special' ? (SPECIAL_UPSTREAM[f.type.name] ?? '?') : ''
        t.is(uf.typeName, want, `${def.name}.${f.proto} type`)
      }
      checked++
    }
    for (const uf of u) t.truthy(mine.find((f) => f.proto === uf.name), `${def.name}.${uf.name} (${uf.number}) is upstream but not in the table`)
  }
  t.log(`${checked} fields of ${MESSAGES.size} messages checked`)
})
