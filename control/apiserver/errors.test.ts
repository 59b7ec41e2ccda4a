/** control/apiserver/errors.ts and the "API server errors" table of docs/errors.md agree in both directions. */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ApiError, apiErrorCodes, invalid } from './errors.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

test('docs/errors.md documents exactly the codes of apiErrorCodes with their reason and HTTP code', (t) => {
  const text = fs.readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8')
  const section = text.split(/^## /m).find((s) => s.startsWith('API server errors'))
  if (section === undefined) { t.fail('docs/errors.md has no "## API server errors" section'); return }
  const rows = [...section.matchAll(/^\| `(CTRL_ERR_API_[A-Z_]+)` \| (\w+) \| (\d+) \| .+ \| .+ \|$/gm)]
  t.deepEqual(rows.map((m) => m[1]).sort(), Object.keys(apiErrorCodes).sort())
  for (const m of rows) {
    const spec = apiErrorCodes[m[1] as keyof typeof apiErrorCodes]
    t.is(m[2], spec.reason, m[1])
    t.is(Number(m[3]), spec.status, m[1])
  }
})

test('an ApiError is a Status object in kube-apiserver\'s shape', (t) => {
  const e = invalid('Pod', '', 'web', [{ type: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' }])
  t.deepEqual(e.toStatus(), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'Pod "web" is invalid: spec.containers: Required value',
    reason: 'Invalid',
    details: { name: 'web', group: '', kind: 'Pod', causes: [{ type: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' }] },
    code: 422
  })
  const foreign = Object.assign(new Error('x'), { code: 'CTRL_ERR_API_INTERNAL' })
  Object.defineProperty(foreign, Symbol.for('weft.ApiError'), { get: () => true })
  t.true(foreign instanceof ApiError)
  t.false(new Error('y') instanceof ApiError)
})
