/** CNI wire types, in the 1.x shape; older versions are converted in version.ts. */

export interface Dns {
  nameservers?: string[]
  domain?: string
  search?: string[]
  options?: string[]
}

export interface Interface {
  name: string
  mac?: string
  mtu?: number
  sandbox?: string
  socketPath?: string
  pciID?: string
}

export interface IPConfig {
  /** Index into `interfaces`. */
  interface?: number
  /** CIDR: '10.1.0.5/16'. */
  address: string
  gateway?: string
}

export interface RouteConfig {
  dst: string
  gw?: string
  mtu?: number
  advmss?: number
  priority?: number
  table?: number
  scope?: number
}

export interface Result {
  cniVersion: string
  interfaces?: Interface[]
  ips?: IPConfig[]
  routes?: RouteConfig[]
  dns?: Dns
}

export interface IpamConf {
  type: string
  [key: string]: unknown
}

/** The request configuration a plugin reads from stdin. */
export interface NetConf {
  cniVersion: string
  name: string
  type: string
  ipam?: IpamConf
  dns?: Dns
  prevResult?: Result
  runtimeConfig?: Record<string, unknown>
  args?: Record<string, unknown>
  [key: string]: unknown
}

export type Command = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC' | 'VERSION'

export interface CmdArgs {
  command: Command
  containerId: string
  /** '' when not given (DEL without netns). */
  netns: string
  ifName: string
  /** Raw CNI_ARGS. */
  args: string
  path: string[]
  /** Raw stdin, to pass unchanged to delegates. */
  stdin: Buffer
  /** Parsed stdin; `prevResult` already converted to the 1.x shape. */
  conf: NetConf
  /** The environment the plugin was started with (delegates get the same). */
  env: Record<string, string | undefined>
}

export interface PluginFuncs {
  add (args: CmdArgs): Result
  del (args: CmdArgs): void
  check (args: CmdArgs): void
  status? (args: CmdArgs): void
  gc? (args: CmdArgs): void
}
