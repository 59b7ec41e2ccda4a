/**
 * gRPC to one etcd endpoint over node:http2: unary calls and the Watch
 * stream, carrying the bytes of etcd-proto.ts. This is all of gRPC that etcd's
 * API needs (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md):
 * a POST per call with `content-type: application/grpc`, each message behind a
 * 5-byte header, and the status in the trailers (or in the headers of a
 * "trailers-only" answer). No compression is offered, so none comes back.
 *
 * One HTTP/2 session per endpoint, opened on first use and again after it
 * closes; a keepalive ping (kube-apiserver's 30 s, answered within 10 s) finds
 * a dead peer behind a silent network. Every failure is a GrpcError with the
 * gRPC status code; `notSent` marks a call that never left this process (no
 * session could be made), which even a write may retry.
 */
import { EventEmitter } from 'node:events'
import * as http2 from 'node:http2'
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
  /** True when the call never reached the network: retrying it cannot apply a write twice. */
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

/** Stream and connection receive windows: a list of 10k pods is ~10 MB, which 64 KiB windows would crawl through. */
const STREAM_WINDOW = 8 << 20
const SESSION_WINDOW = 64 << 20

/** The local deadline fires this long after etcd's own (grpc-timeout), which normally answers first with a clearer error. */
const DEADLINE_SLACK_MS = 250

const { HTTP2_HEADER_METHOD, HTTP2_HEADER_PATH, HTTP2_HEADER_CONTENT_TYPE, HTTP2_HEADER_TE } = http2.constants

/** A bidirectional gRPC stream of raw messages (the Watch RPC). */
export class GrpcStream extends EventEmitter {
  readonly #stream: http2.ClientHttp2Stream
  #pending: Buffer | undefined
  #status: { code: number, message: string } | undefined
  #ended = false

  constructor (stream: http2.ClientHttp2Stream) {
    super()
    this.#stream = stream
    stream.on('response', (h) => { this.#status ??= statusOf(h) })
    stream.on('trailers', (h) => { this.#status = statusOf(h) ?? this.#status })
    stream.on('data', (chunk: Buffer) => {
      let buf = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk])
      for (;;) {
        if (buf.length < 5) break
        const len = buf.readUInt32BE(1)
        if (buf.length < 5 + len) break
        if (buf[0] !== 0) { this.#fail(new GrpcError(GrpcCode.INTERNAL, 'etcd sent a compressed message, which was not offered')); return }
        const msg = buf.subarray(5, 5 + len)
        buf = buf.subarray(5 + len)
        this.emit('message', msg)
        if (this.#ended) return
      }
      this.#pending = buf.length === 0 ? undefined : buf
    })
    stream.on('error', (err: Error) => { this.#fail(new GrpcError(GrpcCode.UNAVAILABLE, `etcd stream failed: ${err.message}`, { cause: err })) })
    stream.on('close', () => {
      if (this.#ended) return
      const s = this.#status
      if (s !== undefined && s.code !== GrpcCode.OK) this.#fail(new GrpcError(s.code, s.message))
      else if (s === undefined && stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) {
        this.#fail(new GrpcError(GrpcCode.UNAVAILABLE, `etcd reset the stream (HTTP/2 error ${stream.rstCode})`))
      } else {
        this.#ended = true
        this.emit('end')
      }
    })
  }

  write (msg: Buffer): void {
    if (this.#ended || this.#stream.destroyed) return
    this.#stream.write(msg)
  }

  /** Ends the stream from this side; nothing more is emitted. */
  cancel (): void {
    this.#ended = true
    if (!this.#stream.destroyed) this.#stream.close(http2.constants.NGHTTP2_CANCEL)
  }

  #fail (err: GrpcError): void {
    if (this.#ended) return
    this.#ended = true
    if (!this.#stream.destroyed) this.#stream.close(http2.constants.NGHTTP2_CANCEL)
    this.emit('error', err)
  }
}

export class GrpcChannel {
  readonly #init: ChannelInit
  readonly #authority: string
  #session: http2.ClientHttp2Session | undefined
  #connecting: Promise<http2.ClientHttp2Session> | undefined
  /** The session being opened, so close() can end it too. */
  #opening: http2.ClientHttp2Session | undefined
  #closed = false

  constructor (init: ChannelInit) {
    this.#init = init
    this.#authority = init.url.replace(/\/$/, '')
    if (!/^https?:\/\//.test(this.#authority)) this.#authority = (init.tls !== undefined ? 'https://' : 'http://') + this.#authority
  }

  /** One request, one answer: the answer's message bytes. `deadline` is in ms since the epoch. */
  async unary (path: string, body: Buffer, deadline: number): Promise<Buffer> {
    const session = this.#live() ?? await this.#connectBy(deadline)
    return await new Promise<Buffer>((resolve, reject) => {
      let stream: http2.ClientHttp2Stream
      try {
        stream = session.request({
          [HTTP2_HEADER_METHOD]: 'POST',
          [HTTP2_HEADER_PATH]: path,
          [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
          [HTTP2_HEADER_TE]: 'trailers',
          'grpc-timeout': `${Math.max(1, Math.ceil(deadline - Date.now()))}m`
        })
      } catch (err) {
        // The session closed between the check and the request: nothing was sent.
        this.#drop(session)
        reject(new GrpcError(GrpcCode.UNAVAILABLE, `No connection established: ${(err as Error).message}`, { notSent: true, cause: err }))
        return
      }
      const chunks: Buffer[] = []
      let status: { code: number, message: string } | undefined
      let settled = false
      // etcd gets the deadline in grpc-timeout; this one holds whatever state etcd or the network is in.
      const timer = setTimeout(() => {
        settle(new GrpcError(GrpcCode.DEADLINE_EXCEEDED, 'no answer in time'))
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL)
      }, Math.max(0, deadline - Date.now()) + DEADLINE_SLACK_MS)
      const settle = (err: GrpcError | undefined, out?: Buffer): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (err !== undefined) reject(err)
        else resolve(out as Buffer)
      }
      stream.on('response', (h) => { status ??= statusOf(h) })
      stream.on('trailers', (h) => { status = statusOf(h) ?? status })
      stream.on('data', (c: Buffer) => { chunks.push(c) })
      stream.on('error', (err: Error) => { settle(new GrpcError(GrpcCode.UNAVAILABLE, `etcd request failed: ${err.message}`, { cause: err })) })
      stream.on('close', () => {
        if (status === undefined) {
          settle(new GrpcError(GrpcCode.UNAVAILABLE, `etcd closed the request without a status${stream.rstCode !== undefined && stream.rstCode !== 0 ? ` (HTTP/2 error ${stream.rstCode})` : ''}`))
          return
        }
        if (status.code !== GrpcCode.OK) { settle(new GrpcError(status.code, status.message)); return }
        const buf = chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks)
        if (buf.length < 5 || buf[0] !== 0 || buf.readUInt32BE(1) !== buf.length - 5) {
          settle(new GrpcError(GrpcCode.INTERNAL, `etcd answered with a malformed gRPC message (${buf.length} bytes)`))
          return
        }
        settle(undefined, buf.subarray(5))
      })
      stream.end(body)
    })
  }

  /** Opens a bidirectional stream (no deadline: it lives until cancelled or broken). */
  async stream (path: string): Promise<GrpcStream> {
    const session = this.#live() ?? await this.#connect()
    try {
      return new GrpcStream(session.request({
        [HTTP2_HEADER_METHOD]: 'POST',
        [HTTP2_HEADER_PATH]: path,
        [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
        [HTTP2_HEADER_TE]: 'trailers'
      }))
    } catch (err) {
      this.#drop(session)
      throw new GrpcError(GrpcCode.UNAVAILABLE, `No connection established: ${(err as Error).message}`, { notSent: true, cause: err })
    }
  }

  close (): void {
    this.#closed = true
    this.#session?.destroy()
    this.#session = undefined
    this.#opening?.destroy()
  }

  #live (): http2.ClientHttp2Session | undefined {
    const s = this.#session
    return s !== undefined && !s.closed && !s.destroyed ? s : undefined
  }

  #drop (s: http2.ClientHttp2Session): void {
    if (this.#session === s) this.#session = undefined
    if (!s.destroyed) s.destroy()
  }

  /** A session, or a DEADLINE_EXCEEDED (nothing sent) if none is up by `deadline`. */
  async #connectBy (deadline: number): Promise<http2.ClientHttp2Session> {
    let timer: NodeJS.Timeout | undefined
    try {
      return await Promise.race([
        this.#connect(),
        new Promise<never>((resolve, reject) => {
          timer = setTimeout(() => { reject(new GrpcError(GrpcCode.DEADLINE_EXCEEDED, `No connection established to ${this.#authority} in time`, { notSent: true })) }, Math.max(0, deadline - Date.now()))
        })
      ])
    } finally {
      clearTimeout(timer)
    }
  }

  async #connect (): Promise<http2.ClientHttp2Session> {
    if (this.#closed) throw new GrpcError(GrpcCode.UNAVAILABLE, 'No connection established: the client is closed', { notSent: true })
    this.#connecting ??= new Promise<http2.ClientHttp2Session>((resolve, reject) => {
      const tls = this.#init.tls
      const s = http2.connect(this.#authority, {
        settings: { initialWindowSize: STREAM_WINDOW },
        maxSessionMemory: 256,
        ...(tls !== undefined ? { ca: tls.ca, ...(tls.cert !== undefined ? { cert: tls.cert } : {}), ...(tls.key !== undefined ? { key: tls.key } : {}), ALPNProtocols: ['h2'] } : {})
      })
      this.#opening = s
      const timer = setTimeout(() => { s.destroy(new Error(`no connection within ${this.#init.connectTimeoutMs ?? 10_000} ms`)) }, this.#init.connectTimeoutMs ?? 10_000)
      let done = false
      const failed = (err: Error): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        this.#connecting = undefined
        this.#opening = undefined
        s.destroy()
        reject(new GrpcError(GrpcCode.UNAVAILABLE, `No connection established to ${this.#authority}: ${err.message}`, { notSent: true, cause: err }))
      }
      const closed = (): void => { failed(new Error('the connection closed')) }
      s.once('error', failed)
      s.once('close', closed)
      s.once('connect', () => {
        clearTimeout(timer)
        s.off('error', failed)
        s.off('close', closed)
        this.#connecting = undefined
        this.#opening = undefined
        if (this.#closed) { failed(new Error('the client is closed')); return }
        done = true
        s.setLocalWindowSize(SESSION_WINDOW)
        this.#session = s
        // Errors after the connection are seen by the streams in flight; the session is just dropped.
        s.on('error', () => { this.#drop(s) })
        s.on('goaway', () => { if (this.#session === s) this.#session = undefined })
        s.on('close', () => { clearInterval(keepalive); if (this.#session === s) this.#session = undefined })
        const keepalive = setInterval(() => {
          const silent = setTimeout(() => { this.#drop(s) }, this.#init.keepaliveTimeoutMs ?? 10_000)
          silent.unref()
          try {
            s.ping(() => { clearTimeout(silent) })
          } catch {
            clearTimeout(silent)
            this.#drop(s)
          }
        }, this.#init.keepaliveMs ?? 30_000)
        keepalive.unref()
        resolve(s)
      })
    })
    return await this.#connecting
  }
}

/** The gRPC status of a header block, if it has one. */
function statusOf (h: http2.IncomingHttpHeaders): { code: number, message: string } | undefined {
  const raw = h['grpc-status']
  if (raw === undefined) return undefined
  const code = Number(raw)
  let message = String(h['grpc-message'] ?? '')
  try { message = decodeURIComponent(message) } catch { /* not percent-encoded after all */ }
  return { code: Number.isInteger(code) ? code : GrpcCode.UNKNOWN, message: message === '' ? `gRPC status ${String(raw)}` : message }
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
