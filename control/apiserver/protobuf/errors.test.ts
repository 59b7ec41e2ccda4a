/** control/apiserver/protobuf/errors.ts and the "API server protobuf errors" table of docs/errors.md agree in both directions. */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ProtobufError, protobufErrorCodes } from './errors.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')

function documented (): string[] {
  const text = fs.readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8')
  const section = text.split(/^## /m).find((s) => s.startsWith('API server protobuf errors'))
  if (section === undefined) throw new Error('docs/errors.md has no "## API server protobuf errors" section')
  const codes: string[] = []
  for (const line of section.split('\n')) {
    const m = /^\| `(CTRL_ERR_PROTO_[A-Z_]+)` \| (.+) \| (.+) \|$/.exec(line)
    if (m !== null) codes.push(m[1] as string)
  }
  return codes
}

test('docs/errors.md documents exactly the codes of protobufErrorCodes, each once', (t) => {
  const docs = documented()
  t.deepEqual([...docs].sort(), Object.keys(protobufErrorCodes).sort())
  t.is(new Set(docs).size, docs.length)
})

test('ProtobufError keeps its code, is a 400, and survives a second bundled copy for instanceof', (t) => {
  const e = new ProtobufError('CTRL_ERR_PROTO_MALFORMED', 'truncated varint')
  t.is(e.code, 'CTRL_ERR_PROTO_MALFORMED')
  t.is(e.status, 400)
  t.true(e instanceof ProtobufError)
  const foreign = Object.assign(new Error('x'), { code: 'CTRL_ERR_PROTO_VALUE' })
  Object.defineProperty(foreign, Symbol.for('weft.ProtobufError'), { get: () => true })
  t.true(foreign instanceof ProtobufError)
  t.false(new Error('y') instanceof ProtobufError)
})
