/**
 * The saved delegate configurations: `<dataDir>/<containerID>` holds the
 * exact JSON the delegate got at ADD, so DEL (and CHECK) can hand it the same
 * bytes even if subnet.env has changed or gone since. flannel's layout and
 * modes (directory 0700, file 0600), so files written by flannel's plugin
 * are read here and the other way round.
 *
 * Writes are atomic and durable: a temp file (a dot name, which no container
 * ID can have) is written, fsync'd and renamed over the final name, then the
 * directory is fsync'd. A crash leaves the old file or the new one, never a
 * torn one that DEL could not parse.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'

export type Saved =
  | { kind: 'missing' }
  /** Present but not a JSON object with a string `type`: DEL cannot use it. */
  | { kind: 'invalid', reason: string }
  | { kind: 'ok', bytes: Buffer, conf: Record<string, unknown>, type: string }

export function savedPath (dataDir: string, containerId: string): string {
  return path.join(dataDir, containerId)
}

export function saveDelegate (dataDir: string, containerId: string, json: string): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const file = savedPath(dataDir, containerId)
  const tmp = path.join(dataDir, `.${containerId}.${process.pid}.tmp`)
  try {
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o600)
    try {
      fs.fchmodSync(fd, 0o600) // whatever the umask
      fs.writeSync(fd, json)
      fs.fsyncSync(fd)
    } finally { fs.closeSync(fd) }
    fs.renameSync(tmp, file)
  } catch (e) {
    try { fs.unlinkSync(tmp) } catch { /* never created, or renamed */ }
    throw e
  }
  syncDir(dataDir)
}

function syncDir (dir: string): void {
  let fd: number | undefined
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY)
    fs.fsyncSync(fd)
  } catch { /* best effort: the file itself is already durable */ } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

/** Parses saved bytes; `invalid` when they are not a delegate config. */
export function parseSaved (bytes: Buffer): Saved {
  let conf: unknown
  try {
    conf = JSON.parse(bytes.toString('utf8'))
  } catch (e) {
    return { kind: 'invalid', reason: `not JSON: ${(e as Error).message}` }
  }
  if (typeof conf !== 'object' || conf === null || Array.isArray(conf)) return { kind: 'invalid', reason: 'not a JSON object' }
  const type = (conf as { type?: unknown }).type
  if (typeof type !== 'string' || type === '') return { kind: 'invalid', reason: 'no delegate "type"' }
  return { kind: 'ok', bytes, conf: conf as Record<string, unknown>, type }
}

export function readSaved (dataDir: string, containerId: string): Saved {
  let bytes: Buffer
  try {
    bytes = fs.readFileSync(savedPath(dataDir, containerId))
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' }
    return { kind: 'invalid', reason: `unreadable: ${(e as Error).message}` }
  }
  return parseSaved(bytes)
}

/**
 * Removes the saved file; already gone is fine. Returns what went wrong
 * instead of throwing: a DEL that has released everything must not fail over
 * this bookkeeping file (a later DEL just releases nothing again).
 */
export function removeSaved (dataDir: string, containerId: string): string | undefined {
  const file = savedPath(dataDir, containerId)
  try {
    fs.rmSync(file, { force: true })
    return undefined
  } catch (e) {
    const msg = `could not remove ${file}: ${(e as Error).message}`
    process.stderr.write(`flannel: ${msg}\n`)
    return msg
  }
}

/** Container IDs with a saved file (dot files, i.e. temp files, left out). */
export function listSaved (dataDir: string): string[] {
  let names: fs.Dirent[]
  try {
    names = fs.readdirSync(dataDir, { withFileTypes: true })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw e
  }
  return names.filter((d) => d.isFile() && !d.name.startsWith('.')).map((d) => d.name).sort()
}
