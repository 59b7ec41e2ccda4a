/**
 * Errors of the service proxy (`weft proxy`), with stable codes (docs/errors.md).
 */
const kProxyError = Symbol.for('weft.ProxyError')

export const proxyErrorCodes = {
  /** Flags or a KubeProxyConfiguration are invalid or name something not available. */
  PROXY_ERR_CONFIG: 'invalid proxy configuration',
  /** A Service or EndpointSlice object is malformed. */
  PROXY_ERR_OBJECT: 'malformed Service or EndpointSlice',
  /** The event source (kube client, services file, watch directory) failed. */
  PROXY_ERR_SOURCE: 'the Service/EndpointSlice source failed',
  /** A ruleset transaction (nft -f, iptables-restore) failed; the next sync is a full one. */
  PROXY_ERR_SYNC: 'the dataplane sync failed',
  /** The proxy mode cannot run on this host (no nftables, no iptables, no IPVS). */
  PROXY_ERR_UNSUPPORTED: 'the proxy mode is not supported here',
  /** IPVS mode was asked for and this kernel has no IPVS (no generic netlink family "IPVS", /proc/net/ip_vs missing). */
  PROXY_ERR_NO_IPVS: 'IPVS is not available in this kernel',
  /** Removing the rules of a mode (`--cleanup`) failed. */
  PROXY_ERR_CLEANUP: 'cleanup failed'
} as const

export type ProxyErrorCode = keyof typeof proxyErrorCodes

export class ProxyError extends Error {
  readonly code: ProxyErrorCode
  constructor (code: ProxyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined)
    this.name = 'ProxyError'
    this.code = code
  }

  get [kProxyError] (): true { return true }
  static override [Symbol.hasInstance] (v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kProxyError] === true
  }
}
