/**
 * Adds to the fuzz corpus (../testdata). Run from the project root after `npx tsc -p .`:
 *
 *   node dist/routing/bgp/codec/testing/seed-corpus.js                  # the wire and malformed fixtures
 *   node dist/routing/bgp/codec/testing/seed-corpus.js fuzz 200000      # a mutation campaign: keeps one input per
 *                                                                        # outcome not yet in the corpus
 *   node dist/routing/bgp/codec/testing/seed-corpus.js add <hex> [opts] # one input, e.g. a crasher once fixed
 *
 * Existing entries are never rewritten: a changed outcome is for corpus.test.ts to report.
 */
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import fc from 'fast-check'
import { encodeMessage } from '../message.js'
import type { CodecOptions } from '../options.js'
import { codecOptions, message } from './arbitraries.js'
import { corpusDir, manifestPath, outcomeOf, readManifest } from './corpus.js'
import type { Manifest } from './corpus.js'
import { hex, hexOf } from './assert-codec.js'
import { capturedFixtures, malformedFixtures, wireFixtures } from './fixtures.js'

function slug (s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60)
}

function sha (b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex').slice(0, 12)
}

function add (manifest: Manifest, file: string, bytes: Uint8Array, opts: CodecOptions, note: string): boolean {
  const known = Object.entries(manifest).find(([f]) => fs.existsSync(path.join(corpusDir, f)) && hexOf(fs.readFileSync(path.join(corpusDir, f))) === hexOf(bytes))
  if (known !== undefined || manifest[file] !== undefined) return false
  fs.writeFileSync(path.join(corpusDir, file), bytes)
  manifest[file] = { note, opts, outcome: outcomeOf(bytes, opts) }
  return true
}

function save (manifest: Manifest): void {
  const sorted = Object.fromEntries(Object.keys(manifest).sort().map((k) => [k, manifest[k]]))
  fs.writeFileSync(manifestPath, JSON.stringify(sorted, null, 2) + '\n')
}

function mutate (b: Uint8Array, edits: Array<{ at: number, kind: string, byte: number }>): Uint8Array {
  const out = [...b]
  for (const e of edits) {
    const at = 19 + (e.at % Math.max(1, out.length - 19))
    if (e.kind === 'set') out[at] = e.byte
    else if (e.kind === 'insert') out.splice(at, 0, e.byte)
    else if (out.length > 19) out.splice(at, 1)
  }
  out[16] = (out.length >> 8) & 0xff
  out[17] = out.length & 0xff
  return Uint8Array.from(out)
}

function main (argv: string[]): void {
  fs.mkdirSync(corpusDir, { recursive: true })
  const manifest: Manifest = fs.existsSync(manifestPath) ? readManifest() : {}
  let added = 0
  if (argv[0] === 'add') {
    const bytes = hex(argv[1] ?? '')
    const opts = JSON.parse(argv[2] ?? '{}') as CodecOptions
    if (add(manifest, `fuzz-${sha(bytes)}.bin`, bytes, opts, argv[3] ?? 'added by hand')) added++
  } else if (argv[0] === 'fuzz') {
    const runs = Number(argv[1] ?? 100000)
    // One input per class: the outcome with its error codes deduplicated and sorted, so the corpus grows with new
    // behaviour rather than with new orders of the same errors.
    const klass = (outcome: string): string => {
      const [kind, verdict, codes] = outcome.split(' ')
      return kind === 'update' ? `${kind} ${verdict ?? ''} ${[...new Set((codes ?? '').split('+'))].sort().join('+')}` : outcome
    }
    const seen = new Set(Object.values(manifest).map((e) => klass(e.outcome)))
    const edit = fc.record({ at: fc.nat(), kind: fc.constantFrom('set', 'insert', 'delete'), byte: fc.integer({ min: 0, max: 255 }) })
    const arb = codecOptions.chain((opts) => fc.tuple(fc.constant(opts), message(opts), fc.array(edit, { minLength: 1, maxLength: 4 })))
    for (let i = 0; i < runs; i += 1000) {
      for (const [opts, m, edits] of fc.sample(arb, 1000)) {
        const bytes = mutate(encodeMessage(m, opts), edits)
        let outcome: string
        try {
          outcome = outcomeOf(bytes, opts)
        } catch (err) {
          // A crasher: keep it so the test fails until it is fixed.
          fs.writeFileSync(path.join(corpusDir, `crasher-${sha(bytes)}.bin`), bytes)
          console.error(`crasher (${String(err)}): ${hexOf(bytes)} ${JSON.stringify(opts)}`)
          continue
        }
        if (seen.has(klass(outcome))) continue
        seen.add(klass(outcome))
        if (add(manifest, `fuzz-${sha(bytes)}.bin`, bytes, opts, `mutation fuzzing: first input with this outcome`)) added++
      }
    }
  } else {
    for (const f of capturedFixtures) if (add(manifest, `${slug(f.name)}.bin`, f.bytes, f.opts ?? {}, f.name)) added++
    for (const f of wireFixtures) if (add(manifest, `wire-${slug(f.name)}.bin`, f.bytes, f.opts ?? {}, f.name)) added++
    for (const f of malformedFixtures) if (add(manifest, `malformed-${slug(f.name)}.bin`, f.bytes, f.opts ?? {}, f.name)) added++
  }
  save(manifest)
  console.log(`${added} added, ${Object.keys(manifest).length} in the corpus`)
}

main(process.argv.slice(2))
