/**
 * net-conf.json as flanneld reads it (pkg/subnet/config.go): a table of
 * documents that parse, with the NetConf they give, and a table of documents
 * that are refused, with the key the message must name.
 */
import test from 'ava'
import { parseNetConf } from './netconf.js'
import { VxlanError } from './errors.js'
import type { NetConf } from './types.js'

const vxlan = { type: 'vxlan', vni: 1, port: 0, mtu: undefined, gbp: false, learning: false, directRouting: false } as const

function base (over: Partial<NetConf> = {}): NetConf {
  return {
    network: undefined,
    ipv6Network: undefined,
    enableIPv4: true,
    enableIPv6: false,
    enableNFTables: false,
    subnetLen: 0,
    subnetMin: undefined,
    subnetMax: undefined,
    ipv6SubnetLen: 0,
    ipv6SubnetMin: undefined,
    ipv6SubnetMax: undefined,
    backend: { ...vxlan },
    ...over
  }
}

interface Valid { name: string, mode: 'etcd' | 'kube', doc: unknown, want: NetConf }

const valid: Valid[] = [
  {
    name: 'the kube-flannel manifest: a /16 gets /24 subnets from the second to the last',
    mode: 'etcd',
    doc: { Network: '10.244.0.0/16', EnableNFTables: false, Backend: { Type: 'vxlan' } },
    want: base({ network: '10.244.0.0/16', subnetLen: 24, subnetMin: '10.244.1.0', subnetMax: '10.244.255.0' })
  },
  {
    name: 'a /22 still gets /24 subnets',
    mode: 'etcd',
    doc: { Network: '10.5.0.0/22', Backend: { Type: 'vxlan' } },
    want: base({ network: '10.5.0.0/22', subnetLen: 24, subnetMin: '10.5.1.0', subnetMax: '10.5.3.0' })
  },
  {
    name: 'a /23 is split in four (prefix + 2)',
    mode: 'etcd',
    doc: { Network: '10.5.0.0/23', Backend: { Type: 'vxlan' } },
    want: base({ network: '10.5.0.0/23', subnetLen: 25, subnetMin: '10.5.0.128', subnetMax: '10.5.1.128' })
  },
  {
    name: 'a /28, the smallest network without SubnetLen, gives /30s',
    mode: 'etcd',
    doc: { Network: '10.5.0.0/28', Backend: { Type: 'vxlan' } },
    want: base({ network: '10.5.0.0/28', subnetLen: 30, subnetMin: '10.5.0.4', subnetMax: '10.5.0.12' })
  },
  {
    name: 'an explicit SubnetLen, SubnetMin and SubnetMax are kept',
    mode: 'etcd',
    doc: { Network: '10.0.0.0/8', SubnetLen: 20, SubnetMin: '10.10.0.0', SubnetMax: '10.99.240.0', Backend: { Type: 'vxlan' } },
    want: base({ network: '10.0.0.0/8', subnetLen: 20, subnetMin: '10.10.0.0', subnetMax: '10.99.240.0' })
  },
  {
    name: 'SubnetLen 0 means "default", as in flannel',
    mode: 'etcd',
    doc: { Network: '10.0.0.0/16', SubnetLen: 0, Backend: { Type: 'vxlan' } },
    want: base({ network: '10.0.0.0/16', subnetLen: 24, subnetMin: '10.0.1.0', subnetMax: '10.0.255.0' })
  },
  {
    name: 'host bits in Network are cleared, as Go\'s net.ParseCIDR does',
    mode: 'etcd',
    doc: { Network: '10.244.7.9/16', Backend: { Type: 'vxlan' } },
    want: base({ network: '10.244.0.0/16', subnetLen: 24, subnetMin: '10.244.1.0', subnetMax: '10.244.255.0' })
  },
  {
    name: 'every VXLAN backend option',
    mode: 'etcd',
    doc: { Network: '10.244.0.0/16', Backend: { Type: 'vxlan', VNI: 4096, Port: 4789, MTU: 9001, GBP: true, Learning: true, DirectRouting: true } },
    want: base({
      network: '10.244.0.0/16', subnetLen: 24, subnetMin: '10.244.1.0', subnetMax: '10.244.255.0',
      backend: { type: 'vxlan', vni: 4096, port: 4789, mtu: 9001, gbp: true, learning: true, directRouting: true }
    })
  },
  {
    name: 'Backend.MTU 0 means "the external interface\'s MTU"',
    mode: 'etcd',
    doc: { Network: '10.244.0.0/16', Backend: { Type: 'vxlan', MTU: 0 } },
    want: base({ network: '10.244.0.0/16', subnetLen: 24, subnetMin: '10.244.1.0', subnetMax: '10.244.255.0' })
  },
  {
    name: 'keys match case-insensitively like Go\'s encoding/json, and "VXLAN" is vxlan',
    mode: 'etcd',
    doc: { network: '10.244.0.0/16', subnetlen: 26, BACKEND: { type: 'VXLAN', vni: 7 } },
    want: base({ network: '10.244.0.0/16', subnetLen: 26, subnetMin: '10.244.0.64', subnetMax: '10.244.255.192', backend: { ...vxlan, vni: 7 } })
  },
  {
    name: 'null is the same as absent',
    mode: 'etcd',
    doc: { Network: '10.244.0.0/16', SubnetLen: null, IPv6Network: null, Backend: { Type: 'vxlan', VNI: null } },
    want: base({ network: '10.244.0.0/16', subnetLen: 24, subnetMin: '10.244.1.0', subnetMax: '10.244.255.0' })
  },
  {
    name: 'dual stack: a /56 gets /64s',
    mode: 'etcd',
    doc: { Network: '10.244.0.0/16', EnableIPv6: true, IPv6Network: 'fd00:10:244::/56', Backend: { Type: 'vxlan' } },
    want: base({
      network: '10.244.0.0/16', subnetLen: 24, subnetMin: '10.244.1.0', subnetMax: '10.244.255.0',
      enableIPv6: true, ipv6Network: 'fd00:10:244::/56', ipv6SubnetLen: 64, ipv6SubnetMin: 'fd00:10:244:1::', ipv6SubnetMax: 'fd00:10:244:ff::'
    })
  },
  {
    name: 'IPv6 only, a /120 split in four, explicit bounds',
    mode: 'etcd',
    doc: { EnableIPv4: false, EnableIPv6: true, IPv6Network: 'FC00::/120', IPv6SubnetMin: 'fc00::80', IPv6SubnetMax: 'fc00::C0', Backend: { Type: 'vxlan' } },
    want: base({
      enableIPv4: false, enableIPv6: true, ipv6Network: 'fc00::/120', ipv6SubnetLen: 122, ipv6SubnetMin: 'fc00::80', ipv6SubnetMax: 'fc00::c0'
    })
  },
  {
    name: 'Network is ignored when EnableIPv4 is false',
    mode: 'etcd',
    doc: { EnableIPv4: false, Network: '10.0.0.0/30', EnableIPv6: true, IPv6Network: 'fc00::/48', IPv6SubnetLen: 80, Backend: { Type: 'vxlan' } },
    want: base({ enableIPv4: false, enableIPv6: true, ipv6Network: 'fc00::/48', ipv6SubnetLen: 80, ipv6SubnetMin: 'fc00::1:0:0:0', ipv6SubnetMax: 'fc00:0:0:ffff:ffff::' })
  },
  {
    name: 'kube mode: nothing is defaulted or checked beyond syntax (podCIDRs come from the API server)',
    mode: 'kube',
    doc: { Network: '10.244.0.0/30', EnableNFTables: true, Backend: { Type: 'vxlan' } },
    want: base({ network: '10.244.0.0/30', enableNFTables: true })
  },
  {
    name: 'kube mode keeps explicit lengths and bounds as given',
    mode: 'kube',
    doc: { Network: '10.244.0.0/16', SubnetLen: 31, SubnetMin: '10.9.0.0', EnableIPv6: true, IPv6Network: 'fd00::/56', IPv6SubnetLen: 64, Backend: { Type: 'vxlan' } },
    want: base({ network: '10.244.0.0/16', subnetLen: 31, subnetMin: '10.9.0.0', enableIPv6: true, ipv6Network: 'fd00::/56', ipv6SubnetLen: 64 })
  }
]

for (const row of valid) {
  test(`parses (${row.mode}): ${row.name}`, (t) => {
    t.deepEqual(parseNetConf(JSON.stringify(row.doc), { mode: row.mode }), row.want)
  })
}

interface Invalid { name: string, mode?: 'etcd' | 'kube', doc: unknown, /** Text the message must contain (the key, at least). */ says: string[] }

const net = '10.244.0.0/16'
const be = { Type: 'vxlan' }
const invalid: Invalid[] = [
  { name: 'not JSON', doc: '{"Network": ', says: ['not valid JSON'] },
  { name: 'an array', doc: [], says: ['JSON object', 'an array'] },
  { name: 'Network missing', doc: { Backend: be }, says: ['Network is missing'] },
  { name: 'Network missing in kube mode too', mode: 'kube', doc: { Backend: be }, says: ['Network is missing'] },
  { name: 'Network not a CIDR', doc: { Network: '10.244.0.0', Backend: be }, says: ['Network', '"10.244.0.0"'] },
  { name: 'Network of the wrong family', doc: { Network: 'fd00::/48', Backend: be }, says: ['Network', 'not an IPv4 CIDR'] },
  { name: 'Network a number', doc: { Network: 10, Backend: be }, says: ['Network must be an IPv4 CIDR string'] },
  { name: 'Network too small for the default length', doc: { Network: '10.0.0.0/29', Backend: be }, says: ['Network 10.0.0.0/29 is too small', '/28'] },
  { name: 'SubnetLen above 30', doc: { Network: net, SubnetLen: 31, Backend: be }, says: ['SubnetLen 31', 'at most 30'] },
  { name: 'SubnetLen shorter than prefix + 2', doc: { Network: net, SubnetLen: 17, Backend: be }, says: ['SubnetLen 17', 'at least 18'] },
  { name: 'SubnetLen a string', doc: { Network: net, SubnetLen: '24', Backend: be }, says: ['SubnetLen must be an integer', '"24"'] },
  { name: 'SubnetLen negative', doc: { Network: net, SubnetLen: -1, Backend: be }, says: ['SubnetLen must be an integer'] },
  { name: 'SubnetLen fractional', doc: { Network: net, SubnetLen: 24.5, Backend: be }, says: ['SubnetLen must be an integer'] },
  { name: 'SubnetMin outside Network', doc: { Network: net, SubnetMin: '10.245.0.0', Backend: be }, says: ['SubnetMin 10.245.0.0 is not inside Network'] },
  { name: 'SubnetMax outside Network', doc: { Network: net, SubnetMax: '10.0.0.0', Backend: be }, says: ['SubnetMax 10.0.0.0 is not inside Network'] },
  { name: 'SubnetMin off a SubnetLen boundary', doc: { Network: net, SubnetMin: '10.244.1.128', Backend: be }, says: ['SubnetMin 10.244.1.128 is not on a /24 boundary'] },
  { name: 'SubnetMax off a SubnetLen boundary', doc: { Network: net, SubnetLen: 20, SubnetMax: '10.244.8.0', Backend: be }, says: ['SubnetMax 10.244.8.0 is not on a /20 boundary'] },
  { name: 'SubnetMin above SubnetMax', doc: { Network: net, SubnetMin: '10.244.9.0', SubnetMax: '10.244.8.0', Backend: be }, says: ['SubnetMin 10.244.9.0 lies above SubnetMax 10.244.8.0'] },
  { name: 'SubnetMin not an address', doc: { Network: net, SubnetMin: '10.244.1.0/24', Backend: be }, says: ['SubnetMin must be an IPv4 address'] },
  { name: 'SubnetMin malformed even in kube mode', mode: 'kube', doc: { Network: net, SubnetMin: 'x', Backend: be }, says: ['SubnetMin'] },
  { name: 'EnableIPv4 a string', doc: { Network: net, EnableIPv4: 'true', Backend: be }, says: ['EnableIPv4 must be true or false'] },
  { name: 'both families off', doc: { EnableIPv4: false, Backend: be }, says: ['EnableIPv4 and EnableIPv6 are both false'] },
  { name: 'IPv6Network missing with EnableIPv6', doc: { Network: net, EnableIPv6: true, Backend: be }, says: ['IPv6Network is missing'] },
  { name: 'IPv6Network too small', doc: { Network: net, EnableIPv6: true, IPv6Network: 'fd00::/125', Backend: be }, says: ['IPv6Network fd00::/125 is too small', '/124'] },
  { name: 'IPv6SubnetLen above 126', doc: { Network: net, EnableIPv6: true, IPv6Network: 'fd00::/56', IPv6SubnetLen: 127, Backend: be }, says: ['IPv6SubnetLen 127', 'at most 126'] },
  { name: 'IPv6SubnetLen shorter than prefix + 2', doc: { Network: net, EnableIPv6: true, IPv6Network: 'fd00::/56', IPv6SubnetLen: 57, Backend: be }, says: ['IPv6SubnetLen 57', 'at least 58'] },
  { name: 'IPv6SubnetMin outside IPv6Network', doc: { Network: net, EnableIPv6: true, IPv6Network: 'fd00::/56', IPv6SubnetMin: 'fd01::', Backend: be }, says: ['IPv6SubnetMin fd01:: is not inside IPv6Network'] },
  { name: 'IPv6SubnetMax off boundary', doc: { Network: net, EnableIPv6: true, IPv6Network: 'fd00::/56', IPv6SubnetMax: 'fd00:0:0:1::1', Backend: be }, says: ['IPv6SubnetMax fd00:0:0:1::1 is not on a /64 boundary'] },
  { name: 'IPv6SubnetMin of the wrong family', doc: { Network: net, EnableIPv6: true, IPv6Network: 'fd00::/56', IPv6SubnetMin: '10.0.0.0', Backend: be }, says: ['IPv6SubnetMin must be an IPv6 address'] },
  { name: 'Backend missing (flannel would pick udp)', doc: { Network: net }, says: ['Backend is missing', 'udp'] },
  { name: 'Backend not an object', doc: { Network: net, Backend: 'vxlan' }, says: ['Backend must be an object'] },
  { name: 'Backend.Type missing', doc: { Network: net, Backend: { VNI: 1 } }, says: ['Backend.Type is missing'] },
  { name: 'Backend.Type host-gw', doc: { Network: net, Backend: { Type: 'host-gw' } }, says: ['Backend.Type "host-gw" is not supported', 'vxlan'] },
  { name: 'Backend.Type wireguard in kube mode', mode: 'kube', doc: { Network: net, Backend: { Type: 'wireguard' } }, says: ['Backend.Type "wireguard" is not supported'] },
  { name: 'Backend.VNI above 24 bits', doc: { Network: net, Backend: { Type: 'vxlan', VNI: 16777216 } }, says: ['Backend.VNI must be an integer from 0 to 16777215'] },
  { name: 'Backend.Port above 65535', doc: { Network: net, Backend: { Type: 'vxlan', Port: 70000 } }, says: ['Backend.Port'] },
  { name: 'Backend.MTU too small for the overhead', doc: { Network: net, Backend: { Type: 'vxlan', MTU: 100 } }, says: ['Backend.MTU 100 is too small'] },
  { name: 'Backend.GBP a number', doc: { Network: net, Backend: { Type: 'vxlan', GBP: 1 } }, says: ['Backend.GBP must be true or false'] }
]

for (const row of invalid) {
  test(`refuses (${row.mode ?? 'etcd'}): ${row.name}`, (t) => {
    const text = typeof row.doc === 'string' ? row.doc : JSON.stringify(row.doc)
    const err = t.throws(() => parseNetConf(text, { mode: row.mode ?? 'etcd' }))
    t.true(err instanceof VxlanError, String(err))
    t.is((err as VxlanError).code, 'VXLAN_ERR_NETCONF')
    for (const s of row.says) t.true(err.message.includes(s), `"${err.message}" should say "${s}"`)
  })
}

test('unknown keys are ignored, as by flanneld, and reported through onWarning', (t) => {
  const warnings: string[] = []
  const conf = parseNetConf(JSON.stringify({ Network: net, SubnetLength: 26, Backend: { Type: 'vxlan', MacPrefix: '0E-2A', Colour: 'red' } }), {
    mode: 'etcd', onWarning: (m) => warnings.push(m)
  })
  t.is(conf.subnetLen, 24)
  t.deepEqual(warnings, [
    'net-conf: unknown key SubnetLength is ignored',
    'net-conf: unknown key Backend.Colour is ignored',
    'net-conf: Backend.MacPrefix is a Windows-only option of flannel and is ignored'
  ])
})

test('a malformed key of a disabled family is still reported', (t) => {
  const err = t.throws(() => parseNetConf(JSON.stringify({ Network: net, IPv6Network: 'nonsense', Backend: be }), { mode: 'etcd' }))
  t.regex(err.message, /IPv6Network "nonsense"/)
})
