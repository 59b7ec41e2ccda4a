/**
 * The IPVS proxier for one family, over an injectable `Ipvs` (virtual and
 * real servers). Each sync diffs the desired virtual servers against the
 * kernel's: new ones added, changed ones updated, real servers added or
 * re-weighted, and removed real servers terminated gracefully (kube-proxy's
 * graceful_termination.go): deleted at once for UDP/SCTP or when they have
 * no connections, otherwise set to weight 0 and deleted by a later sync once
 * ActiveConn + InactConn reaches 0. Virtual servers on addresses this
 * proxier owns (service IPs, node IPs for NodePorts) that are no longer
 * wanted are deleted.
 *
 * Not applied here yet: the kube-ipvs0 addresses, the ipsets and the
 * constant iptables rules (`ipvsDesired` computes them; the daemon does not
 * offer ipvs mode).
 */
import { ProxyError } from '../tracker/index.js'
import type { Proxier, ProxyState, SyncStats } from '../tracker/index.js'
import type { IpvsDest, IpvsService } from './codec.js'
import { ipvsDesired, vsKey } from './render.js'
import type { IpvsDesired, IpvsRenderConfig } from './render.js'

/** Virtual and real servers (generic netlink IPVS_CMD_* behind it). */
export interface Ipvs {
  services (): IpvsService[]
  addService (s: IpvsService): void
  updateService (s: IpvsService): void
  deleteService (s: IpvsService): void
  dests (s: IpvsService): IpvsDest[]
  addDest (s: IpvsService, d: IpvsDest): void
  updateDest (s: IpvsService, d: IpvsDest): void
  deleteDest (s: IpvsService, d: IpvsDest): void
}

export interface IpvsProxier extends Proxier {
  /** What the last sync wanted (addresses and ipsets included). */
  readonly desired: IpvsDesired
}

const destKey = (d: IpvsDest): string => d.address.includes(':') ? `[${d.address}]:${d.port}` : `${d.address}:${d.port}`

export function ipvsProxier (init: IpvsRenderConfig, deps: { ipvs: Ipvs, now?: () => number }): IpvsProxier {
  const now = deps.now ?? (() => performance.now())
  const owned = new Set<string>(init.nodeIPs)
  let desired: IpvsDesired = ipvsDesired([], init)
  return {
    family: init.family,
    mode: 'ipvs',
    get desired () { return desired },
    sync (state: ProxyState): SyncStats {
      const start = now()
      const all: Array<ReturnType<ProxyState['ports']>> = []
      for (const key of state.keys()) all.push(state.ports(key))
      const want = ipvsDesired(all, init)
      const computeMs = now() - start
      const applyStart = now()
      try {
        const current = new Map(deps.ipvs.services().filter((s) => s.family === init.family).map((s) => [vsKey(s), s]))
        for (const [key, vs] of want.virtualServers) {
          const cur = current.get(key)
          if (cur === undefined) deps.ipvs.addService(vs.service)
          else if (cur.scheduler !== vs.service.scheduler || cur.flags !== vs.service.flags || cur.timeout !== vs.service.timeout) deps.ipvs.updateService(vs.service)
          const have = new Map((cur === undefined ? [] : deps.ipvs.dests(vs.service)).map((d) => [destKey(d), d]))
          for (const [k, d] of vs.dests) {
            const h = have.get(k)
            if (h === undefined) deps.ipvs.addDest(vs.service, d)
            else if (h.weight !== d.weight) deps.ipvs.updateDest(vs.service, d) // back from graceful termination, or after a restart (#92019)
          }
          for (const [k, h] of have) {
            if (vs.dests.has(k)) continue
            if (vs.service.protocol !== 'tcp' || h.activeConns + h.inactConns === 0) deps.ipvs.deleteDest(vs.service, h)
            else if (h.weight !== 0) deps.ipvs.updateDest(vs.service, { ...h, weight: 0 })
          }
        }
        for (const a of want.addresses) owned.add(a)
        for (const [key, s] of current) {
          if (!want.virtualServers.has(key) && owned.has(s.address)) deps.ipvs.deleteService(s)
        }
      } catch (e) {
        throw new ProxyError('PROXY_ERR_SYNC', `ipvs sync failed: ${(e as Error).message}`, { cause: e })
      }
      desired = want
      return { family: init.family, full: true, computeMs, applyMs: now() - applyStart, bytes: 0, servicesWritten: want.virtualServers.size }
    },
    cleanup () {
      try {
        for (const s of deps.ipvs.services()) if (s.family === init.family && owned.has(s.address)) deps.ipvs.deleteService(s)
      } catch (e) {
        throw new ProxyError('PROXY_ERR_CLEANUP', `ipvs cleanup: ${(e as Error).message}`, { cause: e })
      }
    }
  }
}
