/**
 * subnet.env codec: what the agent writes reads back the same, and every way
 * the file can be incomplete or wrong is an error naming the key.
 */
import test from 'ava'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { SubnetEnvError, formatSubnetEnv, parseSubnetEnv, readSubnetEnv, writeSubnetEnv } from './subnet-env.js'
import type { SubnetEnv } from './subnet-env.js'

const stock = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n'

function tmp (t: { teardown: (fn: () => void) => void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-senv-'))
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }))
  return d
}

test('parses the file flanneld writes', (t) => {
  t.deepEqual(parseSubnetEnv(stock), { network: '10.244.0.0/16', subnet: '10.244.1.1/24', mtu: 1450, ipMasq: true })
})

test('format and parse round-trip, dual-stack and IPv6-only', (t) => {
  const cases: SubnetEnv[] = [
    { network: '10.244.0.0/16', subnet: '10.244.1.1/24', ipv6Network: 'fd00:10:244::/56', ipv6Subnet: 'fd00:10:244:1::1/64', mtu: 1450, ipMasq: false },
    { ipv6Network: 'fd00:10:244::/56', ipv6Subnet: 'fd00:10:244:1::1/64', mtu: 1430, ipMasq: true }
  ]
  for (const e of cases) t.deepEqual(parseSubnetEnv(formatSubnetEnv(e)), e)
  t.is(formatSubnetEnv(cases[0] as SubnetEnv), 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n')
})

test('comments, blank lines, CRLF and a comma-separated network list are read', (t) => {
  const e = parseSubnetEnv('# written by flanneld\r\n\r\nFLANNEL_NETWORK=10.244.0.0/16,10.245.0.0/16\r\nFLANNEL_SUBNET=10.244.1.1/24\r\nFLANNEL_MTU=1450\r\nFLANNEL_IPMASQ=false\r\n')
  t.is(e.network, '10.244.0.0/16,10.245.0.0/16')
  t.false(e.ipMasq)
})

const bad: Array<{ name: string, text: string, msg: RegExp }> = [
  { name: 'empty file', text: '', msg: /missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ$/ },
  { name: 'subnet without network', text: 'FLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n', msg: /missing FLANNEL_NETWORK$/ },
  { name: 'v6 network without v6 subnet', text: stock + 'FLANNEL_IPV6_NETWORK=fd00::/56\n', msg: /missing FLANNEL_IPV6_SUBNET$/ },
  { name: 'no MTU', text: 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_IPMASQ=true\n', msg: /missing FLANNEL_MTU$/ },
  { name: 'empty value counts as missing', text: stock.replace('FLANNEL_SUBNET=10.244.1.1/24', 'FLANNEL_SUBNET='), msg: /missing FLANNEL_SUBNET$/ },
  { name: 'MTU in hex', text: stock.replace('1450', '0x5aa'), msg: /invalid FLANNEL_MTU "0x5aa"/ },
  { name: 'MTU with a fraction', text: stock.replace('1450', '1450.0'), msg: /invalid FLANNEL_MTU/ },
  { name: 'MTU below IPv4 minimum', text: stock.replace('1450', '60'), msg: /invalid FLANNEL_MTU "60"/ },
  { name: 'IPMASQ not a boolean', text: stock.replace('IPMASQ=true', 'IPMASQ=yes'), msg: /invalid FLANNEL_IPMASQ "yes"/ },
  { name: 'subnet not a CIDR', text: stock.replace('10.244.1.1/24', '10.244.1.1'), msg: /invalid FLANNEL_SUBNET "10.244.1.1"/ },
  { name: 'subnet of the wrong family', text: stock.replace('10.244.1.1/24', 'fd00::1/64'), msg: /"fd00::1\/64" is not an IPv4 CIDR/ },
  { name: 'garbage in a network list', text: stock.replace('10.244.0.0/16', '10.244.0.0/16,nope'), msg: /"nope" is not an IPv4 CIDR/ },
  { name: 'v6 subnet that is v4', text: stock + 'FLANNEL_IPV6_NETWORK=fd00::/56\nFLANNEL_IPV6_SUBNET=10.1.0.1/24\n', msg: /invalid FLANNEL_IPV6_SUBNET/ },
  { name: 'line without =', text: stock + 'garbage\n', msg: /malformed line "garbage"/ }
]

for (const c of bad) {
  test(`refused: ${c.name}`, (t) => {
    const e = t.throws(() => parseSubnetEnv(c.text), { instanceOf: SubnetEnvError })
    t.regex(e?.message ?? '', c.msg)
  })
}

test('readSubnetEnv names the file in content errors and keeps ENOENT as node reports it', (t) => {
  const d = tmp(t)
  const f = path.join(d, 'subnet.env')
  fs.writeFileSync(f, 'FLANNEL_MTU=1450\n')
  const e = t.throws(() => readSubnetEnv(f), { instanceOf: SubnetEnvError })
  t.true(e?.message.startsWith(`${f}: subnet.env is missing`))
  const gone = t.throws(() => readSubnetEnv(path.join(d, 'nope')))
  t.is((gone as NodeJS.ErrnoException).code, 'ENOENT')
})

test('writeSubnetEnv writes 0644 atomically, creating the directory, and leaves no temp file', (t) => {
  const d = tmp(t)
  const f = path.join(d, 'run', 'flannel', 'subnet.env')
  const e: SubnetEnv = { network: '10.244.0.0/16', subnet: '10.244.1.1/24', mtu: 1450, ipMasq: true }
  writeSubnetEnv(f, e)
  writeSubnetEnv(f, { ...e, mtu: 1400 })
  t.is(fs.statSync(f).mode & 0o777, 0o644)
  t.deepEqual(readSubnetEnv(f), { ...e, mtu: 1400 })
  t.deepEqual(fs.readdirSync(path.dirname(f)), ['subnet.env'])
})
