/**
 * Label and field selectors as kube-apiserver parses them
 * (k8s.io/apimachinery/pkg/labels/selector.go, pkg/fields/selector.go).
 *
 *   labels: k=v, k==v, k!=v, k in (a,b), k notin (a), k, !k, joined by ','
 *   fields: f=v, f==v, f!=v joined by ',' ; '\' escapes ',', '=' and '\'
 */
import { badRequest } from './errors.js'

export type LabelRequirement =
  | { key: string, op: 'in' | 'notin', values: string[] }
  | { key: string, op: 'exists' | '!exists' }

export interface LabelSelector { requirements: LabelRequirement[], text: string }

const labelKey = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

export function isLabelKey (k: string): boolean {
  if (!labelKey.test(k)) return false
  const slash = k.lastIndexOf('/')
  const name = slash < 0 ? k : k.slice(slash + 1)
  return name.length <= 63 && (slash < 0 || slash <= 253)
}
export const isLabelValue = (v: string): boolean => v.length <= 63 && labelValue.test(v)

/** Parses a label selector; '' selects everything. Throws a 400 ApiError on bad syntax. */
export function parseLabelSelector (text: string): LabelSelector {
  const reqs: LabelRequirement[] = []
  let i = 0
  const s = text
  const fail = (why: string): never => { throw badRequest(`unable to parse requirement: ${why} in label selector "${text}"`) }
  const ws = (): void => { while (i < s.length && /\s/.test(s[i] as string)) i++ }
  const word = (): string => {
    ws()
    const start = i
    while (i < s.length && !/[\s,=!()]/.test(s[i] as string)) i++
    return s.slice(start, i)
  }
  ws()
  if (i >= s.length) return { requirements: [], text }
  for (;;) {
    ws()
    let neg = false
    if (s[i] === '!') { neg = true; i++ }
    const key = word()
    if (key === '') fail('missing key')
    if (!isLabelKey(key)) fail(`invalid label key "${key}"`)
    ws()
    if (neg) {
      reqs.push({ key, op: '!exists' })
    } else if (i >= s.length || s[i] === ',') {
      reqs.push({ key, op: 'exists' })
    } else if (s.startsWith('==', i) || s[i] === '=' || s.startsWith('!=', i)) {
      const op = s.startsWith('!=', i) ? 'notin' : 'in'
      i += s.startsWith('==', i) || s.startsWith('!=', i) ? 2 : 1
      const v = word()
      if (!isLabelValue(v)) fail(`invalid label value "${v}"`)
      reqs.push({ key, op, values: [v] })
    } else {
      const w = word()
      if (w !== 'in' && w !== 'notin') fail(`found '${w}', expected: '=', '!=', '==', 'in', notin'`)
      ws()
      if (s[i] !== '(') fail("found no '(' after in/notin")
      i++
      const values: string[] = []
      for (;;) {
        const v = word()
        if (!isLabelValue(v)) fail(`invalid label value "${v}"`)
        if (v !== '') values.push(v)
        ws()
        if (s[i] === ',') { i++; continue }
        if (s[i] === ')') { i++; break }
        fail("missing ')'")
      }
      if (values.length === 0) fail('for \'in\', \'notin\' operators, values set can\'t be empty')
      reqs.push({ key, op: w as 'in' | 'notin', values })
    }
    ws()
    if (i >= s.length) break
    if (s[i] !== ',') fail(`unexpected '${s[i] as string}'`)
    i++
  }
  return { requirements: reqs, text }
}

export function matchesLabels (sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  for (const r of sel.requirements) {
    const has = labels !== undefined && Object.hasOwn(labels, r.key)
    const v = has ? labels[r.key] as string : undefined
    switch (r.op) {
      case 'exists': if (!has) return false; break
      case '!exists': if (has) return false; break
      case 'in': if (v === undefined || !r.values.includes(v)) return false; break
      case 'notin': if (v !== undefined && r.values.includes(v)) return false; break
    }
  }
  return true
}

/** A metav1.LabelSelector (matchLabels + matchExpressions) as used in Deployments and Services' specs. */
export function matchesLabelSelectorObject (sel: { matchLabels?: Record<string, string>, matchExpressions?: Array<{ key: string, operator: string, values?: string[] }> } | undefined, labels: Record<string, string> | undefined): boolean {
  if (sel === undefined) return false
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels?.[k] !== v) return false
  for (const e of sel.matchExpressions ?? []) {
    const has = labels !== undefined && Object.hasOwn(labels, e.key)
    const v = labels?.[e.key]
    switch (e.operator) {
      case 'In': if (!has || !(e.values ?? []).includes(v as string)) return false; break
      case 'NotIn': if (has && (e.values ?? []).includes(v as string)) return false; break
      case 'Exists': if (!has) return false; break
      case 'DoesNotExist': if (has) return false; break
      default: return false
    }
  }
  return true
}

export interface FieldRequirement { field: string, op: '=' | '!=', value: string }
export interface FieldSelector { requirements: FieldRequirement[], text: string }

/** Splits on unescaped ',' and unescapes values, as fields.ParseSelector does. */
export function parseFieldSelector (text: string, supported: (field: string) => boolean): FieldSelector {
  const reqs: FieldRequirement[] = []
  if (text.trim() === '') return { requirements: reqs, text }
  const parts: string[] = []
  let cur = ''
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (c === '\\' && i + 1 < text.length) { cur += c + (text[i + 1] as string); i++; continue }
    if (c === ',') { parts.push(cur); cur = ''; continue }
    cur += c
  }
  parts.push(cur)
  for (const p of parts) {
    const m = /^(.*?)(!=|==|=)(.*)$/s.exec(p)
    if (m === null) throw badRequest(`invalid selector: '${p}'; can't understand '${p}'`)
    const field = (m[1] as string).trim()
    const value = (m[3] as string).replace(/\\(.)/g, '$1')
    if (!supported(field)) throw badRequest(`field label not supported: ${field}`)
    reqs.push({ field, op: m[2] === '!=' ? '!=' : '=', value })
  }
  return { requirements: reqs, text }
}

export function matchesFields (sel: FieldSelector, fields: Record<string, string>): boolean {
  for (const r of sel.requirements) {
    const v = fields[r.field] ?? ''
    if ((v === r.value) !== (r.op === '=')) return false
  }
  return true
}

/** The exact value a selector pins a field to (e.g. metadata.name=x lets a list read one key). */
export function pinnedField (sel: FieldSelector, field: string): string | undefined {
  return sel.requirements.find((r) => r.field === field && r.op === '=')?.value
}
