/**
 * `node dist/routing/bgp/main.js --config FILE [--log-level L]`: the daemon without the rest of the weft CLI (the
 * e2e tests and the benchmark start it this way; `weft bgpd` is the same call).
 */
import { runBgpd } from './cli.js'

const args = process.argv.slice(2)
const opt = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined }
const config = opt('--config')
if (config === undefined) {
  process.stderr.write('usage: main.js --config FILE [--log-level LEVEL]\n')
  process.exit(2)
}
try {
  await runBgpd({ config, logLevel: opt('--log-level') ?? 'info' })
  process.exit(0)
} catch (e) {
  const code = (e as { code?: string }).code
  process.stderr.write(`bgpd: ${code !== undefined ? `[${code}] ` : ''}${(e as Error).message}\n`)
  process.exit(1)
}
