/**
 * The narrow kernel interfaces Weft's components program against. Only
 * `kernel/linux/*` touches the real kernel; `kernel/testing` has fakes that
 * hold state and dump it as text.
 *
 * Every method is synchronous and acts in the network namespace the
 * implementation was bound to when it was created. Synchronous is deliberate:
 * a namespace switch (setns) is per thread, and no await may ever happen while
 * a thread is inside another namespace.
 */

export type Family = 4 | 6

export interface LinkFlags {
  up: boolean
  promisc: boolean
  loopback: boolean
  running: boolean
  noarp: boolean
}

export interface Link {
  index: number
  name: string
  /** IFLA_INFO_KIND: 'veth', 'bridge', 'vxlan', 'dummy', ...; undefined for physical or loopback devices. */
  kind: string | undefined
  mtu: number
  /** Lower-case colon hex; '00:00:00:00:00:00' for lo. */
  mac: string
  flags: LinkFlags
  /** RFC 2863 operational state as the kernel names it: 'up', 'down', 'unknown', 'lowerlayerdown', ... */
  operstate: string
  /** ifindex of the bridge this link is a port of. */
  master: number | undefined
  /** IFLA_LINK: for a veth, the peer's ifindex (in the peer's namespace). */
  parentIndex: number | undefined
  /** IFLA_LINK_NETNSID: set when the peer/parent lives in another namespace. */
  linkNetnsid: number | undefined
  /** Bridge port settings, present when `master` is a bridge. */
  bridgePort: { hairpin: boolean, isolated: boolean, learning: boolean } | undefined
  /** VXLAN settings for kind 'vxlan'. */
  vxlan: VxlanInfo | undefined
  /** Bridge settings for kind 'bridge'. */
  bridge: { vlanFiltering: boolean } | undefined
  promiscuity: number
}

export interface VxlanInfo {
  vni: number
  port: number
  learning: boolean
  local: string | undefined
  /** ifindex of the underlay device. */
  dev: number | undefined
}

export interface VethSpec {
  name: string
  peerName: string
  /** File descriptor of the namespace the peer is created in; omitted = same namespace. */
  peerNetnsFd?: number
  mtu?: number
  mac?: string
  peerMac?: string
  /** txqueuelen of both ends; the reference plugins create veths with 0 (veth is IFF_NO_QUEUE anyway). */
  txqlen?: number
}

export interface BridgeSpec { name: string, mtu?: number, mac?: string, vlanFiltering?: boolean }
export interface DummySpec { name: string, mtu?: number, mac?: string }
export interface VxlanSpec {
  name: string
  vni: number
  port?: number
  learning?: boolean
  local?: string
  dev?: number
  mtu?: number
  mac?: string
}

export interface LinkChange {
  up?: boolean
  mtu?: number
  mac?: string
  /** ifindex of the new master; 0 removes the link from its bridge. */
  master?: number
  promisc?: boolean
  name?: string
  /** Move the link into the namespace behind this file descriptor. */
  netnsFd?: number
}

export interface BridgePortChange { hairpin?: boolean, isolated?: boolean, learning?: boolean }

export interface Address {
  index: number
  family: Family
  /** The address without prefix, e.g. '10.1.0.5' or 'fd00::5'. */
  address: string
  prefixLen: number
  /** 0 universe, 253 link, 254 host. */
  scope: number
  /** IFA_F_* flags; 0x80 is IFA_F_PERMANENT. */
  flags: number
}

export interface Route {
  family: Family
  /** 'a.b.c.d/n' or 'x::/n'; the default route is '0.0.0.0/0' or '::/0'. */
  dst: string
  gw?: string
  /** Output ifindex. */
  dev?: number
  src?: string
  table?: number
  /** RTPROT_*: 2 kernel, 3 boot, 4 static; ours choose their own. */
  protocol?: number
  /** 0 universe, 253 link, 254 host. */
  scope?: number
  /** RTN_*: 1 unicast (default), 2 local, 3 broadcast, ... */
  type?: number
  priority?: number
  mtu?: number
  advmss?: number
  onlink?: boolean
  /** ECMP next hops; when set, `gw`/`dev` are ignored. */
  multipath?: Array<{ gw?: string, dev: number, weight?: number, onlink?: boolean }>
}

export interface Neighbour {
  index: number
  family: Family | 7 /* AF_BRIDGE */
  ip: string | undefined
  mac: string | undefined
  /** NUD_* bits: 0x80 permanent, 0x40 noarp, 0x02 reachable, 0x04 stale. */
  state: number
  /** NTF_* bits: 0x02 self, 0x04 master. */
  flags: number
  master: number | undefined
}

export interface FdbEntry {
  index: number
  mac: string
  /** Remote VTEP for VXLAN entries. */
  dst: string | undefined
  state: number
  flags: number
  master: number | undefined
}

export interface Netlink {
  links (): Link[]
  /** undefined when no such link. */
  linkByName (name: string): Link | undefined
  linkByIndex (index: number): Link | undefined
  /** Create a veth pair; the peer is created directly in `peerNetnsFd`'s namespace when given. Throws EEXIST. */
  addVeth (spec: VethSpec): void
  addBridge (spec: BridgeSpec): void
  addDummy (spec: DummySpec): void
  addVxlan (spec: VxlanSpec): void
  /** Throws a not-found KernelError when absent (see `isNotFound`). */
  deleteLink (index: number): void
  setLink (index: number, change: LinkChange): void
  setBridgePort (index: number, change: BridgePortChange): void
  /**
   * Add (or with `remove`, delete) a VLAN on a bridge port, as `bridge vlan add|del dev <port> vid <vid> [pvid] [untagged]`.
   * Needs a VLAN-filtering bridge; kernels without bridge VLAN filtering answer EOPNOTSUPP.
   */
  setBridgeVlan (index: number, v: { vid: number, pvid?: boolean, untagged?: boolean, remove?: boolean }): void

  addresses (family?: Family): Address[]
  /** `cidr` is 'addr/prefix'. Throws EEXIST if present. */
  addAddress (index: number, cidr: string, opts?: { scope?: number, noPrefixRoute?: boolean }): void
  deleteAddress (index: number, cidr: string): void

  routes (filter?: { family?: Family, table?: number }): Route[]
  /** Adds (EEXIST if present) or, with `replace`, creates-or-replaces. */
  addRoute (route: Route, opts?: { replace?: boolean }): void
  deleteRoute (route: Route): void

  neighbours (family?: Family): Neighbour[]
  /** Creates or replaces a permanent neighbour entry. */
  setNeighbour (n: { index: number, ip: string, mac: string, state?: number }): void
  deleteNeighbour (n: { index: number, ip: string }): void

  fdb (index?: number): FdbEntry[]
  /** Creates or replaces a permanent `self` FDB entry (e.g. VXLAN mac → remote VTEP). */
  setFdb (e: { index: number, mac: string, dst?: string }): void
  deleteFdb (e: { index: number, mac: string, dst?: string }): void

  /** Releases the socket. Further calls throw. */
  close (): void
}

/**
 * Network namespaces. `run` executes `fn` with the calling thread switched
 * into the namespace at `path` and always switches back, even on throw. `fn`
 * must be synchronous.
 */
export interface NetNS {
  /** '/run/netns/<name>' for a named namespace. */
  pathOf (name: string): string
  /** Create a named, persistent namespace (like `ip netns add`). */
  create (name: string): string
  /** Remove a named namespace (like `ip netns del`); tolerant when absent. */
  remove (name: string): void
  list (): string[]
  exists (path: string): boolean
  run<T> (path: string, fn: () => T): T
  /** A Netlink bound to the namespace at `path` (or the caller's own when omitted). */
  netlink (path?: string): Netlink
  /** Open a namespace file for passing as `peerNetnsFd`/`netnsFd`; close with `closeFd`. */
  openFd (path: string): number
  closeFd (fd: number): void
  /** True when `path` names the namespace the process itself is in. */
  isCurrent (path: string): boolean
}

/** Sysctls in the calling thread's namespace, by '/'-separated key, e.g. 'net/ipv4/ip_forward'. */
export interface Sysctl {
  get (key: string): string
  set (key: string, value: string): void
}

/**
 * Generic netlink (NETLINK_GENERIC) in the namespace the socket was opened
 * in: families resolved by name through nlctrl, then requests carrying a
 * genl header and attributes. Synchronous, like `Netlink`.
 */
export interface Genetlink {
  /**
   * The family's id (CTRL_CMD_GETFAMILY), cached per socket. Throws a
   * KernelError with errno ENOENT when this kernel has no such family.
   */
  familyId (name: string): number
  /**
   * Sends one request (`dump` adds NLM_F_DUMP, otherwise NLM_F_ACK) and returns
   * the attribute payloads of the replies, genl header removed. `flags` are
   * extra nlmsg flags (NLM_F_CREATE, NLM_F_EXCL, ...). Refusals throw the
   * kernel's errno as a KernelError.
   */
  request (family: number, cmd: number, version: number, attrs: readonly Uint8Array[], opts: { dump?: boolean, flags?: number }, what: string): Buffer[]
  /** Releases the socket. Further calls throw. */
  close (): void
}
