/** routing/bgp/errors.ts and the "BGP speaker errors" table of docs/errors.md agree in both directions. */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { BgpdError, bgpdErrorCodes } from './errors.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

function documented (): string[] {
  const text = fs.readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8')
  const section = text.split(/^## /m).find((s) => s.startsWith('BGP speaker errors'))
  if (section === undefined) throw new Error('docs/errors.md has no "## BGP speaker errors" section')
  const codes: string[] = []
  for (const line of section.split('\n')) {
    const m = /^\| `(BGPD_ERR_[A-Z_]+)` \| (.+) \| (.+) \|$/.exec(line)
    if (m !== null) codes.push(m[1] as string)
  }
  return codes
}

test('docs/errors.md documents exactly the codes of bgpdErrorCodes, each once', (t) => {
  const docs = documented()
  t.deepEqual([...docs].sort(), Object.keys(bgpdErrorCodes).sort())
  t.is(new Set(docs).size, docs.length)
})

test('BgpdError keeps its code and survives a second bundled copy for instanceof', (t) => {
  const e = new BgpdError('BGPD_ERR_CONFIG', 'asn: must be an integer')
  t.is(e.code, 'BGPD_ERR_CONFIG')
  t.true(e instanceof BgpdError)
  const foreign = Object.assign(new Error('x'), { code: 'BGPD_ERR_FIB' })
  Object.defineProperty(foreign, Symbol.for('weft.BgpdError'), { get: () => true })
  t.true(foreign instanceof BgpdError)
  t.false(new Error('y') instanceof BgpdError)
})
