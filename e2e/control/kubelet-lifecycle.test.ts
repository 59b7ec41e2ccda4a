/** `weft kubelet` across its own lifecycle: static pods, restarts after a crash, shutdown. */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { Obj } from '../../control/client/index.js'
import { LinuxNetNS } from '../../kernel/index.js'
import { nodeCluster, pod, until } from './kubelet-harness.js'
import type { NodeCluster } from './kubelet-harness.js'

const netns = new LinuxNetNS()

async function kubeletPods (c: NodeCluster): Promise<Obj[]> {
  const r = await fetch(`http://${c.nodeIp}:10250/pods`)
  return ((await r.json()) as { items: Obj[] }).items
}

function sandboxes (c: NodeCluster): Array<{ id: string, netns: string, name: string }> {
  const dir = path.join(c.rootDir, 'sandboxes')
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { id: string, netns: string, name: string })
}

function pidsOf (id: string): number[] {
  const out: number[] = []
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try { if (fs.readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(`WEFT_SANDBOX_ID=${id}`)) out.push(Number(d)) } catch {}
  }
  return out
}

test('[kernel] a killed kubelet\'s pods are torn down by the next one (processes, netns, CNI state), which runs them again; SIGTERM stops every pod', async (t) => {
  const c = await nodeCluster(t, { label: 'rst' })
  await c.admin.create({ resource: 'pods', namespace: 'default' }, pod('keep', c.nodeName, [{ name: 'c', image: 'weft/shell', command: ['sleep', '3600'] }]))
  await until('a running pod', async () => { const p = await c.admin.get({ resource: 'pods', namespace: 'default', name: 'keep' }); return (p.status as Obj | undefined)?.phase === 'Running' })
  const [old] = sandboxes(c)
  if (old === undefined) { t.fail('no sandbox'); return }
  t.true(pidsOf(old.id).length > 0)
  await c.stopKubelet('SIGKILL')
  // What a crash leaves: the sleeping process and its namespace.
  t.true(pidsOf(old.id).length > 0)
  t.true(netns.exists(netns.pathOf(old.netns)))

  c.startKubelet()
  const fresh = await until('a new sandbox', () => { const s = sandboxes(c); return s.length === 1 && s[0]?.id !== old.id ? s[0] : undefined }, 20_000)
  t.deepEqual(pidsOf(old.id), [])
  t.false(netns.exists(netns.pathOf(old.netns)))
  t.false(fs.readdirSync(path.join(c.rootDir, 'cni-cache', 'results')).some((f) => f.includes(old.id)))
  t.true(netns.exists(netns.pathOf(fresh.netns)))
  await until('the pod running again', () => pidsOf(fresh.id).length > 0)

  // SIGTERM: the kubelet stops its pods and removes their sandboxes before it exits.
  await c.stopKubelet('SIGTERM')
  t.deepEqual(pidsOf(fresh.id), [])
  const after = await c.admin.get({ resource: 'pods', namespace: 'default', name: 'keep' })
  const cond = ((after.status as Obj).conditions as Obj[]).find((x) => x.type === 'Ready')
  t.is(cond?.status, 'False', 'a stopped kubelet\'s pods are not Ready')
  t.truthy(((((after.status as Obj).containerStatuses as Obj[])[0]?.state as Obj).terminated))
  t.false(netns.exists(netns.pathOf(fresh.netns)))
  t.deepEqual(sandboxes(c), [])
})

test('[kernel] static pods run from --static-pod-path as <name>-<node>, are listed by the kubelet, and stop when their file goes', async (t) => {
  requireDir()
  const c0dir = fs.mkdtempSync('/tmp/weft-static-')
  t.teardown(() => { fs.rmSync(c0dir, { recursive: true, force: true }) })
  fs.writeFileSync(path.join(c0dir, 'web.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: kube-system\nspec:\n  containers:\n  - name: echo\n    image: weft/echo\n    ports: [{containerPort: 8081}]\n')
  fs.writeFileSync(path.join(c0dir, 'broken.yaml'), 'kind: Pod\nmetadata: {name: x}\n')
  const c = await nodeCluster(t, { label: 'stat', staticPodPath: c0dir, extraArgs: ['--file-check-frequency', '1'] })
  const running = await until('the static pod running', async () => {
    const p = (await kubeletPods(c)).find((x) => (x.metadata as Obj).name === `web-${c.nodeName}`)
    return p !== undefined && (p.status as Obj).phase === 'Running' ? p : undefined
  }, 20_000)
  const m = running.metadata as Obj
  t.is(m.namespace, 'kube-system')
  t.is((m.annotations as Record<string, string>)['kubernetes.io/config.source'], 'file')
  const ip = String((running.status as Obj).podIP)
  const body = await until('an answer', async () => {
    const r = await c.sb.exec(c.node, '/usr/bin/curl', ['-sS', '--max-time', '3', `http://${ip}:8081/hostname`], { reject: false })
    return r.exitCode === 0 ? r.stdout : undefined
  })
  t.is(body, `web-${c.nodeName}`)
  t.regex(c.log(), /KUBELET_ERR_STATIC_POD|not a Pod|spec.containers is required/)
  // The mirror pod in the API (NodeRestriction lets a node create it), with the static pod's status.
  const mirror = await until('the mirror pod in the API', async () => {
    try {
      const p = await c.admin.get({ resource: 'pods', namespace: 'kube-system', name: `web-${c.nodeName}` })
      return (p.status as Obj | undefined)?.phase === 'Running' ? p : undefined
    } catch { return undefined }
  }, 20_000)
  t.truthy(((mirror.metadata as Obj).annotations as Record<string, string>)['kubernetes.io/config.mirror'])
  t.is((mirror.spec as Obj).nodeName, c.nodeName)
  fs.rmSync(path.join(c0dir, 'web.yaml'))
  await until('the static pod gone', async () => (await kubeletPods(c)).length === 0, 20_000)
  await until('its sandbox gone', () => sandboxes(c).length === 0)
  t.pass()
})

test('[kernel] a hostNetwork pod runs in the node namespace with the node IP and no sandbox namespace', async (t) => {
  const c = await nodeCluster(t, { label: 'hostn' })
  await c.admin.create({ resource: 'pods', namespace: 'default' }, pod('hn', c.nodeName, [{ name: 'echo', image: 'weft/echo', ports: [{ containerPort: 18080 }] }], { hostNetwork: true }))
  const p = await until('hn Running', async () => { const o = await c.admin.get({ resource: 'pods', namespace: 'default', name: 'hn' }); return (o.status as Obj | undefined)?.phase === 'Running' ? o : undefined })
  t.is((p.status as Obj).podIP, c.nodeIp)
  t.deepEqual(sandboxes(c).map((s) => s.netns), [''])
  const body = await until('an answer on the node IP', async () => {
    const r = await c.sb.exec(c.node, '/usr/bin/curl', ['-sS', '--max-time', '3', `http://${c.nodeIp}:18080/`], { reject: false })
    return r.exitCode === 0 ? r.stdout : undefined
  })
  t.is(body, `hn ${c.nodeIp}`)
  await c.admin.delete({ resource: 'pods', namespace: 'default', name: 'hn' })
  await until('hn gone', async () => { try { await c.admin.get({ resource: 'pods', namespace: 'default', name: 'hn' }); return false } catch { return true } })
  t.deepEqual(sandboxes(c), [])
})

function requireDir (): void { fs.mkdirSync('/tmp', { recursive: true }) }
