/** RFC 7386 JSON merge patch: the RFC's Appendix A, then the inverse (createMergePatch). */
import test from 'ava'
import type { Json } from './json.js'
import { createMergePatch, mergePatch } from './merge-patch.js'

// RFC 7386 Appendix A, row by row: ORIGINAL, PATCH, RESULT.
const appendixA: Array<[string, string, string]> = [
  ['{"a":"b"}', '{"a":"c"}', '{"a":"c"}'],
  ['{"a":"b"}', '{"b":"c"}', '{"a":"b","b":"c"}'],
  ['{"a":"b"}', '{"a":null}', '{}'],
  ['{"a":"b","b":"c"}', '{"a":null}', '{"b":"c"}'],
  ['{"a":["b"]}', '{"a":"c"}', '{"a":"c"}'],
  ['{"a":"c"}', '{"a":["b"]}', '{"a":["b"]}'],
  ['{"a":{"b":"c"}}', '{"a":{"b":"d","c":null}}', '{"a":{"b":"d"}}'],
  ['{"a":[{"b":"c"}]}', '{"a":[1]}', '{"a":[1]}'],
  ['["a","b"]', '["c","d"]', '["c","d"]'],
  ['{"a":"b"}', '["c"]', '["c"]'],
  ['{"a":"foo"}', 'null', 'null'],
  ['{"a":"foo"}', '"bar"', '"bar"'],
  ['{"e":null}', '{"a":1}', '{"e":null,"a":1}'],
  ['[1,2]', '{"a":"b","c":null}', '{"a":"b"}'],
  ['{}', '{"a":{"bb":{"ccc":null}}}', '{"a":{"bb":{}}}']
]

for (const [original, patch, result] of appendixA) {
  test(`RFC 7386 A: ${original} + ${patch} = ${result}`, (t) => {
    const target = JSON.parse(original) as Json
    t.deepEqual(mergePatch(target, JSON.parse(patch) as Json), JSON.parse(result))
    t.deepEqual(target, JSON.parse(original), 'target untouched')
  })
}

test('merge patch: nulls inside arrays are values, not deletions', (t) => {
  t.deepEqual(mergePatch({ a: 1 }, { l: [null, { x: null }] }), { a: 1, l: [null, { x: null }] })
})

test('merge patch: a __proto__ member is a plain member', (t) => {
  const out = mergePatch({}, JSON.parse('{"__proto__":{"polluted":true}}') as Json) as Record<string, unknown>
  t.true(Object.prototype.hasOwnProperty.call(out, '__proto__'))
  t.is(({} as Record<string, unknown>).polluted, undefined)
  t.is(Object.getPrototypeOf(out), Object.prototype)
})

test('createMergePatch: deletions become null, unchanged members are left out', (t) => {
  t.deepEqual(createMergePatch({ a: 1, b: { c: 2, d: 3 }, e: [1] }, { b: { c: 2, d: 4 }, e: [1], f: 'x' }),
    { a: null, b: { d: 4 }, f: 'x' })
})
