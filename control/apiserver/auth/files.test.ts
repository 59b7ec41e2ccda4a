import test from 'ava'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { AuthError } from './errors.js'
import { createFileExclusive, writeFileAtomic } from './files.js'

function tmpDir (t: { teardown: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-files-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

test('writeFileAtomic replaces content with the given mode whatever the umask, leaving no temp file', async (t) => {
  const dir = tmpDir(t)
  const file = path.join(dir, 'a', 'secret')
  const old = process.umask(0)
  try {
    await writeFileAtomic(file, 'one', 0o600)
    fs.chmodSync(file, 0o666)
    await writeFileAtomic(file, 'two', 0o600)
  } finally {
    process.umask(old)
  }
  t.is(fs.readFileSync(file, 'utf8'), 'two')
  t.is(fs.statSync(file).mode & 0o777, 0o600)
  t.is(fs.statSync(path.dirname(file)).mode & 0o777, 0o700)
  t.deepEqual(fs.readdirSync(path.dirname(file)), ['secret'])
})

test('createFileExclusive creates once and never replaces', async (t) => {
  const dir = tmpDir(t)
  const file = path.join(dir, 'ca.key')
  t.true(await createFileExclusive(file, 'first', 0o600))
  t.false(await createFileExclusive(file, 'second', 0o600))
  t.is(fs.readFileSync(file, 'utf8'), 'first')
  t.deepEqual(fs.readdirSync(dir), ['ca.key'])
  const racers = await Promise.all([1, 2, 3, 4, 5].map(async (i) => await createFileExclusive(path.join(dir, 'race'), String(i), 0o600)))
  t.is(racers.filter(Boolean).length, 1)
})

test('write failures are CTRL_ERR_AUTH_IO naming the file', async (t) => {
  const dir = tmpDir(t)
  fs.writeFileSync(path.join(dir, 'plainfile'), '')
  const target = path.join(dir, 'plainfile', 'x') // a file where a directory should be
  const err = await t.throwsAsync(writeFileAtomic(target, 'x', 0o600))
  t.true(err instanceof AuthError)
  t.is((err as AuthError).code, 'CTRL_ERR_AUTH_IO')
  t.is((err as AuthError).path, target)
  const err2 = await t.throwsAsync(createFileExclusive(target, 'x', 0o600))
  t.is((err2 as AuthError).code, 'CTRL_ERR_AUTH_IO')
})
