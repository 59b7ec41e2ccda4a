/**
 * Network namespaces by setns(2) on the calling thread, always returning home.
 *
 * A netlink socket stays bound to the namespace it was created in, so
 * `netlink(path)` enters the namespace only long enough to open the socket.
 * `run(path, fn)` is for work that must happen "inside" (sysctls under
 * /proc/sys/net, sockets of other kinds). `fn` must be synchronous: an await
 * while the thread sits in another namespace would let unrelated code run there.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { CLONE_NEWNET, MNT_DETACH, MS_BIND, MS_REC, MS_SHARED, libc } from '../libc.js'
import { KernelError } from '../errors.js'
import { LinuxNetlink, RtSocket } from './netlink.js'
import type { NetNS, Netlink, Sysctl } from '../types.js'

export const NETNS_RUN_DIR = '/run/netns'
const SELF = '/proc/thread-self/ns/net'

function nsDev (): number {
  return fs.statSync(SELF).dev
}

export class LinuxNetNS implements NetNS {
  readonly runDir: string
  constructor (runDir = NETNS_RUN_DIR) { this.runDir = runDir }

  pathOf (name: string): string {
    if (!/^[A-Za-z0-9_.-]{1,200}$/.test(name) || name === '.' || name === '..') throw new KernelError('KERNEL_ERR_NETNS', `invalid namespace name "${name}"`)
    return path.join(this.runDir, name)
  }

  exists (p: string): boolean {
    try {
      // A live namespace file is an nsfs inode (bind-mounted); a leftover plain file is not.
      return fs.statSync(p).dev === nsDev()
    } catch { return false }
  }

  isCurrent (p: string): boolean {
    try {
      const a = fs.statSync(p)
      const b = fs.statSync(SELF)
      return a.dev === b.dev && a.ino === b.ino
    } catch { return false }
  }

  openFd (p: string): number {
    try {
      const fd = fs.openSync(p, 'r')
      if (fs.fstatSync(fd).dev !== nsDev()) {
        fs.closeSync(fd)
        throw new KernelError('KERNEL_ERR_NETNS', `${p} is not a network namespace`)
      }
      return fd
    } catch (e) {
      if (e instanceof KernelError) throw e
      const code = (e as NodeJS.ErrnoException).code
      // With an errno, KernelError appends its name itself.
      if (code === 'ENOENT') throw new KernelError('KERNEL_ERR_NOT_FOUND', `failed to open netns "${p}"`, 2)
      throw new KernelError('KERNEL_ERR_NETNS', `failed to open netns "${p}": ${code ?? String(e)}`)
    }
  }

  closeFd (fd: number): void {
    try { fs.closeSync(fd) } catch { /* already closed */ }
  }

  run<T> (p: string, fn: () => T): T {
    const target = this.openFd(p)
    const home = fs.openSync(SELF, 'r')
    const c = libc()
    try {
      if (c.setns(target, CLONE_NEWNET) !== 0) throw new KernelError('KERNEL_ERR_NETNS', `setns into ${p}`, c.errno())
      try {
        return fn()
      } finally {
        if (c.setns(home, CLONE_NEWNET) !== 0) {
          // The thread is stranded in another namespace; nothing after this could be trusted.
          process.stderr.write(`weft: fatal: cannot return from network namespace ${p}\n`)
          process.exit(70)
        }
      }
    } finally {
      fs.closeSync(target)
      fs.closeSync(home)
    }
  }

  netlink (p?: string): Netlink {
    if (p === undefined) return new LinuxNetlink(new RtSocket())
    return new LinuxNetlink(this.run(p, () => new RtSocket()))
  }

  create (name: string): string {
    const p = this.pathOf(name)
    const c = libc()
    fs.mkdirSync(this.runDir, { recursive: true, mode: 0o755 })
    this.#ensureSharedMount()
    let fd: number
    try {
      fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o444)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'EEXIST') throw new KernelError('KERNEL_ERR_NETNS', `cannot create namespace file ${p}`, 17)
      throw new KernelError('KERNEL_ERR_NETNS', `cannot create namespace file ${p}: ${code ?? String(e)}`)
    }
    fs.closeSync(fd)
    const home = fs.openSync(SELF, 'r')
    try {
      if (c.unshare(CLONE_NEWNET) !== 0) throw new KernelError('KERNEL_ERR_NETNS', 'unshare(CLONE_NEWNET)', c.errno())
      try {
        if (c.mount(SELF, p, 'none', MS_BIND) !== 0) throw new KernelError('KERNEL_ERR_NETNS', `bind mount ${p}`, c.errno())
      } finally {
        if (c.setns(home, CLONE_NEWNET) !== 0) {
          process.stderr.write('weft: fatal: cannot return to the original network namespace\n')
          process.exit(70)
        }
      }
    } catch (e) {
      try { fs.unlinkSync(p) } catch { /* best effort */ }
      throw e
    } finally {
      fs.closeSync(home)
    }
    return p
  }

  #ensureSharedMount (): void {
    // Like `ip netns add`: /run/netns must be a shared mount point so namespaces
    // pinned here are visible to other mount namespaces.
    const c = libc()
    if (c.mount('none', this.runDir, null, MS_SHARED | MS_REC) === 0) return
    if (c.mount(this.runDir, this.runDir, 'none', MS_BIND | MS_REC) !== 0) return
    c.mount('none', this.runDir, null, MS_SHARED | MS_REC)
  }

  remove (name: string): void {
    const p = this.pathOf(name)
    libc().umount2(p, MNT_DETACH)
    try { fs.unlinkSync(p) } catch { /* absent */ }
  }

  list (): string[] {
    try { return fs.readdirSync(this.runDir).sort() } catch { return [] }
  }
}

/** A sysctl failure: ENOENT as an errno (KernelError appends its name), anything else named in the text. */
function sysctlError (what: string, e: unknown): KernelError {
  const code = (e as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return new KernelError('KERNEL_ERR_SYSCALL', what, 2)
  return new KernelError('KERNEL_ERR_SYSCALL', `${what}: ${code ?? String(e)}`)
}

/** Sysctls of the calling thread's network namespace (use inside `NetNS.run` for another one). */
export const linuxSysctl: Sysctl = {
  get (key) {
    try {
      return fs.readFileSync(path.join('/proc/sys', key), 'utf8').trim()
    } catch (e) {
      throw sysctlError(`read sysctl ${key}`, e)
    }
  },
  set (key, value) {
    try {
      fs.writeFileSync(path.join('/proc/sys', key), value)
    } catch (e) {
      throw sysctlError(`write sysctl ${key}=${value}`, e)
    }
  }
}
