/**
 * `weft image echo`: the program of the built-in `weft/echo` image. An HTTP
 * server answering every request with the pod's name and IP (from the
 * environment the kubelet sets: WEFT_POD_NAME, WEFT_POD_IP), `/hostname` with
 * the name alone, `/healthz` with "ok". One log line per request on stdout.
 */
import * as http from 'node:http'

export interface EchoOptions { port: number, host?: string, env?: NodeJS.ProcessEnv }

export function echoBody (env: NodeJS.ProcessEnv, url: string): string {
  const name = env.WEFT_POD_NAME ?? env.HOSTNAME ?? 'unknown'
  const ip = env.WEFT_POD_IP ?? ''
  if (url === '/hostname') return `${name}\n`
  if (url === '/healthz') return 'ok\n'
  return `${name} ${ip}\n`
}

export async function runEcho (opts: EchoOptions): Promise<void> {
  const env = opts.env ?? process.env
  const server = http.createServer((req, res) => {
    const body = echoBody(env, req.url ?? '/')
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) })
    res.end(body)
    process.stdout.write(`${req.method ?? 'GET'} ${req.url ?? '/'} from ${req.socket.remoteAddress ?? '?'}\n`)
  })
  server.keepAliveTimeout = 1000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => { resolve() })
  })
  process.stdout.write(`weft/echo: ${env.WEFT_POD_NAME ?? '?'} listening on :${opts.port}\n`)
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.stdout.write('weft/echo: shutting down\n')
      server.close(() => { resolve() })
      server.closeAllConnections()
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
}
