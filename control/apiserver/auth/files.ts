/** Atomic credential-file writes shared by the PKI, token file and kubeconfig writers. */
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { randomBytes } from 'node:crypto'
import { AuthError } from './errors.js'

/** Writes `data` to a new temp file beside `file` (directory created 0700), fsynced, with `mode` whatever the umask. */
async function writeTemp (file: string, data: string, mode: number): Promise<string> {
  const dir = path.dirname(file)
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  const fh = await fs.open(tmp, 'wx', mode)
  try {
    await fh.writeFile(data)
    await fh.chmod(mode)
    await fh.sync()
  } finally {
    await fh.close()
  }
  return tmp
}

/** fsync of the directory, so the new name survives a crash (best effort: not every filesystem supports it). */
async function syncDir (dir: string): Promise<void> {
  try {
    const dh = await fs.open(dir, 'r')
    try { await dh.sync() } finally { await dh.close() }
  } catch { /* best effort */ }
}

/**
 * Writes `data` to `file` so that a reader (or a crash) sees the old content or
 * the new, never a torn file: a temp file in the same directory, fsync, chmod,
 * rename over the target, fsync of the directory. `mode` applies to the new file
 * whatever the umask. The directory is created (0700) when missing.
 */
export async function writeFileAtomic (file: string, data: string, mode: number): Promise<void> {
  let tmp: string | undefined
  try {
    tmp = await writeTemp(file, data, mode)
    await fs.rename(tmp, file)
  } catch (err) {
    if (tmp !== undefined) await fs.rm(tmp, { force: true }).catch(() => {})
    throw new AuthError('CTRL_ERR_AUTH_IO', `cannot write ${file}: ${(err as Error).message}`, { path: file, cause: err })
  }
  await syncDir(path.dirname(file))
}

/**
 * Like writeFileAtomic, but never replaces an existing file: the complete temp
 * file is hard-linked to the target, which fails if the target exists (then
 * nothing changes and the result is false). Two processes racing to create the
 * same file: exactly one wins.
 */
export async function createFileExclusive (file: string, data: string, mode: number): Promise<boolean> {
  let tmp: string | undefined
  let created = true
  try {
    tmp = await writeTemp(file, data, mode)
    try {
      await fs.link(tmp, file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      created = false
    }
  } catch (err) {
    throw new AuthError('CTRL_ERR_AUTH_IO', `cannot create ${file}: ${(err as Error).message}`, { path: file, cause: err })
  } finally {
    if (tmp !== undefined) await fs.rm(tmp, { force: true }).catch(() => {})
  }
  await syncDir(path.dirname(file))
  return created
}

/** Reads a file, `undefined` when it does not exist; other failures are thrown as they are. */
export async function readIfExists (file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}
