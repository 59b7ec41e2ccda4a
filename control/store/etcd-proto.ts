/**
 * etcd v3's protobuf messages (api/etcdserverpb/rpc.proto, api/mvccpb/kv.proto),
 * the ones this store sends and reads, as a pure codec: requests to bytes,
 * response bytes to plain objects. No I/O here (etcd-rpc.ts carries the bytes).
 *
 * Why our own and not protobufjs through etcd3/grpc-js: a create costs the API
 * server ~90 µs of CPU this way against ~200 µs through etcd3 (docs/store-etcd.md,
 * "Client"), and the API server's single thread is what bounds its write rate.
 *
 * Field names follow the .proto (snake_case, as etcd3's types did). Revisions,
 * versions, counts and TTLs are numbers (etcd's revisions stay far below 2^53);
 * 64-bit identifiers (cluster and member IDs, lease IDs) are decimal strings,
 * exact over all 64 bits. Keys and values are views into the response buffer.
 */
import { StoreError } from './errors.js'

// ---- requests --------------------------------------------------------------------------------------------------------

export interface RangeRequest {
  key: Uint8Array
  range_end?: Uint8Array
  limit?: number
  revision?: number
  count_only?: boolean
}

export interface PutRequest {
  key: Uint8Array
  value: Uint8Array
  /** Lease ID as a decimal string; absent or '0' for none. */
  lease?: string
  prev_kv?: boolean
}

export interface DeleteRangeRequest {
  key: Uint8Array
  range_end?: Uint8Array
  prev_kv?: boolean
}

/** The compares this store makes: a key's create or mod revision against a value. */
export interface Compare {
  key: Uint8Array
  target: 'Create' | 'Mod'
  result: 'Equal'
  create_revision?: number
  mod_revision?: number
}

export interface RequestOp {
  request_range?: RangeRequest
  request_put?: PutRequest
  request_delete_range?: DeleteRangeRequest
}

export interface TxnRequest {
  compare: Compare[]
  success: RequestOp[]
  failure: RequestOp[]
}

export interface WatchCreateRequest {
  key: Uint8Array
  range_end?: Uint8Array
  start_revision?: number
  progress_notify?: boolean
  prev_kv?: boolean
}

export type WatchRequest =
  | { create_request: WatchCreateRequest }
  | { cancel_request: { watch_id: number } }
  | { progress_request: Record<string, never> }

// ---- responses -------------------------------------------------------------------------------------------------------

export interface ResponseHeader {
  cluster_id: string
  member_id: string
  revision: number
  raft_term: number
}

export interface KeyValue {
  key: Buffer
  create_revision: number
  mod_revision: number
  version: number
  value: Buffer
  /** Lease ID as a decimal string, '0' for none. */
  lease: string
}

export interface RangeResponse { header: ResponseHeader, kvs: KeyValue[], more: boolean, count: number }
export interface PutResponse { header: ResponseHeader, prev_kv?: KeyValue }
export interface DeleteRangeResponse { header: ResponseHeader, deleted: number, prev_kvs: KeyValue[] }
export interface ResponseOp { response_range?: RangeResponse, response_put?: PutResponse, response_delete_range?: DeleteRangeResponse }
export interface TxnResponse { header: ResponseHeader, succeeded: boolean, responses: ResponseOp[] }
export interface CompactionResponse { header: ResponseHeader }
export interface LeaseGrantResponse { header: ResponseHeader, ID: string, TTL: number, error: string }
export interface LeaseTimeToLiveResponse { header: ResponseHeader, ID: string, TTL: number, grantedTTL: number }

export interface Event {
  type: 'Put' | 'Delete'
  kv: KeyValue
  prev_kv?: KeyValue
}

export interface WatchResponse {
  header: ResponseHeader
  watch_id: number
  created: boolean
  canceled: boolean
  compact_revision: number
  cancel_reason: string
  fragment: boolean
  events: Event[]
}

// ---- writing ---------------------------------------------------------------------------------------------------------

const VARINT = 0
const LEN = 2

/**
 * Writes one message into a growing buffer. A nested message is written in
 * place after room for its length, which is then filled in and the body moved
 * up against it (at most 4 bytes: bodies stay under 2^28).
 */
class Writer {
  buf: Buffer
  pos: number

  constructor (size: number, prefix: number) {
    this.buf = Buffer.allocUnsafe(size + prefix)
    this.pos = prefix
  }

  #room (n: number): void {
    if (this.pos + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n))
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }

  /** A non-negative integer below 2^53. */
  varint (n: number): void {
    this.#room(10)
    const b = this.buf
    let p = this.pos
    while (n > 0x7f) {
      b[p++] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    b[p++] = n
    this.pos = p
  }

  tag (field: number, wire: number): void { this.varint(field * 8 + wire) }

  /** An int64 field given as a decimal string (lease IDs), exact over 64 bits; nothing for '0'. */
  int64String (field: number, s: string): void {
    let v = BigInt.asUintN(64, BigInt(s))
    if (v === 0n) return
    this.tag(field, VARINT)
    this.#room(10)
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80
      v >>= 7n
    }
    this.buf[this.pos++] = Number(v)
  }

  /** An integer field (proto3: nothing when 0 unless `always`, as for a oneof member). */
  uint (field: number, n: number | undefined, always = false): void {
    if (n === undefined || (n === 0 && !always)) return
    if (!Number.isSafeInteger(n) || n < 0) throw new StoreError('CTRL_ERR_STORE_INVALID', `etcd: ${n} is not a non-negative integer`)
    this.tag(field, VARINT)
    this.varint(n)
  }

  bool (field: number, v: boolean | undefined): void {
    if (v !== true) return
    this.tag(field, VARINT)
    this.varint(1)
  }

  bytes (field: number, b: Uint8Array | undefined, always = false): void {
    if (b === undefined || (b.length === 0 && !always)) return
    this.tag(field, LEN)
    this.varint(b.length)
    this.#room(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }

  message (field: number, body: () => void): void {
    this.tag(field, LEN)
    this.#room(4)
    const lenAt = this.pos
    this.pos += 4
    body()
    const len = this.pos - lenAt - 4
    const lenSize = len < 0x80 ? 1 : len < 0x4000 ? 2 : len < 0x200000 ? 3 : 4
    if (len >= 0x10000000) throw new StoreError('CTRL_ERR_STORE_INVALID', `etcd: a request of ${len} bytes is too large`)
    if (lenSize < 4) this.buf.copyWithin(lenAt + lenSize, lenAt + 4, this.pos)
    let n = len
    let p = lenAt
    for (let i = 1; i < lenSize; i++) {
      this.buf[p++] = (n & 0x7f) | 0x80
      n >>>= 7
    }
    this.buf[p] = n
    this.pos -= 4 - lenSize
  }

  /** The message, behind gRPC's 5-byte frame header (uncompressed flag, big-endian length). */
  grpcFrame (): Buffer {
    const len = this.pos - 5
    this.buf[0] = 0
    this.buf.writeUInt32BE(len, 1)
    return this.buf.subarray(0, this.pos)
  }
}

function writeRange (w: Writer, r: RangeRequest): void {
  w.bytes(1, r.key, true)
  w.bytes(2, r.range_end)
  w.uint(3, r.limit)
  w.uint(4, r.revision)
  w.bool(9, r.count_only)
}

function writePut (w: Writer, r: PutRequest): void {
  w.bytes(1, r.key, true)
  w.bytes(2, r.value)
  if (r.lease !== undefined) w.int64String(3, r.lease)
  w.bool(4, r.prev_kv)
}

function writeDeleteRange (w: Writer, r: DeleteRangeRequest): void {
  w.bytes(1, r.key, true)
  w.bytes(2, r.range_end)
  w.bool(3, r.prev_kv)
}

function writeOp (w: Writer, op: RequestOp): void {
  if (op.request_range !== undefined) { const r = op.request_range; w.message(1, () => { writeRange(w, r) }) }
  else if (op.request_put !== undefined) { const r = op.request_put; w.message(2, () => { writePut(w, r) }) }
  else if (op.request_delete_range !== undefined) { const r = op.request_delete_range; w.message(3, () => { writeDeleteRange(w, r) }) }
  else throw new StoreError('CTRL_ERR_STORE_INVALID', 'etcd: a txn operation with no request')
}

const TARGETS = { Create: 1, Mod: 2 } as const

function writeCompare (w: Writer, c: Compare): void {
  // result Equal is 0, proto3's default: not written.
  w.uint(2, TARGETS[c.target])
  w.bytes(3, c.key, true)
  // The target is a oneof: written even when 0 (a create-if-absent compares create_revision with 0).
  if (c.target === 'Create') w.uint(5, c.create_revision ?? 0, true)
  else w.uint(6, c.mod_revision ?? 0, true)
}

/** gRPC-framed request bodies, one per RPC this store makes. */
export const encode = {
  range (r: RangeRequest): Buffer {
    const w = new Writer(32 + r.key.length + (r.range_end?.length ?? 0), 5)
    writeRange(w, r)
    return w.grpcFrame()
  },
  deleteRange (r: DeleteRangeRequest): Buffer {
    const w = new Writer(32 + r.key.length + (r.range_end?.length ?? 0), 5)
    writeDeleteRange(w, r)
    return w.grpcFrame()
  },
  put (r: PutRequest): Buffer {
    const w = new Writer(48 + r.key.length + r.value.length, 5)
    writePut(w, r)
    return w.grpcFrame()
  },
  txn (t: TxnRequest): Buffer {
    let size = 64
    for (const c of t.compare) size += 24 + c.key.length
    for (const op of [...t.success, ...t.failure]) size += 48 + (op.request_put?.key.length ?? 0) + (op.request_put?.value.length ?? 0) + (op.request_range?.key.length ?? 0) + (op.request_delete_range?.key.length ?? 0)
    const w = new Writer(size, 5)
    for (const c of t.compare) w.message(1, () => { writeCompare(w, c) })
    for (const op of t.success) w.message(2, () => { writeOp(w, op) })
    for (const op of t.failure) w.message(3, () => { writeOp(w, op) })
    return w.grpcFrame()
  },
  compact (revision: number): Buffer {
    const w = new Writer(16, 5)
    w.uint(1, revision)
    return w.grpcFrame()
  },
  leaseGrant (ttl: number): Buffer {
    const w = new Writer(16, 5)
    w.uint(1, ttl)
    return w.grpcFrame()
  },
  leaseTimeToLive (id: string): Buffer {
    const w = new Writer(16, 5)
    w.int64String(1, id)
    return w.grpcFrame()
  },
  watch (r: WatchRequest): Buffer {
    const w = new Writer(64, 5)
    if ('create_request' in r) {
      const c = r.create_request
      w.message(1, () => {
        w.bytes(1, c.key, true)
        w.bytes(2, c.range_end)
        w.uint(3, c.start_revision)
        w.bool(4, c.progress_notify)
        w.bool(6, c.prev_kv)
      })
    } else if ('cancel_request' in r) {
      const id = r.cancel_request.watch_id
      w.message(2, () => { w.uint(1, id) })
    } else {
      w.message(3, () => {})
    }
    return w.grpcFrame()
  }
}

// ---- reading ---------------------------------------------------------------------------------------------------------

const malformed = (what: string): StoreError => new StoreError('CTRL_ERR_STORE_UNAVAILABLE', `etcd: malformed response: ${what}`)

const EMPTY = Buffer.alloc(0)
const ID_CACHE = 8
const SIGNED_IDS: Array<{ bytes: Buffer, text: string }> = []
const UNSIGNED_IDS: Array<{ bytes: Buffer, text: string }> = []

/** A bounds-checked reader over one message (or a nested one, by range). */
class Reader {
  pos: number
  constructor (readonly buf: Buffer, start: number, readonly end: number) {
    this.pos = start
  }

  /** A varint as a number: exact below 2^53; a longer one (an ID, a negative int64) is read whole as int64. */
  varint (): number {
    const b = this.buf
    const start = this.pos
    let p = start
    let v = 0
    let mul = 1
    for (let i = 0; i < 7; i++) {
      if (p >= this.end) throw malformed('truncated varint')
      const x = b[p++] as number
      v += (x & 0x7f) * mul
      if (x < 0x80) { this.pos = p; return v }
      mul *= 0x80
    }
    this.pos = start
    return Number(BigInt.asIntN(64, this.varint64()))
  }

  /** A whole 64-bit varint, unsigned. */
  varint64 (): bigint {
    let v = 0n
    let shift = 0n
    let p = this.pos
    for (let i = 0; i < 10; i++) {
      if (p >= this.end) throw malformed('truncated varint')
      const x = this.buf[p++] as number
      v |= BigInt(x & 0x7f) << shift
      if (x < 0x80) { this.pos = p; return BigInt.asUintN(64, v) }
      shift += 7n
    }
    throw malformed('varint longer than 10 bytes')
  }

  /** Whether the varint at the current position fits the fast path (at most 7 bytes, below 2^49). */
  #short (): boolean {
    for (let p = this.pos, i = 0; i < 7 && p < this.end; i++, p++) if ((this.buf[p] as number) < 0x80) return true
    return false
  }

  /** A 64-bit integer field (int64) as an exact decimal string. */
  int64String (): string {
    return this.#short() ? String(this.varint()) : this.#long(true)
  }

  /** An unsigned 64-bit field (uint64) as an exact decimal string. */
  uint64String (): string {
    return this.#short() ? String(this.varint()) : this.#long(false)
  }

  /**
   * A long varint as a decimal string. The same few IDs (cluster, member,
   * a handful of leases) come in every response, so their strings are
   * remembered by their bytes instead of going through BigInt each time.
   */
  #long (signed: boolean): string {
    const start = this.pos
    let p = start
    while (p < this.end && (this.buf[p] as number) >= 0x80) p++
    const len = p + 1 - start
    const cache = signed ? SIGNED_IDS : UNSIGNED_IDS
    for (const c of cache) {
      if (c.bytes.length === len && this.buf.compare(c.bytes, 0, len, start, start + len) === 0) {
        this.pos = start + len
        return c.text
      }
    }
    const v = this.varint64()
    const text = String(signed ? BigInt.asIntN(64, v) : v)
    cache.unshift({ bytes: Buffer.from(this.buf.subarray(start, this.pos)), text })
    if (cache.length > ID_CACHE) cache.pop()
    return text
  }

  /** An int64 as a number (negative ones too: -1 for a TTL that ran out). */
  int64 (): number {
    return this.varint()
  }

  /** The end of a length-delimited field whose content starts at the new position. */
  len (): number {
    const n = this.varint()
    const end = this.pos + n
    if (end > this.end) throw malformed(`a field of ${n} bytes runs past the end`)
    return end
  }

  view (): Buffer {
    const end = this.len()
    const out = this.buf.subarray(this.pos, end)
    this.pos = end
    return out
  }

  string (): string {
    const end = this.len()
    const out = this.buf.toString('utf8', this.pos, end)
    this.pos = end
    return out
  }

  skip (wire: number): void {
    if (wire === VARINT) { this.varint(); return }
    if (wire === LEN) { this.pos = this.len(); return }
    if (wire === 1) { this.pos += 8 } else if (wire === 5) { this.pos += 4 } else throw malformed(`wire type ${wire}`)
    if (this.pos > this.end) throw malformed('truncated fixed-size field')
  }
}


function readHeader (r: Reader, end: number): ResponseHeader {
  const h: ResponseHeader = { cluster_id: '0', member_id: '0', revision: 0, raft_term: 0 }
  while (r.pos < end) {
    const t = r.varint()
    switch (t) {
      case 0x08: h.cluster_id = r.uint64String(); break
      case 0x10: h.member_id = r.uint64String(); break
      case 0x18: h.revision = r.int64(); break
      case 0x20: h.raft_term = r.int64(); break
      default: r.skip(t & 7)
    }
  }
  return h
}

function readKv (r: Reader, end: number): KeyValue {
  const kv: KeyValue = { key: EMPTY, create_revision: 0, mod_revision: 0, version: 0, value: EMPTY, lease: '0' }
  while (r.pos < end) {
    const t = r.varint()
    switch (t) {
      case 0x0a: kv.key = r.view(); break
      case 0x10: kv.create_revision = r.int64(); break
      case 0x18: kv.mod_revision = r.int64(); break
      case 0x20: kv.version = r.int64(); break
      case 0x2a: kv.value = r.view(); break
      case 0x30: kv.lease = r.int64String(); break
      default: r.skip(t & 7)
    }
  }
  return kv
}

function nested<T> (r: Reader, read: (r: Reader, end: number) => T): T {
  const end = r.len()
  const out = read(r, end)
  if (r.pos !== end) throw malformed('a nested message overran its length')
  return out
}

const NO_HEADER = (): ResponseHeader => ({ cluster_id: '0', member_id: '0', revision: 0, raft_term: 0 })

function readRangeResponse (r: Reader, end: number): RangeResponse {
  const out: RangeResponse = { header: NO_HEADER(), kvs: [], more: false, count: 0 }
  while (r.pos < end) {
    const t = r.varint()
    switch (t) {
      case 0x0a: out.header = nested(r, readHeader); break
      case 0x12: out.kvs.push(nested(r, readKv)); break
      case 0x18: out.more = r.varint() !== 0; break
      case 0x20: out.count = r.int64(); break
      default: r.skip(t & 7)
    }
  }
  return out
}

function readPutResponse (r: Reader, end: number): PutResponse {
  const out: PutResponse = { header: NO_HEADER() }
  while (r.pos < end) {
    const t = r.varint()
    switch (t) {
      case 0x0a: out.header = nested(r, readHeader); break
      case 0x12: out.prev_kv = nested(r, readKv); break
      default: r.skip(t & 7)
    }
  }
  return out
}

function readDeleteRangeResponse (r: Reader, end: number): DeleteRangeResponse {
  const out: DeleteRangeResponse = { header: NO_HEADER(), deleted: 0, prev_kvs: [] }
  while (r.pos < end) {
    const t = r.varint()
    switch (t) {
      case 0x0a: out.header = nested(r, readHeader); break
      case 0x10: out.deleted = r.int64(); break
      case 0x1a: out.prev_kvs.push(nested(r, readKv)); break
      default: r.skip(t & 7)
    }
  }
  return out
}

function readResponseOp (r: Reader, end: number): ResponseOp {
  const out: ResponseOp = {}
  while (r.pos < end) {
    const t = r.varint()
    switch (t) {
      case 0x0a: out.response_range = nested(r, readRangeResponse); break
      case 0x12: out.response_put = nested(r, readPutResponse); break
      case 0x1a: out.response_delete_range = nested(r, readDeleteRangeResponse); break
      default: r.skip(t & 7)
    }
  }
  return out
}

function readTxnResponse (r: Reader, end: number): TxnResponse {
  const out: TxnResponse = { header: NO_HEADER(), succeeded: false, responses: [] }
  while (r.pos < end) {
    const t = r.varint()
    switch (t) {
      case 0x0a: out.header = nested(r, readHeader); break
      case 0x10: out.succeeded = r.varint() !== 0; break
      case 0x1a: out.responses.push(nested(r, readResponseOp)); break
      default: r.skip(t & 7)
    }
  }
  return out
}

function readEvent (r: Reader, end: number): Event {
  let type: Event['type'] = 'Put'
  let kv: KeyValue | undefined
  let prev: KeyValue | undefined
  while (r.pos < end) {
    const t = r.varint()
    switch (t) {
      case 0x08: type = r.varint() === 1 ? 'Delete' : 'Put'; break
      case 0x12: kv = nested(r, readKv); break
      case 0x1a: prev = nested(r, readKv); break
      default: r.skip(t & 7)
    }
  }
  const ev: Event = { type, kv: kv ?? { key: EMPTY, create_revision: 0, mod_revision: 0, version: 0, value: EMPTY, lease: '0' } }
  if (prev !== undefined) ev.prev_kv = prev
  return ev
}

function readWatchResponse (r: Reader, end: number): WatchResponse {
  const out: WatchResponse = { header: NO_HEADER(), watch_id: 0, created: false, canceled: false, compact_revision: 0, cancel_reason: '', fragment: false, events: [] }
  while (r.pos < end) {
    const t = r.varint()
    switch (t) {
      case 0x0a: out.header = nested(r, readHeader); break
      case 0x10: out.watch_id = r.int64(); break
      case 0x18: out.created = r.varint() !== 0; break
      case 0x20: out.canceled = r.varint() !== 0; break
      case 0x28: out.compact_revision = r.int64(); break
      case 0x32: out.cancel_reason = r.string(); break
      case 0x38: out.fragment = r.varint() !== 0; break
      case 0x5a: out.events.push(nested(r, readEvent)); break
      default: r.skip(t & 7)
    }
  }
  return out
}

function readCompactionResponse (r: Reader, end: number): CompactionResponse {
  const out: CompactionResponse = { header: NO_HEADER() }
  while (r.pos < end) {
    const t = r.varint()
    if (t === 0x0a) out.header = nested(r, readHeader)
    else r.skip(t & 7)
  }
  return out
}

function readLeaseGrantResponse (r: Reader, end: number): LeaseGrantResponse {
  const out: LeaseGrantResponse = { header: NO_HEADER(), ID: '0', TTL: 0, error: '' }
  while (r.pos < end) {
    const t = r.varint()
    switch (t) {
      case 0x0a: out.header = nested(r, readHeader); break
      case 0x10: out.ID = r.int64String(); break
      case 0x18: out.TTL = r.int64(); break
      case 0x22: out.error = r.string(); break
      default: r.skip(t & 7)
    }
  }
  return out
}

function readLeaseTimeToLiveResponse (r: Reader, end: number): LeaseTimeToLiveResponse {
  const out: LeaseTimeToLiveResponse = { header: NO_HEADER(), ID: '0', TTL: 0, grantedTTL: 0 }
  while (r.pos < end) {
    const t = r.varint()
    switch (t) {
      case 0x0a: out.header = nested(r, readHeader); break
      case 0x10: out.ID = r.int64String(); break
      case 0x18: out.TTL = r.int64(); break
      case 0x20: out.grantedTTL = r.int64(); break
      default: r.skip(t & 7)
    }
  }
  return out
}

function reader<T> (read: (r: Reader, end: number) => T): (msg: Buffer) => T {
  return (msg) => {
    const r = new Reader(msg, 0, msg.length)
    const out = read(r, msg.length)
    if (r.pos !== msg.length) throw malformed('trailing bytes')
    return out
  }
}

/** Response messages (without the gRPC frame header) to objects. */
export const decode = {
  range: reader(readRangeResponse),
  put: reader(readPutResponse),
  deleteRange: reader(readDeleteRangeResponse),
  txn: reader(readTxnResponse),
  compact: reader(readCompactionResponse),
  leaseGrant: reader(readLeaseGrantResponse),
  leaseTimeToLive: reader(readLeaseTimeToLiveResponse),
  watch: reader(readWatchResponse)
}
