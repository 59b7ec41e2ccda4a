/**
 * The CNI execution protocol: CNI_* environment and stdin in, a result or an
 * error as JSON on stdout out. `dispatch` is pure with respect to process
 * state (it takes env and stdin, returns stdout and exit code) so that a
 * delegating plugin can run a Weft delegate in-process with exactly the
 * behaviour of exec'ing it (see invoke.ts).
 */
import { CniError } from './errors.js'
import { compareVersions, convertResult, currentVersion, isSupported, parseResult, supportedVersions } from './version.js'
import type { CmdArgs, Command, NetConf, PluginFuncs } from './types.js'

export interface Outcome {
  stdout: string
  exitCode: number
}

const commands: readonly Command[] = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION']
const nameRe = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

/** Go's PrettyPrint: four-space indented JSON, no trailing newline. */
function pretty (v: unknown): string {
  return JSON.stringify(v, null, 4)
}

export function errorOutcome (err: unknown, version: string): Outcome {
  const e = err instanceof CniError
    ? err
    : new CniError('CNI_ERR_INTERNAL', err instanceof Error ? err.message : String(err), err instanceof Error && err.cause !== undefined ? String(err.cause) : '')
  const body: Record<string, unknown> = { cniVersion: version, code: e.number, msg: e.message }
  if (e.details !== '') body.details = e.details
  return { stdout: pretty(body), exitCode: 1 }
}

function validateIfName (name: string): string | undefined {
  if (name === '') return 'interface name is empty'
  if (name.length > 15) return `interface name is too long: "${name}" is longer than 15 characters`
  if (name === '.' || name === '..') return `interface name is . or ..: "${name}"`
  if (/[\s/:]/.test(name)) return `interface name contains / or : or whitespace characters: "${name}"`
  return undefined
}

/** Parses and validates stdin into a NetConf (without the per-plugin checks). */
export function decodeConf (stdin: Buffer): NetConf {
  let raw: unknown
  try {
    raw = JSON.parse(stdin.toString('utf8'))
  } catch (e) {
    throw new CniError('CNI_ERR_DECODE', 'error decoding network configuration', (e as Error).message)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CniError('CNI_ERR_DECODE', 'error decoding network configuration', 'configuration is not a JSON object')
  const conf = raw as Record<string, unknown>
  if (conf.cniVersion === undefined || conf.cniVersion === '') conf.cniVersion = '0.1.0'
  if (typeof conf.cniVersion !== 'string') throw new CniError('CNI_ERR_DECODE', 'error decoding network configuration', 'cniVersion must be a string')
  return conf as NetConf
}

export interface DispatchInput {
  env: Record<string, string | undefined>
  stdin: Buffer
  about: string
  /** Set when the namespace at a path is the plugin's own (the code-8 guard). */
  isOwnNetns?: (path: string) => boolean
}

/** Runs one CNI command. Never throws: every failure becomes error JSON and exit 1. */
export function dispatch (funcs: PluginFuncs, input: DispatchInput): Outcome {
  const env = input.env
  let version = currentVersion
  try {
    const cmd = env.CNI_COMMAND
    if (cmd === undefined || cmd === '') {
      throw new CniError('CNI_ERR_INVALID_ENV', 'required env variables [CNI_COMMAND] missing')
    }
    if (!(commands as readonly string[]).includes(cmd)) {
      throw new CniError('CNI_ERR_INVALID_ENV', `unknown CNI_COMMAND: ${cmd}`)
    }
    const command = cmd as Command
    if (command === 'VERSION') {
      let asked = currentVersion
      try {
        const v = JSON.parse(input.stdin.toString('utf8') || '{}') as { cniVersion?: unknown }
        if (typeof v.cniVersion === 'string' && v.cniVersion !== '') asked = v.cniVersion
      } catch { /* stdin is ignored on VERSION, as the Go skel does */ }
      return { stdout: pretty({ cniVersion: asked, supportedVersions }), exitCode: 0 }
    }

    // Environment checks come before the config, so a broken runtime gets code 4 first.
    const missing: string[] = []
    const needs = (name: string, cmds: Command[]): string => {
      const v = env[name] ?? ''
      if (cmds.includes(command) && v === '') missing.push(name)
      return v
    }
    const containerId = needs('CNI_CONTAINERID', ['ADD', 'DEL', 'CHECK'])
    const netns = needs('CNI_NETNS', ['ADD', 'CHECK'])
    const ifName = needs('CNI_IFNAME', ['ADD', 'DEL', 'CHECK'])
    const pathVar = needs('CNI_PATH', ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS'])
    if (missing.length > 0) throw new CniError('CNI_ERR_INVALID_ENV', `required env variables [${missing.join(',')}] missing`)
    if (containerId !== '' && !nameRe.test(containerId)) {
      throw new CniError('CNI_ERR_INVALID_ENV', 'invalid characters in containerID', containerId)
    }
    if (['ADD', 'DEL', 'CHECK'].includes(command)) {
      const bad = validateIfName(ifName)
      if (bad !== undefined) throw new CniError('CNI_ERR_INVALID_ENV', 'invalid CNI_IFNAME', bad)
    }

    const conf = decodeConf(input.stdin)
    version = conf.cniVersion
    if (!isSupported(conf.cniVersion)) {
      throw new CniError('CNI_ERR_INCOMPATIBLE_VERSION', 'incompatible CNI versions', `config is "${conf.cniVersion}", plugin supports [${supportedVersions.join(' ')}]`)
    }
    if (typeof conf.name !== 'string' || !nameRe.test(conf.name)) {
      throw new CniError('CNI_ERR_INVALID_CONFIG', typeof conf.name !== 'string' || conf.name === '' ? 'missing network name' : `invalid network name "${conf.name}"`)
    }
    if (command === 'CHECK' && compareVersions(conf.cniVersion, '0.4.0') < 0) {
      throw new CniError('CNI_ERR_INCOMPATIBLE_VERSION', 'config version does not allow CHECK', `config is "${conf.cniVersion}", CHECK needs 0.4.0 or later`)
    }
    if ((command === 'GC' || command === 'STATUS') && compareVersions(conf.cniVersion, '1.1.0') < 0) {
      throw new CniError('CNI_ERR_INCOMPATIBLE_VERSION', `config version does not allow ${command}`, `config is "${conf.cniVersion}", ${command} needs 1.1.0 or later`)
    }
    if (conf.prevResult !== undefined && conf.prevResult !== null) {
      conf.prevResult = parseResult(conf.prevResult, conf.cniVersion)
    } else {
      delete conf.prevResult
    }
    // The code-8 guard, before acting (the Go skel checks after, by which time
    // a loopback DEL may already have taken the host's lo down: plugins#714).
    const override = env.CNI_NETNS_OVERRIDE
    if (netns !== '' && (command === 'ADD' || command === 'DEL') && override !== '1' && override !== 'true' && input.isOwnNetns?.(netns) === true) {
      throw new CniError('CNI_ERR_INVALID_NETNS', "plugin's netns and netns from CNI_NETNS should not be the same")
    }

    const args: CmdArgs = {
      command,
      containerId,
      netns,
      ifName,
      args: env.CNI_ARGS ?? '',
      path: pathVar.split(':').filter((p) => p !== ''),
      stdin: input.stdin,
      conf,
      env
    }
    switch (command) {
      case 'ADD': {
        const result = funcs.add(args)
        return { stdout: pretty(convertResult(result, conf.cniVersion)), exitCode: 0 }
      }
      case 'DEL': funcs.del(args); return { stdout: '', exitCode: 0 }
      case 'CHECK': funcs.check(args); return { stdout: '', exitCode: 0 }
      case 'STATUS': funcs.status?.(args); return { stdout: '', exitCode: 0 }
      case 'GC': funcs.gc?.(args); return { stdout: '', exitCode: 0 }
    }
  } catch (err) {
    return errorOutcome(err, version)
  }
}

/** Parses CNI_ARGS ('K=V;K2=V2'). Unknown keys are an error unless IgnoreUnknown is set, as in Go's types.LoadArgs. */
export function parseCniArgs (raw: string, known: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  if (raw === '') return out
  const pairs = raw.split(';').filter((p) => p !== '')
  for (const p of pairs) {
    const eq = p.indexOf('=')
    if (eq <= 0) throw new CniError('CNI_ERR_INVALID_ENV', `ARGS: invalid pair "${p}"`)
    out[p.slice(0, eq)] = p.slice(eq + 1)
  }
  const ignore = ['1', 'true'].includes((out.IgnoreUnknown ?? '').toLowerCase())
  if (!ignore) {
    for (const k of Object.keys(out)) {
      if (k !== 'IgnoreUnknown' && !known.includes(k)) throw new CniError('CNI_ERR_INVALID_ENV', `ARGS: unknown args ["${k}"]`)
    }
  }
  return out
}
