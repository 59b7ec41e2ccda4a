/**
 * `weft controller-manager`: the controllers of kube-controller-manager Weft
 * needs, over one set of shared informers, behind leader election on the
 * Lease kube-system/kube-controller-manager.
 */
import * as os from 'node:os'
import { pino } from 'pino'
import type { Logger } from 'pino'
import { KubeClient, runLeaderElection } from '../client/index.js'
import type { LeaderElector } from '../client/index.js'
import type { ControllerContext } from './controller.js'
import { ControllerError } from './errors.js'
import { InformerHub } from './informers.js'
import { NodeCidrAllocator, parseCidr } from './ipam.js'
import { NodeIpamController } from './nodeipam.js'
import { ReplicaSetController } from './replicaset.js'
import { DeploymentController } from './deployment.js'
import { EndpointSliceController, EndpointsController } from './endpointslice.js'
import { NodeLifecycleController } from './nodelifecycle.js'
import { GarbageCollector } from './gc.js'

export const CONTROLLERS = ['nodeipam', 'replicaset', 'deployment', 'endpointslice', 'endpoint', 'nodelifecycle', 'garbagecollector'] as const
export type ControllerName = typeof CONTROLLERS[number]

export interface ControllerManagerOptions {
  kubeconfig: string
  leaderElect: boolean
  leaderElectLeaseDurationMs: number
  leaderElectRenewDeadlineMs: number
  leaderElectRetryPeriodMs: number
  /** Upstream's --controllers: '*', names, '-name' to disable. */
  controllers: string[]
  allocateNodeCidrs: boolean
  clusterCidr: string
  nodeCidrMaskSizeIpv4: number
  nodeCidrMaskSizeIpv6: number
  nodeMonitorGracePeriodMs: number
  nodeMonitorPeriodMs: number
  maxEndpointsPerSlice: number
  concurrentReplicasetSyncs: number
  concurrentDeploymentSyncs: number
  concurrentServiceEndpointSyncs: number
  concurrentGcSyncs: number
  logLevel: string
}

export const controllerManagerDefaults: Omit<ControllerManagerOptions, 'kubeconfig'> = {
  leaderElect: true,
  leaderElectLeaseDurationMs: 15_000,
  leaderElectRenewDeadlineMs: 10_000,
  leaderElectRetryPeriodMs: 2_000,
  controllers: ['*'],
  allocateNodeCidrs: true,
  clusterCidr: '10.244.0.0/16',
  nodeCidrMaskSizeIpv4: 24,
  nodeCidrMaskSizeIpv6: 64,
  nodeMonitorGracePeriodMs: 40_000,
  nodeMonitorPeriodMs: 5_000,
  maxEndpointsPerSlice: 100,
  concurrentReplicasetSyncs: 5,
  concurrentDeploymentSyncs: 5,
  concurrentServiceEndpointSyncs: 5,
  concurrentGcSyncs: 20,
  logLevel: 'info'
}

/** Which controllers run, from --controllers as upstream reads it. */
export function enabledControllers (list: string[]): Set<ControllerName> {
  const on = new Set<ControllerName>()
  const star = list.includes('*')
  for (const item of list) {
    const name = item.replace(/^-/, '')
    if (name !== '*' && !(CONTROLLERS as readonly string[]).includes(name)) {
      throw new ControllerError('CTRL_ERR_CONTROLLERS_UNKNOWN_CONTROLLER', `--controllers: "${name}" is not one of ${CONTROLLERS.join(', ')}`)
    }
  }
  for (const c of CONTROLLERS) {
    if (list.includes(`-${c}`)) continue
    if (star || list.includes(c)) on.add(c)
  }
  return on
}

interface Startable { start: () => void, stop: () => Promise<void> }

export interface RunningControllerManager {
  readonly controllers: ReadonlyMap<ControllerName, Startable>
  /** Resolves once this instance leads and its controllers run. */
  readonly leading: Promise<void>
  stop: () => Promise<void>
}

/** Builds the controllers, then runs them while leading (at once without --leader-elect). */
export async function startControllerManager (opts: ControllerManagerOptions, log: Logger, hooks: { onLostLeadership?: () => void } = {}): Promise<RunningControllerManager> {
  const enabled = enabledControllers(opts.controllers)
  const clusterCidrs = opts.clusterCidr.split(',').map((s) => s.trim()).filter((s) => s !== '')
  // Validate the CIDRs before touching the API server (a bad flag is a bad flag, reachable or not).
  if (enabled.has('nodeipam') && opts.allocateNodeCidrs) new NodeCidrAllocator({ clusterCidrs, maskSizeV4: opts.nodeCidrMaskSizeIpv4, maskSizeV6: opts.nodeCidrMaskSizeIpv6 }) // eslint-disable-line no-new
  else for (const c of clusterCidrs) parseCidr(c)
  const client = await KubeClient.fromKubeconfig(opts.kubeconfig, { userAgent: 'weft-controller-manager' })
  const hub = new InformerHub(client, (what, e) => { log.warn({ resource: what, err: (e as Error).message }, 'list/watch failed; retrying') })
  const ctx: ControllerContext = { client, hub, log }
  const controllers = new Map<ControllerName, Startable>()
  if (enabled.has('nodeipam') && opts.allocateNodeCidrs) {
    controllers.set('nodeipam', new NodeIpamController(ctx, { clusterCidrs, maskSizeV4: opts.nodeCidrMaskSizeIpv4, maskSizeV6: opts.nodeCidrMaskSizeIpv6 }))
  }
  if (enabled.has('replicaset')) controllers.set('replicaset', new ReplicaSetController(ctx, { workers: opts.concurrentReplicasetSyncs }))
  if (enabled.has('deployment')) controllers.set('deployment', new DeploymentController(ctx, { workers: opts.concurrentDeploymentSyncs }))
  if (enabled.has('endpointslice')) controllers.set('endpointslice', new EndpointSliceController(ctx, { workers: opts.concurrentServiceEndpointSyncs, maxEndpointsPerSlice: opts.maxEndpointsPerSlice }))
  if (enabled.has('endpoint')) controllers.set('endpoint', new EndpointsController(ctx, { workers: opts.concurrentServiceEndpointSyncs }))
  if (enabled.has('nodelifecycle')) controllers.set('nodelifecycle', new NodeLifecycleController(ctx, { gracePeriodMs: opts.nodeMonitorGracePeriodMs, monitorPeriodMs: opts.nodeMonitorPeriodMs }))
  if (enabled.has('garbagecollector')) controllers.set('garbagecollector', new GarbageCollector(ctx, { workers: opts.concurrentGcSyncs }))

  let started = false
  let stopped = false
  let resolveLeading: () => void = () => {}
  const leading = new Promise<void>((resolve) => { resolveLeading = resolve })
  const run = async (): Promise<void> => {
    if (started || stopped) return
    started = true
    hub.start()
    for (;;) {
      try {
        await hub.waitForSync(60_000)
        break
      } catch (e) {
        if (stopped) return
        const err = new ControllerError('CTRL_ERR_CONTROLLERS_SYNC_TIMEOUT', `informers have not listed after 60 s: ${(e as Error).message}`, { cause: e })
        log.error({ code: err.code, err: err.message }, 'waiting for caches to sync')
      }
    }
    if (stopped) return
    for (const [name, c] of controllers) { c.start(); log.info({ controller: name }, 'started controller') }
    resolveLeading()
  }
  const fail = (e: unknown): void => { log.error({ err: (e as Error).message }, 'controller manager failed to start') }
  let elector: LeaderElector | undefined
  if (opts.leaderElect) {
    const identity = `${os.hostname()}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
    elector = runLeaderElection(client, {
      namespace: 'kube-system',
      name: 'kube-controller-manager',
      identity,
      leaseDurationMs: opts.leaderElectLeaseDurationMs,
      renewDeadlineMs: opts.leaderElectRenewDeadlineMs,
      retryPeriodMs: opts.leaderElectRetryPeriodMs,
      onStartedLeading: () => { log.info({ identity }, 'became leader'); run().catch(fail) },
      onStoppedLeading: () => { if (!stopped) { log.error('lost leadership; stopping'); hooks.onLostLeadership?.() } },
      onNewLeader: (id) => { if (id !== identity) log.info({ leader: id }, 'another instance leads') }
    })
  } else {
    run().catch(fail)
  }
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    await Promise.all([...controllers.values()].map(async (c) => await c.stop()))
    await hub.stop()
    await elector?.stop()
    client.close()
  }
  return { controllers, leading, stop }
}

/** The daemon: runs until SIGINT/SIGTERM, or exits non-zero when leadership is lost (as upstream does). */
export async function runControllerManager (opts: ControllerManagerOptions): Promise<void> {
  const log = pino({ level: opts.logLevel, base: { component: 'controller-manager' } }, pino.destination(2))
  let lost = false
  let wake: () => void = () => {}
  const cm = await startControllerManager(opts, log, { onLostLeadership: () => { lost = true; wake() } })
  await new Promise<void>((resolve) => {
    wake = resolve
    const onSignal = (sig: string): void => { log.info({ signal: sig }, 'stopping'); resolve() }
    process.once('SIGINT', () => { onSignal('SIGINT') })
    process.once('SIGTERM', () => { onSignal('SIGTERM') })
  })
  await cm.stop()
  if (lost) process.exitCode = 1
}
