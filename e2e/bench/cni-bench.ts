/**
 * npm run bench:cni — ADD+DEL wall time of bridge + host-local, ours against
 * the Go reference plugins in the same run, interleaved pair by pair so that
 * machine noise hits both alike. Prints one JSON line per figure.
 *
 * The outer process makes a throwaway node and pod namespace and re-runs
 * itself inside the node (`ip netns exec`), so plugins are spawned directly
 * (no `ip` in the timed path) and everything they create lands in namespaces
 * removed at the end.
 */
import { spawnSync, execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { LinuxNetNS } from '../../kernel/index.js'
import { systemPath } from '../../cni/runtime/index.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const WEFT = path.join(root, 'bin', 'cni')
const REF = '/usr/lib/cni'

interface Variant { label: string, impl: 'weft' | 'ref', env?: Record<string, string> }

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}
function pct (xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] as number
}
const r2 = (x: number): number => Math.round(x * 100) / 100

function inner (podPath: string, dataDir: string, iterations: number): void {
  const variants: Variant[] = [
    { label: 'weft', impl: 'weft' },
    { label: 'weft-no-inprocess-ipam', impl: 'weft', env: { WEFT_CNI_NO_INPROCESS: '1' } },
    { label: 'reference', impl: 'ref' }
  ]
  const scenarios = [
    { name: 'gateway', extra: { isGateway: true } },
    { name: 'gateway+ipMasq', extra: { isGateway: true, ipMasq: true } }
  ]
  const figures: Array<Record<string, unknown>> = []
  for (const sc of scenarios) {
    const times = new Map<string, number[]>(variants.map((v) => [v.label, []]))
    const run = (v: Variant, i: number): number => {
      const dir = v.impl === 'weft' ? WEFT : REF
      const conf = JSON.stringify({
        cniVersion: '1.0.0',
        name: `bench-${v.impl}`,
        type: 'bridge',
        bridge: v.impl === 'weft' ? 'wbr0' : 'rbr0',
        ...sc.extra,
        ipam: { type: 'host-local', ranges: [[{ subnet: v.impl === 'weft' ? '10.77.0.0/16' : '10.78.0.0/16' }]], dataDir }
      })
      const env = { PATH: systemPath(), CNI_CONTAINERID: `bench${i}`, CNI_NETNS: podPath, CNI_IFNAME: 'eth0', CNI_PATH: dir, ...v.env }
      const t0 = process.hrtime.bigint()
      const add = spawnSync(path.join(dir, 'bridge'), [], { input: conf, env: { ...env, CNI_COMMAND: 'ADD' } })
      const del = spawnSync(path.join(dir, 'bridge'), [], { input: conf, env: { ...env, CNI_COMMAND: 'DEL' } })
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      if (add.status !== 0 || del.status !== 0) {
        throw new Error(`${v.label} failed: ADD ${add.status} ${String(add.stdout)} DEL ${del.status} ${String(del.stdout)}`)
      }
      return ms
    }
    for (let i = 0; i < 5; i++) for (const v of variants) run(v, i) // warm caches
    for (let i = 0; i < iterations; i++) {
      // Rotate the order so no variant always runs right after another.
      const order = variants.map((_, k) => variants[(i + k) % variants.length] as Variant)
      for (const v of order) times.get(v.label)?.push(run(v, i))
    }
    const ref = median(times.get('reference') ?? [])
    for (const v of variants) {
      const xs = times.get(v.label) ?? []
      figures.push({ bench: 'cni.bridge+host-local.add+del', scenario: sc.name, impl: v.label, iterations, median_ms: r2(median(xs)), p90_ms: r2(pct(xs, 0.9)), ratio_to_reference: r2(median(xs) / ref) })
    }
  }
  // Start-up alone: VERSION, which touches nothing.
  for (const [label, file] of [['weft', path.join(WEFT, 'bridge')], ['reference', path.join(REF, 'bridge')]] as const) {
    const xs: number[] = []
    for (let i = 0; i < 50; i++) {
      const t0 = process.hrtime.bigint()
      spawnSync(file, [], { input: '{"cniVersion":"1.0.0"}', env: { CNI_COMMAND: 'VERSION' } })
      xs.push(Number(process.hrtime.bigint() - t0) / 1e6)
    }
    figures.push({ bench: 'cni.startup.version', impl: label, iterations: 50, median_ms: r2(median(xs)), p90_ms: r2(pct(xs, 0.9)) })
  }
  for (const f of figures) process.stdout.write(JSON.stringify(f) + '\n')
}

function outer (): void {
  if (process.getuid?.() !== 0) throw new Error('bench:cni creates network namespaces: run it as root')
  for (const f of [path.join(WEFT, 'bridge'), path.join(REF, 'bridge'), path.join(REF, 'host-local')]) {
    if (!fs.existsSync(f)) throw new Error(`${f} missing (npm run build; scripts/install-deps.sh)`)
  }
  const iterations = Number(process.env.BENCH_ITERATIONS ?? 100)
  const ns = new LinuxNetNS()
  const tag = `wtbench${process.pid.toString(36)}`
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bench-'))
  const node = ns.create(`${tag}-node`)
  const pod = ns.create(`${tag}-pod`)
  try {
    execFileSync('ip', ['netns', 'exec', path.basename(node), process.execPath, fileURLToPath(import.meta.url), '--inner', pod, dataDir, String(iterations)], { stdio: 'inherit' })
  } finally {
    ns.remove(path.basename(pod))
    ns.remove(path.basename(node))
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
}

if (process.argv[2] === '--inner') inner(process.argv[3] as string, process.argv[4] as string, Number(process.argv[5]))
else outer()
