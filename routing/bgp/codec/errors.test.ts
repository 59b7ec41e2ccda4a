/**
 * The error registry (errors.ts) and the "Error codes" table of docs/bgp-codec.md agree in both directions, every
 * code is raised somewhere, and instanceof survives a second bundled copy (STYLE.md convention 6).
 */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { BgpEncodeError, BgpMessageError, bgpErrorCodes, strongerHandling } from './index.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')
const sourceDir = path.join(root, 'routing', 'bgp', 'codec')

function documented (): string[] {
  const text = fs.readFileSync(path.join(root, 'docs', 'bgp-codec.md'), 'utf8')
  const section = text.split(/^## /m).find((s) => s.startsWith('Error codes'))
  if (section === undefined) throw new Error('docs/bgp-codec.md has no "## Error codes" section')
  const codes: string[] = []
  for (const line of section.split('\n')) {
    const m = /^\| `(BGP_ERR_[A-Z0-9_]+)` \|(.+\|){3}$/.exec(line)
    if (m !== null) codes.push(m[1] as string)
  }
  return codes
}

test('docs/bgp-codec.md documents exactly the codes of bgpErrorCodes, each once', (t) => {
  const docs = documented()
  t.deepEqual([...docs].sort(), Object.keys(bgpErrorCodes).sort())
  t.is(new Set(docs).size, docs.length)
})

test('every code of the registry is raised by the codec', (t) => {
  const sources = [...fs.readdirSync(sourceDir), ...fs.readdirSync(path.join(sourceDir, 'attrs')).map((f) => path.join('attrs', f))]
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'errors.ts')
    .map((f) => fs.readFileSync(path.join(sourceDir, f), 'utf8'))
    .join('\n')
  for (const code of Object.keys(bgpErrorCodes)) t.true(sources.includes(`'${code}'`), code)
})

test('a BgpMessageError carries its NOTIFICATION and handling, and can be escalated', (t) => {
  const e = new BgpMessageError('BGP_ERR_ATTR_ORIGIN', 'bad', { code: 3, subcode: 6, data: Uint8Array.of(1), handling: 'treat-as-withdraw', attrType: 1 })
  t.deepEqual(e.notification, { code: 3, subcode: 6, data: Uint8Array.of(1) })
  t.is(e.handling, 'treat-as-withdraw')
  const r = e.withHandling('session-reset')
  t.is(r.handling, 'session-reset')
  t.is(r.code, e.code)
  t.is(r.attrType, 1)
  t.deepEqual(r.notification, e.notification)
  t.is(new BgpMessageError('BGP_ERR_MARKER', 'x', { code: 1, subcode: 1 }).handling, 'session-reset', 'session reset unless said otherwise')
})

test('strongerHandling orders session reset over treat-as-withdraw over attribute discard (RFC 7606 §3(h))', (t) => {
  t.is(strongerHandling('attribute-discard', 'treat-as-withdraw'), 'treat-as-withdraw')
  t.is(strongerHandling('session-reset', 'treat-as-withdraw'), 'session-reset')
  t.is(strongerHandling('attribute-discard', 'attribute-discard'), 'attribute-discard')
})

test('instanceof recognises errors from a second bundled copy, and only those', (t) => {
  const foreign = Object.assign(new Error('x'), { code: 'BGP_ERR_MARKER' })
  Object.defineProperty(foreign, Symbol.for('weft.BgpMessageError'), { get: () => true })
  t.true(foreign instanceof BgpMessageError)
  t.false(foreign instanceof BgpEncodeError)
  t.false(new Error('y') instanceof BgpMessageError)
  t.true(new BgpEncodeError('BGP_ERR_ENCODE_INVALID', 'z') instanceof BgpEncodeError)
  t.false(new BgpEncodeError('BGP_ERR_ENCODE_INVALID', 'z') instanceof BgpMessageError)
})
