/**
 * CNI versions and result conversion. Results are built in the 1.x shape and
 * converted to the configuration's version on output (as Go's
 * types.PrintResult does); a `prevResult` of any version is read into 1.x.
 */
import { CniError } from './errors.js'
import type { Dns, IPConfig, Interface, Result, RouteConfig } from './types.js'

export const supportedVersions = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const
export const currentVersion = '1.1.0'

export function compareVersions (a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

export function isSupported (v: string): boolean {
  return (supportedVersions as readonly string[]).includes(v)
}

const famOf = (cidrOrIp: string): '4' | '6' => (cidrOrIp.includes(':') ? '6' : '4')

function dropUndefined<T extends object> (o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k]
  return o
}

function iface (i: Interface, v11: boolean): Interface {
  return dropUndefined({
    name: i.name,
    mac: i.mac,
    mtu: v11 ? i.mtu : undefined,
    sandbox: i.sandbox !== '' ? i.sandbox : undefined,
    socketPath: v11 ? i.socketPath : undefined,
    pciID: v11 ? i.pciID : undefined
  }) as Interface
}

function route (r: RouteConfig, v11: boolean): RouteConfig {
  return dropUndefined({
    dst: r.dst,
    gw: r.gw,
    mtu: v11 ? r.mtu : undefined,
    advmss: v11 ? r.advmss : undefined,
    priority: v11 ? r.priority : undefined,
    table: v11 ? r.table : undefined,
    scope: v11 ? r.scope : undefined
  }) as RouteConfig
}

function dns (d: Dns | undefined): Dns {
  if (d === undefined) return {}
  return dropUndefined({ nameservers: d.nameservers, domain: d.domain, search: d.search, options: d.options }) as Dns
}

/** Converts a 1.x-shaped result to the wire form of `version`. */
export function convertResult (r: Result, version: string): Record<string, unknown> {
  const v11 = compareVersions(version, '1.1.0') >= 0
  if (compareVersions(version, '1.0.0') >= 0) {
    const out: Record<string, unknown> = { cniVersion: version }
    if (r.interfaces !== undefined && r.interfaces.length > 0) out.interfaces = r.interfaces.map((i) => iface(i, v11))
    if (r.ips !== undefined && r.ips.length > 0) out.ips = r.ips.map((ip) => dropUndefined({ interface: ip.interface, address: ip.address, gateway: ip.gateway }))
    if (r.routes !== undefined && r.routes.length > 0) out.routes = r.routes.map((x) => route(x, v11))
    out.dns = dns(r.dns)
    return out
  }
  if (compareVersions(version, '0.3.0') >= 0) {
    const out: Record<string, unknown> = { cniVersion: version }
    if (r.interfaces !== undefined && r.interfaces.length > 0) out.interfaces = r.interfaces.map((i) => iface(i, false))
    if (r.ips !== undefined && r.ips.length > 0) {
      out.ips = r.ips.map((ip) => dropUndefined({ version: famOf(ip.address), interface: ip.interface, address: ip.address, gateway: ip.gateway }))
    }
    if (r.routes !== undefined && r.routes.length > 0) out.routes = r.routes.map((x) => route(x, false))
    out.dns = dns(r.dns)
    return out
  }
  // 0.1.0 / 0.2.0: one address per family, routes split by family.
  const out: Record<string, unknown> = { cniVersion: version }
  for (const fam of ['4', '6'] as const) {
    const ip = r.ips?.find((x) => famOf(x.address) === fam)
    if (ip === undefined) continue
    const routes = (r.routes ?? []).filter((x) => famOf(x.dst) === fam).map((x) => route(x, false))
    out[fam === '4' ? 'ip4' : 'ip6'] = dropUndefined({ ip: ip.address, gateway: ip.gateway, routes: routes.length > 0 ? routes : undefined })
  }
  out.dns = dns(r.dns)
  return out
}

function asArray (v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw new CniError('CNI_ERR_DECODE', `failed to parse prevResult: ${what} is not a list`)
  return v
}

function obj (v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CniError('CNI_ERR_DECODE', `failed to parse prevResult: ${what} is not an object`)
  return v as Record<string, unknown>
}

function str (v: unknown, what: string, optional = true): string | undefined {
  if (v === undefined || v === null) {
    if (optional) return undefined
    throw new CniError('CNI_ERR_DECODE', `failed to parse prevResult: ${what} missing`)
  }
  if (typeof v !== 'string') throw new CniError('CNI_ERR_DECODE', `failed to parse prevResult: ${what} is not a string`)
  return v
}

/** Reads a result of any supported version (a `prevResult` or a delegate's output) into the 1.x shape. */
export function parseResult (raw: unknown, fallbackVersion: string): Result {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CniError('CNI_ERR_DECODE', 'failed to parse result: not a JSON object')
  const o = raw as Record<string, unknown>
  const version = typeof o.cniVersion === 'string' && o.cniVersion !== '' ? o.cniVersion : fallbackVersion
  if (!isSupported(version)) throw new CniError('CNI_ERR_INCOMPATIBLE_VERSION', 'incompatible CNI versions', `unsupported result version "${version}"`)
  const r: Result = { cniVersion: version }
  if (compareVersions(version, '0.3.0') < 0) {
    const ips: IPConfig[] = []
    const routes: RouteConfig[] = []
    for (const key of ['ip4', 'ip6']) {
      const x = o[key] as Record<string, unknown> | undefined
      if (x === undefined || x === null) continue
      const ip: IPConfig = { address: str(x.ip, `${key}.ip`, false) as string }
      const gw = str(x.gateway, `${key}.gateway`)
      if (gw !== undefined) ip.gateway = gw
      ips.push(ip)
      for (const rt of asArray(x.routes, `${key}.routes`)) routes.push(parseRoute(rt))
    }
    if (ips.length > 0) r.ips = ips
    if (routes.length > 0) r.routes = routes
  } else {
    const ifs = asArray(o.interfaces, 'interfaces').map((i) => {
      const x = obj(i, 'interfaces[]')
      const out: Interface = { name: str(x.name, 'interfaces[].name', false) as string }
      const mac = str(x.mac, 'interfaces[].mac'); if (mac !== undefined) out.mac = mac
      if (typeof x.mtu === 'number') out.mtu = x.mtu
      const sb = str(x.sandbox, 'interfaces[].sandbox'); if (sb !== undefined && sb !== '') out.sandbox = sb
      const sp = str(x.socketPath, 'interfaces[].socketPath'); if (sp !== undefined) out.socketPath = sp
      const pci = str(x.pciID, 'interfaces[].pciID'); if (pci !== undefined) out.pciID = pci
      return out
    })
    if (ifs.length > 0) r.interfaces = ifs
    const ips = asArray(o.ips, 'ips').map((i) => {
      const x = obj(i, 'ips[]')
      const out: IPConfig = { address: str(x.address, 'ips[].address', false) as string }
      if (typeof x.interface === 'number') out.interface = x.interface
      const gw = str(x.gateway, 'ips[].gateway'); if (gw !== undefined) out.gateway = gw
      return out
    })
    if (ips.length > 0) r.ips = ips
    const routes = asArray(o.routes, 'routes').map(parseRoute)
    if (routes.length > 0) r.routes = routes
  }
  if (typeof o.dns === 'object' && o.dns !== null) {
    const d = o.dns as Record<string, unknown>
    const out: Dns = {}
    if (Array.isArray(d.nameservers)) out.nameservers = d.nameservers.map(String)
    if (typeof d.domain === 'string' && d.domain !== '') out.domain = d.domain
    if (Array.isArray(d.search)) out.search = d.search.map(String)
    if (Array.isArray(d.options)) out.options = d.options.map(String)
    r.dns = out
  }
  return r
}

function parseRoute (raw: unknown): RouteConfig {
  const x = raw as Record<string, unknown>
  if (typeof x !== 'object' || x === null) throw new CniError('CNI_ERR_DECODE', 'failed to parse route: not an object')
  const out: RouteConfig = { dst: str(x.dst, 'routes[].dst', false) as string }
  const gw = str(x.gw, 'routes[].gw'); if (gw !== undefined && gw !== '') out.gw = gw
  for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) if (typeof x[k] === 'number') out[k] = x[k]
  return out
}
