/**
 * The multi-call CNI executable. `./bin/cni/<type>` are links to one binary;
 * the name it was started under picks the plugin, as CNI runtimes exec
 * `<dir>/<type>`.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { dispatch, registerInProcess, setSelfExecutable } from './skel/index.js'
import type { PluginFuncs } from './skel/index.js'
import { LinuxNetNS } from '../kernel/index.js'
import { bridge } from './bridge/index.js'
import { flannel } from './flannel/index.js'
import { hostLocal } from './host-local/index.js'
import { loopback } from './loopback/index.js'
import { portmap } from './portmap/index.js'

export const plugins: Record<string, PluginFuncs> = {
  bridge,
  flannel,
  'host-local': hostLocal,
  loopback,
  portmap
}

function pluginName (): string | undefined {
  for (const cand of [process.argv0, process.argv[1], process.env.WEFT_CNI_PLUGIN]) {
    if (cand === undefined) continue
    const base = path.basename(cand)
    if (plugins[base] !== undefined) return base
  }
  return undefined
}

function main (): void {
  const name = pluginName()
  if (name === undefined) {
    process.stderr.write(`weft-cni: run me as one of: ${Object.keys(plugins).join(', ')} (a link named after the CNI type)\n`)
    process.exit(2)
  }
  const funcs = plugins[name] as PluginFuncs
  if ((process.env.CNI_COMMAND ?? '') === '') {
    // Like the Go skel: an "about" line on stderr and exit 0 when run by hand.
    process.stderr.write(`Weft CNI plugin ${name}\nCNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n`)
    process.exit(0)
  }
  for (const [type, f] of Object.entries(plugins)) registerInProcess(type, f)
  // Under a compiled binary execPath is the binary itself; under `node main.js` nothing runs in-process.
  setSelfExecutable(path.basename(process.execPath) === 'node' ? undefined : process.execPath)
  let stdin: Buffer
  try {
    stdin = fs.readFileSync(0)
  } catch (e) {
    if (process.env.CNI_COMMAND === 'VERSION') {
      stdin = Buffer.alloc(0) // stdin is optional for VERSION
    } else {
      process.stdout.write(JSON.stringify({ code: 5, msg: 'error reading from stdin', details: (e as Error).message }, null, 4) + '\n')
      process.exit(1)
    }
  }
  const ns = new LinuxNetNS()
  const out = dispatch(funcs, { env: process.env, stdin, about: name, isOwnNetns: (p) => ns.isCurrent(p) })
  fs.writeSync(1, out.stdout)
  process.exit(out.exitCode)
}

main()
