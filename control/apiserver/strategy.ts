/**
 * Per-kind rules kube-apiserver's REST strategies apply around storage
 * (pkg/registry/<group>/<resource>/strategy.go): defaults, what a create
 * resets, what an update may change, when `generation` moves, and the fields
 * each kind offers to field selectors.
 */
import type { ResourceInfo } from './resources.js'
import type { Obj } from './validation.js'
import { FieldErrors } from './validation.js'
import type { StatusCause } from './errors.js'

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const clone = <T>(v: T): T => structuredClone(v)

export function meta (obj: Obj): Obj {
  if (!isObj(obj.metadata)) obj.metadata = {}
  return obj.metadata as Obj
}

// ---------------------------------------------------------------- defaults

function defaultContainer (c: Obj): void {
  c.terminationMessagePath ??= '/dev/termination-log'
  c.terminationMessagePolicy ??= 'File'
  if (c.imagePullPolicy === undefined && typeof c.image === 'string') {
    const ref = c.image.split('@')[0] as string
    const tag = ref.lastIndexOf(':') > ref.lastIndexOf('/') ? ref.slice(ref.lastIndexOf(':') + 1) : ''
    c.imagePullPolicy = tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent'
  }
  c.resources ??= {}
  if (Array.isArray(c.ports)) for (const p of c.ports) if (isObj(p)) p.protocol ??= 'TCP'
}

export function defaultPodSpec (spec: Obj): void {
  spec.restartPolicy ??= 'Always'
  spec.dnsPolicy ??= 'ClusterFirst'
  spec.terminationGracePeriodSeconds ??= 30
  spec.schedulerName ??= 'default-scheduler'
  spec.securityContext ??= {}
  spec.enableServiceLinks ??= true
  for (const list of ['containers', 'initContainers']) {
    const cs = spec[list]
    if (Array.isArray(cs)) for (const c of cs) if (isObj(c)) defaultContainer(c)
  }
}

function defaultPod (pod: Obj): void {
  const spec = isObj(pod.spec) ? pod.spec : (pod.spec = {}) as Obj
  defaultPodSpec(spec)
  spec.serviceAccountName ??= 'default'
  spec.priority ??= 0
  // DefaultTolerationSeconds admission: evict from NotReady/unreachable nodes after 300 s.
  const tol = Array.isArray(spec.tolerations) ? spec.tolerations as Obj[] : []
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!tol.some((t) => t.key === key && (t.effect === 'NoExecute' || t.effect === undefined))) {
      tol.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 })
    }
  }
  spec.tolerations = tol
}

function qosClass (spec: Obj): string {
  const cs = [...(Array.isArray(spec.containers) ? spec.containers : []), ...(Array.isArray(spec.initContainers) ? spec.initContainers : [])] as Obj[]
  let any = false
  let guaranteed = cs.length > 0
  for (const c of cs) {
    const r = isObj(c.resources) ? c.resources : {}
    const req = isObj(r.requests) ? r.requests : {}
    const lim = isObj(r.limits) ? r.limits : {}
    if (Object.keys(req).length > 0 || Object.keys(lim).length > 0) any = true
    for (const res of ['cpu', 'memory']) {
      if (lim[res] === undefined || (req[res] !== undefined && req[res] !== lim[res])) guaranteed = false
    }
  }
  return !any ? 'BestEffort' : guaranteed ? 'Guaranteed' : 'Burstable'
}

function defaultService (svc: Obj): void {
  const spec = isObj(svc.spec) ? svc.spec : (svc.spec = {}) as Obj
  spec.type ??= 'ClusterIP'
  if (spec.type === 'ExternalName') return
  spec.sessionAffinity ??= 'None'
  if (spec.sessionAffinity === 'ClientIP') {
    const cfg = isObj(spec.sessionAffinityConfig) ? spec.sessionAffinityConfig : (spec.sessionAffinityConfig = {}) as Obj
    const ip = isObj(cfg.clientIP) ? cfg.clientIP : (cfg.clientIP = {}) as Obj
    ip.timeoutSeconds ??= 10800
  }
  spec.internalTrafficPolicy ??= 'Cluster'
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster'
  if (Array.isArray(spec.ports)) {
    for (const p of spec.ports) {
      if (!isObj(p)) continue
      p.protocol ??= 'TCP'
      p.targetPort ??= p.port
    }
  }
}

function defaultDeploymentLike (o: Obj, kind: string): void {
  const spec = isObj(o.spec) ? o.spec : (o.spec = {}) as Obj
  spec.replicas ??= 1
  if (kind === 'Deployment') {
    const st = isObj(spec.strategy) ? spec.strategy : (spec.strategy = {}) as Obj
    st.type ??= 'RollingUpdate'
    if (st.type === 'RollingUpdate') {
      const ru = isObj(st.rollingUpdate) ? st.rollingUpdate : (st.rollingUpdate = {}) as Obj
      ru.maxUnavailable ??= '25%'
      ru.maxSurge ??= '25%'
    }
    spec.revisionHistoryLimit ??= 10
    spec.progressDeadlineSeconds ??= 600
  }
  const tpl = isObj(spec.template) ? spec.template : undefined
  if (tpl !== undefined) {
    if (isObj(tpl.spec)) defaultPodSpec(tpl.spec)
    tpl.metadata ??= {}
  }
}

/** Upstream's SetDefaults_* for the fields clients read back. */
export function applyDefaults (info: ResourceInfo, obj: Obj): void {
  switch (info.kind) {
    case 'Pod': defaultPod(obj); break
    case 'Service': defaultService(obj); break
    case 'Deployment': case 'ReplicaSet': defaultDeploymentLike(obj, info.kind); break
    case 'Secret': obj.type ??= 'Opaque'; break
    case 'Namespace': {
      const spec = isObj(obj.spec) ? obj.spec : (obj.spec = {}) as Obj
      spec.finalizers ??= ['kubernetes']
      const labels = isObj(meta(obj).labels) ? meta(obj).labels as Obj : (meta(obj).labels = {}) as Obj
      labels['kubernetes.io/metadata.name'] = meta(obj).name
      break
    }
    case 'Event': {
      obj.type ??= 'Normal'
      obj.count ??= 1
      break
    }
  }
}

// ---------------------------------------------------------------- create / update

/** What a create resets (PrepareForCreate). */
export function prepareForCreate (info: ResourceInfo, obj: Obj): void {
  switch (info.kind) {
    case 'Pod': obj.status = { phase: 'Pending', qosClass: qosClass(obj.spec as Obj) }; break
    case 'Service': obj.status = { loadBalancer: {} }; break
    case 'Deployment': case 'ReplicaSet': obj.status = {}; break
    case 'Namespace': obj.status = { phase: 'Active' }; break
    case 'Secret': foldStringData(obj); break
  }
}

function foldStringData (obj: Obj): void {
  if (!isObj(obj.stringData)) return
  const data = isObj(obj.data) ? obj.data : (obj.data = {}) as Obj
  for (const [k, v] of Object.entries(obj.stringData)) data[k] = Buffer.from(String(v)).toString('base64')
  delete obj.stringData
}

/** Has the part of the object that `generation` tracks changed? (everything but metadata and status) */
export function specChanged (a: Obj, b: Obj): boolean {
  const strip = (o: Obj): string => {
    const { metadata: _m, status: _s, ...rest } = o
    return JSON.stringify(sortKeys(rest))
  }
  return strip(a) !== strip(b)
}

/**
 * Merge an update of the main resource onto the stored object
 * (PrepareForUpdate): status is kept where a status subresource owns it,
 * identity and system metadata are kept; returns validation errors of the
 * transition (immutable fields).
 */
export function prepareForUpdate (info: ResourceInfo, next: Obj, old: Obj): StatusCause[] {
  const errs = new FieldErrors()
  const hasStatus = info.subresources.some((s) => s.name === 'status')
  // Nodes may set status with the object (kubelets register that way); elsewhere /status owns it.
  if (hasStatus && info.kind !== 'Node') next.status = clone(old.status)
  if (info.kind === 'Secret') foldStringData(next)
  keepSystemMeta(next, old)
  switch (info.kind) {
    case 'Pod': podUpdateRules(errs, next, old); break
    case 'Service': serviceUpdateRules(errs, next, old); break
    case 'Deployment': case 'ReplicaSet': {
      const a = JSON.stringify((old.spec as Obj | undefined)?.selector)
      const b = JSON.stringify((next.spec as Obj | undefined)?.selector)
      if (a !== b) errs.invalid('spec.selector', (next.spec as Obj | undefined)?.selector, 'field is immutable')
      break
    }
    case 'Namespace': {
      // spec.finalizers changes only through /finalize
      next.spec = clone(old.spec)
      break
    }
  }
  return errs.list
}

/** A write to /status: only status changes (plus labels/annotations for Node, as upstream allows). */
export function prepareForStatusUpdate (info: ResourceInfo, next: Obj, old: Obj): Obj {
  const out = clone(old)
  out.status = clone(next.status)
  const nm = meta(next)
  const om = meta(out)
  if (nm.resourceVersion !== undefined) om.resourceVersion = nm.resourceVersion
  // kubelets patch node labels/annotations through status; upstream keeps them on status updates for nodes.
  if (info.kind === 'Node') { om.labels = nm.labels; om.annotations = nm.annotations }
  return out
}

function keepSystemMeta (next: Obj, old: Obj): void {
  const nm = meta(next)
  const om = meta(old)
  for (const k of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'name', 'namespace']) {
    if (om[k] === undefined) delete nm[k]
    else nm[k] = om[k]
  }
}

function podUpdateRules (errs: FieldErrors, next: Obj, old: Obj): void {
  const ns = clone((next.spec ?? {}) as Obj)
  const os = clone((old.spec ?? {}) as Obj)
  // Updatable: images, activeDeadlineSeconds, added tolerations; nodeName only via binding.
  for (const list of ['containers', 'initContainers']) {
    const a = ns[list]
    const b = os[list]
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
      a.forEach((c, i) => { if (isObj(c) && isObj(b[i])) c.image = (b[i] as Obj).image })
    }
  }
  ns.activeDeadlineSeconds = os.activeDeadlineSeconds
  const ot = Array.isArray(os.tolerations) ? os.tolerations as unknown[] : []
  const nt = Array.isArray(ns.tolerations) ? ns.tolerations as unknown[] : []
  if (ot.every((t) => nt.some((u) => JSON.stringify(u) === JSON.stringify(t)))) ns.tolerations = os.tolerations
  if (JSON.stringify(sortKeys(ns)) !== JSON.stringify(sortKeys(os))) {
    errs.forbidden('spec', 'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)')
  }
}

function sortKeys (v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (!isObj(v)) return v
  const out: Obj = {}
  for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k])
  return out
}

function serviceUpdateRules (errs: FieldErrors, next: Obj, old: Obj): void {
  const ns = isObj(next.spec) ? next.spec : (next.spec = {}) as Obj
  const os = (old.spec ?? {}) as Obj
  // An update that leaves clusterIP out keeps the allocated one (kubectl apply does this).
  if ((ns.clusterIP === undefined || ns.clusterIP === '') && os.clusterIP !== undefined && ns.type !== 'ExternalName') {
    ns.clusterIP = os.clusterIP
    ns.clusterIPs = os.clusterIPs
  }
  if (ns.clusterIPs === undefined && ns.clusterIP === os.clusterIP) ns.clusterIPs = os.clusterIPs
  if (os.clusterIP !== undefined && os.clusterIP !== '' && ns.clusterIP !== os.clusterIP && ns.type !== 'ExternalName' && os.type !== 'ExternalName') {
    errs.invalid('spec.clusterIPs[0]', ns.clusterIP, 'may not change once set')
  }
  ns.ipFamilies ??= os.ipFamilies
  ns.ipFamilyPolicy ??= os.ipFamilyPolicy
  // Keep allocated node ports when the update omits them, matched by port and protocol.
  if (Array.isArray(ns.ports) && Array.isArray(os.ports)) {
    for (const p of ns.ports as Obj[]) {
      if (!isObj(p) || (p.nodePort !== undefined && p.nodePort !== 0)) continue
      const prev = (os.ports as Obj[]).find((q) => q.port === p.port && (q.protocol ?? 'TCP') === (p.protocol ?? 'TCP')) ??
        (os.ports as Obj[]).find((q) => q.name !== undefined && q.name === p.name)
      if (prev?.nodePort !== undefined && (ns.type === 'NodePort' || ns.type === 'LoadBalancer')) p.nodePort = prev.nodePort
    }
  }
  if (ns.healthCheckNodePort === undefined && os.healthCheckNodePort !== undefined && ns.externalTrafficPolicy === 'Local') ns.healthCheckNodePort = os.healthCheckNodePort
}

// ---------------------------------------------------------------- field selectors

const common = ['metadata.name', 'metadata.namespace']
const extraFields: Record<string, string[]> = {
  Pod: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.podIPs', 'status.nominatedNodeName'],
  Event: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
  Secret: ['type'],
  Node: ['spec.unschedulable'],
  Namespace: ['status.phase'],
  ReplicaSet: ['status.replicas'],
  Service: ['spec.clusterIP', 'spec.type']
}

export function supportsField (info: ResourceInfo, field: string): boolean {
  return common.includes(field) || (extraFields[info.kind] ?? []).includes(field)
}

function dig (o: unknown, path: string): unknown {
  let cur = o
  for (const p of path.split('.')) cur = isObj(cur) ? cur[p] : undefined
  return cur
}

/** The field-selector view of an object: every supported field as the string kube-apiserver compares. */
export function selectableFields (info: ResourceInfo, obj: Obj): Record<string, string> {
  const m = meta(obj)
  const out: Record<string, string> = {
    'metadata.name': String(m.name ?? ''),
    'metadata.namespace': String(m.namespace ?? '')
  }
  for (const f of extraFields[info.kind] ?? []) {
    let v = dig(obj, f)
    if (f === 'status.podIPs') v = Array.isArray(v) ? (v as Obj[]).map((x) => x.ip).join(',') : ''
    if (f === 'source') v = dig(obj, 'source.component') ?? obj.reportingComponent
    if (f === 'spec.hostNetwork' || f === 'spec.unschedulable') v = v === true ? 'true' : 'false'
    out[f] = v === undefined || v === null ? '' : String(v)
  }
  return out
}
