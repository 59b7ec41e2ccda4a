/** control/controllers/errors.ts and the "Controller-manager errors" table of docs/errors.md agree in both directions. */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ControllerError, controllerErrorCodes } from './errors.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

test('docs/errors.md documents exactly the codes of controllerErrorCodes, each once', (t) => {
  const text = fs.readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8')
  const section = text.split(/^## /m).find((s) => s.startsWith('Controller-manager errors'))
  if (section === undefined) { t.fail('docs/errors.md has no "## Controller-manager errors" section'); return }
  const codes = [...section.matchAll(/^\| `(CTRL_ERR_[A-Z_]+)` \| .+ \| .+ \|$/gm)].map((m) => m[1] as string)
  t.deepEqual([...codes].sort(), Object.keys(controllerErrorCodes).sort())
  t.is(new Set(codes).size, codes.length)
})

test('ControllerError carries its code and survives a second bundled copy for instanceof', (t) => {
  const e = new ControllerError('CTRL_ERR_CONTROLLERS_CIDR_EXHAUSTED', 'full')
  t.is(e.code, 'CTRL_ERR_CONTROLLERS_CIDR_EXHAUSTED')
  const foreign = Object.assign(new Error('x'), { code: 'CTRL_ERR_CONTROLLERS_INVALID_CIDR' })
  Object.defineProperty(foreign, Symbol.for('weft.ControllerError'), { get: () => true })
  t.true(foreign instanceof ControllerError)
  t.false(new Error('y') instanceof ControllerError)
})
