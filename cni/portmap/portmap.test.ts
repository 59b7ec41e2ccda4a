import test from 'ava'
import { dispatch } from '../skel/index.js'
import { fakeIptables } from '../../kernel/testing/index.js'
import type { FakeIptables } from '../../kernel/testing/index.js'
import type { Family, Netlink, Route } from '../../kernel/index.js'
import { portmapPlugin } from './portmap.js'
import type { PortmapDeps } from './deps.js'
import { routeInterfaceOf } from './deps.js'
import { dnatChainName, oldSnatChainName, trimComment } from './rules.js'

// ---------------------------------------------------------------------------
// Address plan: pod 10.1.0.5/24 and fd00:1::5/64 behind the node's cni0, node addresses 192.0.2.1 and fd00::1 (RFC 5737 /
// RFC 3849-style documentation prefixes), network "net1", container "c0ffee".

interface Fakes {
  deps: PortmapDeps
  v4: FakeIptables
  v6: FakeIptables
  sysctls: Map<string, string>
  conntrack: string[]
  logs: string[]
  routes: Map<string, string>
  conntrackFails: boolean
}

function fakes (init?: { v4?: string, v6?: string }): Fakes {
  const f: Fakes = {
    v4: fakeIptables(4, init?.v4),
    v6: fakeIptables(6, init?.v6),
    sysctls: new Map(),
    conntrack: [],
    logs: [],
    routes: new Map([['10.1.0.5', 'cni0'], ['10.1.0.6', 'cni0']]),
    conntrackFails: false,
    deps: undefined as unknown as PortmapDeps
  }
  f.deps = {
    iptables: (fam: Family) => (fam === 4 ? f.v4 : f.v6),
    routeInterface: (a) => f.routes.get(a),
    sysctl: {
      get: (k) => f.sysctls.get(k) ?? '0',
      set: (k, v) => { f.sysctls.set(k, v) }
    },
    conntrack: {
      deleteUdpFlowsToPort: (port, fam) => {
        if (f.conntrackFails) throw new Error('conntrack: Operation not permitted')
        f.conntrack.push(`${fam}:${port}`)
      }
    },
    log: (m) => { f.logs.push(m) }
  }
  return f
}

const prevResult = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'cni0', mac: 'aa:bb:cc:dd:ee:ff' }, { name: 'eth0', sandbox: '/run/netns/pod' }],
  ips: [{ interface: 1, address: '10.1.0.5/24', gateway: '10.1.0.1' }, { interface: 1, address: 'fd00:1::5/64' }],
  dns: {}
}

const mappings = [
  { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
  { hostPort: 8081, containerPort: 81, protocol: 'tcp', hostIP: '192.0.2.1' },
  { hostPort: 5353, containerPort: 53, protocol: 'udp' },
  { hostPort: 9090, containerPort: 90, protocol: 'tcp', hostIP: 'fd00::1' }
]

function conf (extra: Record<string, unknown> = {}, portMappings: unknown = mappings): Record<string, unknown> {
  return { cniVersion: '1.0.0', name: 'net1', type: 'portmap', runtimeConfig: { portMappings }, prevResult, ...extra }
}

function run (f: Fakes, command: string, c: unknown, containerId = 'c0ffee'): { exitCode: number, json: Record<string, unknown> | undefined } {
  const out = dispatch(portmapPlugin(() => f.deps), {
    env: { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: '/run/netns/pod', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' },
    stdin: Buffer.from(JSON.stringify(c)),
    about: 'portmap'
  })
  let json: Record<string, unknown> | undefined
  try { json = JSON.parse(out.stdout) as Record<string, unknown> } catch { json = undefined }
  return { exitCode: out.exitCode, json }
}

const lines = (...l: string[]): string => l.join('\n') + '\n'
const NAT_HEAD = [':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]']
const DN = 'CNI-DN-6a75e1c84261377613d28'
const SHARED_RULES = [
  '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
  '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
  '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ'
]
const SHARED_TAIL = [
  '-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE',
  '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000'
]

// `iptables-save -t nat` / `ip6tables-save -t nat` after the reference portmap (containernetworking/plugins v1.1.1) ran ADD
// with `conf()` on iptables 1.8.9 (nf_tables), comment lines removed. Ours must produce exactly this.
const REFERENCE_V4 = lines('*nat', ...NAT_HEAD,
  `:${DN} - [0:0]`, ':CNI-HOSTPORT-DNAT - [0:0]', ':CNI-HOSTPORT-MASQ - [0:0]', ':CNI-HOSTPORT-SETMARK - [0:0]',
  ...SHARED_RULES,
  `-A ${DN} -s 10.1.0.0/24 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK`,
  `-A ${DN} -s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK`,
  `-A ${DN} -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.1.0.5:80`,
  `-A ${DN} -s 10.1.0.0/24 -d 192.0.2.1/32 -p tcp -m tcp --dport 8081 -j CNI-HOSTPORT-SETMARK`,
  `-A ${DN} -s 127.0.0.1/32 -d 192.0.2.1/32 -p tcp -m tcp --dport 8081 -j CNI-HOSTPORT-SETMARK`,
  `-A ${DN} -d 192.0.2.1/32 -p tcp -m tcp --dport 8081 -j DNAT --to-destination 10.1.0.5:81`,
  `-A ${DN} -s 10.1.0.0/24 -p udp -m udp --dport 5353 -j CNI-HOSTPORT-SETMARK`,
  `-A ${DN} -s 127.0.0.1/32 -p udp -m udp --dport 5353 -j CNI-HOSTPORT-SETMARK`,
  `-A ${DN} -p udp -m udp --dport 5353 -j DNAT --to-destination 10.1.0.5:53`,
  `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"net1\\" id: \\"c0ffee\\"" -m multiport --dports 8080,8081,9090 -j ${DN}`,
  `-A CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \\"net1\\" id: \\"c0ffee\\"" -m multiport --dports 5353 -j ${DN}`,
  ...SHARED_TAIL,
  'COMMIT')

const REFERENCE_V6 = lines('*nat', ...NAT_HEAD,
  `:${DN} - [0:0]`, ':CNI-HOSTPORT-DNAT - [0:0]', ':CNI-HOSTPORT-MASQ - [0:0]', ':CNI-HOSTPORT-SETMARK - [0:0]',
  ...SHARED_RULES,
  `-A ${DN} -s fd00:1::/64 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK`,
  `-A ${DN} -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00:1::5]:80`,
  `-A ${DN} -s fd00:1::/64 -p udp -m udp --dport 5353 -j CNI-HOSTPORT-SETMARK`,
  `-A ${DN} -p udp -m udp --dport 5353 -j DNAT --to-destination [fd00:1::5]:53`,
  `-A ${DN} -s fd00:1::/64 -d fd00::1/128 -p tcp -m tcp --dport 9090 -j CNI-HOSTPORT-SETMARK`,
  `-A ${DN} -d fd00::1/128 -p tcp -m tcp --dport 9090 -j DNAT --to-destination [fd00:1::5]:90`,
  `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"net1\\" id: \\"c0ffee\\"" -m multiport --dports 8080,8081,9090 -j ${DN}`,
  `-A CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \\"net1\\" id: \\"c0ffee\\"" -m multiport --dports 5353 -j ${DN}`,
  ...SHARED_TAIL,
  'COMMIT')

const SHARED_ONLY = lines('*nat', ...NAT_HEAD,
  ':CNI-HOSTPORT-DNAT - [0:0]', ':CNI-HOSTPORT-MASQ - [0:0]', ':CNI-HOSTPORT-SETMARK - [0:0]',
  ...SHARED_RULES, ...SHARED_TAIL, 'COMMIT')

test('chain names are the reference\'s: CNI-DN- plus sha512(network + container ID), 28 characters', (t) => {
  t.is(dnatChainName('net1', 'c0ffee'), DN)
  t.is(oldSnatChainName('net1', 'c0ffee').length, 28)
  t.true(oldSnatChainName('net1', 'c0ffee').startsWith('CNI-SN-'))
})

test('ADD writes exactly the reference ruleset for a dual-stack container and passes prevResult through', (t) => {
  const f = fakes()
  const r = run(f, 'ADD', conf())
  t.is(r.exitCode, 0, JSON.stringify(r.json))
  t.deepEqual(r.json, { ...prevResult, cniVersion: '1.0.0' })
  t.is(f.v4.dump(), REFERENCE_V4)
  t.is(f.v6.dump(), REFERENCE_V6)
  t.deepEqual([...f.sysctls], [['net/ipv4/conf/cni0/route_localnet', '1']], 'route_localnet on the interface routing the pod, v4 only')
  t.deepEqual(f.conntrack, ['4:5353', '6:5353'], 'stale UDP flows to the UDP host port dropped, per family')
})

test('ADD converts the passed-through result to the configuration\'s version', (t) => {
  const f = fakes()
  const r = run(f, 'ADD', conf({ cniVersion: '0.3.1' }))
  t.is(r.exitCode, 0)
  t.is(r.json?.cniVersion, '0.3.1')
  t.deepEqual((r.json?.ips as Array<Record<string, unknown>>).map((x) => x.version), ['4', '6'])
})

test('a repeated ADD converges on the same ruleset, without duplicate jumps', (t) => {
  const f = fakes()
  run(f, 'ADD', conf())
  t.is(run(f, 'ADD', conf()).exitCode, 0)
  t.is(f.v4.dump(), REFERENCE_V4)
  t.is(f.v6.dump(), REFERENCE_V6)
})

test('a repeated ADD with other mappings replaces the container\'s rules instead of piling them up', (t) => {
  const f = fakes()
  run(f, 'ADD', conf())
  t.is(run(f, 'ADD', conf({}, [{ hostPort: 7070, containerPort: 70, protocol: 'tcp' }])).exitCode, 0)
  const dn = f.v4.listRules('nat', DN).map((r) => r.join(' '))
  t.deepEqual(dn, [
    '-s 10.1.0.0/24 -p tcp -m tcp --dport 7070 -j CNI-HOSTPORT-SETMARK',
    '-s 127.0.0.1/32 -p tcp -m tcp --dport 7070 -j CNI-HOSTPORT-SETMARK',
    '-p tcp -m tcp --dport 7070 -j DNAT --to-destination 10.1.0.5:70'
  ])
  t.deepEqual(f.v4.listRules('nat', 'CNI-HOSTPORT-DNAT').map((r) => r.at(-3)), ['7070'])
})

test('on a node that already has the shared chains, ADD costs one save and one restore per family', (t) => {
  const f = fakes()
  run(f, 'ADD', conf(), 'first')
  f.v4.calls.length = 0
  f.v6.calls.length = 0
  t.is(run(f, 'ADD', conf(), 'second').exitCode, 0)
  t.deepEqual(f.v4.calls, ['save nat', 'restore'])
  t.deepEqual(f.v6.calls, ['save nat', 'restore'])
  const jumps = f.v4.listRules('nat', 'CNI-HOSTPORT-DNAT').map((r) => r.at(-1))
  t.deepEqual(jumps, [dnatChainName('net1', 'first'), dnatChainName('net1', 'first'), dnatChainName('net1', 'second'), dnatChainName('net1', 'second')])
})

test('DEL removes the container chain and its jumps from both families and keeps the shared chains', (t) => {
  const f = fakes()
  run(f, 'ADD', conf())
  t.is(run(f, 'DEL', conf()).exitCode, 0)
  t.is(f.v4.dump(), SHARED_ONLY)
  t.is(f.v6.dump(), SHARED_ONLY)
})

test('DEL leaves other containers\' chains alone', (t) => {
  const f = fakes()
  run(f, 'ADD', conf(), 'first')
  run(f, 'ADD', conf(), 'second')
  run(f, 'DEL', conf(), 'first')
  t.false(f.v4.chainExists('nat', dnatChainName('net1', 'first')))
  t.true(f.v4.chainExists('nat', dnatChainName('net1', 'second')))
  t.is(f.v4.listRules('nat', 'CNI-HOSTPORT-DNAT').length, 2)
})

test('DEL twice, DEL without prevResult and DEL with an otherwise invalid config all succeed', (t) => {
  const f = fakes()
  run(f, 'ADD', conf())
  t.is(run(f, 'DEL', conf()).exitCode, 0)
  t.is(run(f, 'DEL', conf()).exitCode, 0)
  run(f, 'ADD', conf())
  const noPrev = conf()
  delete noPrev.prevResult
  t.is(run(f, 'DEL', noPrev).exitCode, 0)
  t.is(f.v4.dump(), SHARED_ONLY)
  run(f, 'ADD', conf())
  t.is(run(f, 'DEL', conf({ markMasqBit: 99, backend: 'nftables' }, [{ hostPort: 0 }])).exitCode, 0)
  t.is(f.v6.dump(), SHARED_ONLY)
})

test('DEL without port mappings does nothing, as the reference (no iptables command, no lock)', (t) => {
  const f = fakes()
  run(f, 'ADD', conf())
  f.v4.calls.length = 0
  t.is(run(f, 'DEL', conf({}, [])).exitCode, 0)
  t.is(run(f, 'DEL', { cniVersion: '1.0.0', name: 'net1', type: 'portmap' }).exitCode, 0)
  t.deepEqual(f.v4.calls, [])
  t.true(f.v4.chainExists('nat', DN))
})

test('DEL removes what the reference set up, including a legacy CNI-SN chain', (t) => {
  const sn = oldSnatChainName('net1', 'c0ffee')
  const legacy = REFERENCE_V4
    .replace(':CNI-HOSTPORT-DNAT - [0:0]', `:CNI-HOSTPORT-DNAT - [0:0]\n:CNI-HOSTPORT-SNAT - [0:0]\n:${sn} - [0:0]`)
    .replace('COMMIT', `-A CNI-HOSTPORT-SNAT -j ${sn}\n-A ${sn} -s 127.0.0.1/32 -j MASQUERADE\nCOMMIT`)
  const f = fakes({ v4: legacy, v6: REFERENCE_V6 })
  t.true(f.v4.chainExists('nat', sn))
  t.is(run(f, 'DEL', conf()).exitCode, 0)
  t.is(f.v4.dump(), SHARED_ONLY.replace(':CNI-HOSTPORT-SETMARK - [0:0]', ':CNI-HOSTPORT-SETMARK - [0:0]\n:CNI-HOSTPORT-SNAT - [0:0]'), 'the legacy summary chain is left, as the reference leaves it')
  t.is(f.v6.dump(), SHARED_ONLY)
})

test('DEL skips a family without iptables; with neither it fails with code 109', (t) => {
  const f = fakes()
  run(f, 'ADD', { ...conf(), prevResult: { ...prevResult, ips: [prevResult.ips[0]] } })
  f.v6.unusable = true
  t.is(run(f, 'DEL', conf()).exitCode, 0)
  t.is(f.v4.dump(), SHARED_ONLY)
  f.v4.unusable = true
  const r = run(f, 'DEL', conf())
  t.is(r.exitCode, 1)
  t.is(r.json?.code, 109)
  t.is(r.json?.msg, 'neither iptables nor ip6tables usable')
})

test('ADD without prevResult fails with code 7: portmap must be chained', (t) => {
  const f = fakes()
  const c = conf()
  delete c.prevResult
  const r = run(f, 'ADD', c)
  t.is(r.json?.code, 7)
  t.is(r.json?.msg, 'must be called as chained plugin')
  t.deepEqual(f.v4.calls, [])
})

test('ADD with no port mappings passes prevResult through and never runs iptables', (t) => {
  const f = fakes()
  for (const c of [conf({}, []), { ...conf(), runtimeConfig: {} }, { ...conf(), runtimeConfig: undefined }]) {
    const r = run(f, 'ADD', c)
    t.is(r.exitCode, 0)
    t.deepEqual(r.json, { ...prevResult, cniVersion: '1.0.0' })
  }
  t.deepEqual([...f.v4.calls, ...f.v6.calls], [])
  t.is(f.sysctls.size, 0)
})

// Options, each compared with the rules the reference writes for it (the e2e test `[kernel] portmap options ...` runs the
// same rows against the reference binary). One v4 mapping with a hostIP and one without.
const optionMappings = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }, { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '192.0.2.1' }]
const KUBE_MARK_MASQ = '*nat\n:KUBE-MARK-MASQ - [0:0]\n-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\nCOMMIT\n'
const optionRows: Array<{ name: string, extra: Record<string, unknown>, init?: string, want: string[] }> = [
  {
    name: 'masqAll marks every source, with no separate localhost rule',
    extra: { masqAll: true },
    want: [
      '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
      `-A ${DN} -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK`,
      `-A ${DN} -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.1.0.5:80`,
      `-A ${DN} -d 192.0.2.1/32 -p udp -m udp --dport 5353 -j CNI-HOSTPORT-SETMARK`,
      `-A ${DN} -d 192.0.2.1/32 -p udp -m udp --dport 5353 -j DNAT --to-destination 10.1.0.5:53`,
      `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"net1\\" id: \\"c0ffee\\"" -m multiport --dports 8080 -j ${DN}`,
      `-A CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \\"net1\\" id: \\"c0ffee\\"" -m multiport --dports 5353 -j ${DN}`,
      ...SHARED_TAIL
    ]
  },
  {
    name: 'snat false writes DNAT rules only, and no SETMARK or MASQ chains',
    extra: { snat: false },
    want: [
      '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      `-A ${DN} -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.1.0.5:80`,
      `-A ${DN} -d 192.0.2.1/32 -p udp -m udp --dport 5353 -j DNAT --to-destination 10.1.0.5:53`,
      `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"net1\\" id: \\"c0ffee\\"" -m multiport --dports 8080 -j ${DN}`,
      `-A CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \\"net1\\" id: \\"c0ffee\\"" -m multiport --dports 5353 -j ${DN}`
    ]
  },
  {
    name: 'markMasqBit picks the mark',
    extra: { markMasqBit: 5 },
    want: [
      '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
      `-A ${DN} -s 10.1.0.0/24 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK`,
      `-A ${DN} -s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK`,
      `-A ${DN} -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.1.0.5:80`,
      `-A ${DN} -s 10.1.0.0/24 -d 192.0.2.1/32 -p udp -m udp --dport 5353 -j CNI-HOSTPORT-SETMARK`,
      `-A ${DN} -s 127.0.0.1/32 -d 192.0.2.1/32 -p udp -m udp --dport 5353 -j CNI-HOSTPORT-SETMARK`,
      `-A ${DN} -d 192.0.2.1/32 -p udp -m udp --dport 5353 -j DNAT --to-destination 10.1.0.5:53`,
      `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"net1\\" id: \\"c0ffee\\"" -m multiport --dports 8080 -j ${DN}`,
      `-A CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \\"net1\\" id: \\"c0ffee\\"" -m multiport --dports 5353 -j ${DN}`,
      '-A CNI-HOSTPORT-MASQ -m mark --mark 0x20/0x20 -j MASQUERADE',
      '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x20/0x20'
    ]
  },
  {
    name: 'externalSetMarkChain is jumped to, and no SETMARK or MASQ chains are made',
    extra: { externalSetMarkChain: 'KUBE-MARK-MASQ' },
    init: KUBE_MARK_MASQ, // the chain belongs to someone else (kube-proxy) and must exist
    want: [
      '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      `-A ${DN} -s 10.1.0.0/24 -p tcp -m tcp --dport 8080 -j KUBE-MARK-MASQ`,
      `-A ${DN} -s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j KUBE-MARK-MASQ`,
      `-A ${DN} -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.1.0.5:80`,
      `-A ${DN} -s 10.1.0.0/24 -d 192.0.2.1/32 -p udp -m udp --dport 5353 -j KUBE-MARK-MASQ`,
      `-A ${DN} -s 127.0.0.1/32 -d 192.0.2.1/32 -p udp -m udp --dport 5353 -j KUBE-MARK-MASQ`,
      `-A ${DN} -d 192.0.2.1/32 -p udp -m udp --dport 5353 -j DNAT --to-destination 10.1.0.5:53`,
      `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"net1\\" id: \\"c0ffee\\"" -m multiport --dports 8080 -j ${DN}`,
      `-A CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \\"net1\\" id: \\"c0ffee\\"" -m multiport --dports 5353 -j ${DN}`,
      '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000'
    ]
  },
  {
    name: 'conditionsV4 are appended to the entry rules',
    extra: { conditionsV4: ['!', '-s', '198.51.100.0/24'], snat: false },
    want: [
      '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      `-A ${DN} -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.1.0.5:80`,
      `-A ${DN} -d 192.0.2.1/32 -p udp -m udp --dport 5353 -j DNAT --to-destination 10.1.0.5:53`,
      `-A CNI-HOSTPORT-DNAT ! -s 198.51.100.0/24 -p tcp -m comment --comment "dnat name: \\"net1\\" id: \\"c0ffee\\"" -m multiport --dports 8080 -j ${DN}`,
      `-A CNI-HOSTPORT-DNAT ! -s 198.51.100.0/24 -p udp -m comment --comment "dnat name: \\"net1\\" id: \\"c0ffee\\"" -m multiport --dports 5353 -j ${DN}`
    ]
  }
]

for (const row of optionRows) {
  test(`option: ${row.name}`, (t) => {
    const f = fakes(row.init !== undefined ? { v4: row.init } : undefined)
    const r = run(f, 'ADD', { ...conf(row.extra, optionMappings), prevResult: { ...prevResult, ips: [prevResult.ips[0]] } })
    t.is(r.exitCode, 0, JSON.stringify(r.json))
    t.deepEqual(f.v4.dump().split('\n').filter((l) => l.startsWith('-A')), row.want)
    t.is(f.v6.calls.length, 0, 'no v6 address, no ip6tables')
    t.is(run(f, 'CHECK', { ...conf(row.extra, optionMappings), prevResult: { ...prevResult, ips: [prevResult.ips[0]] } }).exitCode, 0)
  })
}

test('route_localnet is only set when marking is on', (t) => {
  const f = fakes()
  run(f, 'ADD', conf({ snat: false }))
  t.is(f.sysctls.size, 0)
  f.routes.clear()
  run(f, 'ADD', conf())
  t.is(f.sysctls.size, 0, 'no route to the pod: nothing to set, as the reference')
})

test('more than 15 ports of one protocol are split over several multiport rules', (t) => {
  const f = fakes()
  const many = Array.from({ length: 17 }, (_, i) => ({ hostPort: 10000 + i, containerPort: 80 + i, protocol: 'tcp' }))
  run(f, 'ADD', conf({}, many))
  const entries = f.v4.listRules('nat', 'CNI-HOSTPORT-DNAT').map((r) => r[r.indexOf('--dports') + 1])
  t.deepEqual(entries, [many.slice(0, 15).map((m) => m.hostPort).join(','), '10015,10016'])
  t.is(f.v4.listRules('nat', DN).length, 17 * 3)
})

test('identical rules from two mappings of one host port are written once, as the reference\'s check-then-append', (t) => {
  const f = fakes()
  run(f, 'ADD', conf({}, [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }, { hostPort: 8080, containerPort: 81, protocol: 'TCP' }]))
  t.deepEqual(f.v4.listRules('nat', DN).map((r) => r.join(' ')), [
    '-s 10.1.0.0/24 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK',
    '-s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK',
    '-p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.1.0.5:80',
    '-p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.1.0.5:81'
  ])
})

test('hostIP 0.0.0.0 or :: means any local destination', (t) => {
  const f = fakes()
  run(f, 'ADD', conf({ snat: false }, [{ hostPort: 1, containerPort: 1, protocol: 'tcp', hostIP: '0.0.0.0' }, { hostPort: 2, containerPort: 2, protocol: 'tcp', hostIP: '::' }]))
  t.deepEqual(f.v4.listRules('nat', DN).map((r) => r.join(' ')), ['-p tcp -m tcp --dport 1 -j DNAT --to-destination 10.1.0.5:1'])
  t.deepEqual(f.v6.listRules('nat', DN).map((r) => r.join(' ')), ['-p tcp -m tcp --dport 2 -j DNAT --to-destination [fd00:1::5]:2'])
})

test('the container address is the first one on CNI_IFNAME inside the sandbox', (t) => {
  const f = fakes()
  const prev = {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'cni0' }, { name: 'eth0', sandbox: '/run/netns/pod' }, { name: 'eth1', sandbox: '/run/netns/pod' }],
    ips: [
      { interface: 0, address: '10.1.0.1/24' }, // the bridge's: skipped
      { interface: 2, address: '10.2.0.5/24' }, // another container interface: skipped
      { interface: 1, address: '10.1.0.6/24' },
      { interface: 1, address: '10.1.0.7/24' } // second of the family: skipped
    ]
  }
  run(f, 'ADD', { ...conf({ snat: false }, [{ hostPort: 1, containerPort: 1, protocol: 'tcp' }]), prevResult: prev })
  t.deepEqual(f.v4.listRules('nat', DN).map((r) => r.at(-1)), ['10.1.0.6:1'])
  t.is(f.v6.calls.length, 0)
})

test('a very long network name and container ID make a comment cut to 255 characters', (t) => {
  const long = 'n'.repeat(200)
  t.is(trimComment(`dnat name: "${long}" id: "c"`).length, 221, 'short enough: unchanged')
  t.is(trimComment(`dnat name: "${long}" id: "${'c'.repeat(100)}"`).length, 255)
  t.true(trimComment(`dnat name: "${long}" id: "${'c'.repeat(100)}"`).endsWith('cc..'), 'what the kernel keeps of the reference\'s 253 characters + "..."')
  const f = fakes()
  t.is(run(f, 'ADD', conf({ name: long }, [{ hostPort: 1, containerPort: 1, protocol: 'tcp' }]), 'c'.repeat(100)).exitCode, 0)
  const comment = f.v4.listRules('nat', 'CNI-HOSTPORT-DNAT')[0]?.[5] ?? ''
  t.is(comment.length, 255)
})

test('CHECK passes after ADD and fails with code 110 when a rule, a jump or the chain is gone', (t) => {
  const f = fakes()
  run(f, 'ADD', conf())
  t.is(run(f, 'CHECK', conf()).exitCode, 0)

  f.v4.deleteRule('nat', DN, ['-p', 'udp', '--dport', '5353', '-j', 'DNAT', '--to-destination', '10.1.0.5:53'])
  let r = run(f, 'CHECK', conf())
  t.is(r.json?.code, 110)
  t.regex(String(r.json?.msg), /rule "-A CNI-DN-6a75e1c84261377613d28 -p udp --dport 5353 -j DNAT --to-destination 10.1.0.5:53" not found/)

  run(f, 'ADD', conf())
  f.v6.deleteRule('nat', 'OUTPUT', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT'])
  r = run(f, 'CHECK', conf())
  t.is(r.json?.code, 110)
  t.regex(String(r.json?.msg), /-A OUTPUT .* not found/)

  run(f, 'ADD', conf())
  run(f, 'DEL', conf())
  r = run(f, 'CHECK', conf())
  t.is(r.json?.code, 110)
  t.is(r.json?.msg, `chain ${DN} not found in iptables table nat`)
})

test('CHECK without prevResult is code 7; CHECK without mappings passes', (t) => {
  const f = fakes()
  const c = conf()
  delete c.prevResult
  t.is(run(f, 'CHECK', c).json?.code, 7)
  t.is(run(f, 'CHECK', conf({}, [])).exitCode, 0)
})

const badConfigs: Array<{ name: string, extra?: Record<string, unknown>, pm?: unknown, msg: RegExp }> = [
  { name: 'host port 0', pm: [{ hostPort: 0, containerPort: 80, protocol: 'tcp' }], msg: /Invalid host port number: 0/ },
  { name: 'host port above 65535', pm: [{ hostPort: 70000, containerPort: 80, protocol: 'tcp' }], msg: /Invalid host port number: 70000/ },
  { name: 'negative container port', pm: [{ hostPort: 80, containerPort: -1, protocol: 'tcp' }], msg: /Invalid container port number: -1/ },
  { name: 'fractional port', pm: [{ hostPort: 80.5, containerPort: 80, protocol: 'tcp' }], msg: /Invalid host port number/ },
  { name: 'unknown protocol', pm: [{ hostPort: 80, containerPort: 80, protocol: 'icmp' }], msg: /Invalid protocol "icmp"/ },
  { name: 'missing protocol', pm: [{ hostPort: 80, containerPort: 80 }], msg: /Invalid protocol/ },
  { name: 'garbage hostIP', pm: [{ hostPort: 80, containerPort: 80, protocol: 'tcp', hostIP: 'localhost' }], msg: /Invalid host IP "localhost"/ },
  { name: 'portMappings not a list', pm: { hostPort: 80 }, msg: /must be a list/ },
  { name: 'markMasqBit 32', extra: { markMasqBit: 32 }, msg: /MasqMarkBit must be between 0 and 31/ },
  { name: 'markMasqBit and externalSetMarkChain', extra: { markMasqBit: 3, externalSetMarkChain: 'X' }, msg: /Cannot specify externalSetMarkChain and markMasqBit/ },
  { name: 'externalSetMarkChain with a space', extra: { externalSetMarkChain: 'A B' }, msg: /invalid externalSetMarkChain/ },
  { name: 'nftables backend', extra: { backend: 'nftables' }, msg: /unsupported portmap backend "nftables"/ },
  { name: 'conditionsV4 not a list of strings', extra: { conditionsV4: [1] }, msg: /conditionsV4 must be a list of strings/ },
  { name: 'conditionsV6 with a line break', extra: { conditionsV6: ['-s', 'fd00::1\nCOMMIT'] }, msg: /line break/ },
  { name: 'snat not a boolean', extra: { snat: 'yes' }, msg: /snat must be a boolean/ }
]

for (const row of badConfigs) {
  test(`invalid config is code 7 before anything runs: ${row.name}`, (t) => {
    const f = fakes()
    for (const cmd of ['ADD', 'CHECK']) {
      const r = run(f, cmd, conf(row.extra ?? {}, row.pm ?? mappings))
      t.is(r.json?.code, 7, cmd)
      t.regex(String(r.json?.msg), row.msg)
    }
    t.deepEqual([...f.v4.calls, ...f.v6.calls], [])
  })
}

test('a failing conntrack flush is only logged', (t) => {
  const f = fakes()
  f.conntrackFails = true
  t.is(run(f, 'ADD', conf()).exitCode, 0)
  t.deepEqual(f.logs, [
    'failed to delete stale UDP conntrack entries for port 5353 (IPv4): conntrack: Operation not permitted',
    'failed to delete stale UDP conntrack entries for port 5353 (IPv6): conntrack: Operation not permitted'
  ])
})

test('ADD failing on IPv6 reports code 109 and removes the IPv4 chain it already wrote', (t) => {
  const f = fakes()
  f.v6.failOn = (c) => c === 'restore'
  const r = run(f, 'ADD', conf())
  t.is(r.json?.code, 109)
  t.regex(String(r.json?.msg), /unable to set up DNAT chain CNI-DN-6a75e1c84261377613d28 for fd00:1::5/)
  t.false(f.v4.chainExists('nat', DN))
  t.is(f.v4.dump(), SHARED_ONLY, 'shared chains stay for other containers')
  f.v6.failOn = undefined
  t.is(run(f, 'ADD', conf()).exitCode, 0, 'a retry works')
})

test('a restore that fails once because of a concurrent change is retried on a fresh snapshot', (t) => {
  const f = fakes()
  run(f, 'ADD', conf())
  let failures = 0
  f.v4.failOn = (c) => c === 'restore' && failures++ === 0
  t.is(run(f, 'DEL', conf()).exitCode, 0)
  t.is(failures, 2)
  t.is(f.v4.dump(), SHARED_ONLY)
})

test('route lookup: longest prefix in the local, then main table, skipping unreachable routes', (t) => {
  const links = new Map([[1, 'lo'], [2, 'eth0'], [3, 'cni0'], [4, 'cni1']])
  const routes: Route[] = [
    { family: 4, dst: '0.0.0.0/0', gw: '192.0.2.254', dev: 2, table: 254 },
    { family: 4, dst: '10.1.0.0/16', dev: 4, table: 254 },
    { family: 4, dst: '10.1.0.0/24', dev: 3, table: 254 },
    { family: 4, dst: '10.9.0.0/16', type: 7, table: 254 },
    { family: 4, dst: '127.0.0.0/8', dev: 1, type: 2, table: 255 },
    { family: 6, dst: 'fd00:1::/64', dev: 3, table: 254 }
  ]
  const nl = {
    routes: (filter?: { family?: Family }) => routes.filter((r) => filter?.family === undefined || r.family === filter.family),
    linkByIndex: (i: number) => (links.has(i) ? { name: links.get(i) } : undefined)
  } as unknown as Netlink
  t.is(routeInterfaceOf(nl, '10.1.0.5'), 'cni0')
  t.is(routeInterfaceOf(nl, '10.1.7.5'), 'cni1')
  t.is(routeInterfaceOf(nl, '198.51.100.1'), 'eth0')
  t.is(routeInterfaceOf(nl, '127.0.0.1'), 'lo')
  t.is(routeInterfaceOf(nl, '10.9.1.1'), undefined)
  t.is(routeInterfaceOf(nl, 'fd00:1::5'), 'cni0')
  t.is(routeInterfaceOf(nl, 'fd00:2::5'), undefined)
})
