/**
 * dispatch: the execution protocol (shared/reference/cni-flannel.md 1.3-1.10)
 * with a recording plugin. dispatch never throws; every failure is error JSON
 * on stdout and exit code 1.
 */
import test from 'ava'
import { CniError } from './errors.js'
import { dispatch, parseCniArgs } from './skel.js'
import type { DispatchInput, Outcome } from './skel.js'
import type { CmdArgs, PluginFuncs, Result } from './types.js'

interface Recorder extends PluginFuncs {
  calls: Array<{ command: string, args: CmdArgs }>
}

function recorder (result: Result = { cniVersion: '1.1.0', ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1' }], routes: [{ dst: '0.0.0.0/0' }] }): Recorder {
  const calls: Recorder['calls'] = []
  return {
    calls,
    add (args) { calls.push({ command: 'ADD', args }); return result },
    del (args) { calls.push({ command: 'DEL', args }) },
    check (args) { calls.push({ command: 'CHECK', args }) },
    status (args) { calls.push({ command: 'STATUS', args }) },
    gc (args) { calls.push({ command: 'GC', args }) }
  }
}

const fullEnv = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/run/netns/pod', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' }

function conf (extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'net1', type: 'weft', ...extra }))
}

function call (f: PluginFuncs, env: Record<string, string | undefined>, stdin: Buffer | string = conf(), extra: Partial<DispatchInput> = {}): Outcome & { json: Record<string, unknown> } {
  const out = dispatch(f, { env, stdin: typeof stdin === 'string' ? Buffer.from(stdin) : stdin, about: 'weft', ...extra })
  return { ...out, json: out.stdout === '' ? {} : JSON.parse(out.stdout) as Record<string, unknown> }
}

test('missing CNI_COMMAND and unknown commands are code 4', (t) => {
  const f = recorder()
  const none = call(f, { ...fullEnv, CNI_COMMAND: undefined })
  t.is(none.exitCode, 1)
  t.deepEqual(none.json, { cniVersion: '1.1.0', code: 4, msg: 'required env variables [CNI_COMMAND] missing' })
  t.like(call(f, { ...fullEnv, CNI_COMMAND: 'FOO' }).json, { code: 4, msg: 'unknown CNI_COMMAND: FOO' })
  t.like(call(f, { ...fullEnv, CNI_COMMAND: 'add' }).json, { code: 4, msg: 'unknown CNI_COMMAND: add' }, 'commands are case-sensitive')
  t.is(f.calls.length, 0)
})

test('each command names every variable it needs and lacks, in one code-4 error', (t) => {
  const f = recorder()
  const rows: Array<[string, Record<string, string>, string]> = [
    ['ADD', {}, 'required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing'],
    ['DEL', {}, 'required env variables [CNI_CONTAINERID,CNI_IFNAME,CNI_PATH] missing'],
    ['CHECK', { CNI_CONTAINERID: 'c' }, 'required env variables [CNI_NETNS,CNI_IFNAME,CNI_PATH] missing'],
    ['GC', {}, 'required env variables [CNI_PATH] missing'],
    ['STATUS', {}, 'required env variables [CNI_PATH] missing'],
    ['ADD', { CNI_CONTAINERID: 'c', CNI_NETNS: '/n', CNI_IFNAME: '', CNI_PATH: '/p' }, 'required env variables [CNI_IFNAME] missing']
  ]
  for (const [command, env, msg] of rows) {
    const out = call(f, { CNI_COMMAND: command, ...env }, conf({ cniVersion: '1.1.0' }))
    t.is(out.exitCode, 1, command)
    t.like(out.json, { code: 4, msg }, command)
  }
  t.is(f.calls.length, 0)
  // DEL needs no netns (the namespace may be gone): it reaches the plugin with netns ''.
  const del = call(f, { ...fullEnv, CNI_COMMAND: 'DEL', CNI_NETNS: undefined })
  t.is(del.exitCode, 0)
  t.is(del.stdout, '')
  t.is(f.calls[0]?.args.netns, '')
})

test('bad CNI_IFNAME and container IDs are code 4, with the reason in details', (t) => {
  const f = recorder()
  for (const name of ['a/b', 'eth 0', 'eth:0', '.', '..', 'a234567890123456', 'tab\there']) {
    const out = call(f, { ...fullEnv, CNI_IFNAME: name })
    t.like(out.json, { code: 4, msg: 'invalid CNI_IFNAME' }, name)
    t.true(typeof out.json.details === 'string' && out.json.details.length > 0, name)
  }
  t.is(call(f, { ...fullEnv, CNI_IFNAME: 'a23456789012345' }).exitCode, 0, '15 bytes is the limit')
  for (const id of ['-abc', 'a b', 'a/b', '.x']) {
    t.like(call(f, { ...fullEnv, CNI_CONTAINERID: id }).json, { code: 4, msg: 'invalid characters in containerID', details: id }, id)
  }
  t.is(call(f, { ...fullEnv, CNI_CONTAINERID: 'a_b.c-9' }).exitCode, 0)
  t.is(f.calls.length, 2)
})

test('VERSION ignores stdin and other variables and answers the asked version with every supported one', (t) => {
  const f = recorder()
  const all = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']
  for (const stdin of ['', 'not json at all', '{"cniVersion": 7}']) {
    const out = call(f, { CNI_COMMAND: 'VERSION' }, stdin)
    t.is(out.exitCode, 0, stdin)
    t.deepEqual(out.json, { cniVersion: '1.1.0', supportedVersions: all }, stdin)
  }
  t.deepEqual(call(f, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}').json, { cniVersion: '0.4.0', supportedVersions: all })
  t.is(f.calls.length, 0)
})

test('stdin: invalid JSON is code 6, an unsupported version code 1, a missing or bad name code 7', (t) => {
  const f = recorder()
  t.like(call(f, fullEnv, '{"cniVersion":').json, { cniVersion: '1.1.0', code: 6, msg: 'error decoding network configuration' })
  t.like(call(f, fullEnv, '[1,2]').json, { code: 6, details: 'configuration is not a JSON object' })
  t.like(call(f, fullEnv, '{"cniVersion":1,"name":"n"}').json, { code: 6, details: 'cniVersion must be a string' })
  const old = call(f, fullEnv, conf({ cniVersion: '0.5.0' }))
  t.deepEqual(old.json, { cniVersion: '0.5.0', code: 1, msg: 'incompatible CNI versions', details: 'config is "0.5.0", plugin supports [0.1.0 0.2.0 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0]' }, 'the error is in the config\'s own version')
  t.like(call(f, fullEnv, '{"cniVersion":"1.0.0","type":"x"}').json, { cniVersion: '1.0.0', code: 7, msg: 'missing network name' })
  t.like(call(f, fullEnv, conf({ name: 'has space' })).json, { code: 7, msg: 'invalid network name "has space"' })
  t.is(f.calls.length, 0)
})

test('CHECK needs 0.4.0 and GC/STATUS 1.1.0: code 1 before the plugin runs', (t) => {
  const f = recorder()
  t.like(call(f, { ...fullEnv, CNI_COMMAND: 'CHECK' }, conf({ cniVersion: '0.3.1' })).json, { cniVersion: '0.3.1', code: 1, msg: 'config version does not allow CHECK' })
  for (const command of ['GC', 'STATUS']) {
    t.like(call(f, { CNI_COMMAND: command, CNI_PATH: '/p' }, conf({ cniVersion: '1.0.0' })).json, { code: 1, msg: `config version does not allow ${command}` }, command)
  }
  t.is(f.calls.length, 0)
  t.is(call(f, { ...fullEnv, CNI_COMMAND: 'CHECK' }, conf({ cniVersion: '0.4.0' })).stdout, '')
  t.is(call(f, { CNI_COMMAND: 'GC', CNI_PATH: '/p' }, conf({ cniVersion: '1.1.0' })).exitCode, 0)
  t.is(call(f, { CNI_COMMAND: 'STATUS', CNI_PATH: '/p' }, conf({ cniVersion: '1.1.0' })).exitCode, 0)
  t.deepEqual(f.calls.map((c) => c.command), ['CHECK', 'GC', 'STATUS'])
  const minimal: PluginFuncs = { add: () => ({ cniVersion: '1.1.0' }), del: () => {}, check: () => {} }
  t.is(call(minimal, { CNI_COMMAND: 'GC', CNI_PATH: '/p' }, conf({ cniVersion: '1.1.0' })).exitCode, 0, 'a plugin without gc/status succeeds')
})

test('the code-8 guard stops ADD and DEL in the plugin\'s own namespace before they act, unless CNI_NETNS_OVERRIDE', (t) => {
  const f = recorder()
  const seen: string[] = []
  const own = (p: string): boolean => { seen.push(p); return true }
  for (const command of ['ADD', 'DEL']) {
    const out = call(f, { ...fullEnv, CNI_COMMAND: command }, conf(), { isOwnNetns: own })
    t.deepEqual(out.json, { cniVersion: '1.0.0', code: 8, msg: "plugin's netns and netns from CNI_NETNS should not be the same" }, command)
  }
  t.deepEqual(seen, ['/run/netns/pod', '/run/netns/pod'], 'the guard is asked about CNI_NETNS')
  t.is(f.calls.length, 0, 'nothing ran: a loopback DEL here would take down the host\'s lo (plugins#714)')
  for (const override of ['1', 'true']) {
    t.is(call(f, { ...fullEnv, CNI_NETNS_OVERRIDE: override }, conf(), { isOwnNetns: own }).exitCode, 0, override)
  }
  t.is(call(f, { ...fullEnv, CNI_NETNS_OVERRIDE: 'yes' }, conf(), { isOwnNetns: own }).json.code, 8, 'only 1 and true override')
  t.is(call(f, { ...fullEnv, CNI_COMMAND: 'CHECK' }, conf(), { isOwnNetns: own }).exitCode, 0, 'CHECK is not guarded')
  t.is(call(f, { ...fullEnv, CNI_COMMAND: 'DEL', CNI_NETNS: undefined }, conf(), { isOwnNetns: own }).exitCode, 0, 'DEL without a netns is not guarded')
  t.is(call(f, fullEnv, conf(), { isOwnNetns: () => false }).exitCode, 0)
  t.deepEqual(f.calls.map((c) => c.command), ['ADD', 'ADD', 'CHECK', 'DEL', 'ADD'])
})

test('ADD prints the result in the config\'s version, indented like Go\'s PrettyPrint and, like the reference, without a newline', (t) => {
  const f = recorder()
  const v031 = call(f, fullEnv, conf({ cniVersion: '0.3.1' }))
  t.is(v031.exitCode, 0)
  t.is(v031.stdout, JSON.stringify({ cniVersion: '0.3.1', ips: [{ version: '4', address: '10.1.0.5/16', gateway: '10.1.0.1' }], routes: [{ dst: '0.0.0.0/0' }], dns: {} }, null, 4))
  t.deepEqual(call(f, fullEnv, conf({ cniVersion: '1.0.0' })).json, { cniVersion: '1.0.0', ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1' }], routes: [{ dst: '0.0.0.0/0' }], dns: {} })
  t.deepEqual(call(f, fullEnv, '{"name":"n","type":"t"}').json, { cniVersion: '0.1.0', ip4: { ip: '10.1.0.5/16', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0' }] }, dns: {} }, 'no cniVersion means 0.1.0')
})

test('the plugin gets parsed arguments, raw stdin and a 1.x prevResult', (t) => {
  const f = recorder()
  const stdin = conf({ cniVersion: '0.3.1', prevResult: { cniVersion: '0.3.1', ips: [{ version: '4', address: '10.9.0.5/24' }] } })
  call(f, { ...fullEnv, CNI_PATH: '/a::/b:', CNI_ARGS: 'K8S_POD_NAME=x' }, stdin)
  const args = f.calls[0]?.args
  t.like(args, { command: 'ADD', containerId: 'c0ffee', netns: '/run/netns/pod', ifName: 'eth0', args: 'K8S_POD_NAME=x', path: ['/a', '/b'] })
  t.is(args?.stdin, stdin, 'the very bytes, for delegates')
  t.deepEqual(args?.conf.prevResult, { cniVersion: '0.3.1', ips: [{ address: '10.9.0.5/24' }] })
  t.is(args?.env.CNI_ARGS, 'K8S_POD_NAME=x')
  call(f, fullEnv, conf({ prevResult: null }))
  t.false('prevResult' in (f.calls[1]?.args.conf ?? {}), 'a null prevResult is dropped')
  t.like(call(f, fullEnv, conf({ prevResult: { cniVersion: '1.0.0', ips: [null] } })).json, { code: 6 }, 'a malformed prevResult is a decode error')
})

test('plugin errors: a CniError keeps its code and details, anything else is code 100', (t) => {
  const failing = (e: unknown): PluginFuncs => ({ add () { throw e }, del () { throw e }, check () { throw e } })
  t.deepEqual(call(failing(new CniError('CNI_ERR_RANGE_EXHAUSTED', 'no IP addresses available', 'range 10.0.0.0/30')), fullEnv).json,
    { cniVersion: '1.0.0', code: 104, msg: 'no IP addresses available', details: 'range 10.0.0.0/30' })
  t.deepEqual(call(failing(new CniError('CNI_ERR_DELEGATE', 'failed to allocate', '', { number: 999 })), fullEnv).json,
    { cniVersion: '1.0.0', code: 999, msg: 'failed to allocate' }, 'a delegate\'s own number passes through; empty details are left out')
  t.deepEqual(call(failing(new Error('boom', { cause: 'disk full' })), { ...fullEnv, CNI_COMMAND: 'DEL' }).json, { cniVersion: '1.0.0', code: 100, msg: 'boom', details: 'disk full' })
  t.deepEqual(call(failing('a string'), { ...fullEnv, CNI_COMMAND: 'CHECK' }).json, { cniVersion: '1.0.0', code: 100, msg: 'a string' })
})

test('CNI_ARGS: K=V pairs; unknown keys are an error unless IgnoreUnknown is 1 or true', (t) => {
  t.deepEqual(parseCniArgs('', ['IP']), {})
  t.deepEqual(parseCniArgs('IP=10.0.0.5/24;', ['IP']), { IP: '10.0.0.5/24' })
  t.deepEqual(parseCniArgs('K=a=b', ['K']), { K: 'a=b' }, 'the value may hold =')
  const k8s = 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc'
  t.deepEqual(parseCniArgs(k8s, ['IP']), { IgnoreUnknown: '1', K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'web-0', K8S_POD_INFRA_CONTAINER_ID: 'abc' })
  t.notThrows(() => parseCniArgs('IgnoreUnknown=TRUE;X=1', []))
  for (const [raw, msg] of [
    ['K8S_POD_NAME=web-0', 'ARGS: unknown args ["K8S_POD_NAME"]'],
    ['IgnoreUnknown=0;X=1', 'ARGS: unknown args ["X"]'],
    ['IP', 'ARGS: invalid pair "IP"'],
    ['=x', 'ARGS: invalid pair "=x"']
  ] as const) {
    const e = t.throws(() => parseCniArgs(raw, ['IP']))
    t.true(e instanceof CniError, raw)
    t.is((e as CniError).code, 'CNI_ERR_INVALID_ENV', raw)
    t.is((e as CniError).message, msg, raw)
  }
})
