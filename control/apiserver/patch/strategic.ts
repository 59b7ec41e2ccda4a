/**
 * Strategic merge patch (application/strategic-merge-patch+json), the server
 * half of k8s.io/apimachinery/pkg/util/strategicpatch (StrategicMergeMapPatch
 * with MergeParallelList and IgnoreUnmatchedNulls), driven by a PatchTable
 * instead of Go struct reflection.
 *
 * Per map, in this order (as mergeMap does):
 *  1. `$patch`: `replace` (the patch map, minus directives, is the value), `delete` (empty map),
 *     `merge` (the default: accepted and dropped; upstream rejects it);
 *  2. `$retainKeys`: original keys not listed are cleared; patch keys not listed are an error;
 *  3. `$setElementOrder/<f>`: the list f is merged, then ordered: the order list decides the order
 *     of the items it names, server-only items keep their place relative to them;
 *  4. every other key: null deletes, `$deleteFromPrimitiveList/<f>` removes values from the
 *     primitive list f, maps recurse (unless strategy replace), lists with strategy merge are
 *     merged (by mergeKey for objects, as a set for primitives), other lists and scalars replace.
 * Values that land in the result without being merged with anything (a new key, a new list item,
 * a changed type) are cleaned the way newer apimachinery does (removeDirectives,
 * discardNullValuesFromPatch): directives are applied against nothing and null members dropped,
 * where older versions stored them verbatim and relied on the typed decode to drop them.
 */
import { PatchError, mergeError, unprocessable } from './errors.js'
import { type Json, type JsonObject, clone, getKey, hasOwn, isObject, kindOf, setKey } from './json.js'
import { type PatchTable, lookupPatchMeta } from './schema.js'

const directiveMarker = '$patch'
const retainKeysDirective = '$retainKeys'
const deleteFromPrimitiveListPrefix = '$deleteFromPrimitiveList'
const setElementOrderPrefix = '$setElementOrder'

/**
 * Applies `patch` to `original` with the patch metadata of `table`; neither argument is modified.
 * Throws PatchError (CTRL_ERR_PATCH_DIRECTIVE, _LIST_OF_LISTS, _MERGE).
 */
export function strategicMergePatch (original: JsonObject, patch: JsonObject, table: PatchTable): JsonObject {
  return new Merger(table).mergeMap(clone(original), patch, '')
}

const child = (path: string, key: string): string => path === '' ? key : `${path}.${key}`
const items = (path: string): string => `${path}[]`

/** Go's fmt %v of a decoded JSON value, for messages shaped like apimachinery's. */
export function goFormat (v: unknown): string {
  if (v === null || v === undefined) return '<nil>'
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`
  if (isObject(v)) return `map[${Object.keys(v).sort().map((k) => `${k}:${goFormat(v[k])}`).join(' ')}]`
  return String(v)
}

function goType (v: unknown): string {
  switch (kindOf(v)) {
    case 'object': return 'map[string]interface {}'
    case 'array': return '[]interface {}'
    case 'string': return 'string'
    case 'number': return 'float64'
    case 'boolean': return 'bool'
    default: return '<nil>'
  }
}

const badArgType = (expected: 'map' | 'list', v: unknown): PatchError =>
  mergeError(`expected a ${expected === 'map' ? 'map[string]interface {}' : '[]interface {}'}, but received a ${goType(v)}`)
const noMergeKey = (m: JsonObject, key: string): PatchError =>
  mergeError(`map: ${goFormat(m)} does not contain declared merge key: ${key}`)

function extractKey (key: string, prefix: string): string {
  const slash = key.indexOf('/')
  if (slash < 0 || key.slice(0, slash) !== prefix) {
    throw new PatchError('CTRL_ERR_PATCH_DIRECTIVE', prefix === deleteFromPrimitiveListPrefix
      ? 'invalid patch format of primitive list'
      : 'invalid patch format of setElementOrder list')
  }
  return key.slice(slash + 1)
}

type ElementKind = 'object' | 'scalar'

/** sliceElementType: every element of the lists has one JSON type, and it is not a list. */
function elementKind (...lists: Json[][]): ElementKind | undefined {
  let first: string | undefined
  for (const list of lists) {
    for (const v of list) {
      const k = kindOf(v)
      if (first === undefined) {
        if (k === 'array') throw unprocessable('CTRL_ERR_PATCH_LIST_OF_LISTS', 'lists of lists are not supported')
        if (k === 'null') throw mergeError(`list element types are not identical: ${goFormat(lists)}`)
        first = k
      } else if (k !== first) {
        throw mergeError(`list element types are not identical: ${goFormat(lists)}`)
      }
    }
  }
  if (first === undefined) return undefined
  return first === 'object' ? 'object' : 'scalar'
}

/** The value index() compares: the merge key's value for objects, the item itself otherwise. */
function keyOf (item: Json, mergeKey: string, kind: ElementKind): Json | undefined {
  if (kind === 'object') return isObject(item) ? getKey(item, mergeKey) : undefined
  return item
}

function indexIn (list: readonly Json[], item: Json, mergeKey: string, kind: ElementKind): number {
  const want = keyOf(item, mergeKey, kind)
  for (let i = 0; i < list.length; i++) if (keyOf(list[i] as Json, mergeKey, kind) === want) return i
  return -1
}

function isDeleteItem (v: Json): boolean {
  return isObject(v) && hasOwn(v, directiveMarker) && v[directiveMarker] === 'delete'
}

class Merger {
  readonly #table: PatchTable
  constructor (table: PatchTable) { this.#table = table }

  /** `original` is owned (may be modified and returned); `patch` is only read. */
  mergeMap (original: JsonObject, patch: JsonObject, path: string): JsonObject {
    let p = patch
    if (hasOwn(p, directiveMarker)) {
      const directive = p[directiveMarker]
      if (directive === 'replace') return this.freshMap(without(p, directiveMarker), path)
      if (directive === 'delete') return {}
      if (directive !== 'merge') throw mergeError(`unknown patch type: ${goFormat(directive)} in map: ${goFormat(p)}`)
      p = without(p, directiveMarker)
    }
    const out = original
    this.#retainKeys(out, p)
    const done = new Set<string>([retainKeysDirective])
    this.#setElementOrder(out, p, path, done)

    for (const key of Object.keys(p)) {
      if (done.has(key)) continue
      const patchV = p[key] as Json
      let field = key
      let isDeleteList = false
      if (key.startsWith(deleteFromPrimitiveListPrefix)) {
        field = extractKey(key, deleteFromPrimitiveListPrefix)
        isDeleteList = true
      }
      if (patchV === null) {
        if (hasOwn(out, field)) delete out[field]
        continue
      }
      const fieldPath = child(path, field)
      const cur = getKey(out, field)
      if (isDeleteList) {
        if (Array.isArray(cur)) setKey(out, field, deleteFromList(cur, patchV))
        else if (!Array.isArray(patchV)) throw new PatchError('CTRL_ERR_PATCH_DIRECTIVE', 'invalid patch format of primitive list')
        continue
      }
      if (cur === undefined || kindOf(cur) !== kindOf(patchV)) {
        this.#setFresh(out, field, patchV, fieldPath)
        continue
      }
      const meta = lookupPatchMeta(this.#table, fieldPath)
      if (isObject(cur) && isObject(patchV)) {
        if (meta.strategy === 'replace') this.#setFresh(out, field, patchV, fieldPath)
        else setKey(out, field, this.mergeMap(cur, patchV, fieldPath))
      } else if (Array.isArray(cur) && Array.isArray(patchV)) {
        setKey(out, field, meta.strategy === 'merge'
          ? this.mergeSlice(cur, patchV, items(fieldPath), meta.mergeKey)
          : this.freshList(patchV, fieldPath))
      } else {
        setKey(out, field, patchV)
      }
    }
    return out
  }

  /** applyRetainKeysDirective. */
  #retainKeys (out: JsonObject, patch: JsonObject): void {
    if (!hasOwn(patch, retainKeysDirective)) return
    const list = patch[retainKeysDirective]
    if (!Array.isArray(list)) throw new PatchError('CTRL_ERR_PATCH_DIRECTIVE', 'invalid patch format of retainKeys')
    const keep = new Set(list.filter((v): v is string => typeof v === 'string'))
    for (const k of Object.keys(patch)) {
      const v = patch[k]
      if (k === retainKeysDirective || v === null || k.startsWith(deleteFromPrimitiveListPrefix) || k.startsWith(setElementOrderPrefix)) continue
      if (!keep.has(k)) throw new PatchError('CTRL_ERR_PATCH_DIRECTIVE', 'invalid patch format of retainKeys')
    }
    for (const k of Object.keys(out)) if (!keep.has(k)) delete out[k]
  }

  /** mergePatchIntoOriginal: each `$setElementOrder/<f>` with its list f. */
  #setElementOrder (out: JsonObject, patch: JsonObject, path: string, done: Set<string>): void {
    for (const key of Object.keys(patch)) {
      if (!key.startsWith(setElementOrderPrefix)) continue
      done.add(key)
      const order = patch[key]
      if (!Array.isArray(order)) throw badArgType('list', order)
      const field = extractKey(key, setElementOrderPrefix)
      const fieldPath = child(path, field)
      const originalV = getKey(out, field)
      const patchV = getKey(patch, field)
      const foundOriginal = originalV !== undefined && originalV !== null
      const foundPatch = patchV !== undefined
      if (foundOriginal && !Array.isArray(originalV)) throw badArgType('list', originalV)
      if (foundPatch && !Array.isArray(patchV)) throw badArgType('list', patchV)
      const originalList = foundOriginal ? originalV as Json[] : []
      const patchList = foundPatch ? patchV as Json[] : []
      const meta = lookupPatchMeta(this.#table, fieldPath)
      validatePatchWithSetOrderList(patchList, order, meta.mergeKey)
      if (!foundOriginal && !foundPatch) continue
      if (foundPatch) done.add(field)

      let merged: Json[]
      if (!foundPatch) merged = originalList
      else if (!foundOriginal) merged = this.freshList(patchList, fieldPath)
      else {
        merged = meta.strategy === 'merge'
          ? this.mergeSlice(originalList, patchList, items(fieldPath), meta.mergeKey)
          : this.freshList(patchList, fieldPath)
      }
      const kind = elementKind(originalList, patchList, merged)
      if (kind === undefined) { setKey(out, field, merged); continue }
      if (kind === 'object' && meta.mergeKey === '') throw mergeError('cannot merge lists without merge key for type map')
      const [patchItems, serverOnly] = partition(merged, order, meta.mergeKey, kind)
      setKey(out, field, normalizeElementOrder(patchItems, serverOnly, order, originalList, meta.mergeKey, kind))
    }
  }

  /**
   * mergeSlice for a list with strategy merge. `original` is owned. The result keeps
   * server-only items where they were and patch items in patch order.
   */
  mergeSlice (original: Json[], patch: Json[], itemPath: string, mergeKey: string): Json[] {
    if (original.length === 0 && patch.length === 0) return original
    const kind = elementKind(original, patch) as ElementKind
    let serverOrder: Json[]
    let patchOrder: Json[]
    let merged: Json[]
    if (kind === 'scalar') {
      serverOrder = original
      patchOrder = patch
      merged = dedupe([...original, ...patch])
    } else {
      if (mergeKey === '') throw mergeError('cannot merge lists without merge key for type map')
      // mergeSliceWithSpecialElements: `$patch` items delete matching entries or replace the list.
      let replace = false
      let kept = original
      const plain: JsonObject[] = []
      for (const v of patch as JsonObject[]) {
        if (!hasOwn(v, directiveMarker)) { plain.push(v); continue }
        const directive = v[directiveMarker]
        if (directive === 'delete') {
          if (!hasOwn(v, mergeKey)) throw noMergeKey(v, mergeKey)
          const mv = v[mergeKey]
          kept = kept.filter((o) => !(isObject(o) && hasOwn(o, mergeKey) && o[mergeKey] === mv))
        } else if (directive === 'replace') {
          replace = true
        } else if (directive === 'merge') {
          plain.push(without(v, directiveMarker))
        } else {
          throw mergeError(`unknown patch type: ${goFormat(directive)} in map: ${goFormat(v)}`)
        }
      }
      if (replace) {
        kept = plain.map((v) => this.freshMap(v, itemPath))
        patchOrder = []
      } else {
        patchOrder = plain
      }
      serverOrder = kept
      // mergeSliceWithoutSpecialElements: merge items found by merge key, append the others.
      merged = kept.slice()
      for (const v of replace ? [] : plain) {
        if (!hasOwn(v, mergeKey)) throw noMergeKey(v, mergeKey)
        const mv = v[mergeKey]
        const at = merged.findIndex((o, i) => {
          if (!isObject(o)) throw mergeError(`value for key ${i} is not a map.`)
          return hasOwn(o, mergeKey) && o[mergeKey] === mv
        })
        if (at >= 0) merged[at] = this.mergeMap(merged[at] as JsonObject, v, itemPath)
        else merged.push(this.freshMap(v, itemPath))
      }
    }
    const [patchItems, serverOnly] = partition(merged, patchOrder, mergeKey, kind)
    return normalizeElementOrder(patchItems, serverOnly, patchOrder, serverOrder, mergeKey, kind)
  }

  /** A map that is not merged with anything: directives applied against an empty map, nulls dropped. */
  freshMap (patch: JsonObject, path: string): JsonObject {
    return this.mergeMap({}, patch, path)
  }

  /** A list that replaces (or starts) a field: its map items are cleaned, `$patch: delete` items dropped. */
  freshList (list: Json[], path: string): Json[] {
    const out: Json[] = []
    for (const v of list) {
      if (isObject(v)) {
        if (isDeleteItem(v)) continue
        out.push(this.freshMap(v, items(path)))
      } else if (Array.isArray(v)) {
        out.push(this.freshList(v, items(path)))
      } else {
        out.push(v)
      }
    }
    return out
  }

  #setFresh (out: JsonObject, field: string, v: Json, path: string): void {
    if (isObject(v)) {
      // "if patchV itself is a directive, then don't keep it"
      if (isDeleteItem(v)) { if (hasOwn(out, field)) delete out[field]; return }
      setKey(out, field, this.freshMap(v, path))
    } else if (Array.isArray(v)) {
      setKey(out, field, this.freshList(v, path))
    } else {
      setKey(out, field, v)
    }
  }
}

function without (o: JsonObject, key: string): JsonObject {
  const out: JsonObject = {}
  for (const k of Object.keys(o)) if (k !== key) setKey(out, k, o[k] as Json)
  return out
}

/** deleteFromSlice: drop every value listed (primitives only, as the directive requires). */
function deleteFromList (current: Json[], toDelete: Json): Json[] {
  if (!Array.isArray(toDelete) || toDelete.some((v) => isObject(v) || Array.isArray(v)) ||
      current.some((v) => isObject(v) || Array.isArray(v))) {
    throw new PatchError('CTRL_ERR_PATCH_DIRECTIVE', 'invalid patch format of primitive list')
  }
  const drop = new Set(toDelete)
  return current.filter((v) => !drop.has(v))
}

function dedupe (list: Json[]): Json[] {
  const seen = new Set<Json>()
  const out: Json[] = []
  for (const v of list) {
    if (seen.has(v)) continue
    seen.add(v)
    out.push(v)
  }
  return out
}

/** Items of `merged` named in `by` (by merge key or value), then the others. */
function partition (merged: Json[], by: readonly Json[], mergeKey: string, kind: ElementKind): [Json[], Json[]] {
  const inPatch: Json[] = []
  const serverOnly: Json[] = []
  if (kind === 'scalar') {
    const set = new Set(by)
    for (const v of merged) (set.has(v) ? inPatch : serverOnly).push(v)
    return [inPatch, serverOnly]
  }
  for (const v of merged) {
    if (!isObject(v)) throw badArgType('map', v)
    if (!hasOwn(v, mergeKey)) throw noMergeKey(v, mergeKey)
    const mv = v[mergeKey]
    const found = by.some((b, i) => {
      if (!isObject(b)) throw mergeError(`value for key ${i} is not a map.`)
      return hasOwn(b, mergeKey) && b[mergeKey] === mv
    })
    ;(found ? inPatch : serverOnly).push(v)
  }
  return [inPatch, serverOnly]
}

/** validateMergeKeyInLists. */
function validateMergeKey (mergeKey: string, ...lists: readonly Json[][]): void {
  for (const list of lists) {
    for (const v of list) {
      if (!isObject(v)) throw badArgType('map', v)
      if (!hasOwn(v, mergeKey)) throw noMergeKey(v, mergeKey)
    }
  }
}

/** normalizeSliceOrder: stable sort by position in `order`; `$patch: delete` items go last. */
function normalizeSliceOrder (toSort: Json[], order: readonly Json[], mergeKey: string, kind: ElementKind): Json[] {
  let sortable = toSort
  let deletes: Json[] = []
  if (kind === 'object') {
    validateMergeKey(mergeKey, toSort, order as Json[])
    sortable = toSort.filter((v) => !isDeleteItem(v))
    deletes = toSort.filter((v) => isDeleteItem(v))
  }
  const rank = (v: Json): number => {
    const i = indexIn(order, v, mergeKey, kind)
    return i < 0 ? Number.POSITIVE_INFINITY : i
  }
  const sorted = sortable.map((v, i) => ({ v, i, r: rank(v) }))
    .sort((a, b) => a.r === b.r ? a.i - b.i : a.r < b.r ? -1 : 1)
    .map((e) => e.v)
  return [...sorted, ...deletes]
}

/**
 * normalizeElementOrder + mergeSortedSlice: sort the patch items by `patchOrder` and the
 * server-only items by `serverOrder`, then interleave them: a server-only item goes before a
 * patch item only when the server order puts it first.
 */
function normalizeElementOrder (patchItems: Json[], serverOnly: Json[], patchOrder: readonly Json[],
  serverOrder: readonly Json[], mergeKey: string, kind: ElementKind): Json[] {
  const right = normalizeSliceOrder(patchItems, patchOrder, mergeKey, kind)
  const left = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind)
  const out: Json[] = []
  let i = 0
  let j = 0
  while (i < left.length || j < right.length) {
    if (i >= left.length) { out.push(right[j++] as Json); continue }
    if (j >= right.length) { out.push(left[i++] as Json); continue }
    const li = indexIn(serverOrder, left[i] as Json, mergeKey, kind)
    const ri = indexIn(serverOrder, right[j] as Json, mergeKey, kind)
    if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++] as Json)
    else out.push(right[j++] as Json)
  }
  return out
}

/**
 * validatePatchWithSetOrderList: the patch list's items (deletions and directive items aside)
 * appear in the order list, in the same relative order.
 */
function validatePatchWithSetOrderList (patchList: Json[], order: Json[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return
  let nonDelete = patchList
  if (mergeKey !== '') {
    for (const v of patchList) if (!isObject(v)) throw badArgType('map', v)
    nonDelete = patchList.filter((v) => !isDeleteItem(v))
  }
  const equal = (a: Json, b: Json): boolean => {
    if (mergeKey === '') return a === b
    if (!isObject(a)) throw badArgType('map', a)
    if (!isObject(b)) throw badArgType('map', b)
    if (!hasOwn(a, mergeKey)) throw noMergeKey(a, mergeKey)
    if (!hasOwn(b, mergeKey)) throw noMergeKey(b, mergeKey)
    return a[mergeKey] === b[mergeKey]
  }
  let pi = 0
  let si = 0
  while (pi < nonDelete.length && si < order.length) {
    const item = nonDelete[pi] as Json
    if (isObject(item) && hasOwn(item, directiveMarker)) { pi++; continue }
    if (equal(item, order[si] as Json)) pi++
    si++
  }
  if (pi < nonDelete.length && si >= order.length) {
    throw mergeError(`The order in patch list:\n${goFormat(patchList)}\n doesn't match ${setElementOrderPrefix} list:\n${goFormat(order)}\n`)
  }
}
