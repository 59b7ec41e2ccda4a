/**
 * Entry point of the weft/echo program as the kubelet starts it: the same
 * program as `weft image echo`, without loading the whole CLI (a third of the
 * start-up CPU, which matters when a node starts many pods at once).
 * argv: [--port N]
 */
import { runEcho } from './echo.js'

const i = process.argv.indexOf('--port')
const port = i >= 0 ? Number(process.argv[i + 1]) : 8080
runEcho({ port }).then(() => { process.exit(0) }, (e: unknown) => {
  process.stderr.write(`weft/echo: ${(e as Error).message}\n`)
  process.exit(1)
})
