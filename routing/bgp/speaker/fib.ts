/**
 * The FIB installer: best routes of the Loc-RIB into a kernel table through the kernel layer's `Netlink`, with
 * our own protocol number so they are ours to list, replace and delete (and nobody else's). ECMP (a multipath
 * route) when configured. Two paths in: `changed()` after each RIB flush (incremental), and a full reconcile every
 * `resyncSeconds` that also puts back routes someone deleted by hand and removes ones we no longer want
 * (STYLE.md convention 10's loop shape, without its coalescing runner: the speaker already batches per tick).
 *
 * Graceful restart, restarting side: a speaker that starts and finds routes of its protocol in the table keeps them
 * (`holdStale`) until `release()`; until then reconciling only adds and replaces.
 */
import type { Netlink, Route } from '../../../kernel/index.js'
import { ip, isNotFound } from '../../../kernel/index.js'
import { BgpdError } from '../errors.js'
import type { Rib } from '../rib/index.js'
import type { Family } from '../rib/index.js'
import type { Logger, RouteSink } from './speaker.js'

export interface FibConfig { table: number, protocol: number, ecmp: boolean, resyncSeconds: number }

/** A next hop: link-local ones carry the interface (the one facing the peer that sent the path). */
interface Hop { gw: string, dev?: number }
interface Want { family: Family, hops: Hop[] }

const hopKey = (h: Hop): string => `${h.gw}%${h.dev ?? ''}`

export class FibInstaller implements RouteSink {
  readonly #cfg: FibConfig
  readonly #nl: Netlink
  readonly #log: Logger
  #rib: Rib | undefined
  #timer: NodeJS.Timeout | undefined
  #holdStale: boolean
  #errors = 0
  installs = 0
  removals = 0

  constructor (cfg: FibConfig, deps: { netlink: Netlink, log: Logger }) {
    this.#cfg = cfg
    this.#nl = deps.netlink
    this.#log = deps.log
    this.#holdStale = false
  }

  /** Routes of our protocol already in the table (a previous run's, kept for graceful restart). */
  existing (): number { return this.#ours().length }

  /** Keeps routes we find in the table until `release()` (we are the restarting speaker of RFC 4724). */
  holdStale (): void { this.#holdStale = true }

  release (): void {
    if (!this.#holdStale) return
    this.#holdStale = false
    this.#log.info('FIB: restart complete, removing routes no longer wanted')
    this.reconcile()
  }

  start (rib: Rib): void {
    this.#rib = rib
    this.#timer = setInterval(() => this.reconcile(), this.#cfg.resyncSeconds * 1000)
    this.#timer.unref()
  }

  /** Stops the resync loop; with `keep` the routes stay (graceful restart), else they are removed. The netlink handle stays open (its owner closes it). */
  close (keep = false): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    if (!keep) for (const r of this.#ours()) this.#delete(r)
  }

  changed (prefixes: readonly string[], rib: Rib): void {
    this.#rib = rib
    for (const prefix of prefixes) {
      const want = this.#want(prefix)
      if (want === undefined) {
        if (this.#holdStale) continue
        const fam = prefix.includes(':') ? 6 : 4
        this.#delete({ family: fam, dst: prefix, table: this.#cfg.table, protocol: this.#cfg.protocol })
      } else this.#install(prefix, want)
    }
  }

  /** Full pass: the table made equal to the Loc-RIB's best routes. */
  reconcile (): { added: number, removed: number } {
    const rib = this.#rib
    if (rib === undefined) return { added: 0, removed: 0 }
    const have = new Map<string, Route>()
    for (const r of this.#ours()) have.set(r.dst, r)
    let added = 0; let removed = 0
    for (const prefix of rib.loc.keys()) {
      const want = this.#want(prefix)
      if (want === undefined) continue
      const cur = have.get(prefix)
      have.delete(prefix)
      if (cur !== undefined && sameHops(cur, want)) continue
      if (this.#install(prefix, want)) added++
    }
    if (!this.#holdStale) for (const r of have.values()) { this.#delete(r); removed++ }
    if (added + removed > 0) this.#log.info({ added, removed }, 'FIB reconciled')
    return { added, removed }
  }

  #ours (): Route[] {
    const out: Route[] = []
    for (const family of [4, 6] as const) {
      for (const r of this.#nl.routes({ family, table: this.#cfg.table })) if (r.protocol === this.#cfg.protocol) out.push(r)
    }
    return out
  }

  #want (prefix: string): Want | undefined {
    const d = this.#rib?.decision(prefix)
    if (d === undefined || d.best.source === undefined) return undefined
    const family: Family = prefix.includes(':') ? 6 : 4
    const paths = this.#cfg.ecmp ? d.multipath : [d.best]
    const hops: Hop[] = []
    for (const p of paths) {
      const h = this.#hopOf(p.attrs.nextHop, p.attrs.linkLocalNextHop, p.source?.address, family)
      if (h !== undefined && !hops.some((x) => hopKey(x) === hopKey(h))) hops.push(h)
    }
    if (hops.length === 0) return undefined
    return { family, hops: hops.sort((a, b) => hopKey(a) < hopKey(b) ? -1 : 1) }
  }

  /**
   * The kernel next hop of a path. IPv6 (RFC 2545): the global next hop when it is on a connected subnet, else the
   * link-local one on the interface that faces the peer the path came from (BIRD's `::` + link-local form included);
   * otherwise the global one as it is (the kernel refuses it while it is unreachable; the resync retries).
   */
  #hopOf (nextHop: string | undefined, linkLocal: string | undefined, peer: string | undefined, family: Family): Hop | undefined {
    const global = nextHop === undefined || nextHop === '::' || ip.familyOf(nextHop) !== family ? undefined : nextHop
    if (family === 6 && linkLocal !== undefined && (global === undefined || this.#devFor(global) === undefined)) {
      const dev = peer !== undefined ? this.#devFor(peer) : undefined
      if (dev !== undefined) return { gw: linkLocal, dev }
    }
    return global !== undefined ? { gw: global } : undefined
  }

  #devFor (gw: string): number | undefined {
    for (const a of this.#nl.addresses(ip.familyOf(gw))) {
      if (ip.contains({ family: a.family, address: a.address, prefixLen: a.prefixLen }, gw)) return a.index
    }
    return undefined
  }

  #install (prefix: string, want: Want): boolean {
    const route: Route = { family: want.family, dst: prefix, table: this.#cfg.table, protocol: this.#cfg.protocol }
    const one = (h: Hop): void => { route.gw = h.gw; if (h.dev !== undefined) route.dev = h.dev }
    if (want.hops.length === 1) one(want.hops[0] as Hop)
    else {
      const hops: NonNullable<Route['multipath']> = []
      for (const h of want.hops) {
        const dev = h.dev ?? this.#devFor(h.gw)
        if (dev !== undefined) hops.push({ gw: h.gw, dev })
      }
      if (hops.length === 0) return false
      if (hops.length === 1) one(hops[0] as Hop)
      else route.multipath = hops
    }
    try {
      this.#nl.addRoute(route, { replace: true })
      this.installs++
      return true
    } catch (e) {
      this.#fail(`install ${prefix} via ${want.hops.map(hopKey).join(',')}`, e)
      return false
    }
  }

  #delete (r: Route): void {
    try {
      this.#nl.deleteRoute({ family: r.family, dst: r.dst, table: this.#cfg.table, protocol: this.#cfg.protocol })
      this.removals++
    } catch (e) {
      if (isNotFound(e)) return
      this.#fail(`remove ${r.dst}`, e)
    }
  }

  #fail (what: string, e: unknown): void {
    this.#errors++
    // Logged, not thrown: the next reconcile retries (a next hop may become reachable later).
    const err = new BgpdError('BGPD_ERR_FIB', `${what}: ${(e as Error).message}`, { cause: e })
    if (this.#errors <= 20 || this.#errors % 1000 === 0) this.#log.warn({ code: err.code, errors: this.#errors }, err.message)
  }
}

function sameHops (r: Route, want: Want): boolean {
  // Link-local gateways are compared with their interface; others by address (the kernel fills in the device).
  const key = (gw: string | undefined, dev: number | undefined): string => (gw ?? '').startsWith('fe80') ? `${gw ?? ''}%${dev ?? ''}` : `${gw ?? ''}%`
  const have = r.multipath !== undefined && r.multipath.length > 0
    ? r.multipath.map((h) => key(h.gw, h.dev)).sort()
    : [key(r.gw, r.dev)]
  const wanted = want.hops.map((h) => key(h.gw, h.dev)).sort()
  return have.length === wanted.length && have.every((g, i) => g === wanted[i])
}
