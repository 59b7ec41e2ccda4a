/**
 * The REST operations of the served resources, in a form neutral between
 * OpenAPI v2 and v3: one entry per URL path with its operations, each with
 * kube-apiserver's operationId, `x-kubernetes-action` and
 * `x-kubernetes-group-version-kind`. Watch-prefixed legacy paths are not served.
 */
import { RESOURCES, type ResourceInfo, type SubresourceInfo } from '../resources.js'
import { definitionName, REF } from './schemas.js'

export type Method = 'get' | 'put' | 'post' | 'delete' | 'patch'
export type Action = 'list' | 'post' | 'get' | 'put' | 'patch' | 'delete' | 'deletecollection' | 'connect'

export interface Param {
  name: string
  in: 'path' | 'query'
  type: 'string' | 'integer' | 'boolean'
  description: string
  required?: boolean
}

export interface Operation {
  operationId: string
  description: string
  tag: string
  action: Action
  gvk: { group: string, version: string, kind: string }
  params: Param[]
  /** Definition name of the body, if any. */
  body?: string
  /** Content types the body may have. */
  consumes: string[]
  produces: string[]
  /** Status code → definition name of the response body (undefined: a text body, e.g. pods/log). */
  responses: Array<{ code: string, description: string, schema?: string, text?: boolean }>
}

export interface PathEntry {
  /** API root the path belongs to: "api/v1" or "apis/<group>/<version>". */
  root: string
  path: string
  params: Param[]
  operations: Partial<Record<Method, Operation>>
}

const q = (name: string, type: Param['type'], description: string): Param => ({ name, in: 'query', type, description })
const P = {
  namespace: { name: 'namespace', in: 'path', type: 'string', description: 'object name and auth scope, such as for teams and projects', required: true } satisfies Param,
  name: (kind: string): Param => ({ name: 'name', in: 'path', type: 'string', description: `name of the ${kind}`, required: true }),
  pretty: q('pretty', 'string', 'If \'true\', then the output is pretty printed.'),
  dryRun: q('dryRun', 'string', 'When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed'),
  fieldManager: q('fieldManager', 'string', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
  fieldValidation: q('fieldValidation', 'string', 'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict'),
  force: q('force', 'boolean', 'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people.'),
  gracePeriodSeconds: q('gracePeriodSeconds', 'integer', 'The duration in seconds before the object should be deleted.'),
  propagationPolicy: q('propagationPolicy', 'string', 'Whether and how garbage collection will be performed: Orphan, Background or Foreground.'),
  list: [
    q('allowWatchBookmarks', 'boolean', 'allowWatchBookmarks requests watch events with type "BOOKMARK".'),
    q('continue', 'string', 'The continue option should be set when retrieving more results from the server.'),
    q('fieldSelector', 'string', 'A selector to restrict the list of returned objects by their fields. Defaults to everything.'),
    q('labelSelector', 'string', 'A selector to restrict the list of returned objects by their labels. Defaults to everything.'),
    q('limit', 'integer', 'limit is a maximum number of responses to return for a list call.'),
    q('resourceVersion', 'string', 'resourceVersion sets a constraint on what resource versions a request may be served from.'),
    q('resourceVersionMatch', 'string', 'resourceVersionMatch determines how resourceVersion is applied to list calls.'),
    q('sendInitialEvents', 'boolean', 'sendInitialEvents=true may be set together with watch=true to begin the watch stream with synthetic ADDED events for the current state.'),
    q('timeoutSeconds', 'integer', 'Timeout for the list/watch call.'),
    q('watch', 'boolean', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.')
  ]
}

const JSON_TYPES = ['application/json', 'application/yaml']
/**
 * PATCH body types declared. The server also accepts
 * `application/strategic-merge-patch+json`, but it is not declared: kubectl's
 * apply computes a strategic merge patch from OpenAPI schemas when the PATCH
 * operation declares it, and these schemas describe top-level fields only; left
 * undeclared, kubectl uses its compiled-in types, whose merge keys are complete.
 */
export const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml']

const groupPrefix = (group: string): string => {
  if (group === '') return 'Core'
  const first = group.split('.')[0] as string
  return first.charAt(0).toUpperCase() + first.slice(1)
}
const tagOf = (group: string, version: string): string => `${group === '' ? 'core' : (group.split('.')[0] as string)}_${version}`
const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1)

function rootOf (info: Pick<ResourceInfo, 'group' | 'version'>): string {
  return info.group === '' ? `api/${info.version}` : `apis/${info.group}/${info.version}`
}

function op (info: ResourceInfo, verb: string, action: Action, suffix: string, extra: Partial<Operation> & Pick<Operation, 'description' | 'params' | 'responses'>, gvk = { group: info.group, version: info.version, kind: info.kind }): Operation {
  return {
    operationId: `${verb}${groupPrefix(info.group)}${cap(info.version)}${suffix}`,
    tag: tagOf(info.group, info.version),
    action,
    gvk,
    consumes: ['*/*'],
    produces: [...JSON_TYPES],
    ...extra
  }
}

function resourcePaths (info: ResourceInfo): PathEntry[] {
  const root = rootOf(info)
  const def = definitionName(info.group, info.version, info.kind)
  const listDef = definitionName(info.group, info.version, info.listKind)
  const scope = info.namespaced ? 'Namespaced' : ''
  const collection = `/${root}${info.namespaced ? '/namespaces/{namespace}' : ''}/${info.plural}`
  const item = `${collection}/{name}`
  const nsParams = info.namespaced ? [P.namespace] : []
  const can = (v: string): boolean => (info.verbs as string[]).includes(v)
  const ok = (schema: string): Operation['responses'] => [{ code: '200', description: 'OK', schema }]
  const out: PathEntry[] = []

  const coll: PathEntry = { root, path: collection, params: [...nsParams, P.pretty], operations: {} }
  if (can('list')) {
    coll.operations.get = op(info, 'list', 'list', `${scope}${info.kind}`, { description: `list or watch objects of kind ${info.kind}`, params: [...P.list], responses: ok(listDef) })
  }
  if (can('create')) {
    coll.operations.post = op(info, 'create', 'post', `${scope}${info.kind}`, {
      description: `create a ${info.kind}`, params: [P.dryRun, P.fieldManager, P.fieldValidation], body: def, consumes: [...JSON_TYPES],
      responses: [{ code: '200', description: 'OK', schema: def }, { code: '201', description: 'Created', schema: def }, { code: '202', description: 'Accepted', schema: def }]
    })
  }
  if (can('deletecollection')) {
    coll.operations.delete = op(info, 'delete', 'deletecollection', `Collection${scope}${info.kind}`, {
      description: `delete collection of ${info.kind}`, params: [P.dryRun, P.gracePeriodSeconds, P.propagationPolicy, ...P.list], body: REF.deleteOptions, responses: ok(REF.status)
    })
  }
  if (Object.keys(coll.operations).length > 0) out.push(coll)

  const one: PathEntry = { root, path: item, params: [P.name(info.kind), ...nsParams, P.pretty], operations: {} }
  if (can('get')) one.operations.get = op(info, 'read', 'get', `${scope}${info.kind}`, { description: `read the specified ${info.kind}`, params: [], responses: ok(def) })
  if (can('update')) {
    one.operations.put = op(info, 'replace', 'put', `${scope}${info.kind}`, {
      description: `replace the specified ${info.kind}`, params: [P.dryRun, P.fieldManager, P.fieldValidation], body: def, consumes: [...JSON_TYPES],
      responses: [{ code: '200', description: 'OK', schema: def }, { code: '201', description: 'Created', schema: def }]
    })
  }
  if (can('patch')) {
    one.operations.patch = op(info, 'patch', 'patch', `${scope}${info.kind}`, {
      description: `partially update the specified ${info.kind}`, params: [P.dryRun, P.fieldManager, P.fieldValidation, P.force], body: REF.patch, consumes: [...PATCH_TYPES],
      responses: [{ code: '200', description: 'OK', schema: def }, { code: '201', description: 'Created', schema: def }]
    })
  }
  if (can('delete')) {
    one.operations.delete = op(info, 'delete', 'delete', `${scope}${info.kind}`, {
      description: `delete a ${info.kind}`, params: [P.dryRun, P.gracePeriodSeconds, P.propagationPolicy], body: REF.deleteOptions,
      responses: [{ code: '200', description: 'OK', schema: REF.status }, { code: '202', description: 'Accepted', schema: REF.status }]
    })
  }
  if (Object.keys(one.operations).length > 0) out.push(one)

  if (info.namespaced && can('list')) {
    out.push({
      root,
      path: `/${root}/${info.plural}`,
      params: [P.pretty],
      operations: { get: op(info, 'list', 'list', `${info.kind}ForAllNamespaces`, { description: `list or watch objects of kind ${info.kind}`, params: [...P.list], responses: ok(listDef) }) }
    })
  }

  for (const sub of info.subresources) out.push(subresourcePath(info, sub, item, [P.name(info.kind), ...nsParams, P.pretty]))
  return out
}

function subresourcePath (info: ResourceInfo, sub: SubresourceInfo, item: string, params: Param[]): PathEntry {
  const root = rootOf(info)
  const scope = info.namespaced ? 'Namespaced' : ''
  const suffix = `${scope}${info.kind}${cap(sub.name)}`
  const gvk = { group: sub.group, version: sub.version, kind: sub.kind }
  const def = definitionName(sub.group, sub.version, sub.kind)
  const entry: PathEntry = { root, path: `${item}/${sub.name}`, params, operations: {} }
  const verbs = sub.verbs as string[]
  if (sub.name === 'log') {
    entry.operations.get = op(info, 'read', 'get', suffix, {
      description: `read log of the specified ${info.kind}`,
      params: ['container', 'follow', 'previous', 'sinceSeconds', 'tailLines', 'timestamps', 'limitBytes', 'insecureSkipTLSVerifyBackend'].map((n) =>
        q(n, n === 'container' ? 'string' : n === 'sinceSeconds' || n === 'tailLines' || n === 'limitBytes' ? 'integer' : 'boolean', `${n} option of the log request`)),
      produces: ['text/plain', 'application/json', 'application/yaml'],
      responses: [{ code: '200', description: 'OK', text: true }]
    }, { group: info.group, version: info.version, kind: info.kind })
    return entry
  }
  if (verbs.includes('get')) entry.operations.get = op(info, 'read', 'get', suffix, { description: `read ${sub.name} of the specified ${info.kind}`, params: [], responses: [{ code: '200', description: 'OK', schema: def }] }, gvk)
  if (verbs.includes('update')) {
    entry.operations.put = op(info, 'replace', 'put', suffix, {
      description: `replace ${sub.name} of the specified ${info.kind}`, params: [P.dryRun, P.fieldManager, P.fieldValidation], body: def, consumes: [...JSON_TYPES],
      responses: [{ code: '200', description: 'OK', schema: def }, { code: '201', description: 'Created', schema: def }]
    }, gvk)
  }
  if (verbs.includes('patch')) {
    entry.operations.patch = op(info, 'patch', 'patch', suffix, {
      description: `partially update ${sub.name} of the specified ${info.kind}`, params: [P.dryRun, P.fieldManager, P.fieldValidation, P.force], body: REF.patch, consumes: [...PATCH_TYPES],
      responses: [{ code: '200', description: 'OK', schema: def }, { code: '201', description: 'Created', schema: def }]
    }, gvk)
  }
  if (verbs.includes('create')) {
    entry.operations.post = op(info, 'create', 'post', suffix, {
      description: `create ${sub.name} of a ${info.kind}`, params: [P.dryRun, P.fieldManager, P.fieldValidation], body: def, consumes: [...JSON_TYPES],
      responses: [{ code: '200', description: 'OK', schema: def }, { code: '201', description: 'Created', schema: def }, { code: '202', description: 'Accepted', schema: def }]
    }, gvk)
  }
  return entry
}

/** Every path of the served resources, sorted by path. */
export function allPaths (resources: readonly ResourceInfo[] = RESOURCES): PathEntry[] {
  return resources.flatMap(resourcePaths).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}
