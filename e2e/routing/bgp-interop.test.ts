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
import * as http from 'node:http'
import * as path from 'node:path'
import { ip } from '../../kernel/index.js'
import { repoRoot, requireRoot, sandbox, underlayTopology } from '../harness/index.js'
import type { Host, Sandbox } from '../harness/index.js'

const WEFT = path.join(repoRoot, 'bin', 'weft')
const BGPD = path.join(repoRoot, 'dist', 'routing', 'bgp', 'main.js')
const FIB_PROTO = 196

interface Weft { socket: string, config: string, pid: number | undefined, log: () => string }

function have (bin: string): boolean {
  return ['/usr/sbin', '/usr/bin'].some((d) => fs.existsSync(path.join(d, bin)))
}

async function startWeft (t: ExecutionContext, sb: Sandbox, h: Host, cfg: Record<string, unknown>): Promise<Weft> {
  const name = `weft-${h.name}`
  const socket = path.join(sb.dir, `${name}.sock`)
  const file = path.join(sb.dir, `${name}.json`)
  const logFile = path.join(sb.dir, `${name}.log`)
  fs.writeFileSync(file, JSON.stringify({ api: { socket }, ...cfg }, null, 1))
  // Other builds may be rewriting dist/ while we start: a module that fails to link is retried.
  for (let attempt = 1; ; attempt++) {
    const proc = execa('ip', ['netns', 'exec', sb.nameOf(h.ns), process.execPath, BGPD, '--config', file, '--log-level', 'debug'], {
      stdin: 'ignore', stdout: 'ignore', stderr: { file: logFile }, reject: false
    })
    t.teardown(async () => { proc.kill('SIGTERM'); await Promise.race([proc, new Promise((resolve) => setTimeout(resolve, 3000))]); proc.kill('SIGKILL') })
    const w: Weft = { socket, config: file, pid: proc.pid, log: () => fs.readFileSync(logFile, 'utf8') }
    let exited = false
    void proc.then(() => { exited = true })
    await until(() => exited || fs.existsSync(socket), 10_000, () => `bgpd did not start:\n${w.log()}`)
    if (!exited) return w
    if (attempt >= 3 || !/SyntaxError/.test(w.log())) throw new Error(`bgpd exited:\n${w.log()}`)
  }
}

/** `weft bgp ...` (through bin/weft), retried when a concurrent build left dist/ half written. */
async function cli (w: Weft, ...args: string[]): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const r = await execa(process.execPath, [WEFT, 'bgp', ...args, '--socket', w.socket], { reject: false })
    if (r.exitCode === 0) return String(r.stdout)
    if (attempt >= 3 || !/SyntaxError|does not provide an export/.test(String(r.stderr))) throw new Error(`weft bgp ${args.join(' ')}: ${String(r.stderr)}`)
  }
}

/** The daemon's API over its unix socket (what `weft bgp` calls; polled directly to keep the loop cheap). */
async function api (w: Weft, method: string, url: string, body?: unknown): Promise<unknown> {
  return await new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body)
    const req = http.request({ socketPath: w.socket, method, path: url, headers: data !== undefined ? { 'content-type': 'application/json' } : {} }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))) } catch (e) { reject(e) } })
    })
    // A daemon that died says why in its log.
    req.on('error', (e) => { reject(new Error(`${e.message}; bgpd log:\n${w.log().slice(-3000)}`)) })
    if (data !== undefined) req.write(data)
    req.end()
  })
}

const pathsOf = (rows: RibRow[], prefix: string): RibRow['paths'] => rows.find((r) => r.prefix === prefix)?.paths ?? []
interface RibRow { prefix: string, reason: string, paths: Array<{ source: string, nextHop: string, pathId?: number, asPath: number[][], best: boolean, originatorId?: string, clusterList: string[], localPref?: number }> }
const rib = async (w: Weft): Promise<RibRow[]> => await api(w, 'GET', '/v1/rib') as RibRow[]
interface NeighborRow { address: string, state: string, negotiated: string[], prefixesReceived: number, updatesIn: number, updatesOut: number, flaps: number, lastError?: string, loopedIn: { asPath: number, originatorId: number, clusterList: number } }
const neighbors = async (w: Weft): Promise<NeighborRow[]> => await api(w, 'GET', '/v1/neighbors') as NeighborRow[]

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
  if (missing.length > 0) {
    // CI installs every peer (scripts/install-deps.sh): there a missing one is a failure, not a skip.
    if (process.env.CI === 'true') t.fail(`missing ${missing.join(', ')}: scripts/install-deps.sh installs them`)
    else { t.log(`missing ${missing.join(', ')}: skipped`); t.pass() }
    return false
  }
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

test('[kernel] a 2-octet session with BIRD (enable as4 off): AS paths in 2-octet form both ways', async (t) => {
  if (!skipUnlessTools(t, 'bird')) return
  const sb = sandbox(t, 'bgpas2')
  const topo = await underlayTopology(sb, { hosts: 2 })
  const [hw, hb] = topo.hosts as [Host, Host]
  const w = await startWeft(t, sb, hw, {
    routerId: hw.ip, asn: 65001, announce: ['10.1.0.0/24'],
    peers: [{ address: hb.ip, asn: 65002, families: ['ipv4'], policy: { import: 'accept', export: 'accept' }, holdTime: 9, connectRetryTime: 1 }]
  })
  const b = await startBird(t, sb, hb, `router id ${hb.ip};
protocol device {}
protocol static st { ipv4; route 10.2.0.0/24 blackhole; }
protocol bgp w { local ${hb.ip} as 65002; neighbor ${hw.ip} as 65001; enable as4 off; ${birdTimers} ipv4 { import all; export where proto = "st"; }; }
`)
  await until(async () => (await neighbors(w))[0]?.state === 'Established', 30_000, () => 'session')
  t.false((await neighbors(w))[0]?.negotiated.includes('four-octet-as'))
  t.regex(await b.cli('show protocols all w'), /Session:\s+external(?! AS4)/)
  await until(async () => (await rib(w)).some((r) => r.prefix === '10.2.0.0/24'), 20_000, () => 'BIRD route at weft')
  t.deepEqual(pathsOf(await rib(w), '10.2.0.0/24')[0]?.asPath, [[65002]])
  await until(async () => (await b.cli('show route 10.1.0.0/24 all')).includes('BGP.as_path'), 20_000, () => 'ours at BIRD')
  t.regex(await b.cli('show route 10.1.0.0/24 all'), /BGP.as_path: 65001\s/)
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

test('[kernel] weft as route reflector for a BIRD client and a GoBGP client (added live by weft bgp reload): ORIGINATOR_ID, CLUSTER_LIST, next hop kept', async (t) => {
  if (!skipUnlessTools(t, 'bird', 'gobgpd')) return
  const sb = sandbox(t, 'bgprr')
  const topo = await underlayTopology(sb, { hosts: 3 })
  const [hw, hb, hg] = topo.hosts as [Host, Host, Host]
  const birdPeer = { address: hb.ip, asn: 65000, routeReflectorClient: true, families: ['ipv4'], holdTime: 9, connectRetryTime: 1 }
  // GoBGP 3 does no collision detection: it listens, we dial. It is added later, live (`weft bgp reload`).
  const gobgpPeer = { address: hg.ip, asn: 65000, routeReflectorClient: true, families: ['ipv4'], holdTime: 9, connectRetryTime: 1 }
  const w = await startWeft(t, sb, hw, { routerId: hw.ip, asn: 65000, clusterId: '1.1.1.1', peers: [birdPeer] })
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
  await until(async () => (await neighbors(w))[0]?.state === 'Established', 30_000, () => 'the BIRD session')
  const cfg = JSON.parse(fs.readFileSync(w.config, 'utf8')) as { peers: unknown[] }
  fs.writeFileSync(w.config, JSON.stringify({ ...cfg, peers: [birdPeer, gobgpPeer] }))
  t.regex(await cli(w, 'reload'), new RegExp(`^reloaded; added: ${hg.ip.replace(/\./g, '\\.')}$`))
  await until(async () => (await neighbors(w)).length === 2 && (await neighbors(w)).every((n) => n.state === 'Established'), 30_000, () => 'sessions')
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
  // Update-group reflection: each client is sent its own route back too, and ignores it (its router id is the
  // ORIGINATOR_ID). BIRD and GoBGP keep only their own path; neither sends ours back to us.
  await until(async () => (await neighbors(w)).every((n) => n.prefixesReceived === 1), 10_000, () => 'one prefix from each client')
  const own = await b.cli('show route 10.2.0.0/24 all')
  t.regex(own, /s4/)
  t.notRegex(own, /toweft/, 'BIRD ignored its reflected route')
  const gOwn = JSON.parse(await g.cli('global', 'rib', '10.3.0.0/24', '-a', 'ipv4', '-j')) as Record<string, unknown[]>
  t.is(gOwn['10.3.0.0/24']?.length, 1, 'GoBGP ignored its reflected route')
  for (const n of await neighbors(w)) t.deepEqual(n.loopedIn, { asPath: 0, originatorId: 0, clusterList: 0 })
})

test('[kernel] weft as iBGP client of a BIRD route reflector, IPv4 and IPv6: reflected routes carry ORIGINATOR_ID and CLUSTER_LIST; ADD-PATH received', async (t) => {
  if (!skipUnlessTools(t, 'bird')) return
  const sb = sandbox(t, 'bgpcl')
  const topo = await underlayTopology(sb, { hosts: 3, ipv6: true })
  const [hw, hr, hc] = topo.hosts as [Host, Host, Host]
  const w = await startWeft(t, sb, hw, {
    routerId: hw.ip, asn: 65000, listen: { address: '::', port: 179 },
    announce: ['10.1.0.0/24', 'fd00:1::/64'],
    peers: [
      { address: hr.ip, asn: 65000, families: ['ipv4'], holdTime: 9, connectRetryTime: 1, addPath: 'receive' },
      { address: hr.ip6, asn: 65000, families: ['ipv6'], holdTime: 9, connectRetryTime: 1 }
    ]
  })
  // The reflector also has 10.9.0.0/24 itself, as the client does: with ADD-PATH it sends us both paths.
  await startBird(t, sb, hr, `router id ${hr.ip};
protocol device {}
protocol static r4 { ipv4; route 10.9.0.0/24 blackhole; }
template bgp cl { local as 65000; rr client; rr cluster id 2.2.2.2; ${birdTimers} }
protocol bgp w4 from cl { neighbor ${hw.ip} as 65000; ipv4 { import all; export all; add paths tx; }; }
protocol bgp w6 from cl { neighbor ${hw.ip6 as string} as 65000; ipv6 { import all; export all; }; }
protocol bgp c4 from cl { neighbor ${hc.ip} as 65000; ipv4 { import all; export all; }; }
protocol bgp c6 from cl { neighbor ${hc.ip6 as string} as 65000; ipv6 { import all; export all; }; }
`)
  const c = await startBird(t, sb, hc, `router id ${hc.ip};
protocol device {}
protocol static s4 { ipv4; route 10.4.0.0/24 blackhole; route 10.9.0.0/24 blackhole; }
protocol static s6 { ipv6; route fd00:4::/64 blackhole; }
protocol bgp r4 { local as 65000; neighbor ${hr.ip} as 65000; ${birdTimers} ipv4 { import all; export where proto = "s4"; }; }
protocol bgp r6 { local as 65000; neighbor ${hr.ip6 as string} as 65000; ${birdTimers} ipv6 { import all; export where proto = "s6"; }; }
`)
  await until(async () => (await neighbors(w)).every((n) => n.state === 'Established'), 30_000, () => 'sessions')
  await until(async () => (await rib(w)).some((r) => r.prefix === 'fd00:4::/64') && (await rib(w)).some((r) => r.prefix === '10.4.0.0/24'), 20_000, () => 'reflected routes at weft')
  const rows = await rib(w)
  const r4 = rows.find((r) => r.prefix === '10.4.0.0/24')?.paths[0]
  t.is(r4?.originatorId, hc.ip)
  t.deepEqual(r4?.clusterList, ['2.2.2.2'])
  t.is(r4?.nextHop, hc.ip)
  const r6 = rows.find((r) => r.prefix === 'fd00:4::/64')?.paths[0]
  t.is(r6?.nextHop, ip.canonical(hc.ip6 as string))
  await until(async () => (await c.cli('show route 10.1.0.0/24')).includes('10.1.0.0/24') && (await c.cli('show route fd00:1::/64')).includes('fd00:1::/64'), 20_000, () => 'our routes at the other client')
  const ours = await c.cli('show route 10.1.0.0/24 all')
  t.regex(ours, new RegExp(`BGP.originator_id: ${hw.ip.replace(/\./g, '\\.')}`))
  t.regex(ours, /BGP.local_pref: 100/)
  // ADD-PATH (RFC 7911) received on the IPv4 session: both of the reflector's paths of 10.9.0.0/24, one from each
  // next hop, each under its path identifier; when the client withdraws its own, one path is left.
  const v4 = (await neighbors(w)).find((n) => n.address === hr.ip)
  t.true(v4?.negotiated.includes('add-path-rx:ipv4'), JSON.stringify(v4?.negotiated))
  await until(async () => pathsOf(await rib(w), '10.9.0.0/24').length === 2, 20_000, () => '10.9.0.0/24 with two paths')
  const two = pathsOf(await rib(w), '10.9.0.0/24')
  t.deepEqual(two.map((x) => x.nextHop).sort(), [hc.ip, hr.ip].sort())
  t.is(new Set(two.map((x) => x.pathId)).size, 2)
  t.is(two.filter((x) => x.best).length, 1)
  await c.cli('disable s4')
  await until(async () => pathsOf(await rib(w), '10.9.0.0/24').length === 1, 20_000, () => 'the client\'s path withdrawn by its path id')
  t.is(pathsOf(await rib(w), '10.9.0.0/24')[0]?.nextHop, hr.ip)
  t.false((await rib(w)).some((x) => x.prefix === '10.4.0.0/24'))
})

test('[kernel] session flap and route refresh with BIRD: routes withdrawn on loss and relearned; refresh both ways', async (t) => {
  if (!skipUnlessTools(t, 'bird')) return
  const sb = sandbox(t, 'bgpfl')
  const topo = await underlayTopology(sb, { hosts: 2 })
  const [hw, hb] = topo.hosts as [Host, Host]
  const w = await startWeft(t, sb, hw, {
    routerId: hw.ip, asn: 65000, announce: ['10.1.0.0/24'],
    peers: [{ address: hb.ip, asn: 65000, families: ['ipv4'], holdTime: 9, connectRetryTime: 1, idleHoldTime: 0 }]
  })
  const b = await startBird(t, sb, hb, `router id ${hb.ip};
protocol device {}
protocol static s4 { ipv4; route 10.2.0.0/24 blackhole; }
protocol bgp w { local as 65000; neighbor ${hw.ip} as 65000; ${birdTimers} ipv4 { import all; export where proto = "s4"; }; }
`)
  await until(async () => (await rib(w)).some((r) => r.prefix === '10.2.0.0/24'), 30_000, () => 'route from BIRD')
  // Flap: BIRD drops the session (Cease), we withdraw its routes; it comes back and we relearn them.
  await b.cli('disable w')
  await until(async () => !(await rib(w)).some((r) => r.prefix === '10.2.0.0/24'), 10_000, () => 'withdrawn on session loss')
  const down = (await neighbors(w))[0]
  t.is(down?.flaps, 1)
  t.regex(down?.lastError ?? '', /received 6\/2/)
  await b.cli('enable w')
  await until(async () => (await rib(w)).some((r) => r.prefix === '10.2.0.0/24'), 30_000, () => 'relearned')
  await until(async () => (await b.cli('show route 10.1.0.0/24')).includes('10.1.0.0/24'), 10_000, () => 'BIRD relearned ours')
  // BIRD asks us for a route refresh: we send our routes again.
  const before = (await neighbors(w))[0]?.updatesOut ?? 0
  await b.cli('reload in w')
  // (updatesOut can also grow from the re-advertisement after the flap: wait for the refresh itself too.)
  await until(async () => /route refresh requested/.test(w.log()), 10_000, () => 'BIRD\'s ROUTE-REFRESH received')
  t.regex(w.log(), /route refresh requested: re-advertising","afi":1,"enhanced":true|"enhanced":true[^\n]*route refresh requested/, 'enhanced route refresh negotiated with BIRD (RFC 7313)')
  await until(async () => ((await neighbors(w))[0]?.updatesOut ?? 0) > before, 10_000, () => 'updates after BIRD\'s ROUTE-REFRESH')
  // We ask BIRD for one: it re-sends, and the session stays up.
  const inBefore = (await neighbors(w))[0]?.updatesIn ?? 0
  const r = await cli(w, 'refresh', hb.ip)
  t.regex(r, /refresh .*: ok/)
  await until(async () => ((await neighbors(w))[0]?.updatesIn ?? 0) > inBefore, 10_000, () => 'BIRD re-sent after our ROUTE-REFRESH')
  // BIRD answers between BoRR and EoRR: its routes were stale meanwhile, and all of them came again.
  await until(async () => /enhanced route refresh ended \(EoRR\)/.test(w.log()), 10_000, () => 'BIRD\'s EoRR')
  t.regex(w.log(), /"removed":0,[^\n]*enhanced route refresh ended \(EoRR\)/)
  t.true((await rib(w)).some((r) => r.prefix === '10.2.0.0/24'))
  t.is((await neighbors(w))[0]?.state, 'Established')
  // The CLI: tables for people, announce and withdraw live.
  t.regex(await cli(w, 'neighbors'), new RegExp(`^${hb.ip.replace(/\./g, '\\.')}\\s+65000\\s+Established\\s+\\S+\\s+1\\s+1\\s`, 'm'))
  t.regex(await cli(w, 'rib'), /^\*>\s+10\.2\.0\.0\/24\s+192\.168\.50\.12\s+192\.168\.50\.12\s+-\s+100\s+-\s+only-path$/m)
  t.regex(await cli(w, 'announce', '10.1.9.0/24', '--community', '65000:9'), /announced 10\.1\.9\.0\/24/)
  await until(async () => (await b.cli('show route 10.1.9.0/24')).includes('10.1.9.0/24'), 10_000, () => 'CLI announcement at BIRD')
  t.regex(await b.cli('show route 10.1.9.0/24 all'), /BGP.community: \(65000,9\)/)
  await cli(w, 'withdraw', '10.1.9.0/24')
  await until(async () => !(await b.cli('show route 10.1.9.0/24')).includes('10.1.9.0/24'), 10_000, () => 'CLI withdrawal at BIRD')
})

/** A hand-driven BGP peer over a raw socket: the OPEN exchange by the codec, then the bytes we choose. */
const RAW_PEER = `
import * as net from 'node:net'
import * as fs from 'node:fs'
import * as http from 'node:http'
const codec = await import(process.argv[2])
const [, , , host, me, dir] = process.argv
const hex = (s) => Buffer.from(s.replace(/\\s+/g, ''), 'hex')
const marker = 'ff'.repeat(16)
const msg = (type, body) => Buffer.concat([hex(marker), Buffer.from([0, 0, type]), body]).fill(0, 0, 0)
const frame = (type, body) => { const b = msg(type, body); b.writeUInt16BE(b.length, 16); return b }
const sock = net.connect({ host, port: 179 })
const got = []
let buf = Buffer.alloc(0)
sock.on('data', (d) => {
  buf = Buffer.concat([buf, d])
  while (buf.length >= 19) { const len = buf.readUInt16BE(16); if (buf.length < len) break; got.push(codec.decodeMessage(buf.subarray(0, len), { fourOctetAs: true })); buf = buf.subarray(len) }
})
const wait = async (pred) => { for (let i = 0; i < 200; i++) { if (pred()) return; await new Promise((r) => setTimeout(r, 50)) } throw new Error('timeout') }
await new Promise((r) => sock.once('connect', r))
sock.write(codec.encodeMessage({ type: 1, myAs: 65000, holdTime: 30, bgpId: me, parameters: [{ type: 2, capabilities: [
  { code: 1, afi: 1, safi: 1 }, { code: 65, asn: 65000 }] }] }))
await wait(() => got.some((m) => m.type === 1))
sock.write(codec.encodeMessage({ type: 4 }))
await wait(() => got.some((m) => m.type === 4))
const nh = me.split('.').map((x) => Number(x).toString(16).padStart(2, '0')).join('')
// 10.8.0.0/24, well formed: ORIGIN IGP, empty AS_PATH, NEXT_HOP, LOCAL_PREF 100.
sock.write(frame(2, hex('0000 0015 400101 00 400200 400304' + nh + ' 40050400000064 180a0800')))
// 10.9.0.0/24 with ORIGIN 7: RFC 7606 §7.1 treat-as-withdraw, the session stays up.
sock.write(frame(2, hex('0000 0015 400101 07 400200 400304' + nh + ' 40050400000064 180a0900')))
console.log(JSON.stringify({ phase: 1 }))
await wait(() => fs.existsSync(dir + '/go'))
// Withdrawn Routes Length 0xffff overruns the message: RFC 4271 §6.3 / RFC 7606 session reset, NOTIFICATION 3/1.
sock.write(frame(2, hex('ffff 0000')))
await wait(() => got.some((m) => m.type === 3))
const n = got.find((m) => m.type === 3)
console.log(JSON.stringify({ phase: 2, code: n.code, subcode: n.subcode }))
sock.destroy()
`

test('[kernel] a malformed UPDATE from a raw socket: attribute errors are treat-as-withdraw, a broken length resets only that session', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'bgpraw')
  const topo = await underlayTopology(sb, { hosts: 2 })
  const [hw, hr] = topo.hosts as [Host, Host]
  const w = await startWeft(t, sb, hw, {
    routerId: hw.ip, asn: 65000,
    peers: [{ address: hr.ip, asn: 65000, passive: true, families: ['ipv4'], holdTime: 30, idleHoldTime: 60 }]
  })
  const script = path.join(sb.dir, 'raw-peer.mjs')
  fs.writeFileSync(script, RAW_PEER)
  const codecUrl = new URL(`file://${path.join(repoRoot, 'dist', 'routing', 'bgp', 'codec', 'index.js')}`).href
  const peer = execa('ip', ['netns', 'exec', sb.nameOf(hr.ns), process.execPath, script, codecUrl, hw.ip, hr.ip, sb.dir], { reject: false, lines: true })
  t.teardown(() => { peer.kill('SIGKILL') })
  await until(async () => (await rib(w)).some((r) => r.prefix === '10.8.0.0/24'), 15_000, () => `the well-formed route; bgpd log:\n${w.log().slice(-2500)}`)
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.false((await rib(w)).some((r) => r.prefix === '10.9.0.0/24'), 'ORIGIN 7 is treat-as-withdraw')
  t.is((await neighbors(w))[0]?.state, 'Established')
  t.regex(w.log(), /treat-as-withdraw/)
  fs.writeFileSync(path.join(sb.dir, 'go'), '')
  const r = await peer
  const lines = (r.stdout as unknown as string[]).map((l) => JSON.parse(l) as { phase: number, code?: number, subcode?: number })
  t.deepEqual(lines.at(-1), { phase: 2, code: 3, subcode: 1 })
  await until(async () => !(await rib(w)).some((x) => x.prefix === '10.8.0.0/24'), 10_000, () => 'routes of the reset session withdrawn')
  const n = (await neighbors(w))[0]
  t.regex(n?.lastError ?? '', /bad-message \(sent 3\/1\)/)
})

function kernelRoutes (sb: Sandbox, h: Host): Map<string, string[]> {
  const nl = sb.netlink(h.ns)
  try {
    const out = new Map<string, string[]>()
    for (const r of nl.routes({ family: 4, table: 254 })) {
      if (r.protocol !== FIB_PROTO) continue
      out.set(r.dst, r.multipath !== undefined && r.multipath.length > 0 ? r.multipath.map((x) => x.gw ?? '').sort() : [r.gw ?? ''])
    }
    return out
  } finally { nl.close() }
}

test('[kernel] FIB: best routes installed with our protocol number, ECMP across two BIRD peers, withdrawn on session loss, repaired after a manual delete', async (t) => {
  if (!skipUnlessTools(t, 'bird')) return
  const sb = sandbox(t, 'bgpfib')
  const topo = await underlayTopology(sb, { hosts: 3 })
  const [hw, b1, b2] = topo.hosts as [Host, Host, Host]
  const accept = { import: 'accept', export: 'reject' }
  const w = await startWeft(t, sb, hw, {
    routerId: hw.ip, asn: 65001, fib: { enabled: true, ecmp: true, resyncSeconds: 1 },
    peers: [
      { address: b1.ip, asn: 65002, families: ['ipv4'], policy: accept, holdTime: 9, connectRetryTime: 1 },
      { address: b2.ip, asn: 65003, families: ['ipv4'], policy: accept, holdTime: 9, connectRetryTime: 1 }
    ]
  })
  const bird1 = await startBird(t, sb, b1, `router id ${b1.ip};
protocol device {}
protocol static s4 { ipv4; route 10.5.0.0/24 blackhole; route 10.6.0.0/24 blackhole; }
protocol bgp w { local as 65002; neighbor ${hw.ip} as 65001; ${birdTimers} ipv4 { import none; export where proto = "s4"; }; }
`)
  await startBird(t, sb, b2, `router id ${b2.ip};
protocol device {}
protocol static s4 { ipv4; route 10.5.0.0/24 blackhole; }
protocol bgp w { local as 65003; neighbor ${hw.ip} as 65001; ${birdTimers} ipv4 { import none; export where proto = "s4"; }; }
`)
  await until(() => kernelRoutes(sb, hw).get('10.5.0.0/24')?.length === 2 && kernelRoutes(sb, hw).has('10.6.0.0/24'), 30_000,
    () => `kernel routes: ${JSON.stringify([...kernelRoutes(sb, hw)])}`)
  t.deepEqual(kernelRoutes(sb, hw).get('10.5.0.0/24'), [b1.ip, b2.ip].sort(), 'ECMP over both peers')
  t.deepEqual(kernelRoutes(sb, hw).get('10.6.0.0/24'), [b1.ip])
  // Someone deletes our route by hand: the next reconcile puts it back.
  await sb.exec(hw.ns, 'ip', ['route', 'del', '10.6.0.0/24', 'proto', String(FIB_PROTO)])
  t.false(kernelRoutes(sb, hw).has('10.6.0.0/24'))
  await until(() => kernelRoutes(sb, hw).has('10.6.0.0/24'), 10_000, () => 'route restored')
  // b1's session goes away: its routes leave the kernel, the ECMP route shrinks to b2.
  await bird1.cli('disable w')
  await until(() => !kernelRoutes(sb, hw).has('10.6.0.0/24') && kernelRoutes(sb, hw).get('10.5.0.0/24')?.length === 1, 10_000,
    () => `kernel routes: ${JSON.stringify([...kernelRoutes(sb, hw)])}`)
  t.deepEqual(kernelRoutes(sb, hw).get('10.5.0.0/24'), [b2.ip])
  // A clean stop removes what we installed.
  await api(w, 'POST', '/v1/shutdown', {})
  await until(() => kernelRoutes(sb, hw).size === 0, 10_000, () => 'routes removed on stop')
  t.pass()
})

test('[kernel] graceful restart, helper side: BIRD restarts gracefully, its routes stay in our RIB (stale) and kernel until its End-of-RIB', async (t) => {
  if (!skipUnlessTools(t, 'bird')) return
  const sb = sandbox(t, 'bgpgrh')
  const topo = await underlayTopology(sb, { hosts: 2 })
  const [hw, hb] = topo.hosts as [Host, Host]
  const w = await startWeft(t, sb, hw, {
    routerId: hw.ip, asn: 65000, fib: { enabled: true, resyncSeconds: 1 },
    peers: [{ address: hb.ip, asn: 65000, families: ['ipv4'], holdTime: 9, connectRetryTime: 1, idleHoldTime: 0 }]
  })
  const conf = (routes: string[]): string => `router id ${hb.ip};
protocol device {}
protocol static s4 { ipv4; ${routes.map((r) => `route ${r} blackhole;`).join(' ')} }
protocol bgp w { local as 65000; neighbor ${hw.ip} as 65000; ${birdTimers} graceful restart on; graceful restart time 30; ipv4 { import all; export where proto = "s4"; }; }
`
  const b = await startBird(t, sb, hb, conf(['10.2.0.0/24', '10.2.1.0/24']))
  await until(() => kernelRoutes(sb, hw).has('10.2.0.0/24') && kernelRoutes(sb, hw).has('10.2.1.0/24'), 30_000, () => 'routes in the kernel')
  // `graceful restart`: BIRD goes away without a NOTIFICATION.
  await b.cli('graceful restart')
  await until(async () => (await neighbors(w))[0]?.state !== 'Established', 15_000, () => 'session down')
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const stale = (await rib(w)).find((r) => r.prefix === '10.2.0.0/24')?.paths[0] as { stale?: boolean } | undefined
  t.true(stale?.stale, 'kept as stale')
  t.true(kernelRoutes(sb, hw).has('10.2.0.0/24'), 'still forwarding')
  // BIRD comes back (-R: graceful restart recovery) without 10.2.1.0/24: after its End-of-RIB that one goes.
  const file = path.join(sb.dir, `bird-${hb.name}.conf`)
  fs.writeFileSync(file, conf(['10.2.0.0/24']))
  await sb.exec(hb.ns, '/usr/sbin/bird', ['-R', '-c', file, '-s', b.ctl, '-P', path.join(sb.dir, `bird-${hb.name}.pid`)])
  await until(async () => (await neighbors(w))[0]?.state === 'Established', 30_000, () => 'session back')
  await until(async () => !(await rib(w)).some((r) => r.prefix === '10.2.1.0/24'), 30_000, () => 'route not re-announced removed after End-of-RIB')
  const fresh = (await rib(w)).find((r) => r.prefix === '10.2.0.0/24')?.paths[0] as { stale?: boolean } | undefined
  t.false(fresh?.stale)
  await until(() => !kernelRoutes(sb, hw).has('10.2.1.0/24'), 10_000, () => 'kernel route of the dropped prefix removed')
  t.true(kernelRoutes(sb, hw).has('10.2.0.0/24'))
})

test('[kernel] graceful restart, restarting side: weft stops gracefully, kernel routes survive, BIRD keeps ours stale, the restarted weft takes over', async (t) => {
  if (!skipUnlessTools(t, 'bird')) return
  const sb = sandbox(t, 'bgpgrr')
  const topo = await underlayTopology(sb, { hosts: 2 })
  const [hw, hb] = topo.hosts as [Host, Host]
  const cfg = {
    routerId: hw.ip, asn: 65000, fib: { enabled: true, resyncSeconds: 1 }, announce: ['10.1.0.0/24'], gracefulRestart: { restartTime: 30 },
    peers: [{ address: hb.ip, asn: 65000, families: ['ipv4'], holdTime: 9, connectRetryTime: 1, idleHoldTime: 0 }]
  }
  const w = await startWeft(t, sb, hw, cfg)
  const b = await startBird(t, sb, hb, `router id ${hb.ip};
protocol device {}
protocol static s4 { ipv4; route 10.2.0.0/24 blackhole; }
protocol bgp w { local as 65000; neighbor ${hw.ip} as 65000; ${birdTimers} graceful restart on; graceful restart time 30; ipv4 { import all; export where proto = "s4"; }; }
`)
  await until(() => kernelRoutes(sb, hw).has('10.2.0.0/24'), 30_000, () => 'route in the kernel')
  await until(async () => (await b.cli('show route 10.1.0.0/24')).includes('10.1.0.0/24'), 10_000, () => 'BIRD has ours')
  await api(w, 'POST', '/v1/shutdown', { graceful: true })
  await until(() => !fs.existsSync(w.socket), 10_000, () => 'weft stopped')
  await new Promise((resolve) => setTimeout(resolve, 1000))
  t.true(kernelRoutes(sb, hw).has('10.2.0.0/24'), 'kernel routes kept across our restart')
  t.regex(await b.cli('show route 10.1.0.0/24 all'), /10\.1\.0\.0\/24/, 'BIRD keeps our route while we restart')
  const w2 = await startWeft(t, sb, hw, cfg)
  t.true(kernelRoutes(sb, hw).has('10.2.0.0/24'), 'still there when the new process starts')
  t.regex(w2.log(), /restarting gracefully/)
  await until(async () => (await neighbors(w2))[0]?.state === 'Established', 30_000, () => 'session back')
  await until(async () => (await rib(w2)).some((r) => r.prefix === '10.2.0.0/24'), 10_000, () => 'relearned')
  t.true(kernelRoutes(sb, hw).has('10.2.0.0/24'))
  t.regex(await b.cli('show route 10.1.0.0/24'), /10\.1\.0\.0\/24/)
})

interface Frr { vtysh: (cmd: string) => Promise<string> }

/** FRR's bgpd alone (no zebra: -Z) in `h`'s namespace, with its files in the sandbox. */
async function startFrr (t: ExecutionContext, sb: Sandbox, h: Host, config: string): Promise<Frr> {
  // bgpd drops to the frr user: its vty socket directory must be writable by it.
  const dir = path.join(sb.dir, `frr-${h.name}`)
  fs.mkdirSync(dir)
  fs.chmodSync(sb.dir, 0o755)
  fs.chmodSync(dir, 0o777)
  const conf = path.join(dir, 'frr.conf')
  fs.writeFileSync(conf, config)
  fs.chmodSync(conf, 0o644)
  const pid = path.join(dir, 'bgpd.pid')
  await sb.exec(h.ns, '/usr/lib/frr/bgpd', ['-f', conf, '-i', pid, '-Z', '-n', '-u', 'frr', '-g', 'frr', '--vty_socket', dir, '-d'])
  t.teardown(() => { try { process.kill(Number(fs.readFileSync(pid, 'utf8').trim()), 'SIGTERM') } catch { /* gone */ } })
  return { vtysh: async (cmd: string): Promise<string> => String((await sb.exec(h.ns, '/usr/bin/vtysh', ['--vty_socket', dir, '-d', 'bgpd', '-c', cmd], { reject: false })).stdout) }
}

const haveFrr = (): boolean => have('vtysh') && fs.existsSync('/usr/lib/frr/bgpd')

test('[kernel] eBGP with FRR: routes both ways, FRR\'s first-AS and policy checks pass', async (t) => {
  if (!skipUnlessTools(t, 'vtysh') || !haveFrr()) return
  const sb = sandbox(t, 'bgpfrr')
  const topo = await underlayTopology(sb, { hosts: 2 })
  const [hw, hf] = topo.hosts as [Host, Host]
  const w = await startWeft(t, sb, hw, {
    routerId: hw.ip, asn: 65001, announce: [{ prefix: '10.1.0.0/24', communities: ['65001:5'] }],
    peers: [{ address: hf.ip, asn: 65003, families: ['ipv4'], policy: { import: 'accept', export: 'accept' }, holdTime: 9, connectRetryTime: 1 }]
  })
  const { vtysh } = await startFrr(t, sb, hf, `router bgp 65003
 bgp router-id ${hf.ip}
 no bgp network import-check
 neighbor ${hw.ip} remote-as 65001
 neighbor ${hw.ip} timers 3 9
 neighbor ${hw.ip} timers connect 1
 address-family ipv4 unicast
  network 10.3.0.0/24
  neighbor ${hw.ip} route-map all in
  neighbor ${hw.ip} route-map all out
 exit-address-family
route-map all permit 10
`)
  await until(async () => (await neighbors(w))[0]?.state === 'Established', 30_000, () => 'session with FRR')
  await until(async () => (await rib(w)).some((r) => r.prefix === '10.3.0.0/24'), 20_000, () => 'FRR route at weft')
  // FRR 8.4 advertises Extended Message and Enhanced Route Refresh, as we do.
  t.deepEqual((await neighbors(w))[0]?.negotiated, ['four-octet-as', 'route-refresh', 'enhanced-route-refresh', 'extended-message'])
  const p = (await rib(w)).find((r) => r.prefix === '10.3.0.0/24')?.paths[0]
  t.deepEqual(p?.asPath, [[65003]])
  t.is(p?.nextHop, hf.ip)
  await until(async () => (await vtysh('show bgp ipv4 unicast 10.1.0.0/24 json')).includes('65001'), 20_000, () => 'weft route at FRR')
  const j = JSON.parse(await vtysh('show bgp ipv4 unicast 10.1.0.0/24 json')) as { paths?: Array<{ aspath?: { string?: string }, community?: { string?: string }, nexthops?: Array<{ ip: string }> }> }
  t.is(j.paths?.[0]?.aspath?.string, '65001')
  t.is(j.paths?.[0]?.community?.string, '65001:5')
  t.is(j.paths?.[0]?.nexthops?.[0]?.ip, hw.ip)
})

test('[kernel] weft and BIRD as iBGP clients of an FRR route reflector, IPv4 and IPv6: reflected routes both ways, ours not taken back', async (t) => {
  if (!skipUnlessTools(t, 'bird', 'vtysh') || !haveFrr()) return
  const sb = sandbox(t, 'bgpfrrr')
  const topo = await underlayTopology(sb, { hosts: 3, ipv6: true })
  const [hw, hf, hb] = topo.hosts as [Host, Host, Host]
  const w = await startWeft(t, sb, hw, {
    routerId: hw.ip, asn: 65000, listen: { address: '::', port: 179 }, announce: ['10.1.0.0/24', 'fd00:1::/64'],
    peers: [
      { address: hf.ip, asn: 65000, families: ['ipv4'], holdTime: 9, connectRetryTime: 1 },
      { address: hf.ip6, asn: 65000, families: ['ipv6'], holdTime: 9, connectRetryTime: 1 }
    ]
  })
  const nb = (a: string, fam: string): string => ` neighbor ${a} remote-as 65000\n neighbor ${a} timers 3 9\n neighbor ${a} timers connect 1\n address-family ${fam} unicast\n  neighbor ${a} activate\n  neighbor ${a} route-reflector-client\n exit-address-family\n`
  const { vtysh } = await startFrr(t, sb, hf, `router bgp 65000
 bgp router-id ${hf.ip}
 bgp cluster-id 3.3.3.3
 no bgp default ipv4-unicast
${[hw.ip, hb.ip].map((a) => nb(a, 'ipv4')).join('')}${[hw.ip6 as string, hb.ip6 as string].map((a) => nb(a, 'ipv6')).join('')}`)
  const b = await startBird(t, sb, hb, `router id ${hb.ip};
protocol device {}
protocol static s4 { ipv4; route 10.4.0.0/24 blackhole; }
protocol static s6 { ipv6; route fd00:4::/64 blackhole; }
protocol bgp r4 { local as 65000; neighbor ${hf.ip} as 65000; ${birdTimers} ipv4 { import all; export where proto = "s4"; }; }
protocol bgp r6 { local as 65000; neighbor ${hf.ip6 as string} as 65000; ${birdTimers} ipv6 { import all; export where proto = "s6"; }; }
`)
  await until(async () => (await neighbors(w)).every((n) => n.state === 'Established'), 30_000, () => 'sessions with FRR')
  await until(async () => { const r = await rib(w); return r.some((x) => x.prefix === '10.4.0.0/24') && r.some((x) => x.prefix === 'fd00:4::/64') }, 20_000, () => 'BIRD routes reflected by FRR at weft')
  const rows = await rib(w)
  const r4 = rows.find((r) => r.prefix === '10.4.0.0/24')?.paths[0]
  t.is(r4?.originatorId, hb.ip)
  t.deepEqual(r4?.clusterList, ['3.3.3.3'])
  t.is(r4?.nextHop, hb.ip)
  await until(async () => (await b.cli('show route 10.1.0.0/24')).includes('10.1.0.0/24') && (await b.cli('show route fd00:1::/64')).includes('fd00:1::/64'), 20_000, () => 'weft routes at BIRD through FRR')
  t.regex(await b.cli('show route 10.1.0.0/24 all'), new RegExp(`BGP.originator_id: ${hw.ip.replace(/\./g, '\\.')}`))
  // FRR's update groups can send the originating client its own routes too (when its capabilities match the other
  // members'): whatever FRR sends back is ignored (ORIGINATOR_ID), so our prefixes keep their one local path and
  // nothing of ours counts as received from FRR.
  t.log('ignored as looped:', JSON.stringify((await neighbors(w)).map((n) => n.loopedIn)))
  const after = await rib(w)
  t.is(pathsOf(after, '10.1.0.0/24').length, 1)
  t.is(pathsOf(after, 'fd00:1::/64').length, 1)
  for (const n of await neighbors(w)) t.is(n.prefixesReceived, 1, n.address)
  const frrView = await vtysh('show bgp ipv4 unicast 10.1.0.0/24 json')
  t.regex(frrView, new RegExp(hw.ip.replace(/\./g, '\\.')))
})

test('[kernel] weft as route reflector for an FRR client and a BIRD client, IPv4: routes reflected both ways with ORIGINATOR_ID and CLUSTER_LIST; ADD-PATH sent to BIRD', async (t) => {
  if (!skipUnlessTools(t, 'bird', 'vtysh') || !haveFrr()) return
  const sb = sandbox(t, 'bgprrf')
  const topo = await underlayTopology(sb, { hosts: 3 })
  const [hw, hf, hb] = topo.hosts as [Host, Host, Host]
  const w = await startWeft(t, sb, hw, {
    routerId: hw.ip, asn: 65000, clusterId: '1.1.1.1',
    // We have 10.3.0.0/24 too: BIRD, with ADD-PATH, gets both paths.
    announce: [{ prefix: '10.3.0.0/24', nextHop: hw.ip }],
    peers: [hf, hb].map((h) => ({ address: h.ip, asn: 65000, routeReflectorClient: true, families: ['ipv4'], holdTime: 9, connectRetryTime: 1, addPath: h === hb ? 'send' : 'off' }))
  })
  const { vtysh } = await startFrr(t, sb, hf, `router bgp 65000
 bgp router-id ${hf.ip}
 no bgp network import-check
 neighbor ${hw.ip} remote-as 65000
 neighbor ${hw.ip} timers 3 9
 neighbor ${hw.ip} timers connect 1
 address-family ipv4 unicast
  network 10.3.0.0/24
 exit-address-family
`)
  const b = await startBird(t, sb, hb, `router id ${hb.ip};
protocol device {}
protocol static s4 { ipv4; route 10.2.0.0/24 blackhole; }
protocol bgp toweft { local ${hb.ip} as 65000; neighbor ${hw.ip} as 65000; ${birdTimers} ipv4 { import all; export where proto = "s4"; add paths rx; }; }
`)
  await until(async () => (await neighbors(w)).every((n) => n.state === 'Established'), 30_000, () => 'sessions')
  // ADD-PATH sent (RFC 7911): BIRD holds both paths of 10.3.0.0/24, ours and FRR's reflected one.
  try {
    await until(async () => ((await b.cli('show route 10.3.0.0/24 all')).match(/BGP.next_hop:/g) ?? []).length === 2, 20_000, () => 'BIRD gets both paths')
  } catch (e) {
    t.log(await b.cli('show route 10.3.0.0/24 all'), await b.cli('show protocols all toweft'), JSON.stringify(await neighbors(w)), w.log().slice(-3000))
    throw e
  }
  const atBird = await b.cli('show route 10.3.0.0/24 all')
  t.regex(atBird, new RegExp(`BGP.originator_id: ${hf.ip.replace(/\./g, '\\.')}`))
  t.regex(atBird, /BGP.cluster_list: 1\.1\.1\.1/)
  t.regex(atBird, new RegExp(`BGP.next_hop: ${hw.ip.replace(/\./g, '\\.')}`))
  t.true((await neighbors(w)).find((n) => n.address === hb.ip)?.negotiated.includes('add-path-tx:ipv4'))
  // We stop announcing ours: its path is withdrawn by its id, FRR's stays.
  await cli(w, 'withdraw', '10.3.0.0/24')
  await until(async () => ((await b.cli('show route 10.3.0.0/24 all')).match(/BGP.next_hop:/g) ?? []).length === 1, 20_000, () => 'our path withdrawn at BIRD')
  t.regex(await b.cli('show route 10.3.0.0/24 all'), new RegExp(`BGP.next_hop: ${hf.ip.replace(/\./g, '\\.')}`))
  await until(async () => (await vtysh('show bgp ipv4 unicast 10.2.0.0/24 json')).includes('originatorId'), 20_000, () => 'FRR gets the BIRD route')
  const j = JSON.parse(await vtysh('show bgp ipv4 unicast 10.2.0.0/24 json')) as { paths?: Array<{ originatorId?: string, clusterList?: { list?: string[] }, nexthops?: Array<{ ip: string }> }> }
  t.is(j.paths?.[0]?.originatorId, hb.ip)
  t.deepEqual(j.paths?.[0]?.clusterList?.list, ['1.1.1.1'])
  t.is(j.paths?.[0]?.nexthops?.[0]?.ip, hb.ip)
  // FRR ignores its own route sent back (ORIGINATOR_ID): one path, its own.
  const own = JSON.parse(await vtysh('show bgp ipv4 unicast 10.3.0.0/24 json')) as { paths?: unknown[] }
  t.is(own.paths?.length, 1)
})

test('[kernel] eBGP with GoBGP over an IPv6 session: IPv6 routes both ways in MP_REACH_NLRI', async (t) => {
  if (!skipUnlessTools(t, 'gobgpd')) return
  const sb = sandbox(t, 'bgpg6')
  const topo = await underlayTopology(sb, { hosts: 2, ipv6: true })
  const [hw, hg] = topo.hosts as [Host, Host]
  const w6 = ip.canonical(hw.ip6 as string)
  const g6 = ip.canonical(hg.ip6 as string)
  const w = await startWeft(t, sb, hw, {
    routerId: hw.ip, asn: 65001, listen: { address: '::', port: 179 }, announce: ['fd00:1::/64'],
    peers: [{ address: g6, asn: 65004, families: ['ipv6'], policy: { import: 'accept', export: 'accept' }, holdTime: 9, connectRetryTime: 1 }]
  })
  const g = await startGobgp(t, sb, hg, `[global.config]
  as = 65004
  router-id = "${hg.ip}"
${gobgpNeighbor(w6, 65001, { passive: true, families: ['ipv6-unicast'] })}`)
  await g.cli('global', 'rib', 'add', 'fd00:4::/64', 'nexthop', g6, '-a', 'ipv6')
  await until(async () => (await neighbors(w))[0]?.state === 'Established', 30_000, () => 'session')
  await until(async () => (await rib(w)).some((r) => r.prefix === 'fd00:4::/64'), 20_000, () => 'GoBGP route at weft')
  const p = (await rib(w)).find((r) => r.prefix === 'fd00:4::/64')?.paths[0]
  t.deepEqual(p?.asPath, [[65004]])
  t.is(p?.nextHop, g6)
  await until(async () => (await g.cli('global', 'rib', '-a', 'ipv6')).includes('fd00:1::/64'), 20_000, () => 'weft route at GoBGP')
  const j = JSON.parse(await g.cli('global', 'rib', 'fd00:1::/64', '-a', 'ipv6', '-j')) as Record<string, Array<{ attrs: Array<{ type: number, as_paths?: Array<{ asns: number[] }>, nexthop?: string }> }>>
  const attrs = j['fd00:1::/64']?.[0]?.attrs ?? []
  t.deepEqual(attrs.find((a) => a.type === 2)?.as_paths?.[0]?.asns, [65001])
  t.is(attrs.find((a) => a.type === 14)?.nexthop, w6)
})
