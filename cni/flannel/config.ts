/**
 * flannel plugin configuration: read and validated completely before any
 * file is read or written, so bad input changes nothing on the node.
 *
 * The keys are flannel-io/cni-plugin's (`subnetFile`, `dataDir`, `delegate`,
 * `ipam`, `runtimeConfig`); every failure is code 7 naming the key, where
 * flannel answers most of them with a Go unmarshalling error (code 999).
 */
import { invalidConfig } from '../skel/index.js'
import type { NetConf } from '../skel/index.js'
import { DEFAULT_SUBNET_FILE } from './subnet-env.js'

export const DEFAULT_DATA_DIR = '/var/lib/cni/flannel'

type Obj = Record<string, unknown>

export interface FlannelConf {
  name: string
  cniVersion: string
  subnetFile: string
  /** Where the delegate config of each container is kept for DEL (`<dataDir>/<containerID>`). */
  dataDir: string
  /** The `delegate` object as given (a copy); `{}` when absent. */
  delegate: Obj
  /** The delegate's type: `delegate.type`, default `bridge`. */
  delegateType: string
  /** The `ipam` object as given (a copy), or undefined. */
  ipam: Obj | undefined
  runtimeConfig: Obj | undefined
}

export interface LoadOptions {
  /**
   * DEL does not refuse `name` or `ipam` inside `delegate`: flannel sets both
   * itself, and a DEL must be able to clean up after an ADD that such a
   * configuration made fail (flannel's own DEL does not check them either).
   */
  forDel?: boolean
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** A deep copy of JSON data, so the delegate can be built without touching the parsed request. */
export function cloneJson<T> (v: T): T {
  return JSON.parse(JSON.stringify(v)) as T
}

function optionalPath (c: Obj, key: string, dflt: string): string {
  const v = c[key]
  if (v === undefined || v === null || v === '') return dflt
  if (typeof v !== 'string') throw invalidConfig(`"${key}" must be a string (a path)`, `got ${JSON.stringify(v)}`)
  return v
}

function optionalObj (c: Obj, key: string, what: string): Obj | undefined {
  const v = c[key]
  if (v === undefined || v === null) return undefined
  if (!isObj(v)) throw invalidConfig(`"${key}" must be an object${what}`, `got ${JSON.stringify(v)}`)
  return cloneJson(v)
}

export function loadFlannelConf (conf: NetConf, opts: LoadOptions = {}): FlannelConf {
  const c = conf as Obj
  const subnetFile = optionalPath(c, 'subnetFile', DEFAULT_SUBNET_FILE)
  const dataDir = optionalPath(c, 'dataDir', DEFAULT_DATA_DIR)
  const delegate = optionalObj(c, 'delegate', ' of settings for the delegated plugin') ?? {}
  if (Object.hasOwn(delegate, 'type')) {
    const t = delegate.type
    if (typeof t !== 'string' || t === '') throw invalidConfig("'delegate' dictionary, if present, must have (string) 'type' field", `got ${JSON.stringify(t)}`)
  }
  if (opts.forDel !== true) {
    for (const key of ['name', 'ipam']) {
      if (Object.hasOwn(delegate, key)) throw invalidConfig(`'delegate' dictionary must not have '${key}' field, it'll be set by flannel`, key === 'ipam' ? 'put IPAM settings in the top-level "ipam" object' : '')
    }
  }
  const ipam = optionalObj(c, 'ipam', ' (the base of the delegate\'s IPAM configuration)')
  if (ipam !== undefined && Object.hasOwn(ipam, 'type') && (typeof ipam.type !== 'string' || ipam.type === '')) {
    throw invalidConfig('"ipam.type" must be a non-empty string', `got ${JSON.stringify(ipam.type)}`)
  }
  const runtimeConfig = optionalObj(c, 'runtimeConfig', '')
  return {
    name: conf.name,
    cniVersion: conf.cniVersion,
    subnetFile,
    dataDir,
    delegate,
    delegateType: typeof delegate.type === 'string' ? delegate.type : 'bridge',
    ipam,
    runtimeConfig
  }
}

/**
 * Container IDs a GC request says are still in use (`cni.dev/valid-attachments`,
 * and the older `cni.dev/attachments`, as host-local reads them). A missing
 * list is refused: read as "nothing is valid" it would drop every saved file.
 */
export function validContainerIds (conf: NetConf): Set<string> {
  const keys = ['cni.dev/valid-attachments', 'cni.dev/attachments'].filter((k) => conf[k] !== undefined && conf[k] !== null)
  if (keys.length === 0) throw invalidConfig('GC needs "cni.dev/valid-attachments"', 'refusing to treat a missing list as "no attachment is valid"')
  const out = new Set<string>()
  for (const key of keys) {
    const list = conf[key]
    if (!Array.isArray(list)) throw invalidConfig(`"${key}" must be a list of {"containerID", "ifname"}`, `got ${JSON.stringify(list)}`)
    list.forEach((a, i) => {
      if (!isObj(a) || typeof a.containerID !== 'string' || a.containerID === '') {
        throw invalidConfig(`"${key}"[${i}] must be {"containerID": string, "ifname": string}`, `got ${JSON.stringify(a)}`)
      }
      out.add(a.containerID)
    })
  }
  return out
}
