/**
 * JSON value helpers shared by the three patch algorithms. Every key written
 * here comes from a request body, so objects are written with
 * `defineProperty` (a `__proto__` key stays a plain key, never a prototype).
 */

export type Json = null | boolean | number | string | Json[] | JsonObject
export interface JsonObject { [key: string]: Json }

export type JsonKind = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object'

export function kindOf (v: unknown): JsonKind {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  switch (typeof v) {
    case 'boolean': return 'boolean'
    case 'number': return 'number'
    case 'string': return 'string'
    default: return 'object'
  }
}

export function isObject (v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function hasOwn (o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k)
}

/** `o[k] = v`, also for k === '__proto__'. */
export function setKey (o: JsonObject, k: string, v: Json): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
  else o[k] = v
}

export function getKey (o: JsonObject, k: string): Json | undefined {
  return hasOwn(o, k) ? o[k] : undefined
}

/** Deep copy of a JSON value (never shares structure with the input). */
export function clone<T extends Json> (v: T): T {
  if (Array.isArray(v)) return v.map((x) => clone(x)) as T
  if (isObject(v)) {
    const out: JsonObject = {}
    for (const k of Object.keys(v)) setKey(out, k, clone(v[k] as Json))
    return out as T
  }
  return v
}

/** Structural equality (object key order does not matter). */
export function deepEqual (a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false
    return true
  }
  if (isObject(a)) {
    if (!isObject(b)) return false
    const ka = Object.keys(a)
    if (ka.length !== Object.keys(b).length) return false
    for (const k of ka) if (!hasOwn(b, k) || !deepEqual(a[k], b[k])) return false
    return true
  }
  return false
}

/** Text of a request body: bytes are UTF-8 (a BOM is dropped, as Go's decoders tolerate none but kubectl sends none). */
export function bodyText (body: Uint8Array | string): string {
  const text = typeof body === 'string' ? body : new TextDecoder('utf-8', { fatal: false }).decode(body)
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
}

/** A short rendering of a value for error messages. */
export function brief (v: unknown, max = 200): string {
  let s: string
  try { s = JSON.stringify(v) ?? String(v) } catch { s = String(v) }
  return s.length > max ? `${s.slice(0, max)}…` : s
}
