/**
 * loopback against the kernel and against the reference plugin, each in its
 * own sandbox: the plugin runs in the sandbox's node namespace and acts on a
 * pod namespace.
 */
import test from 'ava'
import { sandbox, kernelState, requireRoot, requireReference } from '../harness/index.js'
import type { CniOutcome, Impl, Sandbox } from '../harness/index.js'

/** A pod namespace with lo down, as a runtime creates it. */
function freshPod (sb: Sandbox): string {
  const pod = sb.ns('pod')
  const nl = sb.netlink(pod)
  try {
    const lo = nl.linkByName('lo')
    if (lo === undefined) throw new Error('no lo')
    nl.setLink(lo.index, { up: false })
  } finally { nl.close() }
  return pod
}

function loUp (sb: Sandbox, pod: string): boolean {
  const nl = sb.netlink(pod)
  try { return nl.linkByName('lo')?.flags.up === true } finally { nl.close() }
}

const conf = (version: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ cniVersion: version, name: 'cni-loopback', type: 'loopback', ...extra })

/** The result with the sandbox path (different per sandbox) replaced. */
function normalise (r: CniOutcome, pod: string): string {
  return r.stdout.split(pod).join('<pod>')
}

/**
 * The reference labels its 1.0-shaped result with the configuration's version,
 * so for 0.3.x/0.4.0 its `ips` entries lack the `version` key those versions
 * require; ours carries it. Everything else must be equal.
 */
function withoutIpVersion (json: Record<string, unknown> | undefined): unknown {
  if (json === undefined) return undefined
  const ips = (json.ips as Array<Record<string, unknown>> | undefined)?.map(({ version: _v, ...rest }) => rest)
  return { ...json, ...(ips !== undefined ? { ips } : {}) }
}

for (const version of ['0.3.1', '0.4.0', '1.0.0']) {
  test(`[kernel] loopback ADD brings lo up and reports what the reference reports (cniVersion ${version})`, async (t) => {
    requireRoot(); requireReference()
    const out: Record<string, { result: Record<string, unknown> | undefined, text: string, state: string }> = {}
    for (const impl of ['weft', 'ref'] as Impl[]) {
      const sb = sandbox(t, impl === 'weft' ? 'low' : 'lor')
      const pod = freshPod(sb)
      t.false(loUp(sb, pod))
      const r = await sb.cni({ impl, plugin: 'loopback', command: 'ADD', conf: conf(version), netns: pod, ifName: 'eth0' })
      t.is(r.exitCode, 0, `${impl}: ${r.stdout}`)
      t.true(loUp(sb, pod), `${impl} brings lo up`)
      out[impl] = { result: JSON.parse(normalise(r, pod)) as Record<string, unknown>, text: normalise(r, pod), state: await kernelState(sb, pod) }
    }
    t.is(out.weft?.state, out.ref?.state)
    t.deepEqual((out.weft?.result?.interfaces as unknown[])[0], { name: 'lo', mac: '00:00:00:00:00:00', sandbox: '<pod>' })
    if (version === '1.0.0') {
      t.is(out.weft?.text, out.ref?.text, 'byte for byte')
    } else {
      t.deepEqual(withoutIpVersion(out.weft?.result), out.ref?.result)
      t.deepEqual((out.weft?.result?.ips as Array<Record<string, unknown>>).map((x) => x.version), ['4', '6'], 'ours carries the spec\'s ips[].version')
    }
  })
}

test('[kernel] loopback ADD passes a previous result through, like the reference', async (t) => {
  requireRoot(); requireReference()
  const prevResult = { cniVersion: '0.4.0', interfaces: [{ name: 'eth0', sandbox: '/var/run/netns/x' }], ips: [{ version: '4', interface: 0, address: '10.0.0.2/24', gateway: '10.0.0.1' }], dns: { nameservers: ['10.0.0.10'] } }
  const sb = sandbox(t, 'lop')
  const pod = freshPod(sb)
  const ours = await sb.cni({ plugin: 'loopback', command: 'ADD', conf: conf('0.4.0', { prevResult }), netns: pod })
  const ref = await sb.cni({ impl: 'ref', plugin: 'loopback', command: 'ADD', conf: conf('0.4.0', { prevResult }), netns: pod })
  t.is(ours.exitCode, 0, ours.stdout)
  t.deepEqual(ours.json, ref.json)
  t.deepEqual(ours.json, prevResult)
  t.true(loUp(sb, pod))
})

test('[kernel] loopback DEL takes lo down; DEL again, without CNI_NETNS and after the netns is gone all succeed, as the reference', async (t) => {
  requireRoot(); requireReference()
  for (const impl of ['weft', 'ref'] as Impl[]) {
    const sb = sandbox(t, impl === 'weft' ? 'ldw' : 'ldr')
    const pod = freshPod(sb)
    t.is((await sb.cni({ impl, plugin: 'loopback', command: 'ADD', conf: conf('1.0.0'), netns: pod })).exitCode, 0)
    t.true(loUp(sb, pod))
    for (let i = 0; i < 2; i++) {
      const del = await sb.cni({ impl, plugin: 'loopback', command: 'DEL', conf: conf('1.0.0'), netns: pod })
      t.is(del.exitCode, 0, `${impl} DEL #${i + 1}: ${del.stdout}`)
      t.false(loUp(sb, pod), `${impl} takes lo down`)
    }
    const noNetns = await sb.cni({ impl, plugin: 'loopback', command: 'DEL', conf: conf('1.0.0'), netns: '' })
    t.is(noNetns.exitCode, 0, `${impl} DEL without CNI_NETNS: ${noNetns.stdout}`)
    sb.removeNs(pod)
    const gone = await sb.cni({ impl, plugin: 'loopback', command: 'DEL', conf: conf('1.0.0'), netns: pod })
    t.is(gone.exitCode, 0, `${impl} DEL with the netns gone: ${gone.stdout}`)
    t.is(gone.stdout, '')
  }
})

test('[kernel] loopback CHECK passes with lo up and fails with code 110 once lo is down', async (t) => {
  requireRoot(); requireReference()
  const sb = sandbox(t, 'loc')
  const pod = freshPod(sb)
  const check = async (impl: Impl): Promise<CniOutcome> => sb.cni({ impl, plugin: 'loopback', command: 'CHECK', conf: conf('1.0.0'), netns: pod })
  t.is((await sb.cni({ plugin: 'loopback', command: 'ADD', conf: conf('1.0.0'), netns: pod })).exitCode, 0)
  t.is((await check('weft')).exitCode, 0)
  t.is((await check('ref')).exitCode, 0)
  t.is((await sb.cni({ plugin: 'loopback', command: 'DEL', conf: conf('1.0.0'), netns: pod })).exitCode, 0)
  const ours = await check('weft')
  const ref = await check('ref')
  t.is(ours.exitCode, 1)
  t.is(ours.json?.code, 110)
  t.is(ours.json?.msg, ref.json?.msg)
  t.is(ours.json?.msg, 'loopback interface is down')
})

test('[kernel] loopback ADD refuses a lo holding a non-loopback address, as the reference', async (t) => {
  requireRoot(); requireReference()
  const sb = sandbox(t, 'lox')
  const pod = freshPod(sb)
  const nl = sb.netlink(pod)
  try {
    const lo = nl.linkByName('lo')
    if (lo === undefined) throw new Error('no lo')
    nl.addAddress(lo.index, '10.9.9.9/32')
  } finally { nl.close() }
  const ours = await sb.cni({ plugin: 'loopback', command: 'ADD', conf: conf('1.0.0'), netns: pod })
  const ref = await sb.cni({ impl: 'ref', plugin: 'loopback', command: 'ADD', conf: conf('1.0.0'), netns: pod })
  t.is(ours.exitCode, 1)
  t.is(ref.exitCode, 1)
  t.is(ours.json?.msg, ref.json?.msg)
  t.is(ours.json?.code, 8)
})

test('[kernel] loopback ADD into a namespace path that does not exist fails with code 103', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'lon')
  const gone = `/run/netns/${sb.id}-missing`
  const r = await sb.cni({ plugin: 'loopback', command: 'ADD', conf: conf('1.0.0'), netns: gone })
  t.is(r.exitCode, 1)
  t.is(r.json?.code, 103)
  t.regex(String(r.json?.msg), /failed to open netns/)
})
