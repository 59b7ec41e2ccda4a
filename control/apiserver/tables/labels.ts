/**
 * Label and label-selector text as apimachinery prints it: `labels.FormatLabels`
 * (`a=b,c=d` sorted by key, `<none>` when empty) and `metav1.LabelSelectorAsSelector(...).String()`
 * / `metav1.FormatLabelSelector` (requirements sorted by key, set values sorted).
 */

export interface LabelSelectorRequirement { key: string, operator: string, values?: string[] }
export interface LabelSelector { matchLabels?: Record<string, string>, matchExpressions?: LabelSelectorRequirement[] }

const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** `labels.FormatLabels`: sorted `k=v` pairs joined by commas, `<none>` for an empty set. */
export function formatLabels (labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort(byKey)
  if (keys.length === 0) return '<none>'
  return keys.map((k) => `${k}=${(labels as Record<string, string>)[k] ?? ''}`).join(',')
}

/**
 * `LabelSelectorAsSelector(sel).String()`: undefined for an invalid operator
 * (the callers print `<error>` or `<invalid>`); '' for a nil or empty selector.
 */
export function selectorString (sel: LabelSelector | undefined | null): string | undefined {
  if (sel === undefined || sel === null) return ''
  const reqs: Array<{ key: string, text: string }> = []
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key: k, text: `${k}=${v}` })
  for (const e of sel.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort(byKey).join(',')
    switch (e.operator) {
      case 'In': reqs.push({ key: e.key, text: `${e.key} in (${values})` }); break
      case 'NotIn': reqs.push({ key: e.key, text: `${e.key} notin (${values})` }); break
      case 'Exists': reqs.push({ key: e.key, text: e.key }); break
      case 'DoesNotExist': reqs.push({ key: e.key, text: `!${e.key}` }); break
      default: return undefined
    }
  }
  // Array.prototype.sort is stable: matchLabels stay ahead of expressions on the same key.
  return reqs.sort((a, b) => byKey(a.key, b.key)).map((r) => r.text).join(',')
}

/** `metav1.FormatLabelSelector`: like selectorString, with `<none>` for empty and `<error>` for invalid. */
export function formatLabelSelector (sel: LabelSelector | undefined | null): string {
  const s = selectorString(sel)
  if (s === undefined) return '<error>'
  return s === '' ? '<none>' : s
}
