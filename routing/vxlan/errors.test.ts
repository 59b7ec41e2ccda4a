/** routing/vxlan/errors.ts and the "VXLAN errors" table of docs/errors.md agree in both directions. */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { VxlanError, vxlanErrorCodes } from './errors.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

function documented (): string[] {
  const text = fs.readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8')
  const section = text.split(/^## /m).find((s) => s.startsWith('VXLAN errors'))
  if (section === undefined) throw new Error('docs/errors.md has no "## VXLAN errors" section')
  const codes: string[] = []
  for (const line of section.split('\n')) {
    const m = /^\| `(VXLAN_ERR_[A-Z_]+)` \| (.+) \| (.+) \|$/.exec(line)
    if (m !== null) codes.push(m[1] as string)
  }
  return codes
}

test('docs/errors.md documents exactly the codes of vxlanErrorCodes, each once', (t) => {
  const docs = documented()
  t.deepEqual([...docs].sort(), Object.keys(vxlanErrorCodes).sort())
  t.is(new Set(docs).size, docs.length)
})

test('VxlanError keeps its code and survives a second bundled copy for instanceof', (t) => {
  const e = new VxlanError('VXLAN_ERR_UNDERLAY', 'no eth9')
  t.is(e.code, 'VXLAN_ERR_UNDERLAY')
  t.true(e instanceof VxlanError)
  const foreign = Object.assign(new Error('x'), { code: 'VXLAN_ERR_LEASE' })
  Object.defineProperty(foreign, Symbol.for('weft.VxlanError'), { get: () => true })
  t.true(foreign instanceof VxlanError)
  t.false(new Error('y') instanceof VxlanError)
})
