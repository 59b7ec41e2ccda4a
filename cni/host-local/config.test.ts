import test from 'ava'
import { CniError } from '../skel/index.js'
import type { NetConf } from '../skel/index.js'
import { DEFAULT_DATA_DIR, loadConfig, loadValidAttachments, rangeContains, rangeSetString } from './config.js'

const base = (ipam: unknown, extra: Record<string, unknown> = {}): NetConf =>
  ({ cniVersion: '1.0.0', name: 'net1', type: 'bridge', ipam, ...extra }) as NetConf

const hl = (more: Record<string, unknown>): Record<string, unknown> => ({ type: 'host-local', ...more })

test('a bare subnet gets the reference defaults: gateway .1, range .1 to broadcast-1, default data dir', (t) => {
  const c = loadConfig(base(hl({ subnet: '10.1.2.0/24' })))
  t.is(c.dataDir, DEFAULT_DATA_DIR)
  t.is(c.resolvConf, undefined)
  t.deepEqual(c.routes, [])
  t.deepEqual(c.requestedIps, [])
  t.is(c.rangeSets.length, 1)
  t.deepEqual(c.rangeSets[0], [{ subnet: { family: 4, address: '10.1.2.0', prefixLen: 24 }, rangeStart: '10.1.2.1', rangeEnd: '10.1.2.254', gateway: '10.1.2.1' }])
})

test('IPv6 default range ends at the last address (no broadcast) and addresses are canonical', (t) => {
  const c = loadConfig(base(hl({ ranges: [[{ subnet: 'FD00:0:0:0::/120', rangeStart: 'fd00::0010' }]] })))
  t.deepEqual(c.rangeSets[0], [{ subnet: { family: 6, address: 'fd00::', prefixLen: 120 }, rangeStart: 'fd00::10', rangeEnd: 'fd00::ff', gateway: 'fd00::1' }])
})

test('range sources are ordered runtimeConfig.ipRanges, legacy subnet, then ranges', (t) => {
  const c = loadConfig(base(hl({ subnet: '10.2.0.0/24', ranges: [[{ subnet: '10.3.0.0/24' }], [{ subnet: 'fd00::/64' }]] }), {
    runtimeConfig: { ipRanges: [[{ subnet: '10.1.0.0/24' }]] }
  }))
  t.deepEqual(c.rangeSets.map(rangeSetString), ['10.1.0.1-10.1.0.254', '10.2.0.1-10.2.0.254', '10.3.0.1-10.3.0.254', 'fd00::1-fd00::ffff:ffff:ffff:ffff'])
})

test('explicit rangeStart, rangeEnd and gateway are kept; two disjoint ranges of one subnet may share a set', (t) => {
  const c = loadConfig(base(hl({
    ranges: [[
      { subnet: '10.1.0.0/24', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.20', gateway: '10.1.0.254' },
      { subnet: '10.1.0.0/24', rangeStart: '10.1.0.30', rangeEnd: '10.1.0.40' }
    ]]
  })))
  t.is(rangeSetString(c.rangeSets[0] ?? []), '10.1.0.10-10.1.0.20,10.1.0.30-10.1.0.40')
  t.is(c.rangeSets[0]?.[0]?.gateway, '10.1.0.254')
})

test('routes are validated and spelled canonically, keeping host bits as the reference does', (t) => {
  const c = loadConfig(base(hl({ subnet: '10.1.0.0/24', routes: [{ dst: '10.0.0.1/8', gw: '10.1.0.1' }, { dst: 'FD00:0::0/0' }, { dst: '0.0.0.0/0', mtu: 1400 }] })))
  t.deepEqual(c.routes, [{ dst: '10.0.0.1/8', gw: '10.1.0.1' }, { dst: 'fd00::/0' }, { dst: '0.0.0.0/0', mtu: 1400 }])
})

test('requested addresses come from CNI_ARGS, args.cni.ips and runtimeConfig.ips, in that order, deduplicated, prefixes ignored', (t) => {
  const c = loadConfig(base(hl({ subnet: '10.1.0.0/24' }), {
    args: { cni: { ips: ['10.1.0.7/24', '10.1.0.5'] } },
    runtimeConfig: { ips: ['fd00::9/64', '10.1.0.5'] }
  }), { cniArgs: 'IgnoreUnknown=1;K8S_POD_NAME=p;IP=10.1.0.5' })
  t.deepEqual(c.requestedIps, ['10.1.0.5', '10.1.0.7', 'fd00::9'])
})

test('CNI_ARGS accepts the keys bridge accepts (MAC) and a comma-separated IP list', (t) => {
  const c = loadConfig(base(hl({ subnet: '10.1.0.0/24' })), { cniArgs: 'MAC=02:00:00:00:00:01;IP=10.1.0.5,fd00::5' })
  t.deepEqual(c.requestedIps, ['10.1.0.5', 'fd00::5'])
})

test('CNI_ARGS is only read when given (DEL does not depend on it)', (t) => {
  t.notThrows(() => loadConfig(base(hl({ subnet: '10.1.0.0/24' }))))
  const e = t.throws(() => loadConfig(base(hl({ subnet: '10.1.0.0/24' })), { cniArgs: 'IP=nonsense' }), { instanceOf: CniError })
  t.is(e?.number, 4)
  t.regex(e?.message ?? '', /CNI_ARGS: invalid IP address "nonsense"/)
  t.is(t.throws(() => loadConfig(base(hl({ subnet: '10.1.0.0/24' })), { cniArgs: 'FOO=1' }))?.message, 'ARGS: unknown args ["FOO"]')
})

test('two addresses of one family need cniVersion 0.3.0 or later; one per family is fine on 0.2.0', (t) => {
  const two = hl({ ranges: [[{ subnet: '10.1.0.0/24' }], [{ subnet: '10.2.0.0/24' }]] })
  t.notThrows(() => loadConfig(base(two, { cniVersion: '0.3.0' })))
  t.is(t.throws(() => loadConfig(base(two, { cniVersion: '0.2.0' })))?.message, 'CNI version 0.2.0 does not support more than 1 address per family')
  t.notThrows(() => loadConfig(base(hl({ ranges: [[{ subnet: '10.1.0.0/24' }], [{ subnet: 'fd00::/64' }]] }), { cniVersion: '0.2.0' })))
})

const invalid: Array<{ name: string, conf: NetConf, msg: RegExp }> = [
  { name: 'no ipam key', conf: base(undefined), msg: /^IPAM config missing 'ipam' key$/ },
  { name: 'ipam not an object', conf: base('host-local'), msg: /"ipam" must be an object/ },
  { name: 'no ranges at all', conf: base(hl({ dataDir: '/x' })), msg: /^no IP ranges specified$/ },
  { name: 'ranges not a list', conf: base(hl({ ranges: 'x' })), msg: /ipam\.ranges must be a list of range sets/ },
  { name: 'range set not a list', conf: base(hl({ ranges: [{ subnet: '10.1.0.0/24' }] })), msg: /ipam\.ranges\[0\]: a range set must be a list/ },
  { name: 'empty range set', conf: base(hl({ ranges: [[]] })), msg: /ipam\.ranges\[0\]: empty range set/ },
  { name: 'range not an object', conf: base(hl({ ranges: [['10.1.0.0/24']] })), msg: /ipam\.ranges\[0\]\[0\]: a range must be an object/ },
  { name: 'missing subnet', conf: base(hl({ ranges: [[{ gateway: '10.1.0.1' }]] })), msg: /ipam\.ranges\[0\]\[0\]\.subnet is missing/ },
  { name: 'prefix out of bounds', conf: base(hl({ subnet: '10.1.0.0/33' })), msg: /ipam\.subnet: invalid CIDR address "10\.1\.0\.0\/33"/ },
  { name: 'subnet without prefix', conf: base(hl({ subnet: '10.1.0.0' })), msg: /invalid CIDR address/ },
  { name: 'subnet not a string', conf: base(hl({ subnet: 10 })), msg: /invalid CIDR address 10/ },
  { name: 'leading zeros', conf: base(hl({ subnet: '10.01.0.0/16' })), msg: /invalid CIDR address/ },
  { name: 'host bits set', conf: base(hl({ subnet: '10.1.0.5/24' })), msg: /has host bits set\. For a subnet mask of length 24 the network address is 10\.1\.0\.0/ },
  { name: '/31 too small', conf: base(hl({ subnet: '10.1.0.0/31' })), msg: /network 10\.1\.0\.0\/31 too small to allocate from/ },
  { name: '/32 too small', conf: base(hl({ subnet: '10.1.0.0/32' })), msg: /too small/ },
  { name: '/127 too small', conf: base(hl({ subnet: 'fd00::/127' })), msg: /too small/ },
  { name: 'gateway outside the subnet', conf: base(hl({ subnet: '10.1.0.0/24', gateway: '10.1.1.1' })), msg: /ipam\.gateway: 10\.1\.1\.1 not in network 10\.1\.0\.0\/24/ },
  { name: 'gateway garbage', conf: base(hl({ subnet: '10.1.0.0/24', gateway: 'zz' })), msg: /ipam\.gateway: invalid IP address "zz"/ },
  { name: 'gateway of the other family', conf: base(hl({ subnet: '10.1.0.0/24', gateway: 'fd00::1' })), msg: /not the same address family/ },
  { name: 'rangeStart outside', conf: base(hl({ subnet: '10.1.0.0/24', rangeStart: '10.1.1.1' })), msg: /ipam\.rangeStart: 10\.1\.1\.1 not in network/ },
  { name: 'rangeEnd outside', conf: base(hl({ subnet: '10.1.0.0/24', rangeEnd: '10.2.0.1' })), msg: /ipam\.rangeEnd: 10\.2\.0\.1 not in network/ },
  { name: 'rangeEnd before rangeStart', conf: base(hl({ subnet: '10.1.0.0/24', rangeStart: '10.1.0.100', rangeEnd: '10.1.0.50' })), msg: /rangeEnd 10\.1\.0\.50 is before rangeStart 10\.1\.0\.100/ },
  { name: 'legacy keys without subnet', conf: base(hl({ gateway: '10.1.0.1', ranges: [[{ subnet: '10.1.0.0/24' }]] })), msg: /ipam\.gateway is set but ipam\.subnet is not/ },
  { name: 'overlapping ranges inside a set', conf: base(hl({ ranges: [[{ subnet: '10.1.0.0/24' }, { subnet: '10.1.0.0/25' }]] })), msg: /ranges 10\.1\.0\.1-10\.1\.0\.254 and 10\.1\.0\.1-10\.1\.0\.126 overlap/ },
  { name: 'mixed families inside a set', conf: base(hl({ ranges: [[{ subnet: '10.1.0.0/24' }, { subnet: 'fd00::/64' }]] })), msg: /mixed address families/ },
  { name: 'overlapping range sets', conf: base(hl({ ranges: [[{ subnet: '10.1.0.0/24' }], [{ subnet: '10.1.0.128/25' }]] })), msg: /^range set 0 overlaps with 1$/ },
  { name: 'legacy subnet overlapping ranges', conf: base(hl({ subnet: '10.1.0.0/16', ranges: [[{ subnet: '10.1.5.0/24' }]] })), msg: /^range set 0 overlaps with 1$/ },
  { name: 'route without dst', conf: base(hl({ subnet: '10.1.0.0/24', routes: [{ gw: '10.1.0.1' }] })), msg: /ipam\.routes\[0\]\.dst: invalid CIDR address/ },
  { name: 'route with bad gw', conf: base(hl({ subnet: '10.1.0.0/24', routes: [{ dst: '0.0.0.0/0', gw: 'x' }] })), msg: /ipam\.routes\[0\]\.gw: invalid IP address "x"/ },
  { name: 'routes not a list', conf: base(hl({ subnet: '10.1.0.0/24', routes: {} })), msg: /ipam\.routes must be a list/ },
  { name: 'dataDir not a string', conf: base(hl({ subnet: '10.1.0.0/24', dataDir: 5 })), msg: /ipam\.dataDir must be a string/ },
  { name: 'args.cni.ips garbage', conf: base(hl({ subnet: '10.1.0.0/24' }), { args: { cni: { ips: ['10.1.0.x'] } } }), msg: /args\.cni\.ips\[0\]: invalid IP address/ },
  { name: 'runtimeConfig.ips not a list', conf: base(hl({ subnet: '10.1.0.0/24' }), { runtimeConfig: { ips: '10.1.0.5' } }), msg: /runtimeConfig\.ips must be a list/ },
  { name: 'runtimeConfig.ipRanges bad', conf: base(hl({ subnet: '10.1.0.0/24' }), { runtimeConfig: { ipRanges: [[{ subnet: 'nope' }]] } }), msg: /runtimeConfig\.ipRanges\[0\]\[0\]\.subnet: invalid CIDR/ }
]

for (const row of invalid) {
  test(`refuses with code 7: ${row.name}`, (t) => {
    const e = t.throws(() => loadConfig(row.conf), { instanceOf: CniError })
    t.is(e?.code, 'CNI_ERR_INVALID_CONFIG')
    t.is(e?.number, 7)
    t.regex(e?.message ?? '', row.msg)
  })
}

test('rangeContains honours rangeStart/rangeEnd, not only the subnet', (t) => {
  const [r] = loadConfig(base(hl({ subnet: '10.1.0.0/24', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.20' }))).rangeSets[0] ?? []
  if (r === undefined) return t.fail()
  t.true(rangeContains(r, '10.1.0.10'))
  t.true(rangeContains(r, '10.1.0.20'))
  t.false(rangeContains(r, '10.1.0.9'))
  t.false(rangeContains(r, '10.1.0.21'))
  t.false(rangeContains(r, 'fd00::10'))
})

test('GC attachments: valid-attachments and the legacy key are merged; a missing list is refused', (t) => {
  const c = base(hl({ subnet: '10.1.0.0/24' }), {
    'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth0' }],
    'cni.dev/attachments': [{ containerID: 'b', ifname: 'eth1' }]
  })
  t.deepEqual(loadValidAttachments(c), [{ containerID: 'a', ifname: 'eth0' }, { containerID: 'b', ifname: 'eth1' }])
  t.deepEqual(loadValidAttachments(base(hl({}), { 'cni.dev/valid-attachments': [] })), [])
  t.is(t.throws(() => loadValidAttachments(base(hl({}))))?.message, 'GC needs "cni.dev/valid-attachments"')
  t.regex(t.throws(() => loadValidAttachments(base(hl({}), { 'cni.dev/valid-attachments': [{ containerID: 'a' }] })))?.message ?? '', /\[0\] must be \{"containerID": string, "ifname": string\}/)
  t.is(t.throws(() => loadValidAttachments(base(hl({}), { 'cni.dev/attachments': 'x' })), { instanceOf: CniError })?.number, 7)
})
