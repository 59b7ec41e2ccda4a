/** Small accessors over untyped API objects, shared by the controllers. */
import type { Obj } from '../client/index.js'

export type { Obj }

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
export const meta = (o: Obj): Obj => (isObj(o.metadata) ? o.metadata : {})
export const spec = (o: Obj): Obj => (isObj(o.spec) ? o.spec : {})
export const status = (o: Obj): Obj => (isObj(o.status) ? o.status : {})
export const nameOf = (o: Obj): string => String(meta(o).name ?? '')
export const nsOf = (o: Obj): string => String(meta(o).namespace ?? '')
export const uidOf = (o: Obj): string => String(meta(o).uid ?? '')
export const keyOf = (o: Obj): string => `${nsOf(o)}/${nameOf(o)}`
export const labelsOf = (o: Obj): Record<string, string> => (isObj(meta(o).labels) ? meta(o).labels as Record<string, string> : {})
export const annotationsOf = (o: Obj): Record<string, string> => (isObj(meta(o).annotations) ? meta(o).annotations as Record<string, string> : {})
export const isDeleting = (o: Obj): boolean => meta(o).deletionTimestamp !== undefined && meta(o).deletionTimestamp !== null

export function splitKey (key: string): { namespace: string, name: string } {
  const i = key.indexOf('/')
  return { namespace: key.slice(0, i), name: key.slice(i + 1) }
}

export interface OwnerRef { apiVersion: string, kind: string, name: string, uid: string, controller?: boolean, blockOwnerDeletion?: boolean }

export function ownerRefsOf (o: Obj): OwnerRef[] {
  const refs = meta(o).ownerReferences
  return Array.isArray(refs) ? refs.filter(isObj) as unknown as OwnerRef[] : []
}

export function controllerRefOf (o: Obj): OwnerRef | undefined {
  return ownerRefsOf(o).find((r) => r.controller === true)
}

export function conditionOf (o: Obj, type: string): Obj | undefined {
  const cs = status(o).conditions
  return Array.isArray(cs) ? cs.filter(isObj).find((c) => c.type === type) : undefined
}

export function isPodReady (pod: Obj): boolean {
  return conditionOf(pod, 'Ready')?.status === 'True'
}

/** Ready for at least minReadySeconds at `now` (upstream's IsPodAvailable). */
export function isPodAvailable (pod: Obj, minReadySeconds: number, now: number): boolean {
  const c = conditionOf(pod, 'Ready')
  if (c?.status !== 'True') return false
  if (minReadySeconds <= 0) return true
  const t = Date.parse(String(c.lastTransitionTime ?? ''))
  return Number.isNaN(t) || t + minReadySeconds * 1000 <= now
}

/** Active = not terminal and not being deleted (upstream's IsPodActive). */
export function isPodActive (pod: Obj): boolean {
  const phase = status(pod).phase
  return phase !== 'Succeeded' && phase !== 'Failed' && !isDeleting(pod)
}

export function rfc3339 (ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** Canonical JSON (sorted keys) so hashes and comparisons ignore key order. */
export function canonical (v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (isObj(v)) return `{${Object.keys(v).sort().filter((k) => v[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`
  return JSON.stringify(v) ?? 'null'
}

/** Go duration ("40s", "1m30s", "500ms") or plain seconds to milliseconds; NaN when unreadable. */
export function parseDurationMs (s: string): number {
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  let total = 0
  let rest = s
  if (rest === '') return NaN
  while (rest !== '') {
    const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest)
    if (m === null) return NaN
    total += Number(m[1]) * (units[m[2] as string] as number)
    rest = rest.slice(m[0].length)
  }
  return total
}
