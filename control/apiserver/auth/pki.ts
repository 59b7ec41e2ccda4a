/**
 * The API server's PKI: a CA made once per data dir and the serving certificate
 * it signs. kubectl sends its bearer token only over TLS, so this exists before
 * the listener does.
 *
 * Layout (kubeadm's names): <dataDir>/pki/ca.crt, ca.key, apiserver.crt,
 * apiserver.key; keys 0600, the directory 0700, every write atomic.
 * The CA is never replaced: if either of its files is present but the pair is
 * incomplete, unparseable or mismatched, ensurePki throws instead of minting a
 * new one (which would silently invalidate every kubeconfig out there). The
 * serving certificate is re-issued (new key too) when a wanted SAN is missing,
 * when it expires within 30 days, or when it was not signed by the current CA.
 */
import './reflect-shim.js'
import * as crypto from 'node:crypto'
import * as net from 'node:net'
import * as path from 'node:path'
import * as x509 from '@peculiar/x509'
import { Address4, Address6 } from 'ip-address'
import { AuthError } from './errors.js'
import { createFileExclusive, readIfExists, writeFileAtomic } from './files.js'

x509.cryptoProvider.set(crypto.webcrypto as unknown as Crypto)

/** The names kube-apiserver always puts in its serving certificate (plus loopback). */
export const DEFAULT_SANS: readonly string[] = [
  'localhost', '127.0.0.1', '::1',
  'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'
]

const DAY = 24 * 3600 * 1000
export const CA_VALIDITY_MS = 3650 * DAY
export const SERVING_VALIDITY_MS = 365 * DAY
/** A serving certificate this close to its notAfter is re-issued at start. */
export const RENEW_BEFORE_MS = 30 * DAY
/** notBefore is backdated this much so a peer with a slightly late clock accepts a fresh certificate. */
const BACKDATE_MS = 3600 * 1000

export interface PkiOptions {
  /** Extra DNS names and IP addresses for the serving certificate (node names, public IPs...). */
  hosts: string[]
  /** kube's --service-cluster-ip-range ("10.96.0.0/12" or a dual-stack "a/b,c/d"): the first IP of each range is added. */
  serviceCidr?: string
  /** Injected clock for tests. */
  now?: () => Date
}

export interface Pki {
  caCertPem: string
  certPem: string
  keyPem: string
  /** What this call created: nothing on a plain restart. */
  created: { ca: boolean, serving: boolean }
  /** Why the serving certificate was (re-)issued, when it was. */
  reissueReason?: 'missing' | 'mismatch' | 'san' | 'expiring' | 'other-ca'
  /** The SANs wanted (normalised: DNS names lower case, IPs in canonical form). */
  sans: string[]
  paths: { dir: string, caCert: string, caKey: string, cert: string, key: string }
}

export function pkiPaths (dataDir: string): Pki['paths'] {
  const dir = path.join(dataDir, 'pki')
  return {
    dir,
    caCert: path.join(dir, 'ca.crt'),
    caKey: path.join(dir, 'ca.key'),
    cert: path.join(dir, 'apiserver.crt'),
    key: path.join(dir, 'apiserver.key')
  }
}

/** Canonical text of a SAN: IPv6 compressed, IPv4 as is, DNS names lower case. */
export function normaliseSan (host: string): string {
  const h = host.trim()
  const v = net.isIP(h)
  if (v === 6) return new Address6(h).correctForm()
  if (v === 4) return h
  return h.toLowerCase().replace(/\.$/, '') // "example.com." is the same name
}

/** The first address of each range of a (possibly dual-stack, comma-separated) service CIDR: 10.96.0.0/12 ⇒ 10.96.0.1. */
export function firstServiceIps (serviceCidr: string): string[] {
  return serviceCidr.split(',').map((s) => s.trim()).filter((s) => s !== '').map((cidr) => {
    if (!cidr.includes('/')) throw new AuthError('CTRL_ERR_AUTH_INVALID', `service CIDR "${cidr}" has no prefix length`)
    try {
      if (cidr.includes(':')) return Address6.fromBigInt(new Address6(cidr).startAddress().bigInt() + 1n).correctForm()
      return Address4.fromBigInt(new Address4(cidr).startAddress().bigInt() + 1n).address
    } catch (err) {
      throw new AuthError('CTRL_ERR_AUTH_INVALID', `invalid service CIDR "${cidr}"`, { cause: err })
    }
  })
}

// Labels of letters, digits, '-' and '_' (Go's verifier accepts '_' in names, and
// os.hostname() may return one), not starting or ending with '-'.
const dnsName = /^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/

/** The SAN list the serving certificate must carry: defaults, then hosts, then service IPs, without duplicates. */
export function wantedSans (opts: Pick<PkiOptions, 'hosts' | 'serviceCidr'>): string[] {
  const out: string[] = []
  const add = (h: string): void => {
    const n = normaliseSan(h)
    if (n === '' || (net.isIP(n) === 0 && !dnsName.test(n))) {
      throw new AuthError('CTRL_ERR_AUTH_INVALID', `"${h}" is neither an IP address nor a DNS name`)
    }
    if (!out.includes(n)) out.push(n)
  }
  for (const h of DEFAULT_SANS) add(h)
  for (const h of opts.hosts) add(h)
  if (opts.serviceCidr !== undefined) for (const ip of firstServiceIps(opts.serviceCidr)) add(ip)
  return out
}

/** SANs of a certificate (normalised like wantedSans), read with node's parser. */
export function certificateSans (cert: crypto.X509Certificate): string[] {
  const text = cert.subjectAltName
  if (text === undefined) return []
  const out: string[] = []
  for (const part of text.split(', ')) {
    if (part.startsWith('DNS:')) out.push(normaliseSan(part.slice(4)))
    else if (part.startsWith('IP Address:')) out.push(normaliseSan(part.slice(11)))
  }
  return out
}

function randomSerial (): string {
  const b = crypto.randomBytes(16)
  b[0] = (b[0] as number) & 0x7f // positive INTEGER
  return b.toString('hex')
}

async function ecKeyPair (): Promise<CryptoKeyPair> {
  return await crypto.webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']) as CryptoKeyPair
}

async function privateKeyPem (key: CryptoKey): Promise<string> {
  const der = await crypto.webcrypto.subtle.exportKey('pkcs8', key)
  return x509.PemConverter.encode(der, 'PRIVATE KEY')
}

/** A node KeyObject as a webcrypto signing key plus the certificate signature algorithm to use with it. */
async function signerOf (key: crypto.KeyObject): Promise<{ key: CryptoKey, algorithm: Algorithm | EcdsaParams }> {
  const der = key.export({ type: 'pkcs8', format: 'der' })
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve
    const namedCurve = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : undefined
    if (namedCurve === undefined) throw unsupported(`EC curve ${String(curve)}`)
    const k = await crypto.webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve }, false, ['sign'])
    return { key: k, algorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams }
  }
  if (key.asymmetricKeyType === 'rsa') {
    const k = await crypto.webcrypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign'])
    return { key: k, algorithm: { name: 'RSASSA-PKCS1-v1_5' } }
  }
  throw unsupported(`key type ${String(key.asymmetricKeyType)}`)
}

const unsupported = (what: string): AuthError => new AuthError('CTRL_ERR_AUTH_PKI_CORRUPT',
  `the CA key's ${what} cannot sign the serving certificate here (ECDSA P-256/P-384/P-521 or RSA)`)

interface LoadedPair { cert: crypto.X509Certificate, key: crypto.KeyObject, certPem: string, keyPem: string }

/**
 * Reads a cert/key pair. Both absent ⇒ undefined; one absent ⇒ 'half'; key not
 * matching the certificate ⇒ 'mismatch' (what to do about those is the
 * caller's choice). Unreadable or unparseable ⇒ CTRL_ERR_AUTH_PKI_CORRUPT
 * naming the file.
 */
async function loadPair (certPath: string, keyPath: string, what: string): Promise<LoadedPair | 'half' | 'mismatch' | undefined> {
  const read = async (p: string): Promise<string | undefined> => {
    try {
      return await readIfExists(p)
    } catch (err) {
      throw new AuthError('CTRL_ERR_AUTH_PKI_CORRUPT', `cannot read ${what} file ${p}: ${(err as Error).message}`, { path: p, cause: err })
    }
  }
  const certPem = await read(certPath)
  const keyPem = await read(keyPath)
  if (certPem === undefined && keyPem === undefined) return undefined
  if (certPem === undefined || keyPem === undefined) return 'half'
  let cert: crypto.X509Certificate
  try {
    cert = new crypto.X509Certificate(certPem)
  } catch (err) {
    throw new AuthError('CTRL_ERR_AUTH_PKI_CORRUPT', `${what} certificate ${certPath} is not a PEM certificate: ${(err as Error).message}`, { path: certPath, cause: err })
  }
  let key: crypto.KeyObject
  try {
    key = crypto.createPrivateKey(keyPem)
  } catch (err) {
    throw new AuthError('CTRL_ERR_AUTH_PKI_CORRUPT', `${what} key ${keyPath} is not a PEM private key: ${(err as Error).message}`, { path: keyPath, cause: err })
  }
  const spki = (k: crypto.KeyObject): Buffer => k.export({ type: 'spki', format: 'der' })
  if (!spki(crypto.createPublicKey(key)).equals(spki(cert.publicKey))) return 'mismatch'
  return { cert, key, certPem, keyPem }
}

async function createCa (now: Date): Promise<{ certPem: string, keyPem: string }> {
  const keys = await ecKeyPair()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=weft-ca@${Math.floor(now.getTime() / 1000)}`,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + CA_VALIDITY_MS),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)
    ]
  })
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) }
}

async function createServing (ca: LoadedPair, sans: string[], now: Date): Promise<{ certPem: string, keyPem: string }> {
  const keys = await ecKeyPair()
  const signer = await signerOf(ca.key)
  const caCert = new x509.X509Certificate(ca.certPem)
  const notAfter = Math.min(now.getTime() + SERVING_VALIDITY_MS, new Date(ca.cert.validTo).getTime())
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: 'CN=kube-apiserver',
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(notAfter),
    signingAlgorithm: signer.algorithm,
    publicKey: keys.publicKey,
    signingKey: signer.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(sans.map((s) => ({ type: net.isIP(s) !== 0 ? 'ip' as const : 'dns' as const, value: s }))),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert)
    ]
  })
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) }
}

/** Why a serving certificate has to be re-issued, or undefined when it is fine. */
export function servingCertProblem (cert: crypto.X509Certificate, ca: crypto.X509Certificate, sans: string[], now: Date):
Pki['reissueReason'] {
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'other-ca'
  const have = new Set(certificateSans(cert))
  if (sans.some((s) => !have.has(s))) return 'san'
  // Near its end, unless it already ends with the CA: a new one could not last longer.
  const end = new Date(cert.validTo).getTime()
  if (end - now.getTime() < RENEW_BEFORE_MS && end < new Date(ca.validTo).getTime()) return 'expiring'
  return undefined
}

/** The CA pair, undefined when neither file exists, 'half' when one does; a mismatch is CTRL_ERR_AUTH_PKI_CORRUPT. */
async function loadCa (paths: Pki['paths']): Promise<LoadedPair | 'half' | undefined> {
  const ca = await loadPair(paths.caCert, paths.caKey, 'CA')
  if (ca === 'mismatch') {
    throw new AuthError('CTRL_ERR_AUTH_PKI_CORRUPT', `the CA key ${paths.caKey} does not belong to the certificate ${paths.caCert}; refusing to replace the CA`, { path: paths.caKey })
  }
  return ca
}

/** How long a start waits for another process to finish writing the CA pair. */
const HALF_CA_WAIT_MS = 3000

/**
 * One CA file without the other: either another process is between its two
 * writes (wait a little for the pair), or a crash or a person left it so
 * (CTRL_ERR_AUTH_PKI_CORRUPT: never paired with a new file).
 */
async function halfCa (paths: Pki['paths']): Promise<LoadedPair> {
  for (let waited = 0; waited < HALF_CA_WAIT_MS; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    const ca = await loadCa(paths)
    if (ca !== 'half' && ca !== undefined) return ca
  }
  const [present, missing] = await readIfExists(paths.caCert) === undefined ? [paths.caKey, paths.caCert] : [paths.caCert, paths.caKey]
  throw new AuthError('CTRL_ERR_AUTH_PKI_CORRUPT',
    `${present} exists but ${missing} is missing; refusing to replace the CA (restore the file, or remove both to generate a new CA)`,
    { path: missing })
}

/**
 * Makes sure <dataDir>/pki holds a CA and a serving certificate for `hosts`, and
 * returns their PEMs. See the file comment for what is created, reused,
 * re-issued or refused. Throws AuthError: CTRL_ERR_AUTH_PKI_CORRUPT,
 * CTRL_ERR_AUTH_CA_EXPIRED, CTRL_ERR_AUTH_IO, CTRL_ERR_AUTH_INVALID.
 */
export async function ensurePki (dataDir: string, opts: PkiOptions): Promise<Pki> {
  const now = (opts.now ?? (() => new Date()))()
  const sans = wantedSans(opts)
  const paths = pkiPaths(dataDir)

  let ca = await loadCa(paths)
  let createdCa = false
  if (ca === 'half') ca = await halfCa(paths)
  if (ca === undefined) {
    const fresh = await createCa(now)
    // Key first, and neither file ever replaced (hard link, not rename): if
    // another process creates the CA at the same moment, exactly one key lands
    // and the other process waits for the matching certificate and uses it.
    // A crash between the two leaves a key without a certificate, reported by
    // the next start rather than paired with a different CA.
    if (await createFileExclusive(paths.caKey, fresh.keyPem, 0o600)) {
      if (!await createFileExclusive(paths.caCert, fresh.certPem, 0o644)) {
        throw new AuthError('CTRL_ERR_AUTH_PKI_CORRUPT', `${paths.caCert} appeared while this process was creating the CA; refusing to mix two CAs`, { path: paths.caCert })
      }
      ca = { cert: new crypto.X509Certificate(fresh.certPem), key: crypto.createPrivateKey(fresh.keyPem), ...fresh }
      createdCa = true
    } else {
      const theirs = await loadCa(paths)
      ca = theirs === 'half' ? await halfCa(paths) : theirs
      if (ca === undefined) throw new AuthError('CTRL_ERR_AUTH_PKI_CORRUPT', `${paths.caKey} vanished while the CA was being created`, { path: paths.caKey })
    }
  }
  if (!ca.cert.ca) {
    throw new AuthError('CTRL_ERR_AUTH_PKI_CORRUPT', `${paths.caCert} is not a CA certificate (basicConstraints CA:FALSE)`, { path: paths.caCert })
  }
  if (new Date(ca.cert.validTo).getTime() <= now.getTime() || new Date(ca.cert.validFrom).getTime() > now.getTime()) {
    throw new AuthError('CTRL_ERR_AUTH_CA_EXPIRED',
      `the CA certificate ${paths.caCert} is valid from ${ca.cert.validFrom} to ${ca.cert.validTo}; replace the CA (and redistribute kubeconfigs) by removing ${paths.dir}`,
      { path: paths.caCert })
  }

  // The serving pair is derived from the CA and the options: absent, half-written
  // (a crash between its two renames) or mismatched ⇒ simply issued again.
  // Content that does not parse is still an error: something else wrote there.
  const serving = await loadPair(paths.cert, paths.key, 'serving certificate')
  const reason = serving === undefined || serving === 'half'
    ? 'missing'
    : serving === 'mismatch' ? 'mismatch' : servingCertProblem(serving.cert, ca.cert, sans, now)
  if (reason === undefined && typeof serving === 'object') {
    return { caCertPem: ca.certPem, certPem: serving.certPem, keyPem: serving.keyPem, created: { ca: createdCa, serving: false }, sans, paths }
  }
  const fresh = await createServing(ca, sans, now)
  // Key before certificate, as for the CA; a crash in between leaves a mismatched
  // pair, re-issued by the next start.
  await writeFileAtomic(paths.key, fresh.keyPem, 0o600)
  await writeFileAtomic(paths.cert, fresh.certPem, 0o644)
  const out: Pki = { caCertPem: ca.certPem, certPem: fresh.certPem, keyPem: fresh.keyPem, created: { ca: createdCa, serving: true }, sans, paths }
  if (reason !== undefined) out.reissueReason = reason
  return out
}
