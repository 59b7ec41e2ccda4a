/**
 * What the FSM is given (STYLE.md conventions 7 and 12): time through a `Clock`, the connection through a
 * `Transport`, and everything it reports through `FsmEvents`. Nothing here touches a socket or the RIB.
 */

/** A one-shot timer. `cancel` is idempotent. */
export interface Timer { cancel (): void }

/** Time. The real one is `systemClock`; tests use `fakeClock()` (routing/bgp/testing) and advance it by hand. */
export interface Clock {
  /** Milliseconds, monotonic. */
  now (): number
  /** Calls `fn` once after `ms` milliseconds unless cancelled. */
  setTimer (ms: number, fn: () => void): Timer
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer (ms, fn) {
    const h = setTimeout(fn, ms)
    h.unref?.()
    return { cancel: () => clearTimeout(h) }
  }
}

/**
 * One TCP connection, as the FSM sees it. `onData` and `onClose` are called at most once each to register;
 * `onClose` fires once, whoever closed. `write` never throws (a dead connection drops the bytes and closes).
 */
export interface Transport {
  write (bytes: Uint8Array): void
  /** Flushes what was written, then closes. */
  close (): void
  onData (cb: (chunk: Uint8Array) => void): void
  onClose (cb: (err?: Error) => void): void
  /** Optional: buffer writes until `uncork` (a socket's cork), so a burst goes out in one syscall. */
  cork? (): void
  uncork? (): void
  /** Our and the peer's address of the connection, when known (for validateUpdate's next-hop check). */
  readonly localAddress?: string | undefined
  readonly remoteAddress?: string | undefined
}

/** RFC 4271 §8.2.2 states. */
export type FsmState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established'

/** Why a transition happened (gobgp's fsmStateReason); stable strings shown by `weft bgp neighbors`. */
export type TransitionReason =
  | 'manual-start' | 'manual-stop' | 'automatic-start' | 'connect-retry-timer-expired' | 'tcp-connection-confirmed'
  | 'tcp-connection-fails' | 'tcp-connection-closed' | 'open-received' | 'keepalive-received'
  | 'hold-timer-expired' | 'notification-received' | 'notification-sent' | 'bad-message' | 'fsm-error'
  | 'collision-lost' | 'max-prefixes' | 'peer-restarting'

export interface Transition { from: FsmState, next: FsmState, reason: TransitionReason }
