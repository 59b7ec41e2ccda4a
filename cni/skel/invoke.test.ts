/**
 * Delegation: finding `<dir>/<type>` along CNI_PATH as libcni's invoke/find.go
 * does, running a real executable (a small shell script standing in for an
 * IPAM plugin), and the in-process shortcut when the executable is our own.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { CniError } from './errors.js'
import { delegate, findPlugin, registerInProcess, setSelfExecutable } from './invoke.js'
import type { CmdArgs, NetConf } from './types.js'

function tmpdir (t: ExecutionContext): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-invoke-'))
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }))
  return d
}

function script (dir: string, name: string, body: string): string {
  const p = path.join(dir, name)
  fs.writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 })
  return p
}

function cniErr (t: ExecutionContext, fn: () => unknown): CniError {
  const e = t.throws(fn)
  if (!(e instanceof CniError)) throw new Error(`expected a CniError, got ${String(e)}`)
  return e
}

function cmdArgs (dir: string, confExtra: Record<string, unknown> = {}): CmdArgs {
  const conf: NetConf = { cniVersion: '1.0.0', name: 'net1', type: 'bridge', ipam: { type: 'fakeipam' }, ...confExtra }
  const stdin = Buffer.from(JSON.stringify(conf))
  return {
    command: 'ADD',
    containerId: 'c0ffee',
    netns: '/run/netns/pod',
    ifName: 'eth0',
    args: '',
    path: [dir],
    stdin,
    conf,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/run/netns/pod', CNI_IFNAME: 'eth0', CNI_PATH: dir }
  }
}

test('findPlugin: the first regular file named after the type along the path wins', (t) => {
  const a = tmpdir(t)
  const b = tmpdir(t)
  const c = tmpdir(t)
  script(b, 'ipam', 'exit 0')
  script(c, 'ipam', 'exit 0')
  fs.mkdirSync(path.join(a, 'ipam'))
  t.is(findPlugin('ipam', [a, b, c]), path.join(b, 'ipam'), 'a directory of that name is skipped')
  t.is(findPlugin('ipam', [c, b]), path.join(c, 'ipam'), 'order decides')
  fs.symlinkSync(path.join(c, 'ipam'), path.join(a, 'linked'))
  t.is(findPlugin('linked', [a]), path.join(a, 'linked'), 'a link to a file counts, as os.Stat follows it')

  const missing = cniErr(t, () => findPlugin('nope', [a, b]))
  t.is(missing.code, 'CNI_ERR_PLUGIN_NOT_FOUND')
  t.is(missing.number, 107)
  t.is(missing.message, `failed to find plugin "nope" in path [${a} ${b}]`)
  t.is(cniErr(t, () => findPlugin('ipam', [])).message, 'failed to find plugin "ipam" in path []')
  for (const bad of ['', '../ipam', 'a/b', 'a\\b']) {
    t.is(cniErr(t, () => findPlugin(bad, [b])).code, 'CNI_ERR_INVALID_CONFIG', JSON.stringify(bad))
  }
})

test('delegate ADD runs the plugin with our env, CNI_COMMAND replaced and the whole config on stdin, and parses its result', (t) => {
  const dir = tmpdir(t)
  script(dir, 'fakeipam', `
d=$(dirname "$0")
cat > "$d/stdin-$CNI_COMMAND"
env > "$d/env-$CNI_COMMAND"
if [ "$CNI_COMMAND" = ADD ]; then
  printf '%s' '{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.9.0.5/24","gateway":"10.9.0.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{}}'
fi`)
  const args = cmdArgs(dir)
  const result = delegate('ADD', 'fakeipam', args)
  t.deepEqual(result, { cniVersion: '0.3.1', ips: [{ address: '10.9.0.5/24', gateway: '10.9.0.1' }], routes: [{ dst: '0.0.0.0/0' }], dns: {} })
  t.is(fs.readFileSync(path.join(dir, 'stdin-ADD'), 'utf8'), args.stdin.toString('utf8'), 'the complete config, byte for byte')
  const env = fs.readFileSync(path.join(dir, 'env-ADD'), 'utf8')
  for (const line of ['CNI_COMMAND=ADD', 'CNI_CONTAINERID=c0ffee', 'CNI_NETNS=/run/netns/pod', 'CNI_IFNAME=eth0', `CNI_PATH=${dir}`]) t.true(env.split('\n').includes(line), line)

  t.is(delegate('DEL', 'fakeipam', args), undefined, 'DEL returns nothing')
  t.true(fs.readFileSync(path.join(dir, 'env-DEL'), 'utf8').split('\n').includes('CNI_COMMAND=DEL'), 'the command is replaced, the rest kept')
  delegate('CHECK', 'fakeipam', args, Buffer.from('{"custom":true}'))
  t.is(fs.readFileSync(path.join(dir, 'stdin-CHECK'), 'utf8'), '{"custom":true}', 'a caller may pass other stdin')
})

test('delegate passes a failing plugin\'s error code through, and wraps output that is not error JSON', (t) => {
  const dir = tmpdir(t)
  script(dir, 'err', `cat >/dev/null; printf '%s' '{"cniVersion":"1.0.0","code":999,"msg":"failed to allocate for range 0","details":"no space"}'; exit 1`)
  script(dir, 'crash', 'cat >/dev/null; echo "segfault-ish"; exit 3')
  script(dir, 'garbage', 'cat >/dev/null; echo "this is not json"')
  const args = cmdArgs(dir)
  const e = cniErr(t, () => delegate('ADD', 'err', args))
  t.is(e.code, 'CNI_ERR_DELEGATE')
  t.is(e.number, 999, 'the delegate\'s own number, not ours')
  t.is(e.message, 'failed to allocate for range 0')
  t.is(e.details, 'no space')
  const crash = cniErr(t, () => delegate('DEL', 'crash', args))
  t.is(crash.number, 108)
  t.is(crash.message, 'plugin "crash" failed with exit code 3')
  t.is(crash.details, 'segfault-ish')
  const garbage = cniErr(t, () => delegate('ADD', 'garbage', args))
  t.is(garbage.code, 'CNI_ERR_DECODE', 'exit 0 with a result that is not JSON')
  t.is(garbage.number, 6)
  t.notThrows(() => delegate('DEL', 'garbage', args), 'DEL reads no result')
  t.is(cniErr(t, () => delegate('ADD', 'missing', args)).code, 'CNI_ERR_PLUGIN_NOT_FOUND')
})

test('when CNI_PATH leads to our own binary the delegate runs in-process through dispatch, unless WEFT_CNI_NO_INPROCESS=1', (t) => {
  const dir = tmpdir(t)
  const exe = script(dir, 'weftipam', `cat >/dev/null; touch '${path.join(dir, 'executed')}'; printf '%s' '{"cniVersion":"1.0.0","ips":[{"address":"10.8.0.8/24"}],"dns":{}}'`)
  const seen: string[] = []
  registerInProcess('weftipam', {
    add (a) { seen.push(`ADD ${a.containerId} ${a.conf.name}`); return { cniVersion: '1.0.0', ips: [{ address: '10.7.0.7/24', gateway: '10.7.0.1' }] } },
    del (a) { seen.push(`DEL ${a.ifName}`) },
    check () { seen.push('CHECK') }
  })
  // Reach the binary through a link, as runtimes do with a plugin directory full of links to one executable.
  const linkDir = tmpdir(t)
  fs.symlinkSync(exe, path.join(linkDir, 'weftipam'))
  setSelfExecutable(exe)
  t.teardown(() => setSelfExecutable(undefined))
  const args = cmdArgs(linkDir)
  t.deepEqual(delegate('ADD', 'weftipam', args), { cniVersion: '1.0.0', ips: [{ address: '10.7.0.7/24', gateway: '10.7.0.1' }], dns: {} })
  t.is(delegate('DEL', 'weftipam', args), undefined)
  t.deepEqual(seen, ['ADD c0ffee net1', 'DEL eth0'])
  t.false(fs.existsSync(path.join(dir, 'executed')), 'nothing was exec\'d')

  const noInProcess = { ...args, env: { ...args.env, WEFT_CNI_NO_INPROCESS: '1' } }
  t.deepEqual(delegate('ADD', 'weftipam', noInProcess), { cniVersion: '1.0.0', ips: [{ address: '10.8.0.8/24' }], dns: {} })
  t.true(fs.existsSync(path.join(dir, 'executed')))

  const err = cniErr(t, () => delegate('ADD', 'weftipam', { ...args, conf: { ...args.conf, name: 'bad name' }, stdin: Buffer.from(JSON.stringify({ ...args.conf, name: 'bad name' })) }))
  t.is(err.number, 7, 'an in-process delegate fails exactly as the exec\'d one would: its error JSON, code passed through')
  t.is(err.code, 'CNI_ERR_DELEGATE')

  setSelfExecutable(path.join(dir, 'not-this'))
  fs.rmSync(path.join(dir, 'executed'))
  delegate('ADD', 'weftipam', args)
  t.true(fs.existsSync(path.join(dir, 'executed')), 'another executable of the same type name is exec\'d')
})
