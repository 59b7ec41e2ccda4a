/**
 * bridge plugin configuration: parsed and validated completely before any
 * step touches the kernel, so bad input changes nothing on the host.
 */
import { CniError, invalidConfig, parseCniArgs } from '../skel/index.js'
import type { CmdArgs, Dns, NetConf } from '../skel/index.js'
import { ip } from '../../kernel/index.js'

export interface BridgeConf {
  name: string
  cniVersion: string
  bridge: string
  isGateway: boolean
  isDefaultGateway: boolean
  forceAddress: boolean
  ipMasq: boolean
  mtu: number
  hairpinMode: boolean
  promiscMode: boolean
  vlan: number
  /** Keep VLAN 1 on the port when `vlan` is set (upstream default false since plugins v1.8). */
  preserveDefaultVlan: boolean
  macspoofchk: boolean
  enableDad: boolean
  disableContainerInterface: boolean
  portIsolation: boolean
  /** undefined = layer 2 only (no IPAM). */
  ipamType: string | undefined
  dns: Dns | undefined
  /** Container MAC: runtimeConfig.mac > args.cni.mac > CNI_ARGS MAC. */
  mac: string | undefined
  raw: NetConf
}

function bool (conf: Record<string, unknown>, key: string): boolean {
  const v = conf[key]
  if (v === undefined || v === null) return false
  if (typeof v !== 'boolean') throw invalidConfig(`"${key}" must be a boolean`, `got ${JSON.stringify(v)}`)
  return v
}

function int (conf: Record<string, unknown>, key: string, min: number, max: number): number {
  const v = conf[key]
  if (v === undefined || v === null) return 0
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidConfig(`invalid ${key} ${JSON.stringify(v)}`, `"${key}" must be an integer between ${min} and ${max}`)
  }
  return v
}

function validMac (m: unknown, where: string): string {
  if (typeof m !== 'string' || !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(m)) throw invalidConfig(`invalid MAC address in ${where}`, JSON.stringify(m))
  const first = parseInt(m.slice(0, 2), 16)
  if ((first & 1) === 1) throw invalidConfig(`invalid MAC address in ${where}`, `${m} is a multicast address`)
  return m.toLowerCase()
}

export function loadBridgeConf (args: CmdArgs): BridgeConf {
  const c = args.conf as NetConf & Record<string, unknown>
  const bridge = c.bridge === undefined ? 'cni0' : c.bridge
  if (typeof bridge !== 'string' || bridge === '' || bridge.length > 15 || /[\s/:]/.test(bridge)) {
    throw invalidConfig(`invalid bridge name ${JSON.stringify(c.bridge)}`, 'a bridge name is 1-15 characters without "/", ":" or whitespace')
  }
  const isDefaultGateway = bool(c, 'isDefaultGateway')
  const hairpinMode = bool(c, 'hairpinMode')
  const promiscMode = bool(c, 'promiscMode')
  if (hairpinMode && promiscMode) throw invalidConfig('cannot set hairpin mode and promiscuous mode at the same time')
  const vlan = int(c, 'vlan', 0, 4094)
  if (vlan > 0 && (bool(c, 'isGateway') || bool(c, 'isDefaultGateway'))) {
    throw new CniError('CNI_ERR_UNSUPPORTED_FIELD', 'unsupported combination "vlan" with "isGateway"', 'a per-VLAN gateway interface is not implemented; put the gateway on the VLAN elsewhere')
  }
  if (c.vlanTrunk !== undefined) throw new CniError('CNI_ERR_UNSUPPORTED_FIELD', 'unsupported field "vlanTrunk"', 'VLAN trunks need bridge VLAN filtering; use "vlan"')
  let ipamType: string | undefined
  if (c.ipam !== undefined && c.ipam !== null) {
    if (typeof c.ipam !== 'object' || Array.isArray(c.ipam)) throw invalidConfig('"ipam" must be an object')
    const t = (c.ipam as { type?: unknown }).type
    if (t !== undefined && t !== '') {
      if (typeof t !== 'string' || t.includes('/')) throw invalidConfig(`invalid IPAM type ${JSON.stringify(t)}`)
      ipamType = t
    }
  }
  const disableContainerInterface = bool(c, 'disableContainerInterface')
  if (disableContainerInterface && ipamType !== undefined) {
    throw invalidConfig('cannot use IPAM when "disableContainerInterface" is set')
  }

  let mac: string | undefined
  const cniArgs = parseCniArgs(args.args, ['MAC', 'IP', 'K8S_POD_NAMESPACE', 'K8S_POD_NAME', 'K8S_POD_INFRA_CONTAINER_ID', 'K8S_POD_UID'])
  if (cniArgs.MAC !== undefined) mac = validMac(cniArgs.MAC, 'CNI_ARGS')
  const cniArgsMac = (c.args as { cni?: { mac?: unknown } } | undefined)?.cni?.mac
  if (cniArgsMac !== undefined) mac = validMac(cniArgsMac, 'args.cni.mac')
  const rcMac = (c.runtimeConfig as { mac?: unknown } | undefined)?.mac
  if (rcMac !== undefined && rcMac !== '') mac = validMac(rcMac, 'runtimeConfig.mac')

  let dns: Dns | undefined
  if (c.dns !== undefined && c.dns !== null) {
    if (typeof c.dns !== 'object') throw invalidConfig('"dns" must be an object')
    const d = c.dns as Record<string, unknown>
    const list = (k: string): string[] | undefined => {
      const v = d[k]
      if (v === undefined || v === null) return undefined
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalidConfig(`"dns.${k}" must be a list of strings`)
      return v as string[]
    }
    const out: Dns = {}
    const ns = list('nameservers')
    if (ns !== undefined) {
      for (const n of ns) if (ip.familyOf(n) === undefined) throw invalidConfig(`invalid nameserver ${JSON.stringify(n)}`)
      out.nameservers = ns
    }
    if (typeof d.domain === 'string' && d.domain !== '') out.domain = d.domain
    const search = list('search'); if (search !== undefined) out.search = search
    const options = list('options'); if (options !== undefined) out.options = options
    if (Object.keys(out).length > 0) dns = out
  }

  return {
    name: c.name,
    cniVersion: c.cniVersion,
    bridge,
    isGateway: bool(c, 'isGateway') || isDefaultGateway,
    isDefaultGateway,
    forceAddress: bool(c, 'forceAddress'),
    ipMasq: bool(c, 'ipMasq'),
    mtu: int(c, 'mtu', 0, 65535),
    hairpinMode,
    promiscMode,
    vlan,
    preserveDefaultVlan: bool(c, 'preserveDefaultVlan'),
    macspoofchk: bool(c, 'macspoofchk'),
    enableDad: bool(c, 'enabledad'),
    disableContainerInterface,
    portIsolation: bool(c, 'portIsolation'),
    ipamType,
    dns,
    mac,
    raw: c
  }
}
