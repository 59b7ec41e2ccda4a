import test from 'ava'
import * as crypto from 'node:crypto'
import * as fs from 'node:fs'
import * as https from 'node:https'
import * as os from 'node:os'
import * as path from 'node:path'
import type { AddressInfo } from 'node:net'
import { execFileSync } from 'node:child_process'
import { ensurePki, firstServiceIps, pkiPaths, wantedSans } from './pki.js'
import { AuthError } from './errors.js'

const DAY = 24 * 3600 * 1000
const OPENSSL = '/usr/bin/openssl'

function tmpDir (t: { teardown: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-pki-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

const mode = (p: string): number => fs.statSync(p).mode & 0o777
const openssl = (...args: string[]): string => execFileSync(OPENSSL, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

test('first start creates a CA and a serving certificate that openssl verifies, with every default SAN', async (t) => {
  const dir = tmpDir(t)
  const pki = await ensurePki(dir, { hosts: ['node-1.example', '192.0.2.10', '2001:DB8::10'], serviceCidr: '10.96.0.0/12,fd00:10:96::/108' })
  const p = pkiPaths(dir)
  t.deepEqual(pki.created, { ca: true, serving: true })
  t.is(pki.reissueReason, 'missing')
  t.is(fs.readFileSync(p.caCert, 'utf8'), pki.caCertPem)
  t.is(fs.readFileSync(p.cert, 'utf8'), pki.certPem)
  t.is(fs.readFileSync(p.key, 'utf8'), pki.keyPem)
  t.is(mode(p.caKey), 0o600)
  t.is(mode(p.key), 0o600)
  t.is(mode(p.dir), 0o700)
  t.deepEqual(fs.readdirSync(p.dir).sort(), ['apiserver.crt', 'apiserver.key', 'ca.crt', 'ca.key'], 'no temp files left behind')

  t.is(openssl('verify', '-CAfile', p.caCert, p.cert).trim(), `${p.cert}: OK`)
  const text = openssl('x509', '-in', p.cert, '-noout', '-text')
  const sanLine = text.split('\n').find((l) => l.includes('DNS:'))?.trim() ?? ''
  t.is(sanLine, [
    'DNS:localhost', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1', 'DNS:kubernetes', 'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc', 'DNS:kubernetes.default.svc.cluster.local', 'DNS:node-1.example',
    'IP Address:192.0.2.10', 'IP Address:2001:DB8:0:0:0:0:0:10', 'IP Address:10.96.0.1', 'IP Address:FD00:10:96:0:0:0:0:1'
  ].join(', '))
  t.regex(text, /TLS Web Server Authentication/)
  t.regex(text, /CA:FALSE/)
  t.regex(text, /ecdsa-with-SHA256/)
  const caText = openssl('x509', '-in', p.caCert, '-noout', '-text')
  t.regex(caText, /CA:TRUE/)
  t.regex(caText, /Certificate Sign/)

  const ca = new crypto.X509Certificate(pki.caCertPem)
  const cert = new crypto.X509Certificate(pki.certPem)
  const years = (c: crypto.X509Certificate): number => (Date.parse(c.validTo) - Date.now()) / (365 * DAY)
  t.true(years(ca) > 9.9 && years(ca) < 10.1, `CA valid ${years(ca)} years`)
  t.true(years(cert) > 0.99 && years(cert) < 1.01, `serving cert valid ${years(cert)} years`)
  t.true(Date.parse(cert.validFrom) <= Date.now())
})

test('a restart reuses both certificates unchanged', async (t) => {
  const dir = tmpDir(t)
  const first = await ensurePki(dir, { hosts: ['10.0.0.5'] })
  const again = await ensurePki(dir, { hosts: ['10.0.0.5'] })
  t.deepEqual(again.created, { ca: false, serving: false })
  t.is(again.reissueReason, undefined)
  t.is(again.caCertPem, first.caCertPem)
  t.is(again.certPem, first.certPem)
  t.is(again.keyPem, first.keyPem)
  // A subset of the SANs already present (and a differently written IPv6) is no reason to re-issue.
  const subset = await ensurePki(dir, { hosts: ['0:0:0:0:0:0:0:1'] })
  t.is(subset.certPem, first.certPem)
})

test('a newly requested SAN re-issues only the serving certificate', async (t) => {
  const dir = tmpDir(t)
  const first = await ensurePki(dir, { hosts: [] })
  const second = await ensurePki(dir, { hosts: ['weft-control.example'] })
  t.deepEqual(second.created, { ca: false, serving: true })
  t.is(second.reissueReason, 'san')
  t.is(second.caCertPem, first.caCertPem)
  t.is(fs.readFileSync(pkiPaths(dir).caKey, 'utf8').length > 0, true)
  t.not(second.keyPem, first.keyPem, 'a new key with the new certificate')
  t.true(new crypto.X509Certificate(second.certPem).checkHost('weft-control.example') !== undefined)
  t.is(openssl('verify', '-CAfile', pkiPaths(dir).caCert, pkiPaths(dir).cert).trim(), `${pkiPaths(dir).cert}: OK`)
})

test('the serving certificate is re-issued within 30 days of expiry, not before', async (t) => {
  const dir = tmpDir(t)
  const t0 = Date.now()
  const first = await ensurePki(dir, { hosts: [], now: () => new Date(t0) })
  const at300 = await ensurePki(dir, { hosts: [], now: () => new Date(t0 + 300 * DAY) })
  t.is(at300.certPem, first.certPem)
  const at340 = await ensurePki(dir, { hosts: [], now: () => new Date(t0 + 340 * DAY) })
  t.is(at340.reissueReason, 'expiring')
  t.is(at340.caCertPem, first.caCertPem)
  const renewed = new crypto.X509Certificate(at340.certPem)
  t.true(Date.parse(renewed.validTo) > t0 + 700 * DAY)
})

test('the serving certificate never outlives its CA', async (t) => {
  const dir = tmpDir(t)
  const t0 = Date.now()
  const first = await ensurePki(dir, { hosts: [], now: () => new Date(t0) })
  const late = await ensurePki(dir, { hosts: [], now: () => new Date(t0 + 3500 * DAY) })
  t.is(late.caCertPem, first.caCertPem)
  t.is(new crypto.X509Certificate(late.certPem).validTo, new crypto.X509Certificate(first.caCertPem).validTo)
})

test('an expired CA is refused with CTRL_ERR_AUTH_CA_EXPIRED and left in place', async (t) => {
  const dir = tmpDir(t)
  const first = await ensurePki(dir, { hosts: [] })
  const err = await t.throwsAsync(ensurePki(dir, { hosts: [], now: () => new Date(Date.now() + 3700 * DAY) }))
  t.true(err instanceof AuthError)
  t.is((err as AuthError).code, 'CTRL_ERR_AUTH_CA_EXPIRED')
  t.is(fs.readFileSync(pkiPaths(dir).caCert, 'utf8'), first.caCertPem)
})

test('a corrupt, half or mismatched CA is an error and is never overwritten', async (t) => {
  const dir = tmpDir(t)
  const p = pkiPaths(dir)
  await ensurePki(dir, { hosts: [] })
  const caKey = fs.readFileSync(p.caKey, 'utf8')

  fs.writeFileSync(p.caCert, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n')
  const corrupt = await t.throwsAsync(ensurePki(dir, { hosts: [] }))
  t.is((corrupt as AuthError).code, 'CTRL_ERR_AUTH_PKI_CORRUPT')
  t.is((corrupt as AuthError).path, p.caCert)
  t.regex(corrupt?.message ?? '', /ca\.crt is not a PEM certificate/)
  t.regex(fs.readFileSync(p.caCert, 'utf8'), /not base64 at all/)
  t.is(fs.readFileSync(p.caKey, 'utf8'), caKey)

  fs.rmSync(p.caCert)
  const half = await t.throwsAsync(ensurePki(dir, { hosts: [] }))
  t.is((half as AuthError).code, 'CTRL_ERR_AUTH_PKI_CORRUPT')
  t.regex(half?.message ?? '', /ca\.key exists but .*ca\.crt is missing; refusing to replace the CA/)
  t.is(fs.readFileSync(p.caKey, 'utf8'), caKey)

  // Another CA's certificate next to our key.
  const other = tmpDir(t)
  await ensurePki(other, { hosts: [] })
  fs.copyFileSync(pkiPaths(other).caCert, p.caCert)
  const mismatch = await t.throwsAsync(ensurePki(dir, { hosts: [] }))
  t.is((mismatch as AuthError).code, 'CTRL_ERR_AUTH_PKI_CORRUPT')
  t.regex(mismatch?.message ?? '', /does not belong to the certificate/)

  fs.writeFileSync(p.caKey, 'garbage')
  const badKey = await t.throwsAsync(ensurePki(dir, { hosts: [] }))
  t.is((badKey as AuthError).code, 'CTRL_ERR_AUTH_PKI_CORRUPT')
  t.is((badKey as AuthError).path, p.caKey)
})

test('an unreadable CA file is an error, not a reason to make a new CA', async (t) => {
  const dir = tmpDir(t)
  const p = pkiPaths(dir)
  await ensurePki(dir, { hosts: [] })
  const caCert = fs.readFileSync(p.caCert, 'utf8')
  // A directory where the key should be: unreadable even for root (EISDIR), unlike a chmod 000 file.
  fs.rmSync(p.caKey)
  fs.mkdirSync(p.caKey)
  const err = await t.throwsAsync(ensurePki(dir, { hosts: [] }))
  t.is((err as AuthError).code, 'CTRL_ERR_AUTH_PKI_CORRUPT')
  t.is((err as AuthError).path, p.caKey)
  t.regex(err?.message ?? '', /cannot read CA file .*ca\.key/)
  t.is(fs.readFileSync(p.caCert, 'utf8'), caCert)
  t.true(fs.statSync(p.caKey).isDirectory())
})

test('a serving pair that is half written or mismatched is re-issued; one that does not parse is an error', async (t) => {
  const dir = tmpDir(t)
  const p = pkiPaths(dir)
  const first = await ensurePki(dir, { hosts: [] })
  fs.rmSync(p.cert)
  const half = await ensurePki(dir, { hosts: [] })
  t.is(half.reissueReason, 'missing')
  t.is(half.caCertPem, first.caCertPem)

  fs.writeFileSync(p.key, first.keyPem) // the old key beside the new certificate
  const mismatch = await ensurePki(dir, { hosts: [] })
  t.is(mismatch.reissueReason, 'mismatch')

  fs.writeFileSync(p.cert, 'hello')
  const err = await t.throwsAsync(ensurePki(dir, { hosts: [] }))
  t.is((err as AuthError).code, 'CTRL_ERR_AUTH_PKI_CORRUPT')
  t.is(fs.readFileSync(p.cert, 'utf8'), 'hello')
})

test('a serving certificate from another CA is re-issued by ours', async (t) => {
  const dir = tmpDir(t)
  const other = tmpDir(t)
  await ensurePki(dir, { hosts: [] })
  await ensurePki(other, { hosts: [] })
  fs.copyFileSync(pkiPaths(other).cert, pkiPaths(dir).cert)
  fs.copyFileSync(pkiPaths(other).key, pkiPaths(dir).key)
  const again = await ensurePki(dir, { hosts: [] })
  t.is(again.reissueReason, 'other-ca')
  t.is(openssl('verify', '-CAfile', pkiPaths(dir).caCert, pkiPaths(dir).cert).trim(), `${pkiPaths(dir).cert}: OK`)
})

test('an operator-provided RSA 2048 CA is kept and signs the serving certificate', async (t) => {
  const dir = tmpDir(t)
  const p = pkiPaths(dir)
  fs.mkdirSync(p.dir, { recursive: true })
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p.caKey, '-out', p.caCert, '-days', '30',
    '-subj', '/CN=operator-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
  const caPem = fs.readFileSync(p.caCert, 'utf8')
  const pki = await ensurePki(dir, { hosts: [] })
  t.deepEqual(pki.created, { ca: false, serving: true })
  t.is(pki.caCertPem, caPem)
  t.is(openssl('verify', '-CAfile', p.caCert, p.cert).trim(), `${p.cert}: OK`)
  t.regex(openssl('x509', '-in', p.cert, '-noout', '-text'), /sha256WithRSAEncryption/)
  // 30-day CA: the serving certificate ends with it, and the next start does not loop re-issuing it.
  t.is(new crypto.X509Certificate(pki.certPem).validTo, new crypto.X509Certificate(caPem).validTo)
  const again = await ensurePki(dir, { hosts: [] })
  t.is(again.certPem, pki.certPem)
})

test('a leaf certificate in ca.crt is refused as a CA', async (t) => {
  const dir = tmpDir(t)
  const p = pkiPaths(dir)
  fs.mkdirSync(p.dir, { recursive: true })
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p.caKey, '-out', p.caCert,
    '-days', '30', '-subj', '/CN=leaf', '-addext', 'basicConstraints=critical,CA:FALSE')
  const err = await t.throwsAsync(ensurePki(dir, { hosts: [] }))
  t.is((err as AuthError).code, 'CTRL_ERR_AUTH_PKI_CORRUPT')
  t.regex(err?.message ?? '', /not a CA certificate/)
})

test('SAN list: defaults first, duplicates and case folded, invalid names refused', (t) => {
  t.deepEqual(wantedSans({ hosts: ['LOCALHOST', 'Node-1', '::0001', '10.0.0.1', 'my_host', 'fqdn.example.', 'FQDN.example'], serviceCidr: '10.0.0.0/24' }), [
    'localhost', '127.0.0.1', '::1', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local', 'node-1', '10.0.0.1', 'my_host', 'fqdn.example'
  ])
  for (const bad of ['', '.', 'has space', '-lead.example', 'a..b', 'a/b', `${'x'.repeat(64)}.example`]) {
    const err = t.throws(() => wantedSans({ hosts: [bad] }))
    t.is((err as AuthError).code, 'CTRL_ERR_AUTH_INVALID', bad)
  }
  t.deepEqual(firstServiceIps('10.96.0.0/12'), ['10.96.0.1'])
  t.deepEqual(firstServiceIps('10.96.3.7/12, fd00::/108'), ['10.96.0.1', 'fd00::1'])
  t.is((t.throws(() => firstServiceIps('10.96.0.0')) as AuthError).code, 'CTRL_ERR_AUTH_INVALID')
  t.is((t.throws(() => firstServiceIps('10.300.0.0/12')) as AuthError).code, 'CTRL_ERR_AUTH_INVALID')
})

async function handshake (pki: { certPem: string, keyPem: string }, connect: { host: string, servername?: string, ca?: string }):
Promise<string> {
  const server = https.createServer({ cert: pki.certPem, key: pki.keyPem }, (_req, res) => { res.end('ok') })
  await new Promise<void>((resolve) => server.listen(0, connect.host.includes(':') ? '::1' : '127.0.0.1', resolve))
  try {
    const port = (server.address() as AddressInfo).port
    return await new Promise<string>((resolve, reject) => {
      const req = https.request({
        host: connect.host, port, path: '/', ...(connect.ca !== undefined ? { ca: connect.ca } : {}),
        ...(connect.servername !== undefined ? { servername: connect.servername } : {})
      }, (res) => {
        let body = ''
        res.on('data', (c: Buffer) => { body += c.toString() })
        res.on('end', () => resolve(body))
      })
      req.on('error', reject)
      req.end()
    })
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
}

test('TLS handshake on loopback: a client trusting only the CA accepts every default name and rejects others', async (t) => {
  const dir = tmpDir(t)
  const pki = await ensurePki(dir, { hosts: ['weft.example'] })
  const ca = pki.caCertPem
  t.is(await handshake(pki, { host: '127.0.0.1', ca }), 'ok')
  t.is(await handshake(pki, { host: '::1', ca }), 'ok')
  t.is(await handshake(pki, { host: 'localhost', ca }), 'ok')
  for (const name of ['kubernetes', 'kubernetes.default.svc.cluster.local', 'weft.example']) {
    t.is(await handshake(pki, { host: '127.0.0.1', servername: name, ca }), 'ok', name)
  }
  const wrongName = await t.throwsAsync(handshake(pki, { host: '127.0.0.1', servername: 'evil.example', ca }))
  t.is((wrongName as NodeJS.ErrnoException).code, 'ERR_TLS_CERT_ALTNAME_INVALID')
  const untrusted = await t.throwsAsync(handshake(pki, { host: '127.0.0.1' }))
  t.is((untrusted as NodeJS.ErrnoException).code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  const otherCa = await ensurePki(tmpDir(t), { hosts: [] })
  const wrongCa = await t.throwsAsync(handshake(pki, { host: '127.0.0.1', ca: otherCa.caCertPem }))
  t.is((wrongCa as NodeJS.ErrnoException).code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
})

test('two starts racing on an empty data dir end up with one CA', async (t) => {
  const dir = tmpDir(t)
  const results = await Promise.all([1, 2, 3, 4].map(async () => await ensurePki(dir, { hosts: [] })))
  const firstCa = results[0]?.caCertPem ?? ''
  const cas = new Set(results.map((r) => r.caCertPem))
  t.is(cas.size, 1)
  t.is(results.filter((r) => r.created.ca).length, 1)
  t.is(fs.readFileSync(pkiPaths(dir).caCert, 'utf8'), firstCa)
  for (const r of results) {
    const cert = new crypto.X509Certificate(r.certPem)
    t.true(cert.verify(new crypto.X509Certificate(r.caCertPem).publicKey))
  }
  // Whatever pair the last writer left on disk, the next start serves a consistent one.
  const next = await ensurePki(dir, { hosts: [] })
  t.is(next.caCertPem, firstCa)
  t.is(openssl('verify', '-CAfile', pkiPaths(dir).caCert, pkiPaths(dir).cert).trim(), `${pkiPaths(dir).cert}: OK`)
  t.deepEqual(fs.readdirSync(pkiPaths(dir).dir).sort(), ['apiserver.crt', 'apiserver.key', 'ca.crt', 'ca.key'])
})

test('a CA key whose certificate is being written by another process is waited for, not replaced', async (t) => {
  const dir = tmpDir(t)
  const donor = tmpDir(t)
  const theirs = await ensurePki(donor, { hosts: [] })
  const p = pkiPaths(dir)
  fs.mkdirSync(p.dir, { recursive: true })
  fs.copyFileSync(pkiPaths(donor).caKey, p.caKey)
  setTimeout(() => fs.copyFileSync(pkiPaths(donor).caCert, p.caCert), 300)
  const mine = await ensurePki(dir, { hosts: [] })
  t.is(mine.caCertPem, theirs.caCertPem)
  t.false(mine.created.ca)
})

test('an operator CA with a key type Weft cannot sign with is a clear error', async (t) => {
  const dir = tmpDir(t)
  const p = pkiPaths(dir)
  fs.mkdirSync(p.dir, { recursive: true })
  openssl('req', '-x509', '-newkey', 'ed25519', '-nodes', '-keyout', p.caKey, '-out', p.caCert, '-days', '30',
    '-subj', '/CN=ed-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign')
  const err = await t.throwsAsync(ensurePki(dir, { hosts: [] }))
  t.is((err as AuthError).code, 'CTRL_ERR_AUTH_PKI_CORRUPT')
  t.regex(err?.message ?? '', /key type ed25519 cannot sign/)
})

test('a hostname with an underscore (os.hostname() may return one) is issued', async (t) => {
  const dir = tmpDir(t)
  await ensurePki(dir, { hosts: ['my_host', 'Box.Example.'] })
  const text = openssl('x509', '-in', pkiPaths(dir).cert, '-noout', '-ext', 'subjectAltName')
  t.regex(text, /DNS:my_host, DNS:box\.example\n/)
  t.is((await ensurePki(dir, { hosts: ['MY_HOST', 'box.example'] })).created.serving, false)
})
