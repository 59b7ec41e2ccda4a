/**
 * Node IPAM controller (kube-controller-manager's `nodeipam` with the
 * RangeAllocator): gives every Node without spec.podCIDR the next free subnet
 * of each cluster CIDR and releases it when the Node goes. The bitmap is
 * rebuilt from the Nodes' podCIDRs on start, before any allocation.
 */
import { KubeApiError } from '../client/index.js'
import type { Obj } from '../client/index.js'
import { QueueController } from './controller.js'
import type { ControllerContext } from './controller.js'
import { NodeCidrAllocator } from './ipam.js'
import type { NodeCidrOptions } from './ipam.js'
import type { SharedInformer } from './informers.js'
import { nameOf, spec } from './util.js'

export function podCidrsOf (node: Obj): string[] {
  const s = spec(node)
  if (Array.isArray(s.podCIDRs) && s.podCIDRs.length > 0) return s.podCIDRs.map(String)
  return typeof s.podCIDR === 'string' && s.podCIDR !== '' ? [s.podCIDR] : []
}

export class NodeIpamController extends QueueController {
  readonly allocator: NodeCidrAllocator
  readonly #nodes: SharedInformer
  /** Subnets we patched onto a node that the cache has not shown yet. */
  readonly #pending = new Map<string, string[]>()

  constructor (ctx: ControllerContext, opts: NodeCidrOptions) {
    super('nodeipam', ctx, 1)
    this.allocator = new NodeCidrAllocator(opts)
    this.#nodes = ctx.hub.shared({ resource: 'nodes' })
    this.#nodes.addHandlers({
      onAdd: (n) => { this.#observe(n) },
      onUpdate: (n) => { this.#observe(n) },
      onDelete: (n) => {
        const cidrs = podCidrsOf(n)
        const pending = this.#pending.get(nameOf(n))
        this.#pending.delete(nameOf(n))
        this.allocator.release(cidrs.length > 0 ? cidrs : pending ?? [])
      }
    })
  }

  #observe (n: Obj): void {
    const cidrs = podCidrsOf(n)
    if (cidrs.length > 0) {
      const foreign = this.allocator.occupy(cidrs)
      if (foreign.length > 0) this.log.warn({ node: nameOf(n), podCIDRs: foreign }, 'node has a podCIDR outside the cluster CIDRs')
      const pending = this.#pending.get(nameOf(n))
      if (pending !== undefined) {
        this.#pending.delete(nameOf(n))
        // Someone else set a different podCIDR before our patch landed: give ours back.
        this.allocator.release(pending.filter((c) => !cidrs.includes(c)))
      }
      return
    }
    this.queue.add(nameOf(n))
  }

  protected resync (): void {
    for (const n of this.#nodes.list()) if (podCidrsOf(n).length === 0) this.queue.add(nameOf(n))
  }

  protected async sync (name: string): Promise<void> {
    const node = this.#nodes.get(`/${name}`)
    if (node === undefined || podCidrsOf(node).length > 0 || this.#pending.has(name)) return
    const cidrs = this.allocator.allocate()
    this.#pending.set(name, cidrs)
    try {
      await this.ctx.client.patch({ resource: 'nodes', name }, { spec: { podCIDR: cidrs[0], podCIDRs: cidrs } })
      this.log.info({ node: name, podCIDRs: cidrs }, 'allocated node CIDR')
    } catch (e) {
      this.#pending.delete(name)
      this.allocator.release(cidrs)
      if (e instanceof KubeApiError && e.notFound) return
      throw e
    }
  }
}
