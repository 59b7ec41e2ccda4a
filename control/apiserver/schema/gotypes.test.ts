/**
 * The type table regenerated from the Go types compiled into kubectl and compared line by line.
 *
 * Go binaries keep their struct types for reflection: field names, field types and the full struct
 * tags (`json:"replicas,omitempty" protobuf:"varint,1,opt,name=replicas"`). Walking them from the
 * `.typelink` section gives, for each k8s.io/api struct, exactly what the table states — JSON name,
 * protobuf number, pointer/slice/map, `omitempty`, `,inline` — in declaration order. So this test
 * fails on any drift in the one thing descriptors.test.ts cannot see: pointer-ness and omitempty,
 * which decide what the decoder writes for zero values.
 *
 * Layouts are Go's internal/abi (Go 1.21+): Type is 48 bytes (Size, PtrBytes, Hash, TFlag, Align,
 * FieldAlign, Kind, Equal, GCData, Str, PtrToThis); PtrType/SliceType add Elem at 48; MapType Key
 * at 48 and Elem at 56; StructType PkgPath at 48 and Fields (ptr, len) at 56/64, each field
 * {Name, Typ, Offset}; an UncommonType (TFlag&1) follows the struct type at 80, starting with the
 * package path.
 */
import test from 'ava'
import * as fs from 'node:fs'
import { KINDS, MESSAGES } from './index.js'
import { TABLE } from './table.js'

const KUBECTL = '/usr/bin/kubectl'
const have = fs.existsSync(KUBECTL)

class GoBinary {
  readonly buf: Buffer
  readonly #segs: Array<{ vaddr: number, size: number, off: number }> = []
  readonly sections = new Map<string, { addr: number, off: number, size: number }>()
  constructor (file: string) {
    const b = fs.readFileSync(fs.realpathSync(file))
    this.buf = b
    if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) throw new Error('not a 64-bit ELF')
    const phoff = Number(b.readBigUInt64LE(0x20))
    const phentsize = b.readUInt16LE(0x36)
    const phnum = b.readUInt16LE(0x38)
    for (let i = 0; i < phnum; i++) {
      const p = phoff + i * phentsize
      if (b.readUInt32LE(p) !== 1) continue // PT_LOAD
      this.#segs.push({ off: Number(b.readBigUInt64LE(p + 8)), vaddr: Number(b.readBigUInt64LE(p + 16)), size: Number(b.readBigUInt64LE(p + 32)) })
    }
    const shoff = Number(b.readBigUInt64LE(0x28))
    const shentsize = b.readUInt16LE(0x3a)
    const shnum = b.readUInt16LE(0x3c)
    const shstrndx = b.readUInt16LE(0x3e)
    const strtab = Number(b.readBigUInt64LE(shoff + shstrndx * shentsize + 0x18))
    for (let i = 0; i < shnum; i++) {
      const s = shoff + i * shentsize
      const nameOff = strtab + b.readUInt32LE(s)
      const name = b.toString('latin1', nameOff, b.indexOf(0, nameOff))
      this.sections.set(name, { addr: Number(b.readBigUInt64LE(s + 0x10)), off: Number(b.readBigUInt64LE(s + 0x18)), size: Number(b.readBigUInt64LE(s + 0x20)) })
    }
  }

  fo (a: number): number {
    for (const s of this.#segs) if (a >= s.vaddr && a < s.vaddr + s.size) return a - s.vaddr + s.off
    throw new Error(`address ${a.toString(16)} not mapped`)
  }

  u8 (a: number): number { return this.buf[this.fo(a)] as number }
  i32 (a: number): number { return this.buf.readInt32LE(this.fo(a)) }
  u64 (a: number): number { return Number(this.buf.readBigUInt64LE(this.fo(a))) }
  varint (a: number): [number, number] {
    let v = 0
    let shift = 0
    for (;;) {
      const b = this.u8(a++)
      v += (b & 0x7f) * 2 ** shift
      shift += 7
      if (b < 0x80) return [v, a]
    }
  }

  /** abi.Name: flags, varint length, bytes, then (flags&2) varint tag length and tag. */
  name (a: number): { name: string, tag: string, embedded: boolean } {
    const flags = this.u8(a)
    const [n, p] = this.varint(a + 1)
    const name = this.buf.toString('utf8', this.fo(p), this.fo(p) + n)
    let tag = ''
    if ((flags & 2) !== 0) {
      const [tn, p2] = this.varint(p + n)
      tag = this.buf.toString('utf8', this.fo(p2), this.fo(p2) + tn)
    }
    return { name, tag, embedded: (flags & 8) !== 0 }
  }
}

const KIND: Record<number, string> = { 1: 'bool', 2: 'int', 5: 'int32', 6: 'int64', 8: 'uint8', 10: 'uint32', 11: 'uint64', 14: 'float64', 17: 'array', 20: 'interface', 21: 'map', 22: 'ptr', 23: 'slice', 24: 'string', 25: 'struct' }

interface GoField { name: string, type: string, tag: string, embedded: boolean }

function goStructs (bin: GoBinary): Map<string, GoField[]> {
  const types = (bin.sections.get('.rodata') as { addr: number }).addr // moduledata.types: type data opens .rodata
  const tl = bin.sections.get('.typelink')
  if (tl === undefined) throw new Error('no .typelink section')
  const out = new Map<string, GoField[]>()
  const seen = new Set<number>()
  const kindOf = (t: number): string => KIND[bin.u8(t + 23) & 0x1f] ?? 'other'
  const structName = (t: number): string => {
    let n = bin.name(types + bin.i32(t + 40)).name
    if ((bin.u8(t + 20) & 2) !== 0) n = n.slice(1) // TFlagExtraStar
    const pkg = (bin.u8(t + 20) & 1) !== 0 ? bin.name(types + bin.i32(t + 80)).name : ''
    return `${pkg}.${n.split('.').pop() as string}`
  }
  const desc = (t: number): string => {
    const k = kindOf(t)
    if (k === 'ptr') return '*' + desc(bin.u64(t + 48))
    if (k === 'slice') return '[]' + desc(bin.u64(t + 48))
    if (k === 'map') return `map[${desc(bin.u64(t + 48))}]${desc(bin.u64(t + 56))}`
    if (k === 'struct') return structName(t)
    return k
  }
  const walk = (t: number): void => {
    if (seen.has(t)) return
    seen.add(t)
    const k = kindOf(t)
    if (k === 'ptr' || k === 'slice' || k === 'array') { walk(bin.u64(t + 48)); return }
    if (k === 'map') { walk(bin.u64(t + 48)); walk(bin.u64(t + 56)); return }
    if (k !== 'struct') return
    const fp = bin.u64(t + 56)
    const n = bin.u64(t + 64)
    const fields: GoField[] = []
    for (let i = 0; i < n; i++) {
      const nm = bin.name(bin.u64(fp + i * 24))
      const ft = bin.u64(fp + i * 24 + 8)
      fields.push({ name: nm.name, type: desc(ft), tag: nm.tag, embedded: nm.embedded })
      walk(ft)
    }
    out.set(structName(t), fields)
  }
  for (let i = 0; i < tl.size / 4; i++) {
    try { walk(types + bin.buf.readInt32LE(tl.off + 4 * i)) } catch { /* a type outside the mapped data: not ours */ }
  }
  return out
}

const PKG: Record<string, string> = {
  'k8s.io/api/core/v1': 'core',
  'k8s.io/api/apps/v1': 'apps',
  'k8s.io/api/discovery/v1': 'discovery',
  'k8s.io/api/coordination/v1': 'coordination',
  'k8s.io/api/autoscaling/v1': 'autoscaling',
  'k8s.io/apimachinery/pkg/apis/meta/v1': 'meta'
}
const SPECIAL: Record<string, string> = {
  'k8s.io/apimachinery/pkg/apis/meta/v1.Time': 'Time',
  'k8s.io/apimachinery/pkg/apis/meta/v1.MicroTime': 'MicroTime',
  'k8s.io/apimachinery/pkg/util/intstr.IntOrString': 'IntOrString',
  'k8s.io/apimachinery/pkg/api/resource.Quantity': 'Quantity',
  'k8s.io/apimachinery/pkg/apis/meta/v1.FieldsV1': 'FieldsV1'
}
const tableName = (goName: string): string => {
  const dot = goName.lastIndexOf('.')
  const pkg = PKG[goName.slice(0, dot)]
  if (pkg === undefined) throw new Error(`type from an unexpected package: ${goName}`)
  return `${pkg}.${goName.slice(dot + 1)}`
}
const goName = (table: string): string => {
  const [pkg, n] = table.split('.') as [string, string]
  return `${Object.entries(PKG).find(([, v]) => v === pkg)?.[0] ?? '?'}.${n}`
}

function typeText (t: string): string {
  if (t.startsWith('*')) return '*' + typeText(t.slice(1))
  if (t === '[]uint8') return 'bytes'
  if (t.startsWith('[]')) return '[]' + typeText(t.slice(2))
  if (t.startsWith('map[')) {
    const close = t.indexOf(']')
    return `map[${typeText(t.slice(4, close))}]${typeText(t.slice(close + 1))}`
  }
  if (['string', 'bool', 'int32', 'int64'].includes(t)) return t
  if (SPECIAL[t] !== undefined) return SPECIAL[t] as string
  if (t.includes('/')) return tableName(t)
  throw new Error(`no table type for Go type ${t}`)
}

/** The table text the Go struct says, for one message. */
function regenerate (structs: Map<string, GoField[]>, message: string): string {
  const fields = structs.get(goName(message))
  if (fields === undefined) throw new Error(`${message}: no Go struct ${goName(message)} in kubectl`)
  const lines = [message]
  for (const f of fields) {
    const json = /json:"([^"]*)"/.exec(f.tag)?.[1]
    const pb = /protobuf:"([^"]*)"/.exec(f.tag)?.[1]
    if (json === undefined) throw new Error(`${message}.${f.name}: no json tag`)
    const [jn, ...opts] = json.split(',')
    if (jn === '-') continue
    if (pb === undefined) {
      if (f.name === 'TypeMeta') { lines.push('  kind 0 string omitempty', '  apiVersion 0 string omitempty'); continue }
      throw new Error(`${message}.${f.name}: no protobuf tag`)
    }
    const parts = pb.split(',')
    const num = parts[1] as string
    const pname = parts.find((p) => p.startsWith('name='))?.slice(5) ?? (f.name.charAt(0).toLowerCase() + f.name.slice(1))
    const flags: string[] = []
    if (opts.includes('omitempty')) flags.push('omitempty')
    let name = jn as string
    if (opts.includes('inline')) { flags.push('inline'); name = pname } else if (name !== pname) flags.push(`proto=${pname}`)
    lines.push(`  ${name} ${num} ${typeText(f.type)}${flags.length > 0 ? ' ' + flags.join(' ') : ''}`)
  }
  return lines.join('\n')
}

;(have ? test : test.skip)('the table is what the Go structs compiled into kubectl say: names, numbers, pointers, omitempty, inline, order', (t) => {
  const structs = goStructs(new GoBinary(KUBECTL))
  t.true(structs.has('k8s.io/api/core/v1.PodSpec'), `found ${structs.size} structs`)
  const blocks = TABLE.trim().split(/\n(?=\S)/)
  t.is(blocks.length, MESSAGES.size)
  for (const block of blocks) {
    const name = block.split('\n')[0] as string
    t.is(regenerate(structs, name), block, name)
  }
  // and the table is closed: every message a served kind reaches is in it (build() throws otherwise)
  for (const k of KINDS) t.true(MESSAGES.has(k.message))
})
