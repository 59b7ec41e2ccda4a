/**
 * The embedded store's file formats: log segments, frames, change records and
 * snapshots. Pure functions over bytes; embedded.ts does the I/O.
 *
 * All integers are little-endian. Revisions, versions and deadlines are
 * float64 (exact up to 2^53, like the JS numbers they come from).
 *
 *   segment  := header frame*
 *   header   := "WEFTWAL1" firstRevision:f64 crc32(previous 16 bytes):u32          (20 bytes)
 *   frame    := FRAME_MAGIC:u32 length:u32 crc32(length bytes ++ payload):u32 payload   (one group commit)
 *   payload  := record*
 *   record   := 1 rev createRev prevRev version expiresAt ttl:f64 keyLen:u32 valueLen:u32 key value      put
 *             | 2 rev prevRev:f64 keyLen:u32 key                                                       delete
 *             | 3 rev:f64                                                                              compact
 *
 *   snapshot := "WEFTSNP1" revision compactRevision keyCount:f64 crc32(previous 32 bytes):u32  frame*
 *   snapshot frame payload := 1 entry*  |  2 keyCount:f64 (the last frame)
 *   entry    := keyLen:u32 key versionCount:u32 (modRev createRev version expiresAt ttl:f64 valueLen:u32 value)*
 *
 * prevRevision is the modRevision of the version a write replaced (0 for none),
 * so replay checks every record against the index it rebuilds, as kine's
 * (name, prev_revision) unique index checks every insert.
 */
import * as zlib from 'node:zlib'
import { StoreError } from './errors.js'
import type { Change, HistoryState } from './memory.js'
import type { KeyValue } from './types.js'

export const SEGMENT_MAGIC = Buffer.from('WEFTWAL1', 'latin1')
export const SNAPSHOT_MAGIC = Buffer.from('WEFTSNP1', 'latin1')
export const SEGMENT_HEADER_BYTES = 20
export const SNAPSHOT_HEADER_BYTES = 36
/** 'WFRM' */
export const FRAME_MAGIC = 0x4d524657
export const FRAME_HEADER_BYTES = 12
/** No frame is larger (a batch is bounded well below; a larger length field is damage). */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024

const PUT = 1
const DELETE = 2
const COMPACT = 3
const PUT_FIXED = 1 + 8 * 6 + 4 * 2
const DELETE_FIXED = 1 + 8 * 2 + 4
const SNAP_ENTRIES = 1
const SNAP_END = 2
const VERSION_FIXED = 8 * 5 + 4

/** Syntax errors inside a frame whose checksum was right: the bytes are not ours, or were written wrong. */
export class FormatError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'FormatError'
  }
}

export const corrupt = (where: string, why: string): StoreError => new StoreError('CTRL_ERR_STORE_CORRUPT', `${where}: ${why}`)

// ---- segment header -------------------------------------------------------------------------------------------------

export function encodeSegmentHeader (firstRevision: number): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES)
  SEGMENT_MAGIC.copy(b, 0)
  b.writeDoubleLE(firstRevision, 8)
  b.writeUInt32LE(zlib.crc32(b.subarray(0, 16)), 16)
  return b
}

/** The segment's first revision, or undefined when the header is not one. */
export function decodeSegmentHeader (b: Uint8Array): number | undefined {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  if (buf.length < SEGMENT_HEADER_BYTES || !buf.subarray(0, 8).equals(SEGMENT_MAGIC)) return undefined
  if (buf.readUInt32LE(16) !== zlib.crc32(buf.subarray(0, 16))) return undefined
  const first = buf.readDoubleLE(8)
  return Number.isSafeInteger(first) && first >= 2 ? first : undefined
}

// ---- frames ---------------------------------------------------------------------------------------------------------

/** One frame around `parts`: one write, one checksum. */
export function encodeFrame (parts: Uint8Array[]): Buffer {
  let len = 0
  for (const p of parts) len += p.length
  const hdr = Buffer.alloc(FRAME_HEADER_BYTES)
  hdr.writeUInt32LE(FRAME_MAGIC, 0)
  hdr.writeUInt32LE(len, 4)
  let crc = zlib.crc32(hdr.subarray(4, 8))
  for (const p of parts) crc = zlib.crc32(p, crc)
  hdr.writeUInt32LE(crc, 8)
  return Buffer.concat([hdr, ...parts], FRAME_HEADER_BYTES + len)
}

/** The payload of a valid frame at `off`, or undefined. */
export function frameAt (buf: Buffer, off: number): Buffer | undefined {
  if (off + FRAME_HEADER_BYTES > buf.length || buf.readUInt32LE(off) !== FRAME_MAGIC) return undefined
  const len = buf.readUInt32LE(off + 4)
  if (len > MAX_FRAME_BYTES || off + FRAME_HEADER_BYTES + len > buf.length) return undefined
  const payload = buf.subarray(off + FRAME_HEADER_BYTES, off + FRAME_HEADER_BYTES + len)
  return zlib.crc32(payload, zlib.crc32(buf.subarray(off + 4, off + 8))) === buf.readUInt32LE(off + 8) ? payload : undefined
}

const allZero = (buf: Buffer, from: number): boolean => {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false
  return true
}

/** Whether some valid frame starts anywhere after `off`. */
function validFrameAfter (buf: Buffer, off: number): boolean {
  const magic = Buffer.alloc(4)
  magic.writeUInt32LE(FRAME_MAGIC, 0)
  for (let p = buf.indexOf(magic, off + 1); p !== -1; p = buf.indexOf(magic, p + 1)) {
    if (frameAt(buf, p) !== undefined) return true
  }
  return false
}

export interface FrameScan {
  payloads: Buffer[]
  /** Where the valid frames end: the file is truncated here when the tail is torn. */
  end: number
  /** Bytes after `end` (a torn tail). */
  tornBytes: number
}

/**
 * Reads the frames of `buf` from `off`. Frames are written one at a time and
 * each is made durable before the next is written, so only the last frame of
 * the last segment can be incomplete after a crash: a damaged frame there with
 * nothing valid after it is a torn write, and is cut off (`tornBytes`). Damage
 * followed by a valid frame, or damage in a segment that is not the last, is
 * corruption of acknowledged data, and throws CTRL_ERR_STORE_CORRUPT.
 */
export function scanFrames (buf: Buffer, off: number, where: string, last: boolean): FrameScan {
  const payloads: Buffer[] = []
  let o = off
  while (o < buf.length) {
    const payload = frameAt(buf, o)
    if (payload !== undefined) {
      payloads.push(payload)
      o += FRAME_HEADER_BYTES + payload.length
      continue
    }
    if (!last) throw corrupt(where, `damaged frame at offset ${o} in a segment that is not the last`)
    if (!allZero(buf, o)) {
      // The usual torn write: the frame's header made it and its end is the file's end (or zeros).
      const plausible = o + FRAME_HEADER_BYTES <= buf.length && buf.readUInt32LE(o) === FRAME_MAGIC && buf.readUInt32LE(o + 4) <= MAX_FRAME_BYTES
      const declaredEnd = plausible ? o + FRAME_HEADER_BYTES + buf.readUInt32LE(o + 4) : -1
      const torn = plausible && (declaredEnd >= buf.length || allZero(buf, declaredEnd))
      if (!torn && validFrameAfter(buf, o)) throw corrupt(where, `damaged frame at offset ${o} followed by valid frames (a checksum error before the tail)`)
    }
    return { payloads, end: o, tornBytes: buf.length - o }
  }
  return { payloads, end: o, tornBytes: 0 }
}

// ---- change records -------------------------------------------------------------------------------------------------

export function encodeChange (c: Change): Buffer {
  if (c.op === 'put') {
    const kv = c.kv
    const keyLen = Buffer.byteLength(kv.key)
    const b = Buffer.allocUnsafe(PUT_FIXED + keyLen + kv.value.length)
    let o = b.writeUInt8(PUT, 0)
    o = b.writeDoubleLE(kv.modRevision, o)
    o = b.writeDoubleLE(kv.createRevision, o)
    o = b.writeDoubleLE(c.prevRevision, o)
    o = b.writeDoubleLE(kv.version, o)
    o = b.writeDoubleLE(c.expiresAt, o)
    o = b.writeDoubleLE(kv.ttlSeconds ?? 0, o)
    o = b.writeUInt32LE(keyLen, o)
    o = b.writeUInt32LE(kv.value.length, o)
    o += b.write(kv.key, o, 'utf8')
    b.set(kv.value, o)
    return b
  }
  if (c.op === 'delete') {
    const keyLen = Buffer.byteLength(c.key)
    const b = Buffer.allocUnsafe(DELETE_FIXED + keyLen)
    let o = b.writeUInt8(DELETE, 0)
    o = b.writeDoubleLE(c.rev, o)
    o = b.writeDoubleLE(c.prevRevision, o)
    o = b.writeUInt32LE(keyLen, o)
    b.write(c.key, o, 'utf8')
    return b
  }
  const b = Buffer.allocUnsafe(9)
  b.writeUInt8(COMPACT, 0)
  b.writeDoubleLE(c.rev, 1)
  return b
}

/** A bounds-checked reader over one payload. */
class Reader {
  o = 0
  constructor (readonly b: Buffer) {}
  get left (): number { return this.b.length - this.o }
  need (n: number, what: string): void { if (this.left < n) throw new FormatError(`${what} runs past the end of its frame`) }
  u8 (): number { this.need(1, 'a byte'); return this.b.readUInt8(this.o++) }
  u32 (): number { this.need(4, 'a u32'); const v = this.b.readUInt32LE(this.o); this.o += 4; return v }
  f64 (): number { this.need(8, 'a f64'); const v = this.b.readDoubleLE(this.o); this.o += 8; return v }
  rev (what: string): number {
    const v = this.f64()
    if (!Number.isSafeInteger(v) || v < 0) throw new FormatError(`${what} ${v} is not a revision`)
    return v
  }

  str (n: number): string { this.need(n, 'a key'); const s = this.b.toString('utf8', this.o, this.o + n); this.o += n; return s }
  /** A copy, so the file buffer is not kept alive by the values. */
  bytes (n: number): Uint8Array { this.need(n, 'a value'); const v = new Uint8Array(this.b.subarray(this.o, this.o + n)); this.o += n; return v }
}

const EMPTY = new Uint8Array(0)

export function decodeChanges (payload: Buffer): Change[] {
  const r = new Reader(payload)
  const out: Change[] = []
  while (r.left > 0) {
    const type = r.u8()
    if (type === PUT) {
      const modRevision = r.rev('revision')
      const createRevision = r.rev('createRevision')
      const prevRevision = r.rev('prevRevision')
      const version = r.rev('version')
      const expiresAt = r.f64()
      const ttl = r.rev('ttlSeconds')
      const keyLen = r.u32()
      const valueLen = r.u32()
      const key = r.str(keyLen)
      const value = valueLen === 0 ? EMPTY : r.bytes(valueLen)
      const kv: KeyValue = { key, value, createRevision, modRevision, version }
      if (ttl > 0) kv.ttlSeconds = ttl
      out.push({ op: 'put', kv, prevRevision, expiresAt })
    } else if (type === DELETE) {
      const rev = r.rev('revision')
      const prevRevision = r.rev('prevRevision')
      const key = r.str(r.u32())
      out.push({ op: 'delete', key, rev, prevRevision })
    } else if (type === COMPACT) {
      out.push({ op: 'compact', rev: r.rev('compaction revision') })
    } else {
      throw new FormatError(`unknown record type ${type}`)
    }
  }
  return out
}

// ---- snapshots ------------------------------------------------------------------------------------------------------

export function encodeSnapshotHeader (state: { revision: number, compactRevision: number, keyCount: number }): Buffer {
  const b = Buffer.alloc(SNAPSHOT_HEADER_BYTES)
  SNAPSHOT_MAGIC.copy(b, 0)
  b.writeDoubleLE(state.revision, 8)
  b.writeDoubleLE(state.compactRevision, 16)
  b.writeDoubleLE(state.keyCount, 24)
  b.writeUInt32LE(zlib.crc32(b.subarray(0, 32)), 32)
  return b
}

/**
 * Encodes a snapshot's body as frames of about `chunkBytes`, one at a time, so
 * a large store is written without holding a second copy of it in memory.
 */
export function * encodeSnapshotFrames (state: HistoryState, expiresAt: (kv: KeyValue) => number, chunkBytes = 1024 * 1024): Generator<Buffer> {
  let parts: Buffer[] = [Buffer.from([SNAP_ENTRIES])]
  let size = 1
  for (const { key, versions } of state.keys) {
    const keyLen = Buffer.byteLength(key)
    const head = Buffer.allocUnsafe(8 + keyLen)
    head.writeUInt32LE(keyLen, 0)
    head.write(key, 4, 'utf8')
    head.writeUInt32LE(versions.length, 4 + keyLen)
    parts.push(head)
    size += head.length
    for (const kv of versions) {
      const v = Buffer.allocUnsafe(VERSION_FIXED)
      let o = v.writeDoubleLE(kv.modRevision, 0)
      o = v.writeDoubleLE(kv.createRevision, o)
      o = v.writeDoubleLE(kv.version, o)
      o = v.writeDoubleLE(expiresAt(kv), o)
      o = v.writeDoubleLE(kv.ttlSeconds ?? 0, o)
      v.writeUInt32LE(kv.value.length, o)
      parts.push(v)
      if (kv.value.length > 0) parts.push(Buffer.from(kv.value.buffer, kv.value.byteOffset, kv.value.byteLength))
      size += v.length + kv.value.length
    }
    if (size >= chunkBytes) {
      yield encodeFrame(parts)
      parts = [Buffer.from([SNAP_ENTRIES])]
      size = 1
    }
  }
  if (parts.length > 1) yield encodeFrame(parts)
  const end = Buffer.alloc(9)
  end.writeUInt8(SNAP_END, 0)
  end.writeDoubleLE(state.keys.length, 1)
  yield encodeFrame([end])
}

/** Decodes a whole snapshot file; any damage is CTRL_ERR_STORE_CORRUPT (a snapshot is renamed into place only once durable). */
export function decodeSnapshot (buf: Buffer, where: string): { state: HistoryState, expiresAt: Map<KeyValue, number> } {
  if (buf.length < SNAPSHOT_HEADER_BYTES || !buf.subarray(0, 8).equals(SNAPSHOT_MAGIC) || buf.readUInt32LE(32) !== zlib.crc32(buf.subarray(0, 32))) {
    throw corrupt(where, 'not a snapshot, or its header is damaged')
  }
  const revision = buf.readDoubleLE(8)
  const compactRevision = buf.readDoubleLE(16)
  const keyCount = buf.readDoubleLE(24)
  const state: HistoryState = { revision, compactRevision, keys: [] }
  const expiresAt = new Map<KeyValue, number>()
  let o = SNAPSHOT_HEADER_BYTES
  let ended = false
  try {
    while (o < buf.length) {
      const payload = frameAt(buf, o)
      if (payload === undefined) throw corrupt(where, `damaged frame at offset ${o}`)
      o += FRAME_HEADER_BYTES + payload.length
      if (ended) throw corrupt(where, 'data after the end frame')
      const r = new Reader(payload)
      const kind = r.u8()
      if (kind === SNAP_END) {
        if (r.f64() !== keyCount || state.keys.length !== keyCount || r.left !== 0) throw corrupt(where, 'key count mismatch')
        ended = true
        continue
      }
      if (kind !== SNAP_ENTRIES) throw corrupt(where, `unknown frame kind ${kind}`)
      while (r.left > 0) {
        const key = r.str(r.u32())
        const n = r.u32()
        const versions: KeyValue[] = []
        for (let i = 0; i < n; i++) {
          const modRevision = r.rev('modRevision')
          const createRevision = r.rev('createRevision')
          const version = r.rev('version')
          const at = r.f64()
          const ttl = r.rev('ttlSeconds')
          const valueLen = r.u32()
          const kv: KeyValue = { key, value: valueLen === 0 ? EMPTY : r.bytes(valueLen), createRevision, modRevision, version }
          if (ttl > 0) kv.ttlSeconds = ttl
          Object.freeze(kv)
          if (at > 0) expiresAt.set(kv, at)
          versions.push(kv)
        }
        state.keys.push({ key, versions })
      }
    }
  } catch (e) {
    if (e instanceof FormatError) throw corrupt(where, e.message)
    throw e
  }
  if (!ended) throw corrupt(where, 'no end frame')
  return { state, expiresAt }
}
