/**
 * `weft`: one CLI, one subcommand per daemon or tool. Daemons arrive with
 * their issues; today it installs and inspects the CNI plugins and cleans up
 * after the netns harness.
 */
import { Command, InvalidArgumentError } from 'commander'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnSync } from 'node:child_process'
import { LinuxNetNS } from '../../kernel/index.js'
import { demo } from './demo.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const cniBin = path.join(root, 'bin', 'cni')
const pluginTypes = ['bridge', 'flannel', 'host-local', 'loopback', 'portmap']
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }

const program = new Command()
program.name('weft').description('Weft: Kubernetes networking toolkit').version(pkg.version)

const cni = program.command('cni').description('the CNI plugins (bridge, flannel, host-local, loopback, portmap)')

cni.command('install')
  .description('install the plugin binary and its per-type links into a CNI bin directory')
  .option('--dir <dir>', 'CNI bin directory', '/opt/cni/bin')
  .option('--types <list>', 'comma-separated plugin types to link', pluginTypes.join(','))
  .option('--force', 'replace existing plugins of the same names (e.g. the reference ones)', false)
  .action((opts: { dir: string, types: string, force: boolean }) => {
    const src = path.join(cniBin, 'weft-cni')
    if (!fs.existsSync(src)) fail(`${src} is missing: run \`npm run build\` first`)
    const types = opts.types.split(',').map((s) => s.trim()).filter((s) => s !== '')
    for (const t of types) if (!pluginTypes.includes(t)) fail(`unknown plugin type "${t}" (known: ${pluginTypes.join(', ')})`)
    fs.mkdirSync(opts.dir, { recursive: true })
    const clash = types.filter((t) => {
      try { return fs.realpathSync(path.join(opts.dir, t)) !== fs.realpathSync(path.join(opts.dir, 'weft-cni')) } catch { return fs.existsSync(path.join(opts.dir, t)) }
    })
    if (clash.length > 0 && !opts.force) fail(`${clash.map((t) => path.join(opts.dir, t)).join(', ')} already exist; pass --force to replace them`)
    // Copy to a temp name and rename, so a runtime exec'ing the plugin right now never sees half a file.
    const tmp = path.join(opts.dir, `.weft-cni.${process.pid}`)
    fs.copyFileSync(src, tmp)
    fs.chmodSync(tmp, 0o755)
    fs.renameSync(tmp, path.join(opts.dir, 'weft-cni'))
    for (const t of types) {
      const link = path.join(opts.dir, t)
      const tmpLink = `${link}.weft-new`
      try { fs.unlinkSync(tmpLink) } catch {}
      fs.symlinkSync('weft-cni', tmpLink)
      fs.renameSync(tmpLink, link)
    }
    process.stdout.write(`installed ${path.join(opts.dir, 'weft-cni')} as ${types.join(', ')}\n`)
  })

cni.command('version')
  .description('ask each built plugin for its supported CNI versions')
  .action(() => {
    for (const t of pluginTypes) {
      const r = spawnSync(path.join(cniBin, t), [], { env: { CNI_COMMAND: 'VERSION' }, input: '{"cniVersion":"1.1.0"}', encoding: 'utf8' })
      if (r.status !== 0) fail(`${t}: ${r.error?.message ?? r.stdout}`)
      const v = JSON.parse(r.stdout) as { supportedVersions: string[] }
      process.stdout.write(`${t.padEnd(11)} ${v.supportedVersions.join(' ')}\n`)
    }
  })

program.command('demo')
  .description('attach two pods in throwaway namespaces with the CNI plugins, show them talking, clean up')
  .option('--keep', 'keep the namespaces until Ctrl-C', false)
  .action(async (opts: { keep: boolean }) => {
    if (process.getuid?.() !== 0) fail('the demo creates network namespaces: run it as root')
    await demo({ cniBin, keep: opts.keep })
  })

program.command('vxland')
  .description('flannel-compatible VXLAN overlay agent (flag names as flanneld; FLANNELD_* environment variables work too)')
  .option('--etcd-endpoints <urls>', 'comma-separated etcd client URLs', 'http://127.0.0.1:2379')
  .option('--etcd-prefix <prefix>', 'etcd prefix of the network configuration and leases', '/coreos.com/network')
  .option('--kube-subnet-mgr', 'take subnets from Kubernetes nodes instead of etcd', false)
  .option('--kubeconfig-file <file>', 'kubeconfig for --kube-subnet-mgr')
  .option('--iface <name>', 'underlay interface (default: the default route\'s)')
  .option('--public-ip <ip>', 'IP other nodes reach this one at (default: the underlay\'s address)')
  .option('--subnet-file <file>', 'where to write subnet.env', '/run/flannel/subnet.env')
  .option('--ip-masq', 'masquerade traffic leaving the cluster network', false)
  .option('--net-config-path <file>', 'net-conf.json for --kube-subnet-mgr', '/etc/kube-flannel/net-conf.json')
  .option('--no-iptables-forward-rules', 'do not add FORWARD accept rules for the cluster network')
  .option('--healthz-ip <ip>', 'address of /healthz and /readyz', '0.0.0.0')
  .option('--healthz-port <port>', 'port of /healthz and /readyz (0: off)', (v) => parsePort(v), 0)
  .option('--resync-ms <ms>', 'reconcile the kernel at least this often', (v) => parsePositive(v, '--resync-ms'), 1000)
  .option('--iptables-resync <seconds>', 'check the masquerade/forward rules this often', (v) => parsePositive(v, '--iptables-resync'), 5)
  .option('--log-level <level>', 'pino log level', 'info')
  .action(async (raw: Record<string, unknown>, cmd: Command) => {
    const vx = await import('../../routing/vxlan/index.js')
    // FLANNELD_* variables apply where the command line left a default.
    const env = vx.envOverrides(process.env)
    const opts: Record<string, unknown> = { ...vx.vxlandDefaults, ...raw }
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined || cmd.getOptionValueSource(k) === 'cli' || !(k in vx.vxlandDefaults)) continue
      const def = (vx.vxlandDefaults as unknown as Record<string, unknown>)[k]
      opts[k] = typeof def === 'boolean' ? v === 'true' || v === '1' : typeof def === 'number' ? Number(v) : v
    }
    try {
      await vx.runVxland(opts as unknown as Parameters<typeof vx.runVxland>[0])
    } catch (e) {
      const code = (e as { code?: string }).code
      fail(`vxland: ${code !== undefined ? `[${code}] ` : ''}${(e as Error).message}`)
    }
    process.exit(0)
  })

program.command('bgpd')
  .description('BGP speaker and route reflector (configuration schema: docs/bgp.md)')
  .requiredOption('--config <file>', 'YAML or JSON configuration')
  .option('--log-level <level>', 'pino log level', 'info')
  .action(async (opts: { config: string, logLevel: string }) => {
    const bgp = await import('../../routing/bgp/index.js')
    try {
      await bgp.runBgpd(opts)
    } catch (e) {
      const code = (e as { code?: string }).code
      fail(`bgpd: ${code !== undefined ? `[${code}] ` : ''}${(e as Error).message}`)
    }
    process.exit(0)
  })

program.command('bgp')
  .description('talk to the local weft bgpd: neighbors | rib [prefix] | announce <prefix> | withdraw <prefix> | refresh <peer> | reset <peer> | reload | shutdown')
  .argument('<command>')
  .argument('[args...]')
  .option('--socket <path>', 'API socket of bgpd (default: $WEFT_BGPD_SOCKET or /run/weft/bgpd.sock)')
  .option('--json', 'print JSON', false)
  .option('--family <ipv4|ipv6>', 'rib: only this family')
  .option('--next-hop <ip>', 'announce: next hop')
  .option('--community <c...>', 'announce: communities (ASN:VALUE)')
  .option('--local-pref <n>', 'announce: LOCAL_PREF')
  .option('--med <n>', 'announce: MULTI_EXIT_DISC')
  .option('--graceful', 'shutdown: keep kernel routes, close sessions without NOTIFICATION (RFC 4724)', false)
  .action(async (command: string, args: string[], opts: Record<string, unknown>) => {
    const bgp = await import('../../routing/bgp/index.js')
    try {
      await bgp.bgpCli(command, args, opts)
    } catch (e) {
      const code = (e as { code?: string }).code
      fail(`bgp: ${code !== undefined ? `[${code}] ` : ''}${(e as Error).message}`)
    }
  })

program.command('apiserver')
  .description('Kubernetes-compatible API server (flag names as kube-apiserver)')
  .option('--secure-port <port>', 'HTTPS port', (v) => parsePort(v), 6443)
  .option('--bind-address <ip>', 'address to listen on', '0.0.0.0')
  .option('--advertise-address <ip>', 'address other components reach this server at (default: the bind address or the first non-loopback IPv4)')
  .option('--data-dir <dir>', 'CA, serving certificate, tokens.csv, admin.kubeconfig and the embedded store', '/var/lib/weft/apiserver')
  .option('--etcd-servers <urls>', 'comma-separated etcd v3 client URLs: store everything in etcd instead of the embedded store')
  .option('--etcd-prefix <prefix>', 'prefix of every key in etcd (kube-apiserver writes /registry/... under it)')
  .option('--etcd-cafile <file>', 'CA bundle that signs the etcd servers\' certificates (needed for https:// etcd servers)')
  .option('--etcd-certfile <file>', 'client certificate for etcd (with --etcd-keyfile; for etcd\'s --client-cert-auth)')
  .option('--etcd-keyfile <file>', 'client key for etcd')
  .option('--storage-backend <kind>', 'embedded (default), etcd3 (default with --etcd-servers) or memory (nothing survives a restart)')
  .option('--service-cluster-ip-range <cidrs>', 'ClusterIP range(s), one per family', '10.96.0.0/12')
  .option('--service-node-port-range <range>', 'NodePort range', '30000-32767')
  .option('--token-auth-file <file>', 'bearer tokens, CSV: token,user,uid,"group1,group2" (default: <data-dir>/tokens.csv with an admin token)')
  .option('--tls-cert-file <file>', 'serving certificate (default: generated in the data dir from its own CA)')
  .option('--tls-private-key-file <file>', 'key of --tls-cert-file')
  .option('--etcd-compaction-interval <seconds>', 'compact the store this often (0: never)', (v) => Number(v), 300)
  .option('--log-level <level>', 'pino log level', 'info')
  .action(async (opts: Record<string, unknown>) => {
    const api = await import('../../control/apiserver/index.js')
    const b = opts.storageBackend
    if (b !== undefined && b !== 'embedded' && b !== 'etcd3' && b !== 'memory') fail(`--storage-backend: "${String(b)}" is not one of embedded, etcd3, memory`)
    if (!Number.isInteger(opts.etcdCompactionInterval) || (opts.etcdCompactionInterval as number) < 0) fail('--etcd-compaction-interval must be a whole number of seconds')
    try {
      await api.runApiserver(opts as unknown as Parameters<typeof api.runApiserver>[0])
    } catch (e) {
      const code = (e as { code?: string }).code
      fail(`apiserver: ${code !== undefined ? `[${code}] ` : ''}${(e as Error).message}`)
    }
    process.exit(0)
  })

program.command('up')
  .description('a whole cluster on this box: node namespaces on a bridge, API server, controller-manager, scheduler, a kubelet per node')
  .option('--name <name>', 'cluster name (1-8 letters/digits; goes into namespace and link names)', 'weft')
  .option('--nodes <n>', 'number of nodes', (v) => parsePositive(v, '--nodes'), 3)
  .option('--data-dir <dir>', 'state, logs, kubeconfigs (default /var/lib/weft/<name>)')
  .option('--underlay <cidr>', 'node network; the host takes .1, node i takes .(10+i)', '10.200.0.0/24')
  .option('--cluster-cidr <cidr>', 'pod network, a podCIDR per node', '10.244.0.0/16')
  .option('--service-cluster-ip-range <cidr>', 'ClusterIP range', '10.96.0.0/12')
  .option('--api-port <port>', 'API server port on the underlay address', (v) => parsePort(v), 6443)
  .option('--network <kind>', 'vxlan (weft vxland per node, flannel plugin) or routes (bridge plugin, plain routes between nodes)', 'vxlan')
  .option('--no-proxy', 'do not run weft proxy on the nodes')
  .option('--demo', 'also create a demo Deployment and Service and say how to reach them', false)
  .option('--detach', 'return once the cluster is up, leaving it running (stop it with weft down)', false)
  .action(async (o: Record<string, unknown>) => {
    const upMod = await import('../../control/up/index.js')
    const name = String(o.name)
    try { upMod.checkName(name) } catch (e) { fail((e as Error).message) }
    if (o.network !== 'vxlan' && o.network !== 'routes') fail(`--network: "${String(o.network)}" is not one of vxlan, routes`)
    const dataDir = typeof o.dataDir === 'string' ? o.dataDir : `/var/lib/weft/${name}`
    try {
      await upMod.runUp({ ...upMod.upDefaults, name, nodes: o.nodes as number, dataDir, underlay: String(o.underlay), clusterCidr: String(o.clusterCidr),
        serviceCidr: String(o.serviceClusterIpRange), apiPort: o.apiPort as number, proxy: o.proxy !== false, verbose: true, network: o.network === 'routes' ? 'routes' : 'vxlan' }, { demo: o.demo === true, detach: o.detach === true })
    } catch (e) { fail(`up: ${(e as Error).message}`) }
    process.exit(0)
  })

program.command('down')
  .description('remove everything weft up made: processes, node and pod namespaces, links, routes')
  .option('--name <name>', 'cluster name', 'weft')
  .option('--data-dir <dir>', 'the data dir given to weft up (default /var/lib/weft/<name>)')
  .action(async (o: Record<string, unknown>) => {
    const upMod = await import('../../control/up/index.js')
    const dataDir = typeof o.dataDir === 'string' ? o.dataDir : `/var/lib/weft/${String(o.name)}`
    const { removed } = await upMod.down(dataDir, { verbose: true })
    process.stdout.write(removed.length === 0 ? `no cluster recorded in ${dataDir}\n` : `cluster in ${dataDir} removed\n`)
    process.exit(0)
  })

program.command('scheduler')
  .description('kube-scheduler: upstream\'s default filter and score plugins, binding through pods/binding, leader election on a Lease (docs/scheduler.md)')
  .requiredOption('--kubeconfig <file>', 'kubeconfig of the API server')
  .option('--leader-elect [bool]', 'run only while holding the Lease (true|false)', 'true')
  .option('--leader-elect-lease-duration <d>', 'lease duration (Go duration)', '15s')
  .option('--leader-elect-renew-deadline <d>', 'give up leading when not renewed within this', '10s')
  .option('--leader-elect-retry-period <d>', 'interval between acquire/renew tries', '2s')
  .option('--leader-elect-resource-namespace <ns>', 'namespace of the Lease', 'kube-system')
  .option('--leader-elect-resource-name <name>', 'name of the Lease', 'kube-scheduler')
  .option('--scheduler-name <name>', 'schedule only pods with this spec.schedulerName', 'default-scheduler')
  .option('--percentage-of-nodes-to-score <n>', 'percentage of nodes to find feasible (0: adaptive, as upstream)', '0')
  .option('--log-level <level>', 'pino log level', 'info')
  .action(async (o: Record<string, string | boolean>) => {
    const sched = await import('../../control/scheduler/index.js')
    const { pino } = await import('pino')
    const log = pino({ level: String(o.logLevel) }, pino.destination(2))
    try {
      const le = String(o.leaderElect)
      if (le !== 'true' && le !== 'false') throw new sched.SchedulerError('SCHED_ERR_FLAGS', `--leader-elect: "${le}" is not true or false`)
      const pct = Number(o.percentageOfNodesToScore)
      if (!Number.isInteger(pct) || pct < 0 || pct > 100) throw new sched.SchedulerError('SCHED_ERR_FLAGS', '--percentage-of-nodes-to-score must be 0-100')
      const dur = (k: string): number => {
        try { return sched.parseDuration(String(o[k])) } catch (e) { throw new sched.SchedulerError('SCHED_ERR_FLAGS', `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${(e as Error).message}`) }
      }
      await sched.runScheduler({
        kubeconfig: String(o.kubeconfig),
        leaderElect: le === 'true',
        leaseDurationMs: dur('leaderElectLeaseDuration'),
        renewDeadlineMs: dur('leaderElectRenewDeadline'),
        retryPeriodMs: dur('leaderElectRetryPeriod'),
        leaseNamespace: String(o.leaderElectResourceNamespace),
        leaseName: String(o.leaderElectResourceName),
        schedulerName: String(o.schedulerName),
        percentageOfNodesToScore: pct
      }, log)
    } catch (e) {
      const code = (e as { code?: string }).code
      fail(`scheduler: ${code !== undefined ? `[${code}] ` : ''}${(e as Error).message}`)
    }
    process.exit(0)
  })

program.command('controller-manager')
  .description('Kubernetes controllers: node IPAM, ReplicaSet, Deployment, EndpointSlice, Endpoints, node lifecycle, garbage collector (flag names as kube-controller-manager)')
  .requiredOption('--kubeconfig <file>', 'kubeconfig of the API server')
  .option('--leader-elect [bool]', 'run only while holding the Lease kube-system/kube-controller-manager', 'true')
  .option('--leader-elect-lease-duration <d>', 'lease duration', '15s')
  .option('--leader-elect-renew-deadline <d>', 'give up leadership after failing to renew this long', '10s')
  .option('--leader-elect-retry-period <d>', 'interval between acquire/renew attempts', '2s')
  .option('--controllers <list>', "controllers to run: '*', names, '-name' to disable", '*')
  .option('--allocate-node-cidrs [bool]', 'give every Node a podCIDR from --cluster-cidr', 'true')
  .option('--cluster-cidr <cidrs>', 'pod CIDR(s), one per family, comma-separated', '10.244.0.0/16')
  .option('--node-cidr-mask-size <n>', 'mask size of IPv4 node CIDRs (single-stack form)')
  .option('--node-cidr-mask-size-ipv4 <n>', 'mask size of IPv4 node CIDRs', '24')
  .option('--node-cidr-mask-size-ipv6 <n>', 'mask size of IPv6 node CIDRs', '64')
  .option('--node-monitor-grace-period <d>', 'a node whose lease has not been renewed this long is marked Unknown', '40s')
  .option('--node-monitor-period <d>', 'how often node health is checked', '5s')
  .option('--max-endpoints-per-slice <n>', 'endpoints per EndpointSlice (at most 1000)', '100')
  .option('--concurrent-replicaset-syncs <n>', 'ReplicaSet workers', '5')
  .option('--concurrent-deployment-syncs <n>', 'Deployment workers', '5')
  .option('--concurrent-service-endpoint-syncs <n>', 'EndpointSlice and Endpoints workers', '5')
  .option('--concurrent-gc-syncs <n>', 'garbage collector workers', '20')
  .option('--log-level <level>', 'pino log level', 'info')
  .action(async (o: Record<string, unknown>, cmd: Command) => {
    const cm = await import('../../control/controllers/index.js')
    try {
      if (cmd.getOptionValueSource('nodeCidrMaskSizeIpv4') !== 'cli') delete o.nodeCidrMaskSizeIpv4
      await cm.runControllerManager(cm.parseControllerManagerFlags(o))
    } catch (e) {
      const code = (e as { code?: string }).code
      fail(`controller-manager: ${code !== undefined ? `[${code}] ` : ''}${(e as Error).message}`)
    }
    process.exit(process.exitCode ?? 0)
  })

function parsePort (v: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is 0-65535')
  return n
}

function parsePositive (v: string, what: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a positive integer`)
  return n
}

program.command('proxy')
  .description('service proxy replacing kube-proxy (kube-proxy\'s flags; nftables, iptables or ipvs mode)')
  .option('--proxy-mode <mode>', 'iptables, nftables or ipvs (ipvs needs IPVS in the kernel: no fallback)', 'iptables')
  .option('--kubeconfig <file>', 'kubeconfig of the API server (or --services-file / --watch-dir)')
  .option('--cluster-cidr <cidrs>', 'comma-separated pod CIDRs; traffic to ClusterIPs from outside them is masqueraded', '')
  .option('--hostname-override <name>', 'node name used to find local endpoints (default: the hostname)')
  .option('--masquerade-all', 'masquerade all traffic to ClusterIPs', false)
  .option('--cleanup', 'remove every rule of every mode and exit', false)
  .option('--healthz-bind-address <addr>', 'host:port of /healthz and /livez (port 0: off)', '0.0.0.0:10256')
  .option('--metrics-bind-address <addr>', 'host:port of /metrics (port 0: off)', '127.0.0.1:10249')
  .option('--nodeport-addresses <cidrs>', 'comma-separated CIDRs of node addresses accepting NodePorts (default: all but loopback)', (v) => v.split(',').map((s) => s.trim()).filter((s) => s !== ''), [] as string[])
  .option('--config <file>', 'a KubeProxyConfiguration file (command-line flags win)')
  .option('--iptables-min-sync-period <d>', 'minimum interval between syncs (Go duration)', '1s')
  .option('--iptables-sync-period <d>', 'maximum interval between syncs (Go duration)', '30s')
  .option('--ipvs-min-sync-period <d>', 'ipvs mode: minimum interval between syncs (Go duration; default: --iptables-min-sync-period)')
  .option('--ipvs-sync-period <d>', 'ipvs mode: maximum interval between syncs (Go duration; default: --iptables-sync-period)')
  .option('--ipvs-scheduler <name>', 'ipvs mode: the IPVS scheduler (rr, wrr, lc, sh, mh, ...)', '')
  .option('--ipvs-strict-arp', 'ipvs mode: arp_ignore=1 and arp_announce=2 (kube-ipvs0 addresses not announced)', false)
  .option('--ipvs-tcp-timeout <d>', 'ipvs mode: idle TCP connection timeout (Go duration; 0: the kernel\'s)', '0s')
  .option('--ipvs-tcpfin-timeout <d>', 'ipvs mode: TCP FIN_WAIT timeout (Go duration; 0: the kernel\'s)', '0s')
  .option('--ipvs-udp-timeout <d>', 'ipvs mode: UDP timeout (Go duration; 0: the kernel\'s)', '0s')
  .option('--services-file <file>', 'Services and EndpointSlices from a YAML/JSON manifest file, re-read every --watch-ms')
  .option('--watch-dir <dir>', 'Services and EndpointSlices from the manifests in a directory, re-read every --watch-ms')
  .option('--watch-ms <ms>', 'how often --services-file/--watch-dir are re-read (0: once)', (v) => parsePort(v), 1000)
  .option('--log-level <level>', 'pino log level', 'info')
  .action(async (raw: Record<string, unknown>, cmd: Command) => {
    const px = await import('../../proxy/daemon/index.js')
    const explicit = new Set(Object.keys(raw).filter((k) => cmd.getOptionValueSource(k) === 'cli'))
    try {
      const opts = {
        ...px.proxyDefaults,
        ...raw,
        minSyncPeriodMs: px.parseDuration(raw.iptablesMinSyncPeriod as string),
        syncPeriodMs: px.parseDuration(raw.iptablesSyncPeriod as string),
        ipvsTcpTimeoutMs: px.parseDuration(raw.ipvsTcpTimeout as string),
        ipvsTcpFinTimeoutMs: px.parseDuration(raw.ipvsTcpfinTimeout as string),
        ipvsUdpTimeoutMs: px.parseDuration(raw.ipvsUdpTimeout as string)
      } as Parameters<typeof px.runProxy>[0]
      if (explicit.has('iptablesMinSyncPeriod')) explicit.add('minSyncPeriodMs')
      if (explicit.has('iptablesSyncPeriod')) explicit.add('syncPeriodMs')
      // kube-proxy's --ipvs-*-sync-period apply in ipvs mode.
      if (raw.proxyMode === 'ipvs' && raw.ipvsMinSyncPeriod !== undefined) { opts.minSyncPeriodMs = px.parseDuration(raw.ipvsMinSyncPeriod as string); explicit.add('minSyncPeriodMs') }
      if (raw.proxyMode === 'ipvs' && raw.ipvsSyncPeriod !== undefined) { opts.syncPeriodMs = px.parseDuration(raw.ipvsSyncPeriod as string); explicit.add('syncPeriodMs') }
      for (const [flag, opt] of [['ipvsTcpTimeout', 'ipvsTcpTimeoutMs'], ['ipvsTcpfinTimeout', 'ipvsTcpFinTimeoutMs'], ['ipvsUdpTimeout', 'ipvsUdpTimeoutMs']] as const) if (explicit.has(flag)) explicit.add(opt)
      await px.runProxy(opts, explicit)
    } catch (e) {
      const code = (e as { code?: string }).code
      fail(`proxy: ${code !== undefined ? `[${code}] ` : ''}${(e as Error).message}`)
    }
    process.exit(0)
  })

program.command('kubelet')
  .description('node agent: registers the Node, runs its pods as processes in CNI-attached network namespaces (kubelet\'s flags; run it inside the node\'s namespace)')
  .requiredOption('--kubeconfig <file>', 'kubeconfig with the node\'s credentials (system:node:<name>)')
  .option('--hostname-override <name>', 'node name (default: the hostname)')
  .option('--node-ip <ip>', 'the node\'s InternalIP (default: the first non-loopback IPv4)')
  .option('--root-dir <dir>', 'state: sandboxes, CNI result cache, container logs', '/var/lib/weft/kubelet')
  .option('--cni-conf-dir <dir>', 'CNI network configurations (the lexically first is used)', '/etc/cni/net.d')
  .option('--cni-bin-dir <dirs>', 'CNI plugin directories (comma- or colon-separated)', '/opt/cni/bin')
  .option('--static-pod-path <dir>', 'directory of static pod manifests')
  .option('--port <port>', 'port of the kubelet HTTP endpoint (containerLogs)', (v) => parsePort(v), 10250)
  .option('--address <ip>', 'address of the kubelet HTTP endpoint', '0.0.0.0')
  .option('--node-labels <k=v,...>', 'labels to add when registering the node', '')
  .option('--register-with-taints <key=value:Effect,...>', 'taints to register the node with', '')
  .option('--crash-loop-backoff-initial <seconds>', 'first container restart back-off (upstream: 10)', (v) => Number(v), 10)
  .option('--crash-loop-backoff-max <seconds>', 'container restart back-off cap (upstream: 300)', (v) => Number(v), 300)
  .option('--node-status-update-frequency <seconds>', 'how often the node status is computed', (v) => parsePositive(v, '--node-status-update-frequency'), 10)
  .option('--file-check-frequency <seconds>', 'how often --static-pod-path is read', (v) => parsePositive(v, '--file-check-frequency'), 20)
  .option('--log-level <level>', 'pino log level', 'info')
  .action(async (opts: Record<string, unknown>) => {
    const kl = await import('../../control/kubelet/index.js')
    try {
      await kl.runKubelet(opts as unknown as Parameters<typeof kl.runKubelet>[0])
    } catch (e) {
      const code = (e as { code?: string }).code
      fail(`kubelet: ${code !== undefined ? `[${code}] ` : ''}${(e as Error).message}`)
    }
    process.exit(0)
  })

const image = program.command('image').description('the programs of Weft\'s built-in container images')
image.command('list')
  .description('the built-in images a pod may use')
  .action(async () => {
    const kl = await import('../../control/kubelet/index.js')
    for (const [name, what] of Object.entries(kl.BUILTIN_IMAGE_HELP)) process.stdout.write(`${name.padEnd(11)} ${what}\n`)
  })
image.command('echo')
  .description('weft/echo: an HTTP server answering with the pod\'s name and IP ($WEFT_POD_NAME, $WEFT_POD_IP)')
  .option('--port <port>', 'port to listen on', (v) => parsePort(v), 8080)
  .action(async (opts: { port: number }) => {
    const kl = await import('../../control/kubelet/index.js')
    await kl.runEcho({ port: opts.port })
    process.exit(0)
  })

const netns = program.command('netns').description('network namespaces')
netns.command('sweep')
  .description('remove namespaces left by Weft test harnesses and benchmarks (names starting with "wt")')
  .option('--prefix <p>', 'name prefix', 'wt')
  .action((opts: { prefix: string }) => {
    if (opts.prefix.length < 2) throw new InvalidArgumentError('prefix must be at least 2 characters')
    const ns = new LinuxNetNS()
    const gone = ns.list().filter((n) => n.startsWith(opts.prefix))
    for (const n of gone) ns.remove(n)
    process.stdout.write(gone.length === 0 ? 'nothing to remove\n' : `removed ${gone.join(', ')}\n`)
  })

function fail (msg: string): never {
  process.stderr.write(`weft: ${msg}\n`)
  process.exit(1)
}

program.parseAsync(process.argv).catch((err: unknown) => {
  fail(err instanceof Error ? err.message : String(err))
})
