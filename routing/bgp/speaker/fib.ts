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

interface Want { family: Family, gws: string[] }

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
    const gws: string[] = []
    for (const p of paths) {
      const gw = p.attrs.nextHop
      if (gw === undefined || gw === '::' || ip.familyOf(gw) !== family) continue
      if (!gws.includes(gw)) gws.push(gw)
    }
    if (gws.length === 0) return undefined
    return { family, gws: gws.sort() }
  }

  #devFor (gw: string): number | undefined {
    for (const a of this.#nl.addresses(ip.familyOf(gw))) {
      if (ip.contains({ family: a.family, address: a.address, prefixLen: a.prefixLen }, gw)) return a.index
    }
    return undefined
  }

  #install (prefix: string, want: Want): boolean {
    const route: Route = { family: want.family, dst: prefix, table: this.#cfg.table, protocol: this.#cfg.protocol }
    if (want.gws.length === 1) route.gw = want.gws[0] as string
    else {
      const hops: NonNullable<Route['multipath']> = []
      for (const gw of want.gws) {
        const dev = this.#devFor(gw)
        if (dev !== undefined) hops.push({ gw, dev })
      }
      if (hops.length === 0) return false
      if (hops.length === 1) route.gw = hops[0]?.gw as string
      else route.multipath = hops
    }
    try {
      this.#nl.addRoute(route, { replace: true })
      this.installs++
      return true
    } catch (e) {
      this.#fail(`install ${prefix} via ${want.gws.join(',')}`, e)
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
  const have = r.multipath !== undefined && r.multipath.length > 0
    ? r.multipath.map((h) => h.gw ?? '').sort()
    : [r.gw ?? '']
  return have.length === want.gws.length && have.every((g, i) => g === want.gws[i])
}
