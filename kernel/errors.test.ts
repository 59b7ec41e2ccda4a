/**
 * KernelError: message shape, the errno helpers callers rely on for
 * idempotent DEL paths, and the docs/errors.md table checked against the
 * KernelErrorCode union in both directions.
 */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { KernelError, errnoName, isExists, isNotFound } from './errors.js'
import type { KernelErrorCode } from './errors.js'

/** The repository root, from this file's place in dist/kernel/. */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The members of `export type KernelErrorCode = ...` in kernel/errors.ts (a type has no runtime registry to import). */
function registry (): string[] {
  const src = fs.readFileSync(path.join(root, 'kernel', 'errors.ts'), 'utf8')
  const m = /export type KernelErrorCode =([\s\S]*?)\n\s*\n/.exec(src)
  if (m === null) throw new Error('KernelErrorCode not found in kernel/errors.ts')
  return [...(m[1] as string).matchAll(/'([A-Z_]+)'/g)].map((x) => x[1] as string)
}

function documented (): string[] {
  const text = fs.readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8')
  const section = text.split(/^## /m).find((s) => s.startsWith('Kernel errors'))
  if (section === undefined) throw new Error('docs/errors.md has no "## Kernel errors" section')
  return section.split('\n').map((l) => /^\| `(KERNEL_ERR_[A-Z_]+)` \| (.+) \| (.+) \|$/.exec(l)).filter((m) => m !== null).map((m) => m[1] as string)
}

test('docs/errors.md and KernelErrorCode list the same codes, each once', (t) => {
  const codes = registry()
  const docs = documented()
  t.true(codes.length >= 5, 'the union parses')
  t.deepEqual([...docs].sort(), [...codes].sort())
  t.is(new Set(docs).size, docs.length, 'no code documented twice')
  // The union is what the compiler checks; make sure the parse above saw the same thing.
  const sample: KernelErrorCode[] = ['KERNEL_ERR_NETLINK', 'KERNEL_ERR_SYSCALL', 'KERNEL_ERR_NETNS', 'KERNEL_ERR_NOT_FOUND', 'KERNEL_ERR_COMMAND']
  for (const c of sample) t.true(codes.includes(c), c)
})

test('the message ends with the errno\'s name, or its number when it has none', (t) => {
  t.is(new KernelError('KERNEL_ERR_NETLINK', 'add veth v0', 17).message, 'add veth v0: EEXIST')
  t.is(new KernelError('KERNEL_ERR_NETLINK', 'add route x', 113).message, 'add route x: EHOSTUNREACH')
  t.is(new KernelError('KERNEL_ERR_NETLINK', 'odd', 4242).message, 'odd: errno 4242')
  t.is(new KernelError('KERNEL_ERR_NETLINK', 'netlink socket closed').message, 'netlink socket closed')
  const e = new KernelError('KERNEL_ERR_SYSCALL', 'bind', 1, { cause: 'why' })
  t.like(e, { name: 'KernelError', code: 'KERNEL_ERR_SYSCALL', errno: 1, cause: 'why' })
  t.is(errnoName(19), 'ENODEV')
  t.is(errnoName(4242), 'errno 4242')
})

test('isNotFound: the not-found code or the errnos that mean "not there"; isExists: EEXIST only', (t) => {
  const k = (errno: number, code: KernelErrorCode = 'KERNEL_ERR_NETLINK'): KernelError => new KernelError(code, 'x', errno)
  for (const errno of [2, 3, 19, 99]) t.true(isNotFound(k(errno)), `errno ${errno}`)
  t.true(isNotFound(k(0, 'KERNEL_ERR_NOT_FOUND')))
  for (const errno of [0, 1, 17, 22, 95, 101]) t.false(isNotFound(k(errno)), `errno ${errno}`)
  t.true(isExists(k(17)))
  t.false(isExists(k(2)))
  t.false(isNotFound(Object.assign(new Error('x'), { errno: 2 })), 'only KernelErrors count')
  t.false(isExists(Object.assign(new Error('x'), { errno: 17 })))
  t.false(isNotFound(undefined))
})

test('instanceof KernelError holds across bundled copies (Symbol.for marker), not for look-alikes', (t) => {
  const foreign = Object.assign(new Error('x'), { code: 'KERNEL_ERR_NETLINK', errno: 19 })
  Object.defineProperty(foreign, Symbol.for('weft.KernelError'), { get: () => true })
  t.true(foreign instanceof KernelError)
  t.true(isNotFound(foreign), 'and the helpers accept it')
  t.false(Object.assign(new Error('x'), { code: 'KERNEL_ERR_NETLINK', errno: 19 }) instanceof KernelError)
})
