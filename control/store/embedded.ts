/**
 * The embedded store: the MVCC engine of memory.ts made durable by a
 * write-ahead log in a data directory, with group commit, snapshots and log
 * rotation. File formats in embedded-format.ts; the argument for durability in
 * docs/store.md.
 *
 *   <dir>/LOCK                       pid of the process that has the store open
 *   <dir>/wal-<first revision>.log   log segments, replayed in order
 *   <dir>/snap-<revision>.snap       the state at a revision; the log before it is deleted
 *
 * A write enters the in-memory index at once (so compare-and-swap sees it),
 * is appended to the next frame, and is acknowledged once that frame is
 * written and fdatasync'd. Writes arriving while a frame is being synced
 * queue for the next one: concurrent writers share an fsync (group commit).
 * Only one frame is ever unsynced, so after a crash only the last frame of the
 * last segment can be torn; replay truncates it, and refuses anything else
 * that fails its checksum.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import * as path from 'node:path'
import { StoreError } from './errors.js'
import {
  SEGMENT_HEADER_BYTES, corrupt, decodeChanges, decodeSegmentHeader, decodeSnapshot, encodeChange, encodeFrame,
  encodeSegmentHeader, encodeSnapshotFrames, encodeSnapshotHeader, scanFrames, FormatError
} from './embedded-format.js'
import { MvccStore } from './memory.js'
import type { Change, Journal, StoreLimits } from './memory.js'
import type { Store } from './types.js'

export interface EmbeddedStoreOptions extends StoreLimits {
  /** The data directory (created if missing). */
  dir: string
  /**
   * Take a snapshot and start a new log segment once the log has grown by this
   * many bytes since the last snapshot, or by the last snapshot's size if that
   * is larger (so snapshots cost at most as much writing as the log). Default 64 MiB.
   */
  snapshotBytes?: number
}

export interface EmbeddedStats {
  /** Time to open: reading the snapshot, replaying the log. */
  openMs: number
  /** Revision of the snapshot the store was opened from (0: none). */
  openedFromSnapshot: number
  /** Changes replayed from the log when opening. */
  replayedChanges: number
  /** Bytes of a torn tail cut off when opening. */
  truncatedBytes: number
  /** Log segments on disk now. */
  segments: number
  /** Revision of the newest snapshot on disk (0: none). */
  snapshotRevision: number
  /** Frames (fsyncs) and changes written since opening. */
  frames: number
  changes: number
  /** Why the last snapshot failed, if it did (the log still holds everything). */
  lastSnapshotError: string | undefined
}

export interface EmbeddedStore extends Store {
  readonly kind: 'embedded'
  readonly dir: string
  stats (): EmbeddedStats
  /** Starts a new log segment, writes a snapshot, and deletes what it makes redundant. */
  snapshot (): Promise<void>
}

const DEFAULT_SNAPSHOT_BYTES = 64 * 1024 * 1024
/** A frame is cut here (plus one record): far below the largest frame replay accepts (MAX_FRAME_BYTES, 256 MiB). */
const MAX_BATCH_BYTES = 16 * 1024 * 1024
const hex = (n: number): string => n.toString(16).padStart(16, '0')
const segmentName = (first: number): string => `wal-${hex(first)}.log`
const snapshotName = (rev: number): string => `snap-${hex(rev)}.snap`
const SEGMENT_RE = /^wal-([0-9a-f]{16})\.log$/
const SNAPSHOT_RE = /^snap-([0-9a-f]{16})\.snap$/

/** Directories open in this process (the LOCK file only tells other processes). */
const openDirs = new Set<string>()

interface Deferred { promise: Promise<void>, resolve: () => void, reject: (e: unknown) => void }
/** Records written as one frame, and the promise of everyone waiting for them. */
interface Batch { recs: Buffer[], bytes: number, lastRev: number, done: Deferred }
function deferred (): Deferred {
  let resolve!: () => void
  let reject!: (e: unknown) => void
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej })
  promise.catch(() => { /* observed by whoever awaits it */ })
  return { promise, resolve, reject }
}

async function fsyncDir (dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r')
  try { await fh.sync() } finally { await fh.close() }
}

async function writeAll (fh: fsp.FileHandle, buf: Buffer): Promise<void> {
  let off = 0
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off)
    off += bytesWritten
  }
}

/** Writes `name` in `dir` whole or not at all: a temp file, fsync, rename, fsync of the directory. */
async function writeFileAtomic (dir: string, name: string, chunks: Iterable<Buffer>): Promise<number> {
  const tmp = path.join(dir, name + '.tmp')
  const fh = await fsp.open(tmp, 'w')
  let size = 0
  try {
    for (const c of chunks) {
      await writeAll(fh, c)
      size += c.length
    }
    await fh.sync()
  } finally {
    await fh.close()
  }
  await fsp.rename(tmp, path.join(dir, name))
  await fsyncDir(dir)
  return size
}

function lock (dir: string): void {
  const real = fs.realpathSync(dir)
  if (openDirs.has(real)) throw new StoreError('CTRL_ERR_STORE_UNAVAILABLE', `${dir} is already open in this process`)
  const file = path.join(dir, 'LOCK')
  let holder: number | undefined
  try {
    holder = Number.parseInt(fs.readFileSync(file, 'utf8'), 10)
  } catch { /* no lock */ }
  if (holder !== undefined && Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid) {
    let alive = true
    try { process.kill(holder, 0) } catch (e) { alive = (e as NodeJS.ErrnoException).code === 'EPERM' }
    if (alive) throw new StoreError('CTRL_ERR_STORE_UNAVAILABLE', `${dir} is in use by process ${holder} (remove ${file} if that is wrong)`)
  }
  fs.writeFileSync(file, `${process.pid}\n`)
  openDirs.add(real)
}

function unlock (dir: string): void {
  try {
    const real = fs.realpathSync(dir)
    openDirs.delete(real)
    if (fs.readFileSync(path.join(dir, 'LOCK'), 'utf8').trim() === String(process.pid)) fs.unlinkSync(path.join(dir, 'LOCK'))
  } catch { /* already gone */ }
}

class Embedded extends MvccStore implements EmbeddedStore {
  declare readonly kind: 'embedded'
  readonly dir: string
  readonly #snapshotBytes: number
  #fh: fsp.FileHandle | undefined
  /** First revisions of the segments on disk, ascending; the last is being appended to. */
  #segments: number[] = []
  #snapshotRev = 0
  #lastSnapshotSize = 0
  #bytesSinceSnapshot = 0
  #stats: Omit<EmbeddedStats, 'segments' | 'snapshotRevision'> = {
    openMs: 0, openedFromSnapshot: 0, replayedChanges: 0, truncatedBytes: 0, frames: 0, changes: 0, lastSnapshotError: undefined
  }

  // group commit: batches waiting for the writer, each one frame and one fsync
  #queue: Batch[] = []
  #current: Deferred | undefined
  #writing = false
  #writtenRev = 0
  #failed: unknown
  #snapshotting: Promise<void> | undefined
  #snapshotWanted: Deferred | undefined

  constructor (opts: EmbeddedStoreOptions) {
    super({ kind: 'embedded', ...(opts.maxKeyBytes !== undefined ? { maxKeyBytes: opts.maxKeyBytes } : {}), ...(opts.maxValueBytes !== undefined ? { maxValueBytes: opts.maxValueBytes } : {}) })
    this.dir = opts.dir
    this.#snapshotBytes = opts.snapshotBytes ?? DEFAULT_SNAPSHOT_BYTES
  }

  stats (): EmbeddedStats {
    return { ...this.#stats, segments: this.#segments.length, snapshotRevision: this.#snapshotRev }
  }

  async snapshot (): Promise<void> {
    if (this.closed) throw new StoreError('CTRL_ERR_STORE_UNAVAILABLE', 'the store is closed')
    if (this.#failed !== undefined) throw this.#failed
    const d = this.#snapshotWanted ??= deferred()
    this.#kick()
    await d.promise
  }

  // ---- recovery ------------------------------------------------------------------------------------------------------

  async open (): Promise<void> {
    const t0 = performance.now()
    const dir = this.dir
    for (const name of fs.readdirSync(dir)) if (name.endsWith('.tmp')) fs.rmSync(path.join(dir, name), { force: true })
    const names = fs.readdirSync(dir)
    const snapshots = names.flatMap((n) => { const m = SNAPSHOT_RE.exec(n); return m === null ? [] : [Number.parseInt(m[1] as string, 16)] }).sort((a, b) => a - b)
    const segments = names.flatMap((n) => { const m = SEGMENT_RE.exec(n); return m === null ? [] : [Number.parseInt(m[1] as string, 16)] }).sort((a, b) => a - b)

    // 1. The newest snapshot: renamed into place only once complete and synced, so any damage is corruption.
    const snapRev = snapshots[snapshots.length - 1]
    if (snapRev !== undefined) {
      const file = snapshotName(snapRev)
      const buf = fs.readFileSync(path.join(dir, file))
      const { state, expiresAt } = decodeSnapshot(buf, file)
      if (state.revision !== snapRev) throw corrupt(file, `holds revision ${state.revision}`)
      this.restoreHistory(state, expiresAt)
      this.#snapshotRev = snapRev
      this.#lastSnapshotSize = buf.length
      this.#stats.openedFromSnapshot = snapRev
      for (const old of snapshots.slice(0, -1)) fs.rmSync(path.join(dir, snapshotName(old)), { force: true })
    }
    let rev = snapRev ?? 1

    // 2. The log after it. Segment i holds revisions [first_i, first_{i+1}); skip those wholly in the snapshot.
    const live = segments.filter((first, i) => { const next = segments[i + 1]; return next === undefined || next - 1 > rev })
    const first = live[0]
    if (first !== undefined && first > rev + 1) throw corrupt(segmentName(first), `the log starts at revision ${first}, the snapshot ends at ${rev}: a segment is missing`)
    for (const [i, segFirst] of live.entries()) {
      const file = segmentName(segFirst)
      const buf = fs.readFileSync(path.join(dir, file))
      const hdr = decodeSegmentHeader(buf)
      if (hdr !== segFirst) throw corrupt(file, 'damaged segment header')
      const isLast = i === live.length - 1
      const scan = scanFrames(buf, SEGMENT_HEADER_BYTES, file, isLast)
      for (const payload of scan.payloads) {
        let changes: Change[]
        try {
          changes = decodeChanges(payload)
        } catch (e) {
          if (e instanceof FormatError) throw corrupt(file, e.message)
          throw e
        }
        for (const c of changes) {
          if (c.op !== 'compact') {
            const r = c.op === 'put' ? c.kv.modRevision : c.rev
            if (r < segFirst) throw corrupt(file, `revision ${r} in a segment starting at ${segFirst}`)
            if (r <= rev) continue
            rev = r
            this.#stats.replayedChanges++
          }
          this.replay(c)
        }
      }
      if (scan.tornBytes > 0) {
        // Never acknowledged: it was being written when the process died.
        await fsp.truncate(path.join(dir, file), scan.end)
        const fh = await fsp.open(path.join(dir, file), 'r+')
        try { await fh.datasync() } finally { await fh.close() }
        this.#stats.truncatedBytes = scan.tornBytes
      }
      if (isLast) this.#bytesSinceSnapshot = scan.end
    }
    for (const old of segments) if (!live.includes(old)) fs.rmSync(path.join(dir, segmentName(old)), { force: true })
    this.#segments = [...live]
    this.#writtenRev = rev

    // 3. Append to the last segment, or start one.
    const tail = this.#segments[this.#segments.length - 1]
    if (tail === undefined) await this.#newSegment(rev + 1)
    else this.#fh = await fsp.open(path.join(dir, segmentName(tail)), 'a')
    this.attachJournal(this.#journal())
    this.startExpiry()
    this.#stats.openMs = performance.now() - t0
  }

  async #newSegment (first: number): Promise<void> {
    await writeFileAtomic(this.dir, segmentName(first), [encodeSegmentHeader(first)])
    const fh = await fsp.open(path.join(this.dir, segmentName(first)), 'a')
    const old = this.#fh
    this.#fh = fh
    this.#segments.push(first)
    await old?.close()
  }

  // ---- the journal: group commit -------------------------------------------------------------------------------------

  #journal (): Journal {
    const self = this
    return {
      append: (change) => self.#append(change),
      barrier: async () => { await (self.#queue[self.#queue.length - 1]?.done ?? self.#current)?.promise },
      get busy () { return self.#queue.length > 0 || self.#writing },
      close: async () => { await self.#shutdown() }
    }
  }

  #append (change: Change): Promise<void> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed)
    let rec: Buffer
    try {
      rec = encodeChange(change)
    } catch (e) {
      // The change is in the index already: carrying on would leave a gap in the log. Stop instead.
      this.#failWith(e)
      return Promise.reject(this.#failed)
    }
    let batch = this.#queue[this.#queue.length - 1]
    if (batch === undefined || batch.bytes >= MAX_BATCH_BYTES) {
      batch = { recs: [], bytes: 0, lastRev: 0, done: deferred() }
      this.#queue.push(batch)
    }
    batch.recs.push(rec)
    batch.bytes += rec.length
    if (change.op !== 'compact') batch.lastRev = change.op === 'put' ? change.kv.modRevision : change.rev
    this.#kick()
    return batch.done.promise
  }

  #failWith (cause: unknown): void {
    if (this.#failed === undefined) this.#failed = new StoreError('CTRL_ERR_STORE_UNAVAILABLE', `writing the log in ${this.dir} failed`, { cause })
    for (const b of this.#queue.splice(0)) b.done.reject(this.#failed)
    this.#snapshotWanted?.reject(this.#failed)
    this.#snapshotWanted = undefined
    this.fail(this.#failed)
  }

  #kick (): void {
    if (this.#writing) return
    this.#writing = true
    // Start on the next microtask: writers issued in the same tick share the first frame too.
    queueMicrotask(() => { void this.#loop() })
  }

  async #loop (): Promise<void> {
    try {
      while (this.#failed === undefined && (this.#queue.length > 0 || (this.#snapshotWanted !== undefined && this.#snapshotting === undefined))) {
        const batch = this.#queue.shift()
        if (batch !== undefined) {
          this.#current = batch.done
          try {
            const frame = encodeFrame(batch.recs)
            const fh = this.#fh as fsp.FileHandle
            await writeAll(fh, frame)
            await fh.datasync()
            this.#bytesSinceSnapshot += frame.length
            this.#stats.frames++
            this.#stats.changes += batch.recs.length
            this.#writtenRev = Math.max(this.#writtenRev, batch.lastRev)
            batch.done.resolve()
          } catch (e) {
            this.#failWith(e)
            batch.done.reject(this.#failed)
            break
          } finally {
            this.#current = undefined
          }
        }
        const due = this.#bytesSinceSnapshot >= Math.max(this.#snapshotBytes, this.#lastSnapshotSize)
        if ((due || this.#snapshotWanted !== undefined) && this.#snapshotting === undefined) await this.#rotate()
      }
    } finally {
      this.#writing = false
    }
  }

  /**
   * Starts a new segment at the next revision, then snapshots the state at the
   * last written one in the background; the snapshot, once durable, makes the
   * older segments and snapshots redundant.
   */
  async #rotate (): Promise<void> {
    const wanted = this.#snapshotWanted
    this.#snapshotWanted = undefined
    const at = this.#writtenRev
    try {
      if (this.#segments[this.#segments.length - 1] !== at + 1) await this.#newSegment(at + 1)
    } catch (e) {
      this.#stats.lastSnapshotError = String(e)
      wanted?.reject(e)
      return
    }
    this.#bytesSinceSnapshot = 0
    // Capture now (synchronously), write in the background while the log goes on.
    const state = this.captureHistory(at)
    const write = async (): Promise<void> => {
      const frames = encodeSnapshotFrames(state, (kv) => this.expiresAtOf(kv))
      const size = await writeFileAtomic(this.dir, snapshotName(at), [encodeSnapshotHeader({ ...state, keyCount: state.keys.length }), ...frames])
      const oldSnap = this.#snapshotRev
      this.#snapshotRev = at
      this.#lastSnapshotSize = size
      const redundant = this.#segments.filter((first) => first <= at)
      this.#segments = this.#segments.filter((first) => first > at)
      for (const first of redundant) await fsp.rm(path.join(this.dir, segmentName(first)), { force: true })
      if (oldSnap !== 0 && oldSnap !== at) await fsp.rm(path.join(this.dir, snapshotName(oldSnap)), { force: true })
      await fsyncDir(this.dir)
      this.#stats.lastSnapshotError = undefined
    }
    this.#snapshotting = write().then(() => { wanted?.resolve() }, (e: unknown) => {
      this.#stats.lastSnapshotError = String(e)
      wanted?.reject(new StoreError('CTRL_ERR_STORE_UNAVAILABLE', `snapshot in ${this.dir} failed`, { cause: e }))
    }).finally(() => {
      this.#snapshotting = undefined
      // A snapshot asked for while this one ran.
      if (this.#snapshotWanted !== undefined) this.#kick()
    })
  }

  /** Releases the file handle of a store that failed to open. */
  async release (): Promise<void> {
    await this.#fh?.close().catch(() => {})
    this.#fh = undefined
  }

  async #shutdown (): Promise<void> {
    // Let appended changes reach the disk, and a snapshot in progress finish.
    while (this.#writing || this.#snapshotting !== undefined) {
      if (this.#writing) await (this.#current ?? this.#queue[0]?.done)?.promise.catch(() => {})
      if (this.#snapshotting !== undefined) await this.#snapshotting
      await new Promise((resolve) => setImmediate(resolve))
    }
    this.#snapshotWanted?.reject(new StoreError('CTRL_ERR_STORE_UNAVAILABLE', 'the store was closed'))
    this.#snapshotWanted = undefined
    try {
      await this.#fh?.close()
    } finally {
      this.#fh = undefined
      unlock(this.dir)
    }
  }
}

/**
 * Opens (or creates) the embedded store in `opts.dir`, replaying its snapshot
 * and log. Rejects with CTRL_ERR_STORE_CORRUPT when acknowledged data is
 * damaged, CTRL_ERR_STORE_UNAVAILABLE when another process has it open.
 */
export async function embeddedStore (opts: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  if (typeof opts?.dir !== 'string' || opts.dir === '') throw new StoreError('CTRL_ERR_STORE_INVALID', 'embeddedStore needs a data directory')
  if (opts.snapshotBytes !== undefined && !(opts.snapshotBytes > 0)) throw new StoreError('CTRL_ERR_STORE_INVALID', 'snapshotBytes must be positive')
  fs.mkdirSync(opts.dir, { recursive: true })
  lock(opts.dir)
  const store = new Embedded(opts)
  try {
    await store.open()
  } catch (e) {
    await store.close().catch(() => {})
    await store.release()
    unlock(opts.dir)
    if (e instanceof StoreError) throw e
    throw new StoreError('CTRL_ERR_STORE_UNAVAILABLE', `cannot open the store in ${opts.dir}: ${String(e)}`, { cause: e })
  }
  return store
}
