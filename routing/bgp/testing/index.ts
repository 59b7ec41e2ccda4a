/**
 * Fakes for tests of routing/bgp only: a clock advanced by hand and an in-memory pair of transports.
 */
import type { Clock, Timer, Transport } from '../fsm/index.js'

export interface FakeClock extends Clock {
  /** Runs every timer due within `ms`, in order, moving the clock as it goes. */
  advance (ms: number): void
  /** Timers pending. */
  pending (): number
}

export function fakeClock (): FakeClock {
  let now = 0
  let seq = 0
  const timers = new Map<number, { at: number, fn: () => void }>()
  return {
    now: () => now,
    setTimer (ms, fn): Timer {
      const id = seq++
      timers.set(id, { at: now + ms, fn })
      return { cancel: () => { timers.delete(id) } }
    },
    advance (ms) {
      const end = now + ms
      for (;;) {
        let next: [number, { at: number, fn: () => void }] | undefined
        for (const e of timers) if (e[1].at <= end && (next === undefined || e[1].at < next[1].at)) next = e
        if (next === undefined) break
        timers.delete(next[0])
        now = next[1].at
        next[1].fn()
      }
      now = end
    },
    pending: () => timers.size
  }
}

export interface MemTransport extends Transport {
  /** Everything written to this end, as the other end received it. */
  readonly written: Uint8Array[]
  readonly isClosed: boolean
}

/**
 * Two connected transports. Delivery is synchronous by default (a write on one end calls the other's data
 * callback at once, after its registration); `queue: true` holds bytes until `flush()`.
 */
export function transportPair (opts: { a?: string, b?: string } = {}): [MemTransport, MemTransport] {
  const mk = (local: string, remote: string): MemTransport & { deliver: (b: Uint8Array) => void, shut: () => void, finish: () => void, peer: (MemTransport & { deliver: (b: Uint8Array) => void, shut: () => void, finish: () => void }) | undefined } => {
    let dataCb: ((b: Uint8Array) => void) | undefined
    let closeCb: ((err?: Error) => void) | undefined
    const backlog: Uint8Array[] = []
    let draining = false
    let pendingShut = false
    const self = {
      localAddress: local,
      remoteAddress: remote,
      written: [] as Uint8Array[],
      isClosed: false,
      peer: undefined as (MemTransport & { deliver: (b: Uint8Array) => void, shut: () => void, finish: () => void }) | undefined,
      write (b: Uint8Array) {
        if (self.isClosed) return
        self.written.push(b.slice())
        self.peer?.deliver(b.slice())
      },
      close () {
        if (self.isClosed) return
        self.shut()
        // The peer reads what is in flight before it sees the close, as with TCP's FIN.
        self.peer?.finish()
      },
      finish () {
        if (draining) pendingShut = true
        else self.shut()
      },
      shut () {
        if (self.isClosed) return
        self.isClosed = true
        closeCb?.()
      },
      deliver (b: Uint8Array) {
        if (self.isClosed) return
        // In order, like TCP: while earlier bytes wait or are being handed over, later ones queue behind them.
        backlog.push(b)
        if (dataCb === undefined || draining) return
        draining = true
        try {
          while (backlog.length > 0 && !self.isClosed) dataCb(backlog.shift() as Uint8Array)
        } finally {
          draining = false
          if (pendingShut) self.shut()
        }
      },
      onData (cb: (b: Uint8Array) => void) {
        dataCb = cb
        if (backlog.length > 0) self.deliver(backlog.pop() as Uint8Array)
      },
      onClose (cb: (err?: Error) => void) { closeCb = cb; if (self.isClosed) cb() }
    }
    return self
  }
  const a = mk(opts.a ?? '192.0.2.1', opts.b ?? '192.0.2.2')
  const b = mk(opts.b ?? '192.0.2.2', opts.a ?? '192.0.2.1')
  a.peer = b
  b.peer = a
  return [a, b]
}
