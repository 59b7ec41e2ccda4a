import test from 'ava'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { fakeProxyNft, plan, slice, svc, traceNft } from '../testing/index.js'
import { nftablesProxier } from '../nftables/index.js'
import { servicePorts } from '../tracker/index.js'
import type { Clock } from '../../routing/runner/index.js'
import { applyConfigFile, parseDuration, proxyDefaults } from './cli.js'
import { staleUdpFilters } from './conntrack.js'
import { healthCheckServers } from './healthcheck.js'
import type { ConntrackFilter } from './conntrack.js'
import { startProxyLoop } from './proxy.js'
import { fileSource, memorySource, parseManifests } from './source.js'

/** A manual clock: timers fire only when the test advances time. */
function manualClock (): Clock & { advance (ms: number): Promise<void> } {
  let t = 0
  const timers = new Set<{ at: number, fn: () => void }>()
  return {
    now: () => t,
    setTimeout: (fn, ms) => { const h = { at: t + ms, fn }; timers.add(h); return h },
    clearTimeout: (h) => { timers.delete(h as { at: number, fn: () => void }) },
    async advance (ms) {
      const end = t + ms
      for (;;) {
        const next = [...timers].filter((h) => h.at <= end).sort((a, b) => a.at - b.at)[0]
        if (next === undefined) break
        timers.delete(next)
        t = next.at
        next.fn()
        await new Promise((resolve) => setImmediate(resolve))
      }
      t = end
    }
  }
}

test('the loop does not sync before both listings, then syncs at once for a burst of two, then once per minSyncPeriod for coalesced events', async (t) => {
  const clock = manualClock()
  const src = memorySource()
  const nft = fakeProxyNft()
  const syncs: boolean[] = []
  const loop = await startProxyLoop({ nodeName: plan.nodeName, minSyncPeriodMs: 1000, syncPeriodMs: 30_000 }, {
    source: src,
    proxiers: [nftablesProxier({ family: 4, clusterCIDRs: [plan.podCIDR], masqueradeAll: false }, { nft })],
    clock,
    onSync: ({ stats }) => { syncs.push(stats[0]?.full ?? false) }
  })
  src.push({ type: 'ADDED', kind: 'Service', object: svc('ns1', 'a', { clusterIP: '172.30.0.1' }) })
  const annotated = slice('ns1', 'a', [{ ip: '10.180.0.1' }])
  annotated.metadata.annotations = { 'endpoints.kubernetes.io/last-change-trigger-time': new Date(Date.now() - 2000).toISOString() }
  src.push({ type: 'ADDED', kind: 'EndpointSlice', object: annotated })
  await clock.advance(5000)
  t.is(nft.scripts.length, 0, 'no sync before the initial listings')
  src.push({ type: 'SYNCED', kind: 'Service' })
  src.push({ type: 'SYNCED', kind: 'EndpointSlice' })
  await clock.advance(10)
  t.deepEqual(syncs, [true])
  t.regex(loop.metrics.render('nftables'), /kubeproxy_network_programming_duration_seconds_bucket\{le="1"\} 0\nkubeproxy_network_programming_duration_seconds_bucket\{le="2"\} 0\n[^]*_bucket\{le="3"\} 1\n/)
  const trace = (): string => traceNft(nft, 'ip', { src: plan.localPod, dst: '172.30.0.1', proto: 'tcp', dport: 80 }, { nodeIPs: [plan.nodeIP] }).output
  t.is(trace(), '10.180.0.1:80')
  // kube-proxy's burst of 2: the next change is synced at once; after that, changes wait for minSyncPeriod, and two
  // of them within it make one partial sync.
  src.push({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('ns1', 'a', [{ ip: '10.180.0.4' }]) })
  await clock.advance(10)
  t.deepEqual(syncs, [true, false], 'the second sync of the burst')
  t.is(trace(), '10.180.0.4:80')
  src.push({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('ns1', 'a', [{ ip: '10.180.0.2' }]) })
  src.push({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('ns1', 'a', [{ ip: '10.180.0.3' }]) })
  await clock.advance(500)
  t.deepEqual(syncs, [true, false], 'no token left: wait')
  await clock.advance(600)
  t.deepEqual(syncs, [true, false, false])
  t.is(trace(), '10.180.0.3:80')
  // A net no-op does not queue a sync.
  src.push({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('ns1', 'a', [{ ip: '10.180.0.3' }]) })
  t.deepEqual(loop.tracker.pending, { services: 0, endpointSlices: 0 })
  t.true(loop.health().healthy)
  // two modifications of one slice between syncs are one change
  t.regex(loop.metrics.render('nftables'), /kubeproxy_sync_proxy_rules_endpoint_changes_total 3/)
  await loop.stop()
})

test('a failed sync is retried after retryMs as a full sync; /healthz turns unhealthy while a change waits too long', async (t) => {
  const clock = manualClock()
  const src = memorySource()
  const nft = fakeProxyNft()
  let failing = false
  nft.failOn = () => failing
  const syncs: Array<{ full: boolean | undefined, error: boolean }> = []
  const loop = await startProxyLoop({ nodeName: plan.nodeName, minSyncPeriodMs: 0, syncPeriodMs: 60_000, retryMs: 2000, healthTimeoutMs: 5000 }, {
    source: src,
    proxiers: [nftablesProxier({ family: 4, clusterCIDRs: [], masqueradeAll: false }, { nft })],
    clock,
    onSync: ({ stats, error }) => { syncs.push({ full: stats[0]?.full, error: error !== undefined }) }
  })
  src.push({ type: 'SYNCED', kind: 'Service' })
  src.push({ type: 'SYNCED', kind: 'EndpointSlice' })
  await clock.advance(1)
  failing = true
  src.push({ type: 'ADDED', kind: 'Service', object: svc('ns1', 'a', { clusterIP: '172.30.0.1' }) })
  await clock.advance(1)
  t.deepEqual(syncs.map((s) => s.error), [false, true])
  await clock.advance(1500)
  t.is(syncs.length, 2, 'no retry before retryMs')
  await clock.advance(600)
  t.is(syncs.length, 3)
  t.true(syncs[2]!.error)
  await clock.advance(3000)
  t.false(loop.health().healthy)
  failing = false
  await clock.advance(2000)
  t.deepEqual(syncs.at(-1), { full: true, error: false })
  t.true(loop.health().healthy)
  t.regex(loop.metrics.render('nftables'), /kubeproxy_sync_proxy_rules_nftables_sync_failures_total [1-9]/)
  await loop.stop()
})

test('stale UDP conntrack: a removed endpoint, and a service getting its first endpoint', (t) => {
  const s = svc('ns1', 'dns', { type: 'NodePort', clusterIP: '172.30.0.53', externalIPs: ['192.168.99.53'], ports: [{ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }] })
  const sl = (ips: string[]): ReturnType<typeof slice> => slice('ns1', 'dns', ips.map((ip) => ({ ip })), 5353, 'dns', 'UDP')
  const ports = (ips: string[]): ReturnType<typeof servicePorts> => servicePorts(s, [sl(ips)], 4, plan.nodeName)
  const removed: ConntrackFilter[] = staleUdpFilters(ports(['10.180.0.1', '10.180.0.2']), ports(['10.180.0.1']))
  t.deepEqual(removed, [
    { family: 4, origDst: '172.30.0.53', dstNat: '10.180.0.2' },
    { family: 4, origDst: '192.168.99.53', dstNat: '10.180.0.2' },
    { family: 4, dport: 30053, dstNat: '10.180.0.2' }
  ])
  t.deepEqual(staleUdpFilters(ports([]), ports(['10.180.0.1'])), [
    { family: 4, origDst: '172.30.0.53' }, { family: 4, origDst: '192.168.99.53' }, { family: 4, dport: 30053 }
  ])
  t.deepEqual(staleUdpFilters(ports(['10.180.0.1']), ports(['10.180.0.1'])), [])
  const tcp = servicePorts(svc('ns1', 'web', { clusterIP: '172.30.0.80' }), [slice('ns1', 'web', [{ ip: '10.180.0.1' }])], 4, plan.nodeName)
  t.deepEqual(staleUdpFilters(tcp, []), [], 'TCP needs no flush')
})

test('manifest sources: Lists and multi-document YAML; a watched directory turns edits into events', async (t) => {
  const objs = parseManifests(`apiVersion: v1
kind: List
items:
- {kind: Service, metadata: {name: a}, spec: {clusterIP: 172.30.0.1, ports: [{port: 80}]}}
- {kind: ConfigMap, metadata: {name: ignored}}
---
kind: EndpointSlice
metadata: {name: a-1, labels: {kubernetes.io/service-name: a}}
addressType: IPv4
endpoints: [{addresses: [10.180.0.1]}]
`, 'x.yaml')
  t.deepEqual(objs.map((o) => `${o.kind}/${o.object.metadata.name}`), ['Service/a', 'EndpointSlice/a-1'])
  const e = t.throws(() => parseManifests('kind: Service\nmetadata: {name: b}\n', 'y.yaml'))
  t.is((e as { code?: string }).code, 'PROXY_ERR_OBJECT')

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-proxy-src-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.writeFileSync(path.join(dir, 'a.json'), JSON.stringify(svc('ns1', 'a', { clusterIP: '172.30.0.1' })).replace('{', '{"kind":"Service",'))
  const src = fileSource({ path: dir, watchMs: 20 })
  const seen: string[] = []
  await src.start((ev) => { seen.push(ev.type === 'SYNCED' ? `SYNCED ${ev.kind}` : `${ev.type} ${ev.kind} ${ev.object.metadata.name}`) })
  t.deepEqual(seen, ['ADDED Service a', 'SYNCED Service', 'SYNCED EndpointSlice'])
  fs.writeFileSync(path.join(dir, 'a.json'), JSON.stringify(svc('ns1', 'a', { clusterIP: '172.30.0.2' })).replace('{', '{"kind":"Service",'))
  await new Promise((resolve) => setTimeout(resolve, 100))
  fs.rmSync(path.join(dir, 'a.json'))
  await new Promise((resolve) => setTimeout(resolve, 100))
  await src.stop()
  t.deepEqual(seen.slice(3), ['MODIFIED Service a', 'DELETED Service a'])
})

test('KubeProxyConfiguration: fills what the command line left at defaults', (t) => {
  const cfg = `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
clusterCIDR: 10.244.0.0/16
nodePortAddresses: [192.168.0.0/24]
healthzBindAddress: 0.0.0.0:10256
nftables:
  masqueradeAll: true
  minSyncPeriod: 2s
  syncPeriod: 1m0s
clientConnection:
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
`
  const o = applyConfigFile(proxyDefaults, cfg, new Set(['clusterCidr']))
  t.like(o, { proxyMode: 'nftables', clusterCidr: '', masqueradeAll: true, minSyncPeriodMs: 2000, syncPeriodMs: 60_000, nodeportAddresses: ['192.168.0.0/24'], kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf' })
  t.is(parseDuration('500ms'), 500)
  t.is((t.throws(() => parseDuration('5 seconds')) as { code?: string }).code, 'PROXY_ERR_CONFIG')
  t.is((t.throws(() => applyConfigFile(proxyDefaults, 'kind: Other\n', new Set())) as { code?: string }).code, 'PROXY_ERR_CONFIG')
  t.is((t.throws(() => applyConfigFile(proxyDefaults, 'kind: KubeProxyConfiguration\nmode: userspace\n', new Set())) as { code?: string }).code, 'PROXY_ERR_CONFIG')
})

test('health-check node port: 200 with local endpoints, 503 without, closed when the service goes', async (t) => {
  const free = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => { resolve(p) }) })
  })
  const clock = manualClock()
  const src = memorySource()
  const hc = healthCheckServers({ host: '127.0.0.1', proxyHealthy: () => true })
  const loop = await startProxyLoop({ nodeName: plan.nodeName, minSyncPeriodMs: 0, syncPeriodMs: 30_000 }, {
    source: src,
    proxiers: [nftablesProxier({ family: 4, clusterCIDRs: [], masqueradeAll: false }, { nft: fakeProxyNft() })],
    healthChecks: hc,
    clock
  })
  const s = svc('ns2', 'lb', { type: 'NodePort', clusterIP: '172.30.0.42', externalTrafficPolicy: 'Local', healthCheckNodePort: free, ports: [{ name: 'p80', port: 80, nodePort: 30001 }] })
  src.push({ type: 'ADDED', kind: 'Service', object: s })
  src.push({ type: 'ADDED', kind: 'EndpointSlice', object: slice('ns2', 'lb', [{ ip: '10.180.0.2', node: plan.nodeName }, { ip: '10.180.0.3', node: 'node-b' }]) })
  src.push({ type: 'SYNCED', kind: 'Service' })
  src.push({ type: 'SYNCED', kind: 'EndpointSlice' })
  await clock.advance(1)
  const get = async (): Promise<{ status: number, body: unknown, weight: string | null }> => {
    const r = await fetch(`http://127.0.0.1:${free}/`)
    return { status: r.status, body: await r.json(), weight: r.headers.get('x-load-balancing-endpoint-weight') }
  }
  for (let i = 0; i < 50 && hc.ports.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.deepEqual(await get(), { status: 200, body: { service: { namespace: 'ns2', name: 'lb' }, localEndpoints: 1, serviceProxyHealthy: true }, weight: '1' })
  src.push({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice('ns2', 'lb', [{ ip: '10.180.0.3', node: 'node-b' }]) })
  await clock.advance(1)
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.like(await get(), { status: 503, body: { localEndpoints: 0 } })
  src.push({ type: 'DELETED', kind: 'Service', object: s })
  await clock.advance(1)
  for (let i = 0; i < 50 && hc.ports.length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.deepEqual(hc.ports, [])
  await t.throwsAsync(fetch(`http://127.0.0.1:${free}/`))
  await loop.stop()
})
