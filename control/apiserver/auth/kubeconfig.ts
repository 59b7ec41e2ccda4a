/**
 * kubeconfig files: written for kubectl (admin, nodes) and read by Weft's own
 * clients (kubelet, proxy, controllers) the way client-go's clientcmd reads
 * them, for the subset Weft uses: one context chosen by current-context (or by
 * name), its cluster (server, certificate-authority[-data],
 * insecure-skip-tls-verify, tls-server-name) and its user (token, tokenFile,
 * client-certificate[-data], client-key[-data]). Relative file paths are
 * resolved against the kubeconfig's directory, as clientcmd does.
 */
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import YAML from 'yaml'
import { AuthError } from './errors.js'
import { writeFileAtomic } from './files.js'

export interface KubeconfigInit {
  /** https://host:port */
  server: string
  caCertPem: string
  token: string
  /** Name of the user entry (e.g. "admin", "system:node:n1"). */
  user: string
  /** Name of the cluster entry (e.g. "weft"). */
  cluster: string
  /** The context's default namespace. */
  namespace?: string
}

/** The context name writeKubeconfig uses, as kubeadm does ("kubernetes-admin@kubernetes"). */
export const contextName = (init: Pick<KubeconfigInit, 'user' | 'cluster'>): string => `${init.user}@${init.cluster}`

/** The kubeconfig text for `init` (YAML, client-go's key names and layout). */
export function renderKubeconfig (init: KubeconfigInit): string {
  if (!/^https:\/\//.test(init.server)) {
    // kubectl drops bearer tokens over plain http (control-plane reference §1.11).
    throw new AuthError('CTRL_ERR_AUTH_INVALID', `kubeconfig server must be an https:// URL, got ${JSON.stringify(init.server)}`)
  }
  if (!init.caCertPem.includes('-----BEGIN CERTIFICATE-----')) throw new AuthError('CTRL_ERR_AUTH_INVALID', 'caCertPem is not a PEM certificate')
  if (init.token === '' || /\s/.test(init.token)) throw new AuthError('CTRL_ERR_AUTH_INVALID', 'token must be non-empty and without whitespace')
  const ctx = contextName(init)
  // Keys in the order kubectl writes them (alphabetical).
  const doc = {
    apiVersion: 'v1',
    clusters: [{ cluster: { 'certificate-authority-data': Buffer.from(init.caCertPem, 'utf8').toString('base64'), server: init.server }, name: init.cluster }],
    contexts: [{ context: { cluster: init.cluster, ...(init.namespace !== undefined ? { namespace: init.namespace } : {}), user: init.user }, name: ctx }],
    'current-context': ctx,
    kind: 'Config',
    preferences: {},
    users: [{ name: init.user, user: { token: init.token } }]
  }
  return YAML.stringify(doc, { lineWidth: 0 })
}

/** Writes the kubeconfig atomically, mode 0600 (it holds a bearer token). */
export async function writeKubeconfig (file: string, init: KubeconfigInit): Promise<void> {
  await writeFileAtomic(file, renderKubeconfig(init), 0o600)
}

export interface ClientConfig {
  server: string
  /** The CA to trust (from certificate-authority-data or the certificate-authority file). */
  caCertPem?: string
  /** The bearer token (tokenFile wins over token, as in client-go). */
  token?: string
  clientCertPem?: string
  clientKeyPem?: string
  /** tls-server-name: the name to check the serving certificate against instead of the URL's host. */
  tlsServerName?: string
  insecureSkipTlsVerify: boolean
  /** The context's namespace, "default" when unset. */
  namespace: string
  /** The context used. */
  context: string
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** KUBECONFIG's first entry, else ~/.kube/config (the file kubectl would write to). */
export function defaultKubeconfigPath (env: NodeJS.ProcessEnv = process.env): string {
  const first = (env.KUBECONFIG ?? '').split(path.delimiter).find((p) => p !== '')
  return first ?? path.join(os.homedir(), '.kube', 'config')
}

/**
 * Reads a kubeconfig for Weft's clients. `opts.context` overrides
 * current-context. Throws CTRL_ERR_AUTH_KUBECONFIG naming what is wrong
 * (unreadable, not YAML, no such context/cluster/user, no server, a CA file
 * or token file that cannot be read, a CA together with insecure-skip-tls-verify,
 * or a user that only has exec/auth-provider credentials).
 */
export async function readKubeconfig (file: string, opts: { context?: string } = {}): Promise<ClientConfig> {
  const fail = (msg: string, cause?: unknown): never => {
    throw new AuthError('CTRL_ERR_AUTH_KUBECONFIG', `kubeconfig ${file}: ${msg}`, { path: file, ...(cause !== undefined ? { cause } : {}) })
  }
  let text = ''
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    fail(`cannot read: ${(err as Error).message}`, err)
  }
  let doc: unknown
  try {
    doc = YAML.parse(text)
  } catch (err) {
    fail(`not valid YAML: ${(err as Error).message}`, err)
  }
  if (!isObj(doc)) return fail('not a kubeconfig (expected a mapping)')
  const dir = path.dirname(path.resolve(file))
  const resolve = (p: string): string => path.isAbsolute(p) ? p : path.join(dir, p)
  const str = (o: Obj, k: string): string | undefined => {
    const v = o[k]
    if (v === undefined || v === null || v === '') return undefined
    if (typeof v !== 'string') return fail(`${k} must be a string`)
    return v
  }
  const named = (list: string, name: string, key: string): Obj => {
    const entries = doc[list] ?? []
    if (!Array.isArray(entries)) return fail(`${list} must be a list`)
    const e: unknown = entries.find((x: unknown) => isObj(x) && x.name === name)
    if (e === undefined) return fail(`${key} ${JSON.stringify(name)} not found in ${list}`)
    const body = (e as Obj)[key]
    return isObj(body) ? body : {}
  }
  const readPem = async (p: string, what: string): Promise<string> => {
    try {
      return await fs.readFile(resolve(p), 'utf8')
    } catch (err) {
      return fail(`cannot read ${what} ${resolve(p)}: ${(err as Error).message}`, err)
    }
  }
  const fromData = (data: string, what: string): string => {
    const pem = Buffer.from(data, 'base64').toString('utf8')
    if (!pem.includes('-----BEGIN ')) fail(`${what} is not base64 of a PEM block`)
    return pem
  }

  const ctxName = opts.context ?? str(doc, 'current-context')
  if (ctxName === undefined) return fail('current-context is not set')
  const ctx = named('contexts', ctxName, 'context')
  const clusterName = str(ctx, 'cluster')
  if (clusterName === undefined) return fail(`context ${JSON.stringify(ctxName)} has no cluster`)
  const cluster = named('clusters', clusterName, 'cluster')
  const userName = str(ctx, 'user')
  const user = userName === undefined ? {} : named('users', userName, 'user')

  const server = str(cluster, 'server')
  if (server === undefined) return fail(`cluster ${JSON.stringify(clusterName)} has no server`)
  try {
    const u = new URL(server)
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error(`scheme ${u.protocol}`)
  } catch (err) {
    fail(`cluster ${JSON.stringify(clusterName)} has an invalid server ${JSON.stringify(server)}`, err)
  }
  const insecure = cluster['insecure-skip-tls-verify'] === true || cluster['insecure-skip-tls-verify'] === 'true'

  const out: ClientConfig = { server, insecureSkipTlsVerify: insecure, namespace: str(ctx, 'namespace') ?? 'default', context: ctxName }
  const caData = str(cluster, 'certificate-authority-data')
  const caFile = str(cluster, 'certificate-authority')
  if (caData !== undefined) out.caCertPem = fromData(caData, 'certificate-authority-data')
  else if (caFile !== undefined) out.caCertPem = await readPem(caFile, 'certificate-authority')
  if (insecure && out.caCertPem !== undefined) {
    // client-go refuses this combination too.
    fail('specifying a root certificates file with the insecure flag is not allowed')
  }
  const serverName = str(cluster, 'tls-server-name')
  if (serverName !== undefined) out.tlsServerName = serverName

  const tokenFile = str(user, 'tokenFile')
  const token = str(user, 'token')
  if (tokenFile !== undefined) {
    const t = (await readPem(tokenFile, 'tokenFile')).trim()
    if (t === '') fail(`tokenFile ${resolve(tokenFile)} is empty`)
    out.token = t
  } else if (token !== undefined) {
    out.token = token
  }
  const certData = str(user, 'client-certificate-data')
  const certFile = str(user, 'client-certificate')
  const keyData = str(user, 'client-key-data')
  const keyFile = str(user, 'client-key')
  if (certData !== undefined) out.clientCertPem = fromData(certData, 'client-certificate-data')
  else if (certFile !== undefined) out.clientCertPem = await readPem(certFile, 'client-certificate')
  if (keyData !== undefined) out.clientKeyPem = fromData(keyData, 'client-key-data')
  else if (keyFile !== undefined) out.clientKeyPem = await readPem(keyFile, 'client-key')
  if ((out.clientCertPem === undefined) !== (out.clientKeyPem === undefined)) {
    fail(`user ${JSON.stringify(userName)} has a client certificate without its key or the other way round`)
  }
  if (out.token === undefined && out.clientCertPem === undefined && (user.exec !== undefined || user['auth-provider'] !== undefined)) {
    fail(`user ${JSON.stringify(userName)} uses exec or auth-provider credentials, which Weft's clients do not support`)
  }
  return out
}
