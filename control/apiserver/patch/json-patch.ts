/**
 * RFC 6902 JSON patch (application/json-patch+json), with the choices
 * kube-apiserver's library (evanphx/json-patch v4) makes where the RFC leaves
 * room or where v4 is lenient:
 * - array indices may be negative (counted from the end: v4's SupportNegativeIndices);
 * - `add` without `value` adds null; `test` of a missing member against null succeeds;
 * - more than 10000 operations is 413 (maxJSONPatchOperations in handlers/patch.go);
 * - the body must be an array of objects (400), anything wrong inside an operation is 422
 *   (NewGenericServerResponse(422) around Patch.Apply).
 * Where v4 has plain bugs we follow the RFC: the pointer "" is the whole document, a path
 * must start with "/", `move` into its own child is refused.
 */
import { PatchError, unprocessable } from './errors.js'
import { type Json, type JsonObject, brief, clone, deepEqual, hasOwn, isObject, kindOf, setKey } from './json.js'

export const maxJsonPatchOperations = 10000

export interface JsonPatchOperation {
  op: string
  path: string
  from?: string
  value?: Json
}

/** Checks the shape kube-apiserver's DecodePatch checks: an array of objects. */
export function decodeJsonPatch (doc: unknown): JsonObject[] {
  if (!Array.isArray(doc)) {
    throw new PatchError('CTRL_ERR_PATCH_MALFORMED', `json: cannot unmarshal ${goKind(doc)} into Go value of type jsonpatch.Patch`)
  }
  for (const op of doc) {
    if (!isObject(op)) throw new PatchError('CTRL_ERR_PATCH_MALFORMED', `json: cannot unmarshal ${goKind(op)} into Go value of type jsonpatch.Operation`)
  }
  if (doc.length > maxJsonPatchOperations) {
    throw new PatchError('CTRL_ERR_PATCH_TOO_LARGE', `The allowed maximum operations in a JSON patch is ${maxJsonPatchOperations}, got ${doc.length}`)
  }
  return doc as JsonObject[]
}

function goKind (v: unknown): string {
  switch (kindOf(v)) {
    case 'object': return 'object'
    case 'array': return 'array'
    case 'string': return 'string'
    case 'number': return 'number'
    case 'boolean': return 'bool'
    default: return 'null'
  }
}

/** Applies the operations in order to a copy of `doc`; `doc` is not modified. */
export function applyJsonPatch (doc: Json, ops: readonly JsonObject[]): Json {
  // One root holder so that the pointer "" (the whole document) is an ordinary member.
  const root: JsonObject = {}
  setKey(root, '', clone(doc))
  for (const raw of ops) applyOne(root, raw)
  return root[''] as Json
}

function fail (detail: string): PatchError {
  return unprocessable('CTRL_ERR_PATCH_OPERATION', detail)
}

function str (op: JsonObject, field: 'path' | 'from', kind: string): string {
  const v = hasOwn(op, field) ? op[field] : undefined
  if (typeof v !== 'string') throw fail(`${kind} operation missing ${field} field`)
  return v
}

function applyOne (root: JsonObject, op: JsonObject): void {
  const kind = typeof op.op === 'string' && hasOwn(op, 'op') ? op.op : 'unknown'
  const value: Json = hasOwn(op, 'value') ? op.value as Json : null
  switch (kind) {
    case 'add': {
      const path = str(op, 'path', kind)
      add(root, path, clone(value), kind)
      return
    }
    case 'remove': {
      const path = str(op, 'path', kind)
      remove(root, path, kind)
      return
    }
    case 'replace': {
      const path = str(op, 'path', kind)
      const { parent, key } = locate(root, path, kind)
      if (get(parent, key) === undefined) throw fail(`replace operation does not apply: doc is missing key: ${path}: missing value`)
      put(parent, key, clone(value))
      return
    }
    case 'move': {
      const from = str(op, 'from', kind)
      const path = str(op, 'path', kind)
      if (path !== from && path.startsWith(`${from}/`)) throw fail(`move operation does not apply: ${path} is a child of ${from}`)
      const moved = remove(root, from, kind)
      add(root, path, moved, kind)
      return
    }
    case 'copy': {
      const from = str(op, 'from', kind)
      const path = str(op, 'path', kind)
      const { parent, key } = locate(root, from, kind)
      const v = get(parent, key)
      if (v === undefined) throw fail(`copy operation does not apply: doc is missing from path: ${from}: missing value`)
      add(root, path, clone(v), kind)
      return
    }
    case 'test': {
      const path = str(op, 'path', kind)
      const { parent, key } = locate(root, path, kind)
      const v = get(parent, key)
      // v4: a missing member and a JSON null compare equal to a null (or absent) value.
      if ((v === undefined || v === null) ? value === null : deepEqual(v, value)) return
      throw unprocessable('CTRL_ERR_PATCH_TEST_FAILED', `testing value ${path} failed: test failed`)
    }
    default:
      throw fail(`Unexpected kind: ${kind}`)
  }
}

/** RFC 6901 reference tokens: "~1" is "/", then "~0" is "~". */
export function parsePointer (pointer: string): string[] {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) throw fail(`JSON pointer ${brief(pointer)} does not start with "/"`)
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
}

type Container = JsonObject | Json[]

/** The container holding the last token of `pointer` (the root holder for ""), and that token. */
function locate (root: JsonObject, pointer: string, kind: string): { parent: Container, key: string } {
  const tokens = ['', ...parsePointer(pointer)]
  let cur: Container = root
  for (let i = 0; i < tokens.length - 1; i++) {
    const next = get(cur, tokens[i] as string)
    if (next === undefined || (!isObject(next) && !Array.isArray(next))) {
      // evanphx v4's wording: add/remove quote the path, the others do not.
      const shown = kind === 'add' || kind === 'remove' ? `"${pointer}"` : pointer
      throw fail(`${kind} operation does not apply: doc is missing path: ${shown}: missing value`)
    }
    cur = next
  }
  return { parent: cur, key: tokens[tokens.length - 1] as string }
}

function index (arr: Json[], key: string, forInsert: boolean): number {
  if (!/^-?[0-9]+$/.test(key)) throw fail(`Unable to access invalid index: ${key}: invalid index referenced`)
  let i = Number(key)
  const limit = forInsert ? arr.length : arr.length - 1
  if (i < 0) {
    if (-i > arr.length) throw fail(`Unable to access invalid index: ${i}: invalid index referenced`)
    i += arr.length
  }
  if (!Number.isSafeInteger(i) || i > limit) throw fail(`Unable to access invalid index: ${key}: invalid index referenced`)
  return i
}

function get (c: Container, key: string): Json | undefined {
  if (Array.isArray(c)) {
    if (!/^-?[0-9]+$/.test(key)) return undefined
    let i = Number(key)
    if (i < 0) i += c.length
    return i >= 0 && i < c.length ? c[i] : undefined
  }
  return hasOwn(c, key) ? c[key] : undefined
}

function put (c: Container, key: string, v: Json): void {
  if (Array.isArray(c)) c[index(c, key, false)] = v
  else setKey(c, key, v)
}

function add (root: JsonObject, path: string, v: Json, kind: string): void {
  const { parent, key } = locate(root, path, kind)
  if (Array.isArray(parent)) {
    if (key === '-') parent.push(v)
    else parent.splice(index(parent, key, true), 0, v)
  } else {
    setKey(parent, key, v)
  }
}

function remove (root: JsonObject, path: string, kind: string): Json {
  if (path === '') throw fail(`${kind} operation does not apply: cannot remove the whole document`)
  const { parent, key } = locate(root, path, kind)
  const v = get(parent, key)
  if (v === undefined) {
    throw fail(kind === 'move'
      ? `move operation does not apply: doc is missing from path: ${path}: missing value`
      : `error in remove for path: '${path}': Unable to remove nonexistent key: ${key}: missing value`)
  }
  if (Array.isArray(parent)) parent.splice(index(parent, key, false), 1)
  else delete parent[key]
  return v
}
