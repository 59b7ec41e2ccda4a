import test from 'ava'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { CniError } from '../skel/index.js'
import { DiskStore, unwritableReason } from './disk-store.js'

function tmp (t: { teardown: (fn: () => void) => void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-hl-unit-'))
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }))
  return d
}

const mode = (p: string): number => fs.statSync(p).mode & 0o777

test('create makes <dataDir>/<network> with mode 0755; existing finds it, or not', (t) => {
  const d = tmp(t)
  t.is(DiskStore.existing(d, 'net1'), undefined)
  const s = DiskStore.create(path.join(d, 'a', 'b'), 'net1')
  t.is(s.dir, path.join(d, 'a', 'b', 'net1'))
  t.is(mode(s.dir), 0o755 & ~process.umask())
  t.is(DiskStore.existing(path.join(d, 'a', 'b'), 'net1')?.dir, s.dir)
})

test('reserve writes "<id>\\r\\n<ifname>" with O_EXCL (0600) and the cursor file; a second reserve of the address is refused', (t) => {
  const s = DiskStore.create(tmp(t), 'net1')
  s.withLock(() => {
    t.true(s.reserve('10.1.0.2', { id: ' c1 ', ifname: 'eth0' }, 3))
    t.false(s.reserve('10.1.0.2', { id: 'c2', ifname: 'eth0' }, 3))
    t.is(s.lastReserved(3), '10.1.0.2')
    t.is(s.lastReserved(0), undefined)
  })
  t.is(fs.readFileSync(path.join(s.dir, '10.1.0.2'), 'latin1'), 'c1\r\neth0')
  t.is(mode(path.join(s.dir, '10.1.0.2')), 0o600)
  t.is(fs.readFileSync(path.join(s.dir, 'last_reserved_ip.3'), 'latin1'), '10.1.0.2')
  t.deepEqual(fs.readdirSync(s.dir).sort(), ['10.1.0.2', 'last_reserved_ip.3', 'lock'])
})

test('list reads address-named files only (legacy bodies included) and skips lock, cursors, foreign files and directories', (t) => {
  const s = DiskStore.create(tmp(t), 'net1')
  fs.writeFileSync(path.join(s.dir, '10.1.0.2'), 'c1\r\neth0')
  fs.writeFileSync(path.join(s.dir, 'fd00::5'), 'legacy-id')
  // A container ID that looks like an address must not make the cursor its "reservation".
  fs.writeFileSync(path.join(s.dir, 'last_reserved_ip.0'), '10.1.0.2')
  fs.writeFileSync(path.join(s.dir, 'lock'), '')
  fs.writeFileSync(path.join(s.dir, 'notes.txt'), 'c1\r\neth0')
  fs.mkdirSync(path.join(s.dir, '10.1.0.9'))
  const got = s.withLock(() => s.list()).sort((a, b) => a.ip.localeCompare(b.ip))
  t.deepEqual(got, [{ ip: '10.1.0.2', id: 'c1', ifname: 'eth0' }, { ip: 'fd00::5', id: 'legacy-id', ifname: undefined }])
})

test('a cursor that is not an address is ignored (round-robin just restarts)', (t) => {
  const s = DiskStore.create(tmp(t), 'net1')
  fs.writeFileSync(path.join(s.dir, 'last_reserved_ip.0'), 'garbage')
  fs.writeFileSync(path.join(s.dir, 'last_reserved_ip.1'), 'fd00::7\n')
  t.is(s.withLock(() => s.lastReserved(0)), undefined)
  t.is(s.withLock(() => s.lastReserved(1)), 'fd00::7')
})

test('release removes the file; releasing an address that is gone is not an error', (t) => {
  const s = DiskStore.create(tmp(t), 'net1')
  fs.writeFileSync(path.join(s.dir, '10.1.0.2'), 'c1\r\neth0')
  s.withLock(() => { s.release('10.1.0.2'); s.release('10.1.0.2'); s.release('10.1.0.3') })
  t.false(fs.existsSync(path.join(s.dir, '10.1.0.2')))
})

test('withLock holds a real flock on <dir>/lock (what the reference plugin locks), released afterwards and on throw', (t) => {
  const s = DiskStore.create(tmp(t), 'net1')
  const lockPath = path.join(s.dir, 'lock')
  const tryLock = (): number | null => spawnSync('flock', ['--nonblock', lockPath, 'true']).status
  s.withLock(() => {
    t.is(tryLock(), 1, 'another process cannot take the lock while we hold it')
    s.withLock(() => t.pass('re-entrant'))
  })
  t.is(tryLock(), 0, 'released after the callback')
  t.throws(() => s.withLock(() => { throw new Error('boom') }), { message: 'boom' })
  t.is(tryLock(), 0, 'released after a throw')
  t.is(mode(lockPath), 0o750 & ~process.umask())
})

test('store failures are code 111 with the errno in the details', (t) => {
  const d = tmp(t)
  fs.writeFileSync(path.join(d, 'file'), '')
  const e = t.throws(() => DiskStore.create(path.join(d, 'file'), 'net1'), { instanceOf: CniError })
  t.is(e?.number, 111)
  t.regex(e?.details ?? '', /ENOTDIR|EEXIST/)
})

test('unwritableReason: fine for an existing or creatable dir, a reason for a file in the way', (t) => {
  const d = tmp(t)
  t.is(unwritableReason(d, 'net1'), undefined)
  t.is(unwritableReason(path.join(d, 'x', 'y'), 'net1'), undefined)
  fs.writeFileSync(path.join(d, 'file'), '')
  t.regex(unwritableReason(path.join(d, 'file', 'sub'), 'net1') ?? '', /file is not a directory/)
  fs.writeFileSync(path.join(d, 'net2'), '')
  t.regex(unwritableReason(d, 'net2') ?? '', /net2 is not a directory/)
})
