/**
 * STYLE.md convention 1: a component's `index.ts` is its only public surface.
 * Code may import another component only through its `index.js` (tests also
 * through `testing/index.js`); deep imports across components fail here.
 */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { repoRoot } from './harness/index.js'

const roots = ['kernel', 'cni', 'control', 'e2e', 'proxy', 'routing']

/** 'kernel' is one component; elsewhere each first-level folder is (cni/bridge, control/cli, e2e/harness, ...). */
function componentOf (rel: string): string {
  const parts = rel.split(path.sep)
  if (parts[0] === 'kernel') return 'kernel'
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : (parts[0] as string)
}

function sources (dir: string): string[] {
  const out: string[] = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...sources(p))
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

test('no deep imports across components', (t) => {
  const offences: string[] = []
  let checked = 0
  for (const r of roots) {
    const dir = path.join(repoRoot, r)
    if (!fs.existsSync(dir)) continue
    for (const file of sources(dir)) {
      const rel = path.relative(repoRoot, file)
      const isTest = file.endsWith('.test.ts')
      const text = fs.readFileSync(file, 'utf8')
      for (const m of text.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
        const spec = m[1] as string
        const target = path.relative(repoRoot, path.resolve(path.dirname(file), spec))
        checked++
        if (componentOf(target) === componentOf(rel)) continue
        const ok = target.endsWith(`${path.sep}index.js`) &&
          (path.dirname(target) === componentOf(target) || (isTest && path.dirname(target) === path.join(componentOf(target), 'testing')))
        if (!ok) offences.push(`${rel}: ${spec}`)
      }
    }
  }
  t.true(checked > 50, `only ${checked} imports seen: is the source tree where the test expects it?`)
  t.deepEqual(offences, [])
})
