/**
 * flannel's kube subnet manager: leases come from the Kubernetes API instead
 * of etcd. A node's subnet is its `spec.podCIDR(s)` (given by the controller
 * manager's node IPAM); its lease attributes are node annotations in
 * flannel's names, so Weft and flannel nodes read each other:
 *
 *   flannel.alpha.coreos.com/backend-type        vxlan
 *   flannel.alpha.coreos.com/backend-data        {"VNI":1,"VtepMAC":"..."}
 *   flannel.alpha.coreos.com/backend-v6-data     (dual stack)
 *   flannel.alpha.coreos.com/public-ip           the underlay address
 *   flannel.alpha.coreos.com/public-ipv6
 *   flannel.alpha.coreos.com/kube-subnet-manager true
 *
 * The network configuration is net-conf.json from a file (flannel mounts it
 * from its ConfigMap). Leases do not expire: a node's lease goes when the
 * Node does, or when it loses its podCIDR or annotations.
 */
import * as fs from 'node:fs'
import { KubeClient, Informer } from '../../control/client/index.js'
import type { Obj } from '../../control/client/index.js'
import { VxlanError } from './errors.js'
import { parseNetConf } from './netconf.js'
import type { Lease, LeaseAttrs, LeaseEvent, Logger, NetConf, SubnetManager, VxlanBackendData } from './types.js'

export const ANNOTATION_PREFIX = 'flannel.alpha.coreos.com'
const A = {
  backendType: `${ANNOTATION_PREFIX}/backend-type`,
  backendData: `${ANNOTATION_PREFIX}/backend-data`,
  backendV6Data: `${ANNOTATION_PREFIX}/backend-v6-data`,
  publicIp: `${ANNOTATION_PREFIX}/public-ip`,
  publicIpv6: `${ANNOTATION_PREFIX}/public-ipv6`,
  kubeSubnetManager: `${ANNOTATION_PREFIX}/kube-subnet-manager`
}

export interface KubeSubnetManagerInit {
  client: KubeClient
  /** This node's name (flannel: $NODE_NAME). */
  nodeName: string
  /** net-conf.json (flannel: /etc/kube-flannel/net-conf.json). */
  netConfPath: string
  logger: Logger
  /** How long acquireLease waits for the node's podCIDR; default 5 min. */
  podCidrTimeoutMs?: number
}

/** The lease a Node object stands for, or undefined while it has no podCIDR or no flannel annotations. */
export function leaseOfNode (node: Obj): Lease | undefined {
  const spec = (node.spec ?? {}) as Obj
  const ann = ((node.metadata as Obj | undefined)?.annotations ?? {}) as Record<string, string>
  if (ann[A.backendType] === undefined || ann[A.publicIp] === undefined) return undefined
  const cidrs = Array.isArray(spec.podCIDRs) ? spec.podCIDRs as string[] : typeof spec.podCIDR === 'string' ? [spec.podCIDR] : []
  const v4 = cidrs.find((c) => !c.includes(':'))
  const v6 = cidrs.find((c) => c.includes(':'))
  if (v4 === undefined && v6 === undefined) return undefined
  const parse = (s: string | undefined): VxlanBackendData | null => {
    if (s === undefined) return null
    try { return JSON.parse(s) as VxlanBackendData } catch { return null }
  }
  const attrs: LeaseAttrs = {
    PublicIP: ann[A.publicIp] as string,
    BackendType: ann[A.backendType] as string,
    BackendData: parse(ann[A.backendData])
  }
  const v6ip = ann[A.publicIpv6]
  if (v6ip !== undefined) attrs.PublicIPv6 = v6ip
  if (ann[A.backendV6Data] !== undefined) attrs.BackendV6Data = parse(ann[A.backendV6Data])
  return { subnet: v4, ipv6Subnet: v6, attrs, expiration: undefined }
}

const sameLease = (a: Lease, b: Lease): boolean => JSON.stringify(a) === JSON.stringify(b)

export function kubeSubnetManager (init: KubeSubnetManagerInit): SubnetManager {
  const { client, nodeName, logger } = init
  const informers: Informer[] = []
  return {
    kind: 'kube',

    async getNetworkConfig (): Promise<NetConf> {
      let text: string
      try { text = fs.readFileSync(init.netConfPath, 'utf8') } catch (e) {
        throw new VxlanError('VXLAN_ERR_NETCONF', `cannot read net-conf.json at ${init.netConfPath}: ${(e as Error).message}`)
      }
      return parseNetConf(text, { mode: 'kube', onWarning: (m) => { logger.warn({ file: init.netConfPath }, m) } })
    },

    async acquireLease (attrs: LeaseAttrs): Promise<Lease> {
      const until = Date.now() + (init.podCidrTimeoutMs ?? 300_000)
      let node: Obj
      for (;;) {
        try {
          node = await client.get({ resource: 'nodes', name: nodeName })
          const spec = (node.spec ?? {}) as Obj
          if (typeof spec.podCIDR === 'string' && spec.podCIDR !== '') break
        } catch (e) {
          if (!(e instanceof Error && 'status' in e && (e as { status: number }).status === 404)) throw e
        }
        if (Date.now() > until) throw new VxlanError('VXLAN_ERR_LEASE', `node ${nodeName} has no spec.podCIDR: is the controller manager allocating node CIDRs (--allocate-node-cidrs)?`)
        await new Promise((r) => setTimeout(r, 500))
      }
      const annotations: Record<string, string> = {
        [A.backendType]: attrs.BackendType,
        [A.publicIp]: attrs.PublicIP,
        [A.kubeSubnetManager]: 'true'
      }
      if (attrs.BackendData !== undefined && attrs.BackendData !== null) annotations[A.backendData] = JSON.stringify(attrs.BackendData)
      if (attrs.BackendV6Data !== undefined && attrs.BackendV6Data !== null) annotations[A.backendV6Data] = JSON.stringify(attrs.BackendV6Data)
      if (typeof attrs.PublicIPv6 === 'string') annotations[A.publicIpv6] = attrs.PublicIPv6
      const patched = await client.patch({ resource: 'nodes', name: nodeName }, { metadata: { annotations } })
      const lease = leaseOfNode(patched)
      if (lease === undefined) throw new VxlanError('VXLAN_ERR_LEASE', `node ${nodeName}: the lease annotations did not stick`)
      logger.info({ node: nodeName, subnet: lease.subnet, ipv6Subnet: lease.ipv6Subnet }, 'lease from the node\'s podCIDR')
      return lease
    },

    async watchLeases (onEvents: (events: LeaseEvent[]) => void, signal: AbortSignal): Promise<void> {
      const known = new Map<string, Lease>()
      let synced = false
      let pending: LeaseEvent[] = []
      const flush = (): void => { if (synced && pending.length > 0) { const evs = pending; pending = []; onEvents(evs) } }
      const update = (o: Obj): void => {
        const name = String((o.metadata as Obj).name)
        const now = leaseOfNode(o)
        const before = known.get(name)
        if (before !== undefined && (now === undefined || !sameLease(before, now))) { pending.push({ type: 'removed', lease: before }); known.delete(name) }
        if (now !== undefined && (before === undefined || !sameLease(before, now))) { pending.push({ type: 'added', lease: now }); known.set(name, now) }
        flush()
      }
      const inf = new Informer(client, { resource: 'nodes' }, {}, {
        onAdd: update,
        onUpdate: update,
        onDelete: (o) => {
          const name = String((o.metadata as Obj).name)
          const before = known.get(name)
          if (before !== undefined) { known.delete(name); pending.push({ type: 'removed', lease: before }); flush() }
        },
        onSync: () => {
          if (!synced) { synced = true; const evs = pending; pending = []; onEvents(evs) }
        },
        onError: (e) => { logger.warn({ err: (e as Error).message }, 'node watch failed; retrying') }
      })
      informers.push(inf)
      await new Promise<void>((resolve) => { if (signal.aborted) resolve(); else signal.addEventListener('abort', () => { resolve() }, { once: true }) })
      await inf.stop()
    },

    async keepLease (_lease: Lease, signal: AbortSignal): Promise<void> {
      // Kube leases do not expire: nothing to renew.
      await new Promise<void>((resolve) => { if (signal.aborted) resolve(); else signal.addEventListener('abort', () => { resolve() }, { once: true }) })
    },

    async close (): Promise<void> {
      await Promise.all(informers.map(async (i) => { await i.stop() }))
      client.close()
    }
  }
}
