import test from 'ava'
import type { ExecutionContext } from 'ava'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import { embeddedStore } from './embedded.js'
import type { EmbeddedStore, EmbeddedStoreOptions } from './embedded.js'
import { encodeChange, encodeFrame } from './embedded-format.js'
import { storeConformance } from './conformance.js'
import { StoreError } from './errors.js'
import type { StoreErrorCode } from './errors.js'
import { prefixRange } from './types.js'
import type { KeyValue, WatchEvent } from './types.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array | undefined): string | undefined => b === undefined ? undefined : new TextDecoder().decode(b)
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

storeConformance(test, 'embedded', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-store-'))
  let current: EmbeddedStore = await embeddedStore({ dir })
  return {
    store: current,
    reopen: async () => (current = await embeddedStore({ dir })),
    cleanup: async () => {
      try { await current.close() } finally { fs.rmSync(dir, { recursive: true, force: true }) }
    }
  }
})

/** A data dir removed in teardown, and the stores opened on it closed there. */
function tmp (t: ExecutionContext): { dir: string, open: (o?: Partial<EmbeddedStoreOptions>) => Promise<EmbeddedStore> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-store-'))
  const opened: EmbeddedStore[] = []
  t.teardown(async () => {
    for (const s of opened) await s.close().catch(() => {})
    fs.rmSync(dir, { recursive: true, force: true })
  })
  return {
    dir,
    open: async (o = {}) => { const s = await embeddedStore({ dir, ...o }); opened.push(s); return s }
  }
}

const files = (dir: string, re: RegExp): string[] => fs.readdirSync(dir).filter((n) => re.test(n)).sort()
const lastSegment = (dir: string): string => path.join(dir, files(dir, /^wal-.*\.log$/).at(-1) as string)

async function rejectsWith (t: ExecutionContext, p: Promise<unknown>, code: StoreErrorCode): Promise<StoreError | undefined> {
  const e = await t.throwsAsync(p)
  t.true(e instanceof StoreError, String(e))
  t.is((e as StoreError | undefined)?.code, code, String(e))
  return e as StoreError | undefined
}

/** Writes `n` keys one at a time: one frame each. */
async function writeSequentially (s: EmbeddedStore, n: number, prefix = '/k/'): Promise<KeyValue[]> {
  const out: KeyValue[] = []
  for (let i = 0; i < n; i++) out.push(await s.create(prefix + String(i).padStart(5, '0'), enc(`value ${i}`)))
  return out
}

test('a write is invisible to reads until it is durable, then visible with its revision', async (t) => {
  const { open } = tmp(t)
  const s = await open()
  const before = await s.revision()
  const pending = s.create('/a', enc('a'))
  // The frame has not been written yet: reads still see the last durable revision.
  t.is(await s.get('/a'), undefined)
  t.is(await s.revision(), before)
  const kv = await pending
  t.is(dec((await s.get('/a'))?.value), 'a')
  t.is(await s.revision(), kv.modRevision)
})

test('a rejection decided against a write not yet durable waits for that write', async (t) => {
  const { open } = tmp(t)
  const s = await open()
  const order: string[] = []
  const first = s.create('/a', enc('1')).then(() => { order.push('created') })
  const second = s.create('/a', enc('2')).catch((e: StoreError) => { order.push(e.code) })
  await Promise.all([first, second])
  t.deepEqual(order, ['created', 'CTRL_ERR_STORE_EXISTS'])
})

test('group commit: concurrent writes share frames (and fsyncs)', async (t) => {
  const { open } = tmp(t)
  const s = await open()
  await Promise.all(Array.from({ length: 500 }, async (_, i) => await s.create(`/c/${i}`, enc('x'.repeat(200)))))
  const st = s.stats()
  t.is(st.changes, 500)
  t.true(st.frames <= 50, `${st.frames} frames for 500 concurrent writes`)
  t.log(`${st.frames} frames for 500 concurrent creates`)
})

test('a burst larger than the cap of one frame (16 MiB) is split into several frames, each acknowledged when it is durable', async (t) => {
  const { open } = tmp(t)
  const s1 = await open()
  const big = new Uint8Array(1024 * 1024).fill(7)
  const made = await Promise.all(Array.from({ length: 40 }, async (_, i) => await s1.create(`/big/${i}`, big)))
  const frames = s1.stats().frames
  t.true(frames >= 3, `${frames} frames for 40 MiB`)
  await s1.close()
  const s2 = await open()
  const listed = await s2.list('/big/', { end: prefixRange('/big/').end })
  t.deepEqual(listed.kvs.map((kv) => kv.modRevision).sort((a, b) => a - b), made.map((kv) => kv.modRevision).sort((a, b) => a - b))
  t.true(listed.kvs.every((kv) => kv.value.length === big.length && kv.value[12345] === 7))
})

test('a torn last frame is cut off on open; everything acknowledged before it is there', async (t) => {
  const { dir, open } = tmp(t)
  const s1 = await open()
  const made = await writeSequentially(s1, 20)
  await s1.close()
  const seg = lastSegment(dir)
  const sizeBefore = fs.statSync(seg).size
  // What a crash in the middle of the next frame's write leaves behind.
  const frame = encodeFrame([encodeChange({ op: 'put', kv: { key: '/k/torn', value: enc('never acknowledged'), createRevision: 22, modRevision: 22, version: 1 }, prevRevision: 0, expiresAt: 0 })])
  fs.appendFileSync(seg, frame.subarray(0, frame.length - 7))
  const s2 = await open()
  t.is(s2.stats().truncatedBytes, frame.length - 7)
  t.is(fs.statSync(seg).size, sizeBefore, 'the file is cut back to its last whole frame')
  t.is(await s2.revision(), (made.at(-1) as KeyValue).modRevision)
  t.is(await s2.get('/k/torn'), undefined)
  const listed = await s2.list('/k/', { end: prefixRange('/k/').end })
  t.deepEqual(listed.kvs.map((kv) => [kv.key, kv.modRevision]), made.map((kv) => [kv.key, kv.modRevision]))
  // The log goes on from there, and opens cleanly again.
  const next = await s2.create('/k/next', enc('n'))
  t.is(next.modRevision, (made.at(-1) as KeyValue).modRevision + 1)
  await s2.close()
  const s3 = await open()
  t.is(s3.stats().truncatedBytes, 0)
  t.is(dec((await s3.get('/k/next'))?.value), 'n')
})

test('a checksum error before the tail refuses to open with CTRL_ERR_STORE_CORRUPT and releases the directory', async (t) => {
  const { dir, open } = tmp(t)
  const s1 = await open()
  await writeSequentially(s1, 20)
  await s1.close()
  const seg = lastSegment(dir)
  const buf = fs.readFileSync(seg)
  // A byte in the middle of the first frames (well before the last one).
  const i = Math.floor(buf.length / 3)
  buf[i] = (buf[i] as number) ^ 0x40
  fs.writeFileSync(seg, buf)
  await rejectsWith(t, open(), 'CTRL_ERR_STORE_CORRUPT')
  // Not UNAVAILABLE: the failed open left no lock behind.
  await rejectsWith(t, open(), 'CTRL_ERR_STORE_CORRUPT')
  t.is(fs.readFileSync(seg).length, buf.length, 'nothing was truncated')
})

test('a record that does not follow the index (checksum right, content wrong) is CTRL_ERR_STORE_CORRUPT', async (t) => {
  const { dir, open } = tmp(t)
  const s1 = await open()
  const [a] = await writeSequentially(s1, 3)
  await s1.close()
  // An update of /k/00000 claiming to replace a revision the key never had.
  fs.appendFileSync(lastSegment(dir), encodeFrame([encodeChange({ op: 'put', kv: { key: (a as KeyValue).key, value: enc('x'), createRevision: 2, modRevision: 5, version: 2 }, prevRevision: 4, expiresAt: 0 })]))
  const e = await rejectsWith(t, open(), 'CTRL_ERR_STORE_CORRUPT')
  t.regex(e?.message ?? '', /previous revision/)
})

test('snapshots cut the log: reopening replays only what follows the snapshot, and history survives', async (t) => {
  const { dir, open } = tmp(t)
  const s1 = await open({ snapshotBytes: 32 * 1024 })
  const made = await writeSequentially(s1, 600)
  const u = await s1.update('/k/00000', enc('updated'), (made[0] as KeyValue).modRevision)
  await sleep(100)
  const st = s1.stats()
  t.true(st.snapshotRevision > 0, 'a snapshot was taken')
  t.true(st.segments <= 2, `${st.segments} segments`)
  t.true(files(dir, /^snap-/).length === 1, 'older snapshots are deleted')
  t.true(files(dir, /^wal-/).length <= 2, `older segments are deleted: ${files(dir, /^wal-/).join(' ')}`)
  await s1.close()

  const s2 = await open({ snapshotBytes: 32 * 1024 })
  const o = s2.stats()
  t.true(o.openedFromSnapshot > 0)
  t.true(o.replayedChanges < 601 - o.openedFromSnapshot + 2, `${o.replayedChanges} changes replayed`)
  t.is(o.replayedChanges, u.modRevision - o.openedFromSnapshot)
  t.is(await s2.revision(), u.modRevision)
  t.is(dec((await s2.get('/k/00000'))?.value), 'updated')
  t.is(dec((await s2.get('/k/00000', { revision: u.modRevision - 1 }))?.value), 'value 0', 'history from before the snapshot is still readable')
  // A watch from the very first revision replays all 601 changes with their previous values.
  const ac = new AbortController()
  const events: WatchEvent[] = []
  const done = s2.watch('/k/', { end: prefixRange('/k/').end, fromRevision: 2, signal: ac.signal, onEvents: (e) => { events.push(...e) } })
  await sleep(50)
  ac.abort()
  await done
  t.is(events.length, 601)
  t.is(dec(events.at(-1)?.prevKv?.value), 'value 0')
})

test('a snapshot can be asked for; one taken while writes go on loses none of them', async (t) => {
  const { dir, open } = tmp(t)
  const s1 = await open()
  const writes = Promise.all(Array.from({ length: 2000 }, async (_, i) => await s1.create(`/w/${i}`, enc('y'.repeat(100)))))
  await sleep(5)
  await s1.snapshot()
  await writes
  await s1.snapshot()
  t.is(files(dir, /^snap-/).length, 1)
  t.is(s1.stats().snapshotRevision, await s1.revision())
  const rev = await s1.revision()
  await s1.close()
  const s2 = await open()
  t.is(await s2.revision(), rev)
  t.is(s2.stats().replayedChanges, 0)
  t.is((await s2.list('/w/', { end: prefixRange('/w/').end, countOnly: true })).count, 2000)
})

test('a missing log segment is CTRL_ERR_STORE_CORRUPT, not a silent gap', async (t) => {
  const { dir, open } = tmp(t)
  const s1 = await open()
  await writeSequentially(s1, 5)
  await s1.snapshot()
  await writeSequentially(s1, 5, '/later/')
  await s1.close()
  for (const f of files(dir, /^snap-/)) fs.rmSync(path.join(dir, f))
  const e = await rejectsWith(t, open(), 'CTRL_ERR_STORE_CORRUPT')
  t.regex(e?.message ?? '', /segment is missing/)
})

test('a snapshot that falls inside a segment: the records it already holds are skipped, the rest replayed', async (t) => {
  // What a crash between writing a snapshot and deleting the log it covers can leave: both.
  const { dir, open } = tmp(t)
  const s1 = await open()
  await writeSequentially(s1, 10)
  const mid = await s1.revision()
  await s1.close()
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-store-copy-'))
  t.teardown(() => { fs.rmSync(copy, { recursive: true, force: true }) })
  fs.cpSync(dir, copy, { recursive: true })
  const s2 = await open()
  await s2.snapshot()
  await s2.close()
  // The old log (revisions 2..) plus five more changes, with the snapshot at `mid` beside it.
  const s3 = await embeddedStore({ dir: copy })
  const more = await writeSequentially(s3, 5, '/more/')
  await s3.close()
  fs.copyFileSync(path.join(dir, files(dir, /^snap-/)[0] as string), path.join(copy, files(dir, /^snap-/)[0] as string))
  const s4 = await embeddedStore({ dir: copy })
  try {
    t.is(s4.stats().openedFromSnapshot, mid)
    t.is(s4.stats().replayedChanges, 5)
    t.is(await s4.revision(), (more.at(-1) as KeyValue).modRevision)
    t.is((await s4.list('/', { end: '\0', countOnly: true })).count, 15)
  } finally {
    await s4.close()
  }
})

test('replay time: 20,000 writes of 1 KiB reopen quickly, from the log alone and from a snapshot', async (t) => {
  const { open } = tmp(t)
  const s1 = await open()
  const value = enc(JSON.stringify({ kind: 'Pod', pad: 'p'.repeat(950) }))
  for (let i = 0; i < 20_000; i += 500) await Promise.all(Array.from({ length: 500 }, async (_, j) => await s1.create(`/registry/pods/ns/p${i + j}`, value)))
  await s1.close()
  const s2 = await open()
  const fromLog = s2.stats()
  t.is(fromLog.replayedChanges, 20_000)
  await s2.snapshot()
  await s2.close()
  const s3 = await open()
  const fromSnap = s3.stats()
  t.is(fromSnap.replayedChanges, 0)
  t.is((await s3.list('/registry/pods/', { end: prefixRange('/registry/pods/').end, countOnly: true })).count, 20_000)
  t.log(`open: ${fromLog.openMs.toFixed(0)} ms replaying the log, ${fromSnap.openMs.toFixed(0)} ms from the snapshot`)
  t.true(fromLog.openMs < 5000, `${fromLog.openMs} ms`)
  t.true(fromSnap.openMs < 5000, `${fromSnap.openMs} ms`)
})

test('TTL deadlines are durable: a key that expired while the store was closed is deleted on open, at a new revision', async (t) => {
  const { open } = tmp(t)
  const s1 = await open()
  await s1.create('/t/ages', enc('a'), { ttlSeconds: 9_000_000_000 })
  const short = await s1.create('/t/short', enc('s'), { ttlSeconds: 1 })
  await s1.create('/t/long', enc('l'), { ttlSeconds: 3600 })
  await s1.close()
  await sleep(1200)
  const s2 = await open()
  const ac = new AbortController()
  const events: WatchEvent[] = []
  const done = s2.watch('/t/', { end: prefixRange('/t/').end, fromRevision: short.modRevision + 2, signal: ac.signal, onEvents: (e) => { events.push(...e) } })
  for (let i = 0; i < 100 && events.length === 0; i++) await sleep(20)
  ac.abort()
  await done
  t.deepEqual(events.map((e) => [e.type, e.kv.key, e.kv.modRevision]), [['delete', '/t/short', short.modRevision + 2]])
  t.is((await s2.get('/t/long'))?.ttlSeconds, 3600)
  t.is((await s2.get('/t/ages'))?.ttlSeconds, 9_000_000_000, "etcd's largest TTL survives the log")
  await s2.snapshot()
  await s2.close()
  const s3 = await open()
  t.is((await s3.get('/t/ages'))?.ttlSeconds, 9_000_000_000, '... and a snapshot')
})

test('a directory open in this process or in another live one cannot be opened again', async (t) => {
  const { dir, open } = tmp(t)
  const s1 = await open()
  await rejectsWith(t, embeddedStore({ dir }), 'CTRL_ERR_STORE_UNAVAILABLE')
  await s1.close()
  // A LOCK naming a live process (our parent) refuses; one naming a dead process is taken over.
  fs.writeFileSync(path.join(dir, 'LOCK'), `${process.ppid}\n`)
  const e = await rejectsWith(t, embeddedStore({ dir }), 'CTRL_ERR_STORE_UNAVAILABLE')
  t.regex(e?.message ?? '', new RegExp(`process ${process.ppid}`))
  fs.writeFileSync(path.join(dir, 'LOCK'), '2147483646\n')
  const s2 = await open()
  t.is(await s2.revision(), 1)
})

// Serial: it patches FileHandle.prototype, and serial tests run before the concurrent ones.
test.serial('a log write the disk refuses fails the store: the write and everything after reject UNAVAILABLE; reopening recovers what was acknowledged', async (t) => {
  const { dir, open } = tmp(t)
  const s1 = await open()
  const kept = await s1.create('/kept', enc('k'))
  const probe = await fsp.open(path.join(dir, 'LOCK'), 'r')
  const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> }
  await probe.close()
  const original = proto.datasync
  proto.datasync = async function () { throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }) }
  try {
    const results = await Promise.allSettled([s1.create('/lost1', enc('x')), s1.create('/lost2', enc('y'))])
    for (const r of results) t.true(r.status === 'rejected' && r.reason instanceof StoreError && r.reason.code === 'CTRL_ERR_STORE_UNAVAILABLE', String(r.status === 'rejected' ? r.reason : r.status))
  } finally {
    proto.datasync = original
  }
  const e = await rejectsWith(t, s1.get('/kept'), 'CTRL_ERR_STORE_UNAVAILABLE')
  t.regex(String((e?.cause as Error | undefined)?.message), /writing the log/)
  await rejectsWith(t, s1.create('/after', enc('z')), 'CTRL_ERR_STORE_UNAVAILABLE')
  await rejectsWith(t, s1.snapshot(), 'CTRL_ERR_STORE_UNAVAILABLE')
  await s1.close()
  const s2 = await open()
  t.is(dec((await s2.get('/kept'))?.value), 'k')
  t.true(await s2.revision() >= kept.modRevision)
})

test('limits and bad options are CTRL_ERR_STORE_INVALID', async (t) => {
  const { open } = tmp(t)
  const s = await open({ maxValueBytes: 1024, maxKeyBytes: 64 })
  await rejectsWith(t, s.create('/v', new Uint8Array(1025)), 'CTRL_ERR_STORE_INVALID')
  await rejectsWith(t, s.create('/' + 'k'.repeat(64), enc('x')), 'CTRL_ERR_STORE_INVALID')
  await s.create('/v', new Uint8Array(1024))
  await rejectsWith(t, embeddedStore({ dir: '' }), 'CTRL_ERR_STORE_INVALID')
})
