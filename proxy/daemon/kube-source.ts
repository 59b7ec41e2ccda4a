/**
 * The Kubernetes source of `weft proxy --kubeconfig`: Services and
 * EndpointSlices through the shared client's informers (list, then watch;
 * relist after 410), as kube-proxy's informers feed its change trackers.
 * Services of type ExternalName and headless ones carry no dataplane, but the
 * tracker decides that; everything is passed on.
 */
import { Informer, KubeClient } from '../../control/client/index.js'
import type { Obj } from '../../control/client/index.js'
import type { EndpointSlice, ProxyEvent, ProxySource, Service } from '../tracker/index.js'

export interface KubeSourceInit {
  kubeconfig: string
  /** kube-proxy skips Services labelled service.kubernetes.io/service-proxy-name (another proxy owns them). */
  onError?: (e: unknown) => void
}

export function kubeSource (init: KubeSourceInit): ProxySource {
  let client: KubeClient | undefined
  const informers: Informer[] = []
  return {
    async start (onEvent: (e: ProxyEvent) => void): Promise<void> {
      client = await KubeClient.fromKubeconfig(init.kubeconfig, { userAgent: 'weft-proxy' })
      const c = client
      const h = (kind: 'Service' | 'EndpointSlice'): ConstructorParameters<typeof Informer>[3] => ({
        onAdd: (o: Obj) => { if (owned(o)) onEvent({ type: 'ADDED', kind, object: o } as unknown as ProxyEvent) },
        onUpdate: (o: Obj, old: Obj) => {
          if (owned(o)) onEvent({ type: owned(old) ? 'MODIFIED' : 'ADDED', kind, object: o } as unknown as ProxyEvent)
          else if (owned(old)) onEvent({ type: 'DELETED', kind, object: old } as unknown as ProxyEvent)
        },
        onDelete: (o: Obj) => { if (owned(o)) onEvent({ type: 'DELETED', kind, object: o } as unknown as ProxyEvent) },
        onSync: () => { onEvent({ type: 'SYNCED', kind }) },
        onError: (e: unknown) => { init.onError?.(e) }
      })
      informers.push(new Informer(c, { resource: 'services' }, {}, h('Service')))
      informers.push(new Informer(c, { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' }, {}, h('EndpointSlice')))
    },
    async stop (): Promise<void> {
      await Promise.all(informers.splice(0).map(async (i) => { await i.stop() }))
      client?.close()
    }
  }
}

/** kube-proxy ignores objects labelled for another service proxy (service.kubernetes.io/service-proxy-name). */
function owned (o: Obj): boolean {
  const labels = ((o.metadata as Obj | undefined)?.labels ?? {}) as Record<string, string>
  return labels['service.kubernetes.io/service-proxy-name'] === undefined
}

export type { Service, EndpointSlice }
