/** control/store/errors.ts and the "Control-plane errors" table of docs/errors.md agree in both directions. */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { StoreError, storeErrorCodes } from './errors.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

test('docs/errors.md documents exactly the codes of storeErrorCodes, each once', (t) => {
  const text = fs.readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8')
  const section = text.split(/^## /m).find((s) => s.startsWith('Control-plane errors'))
  if (section === undefined) { t.fail('docs/errors.md has no "## Control-plane errors" section'); return }
  const codes = [...section.matchAll(/^\| `(CTRL_ERR_[A-Z_]+)` \| .+ \| .+ \|$/gm)].map((m) => m[1] as string)
  t.deepEqual([...codes].sort(), Object.keys(storeErrorCodes).sort())
  t.is(new Set(codes).size, codes.length)
})

test('StoreError carries its code and survives a second bundled copy for instanceof', (t) => {
  const e = new StoreError('CTRL_ERR_STORE_COMPACTED', 'gone', { compactedRevision: 7 })
  t.is(e.code, 'CTRL_ERR_STORE_COMPACTED')
  t.is(e.compactedRevision, 7)
  const foreign = Object.assign(new Error('x'), { code: 'CTRL_ERR_STORE_EXISTS' })
  Object.defineProperty(foreign, Symbol.for('weft.StoreError'), { get: () => true })
  t.true(foreign instanceof StoreError)
  t.false(new Error('y') instanceof StoreError)
})
