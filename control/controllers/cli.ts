/** Flag parsing for `weft controller-manager` (kube-controller-manager's flag names). */
import { ControllerError } from './errors.js'
import { controllerManagerDefaults, enabledControllers } from './manager.js'
import type { ControllerManagerOptions } from './manager.js'
import { parseDurationMs } from './util.js'

const flagName = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`

/** Commander's raw option values (strings) to options; throws CTRL_ERR_CONTROLLERS_INVALID_FLAG. */
export function parseControllerManagerFlags (raw: Record<string, unknown>): ControllerManagerOptions {
  const bool = (k: string, d: boolean): boolean => {
    const v = raw[k]
    if (v === undefined) return d
    if (v === true || v === 'true') return true
    if (v === false || v === 'false') return false
    throw new ControllerError('CTRL_ERR_CONTROLLERS_INVALID_FLAG', `${flagName(k)}: "${String(v)}" is not true or false`)
  }
  const int = (k: string, d: number, min = 1): number => {
    const v = raw[k]
    if (v === undefined) return d
    const n = Number(v)
    if (!Number.isInteger(n) || n < min) throw new ControllerError('CTRL_ERR_CONTROLLERS_INVALID_FLAG', `${flagName(k)}: "${String(v)}" is not a whole number ≥ ${min}`)
    return n
  }
  const dur = (k: string, d: number): number => {
    const v = raw[k]
    if (v === undefined) return d
    const ms = parseDurationMs(String(v))
    if (!Number.isFinite(ms) || ms <= 0) throw new ControllerError('CTRL_ERR_CONTROLLERS_INVALID_FLAG', `${flagName(k)}: "${String(v)}" is not a duration (e.g. 40s, 500ms, 1m)`)
    return ms
  }
  const d = controllerManagerDefaults
  if (typeof raw.kubeconfig !== 'string' || raw.kubeconfig === '') throw new ControllerError('CTRL_ERR_CONTROLLERS_INVALID_FLAG', '--kubeconfig is required')
  const controllers = typeof raw.controllers === 'string' ? raw.controllers.split(',').map((s) => s.trim()).filter((s) => s !== '') : d.controllers
  enabledControllers(controllers)
  const both = raw.nodeCidrMaskSize
  const maxEps = int('maxEndpointsPerSlice', d.maxEndpointsPerSlice)
  if (maxEps > 1000) throw new ControllerError('CTRL_ERR_CONTROLLERS_INVALID_FLAG', '--max-endpoints-per-slice: at most 1000')
  return {
    kubeconfig: raw.kubeconfig,
    leaderElect: bool('leaderElect', d.leaderElect),
    leaderElectLeaseDurationMs: dur('leaderElectLeaseDuration', d.leaderElectLeaseDurationMs),
    leaderElectRenewDeadlineMs: dur('leaderElectRenewDeadline', d.leaderElectRenewDeadlineMs),
    leaderElectRetryPeriodMs: dur('leaderElectRetryPeriod', d.leaderElectRetryPeriodMs),
    controllers,
    allocateNodeCidrs: bool('allocateNodeCidrs', d.allocateNodeCidrs),
    clusterCidr: typeof raw.clusterCidr === 'string' ? raw.clusterCidr : d.clusterCidr,
    nodeCidrMaskSizeIpv4: int('nodeCidrMaskSizeIpv4', both !== undefined ? int('nodeCidrMaskSize', 24) : d.nodeCidrMaskSizeIpv4),
    nodeCidrMaskSizeIpv6: int('nodeCidrMaskSizeIpv6', d.nodeCidrMaskSizeIpv6),
    nodeMonitorGracePeriodMs: dur('nodeMonitorGracePeriod', d.nodeMonitorGracePeriodMs),
    nodeMonitorPeriodMs: dur('nodeMonitorPeriod', d.nodeMonitorPeriodMs),
    maxEndpointsPerSlice: maxEps,
    concurrentReplicasetSyncs: int('concurrentReplicasetSyncs', d.concurrentReplicasetSyncs),
    concurrentDeploymentSyncs: int('concurrentDeploymentSyncs', d.concurrentDeploymentSyncs),
    concurrentServiceEndpointSyncs: int('concurrentServiceEndpointSyncs', d.concurrentServiceEndpointSyncs),
    concurrentGcSyncs: int('concurrentGcSyncs', d.concurrentGcSyncs),
    logLevel: typeof raw.logLevel === 'string' ? raw.logLevel : d.logLevel
  }
}
