/** Pure parts of the kubelet: node object, back-off, images, CNI conf discovery, log format, static pods. */
import test from 'ava'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { goDuration, restartDecision } from './backoff.js'
import type { BackoffConfig } from './backoff.js'
import { confFiles, loadNetwork, podIpsOf } from './cniconf.js'
import { KubeletError } from './errors.js'
import { builtinOf, expandVars, programFor } from './images.js'
import { formatLine, parseLine, renderLines } from './logs.js'
import { goArch, leaseObject, microTime, nodeConditions, nodeObject, nodeStatus, parseLabels, parseTaints } from './node.js'
import type { NodeFacts } from './node.js'
import { mirrorPod, staticPod } from './static.js'
import { echoBody } from './images/echo.js'

const facts: NodeFacts = {
  name: 'n1', nodeIp: '10.0.0.2', hostname: 'n1', port: 10250, labels: { zone: 'a' }, taints: [], cpus: 4, memoryBytes: 8 * 1024 ** 3,
  arch: 'x64', kernelVersion: '6.1.0', osImage: 'Debian GNU/Linux 12 (bookworm)', machineId: 'm', systemUuid: 'u', bootId: 'b', runtimeVersion: 'weft://0.1.0'
}

test('the Node: kubelet labels, capacity = allocatable, addresses, nodeInfo, daemon endpoint', (t) => {
  const n = nodeObject(facts)
  t.deepEqual((n.metadata as { labels: unknown }).labels, {
    'beta.kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': 'n1', 'kubernetes.io/os': 'linux', zone: 'a'
  })
  const s = nodeStatus(facts, [])
  t.deepEqual(s.capacity, { cpu: '4', memory: '8388608Ki', pods: '110' })
  t.deepEqual(s.allocatable, s.capacity)
  t.deepEqual(s.addresses, [{ type: 'InternalIP', address: '10.0.0.2' }, { type: 'Hostname', address: 'n1' }])
  t.like(s.nodeInfo, { kubeletVersion: 'v1.32.0-weft', containerRuntimeVersion: 'weft://0.1.0', architecture: 'amd64', operatingSystem: 'linux' })
  t.deepEqual(s.daemonEndpoints, { kubeletEndpoint: { Port: 10250 } })
  t.is(goArch('arm64'), 'arm64')
})

test('node conditions: NotReady while the network is not, keeping transition times of unchanged conditions', (t) => {
  const a = nodeConditions({ networkReady: false, networkMessage: 'cni config uninitialized' }, [], 'T0')
  const ready = a.find((c) => c.type === 'Ready')
  t.like(ready, { status: 'False', reason: 'KubeletNotReady', lastTransitionTime: 'T0' })
  t.regex(ready?.message ?? '', /^container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:.*cni config uninitialized$/)
  const b = nodeConditions({ networkReady: true }, a, 'T1')
  t.like(b.find((c) => c.type === 'Ready'), { status: 'True', reason: 'KubeletReady', lastTransitionTime: 'T1', lastHeartbeatTime: 'T1' })
  t.like(b.find((c) => c.type === 'MemoryPressure'), { status: 'False', reason: 'KubeletHasSufficientMemory', lastTransitionTime: 'T0' })
})

test('lease: holder, 40 s, MicroTime renewTime, owned by the Node', (t) => {
  const l = leaseObject('n1', 'uid-1', Date.UTC(2026, 0, 1))
  t.deepEqual(l.spec, { holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime: '2026-01-01T00:00:00.000000Z' })
  t.deepEqual((l.metadata as { ownerReferences: unknown }).ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'uid-1' }])
  t.is(microTime(1), '1970-01-01T00:00:00.001000Z')
})

test('--node-labels and --register-with-taints parse as upstream; bad input is KUBELET_ERR_FLAGS', (t) => {
  t.deepEqual(parseLabels('a=b, example.com/x=y,empty='), { a: 'b', 'example.com/x': 'y', empty: '' })
  t.deepEqual(parseTaints('k=v:NoSchedule,k2:NoExecute'), [{ key: 'k', value: 'v', effect: 'NoSchedule' }, { key: 'k2', effect: 'NoExecute' }])
  t.is(t.throws(() => parseTaints('k=v'))?.constructor, KubeletError)
  t.is((t.throws(() => parseLabels('bad key=1')) as KubeletError).code, 'KUBELET_ERR_FLAGS')
})

test('back-off: first restart immediate, then initial doubling to max, counted from the finish; forgotten after 2×max', (t) => {
  const cfg: BackoffConfig = { initialMs: 10_000, maxMs: 40_000 }
  let d = restartDecision(undefined, 0, 0, cfg)
  t.deepEqual(d, { waitMs: 0, next: { backoffMs: 10_000, lastUpdateMs: 0 } })
  const e1 = d.next
  d = restartDecision(e1, 1000, 1000, cfg)
  t.is(d.waitMs, 10_000)
  d = restartDecision(e1, 1000, 11_000, cfg)
  t.deepEqual(d, { waitMs: 0, next: { backoffMs: 20_000, lastUpdateMs: 11_000 } })
  let e = d.next
  for (let i = 0; i < 5; i++) e = restartDecision(e, e.lastUpdateMs, e.lastUpdateMs + e.backoffMs, cfg).next
  t.is(e.backoffMs, 40_000)
  t.is(restartDecision(e, e.lastUpdateMs + 80_001, e.lastUpdateMs + 80_001, cfg).waitMs, 0)
  t.is(goDuration(10_000), '10s')
  t.is(goDuration(300_000), '5m0s')
})

test('images: only weft/echo and weft/shell, any tag or registry prefix; others are ErrImagePull material', (t) => {
  t.is(builtinOf('weft/echo'), 'weft/echo')
  t.is(builtinOf('docker.io/weft/shell:1.2'), 'weft/shell')
  t.is(builtinOf('weft/echo@sha256:abcd'), 'weft/echo')
  t.is(builtinOf('nginx'), undefined)
  const e = t.throws(() => programFor({ name: 'c', image: 'nginx' }, {})) as KubeletError
  t.is(e.code, 'KUBELET_ERR_IMAGE')
  t.is(e.message, 'image "nginx" is not one of Weft\'s built-in images (weft/echo, weft/shell)')
  t.deepEqual(programFor({ name: 'c', image: 'weft/echo', ports: [{ containerPort: 9000 }] }, {}).argv, ['--port', '9000'])
  t.deepEqual(programFor({ name: 'c', image: 'weft/echo' }, {}).argv, ['--port', '8080'])
  t.deepEqual(programFor({ name: 'c', image: 'weft/shell', command: ['sh', '-c', 'echo $(A)'] }, { A: 'x' }).argv, ['sh', '-c', 'echo x'])
  t.deepEqual(programFor({ name: 'c', image: 'weft/shell', args: ['echo', 'hi'] }, {}).argv, ['/bin/sh', '-c', 'echo hi'])
  t.deepEqual(programFor({ name: 'c', image: 'weft/shell', command: ['sleep'], args: ['5'] }, {}).argv, ['/bin/sh', '-c', 'exec "$0" "$@"', 'sleep', '5'])
  t.is(expandVars('$$(A) $(A) $(B)', { A: '1' }), '$(A) 1 $(B)')
  t.is(echoBody({ WEFT_POD_NAME: 'p', WEFT_POD_IP: '10.0.0.9' }, '/'), 'p 10.0.0.9\n')
  t.is(echoBody({ WEFT_POD_NAME: 'p' }, '/hostname'), 'p\n')
})

test('CNI conf: the lexically first .conf/.conflist/.json; a .conf is wrapped into a list; none means "cni config uninitialized"', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-kl-conf-'))
  t.teardown(() => { fs.rmSync(dir, { recursive: true, force: true }) })
  t.is((t.throws(() => loadNetwork(dir)) as KubeletError).message, 'cni config uninitialized')
  fs.writeFileSync(path.join(dir, 'README'), 'x')
  fs.writeFileSync(path.join(dir, '20-b.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'b', plugins: [{ type: 'bridge' }] }))
  fs.writeFileSync(path.join(dir, '10-a.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'a', type: 'bridge', bridge: 'cni0' }))
  t.deepEqual(confFiles(dir).map((f) => path.basename(f)), ['10-a.conf', '20-b.conflist'])
  const { list } = loadNetwork(dir)
  t.deepEqual(list, { cniVersion: '1.0.0', name: 'a', plugins: [{ type: 'bridge', bridge: 'cni0' }] })
  fs.writeFileSync(path.join(dir, '05-bad.conflist'), '{')
  t.is((t.throws(() => loadNetwork(dir)) as KubeletError).code, 'KUBELET_ERR_CNI_CONFIG')
  t.deepEqual(podIpsOf({ ips: [{ address: 'fd00::5/64' }, { address: '10.1.0.5/24' }] }), ['10.1.0.5', 'fd00::5'])
})

test('CRI log lines round-trip; partial lines join; tailLines, timestamps, limitBytes', (t) => {
  const l = { time: '2026-01-01T00:00:00.000000000Z', stream: 'stdout' as const, partial: false, text: 'hello world' }
  t.deepEqual(parseLine(formatLine(l).trimEnd()), l)
  const lines = [
    { ...l, text: 'one' },
    { ...l, partial: true, text: 'tw' },
    { ...l, stream: 'stderr' as const, text: 'o' },
    { ...l, time: '2026-01-01T00:00:05.000000000Z', text: 'three' }
  ]
  t.is(renderLines(lines, {}), 'one\ntwo\nthree\n')
  t.is(renderLines(lines, { tailLines: 1, timestamps: true }), '2026-01-01T00:00:05.000000000Z three\n')
  t.is(renderLines(lines, { limitBytes: 5 }), 'one\nt')
  t.is(renderLines(lines, { sinceTime: '2026-01-01T00:00:01Z' }), 'three\n')
  t.is(parseLine('garbage'), undefined)
})

test('static pods: renamed <name>-<node>, bound, uid = config hash; the mirror pod carries the annotations and a Node owner', (t) => {
  const text = 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: c, image: weft/echo}]\n'
  const p = staticPod('/etc/weft/manifests/web.yaml', text, 'n1')
  const m = p.metadata as Record<string, unknown>
  t.is(m.name, 'web-n1')
  t.is(m.namespace, 'default')
  t.regex(String(m.uid), /^[0-9a-f]{32}$/)
  t.is(staticPod('/etc/weft/manifests/web.yaml', text, 'n1').metadata && (staticPod('/etc/weft/manifests/web.yaml', text, 'n1').metadata as { uid: string }).uid, m.uid)
  t.is((p.spec as { nodeName: string }).nodeName, 'n1')
  const annotations = m.annotations as Record<string, string>
  t.is(annotations['kubernetes.io/config.source'], 'file')
  t.is(annotations['kubernetes.io/config.hash'], String(m.uid))
  const mirror = mirrorPod(p, 'n1', 'node-uid')
  const mm = mirror.metadata as Record<string, unknown>
  t.is((mm.annotations as Record<string, string>)['kubernetes.io/config.mirror'], String(m.uid))
  t.is(mm.uid, undefined)
  t.deepEqual(mm.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'node-uid', controller: true }])
  t.is((t.throws(() => staticPod('/x.yaml', 'kind: Service\nmetadata: {name: s}\n', 'n1')) as KubeletError).code, 'KUBELET_ERR_STATIC_POD')
  t.is((t.throws(() => staticPod('/x.json', '{', 'n1')) as KubeletError).code, 'KUBELET_ERR_STATIC_POD')
})
