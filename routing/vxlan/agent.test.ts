/**
 * The agent's loop on the fakes: a kernel from kernel/testing and an
 * in-memory subnet manager that plays etcd's part (snapshot, then events).
 */
import test from 'ava'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fakeNetNS } from '../../kernel/testing/index.js'
import { startAgent } from './agent.js'
import type { Logger } from './agent.js'
import type { Lease, LeaseAttrs, LeaseEvent, NetConf, SubnetManager } from './types.js'

const conf: NetConf = {
  network: '10.244.0.0/16', ipv6Network: undefined, enableIPv4: true, enableIPv6: false, enableNFTables: false,
  subnetLen: 24, subnetMin: '10.244.1.0', subnetMax: '10.244.255.0', ipv6SubnetLen: 64, ipv6SubnetMin: undefined, ipv6SubnetMax: undefined,
  backend: { type: 'vxlan', vni: 1, port: 0, mtu: undefined, gbp: false, learning: false, directRouting: false }
}

const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} }

function remote (subnet: string, ip: string, mac: string): Lease {
  return { subnet, ipv6Subnet: undefined, expiration: undefined, attrs: { PublicIP: ip, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: mac } } }
}

/** A manager whose watch is driven by the test: `emit` delivers events, the first call being the snapshot. */
function manager (): SubnetManager & { emit: (e: LeaseEvent[]) => void, acquired: LeaseAttrs[] } {
  let sink: ((e: LeaseEvent[]) => void) | undefined
  const queued: LeaseEvent[][] = []
  const acquired: LeaseAttrs[] = []
  return {
    kind: 'etcd',
    acquired,
    getNetworkConfig: async () => conf,
    acquireLease: async (attrs) => { acquired.push(attrs); return { subnet: '10.244.1.0/24', ipv6Subnet: undefined, expiration: undefined, attrs } },
    watchLeases: async (onEvents, signal) => {
      sink = onEvents
      for (const q of queued.splice(0)) onEvents(q)
      await new Promise<void>((resolve) => { signal.addEventListener('abort', () => { resolve() }) })
    },
    keepLease: async (_l, signal) => { await new Promise<void>((resolve) => { signal.addEventListener('abort', () => { resolve() }) }) },
    close: async () => {},
    emit: (e) => { if (sink !== undefined) sink(e); else queued.push(e) }
  }
}

function node () {
  const netns = fakeNetNS()
  const nl = netns.netlink()
  nl.addVeth({ name: 'eth0', peerName: 'p0' })
  const eth0 = nl.linkByName('eth0')?.index ?? 0
  nl.setLink(eth0, { up: true })
  nl.addAddress(eth0, '192.168.1.11/24')
  nl.addRoute({ family: 4, dst: '0.0.0.0/0', gw: '192.168.1.1', dev: eth0 })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-agent-'))
  return { netns, nl, dir, subnetFile: path.join(dir, 'subnet.env') }
}

test('nothing is programmed before the first lease snapshot; then subnet.env and the remote entries appear', async (t) => {
  const n = node()
  t.teardown(() => { fs.rmSync(n.dir, { recursive: true, force: true }) })
  const m = manager()
  const agent = await startAgent({ manager: m, netns: n.netns, sysctl: n.netns.sysctl, subnetFile: n.subnetFile, ipMasq: true, logger: quiet, resyncMs: 60_000 })
  t.teardown(async () => { await agent.stop() })
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.is(n.nl.linkByName('flannel.1'), undefined, 'no pass without a snapshot')
  t.false(fs.existsSync(n.subnetFile))
  m.emit([{ type: 'added', lease: agent.lease }, { type: 'added', lease: remote('10.244.2.0/24', '192.168.1.12', 'aa:bb:cc:dd:ee:02') }])
  await agent.settled()
  t.is(n.nl.linkByName('flannel.1')?.mtu, 1450)
  t.is(fs.readFileSync(n.subnetFile, 'utf8'), 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n')
  t.true(n.nl.routes({ family: 4 }).some((r) => r.dst === '10.244.2.0/24' && r.gw === '10.244.2.0'))
  t.is(agent.status().ready, true)
  // The published VtepMAC is the device's.
  t.is(m.acquired[0]?.BackendData?.VtepMAC, n.nl.linkByName('flannel.1')?.mac)
})

test('a removed lease is cleaned on the next pass; overlapping or foreign leases are not programmed', async (t) => {
  const n = node()
  t.teardown(() => { fs.rmSync(n.dir, { recursive: true, force: true }) })
  const m = manager()
  const agent = await startAgent({ manager: m, netns: n.netns, sysctl: n.netns.sysctl, subnetFile: n.subnetFile, ipMasq: false, logger: quiet, resyncMs: 60_000 })
  t.teardown(async () => { await agent.stop() })
  const b = remote('10.244.2.0/24', '192.168.1.12', 'aa:bb:cc:dd:ee:02')
  m.emit([{ type: 'added', lease: agent.lease }, { type: 'added', lease: b },
    { type: 'added', lease: remote('10.244.1.0/25', '192.168.1.66', 'aa:bb:cc:dd:ee:66') },
    { type: 'added', lease: remote('10.99.0.0/24', '192.168.1.77', 'aa:bb:cc:dd:ee:77') }])
  await agent.settled()
  const routes = (): string[] => n.nl.routes({ family: 4, table: 254 }).filter((r) => r.dev === n.nl.linkByName('flannel.1')?.index).map((r) => r.dst)
  t.deepEqual(routes(), ['10.244.2.0/24'])
  m.emit([{ type: 'removed', lease: b }])
  await agent.settled()
  t.deepEqual(routes(), [])
  t.deepEqual(n.nl.fdb(n.nl.linkByName('flannel.1')?.index).filter((f) => f.mac !== '00:00:00:00:00:00'), [])
})

test('a restart keeps the VtepMAC: the existing device\'s, else the one saved beside subnet.env', async (t) => {
  const n = node()
  t.teardown(() => { fs.rmSync(n.dir, { recursive: true, force: true }) })
  const m1 = manager()
  const a1 = await startAgent({ manager: m1, netns: n.netns, sysctl: n.netns.sysctl, subnetFile: n.subnetFile, ipMasq: false, logger: quiet, resyncMs: 60_000 })
  m1.emit([{ type: 'added', lease: a1.lease }])
  await a1.settled()
  await a1.stop()
  const mac = m1.acquired[0]?.BackendData?.VtepMAC
  // Device gone (say, a reboot): the saved MAC is used again.
  n.nl.deleteLink(n.nl.linkByName('flannel.1')?.index ?? 0)
  const m2 = manager()
  const a2 = await startAgent({ manager: m2, netns: n.netns, sysctl: n.netns.sysctl, subnetFile: n.subnetFile, ipMasq: false, logger: quiet, resyncMs: 60_000 })
  t.teardown(async () => { await a2.stop() })
  t.is(m2.acquired[0]?.BackendData?.VtepMAC, mac)
  m2.emit([{ type: 'added', lease: a2.lease }])
  await a2.settled()
  t.is(n.nl.linkByName('flannel.1')?.mac, mac)
})
