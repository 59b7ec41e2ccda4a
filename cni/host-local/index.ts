/**
 * host-local IPAM: addresses from configured ranges, reservations kept on the
 * node's disk in the reference plugin's layout. See README.md.
 */
export { hostLocal } from './plugin.js'
export type { HostLocalConfig, Range, RangeSet } from './config.js'
