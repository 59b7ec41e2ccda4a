#!/usr/bin/env node
// Builds ./bin/cni/weft-cni (one Bun-compiled executable) and the per-type links
// bridge, flannel, host-local, loopback, portmap. Run after `tsc` (npm run build does both).
// --bytecode: JavaScriptCore bytecode is stored in the binary, so start-up skips
// parsing (measured: 26 ms -> 14 ms for VERSION; see docs/benchmarks.md).
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const out = path.join(root, 'bin', 'cni')
const bun = path.join(root, 'node_modules', 'bun', 'bin', 'bun.exe')
const types = ['bridge', 'flannel', 'host-local', 'loopback', 'portmap']

fs.mkdirSync(out, { recursive: true })
const tmp = path.join(out, `.weft-cni.${process.pid}.tmp`)
execFileSync(bun, ['build', path.join(root, 'dist', 'cni', 'main.js'), '--compile', '--bytecode', '--minify', '--outfile', tmp], { stdio: ['ignore', 'ignore', 'inherit'] })
// Rename over the old binary so a plugin running right now keeps its inode.
fs.renameSync(tmp, path.join(out, 'weft-cni'))
for (const t of types) {
  const link = path.join(out, t)
  try { fs.unlinkSync(link) } catch {}
  fs.symlinkSync('weft-cni', link)
}
console.log(`built ${path.relative(root, out)}/{weft-cni,${types.join(',')}}`)
