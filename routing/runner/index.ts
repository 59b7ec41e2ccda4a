/**
 * The one reconcile-loop shape (STYLE.md convention 10, after kube-proxy's
 * BoundedFrequencyRunner): `run()` asks for a pass; requests coalesce; passes
 * are at least `minIntervalMs` apart, happen at least every `maxIntervalMs`,
 * and after a failing pass the next comes no later than `retryIntervalMs`.
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
        ? lastStart + init.minIntervalMs
        : failed ? clock.now() + init.retryIntervalMs : lastStart + init.maxIntervalMs
      schedule(Math.max(next, lastStart + init.minIntervalMs))
    })
  }

  return {
    run () {
      if (stopped) return
      if (running !== undefined) { pending = true; return }
      schedule(Math.max(clock.now(), lastStart + init.minIntervalMs))
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
