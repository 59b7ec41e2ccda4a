/**
 * Errors raised by the kernel layer. `errno` is the kernel's own number so
 * callers can tolerate ENOENT/ENODEV/EEXIST where an operation is idempotent.
 */
const kKernelError = Symbol.for('weft.KernelError')

const errnoNames: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 9: 'EBADF', 11: 'EAGAIN', 13: 'EACCES', 16: 'EBUSY', 17: 'EEXIST', 19: 'ENODEV',
  22: 'EINVAL', 24: 'EMFILE', 34: 'ERANGE', 40: 'ELOOP', 93: 'EPROTONOSUPPORT', 95: 'EOPNOTSUPP', 97: 'EAFNOSUPPORT',
  98: 'EADDRINUSE', 99: 'EADDRNOTAVAIL', 100: 'ENETDOWN', 101: 'ENETUNREACH', 105: 'ENOBUFS', 113: 'EHOSTUNREACH'
}

export type KernelErrorCode =
  | 'KERNEL_ERR_NETLINK'
  | 'KERNEL_ERR_SYSCALL'
  | 'KERNEL_ERR_NETNS'
  | 'KERNEL_ERR_NOT_FOUND'
  | 'KERNEL_ERR_COMMAND'

export class KernelError extends Error {
  readonly errno: number
  readonly code: KernelErrorCode
  constructor (code: KernelErrorCode, message: string, errno = 0, options?: { cause?: unknown }) {
    super(errno !== 0 ? `${message}: ${errnoName(errno)}` : message, options)
    this.name = 'KernelError'
    this.code = code
    this.errno = errno
  }

  get [kKernelError] (): true { return true }
  static override [Symbol.hasInstance] (v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kKernelError] === true
  }
}

export function errnoName (errno: number): string {
  return errnoNames[errno] ?? `errno ${errno}`
}

export const ENOENT = 2
export const EEXIST = 17
export const ENODEV = 19
export const EADDRNOTAVAIL = 99
export const ESRCH = 3

/** True when the error means "the thing is not there" (link, address, route, neighbour, namespace). */
export function isNotFound (err: unknown): boolean {
  if (!(err instanceof KernelError)) return false
  return err.code === 'KERNEL_ERR_NOT_FOUND' || err.errno === ENOENT || err.errno === ENODEV ||
    err.errno === EADDRNOTAVAIL || err.errno === ESRCH
}

export function isExists (err: unknown): boolean {
  return err instanceof KernelError && err.errno === EEXIST
}
