/**
 * gRPC to one etcd endpoint over HTTP/2 (h2.ts): unary calls and the Watch
 * stream, carrying the bytes of etcd-proto.ts. This is all of gRPC that etcd's
 * API needs (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md):
 * a POST per call with `content-type: application/grpc`, each message behind a
 * 5-byte header, and the status in the trailers (or in the headers of a
 * "trailers-only" answer). No compression is offered, so none comes back.
 *
 * One HTTP/2 connection per endpoint, opened on first use and again after it
 * closes; a keepalive ping (kube-apiserver's 30 s, answered within 10 s) finds
 * a dead peer behind a silent network. Every failure is a GrpcError with the
 * gRPC status code; `notSent` marks a call that never left this process (no
 * connection could be made, or the server said it did not process it),
 * which even a write may retry.
 */
import { EventEmitter } from 'node:events'
import { H2Connection } from './h2.js'
import type { H2Stream, StreamHandlers } from './h2.js'
import { encodeHeaders } from './hpack.js'
import type { Header } from './hpack.js'
import { decode, encode } from './etcd-proto.js'
import type {
  CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, LeaseGrantResponse, LeaseTimeToLiveResponse,
  RangeRequest, RangeResponse, TxnRequest, TxnResponse, WatchRequest, WatchResponse
} from './etcd-proto.js'

/** The gRPC status codes this client tells apart (grpc/doc/statuscodes.md). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  OUT_OF_RANGE: 11,
  INTERNAL: 13,
  UNAVAILABLE: 14
} as const

export class GrpcError extends Error {
  /** A gRPC status code (GrpcCode), or UNAVAILABLE for a transport failure. */
  readonly code: number
  /** True when the call certainly was not acted on (never sent, or the server said so): retrying it cannot apply a write twice. */
  readonly notSent: boolean

  constructor (code: number, message: string, opts?: { notSent?: boolean, cause?: unknown }) {
    super(message, opts?.cause !== undefined ? { cause: opts.cause } : undefined)
    this.name = 'GrpcError'
    this.code = code
    this.notSent = opts?.notSent === true
  }
}

export interface ChannelInit {
  /** http://host:port or https://host:port. */
  url: string
  tls?: { ca: Buffer, cert?: Buffer, key?: Buffer }
  /** Give up on a connection attempt after this long; default 10 000 ms. */
  connectTimeoutMs?: number
  keepaliveMs?: number
  keepaliveTimeoutMs?: number
}

/** The local deadline fires this long after etcd's own (grpc-timeout), which normally answers first with a clearer error. */
const DEADLINE_SLACK_MS = 250

type Status = { code: number, message: string }

/** The start of a `grpc-timeout` header field, literal without indexing with a new name; its value (< 127 bytes) follows. */
const TIMEOUT_NAME = encodeHeaders([['grpc-timeout', '']]).subarray(0, -1)

/** Reassembles gRPC messages (5-byte header, then the message) from DATA frames. */
class Deframer {
  /** Bytes received and not yet part of a whole message, kept as they came (a 10 MB message is ~640 frames). */
  #parts: Buffer[] = []
  #length = 0
  /** Length of the message being assembled, once its header is in. */
  #need = -1

  /** Calls `out` with each whole message completed by `chunk`; throws on a compressed one (never offered). */
  push (chunk: Buffer, out: (msg: Buffer) => void): void {
    if (this.#length === 0 && chunk.length >= 5) {
      // The common case: whole messages in one frame, nothing pending.
      let buf = chunk
      while (buf.length >= 5) {
        const len = buf.readUInt32BE(1)
        if (buf.length < 5 + len) break
        if (buf[0] !== 0) throw new GrpcError(GrpcCode.INTERNAL, 'etcd sent a compressed message, which was not offered')
        out(buf.subarray(5, 5 + len))
        buf = buf.subarray(5 + len)
      }
      if (buf.length === 0) return
      chunk = buf
    }
    this.#parts.push(chunk)
    this.#length += chunk.length
    for (;;) {
      if (this.#need < 0) {
        if (this.#length < 5) return
        const head = this.#take(5)
        if (head[0] !== 0) throw new GrpcError(GrpcCode.INTERNAL, 'etcd sent a compressed message, which was not offered')
        this.#need = head.readUInt32BE(1)
      }
      if (this.#length < this.#need) return
      const msg = this.#take(this.#need)
      this.#need = -1
      out(msg)
    }
  }

  /** The first `n` buffered bytes, as one buffer. */
  #take (n: number): Buffer {
    const all = this.#parts.length === 1 ? this.#parts[0] as Buffer : Buffer.concat(this.#parts, this.#length)
    const out = all.subarray(0, n)
    const rest = all.subarray(n)
    this.#parts = rest.length > 0 ? [rest] : []
    this.#length = rest.length
    return out
  }

  get empty (): boolean { return this.#length === 0 && this.#need < 0 }
}

/** A bidirectional gRPC stream of raw messages (the Watch RPC): 'message', then 'error' or 'end'. */
export class GrpcStream extends EventEmitter {
  #stream: H2Stream | undefined
  #ended = false
  readonly #deframer = new Deframer()
  #status: Status | undefined

  /** The handlers for the H2 stream this object is attached to. */
  readonly handlers: StreamHandlers = {
    onHeaders: (headers, end) => {
      this.#status = statusOf(headers) ?? this.#status
      if (end) this.#finish()
    },
    onData: (data, end) => {
      if (this.#ended) return
      try {
        this.#deframer.push(data, (msg) => { if (!this.#ended) this.emit('message', msg) })
      } catch (err) {
        this.#fail(err as GrpcError)
        return
      }
      if (end) this.#finish()
    },
    onClose: (err) => { this.#fail(new GrpcError(GrpcCode.UNAVAILABLE, `etcd stream failed: ${err.message}`, { cause: err })) }
  }

  attach (stream: H2Stream): void { this.#stream = stream }

  write (msg: Buffer): void {
    if (this.#ended) return
    this.#stream?.write(msg, false)
  }

  /** Ends the stream from this side; nothing more is emitted. */
  cancel (): void {
    if (this.#ended) return
    this.#ended = true
    this.#stream?.cancel()
  }

  #finish (): void {
    if (this.#ended) return
    const s = this.#status
    if (s !== undefined && s.code !== GrpcCode.OK) { this.#fail(new GrpcError(s.code, s.message)); return }
    if (s === undefined) { this.#fail(new GrpcError(GrpcCode.UNAVAILABLE, 'etcd ended the stream without a status')); return }
    this.#ended = true
    this.emit('end')
  }

  #fail (err: GrpcError): void {
    if (this.#ended) return
    this.#ended = true
    this.#stream?.cancel()
    this.emit('error', err)
  }
}

/** One endpoint: an HTTP/2 connection made on first use and again after it closes. */
export class GrpcChannel {
  readonly #init: ChannelInit
  readonly #url: string
  readonly #scheme: string
  readonly #authority: string
  /** Request header blocks by path (without grpc-timeout), encoded once. */
  readonly #blocks = new Map<string, Buffer>()
  #conn: H2Connection | undefined
  #connecting: Promise<H2Connection> | undefined
  #closed = false

  constructor (init: ChannelInit) {
    this.#init = init
    let url = init.url.replace(/\/$/, '')
    if (!/^https?:\/\//.test(url)) url = (init.tls !== undefined ? 'https://' : 'http://') + url
    this.#url = url
    const u = new URL(url)
    this.#scheme = u.protocol === 'https:' ? 'https' : 'http'
    this.#authority = u.host
  }

  /** One request, one answer: the answer's message bytes. `deadline` is in ms since the epoch. */
  async unary (path: string, body: Buffer, deadline: number): Promise<Buffer> {
    const conn = this.#live() ?? await this.#connectBy(deadline)
    if (conn.full) await conn.slot()
    return await new Promise<Buffer>((resolve, reject) => {
      let status: Status | undefined
      let message: Buffer | undefined
      let settled = false
      const deframer = new Deframer()
      let stream: H2Stream | undefined
      // etcd gets the deadline in grpc-timeout; this one holds whatever state etcd or the network is in.
      const timer = setTimeout(() => {
        settle(new GrpcError(GrpcCode.DEADLINE_EXCEEDED, 'no answer in time'))
        stream?.cancel()
      }, Math.max(0, deadline - Date.now()) + DEADLINE_SLACK_MS)
      const settle = (err: GrpcError | undefined): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (err !== undefined) reject(err)
        else if (message === undefined) reject(new GrpcError(GrpcCode.INTERNAL, 'etcd answered OK without a message'))
        else resolve(message)
      }
      const end = (): void => {
        if (status === undefined) settle(new GrpcError(GrpcCode.UNAVAILABLE, 'etcd ended the request without a status'))
        else if (status.code !== GrpcCode.OK) settle(new GrpcError(status.code, status.message))
        else if (!deframer.empty) settle(new GrpcError(GrpcCode.INTERNAL, 'etcd ended a message half-way'))
        else settle(undefined)
      }
      const handlers: StreamHandlers = {
        onHeaders: (headers, last) => {
          status = statusOf(headers) ?? status
          if (last) end()
        },
        onData: (data, last) => {
          try {
            deframer.push(data, (msg) => {
              // A unary call has one answer; a second message would be decoded as one with the first.
              if (message !== undefined) throw new GrpcError(GrpcCode.INTERNAL, 'etcd answered a unary call with more than one message')
              message = msg
            })
          } catch (err) {
            settle(err as GrpcError)
            stream?.cancel()
            return
          }
          if (last) end()
        },
        onClose: (err) => {
          settle(new GrpcError(GrpcCode.UNAVAILABLE, `etcd request failed: ${err.message}`, { notSent: err.unprocessed, cause: err }))
        }
      }
      try {
        stream = conn.request(this.#block(path, deadline), handlers, false)
      } catch (err) {
        // The connection closed before the request could start: nothing was sent.
        settle(new GrpcError(GrpcCode.UNAVAILABLE, `No connection established: ${(err as Error).message}`, { notSent: true, cause: err }))
        return
      }
      stream.write(body, true)
    })
  }

  /** Opens a bidirectional stream (no deadline: it lives until cancelled or broken). */
  async stream (path: string): Promise<GrpcStream> {
    const conn = this.#live() ?? await this.#connectBy(Date.now() + (this.#init.connectTimeoutMs ?? 10_000))
    if (conn.full) await conn.slot()
    const g = new GrpcStream()
    try {
      g.attach(conn.request(this.#block(path, undefined), g.handlers, false))
    } catch (err) {
      throw new GrpcError(GrpcCode.UNAVAILABLE, `No connection established: ${(err as Error).message}`, { notSent: true, cause: err })
    }
    return g
  }

  close (): void {
    this.#closed = true
    this.#conn?.close()
    this.#conn = undefined
  }

  #block (path: string, deadline: number | undefined): Buffer {
    let base = this.#blocks.get(path)
    if (base === undefined) {
      base = encodeHeaders([
        [':method', 'POST'], [':scheme', this.#scheme], [':path', path], [':authority', this.#authority],
        ['content-type', 'application/grpc'], ['te', 'trailers']
      ])
      this.#blocks.set(path, base)
    }
    if (deadline === undefined) return base
    // grpc-timeout: a literal of a new name (encodeHeaders' form), its name's bytes encoded once.
    const value = Buffer.from(`${Math.max(1, Math.ceil(deadline - Date.now()))}m`, 'latin1')
    return Buffer.concat([base, TIMEOUT_NAME, Buffer.of(value.length), value])
  }

  #live (): H2Connection | undefined {
    const c = this.#conn
    return c !== undefined && !c.closed ? c : undefined
  }

  /** A connection, or a DEADLINE_EXCEEDED (nothing sent) if none is up by `deadline`. */
  async #connectBy (deadline: number): Promise<H2Connection> {
    let timer: NodeJS.Timeout | undefined
    try {
      return await Promise.race([
        this.#connect(),
        new Promise<never>((resolve, reject) => {
          timer = setTimeout(() => { reject(new GrpcError(GrpcCode.DEADLINE_EXCEEDED, `No connection established to ${this.#url} in time`, { notSent: true })) }, Math.max(0, deadline - Date.now()))
        })
      ])
    } finally {
      clearTimeout(timer)
    }
  }

  async #connect (): Promise<H2Connection> {
    if (this.#closed) throw new GrpcError(GrpcCode.UNAVAILABLE, 'No connection established: the client is closed', { notSent: true })
    this.#connecting ??= (async () => {
      try {
        const c = await H2Connection.connect({ url: this.#url, ...(this.#init.tls !== undefined ? { tls: this.#init.tls } : {}), timeoutMs: this.#init.connectTimeoutMs ?? 10_000 })
        if (this.#closed) {
          c.close()
          throw new GrpcError(GrpcCode.UNAVAILABLE, 'No connection established: the client is closed', { notSent: true })
        }
        this.#conn = c
        const keepalive = setInterval(() => {
          // Only with calls open, as grpc-js without keepalive_permit_without_calls: etcd's server counts pings on an
          // idle connection as abuse ("too_many_pings") and would end it.
          if (c.streams === 0) return
          const silent = setTimeout(() => { c.close() }, this.#init.keepaliveTimeoutMs ?? 10_000)
          silent.unref()
          c.ping().then(() => { clearTimeout(silent) }, () => { clearTimeout(silent) })
        }, this.#init.keepaliveMs ?? 30_000)
        keepalive.unref()
        c.onClose = () => {
          clearInterval(keepalive)
          if (this.#conn === c) this.#conn = undefined
        }
        return c
      } catch (err) {
        if (err instanceof GrpcError) throw err
        throw new GrpcError(GrpcCode.UNAVAILABLE, `No connection established to ${this.#url}: ${(err as Error).message}`, { notSent: true, cause: err })
      } finally {
        this.#connecting = undefined
      }
    })()
    return await this.#connecting
  }
}

/** The gRPC status of a header block, if it has one. */
function statusOf (headers: Header[]): Status | undefined {
  let raw: string | undefined
  let message = ''
  let httpStatus: string | undefined
  for (const [k, v] of headers) {
    if (k === 'grpc-status') raw = v
    else if (k === 'grpc-message') message = v
    else if (k === ':status') httpStatus = v
  }
  if (raw === undefined) {
    // Not gRPC's answer at all (a proxy, or a plain HTTP/2 server): no status will follow.
    if (httpStatus !== undefined && httpStatus !== '200') return { code: GrpcCode.UNAVAILABLE, message: `etcd answered HTTP ${httpStatus}` }
    return undefined
  }
  const code = Number(raw)
  try { message = decodeURIComponent(message) } catch { /* not percent-encoded after all */ }
  return { code: Number.isInteger(code) ? code : GrpcCode.UNKNOWN, message: message === '' ? `gRPC status ${raw}` : message }
}

/** etcd's KV, Lease and Watch services on one endpoint, in etcd-proto.ts's shapes. */
export class EtcdClient {
  readonly #ch: GrpcChannel

  constructor (init: ChannelInit) {
    this.#ch = new GrpcChannel(init)
  }

  async range (req: RangeRequest, deadline: number): Promise<RangeResponse> {
    return decode.range(await this.#ch.unary('/etcdserverpb.KV/Range', encode.range(req), deadline))
  }

  async deleteRange (req: DeleteRangeRequest, deadline: number): Promise<DeleteRangeResponse> {
    return decode.deleteRange(await this.#ch.unary('/etcdserverpb.KV/DeleteRange', encode.deleteRange(req), deadline))
  }

  async txn (req: TxnRequest, deadline: number): Promise<TxnResponse> {
    return decode.txn(await this.#ch.unary('/etcdserverpb.KV/Txn', encode.txn(req), deadline))
  }

  async compact (revision: number, deadline: number): Promise<CompactionResponse> {
    return decode.compact(await this.#ch.unary('/etcdserverpb.KV/Compact', encode.compact(revision), deadline))
  }

  async leaseGrant (ttl: number, deadline: number): Promise<LeaseGrantResponse> {
    return decode.leaseGrant(await this.#ch.unary('/etcdserverpb.Lease/LeaseGrant', encode.leaseGrant(ttl), deadline))
  }

  async leaseTimeToLive (id: string, deadline: number): Promise<LeaseTimeToLiveResponse> {
    return decode.leaseTimeToLive(await this.#ch.unary('/etcdserverpb.Lease/LeaseTimeToLive', encode.leaseTimeToLive(id), deadline))
  }

  /** A Watch stream: requests in, responses out ('data'); 'error' or 'end' when it breaks. */
  async watch (): Promise<WatchStream> {
    return new WatchStream(await this.#ch.stream('/etcdserverpb.Watch/Watch'))
  }

  close (): void {
    this.#ch.close()
  }
}

/** The Watch RPC's stream with its messages encoded and decoded. */
export class WatchStream extends EventEmitter {
  readonly #s: GrpcStream

  constructor (s: GrpcStream) {
    super()
    this.#s = s
    s.on('message', (msg: Buffer) => {
      let res: WatchResponse
      try {
        res = decode.watch(msg)
      } catch (err) {
        s.cancel()
        this.emit('error', err)
        return
      }
      this.emit('data', res)
    })
    s.on('error', (err: Error) => { this.emit('error', err) })
    s.on('end', () => { this.emit('end') })
  }

  write (req: WatchRequest): void {
    this.#s.write(encode.watch(req))
  }

  cancel (): void {
    this.#s.cancel()
  }
}
