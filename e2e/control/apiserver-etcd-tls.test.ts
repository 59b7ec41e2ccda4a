/**
 * `weft apiserver` on an etcd that serves clients over TLS and requires client certificates (etcd's
 * --client-cert-auth), as kube-apiserver reaches a production etcd: --etcd-cafile, --etcd-certfile, --etcd-keyfile.
 * The certificates are made here with openssl; etcd is the Debian etcd-server.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { execa } from 'execa'
import { pino } from 'pino'
import { startApiserver } from '../../control/apiserver/index.js'
import { repoRoot, startEtcd } from '../harness/index.js'

const OPENSSL = '/usr/bin/openssl'
const KUBECTL = '/usr/bin/kubectl'

interface Pki { dir: string, ca: string, server: { cert: string, key: string }, client: { cert: string, key: string }, stranger: { cert: string, key: string } }

/** A CA, etcd's serving certificate for 127.0.0.1, a client certificate from the CA, and one from another CA. */
async function pki (t: ExecutionContext): Promise<Pki> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-etcd-tls-'))
  t.teardown(() => { fs.rmSync(dir, { recursive: true, force: true }) })
  const f = (n: string): string => path.join(dir, n)
  const ossl = async (...args: string[]): Promise<void> => { await execa(OPENSSL, args, { cwd: dir }) }
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  for (const ca of ['ca', 'other-ca']) await ossl('req', '-x509', ...ec, '-keyout', f(`${ca}.key`), '-out', f(`${ca}.crt`), '-days', '2', '-subj', `/CN=${ca}`)
  const leaf = async (name: string, ca: string, ext: string): Promise<{ cert: string, key: string }> => {
    fs.writeFileSync(f(`${name}.ext`), ext)
    await ossl('req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${name}`)
    await ossl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f(`${ca}.crt`), '-CAkey', f(`${ca}.key`), '-CAcreateserial', '-out', f(`${name}.crt`), '-days', '2', '-extfile', f(`${name}.ext`))
    return { cert: f(`${name}.crt`), key: f(`${name}.key`) }
  }
  const server = await leaf('etcd', 'ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n')
  const client = await leaf('apiserver-etcd-client', 'ca', 'extendedKeyUsage=clientAuth\n')
  const stranger = await leaf('stranger', 'other-ca', 'extendedKeyUsage=clientAuth\n')
  return { dir, ca: f('ca.crt'), server, client, stranger }
}

test('[etcd] over TLS with client certificates: kubectl writes land in etcd; a wrong or missing client certificate, or https without a CA, is a clear start-up error', async (t) => {
  const p = await pki(t)
  const etcd = await startEtcd(t, { tls: { ca: p.ca, ...p.server, client: p.client } })
  t.regex(etcd.endpoint, /^https:\/\//)
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-api-tls-'))
  t.teardown(() => { fs.rmSync(dataDir, { recursive: true, force: true }) })
  const api = await startApiserver({
    securePort: 0, bindAddress: '127.0.0.1', dataDir, serviceClusterIpRange: '10.96.0.0/12', serviceNodePortRange: '30000-32767',
    etcdCompactionInterval: 0, logLevel: 'silent', etcdServers: etcd.endpoint, etcdCafile: p.ca, etcdCertfile: p.client.cert, etcdKeyfile: p.client.key
  }, pino({ level: 'silent' }))
  t.teardown(async () => { await api.stop() })
  const k = await execa(KUBECTL, ['--kubeconfig', api.kubeconfig, 'create', 'namespace', 'over-tls'], { reject: false })
  t.is(k.exitCode, 0, String(k.stderr))
  const keys = await etcd.etcdctl(['get', '--prefix', '/registry/namespaces/over-tls', '--keys-only'])
  t.regex(keys.stdout, /^\/registry\/namespaces\/over-tls$/m)

  // The binary, refused: each case exits non-zero before serving, saying why.
  const run = async (...extra: string[]): Promise<{ code: number, err: string }> => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-api-tls-bad-'))
    try {
      const r = await execa(path.join(repoRoot, 'bin', 'weft'), ['apiserver', '--data-dir', d, '--bind-address', '127.0.0.1', '--secure-port', '0',
        '--etcd-servers', etcd.endpoint, '--log-level', 'warn', ...extra], { reject: false, timeout: 60_000 })
      return { code: r.exitCode ?? -1, err: String(r.stderr) }
    } finally { fs.rmSync(d, { recursive: true, force: true }) }
  }
  const noCa = await run()
  t.not(noCa.code, 0)
  t.regex(noCa.err, /https:\/\/ etcd endpoint needs the CA of its certificate \(--etcd-cafile\)/)
  const noCert = await run('--etcd-cafile', p.ca)
  t.not(noCert.code, 0)
  t.regex(noCert.err, /CTRL_ERR_STORE_UNAVAILABLE.*bad certificate/, 'etcd refuses a client without a certificate')
  const stranger = await run('--etcd-cafile', p.ca, '--etcd-certfile', p.stranger.cert, '--etcd-keyfile', p.stranger.key)
  t.not(stranger.code, 0, 'a client certificate from another CA is refused by etcd')
  t.regex(stranger.err, /CTRL_ERR_STORE_UNAVAILABLE.*bad certificate/)
  const half = await run('--etcd-cafile', p.ca, '--etcd-certfile', p.client.cert)
  t.regex(half.err, /client certificate needs its key/)
})
