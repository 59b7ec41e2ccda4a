/**
 * client-go's workqueue in miniature: a key is queued at most once, never
 * handed to two workers at a time (a key re-added while it is being processed
 * is queued again when the worker calls done), and failures back off per key
 * exponentially until forget().
 */
export interface QueueOptions {
  /** First retry delay after a failure. */
  baseDelayMs?: number
  /** Cap of the per-key retry delay. */
  maxDelayMs?: number
}

export class WorkQueue {
  #queue: string[] = []
  #dirty = new Set<string>()
  #processing = new Set<string>()
  #failures = new Map<string, number>()
  #timers = new Map<string, { due: number, timer: NodeJS.Timeout }>()
  #waiters: Array<() => void> = []
  #shutdown = false
  readonly #base: number
  readonly #max: number

  constructor (opts: QueueOptions = {}) {
    this.#base = opts.baseDelayMs ?? 20
    this.#max = opts.maxDelayMs ?? 30_000
  }

  get length (): number { return this.#queue.length }
  get idle (): boolean { return this.#queue.length === 0 && this.#processing.size === 0 }

  add (key: string): void {
    if (this.#shutdown || this.#dirty.has(key)) return
    this.#dirty.add(key)
    if (this.#processing.has(key)) return
    this.#queue.push(key)
    this.#waiters.shift()?.()
  }

  /** Adds the key after `ms`; an earlier pending add wins. */
  addAfter (key: string, ms: number): void {
    if (this.#shutdown) return
    if (ms <= 0) { this.add(key); return }
    const due = Date.now() + ms
    const had = this.#timers.get(key)
    if (had !== undefined) {
      if (had.due <= due) return
      clearTimeout(had.timer)
    }
    const timer = setTimeout(() => { this.#timers.delete(key); this.add(key) }, ms)
    timer.unref?.()
    this.#timers.set(key, { due, timer })
  }

  /** Re-adds after the key's next backoff step. */
  addRateLimited (key: string): void {
    const n = (this.#failures.get(key) ?? 0) + 1
    this.#failures.set(key, n)
    this.addAfter(key, Math.min(this.#base * 2 ** (n - 1), this.#max))
  }

  retries (key: string): number { return this.#failures.get(key) ?? 0 }
  forget (key: string): void { this.#failures.delete(key) }

  /** The next key, or undefined once shut down. */
  async get (): Promise<string | undefined> {
    while (this.#queue.length === 0) {
      if (this.#shutdown) return undefined
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
    const key = this.#queue.shift() as string
    this.#processing.add(key)
    this.#dirty.delete(key)
    return key
  }

  done (key: string): void {
    this.#processing.delete(key)
    if (this.#dirty.has(key) && !this.#shutdown) {
      this.#queue.push(key)
      this.#waiters.shift()?.()
    }
  }

  shutdown (): void {
    this.#shutdown = true
    this.#queue = []
    for (const t of this.#timers.values()) clearTimeout(t.timer)
    this.#timers.clear()
    for (const w of this.#waiters.splice(0)) w()
  }
}

/**
 * Runs `workers` loops taking keys from the queue; a sync that throws is
 * retried with backoff, one that succeeds resets the key's backoff.
 */
export function runWorkers (queue: WorkQueue, workers: number, sync: (key: string) => Promise<void>, onError: (key: string, e: unknown) => void): Promise<void> {
  const one = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get()
      if (key === undefined) return
      try {
        await sync(key)
        queue.forget(key)
      } catch (e) {
        onError(key, e)
        queue.addRateLimited(key)
      } finally {
        queue.done(key)
      }
    }
  }
  return Promise.all(Array.from({ length: Math.max(1, workers) }, one)).then(() => undefined)
}
