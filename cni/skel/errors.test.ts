/**
 * The error registry and docs/errors.md must agree in both directions
 * (fastify's errors.test.js does the same with its Errors.md), and CniError
 * must behave the same however many copies of this module are bundled.
 */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { CniError, cniErrorCodes, invalidConfig } from './errors.js'
import type { CniErrorCode } from './errors.js'

/** The repository root, from this file's place in dist/cni/skel/. */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

interface Row { code: string, number: number, meaning: string, when: string }

/** The rows of the table under `## CNI errors` in docs/errors.md. */
function documented (): Row[] {
  const text = fs.readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8')
  const section = text.split(/^## /m).find((s) => s.startsWith('CNI errors'))
  if (section === undefined) throw new Error('docs/errors.md has no "## CNI errors" section')
  const rows: Row[] = []
  for (const line of section.split('\n')) {
    const m = /^\| `([A-Z0-9_]+)` \| (\d+) \| (.*) \| (.*) \|$/.exec(line)
    if (m !== null) rows.push({ code: m[1] as string, number: Number(m[2]), meaning: (m[3] as string).trim(), when: (m[4] as string).trim() })
  }
  return rows
}

test('docs/errors.md documents every code in cniErrorCodes, with its number', (t) => {
  const rows = new Map(documented().map((r) => [r.code, r]))
  for (const [code, number] of Object.entries(cniErrorCodes)) {
    const row = rows.get(code)
    t.truthy(row, `${code} is missing from docs/errors.md`)
    t.is(row?.number, number, `${code}: the documented number`)
  }
})

test('docs/errors.md documents no code that cniErrorCodes lacks, and each once, with meaning and when-raised text', (t) => {
  const rows = documented()
  t.true(rows.length > 0, 'the table parses')
  const seen = new Set<string>()
  for (const row of rows) {
    t.true(row.code in cniErrorCodes, `${row.code} is documented but not in cniErrorCodes`)
    t.false(seen.has(row.code), `${row.code} is documented twice`)
    seen.add(row.code)
    t.true(row.code.startsWith('CNI_ERR_'), row.code)
    t.true(row.meaning.length > 10 && row.when.length > 10, `${row.code} says what it means and when it is raised`)
  }
  t.is(rows.length, Object.keys(cniErrorCodes).length)
})

test('registry numbers are unique; 0-99 are the spec\'s, 100 and up ours', (t) => {
  const numbers = Object.values(cniErrorCodes) as number[]
  t.is(new Set(numbers).size, numbers.length)
  const spec = new Map<number, CniErrorCode>([[1, 'CNI_ERR_INCOMPATIBLE_VERSION'], [2, 'CNI_ERR_UNSUPPORTED_FIELD'], [3, 'CNI_ERR_UNKNOWN_CONTAINER'], [4, 'CNI_ERR_INVALID_ENV'], [5, 'CNI_ERR_IO'], [6, 'CNI_ERR_DECODE'], [7, 'CNI_ERR_INVALID_CONFIG'], [8, 'CNI_ERR_INVALID_NETNS'], [11, 'CNI_ERR_TRY_AGAIN'], [50, 'CNI_ERR_NOT_AVAILABLE'], [51, 'CNI_ERR_LIMITED_CONNECTIVITY']])
  for (const [number, code] of spec) t.is(cniErrorCodes[code] as number, number, `${code} keeps the spec's ${number}`)
  for (const [code, number] of Object.entries(cniErrorCodes) as Array<[CniErrorCode, number]>) {
    if (number < 100) t.is(spec.get(number), code, `${code} (${number}) is in the spec's range but is not a spec code`)
  }
})

test('CniError: number from the registry unless a delegate\'s is given; details and cause kept', (t) => {
  const e = new CniError('CNI_ERR_RANGE_EXHAUSTED', 'no IP addresses available', 'range set 10.0.0.0/30', { cause: new Error('disk') })
  t.is(e.name, 'CniError')
  t.is(e.code, 'CNI_ERR_RANGE_EXHAUSTED')
  t.is(e.number, 104)
  t.is(e.message, 'no IP addresses available')
  t.is(e.details, 'range set 10.0.0.0/30')
  t.is((e.cause as Error).message, 'disk')
  t.is(new CniError('CNI_ERR_DELEGATE', 'x', '', { number: 999 }).number, 999)
  t.is(new CniError('CNI_ERR_DELEGATE', 'x').details, '')
  t.like(invalidConfig('bad subnet', '10.0.0.0/33'), { code: 'CNI_ERR_INVALID_CONFIG', number: 7, message: 'bad subnet', details: '10.0.0.0/33' })
})

test('instanceof CniError holds for an error from another bundled copy, and not for other errors', (t) => {
  // What a second copy of errors.ts (another bundle) would construct: same Symbol.for marker, other class.
  const foreign = Object.assign(new Error('x'), { code: 'CNI_ERR_IO' })
  Object.defineProperty(foreign, Symbol.for('weft.CniError'), { get: () => true })
  t.true(foreign instanceof CniError)
  t.false(new Error('x') instanceof CniError)
  t.false((null as unknown) instanceof CniError)
  t.false(({ code: 'CNI_ERR_IO', number: 5 } as unknown) instanceof CniError, 'the shape alone is not enough')
})
