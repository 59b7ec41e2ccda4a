/** control/apiserver/auth/errors.ts and the "API server auth errors" table of docs/errors.md agree in both directions. */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { AuthError, authErrorCodes } from './errors.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')

test('docs/errors.md documents exactly the codes of authErrorCodes, each once', (t) => {
  const text = fs.readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8')
  const section = text.split(/^## /m).find((s) => s.startsWith('API server auth errors'))
  if (section === undefined) { t.fail('docs/errors.md has no "## API server auth errors" section'); return }
  const codes = [...section.matchAll(/^\| `(CTRL_ERR_[A-Z_]+)` \| .+ \| .+ \|$/gm)].map((m) => m[1] as string)
  t.deepEqual([...codes].sort(), Object.keys(authErrorCodes).sort())
  t.is(new Set(codes).size, codes.length)
})

test('AuthError carries its code, path and status, and survives a second bundled copy for instanceof', (t) => {
  const e = new AuthError('CTRL_ERR_AUTH_REQUEST', 'nope', { httpStatus: 405, path: '/x' })
  t.is(e.code, 'CTRL_ERR_AUTH_REQUEST')
  t.is(e.httpStatus, 405)
  t.is(e.path, '/x')
  t.is(e.name, 'AuthError')
  const foreign = Object.assign(new Error('x'), { code: 'CTRL_ERR_AUTH_IO' })
  Object.defineProperty(foreign, Symbol.for('weft.AuthError'), { get: () => true })
  t.true(foreign instanceof AuthError)
  t.false(new Error('y') instanceof AuthError)
})
