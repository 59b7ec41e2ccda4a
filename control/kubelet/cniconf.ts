/**
 * Finding the pod network the way containerd's go-cni does with libcni:
 * the lexically first `*.conf`, `*.conflist` or `*.json` file of the conf dir;
 * a single-plugin `.conf` is wrapped into a list of one.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { parseConfList } from '../../cni/runtime/index.js'
import type { NetworkList } from '../../cni/runtime/index.js'
import { KubeletError } from './errors.js'

export const CONF_EXTENSIONS = ['.conf', '.conflist', '.json']

/** Candidate files, sorted as libcni.ConfFiles returns them. */
export function confFiles (dir: string): string[] {
  let names: string[]
  try { names = fs.readdirSync(dir) } catch { return [] }
  return names.filter((n) => CONF_EXTENSIONS.includes(path.extname(n))).sort().map((n) => path.join(dir, n))
}

/** Parses one file's text as a list (or a single conf wrapped in a list). */
export function parseNetworkFile (file: string, text: string): NetworkList {
  if (file.endsWith('.conflist')) return parseConfList(text)
  let raw: Record<string, unknown>
  try { raw = JSON.parse(text) as Record<string, unknown> } catch (e) { throw new KubeletError('KUBELET_ERR_CNI_CONFIG', `${file}: ${(e as Error).message}`) }
  if (Array.isArray(raw.plugins)) return parseConfList(text)
  if (typeof raw.type !== 'string' || raw.type === '') throw new KubeletError('KUBELET_ERR_CNI_CONFIG', `${file}: network type not found`)
  const { name, cniVersion, ...plugin } = raw
  return parseConfList(JSON.stringify({ name, cniVersion, plugins: [plugin] }))
}

/** The network the kubelet attaches pods to; throws KUBELET_ERR_CNI_CONFIG with "cni config uninitialized" when none. */
export function loadNetwork (dir: string): { file: string, list: NetworkList } {
  const files = confFiles(dir)
  const file = files[0]
  if (file === undefined) throw new KubeletError('KUBELET_ERR_CNI_CONFIG', 'cni config uninitialized')
  let text: string
  try { text = fs.readFileSync(file, 'utf8') } catch (e) { throw new KubeletError('KUBELET_ERR_CNI_CONFIG', `${file}: ${(e as Error).message}`) }
  try {
    return { file, list: parseNetworkFile(file, text) }
  } catch (e) {
    if (e instanceof KubeletError) throw e
    throw new KubeletError('KUBELET_ERR_CNI_CONFIG', `${file}: ${(e as Error).message}`, { cause: e })
  }
}

/** Pod IPs from a CNI result (any version ≥ 0.3: `ips[].address` CIDRs), IPv4 first as the kubelet orders them. */
export function podIpsOf (result: unknown): string[] {
  const ips = ((result as { ips?: Array<{ address?: string }> } | undefined)?.ips ?? [])
    .map((i) => (i.address ?? '').split('/')[0] as string).filter((a) => a !== '')
  return [...ips.filter((a) => !a.includes(':')), ...ips.filter((a) => a.includes(':'))]
}
