/**
 * One peer's RFC 4271 §8 state machine. The peer-level states Idle, Connect and Active live here; each TCP
 * connection (one we opened, one the peer opened, or both during a collision) runs OpenSent → OpenConfirm →
 * Established on its own, and the peer's state is the most advanced of them (RFC 4271 §6.8 keeps both until the
 * OPENs are in). Collision detection follows §6.8 with the RFC 6286 comparison of BGP Identifiers as unsigned
 * integers.
 *
 * Time comes from the injected `Clock`, connections from `connect()` and `incoming()`; what happens is reported
 * through `FsmEvents` (the speaker's loop is the only writer of the RIB). A `BgpMessageError` from decoding or
 * validation is turned into the NOTIFICATION it carries, without interpretation (STYLE.md convention 5).
 */
import {
  BgpMessageError, CeaseSubcode, DEFAULT_OPTIONS, Framer, FsmErrorSubcode, KEEPALIVE, MessageType, NotificationCode,
  ceaseNotification, decodeMessage, describeNotification, encodeMessage, fromTwoOctetAttributes, negotiate, notificationMessage,
  validateOpen, validateUpdate
} from '../codec/index.js'
import type {
  AfiSafi, BgpMessage, Capability, GracefulRestartCapability, Negotiated, NotificationMessage, OpenMessage, RouteRefreshMessage, UpdateMessage
} from '../codec/index.js'
import { AS_TRANS, CapabilityCode, GracefulRestartFlags, OptionalParameterType } from '../codec/index.js'
import type { Clock, FsmState, Timer, Transition, TransitionReason, Transport } from './types.js'


/** Validation findings that mean the route looped back to us. */
export const LOOP_CODES: ReadonlySet<string> = new Set(['BGP_ERR_AS_LOOP', 'BGP_ERR_ORIGINATOR_LOOP', 'BGP_ERR_CLUSTER_LOOP'])
export interface FsmInit {
  localAs: number
  routerId: string
  /** The AS the peer must be in. */
  peerAs: number
  /** Proposed hold time, seconds (0 or ≥ 3). Default 90. */
  holdTime?: number
  /** Seconds between KEEPALIVEs; default and ceiling a third of the negotiated hold time. */
  keepaliveTime?: number
  /** RFC 4271 ConnectRetryTime, seconds. Default 120 (BIRD's default is 120 too). */
  connectRetryTime?: number
  /** Seconds in Idle after a session went down before starting again. Default 5. */
  idleHoldTime?: number
  /** Only accept connections; never dial. */
  passive?: boolean
  /** Capabilities of our OPEN (the speaker builds them from the configuration). */
  capabilities: Capability[]
  /** Refuse a non-zero hold time below this (BIRD's `min hold time`). */
  minHoldTime?: number
  /** Our cluster id when reflecting (for validateUpdate's loop check). */
  clusterId?: string
}

/** What an Established session knows. */
export interface Session {
  sentOpen: OpenMessage
  receivedOpen: OpenMessage
  negotiated: Negotiated
  peerId: string
  peerAs: number
  ebgp: boolean
  localAddress: string | undefined
  remoteAddress: string | undefined
  /** The peer's Graceful Restart capability (RFC 4724), when it sent one. */
  peerGracefulRestart: GracefulRestartCapability | undefined
}

export interface DownInfo {
  reason: TransitionReason
  /** True when the connection that went down was Established (the RIB has routes of it). */
  wasEstablished: boolean
  sent?: NotificationMessage
  received?: NotificationMessage
  session?: Session
}

export interface FsmEvents {
  transition?: (t: Transition) => void
  established: (s: Session) => void
  /** An UPDATE after `validateUpdate`, with 4-octet AS paths (RFC 6793 merged on a 2-octet session). */
  update: (u: UpdateMessage, s: Session) => void
  routeRefresh?: (r: RouteRefreshMessage, s: Session) => void
  down: (info: DownInfo) => void
  /** A NOTIFICATION we sent or received, or a protocol problem we logged (RFC 7606 errors). */
  log?: (level: 'debug' | 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void
}

export interface FsmDeps {
  clock: Clock
  /** Opens a TCP connection to the peer (active side). Rejects when it fails. */
  connect?: () => Promise<Transport>
  events: FsmEvents
}

type ConnState = 'OpenSent' | 'OpenConfirm' | 'Established'
const ORDER: Record<FsmState, number> = { Idle: 0, Connect: 1, Active: 1, OpenSent: 2, OpenConfirm: 3, Established: 4 }
/** RFC 4271 §8.2.2: "a large value" for the hold timer in OpenSent; 4 minutes is suggested. */
const OPEN_SENT_HOLD = 240

function idToUint (id: string): number {
  const p = id.split('.').map(Number)
  return ((((p[0] ?? 0) * 256 + (p[1] ?? 0)) * 256 + (p[2] ?? 0)) * 256) + (p[3] ?? 0)
}

class Connection {
  state: ConnState = 'OpenSent'
  readonly framer = new Framer()
  hold: Timer | undefined
  keepalive: Timer | undefined
  received: OpenMessage | undefined
  session: Session | undefined
  closed = false
  busy = false
  readonly pending: Uint8Array[] = []
  constructor (readonly transport: Transport, readonly outbound: boolean) {}
}

export class PeerFsm {
  readonly init: Required<Omit<FsmInit, 'clusterId' | 'keepaliveTime' | 'minHoldTime'>> & Pick<FsmInit, 'clusterId' | 'keepaliveTime' | 'minHoldTime'>
  readonly #deps: FsmDeps
  #base: 'Idle' | 'Connect' | 'Active' = 'Idle'
  #state: FsmState = 'Idle'
  #enabled = false
  #conns: Connection[] = []
  #retry: Timer | undefined
  #idle: Timer | undefined
  #attempt = 0
  #lastReason: TransitionReason = 'manual-stop'
  readonly sentOpen: OpenMessage

  constructor (init: FsmInit, deps: FsmDeps) {
    this.init = {
      holdTime: 90, connectRetryTime: 120, idleHoldTime: 5, passive: false, ...init
    }
    this.#deps = deps
    this.sentOpen = {
      type: MessageType.Open,
      myAs: init.localAs > 0xffff ? AS_TRANS : init.localAs,
      holdTime: this.init.holdTime,
      bgpId: init.routerId,
      parameters: [{ type: OptionalParameterType.Capabilities, capabilities: init.capabilities }]
    }
  }

  get state (): FsmState { return this.#state }
  get lastReason (): TransitionReason { return this.#lastReason }
  get ebgp (): boolean { return this.init.peerAs !== this.init.localAs }
  /** The Established session, if any. */
  get session (): Session | undefined {
    return this.#conns.find((c) => c.state === 'Established')?.session
  }

  /** ManualStart (RFC 4271 §8.1.2, Event 1; Event 4 when passive). */
  start (): void {
    if (this.#enabled) return
    this.#enabled = true
    this.#begin('manual-start')
  }

  /** ManualStop (Event 2): a Cease to every connection past TCP, then Idle with no restart. */
  stop (notification: NotificationMessage = ceaseNotification(CeaseSubcode.AdministrativeShutdown)): void {
    this.#enabled = false
    this.#idle?.cancel(); this.#idle = undefined
    this.#retry?.cancel(); this.#retry = undefined
    this.#attempt++
    for (const c of [...this.#conns]) this.#closeConn(c, 'manual-stop', { sent: notification })
    this.#base = 'Idle'
    this.#update('manual-stop')
  }

  /** Drops every connection without a NOTIFICATION and stays Idle (a graceful restart of ours, RFC 4724 §4.1). */
  abandon (): void {
    this.#enabled = false
    this.#idle?.cancel(); this.#idle = undefined
    this.#retry?.cancel(); this.#retry = undefined
    this.#attempt++
    for (const c of [...this.#conns]) this.#closeConn(c, 'manual-stop', {})
    this.#base = 'Idle'
    this.#update('manual-stop')
  }

  /** Closes the session with `notification` (e.g. Cease/Maximum Number of Prefixes) and restarts it later. */
  reset (notification: NotificationMessage, reason: TransitionReason = 'notification-sent'): void {
    for (const c of [...this.#conns]) this.#closeConn(c, reason, { sent: notification })
  }

  /** An accepted TCP connection from the peer's address (Event 17, TcpConnectionConfirmed). */
  incoming (t: Transport): void {
    if (!this.#enabled) { t.close(); return }
    this.#addConn(t, false)
  }

  /** Sends on the Established connection; false when there is none. */
  send (msg: BgpMessage): boolean {
    const s = this.session
    if (s === undefined) return false
    return this.sendBytes(encodeMessage(msg, s.negotiated.tx))
  }

  /** Holds writes on the Established connection until `uncork` (several UPDATEs leave in one write). */
  cork (): void { this.#conns.find((x) => x.state === 'Established')?.transport.cork?.() }
  uncork (): void { this.#conns.find((x) => x.state === 'Established')?.transport.uncork?.() }

  /** Pre-encoded bytes (the speaker encodes an UPDATE once for many peers with the same options). */
  sendBytes (bytes: Uint8Array): boolean {
    const c = this.#conns.find((x) => x.state === 'Established')
    if (c === undefined) return false
    c.transport.write(bytes)
    this.#armKeepalive(c)
    return true
  }

  // --- peer-level states -------------------------------------------------------------------------------

  #begin (reason: TransitionReason): void {
    if (!this.#enabled) return
    if (this.init.passive || this.#deps.connect === undefined) {
      this.#base = 'Active'
      this.#update(reason)
      return
    }
    this.#base = 'Connect'
    this.#update(reason)
    this.#dial()
  }

  #armRetry (): void {
    this.#retry?.cancel()
    this.#retry = this.#deps.clock.setTimer(this.init.connectRetryTime * 1000, () => {
      this.#retry = undefined
      if (!this.#enabled || this.#conns.length > 0) return
      // ConnectRetryTimer_Expires (Event 9): Connect again from Connect or Active.
      this.#base = 'Connect'
      this.#update('connect-retry-timer-expired')
      this.#dial()
    })
  }

  #dial (): void {
    const connect = this.#deps.connect
    if (connect === undefined) return
    const my = ++this.#attempt
    this.#armRetry()
    connect().then((t) => {
      if (my !== this.#attempt || !this.#enabled || this.#conns.some((c) => c.state === 'Established')) { t.close(); return }
      this.#retry?.cancel(); this.#retry = undefined
      this.#addConn(t, true)
    }, (err: unknown) => {
      if (my !== this.#attempt || !this.#enabled) return
      // TcpConnectionFails (Event 18): Connect → Active; the ConnectRetry timer brings us back.
      this.#deps.events.log?.('info', `connect failed: ${(err as Error).message}`)
      if (this.#conns.length === 0) { this.#base = 'Active'; this.#update('tcp-connection-fails') }
    })
  }

  #update (reason: TransitionReason): void {
    let next: FsmState = this.#base
    for (const c of this.#conns) if (ORDER[c.state] > ORDER[next]) next = c.state
    if (next === this.#state) return
    const from = this.#state
    this.#state = next
    this.#lastReason = reason
    this.#deps.events.transition?.({ from, next, reason })
  }

  // --- connections ---------------------------------------------------------------------------------------

  #addConn (t: Transport, outbound: boolean): void {
    const c = new Connection(t, outbound)
    this.#conns.push(c)
    // TcpConnectionConfirmed / Tcp_CR_Acked: send OPEN, hold timer to a large value, OpenSent.
    t.write(encodeMessage(this.sentOpen))
    this.#armHold(c, OPEN_SENT_HOLD)
    this.#update('tcp-connection-confirmed')
    t.onData((chunk) => this.#onData(c, chunk))
    t.onClose(() => { if (!c.closed) this.#closeConn(c, 'tcp-connection-closed', {}) })
  }

  #armHold (c: Connection, seconds: number): void {
    c.hold?.cancel()
    c.hold = undefined
    if (seconds === 0) return
    c.hold = this.#deps.clock.setTimer(seconds * 1000, () => {
      c.hold = undefined
      // HoldTimer_Expires (Event 10).
      this.#closeConn(c, 'hold-timer-expired', { sent: notificationMessage({ code: NotificationCode.HoldTimerExpired, subcode: 0, data: new Uint8Array(0) }) })
    })
  }

  #keepaliveSeconds (c: Connection): number {
    const hold = c.session?.negotiated.holdTime ?? 0
    if (hold === 0) return 0
    const third = Math.max(1, Math.floor(hold / 3))
    return Math.min(third, this.init.keepaliveTime ?? third)
  }

  #armKeepalive (c: Connection): void {
    c.keepalive?.cancel()
    c.keepalive = undefined
    const s = this.#keepaliveSeconds(c)
    if (s === 0 || c.closed) return
    c.keepalive = this.#deps.clock.setTimer(s * 1000, () => {
      c.keepalive = undefined
      if (c.closed) return
      c.transport.write(encodeMessage(KEEPALIVE))
      this.#armKeepalive(c)
    })
  }

  #closeConn (c: Connection, reason: TransitionReason, n: { sent?: NotificationMessage, received?: NotificationMessage }): void {
    if (c.closed) return
    c.closed = true
    c.hold?.cancel(); c.keepalive?.cancel()
    // RFC 4271 §6.4: never answer a NOTIFICATION; before OpenSent there is nothing to send on.
    if (n.sent !== undefined) {
      c.transport.write(encodeMessage(n.sent))
      this.#deps.events.log?.('warn', `sent NOTIFICATION ${describeNotification(n.sent)}`, { reason })
    }
    if (n.received !== undefined) this.#deps.events.log?.('warn', `received NOTIFICATION ${describeNotification(n.received)}`)
    c.transport.close()
    this.#conns = this.#conns.filter((x) => x !== c)
    const wasEstablished = c.state === 'Established'
    if (wasEstablished || this.#conns.length === 0) {
      const info: DownInfo = { reason, wasEstablished }
      if (n.sent !== undefined) info.sent = n.sent
      if (n.received !== undefined) info.received = n.received
      if (c.session !== undefined) info.session = c.session
      if (wasEstablished || reason !== 'collision-lost') this.#deps.events.down(info)
    }
    if (this.#conns.length === 0) {
      this.#base = 'Idle'
      this.#update(reason)
      if (this.#enabled && reason !== 'collision-lost') {
        // Back to Idle; automatic start after IdleHoldTime (RFC 4271 §8.1.1, DampPeerOscillations kept simple).
        this.#idle?.cancel()
        this.#idle = this.#deps.clock.setTimer(this.init.idleHoldTime * 1000, () => {
          this.#idle = undefined
          if (this.#conns.length === 0) this.#begin('automatic-start')
        })
      } else if (this.#enabled) {
        this.#begin('automatic-start')
      }
    } else {
      this.#update(reason)
    }
  }

  #fsmError (c: Connection): void {
    const subcode = c.state === 'OpenSent'
      ? FsmErrorSubcode.UnexpectedMessageInOpenSent
      : c.state === 'OpenConfirm' ? FsmErrorSubcode.UnexpectedMessageInOpenConfirm : FsmErrorSubcode.UnexpectedMessageInEstablished
    this.#closeConn(c, 'fsm-error', { sent: notificationMessage({ code: NotificationCode.FiniteStateMachineError, subcode, data: new Uint8Array(0) }) })
  }

  #onData (c: Connection, chunk: Uint8Array): void {
    // A transport may deliver from inside our own write (synchronous in-memory pairs): queue, never re-enter.
    if (c.busy) { c.pending.push(chunk); return }
    c.busy = true
    try {
      this.#process(c, chunk)
      while (c.pending.length > 0 && !c.closed) this.#process(c, c.pending.shift() as Uint8Array)
    } finally {
      c.busy = false
      c.pending.length = 0
    }
  }

  #process (c: Connection, chunk: Uint8Array): void {
    if (c.closed) return
    let frames: Uint8Array[]
    try {
      frames = c.framer.push(chunk)
    } catch (e) {
      this.#messageError(c, e)
      return
    }
    for (const f of frames) {
      if (c.closed) return
      let msg: BgpMessage
      try {
        msg = decodeMessage(f, c.session?.negotiated.rx ?? DEFAULT_OPTIONS)
      } catch (e) {
        this.#messageError(c, e)
        return
      }
      this.#onMessage(c, msg)
    }
  }

  #messageError (c: Connection, e: unknown): void {
    if (e instanceof BgpMessageError) {
      this.#closeConn(c, 'bad-message', { sent: notificationMessage(e.notification) })
      return
    }
    throw e
  }

  #onMessage (c: Connection, msg: BgpMessage): void {
    if (msg.type === MessageType.Notification) {
      this.#closeConn(c, 'notification-received', { received: msg })
      return
    }
    switch (c.state) {
      case 'OpenSent':
        if (msg.type !== MessageType.Open) { this.#fsmError(c); return }
        this.#onOpen(c, msg)
        return
      case 'OpenConfirm':
        if (msg.type !== MessageType.Keepalive) { this.#fsmError(c); return }
        c.state = 'Established'
        this.#armHold(c, c.session?.negotiated.holdTime ?? 0)
        this.#update('keepalive-received')
        if (c.session !== undefined) this.#deps.events.established(c.session)
        return
      case 'Established':
        // KeepAliveMsg / UpdateMsg (Events 26, 27) restart the hold timer.
        this.#armHold(c, c.session?.negotiated.holdTime ?? 0)
        if (msg.type === MessageType.Keepalive) return
        if (msg.type === MessageType.Update) { this.#onUpdate(c, msg); return }
        if (msg.type === MessageType.RouteRefresh) {
          if (c.session !== undefined) this.#deps.events.routeRefresh?.(msg, c.session)
          return
        }
        this.#fsmError(c)
    }
  }

  #onOpen (c: Connection, open: OpenMessage): void {
    let peerAs: number
    try {
      const session: Parameters<typeof validateOpen>[1] = { localAs: this.init.localAs, localBgpId: this.init.routerId, peerAs: this.init.peerAs }
      if (this.init.minHoldTime !== undefined) session.minHoldTime = this.init.minHoldTime
      peerAs = validateOpen(open, session)
    } catch (e) {
      this.#messageError(c, e)
      return
    }
    const negotiated = negotiate(this.sentOpen, open)
    c.received = open
    c.framer.extendedMessages = negotiated.rx.extendedMessages === true
    const gr = open.parameters.flatMap((p) => 'capabilities' in p ? p.capabilities : [])
      .find((x): x is GracefulRestartCapability => x.code === CapabilityCode.GracefulRestart && !('raw' in x))
    c.session = {
      sentOpen: this.sentOpen,
      receivedOpen: open,
      negotiated,
      peerId: open.bgpId,
      peerAs,
      ebgp: peerAs !== this.init.localAs,
      localAddress: c.transport.localAddress,
      remoteAddress: c.transport.remoteAddress,
      peerGracefulRestart: gr
    }
    // Collision detection (RFC 4271 §6.8) against every other connection that has the peer's OPEN.
    for (const other of [...this.#conns]) {
      if (other === c || other.closed || other.received === undefined) continue
      if (other.state === 'Established') {
        // RFC 4724 §4.2: an OPEN with the Restart bit from a peer that does graceful restart, while its old
        // session is still Established here, means it restarted: the old session goes. Without the bit it is an
        // ordinary collision (the peer dialled while our connection came up).
        if (other.session?.peerGracefulRestart !== undefined && gr !== undefined && (gr.flags & GracefulRestartFlags.Restarting) !== 0) {
          this.#closeConn(other, 'peer-restarting', {})
          continue
        }
        this.#closeConn(c, 'collision-lost', { sent: ceaseNotification(CeaseSubcode.ConnectionCollisionResolution) })
        return
      }
      // The connection opened by the side with the higher BGP Identifier survives.
      const localWins = idToUint(this.init.routerId) > idToUint(open.bgpId)
      const loser = localWins ? (c.outbound ? other : c) : (c.outbound ? c : other)
      this.#closeConn(loser, 'collision-lost', { sent: ceaseNotification(CeaseSubcode.ConnectionCollisionResolution) })
      if (loser === c) return
    }
    c.state = 'OpenConfirm'
    c.transport.write(encodeMessage(KEEPALIVE))
    this.#armHold(c, negotiated.holdTime)
    this.#armKeepalive(c)
    this.#update('open-received')
  }

  #onUpdate (c: Connection, msg: UpdateMessage): void {
    const s = c.session
    if (s === undefined) return
    const session: Parameters<typeof validateUpdate>[1] = {
      ebgp: s.ebgp,
      localAs: this.init.localAs,
      fourOctetAs: s.negotiated.rx.fourOctetAs === true,
      routerId: this.init.routerId,
      peerAs: s.peerAs,
      families: s.negotiated.families
    }
    if (this.init.clusterId !== undefined) session.clusterId = this.init.clusterId
    if (s.localAddress !== undefined) session.localAddresses = [s.localAddress]
    const v = validateUpdate(msg, session)
    if (v.errors !== undefined) {
      // A route that looped back is no fault of the peer's (a reflector in update-group style sends every client its
      // own routes back, RFC 4456 §8 says to ignore them): debug, not warn, for all of that UPDATE's findings.
      const level = v.errors.some((e) => LOOP_CODES.has(e.code)) ? 'debug' : 'warn'
      for (const e of v.errors) this.#deps.events.log?.(level, `UPDATE error (${e.handling}): ${e.message}`, { code: e.code })
    }
    if (s.negotiated.rx.fourOctetAs !== true) v.attributes = fromTwoOctetAttributes(v.attributes)
    this.#deps.events.update(v, s)
  }
}


/** The families the FSM is configured for (what the speaker puts in Multiprotocol capabilities). */
export type { AfiSafi }
