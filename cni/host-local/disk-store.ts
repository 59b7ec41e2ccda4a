/**
 * The on-disk store, in exactly the reference plugin's layout so that Weft's
 * host-local and the Go one can take turns on one node (an upgrade, a
 * rollback, or a mixed fleet sharing a data dir):
 *
 *   <dataDir>/<network>/              directory, 0755
 *   <dataDir>/<network>/<ip>          one per reserved address, named by the
 *                                     canonical address text, created O_EXCL,
 *                                     body "<containerID>\r\n<ifname>"
 *                                     (older writers: "<containerID>" only)
 *   <dataDir>/<network>/last_reserved_ip.<n>   round-robin cursor of range set n
 *   <dataDir>/<network>/lock          flock(LOCK_EX) around every operation
 *
 * The flock is what serialises concurrent plugin processes (ours and the
 * reference's alike); O_EXCL on create is the second guard, so two writers
 * can never both believe they own one address.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { CniError } from '../skel/index.js'
import { ip, libc, LOCK_EX, LOCK_UN } from '../../kernel/index.js'
import { decodeOwner, encodeOwner } from './store.js'
import type { Owner, Reservation, Store } from './store.js'

export const LOCK_FILE = 'lock'
const LOCK_NB = 4
const EWOULDBLOCK = 11
const sleeper = new Int32Array(new SharedArrayBuffer(4))

/** How long to wait for the store's lock: WEFT_CNI_LOCK_TIMEOUT_MS, default 60 s (runtimes time out a CNI call after minutes). */
function lockTimeoutMs (): number {
  const v = Number(process.env.WEFT_CNI_LOCK_TIMEOUT_MS)
  return Number.isFinite(v) && v >= 0 ? v : 60_000
}
export const LAST_RESERVED_PREFIX = 'last_reserved_ip.'
const EINTR = 4

function errText (e: unknown): string {
  const err = e as NodeJS.ErrnoException
  return err?.code !== undefined ? `${err.code}: ${err.message}` : String(e)
}

function storeError (msg: string, e: unknown): CniError {
  return new CniError('CNI_ERR_STORE', msg, errText(e), { cause: e })
}

const isCode = (e: unknown, code: string): boolean => (e as NodeJS.ErrnoException)?.code === code

export class DiskStore implements Store {
  /** `<dataDir>/<network>`. */
  readonly dir: string
  #held = false

  constructor (dir: string) {
    this.dir = dir
  }

  /** The store of `network`, creating its directory (ADD). */
  static create (dataDir: string, network: string): DiskStore {
    const dir = path.join(dataDir, network)
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 })
    } catch (e) {
      throw storeError(`cannot create the host-local data directory ${dir}`, e)
    }
    return new DiskStore(dir)
  }

  /** The store of `network` if its directory exists; undefined means nothing was ever reserved there. */
  static existing (dataDir: string, network: string): DiskStore | undefined {
    const dir = path.join(dataDir, network)
    try {
      return fs.statSync(dir).isDirectory() ? new DiskStore(dir) : undefined
    } catch (e) {
      if (isCode(e, 'ENOENT') || isCode(e, 'ENOTDIR')) return undefined
      throw storeError(`cannot read the host-local data directory ${dir}`, e)
    }
  }

  withLock<T> (fn: () => T): T {
    if (this.#held) return fn()
    const lockPath = path.join(this.dir, LOCK_FILE)
    let fd: number
    try {
      // 0750 is what the reference's go-filemutex creates the file with.
      fd = fs.openSync(lockPath, fs.constants.O_RDONLY | fs.constants.O_CREAT, 0o750)
    } catch (e) {
      throw storeError(`cannot open the lock file ${lockPath}`, e)
    }
    try {
      const c = libc()
      // Non-blocking attempts with a deadline, so a lock held by a hung process
      // becomes "try again later" (code 11) instead of a plugin that never returns.
      const deadline = Date.now() + lockTimeoutMs()
      let pause = 1
      while (c.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
        const errno = c.errno()
        if (errno === EINTR) continue
        if (errno !== EWOULDBLOCK) throw new CniError('CNI_ERR_STORE', `cannot lock ${lockPath}`, `flock: errno ${errno}`)
        if (Date.now() >= deadline) {
          throw new CniError('CNI_ERR_TRY_AGAIN', 'host-local: the address store is locked by another process, try again later',
            `${lockPath} still locked after ${lockTimeoutMs()} ms`)
        }
        Atomics.wait(sleeper, 0, 0, pause)
        pause = Math.min(pause * 2, 20)
      }
      this.#held = true
      try {
        return fn()
      } finally {
        this.#held = false
        c.flock(fd, LOCK_UN)
      }
    } finally {
      fs.closeSync(fd)
    }
  }

  reserve (addr: string, owner: Owner, rangeSetIndex: number): boolean {
    const file = path.join(this.dir, addr)
    let fd: number
    try {
      fd = fs.openSync(file, 'wx', 0o600)
    } catch (e) {
      if (isCode(e, 'EEXIST')) return false
      throw storeError(`cannot reserve ${addr}`, e)
    }
    try {
      fs.writeSync(fd, encodeOwner(owner))
      fs.closeSync(fd)
    } catch (e) {
      try { fs.closeSync(fd) } catch { /* already closed */ }
      try { fs.unlinkSync(file) } catch { /* leave it; the write error is what matters */ }
      throw storeError(`cannot write the reservation of ${addr}`, e)
    }
    try {
      fs.writeFileSync(path.join(this.dir, LAST_RESERVED_PREFIX + String(rangeSetIndex)), addr, { mode: 0o644 })
    } catch {
      // The cursor is only a hint for round-robin; the reservation itself is sound.
    }
    return true
  }

  lastReserved (rangeSetIndex: number): string | undefined {
    try {
      const text = fs.readFileSync(path.join(this.dir, LAST_RESERVED_PREFIX + String(rangeSetIndex)), 'utf8').trim()
      return ip.familyOf(text) !== undefined ? ip.canonical(text) : undefined
    } catch {
      return undefined
    }
  }

  list (): Reservation[] {
    let entries: fs.Dirent[]
    try {
      entries = fs.readdirSync(this.dir, { withFileTypes: true })
    } catch (e) {
      if (isCode(e, 'ENOENT')) return []
      throw storeError(`cannot list ${this.dir}`, e)
    }
    const out: Reservation[] = []
    for (const ent of entries) {
      // Only files named by an address are reservations: this skips `lock`,
      // `last_reserved_ip.*` and anything foreign (the reference matches every
      // file, so a container ID spelled like an address could "own" its cursor).
      if (!ent.isFile() || ip.familyOf(ent.name) === undefined) continue
      let body: string
      try {
        body = fs.readFileSync(path.join(this.dir, ent.name), 'utf8')
      } catch {
        continue
      }
      out.push({ ip: ip.canonical(ent.name), ...decodeOwner(body) })
    }
    return out
  }

  release (addr: string): void {
    try {
      fs.unlinkSync(path.join(this.dir, addr))
    } catch (e) {
      if (!isCode(e, 'ENOENT')) throw storeError(`cannot release ${addr}`, e)
    }
  }
}

/**
 * Why `<dataDir>/<network>` could not be written, or undefined when it can:
 * the directory itself if it exists, else its nearest existing ancestor (ADD
 * would create the rest).
 */
export function unwritableReason (dataDir: string, network: string): string | undefined {
  let p = path.resolve(dataDir, network)
  for (;;) {
    let st: fs.Stats
    try {
      st = fs.statSync(p)
    } catch (e) {
      if (isCode(e, 'ENOENT') || isCode(e, 'ENOTDIR')) {
        const parent = path.dirname(p)
        if (parent === p) return `${p} does not exist`
        p = parent
        continue
      }
      return `cannot stat ${p}: ${errText(e)}`
    }
    if (!st.isDirectory()) return `${p} is not a directory`
    try {
      fs.accessSync(p, fs.constants.W_OK | fs.constants.X_OK)
    } catch (e) {
      return `${p} is not writable: ${errText(e)}`
    }
    return undefined
  }
}
