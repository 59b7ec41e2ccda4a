/** `weft kubelet` runs pods bound to its node: sandboxes, containers, status, probes, back-off, logs, deletion. */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { Obj } from '../../control/client/index.js'
import { LinuxNetNS } from '../../kernel/index.js'
import { condition, nodeCluster, pod, until } from './kubelet-harness.js'
import type { NodeCluster } from './kubelet-harness.js'

const ref = (name: string): { resource: string, namespace: string, name: string } => ({ resource: 'pods', namespace: 'default', name })

async function getPod (c: NodeCluster, name: string): Promise<Obj | undefined> {
  try { return await c.admin.get(ref(name)) } catch { return undefined }
}
const status = (p: Obj): Obj => (p.status ?? {}) as Obj
const cstatus = (p: Obj, i = 0): Obj => ((status(p).containerStatuses ?? []) as Obj[])[i] ?? {}

async function fromNode (c: NodeCluster, url: string): Promise<string> {
  const r = await c.sb.exec(c.node, '/usr/bin/curl', ['-sS', '--max-time', '3', url], { reject: false })
  if (r.exitCode !== 0) throw new Error(`curl ${url}: ${r.stderr}`)
  return r.stdout
}

test('[kernel] a weft/echo pod runs: Running with an IP, answers its name from the node, serves logs; deletion removes netns, CNI state and the pod', async (t) => {
  const c = await nodeCluster(t, { label: 'pod' })
  const created = Date.now()
  await c.admin.create({ resource: 'pods', namespace: 'default' }, pod('web', c.nodeName, [{ name: 'echo', image: 'weft/echo:1.0', ports: [{ containerPort: 8080 }] }]))
  const p = await until('web Running with an IP', async () => { const o = await getPod(c, 'web'); return o !== undefined && status(o).phase === 'Running' && typeof status(o).podIP === 'string' ? o : undefined }, 20_000, 20)
  const startup = Date.now() - created
  t.log(`create → Running with IP: ${startup} ms`)
  const st = status(p)
  const ip = String(st.podIP)
  t.true(ip.startsWith(c.podCidr.split('.').slice(0, 3).join('.') + '.'), ip)
  t.deepEqual(st.podIPs, [{ ip }])
  t.is(st.hostIP, c.nodeIp)
  t.deepEqual(st.hostIPs, [{ ip: c.nodeIp }])
  t.is(typeof st.startTime, 'string')
  const cs = cstatus(p)
  t.is(cs.name, 'echo')
  t.is(cs.image, 'weft/echo:1.0')
  t.regex(String(cs.imageID), /^weft\/echo@sha256:[0-9a-f]{64}$/)
  t.regex(String(cs.containerID), /^weft:\/\/[0-9a-f]{64}$/)
  t.is(cs.restartCount, 0)
  t.truthy((cs.state as Obj).running)
  const ready = await until('Ready', async () => { const o = await getPod(c, 'web'); return o !== undefined && condition(o, 'Ready')?.status === 'True' ? o : undefined })
  for (const type of ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready', 'PodReadyToStartContainers']) t.is(condition(ready, type)?.status, 'True', type)
  t.true(cstatus(ready).ready === true && cstatus(ready).started === true)
  // Events as `kubectl describe` shows them.
  const reasons = await until('events', async () => {
    const { items } = await c.admin.list({ resource: 'events', namespace: 'default' })
    const r = items.filter((e) => (e.involvedObject as Obj).name === 'web').map((e) => `${String(e.reason)}: ${String(e.message)}`)
    return r.length >= 3 ? r : undefined
  })
  t.deepEqual(reasons.sort(), ['Created: Created container echo', 'Pulled: Container image "weft/echo:1.0" already present on machine', 'Started: Started container echo'])

  // The pod answers from the node namespace, with its name and IP.
  const body = await until('an HTTP answer', async () => await fromNode(c, `http://${ip}:8080/`))
  t.is(body, `web ${ip}`)
  t.is(await fromNode(c, `http://${ip}:8080/hostname`), 'web')

  // Logs through the kubelet's endpoint (from the host side, at the node IP).
  const logs = await until('logs', async () => {
    const r = await fetch(`http://${c.nodeIp}:10250/containerLogs/default/web/echo`)
    const text = await r.text()
    return text.includes('GET /hostname') ? text : undefined
  })
  t.regex(logs, /^weft\/echo: web listening on :8080\n/)
  const tail = await (await fetch(`http://${c.nodeIp}:10250/containerLogs/default/web/echo?tailLines=1&timestamps=true`)).text()
  t.regex(tail, /^\d{4}-\d\d-\d\dT[\d:.]+Z GET \/hostname from /)
  t.is(tail.split('\n').filter((l) => l !== '').length, 1)
  t.is((await fetch(`http://${c.nodeIp}:10250/containerLogs/default/nope/echo`)).status, 404)
  t.is((await fetch(`http://${c.nodeIp}:10250/containerLogs/default/web/nope`)).status, 400)
  t.is((await fetch(`http://${c.nodeIp}:10250/containerLogs/default/web/echo?previous=true`)).status, 400)
  t.is((await fetch(`http://${c.nodeIp}:10250/exec/default/web/echo?command=ls`, { method: 'POST' })).status, 501)
  const file = path.join(c.rootDir, 'pods', String((p.metadata as Obj).uid), 'echo', '0.log')
  t.regex(fs.readFileSync(file, 'utf8'), /^\S+ stdout F weft\/echo: web listening on :8080$/m)
  // follow=true streams new lines.
  const ac = new AbortController()
  const follow = await fetch(`http://${c.nodeIp}:10250/containerLogs/default/web/echo?follow=true&tailLines=0`, { signal: ac.signal })
  const reader = follow.body?.getReader()
  await fromNode(c, `http://${ip}:8080/followed`)
  let streamed = ''
  while (reader !== undefined && !streamed.includes('/followed')) {
    const { value, done } = await reader.read()
    if (done) break
    streamed += Buffer.from(value).toString()
  }
  ac.abort()
  t.regex(streamed, /GET \/followed/)

  // The sandbox: a wtp-* namespace and a cached CNI result.
  const netns = new LinuxNetNS()
  const sandboxes = fs.readdirSync(path.join(c.rootDir, 'sandboxes'))
  t.is(sandboxes.length, 1)
  const rec = JSON.parse(fs.readFileSync(path.join(c.rootDir, 'sandboxes', sandboxes[0] as string), 'utf8')) as { id: string, netns: string }
  t.regex(rec.netns, /^wtp-[0-9a-f]{12}$/)
  t.true(netns.exists(netns.pathOf(rec.netns)))
  const cache = path.join(c.rootDir, 'cni-cache', 'results')
  t.deepEqual(fs.readdirSync(cache), [`weft-pod-${rec.id}-eth0`])
  const cached = JSON.parse(fs.readFileSync(path.join(cache, `weft-pod-${rec.id}-eth0`), 'utf8')) as Obj
  t.is(cached.containerId, rec.id)

  // Graceful deletion: the kubelet stops the container, tears the sandbox down, deletes the pod.
  await c.admin.delete(ref('web'))
  await until('the pod gone from the API', async () => (await getPod(c, 'web')) === undefined)
  t.false(netns.exists(netns.pathOf(rec.netns)))
  t.deepEqual(fs.readdirSync(cache), [])
  t.deepEqual(fs.readdirSync(path.join(c.rootDir, 'sandboxes')), [])
  // host-local released the address.
  const ipam = fs.readdirSync(path.join(c.sb.dir, 'ipam', 'weft-pod')).filter((f) => /^\d/.test(f))
  t.deepEqual(ipam, [])
})

test('[kernel] an unknown image waits in ErrImagePull; a crashing container backs off in CrashLoopBackOff; restartPolicy Never fails the pod', async (t) => {
  const c = await nodeCluster(t, { label: 'crash', extraArgs: ['--crash-loop-backoff-initial', '2', '--crash-loop-backoff-max', '4'] })
  await c.admin.create({ resource: 'pods', namespace: 'default' }, pod('nginx', c.nodeName, [{ name: 'web', image: 'nginx:1.27' }]))
  await c.admin.create({ resource: 'pods', namespace: 'default' }, pod('crash', c.nodeName, [{ name: 'c', image: 'weft/shell', command: ['sh', '-c', 'echo dying; exit 3'] }]))
  await c.admin.create({ resource: 'pods', namespace: 'default' }, pod('once', c.nodeName, [{ name: 'c', image: 'weft/shell', args: ['exit 1'] }], { restartPolicy: 'Never' }))
  await c.admin.create({ resource: 'pods', namespace: 'default' }, pod('done', c.nodeName, [{ name: 'c', image: 'weft/shell', command: ['true'] }], { restartPolicy: 'OnFailure' }))

  const bad = await until('ErrImagePull', async () => { const o = await getPod(c, 'nginx'); return o !== undefined && ((cstatus(o).state as Obj | undefined)?.waiting as Obj | undefined)?.reason === 'ErrImagePull' ? o : undefined })
  t.is(status(bad).phase, 'Pending')
  t.is(((cstatus(bad).state as Obj).waiting as Obj).message, 'image "nginx:1.27" is not one of Weft\'s built-in images (weft/echo, weft/shell)')
  t.is(condition(bad, 'Ready')?.status, 'False')

  const looping = await until('CrashLoopBackOff', async () => {
    const o = await getPod(c, 'crash')
    return o !== undefined && ((cstatus(o).state as Obj | undefined)?.waiting as Obj | undefined)?.reason === 'CrashLoopBackOff' ? o : undefined
  }, 20_000)
  const cs = cstatus(looping)
  t.true(Number(cs.restartCount) >= 1)
  t.regex(String(((cs.state as Obj).waiting as Obj).message), /^back-off \ds restarting failed container=c pod=crash_default\(/)
  const { items: events } = await c.admin.list({ resource: 'events', namespace: 'default' })
  t.true(events.some((e) => e.reason === 'BackOff' && (e.involvedObject as Obj).name === 'crash' && (e.involvedObject as Obj).fieldPath === 'spec.containers{c}' && e.type === 'Warning'))
  t.true(events.some((e) => e.reason === 'Failed' && (e.involvedObject as Obj).name === 'nginx' && e.message === 'Error: ErrImagePull'))
  const last = (cs.lastState as Obj).terminated as Obj
  t.is(last.exitCode, 3)
  t.is(last.reason, 'Error')
  t.is(status(looping).phase, 'Running')
  // It keeps being restarted, with growing pauses.
  await until('restartCount ≥ 3', async () => { const o = await getPod(c, 'crash'); return o !== undefined && Number(cstatus(o).restartCount) >= 3 }, 20_000, 200)
  const uid = String((looping.metadata as Obj).uid)
  t.regex(fs.readFileSync(path.join(c.rootDir, 'pods', uid, 'c', '1.log'), 'utf8'), / stdout F dying$/m)
  const prev = await (await fetch(`http://${c.nodeIp}:10250/containerLogs/default/crash/c?previous=true`)).text()
  t.is(prev, 'dying\n')

  const failed = await until('once Failed', async () => { const o = await getPod(c, 'once'); return o !== undefined && status(o).phase === 'Failed' ? o : undefined })
  t.is(((cstatus(failed).state as Obj).terminated as Obj).exitCode, 1)
  t.is(cstatus(failed).restartCount, 0)
  const ok = await until('done Succeeded', async () => { const o = await getPod(c, 'done'); return o !== undefined && status(o).phase === 'Succeeded' ? o : undefined })
  t.is(((cstatus(ok).state as Obj).terminated as Obj).reason, 'Completed')
  t.is(condition(ok, 'Ready')?.reason, 'PodCompleted')
  // Finished pods keep no sandbox: only the crash-looping one and the one waiting for its image have one.
  await until('two sandboxes left', () => fs.readdirSync(path.join(c.rootDir, 'sandboxes')).length === 2)
  t.pass()
})

test('[kernel] probes: a readiness probe flips Ready both ways, a startup probe gates started, ready and liveness, a failing liveness probe restarts the container, exec probes run in the pod network', async (t) => {
  const c = await nodeCluster(t, { label: 'probe' })
  // Ready while /tmp/<dir>/ready exists (exec probe), and an httpGet readiness on the echo server.
  const flag = path.join(c.sb.dir, 'ready')
  await c.admin.create({ resource: 'pods', namespace: 'default' }, pod('rp', c.nodeName, [
    { name: 'echo', image: 'weft/echo', ports: [{ name: 'http', containerPort: 9090 }], readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 } },
    { name: 'flag', image: 'weft/shell', command: ['sleep', '3600'], readinessProbe: { exec: { command: ['test', '-e', flag] }, periodSeconds: 1, failureThreshold: 1 } }
  ]))
  await until('echo ready, flag not', async () => {
    const o = await getPod(c, 'rp')
    return o !== undefined && cstatus(o, 0).ready === true && cstatus(o, 1).ready === false && condition(o, 'Ready')?.status === 'False'
  })
  const p = (await getPod(c, 'rp')) as Obj
  t.is(condition(p, 'Ready')?.reason, 'ContainersNotReady')
  t.is(condition(p, 'Ready')?.message, 'containers with unready status: [flag]')
  fs.writeFileSync(flag, '')
  await until('Ready', async () => { const o = await getPod(c, 'rp'); return o !== undefined && condition(o, 'Ready')?.status === 'True' })
  fs.rmSync(flag)
  await until('not Ready again', async () => { const o = await getPod(c, 'rp'); return o !== undefined && condition(o, 'Ready')?.status === 'False' })

  // Startup: started (and ready) only once the startup probe passed; liveness waits for it.
  const boot = path.join(c.sb.dir, 'booted')
  await c.admin.create({ resource: 'pods', namespace: 'default' }, pod('sp', c.nodeName, [
    { name: 'c', image: 'weft/shell', command: ['sleep', '3600'], startupProbe: { exec: { command: ['test', '-e', boot] }, periodSeconds: 1, failureThreshold: 60 }, livenessProbe: { exec: { command: ['test', '-e', boot] }, periodSeconds: 1, failureThreshold: 1 } }
  ]))
  const sp = await until('sp running, not started', async () => { const o = await getPod(c, 'sp'); return o !== undefined && (cstatus(o).state as Obj | undefined)?.running !== undefined ? o : undefined })
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const sp2 = (await getPod(c, 'sp')) as Obj
  t.is(cstatus(sp2).started, false)
  t.is(cstatus(sp2).ready, false)
  t.is(cstatus(sp2).restartCount, 0, 'liveness does not run before the startup probe passed')
  t.truthy(sp)
  fs.writeFileSync(boot, '')
  await until('sp started and ready', async () => { const o = await getPod(c, 'sp'); return o !== undefined && cstatus(o).started === true && cstatus(o).ready === true })

  // Liveness: a tcpSocket probe on a port nobody listens on restarts the container; an exec probe sees the pod's network.
  await c.admin.create({ resource: 'pods', namespace: 'default' }, pod('lp', c.nodeName, [
    { name: 'c', image: 'weft/shell', command: ['sleep', '3600'], livenessProbe: { tcpSocket: { port: 1 }, periodSeconds: 1, failureThreshold: 2 } },
    { name: 'net', image: 'weft/shell', command: ['sleep', '3600'], livenessProbe: { exec: { command: ['sh', '-c', 'ip -o addr show eth0 | grep -q "inet 10.78."'] }, periodSeconds: 1, failureThreshold: 1 } }
  ], { terminationGracePeriodSeconds: 1 }))
  const restarted = await until('a liveness restart', async () => { const o = await getPod(c, 'lp'); return o !== undefined && Number(cstatus(o, 0).restartCount) >= 1 ? o : undefined }, 20_000)
  t.truthy((cstatus(restarted, 0).lastState as Obj).terminated)
  await new Promise((resolve) => setTimeout(resolve, 2500))
  const later = (await getPod(c, 'lp')) as Obj
  t.is(cstatus(later, 1).restartCount, 0, 'the exec probe in the pod netns passes')
})

test('[kernel] init containers run in order before the app containers; a failing one with restartPolicy Never fails the pod', async (t) => {
  const c = await nodeCluster(t, { label: 'init' })
  const out = path.join(c.sb.dir, 'order')
  await c.admin.create({ resource: 'pods', namespace: 'default' }, pod('ordered', c.nodeName, [
    { name: 'app', image: 'weft/shell', command: ['sh', '-c', `echo app >> ${out}; sleep 3600`] }
  ], { initContainers: [
    { name: 'first', image: 'weft/shell', command: ['sh', '-c', `sleep 0.3; echo first >> ${out}`] },
    { name: 'second', image: 'weft/shell', command: ['sh', '-c', `echo second >> ${out}`] }
  ] }))
  await c.admin.create({ resource: 'pods', namespace: 'default' }, pod('broken', c.nodeName, [
    { name: 'app', image: 'weft/shell', command: ['sleep', '3600'] }
  ], { restartPolicy: 'Never', initContainers: [{ name: 'fail', image: 'weft/shell', command: ['sh', '-c', 'exit 4'] }] }))
  const p = await until('ordered Running', async () => { const o = await getPod(c, 'ordered'); return o !== undefined && status(o).phase === 'Running' ? o : undefined })
  t.is(condition(p, 'Initialized')?.status, 'True')
  const inits = status(p).initContainerStatuses as Obj[]
  t.deepEqual(inits.map((s) => [s.name, ((s.state as Obj).terminated as Obj | undefined)?.reason, s.ready]), [['first', 'Completed', true], ['second', 'Completed', true]])
  await until('the app wrote', () => fs.existsSync(out) && fs.readFileSync(out, 'utf8').includes('app'))
  t.is(fs.readFileSync(out, 'utf8'), 'first\nsecond\napp\n')

  const b = await until('broken Failed', async () => { const o = await getPod(c, 'broken'); return o !== undefined && status(o).phase === 'Failed' ? o : undefined })
  t.is(condition(b, 'Initialized')?.reason, 'ContainersNotInitialized')
  t.is((((status(b).initContainerStatuses as Obj[])[0]?.state as Obj).terminated as Obj).exitCode, 4)
  t.is(((cstatus(b).state as Obj).waiting as Obj).reason, 'PodInitializing')
})
