/**
 * The patch engine of Weft's API server: pure functions from (media type,
 * current object, request body) to the patched object, with the semantics and
 * the error statuses of kube-apiserver. The server keeps the retry loop,
 * create-if-absent for apply, preconditions and validation; see
 * docs/apiserver-patch.md.
 */
import { parse as parseYaml } from 'yaml'
import { PatchError } from './errors.js'
import { type Json, type JsonObject, bodyText, brief, clone, isObject, kindOf } from './json.js'
import { applyJsonPatch, decodeJsonPatch } from './json-patch.js'
import { mergePatch } from './merge-patch.js'
import { patchTableFor } from './schema.js'
import { strategicMergePatch } from './strategic.js'

export { PatchError, patchErrorCodes } from './errors.js'
export type { PatchErrorCode, PatchStatusCause } from './errors.js'
export type { Json, JsonObject } from './json.js'
export { applyJsonPatch, decodeJsonPatch, maxJsonPatchOperations, parsePointer } from './json-patch.js'
export { createMergePatch, mergePatch } from './merge-patch.js'
export { lookupPatchMeta, patchTableFor, patchTables } from './schema.js'
export type { FieldPatchMeta, PatchStrategy, PatchTable } from './schema.js'
export { strategicMergePatch } from './strategic.js'

export const PatchMediaType = {
  JsonPatch: 'application/json-patch+json',
  MergePatch: 'application/merge-patch+json',
  StrategicMergePatch: 'application/strategic-merge-patch+json',
  ApplyPatch: 'application/apply-patch+yaml'
} as const
export type PatchMediaType = typeof PatchMediaType[keyof typeof PatchMediaType]

/** The media types a PATCH endpoint accepts, in kube-apiserver's order (for the 415 message and discovery). */
export const patchMediaTypes: readonly PatchMediaType[] = [
  PatchMediaType.JsonPatch, PatchMediaType.MergePatch, PatchMediaType.ApplyPatch, PatchMediaType.StrategicMergePatch
]

export interface GroupVersionKind { apiVersion: string, kind: string }

/** The media type of a Content-Type header value, parameters dropped, lower-cased. */
export function patchMediaType (contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase()
}

/** The media types a kind accepts: strategic merge patch only where the kind has patch metadata. */
export function patchMediaTypesFor (gvk: GroupVersionKind): PatchMediaType[] {
  return patchTableFor(gvk) === undefined
    ? patchMediaTypes.filter((t) => t !== PatchMediaType.StrategicMergePatch)
    : [...patchMediaTypes]
}

/**
 * Applies a PATCH body to `original` (the current object, never modified) and
 * returns the new object. `contentType` is the request's Content-Type header.
 * Throws PatchError only; its `status`, `reason` and `toStatus()` give the
 * response kube-apiserver would send.
 */
export function applyPatch (contentType: string, original: Record<string, unknown>, body: Uint8Array | string,
  gvk: GroupVersionKind): Record<string, unknown> {
  const mediaType = patchMediaType(contentType)
  if (!(patchMediaTypesFor(gvk) as string[]).includes(mediaType)) {
    throw new PatchError('CTRL_ERR_PATCH_UNSUPPORTED_MEDIA_TYPE',
      `the body of the request was in an unknown format - accepted media types include: ${patchMediaTypesFor(gvk).join(', ')}`)
  }
  const current = original as JsonObject
  try {
    switch (mediaType as PatchMediaType) {
      case PatchMediaType.JsonPatch: {
        const ops = decodeJsonPatch(decodeJson(body))
        return mustBeObject(applyJsonPatch(current, ops))
      }
      case PatchMediaType.MergePatch: {
        const patch = decodeJson(body)
        // evanphx MergePatch: a null or scalar patch is ErrBadJSONPatch (400); an array replaces the document.
        if (patch === null || (!isObject(patch) && !Array.isArray(patch))) {
          throw new PatchError('CTRL_ERR_PATCH_MALFORMED', 'Invalid JSON Patch')
        }
        return mustBeObject(mergePatch(current, patch))
      }
      case PatchMediaType.StrategicMergePatch: {
        const patch = decodeJson(body)
        // kube decodes into map[string]interface{}: null is an empty patch, anything else but an object is 400.
        if (patch === null) return clone(current)
        if (!isObject(patch)) {
          throw new PatchError('CTRL_ERR_PATCH_MALFORMED', `json: cannot unmarshal ${kindOf(patch)} into Go value of type map[string]interface {}`)
        }
        return strategicMergePatch(current, patch, patchTableFor(gvk) ?? {})
      }
      case PatchMediaType.ApplyPatch: {
        const applied = decodeYaml(body)
        return strategicMergePatch(current, applied, patchTableFor(gvk) ?? {})
      }
    }
  } catch (err) {
    // Recursion over a pathologically deep body is refused like a malformed one.
    if (err instanceof RangeError) throw new PatchError('CTRL_ERR_PATCH_MALFORMED', 'the patch is nested too deeply', { cause: err })
    throw err
  }
  // Unreachable: mediaType is one of the four cases above.
  throw new PatchError('CTRL_ERR_PATCH_UNSUPPORTED_MEDIA_TYPE', `unknown Content-Type header for patch: ${mediaType}`)
}

function decodeJson (body: Uint8Array | string): Json {
  const text = bodyText(body)
  try {
    return JSON.parse(text) as Json
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err)
    throw new PatchError('CTRL_ERR_PATCH_MALFORMED', `error decoding patch: ${msg}`, { cause: err })
  }
}

/** Server-side apply bodies: YAML (JSON is YAML); one document holding an object. */
function decodeYaml (body: Uint8Array | string): JsonObject {
  const text = bodyText(body)
  let doc: unknown
  try {
    // kubectl sends JSON: JSON.parse is ~20x faster than the YAML parser and gives the same value.
    doc = text.trimStart().startsWith('{') ? jsonOrUndefined(text) : undefined
    doc ??= parseYaml(text, { maxAliasCount: 100, uniqueKeys: true, logLevel: 'error' })
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err)
    throw new PatchError('CTRL_ERR_PATCH_MALFORMED', `error decoding YAML: ${msg}`, { cause: err })
  }
  if (!isObject(doc)) {
    throw new PatchError('CTRL_ERR_PATCH_MALFORMED', `error decoding YAML: the applied configuration must be an object, not ${doc === undefined ? 'empty' : kindOf(doc)}`)
  }
  return toJson(doc) as JsonObject
}

function jsonOrUndefined (text: string): unknown {
  try { return JSON.parse(text) } catch { return undefined }
}

/** YAML may decode to values JSON has no form for (dates stay strings in the core schema; big ints, NaN); keep JSON. */
function toJson (v: unknown): Json {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new PatchError('CTRL_ERR_PATCH_MALFORMED', `error decoding YAML: ${v} is not a JSON number`)
    return v
  }
  if (typeof v === 'bigint') return Number(v)
  if (Array.isArray(v)) return v.map(toJson)
  if (isObject(v)) {
    const out: JsonObject = {}
    for (const k of Object.keys(v)) {
      const value = toJson(v[k])
      if (k === '__proto__') Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true })
      else out[k] = value
    }
    return out
  }
  throw new PatchError('CTRL_ERR_PATCH_MALFORMED', `error decoding YAML: unsupported value ${brief(v)}`)
}

/** kube decodes the patched JSON into the kind's struct: anything but an object is 422 Invalid. */
function mustBeObject (v: Json): JsonObject {
  if (isObject(v)) return v
  const message = `patch: Invalid value: ${JSON.stringify(brief(v))}: the patched document must be an object, not ${v === null ? 'null' : kindOf(v)}`
  throw new PatchError('CTRL_ERR_PATCH_INVALID_RESULT', message, {
    causes: [{ type: 'FieldValueInvalid', message, field: 'patch' }]
  })
}
