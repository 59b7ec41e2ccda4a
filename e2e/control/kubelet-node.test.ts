/** `weft kubelet` registers its Node (NotReady until a CNI config appears), keeps status and Lease fresh. */
import test from 'ava'
import type { Obj } from '../../control/client/index.js'
import { condition, getNode, nodeCluster, until } from './kubelet-harness.js'

test('[kernel] the kubelet registers its node NotReady without a CNI config, Ready once one appears, and holds a Lease', async (t) => {
  const c = await nodeCluster(t, { label: 'reg', withCni: false, extraArgs: ['--node-labels', 'weft.dev/pool=a,zone=z1', '--register-with-taints', 'dedicated=infra:NoSchedule'] })
  const n = await until('the node with a Ready condition', async () => { const o = await getNode(c); return o !== undefined && condition(o, 'Ready') !== undefined ? o : undefined })
  const m = n.metadata as Obj
  const labels = m.labels as Record<string, string>
  t.is(labels['kubernetes.io/hostname'], c.nodeName)
  t.is(labels['kubernetes.io/os'], 'linux')
  t.is(labels['kubernetes.io/arch'], process.arch === 'x64' ? 'amd64' : process.arch)
  t.is(labels['weft.dev/pool'], 'a')
  t.deepEqual((n.spec as Obj).taints, [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }])
  const st = n.status as Obj
  const ready = condition(n, 'Ready') as Obj
  t.is(ready.status, 'False')
  t.is(ready.reason, 'KubeletNotReady')
  t.regex(String(ready.message), /^container runtime network not ready: .*cni config uninitialized/)
  for (const type of ['MemoryPressure', 'DiskPressure', 'PIDPressure']) t.is(condition(n, type)?.status, 'False', type)
  t.deepEqual(st.addresses, [{ type: 'InternalIP', address: c.nodeIp }, { type: 'Hostname', address: c.nodeName }])
  t.deepEqual(st.daemonEndpoints, { kubeletEndpoint: { Port: 10250 } })
  const cap = st.capacity as Record<string, string>
  t.is(cap.pods, '110')
  t.regex(cap.cpu ?? '', /^\d+$/)
  t.regex(cap.memory ?? '', /^\d+Ki$/)
  t.deepEqual(st.allocatable, st.capacity)
  const info = st.nodeInfo as Record<string, string>
  t.is(info.kubeletVersion, 'v1.32.0-weft')
  t.regex(info.containerRuntimeVersion ?? '', /^weft:\/\/\d+\.\d+\.\d+/)
  t.is(info.operatingSystem, 'linux')
  t.not(info.kernelVersion, '')
  t.not(info.osImage, '')

  const lease = await until('the node Lease', async () => await c.admin.get({ group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-node-lease', name: c.nodeName }))
  const ls = lease.spec as Obj
  t.is(ls.holderIdentity, c.nodeName)
  t.is(ls.leaseDurationSeconds, 40)
  t.deepEqual(((lease.metadata as Obj).ownerReferences as Obj[])[0]?.name, c.nodeName)

  c.writeConflist()
  const readyAt = Date.now()
  await until('Ready=True', async () => { const o = await getNode(c); return o !== undefined && condition(o, 'Ready')?.status === 'True' })
  t.true(Date.now() - readyAt < 5000)
  const r2 = condition((await getNode(c)) as Obj, 'Ready') as Obj
  t.is(r2.reason, 'KubeletReady')

  // The Lease is renewed every 10 s.
  const first = String(ls.renewTime)
  await until('a renewed lease', async () => {
    const l = await c.admin.get({ group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-node-lease', name: c.nodeName })
    return String((l.spec as Obj).renewTime) !== first
  }, 15_000, 500)
  t.pass()
})
