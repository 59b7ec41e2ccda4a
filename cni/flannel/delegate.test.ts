/**
 * The delegate configuration, byte for byte against what flannel's plugin
 * builds and saves (reference notes, section 3.7), and the configuration
 * checks that come before it.
 */
import test from 'ava'
import { CniError } from '../skel/index.js'
import type { NetConf } from '../skel/index.js'
import { loadFlannelConf } from './config.js'
import { buildDelegate, fallbackDelegate, renderDelegate } from './delegate.js'
import { parseSubnetEnv } from './subnet-env.js'

const stockEnv = parseSubnetEnv('FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n')
const dualEnv = parseSubnetEnv('FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n')

const conf = (extra: Record<string, unknown> = {}): NetConf => ({ cniVersion: '0.3.1', name: 'cbr0', type: 'flannel', ...extra })
const render = (c: NetConf, env = stockEnv): string => renderDelegate(buildDelegate(loadFlannelConf(c), env))

test('stock manifest: exactly the delegate JSON flannel builds and saves', (t) => {
  const got = render(conf({ delegate: { hairpinMode: true, isDefaultGateway: true } }))
  t.is(got, '{"cniVersion":"0.3.1","hairpinMode":true,"ipMasq":false,' +
    '"ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},' +
    '"isDefaultGateway":true,"isGateway":true,"mtu":1450,"name":"cbr0","type":"bridge"}')
})

test('no delegate at all: bridge, gateway, MTU and masquerade from subnet.env', (t) => {
  t.deepEqual(JSON.parse(render(conf())), {
    cniVersion: '0.3.1', ipMasq: false, isGateway: true, mtu: 1450, name: 'cbr0', type: 'bridge',
    ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }]], routes: [{ dst: '10.244.0.0/16' }] }
  })
})

test('dual-stack: one range set per family, a route per cluster network, ipMasq on when flanneld does not masquerade', (t) => {
  t.is(render(conf({ cniVersion: '1.0.0' }), dualEnv), '{"cniVersion":"1.0.0","ipMasq":true,' +
    '"ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}],[{"subnet":"fd00:10:244:1::/64"}]],"routes":[{"dst":"10.244.0.0/16"},{"dst":"fd00:10:244::/56"}],"type":"host-local"},' +
    '"isGateway":true,"mtu":1450,"name":"cbr0","type":"bridge"}')
})

test('IPv6-only subnet.env gives IPv6 ranges and routes only', (t) => {
  const env = parseSubnetEnv('FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\nFLANNEL_MTU=1430\nFLANNEL_IPMASQ=true\n')
  const d = JSON.parse(render(conf(), env)) as { ipam: unknown, mtu: number }
  t.deepEqual(d.ipam, { type: 'host-local', ranges: [[{ subnet: 'fd00:10:244:1::/64' }]], routes: [{ dst: 'fd00:10:244::/56' }] })
  t.is(d.mtu, 1430)
})

test('keys present in delegate win, whatever their value; isGateway is a bridge default only', (t) => {
  const d = JSON.parse(render(conf({ delegate: { ipMasq: true, mtu: 1400, isGateway: false, bridge: 'cbr1' } }))) as Record<string, unknown>
  t.like(d, { ipMasq: true, mtu: 1400, isGateway: false, bridge: 'cbr1', type: 'bridge' })
  const nullMtu = JSON.parse(render(conf({ delegate: { mtu: null } }))) as Record<string, unknown>
  t.is(nullMtu.mtu, null)
  const ipvlan = JSON.parse(render(conf({ delegate: { type: 'ipvlan', master: 'eth0' } }))) as Record<string, unknown>
  t.false('isGateway' in ipvlan)
  t.like(ipvlan, { type: 'ipvlan', master: 'eth0', ipMasq: false, mtu: 1450 })
})

test('input ipam is the base: its keys kept, its routes first, its type kept, ranges replaced', (t) => {
  const d = JSON.parse(render(conf({
    ipam: { type: 'host-local', dataDir: '/var/lib/x', ranges: [[{ subnet: '192.0.2.0/24' }]], routes: [{ dst: '0.0.0.0/0' }, { gw: '10.244.1.254', dst: '198.51.100.0/24', mtu: 0, priority: 5 }] }
  }))) as { ipam: Record<string, unknown> }
  t.deepEqual(d.ipam, {
    type: 'host-local',
    dataDir: '/var/lib/x',
    ranges: [[{ subnet: '10.244.1.0/24' }]],
    routes: [{ dst: '0.0.0.0/0' }, { dst: '198.51.100.0/24', gw: '10.244.1.254', priority: 5 }, { dst: '10.244.0.0/16' }]
  })
  // Routes are Go structs: field order, not sorted keys.
  t.true(render(conf({ ipam: { routes: [{ gw: '10.244.1.254', dst: '198.51.100.0/24' }] } })).includes('{"dst":"198.51.100.0/24","gw":"10.244.1.254"}'))
})

test('cniVersion, name and runtimeConfig come from the plugin config, over anything in delegate', (t) => {
  const d = JSON.parse(render(conf({ cniVersion: '1.0.0', delegate: { cniVersion: '0.2.0', runtimeConfig: { a: 1 } }, runtimeConfig: { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }] } }))) as Record<string, unknown>
  t.is(d.cniVersion, '1.0.0')
  t.is(d.name, 'cbr0')
  t.deepEqual(d.runtimeConfig, { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }] })
})

test('a comma-separated FLANNEL_NETWORK becomes one route each, duplicates dropped', (t) => {
  const env = parseSubnetEnv('FLANNEL_NETWORK=10.244.0.0/16,10.245.0.0/16,10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n')
  const d = JSON.parse(render(conf(), env)) as { ipam: { routes: unknown } }
  t.deepEqual(d.ipam.routes, [{ dst: '10.244.0.0/16' }, { dst: '10.245.0.0/16' }])
})

test('building does not change the parsed configuration', (t) => {
  const c = loadFlannelConf(conf({ delegate: { hairpinMode: true }, ipam: { routes: [{ dst: '0.0.0.0/0' }] } }))
  const before = JSON.stringify(c)
  buildDelegate(c, stockEnv)
  buildDelegate(c, dualEnv)
  t.is(JSON.stringify(c), before)
})

test('the release-only delegate: the user delegate settings, host-local with its dataDir only', (t) => {
  t.is(renderDelegate(fallbackDelegate(loadFlannelConf(conf({ delegate: { hairpinMode: true, isDefaultGateway: true } })))),
    '{"cniVersion":"0.3.1","hairpinMode":true,"ipam":{"type":"host-local"},"isDefaultGateway":true,"isGateway":true,"name":"cbr0","type":"bridge"}')
  const withDir = fallbackDelegate(loadFlannelConf(conf({ ipam: { dataDir: '/d', routes: [{ dst: '0.0.0.0/0' }] } })))
  t.deepEqual(withDir.ipam, { type: 'host-local', dataDir: '/d' })
  const other = fallbackDelegate(loadFlannelConf(conf({ ipam: { type: 'whereabouts', range: '10.0.0.0/8' } })))
  t.deepEqual(other.ipam, { type: 'whereabouts', range: '10.0.0.0/8' })
})

const invalid: Array<{ name: string, extra: Record<string, unknown>, msg: RegExp }> = [
  { name: 'delegate.name', extra: { delegate: { name: 'x' } }, msg: /must not have 'name' field/ },
  { name: 'delegate.ipam', extra: { delegate: { ipam: { type: 'host-local' } } }, msg: /must not have 'ipam' field/ },
  { name: 'delegate.type not a string', extra: { delegate: { type: 5 } }, msg: /must have \(string\) 'type' field/ },
  { name: 'delegate not an object', extra: { delegate: 'bridge' }, msg: /"delegate" must be an object/ },
  { name: 'ipam not an object', extra: { ipam: [] }, msg: /"ipam" must be an object/ },
  { name: 'ipam.type not a string', extra: { ipam: { type: true } }, msg: /"ipam.type" must be a non-empty string/ },
  { name: 'subnetFile not a string', extra: { subnetFile: 1 }, msg: /"subnetFile" must be a string/ },
  { name: 'dataDir not a string', extra: { dataDir: {} }, msg: /"dataDir" must be a string/ },
  { name: 'runtimeConfig not an object', extra: { runtimeConfig: 'x' }, msg: /"runtimeConfig" must be an object/ }
]

for (const c of invalid) {
  test(`code 7: ${c.name}`, (t) => {
    const e = t.throws(() => loadFlannelConf(conf(c.extra)), { instanceOf: CniError }) as CniError
    t.is(e.number, 7)
    t.regex(e.message, c.msg)
  })
}

test('code 7: an ipam route that Go could not read', (t) => {
  for (const routes of [[{ dst: 'nope' }], [{ dst: '10.0.0.0/8', gw: 'x' }], 'r', [1]]) {
    const e = t.throws(() => buildDelegate(loadFlannelConf(conf({ ipam: { routes } })), stockEnv), { instanceOf: CniError }) as CniError
    t.is(e.number, 7)
    t.regex(e.message, /^failed to read IPAM routes/)
  }
})

test('DEL tolerates delegate.name and delegate.ipam (it overwrites both), not a broken type', (t) => {
  const c = loadFlannelConf(conf({ delegate: { name: 'x', ipam: { type: 'dhcp' } } }), { forDel: true })
  t.like(fallbackDelegate(c), { name: 'cbr0', ipam: { type: 'host-local' } })
  t.throws(() => loadFlannelConf(conf({ delegate: { type: 1 } }), { forDel: true }), { instanceOf: CniError })
})

test('defaults: /run/flannel/subnet.env and /var/lib/cni/flannel', (t) => {
  t.like(loadFlannelConf(conf()), { subnetFile: '/run/flannel/subnet.env', dataDir: '/var/lib/cni/flannel', delegateType: 'bridge' })
})
