import test from 'ava'
import { BgpdError } from '../errors.js'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { loadConfig, parseConfig } from './config.js'

test('defaults: listen 0.0.0.0:179, both families, hold time 90, FIB off, the default API socket', (t) => {
  const c = parseConfig({ routerId: '10.0.0.1', asn: 65000, peers: [{ address: '10.0.0.2', asn: 65000 }], announce: ['10.1.0.0/16'] })
  t.deepEqual(c.listen, { address: '0.0.0.0', port: 179 })
  t.deepEqual(c.peers[0]?.families, ['ipv4', 'ipv6'])
  t.is(c.peers[0]?.holdTime, 90)
  t.false(c.fib.enabled)
  t.is(c.fib.protocol, 196)
  t.deepEqual(c.announce[0], { prefix: '10.1.0.0/16', nextHop: undefined, communities: [], localPref: undefined, med: undefined })
  t.is(c.clusterId, undefined)
})

const bad: Array<[string, unknown, RegExp]> = [
  ['missing routerId', { asn: 1 }, /^routerId:/],
  ['an unknown key', { routerId: '10.0.0.1', asn: 1, peeers: [] }, /config\.peeers: unknown key/],
  ['hold time 2', { routerId: '10.0.0.1', asn: 1, peers: [{ address: '10.0.0.2', asn: 1, holdTime: 2 }] }, /peers\[0\]\.holdTime/],
  ['a peer twice', { routerId: '10.0.0.1', asn: 1, peers: [{ address: '10.0.0.2', asn: 1 }, { address: '10.0.0.2', asn: 2 }] }, /listed twice/],
  ['host bits in a prefix', { routerId: '10.0.0.1', asn: 1, announce: ['10.1.0.1/16'] }, /host bits set \(did you mean 10\.1\.0\.0\/16\?\)/],
  ['a bad policy rule', { routerId: '10.0.0.1', asn: 1, peers: [{ address: '10.0.0.2', asn: 2, policy: { import: { rules: [{ match: { prefixes: ['x'] } }] } } }] }, /peers\[0\]\.policy\.import: rule 0/],
  ['asn out of range', { routerId: '10.0.0.1', asn: 2 ** 32 }, /^asn:/],
  ['an IPv6 router id', { routerId: '::1', asn: 1 }, /^routerId:/]
]
for (const [name, doc, re] of bad) {
  test(`refuses ${name} with BGPD_ERR_CONFIG naming the key`, (t) => {
    const e = t.throws(() => parseConfig(doc))
    t.true(e instanceof BgpdError)
    t.is((e as BgpdError).code, 'BGPD_ERR_CONFIG')
    t.regex(e?.message ?? '', re)
  })
}

test('loadConfig: YAML, JSON, YAML flow style, and a clear error for a broken file', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bgpd-config-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const write = (name: string, text: string): string => { const f = path.join(dir, name); fs.writeFileSync(f, text); return f }
  const yaml = loadConfig(write('a.yaml', 'routerId: 10.0.0.1\nasn: 65000\npeers:\n  - address: 10.0.0.2\n    asn: 65001\n'))
  t.is(yaml.peers[0]?.asn, 65001)
  const json = loadConfig(write('a.json', JSON.stringify({ routerId: '10.0.0.1', asn: 65000, announce: ['10.1.0.0/16'] })))
  t.is(json.announce[0]?.prefix, '10.1.0.0/16')
  const flow = loadConfig(write('b.yaml', '{ routerId: 10.0.0.1, asn: 65000 }'))
  t.is(flow.asn, 65000)
  const e = t.throws(() => loadConfig(write('c.yaml', 'routerId: [10.0.0.1\n')), { instanceOf: BgpdError })
  t.regex(e.message, /c\.yaml: /)
  t.is(e.code, 'BGPD_ERR_CONFIG')
})
