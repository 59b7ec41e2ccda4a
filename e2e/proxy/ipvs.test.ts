/**
 * IPVS mode against the real kernel, in throwaway namespaces. What this
 * kernel can do is done for real: kube-proxy's ipsets through `ipset
 * restore`, IPVS mode's iptables rules through `iptables-restore`, generic
 * netlink family resolution, `weft proxy --proxy-mode ipvs` refusing and
 * `weft proxy --cleanup` cleaning. What it cannot do is skipped, visibly
 * (ava counts skips apart from passes): the IPVS netlink tests where
 * /proc/net/ip_vs is missing, kube-ipvs0 where dummy links are missing. In
 * the ipset/iptables test, the parts the kernel lacks (IPVS, the dummy) run
 * on the fakes, and the test says so in its log.
 */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { execa } from 'execa'
import { LinuxNetNS, isExists, linuxIptables, openGenetlink } from '../../kernel/index.js'
import type { Netlink } from '../../kernel/index.js'
import { fakeIptables, fakeNetlink } from '../../kernel/testing/index.js'
import { DUMMY_DEVICE, ipvsProxier, linuxIpset, linuxIpvs } from '../../proxy/ipvs/index.js'
import type { Ipvs, IpvsProxierInit } from '../../proxy/ipvs/index.js'
import { fakeIpset, fakeIpvs } from '../../proxy/ipvs/testing/index.js'
import { complianceObjects, plan, stateOf, trackerWith } from '../../proxy/testing/index.js'
import { ProxyError } from '../../proxy/tracker/index.js'
import { Sandbox, repoRoot, requireRoot, sandbox } from '../harness/index.js'

const weft = path.join(repoRoot, 'bin', 'weft')
const netns = new LinuxNetNS()

const hasIpvs = fs.existsSync('/proc/net/ip_vs')
const NO_IPVS = 'skipped: this kernel has no IPVS (/proc/net/ip_vs is missing; modprobe ip_vs)'

/** Whether this kernel makes dummy links, tried in a throwaway namespace (never on the machine itself). */
function probeDummy (): boolean {
  if (process.getuid?.() !== 0) return false
  const sb = new Sandbox('dmy')
  try {
    const nl = netns.netlink(sb.ns('probe'))
    try { nl.addDummy({ name: 'probe0' }); return true } catch (e) { if (isExists(e)) return true; return false } finally { nl.close() }
  } finally { sb.cleanupSync() }
}
const hasDummy = probeDummy()
const NO_DUMMY = 'skipped: this kernel has no dummy links (CONFIG_DUMMY), so no kube-ipvs0'

const init4: IpvsProxierInit = { family: 4, clusterCIDRs: [plan.podCIDR], masqueradeAll: false, nodeIPs: [plan.nodeIP], randomFully: true }

/**
 * User chains and rules (iptables-nft leaves empty built-in tables behind once used, which hold nothing; as in
 * proxy.test.ts, they are not compared).
 */
const USER_RULES = "/usr/sbin/iptables-save | grep -E '^(-A|:[A-Z0-9-]+ -)'; true"
const USER_RULES_46 = "for s in iptables-save ip6tables-save; do /usr/sbin/$s | grep -E '^(-A|:[A-Z0-9-]+ -)'; done; true"

/** iptables-save text without `#` lines (what the fake dumps). */
const saved = (text: string): string => text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).join('\n') + '\n'

async function sh (sb: Sandbox, ns: string, cmd: string): Promise<string> {
  return (await sb.exec(ns, 'sh', ['-c', cmd])).stdout
}

/** The namespace's ipsets as `ipset save` prints them, without the hash parameters ipset adds (for comparing with the fake). */
async function ipsetState (sb: Sandbox, ns: string): Promise<string> {
  const text = await sh(sb, ns, '/usr/sbin/ipset save')
  const lines: string[] = []
  for (const l of text.split('\n')) {
    const w = l.split(' ')
    if (w[0] === 'create') lines.push(`create ${w[1]} ${w[2]}`)
    else if (w[0] === 'add') lines.push(l)
  }
  return lines.sort().join('\n') + (lines.length > 0 ? '\n' : '')
}

/** The fake's dump sorted the same way. */
const sortedDump = (d: string): string => { const l = d.split('\n').filter((x) => x !== '').sort(); return l.join('\n') + (l.length > 0 ? '\n' : '') }

interface Kit { ipvs: Ipvs, netlink: Netlink, faked: string[], close: () => void }

/** Real kernel objects where the kernel has them, fakes where it does not (named in `faked`). */
function kitIn (ns: string): Kit {
  const faked: string[] = []
  const closers: Array<() => void> = []
  let ipvs: Ipvs
  if (hasIpvs) {
    const genl = openGenetlink({ netns, path: ns })
    closers.push(() => { genl.close() })
    ipvs = linuxIpvs(genl)
  } else { ipvs = fakeIpvs(); faked.push('IPVS') }
  let netlink: Netlink
  if (hasDummy) { netlink = netns.netlink(ns); closers.push(() => { netlink.close() }) } else { netlink = fakeNetlink(); faked.push('kube-ipvs0 (dummy)') }
  return { ipvs, netlink, faked, close: () => { for (const c of closers) c() } }
}

test.serial('[kernel] ipvs: generic netlink resolves nlctrl; the IPVS family resolves exactly when /proc/net/ip_vs exists, else PROXY_ERR_NO_IPVS', (t) => {
  requireRoot()
  const sb = sandbox(t, 'genl')
  const ns = sb.ns('node')
  const genl = openGenetlink({ netns, path: ns })
  try {
    t.is(genl.familyId('nlctrl'), 16)
    if (hasIpvs) {
      t.deepEqual(linuxIpvs(genl).services(), [], 'a fresh namespace has no virtual servers')
    } else {
      const err = t.throws(() => linuxIpvs(genl), { instanceOf: ProxyError })
      t.is(err?.code, 'PROXY_ERR_NO_IPVS')
      t.regex(err?.message ?? '', /\/proc\/net\/ip_vs is missing.*modprobe ip_vs/)
    }
  } finally { genl.close() }
})

test.serial('[kernel] ipvs: kube-proxy\'s ipsets (ipset restore) and IPVS mode\'s iptables rules applied for real in a fresh netns, equal to the fakes; partial sync; cleanup leaves nothing', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'ipst')
  const ns = sb.ns('node')
  // Someone else's rules and set, which must survive.
  await sh(sb, ns, '/usr/sbin/iptables -N OTHER && /usr/sbin/iptables -A INPUT -j OTHER && /usr/sbin/ipset create other hash:ip && /usr/sbin/ipset add other 198.51.100.1')
  const rulesBefore = await sh(sb, ns, USER_RULES)
  const kit = kitIn(ns)
  t.teardown(kit.close)
  if (kit.faked.length > 0) t.log(`on fakes, as this kernel lacks them: ${kit.faked.join(', ')}; ipsets and iptables are real`)
  const { services, slices } = complianceObjects()
  const tr = trackerWith(services, slices)
  const ipset = linuxIpset()
  const ipt = linuxIptables(4)
  const p = ipvsProxier(init4, { ipvs: kit.ipvs, netlink: kit.netlink, ipset, iptables: ipt })
  // The oracle: the same sync on fakes only.
  const fk = { ipvs: fakeIpvs(), netlink: fakeNetlink(), ipset: fakeIpset(), iptables: fakeIptables(4, '*filter\n:OTHER - [0:0]\n-A INPUT -j OTHER\nCOMMIT\n') }
  fk.ipset.restore('create other hash:ip family inet\nadd other 198.51.100.1\n')
  const oracle = ipvsProxier(init4, fk)
  netns.run(ns, () => p.sync(stateOf(tr, 4), 'full'))
  oracle.sync(stateOf(tr, 4), 'full')
  t.is(p.lastIpsetScript, oracle.lastIpsetScript)
  t.is(await ipsetState(sb, ns), sortedDump(fk.ipset.dump()))
  t.is(saved(await sh(sb, ns, '/usr/sbin/iptables-save -t nat')), fk.iptables.dump('nat'))
  t.is(saved(await sh(sb, ns, '/usr/sbin/iptables-save -t filter')), fk.iptables.dump('filter'))
  // A second full sync (a restart) changes nothing: the script is empty.
  netns.run(ns, () => p.sync(stateOf(tr, 4), 'full'))
  t.is(p.lastIpsetScript, '')
  // A partial sync: a service goes, its entries go, the rules are not rewritten.
  tr.event({ type: 'DELETED', kind: 'Service', object: services[0]! })
  const changed = tr.checkout().changed
  netns.run(ns, () => p.sync(stateOf(tr, 4), changed))
  t.is(p.lastIpsetScript, 'del KUBE-CLUSTER-IP 172.30.0.41,tcp:80\ndel KUBE-IPVS-IPS 172.30.0.41\n')
  t.is(p.lastIptablesText, '')
  t.false((await sh(sb, ns, '/usr/sbin/ipset save')).includes('172.30.0.41'))
  // Cleanup: our chains, jumps and sets gone; the other rules and set as they were.
  netns.run(ns, () => { p.cleanup() })
  t.is(await sh(sb, ns, USER_RULES), rulesBefore)
  t.is(await ipsetState(sb, ns), sortedDump('create other hash:ip\nadd other 198.51.100.1\n'))
  t.is(kit.netlink.linkByName(DUMMY_DEVICE), undefined)
})

;(hasDummy ? test.serial : test.skip)(`[kernel] ipvs: kube-ipvs0 is a dummy holding the service addresses (/32), unbound as services go${hasDummy ? '' : ` — ${NO_DUMMY}`}`, async (t) => {
  requireRoot()
  const sb = sandbox(t, 'dmy')
  const ns = sb.ns('node')
  const kit = kitIn(ns)
  t.teardown(kit.close)
  const { services, slices } = complianceObjects()
  const tr = trackerWith(services, slices)
  const p = ipvsProxier(init4, { ipvs: kit.ipvs, netlink: kit.netlink, ipset: fakeIpset(), iptables: fakeIptables(4) })
  netns.run(ns, () => p.sync(stateOf(tr, 4), 'full'))
  const addrs = async (): Promise<string> => (await sh(sb, ns, `ip -o -4 addr show dev ${DUMMY_DEVICE} | awk '{print $4}' | sort`)).trim()
  t.regex(await sh(sb, ns, `ip -d link show ${DUMMY_DEVICE}`), /dummy/)
  t.is(await addrs(), [...p.desired.addresses].map((a) => `${a}/32`).sort().join('\n'))
  tr.event({ type: 'DELETED', kind: 'Service', object: services[0]! })
  netns.run(ns, () => p.sync(stateOf(tr, 4), tr.checkout().changed))
  t.false((await addrs()).includes('172.30.0.41/'))
  netns.run(ns, () => { p.cleanup() })
  t.is((await sh(sb, ns, `ip link show ${DUMMY_DEVICE} 2>&1 || true`)).includes('does not exist'), true)
})

;(hasIpvs ? test.serial : test.skip)(`[kernel] ipvs: virtual and real servers over generic netlink, read back equal to the fake; cleanup${hasIpvs ? '' : ` — ${NO_IPVS}`}`, (t) => {
  requireRoot()
  const sb = sandbox(t, 'ipvs')
  const ns = sb.ns('node')
  const kit = kitIn(ns)
  t.teardown(kit.close)
  const { services, slices } = complianceObjects()
  const tr = trackerWith(services, slices)
  const fk = fakeIpvs()
  const p = ipvsProxier(init4, { ipvs: kit.ipvs, netlink: kit.netlink, ipset: fakeIpset(), iptables: fakeIptables(4) })
  const oracle = ipvsProxier(init4, { ipvs: fk, netlink: fakeNetlink(), ipset: fakeIpset(), iptables: fakeIptables(4) })
  netns.run(ns, () => p.sync(stateOf(tr, 4), 'full'))
  oracle.sync(stateOf(tr, 4), 'full')
  // What the kernel holds, read back through the codec, is what the fake holds.
  const view = (ipvs: Ipvs): string => ipvs.services().map((s) => `${s.protocol} ${s.address}:${s.port} ${s.scheduler} ${s.flags & 1} ${s.timeout} ` +
    ipvs.dests(s).map((d) => `${d.address}:${d.port}/${d.weight}`).sort().join(',')).sort().join('\n')
  t.is(view(kit.ipvs), view(fk))
  netns.run(ns, () => { p.cleanup() })
  t.deepEqual(kit.ipvs.services(), [])
})

;(hasIpvs ? test.skip : test.serial)(`[kernel] weft proxy --proxy-mode ipvs exits non-zero with PROXY_ERR_NO_IPVS on a kernel without IPVS${hasIpvs ? ' — skipped: this kernel has IPVS' : ''}`, async (t) => {
  requireRoot()
  const sb = sandbox(t, 'nopv')
  const ns = sb.ns('node')
  const file = path.join(sb.dir, 'svcs.json')
  fs.writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [] }))
  const r = await execa('ip', ['netns', 'exec', sb.nameOf(ns), process.execPath, weft, 'proxy', '--proxy-mode', 'ipvs', '--services-file', file,
    '--healthz-bind-address', '127.0.0.1:0', '--metrics-bind-address', '127.0.0.1:0'], { reject: false, timeout: 30_000 })
  t.is(r.exitCode, 1)
  t.regex(String(r.stderr), /\[PROXY_ERR_NO_IPVS\] IPVS is not available in this kernel.*modprobe ip_vs/)
  // Nothing was left behind: no chains, no sets, no kube-ipvs0.
  t.is(await sh(sb, ns, '/usr/sbin/iptables-save | grep -c KUBE- || true'), '0')
  t.is(await sh(sb, ns, '/usr/sbin/ipset list -n'), '')
})

test.serial('[kernel] weft proxy --cleanup removes IPVS mode\'s chains and ipsets (and kube-ipvs0 where there is one), leaves other rules, and succeeds without IPVS', async (t) => {
  requireRoot()
  const sb = sandbox(t, 'clean')
  const ns = sb.ns('node')
  await sh(sb, ns, '/usr/sbin/iptables -N OTHER && /usr/sbin/iptables -A INPUT -j OTHER')
  const before = await sh(sb, ns, USER_RULES_46)
  const kit = kitIn(ns)
  t.teardown(kit.close)
  const { services, slices } = complianceObjects()
  // Leftovers of both families, as an IPVS-mode run would leave them.
  netns.run(ns, () => {
    ipvsProxier(init4, { ipvs: kit.ipvs, netlink: kit.netlink, ipset: linuxIpset(), iptables: linuxIptables(4) }).sync(stateOf(trackerWith(services, slices), 4), 'full')
    ipvsProxier({ family: 6, clusterCIDRs: [], masqueradeAll: true, nodeIPs: [] }, { ipvs: kit.ipvs, netlink: kit.netlink, ipset: linuxIpset(), iptables: linuxIptables(6) }).sync(stateOf(trackerWith([], []), 6), 'full')
  })
  t.not(await sh(sb, ns, '/usr/sbin/ipset list -n'), '')
  const r = await execa('ip', ['netns', 'exec', sb.nameOf(ns), process.execPath, weft, 'proxy', '--cleanup'], { reject: false, timeout: 60_000 })
  t.is(r.exitCode, 0, String(r.stderr))
  t.regex(String(r.stdout), /removed: .*IPVS iptables chains \(IPv4\).*ipsets \(IPv4\).*IPVS iptables chains \(IPv6\).*ipsets \(IPv6\)/)
  if (!hasIpvs) t.regex(String(r.stdout), /skipped: IPVS virtual servers \(IPVS is not available in this kernel/)
  t.is(await sh(sb, ns, '/usr/sbin/ipset list -n'), '')
  t.is(await sh(sb, ns, USER_RULES_46), before)
  t.is(await sh(sb, ns, `ip link show ${DUMMY_DEVICE} 2>/dev/null || true`), '')
  // Idempotent: a second run finds nothing.
  const again = await execa('ip', ['netns', 'exec', sb.nameOf(ns), process.execPath, weft, 'proxy', '--cleanup'], { reject: false, timeout: 60_000 })
  t.is(again.exitCode, 0)
  t.regex(String(again.stdout), /nothing to clean up/)
})

