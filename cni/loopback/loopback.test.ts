import test from 'ava'
import { dispatch } from '../skel/index.js'
import { KernelError } from '../../kernel/index.js'
import type { Address, Link, Netlink } from '../../kernel/index.js'
import { loopbackPlugin } from './loopback.js'

/** Sandboxes by path, each with only `lo`; just enough Netlink for the plugin. */
class Sandboxes {
  readonly lo = new Map<string, { up: boolean, addrs: Array<Omit<Address, 'index'>>, missing?: boolean }>()
  add (path: string, addrs: string[] = ['127.0.0.1/8', '::1/128']): void {
    this.lo.set(path, {
      up: false,
      addrs: addrs.map((a) => {
        const [address = '', len = '0'] = a.split('/')
        return { family: address.includes(':') ? 6 : 4, address, prefixLen: Number(len), scope: 254, flags: 0x80 }
      })
    })
  }

  netlink (path?: string): Netlink {
    const ns = path === undefined ? undefined : this.lo.get(path)
    if (path === '/run/netns/not-a-netns') throw new KernelError('KERNEL_ERR_NETNS', `${path} is not a network namespace`)
    if (ns === undefined) throw new KernelError('KERNEL_ERR_NOT_FOUND', `failed to open netns "${String(path)}": ENOENT`, 2)
    const link = (): Link | undefined => ns.missing === true
      ? undefined
      : { index: 1, name: 'lo', flags: { up: ns.up, loopback: true, promisc: false, running: ns.up, noarp: true } } as unknown as Link
    return {
      linkByName: (n: string) => (n === 'lo' ? link() : undefined),
      setLink: (_i: number, c: { up?: boolean }) => { if (c.up !== undefined) ns.up = c.up },
      addresses: () => ns.addrs.map((a) => ({ ...a, index: 1 })),
      close: () => {}
    } as unknown as Netlink
  }
}

function run (sb: Sandboxes, command: string, conf: Record<string, unknown>, netns: string | undefined = '/run/netns/pod', ifName = 'eth0'): { exitCode: number, json: Record<string, unknown> | undefined } {
  const env: Record<string, string> = { CNI_COMMAND: command, CNI_CONTAINERID: 'c1', CNI_IFNAME: ifName, CNI_PATH: '/opt/cni/bin' }
  if (netns !== undefined) env.CNI_NETNS = netns
  const out = dispatch(loopbackPlugin({ netns: sb }), { env, stdin: Buffer.from(JSON.stringify({ name: 'lo', type: 'loopback', ...conf })), about: 'loopback' })
  let json: Record<string, unknown> | undefined
  try { json = JSON.parse(out.stdout) as Record<string, unknown> } catch { json = undefined }
  return { exitCode: out.exitCode, json }
}

test('ADD brings lo up and reports lo with its first v4 and v6 address, whatever CNI_IFNAME says', (t) => {
  const sb = new Sandboxes()
  sb.add('/run/netns/pod')
  const r = run(sb, 'ADD', { cniVersion: '1.0.0' }, '/run/netns/pod', 'eth7')
  t.is(r.exitCode, 0)
  t.true(sb.lo.get('/run/netns/pod')?.up)
  t.deepEqual(r.json, {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'lo', mac: '00:00:00:00:00:00', sandbox: '/run/netns/pod' }],
    ips: [{ interface: 0, address: '127.0.0.1/8' }, { interface: 0, address: '::1/128' }],
    dns: {}
  })
})

test('ADD without IPv6 reports the v4 address only; with no address at all, no ips', (t) => {
  const sb = new Sandboxes()
  sb.add('/run/netns/pod', ['127.0.0.1/8'])
  t.deepEqual(run(sb, 'ADD', { cniVersion: '1.0.0' }).json?.ips, [{ interface: 0, address: '127.0.0.1/8' }])
  sb.add('/run/netns/pod', [])
  t.is(run(sb, 'ADD', { cniVersion: '1.0.0' }).json?.ips, undefined)
})

test('ADD passes a previous result through, in the configuration\'s version', (t) => {
  const sb = new Sandboxes()
  sb.add('/run/netns/pod')
  const prevResult = { cniVersion: '0.4.0', interfaces: [{ name: 'eth0', sandbox: '/run/netns/pod' }], ips: [{ version: '4', interface: 0, address: '10.0.0.2/24' }], dns: {} }
  const r = run(sb, 'ADD', { cniVersion: '0.4.0', prevResult })
  t.deepEqual(r.json, prevResult)
  t.true(sb.lo.get('/run/netns/pod')?.up, 'lo is still brought up')
})

test('ADD refuses a lo that holds a non-loopback address (code 8: not a fresh sandbox)', (t) => {
  const sb = new Sandboxes()
  sb.add('/run/netns/pod', ['127.0.0.1/8', '10.9.9.9/32'])
  const r = run(sb, 'ADD', { cniVersion: '1.0.0' })
  t.is(r.json?.code, 8)
  t.is(r.json?.msg, 'loopback interface found with non-loopback address "10.9.9.9"')
  sb.add('/run/netns/pod', ['::1/128', 'fd00::9/128'])
  t.regex(String(run(sb, 'ADD', { cniVersion: '1.0.0' }).json?.msg), /"fd00::9"/)
})

test('ADD into a missing netns is code 103', (t) => {
  const r = run(new Sandboxes(), 'ADD', { cniVersion: '1.0.0' }, '/run/netns/gone')
  t.is(r.json?.code, 103)
})

test('DEL takes lo down; DEL without a netns, with the netns gone or no longer a namespace succeeds', (t) => {
  const sb = new Sandboxes()
  sb.add('/run/netns/pod')
  run(sb, 'ADD', { cniVersion: '1.0.0' })
  t.is(run(sb, 'DEL', { cniVersion: '1.0.0' }).exitCode, 0)
  t.false(sb.lo.get('/run/netns/pod')?.up)
  t.is(run(sb, 'DEL', { cniVersion: '1.0.0' }).exitCode, 0, 'twice')
  t.is(run(sb, 'DEL', { cniVersion: '1.0.0' }, undefined).exitCode, 0)
  t.is(run(sb, 'DEL', { cniVersion: '1.0.0' }, '/run/netns/gone').exitCode, 0)
  t.is(run(sb, 'DEL', { cniVersion: '1.0.0' }, '/run/netns/not-a-netns').exitCode, 0)
})

test('CHECK passes when lo is up and fails with code 110 when it is down or missing', (t) => {
  const sb = new Sandboxes()
  sb.add('/run/netns/pod')
  let r = run(sb, 'CHECK', { cniVersion: '1.0.0' })
  t.is(r.json?.code, 110)
  t.is(r.json?.msg, 'loopback interface is down')
  run(sb, 'ADD', { cniVersion: '1.0.0' })
  t.is(run(sb, 'CHECK', { cniVersion: '1.0.0' }).exitCode, 0)
  const lo = sb.lo.get('/run/netns/pod')
  if (lo !== undefined) lo.missing = true
  r = run(sb, 'CHECK', { cniVersion: '1.0.0' })
  t.is(r.json?.code, 110)
  t.is(run(sb, 'CHECK', { cniVersion: '1.0.0' }, '/run/netns/gone').json?.code, 103)
})
