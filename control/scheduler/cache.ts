/**
 * The scheduler cache: nodes with the pods bound to them (from the
 * informer) and the pods this scheduler assumed (chosen a node for, binding
 * in flight). An assumed pod counts on its node at once, so the next cycle
 * sees the node's new load without waiting for the API round trip; a failed
 * binding forgets it; the informer's update showing spec.nodeName confirms it.
 */
import { addPod, parseNode, removePod, replaceNode } from './model.js'
import type { NodeInfo, Obj, PodInfo } from './model.js'

interface PodState { node: string, assumed: boolean, pod: PodInfo }

export class SchedulerCache {
  readonly #nodes = new Map<string, NodeInfo>()
  readonly #pods = new Map<string, PodState>()
  /** Pods bound to nodes the cache has not seen yet, by node name. */
  readonly #orphans = new Map<string, Map<string, PodInfo>>()
  #list: NodeInfo[] | undefined

  get nodeCount (): number { return this.#nodes.size }
  /** Nodes in a stable order (insertion), rebuilt only when the set changes. */
  nodeList (): NodeInfo[] {
    this.#list ??= [...this.#nodes.values()]
    return this.#list
  }

  node (name: string): NodeInfo | undefined { return this.#nodes.get(name) }
  isAssumed (key: string): boolean { return this.#pods.get(key)?.assumed === true }
  podNode (key: string): string | undefined { return this.#pods.get(key)?.node }

  setNode (obj: Obj): NodeInfo {
    const name = String(((obj.metadata ?? {}) as Obj).name ?? '')
    const old = this.#nodes.get(name)
    let n: NodeInfo
    if (old !== undefined) {
      n = replaceNode(old, obj)
      // keep the list's order: replace in place
      if (this.#list !== undefined) {
        const i = this.#list.indexOf(old)
        if (i >= 0) this.#list[i] = n
        else this.#list = undefined
      }
    } else {
      n = parseNode(obj)
      const orphans = this.#orphans.get(name)
      if (orphans !== undefined) { for (const p of orphans.values()) addPod(n, p); this.#orphans.delete(name) }
      this.#list = undefined
    }
    this.#nodes.set(name, n)
    return n
  }

  removeNode (name: string): void {
    const n = this.#nodes.get(name)
    if (n === undefined) return
    this.#nodes.delete(name)
    this.#list = undefined
    // its pods stay known, as orphans, until they are deleted or the node returns
    if (n.pods.size > 0) this.#orphans.set(name, new Map(n.pods))
  }

  /** A pod the informer shows bound to a node (confirms an assumed one). */
  setBoundPod (p: PodInfo): void {
    const cur = this.#pods.get(p.key)
    if (cur !== undefined && cur.node !== p.nodeName) this.#detach(cur)
    this.#pods.set(p.key, { node: p.nodeName, assumed: false, pod: p })
    this.#attach(p.nodeName, p)
  }

  /** A pod gone from the API, or finished: frees its node's resources. */
  removePod (key: string): void {
    const cur = this.#pods.get(key)
    if (cur === undefined) return
    this.#pods.delete(key)
    this.#detach(cur)
  }

  assume (p: PodInfo, node: string): void {
    const cur = this.#pods.get(p.key)
    if (cur !== undefined) this.#detach(cur)
    this.#pods.set(p.key, { node, assumed: true, pod: p })
    this.#attach(node, p)
  }

  /** The binding failed: the assumed pod no longer counts. */
  forget (key: string): void {
    const cur = this.#pods.get(key)
    if (cur?.assumed === true) this.removePod(key)
  }

  #attach (node: string, p: PodInfo): void {
    const n = this.#nodes.get(node)
    if (n !== undefined) { addPod(n, p); return }
    let m = this.#orphans.get(node)
    if (m === undefined) { m = new Map(); this.#orphans.set(node, m) }
    m.set(p.key, p)
  }

  #detach (s: PodState): void {
    const n = this.#nodes.get(s.node)
    if (n !== undefined) removePod(n, s.pod.key)
    else this.#orphans.get(s.node)?.delete(s.pod.key)
  }
}
