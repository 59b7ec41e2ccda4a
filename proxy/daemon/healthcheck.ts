/**
 * The service health-check servers (kube-proxy pkg/proxy/healthcheck/
 * service_health.go): one HTTP listener per `spec.healthCheckNodePort` of an
 * externalTrafficPolicy Local service, answering 200 when this node has a
 * local endpoint for it (and the proxy is healthy), 503 otherwise, so a
 * cloud load balancer sends traffic only to nodes that can serve it.
 */
import * as http from 'node:http'
import { categorizeEndpoints } from '../tracker/index.js'
import type { ServicePortInfo } from '../tracker/index.js'

export interface HealthCheckTarget { namespace: string, name: string, localEndpoints: number }

/** Health-check ports wanted by a set of service ports (one family or both): port → service and local endpoint count. */
export function healthCheckTargets (ports: Iterable<readonly ServicePortInfo[]>): Map<number, HealthCheckTarget> {
  const out = new Map<number, HealthCheckTarget>()
  for (const list of ports) {
    for (const sp of list) {
      if (sp.healthCheckNodePort <= 0) continue
      const n = new Set(categorizeEndpoints(sp).localEndpoints.map((e) => e.ip)).size
      const prev = out.get(sp.healthCheckNodePort)
      out.set(sp.healthCheckNodePort, { namespace: sp.namespace, name: sp.name, localEndpoints: Math.max(n, prev?.localEndpoints ?? 0) })
    }
  }
  return out
}

export interface HealthCheckServers {
  /** Opens, updates and closes listeners to match `targets`. Listen failures are reported, not thrown. */
  sync (targets: Map<number, HealthCheckTarget>): Promise<void>
  readonly ports: number[]
  close (): Promise<void>
}

export function healthCheckServers (opts: { host?: string, proxyHealthy?: () => boolean, onError?: (port: number, e: unknown) => void } = {}): HealthCheckServers {
  const servers = new Map<number, { server: http.Server, target: HealthCheckTarget }>()
  const handler = (port: number): http.RequestListener => (_req, res) => {
    const e = servers.get(port)
    if (e === undefined) { res.writeHead(503).end(); return }
    const healthy = opts.proxyHealthy?.() ?? true
    const ok = e.target.localEndpoints > 0 && healthy
    res.writeHead(ok ? 200 : 503, {
      'Content-Type': 'application/json',
      'X-Content-Type-Options': 'nosniff',
      'X-Load-Balancing-Endpoint-Weight': String(e.target.localEndpoints)
    })
    res.end(JSON.stringify({ service: { namespace: e.target.namespace, name: e.target.name }, localEndpoints: e.target.localEndpoints, serviceProxyHealthy: healthy }))
  }
  const close = async (s: http.Server): Promise<void> => { await new Promise<void>((resolve) => { s.close(() => { resolve() }); s.closeAllConnections() }) }
  return {
    get ports () { return [...servers.keys()].sort((a, b) => a - b) },
    async sync (targets) {
      for (const [port, e] of servers) {
        if (!targets.has(port)) { servers.delete(port); await close(e.server) }
      }
      for (const [port, target] of targets) {
        const e = servers.get(port)
        if (e !== undefined) { e.target = target; continue }
        const server = http.createServer(handler(port))
        try {
          await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, opts.host ?? '0.0.0.0', () => { resolve() }) })
          servers.set(port, { server, target })
        } catch (err) {
          opts.onError?.(port, err) // kube-proxy: event FailedToStartServiceHealthcheck
        }
      }
    },
    async close () {
      for (const e of servers.values()) await close(e.server)
      servers.clear()
    }
  }
}
