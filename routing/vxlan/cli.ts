/**
 * `weft vxland`: flannel's flag names (and FLANNELD_* environment variables),
 * so a flannel DaemonSet's arguments carry over.
 */
import * as fs from 'node:fs'
import { pino } from 'pino'
import { fastify } from 'fastify'
import type { FastifyInstance } from 'fastify'
import { LinuxNetNS, linuxSysctl } from '../../kernel/index.js'
import { DEFAULT_SUBNET_FILE } from '../../cni/flannel/index.js'
import { startAgent } from './agent.js'
import { DEFAULT_ETCD_PREFIX, etcdSubnetManager } from './etcd-manager.js'
import { VxlanError } from './errors.js'
import { nodeTrafficRules } from './traffic.js'
import type { SubnetManager } from './types.js'
import * as os from 'node:os'

export interface VxlandOptions {
  etcdEndpoints: string
  etcdPrefix: string
  kubeSubnetMgr: boolean
  kubeconfigFile?: string
  iface?: string
  publicIp?: string
  subnetFile: string
  ipMasq: boolean
  netConfigPath: string
  iptablesForwardRules: boolean
  healthzIp: string
  healthzPort: number
  resyncMs: number
  /** Seconds between rule checks (flannel's --iptables-resync). */
  iptablesResync: number
  logLevel: string
}

export const vxlandDefaults: VxlandOptions = {
  etcdEndpoints: 'http://127.0.0.1:2379',
  etcdPrefix: DEFAULT_ETCD_PREFIX,
  kubeSubnetMgr: false,
  subnetFile: DEFAULT_SUBNET_FILE,
  ipMasq: false,
  netConfigPath: '/etc/kube-flannel/net-conf.json',
  iptablesForwardRules: true,
  healthzIp: '0.0.0.0',
  healthzPort: 0,
  resyncMs: 1000,
  iptablesResync: 5,
  logLevel: 'info'
}

/** FLANNELD_<FLAG> environment variables, as flanneld reads them, under the command line. */
export function envOverrides (env: NodeJS.ProcessEnv): Partial<Record<string, string>> {
  const out: Partial<Record<string, string>> = {}
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('FLANNELD_') || v === undefined) continue
    const flag = k.slice('FLANNELD_'.length).toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())
    out[flag] = v
  }
  return out
}

export async function runVxland (opts: VxlandOptions): Promise<void> {
  const logger = pino({ level: opts.logLevel, base: { daemon: 'vxland' } }, pino.destination(2))
  let manager: SubnetManager
  if (opts.kubeSubnetMgr) {
    // flannel: --kubeconfig-file, else $KUBECONFIG; the node is $NODE_NAME, else the host name.
    const kc = opts.kubeconfigFile ?? process.env.KUBECONFIG
    if (kc === undefined || kc === '') throw new VxlanError('VXLAN_ERR_FLAGS', '--kube-subnet-mgr needs --kubeconfig-file (or KUBECONFIG)')
    const nodeName = process.env.NODE_NAME ?? os.hostname()
    // Loaded only in kube mode: the client brings the API server's modules (kubeconfig reading) with it.
    const { KubeClient } = await import('../../control/client/index.js')
    const { kubeSubnetManager } = await import('./kube-manager.js')
    let client: InstanceType<typeof KubeClient>
    try { client = await KubeClient.fromKubeconfig(kc, { userAgent: 'weft-vxland' }) } catch (e) {
      throw new VxlanError('VXLAN_ERR_FLAGS', `--kubeconfig-file: ${(e as Error).message}`)
    }
    manager = kubeSubnetManager({ client, nodeName, netConfPath: opts.netConfigPath, logger })
  } else {
    const endpoints = opts.etcdEndpoints.split(',').map((s) => s.trim()).filter((s) => s !== '')
    if (endpoints.length === 0) throw new VxlanError('VXLAN_ERR_FLAGS', '--etcd-endpoints is empty')
    manager = etcdSubnetManager({ endpoints, prefix: opts.etcdPrefix, logger })
  }
  const agent = await startAgent({
    manager,
    netns: new LinuxNetNS(),
    sysctl: linuxSysctl,
    iface: opts.iface,
    publicIp: opts.publicIp,
    subnetFile: opts.subnetFile,
    ipMasq: opts.ipMasq,
    traffic: (conf) => nodeTrafficRules(conf, { forward: opts.iptablesForwardRules }),
    logger,
    resyncMs: opts.resyncMs,
    rulesResyncMs: opts.iptablesResync * 1000
  })
  let health: FastifyInstance | undefined
  if (opts.healthzPort > 0) {
    health = fastify({ logger: false })
    health.get('/healthz', async () => ({ ok: true }))
    health.get('/readyz', async (_req, reply) => {
      const s = agent.status()
      return await reply.code(s.ready ? 200 : 503).send({ ready: s.ready, subnet: s.lease.subnet, lastError: s.lastError ?? null })
    })
    await health.listen({ host: opts.healthzIp, port: opts.healthzPort })
  }
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      logger.info({ signal: sig }, 'stopping; the dataplane stays in place')
      resolve()
    }
    process.once('SIGTERM', () => { stop('SIGTERM') })
    process.once('SIGINT', () => { stop('SIGINT') })
  })
  await health?.close()
  await agent.stop()
  if (fs.existsSync(opts.subnetFile)) logger.info({ file: opts.subnetFile }, 'subnet.env kept for the next start')
}
