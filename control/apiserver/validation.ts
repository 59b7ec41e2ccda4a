/**
 * Validation as kube-apiserver's pkg/apis/<group>/validation does it, for the
 * fields that matter to clients of this server: object meta (names, labels,
 * annotations), and each kind's required fields and value ranges. Returns
 * field errors in upstream's wording (`Required value`, `Invalid value: ...`,
 * `Unsupported value: ...`), which the server turns into a 422 Invalid Status.
 */
import type { StatusCause } from './errors.js'
import { isLabelKey, isLabelValue } from './selectors.js'
import type { ResourceInfo } from './resources.js'

export type Obj = Record<string, unknown>

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const dns1035Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/

export function dns1123SubdomainErrors (v: string): string[] {
  const e: string[] = []
  if (v.length > 253) e.push('must be no more than 253 characters')
  if (!dns1123Subdomain.test(v)) e.push("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
  return e
}
export function dns1123LabelErrors (v: string): string[] {
  const e: string[] = []
  if (v.length > 63) e.push('must be no more than 63 characters')
  if (!dns1123Label.test(v)) e.push("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
  return e
}
export function dns1035LabelErrors (v: string): string[] {
  const e: string[] = []
  if (v.length > 63) e.push('must be no more than 63 characters')
  if (!dns1035Label.test(v)) e.push("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
  return e
}

export class FieldErrors {
  readonly list: StatusCause[] = []
  required (field: string, detail = ''): void { this.list.push({ type: 'FieldValueRequired', message: `Required value${detail !== '' ? `: ${detail}` : ''}`, field }) }
  invalid (field: string, value: unknown, detail: string): void {
    this.list.push({ type: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${detail}`, field })
  }
  unsupported (field: string, value: unknown, allowed: string[]): void {
    this.list.push({ type: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(', ')}`, field })
  }
  duplicate (field: string, value: unknown): void { this.list.push({ type: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(value)}`, field }) }
  forbidden (field: string, detail: string): void { this.list.push({ type: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field }) }
  typeInvalid (field: string, value: unknown, want: string): void { this.invalid(field, value, `must be ${want}`) }
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const isStr = (v: unknown): v is string => typeof v === 'string'
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v)

function stringMap (errs: FieldErrors, field: string, v: unknown, check?: (k: string, val: string) => void): void {
  if (v === undefined || v === null) return
  if (!isObj(v)) { errs.typeInvalid(field, v, 'an object of strings'); return }
  for (const [k, val] of Object.entries(v)) {
    if (!isStr(val)) { errs.typeInvalid(`${field}[${k}]`, val, 'a string'); continue }
    check?.(k, val)
  }
}

/** metadata: name (per kind), namespace, labels, annotations, generateName, finalizers, ownerReferences. */
export function validateMeta (errs: FieldErrors, info: ResourceInfo, obj: Obj, nameRule: 'subdomain' | 'label' | 'dns1035' | 'any-segment'): void {
  const meta = obj.metadata
  if (!isObj(meta)) { errs.required('metadata'); return }
  const name = meta.name
  if (!isStr(name) || name === '') {
    errs.required('metadata.name', 'name or generateName is required')
  } else {
    const problems = nameRule === 'subdomain'
      ? dns1123SubdomainErrors(name)
      : nameRule === 'label' ? dns1123LabelErrors(name) : nameRule === 'dns1035' ? dns1035LabelErrors(name) : (/[/%]/.test(name) || name === '.' || name === '..' ? ['may not contain \'/\' or \'%\''] : [])
    for (const p of problems) errs.invalid('metadata.name', name, p)
  }
  if (info.namespaced) {
    if (!isStr(meta.namespace) || meta.namespace === '') errs.required('metadata.namespace')
  } else if (meta.namespace !== undefined && meta.namespace !== '') {
    errs.forbidden('metadata.namespace', 'not allowed on this type')
  }
  stringMap(errs, 'metadata.labels', meta.labels, (k, v) => {
    if (!isLabelKey(k)) errs.invalid('metadata.labels', k, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')")
    if (!isLabelValue(v)) errs.invalid('metadata.labels', v, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
  })
  let annotationBytes = 0
  stringMap(errs, 'metadata.annotations', meta.annotations, (k, v) => {
    if (!isLabelKey(k)) errs.invalid('metadata.annotations', k, 'name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character')
    annotationBytes += k.length + Buffer.byteLength(v)
  })
  if (annotationBytes > 256 * 1024) errs.list.push({ type: 'FieldValueTooLong', message: 'Too long: must have at most 262144 bytes', field: 'metadata.annotations' })
  if (meta.finalizers !== undefined) {
    if (!Array.isArray(meta.finalizers) || !meta.finalizers.every(isStr)) errs.typeInvalid('metadata.finalizers', meta.finalizers, 'a list of strings')
  }
  if (meta.ownerReferences !== undefined) {
    if (!Array.isArray(meta.ownerReferences)) errs.typeInvalid('metadata.ownerReferences', meta.ownerReferences, 'a list')
    else {
      meta.ownerReferences.forEach((o: unknown, i) => {
        const f = `metadata.ownerReferences[${i}]`
        if (!isObj(o)) { errs.typeInvalid(f, o, 'an object'); return }
        for (const k of ['apiVersion', 'kind', 'name', 'uid']) if (!isStr(o[k]) || o[k] === '') errs.required(`${f}.${k}`)
      })
      const controllers = meta.ownerReferences.filter((o: unknown) => isObj(o) && o.controller === true)
      if (controllers.length > 1) errs.invalid('metadata.ownerReferences', controllers.length, 'Only one reference can have Controller set to true')
    }
  }
}

const protocols = ['TCP', 'UDP', 'SCTP']

function validatePort (errs: FieldErrors, field: string, v: unknown, allowZero = false): void {
  if (!isInt(v) || v < (allowZero ? 0 : 1) || v > 65535) errs.invalid(field, v, 'must be between 1 and 65535, inclusive')
}

function validateContainers (errs: FieldErrors, field: string, list: unknown, required: boolean): void {
  if (list === undefined || list === null) { if (required) errs.required(field); return }
  if (!Array.isArray(list)) { errs.typeInvalid(field, list, 'a list'); return }
  if (required && list.length === 0) errs.required(field)
  const names = new Set<string>()
  list.forEach((c: unknown, i) => {
    const f = `${field}[${i}]`
    if (!isObj(c)) { errs.typeInvalid(f, c, 'an object'); return }
    if (!isStr(c.name) || c.name === '') errs.required(`${f}.name`)
    else {
      for (const p of dns1123LabelErrors(c.name)) errs.invalid(`${f}.name`, c.name, p)
      if (names.has(c.name)) errs.duplicate(`${f}.name`, c.name)
      names.add(c.name)
    }
    if (!isStr(c.image) || c.image.trim() === '') errs.required(`${f}.image`)
    for (const k of ['command', 'args']) {
      if (c[k] !== undefined && (!Array.isArray(c[k]) || !(c[k] as unknown[]).every(isStr))) errs.typeInvalid(`${f}.${k}`, c[k], 'a list of strings')
    }
    if (c.ports !== undefined) {
      if (!Array.isArray(c.ports)) errs.typeInvalid(`${f}.ports`, c.ports, 'a list')
      else {
        c.ports.forEach((p: unknown, j) => {
          const pf = `${f}.ports[${j}]`
          if (!isObj(p)) { errs.typeInvalid(pf, p, 'an object'); return }
          validatePort(errs, `${pf}.containerPort`, p.containerPort)
          if (p.protocol !== undefined && !protocols.includes(p.protocol as string)) errs.unsupported(`${pf}.protocol`, p.protocol, protocols)
          if (p.hostPort !== undefined) validatePort(errs, `${pf}.hostPort`, p.hostPort, true)
        })
      }
    }
    if (c.env !== undefined) {
      if (!Array.isArray(c.env)) errs.typeInvalid(`${f}.env`, c.env, 'a list')
      else c.env.forEach((e: unknown, j) => { if (!isObj(e) || !isStr(e.name) || e.name === '') errs.required(`${f}.env[${j}].name`) })
    }
  })
}

function validatePodSpec (errs: FieldErrors, field: string, spec: unknown): void {
  if (!isObj(spec)) { errs.required(field); return }
  validateContainers(errs, `${field}.containers`, spec.containers, true)
  validateContainers(errs, `${field}.initContainers`, spec.initContainers, false)
  const rp = spec.restartPolicy
  if (rp !== undefined && !['Always', 'OnFailure', 'Never'].includes(rp as string)) errs.unsupported(`${field}.restartPolicy`, rp, ['Always', 'OnFailure', 'Never'])
  if (spec.nodeSelector !== undefined) stringMap(errs, `${field}.nodeSelector`, spec.nodeSelector)
  if (spec.terminationGracePeriodSeconds !== undefined && (!isInt(spec.terminationGracePeriodSeconds) || spec.terminationGracePeriodSeconds < 0)) {
    errs.invalid(`${field}.terminationGracePeriodSeconds`, spec.terminationGracePeriodSeconds, 'must be greater than or equal to 0')
  }
  if (spec.nodeName !== undefined && spec.nodeName !== '' && isStr(spec.nodeName)) for (const p of dns1123SubdomainErrors(spec.nodeName)) errs.invalid(`${field}.nodeName`, spec.nodeName, p)
}

function validateSelectorAndTemplate (errs: FieldErrors, spec: Obj): void {
  const sel = spec.selector
  if (!isObj(sel) || (Object.keys((sel.matchLabels as Obj | undefined) ?? {}).length === 0 && !Array.isArray(sel.matchExpressions))) {
    errs.required('spec.selector')
  }
  const tpl = spec.template
  if (!isObj(tpl)) { errs.required('spec.template'); return }
  const labels = (isObj(tpl.metadata) ? tpl.metadata.labels : undefined) as Record<string, string> | undefined
  if (isObj(sel) && isObj(sel.matchLabels)) {
    for (const [k, v] of Object.entries(sel.matchLabels)) {
      if (labels?.[k] !== v) { errs.invalid('spec.template.metadata.labels', labels ?? {}, '`selector` does not match template `labels`'); break }
    }
  }
  validatePodSpec(errs, 'spec.template.spec', tpl.spec)
  const rp = isObj(tpl.spec) ? tpl.spec.restartPolicy : undefined
  if (rp !== undefined && rp !== 'Always') errs.unsupported('spec.template.spec.restartPolicy', rp, ['Always'])
  if (spec.replicas !== undefined && (!isInt(spec.replicas) || spec.replicas < 0)) errs.invalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0')
}

const serviceTypes = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']

function validateService (errs: FieldErrors, obj: Obj): void {
  const spec = obj.spec
  if (!isObj(spec)) { errs.required('spec'); return }
  const type = spec.type ?? 'ClusterIP'
  if (!serviceTypes.includes(type as string)) errs.unsupported('spec.type', type, serviceTypes)
  if (type === 'ExternalName') {
    if (!isStr(spec.externalName) || spec.externalName === '') errs.required('spec.externalName')
    return
  }
  const ports = spec.ports
  const headless = spec.clusterIP === 'None'
  if (!Array.isArray(ports) || ports.length === 0) {
    if (!headless) errs.required('spec.ports')
    return
  }
  const names = new Set<string>()
  const seen = new Set<string>()
  ports.forEach((p: unknown, i) => {
    const f = `spec.ports[${i}]`
    if (!isObj(p)) { errs.typeInvalid(f, p, 'an object'); return }
    if (ports.length > 1 && (!isStr(p.name) || p.name === '')) errs.required(`${f}.name`)
    if (isStr(p.name) && p.name !== '') {
      for (const e of dns1123LabelErrors(p.name)) errs.invalid(`${f}.name`, p.name, e)
      if (names.has(p.name)) errs.duplicate(`${f}.name`, p.name)
      names.add(p.name)
    }
    validatePort(errs, `${f}.port`, p.port)
    const proto = p.protocol ?? 'TCP'
    if (!protocols.includes(proto as string)) errs.unsupported(`${f}.protocol`, proto, protocols)
    const k = `${String(p.port)}/${String(proto)}`
    if (seen.has(k)) errs.duplicate(f, { port: p.port, protocol: proto })
    seen.add(k)
    if (p.targetPort !== undefined && !(isInt(p.targetPort) && p.targetPort >= 1 && p.targetPort <= 65535) && !(isStr(p.targetPort) && p.targetPort !== '' && p.targetPort.length <= 15)) {
      errs.invalid(`${f}.targetPort`, p.targetPort, 'must contain between 1 and 65535 or a port name of at most 15 characters')
    }
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (type === 'ClusterIP') errs.forbidden(`${f}.nodePort`, 'may not be used when `type` is \'ClusterIP\'')
    }
  })
  if (spec.selector !== undefined) stringMap(errs, 'spec.selector', spec.selector)
  const aff = spec.sessionAffinity
  if (aff !== undefined && aff !== 'None' && aff !== 'ClientIP') errs.unsupported('spec.sessionAffinity', aff, ['ClientIP', 'None'])
  for (const k of ['externalTrafficPolicy', 'internalTrafficPolicy']) {
    const v = spec[k]
    if (v !== undefined && v !== 'Cluster' && v !== 'Local') errs.unsupported(`spec.${k}`, v, ['Cluster', 'Local'])
  }
  if (spec.externalTrafficPolicy === 'Local' && type === 'ClusterIP') errs.invalid('spec.externalTrafficPolicy', 'Local', 'may only be set when `type` is \'NodePort\' or \'LoadBalancer\'')
}

function validateSecret (errs: FieldErrors, obj: Obj): void {
  stringMap(errs, 'data', obj.data, (k, v) => {
    if (!/^[-._a-zA-Z0-9]+$/.test(k)) errs.invalid('data', k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'")
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) errs.invalid(`data[${k}]`, '<secret>', 'illegal base64 data')
  })
  stringMap(errs, 'stringData', obj.stringData)
}

function validateConfigMap (errs: FieldErrors, obj: Obj): void {
  const keys = new Set<string>()
  const check = (field: string) => (k: string): void => {
    if (!/^[-._a-zA-Z0-9]+$/.test(k) || k.length > 253) errs.invalid(field, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
    if (keys.has(k)) errs.invalid(field, k, 'duplicate of key present in data')
    keys.add(k)
  }
  stringMap(errs, 'data', obj.data, check('data'))
  stringMap(errs, 'binaryData', obj.binaryData, check('binaryData'))
}

function validateEndpointSlice (errs: FieldErrors, obj: Obj): void {
  const at = obj.addressType
  if (at === undefined) errs.required('addressType')
  else if (!['IPv4', 'IPv6', 'FQDN'].includes(at as string)) errs.unsupported('addressType', at, ['FQDN', 'IPv4', 'IPv6'])
  const eps = obj.endpoints
  if (eps !== undefined && eps !== null) {
    if (!Array.isArray(eps)) errs.typeInvalid('endpoints', eps, 'a list')
    else if (eps.length > 1000) errs.list.push({ type: 'FieldValueTooMany', message: `Too many: ${eps.length}: must have at most 1000 items`, field: 'endpoints' })
    else {
      eps.forEach((e: unknown, i) => {
        if (!isObj(e) || !Array.isArray(e.addresses) || e.addresses.length === 0) errs.required(`endpoints[${i}].addresses`, 'must contain at least 1 address')
        else if (e.addresses.length > 100) errs.invalid(`endpoints[${i}].addresses`, e.addresses.length, 'must contain at most 100 addresses')
      })
    }
  }
}

function validateNode (errs: FieldErrors, obj: Obj): void {
  const spec = obj.spec
  if (spec !== undefined && !isObj(spec)) errs.typeInvalid('spec', spec, 'an object')
  if (isObj(spec) && Array.isArray(spec.taints)) {
    spec.taints.forEach((t: unknown, i) => {
      if (!isObj(t) || !isStr(t.key) || t.key === '') errs.required(`spec.taints[${i}].key`)
      else if (!['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(t.effect as string)) errs.unsupported(`spec.taints[${i}].effect`, t.effect, ['NoExecute', 'NoSchedule', 'PreferNoSchedule'])
    })
  }
}

function validateEvent (errs: FieldErrors, obj: Obj): void {
  if (!isObj(obj.involvedObject)) errs.required('involvedObject')
  const type = obj.type
  if (type !== undefined && type !== 'Normal' && type !== 'Warning') errs.unsupported('type', type, ['Normal', 'Warning'])
}

/** The name rule of each kind, as upstream's ValidateObjectMeta callers choose it. */
export function nameRuleOf (kind: string): 'subdomain' | 'label' | 'dns1035' | 'any-segment' {
  switch (kind) {
    case 'Namespace': return 'label'
    case 'Service': return 'dns1035'
    case 'Node': case 'Event': return 'any-segment'
    default: return 'subdomain'
  }
}

/** All field errors of `obj` as the kind it claims to be. */
export function validateObject (info: ResourceInfo, obj: Obj): StatusCause[] {
  const errs = new FieldErrors()
  validateMeta(errs, info, obj, nameRuleOf(info.kind))
  switch (info.kind) {
    case 'Pod': validatePodSpec(errs, 'spec', obj.spec); break
    case 'Service': validateService(errs, obj); break
    case 'Deployment': case 'ReplicaSet':
      if (!isObj(obj.spec)) errs.required('spec')
      else validateSelectorAndTemplate(errs, obj.spec)
      break
    case 'Secret': validateSecret(errs, obj); break
    case 'ConfigMap': validateConfigMap(errs, obj); break
    case 'EndpointSlice': validateEndpointSlice(errs, obj); break
    case 'Node': validateNode(errs, obj); break
    case 'Event': validateEvent(errs, obj); break
    case 'Lease': {
      const spec = obj.spec
      if (isObj(spec) && spec.leaseDurationSeconds !== undefined && (!isInt(spec.leaseDurationSeconds) || spec.leaseDurationSeconds <= 0)) {
        errs.invalid('spec.leaseDurationSeconds', spec.leaseDurationSeconds, 'must be greater than 0')
      }
      break
    }
  }
  return errs.list
}
