/**
 * weft bgpd against BIRD 2 and GoBGP 3 in network namespaces: eBGP and iBGP, IPv4 and IPv6, ours as route
 * reflector for BIRD and GoBGP clients, ours as a client of a BIRD reflector, a session flap, route refresh, a
 * malformed UPDATE from a raw socket, and the FIB (kernel routes with our protocol number, ECMP, withdrawal on
 * session loss, repair after a manual delete). Every daemon runs inside the sandbox's namespaces with its
 * files in the sandbox's directory; teardown kills them by pid.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'
import { execa } from 'execa'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { ip } from '../../kernel/index.js'
import { repoRoot, requireRoot, sandbox, underlayTopology } from '../harness/index.js'
import type { Host, Sandbox } from '../harness/index.js'

const WEFT = path.join(repoRoot, 'bin', 'weft')
const FIB_PROTO = 196

interface Weft { socket: string, pid: number | undefined, log: () => string }

function have (bin: string): boolean {
  return ['/usr/sbin', '/usr/bin'].some((d) => fs.existsSync(path.join(d, bin)))
}

async function startWeft (t: ExecutionContext, sb: Sandbox, h: Host, cfg: Record<string, unknown>): Promise<Weft> {
  const name = `weft-${h.name}`
  const socket = path.join(sb.dir, `${name}.sock`)
  const file = path.join(sb.dir, `${name}.json`)
  const logFile = path.join(sb.dir, `${name}.log`)
  fs.writeFileSync(file, JSON.stringify({ api: { socket }, ...cfg }, null, 1))
  const proc = execa('ip', ['netns', 'exec', sb.nameOf(h.ns), process.execPath, WEFT, 'bgpd', '--config', file, '--log-level', 'debug'], {
    stdin: 'ignore', stdout: 'ignore', stderr: { file: logFile }, reject: false
  })
  t.teardown(async () => { proc.kill('SIGTERM'); await Promise.race([proc, new Promise((resolve) => setTimeout(resolve, 3000))]); proc.kill('SIGKILL') })
  const w: Weft = { socket, pid: proc.pid, log: () => fs.readFileSync(logFile, 'utf8') }
  await until(() => fs.existsSync(socket), 10_000, () => `bgpd did not start:\n${w.log()}`)
  return w
}

async function weftCli (w: Weft, ...args: string[]): Promise<unknown> {
  const r = await execa(process.execPath, [WEFT, 'bgp', ...args, '--socket', w.socket, '--json'])
  return JSON.parse(String(r.stdout))
}

interface RibRow { prefix: string, reason: string, paths: Array<{ source: string, nextHop: string, asPath: number[][], best: boolean, originatorId?: string, clusterList: string[], localPref?: number }> }
const rib = async (w: Weft): Promise<RibRow[]> => await weftCli(w, 'rib') as RibRow[]
const neighbors = async (w: Weft): Promise<Array<{ address: string, state: string, prefixesReceived: number, updatesOut: number, flaps: number, lastError?: string }>> =>
  await weftCli(w, 'neighbors') as Array<{ address: string, state: string, prefixesReceived: number, updatesOut: number, flaps: number, lastError?: string }>

interface Bird { ctl: string, cli: (cmd: string) => Promise<string> }

async function startBird (t: ExecutionContext, sb: Sandbox, h: Host, conf: string): Promise<Bird> {
  const name = `bird-${h.name}`
  const file = path.join(sb.dir, `${name}.conf`)
  const ctl = path.join(sb.dir, `${name}.ctl`)
  const pid = path.join(sb.dir, `${name}.pid`)
  fs.writeFileSync(file, conf)
  await sb.exec(h.ns, '/usr/sbin/bird', ['-c', file, '-s', ctl, '-P', pid])
  t.teardown(() => {
    try { process.kill(Number(fs.readFileSync(pid, 'utf8').trim()), 'SIGTERM') } catch { /* gone */ }
  })
  const cli = async (cmd: string): Promise<string> => String((await execa('/usr/sbin/birdc', ['-s', ctl, ...cmd.split(' ')], { reject: false })).stdout)
  return { ctl, cli }
}

async function until (cond: () => boolean | Promise<boolean>, ms = 20_000, why: () => string = () => 'condition'): Promise<void> {
  const end = Date.now() + ms
  for (;;) {
    if (await cond()) return
    if (Date.now() > end) throw new Error(`timed out waiting: ${why()}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

const birdTimers = 'hold time 9; keepalive time 3; connect retry time 2; error wait time 1, 4; connect delay time 1;'

function skipUnlessTools (t: ExecutionContext, ...bins: string[]): boolean {
  requireRoot()
  const missing = bins.filter((b) => !have(b))
  if (missing.length > 0) { t.log(`missing ${missing.join(', ')}: skipped`); t.pass(); return false }
  return true
}

test('[kernel] eBGP with BIRD over IPv4 and IPv6 sessions: routes both ways, AS paths and next hops', async (t) => {
  if (!skipUnlessTools(t, 'bird')) return
  const sb = sandbox(t, 'bgpe')
  const topo = await underlayTopology(sb, { hosts: 2, ipv6: true })
  const [hw, hb] = topo.hosts as [Host, Host]
  const accept = { import: 'accept', export: 'accept' }
  const w = await startWeft(t, sb, hw, {
    routerId: hw.ip, asn: 65001, listen: { address: '::', port: 179 },
    announce: ['10.1.0.0/24', 'fd00:1::/64'],
    peers: [
      { address: hb.ip, asn: 65002, families: ['ipv4'], policy: accept, holdTime: 9, connectRetryTime: 1 },
      { address: hb.ip6, asn: 65002, families: ['ipv6'], policy: accept, holdTime: 9, connectRetryTime: 1 }
    ]
  })
  const b = await startBird(t, sb, hb, `router id ${hb.ip};
protocol device {}
protocol static s4 { ipv4; route 10.2.0.0/24 blackhole; route 10.2.1.0/24 blackhole; }
protocol static s6 { ipv6; route fd00:2::/64 blackhole; }
protocol bgp w4 { local ${hb.ip} as 65002; neighbor ${hw.ip} as 65001; ${birdTimers} ipv4 { import all; export where proto = "s4"; }; }
protocol bgp w6 { local ${hb.ip6 as string} as 65002; neighbor ${hw.ip6 as string} as 65001; ${birdTimers} ipv6 { import all; export where proto = "s6"; }; }
`)
  await until(async () => (await neighbors(w)).every((n) => n.state === 'Established'), 30_000, () => 'sessions')
  await until(async () => (await rib(w)).length === 5, 20_000, () => 'weft rib')
  const rows = await rib(w)
  const r2 = rows.find((r) => r.prefix === '10.2.0.0/24')
  t.deepEqual(r2?.paths[0]?.asPath, [[65002]])
  t.is(r2?.paths[0]?.nextHop, hb.ip)
  const r6 = rows.find((r) => r.prefix === 'fd00:2::/64')
  t.is(r6?.paths[0]?.nextHop, ip.canonical(hb.ip6 as string))
  await until(async () => (await b.cli('show route protocol w4')).includes('10.1.0.0/24') && (await b.cli('show route protocol w6')).includes('fd00:1::/64'), 10_000, () => 'bird routes')
  const b4 = await b.cli('show route 10.1.0.0/24 all')
  t.regex(b4, /BGP.as_path: 65001/)
  t.regex(b4, new RegExp(`BGP.next_hop: ${hw.ip.replace(/\./g, '\\.')}`))
  const b6 = await b.cli('show route fd00:1::/64 all')
  t.regex(b6, /BGP.as_path: 65001/)
  t.regex(b6, new RegExp(`BGP.next_hop: ${ip.canonical(hw.ip6 as string)}`))
})

interface Gobgp { cli: (...args: string[]) => Promise<string> }

async function startGobgp (t: ExecutionContext, sb: Sandbox, h: Host, toml: string): Promise<Gobgp> {
  const name = `gobgp-${h.name}`
  const file = path.join(sb.dir, `${name}.toml`)
  fs.writeFileSync(file, toml)
  const proc = execa('ip', ['netns', 'exec', sb.nameOf(h.ns), '/usr/bin/gobgpd', '-f', file, '-l', 'info', '--api-hosts', '127.0.0.1:50051'], {
    stdin: 'ignore', stdout: { file: path.join(sb.dir, `${name}.log`) }, stderr: 'ignore', reject: false
  })
  t.teardown(async () => { proc.kill('SIGTERM'); await Promise.race([proc, new Promise((resolve) => setTimeout(resolve, 3000))]); proc.kill('SIGKILL') })
  const cli = async (...args: string[]): Promise<string> => String((await sb.exec(h.ns, '/usr/bin/gobgp', ['-p', '50051', ...args], { reject: false })).stdout)
  await until(async () => (await sb.exec(h.ns, '/usr/bin/gobgp', ['-p', '50051', 'global'], { reject: false })).exitCode === 0, 10_000, () => 'gobgpd api')
  return { cli }
}

function gobgpNeighbor (address: string, asn: number, opts: { passive?: boolean, families?: string[] } = {}): string {
  return `[[neighbors]]
  [neighbors.config]
    neighbor-address = "${address}"
    peer-as = ${asn}
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
    connect-retry = 1
  [neighbors.transport.config]
    passive-mode = ${opts.passive === true ? 'true' : 'false'}
${(opts.families ?? ['ipv4-unicast']).map((f) => `  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "${f}"`).join('\n')}
`
}

test('[kernel] weft as route reflector for a BIRD client and a GoBGP client: ORIGINATOR_ID, CLUSTER_LIST, next hop kept', async (t) => {
  if (!skipUnlessTools(t, 'bird', 'gobgpd')) return
  const sb = sandbox(t, 'bgprr')
  const topo = await underlayTopology(sb, { hosts: 3 })
  const [hw, hb, hg] = topo.hosts as [Host, Host, Host]
  const w = await startWeft(t, sb, hw, {
    routerId: hw.ip, asn: 65000, clusterId: '1.1.1.1',
    peers: [
      { address: hb.ip, asn: 65000, routeReflectorClient: true, families: ['ipv4'], holdTime: 9, connectRetryTime: 1 },
      // GoBGP 3 does no collision detection: it listens, we dial.
      { address: hg.ip, asn: 65000, routeReflectorClient: true, families: ['ipv4'], holdTime: 9, connectRetryTime: 1 }
    ]
  })
  const b = await startBird(t, sb, hb, `router id ${hb.ip};
protocol device {}
protocol static s4 { ipv4; route 10.2.0.0/24 blackhole; }
protocol bgp toweft { local ${hb.ip} as 65000; neighbor ${hw.ip} as 65000; ${birdTimers} ipv4 { import all; export where proto = "s4"; }; }
`)
  const g = await startGobgp(t, sb, hg, `[global.config]
  as = 65000
  router-id = "${hg.ip}"
${gobgpNeighbor(hw.ip, 65000, { passive: true })}`)
  await g.cli('global', 'rib', 'add', '10.3.0.0/24', 'nexthop', hg.ip, '-a', 'ipv4')
  await until(async () => (await neighbors(w)).every((n) => n.state === 'Established'), 30_000, () => 'sessions')
  await until(async () => (await b.cli('show route 10.3.0.0/24')).includes('10.3.0.0/24'), 20_000, () => 'BIRD gets the GoBGP route')
  const fromGobgp = await b.cli('show route 10.3.0.0/24 all')
  t.regex(fromGobgp, new RegExp(`BGP.originator_id: ${hg.ip.replace(/\./g, '\\.')}`))
  t.regex(fromGobgp, /BGP.cluster_list: 1\.1\.1\.1/)
  t.regex(fromGobgp, new RegExp(`BGP.next_hop: ${hg.ip.replace(/\./g, '\\.')}`))
  await until(async () => (await g.cli('global', 'rib', '-a', 'ipv4')).includes('10.2.0.0/24'), 20_000, () => 'GoBGP gets the BIRD route')
  const fromBird = JSON.parse(await g.cli('global', 'rib', '10.2.0.0/24', '-a', 'ipv4', '-j')) as Record<string, Array<{ attrs: Array<{ type: number, value?: unknown, nexthop?: string }> }>>
  const p = fromBird['10.2.0.0/24']?.[0]
  t.is(p?.attrs.find((a) => a.type === 3)?.nexthop, hb.ip)
  t.deepEqual(p?.attrs.find((a) => a.type === 9)?.value, hb.ip)
  t.deepEqual(p?.attrs.find((a) => a.type === 10)?.value, ['1.1.1.1'])
})
