/**
 * The handful of libc calls Weft needs that neither Node nor Bun expose:
 * netlink sockets, setns/unshare for network namespaces, mount for pinning a
 * namespace to a file, and flock for the host-local store's lock.
 *
 * Two backends behind one shape: Bun's built-in `bun:ffi` (loads in ~0.2 ms,
 * which is what lets a CNI plugin start in a few milliseconds) and `koffi`
 * under Node (the `netlink` package's own native socket cannot run under Bun,
 * and koffi runs under both). All calls are synchronous and act on the
 * calling thread; see `netns.ts` for why that is what we want.
 */
import { createRequire } from 'node:module'

export interface Libc {
  socket (domain: number, type: number, protocol: number): number
  bind (fd: number, addr: Uint8Array): number
  send (fd: number, buf: Uint8Array, len: number, flags: number): number
  recv (fd: number, buf: Uint8Array, len: number, flags: number): number
  setsockopt (fd: number, level: number, name: number, value: Uint8Array): number
  close (fd: number): number
  setns (fd: number, nstype: number): number
  unshare (flags: number): number
  mount (source: string, target: string, fstype: string | null, flags: number): number
  umount2 (target: string, flags: number): number
  flock (fd: number, op: number): number
  gettid (): number
  errno (): number
}

export const AF_NETLINK = 16
export const SOCK_RAW = 3
export const SOCK_CLOEXEC = 0x80000
export const CLONE_NEWNET = 0x40000000
export const MS_BIND = 4096
export const MS_REC = 16384
export const MS_SHARED = 1 << 20
export const MNT_DETACH = 2
export const LOCK_EX = 2
export const LOCK_UN = 8
export const SOL_SOCKET = 1
export const SO_RCVBUF = 8
export const SOL_NETLINK = 270
export const NETLINK_EXT_ACK = 11
export const NETLINK_GET_STRICT_CHK = 12

declare const Bun: unknown

let cached: Libc | undefined

/** The process-wide libc binding, loaded on first use. */
export function libc (): Libc {
  cached ??= typeof Bun !== 'undefined' ? bunLibc() : koffiLibc()
  return cached
}

const require = createRequire(import.meta.url)

function cstr (s: string): Buffer {
  return Buffer.from(s + '\0')
}

function bunLibc (): Libc {
  // Loaded through require so that tsc (Node types) never sees 'bun:ffi'.
  const ffi = require('bun:ffi') as {
    dlopen: (p: string, s: Record<string, { args: string[], returns: string }>) => { symbols: Record<string, (...a: unknown[]) => number> }
    read: { i32: (p: number, off?: number) => number }
  }
  const i = 'i32'
  const p = 'ptr'
  const u64 = 'u64'
  const { symbols: s } = ffi.dlopen('libc.so.6', {
    socket: { args: [i, i, i], returns: i },
    bind: { args: [i, p, i], returns: i },
    send: { args: [i, p, u64, i], returns: 'i64' },
    recv: { args: [i, p, u64, i], returns: 'i64' },
    setsockopt: { args: [i, i, i, p, i], returns: i },
    close: { args: [i], returns: i },
    setns: { args: [i, i], returns: i },
    unshare: { args: [i], returns: i },
    mount: { args: [p, p, p, 'u64', p], returns: i },
    umount2: { args: [p, i], returns: i },
    flock: { args: [i, i], returns: i },
    gettid: { args: [], returns: i },
    __errno_location: { args: [], returns: p }
  })
  const sym = (name: string): ((...a: unknown[]) => number) => {
    const f = s[name]
    if (f === undefined) throw new Error(`libc symbol ${name} missing`)
    return f
  }
  const errnoLoc = sym('__errno_location')
  return {
    socket: sym('socket'),
    bind: (fd, addr) => sym('bind')(fd, addr, addr.length),
    send: (fd, buf, len, flags) => Number(sym('send')(fd, buf, len, flags)),
    recv: (fd, buf, len, flags) => Number(sym('recv')(fd, buf, len, flags)),
    setsockopt: (fd, level, name, value) => sym('setsockopt')(fd, level, name, value, value.length),
    close: sym('close'),
    setns: sym('setns'),
    unshare: sym('unshare'),
    mount: (src, target, fstype, flags) => sym('mount')(cstr(src), cstr(target), fstype === null ? null : cstr(fstype), flags, null),
    umount2: (target, flags) => sym('umount2')(cstr(target), flags),
    flock: sym('flock'),
    gettid: sym('gettid'),
    errno: () => ffi.read.i32(errnoLoc())
  }
}

function koffiLibc (): Libc {
  const koffi = require('koffi') as {
    load: (p: string) => { func: (decl: string) => (...a: unknown[]) => number | bigint }
    errno: () => number
  }
  const lib = koffi.load('libc.so.6')
  const socket = lib.func('int socket(int, int, int)')
  const bind = lib.func('int bind(int, const void *, int)')
  const send = lib.func('long send(int, const void *, size_t, int)')
  const recv = lib.func('long recv(int, _Out_ void *, size_t, int)')
  const setsockopt = lib.func('int setsockopt(int, int, int, const void *, int)')
  const close = lib.func('int close(int)')
  const setns = lib.func('int setns(int, int)')
  const unshare = lib.func('int unshare(int)')
  const mount = lib.func('int mount(const char *, const char *, const char *, unsigned long, const void *)')
  const umount2 = lib.func('int umount2(const char *, int)')
  const flock = lib.func('int flock(int, int)')
  const gettid = lib.func('int gettid()')
  return {
    socket: (d, t, pr) => Number(socket(d, t, pr)),
    bind: (fd, addr) => Number(bind(fd, addr, addr.length)),
    send: (fd, buf, len, flags) => Number(send(fd, buf, len, flags)),
    recv: (fd, buf, len, flags) => Number(recv(fd, buf, len, flags)),
    setsockopt: (fd, level, name, value) => Number(setsockopt(fd, level, name, value, value.length)),
    close: (fd) => Number(close(fd)),
    setns: (fd, t) => Number(setns(fd, t)),
    unshare: (f) => Number(unshare(f)),
    mount: (src, target, fstype, flags) => Number(mount(src, target, fstype, flags, null)),
    umount2: (target, flags) => Number(umount2(target, flags)),
    flock: (fd, op) => Number(flock(fd, op)),
    gettid: () => Number(gettid()),
    errno: () => koffi.errno()
  }
}
