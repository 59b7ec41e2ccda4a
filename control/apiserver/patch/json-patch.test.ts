/** RFC 6902 JSON patch: the RFC's Appendix A, then kube-apiserver's (evanphx/json-patch v4) choices. */
import test from 'ava'
import { PatchError } from './errors.js'
import type { Json, JsonObject } from './json.js'
import { applyJsonPatch, decodeJsonPatch, parsePointer } from './json-patch.js'

interface Row { name: string, doc: string, patch: string, result?: string, error?: string }

// RFC 6902 Appendix A (A.13, duplicate "op" members, cannot be told apart by JSON.parse and is left out).
const appendixA: Row[] = [
  { name: 'A.1 adding an object member', doc: '{"foo":"bar"}', patch: '[{"op":"add","path":"/baz","value":"qux"}]', result: '{"baz":"qux","foo":"bar"}' },
  { name: 'A.2 adding an array element', doc: '{"foo":["bar","baz"]}', patch: '[{"op":"add","path":"/foo/1","value":"qux"}]', result: '{"foo":["bar","qux","baz"]}' },
  { name: 'A.3 removing an object member', doc: '{"baz":"qux","foo":"bar"}', patch: '[{"op":"remove","path":"/baz"}]', result: '{"foo":"bar"}' },
  { name: 'A.4 removing an array element', doc: '{"foo":["bar","qux","baz"]}', patch: '[{"op":"remove","path":"/foo/1"}]', result: '{"foo":["bar","baz"]}' },
  { name: 'A.5 replacing a value', doc: '{"baz":"qux","foo":"bar"}', patch: '[{"op":"replace","path":"/baz","value":"boo"}]', result: '{"baz":"boo","foo":"bar"}' },
  {
    name: 'A.6 moving a value',
    doc: '{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}',
    patch: '[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]',
    result: '{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}'
  },
  { name: 'A.7 moving an array element', doc: '{"foo":["all","grass","cows","eat"]}', patch: '[{"op":"move","from":"/foo/1","path":"/foo/3"}]', result: '{"foo":["all","cows","eat","grass"]}' },
  {
    name: 'A.8 testing a value: success',
    doc: '{"baz":"qux","foo":["a",2,"c"]}',
    patch: '[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]',
    result: '{"baz":"qux","foo":["a",2,"c"]}'
  },
  { name: 'A.9 testing a value: error', doc: '{"baz":"qux"}', patch: '[{"op":"test","path":"/baz","value":"bar"}]', error: 'CTRL_ERR_PATCH_TEST_FAILED' },
  { name: 'A.10 adding a nested member object', doc: '{"foo":"bar"}', patch: '[{"op":"add","path":"/child","value":{"grandchild":{}}}]', result: '{"foo":"bar","child":{"grandchild":{}}}' },
  { name: 'A.11 ignoring unrecognized elements', doc: '{"foo":"bar"}', patch: '[{"op":"add","path":"/baz","value":"qux","xyz":123}]', result: '{"foo":"bar","baz":"qux"}' },
  { name: 'A.12 adding to a nonexistent target', doc: '{"foo":"bar"}', patch: '[{"op":"add","path":"/baz/bat","value":"qux"}]', error: 'CTRL_ERR_PATCH_OPERATION' },
  { name: 'A.14 ~ escape ordering', doc: '{"/":9,"~1":10}', patch: '[{"op":"test","path":"/~01","value":10}]', result: '{"/":9,"~1":10}' },
  { name: 'A.15 comparing strings and numbers', doc: '{"/":9,"~1":10}', patch: '[{"op":"test","path":"/~01","value":"10"}]', error: 'CTRL_ERR_PATCH_TEST_FAILED' },
  { name: 'A.16 adding an array value', doc: '{"foo":["bar"]}', patch: '[{"op":"add","path":"/foo/-","value":["abc","def"]}]', result: '{"foo":["bar",["abc","def"]]}' }
]

const kube: Row[] = [
  { name: 'copy deep-copies (a later change to the copy leaves the source)', doc: '{"a":{"b":1}}', patch: '[{"op":"copy","from":"/a","path":"/c"},{"op":"replace","path":"/c/b","value":2}]', result: '{"a":{"b":1},"c":{"b":2}}' },
  { name: 'negative index counts from the end (v4 SupportNegativeIndices)', doc: '{"l":[1,2,3]}', patch: '[{"op":"remove","path":"/l/-1"}]', result: '{"l":[1,2]}' },
  { name: 'index past the end', doc: '{"l":[1]}', patch: '[{"op":"add","path":"/l/2","value":0}]', error: 'CTRL_ERR_PATCH_OPERATION' },
  { name: 'index that is not a number', doc: '{"l":[1]}', patch: '[{"op":"replace","path":"/l/x","value":0}]', error: 'CTRL_ERR_PATCH_OPERATION' },
  { name: 'add without value adds null', doc: '{}', patch: '[{"op":"add","path":"/a"}]', result: '{"a":null}' },
  { name: 'test of a missing member against null succeeds', doc: '{}', patch: '[{"op":"test","path":"/a","value":null}]', result: '{}' },
  { name: 'test compares objects structurally', doc: '{"a":{"x":1,"y":[1,2]}}', patch: '[{"op":"test","path":"/a","value":{"y":[1,2],"x":1}}]', result: '{"a":{"x":1,"y":[1,2]}}' },
  { name: 'replace of a missing member', doc: '{}', patch: '[{"op":"replace","path":"/a","value":1}]', error: 'CTRL_ERR_PATCH_OPERATION' },
  { name: 'remove of a missing member', doc: '{}', patch: '[{"op":"remove","path":"/a"}]', error: 'CTRL_ERR_PATCH_OPERATION' },
  { name: 'unknown op', doc: '{}', patch: '[{"op":"frob","path":"/a"}]', error: 'CTRL_ERR_PATCH_OPERATION' },
  { name: 'missing path', doc: '{}', patch: '[{"op":"add","value":1}]', error: 'CTRL_ERR_PATCH_OPERATION' },
  { name: 'path without leading slash', doc: '{}', patch: '[{"op":"add","path":"a","value":1}]', error: 'CTRL_ERR_PATCH_OPERATION' },
  { name: 'move into its own child', doc: '{"a":{"b":{}}}', patch: '[{"op":"move","from":"/a","path":"/a/b/c"}]', error: 'CTRL_ERR_PATCH_OPERATION' },
  { name: 'the empty pointer is the whole document', doc: '{"a":1}', patch: '[{"op":"replace","path":"","value":{"b":2}}]', result: '{"b":2}' },
  { name: 'a failing operation fails the whole patch', doc: '{"a":1}', patch: '[{"op":"add","path":"/b","value":2},{"op":"test","path":"/a","value":2}]', error: 'CTRL_ERR_PATCH_TEST_FAILED' }
]

for (const row of [...appendixA, ...kube]) {
  test(`json patch: ${row.name}`, (t) => {
    const doc = JSON.parse(row.doc) as Json
    const ops = decodeJsonPatch(JSON.parse(row.patch))
    if (row.error !== undefined) {
      const err = t.throws(() => applyJsonPatch(doc, ops))
      t.true(err instanceof PatchError)
      t.is((err as PatchError).code as string, row.error)
      t.is((err as PatchError).status, 422)
    } else {
      t.deepEqual(applyJsonPatch(doc, ops), JSON.parse(row.result as string))
    }
    t.deepEqual(doc, JSON.parse(row.doc), 'document untouched')
  })
}

test('json patch: the test failure reads like kube-apiserver\'s', (t) => {
  const err = t.throws(() => applyJsonPatch({ spec: { replicas: 2 } }, decodeJsonPatch([{ op: 'test', path: '/spec/replicas', value: 3 }]))) as PatchError
  t.is(err.message, 'the server rejected our request due to an error in our request')
  t.deepEqual(err.causes, [{ type: 'UnexpectedServerResponse', message: 'testing value /spec/replicas failed: test failed' }])
})

test('json patch: the body must be an array of objects (400), at most 10000 of them (413)', (t) => {
  for (const body of [{}, 'x', null, [1], [[]]]) {
    const err = t.throws(() => decodeJsonPatch(body)) as PatchError
    t.is(err.code, 'CTRL_ERR_PATCH_MALFORMED')
    t.is(err.status, 400)
  }
  const many: JsonObject[] = Array.from({ length: 10001 }, () => ({ op: 'test', path: '', value: {} }))
  const err = t.throws(() => decodeJsonPatch(many)) as PatchError
  t.is(err.code, 'CTRL_ERR_PATCH_TOO_LARGE')
  t.is(err.status, 413)
  t.is(decodeJsonPatch(many.slice(1)).length, 10000)
})

test('json patch: pointers unescape ~1 before ~0 (RFC 6901 §4)', (t) => {
  t.deepEqual(parsePointer('/a~1b/m~0n/~01'), ['a/b', 'm~n', '~1'])
  t.deepEqual(parsePointer(''), [])
  t.deepEqual(parsePointer('/'), [''])
})

test('json patch: messages use evanphx/json-patch v4 wording', (t) => {
  const detail = (doc: Json, ops: unknown): string =>
    ((t.throws(() => applyJsonPatch(doc, decodeJsonPatch(ops))) as PatchError).causes?.[0]?.message ?? '')
  t.is(detail({}, [{ op: 'add', path: '/a/b', value: 1 }]), 'add operation does not apply: doc is missing path: "/a/b": missing value')
  t.is(detail({}, [{ op: 'replace', path: '/a', value: 1 }]), 'replace operation does not apply: doc is missing key: /a: missing value')
  t.is(detail({}, [{ op: 'remove', path: '/a' }]), "error in remove for path: '/a': Unable to remove nonexistent key: a: missing value")
  t.is(detail({ l: [] }, [{ op: 'add', path: '/l/3', value: 1 }]), 'Unable to access invalid index: 3: invalid index referenced')
  t.is(detail({}, [{ op: 'jump', path: '/a' }]), 'Unexpected kind: jump')
})
