/**
 * The real kubectl (v1.32) against `weft apiserver` (HTTPS on loopback, embedded store): the
 * typed-client commands that send Kubernetes protobuf bodies (`create configmap|secret|deployment|
 * namespace|service|serviceaccount`) and the unstructured ones next to them (`expose`, `run`) all
 * succeed and store what they describe; `create -f` with a bogus field is refused by
 * fieldValidation=Strict with kube-apiserver's words, and `--validate=warn` prints the warning.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { execa } from 'execa'
import { pino } from 'pino'
import { startApiserver } from '../../control/apiserver/index.js'

const KUBECTL = '/usr/bin/kubectl'
const kubectlTest = fs.existsSync(KUBECTL) ? test.serial : test.serial.skip

type K = (args: string[], input?: string) => Promise<{ code: number, out: string, err: string }>

async function cluster (t: ExecutionContext): Promise<K> {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-api-pb-'))
  t.teardown(() => { fs.rmSync(d, { recursive: true, force: true }) })
  const api = await startApiserver({
    securePort: 0,
    bindAddress: '127.0.0.1',
    dataDir: d,
    serviceClusterIpRange: '10.96.0.0/12',
    serviceNodePortRange: '30000-32767',
    etcdCompactionInterval: 0,
    logLevel: 'silent'
  }, pino({ level: 'silent' }))
  t.teardown(async () => { await api.stop() })
  const cache = path.join(d, 'kubectl-cache')
  return async (args, input) => {
    const r = await execa(KUBECTL, ['--kubeconfig', api.kubeconfig, '--cache-dir', cache, ...args], { reject: false, ...(input !== undefined ? { input } : {}), timeout: 60_000 })
    return { code: r.exitCode ?? -1, out: String(r.stdout), err: String(r.stderr) }
  }
}

async function ok (t: ExecutionContext, k: K, args: string[], input?: string): Promise<string> {
  const r = await k(args, input)
  t.is(r.code, 0, `kubectl ${args.join(' ')}: ${r.err}`)
  return r.out
}

const json = async (t: ExecutionContext, k: K, args: string[]): Promise<any> => JSON.parse(await ok(t, k, [...args, '-o', 'json']))

kubectlTest('kubectl create/expose/run succeed against weft apiserver and store what they describe', async (t) => {
  const k = await cluster(t)
  t.regex(await ok(t, k, ['create', 'namespace', 'shop']), /namespace\/shop created/)
  t.regex(await ok(t, k, ['-n', 'shop', 'create', 'configmap', 'settings', '--from-literal=a=1', '--from-literal=greeting=hello world']), /configmap\/settings created/)
  t.regex(await ok(t, k, ['-n', 'shop', 'create', 'secret', 'generic', 'creds', '--from-literal=password=hunter2']), /secret\/creds created/)
  t.regex(await ok(t, k, ['-n', 'shop', 'create', 'secret', 'docker-registry', 'pull', '--docker-server=registry.example', '--docker-username=u', '--docker-password=p']), /secret\/pull created/)
  t.regex(await ok(t, k, ['-n', 'shop', 'create', 'deployment', 'web', '--image=weft/echo', '--replicas=2', '--port=8080']), /deployment.apps\/web created/)
  t.regex(await ok(t, k, ['-n', 'shop', 'create', 'service', 'clusterip', 'api', '--tcp=80:8080']), /service\/api created/)
  t.regex(await ok(t, k, ['-n', 'shop', 'create', 'service', 'nodeport', 'np', '--tcp=80:8080']), /service\/np created/)
  t.regex(await ok(t, k, ['-n', 'shop', 'create', 'service', 'externalname', 'ext', '--external-name=db.example.com']), /service\/ext created/)
  t.regex(await ok(t, k, ['-n', 'shop', 'create', 'serviceaccount', 'robot']), /serviceaccount\/robot created/)
  t.regex(await ok(t, k, ['-n', 'shop', 'expose', 'deployment', 'web', '--port=80', '--target-port=8080', '--name=web-svc']), /service\/web-svc exposed/)
  t.regex(await ok(t, k, ['-n', 'shop', 'run', 'shell', '--image=busybox', '--restart=Never', '--', 'sleep', '3600']), /pod\/shell created/)

  const cm = await json(t, k, ['-n', 'shop', 'get', 'configmap', 'settings'])
  t.deepEqual(cm.data, { a: '1', greeting: 'hello world' })
  const secret = await json(t, k, ['-n', 'shop', 'get', 'secret', 'creds'])
  t.is(Buffer.from(secret.data.password as string, 'base64').toString(), 'hunter2')
  t.is(secret.type, 'Opaque')
  t.is((await json(t, k, ['-n', 'shop', 'get', 'secret', 'pull'])).type, 'kubernetes.io/dockerconfigjson')
  const dep = await json(t, k, ['-n', 'shop', 'get', 'deployment', 'web'])
  t.is(dep.spec.replicas, 2)
  t.deepEqual(dep.spec.selector, { matchLabels: { app: 'web' } })
  t.like(dep.spec.template.spec.containers[0], { name: 'echo', image: 'weft/echo', ports: [{ containerPort: 8080, protocol: 'TCP' }] })
  const svc = await json(t, k, ['-n', 'shop', 'get', 'service', 'api'])
  t.like(svc.spec, { type: 'ClusterIP', ports: [{ name: '80-8080', port: 80, targetPort: 8080, protocol: 'TCP' }] })
  t.regex(svc.spec.clusterIP as string, /^10\.(9[6-9]|1[01][0-9])\./)
  t.deepEqual((await json(t, k, ['-n', 'shop', 'get', 'service', 'web-svc'])).spec.selector, { app: 'web' })
  const np = await json(t, k, ['-n', 'shop', 'get', 'service', 'np'])
  t.is(np.spec.type, 'NodePort')
  t.true(np.spec.ports[0].nodePort >= 30000 && np.spec.ports[0].nodePort <= 32767, String(np.spec.ports[0].nodePort))
  t.like((await json(t, k, ['-n', 'shop', 'get', 'service', 'ext'])).spec, { type: 'ExternalName', externalName: 'db.example.com' })
  t.is((await json(t, k, ['-n', 'shop', 'get', 'serviceaccount', 'robot'])).metadata.name, 'robot')
  t.deepEqual((await json(t, k, ['-n', 'shop', 'get', 'pod', 'shell'])).spec.containers[0].args, ['sleep', '3600'])
  // and the objects work with the rest of kubectl: scale goes through the scale subresource
  t.regex(await ok(t, k, ['-n', 'shop', 'scale', 'deployment', 'web', '--replicas=3']), /scaled/)
  t.is((await json(t, k, ['-n', 'shop', 'get', 'deployment', 'web'])).spec.replicas, 3)
  // a protobuf create of an existing name is the usual AlreadyExists
  const again = await k(['-n', 'shop', 'create', 'configmap', 'settings', '--from-literal=a=2'])
  t.not(again.code, 0)
  t.is(again.err.trim(), 'error: failed to create configmap: configmaps "settings" already exists')
})

const bogus = `apiVersion: apps/v1
kind: Deployment
metadata: {name: strict}
spec:
  replicas: 1
  bogus: true
  selector: {matchLabels: {app: strict}}
  template:
    metadata: {labels: {app: strict}}
    spec:
      containers: [{name: c, image: weft/echo, imagePullPolcy: Always}]
`

kubectlTest('kubectl create -f with unknown fields: Strict refuses with upstream\'s message, --validate=warn warns and creates', async (t) => {
  const k = await cluster(t)
  const r = await k(['create', '-f', '-'], bogus)
  t.not(r.code, 0)
  t.is(r.err.trim(), 'Error from server (BadRequest): error when creating "STDIN": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.bogus", unknown field "spec.template.spec.containers[0].imagePullPolcy"')
  t.not((await k(['get', 'deployment', 'strict'])).code, 0)
  const w = await k(['create', '--validate=warn', '-f', '-'], bogus)
  t.is(w.code, 0, w.err)
  t.regex(w.err, /Warning: unknown field "spec.bogus"/)
  t.regex(w.err, /Warning: unknown field "spec.template.spec.containers\[0\].imagePullPolcy"/)
  t.regex(w.out, /deployment.apps\/strict created/)
})
