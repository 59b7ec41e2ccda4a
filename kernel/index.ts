/**
 * Weft's kernel layer: the one place that touches links, addresses, routes,
 * neighbours, FDB, sysctls and network namespaces. See README.md.
 */
export type * from './types.js'
export { KernelError, isNotFound, isExists, errnoName } from './errors.js'
export * as ip from './ip.js'
export { LinuxNetNS, linuxSysctl, NETNS_RUN_DIR } from './linux/netns.js'
export { openGenetlink } from './linux/genetlink.js'
export { libc, LOCK_EX, LOCK_UN } from './libc.js'
export * from './iptables.js'
export * from './nftables.js'
export { libNftables } from './linux/libnftables.js'
export type { LibNftablesOptions } from './linux/libnftables.js'
