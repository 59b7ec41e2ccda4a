/**
 * Strict field validation over the type table: unknown and duplicate fields, in document order,
 * with upstream's paths and wording (test/integration/apiserver/field_validation_test.go has the
 * same shapes: `unknown field "spec.template.spec.containers[0].unknownNested"`,
 * `duplicate field "metadata.name"`).
 */
import test from 'ava'
import { ApiError } from '../errors.js'
import { KINDS, MESSAGES, fieldIssues, fieldValidationIssues, message, parseFieldValidation, unknownFieldsOf, warningHeader } from './index.js'

const deployment = message('apps.Deployment')

test('the table resolves every kind the server serves, and every message it references', (t) => {
  for (const k of KINDS) t.truthy(MESSAGES.get(k.message), k.kind)
  for (const def of MESSAGES.values()) {
    for (const f of def.fields) if (f.type.kind === 'message') t.truthy(MESSAGES.get(f.type.name), `${def.name}.${f.json}`)
  }
  // a few fields checked by hand against the upstream generated.proto files
  t.like(message('core.PodSpec').byJson.get('containers'), { num: 2, shape: 'repeated', omitempty: false })
  t.like(message('core.PodSpec').byJson.get('terminationGracePeriodSeconds'), { num: 4, shape: 'pointer' })
  t.like(message('core.Volume').byJson.get('configMap'), { num: 19 }) // VolumeSource.configMap, inlined into Volume
  t.like(message('meta.ObjectMeta').byJson.get('creationTimestamp'), { num: 8, type: { kind: 'special', name: 'Time' } })
  t.like(message('core.ServicePort').byJson.get('targetPort'), { num: 4, type: { kind: 'special', name: 'IntOrString' } })
  t.like(message('core.Secret').byJson.get('data'), { num: 2, shape: 'map', type: { kind: 'scalar', name: 'bytes' } })
  t.like(message('coordination.LeaseSpec').byJson.get('renewTime'), { num: 4, type: { kind: 'special', name: 'MicroTime' } })
})

test('unknown fields at any depth are listed with their path, arrays indexed', (t) => {
  const body = JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels: { anything: 'goes' }, bogus: 1 },
    spec: {
      foo: true,
      template: { spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y', imagePullPolcy: 'Always', ports: [{ containerPort: 80, hostnet: 1 }] }] } }
    }
  })
  t.deepEqual(fieldIssues(body, deployment), [
    'unknown field "metadata.bogus"',
    'unknown field "spec.foo"',
    'unknown field "spec.template.spec.containers[1].imagePullPolcy"',
    'unknown field "spec.template.spec.containers[1].ports[0].hostnet"'
  ])
})

test('duplicate fields are reported at their second occurrence, interleaved with unknown ones in document order', (t) => {
  const body = '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a","name":"b","unknownMeta":1},' +
    '"spec":{"unknown1":1,"unknownDupe":1,"unknownDupe":2,"paused":true,"paused":false,' +
    '"template":{"spec":{"containers":[{"name":"c","unknownNested":1,"imagePullPolicy":"Always","imagePullPolicy":"Never"}]}}}}'
  t.deepEqual(fieldIssues(body, deployment), [
    'duplicate field "metadata.name"',
    'unknown field "metadata.unknownMeta"',
    'unknown field "spec.unknown1"',
    'unknown field "spec.unknownDupe"',
    'duplicate field "spec.paused"',
    'unknown field "spec.template.spec.containers[0].unknownNested"',
    'duplicate field "spec.template.spec.containers[0].imagePullPolicy"'
  ])
})

test('maps, free-form values and escaped keys are handled: duplicate map keys count, their contents are not schema-checked', (t) => {
  const body = '{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"x","labels":{"a":"1","a":"2"},"managedFields":[{"fieldsV1":{"f:data":{"x":{}}}}]},"data":{"k\\u0061y":"v","weird \\"key\\"":"w"}}'
  t.deepEqual(fieldIssues(body, message('core.ConfigMap')), ['duplicate field "metadata.labels.a"'])
})

test('inline structs (VolumeSource, ProbeHandler) contribute their fields to the parent', (t) => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: {
      volumes: [{ name: 'v', configMap: { name: 'c' }, emptyDir: {} }],
      containers: [{ name: 'c', image: 'i', livenessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 3, exec2: {} } }]
    }
  }
  t.deepEqual(unknownFieldsOf(pod, message('core.Pod')), ['unknown field "spec.containers[0].livenessProbe.exec2"'])
})

test('Strict: 400 with upstream wording; Warn: the issues for Warning headers; Ignore: nothing; unset means Warn', (t) => {
  const text = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"dta":{"a":"1"},"data":{}}'
  const body = JSON.parse(text) as Record<string, unknown>
  const check = { text, json: true, body, resource: { apiVersion: 'v1', kind: 'ConfigMap' } }
  const e = t.throws(() => fieldValidationIssues({ ...check, directive: 'Strict' }))
  t.true(e instanceof ApiError)
  t.is((e as ApiError).status, 400)
  t.is(e?.message, 'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "dta"')
  t.deepEqual(fieldValidationIssues({ ...check, directive: 'Warn' }), ['unknown field "dta"'])
  t.deepEqual(fieldValidationIssues({ ...check, directive: undefined }), ['unknown field "dta"'])
  t.deepEqual(fieldValidationIssues({ ...check, directive: 'Ignore' }), [])
  t.deepEqual(fieldValidationIssues({ ...check, text: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }, directive: 'Strict' }), [])
  t.is(warningHeader('unknown field "dta"'), '299 - "unknown field \\"dta\\""')
  t.is(warningHeader('unknown field "spéc.日"'), '299 - "unknown field \\"sp\\u00e9c.\\u65e5\\""')
})

test('an unsupported fieldValidation value is 422 as upstream words it', (t) => {
  const e = t.throws(() => parseFieldValidation('Loud', 'CreateOptions'))
  t.true(e instanceof ApiError)
  t.is((e as ApiError).status, 422)
  t.is(e?.message, 'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loud": supported values: "", "Ignore", "Strict", "Warn"')
})

test('kinds outside the table are not checked; the endpoint kind is used when the body has none', (t) => {
  t.deepEqual(fieldValidationIssues({ directive: 'Strict', text: '{"kind":"Widget","apiVersion":"x/v1","spec":{"a":1}}', json: true, body: { kind: 'Widget', apiVersion: 'x/v1', spec: { a: 1 } }, resource: { apiVersion: 'x/v1', kind: 'Widget' } }), [])
  const e = t.throws(() => fieldValidationIssues({ directive: 'Strict', text: '{"spec":{"replicas":2,"x":1}}', json: true, body: { spec: { replicas: 2, x: 1 } }, resource: { apiVersion: 'autoscaling/v1', kind: 'Scale' } }))
  t.is(e?.message, 'Scale in version "v1" cannot be handled as a Scale: strict decoding error: unknown field "spec.x"')
})

test('deeply nested unknown values are skipped without recursion', (t) => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000)
  t.deepEqual(fieldIssues(`{"kind":"ConfigMap","junk":${deep},"data":{}}`, message('core.ConfigMap')), ['unknown field "junk"'])
})
