/**
 * The plugin through the skel's `dispatch` against a temp dir, with a
 * recording delegate (no root): what is saved when, what each command hands
 * the delegate, the error codes, and the rollback of a failed ADD. The last
 * tests put the real host-local behind a stand-in bridge to show that DEL
 * releases the address without the saved file and without subnet.env. The
 * same paths run on the real binaries in e2e/cni/flannel.test.ts.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { CniError, dispatch } from '../skel/index.js'
import type { CmdArgs, Command, PluginFuncs, Result } from '../skel/index.js'
import { hostLocal } from '../host-local/index.js'
import { flannelPlugin } from './flannel.js'

const STOCK_ENV = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n'
const STOCK_DELEGATE = '{"cniVersion":"0.4.0","hairpinMode":true,"ipMasq":false,' +
  '"ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},' +
  '"isDefaultGateway":true,"isGateway":true,"mtu":1450,"name":"cbr0","type":"bridge"}'
const BRIDGE_RESULT: Result = {
  cniVersion: '0.4.0',
  interfaces: [{ name: 'cni0', mac: '02:00:00:00:00:01' }, { name: 'veth12345678', mac: '02:00:00:00:00:02' }, { name: 'eth0', mac: '02:00:00:00:00:03', sandbox: '/var/run/netns/pod' }],
  ips: [{ interface: 2, address: '10.244.1.2/24', gateway: '10.244.1.1' }],
  routes: [{ dst: '10.244.0.0/16' }, { dst: '0.0.0.0/0', gw: '10.244.1.1' }]
}

interface Call { command: Command, type: string, stdin: string, savedAtCall: string | undefined }

function setup (t: ExecutionContext, opts: { fail?: Partial<Record<Command, CniError>>, env?: string | undefined } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-flannel-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const subnetFile = path.join(dir, 'subnet.env')
  const dataDir = path.join(dir, 'flannel')
  if (opts.env !== undefined) fs.writeFileSync(subnetFile, opts.env)
  const calls: Call[] = []
  const logs: string[] = []
  const savedFile = (id = 'c1'): string => path.join(dataDir, id)
  const readSavedText = (id = 'c1'): string | undefined => { try { return fs.readFileSync(savedFile(id), 'utf8') } catch { return undefined } }
  const plugin = flannelPlugin({
    delegate: (command, type, _args, stdin) => {
      calls.push({ command, type, stdin: stdin.toString('utf8'), savedAtCall: readSavedText(_args.containerId) })
      const f = opts.fail?.[command]
      if (f !== undefined) throw f
      return command === 'ADD' ? BRIDGE_RESULT : undefined
    },
    log: (l) => { logs.push(l) }
  })
  const run = (command: Command, extra: Record<string, unknown> = {}, id = 'c1') => {
    const out = dispatch(plugin, {
      env: { CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: '/var/run/netns/pod', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' },
      stdin: Buffer.from(JSON.stringify({
        cniVersion: '0.4.0', name: 'cbr0', type: 'flannel', subnetFile, dataDir, delegate: { hairpinMode: true, isDefaultGateway: true }, ...extra
      })),
      about: 'flannel'
    })
    const json = out.stdout === '' ? undefined : JSON.parse(out.stdout) as Record<string, unknown>
    return { exitCode: out.exitCode, json, code: json?.code as number | undefined, msg: json?.msg as string | undefined }
  }
  return { dir, subnetFile, dataDir, calls, logs, run, savedFile, readSavedText }
}

test('ADD saves the delegate config (dir 0700, file 0600) before delegating, then prints the bridge result in the config version', (t) => {
  const s = setup(t, { env: STOCK_ENV })
  const r = s.run('ADD')
  t.is(r.exitCode, 0, JSON.stringify(r.json))
  t.deepEqual(s.calls.map((c) => `${c.command} ${c.type}`), ['ADD bridge'])
  t.is(s.calls[0]?.stdin, STOCK_DELEGATE)
  t.is(s.calls[0]?.savedAtCall, STOCK_DELEGATE, 'saved before the delegate ran')
  t.is(s.readSavedText(), STOCK_DELEGATE)
  t.is(fs.statSync(s.savedFile()).mode & 0o777, 0o600)
  t.is(fs.statSync(s.dataDir).mode & 0o777, 0o700)
  t.deepEqual(fs.readdirSync(s.dataDir), ['c1'], 'no temp file left')
  t.deepEqual(r.json, {
    cniVersion: '0.4.0',
    interfaces: [{ name: 'cni0', mac: '02:00:00:00:00:01' }, { name: 'veth12345678', mac: '02:00:00:00:00:02' }, { name: 'eth0', mac: '02:00:00:00:00:03', sandbox: '/var/run/netns/pod' }],
    ips: [{ version: '4', interface: 2, address: '10.244.1.2/24', gateway: '10.244.1.1' }],
    routes: [{ dst: '10.244.0.0/16' }, { dst: '0.0.0.0/0', gw: '10.244.1.1' }],
    dns: {}
  })
})

test('ADD without subnet.env: code 11 naming the file and the agent, nothing saved, nothing delegated', (t) => {
  const s = setup(t)
  const r = s.run('ADD')
  t.is(r.code, 11)
  t.true(r.msg?.includes(s.subnetFile), r.msg)
  t.regex(r.msg ?? '', /overlay agent .* may not be running/)
  t.deepEqual(s.calls, [])
  t.false(fs.existsSync(s.dataDir))
})

test('ADD with a broken subnet.env: code 7 naming the key', (t) => {
  const s = setup(t, { env: 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n' })
  const r = s.run('ADD')
  t.is(r.code, 7)
  t.regex(r.msg ?? '', /is missing FLANNEL_SUBNET/)
  t.deepEqual(s.calls, [])
})

test('ADD with delegate.name or delegate.ipam: code 7, nothing saved', (t) => {
  const s = setup(t, { env: STOCK_ENV })
  for (const delegate of [{ name: 'x' }, { ipam: {} }]) {
    const r = s.run('ADD', { delegate })
    t.is(r.code, 7)
  }
  t.false(fs.existsSync(s.dataDir))
  t.deepEqual(s.calls, [])
})

test('a failed delegate ADD is undone with a delegate DEL, and the file goes only after that DEL succeeded', (t) => {
  const s = setup(t, { env: STOCK_ENV, fail: { ADD: new CniError('CNI_ERR_RANGE_EXHAUSTED', 'no IP addresses available in range set') } })
  const r = s.run('ADD')
  t.is(r.code, 104, 'the delegate\'s own code')
  t.deepEqual(s.calls.map((c) => `${c.command} ${c.type}`), ['ADD bridge', 'DEL bridge'])
  t.is(s.calls[1]?.stdin, STOCK_DELEGATE)
  t.is(s.calls[1]?.savedAtCall, STOCK_DELEGATE, 'the file is still there while the DEL runs')
  t.false(fs.existsSync(s.savedFile()))
})

test('when the undoing DEL fails too, the file stays for the runtime\'s DEL, which then uses it', (t) => {
  const s = setup(t, { env: STOCK_ENV, fail: { ADD: new CniError('CNI_ERR_KERNEL', 'boom'), DEL: new CniError('CNI_ERR_IPTABLES', 'locked') } })
  t.is(s.run('ADD').code, 101)
  t.is(s.readSavedText(), STOCK_DELEGATE)
  t.true(s.logs.some((l) => l.includes('keeping')), s.logs.join('\n'))
  t.is(s.run('DEL').code, 109, 'DEL reports the delegate failure and keeps the file')
  t.is(s.readSavedText(), STOCK_DELEGATE)
})

test('a failed ADD does not undo an earlier ADD of the same container, nor an interface that already exists', (t) => {
  const exists = new CniError('CNI_ERR_DELEGATE', 'container veth name "eth0" already exists', '', { number: 102 })
  const s = setup(t, { env: STOCK_ENV, fail: { ADD: exists } })
  t.is(s.run('ADD').code, 102)
  t.deepEqual(s.calls.map((c) => c.command), ['ADD'])
  t.is(s.readSavedText(), STOCK_DELEGATE)

  const s2 = setup(t, { env: STOCK_ENV, fail: { ADD: new CniError('CNI_ERR_KERNEL', 'boom') } })
  fs.mkdirSync(s2.dataDir, { recursive: true })
  fs.writeFileSync(s2.savedFile(), STOCK_DELEGATE)
  t.is(s2.run('ADD').code, 101)
  t.deepEqual(s2.calls.map((c) => c.command), ['ADD'])
  t.true(fs.existsSync(s2.savedFile()))
})

test('DEL hands the delegate the saved bytes unchanged (even after subnet.env changed) and removes them', (t) => {
  const s = setup(t, { env: STOCK_ENV })
  t.is(s.run('ADD').exitCode, 0)
  fs.writeFileSync(s.subnetFile, STOCK_ENV.replace('10.244.1.1/24', '10.244.7.1/24').replace('1450', '1400'))
  const r = s.run('DEL')
  t.is(r.exitCode, 0, JSON.stringify(r.json))
  t.is(s.calls[1]?.command, 'DEL')
  t.is(s.calls[1]?.stdin, STOCK_DELEGATE)
  t.false(fs.existsSync(s.savedFile()))
})

test('DEL reads a file saved by flannel\'s plugin (any key order) as is', (t) => {
  const s = setup(t, { env: STOCK_ENV })
  const foreign = '{"type":"bridge","name":"cbr0","cniVersion":"0.3.1","ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.1.0/24"}]]}}'
  fs.mkdirSync(s.dataDir, { recursive: true })
  fs.writeFileSync(s.savedFile(), foreign)
  t.is(s.run('DEL').exitCode, 0)
  t.deepEqual(s.calls.map((c) => [c.command, c.stdin]), [['DEL', foreign]])
})

test('DEL twice: the second one, without a saved file, still releases with the delegate rebuilt from subnet.env', (t) => {
  const s = setup(t, { env: STOCK_ENV })
  t.is(s.run('ADD').exitCode, 0)
  t.is(s.run('DEL').exitCode, 0)
  t.is(s.run('DEL').exitCode, 0)
  t.deepEqual(s.calls.map((c) => c.command), ['ADD', 'DEL', 'DEL'])
  t.is(s.calls[2]?.stdin, STOCK_DELEGATE)
})

test('DEL without the saved file and without subnet.env uses the release-only delegate', (t) => {
  const s = setup(t)
  const r = s.run('DEL', { ipam: { dataDir: '/var/lib/x' } })
  t.is(r.exitCode, 0, JSON.stringify(r.json))
  t.deepEqual(s.calls.map((c) => [c.command, c.type, c.stdin]), [[
    'DEL', 'bridge', '{"cniVersion":"0.4.0","hairpinMode":true,"ipam":{"dataDir":"/var/lib/x","type":"host-local"},"isDefaultGateway":true,"isGateway":true,"name":"cbr0","type":"bridge"}'
  ]])
})

test('DEL with an unparsable saved file releases with a rebuilt delegate and removes the file', (t) => {
  for (const junk of ['{"cniVersion":', '[]', '{"name":"cbr0"}']) {
    const s = setup(t, { env: STOCK_ENV })
    fs.mkdirSync(s.dataDir, { recursive: true })
    fs.writeFileSync(s.savedFile(), junk)
    t.is(s.run('DEL').exitCode, 0)
    t.deepEqual(s.calls.map((c) => [c.command, c.stdin]), [['DEL', STOCK_DELEGATE]])
    t.false(fs.existsSync(s.savedFile()))
    t.true(s.logs.some((l) => l.includes(s.savedFile())))
  }
})

test('DEL after an ADD refused for delegate.name still succeeds', (t) => {
  const s = setup(t, { env: STOCK_ENV })
  t.is(s.run('ADD', { delegate: { name: 'x' } }).code, 7)
  t.is(s.run('DEL', { delegate: { name: 'x' } }).exitCode, 0)
})

test('CHECK runs the delegate CHECK with the saved config and the runtime\'s prevResult as sent', (t) => {
  const s = setup(t, { env: STOCK_ENV })
  const add = s.run('ADD')
  t.is(s.run('CHECK', { prevResult: add.json }).exitCode, 0)
  const call = s.calls[1]
  t.is(call?.command, 'CHECK')
  t.deepEqual(JSON.parse(call?.stdin ?? '{}'), { ...JSON.parse(STOCK_DELEGATE) as object, prevResult: add.json })
})

test('CHECK fails (110) without a saved config, or when the node\'s subnet changed since ADD; a delegate failure keeps its code', (t) => {
  const s = setup(t, { env: STOCK_ENV })
  t.is(s.run('CHECK').code, 110)
  t.is(s.run('ADD').exitCode, 0)
  fs.writeFileSync(s.subnetFile, STOCK_ENV.replace('10.244.1.1/24', '10.244.7.1/24'))
  const r = s.run('CHECK')
  t.is(r.code, 110)
  t.regex(r.msg ?? '', /10\.244\.7\.0\/24/)
  fs.rmSync(s.subnetFile) // agent restarting: not a reason to fail CHECK
  t.is(s.run('CHECK').exitCode, 0)

  const s2 = setup(t, { env: STOCK_ENV, fail: { CHECK: new CniError('CNI_ERR_CHECK_FAILED', 'address missing') } })
  t.is(s2.run('ADD').exitCode, 0)
  t.is(s2.run('CHECK').msg, 'address missing')
})

test('STATUS is 50 while subnet.env is missing or broken, else the delegate\'s STATUS', (t) => {
  const s = setup(t)
  const missing = s.run('STATUS', { cniVersion: '1.1.0' })
  t.is(missing.code, 50)
  t.regex(missing.msg ?? '', /overlay is not ready/)
  fs.writeFileSync(s.subnetFile, 'FLANNEL_MTU=1450\n')
  t.is(s.run('STATUS', { cniVersion: '1.1.0' }).code, 50)
  t.deepEqual(s.calls, [])
  fs.writeFileSync(s.subnetFile, STOCK_ENV)
  t.is(s.run('STATUS', { cniVersion: '1.1.0' }).exitCode, 0)
  t.deepEqual(s.calls.map((c) => [c.command, c.stdin]), [['STATUS', STOCK_DELEGATE.replace('0.4.0', '1.1.0')]])
})

test('GC forwards to the delegate with the valid attachments and drops saved files of containers that are gone', (t) => {
  const s = setup(t, { env: STOCK_ENV })
  for (const id of ['keep', 'gone1', 'gone2']) t.is(s.run('ADD', {}, id).exitCode, 0)
  fs.writeFileSync(path.join(s.dataDir, 'other-net'), '{"type":"bridge","name":"othernet"}')
  fs.writeFileSync(path.join(s.dataDir, 'junk'), 'not json')
  const valid = [{ containerID: 'keep', ifname: 'eth0' }]
  const r = s.run('GC', { cniVersion: '1.1.0', 'cni.dev/valid-attachments': valid })
  t.is(r.exitCode, 0, JSON.stringify(r.json))
  const gc = s.calls.find((c) => c.command === 'GC')
  t.deepEqual(JSON.parse(gc?.stdin ?? '{}'), { ...JSON.parse(STOCK_DELEGATE.replace('0.4.0', '1.1.0')) as object, 'cni.dev/valid-attachments': valid })
  t.deepEqual(fs.readdirSync(s.dataDir).sort(), ['keep', 'other-net'])
})

test('GC without the valid-attachments list is refused (7) and removes nothing', (t) => {
  const s = setup(t, { env: STOCK_ENV })
  t.is(s.run('ADD').exitCode, 0)
  t.is(s.run('GC', { cniVersion: '1.1.0' }).code, 7)
  t.true(fs.existsSync(s.savedFile()))
})

test('GC still removes stale files when the delegate GC fails, and reports the failure', (t) => {
  const s = setup(t, { env: STOCK_ENV, fail: { GC: new CniError('CNI_ERR_STORE', 'store broken') } })
  t.is(s.run('ADD').exitCode, 0)
  const r = s.run('GC', { cniVersion: '1.1.0', 'cni.dev/valid-attachments': [] })
  t.is(r.code, 111)
  t.false(fs.existsSync(s.savedFile()))
})

// ---- with the real host-local behind a stand-in bridge ----

/** A bridge that only does the IPAM part: enough to see what host-local reserves and releases. */
function ipamOnlyBridge (run: (command: Command, type: string, args: CmdArgs, stdin: Buffer) => Result | undefined): PluginFuncs {
  const ipam = (command: Command, args: CmdArgs): Result | undefined => {
    const conf = args.conf
    return run(command, (conf.ipam as { type: string }).type, args, args.stdin)
  }
  return {
    add: (args) => ipam('ADD', args) as Result,
    del: (args) => { ipam('DEL', args) },
    check: (args) => { ipam('CHECK', args) },
    gc: (args) => { ipam('GC', args) }
  }
}

function realIpam (t: ExecutionContext) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-flannel-hl-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const subnetFile = path.join(dir, 'subnet.env')
  const dataDir = path.join(dir, 'flannel')
  const ipamDir = path.join(dir, 'networks')
  fs.writeFileSync(subnetFile, STOCK_ENV)
  const plugins: Record<string, PluginFuncs> = { 'host-local': hostLocal }
  const invoke = (command: Command, type: string, args: CmdArgs, stdin: Buffer): Result | undefined => {
    const funcs = plugins[type]
    if (funcs === undefined) throw new CniError('CNI_ERR_PLUGIN_NOT_FOUND', type)
    const out = dispatch(funcs, { env: { ...args.env, CNI_COMMAND: command }, stdin, about: type })
    const json = out.stdout === '' ? undefined : JSON.parse(out.stdout) as Record<string, unknown>
    if (out.exitCode !== 0) throw new CniError('CNI_ERR_DELEGATE', String(json?.msg), String(json?.details ?? ''), { number: json?.code as number })
    return command === 'ADD' ? json as unknown as Result : undefined
  }
  plugins.bridge = ipamOnlyBridge(invoke)
  const flannel = flannelPlugin({ delegate: invoke, log: () => {} })
  const run = (command: Command, id: string, extra: Record<string, unknown> = {}) => {
    const out = dispatch(flannel, {
      env: { CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: '/var/run/netns/pod', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' },
      stdin: Buffer.from(JSON.stringify({ cniVersion: '1.1.0', name: 'cbr0', type: 'flannel', subnetFile, dataDir, ipam: { dataDir: ipamDir }, ...extra })),
      about: 'flannel'
    })
    return { exitCode: out.exitCode, json: out.stdout === '' ? undefined : JSON.parse(out.stdout) as Record<string, unknown> }
  }
  const reservations = (): string[] => {
    try { return fs.readdirSync(path.join(ipamDir, 'cbr0')).filter((f) => /^\d/.test(f)).sort() } catch { return [] }
  }
  return { run, reservations, subnetFile, dataDir }
}

test('host-local: the pod is addressed from FLANNEL_SUBNET, and DEL without the saved file and without subnet.env releases it', (t) => {
  const h = realIpam(t)
  const a = h.run('ADD', 'pod-a')
  t.is(a.exitCode, 0, JSON.stringify(a.json))
  t.deepEqual(a.json?.ips, [{ address: '10.244.1.2/24', gateway: '10.244.1.1' }])
  t.is(h.run('ADD', 'pod-b').exitCode, 0)
  t.deepEqual(h.reservations(), ['10.244.1.2', '10.244.1.3'])
  fs.rmSync(path.join(h.dataDir, 'pod-a'))
  fs.rmSync(h.subnetFile)
  const d = h.run('DEL', 'pod-a')
  t.is(d.exitCode, 0, JSON.stringify(d.json))
  t.deepEqual(h.reservations(), ['10.244.1.3'], 'pod-a released, pod-b kept')
  t.is(h.run('DEL', 'pod-a').exitCode, 0, 'and again')
})

test('host-local: GC without subnet.env releases the addresses of containers that are gone', (t) => {
  const h = realIpam(t)
  for (const id of ['a', 'b']) t.is(h.run('ADD', id).exitCode, 0)
  fs.rmSync(h.subnetFile)
  const r = h.run('GC', '', { 'cni.dev/valid-attachments': [{ containerID: 'b', ifname: 'eth0' }] })
  t.is(r.exitCode, 0, JSON.stringify(r.json))
  t.deepEqual(h.reservations(), ['10.244.1.3'])
  t.deepEqual(fs.readdirSync(h.dataDir), ['b'])
})
