/**
 * Delegating to another plugin (IPAM), as libcni's invoke package does: find
 * `<dir>/<type>` along CNI_PATH, run it with the caller's environment and
 * CNI_COMMAND replaced, the whole config on stdin, and read its result.
 *
 * When the executable found is this very multi-call binary (our bridge finding
 * our host-local), the delegate runs in-process through the same `dispatch`
 * an exec would reach: identical input, identical output, one process start
 * saved. If CNI_PATH leads to another implementation (the reference
 * host-local, say), it is exec'd like any other.
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { CniError } from './errors.js'
import { dispatch } from './skel.js'
import { parseResult } from './version.js'
import type { CmdArgs, Command, PluginFuncs, Result } from './types.js'

const inProcess = new Map<string, PluginFuncs>()
let selfExe: string | undefined

export function registerInProcess (type: string, funcs: PluginFuncs): void { inProcess.set(type, funcs) }

/** The real path of the executable whose plugin types are registered in-process. */
export function setSelfExecutable (p: string | undefined): void {
  selfExe = p === undefined ? undefined : safeRealpath(p)
}

function safeRealpath (p: string): string | undefined {
  try { return fs.realpathSync(p) } catch { return undefined }
}

export function findPlugin (type: string, paths: string[]): string {
  if (type === '' || type.includes('/') || type.includes('\\')) throw new CniError('CNI_ERR_INVALID_CONFIG', `invalid plugin name "${type}"`)
  for (const dir of paths) {
    const full = path.join(dir, type)
    try {
      if (fs.statSync(full).isFile()) return full
    } catch { /* next */ }
  }
  throw new CniError('CNI_ERR_PLUGIN_NOT_FOUND', `failed to find plugin "${type}" in path [${paths.join(' ')}]`)
}

function run (file: string, type: string, command: Command, args: CmdArgs, stdin: Buffer): { stdout: string, exitCode: number } {
  const env: Record<string, string | undefined> = { ...args.env, CNI_COMMAND: command }
  const funcs = inProcess.get(type)
  if (funcs !== undefined && selfExe !== undefined && env.WEFT_CNI_NO_INPROCESS !== '1' && safeRealpath(file) === selfExe) {
    return dispatch(funcs, { env, stdin, about: type })
  }
  const r = spawnSync(file, [], { input: stdin, env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'inherit'], maxBuffer: 16 << 20 })
  if (r.error !== undefined) throw new CniError('CNI_ERR_DELEGATE', `failed to run plugin "${type}"`, r.error.message)
  return { stdout: r.stdout.toString('utf8'), exitCode: r.status ?? 1 }
}

function delegateError (type: string, out: { stdout: string, exitCode: number }): CniError {
  try {
    const e = JSON.parse(out.stdout) as { code?: unknown, msg?: unknown, details?: unknown }
    if (typeof e.code === 'number' && typeof e.msg === 'string') {
      return new CniError('CNI_ERR_DELEGATE', e.msg, typeof e.details === 'string' ? e.details : '', { number: e.code })
    }
  } catch { /* not JSON */ }
  return new CniError('CNI_ERR_DELEGATE', `plugin "${type}" failed with exit code ${out.exitCode}`, out.stdout.trim())
}

/** Runs `command` on the delegate `type`; returns its result for ADD. Errors keep the delegate's own code. */
export function delegate (command: Command, type: string, args: CmdArgs, stdin: Buffer = args.stdin): Result | undefined {
  const file = findPlugin(type, args.path)
  const out = run(file, type, command, args, stdin)
  if (out.exitCode !== 0) throw delegateError(type, out)
  if (command !== 'ADD') return undefined
  let raw: unknown
  try {
    raw = JSON.parse(out.stdout)
  } catch (e) {
    throw new CniError('CNI_ERR_DECODE', `failed to decode result of plugin "${type}"`, (e as Error).message)
  }
  return parseResult(raw, args.conf.cniVersion)
}
