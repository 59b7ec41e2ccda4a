/**
 * The etcd subnet manager against a real etcd (Debian's 3.4, one throwaway
 * server per test, on 127.0.0.1): flannel's layout, acquisition, renewal,
 * reservations, the watch and its resync, and leases written by flanneld (as
 * etcdctl writes them here) read back both ways.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'
import { execa } from 'execa'
import { startEtcd, startTcpProxy } from '../harness/index.js'
import type { Etcd } from '../harness/index.js'
import { requireRoot, sandbox } from '../harness/index.js'
import { etcdSubnetManager, VxlanError } from '../../routing/vxlan/index.js'
import type { Lease, LeaseAttrs, LeaseEvent, SubnetManager } from '../../routing/vxlan/index.js'

type EtcdSubnetManagerInit = Parameters<typeof etcdSubnetManager>[0]
type Logger = NonNullable<EtcdSubnetManagerInit['logger']>

const PREFIX = '/coreos.com/network'
const CONFIG = `${PREFIX}/config`
const SUBNETS = `${PREFIX}/subnets/`

function attrs (publicIP: string, mac = '02:00:00:00:00:01'): LeaseAttrs {
  return { PublicIP: publicIP, PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: mac } }
}

/** A manager closed when the test ends. */
function manager (t: ExecutionContext, etcd: Etcd | string, over: Partial<EtcdSubnetManagerInit> = {}): SubnetManager {
  const m = etcdSubnetManager({ endpoints: [typeof etcd === 'string' ? etcd : etcd.endpoint], ...over })
  t.teardown(async () => await m.close())
  return m
}

async function putConfig (etcd: Etcd, conf: unknown, key = CONFIG): Promise<void> {
  await etcd.etcdctl(['put', key, JSON.stringify(conf)])
}

/** Keys under `prefix`, sorted. */
async function keys (etcd: Etcd, prefix = SUBNETS): Promise<string[]> {
  const r = await etcd.etcdctl(['get', prefix, '--prefix', '--keys-only'])
  return r.stdout.split('\n').filter((l) => l !== '').sort()
}

/** A key's value and etcd lease ID as etcdctl sees them (lease '0': none). */
async function read (etcd: Etcd, key: string): Promise<{ value: string, lease: string } | undefined> {
  const r = await etcd.etcdctl(['get', key, '-w', 'json'])
  // Lease IDs are int64: read them as text, JSON.parse would round them.
  const lease = /"lease":(\d+)/.exec(r.stdout)?.[1] ?? '0'
  const kv = (JSON.parse(r.stdout) as { kvs?: Array<{ value: string }> }).kvs?.[0]
  return kv === undefined ? undefined : { value: Buffer.from(kv.value, 'base64').toString(), lease }
}

async function revision (etcd: Etcd): Promise<number> {
  const r = await etcd.etcdctl(['get', 'nothing', '-w', 'json'])
  return (JSON.parse(r.stdout) as { header: { revision: number } }).header.revision
}

/** Collects every batch watchLeases delivers; stopped when the test ends. */
function watch (t: ExecutionContext, m: SubnetManager): { batches: LeaseEvent[][], until: (pred: (b: LeaseEvent[][]) => boolean, ms?: number) => Promise<void>, stop: () => void } {
  const batches: LeaseEvent[][] = []
  const ac = new AbortController()
  const done = m.watchLeases((evs) => batches.push(evs), ac.signal)
  t.teardown(async () => { ac.abort(); await done })
  return {
    batches,
    stop: () => ac.abort(),
    until: async (pred, ms = 15_000) => {
      const end = Date.now() + ms
      while (!pred(batches)) {
        if (Date.now() > end) throw new Error(`timed out; batches so far: ${JSON.stringify(batches.map(show))}`)
        await sleep(50)
      }
    }
  }
}

/** 'added 10.5.1.0/24 192.168.64.3' per event. */
function show (evs: LeaseEvent[]): string[] {
  return evs.map((e) => `${e.type} ${e.lease.subnet ?? '-'}${e.lease.ipv6Subnet !== undefined ? `&${e.lease.ipv6Subnet}` : ''} ${e.lease.attrs.PublicIP}`)
}

function capture (): Logger & { lines: Array<{ level: string, msg: string, obj: object }> } {
  const lines: Array<{ level: string, msg: string, obj: object }> = []
  const at = (level: string) => (obj: object, msg: string) => { lines.push({ level, msg, obj }) }
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

/** `p`, or a rejection after `ms`: a keepLease that should end but does not fails the test instead of hanging it. */
async function within<T> (p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms) })])
  } finally { clearTimeout(timer) }
}

async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

const net16 = { Network: '10.5.0.0/16', Backend: { Type: 'vxlan' } }

test('[etcd] getNetworkConfig reads <prefix>/config with flannel\'s defaults and names what is wrong', async (t) => {
  const etcd = await startEtcd(t)
  const m = manager(t, etcd)
  const missing = await t.throwsAsync(m.getNetworkConfig())
  t.is((missing as VxlanError).code, 'VXLAN_ERR_NETCONF')
  t.regex(missing.message, /\/coreos\.com\/network\/config not found in etcd/)

  await putConfig(etcd, net16)
  t.deepEqual(await m.getNetworkConfig(), {
    network: '10.5.0.0/16',
    ipv6Network: undefined,
    enableIPv4: true,
    enableIPv6: false,
    enableNFTables: false,
    subnetLen: 24,
    subnetMin: '10.5.1.0',
    subnetMax: '10.5.255.0',
    ipv6SubnetLen: 0,
    ipv6SubnetMin: undefined,
    ipv6SubnetMax: undefined,
    backend: { type: 'vxlan', vni: 1, port: 0, mtu: undefined, gbp: false, learning: false, directRouting: false }
  })

  await putConfig(etcd, { Network: '10.9.0.0/20', Backend: { Type: 'vxlan', VNI: 42 } }, '/weft/net/config')
  const other = await manager(t, etcd, { prefix: '/weft/net/' }).getNetworkConfig()
  t.is(other.subnetLen, 24)
  t.is(other.subnetMax, '10.9.15.0')
  t.is(other.backend.vni, 42)

  await putConfig(etcd, { Network: '10.5.0.0/16', SubnetLen: 31, Backend: { Type: 'vxlan' } })
  const bad = await t.throwsAsync(m.getNetworkConfig())
  t.is((bad as VxlanError).code, 'VXLAN_ERR_NETCONF')
  t.regex(bad.message, /^\/coreos\.com\/network\/config: net-conf: SubnetLen 31/)

  await putConfig(etcd, { EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fd00::/56', Backend: { Type: 'vxlan' } })
  t.regex((await t.throwsAsync(m.getNetworkConfig())).message, /EnableIPv4 is false/)
})

test('[etcd] an unreachable etcd is VXLAN_ERR_MANAGER, not a hang', async (t) => {
  const etcd = await startEtcd(t)
  const endpoint = etcd.endpoint
  await etcd.stop()
  const m = manager(t, endpoint, { requestTimeoutMs: 2000 })
  const started = Date.now()
  const err = await t.throwsAsync(m.acquireLease(attrs('192.168.64.1')))
  t.true(err instanceof VxlanError, String(err))
  t.is((err as VxlanError).code, 'VXLAN_ERR_MANAGER')
  t.true(Date.now() - started < 30_000)
})

test('[etcd] managers acquiring at once get distinct subnets, each key on its own etcd lease', async (t) => {
  const etcd = await startEtcd(t)
  // Six subnets for six nodes: every node must lose races and retry until each subnet has one owner.
  await putConfig(etcd, { ...net16, SubnetMin: '10.5.10.0', SubnetMax: '10.5.15.0' })
  const leases = await Promise.all([1, 2, 3, 4, 5, 6].map(async (i) =>
    await manager(t, etcd).acquireLease(attrs(`192.168.64.${i}`, `02:00:00:00:00:0${i}`))))
  const subnets = leases.map((l) => l.subnet).sort()
  t.deepEqual(subnets, ['10.5.10.0/24', '10.5.11.0/24', '10.5.12.0/24', '10.5.13.0/24', '10.5.14.0/24', '10.5.15.0/24'])
  t.deepEqual(await keys(etcd), subnets.map((s) => SUBNETS + (s as string).replace('/', '-')))
  const etcdLeases = new Set<string>()
  for (const l of leases) {
    const kv = await read(etcd, SUBNETS + (l.subnet as string).replace('/', '-'))
    t.is(kv?.value, `{"PublicIP":"${l.attrs.PublicIP}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${l.attrs.BackendData?.VtepMAC ?? ''}"}}`)
    t.not(kv?.lease, '0')
    etcdLeases.add(kv?.lease ?? '')
    const left = (l.expiration as Date).getTime() - Date.now()
    t.true(left > 86_300_000 && left <= 86_400_000, `expires in ${left} ms`)
  }
  t.is(etcdLeases.size, 6)
})

test('[etcd] a restarted node gets its subnet back for the same PublicIP, with its new attributes', async (t) => {
  const etcd = await startEtcd(t)
  await putConfig(etcd, net16)
  const m1 = manager(t, etcd)
  const first = await m1.acquireLease(attrs('192.168.64.3', '02:00:00:00:00:aa'))
  const key = SUBNETS + (first.subnet as string).replace('/', '-')
  const before = await read(etcd, key)
  await m1.close()

  const second = await manager(t, etcd).acquireLease(attrs('192.168.64.3', '02:00:00:00:00:bb'))
  t.is(second.subnet, first.subnet)
  t.is(second.attrs.BackendData?.VtepMAC, '02:00:00:00:00:bb')
  const after = await read(etcd, key)
  t.regex(after?.value ?? '', /"VtepMAC":"02:00:00:00:00:bb"/)
  t.not(after?.lease, '0', 'still on an etcd lease')
  t.not(after?.lease, before?.lease, 'on a fresh etcd lease')
  t.deepEqual(await keys(etcd), [key])

  const other = await manager(t, etcd).acquireLease(attrs('192.168.64.4'))
  t.not(other.subnet, first.subnet)
})

test('[etcd] a lease of our PublicIP that no longer fits the config is deleted and replaced', async (t) => {
  const etcd = await startEtcd(t)
  await putConfig(etcd, net16)
  const old = await manager(t, etcd).acquireLease(attrs('192.168.64.3'))
  await putConfig(etcd, { ...net16, SubnetLen: 25 })
  const now = await manager(t, etcd).acquireLease(attrs('192.168.64.3'))
  t.regex(now.subnet ?? '', /\/25$/)
  t.deepEqual(await keys(etcd), [SUBNETS + (now.subnet as string).replace('/', '-')])
  t.not(now.subnet, old.subnet)
})

test('[etcd] the previous subnet from subnet.env is reused when free, and not when taken or outside the range', async (t) => {
  const etcd = await startEtcd(t)
  await putConfig(etcd, net16)
  // subnet.env spells the first usable address: 10.5.77.1/24 is the subnet 10.5.77.0/24.
  const a = await manager(t, etcd).acquireLease(attrs('192.168.64.1'), { previous: { subnet: '10.5.77.1/24' } })
  t.is(a.subnet, '10.5.77.0/24')
  const b = await manager(t, etcd).acquireLease(attrs('192.168.64.2'), { previous: { subnet: '10.5.77.1/24' } })
  t.not(b.subnet, '10.5.77.0/24')
  const c = await manager(t, etcd).acquireLease(attrs('192.168.64.3'), { previous: { subnet: '10.6.0.1/24' } })
  t.regex(c.subnet ?? '', /^10\.5\.\d+\.0\/24$/)
  t.is(new Set([a.subnet, b.subnet, c.subnet]).size, 3)
})

test('[etcd] a reservation (a key without an etcd lease) goes to its PublicIP only and never expires', async (t) => {
  const etcd = await startEtcd(t)
  await putConfig(etcd, { ...net16, SubnetMin: '10.5.1.0', SubnetMax: '10.5.2.0' })
  const reserved = `${SUBNETS}10.5.1.0-24`
  await etcd.etcdctl(['put', reserved, '{"PublicIP":"192.168.64.10","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:10"}}'])
  const short = { ttlSeconds: 2, renewMarginSeconds: 1 }

  const other = await manager(t, etcd, short).acquireLease(attrs('192.168.64.11'))
  t.is(other.subnet, '10.5.2.0/24', 'the reserved subnet is not free for others')
  const full = await t.throwsAsync(manager(t, etcd, short).acquireLease(attrs('192.168.64.12')))
  t.regex(full.message, /out of subnets/)

  const m = manager(t, etcd, short)
  const mine = await m.acquireLease(attrs('192.168.64.10', '02:00:00:00:00:99'))
  t.is(mine.subnet, '10.5.1.0/24')
  t.is(mine.expiration, undefined)
  const ac = new AbortController()
  let renewed = 0
  const kept = m.keepLease(mine, ac.signal, () => { renewed++ })
  kept.catch(() => {}) // awaited below

  // Twice the TTL of the ordinary lease: that one is gone, the reservation stays as it was made.
  await sleep(4500)
  t.deepEqual(await keys(etcd), [reserved])
  const kv = await read(etcd, reserved)
  t.is(kv?.lease, '0')
  t.regex(kv?.value ?? '', /"VtepMAC":"02:00:00:00:00:99"/)
  t.is(renewed, 0)
  ac.abort()
  await within(kept, 10_000)
})

test('[etcd] keepLease renews a short lease; a lease nobody keeps runs out and is reported removed', async (t) => {
  const etcd = await startEtcd(t)
  await putConfig(etcd, net16)
  const short = { ttlSeconds: 5, renewMarginSeconds: 3 }
  const w = watch(t, manager(t, etcd))
  await w.until((b) => b.length >= 1)

  const keeper = manager(t, etcd, short)
  const kept = await keeper.acquireLease(attrs('192.168.64.1'))
  const renewals: Lease[] = []
  const ac = new AbortController()
  const keeping = keeper.keepLease(kept, ac.signal, (l) => renewals.push(l))
  keeping.catch(() => {}) // awaited below
  t.teardown(() => ac.abort())
  const dropped = await manager(t, etcd, short).acquireLease(attrs('192.168.64.2'))

  await w.until((b) => b.flat().some((e) => e.type === 'removed' && e.lease.subnet === dropped.subnet))
  // Nine seconds after the kept lease was granted it would have run out twice over without renewals (one every ~2 s).
  const grantedAt = (kept.expiration as Date).getTime() - 5000
  await sleep(Math.max(0, grantedAt + 9000 - Date.now()))
  t.true(renewals.length >= 3, `${renewals.length} renewals`)
  const last = renewals[renewals.length - 1] as Lease
  t.true((last.expiration as Date).getTime() > Date.now(), 'the last renewal moved the expiry ahead')
  t.deepEqual(await keys(etcd), [SUBNETS + (kept.subnet as string).replace('/', '-')])
  t.false(w.batches.flat().some((e) => e.type === 'removed' && e.lease.subnet === kept.subnet))
  const ttl = await etcd.etcdctl(['lease', 'timetolive', BigInt((await read(etcd, SUBNETS + (kept.subnet as string).replace('/', '-')))?.lease ?? '0').toString(16)])
  t.regex(ttl.stdout, /remaining\(\d+s\)/)
  ac.abort()
  await within(keeping, 10_000)
})

test('[etcd] keepLease takes its subnet again when the key is deleted, and gives up when another node holds it', async (t) => {
  const etcd = await startEtcd(t)
  await putConfig(etcd, net16)
  const m = manager(t, etcd)
  const lease = await m.acquireLease(attrs('192.168.64.1'))
  const key = SUBNETS + (lease.subnet as string).replace('/', '-')
  const renewals: Lease[] = []
  const keeping = m.keepLease(lease, new AbortController().signal, (l) => renewals.push(l))
  keeping.catch(() => {}) // awaited below; a failure before that must not crash the worker

  await etcd.etcdctl(['del', key])
  const end = Date.now() + 10_000
  while (renewals.length === 0 && Date.now() < end) await sleep(50)
  t.is(renewals.length, 1)
  const back = await read(etcd, key)
  t.regex(back?.value ?? '', /"PublicIP":"192\.168\.64\.1"/)
  t.not(back?.lease, '0')

  await etcd.etcdctl(['put', key, '{"PublicIP":"192.168.64.99","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:99"}}'])
  const err = await t.throwsAsync(within(keeping, 10_000))
  t.is((err as VxlanError).code, 'VXLAN_ERR_LEASE')
  t.regex(err.message, /now belongs to PublicIP 192\.168\.64\.99/)
})

test('[etcd] interop: a lease written with etcdctl as flanneld writes it is a Lease, and ours read back with etcdctl byte for byte', async (t) => {
  const etcd = await startEtcd(t)
  await putConfig(etcd, net16)
  const flannelKey = `${SUBNETS}10.5.52.0-24`
  const flannelValue = '{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}'
  const grant = await etcd.etcdctl(['lease', 'grant', '86400'])
  const id = /lease ([0-9a-f]+) granted/.exec(grant.stdout)?.[1]
  t.truthy(id, grant.stdout)
  await etcd.etcdctl(['put', `--lease=${id ?? ''}`, flannelKey, flannelValue])

  const w = watch(t, manager(t, etcd))
  await w.until((b) => b.length >= 1)
  const snapshot = w.batches[0] as LeaseEvent[]
  t.is(snapshot.length, 1)
  const theirs = snapshot[0]?.lease as Lease
  t.is(snapshot[0]?.type, 'added')
  t.is(theirs.subnet, '10.5.52.0/24')
  t.is(theirs.ipv6Subnet, undefined)
  t.deepEqual(theirs.attrs, { PublicIP: '192.168.64.3', PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: 'c6:d2:32:6f:8f:44' } })
  const left = (theirs.expiration as Date).getTime() - Date.now()
  t.true(left > 86_000_000 && left <= 86_400_000, `expires in ${left} ms`)

  const ours = await manager(t, etcd).acquireLease(attrs('192.168.64.5', 'aa:bb:cc:dd:ee:05'))
  const ourKey = SUBNETS + (ours.subnet as string).replace('/', '-')
  const got = await etcd.etcdctl(['get', ourKey])
  t.is(got.stdout, `${ourKey}\n{"PublicIP":"192.168.64.5","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:05"}}`)
  const ourLease = BigInt((await read(etcd, ourKey))?.lease ?? '0').toString(16)
  const ttl = await etcd.etcdctl(['lease', 'timetolive', '--keys', ourLease])
  t.regex(ttl.stdout, /granted with TTL\(86400s\)/)
  t.true(ttl.stdout.includes(ourKey), ttl.stdout)
  await w.until((b) => b.flat().some((e) => e.type === 'added' && e.lease.subnet === ours.subnet))

  // The flannel node's PublicIP, now running Weft: it keeps the subnet flanneld had.
  const migrated = await manager(t, etcd).acquireLease(attrs('192.168.64.3', 'c6:d2:32:6f:8f:44'))
  t.is(migrated.subnet, '10.5.52.0/24')
  t.is((await read(etcd, flannelKey))?.value, flannelValue)
})

test('[etcd] dual stack: one key names both subnets, as flannel\'s MakeSubnetKey does', async (t) => {
  const etcd = await startEtcd(t)
  await putConfig(etcd, { ...net16, EnableIPv6: true, IPv6Network: 'fc00::/48' })
  const dual: LeaseAttrs = { ...attrs('192.168.64.5'), PublicIPv6: 'fd00::5', BackendV6Data: { VNI: 1, VtepMAC: '02:00:00:00:00:06' } }
  const lease = await manager(t, etcd).acquireLease(dual)
  t.regex(lease.subnet ?? '', /^10\.5\.\d+\.0\/24$/)
  t.regex(lease.ipv6Subnet ?? '', /^fc00:0:0:[0-9a-f]+::\/64$/)
  const key = `${SUBNETS}${(lease.subnet as string).replace('/', '-')}&${(lease.ipv6Subnet as string).replace('/', '-')}`
  t.deepEqual(await keys(etcd), [key])
  t.is((await read(etcd, key))?.value, '{"PublicIP":"192.168.64.5","PublicIPv6":"fd00::5","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:01"},"BackendV6Data":{"VNI":1,"VtepMAC":"02:00:00:00:00:06"}}')

  const w = watch(t, manager(t, etcd))
  await w.until((b) => b.length >= 1)
  t.deepEqual(w.batches[0]?.map((e) => [e.type, e.lease.subnet, e.lease.ipv6Subnet, e.lease.attrs]), [['added', lease.subnet, lease.ipv6Subnet, dual]])
  const again = await manager(t, etcd).acquireLease(dual)
  t.deepEqual([again.subnet, again.ipv6Subnet], [lease.subnet, lease.ipv6Subnet])
})

test('[etcd] watchLeases rejects with the error onEvents throws, and stops watching', async (t) => {
  const etcd = await startEtcd(t)
  const m = manager(t, etcd)
  let calls = 0
  const boom = new Error('agent bug')
  const watching = m.watchLeases(() => { if (++calls === 2) throw boom }, new AbortController().signal)
  watching.catch(() => {}) // awaited below
  const end = Date.now() + 10_000
  while (calls === 0 && Date.now() < end) await sleep(20)
  await etcd.etcdctl(['put', `${SUBNETS}10.5.1.0-24`, '{"PublicIP":"192.168.64.1","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:01"}}'])
  t.is(await t.throwsAsync(within(watching, 10_000)), boom)
  await etcd.etcdctl(['put', `${SUBNETS}10.5.2.0-24`, '{"PublicIP":"192.168.64.2","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:02"}}'])
  await sleep(300)
  t.is(calls, 2)
})

test('[etcd] acquireLease fails with VXLAN_ERR_LEASE "out of subnets" when every subnet is taken', async (t) => {
  const etcd = await startEtcd(t)
  await putConfig(etcd, { ...net16, SubnetMin: '10.5.9.0', SubnetMax: '10.5.9.0' })
  const only = await manager(t, etcd).acquireLease(attrs('192.168.64.1'))
  t.is(only.subnet, '10.5.9.0/24')
  const err = await t.throwsAsync(manager(t, etcd).acquireLease(attrs('192.168.64.2')))
  t.true(err instanceof VxlanError)
  t.is((err as VxlanError).code, 'VXLAN_ERR_LEASE')
  t.is(err.message, 'out of subnets: every /24 from 10.5.9.0 to 10.5.9.0 is leased or reserved')
  t.deepEqual(await keys(etcd), [`${SUBNETS}10.5.9.0-24`])
})

test('[etcd] watchLeases ignores keys that name no subnet and values that do not parse, and logs them', async (t) => {
  const etcd = await startEtcd(t)
  await etcd.etcdctl(['put', `${SUBNETS}10.5.3.1-24`, '{"PublicIP":"192.168.64.1","BackendType":"vxlan"}'])
  await etcd.etcdctl(['put', `${SUBNETS}10.5.4.0-24`, 'not json'])
  await etcd.etcdctl(['put', `${SUBNETS}10.5.5.0-24`, '{"PublicIP":"192.168.64.5","BackendType":"host-gw"}'])
  const log = capture()
  const w = watch(t, manager(t, etcd, { logger: log }))
  await w.until((b) => b.length >= 1)
  t.deepEqual(show(w.batches[0] as LeaseEvent[]), ['added 10.5.5.0/24 192.168.64.5'])
  await etcd.etcdctl(['put', `${SUBNETS}10.5.5.0-24`, '{"PublicIP":"garbage"}'])
  await etcd.etcdctl(['put', `${SUBNETS}10.5.6.0-24`, '{"PublicIP":"192.168.64.6","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:06"}}'])
  // etcd may deliver both writes in one response or in two.
  await w.until((b) => b.slice(1).flat().length >= 2)
  t.deepEqual(show(w.batches.slice(1).flat()), ['removed 10.5.5.0/24 192.168.64.5', 'added 10.5.6.0/24 192.168.64.6'])
  const warned = log.lines.filter((l) => l.level === 'warn').map((l) => `${l.msg} ${(l.obj as { key?: string }).key ?? ''}`)
  t.true(warned.includes(`ignoring a key under subnets/ that names no subnet ${SUBNETS}10.5.3.1-24`), warned.join('\n'))
  t.true(warned.includes(`ignoring a lease whose value does not parse ${SUBNETS}10.5.4.0-24`), warned.join('\n'))
  t.true(warned.includes(`ignoring a lease whose value does not parse ${SUBNETS}10.5.5.0-24`), warned.join('\n'))
})

test('[etcd] watchLeases resumes a dropped watch, and re-lists after etcdctl compact, emitting the difference', async (t) => {
  const etcd = await startEtcd(t)
  const proxy = await startTcpProxy(t, { host: etcd.host, port: etcd.clientPort })
  const value = (i: number, mac = '02:00:00:00:00:01'): string => `{"PublicIP":"192.168.64.${i}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${mac}"}}`
  for (const i of [1, 2, 3]) await etcd.etcdctl(['put', `${SUBNETS}10.5.${i}.0-24`, value(i)])
  const log = capture()
  const w = watch(t, manager(t, proxy.endpoint, { logger: log }))
  await w.until((b) => b.length >= 1)
  t.deepEqual(show(w.batches[0] as LeaseEvent[]), ['added 10.5.1.0/24 192.168.64.1', 'added 10.5.2.0/24 192.168.64.2', 'added 10.5.3.0/24 192.168.64.3'])
  const resets = (): number => log.lines.filter((l) => l.msg === 'lease watch reset: listing leases again').length

  // 1. Connection dropped, nothing compacted: the watch resumes and etcd replays the change.
  proxy.cut()
  await sleep(300)
  await etcd.etcdctl(['put', `${SUBNETS}10.5.4.0-24`, value(4)])
  proxy.restore()
  await w.until((b) => b.flat().some((e) => e.lease.subnet === '10.5.4.0/24'))
  t.deepEqual(show(w.batches[1] as LeaseEvent[]), ['added 10.5.4.0/24 192.168.64.4'])
  t.is(resets(), 0, 'no re-list while etcd could replay')

  // 2. Dropped again; meanwhile one lease goes, one changes, one comes, and etcd compacts its history.
  const before = w.batches.length
  proxy.cut()
  await sleep(300)
  await etcd.etcdctl(['del', `${SUBNETS}10.5.1.0-24`])
  await etcd.etcdctl(['put', `${SUBNETS}10.5.2.0-24`, value(2, '02:00:00:00:00:22')])
  await etcd.etcdctl(['put', `${SUBNETS}10.5.5.0-24`, value(5)])
  await etcd.etcdctl(['compact', String(await revision(etcd))])
  proxy.restore()
  await w.until((b) => b.length > before)
  t.deepEqual(w.batches.slice(before).map(show), [['removed 10.5.1.0/24 192.168.64.1', 'added 10.5.2.0/24 192.168.64.2', 'added 10.5.5.0/24 192.168.64.5']])
  const changed = (w.batches[before] as LeaseEvent[])[1]
  t.is(changed?.lease.attrs.BackendData?.VtepMAC, '02:00:00:00:00:22')
  t.is(resets(), 1)
  t.regex(JSON.stringify(log.lines.find((l) => l.msg === 'lease watch reset: listing leases again')?.obj), /watch canceled by etcd/)

  // 3. And it keeps following live changes.
  await etcd.etcdctl(['del', `${SUBNETS}10.5.3.0-24`])
  await w.until((b) => b.length > before + 1)
  t.deepEqual(show(w.batches[before + 1] as LeaseEvent[]), ['removed 10.5.3.0/24 192.168.64.3'])
})

test('[etcd] the harness runs etcd inside a network namespace, on an address the caller gives', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'etcd')
  const ns = sb.nameOf(sb.ns('u'))
  // An RFC 5737 address that exists only inside the namespace.
  await execa('ip', ['-n', ns, 'addr', 'add', '198.51.100.7/32', 'dev', 'lo'])
  const etcd = await startEtcd(t, { host: '198.51.100.7', execPrefix: ['ip', 'netns', 'exec', ns] })
  t.is(etcd.endpoint, `http://198.51.100.7:${etcd.clientPort}`)
  const where = await execa('ip', ['netns', 'identify', String(etcd.pid)])
  t.is(String(where.stdout).trim(), ns)
  await etcd.etcdctl(['put', CONFIG, JSON.stringify(net16)])
  t.is((await etcd.etcdctl(['get', CONFIG, '--print-value-only'])).stdout, JSON.stringify(net16))

  const pid = etcd.pid
  await etcd.stop()
  t.throws(() => process.kill(pid, 0), undefined, 'etcd is gone after stop()')
})
