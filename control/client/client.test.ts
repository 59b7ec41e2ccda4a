import test from 'ava'
import type { ExecutionContext } from 'ava'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { pino } from 'pino'
import { startApiserver } from '../apiserver/index.js'
import { Informer, KubeApiError, KubeClient, resourcePath } from './index.js'
import type { Obj } from './index.js'

async function server (t: ExecutionContext): Promise<{ client: KubeClient, kubeconfig: string, compact: () => Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-client-'))
  const api = await startApiserver({
    securePort: 0, bindAddress: '127.0.0.1', dataDir: dir, storageBackend: 'memory',
    serviceClusterIpRange: '10.96.0.0/12', serviceNodePortRange: '30000-32767', etcdCompactionInterval: 0, logLevel: 'silent'
  }, pino({ level: 'silent' }))
  const client = await KubeClient.fromKubeconfig(api.kubeconfig)
  t.teardown(async () => { client.close(); await api.stop(); fs.rmSync(dir, { recursive: true, force: true }) })
  return { client, kubeconfig: api.kubeconfig, compact: async () => { await api.store.compact(await api.store.revision()) } }
}

test('resource paths as kube-apiserver lays them out', (t) => {
  t.is(resourcePath({ resource: 'pods', namespace: 'default', name: 'web', subresource: 'status' }), '/api/v1/namespaces/default/pods/web/status')
  t.is(resourcePath({ group: 'apps', version: 'v1', resource: 'deployments' }), '/apis/apps/v1/deployments')
  t.is(resourcePath({ resource: 'namespaces', name: 'kube-system' }), '/api/v1/namespaces/kube-system')
  t.is(resourcePath({ resource: 'nodes', name: 'a b' }), '/api/v1/nodes/a%20b')
})

test('CRUD over HTTPS with the kubeconfig\'s CA and token; errors carry the Status', async (t) => {
  const { client } = await server(t)
  const cm = await client.create({ resource: 'configmaps', namespace: 'default' }, { metadata: { name: 'c' }, data: { a: '1' } })
  t.is((cm.metadata as Obj).name, 'c')
  const patched = await client.patch({ resource: 'configmaps', namespace: 'default', name: 'c' }, { data: { b: '2' } })
  t.deepEqual(patched.data, { a: '1', b: '2' })
  const err = await t.throwsAsync(client.create({ resource: 'configmaps', namespace: 'default' }, { metadata: { name: 'c' } }))
  t.true(err instanceof KubeApiError && err.alreadyExists)
  const { items } = await client.list({ resource: 'configmaps', namespace: 'default' })
  t.deepEqual(items.map((i) => (i.metadata as Obj).name), ['c'])
  await client.delete({ resource: 'configmaps', namespace: 'default', name: 'c' })
  const nf = await t.throwsAsync(client.get({ resource: 'configmaps', namespace: 'default', name: 'c' }))
  t.true(nf instanceof KubeApiError && nf.notFound)
})

test('an informer lists, then follows adds, updates and deletes, and relists after its history is compacted', async (t) => {
  const { client, compact } = await server(t)
  await client.create({ resource: 'configmaps', namespace: 'default' }, { metadata: { name: 'before' } })
  const log: string[] = []
  const inf = new Informer(client, { resource: 'configmaps', namespace: 'default' }, {}, {
    onAdd: (o) => log.push(`add ${String((o.metadata as Obj).name)}`),
    onUpdate: (o) => log.push(`update ${String((o.metadata as Obj).name)}`),
    onDelete: (o) => log.push(`delete ${String((o.metadata as Obj).name)}`)
  }, 50)
  t.teardown(async () => { await inf.stop() })
  await inf.waitForSync()
  t.deepEqual(log, ['add before'])
  await client.create({ resource: 'configmaps', namespace: 'default' }, { metadata: { name: 'x' } })
  await client.patch({ resource: 'configmaps', namespace: 'default', name: 'x' }, { data: { k: 'v' } })
  await client.delete({ resource: 'configmaps', namespace: 'default', name: 'before' })
  const until = Date.now() + 5000
  while (log.length < 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
  t.deepEqual(log, ['add before', 'add x', 'update x', 'delete before'])
  t.deepEqual([...inf.cache.keys()], ['default/x'])
  await compact()
  await client.create({ resource: 'configmaps', namespace: 'default' }, { metadata: { name: 'after' } })
  const until2 = Date.now() + 5000
  while (!inf.cache.has('default/after') && Date.now() < until2) await new Promise((r) => setTimeout(r, 20))
  t.true(inf.cache.has('default/after'))
})
