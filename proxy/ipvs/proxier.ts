/**
 * The IPVS proxier for one family (kube-proxy's IPVS mode). Each sync
 * computes the desired state (`render.ts`) and applies it in kube-proxy's
 * order:
 *
 * 1. the `kube-ipvs0` dummy exists (created down, as kube-proxy leaves it);
 * 2. one `ipset restore` brings kube-proxy's sets to the wanted entries
 *    (from `ipset save` on a full sync, from what was committed otherwise);
 * 3. one `iptables-restore --noflush` rewrites IPVS mode's chains (a
 *    constant set of rules, all service decisions being ipset lookups); on a
 *    full sync the jumps from the built-in chains are ensured;
 * 4. service addresses are bound to kube-ipvs0;
 * 5. virtual and real servers are diffed against the kernel's: new ones
 *    added, changed ones updated, real servers added or re-weighted, and
 *    removed real servers terminated gracefully (kube-proxy's
 *    graceful_termination.go): deleted at once for UDP/SCTP or when they have
 *    no connections, otherwise set to weight 0 and deleted by a later sync
 *    once ActiveConn + InactConn reaches 0; virtual servers of ours that are
 *    no longer wanted are deleted;
 * 6. addresses no longer wanted are unbound.
 *
 * A failure anywhere makes the next sync full and throws PROXY_ERR_SYNC.
 */
import { ip, isNotFound } from '../../kernel/index.js'
import type { Iptables, Netlink, Sysctl } from '../../kernel/index.js'
import { ProxyError } from '../tracker/index.js'
import type { IpFamily, Proxier, ProxyState, SyncStats } from '../tracker/index.js'
import type { IpvsDest, IpvsService, IpvsTimeouts } from './codec.js'
import { ipsetDestroyScript, ipsetRestoreScript, ipsetSpecs, parseIpsetSave } from './ipset.js'
import type { Ipset, SavedSet } from './ipset.js'
import { DUMMY_DEVICE, ipvsDesired, vsKey } from './render.js'
import type { IpvsDesired } from './render.js'
import { filterChains, ipvsDeleteText, ipvsJumpRules, ipvsRestoreText, natChains } from './rules.js'

/**
 * Virtual and real servers (generic netlink IPVS_CMD_* behind it), in the
 * namespace the implementation was made in. Synchronous, as `kernel/`'s
 * interfaces; refusals throw.
 */
export interface Ipvs {
  services (): IpvsService[]
  addService (s: IpvsService): void
  updateService (s: IpvsService): void
  deleteService (s: IpvsService): void
  dests (s: IpvsService): IpvsDest[]
  addDest (s: IpvsService, d: IpvsDest): void
  updateDest (s: IpvsService, d: IpvsDest): void
  deleteDest (s: IpvsService, d: IpvsDest): void
  /** IPVS_CMD_SET_CONFIG (`ipvsadm --set`); 0 leaves a timeout unchanged. */
  setTimeouts (t: IpvsTimeouts): void
}

export interface IpvsProxierInit {
  family: IpFamily
  /** Pod CIDRs of this family (ClusterIP traffic from outside them is masqueraded). */
  clusterCIDRs: readonly string[]
  masqueradeAll: boolean
  /** Node addresses for NodePorts; undefined: every address of the family but loopback, IPv6 link-local and kube-ipvs0's, read at each sync. */
  nodeIPs?: readonly string[] | undefined
  /** With `nodeIPs` undefined: only the addresses inside these CIDRs (`--nodeport-addresses`). */
  nodePortCIDRs?: readonly string[]
  /** `ipvs.scheduler`, default rr. */
  scheduler?: string
  randomFully?: boolean
}

export interface IpvsProxierDeps {
  ipvs: Ipvs
  /** kube-ipvs0 and its addresses; the node's addresses. */
  netlink: Netlink
  ipset: Ipset
  iptables: Iptables
  now?: () => number
}

export interface IpvsProxier extends Proxier {
  /** What the last successful sync applied (addresses and ipsets included). */
  readonly desired: IpvsDesired
  /** The last ipset restore script and iptables restore text (empty when nothing was written). */
  readonly lastIpsetScript: string
  readonly lastIptablesText: string
}

const destKey = (d: IpvsDest): string => d.address.includes(':') ? `[${d.address}]:${d.port}` : `${d.address}:${d.port}`
const hostLen = (family: IpFamily): number => family === 4 ? 32 : 128
/** NodePort virtual servers on node addresses are recognised as ours by the default NodePort range. */
export const NODE_PORT_RANGE = [30000, 32767] as const

/** The node's addresses of `family` NodePorts may use: not loopback, not IPv6 link-local, not on kube-ipvs0. */
export function localNodeIPs (nl: Netlink, family: IpFamily): string[] {
  const dummy = nl.linkByName(DUMMY_DEVICE)?.index
  const out = new Set<string>()
  for (const a of nl.addresses(family)) {
    if (a.index === dummy) continue
    if (family === 4 ? a.address.startsWith('127.') : (a.address === '::1' || /^fe[89ab]/i.test(a.address))) continue
    out.add(ip.canonical(a.address))
  }
  return [...out].sort()
}

export function ipvsProxier (init: IpvsProxierInit, deps: IpvsProxierDeps): IpvsProxier {
  const now = deps.now ?? (() => performance.now())
  const family = init.family
  let desired: IpvsDesired = ipvsDesired([], { family, nodeIPs: [] })
  let committedSets: Map<string, SavedSet> | undefined
  let committedRules = ''
  let needFull = true
  let lastIpsetScript = ''
  let lastIptablesText = ''

  const ensureDummy = (): number => {
    let link = deps.netlink.linkByName(DUMMY_DEVICE)
    if (link === undefined) {
      deps.netlink.addDummy({ name: DUMMY_DEVICE })
      link = deps.netlink.linkByName(DUMMY_DEVICE)
    }
    if (link === undefined) throw new ProxyError('PROXY_ERR_SYNC', `${DUMMY_DEVICE} vanished after it was created`)
    if (link.kind !== 'dummy') throw new ProxyError('PROXY_ERR_SYNC', `${DUMMY_DEVICE} exists and is a ${link.kind ?? 'device without a kind'}, not a dummy`)
    return link.index
  }

  return {
    family,
    mode: 'ipvs',
    get desired () { return desired },
    get lastIpsetScript () { return lastIpsetScript },
    get lastIptablesText () { return lastIptablesText },
    sync (state: ProxyState, changed: ReadonlySet<string> | 'full'): SyncStats {
      const full = changed === 'full' || needFull
      const start = now()
      const all: Array<ReturnType<ProxyState['ports']>> = []
      for (const key of state.keys()) all.push(state.ports(key))
      let applyStart = start
      let computeMs = 0
      let bytes = 0
      let want: IpvsDesired
      // Services whose virtual or real servers this sync added, changed or deleted (IPVS mode recomputes every
      // service and diffs it against the kernel, so this is the work done, not the tracker's changed set).
      const written = new Set<string>()
      try {
        const nodeIPs = init.nodeIPs ?? localNodeIPs(deps.netlink, family)
          .filter((a) => init.nodePortCIDRs === undefined || init.nodePortCIDRs.some((c) => ip.contains(ip.parseCidr(c), a)))
        want = ipvsDesired(all, { family, nodeIPs, ...(init.scheduler !== undefined ? { scheduler: init.scheduler } : {}) })
        const rules = ipvsRestoreText({ family, clusterCIDRs: init.clusterCIDRs, masqueradeAll: init.masqueradeAll, nodeIPs, randomFully: init.randomFully ?? false })
        computeMs = now() - start
        applyStart = now()
        // 1. kube-ipvs0
        const dummy = ensureDummy()
        // 2. ipsets
        const current = full || committedSets === undefined ? parseIpsetSave(deps.ipset.save()) : committedSets
        lastIpsetScript = ipsetRestoreScript(family, want.ipsets, current)
        deps.ipset.restore(lastIpsetScript)
        const types = new Map(ipsetSpecs(family).map((s) => [s.name, s.type]))
        committedSets = new Map([...types].map(([name, type]) => [name, { type, entries: new Set(want.ipsets.get(name) ?? []) }]))
        bytes += lastIpsetScript.length
        // 3. iptables
        lastIptablesText = ''
        if (full || rules !== committedRules) {
          deps.iptables.restore(rules)
          lastIptablesText = rules
          committedRules = rules
          bytes += rules.length
        }
        if (full) {
          for (const j of [...ipvsJumpRules].reverse()) deps.iptables.insertUnique(j.table, j.from, j.rule)
        }
        // 4. addresses
        const bound = new Set(deps.netlink.addresses(family).filter((a) => a.index === dummy).map((a) => ip.canonical(a.address)))
        for (const a of want.addresses) if (!bound.has(a)) deps.netlink.addAddress(dummy, `${a}/${hostLen(family)}`)
        // 5. virtual and real servers
        const ours = (s: IpvsService): boolean => bound.has(s.address) || want.addresses.has(s.address) || desired.virtualServers.has(vsKey(s)) ||
          (nodeIPs.includes(s.address) && s.port >= NODE_PORT_RANGE[0] && s.port <= NODE_PORT_RANGE[1])
        const kernel = new Map(deps.ipvs.services().filter((s) => s.family === family).map((s) => [vsKey(s), s]))
        for (const [key, vs] of want.virtualServers) {
          const cur = kernel.get(key)
          const touch = (): void => { written.add(vs.owner) }
          if (cur === undefined) {
            deps.ipvs.addService(vs.service)
            touch()
          } else if (cur.scheduler !== vs.service.scheduler || cur.flags !== vs.service.flags || cur.timeout !== vs.service.timeout) {
            deps.ipvs.updateService(vs.service)
            touch()
          }
          const have = new Map((cur === undefined ? [] : deps.ipvs.dests(vs.service)).map((d) => [destKey(d), d]))
          for (const [k, d] of vs.dests) {
            const h = have.get(k)
            if (h === undefined) {
              deps.ipvs.addDest(vs.service, d)
              touch()
            } else if (h.weight !== d.weight) {
              deps.ipvs.updateDest(vs.service, d) // back from graceful termination, or after a restart (#92019)
              touch()
            }
          }
          for (const [k, h] of have) {
            if (vs.dests.has(k)) continue
            if (vs.service.protocol !== 'tcp' || h.activeConns + h.inactConns === 0) {
              deps.ipvs.deleteDest(vs.service, h)
              touch()
            } else if (h.weight !== 0) {
              deps.ipvs.updateDest(vs.service, { ...h, weight: 0 })
              touch()
            }
          }
        }
        for (const [key, s] of kernel) {
          if (want.virtualServers.has(key) || !ours(s)) continue
          deps.ipvs.deleteService(s)
          const owner = desired.virtualServers.get(key)?.owner
          if (owner !== undefined) written.add(owner)
        }
        // 6. addresses no longer wanted
        for (const a of bound) if (!want.addresses.has(a)) deps.netlink.deleteAddress(dummy, `${a}/${hostLen(family)}`)
      } catch (e) {
        needFull = true
        committedSets = undefined
        committedRules = ''
        if (e instanceof ProxyError) throw e
        throw new ProxyError('PROXY_ERR_SYNC', `ipvs sync failed: ${(e as Error).message}`, { cause: e })
      }
      needFull = false
      desired = want
      return { family, full, computeMs, applyMs: now() - applyStart, bytes, servicesWritten: written.size }
    },
    cleanup () {
      const last = desired
      const r = ipvsCleanup(family, deps, (s) => last.virtualServers.has(vsKey(s)))
      desired = ipvsDesired([], { family, nodeIPs: [] })
      needFull = true
      committedSets = undefined
      committedRules = ''
      if (r.errors.length > 0) throw new ProxyError('PROXY_ERR_CLEANUP', `ipvs cleanup: ${r.errors.join('; ')}`)
    }
  }
}

export interface IpvsCleanupResult { removed: string[], errors: string[] }

/**
 * Removes IPVS mode's leftovers of one family, each part on its own so one
 * failing does not stop the others: the jumps and chains (shared chain names
 * are only flushed while iptables mode's service chains are there), the
 * ipsets, the virtual servers on kube-ipvs0's addresses and NodePort ones on
 * node addresses in the default NodePort range, and those `alsoOurs` names
 * (skipped when `ipvs` is undefined: no IPVS in the kernel),
 * this family's kube-ipvs0 addresses, and kube-ipvs0 once it has none left.
 */
export function ipvsCleanup (family: IpFamily, deps: { ipvs?: Ipvs | undefined, netlink: Netlink, ipset: Ipset, iptables?: Iptables | undefined }, alsoOurs: (s: IpvsService) => boolean = () => false): IpvsCleanupResult {
  const removed: string[] = []
  const errors: string[] = []
  const step = (what: string, fn: () => boolean): void => {
    try { if (fn()) removed.push(what) } catch (e) { errors.push(`${what}: ${(e as Error).message}`) }
  }
  const ipt = deps.iptables
  if (ipt !== undefined) {
    step(`IPVS iptables chains (IPv${family})`, () => {
      const nat = ipt.listChains('nat')
      const filter = ipt.listChains('filter')
      // IPVS mode was here only if one of its own chains is (the others share iptables mode's names).
      if (!['KUBE-NODE-PORT', 'KUBE-LOAD-BALANCER'].some((c) => nat.includes(c)) &&
        !['KUBE-NODE-PORT', 'KUBE-SOURCE-RANGES-FIREWALL', 'KUBE-IPVS-FILTER', 'KUBE-IPVS-OUT-FILTER'].some((c) => filter.includes(c))) return false
      const iptablesMode = nat.some((c) => /^KUBE-(SVC|SVL|EXT|SEP|FW)-/.test(c)) || nat.includes('KUBE-NODEPORTS')
      const shared = new Set(['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ', 'KUBE-FORWARD', 'KUBE-PROXY-FIREWALL'])
      const keep = (c: string): boolean => iptablesMode && shared.has(c)
      for (const j of ipvsJumpRules) if (!keep(j.rule[j.rule.length - 1] as string)) ipt.deleteRule(j.table, j.from, j.rule)
      // Flush every chain first (they reference the ipsets), then delete what is IPVS mode's alone.
      const flush = [['filter', filterChains, filter], ['nat', natChains, nat]] as const
      ipt.restore(flush.flatMap(([t, ours, have]) => {
        const cs = ours.filter((c) => have.includes(c))
        return cs.length === 0 ? [] : [`*${t}`, ...cs.map((c) => `:${c} - [0:0]`), 'COMMIT']
      }).join('\n') + '\n')
      const del = ipvsDeleteText({ nat: nat.filter((c) => !keep(c)), filter: filter.filter((c) => !keep(c)) })
      if (del !== '') ipt.restore(del)
      return true
    })
  }
  step(`ipsets (IPv${family})`, () => {
    const script = ipsetDestroyScript(family, parseIpsetSave(deps.ipset.save()))
    if (script === '') return false
    deps.ipset.restore(script)
    return true
  })
  const dummy = deps.netlink.linkByName(DUMMY_DEVICE)
  const bound = dummy === undefined ? new Set<string>() : new Set(deps.netlink.addresses(family).filter((a) => a.index === dummy.index).map((a) => ip.canonical(a.address)))
  if (deps.ipvs !== undefined) {
    const ipvs = deps.ipvs
    step(`IPVS virtual servers (IPv${family})`, () => {
      const nodeIPs = new Set(localNodeIPs(deps.netlink, family))
      const gone = ipvs.services().filter((s) => s.family === family && (bound.has(s.address) || alsoOurs(s) ||
        (nodeIPs.has(s.address) && s.port >= NODE_PORT_RANGE[0] && s.port <= NODE_PORT_RANGE[1])))
      for (const s of gone) ipvs.deleteService(s)
      return gone.length > 0
    })
  }
  if (dummy !== undefined) {
    step(`${DUMMY_DEVICE} addresses (IPv${family})`, () => {
      for (const a of bound) {
        try { deps.netlink.deleteAddress(dummy.index, `${a}/${hostLen(family)}`) } catch (e) { if (!isNotFound(e)) throw e }
      }
      return bound.size > 0
    })
    step(DUMMY_DEVICE, () => {
      if (deps.netlink.addresses().some((a) => a.index === dummy.index && !/^fe[89ab]/i.test(a.address))) return false
      try { deps.netlink.deleteLink(dummy.index) } catch (e) { if (isNotFound(e)) return false; throw e }
      return true
    })
  }
  return { removed, errors }
}

/**
 * The sysctls kube-proxy's IPVS mode sets (pkg/proxy/ipvs/proxier.go): keep
 * netfilter conntrack for IPVS connections (SNAT needs it), do not reuse a
 * connection slot of a removed real server (`conn_reuse_mode` 0), expire
 * connections to removed real servers and quiescent persistence templates,
 * forwarding; with `strictARP`, answer ARP only for addresses of the asking
 * interface, so kube-ipvs0's addresses are not announced on the LAN.
 */
export function ipvsSysctls (sysctl: Sysctl, opts: { strictARP: boolean }): void {
  const want: Array<[string, string]> = [
    ['net/ipv4/vs/conntrack', '1'],
    ['net/ipv4/vs/conn_reuse_mode', '0'],
    ['net/ipv4/vs/expire_nodest_conn', '1'],
    ['net/ipv4/vs/expire_quiescent_template', '1'],
    ['net/ipv4/ip_forward', '1']
  ]
  if (opts.strictARP) want.push(['net/ipv4/conf/all/arp_ignore', '1'], ['net/ipv4/conf/all/arp_announce', '2'])
  for (const [k, v] of want) if (sysctl.get(k) !== v) sysctl.set(k, v)
}
