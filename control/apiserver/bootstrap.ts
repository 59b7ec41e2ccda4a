/**
 * What kube-apiserver sets up for itself: the system namespaces, the
 * `kubernetes` Service in `default` with its Endpoints and EndpointSlice
 * pointing at this server, the namespace finalizer that empties a deleted
 * namespace (kube-controller-manager's namespace controller, which a compact
 * server carries itself), and periodic compaction of the store.
 */
import type { Logger } from 'pino'
import { prefixFor, prefixRange } from '../store/index.js'
import { ApiError } from './errors.js'
import type { Registry } from './registry.js'
import type { ResourceInfo } from './resources.js'
import { RESOURCES, resourceFor } from './resources.js'
import { firstServiceIP } from './allocator.js'
import { meta } from './strategy.js'
import type { Obj } from './validation.js'

const res = (g: string, p: string): ResourceInfo => resourceFor(g, 'v1', p) as ResourceInfo

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease']

async function ensure (registry: Registry, info: ResourceInfo, ns: string | undefined, obj: Obj): Promise<void> {
  try {
    await registry.create(info, ns, obj)
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 'CTRL_ERR_API_ALREADY_EXISTS')) throw e
  }
}

/**
 * Create the system namespaces and the `kubernetes` Service/Endpoints/EndpointSlice
 * (address: `advertiseIP`, port: `securePort`). Idempotent; endpoints are
 * refreshed when the address changed.
 */
export async function bootstrap (registry: Registry, opts: { advertiseIP: string, securePort: number }): Promise<void> {
  for (const name of SYSTEM_NAMESPACES) await ensure(registry, res('', 'namespaces'), undefined, { metadata: { name } })
  const range = registry.allocator.ranges[0]
  if (range === undefined) return
  await ensure(registry, res('', 'services'), 'default', {
    metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { type: 'ClusterIP', clusterIP: firstServiceIP(range), ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: opts.securePort }], sessionAffinity: 'None' }
  })
  const family = opts.advertiseIP.includes(':') ? 'IPv6' : 'IPv4'
  const endpoints: Obj = {
    metadata: { name: 'kubernetes', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip: opts.advertiseIP }], ports: [{ name: 'https', port: opts.securePort, protocol: 'TCP' }] }]
  }
  const slice: Obj = {
    metadata: { name: 'kubernetes', labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' } },
    addressType: family,
    endpoints: [{ addresses: [opts.advertiseIP], conditions: { ready: true } }],
    ports: [{ name: 'https', port: opts.securePort, protocol: 'TCP' }]
  }
  for (const [info, obj] of [[res('', 'endpoints'), endpoints], [res('discovery.k8s.io', 'endpointslices'), slice]] as Array<[ResourceInfo, Obj]>) {
    try {
      await registry.create(info, 'default', structuredClone(obj))
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 'CTRL_ERR_API_ALREADY_EXISTS')) throw e
      await registry.guaranteedUpdate(info, 'default', 'kubernetes', (cur) => {
        const { metadata: _m, ...rest } = obj
        return { ...cur, ...rest }
      })
    }
  }
}

/**
 * Empties namespaces being deleted and then finalizes them: every
 * namespaced resource is deleted (pods gracefully, so kubelets can stop
 * them), and once nothing is left `kubernetes` is removed from
 * spec.finalizers, which lets the server delete the namespace.
 */
export class NamespaceFinalizer {
  private readonly ac = new AbortController()
  private timer: NodeJS.Timeout | undefined
  private running = false
  private again = false

  constructor (private readonly registry: Registry, private readonly log: Logger, private readonly intervalMs = 1000) {}

  start (): void {
    const r = prefixRange(prefixFor('namespaces'))
    this.registry.store.watch(r.start, {
      end: r.end,
      fromRevision: 0,
      signal: this.ac.signal,
      onEvents: () => { this.kick() }
    }).catch((e: unknown) => { if (!this.ac.signal.aborted) this.log.warn({ err: e }, 'namespace watch ended; polling only') })
    this.timer = setInterval(() => { this.kick() }, this.intervalMs)
    this.timer.unref()
    this.kick()
  }

  stop (): void {
    this.ac.abort()
    if (this.timer !== undefined) clearInterval(this.timer)
  }

  private kick (): void {
    if (this.running) { this.again = true; return }
    this.running = true
    this.pass().catch((e: unknown) => { this.log.warn({ err: e }, 'namespace finalizer pass failed') }).finally(() => {
      this.running = false
      if (this.again && !this.ac.signal.aborted) { this.again = false; this.kick() }
    })
  }

  /** One pass over terminating namespaces; exported for tests through `runOnce`. */
  async pass (): Promise<void> {
    const nsInfo = res('', 'namespaces')
    const { items } = await this.registry.list(nsInfo, undefined)
    for (const ns of items) {
      const m = meta(ns)
      if (m.deletionTimestamp === undefined || this.ac.signal.aborted) continue
      const name = m.name as string
      let left = 0
      for (const info of RESOURCES) {
        if (!info.namespaced) continue
        const { items: objs } = await this.registry.list(info, name)
        for (const o of objs) {
          if (meta(o).deletionTimestamp === undefined) {
            try { await this.registry.delete(info, name, meta(o).name as string, { propagationPolicy: 'Background' }) } catch (e) {
              if (!(e instanceof ApiError && e.code === 'CTRL_ERR_API_NOT_FOUND')) throw e
            }
          }
        }
        left += (await this.registry.list(info, name, { limit: 1 })).items.length
      }
      if (left > 0) continue
      const fin = (ns.spec as Obj | undefined)?.finalizers
      if (Array.isArray(fin) && fin.includes('kubernetes')) {
        await this.registry.guaranteedUpdate(nsInfo, undefined, name, (cur) => {
          cur.spec = { ...(cur.spec as Obj), finalizers: ((cur.spec as Obj).finalizers as string[]).filter((f) => f !== 'kubernetes') }
          return cur
        }, { subresource: 'finalize' })
        this.log.info({ namespace: name }, 'namespace emptied and finalized')
      }
    }
  }
}

/** Compacts the store every `intervalMs` to the revision seen one interval earlier (kube-apiserver's --etcd-compaction-interval). */
export function startCompactor (registry: Registry, log: Logger, intervalMs: number): () => void {
  let previous = 0
  const t = setInterval(() => {
    void (async () => {
      try {
        const cur = await registry.store.revision()
        if (previous > 0 && previous > await registry.store.compactedRevision()) {
          await registry.store.compact(previous)
          log.debug({ revision: previous }, 'compacted')
        }
        previous = cur
      } catch (e) { log.warn({ err: e }, 'compaction failed') }
    })()
  }, intervalMs)
  t.unref()
  return () => { clearInterval(t) }
}
