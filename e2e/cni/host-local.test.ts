/**
 * host-local, end to end: the built binary (bin/cni/host-local) exec'd as a
 * runtime would, side by side with the Go reference (/usr/lib/cni/host-local,
 * containernetworking-plugins 1.1.1) on the same configurations and, where
 * the point is interoperability, on the same data directory.
 */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { execa } from 'execa'
import { requireReference, requireRoot, sandbox } from '../harness/index.js'
import type { CniOutcome, Impl, Sandbox } from '../harness/index.js'

type Conf = Record<string, unknown>

function conf (version: string, dataDir: string, ipam: Conf = {}, extra: Conf = {}): Conf {
  return { cniVersion: version, name: 'hlnet', type: 'host-local', ipam: { type: 'host-local', dataDir, ...ipam }, ...extra }
}

interface Op { impl: Impl, command: 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC', conf: unknown, id?: string, ifName?: string, cniArgs?: string, noNetns?: boolean }

/** Runs host-local; the pod namespace only satisfies CNI_NETNS (host-local never enters it). */
async function hl (sb: Sandbox, pod: string, op: Op): Promise<CniOutcome> {
  return await sb.cni({
    impl: op.impl,
    plugin: 'host-local',
    command: op.command,
    conf: op.conf,
    netns: op.noNetns === true ? '' : pod,
    containerId: op.id ?? 'c1',
    ifName: op.ifName ?? 'eth0',
    ...(op.cniArgs !== undefined ? { cniArgs: op.cniArgs } : {})
  })
}

function addressOf (r: CniOutcome): string {
  const ips = r.json?.ips as Array<{ address: string }> | undefined
  if (r.exitCode !== 0 || ips?.[0] === undefined) throw new Error(`ADD failed: ${r.stdout}${r.stderr}`)
  return ips[0].address
}

/** Every entry under `dir` with its mode, body and mtime: equal snapshots mean nothing changed. */
function snapshot (dir: string): string {
  if (!fs.existsSync(dir)) return '<absent>'
  const out: string[] = []
  const walk = (d: string): void => {
    for (const n of fs.readdirSync(d).sort()) {
      const p = path.join(d, n)
      const st = fs.statSync(p)
      const rel = path.relative(dir, p)
      if (st.isDirectory()) { out.push(`${rel}/ ${(st.mode & 0o777).toString(8)} ${st.mtimeMs}`); walk(p) } else {
        out.push(`${rel} ${(st.mode & 0o777).toString(8)} ${JSON.stringify(fs.readFileSync(p, 'latin1'))} ${st.mtimeMs}`)
      }
    }
  }
  walk(dir)
  return out.join('\n')
}

/** Reservation files and cursors of a network dir (names and bodies; not the lock, not modes). */
function storeContents (netDir: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const n of fs.readdirSync(netDir).sort()) if (n !== 'lock') out[n] = fs.readFileSync(path.join(netDir, n), 'latin1')
  return out
}

function resolvConf (sb: Sandbox): string {
  const p = path.join(sb.dir, 'resolv.conf')
  fs.writeFileSync(p, '# test\nnameserver 10.96.0.10\nnameserver fd00:96::a\ndomain cluster.local\nsearch default.svc.cluster.local svc.cluster.local\noptions ndots:5 edns0\n')
  return p
}

for (const version of ['0.3.1', '0.4.0', '1.0.0']) {
  test(`[kernel] ADD/DEL sequence gives the reference's exact output and on-disk state (cniVersion ${version})`, async (t) => {
    requireRoot(); requireReference()
    const sb = sandbox(t, 'hlv')
    const pod = sb.ns('pod')
    const rc = resolvConf(sb)
    const ipam = {
      ranges: [
        [{ subnet: '10.44.0.0/28', rangeStart: '10.44.0.3', rangeEnd: '10.44.0.9', gateway: '10.44.0.1' }, { subnet: '10.45.0.0/29' }],
        [{ subnet: 'fd00:44::/120' }]
      ],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '10.0.0.1/8', gw: '10.44.0.1' }, { dst: '::/0', gw: 'fd00:44::1' }],
      resolvConf: rc
    }
    const seq: Array<Omit<Op, 'impl' | 'conf'>> = [
      { command: 'ADD', id: 'c1' },
      { command: 'ADD', id: 'c2' },
      { command: 'ADD', id: 'c2', ifName: 'net1' },
      { command: 'DEL', id: 'c1' },
      { command: 'ADD', id: 'c3', cniArgs: 'IP=10.45.0.3' },
      { command: 'ADD', id: 'c4', cniArgs: 'IgnoreUnknown=1;K8S_POD_NAME=p4' }
    ]
    const outs: Record<Impl, string[]> = { weft: [], ref: [] }
    for (const impl of ['weft', 'ref'] as const) {
      const dataDir = path.join(sb.dir, impl)
      for (const s of seq) {
        const r = await hl(sb, pod, { ...s, impl, conf: conf(version, dataDir, ipam) })
        t.is(r.exitCode, 0, `${impl} ${s.command} ${s.id ?? ''}: ${r.stdout}`)
        outs[impl].push(r.stdout.trim())
      }
    }
    t.deepEqual(outs.weft, outs.ref)
    // Not vacuous: the outputs are real results with the expected addresses.
    t.regex(outs.weft[0] ?? '', /"address": "10\.44\.0\.3\/28"[\s\S]*"address": "fd00:44::2\/120"/)
    t.regex(outs.weft[4] ?? '', /"address": "10\.45\.0\.3\/29"/)
    t.regex(outs.weft[5] ?? '', /"address": "10\.45\.0\.4\/29"[\s\S]*"nameservers"[\s\S]*"options"/)
    if (version !== '1.0.0') t.regex(outs.weft[0] ?? '', /"version": "4"/)
    t.deepEqual(storeContents(path.join(sb.dir, 'weft', 'hlnet')), storeContents(path.join(sb.dir, 'ref', 'hlnet')))
  })
}

test('[kernel] ours also answers cniVersion 1.1.0 (the reference stops at 1.0.0), same result otherwise', async (t) => {
  requireRoot(); requireReference()
  const sb = sandbox(t, 'hl11')
  const pod = sb.ns('pod')
  const ipam = { subnet: '10.46.0.0/24', routes: [{ dst: '0.0.0.0/0', mtu: 1400 }] }
  const ours = await hl(sb, pod, { impl: 'weft', command: 'ADD', conf: conf('1.1.0', path.join(sb.dir, 'w'), ipam) })
  t.is(ours.exitCode, 0, ours.stdout)
  t.deepEqual(ours.json, { cniVersion: '1.1.0', ips: [{ address: '10.46.0.2/24', gateway: '10.46.0.1' }], routes: [{ dst: '0.0.0.0/0', mtu: 1400 }], dns: {} })
  const ref = await hl(sb, pod, { impl: 'ref', command: 'ADD', conf: conf('1.1.0', path.join(sb.dir, 'r'), ipam) })
  t.is(ref.exitCode, 1)
  t.is(ref.json?.code, 1)
})

test('[kernel] ours and the reference take turns on one data dir: each releases, checks and continues the other\'s allocations', async (t) => {
  requireRoot(); requireReference()
  const sb = sandbox(t, 'hlalt')
  const pod = sb.ns('pod')
  const dataDir = path.join(sb.dir, 'data')
  const netDir = path.join(dataDir, 'hlnet')
  const c = conf('1.0.0', dataDir, { subnet: '10.47.0.0/29' })
  const add = async (impl: Impl, id: string): Promise<string> => addressOf(await hl(sb, pod, { impl, command: 'ADD', conf: c, id }))
  const ok = async (impl: Impl, command: 'DEL' | 'CHECK', id: string): Promise<void> => {
    const r = await hl(sb, pod, { impl, command, conf: c, id })
    t.is(r.exitCode, 0, `${impl} ${command} ${id}: ${r.stdout}`)
  }

  t.is(await add('weft', 'a'), '10.47.0.2/29')
  t.is(await add('ref', 'b'), '10.47.0.3/29')
  t.is(await add('weft', 'c'), '10.47.0.4/29', 'ours continues after the reference\'s cursor')
  await ok('ref', 'CHECK', 'a')
  await ok('weft', 'CHECK', 'b')
  await ok('ref', 'DEL', 'a')
  t.false(fs.existsSync(path.join(netDir, '10.47.0.2')), 'the reference released our reservation')
  await ok('weft', 'DEL', 'b')
  t.false(fs.existsSync(path.join(netDir, '10.47.0.3')), 'we released the reference\'s reservation')
  t.is(await add('ref', 'd'), '10.47.0.5/29', 'the reference continues after our cursor')
  t.is(await add('weft', 'e'), '10.47.0.6/29')
  t.is(await add('ref', 'f'), '10.47.0.2/29', 'wrapped around, skipping the gateway')
  const dup = await hl(sb, pod, { impl: 'weft', command: 'ADD', conf: c, id: 'd' })
  t.is(dup.json?.code, 106, 'we see the reference\'s reservation of d')
  t.is(dup.json?.msg, 'failed to allocate for range 0: 10.47.0.5 has been allocated to d, duplicate allocation is not allowed')

  // A legacy ID-only file (older plugin versions) is released by ID.
  fs.writeFileSync(path.join(netDir, '10.47.0.3'), 'legacy', { mode: 0o644 })
  await ok('weft', 'CHECK', 'legacy')
  await ok('weft', 'DEL', 'legacy')
  t.false(fs.existsSync(path.join(netDir, '10.47.0.3')))
  t.deepEqual(storeContents(netDir), {
    '10.47.0.2': 'f\r\neth0', '10.47.0.4': 'c\r\neth0', '10.47.0.5': 'd\r\neth0', '10.47.0.6': 'e\r\neth0', 'last_reserved_ip.0': '10.47.0.2'
  })
  const failed = await hl(sb, pod, { impl: 'ref', command: 'CHECK', conf: c, id: 'a' })
  t.is(failed.exitCode, 1, 'CHECK fails for a released attachment (reference)')
  t.is((await hl(sb, pod, { impl: 'weft', command: 'CHECK', conf: c, id: 'a' })).json?.code, 110)
})

test('[kernel] 50 concurrent ADDs (separate processes) get 50 distinct addresses, each recorded for its container', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'hlpar')
  const pod = sb.ns('pod')
  const dataDir = path.join(sb.dir, 'data')
  const c = conf('1.0.0', dataDir, { subnet: '10.48.0.0/26' }) // .2-.62: 61 addresses for 50 callers
  const ids = Array.from({ length: 50 }, (_, i) => `par${i}`)
  const outs = await Promise.all(ids.map(async (id) => await hl(sb, pod, { impl: 'weft', command: 'ADD', conf: c, id })))
  const addrs = outs.map(addressOf)
  t.is(new Set(addrs).size, 50)
  const netDir = path.join(dataDir, 'hlnet')
  ids.forEach((id, i) => {
    const ip = (addrs[i] as string).split('/')[0] as string
    t.is(fs.readFileSync(path.join(netDir, ip), 'latin1'), `${id}\r\neth0`)
  })
  t.is(fs.readdirSync(netDir).filter((n) => n.startsWith('10.48.')).length, 50)
})

test('[kernel] 50 concurrent ADDs split between ours and the reference never collide (one lock for both)', async (t) => {
  requireRoot(); requireReference()
  const sb = sandbox(t, 'hlmix')
  const pod = sb.ns('pod')
  const dataDir = path.join(sb.dir, 'data')
  const c = conf('1.0.0', dataDir, { subnet: '10.49.0.0/26' })
  const outs = await Promise.all(Array.from({ length: 50 }, async (_, i) =>
    await hl(sb, pod, { impl: i % 2 === 0 ? 'weft' : 'ref', command: 'ADD', conf: c, id: `mix${i}` })))
  const addrs = outs.map(addressOf)
  t.is(new Set(addrs).size, 50)
  t.is(fs.readdirSync(path.join(dataDir, 'hlnet')).filter((n) => n.startsWith('10.49.')).length, 50)
})

test('[kernel] an exhausted range is code 104 with the reference\'s message (the reference says 999)', async (t) => {
  requireRoot(); requireReference()
  const sb = sandbox(t, 'hlex')
  const pod = sb.ns('pod')
  const msgs: Record<Impl, unknown[]> = { weft: [], ref: [] }
  for (const impl of ['weft', 'ref'] as const) {
    const c = conf('1.0.0', path.join(sb.dir, impl), { subnet: '10.50.0.0/29' })
    for (let i = 0; i < 5; i++) addressOf(await hl(sb, pod, { impl, command: 'ADD', conf: c, id: `x${i}` }))
    const full = await hl(sb, pod, { impl, command: 'ADD', conf: c, id: 'x5' })
    t.is(full.exitCode, 1)
    t.is(full.json?.code, impl === 'weft' ? 104 : 999)
    msgs[impl].push(full.json?.msg)
  }
  t.deepEqual(msgs.weft, ['failed to allocate for range 0: no IP addresses available in range set: 10.50.0.1-10.50.0.6'])
  t.deepEqual(msgs.weft, msgs.ref)
})

test('[kernel] a failure in the second range set releases the first set\'s address from the same ADD', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'hlrb')
  const pod = sb.ns('pod')
  const dataDir = path.join(sb.dir, 'data')
  const c = conf('1.0.0', dataDir, { ranges: [[{ subnet: '10.51.0.0/24' }], [{ subnet: '10.52.0.0/30' }]] }) // set 1 has one address
  t.deepEqual((await hl(sb, pod, { impl: 'weft', command: 'ADD', conf: c, id: 'first' })).json?.ips, [
    { address: '10.51.0.2/24', gateway: '10.51.0.1' }, { address: '10.52.0.2/30', gateway: '10.52.0.1' }
  ])
  const r = await hl(sb, pod, { impl: 'weft', command: 'ADD', conf: c, id: 'second' })
  t.is(r.json?.code, 104)
  t.is(r.json?.msg, 'failed to allocate for range 1: no IP addresses available in range set: 10.52.0.1-10.52.0.2')
  const files = fs.readdirSync(path.join(dataDir, 'hlnet')).filter((n) => n.startsWith('10.'))
  t.deepEqual(files.sort(), ['10.51.0.2', '10.52.0.2'], '10.51.0.3 was taken and given back')
})

test('[kernel] DEL twice succeeds, also without CNI_NETNS and with no data dir at all', async (t) => {
  requireRoot(); requireReference()
  const sb = sandbox(t, 'hldel')
  const pod = sb.ns('pod')
  const dataDir = path.join(sb.dir, 'data')
  const c = conf('1.0.0', dataDir, { subnet: '10.53.0.0/24' })
  t.is((await hl(sb, pod, { impl: 'weft', command: 'DEL', conf: c, noNetns: true })).exitCode, 0, 'DEL before any ADD')
  t.false(fs.existsSync(dataDir), 'DEL creates nothing')
  t.is(addressOf(await hl(sb, pod, { impl: 'weft', command: 'ADD', conf: c })), '10.53.0.2/24')
  t.true(fs.existsSync(path.join(dataDir, 'hlnet', '10.53.0.2')))
  for (let i = 0; i < 2; i++) {
    const r = await hl(sb, pod, { impl: 'weft', command: 'DEL', conf: c, noNetns: true })
    t.is(r.exitCode, 0, r.stdout)
    t.is(r.stdout, '')
  }
  t.false(fs.existsSync(path.join(dataDir, 'hlnet', '10.53.0.2')))
  fs.rmSync(dataDir, { recursive: true })
  t.is((await hl(sb, pod, { impl: 'weft', command: 'DEL', conf: c, noNetns: true })).exitCode, 0, 'DEL after the data dir vanished')
})

test('[kernel] GC releases leaked addresses (ours and the reference\'s, legacy included) and keeps valid ones', async (t) => {
  requireRoot(); requireReference()
  const sb = sandbox(t, 'hlgc')
  const pod = sb.ns('pod')
  const dataDir = path.join(sb.dir, 'data')
  const netDir = path.join(dataDir, 'hlnet')
  const ipam = { ranges: [[{ subnet: '10.54.0.0/24' }], [{ subnet: 'fd00:54::/64' }]] }
  const c10 = conf('1.0.0', dataDir, ipam)
  addressOf(await hl(sb, pod, { impl: 'weft', command: 'ADD', conf: c10, id: 'live1' }))
  addressOf(await hl(sb, pod, { impl: 'ref', command: 'ADD', conf: c10, id: 'leak1' }))
  addressOf(await hl(sb, pod, { impl: 'weft', command: 'ADD', conf: c10, id: 'live2', ifName: 'net1' }))
  addressOf(await hl(sb, pod, { impl: 'ref', command: 'ADD', conf: c10, id: 'live1', ifName: 'eth1' })) // same pod, stale interface
  fs.writeFileSync(path.join(netDir, '10.54.0.200'), 'live2') // legacy entry of a live container
  fs.writeFileSync(path.join(netDir, '10.54.0.201'), 'leak2') // legacy entry of a dead one
  const before = storeContents(netDir)
  t.is(Object.keys(before).filter((n) => !n.startsWith('last_')).length, 10)

  const valid = [{ containerID: 'live1', ifname: 'eth0' }, { containerID: 'live2', ifname: 'net1' }]
  const r = await hl(sb, pod, { impl: 'weft', command: 'GC', conf: conf('1.1.0', dataDir, ipam, { 'cni.dev/valid-attachments': valid, 'cni.dev/attachments': valid }), noNetns: true })
  t.is(r.exitCode, 0, r.stdout)
  t.deepEqual(storeContents(netDir), {
    '10.54.0.2': 'live1\r\neth0',
    '10.54.0.4': 'live2\r\nnet1',
    '10.54.0.200': 'live2',
    'fd00:54::2': 'live1\r\neth0',
    'fd00:54::4': 'live2\r\nnet1',
    'last_reserved_ip.0': '10.54.0.5',
    'last_reserved_ip.1': 'fd00:54::5'
  })
  t.true(fs.existsSync(path.join(netDir, 'lock')))
  // The released addresses are usable again, by either implementation.
  await hl(sb, pod, { impl: 'weft', command: 'DEL', conf: c10, id: 'live1' })
  await hl(sb, pod, { impl: 'ref', command: 'CHECK', conf: c10, id: 'live2', ifName: 'net1' }).then((x) => t.is(x.exitCode, 0, x.stdout))

  // An empty valid list releases every reservation.
  const all = await hl(sb, pod, { impl: 'weft', command: 'GC', conf: conf('1.1.0', dataDir, ipam, { 'cni.dev/valid-attachments': [] }), noNetns: true })
  t.is(all.exitCode, 0, all.stdout)
  t.deepEqual(Object.keys(storeContents(netDir)), ['last_reserved_ip.0', 'last_reserved_ip.1'])
})

test('[kernel] STATUS is 0 for a writable or creatable data dir and 50 when it cannot be written', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'hlst')
  const ok = await sb.cni({ plugin: 'host-local', command: 'STATUS', conf: conf('1.1.0', path.join(sb.dir, 'new', 'dir'), { subnet: '10.55.0.0/24' }) })
  t.is(ok.exitCode, 0, ok.stdout)
  t.false(fs.existsSync(path.join(sb.dir, 'new')), 'STATUS creates nothing')
  fs.writeFileSync(path.join(sb.dir, 'afile'), '')
  const bad = await sb.cni({ plugin: 'host-local', command: 'STATUS', conf: conf('1.1.0', path.join(sb.dir, 'afile'), { subnet: '10.55.0.0/24' }) })
  t.is(bad.exitCode, 1)
  t.is(bad.json?.code, 50)
})

const garbage: Array<{ name: string, conf: (dataDir: string) => unknown, code: number }> = [
  { name: 'a CIDR with a prefix out of range', conf: (d) => conf('1.0.0', d, { subnet: '10.56.0.0/33' }), code: 7 },
  { name: 'a subnet with host bits set', conf: (d) => conf('1.0.0', d, { subnet: '10.56.0.9/24' }), code: 7 },
  { name: 'a /31', conf: (d) => conf('1.0.0', d, { ranges: [[{ subnet: '10.56.0.0/31' }]] }), code: 7 },
  { name: 'ranges of the wrong JSON type', conf: (d) => conf('1.0.0', d, { ranges: 'x' }), code: 7 },
  { name: 'a gateway that is not an address', conf: (d) => conf('1.0.0', d, { subnet: '10.56.0.0/24', gateway: 'zz' }), code: 7 },
  { name: 'overlapping range sets', conf: (d) => conf('1.0.0', d, { ranges: [[{ subnet: '10.56.0.0/24' }], [{ subnet: '10.56.0.0/25' }]] }), code: 7 },
  { name: 'no ipam section', conf: () => ({ cniVersion: '1.0.0', name: 'hlnet', type: 'host-local' }), code: 7 },
  { name: 'unparsable JSON (the skel\'s decode error)', conf: () => '{"cniVersion": "1.0.0", "name": "hlnet", "ipam": {', code: 6 }
]

test('[kernel] garbage configs get the right code from every command and leave the data dir untouched', async (t) => {
  requireRoot(); requireReference()
  const sb = sandbox(t, 'hlgb')
  const pod = sb.ns('pod')
  const dataDir = path.join(sb.dir, 'data')
  addressOf(await hl(sb, pod, { impl: 'weft', command: 'ADD', conf: conf('1.0.0', dataDir, { subnet: '10.56.0.0/24' }), id: 'keep' }))
  const before = snapshot(sb.dir)
  for (const row of garbage) {
    for (const command of ['ADD', 'DEL', 'CHECK'] as const) {
      const r = await hl(sb, pod, { impl: 'weft', command, conf: row.conf(dataDir) })
      t.is(r.exitCode, 1, `${row.name} ${command}`)
      t.is(r.json?.code, row.code, `${row.name} ${command}: ${r.stdout}`)
      const ref = await hl(sb, pod, { impl: 'ref', command, conf: row.conf(dataDir) })
      t.is(ref.exitCode, 1, `the reference refuses it too: ${row.name} ${command}`)
    }
    for (const command of ['GC', 'STATUS'] as const) {
      const c = row.conf(dataDir)
      const c11 = typeof c === 'string' ? c.replace('1.0.0', '1.1.0') : { ...(c as Conf), cniVersion: '1.1.0', 'cni.dev/valid-attachments': [] }
      const r = await hl(sb, pod, { impl: 'weft', command, conf: c11, noNetns: true })
      t.is(r.json?.code, row.code, `${row.name} ${command}: ${r.stdout}`)
    }
  }
  const badArgs = await hl(sb, pod, { impl: 'weft', command: 'ADD', conf: conf('1.0.0', dataDir, { subnet: '10.56.0.0/24' }), id: 'x', cniArgs: 'IP=10.56.0.500' })
  t.is(badArgs.json?.code, 4)
  t.is(snapshot(sb.dir), before)
})

test('[kernel] a store locked by a hung process gives code 11 (try again later), reserves nothing, and works once released', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'hllk')
  const pod = sb.ns('pod')
  const dataDir = path.join(sb.dir, 'ipam')
  const c = conf('1.0.0', dataDir, { ranges: [[{ subnet: '10.66.0.0/24' }]] })
  const first = await hl(sb, pod, { impl: 'weft', command: 'ADD', conf: c, id: 'first' })
  t.is(first.exitCode, 0, first.stdout)
  const netDir = path.join(dataDir, 'hlnet')
  const before = storeContents(netDir)
  // A "hung" holder: flock(1) keeps the lock for 3 s.
  const holder = execa('flock', [path.join(netDir, 'lock'), 'sleep', '3'])
  await new Promise((resolve) => setTimeout(resolve, 300))
  const r = await sb.cni({ plugin: 'host-local', command: 'ADD', conf: c, netns: pod, containerId: 'second', extraEnv: { WEFT_CNI_LOCK_TIMEOUT_MS: '500' } })
  t.is(r.exitCode, 1, r.stdout)
  t.is(r.json?.code, 11, r.stdout)
  t.deepEqual(storeContents(netDir), before)
  await holder
  const again = await hl(sb, pod, { impl: 'weft', command: 'ADD', conf: c, id: 'second' })
  t.is(again.exitCode, 0, again.stdout)
})
