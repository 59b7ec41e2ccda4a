/**
 * Replays the fuzz-regression corpus (testdata/*.bin, testdata/manifest.json): every input keeps the outcome it
 * was recorded with, and none throws anything but BgpMessageError.
 */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { corpusDir, outcomeOf, readManifest } from './testing/corpus.js'
import { hexOf } from './testing/assert-codec.js'
import { capturedFixtures, malformedFixtures, wireFixtures } from './testing/fixtures.js'

const manifest = readManifest()
const files = fs.readdirSync(corpusDir).filter((f) => f.endsWith('.bin')).sort()

test('the manifest and the .bin files list the same inputs', (t) => {
  t.deepEqual(files, Object.keys(manifest).sort())
  t.true(files.length >= capturedFixtures.length + wireFixtures.length + malformedFixtures.length)
})

test('every fixture is in the corpus (run testing/seed-corpus.js after adding one)', (t) => {
  const contents = new Set(files.map((f) => hexOf(fs.readFileSync(path.join(corpusDir, f)))))
  for (const f of [...capturedFixtures, ...wireFixtures, ...malformedFixtures]) t.true(contents.has(hexOf(f.bytes)), f.name)
})

for (const file of files) {
  test(`corpus: ${file}`, (t) => {
    const entry = manifest[file]
    if (entry === undefined) return t.fail('not in the manifest')
    const bytes = new Uint8Array(fs.readFileSync(path.join(corpusDir, file)))
    t.is(outcomeOf(bytes, entry.opts), entry.outcome, entry.note)
  })
}
