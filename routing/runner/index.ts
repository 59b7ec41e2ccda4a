/**
 * The one reconcile-loop shape (STYLE.md convention 10, after kube-proxy's
 * BoundedFrequencyRunner): `run()` asks for a pass; requests coalesce; passes
 * are at least `minIntervalMs` apart, except that up to `burst` may come back to
 * back (a token bucket of `burst` passes refilled one per `minIntervalMs`), happen
 * at least every `maxIntervalMs`, and after a failing pass the next comes no later
 * than `retryIntervalMs`.
 * Time comes from an injected clock so tests need no real waiting.
 */

export interface Clock {
  now (): number
  setTimeout (fn: () => void, ms: number): unknown
  clearTimeout (handle: unknown): void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => { clearTimeout(h as ReturnType<typeof setTimeout>) }
}

export interface RunnerInit {
  name: string
  minIntervalMs: number
  maxIntervalMs: number
  retryIntervalMs: number
  /** Passes that may run back to back before `minIntervalMs` applies (kube-proxy uses 2). Default 1. */
  burst?: number
  /** One pass. Throwing (or rejecting) schedules a retry. */
  fn: () => void | Promise<void>
  clock?: Clock
  onError?: (err: unknown) => void
}

export interface Runner {
  /** Request a pass as soon as the minimum interval allows. */
  run (): void
  /** Start: a first pass now, then periodic ones. */
  start (): void
  /** Stop scheduling; resolves once a pass in flight has finished. */
  stop (): Promise<void>
  /** Passes completed (successful or not). */
  readonly passes: number
}

export function boundedFrequencyRunner (init: RunnerInit): Runner {
  const clock = init.clock ?? systemClock
  let timer: unknown
  let dueAt = Infinity
  let lastStart = -Infinity
  let running: Promise<void> | undefined
  let pending = false
  let stopped = true
  let passes = 0
  const burst = Math.max(1, init.burst ?? 1)
  let tokens = burst
  let refilledAt = clock.now()

  // The token bucket: a pass takes a token; tokens come back one per minIntervalMs, up to `burst`.
  const refill = (now: number): void => {
    if (init.minIntervalMs <= 0) { tokens = burst; refilledAt = now; return }
    tokens = Math.min(burst, tokens + (now - refilledAt) / init.minIntervalMs)
    refilledAt = now
  }
  const allowedAt = (): number => {
    const now = clock.now()
    refill(now)
    return tokens >= 1 ? now : now + Math.ceil((1 - tokens) * init.minIntervalMs)
  }

  const schedule = (at: number): void => {
    if (stopped) return
    if (at >= dueAt && timer !== undefined) return
    if (timer !== undefined) clock.clearTimeout(timer)
    dueAt = at
    timer = clock.setTimeout(tick, Math.max(0, at - clock.now()))
  }

  const tick = (): void => {
    timer = undefined
    dueAt = Infinity
    if (stopped) return
    if (running !== undefined) { pending = true; return }
    pending = false
    lastStart = clock.now()
    refill(lastStart)
    tokens = Math.max(0, tokens - 1)
    let failed = false
    running = (async () => {
      try {
        await init.fn()
      } catch (err) {
        failed = true
        init.onError?.(err)
      }
    })().finally(() => {
      running = undefined
      passes++
      if (stopped) return
      const next = pending
        ? clock.now()
        : failed ? clock.now() + init.retryIntervalMs : lastStart + init.maxIntervalMs
      schedule(Math.max(next, allowedAt()))
    })
  }

  return {
    run () {
      if (stopped) return
      if (running !== undefined) { pending = true; return }
      schedule(allowedAt())
    },
    start () {
      if (!stopped) return
      stopped = false
      schedule(clock.now())
    },
    async stop () {
      stopped = true
      if (timer !== undefined) clock.clearTimeout(timer)
      timer = undefined
      await running
    },
    get passes () { return passes }
  }
}
