/**
 * Result conversion (types.PrintResult's job in Go) and parsing back to the
 * 1.x shape. Expected outputs are written by hand from the spec and Go's
 * pkg/types/{020,040,100} structs, in their field order: the skel prints
 * JSON.stringify of the converted object, so key order is output.
 */
import test from 'ava'
import { CniError } from './errors.js'
import type { CniErrorCode } from './errors.js'
import { compareVersions, convertResult, currentVersion, isSupported, parseResult, supportedVersions } from './version.js'
import type { Result } from './types.js'

/** A 1.1 result using every field: the shape plugins build internally. */
const full: Result = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'cni0', mac: '00:11:22:33:44:55' },
    { name: 'veth3243', mac: '55:44:33:22:11:11', sandbox: '' },
    { name: 'eth0', mac: '99:88:77:66:55:44', sandbox: '/var/run/netns/blue', mtu: 1450, socketPath: '/run/vhost.sock', pciID: '0000:04:00.5' }
  ],
  ips: [
    { interface: 2, address: '10.1.0.5/16', gateway: '10.1.0.1' },
    { interface: 2, address: 'fd00:1::5/64', gateway: 'fd00:1::1' },
    { interface: 2, address: '10.2.0.5/16' }
  ],
  routes: [
    { dst: '0.0.0.0/0' },
    { dst: '10.0.0.0/8', gw: '10.1.0.254', mtu: 1400, advmss: 1360, priority: 100, table: 100, scope: 0 },
    { dst: '::/0', gw: 'fd00:1::1' }
  ],
  dns: { nameservers: ['10.1.0.1'], domain: 'cluster.local', search: ['svc.cluster.local'], options: ['ndots:5'] }
}

const dns = { nameservers: ['10.1.0.1'], domain: 'cluster.local', search: ['svc.cluster.local'], options: ['ndots:5'] }

const v11 = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'cni0', mac: '00:11:22:33:44:55' },
    { name: 'veth3243', mac: '55:44:33:22:11:11' },
    { name: 'eth0', mac: '99:88:77:66:55:44', mtu: 1450, sandbox: '/var/run/netns/blue', socketPath: '/run/vhost.sock', pciID: '0000:04:00.5' }
  ],
  ips: [
    { interface: 2, address: '10.1.0.5/16', gateway: '10.1.0.1' },
    { interface: 2, address: 'fd00:1::5/64', gateway: 'fd00:1::1' },
    { interface: 2, address: '10.2.0.5/16' }
  ],
  routes: [
    { dst: '0.0.0.0/0' },
    { dst: '10.0.0.0/8', gw: '10.1.0.254', mtu: 1400, advmss: 1360, priority: 100, table: 100, scope: 0 },
    { dst: '::/0', gw: 'fd00:1::1' }
  ],
  dns
}

const v10 = {
  cniVersion: '1.0.0',
  interfaces: [
    { name: 'cni0', mac: '00:11:22:33:44:55' },
    { name: 'veth3243', mac: '55:44:33:22:11:11' },
    { name: 'eth0', mac: '99:88:77:66:55:44', sandbox: '/var/run/netns/blue' }
  ],
  ips: [
    { interface: 2, address: '10.1.0.5/16', gateway: '10.1.0.1' },
    { interface: 2, address: 'fd00:1::5/64', gateway: 'fd00:1::1' },
    { interface: 2, address: '10.2.0.5/16' }
  ],
  routes: [{ dst: '0.0.0.0/0' }, { dst: '10.0.0.0/8', gw: '10.1.0.254' }, { dst: '::/0', gw: 'fd00:1::1' }],
  dns
}

/** 0.3.0 through 0.4.0: ips carry "version" first. */
const v04 = (cniVersion: string): Record<string, unknown> => ({
  cniVersion,
  interfaces: v10.interfaces,
  ips: [
    { version: '4', interface: 2, address: '10.1.0.5/16', gateway: '10.1.0.1' },
    { version: '6', interface: 2, address: 'fd00:1::5/64', gateway: 'fd00:1::1' },
    { version: '4', interface: 2, address: '10.2.0.5/16' }
  ],
  routes: v10.routes,
  dns
})

/** 0.1.0 and 0.2.0: the first address of each family, with that family's routes. */
const v02 = (cniVersion: string): Record<string, unknown> => ({
  cniVersion,
  ip4: { ip: '10.1.0.5/16', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0' }, { dst: '10.0.0.0/8', gw: '10.1.0.254' }] },
  ip6: { ip: 'fd00:1::5/64', gateway: 'fd00:1::1', routes: [{ dst: '::/0', gw: 'fd00:1::1' }] },
  dns
})

const expected: Record<string, Record<string, unknown>> = {
  '1.1.0': v11,
  '1.0.0': v10,
  '0.4.0': v04('0.4.0'),
  '0.3.1': v04('0.3.1'),
  '0.3.0': v04('0.3.0'),
  '0.2.0': v02('0.2.0'),
  '0.1.0': v02('0.1.0')
}

test('every supported version has a hand-written expected shape, and the list is the spec\'s', (t) => {
  t.deepEqual([...supportedVersions], ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'])
  t.deepEqual(Object.keys(expected).sort(), [...supportedVersions].sort())
  t.is(currentVersion, '1.1.0')
})

for (const version of supportedVersions) {
  test(`convertResult to ${version} gives exactly the wire form, in Go's field order`, (t) => {
    const out = convertResult(full, version)
    t.is(JSON.stringify(out, null, 4), JSON.stringify(expected[version], null, 4))
  })
}

test('0.2.0: ip4/ip6 objects; a family without an address has no object; routes ride with their family', (t) => {
  t.deepEqual(convertResult({ cniVersion: '1.0.0', ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1' }], routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }] }, '0.2.0'), {
    cniVersion: '0.2.0', ip4: { ip: '10.1.0.5/16', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }] }, dns: {}
  })
  t.deepEqual(convertResult({ cniVersion: '1.0.0', ips: [{ address: 'fd00::5/64' }] }, '0.2.0'), { cniVersion: '0.2.0', ip6: { ip: 'fd00::5/64' }, dns: {} }, 'no gateway, no routes: keys left out')
})

test('an empty result keeps only cniVersion and an empty dns object, as Go prints it', (t) => {
  for (const v of supportedVersions) t.is(JSON.stringify(convertResult({ cniVersion: '1.1.0' }, v)), `{"cniVersion":"${v}","dns":{}}`, v)
})

test('parseResult reads each version\'s output back into the 1.x shape, keeping what that version can carry', (t) => {
  const strip11: Result = {
    cniVersion: '',
    interfaces: [
      { name: 'cni0', mac: '00:11:22:33:44:55' },
      { name: 'veth3243', mac: '55:44:33:22:11:11' },
      { name: 'eth0', mac: '99:88:77:66:55:44', sandbox: '/var/run/netns/blue' }
    ],
    ips: full.ips as NonNullable<Result['ips']>,
    routes: [{ dst: '0.0.0.0/0' }, { dst: '10.0.0.0/8', gw: '10.1.0.254' }, { dst: '::/0', gw: 'fd00:1::1' }],
    dns
  }
  for (const version of supportedVersions) {
    const back = parseResult(JSON.parse(JSON.stringify(convertResult(full, version))), '1.1.0')
    let want: Result
    if (version === '1.1.0') {
      want = { ...full, interfaces: v11.interfaces }
    } else if (compareVersions(version, '0.3.0') >= 0) {
      want = { ...strip11, cniVersion: version }
    } else {
      want = {
        cniVersion: version,
        ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1' }, { address: 'fd00:1::5/64', gateway: 'fd00:1::1' }],
        routes: [{ dst: '0.0.0.0/0' }, { dst: '10.0.0.0/8', gw: '10.1.0.254' }, { dst: '::/0', gw: 'fd00:1::1' }],
        dns
      }
    }
    t.deepEqual(back, want, version)
    // And converting back out gives the same bytes again.
    t.is(JSON.stringify(convertResult(back, version)), JSON.stringify(expected[version]), `${version} round trip`)
  }
})

test('parseResult reads what the reference plugins print', (t) => {
  // host-local v1.1.1 answering a 0.2.0 config, and a 0.3.1 bridge result.
  t.deepEqual(parseResult({ cniVersion: '0.2.0', ip4: { ip: '10.22.0.2/16', gateway: '10.22.0.1', routes: [{ dst: '0.0.0.0/0' }] }, dns: {} }, '0.2.0'), {
    cniVersion: '0.2.0', ips: [{ address: '10.22.0.2/16', gateway: '10.22.0.1' }], routes: [{ dst: '0.0.0.0/0' }], dns: {}
  })
  t.deepEqual(parseResult({
    cniVersion: '0.3.1',
    interfaces: [{ name: 'cni0', mac: '2a:5c:1b:4d:63:0e' }, { name: 'eth0', mac: '8e:d6:51:2c:b8:f0', sandbox: '/var/run/netns/x' }],
    ips: [{ version: '4', interface: 1, address: '10.22.0.2/16', gateway: '10.22.0.1' }],
    routes: [{ dst: '0.0.0.0/0', gw: '' }],
    dns: {}
  }, '0.3.1'), {
    cniVersion: '0.3.1',
    interfaces: [{ name: 'cni0', mac: '2a:5c:1b:4d:63:0e' }, { name: 'eth0', mac: '8e:d6:51:2c:b8:f0', sandbox: '/var/run/netns/x' }],
    ips: [{ address: '10.22.0.2/16', interface: 1, gateway: '10.22.0.1' }],
    routes: [{ dst: '0.0.0.0/0' }],
    dns: {}
  }, 'an empty gw is no gw')
  t.is(parseResult({ ips: [{ address: '10.0.0.2/24' }] }, '1.0.0').cniVersion, '1.0.0', 'a result without cniVersion takes the config\'s')
})

test('parseResult refuses malformed results with a decode error (code 6) and unknown versions with code 1', (t) => {
  const rows: Array<{ name: string, raw: unknown, code: CniErrorCode, message: RegExp }> = [
    { name: 'not an object', raw: [], code: 'CNI_ERR_DECODE', message: /not a JSON object/ },
    { name: 'unknown version', raw: { cniVersion: '0.5.0' }, code: 'CNI_ERR_INCOMPATIBLE_VERSION', message: /incompatible CNI versions/ },
    { name: 'ips not a list', raw: { cniVersion: '1.0.0', ips: {} }, code: 'CNI_ERR_DECODE', message: /ips is not a list/ },
    { name: 'a null ip', raw: { cniVersion: '1.0.0', ips: [null] }, code: 'CNI_ERR_DECODE', message: /ips\[\] is not an object/ },
    { name: 'a null interface', raw: { cniVersion: '1.0.0', interfaces: [null] }, code: 'CNI_ERR_DECODE', message: /interfaces\[\] is not an object/ },
    { name: 'an ip without address', raw: { cniVersion: '1.0.0', ips: [{ gateway: '10.0.0.1' }] }, code: 'CNI_ERR_DECODE', message: /ips\[\]\.address missing/ },
    { name: 'an interface name that is a number', raw: { cniVersion: '1.0.0', interfaces: [{ name: 5 }] }, code: 'CNI_ERR_DECODE', message: /not a string/ },
    { name: 'a route that is not an object', raw: { cniVersion: '1.0.0', routes: ['x'] }, code: 'CNI_ERR_DECODE', message: /route: not an object/ },
    { name: 'ip4 without ip', raw: { cniVersion: '0.2.0', ip4: { gateway: '10.0.0.1' } }, code: 'CNI_ERR_DECODE', message: /ip4\.ip missing/ }
  ]
  for (const row of rows) {
    const e = t.throws(() => parseResult(row.raw, '1.0.0'))
    t.true(e instanceof CniError, row.name)
    t.is((e as CniError).code, row.code, row.name)
    t.regex((e as CniError).message, row.message, row.name)
  }
})

test('version helpers: numeric comparison, exact membership', (t) => {
  t.true(compareVersions('0.10.0', '0.4.0') > 0, 'numeric, not lexicographic')
  t.is(compareVersions('1.0', '1.0.0'), 0)
  t.true(compareVersions('0.3.1', '0.4.0') < 0)
  t.true(isSupported('0.3.1'))
  t.false(isSupported('0.3.2'))
  t.false(isSupported('1.0'))
})
