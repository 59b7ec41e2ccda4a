/** control/apiserver/patch/errors.ts and the "API server patch errors" table of docs/errors.md agree in both directions. */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { PatchError, patchErrorCodes } from './errors.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')

test('docs/errors.md documents exactly the codes of patchErrorCodes, each once, with their status', (t) => {
  const text = fs.readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8')
  const section = text.split(/^## /m).find((s) => s.startsWith('API server patch errors'))
  if (section === undefined) { t.fail('docs/errors.md has no "## API server patch errors" section'); return }
  const rows = [...section.matchAll(/^\| `(CTRL_ERR_PATCH_[A-Z_]+)` \| (.+) \| .+ \|$/gm)]
  const codes = rows.map((m) => m[1] as string)
  t.deepEqual([...codes].sort(), Object.keys(patchErrorCodes).sort())
  t.is(new Set(codes).size, codes.length)
  for (const m of rows) {
    const { status, reason } = patchErrorCodes[m[1] as keyof typeof patchErrorCodes]
    t.true((m[2] as string).includes(`${status} ${reason}`), `${m[1] as string} row names ${status} ${reason}`)
  }
})

test('PatchError carries code, status and reason, renders a Status, and survives a second bundled copy', (t) => {
  const e = new PatchError('CTRL_ERR_PATCH_TEST_FAILED', 'the server rejected our request due to an error in our request', {
    causes: [{ type: 'UnexpectedServerResponse', message: 'testing value /a failed: test failed' }]
  })
  t.is(e.status, 422)
  t.is(e.reason, 'Invalid')
  t.deepEqual(e.toStatus(), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'the server rejected our request due to an error in our request',
    reason: 'Invalid',
    details: { causes: [{ type: 'UnexpectedServerResponse', message: 'testing value /a failed: test failed' }] },
    code: 422
  })
  const foreign = Object.assign(new Error('x'), { code: 'CTRL_ERR_PATCH_MALFORMED' })
  Object.defineProperty(foreign, Symbol.for('weft.PatchError'), { get: () => true })
  t.true(foreign instanceof PatchError)
  t.false(new Error('y') instanceof PatchError)
})
