/**
 * libnftables in-process (`libNftables`) against `nft` itself (`linuxNftables`), in a namespace of the test's own:
 * the same table listings (with and without handles), the same errors, absent tables as undefined. The calls run
 * in a child process inside the namespace, since the library's context binds to the namespace it is made in.
 */
import test from 'ava'
import * as path from 'node:path'
import { execa } from 'execa'
import { repoRoot, requireRoot, sandbox } from '../harness/index.js'

const script = `
const k = await import(${JSON.stringify(path.join(repoRoot, 'dist', 'kernel', 'index.js'))})
const lib = k.libNftables()
const cli = k.linuxNftables()
const out = { loaded: lib !== undefined }
const err = (f) => { try { f(); return null } catch (e) { return { name: e.constructor.name, message: e.message, notExist: e.notExist } } }
lib.apply('add table ip t1\\nadd chain ip t1 c1 { type filter hook input priority 0 ; }\\nadd rule ip t1 c1 ip saddr 10.1.0.0/16 counter accept\\nadd set ip t1 s1 { type ipv4_addr ; }\\nadd element ip t1 s1 { 10.9.9.9 }')
out.same = lib.listTable('ip', 't1') === cli.listTable('ip', 't1')
out.sameHandles = lib.listTable('ip', 't1', { handles: true }) === cli.listTable('ip', 't1', { handles: true })
out.handles = /# handle \\d+/.test(lib.listTable('ip', 't1', { handles: true }))
out.listing = lib.listTable('ip', 't1')
out.absent = lib.listTable('ip', 'nope') === undefined
out.libError = err(() => lib.apply('add rule ip t1 nochain accept'))
out.cliError = err(() => cli.apply('add rule ip t1 nochain accept'))
out.syntax = err(() => lib.apply('add rule ip t1 c1 bogus words here'))
out.afterErrors = lib.listTable('ip', 't1') === out.listing
const calls = []
const spy = { apply: (x) => { calls.push(x.length); cli.apply(x) }, listTable: (...a) => cli.listTable(...a), deleteTable: (...a) => cli.deleteTable(...a) }
const big = k.libNftables({ largeScriptBytes: 100, large: spy })
big.apply('add element ip t1 s1 { 10.9.9.10 }')
big.apply(Array.from({ length: 20 }, (_, i) => 'add element ip t1 s1 { 10.8.0.' + i + ' }').join('\\n'))
out.largeCalls = calls.length
out.largeApplied = /10\\.8\\.0\\.19/.test(lib.listTable('ip', 't1'))
lib.deleteTable('ip', 't1')
out.deleted = cli.listTable('ip', 't1') === undefined
out.deleteAbsent = err(() => lib.deleteTable('ip', 't1'))
console.log(JSON.stringify(out))
`

test('[kernel] libnftables in-process lists, applies and fails exactly as nft does', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'lnft')
  const r = await execa('ip', ['netns', 'exec', sb.nameOf(sb.node), process.execPath, '--input-type=module', '-e', script], { reject: false })
  t.is(r.exitCode, 0, String(r.stderr))
  const o = JSON.parse(String(r.stdout)) as Record<string, unknown>
  t.true(o.loaded, 'libnftables.so.1 loads under Node')
  t.regex(String(o.listing), /table ip t1 \{[^]*ip saddr 10\.1\.0\.0\/16 counter packets 0 bytes 0 accept/)
  t.regex(String(o.listing), /set s1 \{[^}]*elements = \{ 10\.9\.9\.9 \}/)
  t.true(o.same, 'the same listing as nft list table')
  t.true(o.sameHandles, 'the same listing as nft -a list table')
  t.true(o.handles)
  t.true(o.absent, 'an absent table is undefined, not an error')
  // The same error as nft -f, but for the input location nft prints before it (/dev/stdin:1:16-22:).
  const noLocation = (e: unknown): unknown => ({ ...(e as object), message: (e as { message: string }).message.replace(/\/dev\/stdin:[\d:-]+: /, '') })
  t.deepEqual(noLocation(o.libError), noLocation(o.cliError), 'the same error as nft -f, ENOENT marked')
  t.true((o.libError as { notExist: boolean }).notExist)
  t.regex((o.syntax as { message: string }).message, /^nft -f -: .*syntax error/)
  t.true(o.afterErrors, 'a failed transaction changed nothing')
  t.is(o.largeCalls, 1, 'only the script over largeScriptBytes went to nft -f')
  t.true(o.largeApplied)
  t.true(o.deleted)
  t.is(o.deleteAbsent, null, 'deleting an absent table is not an error')
})
