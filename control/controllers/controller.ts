/** The shape every controller shares: informers feed a keyed work queue drained by a few workers. */
import type { Logger } from 'pino'
import type { KubeClient } from '../client/index.js'
import type { InformerHub } from './informers.js'
import { WorkQueue, runWorkers } from './queue.js'
import { EventRecorder } from './events.js'

export interface ControllerContext {
  client: KubeClient
  hub: InformerHub
  log: Logger
}

export abstract class QueueController {
  readonly queue: WorkQueue
  #running: Promise<void> | undefined
  protected readonly log: Logger
  protected readonly events: EventRecorder

  /** `component`: the event source upstream's controller uses (e.g. replicaset-controller). */
  constructor (readonly name: string, protected readonly ctx: ControllerContext, protected readonly workers = 1, component = `${name}-controller`) {
    this.queue = new WorkQueue()
    this.log = ctx.log.child({ controller: name })
    this.events = new EventRecorder(ctx.client, component, this.log)
  }

  /** Reconciles one key; throwing retries it with backoff. */
  protected abstract sync (key: string): Promise<void>

  /** Called after the informers synced, before workers start: enqueue everything. */
  protected abstract resync (): void

  start (): void {
    this.resync()
    this.#running = runWorkers(this.queue, this.workers, async (k) => { await this.sync(k) }, (key, e) => {
      this.log.warn({ key, err: (e as Error).message, retries: this.queue.retries(key) }, 'sync failed; retrying')
    })
  }

  async stop (): Promise<void> {
    this.queue.shutdown()
    await this.#running
  }
}
