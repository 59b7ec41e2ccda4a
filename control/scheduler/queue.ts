/**
 * The scheduling queue (upstream's PriorityQueue): activeQ ordered by
 * priority then creation time (PrioritySort), a backoff queue (1 s doubling
 * to 10 s per failed attempt) and the unschedulable pods, which move back on
 * cluster events (node added or changed, assigned pod deleted) once their
 * backoff has passed, or after podMaxInUnschedulable without any event.
 * An event during a pod's cycle sends that pod to backoff instead of
 * unschedulable, so it is not missed (upstream's moveRequestCycle).
 */
import type { PodInfo } from './model.js'

export interface QueuedPod {
  pod: PodInfo
  attempts: number
  /** ms timestamps */
  backoffUntil: number
  unschedulableSince: number
  where: 'active' | 'backoff' | 'unschedulable' | 'inflight'
  /** Increments on every push into activeQ; stale heap entries are skipped. */
  seq: number
}

export interface QueueOptions {
  backoffInitialMs?: number
  backoffMaxMs?: number
  podMaxInUnschedulableMs?: number
  now?: () => number
}

const before = (a: QueuedPod, b: QueuedPod): boolean => {
  if (a.pod.priority !== b.pod.priority) return a.pod.priority > b.pod.priority
  return a.pod.created < b.pod.created
}

export class SchedulingQueue {
  readonly #entries = new Map<string, QueuedPod>()
  readonly #heap: Array<{ e: QueuedPod, seq: number }> = []
  #counter = 0
  #moveCycle = 0
  #waiter: (() => void) | undefined
  #closed = false
  readonly #initial: number
  readonly #max: number
  readonly #maxUnschedulable: number
  readonly #now: () => number

  constructor (opts: QueueOptions = {}) {
    this.#initial = opts.backoffInitialMs ?? 1000
    this.#max = opts.backoffMaxMs ?? 10_000
    this.#maxUnschedulable = opts.podMaxInUnschedulableMs ?? 5 * 60_000
    this.#now = opts.now ?? Date.now
  }

  /** The number of cluster-event moves so far; a cycle remembers it when it starts. */
  get moveCycle (): number { return this.#moveCycle }
  get size (): number { return this.#entries.size }
  counts (): Record<QueuedPod['where'], number> {
    const c = { active: 0, backoff: 0, unschedulable: 0, inflight: 0 }
    for (const e of this.#entries.values()) c[e.where]++
    return c
  }

  has (key: string): boolean { return this.#entries.has(key) }
  where (key: string): QueuedPod['where'] | undefined { return this.#entries.get(key)?.where }

  backoffDuration (attempts: number): number {
    if (attempts <= 0) return 0
    return Math.min(this.#initial * 2 ** (attempts - 1), this.#max)
  }

  /** A new pending pod. */
  add (pod: PodInfo): void {
    const cur = this.#entries.get(pod.key)
    if (cur !== undefined) { this.update(pod); return }
    const e: QueuedPod = { pod, attempts: 0, backoffUntil: 0, unschedulableSince: 0, where: 'active', seq: 0 }
    this.#entries.set(pod.key, e)
    this.#pushActive(e)
  }

  /** A pending pod changed: it may fit now, so an unschedulable one is tried again (after its backoff). */
  update (pod: PodInfo): void {
    const e = this.#entries.get(pod.key)
    if (e === undefined) { this.add(pod); return }
    e.pod = pod
    if (e.where === 'unschedulable') this.#moveOut(e)
  }

  delete (key: string): void {
    const e = this.#entries.get(key)
    if (e === undefined) return
    this.#entries.delete(key)
    e.seq = -1
  }

  /** The next pod to schedule; resolves undefined once closed. */
  async pop (): Promise<QueuedPod | undefined> {
    for (;;) {
      if (this.#closed) return undefined
      while (this.#heap.length > 0) {
        const top = this.#popHeap()
        if (top.seq !== top.e.seq || top.e.where !== 'active') continue
        top.e.where = 'inflight'
        return top.e
      }
      await new Promise<void>((resolve) => { this.#waiter = resolve })
    }
  }

  /** After a failed cycle that started at `cycle` (the moveCycle then). */
  addUnschedulable (e: QueuedPod, cycle: number): void {
    if (this.#entries.get(e.pod.key) !== e) return // deleted or replaced meanwhile
    e.attempts++
    const now = this.#now()
    e.backoffUntil = now + this.backoffDuration(e.attempts)
    if (this.#moveCycle > cycle) { e.where = 'backoff'; return }
    e.where = 'unschedulable'
    e.unschedulableSince = now
  }

  /** After a binding failure or an error: retry after the backoff. */
  addBackoff (e: QueuedPod): void {
    if (this.#entries.get(e.pod.key) !== e) return
    e.attempts++
    e.backoffUntil = this.#now() + this.backoffDuration(e.attempts)
    e.where = 'backoff'
  }

  /** The pod was bound (or is no longer ours): it leaves the queue. */
  done (key: string): void { this.delete(key) }

  /** A cluster event that may make unschedulable pods fit. */
  moveAllToActiveOrBackoff (): void {
    this.#moveCycle++
    for (const e of this.#entries.values()) if (e.where === 'unschedulable') this.#moveOut(e)
  }

  /** Periodic: backoff pods whose time has come, and pods unschedulable for too long, go to activeQ. */
  flush (): void {
    const now = this.#now()
    for (const e of this.#entries.values()) {
      if (e.where === 'backoff' && e.backoffUntil <= now) this.#pushActive(e)
      else if (e.where === 'unschedulable' && now - e.unschedulableSince >= this.#maxUnschedulable) this.#moveOut(e)
    }
  }

  close (): void {
    this.#closed = true
    this.#wake()
  }

  #moveOut (e: QueuedPod): void {
    if (e.backoffUntil > this.#now()) e.where = 'backoff'
    else this.#pushActive(e)
  }

  #pushActive (e: QueuedPod): void {
    e.where = 'active'
    e.seq = ++this.#counter
    const h = this.#heap
    h.push({ e, seq: e.seq })
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before((h[i] as { e: QueuedPod }).e, (h[p] as { e: QueuedPod }).e)) break
      const t = h[i] as { e: QueuedPod, seq: number }; h[i] = h[p] as { e: QueuedPod, seq: number }; h[p] = t
      i = p
    }
    this.#wake()
  }

  #popHeap (): { e: QueuedPod, seq: number } {
    const h = this.#heap
    const top = h[0] as { e: QueuedPod, seq: number }
    const last = h.pop() as { e: QueuedPod, seq: number }
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && before((h[l] as { e: QueuedPod }).e, (h[m] as { e: QueuedPod }).e)) m = l
        if (r < h.length && before((h[r] as { e: QueuedPod }).e, (h[m] as { e: QueuedPod }).e)) m = r
        if (m === i) break
        const t = h[i] as { e: QueuedPod, seq: number }; h[i] = h[m] as { e: QueuedPod, seq: number }; h[m] = t
        i = m
      }
    }
    return top
  }

  #wake (): void {
    const w = this.#waiter
    this.#waiter = undefined
    w?.()
  }
}
