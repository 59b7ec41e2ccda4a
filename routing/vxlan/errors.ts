/**
 * Errors of the VXLAN overlay agent, with stable codes (docs/errors.md).
 */
const kVxlanError = Symbol.for('weft.VxlanError')

export const vxlanErrorCodes = {
  /** net-conf.json (or the etcd config key) missing, unparsable or invalid. */
  VXLAN_ERR_NETCONF: 'the network configuration is missing or invalid',
  /** A lease could not be obtained: no free subnet, conflicts, or the manager refused. */
  VXLAN_ERR_LEASE: 'no subnet lease could be obtained',
  /** Two leases claim overlapping subnets, or a lease lies outside the network. */
  VXLAN_ERR_LEASE_CONFLICT: 'conflicting subnet leases',
  /** The underlay interface (--iface / default route) does not exist or has no usable address. */
  VXLAN_ERR_UNDERLAY: 'the underlay interface is missing or unusable',
  /** The subnet manager (etcd, API server) cannot be reached or answered an error. */
  VXLAN_ERR_MANAGER: 'the subnet manager failed',
  /** Programming the kernel (device, neighbours, fdb, routes, rules) failed. */
  VXLAN_ERR_DATAPLANE: 'the dataplane could not be programmed',
  /** Command-line flags are invalid. */
  VXLAN_ERR_FLAGS: 'invalid flags'
} as const

export type VxlanErrorCode = keyof typeof vxlanErrorCodes

export class VxlanError extends Error {
  readonly code: VxlanErrorCode
  constructor (code: VxlanErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined)
    this.name = 'VxlanError'
    this.code = code
  }

  get [kVxlanError] (): true { return true }
  static override [Symbol.hasInstance] (v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kVxlanError] === true
  }
}
