/**
 * proxy/tracker: the proxy's input types, the pure change tracker, the
 * service/endpoint model every mode renders from, kube-proxy's chain-name
 * hashes, and the proxy's error registry.
 */
export type * from './types.js'
export { SERVICE_NAME_LABEL, LAST_CHANGE_TRIGGER_TIME } from './types.js'
export { ProxyError, proxyErrorCodes } from './errors.js'
export type { ProxyErrorCode } from './errors.js'
export { ChangeTracker, objectKey, sliceServiceKey, stableJson } from './tracker.js'
export type { Checkout } from './tracker.js'
export {
  servicePorts, buildServicePorts, categorizeEndpoints, externallyAccessible, usesClusterEndpoints,
  usesLocalEndpoints, familyOfAddress, DEFAULT_AFFINITY_SECONDS
} from './model.js'
export type { EndpointInfo, ServicePortInfo, Categorized, IpFamily, L4 } from './model.js'
export { base32, portProtoHash, endpointChainName, hashAndTruncate } from './hash.js'
