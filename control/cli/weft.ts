/**
 * `weft`: one CLI, one subcommand per daemon or tool. Daemons arrive with
 * their issues; today it installs and inspects the CNI plugins and cleans up
 * after the netns harness.
 */
import { Command, InvalidArgumentError } from 'commander'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnSync } from 'node:child_process'
import { LinuxNetNS } from '../../kernel/index.js'
import { demo } from './demo.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const cniBin = path.join(root, 'bin', 'cni')
const pluginTypes = ['bridge', 'flannel', 'host-local', 'loopback', 'portmap']
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }

const program = new Command()
program.name('weft').description('Weft: Kubernetes networking toolkit').version(pkg.version)

const cni = program.command('cni').description('the CNI plugins (bridge, flannel, host-local, loopback, portmap)')

cni.command('install')
  .description('install the plugin binary and its per-type links into a CNI bin directory')
  .option('--dir <dir>', 'CNI bin directory', '/opt/cni/bin')
  .option('--types <list>', 'comma-separated plugin types to link', pluginTypes.join(','))
  .option('--force', 'replace existing plugins of the same names (e.g. the reference ones)', false)
  .action((opts: { dir: string, types: string, force: boolean }) => {
    const src = path.join(cniBin, 'weft-cni')
    if (!fs.existsSync(src)) fail(`${src} is missing: run \`npm run build\` first`)
    const types = opts.types.split(',').map((s) => s.trim()).filter((s) => s !== '')
    for (const t of types) if (!pluginTypes.includes(t)) fail(`unknown plugin type "${t}" (known: ${pluginTypes.join(', ')})`)
    fs.mkdirSync(opts.dir, { recursive: true })
    const clash = types.filter((t) => {
      try { return fs.realpathSync(path.join(opts.dir, t)) !== fs.realpathSync(path.join(opts.dir, 'weft-cni')) } catch { return fs.existsSync(path.join(opts.dir, t)) }
    })
    if (clash.length > 0 && !opts.force) fail(`${clash.map((t) => path.join(opts.dir, t)).join(', ')} already exist; pass --force to replace them`)
    // Copy to a temp name and rename, so a runtime exec'ing the plugin right now never sees half a file.
    const tmp = path.join(opts.dir, `.weft-cni.${process.pid}`)
    fs.copyFileSync(src, tmp)
    fs.chmodSync(tmp, 0o755)
    fs.renameSync(tmp, path.join(opts.dir, 'weft-cni'))
    for (const t of types) {
      const link = path.join(opts.dir, t)
      const tmpLink = `${link}.weft-new`
      try { fs.unlinkSync(tmpLink) } catch {}
      fs.symlinkSync('weft-cni', tmpLink)
      fs.renameSync(tmpLink, link)
    }
    process.stdout.write(`installed ${path.join(opts.dir, 'weft-cni')} as ${types.join(', ')}\n`)
  })

cni.command('version')
  .description('ask each built plugin for its supported CNI versions')
  .action(() => {
    for (const t of pluginTypes) {
      const r = spawnSync(path.join(cniBin, t), [], { env: { CNI_COMMAND: 'VERSION' }, input: '{"cniVersion":"1.1.0"}', encoding: 'utf8' })
      if (r.status !== 0) fail(`${t}: ${r.error?.message ?? r.stdout}`)
      const v = JSON.parse(r.stdout) as { supportedVersions: string[] }
      process.stdout.write(`${t.padEnd(11)} ${v.supportedVersions.join(' ')}\n`)
    }
  })

program.command('demo')
  .description('attach two pods in throwaway namespaces with the CNI plugins, show them talking, clean up')
  .option('--keep', 'keep the namespaces until Ctrl-C', false)
  .action(async (opts: { keep: boolean }) => {
    if (process.getuid?.() !== 0) fail('the demo creates network namespaces: run it as root')
    await demo({ cniBin, keep: opts.keep })
  })

const netns = program.command('netns').description('network namespaces')
netns.command('sweep')
  .description('remove namespaces left by Weft test harnesses and benchmarks (names starting with "wt")')
  .option('--prefix <p>', 'name prefix', 'wt')
  .action((opts: { prefix: string }) => {
    if (opts.prefix.length < 2) throw new InvalidArgumentError('prefix must be at least 2 characters')
    const ns = new LinuxNetNS()
    const gone = ns.list().filter((n) => n.startsWith(opts.prefix))
    for (const n of gone) ns.remove(n)
    process.stdout.write(gone.length === 0 ? 'nothing to remove\n' : `removed ${gone.join(', ')}\n`)
  })

function fail (msg: string): never {
  process.stderr.write(`weft: ${msg}\n`)
  process.exit(1)
}

program.parseAsync(process.argv).catch((err: unknown) => {
  fail(err instanceof Error ? err.message : String(err))
})
