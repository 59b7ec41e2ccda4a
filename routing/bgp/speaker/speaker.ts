/**
 * The daemon's core: peers (one FSM each), the RIB, origination, and the outbound side (Adj-RIB-Out per peer,
 * UPDATEs grouped by attribute set). Everything runs on Node's one loop, which makes this the RIB's only writer
 * (STYLE.md convention 12): FSM events mark prefixes dirty, and one flush per turn of the loop re-advertises them
 * and hands them to the FIB.
 *
 * Sockets and the kernel are injected (`SpeakerDeps`), so unit tests run two speakers over in-memory transports.
 */
import * as net from 'node:net'
import {
  AddPathMode, Afi, AttrType, CapabilityCode, CeaseSubcode, GracefulRestartAfFlags, GracefulRestartFlags, MessageType,
  RouteRefreshSubtype, Safi, ceaseNotification, encodeMessage, endOfRib, endOfRibFamily, findAttribute,
  maxMessageLength, notificationMessage, toTwoOctetAttributes
} from '../codec/index.js'
import type { Capability, CodecOptions, Nlri, PathAttribute, RouteRefreshMessage, UpdateMessage } from '../codec/index.js'
import { LOOP_CODES, PeerFsm, socketTransport, systemClock } from '../fsm/index.js'
import type { Clock, DownInfo, FsmState, Session, Timer, Transport, TransitionReason } from '../fsm/index.js'
import { Rib, LOCAL, attrsFromUpdate, compilePolicy, evaluatePolicy, familyOfPrefix, parseCommunity } from '../rib/index.js'
import type { Attrs, BestPathReason, Family, Path, PeerRef, Policy } from '../rib/index.js'
import { mayAdvertise, reflectAttrs } from '../rr/index.js'
import { BgpdError } from '../errors.js'
import type { AnnounceConfig, BgpdConfig, PeerConfig } from './config.js'
import { announceEntry } from './config.js'
import { AdjRibOut, atSlot } from './adj-out.js'

export interface Logger {
  info (o: object | string, msg?: string): void
  warn (o: object | string, msg?: string): void
  error (o: object | string, msg?: string): void
  debug (o: object | string, msg?: string): void
  child (bindings: Record<string, unknown>): Logger
}

export const silentLogger: Logger = {
  info () {}, warn () {}, error () {}, debug () {}, child () { return silentLogger }
}

/** Receives the prefixes whose decision changed (the FIB installer). */
export interface RouteSink {
  changed (prefixes: readonly string[], rib: Rib): void
  /** A peer whose routes are kept through a restart (RFC 4724) is back and has sent End-of-RIB, or gave up. */
  close? (): void
}

export interface SpeakerDeps {
  clock?: Clock
  log?: Logger
  /** Dials a peer; default: TCP to `address:port` (from `localAddress` when set). */
  connect?: (peer: PeerConfig) => Promise<Transport>
  /** Skip the TCP listener (tests hand connections to `accept`). */
  noListener?: boolean
  sink?: RouteSink
  /** Called when every peer is Established and has sent End-of-RIB for each family (RFC 4724 §4.1 selection deferral ends). */
  onConverged?: () => void
}

interface Peer {
  cfg: PeerConfig
  ref: PeerRef
  fsm: PeerFsm
  log: Logger
  importPolicy: Policy | undefined
  exportPolicy: Policy | undefined
  /** This peer's index in the shared Adj-RIB-Out. */
  slot: number
  session: Session | undefined
  families: Set<Family>
  upSince: number | undefined
  flaps: number
  lastError: string | undefined
  updatesIn: number
  updatesOut: number
  /** Prefixes ignored because they looped back (by reason). */
  loopedIn: Record<LoopReason, number>
  /** RFC 4724 helper: the restart timer while the peer's routes are stale. */
  restartTimer: Timer | undefined
  staleFamilies: Set<Family>
  /** Families whose End-of-RIB the peer sent in this session. */
  eor: Set<Family>
  /** RFC 7313: families between the peer's BoRR and EoRR, with the prefixes not re-advertised yet. */
  refreshing: Map<Family, { stale: Set<string>, timer: Timer }>
  /** RFC 7911: the families we send several paths in, and what it was sent: prefix → our path id → attributes. */
  addPathTx: Set<Family>
  addPathOut: Map<string, Map<number, Attrs>>
}

/** A path of a peer during an enhanced route refresh: prefix and path identifier (RFC 7911; empty without ADD-PATH). */
function staleKey (prefix: string, pathId: number | undefined): string {
  return `${prefix}#${pathId ?? ''}`
}

function negotiatedNames (s: Session): string[] {
  const n = s.negotiated
  const out: string[] = []
  if (n.tx.fourOctetAs === true) out.push('four-octet-as')
  if (n.routeRefresh) out.push('route-refresh')
  if (n.enhancedRouteRefresh) out.push('enhanced-route-refresh')
  if (n.tx.extendedMessages === true) out.push('extended-message')
  const fam = (f: { afi: number, safi: number }): string => `${f.afi === Afi.Ipv6 ? 'ipv6' : f.afi === Afi.Ipv4 ? 'ipv4' : `afi${f.afi}`}${f.safi === Safi.Unicast ? '' : `/${f.safi}`}`
  for (const f of n.rx.addPath ?? []) out.push(`add-path-rx:${fam(f)}`)
  for (const f of n.tx.addPath ?? []) out.push(`add-path-tx:${fam(f)}`)
  return out
}

/** One peer's share of an advertisement pass. */
interface Work {
  p: Peer
  groups: Record<Family, Map<Attrs, string[]>>
  gone: Record<Family, string[]>
  // The export result depends on the path's attributes object (which fixes its source and family) and, only
  // through prefix-matching export rules, on the prefix: without those, one evaluation per attribute set.
  memo: Map<Attrs, Attrs | null> | undefined
  /** ADD-PATH send: paths by attribute set, and paths withdrawn, with our path ids. */
  paths: Record<Family, Map<Attrs, Nlri[]>>
  pathsGone: Record<Family, Nlri[]>
}

/** UPDATEs encoded during one flush, for the other peers that are sent the same: key → the batch and its bytes. */
type MessageCache = Map<string, { prefixes: ReadonlyArray<string | Nlri>, bytes: Uint8Array }>

function sameList (a: ReadonlyArray<string | Nlri>, b: ReadonlyArray<string | Nlri>): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Why a route looped back: our AS in its AS_PATH, our router id as its ORIGINATOR_ID, our cluster id in its CLUSTER_LIST. */
export type LoopReason = 'asPath' | 'originatorId' | 'clusterList'
const LOOP_REASON: Record<string, LoopReason> = { BGP_ERR_AS_LOOP: 'asPath', BGP_ERR_ORIGINATOR_LOOP: 'originatorId', BGP_ERR_CLUSTER_LOOP: 'clusterList' }

/** What `reload` did, by peer address. */
export interface ReloadResult { added: string[], removed: string[], restarted: string[], updated: string[], refreshed: string[] }

export interface NeighborView {
  address: string
  asn: number
  description: string | undefined
  state: FsmState
  lastReason: TransitionReason
  routerId: string | undefined
  routeReflectorClient: boolean
  ibgp: boolean
  uptimeSeconds: number | undefined
  holdTime: number | undefined
  families: string[]
  prefixesReceived: number
  prefixesAdvertised: number
  updatesIn: number
  updatesOut: number
  /** Prefixes ignored because they looped back to us: own AS in AS_PATH, own router id as ORIGINATOR_ID, own cluster id in CLUSTER_LIST. */
  loopedIn: Record<LoopReason, number>
  flaps: number
  lastError: string | undefined
  gracefulRestart: { peerCapable: boolean, stale: boolean }
  /** What both sides advertised (RFC 5492), while Established: four-octet-as, route-refresh, enhanced-route-refresh, extended-message, add-path-rx/tx:<family>. */
  negotiated: string[]
}

export interface PathView {
  prefix: string
  source: string
  nextHop: string | undefined
  linkLocalNextHop?: string
  asPath: number[][]
  origin: number
  localPref: number | undefined
  med: number | undefined
  communities: string[]
  originatorId: string | undefined
  clusterList: string[]
  stale: boolean
  best: boolean
  /** RFC 7911: the identifier the peer gave this path (ADD-PATH received from it). */
  pathId?: number
}

export interface RibRowView { prefix: string, reason: BestPathReason | undefined, multipath: number, paths: PathView[] }

const FLUSH_SLICE = Number(process.env.WEFT_BGP_FLUSH_SLICE ?? 4096)
const FAMILY_AFI: Record<Family, number> = { 4: Afi.Ipv4, 6: Afi.Ipv6 }

export class Speaker {
  /** The configuration in effect (`reload` replaces its peers and announcements). */
  cfg: BgpdConfig
  readonly rib = new Rib()
  readonly #clock: Clock
  readonly #log: Logger
  readonly #deps: SpeakerDeps
  readonly #peers = new Map<string, Peer>()
  readonly #dirty = new Set<string>()
  #queue: string[] = []
  #head = 0
  #flushScheduled = false
  #server: net.Server | undefined
  #restarting: boolean
  #started = 0
  /** Our originated routes (announce[] and the API). */
  readonly #announced = new Map<string, AnnounceConfig>()
  readonly #originated = new Map<string, Attrs>()
  readonly #out: AdjRibOut
  /** RFC 7911: our path identifiers, by source and the source's own identifier. */
  readonly #pathIds = new Map<string, number>()
  /** Adj-RIB-Out slots: the next never used, and those of removed peers. */
  #nextSlot = 0
  readonly #freeSlots: number[] = []

  constructor (cfg: BgpdConfig, deps: SpeakerDeps = {}, opts: { restarting?: boolean } = {}) {
    this.cfg = cfg
    this.#deps = deps
    this.#clock = deps.clock ?? systemClock
    this.#log = deps.log ?? silentLogger
    this.#restarting = opts.restarting === true
    this.#out = new AdjRibOut(cfg.peers.length)
    for (const pc of cfg.peers) this.#addPeer(pc)
  }

  /** A slot in the shared Adj-RIB-Out for a new peer: a removed peer's, else a new one. */
  #allocSlot (): number {
    const free = this.#freeSlots.pop()
    if (free !== undefined) { this.#out.reuseSlot(free); return free }
    const slot = this.#nextSlot++
    if (slot >= this.#out.slots) this.#out.addSlot()
    return slot
  }

  /**
   * Applies a new configuration while running: peers added are started, peers removed are closed with Cease / Peer
   * De-configured and their routes withdrawn, a peer whose session settings changed is restarted (Cease / Other
   * Configuration Change); a change of policy only is applied in place (export: the peer gets the difference;
   * import: a ROUTE-REFRESH asks the peer to send its routes again, or, if it cannot, the session restarts);
   * announcements are brought to the new list. routerId, asn, clusterId, listen, fib, api and gracefulRestart need
   * a restart: a change of them is refused and nothing is applied.
   */
  reload (next: BgpdConfig): ReloadResult {
    const fixed = (['routerId', 'asn', 'clusterId', 'listen', 'fib', 'api', 'gracefulRestart'] as const)
      .filter((k) => JSON.stringify(next[k]) !== JSON.stringify(this.cfg[k]))
    if (fixed.length > 0) throw new BgpdError('BGPD_ERR_CONFIG', `${fixed.join(', ')} changed: these take effect on a restart of the daemon; nothing was applied`)
    const result: ReloadResult = { added: [], removed: [], restarted: [], updated: [], refreshed: [] }
    const wanted = new Map(next.peers.map((pc) => [pc.address, pc]))
    for (const p of [...this.#peers.values()]) {
      const pc = wanted.get(p.cfg.address)
      if (pc === undefined) {
        this.#removePeer(p, CeaseSubcode.PeerDeconfigured)
        result.removed.push(p.cfg.address)
        continue
      }
      if (JSON.stringify(pc) === JSON.stringify(p.cfg)) continue
      const soft = (c: PeerConfig): string => JSON.stringify({ ...c, policy: undefined, maxPrefixes: undefined, description: undefined, nextHopSelf: undefined, nextHop4: undefined, nextHop6: undefined })
      if (soft(pc) !== soft(p.cfg)) {
        this.#removePeer(p, CeaseSubcode.OtherConfigurationChange)
        const q = this.#addPeer(pc)
        if (this.#started !== undefined) q.fsm.start()
        result.restarted.push(pc.address)
        continue
      }
      const importChanged = JSON.stringify(pc.policy.import) !== JSON.stringify(p.cfg.policy.import)
      p.cfg = pc
      const pol = this.#policiesOf(pc)
      p.importPolicy = pol.importPolicy
      p.exportPolicy = pol.exportPolicy
      p.log.info('configuration updated in place')
      result.updated.push(pc.address)
      if (p.session === undefined) continue
      this.#advertise(p, [...this.rib.loc.keys()], new Map())
      if (importChanged) {
        if (p.session.negotiated.routeRefresh) {
          for (const f of p.families) p.fsm.send({ type: MessageType.RouteRefresh, afi: FAMILY_AFI[f], safi: Safi.Unicast, subtype: RouteRefreshSubtype.Request })
          result.refreshed.push(pc.address)
        } else {
          p.fsm.reset(ceaseNotification(CeaseSubcode.OtherConfigurationChange), 'manual-stop')
          result.restarted.push(pc.address)
        }
      }
    }
    for (const pc of next.peers) {
      if (this.#peers.has(pc.address)) continue
      const p = this.#addPeer(pc)
      if (this.#started !== undefined) p.fsm.start()
      result.added.push(pc.address)
    }
    const keep = new Set(next.announce.map((a) => a.prefix))
    for (const a of this.announced()) if (!keep.has(a.prefix)) this.withdraw(a.prefix)
    for (const a of next.announce) if (JSON.stringify(this.#announced.get(a.prefix)) !== JSON.stringify(a)) this.announce(a)
    this.cfg = next
    this.#log.info(result, 'configuration reloaded')
    return result
  }

  /** Closes a peer for good: its routes are withdrawn from everyone, its Adj-RIB-Out slot freed. */
  #removePeer (p: Peer, subcode: CeaseSubcode): void {
    p.restartTimer?.cancel()
    p.restartTimer = undefined
    for (const r of p.refreshing.values()) r.timer.cancel()
    p.fsm.stop(ceaseNotification(subcode))
    this.#markDirty(this.rib.dropSource(p.cfg.address))
    this.#out.retireSlot(p.slot)
    p.addPathOut.clear()
    this.#peers.delete(p.cfg.address)
    this.#freeSlots.push(p.slot)
    p.log.info({ subcode }, 'peer removed')
  }

  /** RFC 8212: no routes to or from an eBGP peer without a policy saying so. */
  #policiesOf (pc: PeerConfig): { importPolicy: Policy | undefined, exportPolicy: Policy | undefined } {
    const ibgp = pc.asn === this.cfg.asn
    const imp = pc.policy.import ?? (ibgp ? undefined : 'reject')
    const exp = pc.policy.export ?? (ibgp ? undefined : 'reject')
    return { importPolicy: imp !== undefined ? compilePolicy(imp) : undefined, exportPolicy: exp !== undefined ? compilePolicy(exp) : undefined }
  }

  get local (): { asn: number, routerId: string, clusterId: string | undefined } {
    return { asn: this.cfg.asn, routerId: this.cfg.routerId, clusterId: this.cfg.clusterId }
  }

  /** Binds the listener (unless `noListener`), originates `announce[]` and starts every peer. */
  async start (): Promise<void> {
    this.#started = this.#clock.now()
    if (this.cfg.listen !== undefined && this.#deps.noListener !== true) {
      const l = this.cfg.listen
      const server = net.createServer((sock) => this.#onSocket(sock))
      await new Promise<void>((resolve, reject) => {
        server.once('error', (e) => reject(new BgpdError('BGPD_ERR_LISTEN', `listen ${l.address}:${l.port}: ${e.message}`, { cause: e })))
        server.listen({ host: l.address, port: l.port, ipv6Only: false }, () => resolve())
      })
      server.on('error', (e) => this.#log.error({ err: e }, 'listener error'))
      this.#server = server
    }
    for (const a of this.cfg.announce) this.announce(a)
    for (const p of this.#peers.values()) p.fsm.start()
  }

  /** The port the listener got (for `listen.port: 0`). */
  get listenPort (): number | undefined {
    const a = this.#server?.address()
    return typeof a === 'object' && a !== null ? a.port : undefined
  }

  async stop (): Promise<void> {
    for (const p of this.#peers.values()) {
      p.restartTimer?.cancel()
      p.fsm.stop(ceaseNotification(CeaseSubcode.AdministrativeShutdown, 'weft bgpd stopping'))
    }
    this.#flush(true)
    const server = this.#server
    this.#server = undefined
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  /**
   * RFC 4724 restarting speaker: drop every connection without a NOTIFICATION (peers that do GR keep our routes
   * as stale and we keep the kernel's) and stop.
   */
  abandon (): void {
    for (const p of this.#peers.values()) { p.restartTimer?.cancel(); p.fsm.abandon() }
    this.#server?.close()
    this.#server = undefined
  }

  /** An accepted connection (the listener calls this; tests call it with in-memory transports). */
  accept (t: Transport): void {
    const addr = t.remoteAddress
    const p = addr !== undefined ? this.#peers.get(addr) : undefined
    if (p === undefined) {
      this.#log.warn({ remote: addr }, 'connection from an address that is not a configured peer: closed')
      t.close()
      return
    }
    p.fsm.incoming(t)
  }

  #onSocket (sock: net.Socket): void {
    const addr = sock.remoteAddress?.replace(/^::ffff:/, '')
    if (addr === undefined || !this.#peers.has(addr)) {
      this.#log.warn({ remote: addr }, 'connection from an address that is not a configured peer: closed')
      sock.destroy()
      return
    }
    this.accept(socketTransport(sock))
  }

  // --- peers ---------------------------------------------------------------------------------------------

  #capabilities (pc: PeerConfig): Capability[] {
    const caps: Capability[] = []
    for (const f of pc.families) caps.push({ code: CapabilityCode.Multiprotocol, afi: f === 'ipv6' ? Afi.Ipv6 : Afi.Ipv4, safi: Safi.Unicast })
    caps.push({ code: CapabilityCode.RouteRefresh })
    if (pc.enhancedRouteRefresh) caps.push({ code: CapabilityCode.EnhancedRouteRefresh })
    if (pc.extendedMessages) caps.push({ code: CapabilityCode.ExtendedMessage })
    if (pc.addPath !== 'off') {
      // RFC 7911: per family, whether we take several paths of a prefix (each with its identifier) and/or send them.
      const mode = pc.addPath === 'receive' ? AddPathMode.Receive : pc.addPath === 'send' ? AddPathMode.Send : AddPathMode.Both
      caps.push({ code: CapabilityCode.AddPath, families: pc.families.map((f) => ({ afi: f === 'ipv6' ? Afi.Ipv6 : Afi.Ipv4, safi: Safi.Unicast, sendReceive: mode })) })
    }
    if (pc.gracefulRestart) {
      // RFC 4724 §3: R when we restarted. The families (F when our kernel routes were kept across it) are listed
      // only when we forward (fib.enabled): a reflector without a FIB is a helper only, an empty list (as FRR's
      // default). BIRD 2.0.12 holds back the tail of its initial table for seconds towards a peer that lists them.
      caps.push({
        code: CapabilityCode.GracefulRestart,
        flags: this.#restarting ? GracefulRestartFlags.Restarting : 0,
        restartTime: this.cfg.gracefulRestart.restartTime,
        families: this.cfg.fib.enabled
          ? pc.families.map((f) => ({
            afi: f === 'ipv6' ? Afi.Ipv6 : Afi.Ipv4, safi: Safi.Unicast, flags: this.#restarting ? GracefulRestartAfFlags.ForwardingState : 0
          }))
          : []
      })
    }
    caps.push({ code: CapabilityCode.FourOctetAs, asn: this.cfg.asn })
    return caps
  }

  #addPeer (pc: PeerConfig): Peer {
    const ibgp = pc.asn === this.cfg.asn
    const log = this.#log.child({ peer: pc.address, asn: pc.asn })
    const fsmInit: ConstructorParameters<typeof PeerFsm>[0] = {
      localAs: this.cfg.asn, routerId: this.cfg.routerId, peerAs: pc.asn, holdTime: pc.holdTime,
      connectRetryTime: pc.connectRetryTime, idleHoldTime: pc.idleHoldTime, passive: pc.passive,
      capabilities: this.#capabilities(pc)
    }
    if (pc.keepaliveTime !== undefined) fsmInit.keepaliveTime = pc.keepaliveTime
    if (this.cfg.clusterId !== undefined) fsmInit.clusterId = this.cfg.clusterId
    const p: Peer = {
      cfg: pc,
      ref: { address: pc.address, asn: pc.asn, routerId: '0.0.0.0', ibgp, rrClient: pc.routeReflectorClient },
      fsm: undefined as unknown as PeerFsm,
      log,
      ...this.#policiesOf(pc),
      slot: this.#allocSlot(),
      session: undefined,
      families: new Set(),
      upSince: undefined,
      flaps: 0,
      lastError: undefined,
      updatesIn: 0,
      updatesOut: 0,
      loopedIn: { asPath: 0, originatorId: 0, clusterList: 0 },
      restartTimer: undefined,
      staleFamilies: new Set(),
      eor: new Set(),
      refreshing: new Map(),
      addPathTx: new Set(),
      addPathOut: new Map()
    }
    const connect = this.#deps.connect ?? defaultConnect
    p.fsm = new PeerFsm(fsmInit, {
      clock: this.#clock,
      connect: () => connect(pc),
      events: {
        transition: (t) => log.info({ from: t.from, to: t.next, reason: t.reason }, `${t.from} -> ${t.next}`),
        established: (s) => this.#onEstablished(p, s),
        update: (u) => this.#onUpdate(p, u),
        routeRefresh: (r) => { this.#onRouteRefresh(p, r) },
        down: (d) => this.#onDown(p, d),
        log: (level, msg, fields) => log[level](fields ?? {}, msg)
      }
    })
    this.#peers.set(pc.address, p)
    return p
  }

  /**
   * ROUTE-REFRESH (RFC 2918) and, when both sides do Enhanced Route Refresh (RFC 7313), its markers: a request is
   * answered with the family's whole Adj-RIB-Out, between BoRR and EoRR when enhanced (End-of-RIB otherwise); the
   * peer's BoRR makes its routes of that family stale until re-advertised, and its EoRR removes the ones that were
   * not (or the stale time does).
   */
  #onRouteRefresh (p: Peer, r: RouteRefreshMessage): void {
    const fam: Family | undefined = r.afi === Afi.Ipv4 ? 4 : r.afi === Afi.Ipv6 ? 6 : undefined
    if (fam === undefined || r.safi !== Safi.Unicast || !p.families.has(fam) || p.session === undefined) return
    const enhanced = p.session.negotiated.enhancedRouteRefresh
    if (r.subtype === RouteRefreshSubtype.Request) {
      p.log.info({ afi: r.afi, enhanced }, 'route refresh requested: re-advertising')
      if (enhanced) p.fsm.send({ type: MessageType.RouteRefresh, afi: r.afi, safi: Safi.Unicast, subtype: RouteRefreshSubtype.BeginningOfRouteRefresh })
      this.#out.clear(p.slot, fam)
      for (const x of [...p.addPathOut.keys()]) if (familyOfPrefix(x) === fam) p.addPathOut.delete(x)
      this.#advertise(p, [...this.rib.loc.keys()].filter((x) => familyOfPrefix(x) === fam), new Map())
      if (enhanced) p.fsm.send({ type: MessageType.RouteRefresh, afi: r.afi, safi: Safi.Unicast, subtype: RouteRefreshSubtype.EndOfRouteRefresh })
      else this.#sendEor(p, fam)
      return
    }
    // RFC 7313 §5: markers are ignored unless the capability was negotiated.
    if (!enhanced) return
    if (r.subtype === RouteRefreshSubtype.BeginningOfRouteRefresh) {
      const stale = new Set<string>()
      for (const x of this.rib.prefixesOf(p.cfg.address)) {
        if (familyOfPrefix(x) !== fam) continue
        for (const q of this.rib.loc.get(x)?.paths ?? []) if (q.source?.address === p.cfg.address) stale.add(staleKey(x, q.pathId))
      }
      p.refreshing.get(fam)?.timer.cancel()
      const timer = this.#clock.setTimer(this.cfg.gracefulRestart.staleTime * 1000, () => this.#endRefresh(p, fam, 'stale time ran out'))
      p.refreshing.set(fam, { stale, timer })
      p.log.info({ afi: r.afi, routes: stale.size }, 'enhanced route refresh from the peer: its routes are stale until re-advertised')
    } else if (r.subtype === RouteRefreshSubtype.EndOfRouteRefresh) {
      this.#endRefresh(p, fam, 'EoRR')
    }
  }

  /** Ends an enhanced route refresh from `p`: what it did not re-advertise since its BoRR is withdrawn. */
  #endRefresh (p: Peer, fam: Family, why: string): void {
    const r = p.refreshing.get(fam)
    if (r === undefined) return
    r.timer.cancel()
    p.refreshing.delete(fam)
    const changed: string[] = []
    for (const k of r.stale) {
      const [x, id] = k.split('#') as [string, string]
      if (this.rib.withdraw(p.cfg.address, x, id === '' ? undefined : Number(id))) changed.push(x)
    }
    p.log.info({ family: fam, removed: r.stale.size }, `enhanced route refresh ended (${why}): routes not re-advertised removed`)
    this.#markDirty(changed)
  }

  #onEstablished (p: Peer, s: Session): void {
    p.session = s
    p.ref = { ...p.ref, routerId: s.peerId }
    p.upSince = this.#clock.now()
    p.families = new Set(s.negotiated.families.filter((f) => f.safi === Safi.Unicast && (f.afi === Afi.Ipv4 || f.afi === Afi.Ipv6))
      .map((f) => f.afi === Afi.Ipv4 ? 4 as const : 6 as const))
    this.#out.clear(p.slot)
    p.addPathOut.clear()
    p.addPathTx = new Set((s.negotiated.tx.addPath ?? []).filter((f) => f.safi === Safi.Unicast && (f.afi === Afi.Ipv4 || f.afi === Afi.Ipv6))
      .map((f) => f.afi === Afi.Ipv4 ? 4 as const : 6 as const))
    p.eor.clear()
    p.log.info({ routerId: s.peerId, holdTime: s.negotiated.holdTime, families: [...p.families] }, 'session established')
    // Everything we have, then End-of-RIB per family (RFC 4724 §2; harmless without GR).
    this.#advertise(p, [...this.rib.loc.keys()], new Map())
    for (const f of p.families) this.#sendEor(p, f)
  }

  #sendEor (p: Peer, f: Family): void {
    if (p.session === undefined) return
    p.fsm.send(f === 4 ? endOfRib() : endOfRib(Afi.Ipv6, Safi.Unicast))
  }

  #onDown (p: Peer, d: DownInfo): void {
    if (!d.wasEstablished) {
      if (d.sent !== undefined || d.received !== undefined) p.lastError = describeDown(d)
      return
    }
    p.flaps++
    p.lastError = describeDown(d)
    for (const r of p.refreshing.values()) r.timer.cancel()
    p.refreshing.clear()
    p.session = undefined
    p.upSince = undefined
    this.#out.clear(p.slot)
    p.addPathOut.clear()
    const gr = d.session?.peerGracefulRestart
    // RFC 4724 §4.2 (helper): the peer's routes stay, marked stale, when it does GR and the session ended without
    // a NOTIFICATION (RFC 8538: or with one other than Hard Reset when it set N).
    const notif = d.sent ?? d.received
    const nFlag = gr !== undefined && (gr.flags & GracefulRestartFlags.Notification) !== 0
    const graceful = p.cfg.gracefulRestart && gr !== undefined && gr.restartTime > 0 &&
      (notif === undefined || (nFlag && !(notif.code === 6 && notif.subcode === CeaseSubcode.HardReset))) &&
      d.reason !== 'manual-stop' && d.reason !== 'max-prefixes'
    if (graceful) {
      const fams = new Set<Family>(gr.families.filter((f) => f.safi === Safi.Unicast).map((f) => f.afi === Afi.Ipv6 ? 6 as const : 4 as const))
      p.staleFamilies = fams
      const changed = this.rib.markStale(p.cfg.address)
      // Families the peer did not list for GR are dropped at once.
      for (const prefix of this.rib.prefixesOf(p.cfg.address)) {
        if (!fams.has(familyOfPrefix(prefix)) && this.rib.withdraw(p.cfg.address, prefix, 'all')) changed.push(prefix)
      }
      this.#markDirty(changed)
      p.log.info({ restartTime: gr.restartTime, families: [...fams] }, 'peer does graceful restart: keeping its routes as stale')
      p.restartTimer?.cancel()
      p.restartTimer = this.#clock.setTimer(gr.restartTime * 1000, () => {
        p.restartTimer = undefined
        if (p.session !== undefined) return
        p.log.info('restart time over: dropping stale routes')
        p.staleFamilies.clear()
        this.#markDirty(this.rib.sweepStale(p.cfg.address))
      })
      return
    }
    this.#markDirty(this.rib.dropSource(p.cfg.address))
  }

  #onUpdate (p: Peer, u: UpdateMessage): void {
    p.updatesIn++
    if (p.refreshing.size > 0) this.#refreshed(p, u)
    const src = p.cfg.address
    const changed: string[] = []
    // A peer we send every path (ADD-PATH) must hear of any path's change, not only of a change of the best.
    const all = this.#sendsAddPath()
    const eor = endOfRibFamily(u)
    if (eor !== undefined) {
      const fam: Family = eor.afi === Afi.Ipv6 ? 6 : 4
      p.eor.add(fam)
      if (this.converged()) this.#deps.onConverged?.()
      if (p.staleFamilies.delete(fam)) {
        const swept = this.rib.sweepStale(src).filter((x) => familyOfPrefix(x) === fam)
        p.log.info({ family: fam, removed: swept.length }, 'End-of-RIB after restart: stale routes removed')
        this.#markDirty(swept)
        if (p.staleFamilies.size === 0) { p.restartTimer?.cancel(); p.restartTimer = undefined }
      }
      return
    }
    for (const n of u.withdrawn) if (this.rib.withdraw(src, n.prefix, n.pathId) || all) changed.push(n.prefix)
    const unreach = findAttribute(u.attributes, AttrType.MpUnreachNlri)
    if (unreach !== undefined) for (const n of unreach.withdrawn) if (this.rib.withdraw(src, n.prefix, n.pathId) || all) changed.push(n.prefix)
    const reach = findAttribute(u.attributes, AttrType.MpReachNlri)
    if (u.treatAsWithdraw === true) {
      // Routes that looped back (the codec's validation found our AS, router id or cluster id in them) are counted.
      const loop = u.errors?.find((e) => LOOP_CODES.has(e.code))?.code
      if (loop !== undefined) p.loopedIn[LOOP_REASON[loop] as LoopReason] += u.nlri.length + (reach?.nlri.length ?? 0)
      for (const n of u.nlri) if (this.rib.withdraw(src, n.prefix, n.pathId) || all) changed.push(n.prefix)
      if (reach !== undefined) for (const n of reach.nlri) if (this.rib.withdraw(src, n.prefix, n.pathId) || all) changed.push(n.prefix)
      this.#markDirty(changed)
      return
    }
    if (u.nlri.length > 0) this.#learn(p, u.nlri, 4, attrsFromUpdate(u.attributes, undefined), changed)
    if (reach !== undefined && reach.nlri.length > 0) {
      const mp: { nextHop: string, linkLocalNextHop?: string } = { nextHop: reach.nextHop }
      if (reach.linkLocalNextHop !== undefined) mp.linkLocalNextHop = reach.linkLocalNextHop
      this.#learn(p, reach.nlri, reach.afi === Afi.Ipv6 ? 6 : 4, attrsFromUpdate(u.attributes, mp), changed)
    }
    this.#markDirty(changed)
    const max = p.cfg.maxPrefixes
    if (max !== undefined && this.rib.count(src) > max) {
      // RFC 4486 §4: Cease, Maximum Number of Prefixes Reached; data AFI, SAFI, upper bound.
      const data = new Uint8Array(7)
      const dv = new DataView(data.buffer)
      dv.setUint16(0, Afi.Ipv4); data[2] = Safi.Unicast; dv.setUint32(3, max)
      p.log.warn({ maxPrefixes: max, received: this.rib.count(src) }, 'maxPrefixes exceeded: session closed with Cease/1')
      p.fsm.reset(notificationMessage({ code: 6, subcode: CeaseSubcode.MaximumNumberOfPrefixesReached, data }), 'max-prefixes')
    }
  }

  /** Prefixes an UPDATE mentions are no longer stale for an enhanced route refresh in progress. */
  #refreshed (p: Peer, u: UpdateMessage): void {
    const reach = findAttribute(u.attributes, AttrType.MpReachNlri)
    const unreach = findAttribute(u.attributes, AttrType.MpUnreachNlri)
    for (const list of [u.nlri, u.withdrawn, reach?.nlri ?? [], unreach?.withdrawn ?? []]) {
      for (const n of list) p.refreshing.get(familyOfPrefix(n.prefix))?.stale.delete(staleKey(n.prefix, n.pathId))
    }
  }

  #learn (p: Peer, nlri: readonly Nlri[], family: Family, attrs: Attrs, changed: string[]): void {
    const src = p.cfg.address
    const pol = p.importPolicy
    const all = this.#sendsAddPath()
    for (const n of nlri) {
      let a = attrs
      if (pol !== undefined) {
        const r = evaluatePolicy(pol, n.prefix, family, attrs)
        if (r === undefined) {
          if (this.rib.withdraw(src, n.prefix, n.pathId) || all) changed.push(n.prefix)
          continue
        }
        a = r.attrs
      }
      const path: Path = n.pathId === undefined ? { prefix: n.prefix, family, source: p.ref, attrs: a } : { prefix: n.prefix, family, source: p.ref, attrs: a, pathId: n.pathId }
      if (this.rib.update(path) || all) changed.push(n.prefix)
    }
  }

  /** Whether some Established peer is sent several paths per prefix (RFC 7911). */
  #sendsAddPath (): boolean {
    for (const q of this.#peers.values()) if (q.session !== undefined && q.addPathTx.size > 0) return true
    return false
  }

  // --- origination -----------------------------------------------------------------------------------------

  /** Originates a prefix (announce[] or the API); replaces an earlier announcement of it. */
  announce (a: AnnounceConfig | string): void {
    const cfg = typeof a === 'string' ? announceEntry(a, 'prefix') : a
    this.#announced.set(cfg.prefix, cfg)
    // Originated routes with the same attributes share one Attrs, so they leave in the same UPDATEs.
    // Per family: the export memo of #advertise keys on the Attrs object, and the next hop chosen depends on the family.
    const key = `${familyOfPrefix(cfg.prefix)}|${cfg.nextHop ?? ''}|${cfg.med ?? ''}|${cfg.localPref ?? ''}|${cfg.communities.join(',')}`
    let attrs = this.#originated.get(key)
    if (attrs === undefined) {
      attrs = {
        origin: 0, asPath: [], nextHop: cfg.nextHop, med: cfg.med, localPref: cfg.localPref,
        communities: cfg.communities.map(parseCommunity), largeCommunities: [], extCommunities: [], clusterList: [],
        atomicAggregate: false, other: []
      }
      this.#originated.set(key, attrs)
    }
    if (this.rib.update({ prefix: cfg.prefix, family: familyOfPrefix(cfg.prefix), source: undefined, attrs }) || this.#sendsAddPath()) this.#markDirty([cfg.prefix])
  }

  /** Stops originating a prefix; false when it was not announced here. */
  withdraw (prefix: string): boolean {
    let p: string
    try { p = announceEntry(prefix, 'prefix').prefix } catch (e) { throw new BgpdError('BGPD_ERR_REQUEST', (e as Error).message) }
    if (!this.#announced.delete(p)) return false
    if (this.rib.withdraw(LOCAL, p) || this.#sendsAddPath()) this.#markDirty([p])
    return true
  }

  /** Every peer Established and done with its initial UPDATEs (End-of-RIB for every negotiated family). */
  converged (): boolean {
    for (const p of this.#peers.values()) {
      if (p.session === undefined) return false
      for (const f of p.families) if (!p.eor.has(f)) return false
    }
    return true
  }

  announced (): AnnounceConfig[] { return [...this.#announced.values()] }

  // --- outbound --------------------------------------------------------------------------------------------

  #markDirty (prefixes: readonly string[]): void {
    if (prefixes.length === 0) return
    for (const x of prefixes) {
      if (this.#dirty.has(x)) continue
      this.#dirty.add(x)
      this.#queue.push(x)
    }
    this.#scheduleFlush()
  }

  #scheduleFlush (): void {
    if (this.#flushScheduled) return
    this.#flushScheduled = true
    setImmediate(() => this.#flush())
  }

  /**
   * Advertises and installs one slice of the dirty prefixes, then yields to the loop before the next: a full
   * table must not keep us from reading the sockets for long (a peer whose data we do not read fills our receive
   * buffer, the kernel drops segments and the sender backs off for seconds).
   */
  #flush (all = false): void {
    this.#flushScheduled = false
    if (this.#dirty.size === 0) return
    // The queue keeps arrival order; the set only de-duplicates (taking slices off the front of a Set is
    // quadratic: its iteration walks the deleted entries again every time).
    let prefixes: string[]
    if (all || this.#queue.length - this.#head <= FLUSH_SLICE) {
      prefixes = this.#head === 0 ? this.#queue : this.#queue.slice(this.#head)
      this.#queue = []
      this.#head = 0
      this.#dirty.clear()
    } else {
      prefixes = this.#queue.slice(this.#head, this.#head + FLUSH_SLICE)
      this.#head += FLUSH_SLICE
      for (const x of prefixes) this.#dirty.delete(x)
      if (this.#head > 65536) { this.#queue = this.#queue.slice(this.#head); this.#head = 0 }
      this.#scheduleFlush()
    }
    const t0 = this.#clock.now()
    const cache = new Map()
    this.#advertiseAll([...this.#peers.values()], prefixes, cache)
    this.#deps.sink?.changed(prefixes, this.rib)
    this.#log.debug({ prefixes: prefixes.length, ms: Math.round((this.#clock.now() - t0) * 10) / 10, messages: cache.size }, 'flush')
  }

  /** What `p` should have for `path`, or undefined when it gets nothing. */
  #exportAttrs (p: Peer, path: Path): Attrs | undefined {
    if (!p.families.has(path.family)) return undefined
    if (!mayAdvertise(path, p.ref, this.local)) return undefined
    // RFC 1997: NO_ADVERTISE never leaves us; NO_EXPORT stays inside the AS.
    const comms = path.attrs.communities
    if (comms.length > 0 && (comms.includes(0xffffff02) || (!p.ref.ibgp && comms.includes(0xffffff01)))) return undefined
    let attrs = path.attrs
    const reflecting = path.source?.ibgp === true && p.ref.ibgp
    if (reflecting) attrs = reflectAttrs(path, this.cfg.clusterId ?? this.cfg.routerId)
    let nextHopSelf = p.cfg.nextHopSelf
    let prepend = 0
    if (p.exportPolicy !== undefined) {
      const r = evaluatePolicy(p.exportPolicy, path.prefix, path.family, attrs)
      if (r === undefined) return undefined
      nextHopSelf ||= r.nextHopSelf
      prepend = r.prepend
      attrs = r.attrs
    }
    const self = this.#selfAddress(p, path.family)
    const ebgp = !p.ref.ibgp
    const needSelf = ebgp || nextHopSelf || path.source === undefined || attrs.nextHop === undefined
    if (needSelf && path.source === undefined && attrs.nextHop !== undefined && !ebgp && !nextHopSelf) {
      // An originated route with a configured next hop keeps it on iBGP.
    } else if (needSelf && self === undefined) {
      return undefined
    }
    const keepNh = !needSelf || (path.source === undefined && attrs.nextHop !== undefined && !ebgp && !nextHopSelf)
    const medSetByPolicy = attrs.med !== path.attrs.med
    const key = `${ebgp ? 'e' : 'i'}|${keepNh ? '' : self ?? ''}|${prepend}|${medSetByPolicy || path.source === undefined ? 'm' : ''}|${this.cfg.asn}`
    return transformed(attrs, key, () => {
      if (ebgp) {
        const own = Array.from({ length: 1 + prepend }, () => this.cfg.asn)
        const segs = attrs.asPath
        const first = segs[0]
        const asPath = first !== undefined && first.type === 2 && first.asns.length + own.length <= 255
          ? [{ type: 2, asns: [...own, ...first.asns] }, ...segs.slice(1)]
          : [{ type: 2, asns: own }, ...segs]
        return {
          ...attrs, asPath, nextHop: self, linkLocalNextHop: undefined, localPref: undefined, originatorId: undefined, clusterList: [],
          med: medSetByPolicy || path.source === undefined ? attrs.med : undefined
        }
      }
      return {
        ...attrs,
        localPref: attrs.localPref ?? 100,
        ...(keepNh ? {} : { nextHop: self, linkLocalNextHop: undefined })
      }
    })
  }

  #selfAddress (p: Peer, family: Family): string | undefined {
    const l = p.session?.localAddress
    if (l !== undefined && familyOfPrefix(l.includes(':') ? '::/0' : '0.0.0.0/0') === family && !l.startsWith('fe80')) return l
    return family === 4 ? p.cfg.nextHop4 : p.cfg.nextHop6
  }

  /** Brings `p`'s Adj-RIB-Out up to date for `prefixes` and sends the difference. */
  #advertise (p: Peer, prefixes: readonly string[], cache: MessageCache): void {
    this.#advertiseAll([p], prefixes, cache)
  }

  /**
   * Brings the Adj-RIB-Out of every peer in `peers` up to date for `prefixes` and sends the differences. The loop
   * runs over prefixes outside and peers inside, so each prefix's Loc-RIB entry and Adj-RIB-Out row are looked up
   * once, not once per peer.
   */
  #advertiseAll (peers: readonly Peer[], prefixes: readonly string[], cache: MessageCache): void {
    const work: Work[] = []
    for (const p of peers) {
      if (p.session === undefined) continue
      work.push({
        p,
        groups: { 4: new Map(), 6: new Map() },
        gone: { 4: [], 6: [] },
        memo: p.exportPolicy === undefined || !p.exportPolicy.prefixDependent ? new Map() : undefined,
        paths: { 4: new Map(), 6: new Map() },
        pathsGone: { 4: [], 6: [] }
      })
    }
    if (work.length === 0) return
    for (const prefix of prefixes) {
      const d = this.rib.loc.get(prefix)
      const best = d?.best
      const fam: Family = best?.family ?? familyOfPrefix(prefix)
      let row = this.#out.row(prefix)
      for (const w of work) {
        const p = w.p
        if (p.addPathTx.has(fam)) { this.#diffAddPaths(w, prefix, fam, d?.paths ?? []); continue }
        const out = best !== undefined ? this.#exportFor(w, best) : undefined
        const prev = atSlot(row, p.slot)
        if (out === undefined) {
          if (prev !== undefined) { this.#out.delete(p.slot, prefix); w.gone[fam].push(prefix) }
          continue
        }
        if (prev === out) continue
        row = this.#out.set(p.slot, prefix, out)
        const g = w.groups[fam]
        const list = g.get(out)
        if (list === undefined) g.set(out, [prefix])
        else list.push(prefix)
      }
    }
    for (const w of work) {
      const tx = (w.p.session as Session).negotiated.tx
      // Many UPDATEs in one write (writev) rather than one syscall each.
      w.p.fsm.cork()
      for (const fam of [4, 6] as const) {
        if (w.gone[fam].length > 0) this.#sendBatches(w.p, fam, undefined, w.gone[fam], tx, cache)
        for (const [attrs, list] of w.groups[fam]) this.#sendBatches(w.p, fam, attrs, list, tx, cache)
        if (w.pathsGone[fam].length > 0) this.#sendBatches(w.p, fam, undefined, w.pathsGone[fam], tx, undefined)
        for (const [attrs, list] of w.paths[fam]) this.#sendBatches(w.p, fam, attrs, list, tx, undefined)
      }
      w.p.fsm.uncork()
    }
  }

  /** `#exportAttrs` through the pass's memo (one evaluation per attribute set when no rule matches prefixes). */
  #exportFor (w: Work, path: Path): Attrs | undefined {
    if (w.memo === undefined) return this.#exportAttrs(w.p, path)
    let m = w.memo.get(path.attrs)
    if (m === undefined) { m = this.#exportAttrs(w.p, path) ?? null; w.memo.set(path.attrs, m) }
    return m ?? undefined
  }

  /** Our identifier for a path (RFC 7911 §3: chosen by the sender): one per source and the source's own id. */
  #localPathId (path: Path): number {
    const key = `${Rib.keyOf(path.source)}#${path.pathId ?? ''}`
    let id = this.#pathIds.get(key)
    if (id === undefined) { id = this.#pathIds.size + 1; this.#pathIds.set(key, id) }
    return id
  }

  /**
   * ADD-PATH send (RFC 7911): `w.p` gets every path of the prefix it may be sent, each under our path id; what it
   * had and no longer gets is withdrawn by id.
   */
  #diffAddPaths (w: Work, prefix: string, fam: Family, paths: readonly Path[]): void {
    const p = w.p
    const before = p.addPathOut.get(prefix)
    const now = new Map<number, Attrs>()
    for (const path of paths) {
      const out = this.#exportFor(w, path)
      if (out !== undefined) now.set(this.#localPathId(path), out)
    }
    for (const id of before?.keys() ?? []) if (!now.has(id)) w.pathsGone[fam].push({ prefix, pathId: id })
    for (const [id, attrs] of now) {
      if (before?.get(id) === attrs) continue
      const list = w.paths[fam].get(attrs)
      if (list === undefined) w.paths[fam].set(attrs, [{ prefix, pathId: id }])
      else list.push({ prefix, pathId: id })
    }
    if (now.size > 0) p.addPathOut.set(prefix, now)
    else p.addPathOut.delete(prefix)
  }

  /** UPDATEs for `prefixes` under `attrs` (undefined: withdrawals), each within the message limit. */
  #sendBatches (p: Peer, fam: Family, attrs: Attrs | undefined, prefixes: Array<string | Nlri>, tx: CodecOptions, cache: MessageCache | undefined): void {
    const limit = maxMessageLength(tx, MessageType.Update) - 8
    const attrList = attrs === undefined ? [] : toAttributesFor(attrs, fam, tx)
    // Not sent: out of the Adj-RIB-Out, so that a later change retries.
    const forget = (items: Array<string | Nlri>): void => {
      for (const x of items) {
        if (typeof x === 'string') this.#out.delete(p.slot, x)
        else p.addPathOut.get(x.prefix)?.delete(x.pathId as number)
      }
    }
    let baseLen: number
    try {
      baseLen = 23 + attributesLength(attrList, tx) + (fam === 6 ? 8 : 0)
    } catch (e) {
      p.log.error({ code: (e as { code?: string }).code, prefixes: prefixes.length, first: prefixes[0] }, `UPDATE not sent: ${(e as Error).message}`)
      forget(prefixes)
      return
    }
    const id = attrs === undefined ? 'w' : String(attrsId(attrs))
    const txKey = `${tx.fourOctetAs === true ? 4 : 2}`
    let batch: Array<string | Nlri> = []
    let len = baseLen
    const send = (): void => {
      if (batch.length === 0) return
      // Peers that get the same prefixes under the same attributes get the same bytes. The key names the batch by
      // its ends and size; a hit is confirmed element by element (the prefix strings are shared, so === is cheap).
      // Batches with path identifiers (ADD-PATH) are not shared.
      const key = cache === undefined ? '' : `${id}|${txKey}|${fam}|${batch.length}|${String(batch[0] ?? '')}|${String(batch[batch.length - 1] ?? '')}`
      const hit = cache?.get(key)
      let bytes = hit !== undefined && sameList(hit.prefixes, batch) ? hit.bytes : undefined
      if (bytes === undefined) {
        try {
          bytes = encodeMessage(buildUpdate(fam, attrList, batch), tx)
        } catch (e) {
          // A path we cannot encode for this peer (BgpEncodeError) must not take the daemon down: log, and leave
          // those prefixes out of its Adj-RIB-Out so a later change retries.
          p.log.error({ code: (e as { code?: string }).code, prefixes: batch.length, first: batch[0] }, `UPDATE not sent: ${(e as Error).message}`)
          forget(batch)
          batch = []
          len = baseLen
          return
        }
        if (cache !== undefined && hit === undefined) cache.set(key, { prefixes: batch, bytes })
      }
      p.fsm.sendBytes(bytes)
      p.updatesOut++
      batch = []
      len = baseLen
    }
    for (const item of prefixes) {
      const prefix = typeof item === 'string' ? item : item.prefix
      const cost = (typeof item === 'string' ? 1 : 5) + Math.ceil(Number(prefix.slice(prefix.indexOf('/') + 1)) / 8)
      if (len + cost > limit) send()
      batch.push(item)
      len += cost
    }
    send()
  }

  // --- management ------------------------------------------------------------------------------------------

  neighbors (): NeighborView[] {
    const now = this.#clock.now()
    return [...this.#peers.values()].map((p) => ({
      address: p.cfg.address,
      asn: p.cfg.asn,
      description: p.cfg.description,
      state: p.fsm.state,
      lastReason: p.fsm.lastReason,
      routerId: p.session?.peerId,
      routeReflectorClient: p.cfg.routeReflectorClient,
      ibgp: p.ref.ibgp,
      uptimeSeconds: p.upSince !== undefined ? Math.round((now - p.upSince) / 1000) : undefined,
      holdTime: p.session?.negotiated.holdTime,
      families: [...p.families].map((f) => f === 4 ? 'ipv4' : 'ipv6'),
      prefixesReceived: this.rib.count(p.cfg.address),
      prefixesAdvertised: this.#out.count(p.slot) + p.addPathOut.size,
      updatesIn: p.updatesIn,
      updatesOut: p.updatesOut,
      loopedIn: { ...p.loopedIn },
      flaps: p.flaps,
      lastError: p.lastError,
      gracefulRestart: { peerCapable: p.session?.peerGracefulRestart !== undefined, stale: p.staleFamilies.size > 0 },
      negotiated: p.session === undefined ? [] : negotiatedNames(p.session)
    }))
  }

  ribView (filter: { prefix?: string, family?: Family, limit?: number } = {}): RibRowView[] {
    const rows: RibRowView[] = []
    const keys = filter.prefix !== undefined ? [filter.prefix] : this.rib.loc.keys()
    for (const prefix of keys) {
      const e = this.rib.loc.get(prefix)
      if (e === undefined) continue
      if (filter.family !== undefined && familyOfPrefix(prefix) !== filter.family) continue
      const best = e.best
      rows.push({
        prefix,
        reason: e.reason,
        multipath: e.multipath.length,
        paths: e.paths.map((x) => pathView(x, x === best))
      })
      if (filter.limit !== undefined && rows.length >= filter.limit) break
    }
    return rows
  }

  /** Asks the peer to send its routes again (RFC 2918). */
  refresh (address: string): void {
    const p = this.#peer(address)
    if (p.session === undefined) throw new BgpdError('BGPD_ERR_REQUEST', `peer ${address} is not established`)
    if (!p.session.negotiated.routeRefresh) throw new BgpdError('BGPD_ERR_REQUEST', `peer ${address} did not advertise route refresh`)
    for (const f of p.families) p.fsm.send({ type: MessageType.RouteRefresh, afi: FAMILY_AFI[f], safi: Safi.Unicast, subtype: RouteRefreshSubtype.Request })
  }

  /** Closes the session with Cease/Administrative Reset; the FSM starts again after its idle hold time. */
  resetPeer (address: string, message?: string): void {
    this.#peer(address).fsm.reset(ceaseNotification(CeaseSubcode.AdministrativeReset, message), 'manual-stop')
  }

  stats (): { prefixes: number, paths: number, peers: number, established: number, uptimeSeconds: number } {
    let paths = 0
    for (const e of this.rib.loc.values()) paths += e.paths.length
    const ps = [...this.#peers.values()]
    return {
      prefixes: this.rib.loc.size, paths, peers: ps.length, established: ps.filter((p) => p.session !== undefined).length,
      uptimeSeconds: Math.round((this.#clock.now() - this.#started) / 1000)
    }
  }

  #peer (address: string): Peer {
    const p = this.#peers.get(address)
    if (p === undefined) throw new BgpdError('BGPD_ERR_REQUEST', `no peer ${address}`)
    return p
  }
}

// --- helpers ---------------------------------------------------------------------------------------------

const transforms = new WeakMap<Attrs, Map<string, Attrs>>()
function transformed (a: Attrs, key: string, make: () => Attrs): Attrs {
  let m = transforms.get(a)
  if (m === undefined) { m = new Map(); transforms.set(a, m) }
  let out = m.get(key)
  if (out === undefined) { out = make(); m.set(key, out) }
  return out
}

const ids = new WeakMap<Attrs, number>()
let nextId = 1
function attrsId (a: Attrs): number {
  let id = ids.get(a)
  if (id === undefined) { id = nextId++; ids.set(a, id) }
  return id
}

const attrLists = new WeakMap<Attrs, Map<string, PathAttribute[]>>()
function toAttributesFor (a: Attrs, fam: Family, tx: CodecOptions): PathAttribute[] {
  const key = `${fam}${tx.fourOctetAs === true ? 4 : 2}`
  let m = attrLists.get(a)
  if (m === undefined) { m = new Map(); attrLists.set(a, m) }
  let list = m.get(key)
  if (list === undefined) {
    list = attrsToList(a, fam)
    if (tx.fourOctetAs !== true) list = toTwoOctetAttributes(list)
    m.set(key, list)
  }
  return list
}

function attrsToList (a: Attrs, fam: Family): PathAttribute[] {
  return toAttrs(a, fam)
}

function attributesLength (list: PathAttribute[], tx: CodecOptions): number {
  return encodeMessage({ type: MessageType.Update, withdrawn: [], attributes: list, nlri: [] }, tx).length - 23
}

function buildUpdate (fam: Family, attrList: PathAttribute[], prefixes: Array<string | Nlri>): UpdateMessage {
  const nlri = prefixes.map((x) => typeof x === 'string' ? { prefix: x } : x)
  if (attrList.length === 0) {
    if (fam === 4) return { type: MessageType.Update, withdrawn: nlri, attributes: [], nlri: [] }
    return { type: MessageType.Update, withdrawn: [], attributes: [{ type: AttrType.MpUnreachNlri, afi: Afi.Ipv6, safi: Safi.Unicast, withdrawn: nlri }], nlri: [] }
  }
  if (fam === 4) return { type: MessageType.Update, withdrawn: [], attributes: attrList, nlri }
  const attributes = attrList.map((x) => x.type === AttrType.MpReachNlri && 'afi' in x ? { ...x, nlri } : x)
  return { type: MessageType.Update, withdrawn: [], attributes, nlri: [] }
}

function pathView (x: Path, best: boolean): PathView {
  const v: PathView = {
    prefix: x.prefix,
    source: x.source?.address ?? 'local',
    nextHop: x.attrs.nextHop,
    asPath: x.attrs.asPath.map((s) => [...s.asns]),
    origin: x.attrs.origin,
    localPref: x.attrs.localPref,
    med: x.attrs.med,
    communities: x.attrs.communities.map((c) => `${Math.floor(c / 65536)}:${c % 65536}`),
    originatorId: x.attrs.originatorId,
    clusterList: [...x.attrs.clusterList],
    stale: x.stale === true,
    best
  }
  if (x.attrs.linkLocalNextHop !== undefined) v.linkLocalNextHop = x.attrs.linkLocalNextHop
  if (x.pathId !== undefined) v.pathId = x.pathId
  return v
}

function describeDown (d: DownInfo): string {
  const n = d.sent ?? d.received
  return n !== undefined ? `${d.reason} (${d.sent !== undefined ? 'sent' : 'received'} ${n.code}/${n.subcode})` : d.reason
}

async function defaultConnect (pc: PeerConfig): Promise<Transport> {
  return await new Promise((resolve, reject) => {
    const opts: net.NetConnectOpts = { host: pc.address, port: pc.port }
    if (pc.localAddress !== undefined) opts.localAddress = pc.localAddress
    const sock = net.connect(opts)
    sock.setTimeout(Math.max(1000, pc.connectRetryTime * 1000))
    const fail = (e: Error): void => { sock.destroy(); reject(e) }
    sock.once('timeout', () => fail(new Error('connect timeout')))
    sock.once('error', fail)
    sock.once('connect', () => {
      sock.setTimeout(0)
      sock.removeListener('error', fail)
      resolve(socketTransport(sock))
    })
  })
}

import { toAttributes as toAttrs } from '../rib/index.js'
