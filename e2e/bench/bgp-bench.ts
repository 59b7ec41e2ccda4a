/**
 * npm run bench:bgp — the route reflector's convergence, one JSON line per figure.
 *
 *  (a) in-process: a tester speaker announces N prefixes over iBGP to a weft reflector with M weft clients, all in
 *      this one Node process over in-memory transports; time until every client holds all N (our code alone:
 *      codec, FSM, RIB, reflection, Adj-RIB-Out; no kernel, no other daemon).
 *  (b) ../shared/bench/rr-bench.sh (bgperf-style, in network namespaces: a BIRD tester, M BIRD clients) for the
 *      reflectors installed here (weft, bird, gobgp; frr when /usr/lib/frr/bgpd exists), BENCH_RUNS runs each,
 *      and one 1M-prefix run of weft unless BENCH_SKIP_1M is set. Needs root.
 *
 * BENCH_PREFIXES (default 100000), BENCH_CLIENTS (4), BENCH_RUNS (3).
 */
import { execa } from 'execa'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { Speaker, memoryTransportPair as transportPair, parseConfig } from '../../routing/bgp/index.js'
import { repoRoot } from '../harness/index.js'

const N = Number(process.env.BENCH_PREFIXES ?? 100_000)
const M = Number(process.env.BENCH_CLIENTS ?? 4)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const emit = (fig: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(fig) + '\n') }

async function inProcess (): Promise<void> {
  const speakers: Record<string, Speaker> = {}
  const mk = (address: string, doc: Record<string, unknown>): Speaker => {
    const s = new Speaker(parseConfig(doc), {
      noListener: true,
      connect: async (pc) => {
        const remote = speakers[pc.address]
        if (remote === undefined) throw new Error('ECONNREFUSED')
        const [mine, theirs] = transportPair({ a: address, b: pc.address })
        remote.accept(theirs)
        return mine
      }
    })
    speakers[address] = s
    return s
  }
  const clients = Array.from({ length: M }, (_, i) => `10.77.1.${i + 1}`)
  const rr = mk('10.77.0.1', {
    routerId: '10.77.0.1', asn: 64512, clusterId: '10.77.0.1',
    peers: ['10.77.0.2', ...clients].map((address) => ({ address, asn: 64512, routeReflectorClient: true, passive: true, families: ['ipv4'] }))
  })
  const cs = clients.map((a) => mk(a, { routerId: a, asn: 64512, peers: [{ address: '10.77.0.1', asn: 64512, families: ['ipv4'] }] }))
  const tester = mk('10.77.0.2', { routerId: '10.77.0.2', asn: 64512, peers: [{ address: '10.77.0.1', asn: 64512, families: ['ipv4'] }] })
  await rr.start()
  for (const c of cs) await c.start()
  while (rr.neighbors().filter((n) => n.state === 'Established').length < M) await new Promise((resolve) => setTimeout(resolve, 5))
  for (let k = 0; k < N; k++) tester.announce({ prefix: `${100 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}.0/24`, nextHop: '10.77.0.2', communities: [], localPref: undefined, med: undefined })
  const rss0 = process.memoryUsage().rss
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  await tester.start()
  let peak = rss0
  while (!cs.every((c) => c.rib.loc.size >= N)) {
    peak = Math.max(peak, process.memoryUsage().rss)
    await new Promise((resolve) => setImmediate(resolve))
  }
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  emit({ figure: 'in-process reflector convergence', prefixes: N, clients: M, seconds: Number(seconds.toFixed(3)), cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(3)), rssMiB: Math.round(peak / 2 ** 20), note: 'tester, reflector and clients share one process' })
  for (const s of Object.values(speakers)) await s.stop()
}

async function rrBench (rr: string, prefixes: number, clients: number): Promise<Record<string, unknown>> {
  const script = path.resolve(repoRoot, '..', 'shared', 'bench', 'rr-bench.sh')
  const r = await execa('bash', [script, rr, String(prefixes), String(clients)], {
    cwd: repoRoot, reject: false, env: { WEFT_BGPD: `${process.execPath} ${path.join(repoRoot, 'dist', 'routing', 'bgp', 'main.js')} --log-level warn` }
  })
  const line = String(r.stdout).split('\n').find((l) => l.startsWith('rr='))
  if (line === undefined) return { figure: 'rr-bench', rr, prefixes, clients, error: `${String(r.stdout)}${String(r.stderr)}`.slice(-400) }
  const kv = Object.fromEntries(line.split(' ').map((x) => x.split('=')))
  return { figure: 'rr-bench', rr, prefixes, clients, seconds: Number(kv.seconds), peakMiB: Math.round(Number(kv.rr_peak_kib) / 1024) }
}

await inProcess()
if (process.getuid?.() !== 0) {
  emit({ figure: 'rr-bench', skipped: 'needs root (network namespaces)' })
} else {
  const reflectors = ['weft', 'bird', 'gobgp', ...(fs.existsSync('/usr/lib/frr/bgpd') ? ['frr'] : [])]
  for (const rr of reflectors) for (let i = 0; i < RUNS; i++) emit(await rrBench(rr, N, M))
  if (process.env.BENCH_SKIP_1M === undefined) emit(await rrBench('weft', 1_000_000, M))
}
