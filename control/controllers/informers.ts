/**
 * Shared informers: one list+watch per resource for the whole controller
 * manager, fanned out to every controller's handlers (client-go's
 * SharedInformerFactory). Informers are created on start(), so handlers added
 * before start see the initial list as adds.
 */
import { Informer } from '../client/index.js'
import type { InformerHandlers, KubeClient, ListOpts, Obj, ResourceRef } from '../client/index.js'

export class SharedInformer {
  readonly handlers: InformerHandlers[] = []
  informer: Informer | undefined
  constructor (readonly ref: ResourceRef, readonly opts: ListOpts) {}

  get cache (): Map<string, Obj> { return this.informer?.cache ?? new Map() }
  get hasSynced (): boolean { return this.informer?.hasSynced ?? false }
  addHandlers (h: InformerHandlers): void { this.handlers.push(h) }
  get (key: string): Obj | undefined { return this.cache.get(key) }
  list (): Obj[] { return [...this.cache.values()] }
}

export class InformerHub {
  readonly #entries = new Map<string, SharedInformer>()
  #started = false

  constructor (private readonly client: KubeClient, private readonly onError: (what: string, e: unknown) => void = () => {}) {}

  shared (ref: ResourceRef, opts: ListOpts = {}): SharedInformer {
    const id = `${ref.group ?? ''}/${ref.version ?? 'v1'}/${ref.resource}/${ref.namespace ?? ''}?${opts.labelSelector ?? ''}&${opts.fieldSelector ?? ''}`
    let s = this.#entries.get(id)
    if (s === undefined) {
      s = new SharedInformer(ref, opts)
      this.#entries.set(id, s)
      if (this.#started) this.#startOne(s)
    }
    return s
  }

  #startOne (s: SharedInformer): void {
    const hs = s.handlers
    s.informer = new Informer(this.client, s.ref, s.opts, {
      onAdd: (o) => { for (const h of hs) h.onAdd?.(o) },
      onUpdate: (o, old) => { for (const h of hs) h.onUpdate?.(o, old) },
      onDelete: (o) => { for (const h of hs) h.onDelete?.(o) },
      onSync: () => { for (const h of hs) h.onSync?.() },
      onError: (e) => { this.onError(s.ref.resource, e); for (const h of hs) h.onError?.(e) }
    })
  }

  start (): void {
    if (this.#started) return
    this.#started = true
    for (const s of this.#entries.values()) this.#startOne(s)
  }

  async waitForSync (timeoutMs = 60_000): Promise<void> {
    await Promise.all([...this.#entries.values()].map(async (s) => await s.informer?.waitForSync(timeoutMs)))
  }

  async stop (): Promise<void> {
    await Promise.all([...this.#entries.values()].map(async (s) => await s.informer?.stop()))
  }
}
