/**
 * Shared shapes of the flannel-style VXLAN overlay. Field names on the wire
 * (etcd values, node annotations, net-conf.json) are flannel's own, so a Weft
 * node and a flannel node read and write the same state.
 */

/** flannel's net-conf.json, validated and with defaults filled in. */
export interface NetConf {
  /** IPv4 cluster network, e.g. '10.244.0.0/16'; undefined when IPv4 is disabled. */
  network: string | undefined
  /** IPv6 cluster network; undefined unless EnableIPv6. */
  ipv6Network: string | undefined
  enableIPv4: boolean
  enableIPv6: boolean
  /** Masquerade through nftables (tables flannel-ipv4/flannel-ipv6) instead of iptables. */
  enableNFTables: boolean
  subnetLen: number
  /** First and last node subnet (network addresses) that may be leased, IPv4. */
  subnetMin: string | undefined
  subnetMax: string | undefined
  ipv6SubnetLen: number
  ipv6SubnetMin: string | undefined
  ipv6SubnetMax: string | undefined
  backend: VxlanBackendConf
}

export interface VxlanBackendConf {
  type: 'vxlan'
  /** VXLAN network identifier; device is `flannel.<VNI>` (v6: `flannel-v6.<VNI>`). Default 1. */
  vni: number
  /** UDP port; 0 means the kernel's default, 8472. */
  port: number
  /** Underlay MTU override; default: the external interface's MTU. */
  mtu: number | undefined
  gbp: boolean
  learning: boolean
  /** Plain routes via the remote public IP for peers on the same L2 segment. */
  directRouting: boolean
}

/** flannel's LeaseAttrs, exactly as stored in etcd (JSON keys as flannel writes them). */
export interface LeaseAttrs {
  PublicIP: string
  PublicIPv6?: string | null
  BackendType: string
  BackendData?: VxlanBackendData | null
  BackendV6Data?: VxlanBackendData | null
}

export interface VxlanBackendData {
  VNI: number
  VtepMAC: string
}

export interface Lease {
  /** The node's IPv4 subnet, e.g. '10.244.1.0/24'. */
  subnet: string | undefined
  /** The node's IPv6 subnet. */
  ipv6Subnet: string | undefined
  attrs: LeaseAttrs
  /** When the lease expires (etcd TTL); undefined for leases that do not expire (kube mode, reservations). */
  expiration: Date | undefined
}

export type LeaseEvent =
  | { type: 'added', lease: Lease }
  | { type: 'removed', lease: Lease }

/**
 * Where leases come from: etcd (flannel's key layout) or the Kubernetes API
 * (node podCIDRs and annotations). Every method may be called from the agent's
 * single loop only.
 */
export interface SubnetManager {
  readonly kind: 'etcd' | 'kube'
  /** The cluster network configuration (etcd: `<prefix>/config`; kube: net-conf.json). */
  getNetworkConfig (): Promise<NetConf>
  /**
   * Obtain (or re-obtain after a restart) this node's lease, publishing `attrs`
   * (public IP, VtepMAC). `previous` is the subnet from an earlier subnet.env,
   * reused when still free and compatible.
   */
  acquireLease (attrs: LeaseAttrs, opts?: { previous?: { subnet?: string, ipv6Subnet?: string } }): Promise<Lease>
  /**
   * Watch every node's lease. `onEvents` first receives the current leases as
   * `added` events (a snapshot), then changes; after a watch is reset (compaction,
   * reconnect) it receives a fresh snapshot diff. Resolves when `signal` aborts.
   */
  watchLeases (onEvents: (events: LeaseEvent[]) => void, signal: AbortSignal): Promise<void>
  /** Keep this node's lease alive (etcd: renew before expiry); resolves when `signal` aborts. */
  keepLease (lease: Lease, signal: AbortSignal, onRenewed?: (lease: Lease) => void): Promise<void>
  close (): Promise<void>
}

/** The logging the overlay's parts need (pino's shape: fields first, then the message). */
export interface Logger {
  debug (obj: object, msg?: string): void
  info (obj: object, msg?: string): void
  warn (obj: object, msg?: string): void
  error (obj: object, msg?: string): void
}
