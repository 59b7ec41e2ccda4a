/**
 * Events for `kubectl describe`, as client-go's EventRecorder writes them
 * (core/v1 Event, `<object>.<hex>` names, repeated events counted on the
 * first). Writes go out at most two at a time and are dropped beyond a
 * backlog of 1000, so events never hold up reconciling.
 */
import type { Logger } from 'pino'
import type { KubeClient, Obj } from '../client/index.js'
import { meta, nameOf, nsOf, rfc3339, uidOf } from './util.js'

const MAX_BACKLOG = 1000

export class EventRecorder {
  readonly #seen = new Map<string, { name: string, namespace: string, count: number }>()
  readonly #work: Array<() => Promise<void>> = []
  #running = 0

  constructor (private readonly client: KubeClient, private readonly component: string, private readonly log: Logger) {}

  /** `obj` needs apiVersion and kind (objects from lists lack them: pass them in `kind`). */
  event (obj: Obj, kind: { apiVersion: string, kind: string }, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const ns = nsOf(obj) === '' ? 'default' : nsOf(obj)
    const key = `${uidOf(obj)}\0${reason}\0${message}`
    const now = rfc3339(Date.now())
    const prev = this.#seen.get(key)
    if (prev !== undefined) {
      const count = ++prev.count
      this.#enqueue(async () => { await this.client.patch({ resource: 'events', namespace: prev.namespace, name: prev.name }, { count, lastTimestamp: now }) })
      return
    }
    const name = `${nameOf(obj)}.${(Date.now() * 1000 + Math.floor(Math.random() * 1000)).toString(16)}`
    if (this.#seen.size > 10_000) this.#seen.clear()
    this.#seen.set(key, { name, namespace: ns, count: 1 })
    this.#enqueue(async () => {
      await this.client.create({ resource: 'events', namespace: ns }, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: ns },
        involvedObject: { ...kind, ...(nsOf(obj) !== '' ? { namespace: nsOf(obj) } : {}), name: nameOf(obj), uid: uidOf(obj), resourceVersion: String(meta(obj).resourceVersion ?? '') },
        reason,
        message,
        type,
        source: { component: this.component },
        reportingComponent: this.component,
        reportingInstance: this.component,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1
      })
    })
  }

  #enqueue (fn: () => Promise<void>): void {
    if (this.#work.length >= MAX_BACKLOG) return
    this.#work.push(fn)
    this.#pump()
  }

  #pump (): void {
    while (this.#running < 2 && this.#work.length > 0) {
      const fn = this.#work.shift() as () => Promise<void>
      this.#running++
      fn().catch((e: unknown) => { this.log.debug({ err: (e as Error).message }, 'event not recorded') }).finally(() => { this.#running--; this.#pump() })
    }
  }
}
