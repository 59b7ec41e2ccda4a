/**
 * The flannel-style VXLAN overlay: agent, dataplane, subnet managers, rules.
 * See README.md and docs/vxlan*.md.
 */
export type * from './types.js'
export { VxlanError, vxlanErrorCodes } from './errors.js'
export type { VxlanErrorCode } from './errors.js'
export { startAgent, firstUsable } from './agent.js'
export type { Agent, AgentInit, AgentStatus, TrafficRules } from './agent.js'
export { desiredState, reconcile, teardown, findUnderlay, deviceName, overlayMtu, ROUTE_PROTOCOL } from './dataplane.js'
export type { Desired, DeviceSpec, RemoteEntry, Underlay } from './dataplane.js'
export { parseNetConf } from './netconf.js'
export { etcdSubnetManager, DEFAULT_ETCD_PREFIX } from './etcd-manager.js'
export type { EtcdSubnetManagerInit } from './etcd-manager.js'
export { chooseSubnets, formatLeaseKey, parseLeaseKey, encodeLeaseAttrs, decodeLeaseAttrs } from './subnets.js'
export { masqRules, forwardRules } from './masq.js'
export type { TrafficManager, RuleSet } from './masq.js'
export { iptablesTrafficManager } from './masq-iptables.js'
export { nftablesTrafficManager } from './masq-nftables.js'
export { nodeTrafficRules, trafficManagerFor } from './traffic.js'
export { runVxland, vxlandDefaults, envOverrides } from './cli.js'
export type { VxlandOptions } from './cli.js'
// kube-manager.js (the kube subnet manager) is loaded lazily by cli.ts: it brings the Kubernetes client with it.
export type { KubeSubnetManagerInit } from './kube-manager.js'
