/**
 * Column definitions and row printers for every served kind: a port of
 * kubernetes `pkg/printers/internalversion/printers.go` (1.32). Rows always
 * carry every column, wide ones included, as the API server's TableConvertor
 * does (`GenerateOptions{Wide: true}`); kubectl hides priority-1 columns unless
 * `-o wide`.
 *
 * Objects arrive as stored JSON (v1 wire form). Where the API server's
 * defaulting would have filled a field (Service type, port protocol, replicas,
 * Secret type, Namespace phase) the printer applies the same default, so an
 * object stored without it prints as a defaulted one would.
 */
import { formatLabels, formatLabelSelector, selectorString, type LabelSelector } from './labels.js'
import { humanDuration, parseTime, translateTimestampSince } from './duration.js'
import type { Printer, PrintedRow, TableCell, TableColumnDefinition, TableRowCondition } from './types.js'

type Obj = Record<string, unknown>

// ---- column definitions -------------------------------------------------

const NAME_DESC = 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names'
const AGE_DESC = 'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata'
const CONTAINERS_DESC = 'Names of each container in the template.'
const IMAGES_DESC = 'Images referenced by each container in the template.'

function col (name: string, type: string, description: string, priority = 0, format = ''): TableColumnDefinition {
  return { name, type, format, description, priority }
}
const nameCol = (priority = 0): TableColumnDefinition => col('Name', 'string', NAME_DESC, priority, 'name')
const ageCol = (): TableColumnDefinition => col('Age', 'string', AGE_DESC)

// ---- small accessors ------------------------------------------------------

const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Obj : {})
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : [])
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
const str = (v: unknown, dflt = ''): string => (typeof v === 'string' ? v : dflt)
const num = (v: unknown, dflt = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : dflt)
const bool = (v: unknown): boolean => v === true
const meta = (o: Obj): Obj => obj(o.metadata)
const nameOf = (o: Obj): string => str(meta(o).name)
const age = (o: Obj, now: Date): string => translateTimestampSince(meta(o).creationTimestamp, now)
const countKeys = (v: unknown): number => Object.keys(obj(v)).length

/** `layoutContainerCells`: names and images joined by commas. */
function layoutContainerCells (containers: Obj[]): [string, string] {
  return [containers.map((c) => str(c.name)).join(','), containers.map((c) => str(c.image)).join(',')]
}

/** `net.JoinHostPort`: brackets around IPv6 literals. */
const joinHostPort = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)

/** `listWithMoreString`: `a,b,c + N more...`, `<unset>` when empty. */
function listWithMore (list: string[], more: boolean, count: number, max: number): string {
  const ret = list.join(',')
  if (more) return `${ret} + ${count - max} more...`
  return ret === '' ? '<unset>' : ret
}

// ---- Pod -----------------------------------------------------------------

const podSuccessConditions: TableRowCondition[] = [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }]
const podFailedConditions: TableRowCondition[] = [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }]

const isRestartableInitContainer = (c: Obj | undefined): boolean => c !== undefined && c.restartPolicy === 'Always'
const hasCondition = (conditions: Obj[], type: string): boolean =>
  conditions.some((c) => c.type === type && c.status === 'True')
/** `isPodInitializedConditionTrue`: the first condition of the type decides. */
const firstConditionTrue = (conditions: Obj[], type: string): boolean =>
  conditions.find((c) => c.type === type)?.status === 'True'
const isPodPhaseTerminal = (phase: string): boolean => phase === 'Succeeded' || phase === 'Failed'

/** The text of a terminated container state without a reason: `Signal:9` or `ExitCode:1` (with a prefix for init). */
function terminatedText (t: Obj, prefix: string): string {
  const reason = str(t.reason)
  if (reason !== '') return prefix + reason
  const signal = num(t.signal)
  return signal !== 0 ? `${prefix}Signal:${signal}` : `${prefix}ExitCode:${num(t.exitCode)}`
}

export function printPod (pod: Obj, now: Date): PrintedRow {
  const spec = obj(pod.spec)
  const status = obj(pod.status)
  const conditions = arr(status.conditions)
  const specContainers = arr(spec.containers)
  const specInit = arr(spec.initContainers)
  let restarts = 0
  let restartableInitRestarts = 0
  let totalContainers = specContainers.length
  let readyContainers = 0
  let lastRestart: number | undefined
  let lastRestartableInitRestart: number | undefined
  const later = (a: number | undefined, b: number | undefined): number | undefined =>
    b === undefined ? a : a === undefined || b > a ? b : a

  const phase = str(status.phase)
  let reason = phase
  if (str(status.reason) !== '') reason = str(status.reason)
  // {type: PodScheduled, reason: SchedulingGated} reads as SchedulingGated.
  for (const c of conditions) {
    if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated'
  }

  let rowConditions: TableRowCondition[] | undefined
  if (phase === 'Succeeded') rowConditions = podSuccessConditions
  else if (phase === 'Failed') rowConditions = podFailedConditions

  const initByName = new Map<string, Obj>()
  for (const c of specInit) {
    initByName.set(str(c.name), c)
    if (isRestartableInitContainer(c)) totalContainers++
  }

  let initializing = false
  const initStatuses = arr(status.initContainerStatuses)
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i] as Obj
    const state = obj(cs.state)
    const lastTerminated = obj(cs.lastState).terminated
    restarts += num(cs.restartCount)
    if (lastTerminated !== undefined) lastRestart = later(lastRestart, parseTime(obj(lastTerminated).finishedAt))
    const restartable = isRestartableInitContainer(initByName.get(str(cs.name)))
    if (restartable) {
      restartableInitRestarts += num(cs.restartCount)
      if (lastTerminated !== undefined) lastRestartableInitRestart = later(lastRestartableInitRestart, parseTime(obj(lastTerminated).finishedAt))
    }
    const terminated = state.terminated !== undefined ? obj(state.terminated) : undefined
    const waiting = state.waiting !== undefined ? obj(state.waiting) : undefined
    if (terminated !== undefined && num(terminated.exitCode) === 0) continue
    if (restartable && cs.started === true) {
      if (cs.ready === true) readyContainers++
      continue
    }
    if (terminated !== undefined) {
      reason = terminatedText(terminated, 'Init:')
    } else if (waiting !== undefined && str(waiting.reason) !== '' && waiting.reason !== 'PodInitializing') {
      reason = `Init:${str(waiting.reason)}`
    } else {
      reason = `Init:${i}/${specInit.length}`
    }
    initializing = true
    break
  }

  if (!initializing || firstConditionTrue(conditions, 'Initialized')) {
    restarts = restartableInitRestarts
    lastRestart = lastRestartableInitRestart
    let hasRunning = false
    const statuses = arr(status.containerStatuses)
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i] as Obj
      const state = obj(cs.state)
      restarts += num(cs.restartCount)
      const lastTerminated = obj(cs.lastState).terminated
      if (lastTerminated !== undefined) lastRestart = later(lastRestart, parseTime(obj(lastTerminated).finishedAt))
      const waiting = state.waiting !== undefined ? obj(state.waiting) : undefined
      const terminated = state.terminated !== undefined ? obj(state.terminated) : undefined
      if (waiting !== undefined && str(waiting.reason) !== '') {
        reason = str(waiting.reason)
      } else if (terminated !== undefined) {
        reason = terminatedText(terminated, '')
      } else if (cs.ready === true && state.running !== undefined) {
        hasRunning = true
        readyContainers++
      }
    }
    // A pod whose last container completed but another still runs is Running (or NotReady).
    if (reason === 'Completed' && hasRunning) reason = hasCondition(conditions, 'Ready') ? 'Running' : 'NotReady'
  }

  const deleting = meta(pod).deletionTimestamp !== undefined && meta(pod).deletionTimestamp !== null
  if (deleting && status.reason === 'NodeLost') reason = 'Unknown'
  else if (deleting && !isPodPhaseTerminal(phase)) reason = 'Terminating'

  const restartsText = restarts === 0 || lastRestart === undefined
    ? String(restarts)
    : `${restarts} (${humanDuration(now.getTime() - lastRestart)} ago)`

  const podIPs = arr(status.podIPs)
  let podIP = podIPs.length > 0 ? str((podIPs[0] as Obj).ip) : str(status.podIP)
  if (podIP === '') podIP = '<none>'
  const nodeName = str(spec.nodeName) || '<none>'
  const nominated = str(status.nominatedNodeName) || '<none>'
  let readinessGates = '<none>'
  const gates = arr(spec.readinessGates)
  if (gates.length > 0) {
    let trueConditions = 0
    for (const g of gates) {
      const c = conditions.find((x) => x.type === g.conditionType)
      if (c !== undefined && c.status === 'True') trueConditions++
    }
    readinessGates = `${trueConditions}/${gates.length}`
  }

  const row: PrintedRow = {
    cells: [nameOf(pod), `${readyContainers}/${totalContainers}`, reason, restartsText, age(pod, now), podIP, nodeName, nominated, readinessGates]
  }
  if (rowConditions !== undefined) row.conditions = rowConditions
  return row
}

// ---- Service -------------------------------------------------------------

const LOAD_BALANCER_WIDTH = 16

function loadBalancerStatusStringer (lb: Obj, wide: boolean): string {
  const set = new Set<string>()
  for (const ing of arr(lb.ingress)) {
    if (str(ing.ip) !== '') set.add(str(ing.ip))
    else if (str(ing.hostname) !== '') set.add(str(ing.hostname))
  }
  let r = [...set].sort().join(',')
  if (!wide && r.length > LOAD_BALANCER_WIDTH) r = r.slice(0, LOAD_BALANCER_WIDTH - 3) + '...'
  return r
}

function serviceExternalIP (svc: Obj, wide: boolean): string {
  const spec = obj(svc.spec)
  const externalIPs = strs(spec.externalIPs)
  switch (str(spec.type, 'ClusterIP')) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>'
    case 'LoadBalancer': {
      const lbIps = loadBalancerStatusStringer(obj(obj(svc.status).loadBalancer), wide)
      if (externalIPs.length > 0) return [...(lbIps.length > 0 ? lbIps.split(',') : []), ...externalIPs].join(',')
      return lbIps.length > 0 ? lbIps : '<pending>'
    }
    case 'ExternalName':
      return str(spec.externalName)
  }
  return '<unknown>'
}

/** `makePortString`: `80/TCP`, `80:30080/TCP` with a node port. */
function makePortString (ports: Obj[]): string {
  return ports.map((p) => {
    const protocol = str(p.protocol, 'TCP')
    const nodePort = num(p.nodePort)
    return nodePort > 0 ? `${num(p.port)}:${nodePort}/${protocol}` : `${num(p.port)}/${protocol}`
  }).join(',')
}

export function printService (svc: Obj, now: Date): PrintedRow {
  const spec = obj(svc.spec)
  const clusterIPs = strs(spec.clusterIPs)
  let internalIP = '<none>'
  if (clusterIPs.length > 0) internalIP = clusterIPs[0] as string
  else if (str(spec.clusterIP) !== '') internalIP = str(spec.clusterIP)
  // The server renders the wide form; the 16-byte clip of EXTERNAL-IP applies only to non-wide output.
  const externalIP = serviceExternalIP(svc, true)
  const ports = makePortString(arr(spec.ports)) || '<none>'
  const selector = spec.selector === undefined ? '<none>' : formatLabels(obj(spec.selector) as Record<string, string>)
  return { cells: [nameOf(svc), str(spec.type, 'ClusterIP'), internalIP, externalIP, ports, age(svc, now), selector] }
}

// ---- Endpoints / EndpointSlice -----------------------------------------

/** `formatEndpoints(endpoints, nil)`: the first three `ip:port`, then ` + N more...`; `<none>` without subsets. */
export function formatEndpoints (ep: Obj): string {
  const subsets = arr(ep.subsets)
  if (subsets.length === 0) return '<none>'
  const list: string[] = []
  const max = 3
  let more = false
  let count = 0
  for (const ss of subsets) {
    const addresses = arr(ss.addresses)
    const ports = arr(ss.ports)
    if (ports.length === 0) {
      // Headless services may have no ports.
      count += addresses.length
      for (const a of addresses) {
        if (list.length === max) { more = true; break }
        list.push(str(a.ip))
      }
      continue
    }
    for (const port of ports) {
      count += addresses.length
      for (const a of addresses) {
        if (list.length === max) { more = true; break }
        list.push(joinHostPort(str(a.ip), num(port.port)))
      }
    }
  }
  const ret = list.join(',')
  return more ? `${ret} + ${count - max} more...` : ret
}

export function printEndpoints (ep: Obj, now: Date): PrintedRow {
  return { cells: [nameOf(ep), formatEndpoints(ep), age(ep, now)] }
}

function formatDiscoveryPorts (ports: Obj[]): string {
  const list: string[] = []
  const max = 3
  let more = false
  let count = 0
  for (const p of ports) {
    if (list.length < max) {
      let portNum = '*'
      if (typeof p.port === 'number') portNum = String(p.port)
      else if (typeof p.name === 'string') portNum = p.name
      list.push(portNum)
    } else if (list.length === max) {
      more = true
    }
    count++
  }
  return listWithMore(list, more, count, max)
}

function formatDiscoveryEndpoints (endpoints: Obj[]): string {
  const list: string[] = []
  const max = 3
  let more = false
  let count = 0
  for (const e of endpoints) {
    for (const address of strs(e.addresses)) {
      if (list.length < max) list.push(address)
      else if (list.length === max) more = true
      count++
    }
  }
  return listWithMore(list, more, count, max)
}

export function printEndpointSlice (es: Obj, now: Date): PrintedRow {
  return { cells: [nameOf(es), str(es.addressType), formatDiscoveryPorts(arr(es.ports)), formatDiscoveryEndpoints(arr(es.endpoints)), age(es, now)] }
}

// ---- Node ----------------------------------------------------------------

const LABEL_NODE_ROLE_PREFIX = 'node-role.kubernetes.io/'
const NODE_LABEL_ROLE = 'kubernetes.io/role'

/** `findNodeRoles`: `node-role.kubernetes.io/<role>` keys and a non-empty `kubernetes.io/role` value, sorted. */
export function findNodeRoles (labels: Record<string, unknown>): string[] {
  const roles = new Set<string>()
  for (const [k, v] of Object.entries(labels)) {
    if (k.startsWith(LABEL_NODE_ROLE_PREFIX)) {
      const role = k.slice(LABEL_NODE_ROLE_PREFIX.length)
      if (role.length > 0) roles.add(role)
    } else if (k === NODE_LABEL_ROLE && typeof v === 'string' && v !== '') {
      roles.add(v)
    }
  }
  return [...roles].sort()
}

function nodeAddress (node: Obj, type: string): string {
  const a = arr(obj(node.status).addresses).find((x) => x.type === type)
  return a === undefined ? '<none>' : str(a.address)
}

export function printNode (node: Obj, now: Date): PrintedRow {
  const status = obj(node.status)
  const spec = obj(node.spec)
  const info = obj(status.nodeInfo)
  const statuses: string[] = []
  // Only the Ready condition is summarised (NodeAllConditions); the last entry of a type wins.
  let ready: Obj | undefined
  for (const c of arr(status.conditions)) if (c.type === 'Ready') ready = c
  if (ready !== undefined) statuses.push(ready.status === 'True' ? 'Ready' : 'NotReady')
  if (statuses.length === 0) statuses.push('Unknown')
  if (bool(spec.unschedulable)) statuses.push('SchedulingDisabled')
  const roles = findNodeRoles(obj(meta(node).labels)).join(',') || '<none>'
  return {
    cells: [
      nameOf(node), statuses.join(','), roles, age(node, now), str(info.kubeletVersion),
      nodeAddress(node, 'InternalIP'), nodeAddress(node, 'ExternalIP'),
      str(info.osImage) || '<unknown>', str(info.kernelVersion) || '<unknown>', str(info.containerRuntimeVersion) || '<unknown>'
    ]
  }
}

// ---- Namespace, ConfigMap, Secret, ServiceAccount, Lease ----------------

export function printNamespace (ns: Obj, now: Date): PrintedRow {
  // The server sets Active on create and Terminating on delete; an unset phase prints as it would be defaulted.
  const deleting = meta(ns).deletionTimestamp !== undefined && meta(ns).deletionTimestamp !== null
  const phase = str(obj(ns.status).phase) || (deleting ? 'Terminating' : 'Active')
  return { cells: [nameOf(ns), phase, age(ns, now)] }
}

export function printConfigMap (cm: Obj, now: Date): PrintedRow {
  return { cells: [nameOf(cm), countKeys(cm.data) + countKeys(cm.binaryData), age(cm, now)] }
}

export function printSecret (s: Obj, now: Date): PrintedRow {
  return { cells: [nameOf(s), str(s.type) || 'Opaque', countKeys(s.data), age(s, now)] }
}

export function printServiceAccount (sa: Obj, now: Date): PrintedRow {
  return { cells: [nameOf(sa), arr(sa.secrets).length, age(sa, now)] }
}

export function printLease (l: Obj, now: Date): PrintedRow {
  return { cells: [nameOf(l), str(obj(l.spec).holderIdentity), age(l, now)] }
}

// ---- Event ---------------------------------------------------------------

function formatEventSource (source: Obj, reportingController: string, reportingInstance: string): string {
  const component = str(source.component) || reportingController
  const instance = str(source.host) || reportingInstance
  return instance === '' ? component : `${component}, ${instance}`
}

export function printEvent (ev: Obj, now: Date): PrintedRow {
  const firstTimestamp = parseTime(ev.firstTimestamp) === undefined
    ? translateTimestampSince(ev.eventTime, now)
    : translateTimestampSince(ev.firstTimestamp, now)
  let lastTimestamp = parseTime(ev.lastTimestamp) === undefined ? firstTimestamp : translateTimestampSince(ev.lastTimestamp, now)
  let count = num(ev.count)
  if (ev.series !== undefined && ev.series !== null) {
    const series = obj(ev.series)
    lastTimestamp = translateTimestampSince(series.lastObservedTime, now)
    count = num(series.count)
  } else if (count === 0) {
    // Singleton events of the events.k8s.io API carry no count.
    count = 1
  }
  const involved = obj(ev.involvedObject)
  const kind = str(involved.kind).toLowerCase()
  const target = str(involved.name) !== '' ? `${kind}/${str(involved.name)}` : kind
  return {
    cells: [
      lastTimestamp, str(ev.type), str(ev.reason), target, str(involved.fieldPath),
      formatEventSource(obj(ev.source), str(ev.reportingComponent), str(ev.reportingInstance)),
      str(ev.message).trim(), firstTimestamp, count, nameOf(ev)
    ]
  }
}

// ---- Deployment, ReplicaSet ---------------------------------------------

export function printDeployment (d: Obj, now: Date): PrintedRow {
  const spec = obj(d.spec)
  const status = obj(d.status)
  const desired = num(spec.replicas, 1)
  const sel = selectorString(spec.selector as LabelSelector | undefined)
  const [containers, images] = layoutContainerCells(arr(obj(obj(spec.template).spec).containers))
  return {
    cells: [
      nameOf(d), `${num(status.readyReplicas)}/${desired}`, num(status.updatedReplicas), num(status.availableReplicas), age(d, now),
      containers, images, sel === undefined ? '<invalid>' : sel
    ]
  }
}

export function printReplicaSet (rs: Obj, now: Date): PrintedRow {
  const spec = obj(rs.spec)
  const status = obj(rs.status)
  const [containers, images] = layoutContainerCells(arr(obj(obj(spec.template).spec).containers))
  return {
    cells: [
      nameOf(rs), num(spec.replicas, 1), num(status.replicas), num(status.readyReplicas), age(rs, now),
      containers, images, formatLabelSelector(spec.selector as LabelSelector | undefined)
    ]
  }
}

// ---- the table of printers ---------------------------------------------

export const PRINTERS: Readonly<Record<string, Printer>> = {
  '/Pod': {
    columns: [
      nameCol(),
      col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
      col('Status', 'string', 'The aggregate status of the containers in this pod.'),
      col('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
      ageCol(),
      col('IP', 'string', 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', 1),
      col('Node', 'string', 'NodeName indicates in which node this pod is scheduled.', 1),
      col('Nominated Node', 'string', 'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.', 1),
      col('Readiness Gates', 'string', 'If specified, all readiness gates will be evaluated for pod readiness.', 1)
    ],
    print: printPod
  },
  '/Service': {
    columns: [
      nameCol(),
      col('Type', 'string', 'type determines how the Service is exposed. Defaults to ClusterIP.'),
      col('Cluster-IP', 'string', 'clusterIP is the IP address of the service and is usually assigned randomly.'),
      col('External-IP', 'string', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
      col('Port(s)', 'string', 'The list of ports that are exposed by this service.'),
      ageCol(),
      col('Selector', 'string', 'Route service traffic to pods with label keys and values matching this selector.', 1)
    ],
    print: printService
  },
  '/Endpoints': {
    columns: [nameCol(), col('Endpoints', 'string', 'The set of all endpoints is the union of all subsets.'), ageCol()],
    print: printEndpoints
  },
  '/Node': {
    columns: [
      nameCol(),
      col('Status', 'string', 'The status of the node'),
      col('Roles', 'string', 'The roles of the node'),
      ageCol(),
      col('Version', 'string', 'Kubelet Version reported by the node.'),
      col('Internal-IP', 'string', 'List of addresses reachable to the node.', 1),
      col('External-IP', 'string', 'List of addresses reachable to the node.', 1),
      col('OS-Image', 'string', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', 1),
      col('Kernel-Version', 'string', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
      col('Container-Runtime', 'string', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', 1)
    ],
    print: printNode
  },
  '/Namespace': {
    columns: [nameCol(), col('Status', 'string', 'The status of the namespace'), ageCol()],
    print: printNamespace
  },
  '/ConfigMap': {
    columns: [nameCol(), col('Data', 'string', 'Data contains the configuration data.'), ageCol()],
    print: printConfigMap
  },
  '/Secret': {
    columns: [
      nameCol(),
      col('Type', 'string', 'Used to facilitate programmatic handling of secret data.'),
      col('Data', 'string', 'Data contains the secret data.'),
      ageCol()
    ],
    print: printSecret
  },
  '/ServiceAccount': {
    columns: [nameCol(), col('Secrets', 'string', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.'), ageCol()],
    print: printServiceAccount
  },
  '/Event': {
    columns: [
      col('Last Seen', 'string', 'The time at which the most recent occurrence of this event was recorded.'),
      col('Type', 'string', 'Type of this event (Normal, Warning), new types could be added in the future'),
      col('Reason', 'string', 'This should be a short, machine understandable string that gives the reason for the transition into the object\'s current status.'),
      col('Object', 'string', 'The object that this event is about.'),
      col('Subobject', 'string', 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.', 1),
      col('Source', 'string', 'The component reporting this event. Should be a short machine understandable string.', 1),
      col('Message', 'string', 'A human-readable description of the status of this operation.'),
      col('First Seen', 'string', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', 1),
      col('Count', 'string', 'The number of times this event has occurred.', 1),
      nameCol(1)
    ],
    print: printEvent
  },
  'discovery.k8s.io/EndpointSlice': {
    columns: [
      nameCol(),
      col('AddressType', 'string', 'addressType specifies the type of address carried by this EndpointSlice.'),
      col('Ports', 'string', 'ports specifies the list of network ports exposed by each endpoint in this slice.'),
      col('Endpoints', 'string', 'endpoints is a list of unique endpoints in this slice.'),
      ageCol()
    ],
    print: printEndpointSlice
  },
  'coordination.k8s.io/Lease': {
    columns: [nameCol(), col('Holder', 'string', 'holderIdentity contains the identity of the holder of a current lease.'), ageCol()],
    print: printLease
  },
  'apps/Deployment': {
    columns: [
      nameCol(),
      col('Ready', 'string', 'Number of the pod with ready state'),
      col('Up-to-date', 'string', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'),
      col('Available', 'string', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'),
      ageCol(),
      col('Containers', 'string', CONTAINERS_DESC, 1),
      col('Images', 'string', IMAGES_DESC, 1),
      col('Selector', 'string', 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.', 1)
    ],
    print: printDeployment
  },
  'apps/ReplicaSet': {
    columns: [
      nameCol(),
      col('Desired', 'integer', 'Replicas is the number of desired replicas.'),
      col('Current', 'integer', 'Replicas is the most recently observed number of replicas.'),
      col('Ready', 'integer', 'readyReplicas is the number of pods targeted by this ReplicaSet with a Ready Condition.'),
      ageCol(),
      col('Containers', 'string', CONTAINERS_DESC, 1),
      col('Images', 'string', IMAGES_DESC, 1),
      col('Selector', 'string', 'Selector is a label query over pods that should match the replica count.', 1)
    ],
    print: printReplicaSet
  }
}

/**
 * The API server's default table (`rest.NewDefaultTableConvertor`) for kinds
 * without a printer: Name and Created At (an RFC 3339 date).
 */
export const DEFAULT_PRINTER: Printer = {
  columns: [
    nameCol(),
    col('Created At', 'date', 'CreationTimestamp is a timestamp representing the server time when this object was created.')
  ],
  print: (o: Obj): PrintedRow => ({ cells: [nameOf(o), str(meta(o).creationTimestamp) as TableCell] })
}

export function printerFor (group: string, kind: string): Printer {
  return PRINTERS[`${group}/${kind}`] ?? DEFAULT_PRINTER
}
