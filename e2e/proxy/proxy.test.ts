/**
 * `weft proxy` against the real kernel, per mode (nftables, iptables): a
 * node namespace running the proxy from a watched manifest directory,
 * backend pods and a client pod linked to it by veths, and an "external"
 * namespace on the node's LAN. Connections are real TCP/UDP.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { execa } from 'execa'

interface Proc extends Promise<unknown> { kill: (signal?: NodeJS.Signals) => boolean }
import { repoRoot, requireRoot, sandbox, waitFor } from '../harness/index.js'
import type { Sandbox } from '../harness/index.js'

const NFT = '/usr/sbin/nft'
const weft = path.join(repoRoot, 'bin', 'weft')

const serverJs = `
const http = require('http'), dgram = require('dgram')
const name = process.argv[1]
const h = (req, res) => res.end(name + ' ' + req.socket.remoteAddress)
http.createServer(h).listen(8080, '0.0.0.0')
http.createServer(h).listen({ port: 8080, host: '::', ipv6Only: true })
const u = dgram.createSocket('udp4'); u.on('message', (m, r) => u.send(name, r.port, r.address)); u.bind(5353)
`
const httpClientJs = `
const http = require('http')
const [host, port, n] = process.argv.slice(1)
const out = []
const one = (i) => { if (i >= Number(n)) { console.log(JSON.stringify(out)); return }
  const req = http.get({ host, port: Number(port), agent: false, timeout: 2000 }, (res) => { let b = ''; res.on('data', (d) => b += d); res.on('end', () => { out.push(b); one(i + 1) }) })
  req.on('timeout', () => req.destroy(new Error('timeout')))
  req.on('error', (e) => { out.push('ERR ' + e.message); one(i + 1) }) }
one(0)
`
const udpClientJs = `
const dgram = require('dgram')
const [host, port, n] = process.argv.slice(1)
const s = dgram.createSocket('udp4'); const out = []
s.bind(40000, () => { const send = (i) => { if (i >= Number(n)) { console.log(JSON.stringify(out)); s.close(); return }
  const t = setTimeout(() => { out.push('TIMEOUT'); send(i + 1) }, 700)
  s.once('message', (m) => { clearTimeout(t); out.push(String(m)); send(i + 1) })
  s.send('x', Number(port), host) }; send(0) })
`

interface Env {
  sb: Sandbox
  node: string
  client: string
  ext: string
  backends: string[]
  dir: string
  procs: Proc[]
}


async function sh (sb: Sandbox, ns: string, cmd: string): Promise<string> {
  return (await sb.exec(ns, 'sh', ['-c', cmd])).stdout
}

/** node ns; pods on veths: client 10.1.0.2, backends 10.180.<i>.2; external 192.168.0.10 on the node's LAN 192.168.0.2/24. */
async function topology (t: ExecutionContext, label: string): Promise<Env> {
  requireRoot()
  const sb = sandbox(t, label)
  const procs: Proc[] = []
  t.teardown(() => { for (const p of procs) p.kill('SIGKILL') })
  const node = sb.node
  // Dual stack: each link also carries fd00:<n>::1 (node) and fd00:<n>::2 (pod).
  const link = async (ns: string, ifname: string, nodeAddr: string, podAddr: string, v6net: string): Promise<void> => {
    await sh(sb, node, `ip link add ${ifname} type veth peer name eth0 netns ${sb.nameOf(ns)} && ip addr add ${nodeAddr} dev ${ifname} && ip -6 addr add ${v6net}::1/64 dev ${ifname} nodad && ip link set ${ifname} up`)
    await sh(sb, ns, `ip addr add ${podAddr} dev eth0 && ip -6 addr add ${v6net}::2/64 dev eth0 nodad && ip link set eth0 up && ip route add default via ${nodeAddr.split('/')[0]} && ip -6 route add default via ${v6net}::1`)
  }
  const client = sb.ns('cli')
  await link(client, 'vcli', '10.1.0.1/24', '10.1.0.2/24', 'fd00:10')
  const backends: string[] = []
  for (let i = 1; i <= 3; i++) {
    const b = sb.ns(`b${i}`)
    await link(b, `vb${i}`, `10.180.${i}.1/24`, `10.180.${i}.2/24`, `fd00:18${i}`)
    backends.push(b)
    const p = execa('ip', ['netns', 'exec', sb.nameOf(b), process.execPath, '-e', serverJs, `b${i}`], { reject: false }) as unknown as Proc
    procs.push(p)
  }
  const ext = sb.ns('ext')
  await sh(sb, node, `ip link add vlan0 type veth peer name eth0 netns ${sb.nameOf(ext)} && ip addr add 192.168.0.2/24 dev vlan0 && ip link set vlan0 up`)
  await sh(sb, ext, 'ip addr add 192.168.0.10/24 dev eth0 && ip link set eth0 up && ip route add default via 192.168.0.2')
  // A real node has a default route; without one, node-originated traffic to a ClusterIP fails routing before the nat hook.
  await sh(sb, node, 'sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 && ip route add default via 192.168.0.10')
  const dir = path.join(sb.dir, 'manifests')
  fs.mkdirSync(dir)
  const env: Env = { sb, node, client, ext, backends, dir, procs }
  for (const b of backends) await waitFor('backend up', async () => (await sh(sb, b, 'cat /proc/net/tcp /proc/net/tcp6')).split(':1F90').length > 2)
  return env
}

const eps = (ips: string[]): object[] => ips.map((ip) => ({ addresses: [ip], nodeName: 'node-a' }))

function writeManifests (env: Env, svcs: Array<{ name: string, clusterIP: string, nodePort?: number, affinity?: boolean, udp?: boolean, backends: string[] }>): void {
  const items: object[] = []
  for (const s of svcs) {
    items.push({
      apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name: s.name },
      spec: {
        type: s.nodePort !== undefined ? 'NodePort' : 'ClusterIP', clusterIP: s.clusterIP,
        ports: [s.udp === true ? { name: 'dns', protocol: 'UDP', port: 53 } : { name: 'http', protocol: 'TCP', port: 80, ...(s.nodePort !== undefined ? { nodePort: s.nodePort } : {}) }],
        ...(s.affinity === true ? { sessionAffinity: 'ClientIP' } : {})
      }
    })
    items.push({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
      metadata: { namespace: 'default', name: `${s.name}-1`, labels: { 'kubernetes.io/service-name': s.name } },
      ports: [s.udp === true ? { name: 'dns', protocol: 'UDP', port: 5353 } : { name: 'http', protocol: 'TCP', port: 8080 }],
      endpoints: eps(s.backends)
    })
  }
  const tmp = path.join(env.dir, '.svcs.json.tmp')
  fs.writeFileSync(tmp, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }))
  fs.renameSync(tmp, path.join(env.dir, 'svcs.json'))
}

/**
 * The node's rules: nft tables other than the ones iptables-nft creates,
 * plus iptables rules and user chains (iptables-nft leaves empty built-in
 * tables behind once used, as kube-proxy's cleanup does; they hold nothing).
 */
async function rulesetText (env: Env): Promise<string> {
  const nft = await sh(env.sb, env.node, `for t in $(${NFT} list tables | awk '{print $2"/"$3}'); do case $t in ip/filter|ip/nat|ip6/filter|ip6/nat|ip/mangle|ip6/mangle) ;; *) ${NFT} list table $(echo $t | tr / ' ');; esac; done`)
  const ipt = await sh(env.sb, env.node, "for s in iptables-save ip6tables-save; do $s | grep -E '^(-A|:[A-Z0-9-]+ -)' ; done; true")
  return nft + ipt
}

function startProxy (env: Env, mode: string, clusterCidr = '10.0.0.0/8'): Proc {
  const p = execa('ip', ['netns', 'exec', env.sb.nameOf(env.node), process.execPath, weft, 'proxy',
    '--proxy-mode', mode, '--watch-dir', env.dir, '--watch-ms', '100', '--hostname-override', 'node-a',
    '--cluster-cidr', clusterCidr, '--iptables-min-sync-period', '0s', '--iptables-sync-period', '30s',
    '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249', '--log-level', 'warn'], { reject: false }) as unknown as Proc
  env.procs.push(p)
  return p
}

async function httpGets (env: Env, from: string, host: string, port: number, n: number): Promise<string[]> {
  return JSON.parse(await sh(env.sb, from, `${process.execPath} -e "$0" ${host} ${port} ${n}`.replace('"$0"', `'${httpClientJs.replace(/'/g, "'\\''")}'`))) as string[]
}

async function udpSends (env: Env, host: string, n: number): Promise<string[]> {
  return JSON.parse(await sh(env.sb, env.client, `${process.execPath} -e '${udpClientJs.replace(/'/g, "'\\''")}' ${host} 53 ${n}`)) as string[]
}

const names = (bodies: string[]): string[] => [...new Set(bodies.map((b) => b.split(' ')[0] ?? ''))].sort()

for (const mode of ['nftables', 'iptables']) {
  test.serial(`[kernel] ${mode}: ClusterIP and NodePort spread over endpoints, affinity sticks, removed endpoints stop, UDP conntrack flushed, --cleanup restores`, async (t) => {
    const env = await topology(t, mode.slice(0, 3))
    // Rules that are not the proxy's must survive it and its cleanup.
    await sh(env.sb, env.node, `iptables -t nat -A POSTROUTING -s 10.99.0.0/16 -j MASQUERADE && ${NFT} add table inet other && ${NFT} add chain inet other c && ${NFT} add rule inet other c counter`)
    const before = await rulesetText(env)
    t.regex(before, /10\.99\.0\.0\/16/)
    const svcs = [
      { name: 'web', clusterIP: '172.30.0.10', nodePort: 30080, backends: ['10.180.1.2', '10.180.2.2'] },
      { name: 'sticky', clusterIP: '172.30.0.11', affinity: true, backends: ['10.180.1.2', '10.180.2.2', '10.180.3.2'] },
      { name: 'dns', clusterIP: '172.30.0.53', udp: true, backends: ['10.180.1.2'] }
    ]
    writeManifests(env, svcs)
    const proxy = startProxy(env, mode)
    await waitFor('rules programmed', async () => (await rulesetText(env)).includes('10.180.2.2'))

    // ClusterIP from a pod: both endpoints, pod source kept.
    const ci = await httpGets(env, env.client, '172.30.0.10', 80, 40)
    t.deepEqual(names(ci), ['b1', 'b2'], ci.join('|'))
    t.true(ci.every((b) => b.endsWith(' 10.1.0.2')), 'pod traffic to a ClusterIP is not masqueraded')
    // NodePort from outside: both endpoints, masqueraded to the node's address on the backend link.
    const np = await httpGets(env, env.ext, '192.168.0.2', 30080, 40)
    t.deepEqual(names(np), ['b1', 'b2'], np.join('|'))
    t.true(np.every((b) => /^b\d 10\.180\.\d\.1$/.test(b)), `NodePort traffic is masqueraded: ${np.join('|')}`)
    // Hairpin: a backend reaching its own service lands on itself sometimes, masqueraded so the reply comes back.
    const hp = await httpGets(env, env.backends[0]!, '172.30.0.10', 80, 30)
    t.deepEqual(names(hp), ['b1', 'b2'], hp.join('|'))
    t.true(hp.filter((b) => b.startsWith('b1 ')).every((b) => b === 'b1 10.180.1.1'), `hairpin masqueraded: ${hp.join('|')}`)
    // From the node itself.
    t.deepEqual(names(await httpGets(env, env.node, '172.30.0.10', 80, 20)), ['b1', 'b2'])
    // Affinity: every connection of one client lands on one backend.
    const st = await httpGets(env, env.client, '172.30.0.11', 80, 20)
    t.is(names(st).length, 1, st.join('|'))

    // UDP: an entry to b1, then the endpoint moves to b2; the same client socket must reach b2.
    t.deepEqual(await udpSends(env, '172.30.0.53', 3), ['b1', 'b1', 'b1'])
    const ct = await sh(env.sb, env.node, '/usr/sbin/conntrack -L -p udp 2>/dev/null')
    t.regex(ct, /dst=172\.30\.0\.53 .*sport=40000/)

    // Remove b2 from web, move dns to b2.
    writeManifests(env, [{ ...svcs[0]!, backends: ['10.180.1.2'] }, svcs[1]!, { ...svcs[2]!, backends: ['10.180.2.2'] }])
    await waitFor('endpoints changed', async () => /10\.180\.2\.2( \. |:)5353/.test(await rulesetText(env)))
    const after = await httpGets(env, env.client, '172.30.0.10', 80, 20)
    t.deepEqual(names(after), ['b1'], after.join('|'))
    t.deepEqual(await udpSends(env, '172.30.0.53', 2), ['b2', 'b2'])

    // /healthz and /metrics like kube-proxy's.
    const hz = await sh(env.sb, env.node, `${process.execPath} -e "fetch('http://127.0.0.1:10256/healthz').then(async r => console.log(r.status, await r.text()))"`)
    t.regex(hz, /^200 .*"healthy":true/)
    const metrics = await sh(env.sb, env.node, `${process.execPath} -e "fetch('http://127.0.0.1:10249/metrics').then(async r => console.log(await r.text()))"`)
    t.regex(metrics, /kubeproxy_sync_proxy_rules_duration_seconds_count [1-9]/)

    proxy.kill('SIGTERM')
    await proxy
    t.not(await rulesetText(env), before)
    const cl = await sh(env.sb, env.node, `${process.execPath} ${weft} proxy --cleanup`)
    t.regex(cl, /removed: /)
    t.is(await rulesetText(env), before, '--cleanup leaves the tables as they were')
  })
}

for (const mode of ['nftables', 'iptables']) {
  test.serial(`[kernel] ${mode}: an IPv6 ClusterIP (table ip6 / ip6tables) spreads over IPv6 endpoints, pod source kept`, async (t) => {
    const env = await topology(t, `6${mode.slice(0, 2)}`)
    const items = [
      { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name: 'web6' }, spec: { clusterIP: 'fd00:30::10', clusterIPs: ['fd00:30::10'], ipFamilies: ['IPv6'], ports: [{ name: 'http', protocol: 'TCP', port: 80 }] } },
      { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv6', metadata: { namespace: 'default', name: 'web6-1', labels: { 'kubernetes.io/service-name': 'web6' } }, ports: [{ name: 'http', protocol: 'TCP', port: 8080 }], endpoints: eps(['fd00:181::2', 'fd00:182::2']) }
    ]
    fs.writeFileSync(path.join(env.dir, 'svcs.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items }))
    const proxy = startProxy(env, mode, 'fd00:10::/64')
    await waitFor('IPv6 rules programmed', async () => (await rulesetText(env)).includes('fd00:182::2'))
    // The first IPv6 connection can stall on neighbour discovery: wait for one answer before counting the spread.
    await waitFor('a first answer over IPv6', async () => !(await httpGets(env, env.client, 'fd00:30::10', 80, 1)).some((x) => x.startsWith('ERR')))
    const r = await httpGets(env, env.client, 'fd00:30::10', 80, 30)
    t.deepEqual(names(r), ['b1', 'b2'], r.join('|'))
    t.true(r.every((b) => b.endsWith(' fd00:10::2')), r.join('|'))
    proxy.kill('SIGTERM')
    await proxy
  })
}

/** What kube-proxy (iptables mode) and the kubelet leave on a node: a stale service, canaries, kubelet's own chains. */
const kubeProxyNode = `*mangle
:KUBE-KUBELET-CANARY - [0:0]
:KUBE-PROXY-CANARY - [0:0]
COMMIT
*filter
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-KUBELET-CANARY - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-CANARY - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-SERVICES - [0:0]
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A INPUT -j KUBE-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -j KUBE-FIREWALL
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-SERVICES -d 172.30.9.8/32 -p tcp -m comment --comment "default/gone:http has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
COMMIT
*nat
:KUBE-KUBELET-CANARY - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-PROXY-CANARY - [0:0]
:KUBE-SEP-BBBBBBBBBBBBBBBB - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-SEP-BBBBBBBBBBBBBBBB -p tcp -m comment --comment "default/old:http" -m tcp -j DNAT --to-destination 10.180.3.2:8080
-A KUBE-SERVICES -d 172.30.9.9/32 -p tcp -m comment --comment "default/old:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-AAAAAAAAAAAAAAAA
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-SVC-AAAAAAAAAAAAAAAA -m comment --comment "default/old:http -> 10.180.3.2:8080" -j KUBE-SEP-BBBBBBBBBBBBBBBB
COMMIT
`

test.serial('[kernel] a node moving from kube-proxy to weft proxy (iptables), then to nftables mode, then --cleanup: the old service goes, the kubelet\'s chains stay, traffic flows at each step', async (t) => {
  const env = await topology(t, 'mig')
  await sh(env.sb, env.node, `printf '%s' '${kubeProxyNode.replace(/'/g, "'\\''")}' | iptables-restore`)
  const chains = async (): Promise<string> => await sh(env.sb, env.node, "for tb in mangle filter nat; do iptables-save -t $tb | grep -E '^(:|-A)' | sed \"s/^/$tb /\"; done; true")
  t.regex(await chains(), /172\.30\.9\.9/)
  writeManifests(env, [{ name: 'web', clusterIP: '172.30.0.10', backends: ['10.180.1.2', '10.180.2.2'] }])

  // kube-proxy → weft proxy in iptables mode: its service chains and rules are replaced by ours.
  let proxy = startProxy(env, 'iptables')
  await waitFor('our rules', async () => (await chains()).includes('10.180.2.2'))
  t.deepEqual(names(await httpGets(env, env.client, '172.30.0.10', 80, 30)), ['b1', 'b2'])
  let now = await chains()
  t.notRegex(now, /AAAAAAAAAAAAAAAA|BBBBBBBBBBBBBBBB|172\.30\.9\.[89]/, 'kube-proxy\'s stale services are gone')
  for (const kept of ['mangle :KUBE-KUBELET-CANARY', 'nat :KUBE-KUBELET-CANARY', 'filter :KUBE-KUBELET-CANARY', 'filter -A KUBE-FIREWALL ! -s 127.0.0.0/8']) t.true(now.includes(kept), `kept: ${kept}`)
  t.is(now.split('\n').filter((l) => l.includes('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')).length, 1, 'one jump, not two')
  proxy.kill('SIGTERM')
  await proxy

  // weft proxy switching to nftables mode: the iptables service rules go (the kubelet's stay), traffic still flows.
  proxy = startProxy(env, 'nftables')
  await waitFor('nftables rules', async () => (await sh(env.sb, env.node, `${NFT} list table ip kube-proxy 2>/dev/null; true`)).includes('10.180.2.2'))
  await waitFor('iptables service rules gone', async () => !(await chains()).includes('KUBE-SVC-'))
  t.deepEqual(names(await httpGets(env, env.client, '172.30.0.10', 80, 30)), ['b1', 'b2'])
  now = await chains()
  t.notRegex(now, /KUBE-(SERVICES|NODEPORTS|POSTROUTING|MARK-MASQ|SVC-|SEP-|EXT-)/, `no iptables-mode leftovers:\n${now}`)
  t.true(now.includes('filter :KUBE-KUBELET-CANARY') && now.includes('filter -A KUBE-FIREWALL'), 'the kubelet\'s chains stay')
  proxy.kill('SIGTERM')
  await proxy

  // --cleanup: nothing of any mode is left; the kubelet's chains are.
  await sh(env.sb, env.node, `${process.execPath} ${weft} proxy --cleanup`)
  t.is((await sh(env.sb, env.node, `${NFT} list table ip kube-proxy 2>&1; true`)).includes('table ip kube-proxy {'), false)
  now = await chains()
  t.notRegex(now, /KUBE-(SERVICES|NODEPORTS|POSTROUTING|MARK-MASQ|SVC-|SEP-|EXT-|PROXY-FIREWALL|EXTERNAL-SERVICES|FORWARD)/, `after --cleanup:\n${now}`)
  t.true(now.includes('nat :KUBE-KUBELET-CANARY'))
})
