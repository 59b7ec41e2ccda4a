/**
 * npm run bench:proxy — `weft proxy`'s sync costs, one JSON line per figure.
 *
 * For 1k, 5k and 10k services (iptables mode: 2 endpoints each; nftables
 * mode: 10 each, as issue 7 asks), in a fresh network namespace per run:
 *  - full sync: wall time split into compute (building the transaction) and
 *    kernel apply (iptables-restore / nft -f), plus the proxy's heap;
 *  - raw: the same transaction text loaded straight with `iptables-restore
 *    --noflush` / `nft -f` into another fresh namespace (the ceiling);
 *  - at the largest size, one endpoint change (partial sync), one added
 *    service and the same service removed, compute + apply, and the added
 *    and removed transactions replayed raw with the tool (their ceiling).
 *
 * Sizes: BENCH_SIZES=1000,5000 (default 1000,5000,10000); BENCH_MODES=nftables.
 * Each proxy run is a child process started inside its namespace (`ip netns exec`),
 * as the daemon runs on a node; namespaces are removed by this process.
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { LinuxNetNS, findTool, libNftables, linuxIptables, linuxNftables } from '../../kernel/index.js'
import { iptablesProxier } from '../../proxy/iptables/index.js'
import { nftablesProxier } from '../../proxy/nftables/index.js'
import { ChangeTracker, servicePorts } from '../../proxy/tracker/index.js'
import type { EndpointSlice, Proxier, ProxyState, Service } from '../../proxy/tracker/index.js'

const emit = (fig: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(fig) + '\n') }
const netns = new LinuxNetNS()
const made: string[] = []
let seq = 0
const freshNs = (): string => {
  const name = `wtpxb${process.pid.toString(36)}${seq++}`
  netns.create(name)
  made.push(name)
  return name
}
const dropNs = (name: string): void => { try { netns.remove(name) } catch { /* gone */ } }
process.on('exit', () => { for (const n of made) dropNs(n) })

const ms = (n: number): number => Math.round(n * 10) / 10

function objects (n: number, eps: number): { services: Service[], slices: EndpointSlice[] } {
  const services: Service[] = []
  const slices: EndpointSlice[] = []
  for (let i = 0; i < n; i++) {
    services.push({ metadata: { namespace: `ns${i % 100}`, name: `svc${i}` }, spec: { type: i % 10 === 0 ? 'NodePort' : 'ClusterIP', clusterIP: `172.30.${i >> 8}.${i & 255}`, ports: [{ name: 'p80', port: 80, protocol: 'TCP', ...(i % 10 === 0 ? { nodePort: 30000 + (i / 10) } : {}) }] } })
    slices.push(sliceFor(i, eps, 0))
  }
  return { services, slices }
}

function sliceFor (i: number, eps: number, salt: number): EndpointSlice {
  return {
    metadata: { namespace: `ns${i % 100}`, name: `svc${i}-abc`, labels: { 'kubernetes.io/service-name': `svc${i}` } },
    addressType: 'IPv4',
    ports: [{ name: 'p80', port: 8080, protocol: 'TCP' }],
    endpoints: Array.from({ length: eps }, (_, e) => ({ addresses: [`10.${(e + salt) & 255}.${i >> 8}.${i & 255}`], nodeName: 'node-a' }))
  }
}

function stateOf (tr: ChangeTracker): ProxyState {
  return {
    keys: () => tr.services().keys(),
    ports: (key) => { const s = tr.service(key); return s === undefined ? [] : servicePorts(s, tr.slicesOf(key), 4, 'node-a') }
  }
}

function raw (mode: string, file: string): number {
  const ns = freshNs()
  try {
    const [tool, args] = mode === 'nftables' ? [findTool('nft'), ['-f', file]] : [findTool('iptables-restore'), ['-w', '--noflush', file]]
    const start = performance.now()
    const r = spawnSync('/usr/sbin/ip', ['netns', 'exec', ns, tool, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 })
    const t = performance.now() - start
    if (r.status !== 0) throw new Error(`raw ${mode}: ${r.stderr}`)
    return t
  } finally { dropNs(ns) }
}

/** In the child, inside the run's namespace: the proxier's syncs. */
function child (mode: 'nftables' | 'iptables', n: number, last: boolean, txFile: string): void {
  const eps = mode === 'nftables' ? 10 : 2
  {
    const cfg = { family: 4 as const, clusterCIDRs: ['10.0.0.0/8'], masqueradeAll: false, randomFully: true }
    const proxier: Proxier & { lastTransaction: string } = mode === 'nftables'
      ? nftablesProxier(cfg, { nft: libNftables() ?? linuxNftables() })
      : iptablesProxier(cfg, { iptables: linuxIptables(4) })
    const { services, slices } = objects(n, eps)
    const tr = new ChangeTracker()
    for (const s of services) tr.event({ type: 'ADDED', kind: 'Service', object: s })
    for (const s of slices) tr.event({ type: 'ADDED', kind: 'EndpointSlice', object: s })
    tr.checkout()
    const state = stateOf(tr)
    global.gc?.()
    const heapBefore = process.memoryUsage().heapUsed
    const start = performance.now()
    const st = proxier.sync(state, 'full')
    const wall = performance.now() - start
    const mem = process.memoryUsage()
    emit({
      bench: 'proxy', mode, figure: 'full-sync', services: n, endpointsPerService: eps, ...(mode === 'nftables' ? { nft: libNftables() !== undefined ? 'libnftables' : 'nft -f' } : {}),
      wallMs: ms(wall), computeMs: ms(st.computeMs), applyMs: ms(st.applyMs), computeShareOfApply: Math.round(1000 * st.computeMs / st.applyMs) / 1000,
      transactionBytes: st.bytes, heapUsedMB: Math.round(mem.heapUsed / 1e6), heapDeltaMB: Math.round((mem.heapUsed - heapBefore) / 1e6), rssMB: Math.round(mem.rss / 1e6)
    })
    fs.writeFileSync(txFile, proxier.lastTransaction)
    if (!last) return
    // One endpoint changes.
    tr.event({ type: 'MODIFIED', kind: 'EndpointSlice', object: sliceFor(7, eps, 100) })
    let t0 = performance.now()
    let p = proxier.sync(state, tr.checkout().changed)
    emit({ bench: 'proxy', mode, figure: 'one-endpoint-change', services: n, endpointsPerService: eps, wallMs: ms(performance.now() - t0), computeMs: ms(p.computeMs), applyMs: ms(p.applyMs), transactionBytes: p.bytes, full: p.full })
    // One service added.
    tr.event({ type: 'ADDED', kind: 'Service', object: { metadata: { namespace: 'new', name: 'svc' }, spec: { clusterIP: '172.31.0.1', ports: [{ name: 'p80', port: 80 }] } } })
    tr.event({ type: 'ADDED', kind: 'EndpointSlice', object: { ...sliceFor(1, eps, 50), metadata: { namespace: 'new', name: 'svc-1', labels: { 'kubernetes.io/service-name': 'svc' } } } })
    t0 = performance.now()
    p = proxier.sync(state, tr.checkout().changed)
    emit({ bench: 'proxy', mode, figure: 'one-service-added', services: n, endpointsPerService: eps, wallMs: ms(performance.now() - t0), computeMs: ms(p.computeMs), applyMs: ms(p.applyMs), transactionBytes: p.bytes, full: p.full })
    const addTx = proxier.lastTransaction
    // The same service removed again.
    tr.event({ type: 'DELETED', kind: 'Service', object: { metadata: { namespace: 'new', name: 'svc' }, spec: { clusterIP: '172.31.0.1', ports: [{ name: 'p80', port: 80 }] } } })
    t0 = performance.now()
    p = proxier.sync(state, tr.checkout().changed)
    emit({ bench: 'proxy', mode, figure: 'one-service-removed', services: n, endpointsPerService: eps, wallMs: ms(performance.now() - t0), computeMs: ms(p.computeMs), applyMs: ms(p.applyMs), transactionBytes: p.bytes, full: p.full, rssMBAfterPartialSyncs: Math.round(process.memoryUsage().rss / 1e6) })
    const removeTx = proxier.lastTransaction
    // Their ceilings: the same transactions replayed with the tool directly, add then remove (the pair leaves the
    // ruleset as it was: iptables mode's -I is undone by the -D, nftables' elements and chains come and go).
    const [tool, args] = mode === 'nftables' ? [findTool('nft'), ['-f', '-']] : [findTool('iptables-restore'), ['-w', '--noflush']]
    const tag = mode === 'nftables' ? 'nft-f' : 'iptables-restore'
    for (const [what, tx] of [['added', addTx], ['removed', removeTx]] as const) {
      t0 = performance.now()
      const rr = spawnSync(tool, args, { input: tx, encoding: 'utf8' })
      if (rr.status !== 0) throw new Error(`raw replay (${what}): ${rr.stderr}`)
      emit({ bench: 'proxy', mode, figure: `raw-${tag}-one-service-${what}`, services: n, endpointsPerService: eps, wallMs: ms(performance.now() - t0), transactionBytes: tx.length })
    }
  }
}

function run (mode: 'nftables' | 'iptables', n: number, last: boolean): void {
  const ns = freshNs()
  const txFile = path.join(os.tmpdir(), `weft-proxy-bench-${process.pid}.txt`)
  try {
    const r = spawnSync('/usr/sbin/ip', ['netns', 'exec', ns, process.execPath, '--expose-gc', fileURLToPath(import.meta.url), '--child', mode, String(n), String(last), txFile], { stdio: ['ignore', 'inherit', 'inherit'] })
    if (r.status !== 0) throw new Error(`bench child ${mode} ${n} failed`)
  } finally { dropNs(ns) }
  try {
    emit({ bench: 'proxy', mode, figure: `raw-${mode === 'nftables' ? 'nft-f' : 'iptables-restore'}`, services: n, endpointsPerService: mode === 'nftables' ? 10 : 2, wallMs: ms(raw(mode, txFile)) })
  } finally { fs.rmSync(txFile, { force: true }) }
}

if (process.argv[2] === '--child') {
  child(process.argv[3] as 'nftables' | 'iptables', Number(process.argv[4]), process.argv[5] === 'true', process.argv[6] as string)
} else {
  const sizes = (process.env.BENCH_SIZES ?? '1000,5000,10000').split(',').map(Number)
  const modes = (process.env.BENCH_MODES ?? 'nftables,iptables').split(',') as Array<'nftables' | 'iptables'>
  if (process.getuid?.() !== 0) { process.stderr.write('bench:proxy needs root (network namespaces)\n'); process.exit(1) }
  emit({ bench: 'proxy', figure: 'environment', node: process.version, cpus: os.cpus().length, loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100), nft: spawnSync(findTool('nft'), ['--version'], { encoding: 'utf8' }).stdout.trim(), iptables: spawnSync(findTool('iptables'), ['--version'], { encoding: 'utf8' }).stdout.trim(), kernel: spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim() })
  for (const mode of modes) {
    for (const [i, n] of sizes.entries()) run(mode, n, i === sizes.length - 1)
  }
}
