/**
 * The flannel meta-plugin: reads the node's subnet lease from subnet.env,
 * turns its own configuration into a `bridge` + `host-local` configuration
 * (the delegate), saves that and runs the delegate with it.
 *
 * ADD: validate → read subnet.env → build the delegate → save it → delegate ADD.
 * If the delegate fails, its DEL is run and the saved file removed only once
 * that DEL succeeded; until then the file stays for the runtime's own DEL.
 *
 * DEL: delegate DEL with the saved bytes, then remove them. Without a usable
 * saved file (flannel then gives up and leaks the address), the delegate is
 * rebuilt from subnet.env, or, with subnet.env gone too, reduced to what a
 * release needs. DEL succeeds whatever is already gone.
 */
import { CniError, cniErrorCodes } from '../skel/index.js'
import type { CmdArgs, Command, PluginFuncs, Result } from '../skel/index.js'
import { loadFlannelConf, validContainerIds } from './config.js'
import type { FlannelConf } from './config.js'
import { buildDelegate, fallbackDelegate, renderDelegate } from './delegate.js'
import { listSaved, readSaved, removeSaved, saveDelegate, savedPath } from './saved.js'
import { SubnetEnvError, readSubnetEnv } from './subnet-env.js'
import type { SubnetEnv } from './subnet-env.js'

export interface FlannelDeps {
  /** Runs a command on the delegate plugin `type` with `stdin` as its configuration (skel's `delegate`). */
  delegate: (command: Command, type: string, args: CmdArgs, stdin: Buffer) => Result | undefined
  /** Diagnostics for stderr (the runtime's log); never part of the protocol. */
  log: (line: string) => void
}

type Obj = Record<string, unknown>

type EnvRead =
  | { ok: true, env: SubnetEnv }
  | { ok: false, why: 'missing' | 'invalid' | 'unreadable', message: string }

function readEnv (file: string): EnvRead {
  try {
    return { ok: true, env: readSubnetEnv(file) }
  } catch (e) {
    if (e instanceof SubnetEnvError) return { ok: false, why: 'invalid', message: e.message }
    const code = (e as NodeJS.ErrnoException).code
    return { ok: false, why: code === 'ENOENT' ? 'missing' : 'unreadable', message: (e as Error).message }
  }
}

/**
 * subnet.env for ADD. Missing is code 11, "try again later": the overlay agent
 * writes it shortly after it starts (and after every reboot, /run being a
 * tmpfs), so a retried ADD succeeds without anyone changing anything.
 * Garbage in it is code 7: retrying will not help until it is fixed.
 */
function envForAdd (conf: FlannelConf): SubnetEnv {
  const r = readEnv(conf.subnetFile)
  if (r.ok) return r.env
  switch (r.why) {
    case 'missing':
      throw new CniError('CNI_ERR_TRY_AGAIN', `failed to load flannel 'subnet.env' file: ${conf.subnetFile} does not exist; the overlay agent (flanneld or weft vxland) may not be running yet on this node`,
        'the agent writes it once it holds a subnet lease for the node; check its log (with flannel: the kube-flannel pod on this node)')
    case 'invalid':
      throw new CniError('CNI_ERR_INVALID_CONFIG', `invalid flannel 'subnet.env' file: ${r.message}`)
    case 'unreadable':
      throw new CniError('CNI_ERR_IO', `failed to read flannel 'subnet.env' file ${conf.subnetFile}`, r.message)
  }
}

/** The delegate a command without a saved file uses: from subnet.env when it is usable, else the release-only one. */
function rebuiltDelegate (conf: FlannelConf): Obj {
  const r = readEnv(conf.subnetFile)
  if (r.ok) {
    try { return buildDelegate(conf, r.env) } catch { /* e.g. bad ipam.routes: ADD never got through either */ }
  }
  return fallbackDelegate(conf)
}

const typeOf = (d: Obj): string => d.type as string

export function flannelPlugin (deps: FlannelDeps): PluginFuncs {
  function add (args: CmdArgs): Result {
    const conf = loadFlannelConf(args.conf)
    const env = envForAdd(conf)
    const d = buildDelegate(conf, env)
    const bytes = Buffer.from(renderDelegate(d))
    const type = typeOf(d)
    // A saved file already there means an earlier ADD of this container whose DEL has not come:
    // its attachment may be live, so a failure below must not tear it down.
    const earlier = readSaved(conf.dataDir, args.containerId).kind !== 'missing'
    try {
      saveDelegate(conf.dataDir, args.containerId, bytes.toString('utf8'))
    } catch (e) {
      throw new CniError('CNI_ERR_IO', `failed to save the delegate config to ${savedPath(conf.dataDir, args.containerId)}`, (e as Error).message)
    }
    try {
      const result = deps.delegate('ADD', type, args, bytes)
      if (result === undefined) throw new CniError('CNI_ERR_INTERNAL', `delegate "${type}" returned no result`)
      return result
    } catch (e) {
      // CNI_IFNAME already exists in the pod: it belongs to someone else's ADD, and a DEL would remove it.
      const linkExists = e instanceof CniError && e.number === cniErrorCodes.CNI_ERR_LINK_EXISTS
      if (!earlier && !linkExists) {
        try {
          deps.delegate('DEL', type, args, bytes)
          removeSaved(conf.dataDir, args.containerId)
        } catch (delErr) {
          deps.log(`flannel: DEL of delegate "${type}" after its failed ADD failed too, keeping ${savedPath(conf.dataDir, args.containerId)} for the runtime's DEL: ${(delErr as Error).message}`)
        }
      }
      throw e
    }
  }

  function del (args: CmdArgs): void {
    const conf = loadFlannelConf(args.conf, { forDel: true })
    const saved = readSaved(conf.dataDir, args.containerId)
    if (saved.kind === 'ok') {
      deps.delegate('DEL', saved.type, args, saved.bytes)
      removeSaved(conf.dataDir, args.containerId)
      return
    }
    if (saved.kind === 'invalid') {
      deps.log(`flannel: ignoring ${savedPath(conf.dataDir, args.containerId)} (${saved.reason}); releasing with a rebuilt delegate config`)
    }
    const d = rebuiltDelegate(conf)
    deps.delegate('DEL', typeOf(d), args, Buffer.from(renderDelegate(d)))
    if (saved.kind === 'invalid') removeSaved(conf.dataDir, args.containerId)
  }

  function check (args: CmdArgs): void {
    const conf = loadFlannelConf(args.conf)
    const saved = readSaved(conf.dataDir, args.containerId)
    const file = savedPath(conf.dataDir, args.containerId)
    if (saved.kind !== 'ok') {
      throw new CniError('CNI_ERR_CHECK_FAILED', `flannel: no usable saved delegate config for container ${args.containerId}`,
        saved.kind === 'missing' ? `${file} does not exist` : `${file}: ${saved.reason}`)
    }
    // The pod keeps the subnet it got; if the node's lease has changed since, its address is off the node's subnet.
    const r = readEnv(conf.subnetFile)
    if (r.ok) {
      const want = (buildDelegate(conf, r.env).ipam as Obj).ranges
      const had = (saved.conf.ipam as Obj | undefined)?.ranges
      if (JSON.stringify(want) !== JSON.stringify(had)) {
        throw new CniError('CNI_ERR_CHECK_FAILED', `flannel: container ${args.containerId} was set up for ranges ${JSON.stringify(had)}, the node's subnet.env now says ${JSON.stringify(want)}`,
          `${conf.subnetFile} changed after ADD (a new subnet lease); the pod must be recreated`)
      }
    }
    // The runtime's prevResult, as it sent it (skel has converted args.conf's copy to the 1.x shape).
    const raw = JSON.parse(args.stdin.toString('utf8')) as Obj
    const conf2: Obj = { ...saved.conf }
    if (raw.prevResult !== undefined && raw.prevResult !== null) conf2.prevResult = raw.prevResult
    deps.delegate('CHECK', saved.type, args, Buffer.from(JSON.stringify(conf2)))
  }

  function status (args: CmdArgs): void {
    const conf = loadFlannelConf(args.conf)
    const r = readEnv(conf.subnetFile)
    if (!r.ok) {
      throw new CniError('CNI_ERR_NOT_AVAILABLE', `flannel: the node's overlay is not ready: ${r.why === 'missing' ? `${conf.subnetFile} does not exist` : r.message}`,
        'the overlay agent (flanneld or weft vxland) writes subnet.env once it holds a subnet lease for the node')
    }
    const d = buildDelegate(conf, r.env)
    deps.delegate('STATUS', typeOf(d), args, Buffer.from(renderDelegate(d)))
  }

  function gc (args: CmdArgs): void {
    const conf = loadFlannelConf(args.conf)
    const valid = validContainerIds(args.conf)
    const errors: unknown[] = []
    // 1. the delegate's own resources (host-local reservations, bridge masquerade chains)
    const d = rebuiltDelegate(conf)
    for (const [k, v] of Object.entries(args.conf)) if (k.startsWith('cni.dev/')) d[k] = v
    try { deps.delegate('GC', typeOf(d), args, Buffer.from(renderDelegate(d))) } catch (e) { errors.push(e) }
    // 2. saved delegate configs of containers that are gone; another network's files (same dataDir) are left alone
    try {
      for (const id of listSaved(conf.dataDir)) {
        if (valid.has(id)) continue
        const s = readSaved(conf.dataDir, id)
        if (s.kind === 'ok' && s.conf.name !== conf.name) continue
        const failed = removeSaved(conf.dataDir, id)
        if (failed !== undefined) errors.push(new Error(failed))
      }
    } catch (e) { errors.push(e) }
    if (errors.length === 1) throw errors[0]
    if (errors.length > 1) {
      throw new CniError('CNI_ERR_INTERNAL', 'flannel: garbage collection failed', errors.map((e) => (e as Error).message).join('; '))
    }
  }

  return { add, del, check, status, gc }
}
