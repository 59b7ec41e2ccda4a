/**
 * `weft vxland`: the overlay agent. Start-up, in an order that leaves no
 * half-done dataplane on bad input:
 *   1. read the network configuration (etcd key or net-conf.json) — errors stop here;
 *   2. find the underlay interface and public IP — errors stop here;
 *   3. choose the VtepMAC (the existing device's, else the one saved beside
 *      subnet.env, else a new random one) and acquire our lease publishing it;
 *   4. one reconcile loop (routing/runner), started once the first snapshot of
 *      the leases has arrived: desired state from the leases,
 *      diffed into the kernel, masquerade rules ensured, subnet.env written after
 *      the first good pass; it runs on every lease event and at least every
 *      `resyncMs` (default 1 s), so tampering is repaired within ~1 s;
 *   5. keep our lease alive and watch everyone's.
 * Stopping leaves the dataplane in place, so restarting the agent never cuts
 * existing pod traffic.
 */
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { ip } from '../../kernel/index.js'
import type { NetNS, Netlink, Sysctl } from '../../kernel/index.js'
import { readSubnetEnv, writeSubnetEnv } from '../../cni/flannel/index.js'
import type { SubnetEnv } from '../../cni/flannel/index.js'
import { boundedFrequencyRunner } from '../runner/index.js'
import type { Clock, Runner } from '../runner/index.js'
import { deviceName, desiredState, findUnderlay, onLinkChecker, overlayMtu, reconcile } from './dataplane.js'
import type { Underlay } from './dataplane.js'
import { VxlanError } from './errors.js'
import type { Lease, LeaseAttrs, LeaseEvent, Logger, NetConf, SubnetManager } from './types.js'

export type { Logger }

/** Masquerade and forward rules for this node (see masq.ts); built once the network configuration is known. */
export interface TrafficRules {
  /** Make the rules match; true when something had to change. */
  ensure (opts: { network: string | undefined, podSubnet: string | undefined, ipv6Network: string | undefined, ipv6PodSubnet: string | undefined, masquerade: boolean }): boolean
  cleanup (): void
}

export interface AgentInit {
  manager: SubnetManager
  netns: NetNS
  sysctl: Sysctl
  iface?: string | undefined
  publicIp?: string | undefined
  /** --subnet-file, default /run/flannel/subnet.env */
  subnetFile: string
  /** --ip-masq: install masquerade rules (and tell the CNI plugin not to). */
  ipMasq: boolean
  /** Rules for the node, given the network configuration (iptables or nftables per EnableNFTables). */
  traffic?: ((conf: NetConf) => TrafficRules) | undefined
  logger: Logger
  /** Reconcile the kernel at least this often (default 1 s). */
  resyncMs?: number
  /** Check the masquerade/forward rules at least this often (default 5 s, flannel's --iptables-resync). */
  rulesResyncMs?: number
  clock?: Clock
}

export interface AgentStatus {
  lease: Lease
  underlay: Underlay
  mtu: number
  remotes: number
  passes: number
  lastError: string | undefined
  ready: boolean
}

export interface Agent {
  readonly lease: Lease
  status (): AgentStatus
  /** Ask for a reconcile pass now. */
  kick (): void
  /** Resolves after the next completed pass. */
  settled (): Promise<void>
  stop (): Promise<void>
}

const subnetKey = (l: Lease): string => `${l.subnet ?? '-'}&${l.ipv6Subnet ?? '-'}`

function randomMac (): string {
  const b = randomBytes(6)
  b[0] = ((b[0] ?? 0) & 0xfe) | 0x02
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':')
}

/** The first usable address with the subnet's prefix: 10.244.1.0/24 → 10.244.1.1/24 (flannel's FLANNEL_SUBNET). */
export function firstUsable (subnet: string): string {
  const c = ip.parseCidr(subnet)
  return `${ip.fromBigInt(ip.toBigInt(ip.networkOf(c)) + 1n, c.family)}/${c.prefixLen}`
}

function macFile (subnetFile: string, vni: number, family: 4 | 6 = 4): string {
  return path.join(path.dirname(subnetFile), `${deviceName(vni, family)}.mac`)
}

function chooseMac (nl: Netlink, conf: NetConf, subnetFile: string, family: 4 | 6 = 4): string {
  const dev = nl.linkByName(deviceName(conf.backend.vni, family))
  if (dev?.kind === 'vxlan') return dev.mac
  try {
    const saved = fs.readFileSync(macFile(subnetFile, conf.backend.vni, family), 'utf8').trim()
    if (/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(saved)) return saved
  } catch { /* none saved */ }
  return randomMac()
}

/** Remote leases that overlap ours or each other, or lie outside the network, are refused (logged, not programmed). */
function conflicts (conf: NetConf, own: Lease, l: Lease): string | undefined {
  if (l.subnet === undefined) return undefined
  const c = ip.parseCidr(l.subnet)
  if (conf.network !== undefined && !ip.contains(ip.parseCidr(conf.network), c.address)) return `lease ${l.subnet} lies outside the network ${conf.network}`
  if (own.subnet !== undefined && subnetKey(l) !== subnetKey(own) && ip.overlaps(ip.parseCidr(own.subnet), c)) return `lease ${l.subnet} of ${l.attrs.PublicIP} overlaps our ${own.subnet}`
  return undefined
}

export async function startAgent (init: AgentInit): Promise<Agent> {
  const log = init.logger
  // 1. configuration
  const conf = await init.manager.getNetworkConfig()
  const families: Array<4 | 6> = [...(conf.enableIPv4 ? [4 as const] : []), ...(conf.enableIPv6 ? [6 as const] : [])]
  // 2. underlay
  const nl = init.netns.netlink()
  let underlay: Underlay
  try {
    underlay = findUnderlay(nl, { ...(init.iface !== undefined ? { iface: init.iface } : {}), ...(init.publicIp !== undefined ? { publicIp: init.publicIp } : {}) })
  } catch (e) {
    nl.close()
    throw e
  }
  if (conf.enableIPv6 && underlay.publicIpv6 === undefined) {
    nl.close()
    throw new VxlanError('VXLAN_ERR_UNDERLAY', `EnableIPv6 is set but the underlay ${underlay.name} has no global IPv6 address`)
  }
  // The pods' MTU: the smaller of the two families' when both run (IPv6 encapsulation costs 20 bytes more).
  const mtu = Math.min(...families.map((f) => overlayMtu(conf, underlay, f === 6 ? 6 : 4)))
  // 3. VtepMACs and lease
  const macs = new Map<4 | 6, string>(families.map((f) => [f, chooseMac(nl, conf, init.subnetFile, f)]))
  const mac = macs.get(4) ?? macs.get(6) ?? randomMac()
  const previous: { subnet?: string, ipv6Subnet?: string } = {}
  try {
    const env = readSubnetEnv(init.subnetFile)
    const net = (s: string): string => { const c = ip.parseCidr(s); return `${ip.networkOf(c)}/${c.prefixLen}` }
    if (env.subnet !== undefined) previous.subnet = net(env.subnet)
    if (env.ipv6Subnet !== undefined) previous.ipv6Subnet = net(env.ipv6Subnet)
  } catch { /* no previous subnet.env */ }
  const attrs: LeaseAttrs = { PublicIP: underlay.publicIp, PublicIPv6: conf.enableIPv6 ? (underlay.publicIpv6 ?? null) : null, BackendType: 'vxlan' }
  if (macs.has(4)) attrs.BackendData = { VNI: conf.backend.vni, VtepMAC: macs.get(4) as string }
  if (macs.has(6)) attrs.BackendV6Data = { VNI: conf.backend.vni, VtepMAC: macs.get(6) as string }
  let lease = await init.manager.acquireLease(attrs, Object.keys(previous).length > 0 ? { previous } : {})
  log.info({ subnet: lease.subnet, ipv6Subnet: lease.ipv6Subnet, publicIp: underlay.publicIp, publicIpv6: attrs.PublicIPv6, mac, iface: underlay.name }, 'lease acquired')
  try {
    fs.mkdirSync(path.dirname(init.subnetFile), { recursive: true, mode: 0o755 })
    for (const [f, m] of macs) fs.writeFileSync(macFile(init.subnetFile, conf.backend.vni, f), m + '\n', { mode: 0o644 })
  } catch (e) { log.warn({ err: (e as Error).message }, 'cannot save the VtepMAC; a restart will pick a new one') }

  // 4. the loop
  const traffic = init.traffic?.(conf)
  const rulesResyncMs = init.rulesResyncMs ?? 5000
  let rulesAt = 0
  let rulesKey: string | undefined
  const leases = new Map<string, Lease>()
  let lastError: string | undefined
  let ready = false
  let envWritten = ''
  const waiters: Array<() => void> = []
  const pass = (): void => {
    try {
      const remote: Lease[] = []
      for (const l of leases.values()) {
        const why = conflicts(conf, lease, l)
        if (why !== undefined) { log.warn({ code: 'VXLAN_ERR_LEASE_CONFLICT', lease: l.subnet, publicIp: l.attrs.PublicIP }, `ignoring lease: ${why}`); continue }
        remote.push(l)
      }
      for (const family of families) {
        const want = desiredState({ conf, underlay, own: lease, leases: remote, mac: macs.get(family) as string, family, onLink: onLinkChecker(nl) })
        const r = reconcile(nl, init.sysctl, want)
        if (r.actions.length > 0) log.info({ family, actions: r.actions }, 'dataplane reconciled')
      }
      // Rules are checked every --iptables-resync (5 s, as flanneld): each check execs
      // iptables-save, too costly for every 1 s pass on a busy node.
      const now = Date.now()
      const key = subnetKey(lease)
      if (traffic !== undefined && (rulesKey !== key || now - rulesAt >= rulesResyncMs)) {
        const v6 = conf.enableIPv6
        if (traffic.ensure({ network: conf.network, podSubnet: lease.subnet, ipv6Network: v6 ? conf.ipv6Network : undefined, ipv6PodSubnet: v6 ? lease.ipv6Subnet : undefined, masquerade: init.ipMasq })) {
          log.info({ masquerade: init.ipMasq }, 'masquerade/forward rules (re)installed')
        }
        rulesAt = now
        rulesKey = key
      }
      const env: SubnetEnv = { mtu, ipMasq: init.ipMasq }
      if (conf.enableIPv4 && conf.network !== undefined) env.network = conf.network
      if (conf.enableIPv4 && lease.subnet !== undefined) env.subnet = firstUsable(lease.subnet)
      if (conf.enableIPv6 && conf.ipv6Network !== undefined) env.ipv6Network = conf.ipv6Network
      if (conf.enableIPv6 && lease.ipv6Subnet !== undefined) env.ipv6Subnet = firstUsable(lease.ipv6Subnet)
      const text = JSON.stringify(env)
      if (text !== envWritten || !fs.existsSync(init.subnetFile)) {
        writeSubnetEnv(init.subnetFile, env)
        envWritten = text
        log.info({ file: init.subnetFile, ...env }, 'subnet.env written')
      }
      lastError = undefined
      ready = true
    } catch (e) {
      lastError = (e as Error).message
      throw e
    } finally {
      for (const w of waiters.splice(0)) w()
    }
  }
  const runner: Runner = boundedFrequencyRunner({
    name: 'vxlan',
    minIntervalMs: 50,
    maxIntervalMs: init.resyncMs ?? 1000,
    retryIntervalMs: 500,
    fn: pass,
    ...(init.clock !== undefined ? { clock: init.clock } : {}),
    onError: (e) => { log.error({ err: (e as Error).message }, 'reconcile failed; retrying') }
  })
  const abort = new AbortController()
  // No pass before the first snapshot of the leases: a pass with an empty view
  // would remove every remote entry (and cut pod traffic) on each agent restart.
  let synced = false
  const onEvents = (events: LeaseEvent[]): void => {
    for (const ev of events) {
      const key = subnetKey(ev.lease)
      if (ev.type === 'added') leases.set(key, ev.lease)
      else leases.delete(key)
      if (ev.type === 'removed' && key === subnetKey(lease)) {
        // Our own lease vanished (expired, deleted by hand): take it again.
        log.warn({ subnet: lease.subnet }, 'our lease disappeared; re-acquiring')
        void init.manager.acquireLease(attrs, { previous: { ...(lease.subnet !== undefined ? { subnet: lease.subnet } : {}) } })
          .then((l) => { lease = l; runner.run() })
          .catch((e: unknown) => { log.error({ err: (e as Error).message }, 're-acquiring the lease failed') })
      }
    }
    if (!synced) {
      synced = true
      log.info({ leases: leases.size }, 'initial leases received')
      runner.start()
      return
    }
    runner.run()
  }
  const background = [
    init.manager.watchLeases(onEvents, abort.signal).catch((e: unknown) => { if (!abort.signal.aborted) log.error({ err: (e as Error).message }, 'lease watch ended') }),
    init.manager.keepLease(lease, abort.signal, (l) => { lease = l }).catch((e: unknown) => { if (!abort.signal.aborted) log.error({ err: (e as Error).message }, 'lease renewal ended') })
  ]

  return {
    get lease () { return lease },
    status: () => ({ lease, underlay, mtu, remotes: leases.size, passes: runner.passes, lastError, ready }),
    kick: () => { runner.run() },
    settled: async () => { await new Promise<void>((resolve) => { waiters.push(resolve); runner.run() }) },
    async stop () {
      abort.abort()
      await runner.stop()
      await Promise.allSettled(background)
      await init.manager.close()
      nl.close()
    }
  }
}

export { VxlanError }
