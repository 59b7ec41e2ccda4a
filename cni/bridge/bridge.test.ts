/**
 * The bridge plugin's logic on the kernel fakes (no root): step order, rollback,
 * the VLAN path this machine's kernel cannot run, and config validation.
 */
import test from 'ava'
import { fakeNetNS, fakeIptables, fakeNftables, ciKernel } from '../../kernel/testing/index.js'
import { CniError, dispatch } from '../skel/index.js'
import type { CmdArgs, Command, Result } from '../skel/index.js'
import { bridgePlugin } from './bridge.js'
import type { BridgeDeps } from './bridge.js'

function setup (opts: { kernel?: Parameters<typeof fakeNetNS>[0], ipamFails?: boolean, faultAt?: string } = {}) {
  const netns = fakeNetNS(opts.kernel ?? {})
  const pod = netns.create('pod')
  const ipt4 = fakeIptables(4)
  const ipt6 = fakeIptables(6)
  const nft = fakeNftables()
  const ipamCalls: string[] = []
  const deps: BridgeDeps = {
    netns,
    sysctl: netns.sysctl,
    iptables: { save: (t, v6) => (v6 ? ipt6 : ipt4).save(t as 'nat'), restore: (s, v6) => { (v6 ? ipt6 : ipt4).restore(s) } },
    nft,
    delegate: (command: Command, type: string, _args: CmdArgs): Result | undefined => {
      ipamCalls.push(`${command} ${type}`)
      if (command !== 'ADD') return undefined
      if (opts.ipamFails === true) throw new CniError('CNI_ERR_RANGE_EXHAUSTED', 'no IP addresses available in range set')
      return { cniVersion: '1.0.0', ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1' }], routes: [{ dst: '0.0.0.0/0' }] }
    },
    sleep: () => {},
    faultAt: opts.faultAt
  }
  const plugin = bridgePlugin(deps)
  const run = (command: Command, conf: Record<string, unknown>) => dispatch(plugin, {
    env: { CNI_COMMAND: command, CNI_CONTAINERID: 'c1', CNI_NETNS: pod, CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' },
    stdin: Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'net', type: 'bridge', ipam: { type: 'host-local' }, ...conf })),
    about: 'bridge'
  })
  return { netns, pod, ipt4, nft, ipamCalls, run }
}

test('ADD builds bridge, veth pair, addresses, routes and gateway, and reports them', (t) => {
  const { netns, pod, run } = setup()
  const out = run('ADD', { isGateway: true })
  t.is(out.exitCode, 0, out.stdout)
  const r = JSON.parse(out.stdout) as { interfaces: Array<{ name: string }>, ips: unknown[] }
  t.is(r.interfaces[0]?.name, 'cni0')
  t.deepEqual(r.ips, [{ interface: 2, address: '10.1.0.5/24', gateway: '10.1.0.1' }])
  const host = netns.dump()
  t.regex(host, /link cni0 bridge/)
  t.regex(host, /addr cni0 10\.1\.0\.1\/24/)
  const inPod = netns.netlink(pod)
  const eth0 = inPod.linkByName('eth0')
  t.is(eth0?.kind, 'veth')
  t.true(inPod.addresses(4).some((a) => a.address === '10.1.0.5' && a.index === eth0?.index))
  t.true(inPod.routes({ family: 4 }).some((x) => x.dst === '0.0.0.0/0' && x.gw === '10.1.0.1'))
})

test('an IPAM failure unwinds the veth and the bridge this ADD created', (t) => {
  const { netns, pod, run, ipamCalls } = setup({ ipamFails: true })
  const before = netns.dump()
  const out = run('ADD', { isGateway: true })
  t.is(out.exitCode, 1)
  t.is(JSON.parse(out.stdout).code, 104)
  t.is(netns.dump(), before)
  t.is(netns.netlink(pod).linkByName('eth0'), undefined)
  t.deepEqual(ipamCalls, ['ADD host-local'])
})

test('a failure after masquerading unwinds the iptables rules and releases the IP', (t) => {
  const { ipt4, run, ipamCalls } = setup({ faultAt: 'ipmasq' })
  const before = ipt4.dump('nat')
  const out = run('ADD', { isGateway: true, ipMasq: true })
  t.is(out.exitCode, 1)
  t.is(ipt4.dump('nat'), before)
  t.deepEqual(ipamCalls, ['ADD host-local', 'DEL host-local'])
})

test('vlan on a kernel without bridge VLAN filtering fails with code 101 and leaves nothing', (t) => {
  const { netns, run } = setup({ kernel: ciKernel })
  const before = netns.dump()
  const out = run('ADD', { vlan: 100 })
  t.is(out.exitCode, 1)
  const e = JSON.parse(out.stdout) as { code: number, details: string }
  t.is(e.code, 101)
  t.regex(e.details, /VLAN filtering/)
  t.is(netns.dump(), before)
})

test('vlan on a kernel with VLAN filtering makes the port an untagged member with that PVID', (t) => {
  const { netns, run } = setup({ kernel: {} })
  const out = run('ADD', { vlan: 100 })
  t.is(out.exitCode, 0, out.stdout)
  const br = netns.netlink().linkByName('cni0')
  t.is(br?.bridge?.vlanFiltering, true)
})

test('vlan with isGateway is refused as unsupported (code 2) before anything is touched', (t) => {
  const { netns, run } = setup({ kernel: {} })
  const before = netns.dump()
  const out = run('ADD', { vlan: 100, isGateway: true })
  t.is(JSON.parse(out.stdout).code, 2)
  t.is(netns.dump(), before)
})

const invalid: Array<{ name: string, conf: Record<string, unknown> }> = [
  { name: 'mtu not a number', conf: { mtu: '1500' } },
  { name: 'negative mtu', conf: { mtu: -1 } },
  { name: 'vlan out of range', conf: { vlan: 4095 } },
  { name: 'bridge name too long', conf: { bridge: 'a-very-long-bridge-name' } },
  { name: 'bridge name with slash', conf: { bridge: 'br/0' } },
  { name: 'isGateway not a boolean', conf: { isGateway: 'yes' } },
  { name: 'hairpin and promisc', conf: { hairpinMode: true, promiscMode: true } },
  { name: 'multicast MAC', conf: { runtimeConfig: { mac: '01:00:5e:00:00:01' } } },
  { name: 'garbage MAC', conf: { args: { cni: { mac: 'zz' } } } },
  { name: 'IPAM with disableContainerInterface', conf: { disableContainerInterface: true } },
  { name: 'nameserver not an IP', conf: { dns: { nameservers: ['dns.example'] } } }
]

for (const row of invalid) {
  test(`invalid config is code 7 and touches nothing: ${row.name}`, (t) => {
    const { netns, run, ipamCalls } = setup()
    const before = netns.dump()
    const out = run('ADD', row.conf)
    t.is(out.exitCode, 1)
    t.is(JSON.parse(out.stdout).code, 7, out.stdout)
    t.is(netns.dump(), before)
    t.deepEqual(ipamCalls, [])
  })
}

test('macspoofchk: ADD installs the spoof-check chains and DEL removes them by handle', (t) => {
  const { nft, run } = setup()
  t.is(run('ADD', { macspoofchk: true }).exitCode, 0)
  const added = nft.dump()
  t.regex(added, /iifname "veth[0-9a-f]{8}" jump cni-br-iface-c1-eth0 comment "macspoofchk-c1-eth0"/)
  t.regex(added, /chain cni-br-iface-c1-eth0-mac \{/)
  t.is(run('DEL', { macspoofchk: true }).exitCode, 0)
  t.false(nft.dump().includes('cni-br-iface'), nft.dump())
})
