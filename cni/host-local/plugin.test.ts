/**
 * The plugin through the skel's `dispatch`, in-process, against a temp data
 * dir: the whole command path without root. The same behaviour is checked
 * against the real binaries (and the Go reference) in e2e/cni/host-local.test.ts.
 */
import test from 'ava'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { dispatch } from '../skel/index.js'
import { hostLocal } from './index.js'

function tmp (t: { teardown: (fn: () => void) => void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-hl-plugin-'))
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }))
  return d
}

interface Call { command: string, conf: unknown, id?: string, ifName?: string, cniArgs?: string, netns?: string }

function run (c: Call): { code: number | undefined, exitCode: number, json: Record<string, unknown> | undefined } {
  const env: Record<string, string> = {
    CNI_COMMAND: c.command,
    CNI_CONTAINERID: c.id ?? 'c1',
    CNI_IFNAME: c.ifName ?? 'eth0',
    CNI_PATH: '/nonexistent',
    CNI_NETNS: c.netns ?? '/var/run/netns/pod'
  }
  if (c.cniArgs !== undefined) env.CNI_ARGS = c.cniArgs
  const out = dispatch(hostLocal, { env, stdin: Buffer.from(typeof c.conf === 'string' ? c.conf : JSON.stringify(c.conf)), about: 'host-local' })
  const json = out.stdout === '' ? undefined : JSON.parse(out.stdout) as Record<string, unknown>
  return { code: json?.code as number | undefined, exitCode: out.exitCode, json }
}

const conf = (dataDir: string, ipam: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  cniVersion: '1.1.0', name: 'net1', type: 'host-local', ipam: { type: 'host-local', dataDir, subnet: '10.1.0.0/29', ...ipam }, ...extra
})

/** Every file under a dir with its body and mode, as text. */
function snapshot (dir: string): string {
  if (!fs.existsSync(dir)) return '<none>'
  const lines: string[] = []
  const walk = (d: string): void => {
    for (const n of fs.readdirSync(d).sort()) {
      const p = path.join(d, n)
      const st = fs.statSync(p)
      if (st.isDirectory()) { lines.push(`${path.relative(dir, p)}/`); walk(p) } else lines.push(`${path.relative(dir, p)} ${(st.mode & 0o777).toString(8)} ${JSON.stringify(fs.readFileSync(p, 'latin1'))} ${st.mtimeMs}`)
    }
  }
  walk(dir)
  return lines.join('\n')
}

test('ADD returns the 1.x result: address with prefix, gateway, routes and dns from resolvConf', (t) => {
  const d = tmp(t)
  fs.writeFileSync(path.join(d, 'resolv.conf'), 'nameserver 10.0.0.10\nsearch svc.local\n')
  const r = run({ command: 'ADD', conf: conf(d, { routes: [{ dst: '0.0.0.0/0' }], resolvConf: path.join(d, 'resolv.conf') }) })
  t.is(r.exitCode, 0)
  t.deepEqual(r.json, {
    cniVersion: '1.1.0',
    ips: [{ address: '10.1.0.2/29', gateway: '10.1.0.1' }],
    routes: [{ dst: '0.0.0.0/0' }],
    dns: { nameservers: ['10.0.0.10'], search: ['svc.local'] }
  })
  t.is(fs.readFileSync(path.join(d, 'net1', '10.1.0.2'), 'latin1'), 'c1\r\neth0')
})

test('ADD for 0.2.0 converts to ip4/ip6 with per-family routes', (t) => {
  const d = tmp(t)
  const r = run({
    command: 'ADD',
    conf: { ...conf(d, { subnet: undefined, ranges: [[{ subnet: '10.1.0.0/24' }], [{ subnet: 'fd00::/64' }]], routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }] }), cniVersion: '0.2.0' }
  })
  t.deepEqual(r.json, {
    cniVersion: '0.2.0',
    ip4: { ip: '10.1.0.2/24', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0' }] },
    ip6: { ip: 'fd00::2/64', gateway: 'fd00::1', routes: [{ dst: '::/0' }] },
    dns: {}
  })
})

test('ADD honours CNI_ARGS IP= (with bridge\'s MAC alongside) and K8S args under IgnoreUnknown', (t) => {
  const d = tmp(t)
  t.is((run({ command: 'ADD', conf: conf(d), cniArgs: 'MAC=02:00:00:00:00:01;IP=10.1.0.5' }).json?.ips as Array<{ address: string }>)[0]?.address, '10.1.0.5/29')
  t.is((run({ command: 'ADD', id: 'c2', conf: conf(d), cniArgs: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;FOO=bar' }).json?.ips as Array<{ address: string }>)[0]?.address, '10.1.0.6/29')
})

test('ADD error codes: 104 exhausted, 105 unavailable, 106 duplicate, 4 bad CNI_ARGS', (t) => {
  const d = tmp(t)
  for (const id of ['a', 'b', 'c', 'd', 'e']) t.is(run({ command: 'ADD', id, conf: conf(d) }).exitCode, 0)
  const full = run({ command: 'ADD', id: 'f', conf: conf(d) })
  t.is(full.code, 104)
  t.is(full.json?.msg, 'failed to allocate for range 0: no IP addresses available in range set: 10.1.0.1-10.1.0.6')
  t.is(run({ command: 'ADD', id: 'a', conf: conf(d) }).code, 106)
  t.is(run({ command: 'DEL', id: 'c', conf: conf(d) }).exitCode, 0)
  t.is(run({ command: 'ADD', id: 'g', conf: conf(d), cniArgs: 'IP=10.1.0.2' }).code, 105)
  t.is(run({ command: 'ADD', id: 'g', conf: conf(d), cniArgs: 'IP=10.1.0.1' }).code, 105)
  t.is(run({ command: 'ADD', id: 'g', conf: conf(d), cniArgs: 'IP=10.1.0.x' }).code, 4)
  t.is(run({ command: 'ADD', id: 'g', conf: conf(d) }).json?.ips !== undefined, true)
})

test('DEL releases, is idempotent, needs no netns and no data dir', (t) => {
  const d = tmp(t)
  t.is(run({ command: 'DEL', conf: conf(d), netns: '' }).exitCode, 0)
  t.false(fs.existsSync(path.join(d, 'net1')), 'DEL does not create the store')
  run({ command: 'ADD', conf: conf(d) })
  t.true(fs.existsSync(path.join(d, 'net1', '10.1.0.2')))
  t.is(run({ command: 'DEL', conf: conf(d), netns: '' }).exitCode, 0)
  t.false(fs.existsSync(path.join(d, 'net1', '10.1.0.2')))
  t.is(run({ command: 'DEL', conf: conf(d), netns: '' }).exitCode, 0)
})

test('DEL ignores a CNI_ARGS it could not have been given at ADD (a bad IP= does not block release)', (t) => {
  const d = tmp(t)
  run({ command: 'ADD', conf: conf(d) })
  t.is(run({ command: 'DEL', conf: conf(d), cniArgs: 'IP=garbage' }).exitCode, 0)
  t.false(fs.existsSync(path.join(d, 'net1', '10.1.0.2')))
})

test('CHECK passes while the attachment holds an address and fails with 110 otherwise', (t) => {
  const d = tmp(t)
  const missing = run({ command: 'CHECK', conf: conf(d) })
  t.is(missing.code, 110)
  t.is(missing.json?.msg, 'host-local: Failed to find address added by container c1')
  run({ command: 'ADD', conf: conf(d) })
  t.is(run({ command: 'CHECK', conf: conf(d) }).exitCode, 0)
  t.is(run({ command: 'CHECK', conf: conf(d), ifName: 'eth1' }).code, 110)
  fs.writeFileSync(path.join(d, 'net1', '10.1.0.6'), 'legacy')
  t.is(run({ command: 'CHECK', id: 'legacy', conf: conf(d) }).exitCode, 0)
})

test('STATUS: 0 when the data dir is writable or creatable, 50 when it cannot be', (t) => {
  const d = tmp(t)
  t.is(run({ command: 'STATUS', conf: conf(path.join(d, 'not', 'yet')) }).exitCode, 0)
  fs.writeFileSync(path.join(d, 'file'), '')
  const bad = run({ command: 'STATUS', conf: conf(path.join(d, 'file')) })
  t.is(bad.code, 50)
  t.regex(String(bad.json?.details), /is not a directory/)
  t.false(fs.existsSync(path.join(d, 'not')), 'STATUS creates nothing')
})

test('GC releases leaked reservations, keeps valid ones, cursors and the lock', (t) => {
  const d = tmp(t)
  for (const id of ['a', 'b', 'c']) run({ command: 'ADD', id, conf: conf(d) })
  fs.writeFileSync(path.join(d, 'net1', '10.1.0.6'), 'old-legacy')
  const r = run({ command: 'GC', conf: conf(d, {}, { 'cni.dev/valid-attachments': [{ containerID: 'b', ifname: 'eth0' }] }) })
  t.is(r.exitCode, 0, JSON.stringify(r.json))
  t.deepEqual(fs.readdirSync(path.join(d, 'net1')).sort(), ['10.1.0.3', 'last_reserved_ip.0', 'lock'])
})

const garbage: Array<{ name: string, command: string, conf: (d: string) => unknown, code: number }> = [
  { name: 'ADD with unparsable JSON (decode error from the skel)', command: 'ADD', conf: () => '{"cniVersion":"1.1.0","name":"net1",', code: 6 },
  { name: 'ADD with a bad subnet', command: 'ADD', conf: (d) => conf(d, { subnet: '10.1.0.0/33' }), code: 7 },
  { name: 'ADD with ranges of the wrong type', command: 'ADD', conf: (d) => conf(d, { subnet: undefined, ranges: 'x' }), code: 7 },
  { name: 'ADD with a missing resolvConf', command: 'ADD', conf: (d) => conf(d, { resolvConf: path.join(d, 'nope') }), code: 7 },
  { name: 'ADD with a garbage runtimeConfig.ips', command: 'ADD', conf: (d) => conf(d, {}, { runtimeConfig: { ips: [42] } }), code: 7 },
  { name: 'DEL with a bad subnet', command: 'DEL', conf: (d) => conf(d, { subnet: '10.1.0.9/24' }), code: 7 },
  { name: 'CHECK without ipam', command: 'CHECK', conf: (d) => ({ ...conf(d), ipam: undefined }), code: 7 },
  { name: 'GC without a valid-attachments list', command: 'GC', conf: (d) => conf(d), code: 7 },
  { name: 'GC with a malformed valid-attachments list', command: 'GC', conf: (d) => conf(d, {}, { 'cni.dev/valid-attachments': [{ id: 'x' }] }), code: 7 },
  { name: 'GC with a bad range', command: 'GC', conf: (d) => conf(d, { gateway: '10.2.0.1' }, { 'cni.dev/valid-attachments': [] }), code: 7 },
  { name: 'STATUS with overlapping range sets', command: 'STATUS', conf: (d) => conf(d, { ranges: [[{ subnet: '10.1.0.0/28' }]] }), code: 7 }
]
for (const row of garbage) {
  test(`garbage input changes nothing on disk: ${row.name} → code ${row.code}`, (t) => {
    const d = tmp(t)
    run({ command: 'ADD', id: 'keep', conf: conf(d) })
    const before = snapshot(d)
    const r = run({ command: row.command, conf: row.conf(d) })
    t.is(r.exitCode, 1)
    t.is(r.code, row.code, JSON.stringify(r.json))
    t.is(snapshot(d), before)
  })
}
