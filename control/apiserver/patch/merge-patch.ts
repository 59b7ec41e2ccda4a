/**
 * RFC 7386 JSON merge patch (application/merge-patch+json).
 *
 * RFC 7386 §2: if the patch is an object, each member is merged into the
 * target (null removes the member); anything else replaces the target. Values
 * copied in from the patch lose their null members too (MergePatch({}, v)).
 */
import { type Json, type JsonObject, clone, deepEqual, getKey, hasOwn, isObject, setKey } from './json.js'

/** Applies `patch` to `target` and returns the result; `target` is not modified. */
export function mergePatch (target: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch)
  const out: JsonObject = isObject(target) ? clone(target) : {}
  mergeInto(out, patch)
  return out
}

function mergeInto (out: JsonObject, patch: JsonObject): void {
  for (const k of Object.keys(patch)) {
    const v = patch[k] as Json
    if (v === null) {
      if (hasOwn(out, k)) delete out[k]
      continue
    }
    if (isObject(v)) {
      const cur = getKey(out, k)
      const next: JsonObject = isObject(cur) ? cur : {}
      mergeInto(next, v)
      setKey(out, k, next)
    } else {
      setKey(out, k, clone(v))
    }
  }
}

/**
 * The merge patch that turns `from` into `to` (used by the property tests and
 * handy for callers that need to describe a change): members of `from` absent
 * from `to` become null, objects recurse, everything else is copied.
 * Exact only when `to` holds no null members (a merge patch cannot set null).
 */
export function createMergePatch (from: Json, to: Json): Json {
  if (!isObject(from) || !isObject(to)) return clone(to)
  const patch: JsonObject = {}
  for (const k of Object.keys(from)) if (!hasOwn(to, k)) setKey(patch, k, null)
  for (const k of Object.keys(to)) {
    const a = getKey(from, k)
    const b = to[k] as Json
    if (a !== undefined && isObject(a) && isObject(b)) {
      const sub = createMergePatch(a, b) as JsonObject
      if (Object.keys(sub).length > 0) setKey(patch, k, sub)
    } else if (a === undefined || !deepEqual(a, b)) {
      setKey(patch, k, clone(b))
    }
  }
  return patch
}

