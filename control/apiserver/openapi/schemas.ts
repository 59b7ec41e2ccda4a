/**
 * Schemas (OpenAPI v2 `definitions`, v3 `components.schemas`) for the served
 * kinds. Each kind lists every top-level field of its v1 type with a short
 * description, so `kubectl explain <kind>` works and old kubectls' client-side
 * validation (which rejects unknown fields) accepts any valid object. Nested
 * values (spec, status, ...) are left untyped ("arbitrary" to kubectl's
 * validator): they are described, not constrained; the server validates them.
 */
import { RESOURCES, type ResourceInfo } from '../resources.js'

export type JsonSchema = Record<string, unknown>

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1'
export const REF = {
  objectMeta: `${META}.ObjectMeta`,
  listMeta: `${META}.ListMeta`,
  status: `${META}.Status`,
  deleteOptions: `${META}.DeleteOptions`,
  patch: `${META}.Patch`
} as const

/** Definition name of a kind: io.k8s.api.<package>.<version>.<Kind> (core for "", first DNS label otherwise). */
export function definitionName (group: string, version: string, kind: string): string {
  const pkg = group === '' ? 'core' : (group.split('.')[0] as string)
  return `io.k8s.api.${pkg}.${version}.${kind}`
}

const str = (description: string): JsonSchema => ({ description, type: 'string' })
const any = (description: string): JsonSchema => ({ description })

const API_VERSION = str('APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources')
const KIND = str('Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds')
const SPEC = (kind: string): JsonSchema => any(`Spec defines the desired behavior of the ${kind}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#spec-and-status`)
const STATUS = (kind: string): JsonSchema => any(`Most recently observed status of the ${kind}. Populated by the system. Read-only. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#spec-and-status`)

/** The top-level fields of each kind besides apiVersion, kind and metadata. */
const FIELDS: Record<string, Record<string, JsonSchema>> = {
  '/Namespace': { spec: SPEC('Namespace'), status: STATUS('Namespace') },
  '/Pod': { spec: SPEC('pod'), status: STATUS('pod') },
  '/Service': { spec: SPEC('service'), status: STATUS('service') },
  '/Node': { spec: SPEC('node'), status: STATUS('node') },
  '/Endpoints': {
    subsets: any('The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share.')
  },
  '/ConfigMap': {
    data: { description: 'Data contains the configuration data. Each key must consist of alphanumeric characters, \'-\', \'_\' or \'.\'.', type: 'object', additionalProperties: { type: 'string' } },
    binaryData: { description: 'BinaryData contains the binary data, base64 encoded.', type: 'object', additionalProperties: { type: 'string', format: 'byte' } },
    immutable: { description: 'Immutable, if set to true, ensures that data stored in the ConfigMap cannot be updated.', type: 'boolean' }
  },
  '/Secret': {
    data: { description: 'Data contains the secret data, base64 encoded.', type: 'object', additionalProperties: { type: 'string', format: 'byte' } },
    stringData: { description: 'stringData allows specifying non-binary secret data in string form; it is merged into data on write and never output when reading.', type: 'object', additionalProperties: { type: 'string' } },
    type: str('Used to facilitate programmatic handling of secret data.'),
    immutable: { description: 'Immutable, if set to true, ensures that data stored in the Secret cannot be updated.', type: 'boolean' }
  },
  '/Event': {
    action: str('What action was taken/failed regarding to the Regarding object.'),
    count: { description: 'The number of times this event has occurred.', type: 'integer', format: 'int32' },
    eventTime: str('Time when this Event was first observed.'),
    firstTimestamp: str('The time at which the event was first recorded.'),
    involvedObject: any('The object that this event is about.'),
    lastTimestamp: str('The time at which the most recent occurrence of this event was recorded.'),
    message: str('A human-readable description of the status of this operation.'),
    reason: str('This should be a short, machine understandable string that gives the reason for the transition into the object\'s current status.'),
    related: any('Optional secondary object for more complex actions.'),
    reportingComponent: str('Name of the controller that emitted this Event, e.g. `kubernetes.io/kubelet`.'),
    reportingInstance: str('ID of the controller instance, e.g. `kubelet-xyzf`.'),
    series: any('Data about the Event series this event represents or nil if it\'s a singleton Event.'),
    source: any('The component reporting this event.'),
    type: str('Type of this event (Normal, Warning), new types could be added in the future')
  },
  '/ServiceAccount': {
    automountServiceAccountToken: { description: 'Whether pods running as this service account should have an API token automatically mounted.', type: 'boolean' },
    imagePullSecrets: any('A list of references to secrets in the same namespace to use for pulling any images in pods that reference this ServiceAccount.'),
    secrets: any('Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.')
  },
  'discovery.k8s.io/EndpointSlice': {
    addressType: str('addressType specifies the type of address carried by this EndpointSlice: IPv4, IPv6 or FQDN.'),
    endpoints: any('endpoints is a list of unique endpoints in this slice.'),
    ports: any('ports specifies the list of network ports exposed by each endpoint in this slice.')
  },
  'coordination.k8s.io/Lease': { spec: any('spec contains the specification of the Lease.') },
  'apps/Deployment': { spec: SPEC('Deployment'), status: STATUS('Deployment') },
  'apps/ReplicaSet': { spec: SPEC('ReplicaSet'), status: STATUS('ReplicaSet') }
}

const REQUIRED: Record<string, string[]> = {
  'discovery.k8s.io/EndpointSlice': ['addressType', 'endpoints'],
  '/Event': ['metadata', 'involvedObject']
}

const gvkExt = (group: string, version: string, kind: string): JsonSchema =>
  ({ 'x-kubernetes-group-version-kind': [{ group, kind, version }] })

function kindSchema (info: ResourceInfo, description: string, refPrefix: string): JsonSchema {
  const properties: Record<string, JsonSchema> = {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { description: 'Standard object\'s metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata', $ref: refPrefix + REF.objectMeta },
    ...FIELDS[`${info.group}/${info.kind}`]
  }
  const sorted = Object.fromEntries(Object.entries(properties).sort(([a], [b]) => (a < b ? -1 : 1)))
  const s: JsonSchema = { description, type: 'object', properties: sorted }
  const required = REQUIRED[`${info.group}/${info.kind}`]
  if (required !== undefined) s.required = required
  return { ...s, ...gvkExt(info.group, info.version, info.kind) }
}

function listSchema (info: ResourceInfo, refPrefix: string): JsonSchema {
  return {
    description: `${info.listKind} is a list of ${info.kind} objects.`,
    type: 'object',
    required: ['items'],
    properties: {
      apiVersion: API_VERSION,
      items: { description: `List of ${info.plural}.`, type: 'array', items: { $ref: refPrefix + definitionName(info.group, info.version, info.kind) } },
      kind: KIND,
      metadata: { description: 'Standard list metadata.', $ref: refPrefix + REF.listMeta }
    },
    ...gvkExt(info.group, info.version, info.listKind)
  }
}

const KIND_DESCRIPTIONS: Record<string, string> = {
  Namespace: 'Namespace provides a scope for Names. Use of multiple namespaces is optional.',
  Pod: 'Pod is a collection of containers that can run on a host. This resource is created by clients and scheduled onto hosts.',
  Service: 'Service is a named abstraction of software service (for example, mysql) consisting of local port (for example 3306) that the proxy listens on, and the selector that determines which pods will answer requests sent through the proxy.',
  Endpoints: 'Endpoints is a collection of endpoints that implement the actual service.',
  Node: 'Node is a worker node in Kubernetes. Each node will have a unique identifier in the cache (i.e. in etcd).',
  ConfigMap: 'ConfigMap holds configuration data for pods to consume.',
  Secret: 'Secret holds secret data of a certain type. The total bytes of the values in the Data field must be less than MaxSecretSize bytes.',
  Event: 'Event is a report of an event somewhere in the cluster.',
  ServiceAccount: 'ServiceAccount binds together: * a name, understood by users, and perhaps by peripheral systems, for an identity * a principal that can be authenticated and authorized * a set of secrets',
  EndpointSlice: 'EndpointSlice represents a subset of the endpoints that implement a service.',
  Lease: 'Lease defines a lease concept.',
  Deployment: 'Deployment enables declarative updates for Pods and ReplicaSets.',
  ReplicaSet: 'ReplicaSet ensures that a specified number of pod replicas are running at any given time.'
}

function metaSchemas (refPrefix: string): Record<string, JsonSchema> {
  return {
    [REF.objectMeta]: {
      description: 'ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.',
      type: 'object',
      properties: {
        annotations: { description: 'Annotations is an unstructured key value map stored with a resource that may be set by external tools to store and retrieve arbitrary metadata.', type: 'object', additionalProperties: { type: 'string' } },
        creationTimestamp: { description: 'CreationTimestamp is a timestamp representing the server time when this object was created. Populated by the system. Read-only.', type: 'string', format: 'date-time' },
        deletionGracePeriodSeconds: { description: 'Number of seconds allowed for this object to gracefully terminate before it will be removed from the system.', type: 'integer', format: 'int64' },
        deletionTimestamp: { description: 'DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted.', type: 'string', format: 'date-time' },
        finalizers: { description: 'Must be empty before the object is deleted from the registry.', type: 'array', items: { type: 'string' } },
        generateName: str('GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the Name field has not been provided.'),
        generation: { description: 'A sequence number representing a specific generation of the desired state. Populated by the system. Read-only.', type: 'integer', format: 'int64' },
        labels: { description: 'Map of string keys and values that can be used to organize and categorize (scope and select) objects.', type: 'object', additionalProperties: { type: 'string' } },
        managedFields: any('ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow.'),
        name: str('Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically.'),
        namespace: str('Namespace defines the space within which each name must be unique. An empty namespace is equivalent to the "default" namespace.'),
        ownerReferences: any('List of objects depended by this object. If ALL objects in the list have been deleted, this object will be garbage collected.'),
        resourceVersion: str('An opaque value that represents the internal version of this object that can be used by clients to determine when objects have changed.'),
        selfLink: str('Deprecated: selfLink is a legacy read-only field that is no longer populated by the system.'),
        uid: str('UID is the unique in time and space value for this object. Populated by the system. Read-only.')
      }
    },
    [REF.listMeta]: {
      description: 'ListMeta describes metadata that synthetic resources must have, including lists and various status objects.',
      type: 'object',
      properties: {
        continue: str('continue may be set if the user set a limit on the number of items returned.'),
        remainingItemCount: { description: 'remainingItemCount is the number of subsequent items in the list which are not included in this list response.', type: 'integer', format: 'int64' },
        resourceVersion: str('String that identifies the server\'s internal version of this object.'),
        selfLink: str('Deprecated: selfLink is a legacy read-only field that is no longer populated by the system.')
      }
    },
    [REF.status]: {
      description: 'Status is a return value for calls that don\'t return other objects.',
      type: 'object',
      properties: {
        apiVersion: API_VERSION,
        code: { description: 'Suggested HTTP return code for this status, 0 if not set.', type: 'integer', format: 'int32' },
        details: any('Extended data associated with the reason.'),
        kind: KIND,
        message: str('A human-readable description of the status of this operation.'),
        metadata: { description: 'Standard list metadata.', $ref: refPrefix + REF.listMeta },
        reason: str('A machine-readable description of why this operation is in the "Failure" status.'),
        status: str('Status of the operation. One of: "Success" or "Failure".')
      },
      'x-kubernetes-group-version-kind': [{ group: '', kind: 'Status', version: 'v1' }]
    },
    [REF.deleteOptions]: {
      description: 'DeleteOptions may be provided when deleting an API object.',
      type: 'object',
      properties: {
        apiVersion: API_VERSION,
        dryRun: { description: 'When present, indicates that modifications should not be persisted.', type: 'array', items: { type: 'string' } },
        gracePeriodSeconds: { description: 'The duration in seconds before the object should be deleted.', type: 'integer', format: 'int64' },
        kind: KIND,
        orphanDependents: { description: 'Deprecated: please use the PropagationPolicy.', type: 'boolean' },
        preconditions: any('Must be fulfilled before a deletion is carried out.'),
        propagationPolicy: str('Whether and how garbage collection will be performed: Orphan, Background or Foreground.')
      },
      'x-kubernetes-group-version-kind': [{ group: '', kind: 'DeleteOptions', version: 'v1' }]
    },
    [REF.patch]: { description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.', type: 'object' }
  }
}

/** Schemas of subresource kinds that are not themselves served resources (Binding, Scale). */
function subresourceSchemas (refPrefix: string): Record<string, JsonSchema> {
  return {
    [definitionName('', 'v1', 'Binding')]: {
      description: 'Binding ties one object to another; for example, a pod is bound to a node by a scheduler.',
      type: 'object',
      required: ['target'],
      properties: {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { description: 'Standard object\'s metadata.', $ref: refPrefix + REF.objectMeta },
        target: any('The target object that you want to bind to the standard object.')
      },
      ...gvkExt('', 'v1', 'Binding')
    },
    [definitionName('autoscaling', 'v1', 'Scale')]: {
      description: 'Scale represents a scaling request for a resource.',
      type: 'object',
      properties: {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { description: 'Standard object metadata.', $ref: refPrefix + REF.objectMeta },
        spec: any('spec defines the behavior of the scale.'),
        status: any('status is the current status of the scale. Read-only.')
      },
      ...gvkExt('autoscaling', 'v1', 'Scale')
    }
  }
}

/**
 * Every schema, keyed by definition name, with references written as
 * `refPrefix + name` (`#/definitions/` for v2, `#/components/schemas/` for v3).
 */
export function allSchemas (refPrefix: string, resources: readonly ResourceInfo[] = RESOURCES): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = { ...metaSchemas(refPrefix), ...subresourceSchemas(refPrefix) }
  for (const info of resources) {
    out[definitionName(info.group, info.version, info.kind)] = kindSchema(info, KIND_DESCRIPTIONS[info.kind] ?? `${info.kind} (${info.group === '' ? 'core' : info.group}/${info.version}).`, refPrefix)
    out[definitionName(info.group, info.version, info.listKind)] = listSchema(info, refPrefix)
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)))
}
