/**
 * Field validation (`?fieldValidation=Strict|Warn|Ignore`), as kube-apiserver does it with
 * sigs.k8s.io/json's strict decoder: unknown fields at any depth and duplicate fields, listed in
 * document order with their JSON path (`spec.template.spec.containers[0].foo`).
 *
 * JSON.parse keeps the last of two equal keys and says nothing, so duplicates need the body text:
 * `fieldIssues` is a small scanner over the (already valid) JSON that walks the type table as it
 * goes and skips, without recursion, whatever the table does not describe.
 */
import { ApiError } from '../errors.js'
import { MESSAGES, messageForKind, type FieldDef, type MessageDef } from './index.js'

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict'

/**
 * The directive of a create or update request. Unset means Warn, kube-apiserver's default since
 * 1.27; anything else is 422 as upstream's ValidateCreateOptions/ValidateUpdateOptions answers.
 */
export function parseFieldValidation (value: string | undefined, options: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions' = 'CreateOptions'): FieldValidation {
  if (value === undefined || value === '') return 'Warn'
  if (value === 'Ignore' || value === 'Warn' || value === 'Strict') return value
  throw new ApiError('CTRL_ERR_API_INVALID', `${options}.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "${value}": supported values: "", "Ignore", "Strict", "Warn"`,
    { name: '', group: 'meta.k8s.io', kind: options, causes: [{ type: 'FieldValueNotSupported', message: `Unsupported value: "${value}": supported values: "", "Ignore", "Strict", "Warn"`, field: 'fieldValidation' }] })
}

/** What a value is expected to be, from the table's point of view. */
type Expect =
  | { t: 'message', def: MessageDef }
  | { t: 'list', def: MessageDef }
  | { t: 'map' }
  | { t: 'any' }

const ANY: Expect = { t: 'any' }

function expectOf (f: FieldDef): Expect {
  if (f.type.kind === 'message') {
    const def = messageDefOf(f.type.name)
    if (def === undefined) return ANY
    if (f.shape === 'repeated') return { t: 'list', def }
    if (f.shape === 'map') return ANY
    return { t: 'message', def }
  }
  if (f.shape === 'map') return { t: 'map' }
  return ANY
}

const messageDefOf = (name: string): MessageDef | undefined => MESSAGES.get(name)

class Scanner {
  readonly issues: string[] = []
  #seenUnknown = new Set<string>()
  #pos = 0
  constructor (readonly text: string) {}

  #ws (): void {
    const s = this.text
    while (this.#pos < s.length) {
      const c = s.charCodeAt(this.#pos)
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.#pos++
      else break
    }
  }

  #fail (): never { throw new SyntaxError(`invalid JSON at offset ${this.#pos}`) }

  /** A string token at pos, decoded. */
  #string (): string {
    const s = this.text
    if (s[this.#pos] !== '"') this.#fail()
    const start = this.#pos
    let i = start + 1
    let escaped = false
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (c === 0x5c) { escaped = true; i++; continue }
      if (c === 0x22) break
    }
    if (i >= s.length) this.#fail()
    this.#pos = i + 1
    const raw = s.slice(start + 1, i)
    return escaped ? JSON.parse(s.slice(start, i + 1)) as string : raw
  }

  /** Skips one value of any depth without recursion. */
  #skip (): void {
    const s = this.text
    this.#ws()
    let depth = 0
    do {
      const c = s[this.#pos]
      if (c === undefined) this.#fail()
      if (c === '"') { this.#string(); } else if (c === '{' || c === '[') { depth++; this.#pos++ } else if (c === '}' || c === ']') { depth--; this.#pos++ } else if (c === ',' || c === ':' || c === ' ' || c === '\n' || c === '\r' || c === '\t') { this.#pos++ } else {
        // a literal or number: up to the next delimiter
        while (this.#pos < s.length && !',:]} \n\r\t'.includes(s[this.#pos] as string)) this.#pos++
      }
      if (depth > 0) this.#ws()
    } while (depth > 0)
  }

  value (expect: Expect, path: string): void {
    this.#ws()
    const c = this.text[this.#pos]
    if (c === '{' && (expect.t === 'message' || expect.t === 'map')) return this.#object(expect, path)
    if (c === '[' && expect.t === 'list') return this.#list(expect.def, path)
    this.#skip()
  }

  #object (expect: Expect, path: string): void {
    this.#pos++ // {
    const seen = new Set<string>()
    this.#ws()
    if (this.text[this.#pos] === '}') { this.#pos++; return }
    for (;;) {
      this.#ws()
      const key = this.#string()
      this.#ws()
      if (this.text[this.#pos] !== ':') this.#fail()
      this.#pos++
      const p = path === '' ? key : `${path}.${key}`
      if (expect.t === 'message') {
        const f = expect.def.byJson.get(key)
        if (f === undefined) {
          if (!this.#seenUnknown.has(p)) { this.#seenUnknown.add(p); this.issues.push(`unknown field "${p}"`) }
          this.#skip()
        } else {
          if (seen.has(key)) this.issues.push(`duplicate field "${p}"`)
          this.value(expectOf(f), p)
        }
      } else {
        if (seen.has(key)) this.issues.push(`duplicate field "${p}"`)
        this.#skip()
      }
      seen.add(key)
      this.#ws()
      const d = this.text[this.#pos]
      this.#pos++
      if (d === '}') return
      if (d !== ',') this.#fail()
    }
  }

  #list (def: MessageDef, path: string): void {
    this.#pos++ // [
    this.#ws()
    if (this.text[this.#pos] === ']') { this.#pos++; return }
    for (let i = 0; ; i++) {
      this.value({ t: 'message', def }, `${path}[${i}]`)
      this.#ws()
      const d = this.text[this.#pos]
      this.#pos++
      if (d === ']') return
      if (d !== ',') this.#fail()
    }
  }
}

/**
 * Unknown and duplicate fields of a JSON document for a message, in document order, worded as
 * upstream: `unknown field "spec.foo"`, `duplicate field "metadata.name"`. Throws SyntaxError on
 * text that is not JSON (the caller has parsed it already).
 */
export function fieldIssues (jsonText: string, def: MessageDef): string[] {
  const s = new Scanner(jsonText)
  s.value({ t: 'message', def }, '')
  return s.issues
}

/** Unknown fields of an already parsed value (YAML bodies: the YAML parser refuses duplicates itself). */
export function unknownFieldsOf (value: unknown, def: MessageDef): string[] {
  return fieldIssues(JSON.stringify(value), def)
}

/** Duplicate fields only, for callers that have no schema for the kind: every object is a map. */
export function duplicateFieldsOf (jsonText: string): string[] {
  const s = new Scanner(jsonText)
  s.value({ t: 'map' }, '')
  return s.issues
}

export interface FieldCheck {
  directive: string | undefined
  /** The body as received, for duplicate detection (JSON bodies). */
  text: string
  /** True when `text` is JSON (false for YAML, whose parser already refused duplicates). */
  json: boolean
  /** The parsed body. */
  body: Record<string, unknown>
  /** The kind the endpoint decodes into (upstream's objGVK). */
  resource: { apiVersion: string, kind: string }
  options?: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions'
}

/**
 * Applies `fieldValidation` to a create or update body: with Strict, any issue is 400 BadRequest
 * worded as kube-apiserver's transformDecodeError; with Warn, the issues are returned for
 * `Warning` headers; with Ignore, nothing. Kinds the table does not know are not checked.
 */
export function fieldValidationIssues (c: FieldCheck): string[] {
  const directive = parseFieldValidation(c.directive, c.options)
  if (directive === 'Ignore') return []
  const apiVersion = typeof c.body.apiVersion === 'string' && c.body.apiVersion !== '' ? c.body.apiVersion : c.resource.apiVersion
  const kind = typeof c.body.kind === 'string' && c.body.kind !== '' ? c.body.kind : c.resource.kind
  const def = messageForKind(apiVersion, kind) ?? messageForKind(c.resource.apiVersion, c.resource.kind)
  if (def === undefined) return []
  let issues: string[]
  try {
    issues = c.json ? fieldIssues(c.text, def) : unknownFieldsOf(c.body, def)
  } catch {
    issues = unknownFieldsOf(c.body, def)
  }
  if (issues.length === 0 || directive === 'Warn') return issues
  const version = apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion
  throw new ApiError('CTRL_ERR_API_BAD_REQUEST', `${kind} in version "${version}" cannot be handled as a ${c.resource.kind}: strict decoding error: ${issues.join(', ')}`)
}

/**
 * A `Warning` header value (RFC 7234 warn-code 299, agent "-"), as kube-apiserver writes them.
 * Non-ASCII is escaped (`\u00e9`): header values must be bytes, and an unknown field's name is
 * whatever the client sent.
 */
export function warningHeader (text: string): string {
  return `299 - ${JSON.stringify(text).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}`
}
