/** control/kubelet/errors.ts and the "Kubelet errors" table of docs/errors.md agree in both directions. */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { KubeletError, kubeletErrorCodes } from './errors.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

function documented (): string[] {
  const text = fs.readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8')
  const section = text.split(/^## /m).find((s) => s.startsWith('Kubelet errors'))
  if (section === undefined) throw new Error('docs/errors.md has no "## Kubelet errors" section')
  const codes: string[] = []
  for (const line of section.split('\n')) {
    const m = /^\| `(KUBELET_ERR_[A-Z_]+)` \| (.+) \| (.+) \|$/.exec(line)
    if (m !== null) codes.push(m[1] as string)
  }
  return codes
}

test('docs/errors.md documents exactly the codes of kubeletErrorCodes, each once', (t) => {
  const docs = documented()
  t.deepEqual([...docs].sort(), Object.keys(kubeletErrorCodes).sort())
  t.is(new Set(docs).size, docs.length)
})

test('KubeletError keeps its code and survives a second bundled copy for instanceof', (t) => {
  const e = new KubeletError('KUBELET_ERR_IMAGE', 'nginx')
  t.is(e.code, 'KUBELET_ERR_IMAGE')
  t.true(e instanceof KubeletError)
  const foreign = Object.assign(new Error('x'), { code: 'KUBELET_ERR_CNI' })
  Object.defineProperty(foreign, Symbol.for('weft.KubeletError'), { get: () => true })
  t.true(foreign instanceof KubeletError)
  t.false(new Error('y') instanceof KubeletError)
})
