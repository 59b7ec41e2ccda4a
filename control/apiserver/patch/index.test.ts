/**
 * applyPatch: media-type dispatch, kube-apiserver's statuses for bad bodies,
 * server-side apply bodies, and fast-check properties (a merge patch of a diff
 * reproduces the target; no input escapes as anything but PatchError; the
 * original object is never mutated).
 */
import test from 'ava'
import fc from 'fast-check'
import { PatchError, applyPatch, createMergePatch, mergePatch, patchMediaType, patchMediaTypesFor, strategicMergePatch } from './index.js'
import type { Json, JsonObject } from './json.js'

const podGvk = { apiVersion: 'v1', kind: 'Pod' }
const crdGvk = { apiVersion: 'example.com/v1', kind: 'Widget' }
const pod = (): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'default', labels: { app: 'web' }, finalizers: ['a'] },
  spec: { containers: [{ name: 'c', image: 'busybox:1.35', ports: [{ containerPort: 80 }] }], tolerations: [{ key: 'k', operator: 'Exists' }] }
})

function patchError (t: import('ava').ExecutionContext, fn: () => unknown): PatchError {
  const err = t.throws(fn)
  t.true(err instanceof PatchError, String(err))
  return err as PatchError
}

test('dispatch: each media type, parameters ignored, bytes or text', (t) => {
  const enc = new TextEncoder()
  t.deepEqual((applyPatch('application/merge-patch+json', pod(), '{"metadata":{"labels":{"app":null}}}', podGvk).metadata as JsonObject).labels, {})
  t.is((applyPatch('application/json-patch+json; charset=utf-8', pod(), enc.encode('[{"op":"replace","path":"/metadata/name","value":"x"}]'), podGvk).metadata as JsonObject).name, 'x')
  const smp = applyPatch('Application/Strategic-Merge-Patch+JSON', pod(), '{"metadata":{"finalizers":["b"]}}', podGvk)
  t.deepEqual((smp.metadata as JsonObject).finalizers, ['b', 'a'])
  const merged = applyPatch('application/merge-patch+json', pod(), '{"metadata":{"finalizers":["b"]}}', podGvk)
  t.deepEqual((merged.metadata as JsonObject).finalizers, ['b'], 'a merge patch replaces lists')
})

test('unsupported media types are 415 with the accepted list; SMP is not offered for kinds without patch metadata', (t) => {
  const err = patchError(t, () => applyPatch('application/json', pod(), '{}', podGvk))
  t.is(err.code, 'CTRL_ERR_PATCH_UNSUPPORTED_MEDIA_TYPE')
  t.is(err.status, 415)
  t.is(err.reason, 'UnsupportedMediaType')
  t.is(err.message, 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json')
  const crd = patchError(t, () => applyPatch('application/strategic-merge-patch+json', { spec: {} }, '{}', crdGvk))
  t.is(crd.status, 415)
  t.false(patchMediaTypesFor(crdGvk).includes('application/strategic-merge-patch+json'))
  t.deepEqual(applyPatch('application/merge-patch+json', { spec: { a: 1 } }, '{"spec":{"b":2}}', crdGvk), { spec: { a: 1, b: 2 } })
  t.is(patchMediaType(' application/apply-patch+yaml ; charset=utf-8'), 'application/apply-patch+yaml')
})

test('bad bodies: undecodable is 400, a non-object result is 422 (as kube-apiserver answers)', (t) => {
  const cases: Array<[string, string, number, string]> = [
    ['application/json-patch+json', '{', 400, 'CTRL_ERR_PATCH_MALFORMED'],
    ['application/json-patch+json', '{"op":"add"}', 400, 'CTRL_ERR_PATCH_MALFORMED'],
    ['application/json-patch+json', '[{"op":"replace","path":"","value":[1]}]', 422, 'CTRL_ERR_PATCH_INVALID_RESULT'],
    ['application/merge-patch+json', 'null', 400, 'CTRL_ERR_PATCH_MALFORMED'],
    ['application/merge-patch+json', '"bar"', 400, 'CTRL_ERR_PATCH_MALFORMED'],
    ['application/merge-patch+json', '[1]', 422, 'CTRL_ERR_PATCH_INVALID_RESULT'],
    ['application/merge-patch+json', '', 400, 'CTRL_ERR_PATCH_MALFORMED'],
    ['application/strategic-merge-patch+json', '[1]', 400, 'CTRL_ERR_PATCH_MALFORMED'],
    ['application/strategic-merge-patch+json', '{"spec":{"containers":[{"image":"x"}]}}', 500, 'CTRL_ERR_PATCH_MERGE'],
    ['application/strategic-merge-patch+json', '{"metadata":{"$retainKeys":"name"}}', 400, 'CTRL_ERR_PATCH_DIRECTIVE'],
    ['application/apply-patch+yaml', 'a: [', 400, 'CTRL_ERR_PATCH_MALFORMED'],
    ['application/apply-patch+yaml', '- 1', 400, 'CTRL_ERR_PATCH_MALFORMED'],
    ['application/apply-patch+yaml', 'a: 1\na: 2', 400, 'CTRL_ERR_PATCH_MALFORMED']
  ]
  for (const [type, body, status, code] of cases) {
    const err = patchError(t, () => applyPatch(type, pod(), body, podGvk))
    t.is(err.status, status, `${type} ${body}`)
    t.is(err.code as string, code, `${type} ${body}`)
    t.is(err.toStatus().code, status)
  }
  const invalid = patchError(t, () => applyPatch('application/merge-patch+json', pod(), '[1]', podGvk))
  t.is(invalid.reason, 'Invalid')
  t.deepEqual(invalid.causes?.map((c) => c.field), ['patch'])
})

test('SMP: a null body changes nothing', (t) => {
  t.deepEqual(applyPatch('application/strategic-merge-patch+json', pod(), 'null', podGvk), pod())
})

test('apply (application/apply-patch+yaml): YAML or JSON applied config merged with SMP semantics', (t) => {
  const yamlBody = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {tier: front}
spec:
  containers:
  - name: side
    image: busybox
`
  const got = applyPatch('application/apply-patch+yaml', pod(), yamlBody, podGvk)
  t.deepEqual((got.metadata as JsonObject).labels, { app: 'web', tier: 'front' })
  t.deepEqual((got.spec as JsonObject).containers, [
    { name: 'side', image: 'busybox' },
    { name: 'c', image: 'busybox:1.35', ports: [{ containerPort: 80 }] }
  ])
  const json = applyPatch('application/apply-patch+yaml', pod(), '{"spec":{"tolerations":[]}}', podGvk)
  t.deepEqual((json.spec as JsonObject).tolerations, [])
  // Kinds without patch metadata (custom resources) get plain map merging and atomic lists.
  t.deepEqual(applyPatch('application/apply-patch+yaml', { spec: { l: [1], m: { a: 1 } } }, 'spec: {l: [2], m: {b: 2}}', crdGvk),
    { spec: { l: [2], m: { a: 1, b: 2 } } })
})

test('pathologically deep bodies are refused as malformed (400), not a crash', (t) => {
  const depth = 50000
  const deep = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
  const bodies: Array<[string, string]> = [
    ['application/merge-patch+json', deep],
    ['application/strategic-merge-patch+json', deep],
    ['application/apply-patch+yaml', deep],
    ['application/json-patch+json', `[{"op":"add","path":"/a","value":${deep}}]`]
  ]
  for (const [type, body] of bodies) {
    const err = patchError(t, () => applyPatch(type, pod(), body, podGvk))
    t.is(err.code, 'CTRL_ERR_PATCH_MALFORMED', type)
  }
})

// ---- properties ----

const key = fc.constantFrom('a', 'b', 'c', 'name', 'metadata', 'spec', '__proto__', 'x.y', '')
const scalar = fc.oneof(fc.string({ maxLength: 4 }), fc.integer({ min: -5, max: 5 }), fc.boolean())
const { tree: nonNullJson } = fc.letrec<{ tree: Json }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('tree'), { maxLength: 3 }),
    fc.dictionary(key, tie('tree'), { maxKeys: 4 }))
}))
const objectOf = (v: fc.Arbitrary<Json>): fc.Arbitrary<JsonObject> => fc.dictionary(key, v, { maxKeys: 5 })

test('property: applying the merge patch of a diff reproduces the target', (t) => {
  fc.assert(fc.property(objectOf(nonNullJson), objectOf(nonNullJson), (from, to) => {
    const patch = createMergePatch(from, to)
    const got = mergePatch(from, patch)
    t.deepEqual(got, to)
    return true
  }), { numRuns: 500 })
  t.pass()
})

test('property: without lists or directives, SMP and JSON merge patch agree', (t) => {
  const { tree: noLists } = fc.letrec<{ tree: Json }>((tie) => ({
    tree: fc.oneof({ depthSize: 'small' }, scalar, fc.constant(null), fc.dictionary(key, tie('tree'), { maxKeys: 3 }))
  }))
  fc.assert(fc.property(objectOf(noLists), objectOf(noLists), (original, patch) => {
    t.deepEqual(strategicMergePatch(original, patch, {}), mergePatch(original, patch))
    return true
  }), { numRuns: 500 })
  t.pass()
})

/** Pod-shaped values with every SMP directive in the key pool, so the directive paths get exercised. */
const smpKey = fc.constantFrom('metadata', 'spec', 'containers', 'name', 'image', 'ports', 'containerPort', 'finalizers',
  'labels', 'tolerations', '$patch', '$retainKeys', '$setElementOrder/containers', '$setElementOrder/ports',
  '$deleteFromPrimitiveList/finalizers', '$setElementOrder', '$deleteFromPrimitiveList/', '__proto__')
const smpScalar = fc.oneof(fc.constantFrom('replace', 'delete', 'merge', 'c', 'side', 'a', 80, 81, null), scalar)
const { tree: smpJson } = fc.letrec<{ tree: Json }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    smpScalar,
    fc.array(tie('tree'), { maxLength: 3 }),
    fc.dictionary(smpKey, tie('tree'), { maxKeys: 4 }))
}))

function deepFreeze<T> (v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k])
    Object.freeze(v)
  }
  return v
}

const mediaTypes = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml']

test('property: any body either patches or throws PatchError, and never mutates the (frozen) original', (t) => {
  const body = fc.oneof(
    fc.string({ maxLength: 40 }),
    smpJson.map((v) => JSON.stringify(v)),
    fc.array(fc.record({ op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', 'x'), path: fc.constantFrom('', '/', '/spec', '/spec/containers/0', '/spec/containers/-', '/metadata/labels/a', '/x/y', 'bad', '/spec/containers/-1'), from: fc.constantFrom('/spec', '/metadata', '/nope'), value: smpJson }, { requiredKeys: ['op'] }), { maxLength: 4 }).map((ops) => JSON.stringify(ops))
  )
  fc.assert(fc.property(fc.constantFrom(...mediaTypes), objectOf(smpJson), body, (type, originalRaw, text) => {
    const original = deepFreeze(structuredClone({ ...pod(), ...originalRaw }))
    const before = JSON.stringify(original)
    try {
      const out = applyPatch(type, original, text, podGvk)
      if (typeof out !== 'object' || out === null || Array.isArray(out)) return false
      // The result shares nothing with the original: mutating it is allowed.
      JSON.stringify(out)
    } catch (err) {
      if (!(err instanceof PatchError)) throw err
      if (![400, 413, 415, 422, 500].includes(err.status)) return false
    }
    return JSON.stringify(original) === before
  }), { numRuns: 3000 })
  t.pass()
})

test('property: SMP results never keep directive keys', (t) => {
  const hasDirective = (v: unknown): boolean => {
    if (Array.isArray(v)) return v.some(hasDirective)
    if (typeof v === 'object' && v !== null) {
      return Object.keys(v).some((k) => k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/') || k.startsWith('$deleteFromPrimitiveList/') ||
        hasDirective((v as Record<string, unknown>)[k]))
    }
    return false
  }
  fc.assert(fc.property(objectOf(smpJson), (patch) => {
    try {
      return !hasDirective(applyPatch('application/strategic-merge-patch+json', pod(), JSON.stringify(patch), podGvk))
    } catch (err) {
      if (err instanceof PatchError) return true
      throw err
    }
  }), { numRuns: 2000 })
  t.pass()
})
