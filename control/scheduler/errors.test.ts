/** control/scheduler/errors.ts and the "Scheduler errors" table of docs/errors.md agree in both directions. */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { SchedulerError, schedulerErrorCodes } from './errors.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

function documented (): string[] {
  const text = fs.readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8')
  const section = text.split(/^## /m).find((s) => s.startsWith('Scheduler errors'))
  if (section === undefined) throw new Error('docs/errors.md has no "## Scheduler errors" section')
  const codes: string[] = []
  for (const line of section.split('\n')) {
    const m = /^\| `(SCHED_ERR_[A-Z_]+)` \| (.+) \| (.+) \|$/.exec(line)
    if (m !== null) codes.push(m[1] as string)
  }
  return codes
}

test('docs/errors.md documents exactly the codes of schedulerErrorCodes, each once', (t) => {
  const docs = documented()
  t.deepEqual([...docs].sort(), Object.keys(schedulerErrorCodes).sort())
  t.is(new Set(docs).size, docs.length)
})

test('SchedulerError keeps its code and survives a second bundled copy for instanceof', (t) => {
  const e = new SchedulerError('SCHED_ERR_BIND', 'x')
  t.is(e.code, 'SCHED_ERR_BIND')
  t.true(e instanceof SchedulerError)
  t.false(new Error('y') instanceof SchedulerError)
})
