/**
 * Static bearer tokens in kube-apiserver's --token-auth-file format
 * (staging/src/k8s.io/apiserver/pkg/authentication/token/tokenfile), read with
 * the same CSV dialect (csv.ts) and the same rules:
 *
 *   token,user,uid[,"group1,group2"[,ignored...]]
 *
 * - fewer than 3 columns ⇒ the whole file is refused (upstream's message);
 * - an empty token ⇒ warning, record skipped; a duplicate token ⇒ warning, the later record wins;
 * - the 4th column is split on "," (so an empty 4th column is one group ""); more columns are ignored.
 *
 * authenticate() follows upstream's bearer-token request authenticator: the
 * header is trimmed, split on single spaces, the scheme compared case-blind
 * with "Bearer", an empty token is no token. Tokens are compared in constant
 * time over the whole table (SHA-256 digests, no early exit). Like upstream's
 * authenticated-group adder, every user gets "system:authenticated".
 */
import * as crypto from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { AuthError } from './errors.js'
import { CsvParseError, parseCsv } from './csv.js'
import { readIfExists, writeFileAtomic } from './files.js'

export interface UserInfo {
  name: string
  uid: string
  groups: string[]
}

export const GROUP_AUTHENTICATED = 'system:authenticated'
export const GROUP_MASTERS = 'system:masters'
export const GROUP_NODES = 'system:nodes'
export const GROUP_READ_ONLY = 'weft:read-only'
export const NODE_USER_PREFIX = 'system:node:'

export interface TokenRecord extends UserInfo {
  token: string
  /** 1-based line of the record in the file. */
  line: number
}

export interface TokenAuthenticator {
  /** `Authorization` header value ⇒ the user, or undefined (no header, not Bearer, empty or unknown token). */
  authenticate (authorizationHeader: string | undefined): UserInfo | undefined
  /** Number of distinct tokens. */
  readonly size: number
  /** The warnings upstream would log (empty and duplicate tokens). */
  readonly warnings: readonly string[]
  /** The first user of group system:masters and its token, for writing an admin kubeconfig. */
  readonly admin: { token: string, user: UserInfo } | undefined
}

/** Parses token-file text; `file` only names the file in messages. Throws CTRL_ERR_AUTH_TOKEN_FILE. */
export function parseTokenFile (text: string, file: string): { records: TokenRecord[], warnings: string[] } {
  let rows
  try {
    rows = parseCsv(text)
  } catch (err) {
    if (err instanceof CsvParseError) {
      throw new AuthError('CTRL_ERR_AUTH_TOKEN_FILE', `token file '${file}': ${err.message}`, { path: file, cause: err })
    }
    throw err
  }
  const records: TokenRecord[] = []
  const warnings: string[] = []
  const seen = new Set<string>()
  let recordNum = 0
  for (const row of rows) {
    const f = row.fields
    if (f.length < 3) {
      throw new AuthError('CTRL_ERR_AUTH_TOKEN_FILE',
        `token file '${file}' must have at least 3 columns (token, user name, user uid), found ${f.length}`, { path: file })
    }
    recordNum++
    const [token, name, uid, groups] = f as [string, string, string, string | undefined]
    if (token === '') {
      warnings.push(`empty token has been found in token file '${file}', record number '${recordNum}'`)
      continue
    }
    if (seen.has(token)) warnings.push(`duplicate token has been found in token file '${file}', record number '${recordNum}'`)
    seen.add(token)
    records.push({ token, name, uid, groups: groups === undefined ? [] : groups.split(','), line: row.line })
  }
  return { records, warnings }
}

const digest = (s: string): Buffer => crypto.createHash('sha256').update(s, 'utf8').digest()

/** Builds the authenticator from parsed records (later duplicates win, as upstream's map assignment does). */
export function tokenAuthenticator (records: readonly TokenRecord[], warnings: readonly string[] = []): TokenAuthenticator {
  const byToken = new Map<string, TokenRecord>()
  for (const r of records) byToken.set(r.token, r)
  const table = [...byToken.values()].map((r) => ({ digest: digest(r.token), user: { name: r.name, uid: r.uid, groups: r.groups } }))
  const adminRecord = [...byToken.values()].find((r) => r.groups.includes(GROUP_MASTERS))
  return {
    size: table.length,
    warnings,
    admin: adminRecord === undefined
      ? undefined
      : { token: adminRecord.token, user: { name: adminRecord.name, uid: adminRecord.uid, groups: [...adminRecord.groups] } },
    authenticate (header) {
      const token = bearerToken(header)
      if (token === undefined) return undefined
      const d = digest(token)
      let found: UserInfo | undefined
      for (const e of table) {
        // No early exit: every entry is compared, whatever matches.
        if (crypto.timingSafeEqual(e.digest, d)) found = e.user
      }
      if (found === undefined) return undefined
      const groups = found.groups.includes(GROUP_AUTHENTICATED) ? [...found.groups] : [...found.groups, GROUP_AUTHENTICATED]
      return { name: found.name, uid: found.uid, groups }
    }
  }
}

/** The token of an `Authorization: Bearer <token>` header value, as upstream's bearertoken authenticator reads it. */
export function bearerToken (header: string | undefined): string | undefined {
  const auth = (header ?? '').trim()
  if (auth === '') return undefined
  const parts = auth.split(' ')
  if (parts.length < 2 || (parts[0] as string).toLowerCase() !== 'bearer') return undefined
  const token = parts[1] as string
  return token === '' ? undefined : token
}

/** Reads and parses a --token-auth-file. Throws CTRL_ERR_AUTH_TOKEN_FILE (missing, unreadable, malformed). */
export async function loadTokenFile (file: string): Promise<TokenAuthenticator> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    throw new AuthError('CTRL_ERR_AUTH_TOKEN_FILE', `cannot read token file '${file}': ${(err as Error).message}`, { path: file, cause: err })
  }
  const { records, warnings } = parseTokenFile(text, file)
  return tokenAuthenticator(records, warnings)
}

/** A new random token: 32 bytes, base64url (no ",", quote or space, so it never needs CSV quoting). */
export const randomToken = (): string => crypto.randomBytes(32).toString('base64url')

function csvField (s: string): string {
  return /[",\r\n]/.test(s) || s.startsWith(' ') ? `"${s.replaceAll('"', '""')}"` : s
}

/** One token-file line for a user (groups joined in the quoted 4th column). */
export function formatTokenRecord (r: { token: string, name: string, uid: string, groups: readonly string[] }): string {
  const cols = [r.token, r.name, r.uid].map(csvField)
  if (r.groups.length > 0) cols.push(`"${r.groups.join(',').replaceAll('"', '""')}"`)
  return cols.join(',') + '\n'
}

export const tokenFilePath = (dataDir: string): string => path.join(dataDir, 'tokens.csv')

/**
 * The default token file (when no --token-auth-file is given): creates
 * <dataDir>/tokens.csv (0600, atomically) with a random token for user
 * "admin" in system:masters, or keeps and loads the existing one.
 */
export async function ensureTokenFile (dataDir: string): Promise<{ path: string, created: boolean, authenticator: TokenAuthenticator }> {
  const file = tokenFilePath(dataDir)
  let existing: string | undefined
  try {
    existing = await readIfExists(file)
  } catch (err) {
    throw new AuthError('CTRL_ERR_AUTH_TOKEN_FILE', `cannot read token file '${file}': ${(err as Error).message}`, { path: file, cause: err })
  }
  if (existing !== undefined) {
    const { records, warnings } = parseTokenFile(existing, file)
    return { path: file, created: false, authenticator: tokenAuthenticator(records, warnings) }
  }
  const record = { token: randomToken(), name: 'admin', uid: crypto.randomUUID(), groups: [GROUP_MASTERS] }
  await writeFileAtomic(file, formatTokenRecord(record), 0o600)
  return { path: file, created: true, authenticator: tokenAuthenticator([{ ...record, line: 1 }]) }
}

/**
 * Makes sure `file` holds a token for user `name` (e.g. `system:node:<node>` in
 * system:nodes, or a read-only viewer) and returns it: the existing one when the
 * user already has a record, else a new random token appended (atomic rewrite,
 * 0600). The running server must reload the file to accept a new token.
 */
export async function ensureUserToken (file: string, user: { name: string, groups: string[], uid?: string }): Promise<{ token: string, created: boolean }> {
  let text: string | undefined
  try {
    text = await readIfExists(file)
  } catch (err) {
    throw new AuthError('CTRL_ERR_AUTH_TOKEN_FILE', `cannot read token file '${file}': ${(err as Error).message}`, { path: file, cause: err })
  }
  const { records } = parseTokenFile(text ?? '', file)
  const mine = records.find((r) => r.name === user.name)
  if (mine !== undefined) return { token: mine.token, created: false }
  const token = randomToken()
  const prefix = text === undefined || text === '' || text.endsWith('\n') ? (text ?? '') : text + '\n'
  await writeFileAtomic(file, prefix + formatTokenRecord({ token, name: user.name, uid: user.uid ?? crypto.randomUUID(), groups: user.groups }), 0o600)
  return { token, created: true }
}

export interface WatchedTokenFile extends TokenAuthenticator {
  /** Re-reads the file now if it changed (also what the timer does). Resolves true when a new table was loaded. */
  check (): Promise<boolean>
  /** Stops the timer. */
  close (): void
}

/**
 * A token authenticator that follows its file: every `intervalMs` (default
 * 2 s, timer unref'd) the file's size/mtime/inode are compared and a changed
 * file is parsed again. A file that fails to read or parse leaves the previous
 * table in force and is reported through `onError` (the server should log it);
 * a good one replaces the table whole and is reported through `onReload`.
 * kube-apiserver reads its token file once; this is what lets `ensureUserToken`
 * add a node without a restart. The initial load throws like loadTokenFile.
 */
export async function watchTokenFile (file: string, opts: {
  intervalMs?: number
  onReload?: (a: TokenAuthenticator) => void
  onError?: (err: AuthError) => void
} = {}): Promise<WatchedTokenFile> {
  const stamp = async (): Promise<string> => {
    const st = await fs.stat(file)
    return `${st.ino}:${st.size}:${st.mtimeMs}`
  }
  let seen = await stamp()
  let current = await loadTokenFile(file)
  let running: Promise<boolean> | undefined
  const check = async (): Promise<boolean> => {
    let s: string
    try {
      s = await stamp()
    } catch (err) {
      opts.onError?.(new AuthError('CTRL_ERR_AUTH_TOKEN_FILE', `cannot read token file '${file}': ${(err as Error).message}`, { path: file, cause: err }))
      return false
    }
    if (s === seen) return false
    seen = s
    try {
      current = await loadTokenFile(file)
    } catch (err) {
      if (err instanceof AuthError) { opts.onError?.(err); return false }
      throw err
    }
    opts.onReload?.(current)
    return true
  }
  const serialised = async (): Promise<boolean> => {
    while (running !== undefined) await running.catch(() => false)
    running = check()
    try { return await running } finally { running = undefined }
  }
  const timer = setInterval(() => { serialised().catch(() => {}) }, opts.intervalMs ?? 2000)
  timer.unref()
  return {
    authenticate: (header) => current.authenticate(header),
    get size () { return current.size },
    get warnings () { return current.warnings },
    get admin () { return current.admin },
    check: serialised,
    close: () => { clearInterval(timer) }
  }
}
