/** proxy/tracker/errors.ts and the "Proxy errors" table of docs/errors.md agree in both directions. */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ProxyError, proxyErrorCodes } from './errors.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

function documented (): string[] {
  const text = fs.readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8')
  const section = text.split(/^## /m).find((s) => s.startsWith('Proxy errors'))
  if (section === undefined) throw new Error('docs/errors.md has no "## Proxy errors" section')
  const codes: string[] = []
  for (const line of section.split('\n')) {
    const m = /^\| `(PROXY_ERR_[A-Z_]+)` \| (.+) \| (.+) \|$/.exec(line)
    if (m !== null) codes.push(m[1] as string)
  }
  return codes
}

test('docs/errors.md documents exactly the codes of proxyErrorCodes, each once', (t) => {
  const docs = documented()
  t.deepEqual([...docs].sort(), Object.keys(proxyErrorCodes).sort())
  t.is(new Set(docs).size, docs.length)
})

test('ProxyError keeps its code and survives a second bundled copy for instanceof', (t) => {
  const e = new ProxyError('PROXY_ERR_CONFIG', 'bad mode')
  t.is(e.code, 'PROXY_ERR_CONFIG')
  t.true(e instanceof ProxyError)
  const foreign = Object.assign(new Error('x'), { code: 'PROXY_ERR_SYNC' })
  Object.defineProperty(foreign, Symbol.for('weft.ProxyError'), { get: () => true })
  t.true(foreign instanceof ProxyError)
  t.false(new Error('y') instanceof ProxyError)
})
