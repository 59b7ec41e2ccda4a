/**
 * The delegate configuration: what flannel hands to `bridge` (or whatever
 * `delegate.type` names), built from the plugin's own config and subnet.env
 * exactly as flannel-io/cni-plugin builds it (reference notes section 3.7),
 * and rendered byte for byte as Go's json.Marshal renders it, so the files
 * under `dataDir` are interchangeable with the ones flannel's plugin keeps.
 */
import { invalidConfig } from '../skel/index.js'
import { ip } from '../../kernel/index.js'
import { cloneJson } from './config.js'
import type { FlannelConf } from './config.js'
import type { SubnetEnv } from './subnet-env.js'

type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Network form of a CIDR, as Go's net.ParseCIDR returns it: '10.244.1.1/24' → '10.244.1.0/24'. */
export function networkForm (cidr: string): string {
  const c = ip.parseCidr(cidr.trim())
  return `${ip.networkOf(c)}/${c.prefixLen}`
}

/** The networks of a (comma-separated) FLANNEL_NETWORK value, in network form, without duplicates. */
export function networksOf (value: string | undefined): string[] {
  if (value === undefined) return []
  return [...new Set(value.split(',').filter((x) => x.trim() !== '').map(networkForm))]
}

/**
 * `ipam.routes` as Go reads them into `types.Route` and writes them back:
 * known fields only, in the struct's order, zero `mtu`/`advmss`/`priority`
 * left out (omitempty), `dst` with its host bits kept (types.ParseCIDR).
 */
function ipamRoutes (raw: unknown): Obj[] {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) throw invalidConfig('failed to read IPAM routes: "ipam.routes" must be a list of routes', `got ${JSON.stringify(raw)}`)
  return raw.map((r, i) => {
    const where = `ipam.routes[${i}]`
    if (!isObj(r)) throw invalidConfig(`failed to read IPAM routes: ${where} must be an object like {"dst": "0.0.0.0/0"}`)
    let dst: string
    try {
      if (typeof r.dst !== 'string') throw new Error('not a string')
      dst = ip.formatCidr(ip.parseCidr(r.dst))
    } catch {
      throw invalidConfig(`failed to read IPAM routes: ${where}.dst: invalid CIDR address ${JSON.stringify(r.dst)}`)
    }
    const out: Obj = { dst }
    if (r.gw !== undefined && r.gw !== null && r.gw !== '') {
      if (typeof r.gw !== 'string' || ip.familyOf(r.gw) === undefined) throw invalidConfig(`failed to read IPAM routes: ${where}.gw: invalid IP address ${JSON.stringify(r.gw)}`)
      out.gw = ip.canonical(r.gw)
    }
    for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
      const v = r[k]
      if (v === undefined || v === null) continue
      if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidConfig(`failed to read IPAM routes: ${where}.${k} must be an integer`, `got ${JSON.stringify(v)}`)
      if (v === 0 && (k === 'mtu' || k === 'advmss' || k === 'priority')) continue
      out[k] = v
    }
    return out
  })
}

/** The parts of the delegate that do not depend on subnet.env. */
function base (conf: FlannelConf): Obj {
  const d = cloneJson(conf.delegate)
  if (conf.runtimeConfig !== undefined) d.runtimeConfig = cloneJson(conf.runtimeConfig)
  d.name = conf.name
  if (!Object.hasOwn(d, 'type')) d.type = 'bridge'
  return d
}

/**
 * The delegate flannel builds for ADD (and we rebuild for DEL without a saved
 * file, STATUS and GC):
 *
 * - `name` = the network's; `type` default `bridge`;
 * - `ipMasq` default `!FLANNEL_IPMASQ` (whoever does not masquerade, flanneld or the bridge, the other does);
 * - `mtu` default `FLANNEL_MTU`; for `bridge`, `isGateway` default true;
 * - `cniVersion` copied, `runtimeConfig` copied;
 * - `ipam` = the input `ipam` (or `{}`), `type` default `host-local`, `ranges` one range set per family of
 *   subnet.env (the subnet in network form), `routes` = the input routes + one per cluster network.
 *
 * "Default" means: set unless the key is present in `delegate`, whatever its value (Go's hasKey).
 */
export function buildDelegate (conf: FlannelConf, env: SubnetEnv): Obj {
  const d = base(conf)
  if (!Object.hasOwn(d, 'ipMasq')) d.ipMasq = !env.ipMasq
  if (!Object.hasOwn(d, 'mtu')) d.mtu = env.mtu
  if (d.type === 'bridge' && !Object.hasOwn(d, 'isGateway')) d.isGateway = true
  d.cniVersion = conf.cniVersion

  const ipam = conf.ipam !== undefined ? cloneJson(conf.ipam) : {}
  if (!Object.hasOwn(ipam, 'type')) ipam.type = 'host-local'
  const ranges: Obj[][] = []
  if (env.subnet !== undefined) ranges.push([{ subnet: networkForm(env.subnet) }])
  if (env.ipv6Subnet !== undefined) ranges.push([{ subnet: networkForm(env.ipv6Subnet) }])
  ipam.ranges = ranges
  ipam.routes = [
    ...ipamRoutes(conf.ipam?.routes),
    ...networksOf(env.network).map((dst) => ({ dst })),
    ...networksOf(env.ipv6Network).map((dst) => ({ dst }))
  ]
  d.ipam = ipam
  return d
}

/**
 * The delegate for a DEL that has neither the saved file nor subnet.env
 * (a node rebooted: /run is gone, /var/lib/cni is not). Only what DEL needs:
 * the delegate type with the network's name and the user's `delegate`
 * settings (so e.g. a `macspoofchk` or an explicit `ipMasq` is still torn
 * down), and an IPAM that can release by container ID and interface name.
 * For host-local that is `type` and `dataDir` alone (host-local's DEL does
 * not need ranges); another IPAM type gets the input `ipam` unchanged.
 */
export function fallbackDelegate (conf: FlannelConf): Obj {
  const d = base(conf)
  delete d.ipam
  if (d.type === 'bridge' && !Object.hasOwn(d, 'isGateway')) d.isGateway = true
  d.cniVersion = conf.cniVersion
  const input = conf.ipam ?? {}
  const type = typeof input.type === 'string' ? input.type : 'host-local'
  d.ipam = type === 'host-local'
    ? { type, ...(typeof input.dataDir === 'string' && input.dataDir !== '' ? { dataDir: input.dataDir } : {}) }
    : cloneJson(input)
  return d
}

function sortKeys (v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (!isObj(v)) return v
  const out: Obj = {}
  for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k])
  return out
}

/**
 * The delegate as Go's json.Marshal writes a map[string]interface{}: compact,
 * keys sorted at every level, except the routes, which are Go structs and keep
 * their field order (dst, gw, mtu, advmss, priority, table, scope).
 */
export function renderDelegate (d: Obj): string {
  const out = sortKeys(d) as Obj
  const ipam = out.ipam
  if (isObj(ipam) && Array.isArray(ipam.routes)) {
    ipam.routes = ipam.routes.map((r: unknown) => {
      if (!isObj(r)) return r
      const o: Obj = {}
      for (const k of ['dst', 'gw', 'mtu', 'advmss', 'priority', 'table', 'scope']) if (r[k] !== undefined) o[k] = r[k]
      for (const k of Object.keys(r)) if (!(k in o)) o[k] = r[k]
      return o
    })
  }
  return JSON.stringify(out)
}
