/**
 * A lean HTTP/2 client connection (RFC 9113) for gRPC to etcd: streams,
 * flow control both ways, SETTINGS, PING, GOAWAY, RST_STREAM, CONTINUATION,
 * padding, and HPACK through hpack.ts.
 *
 * Why not node:http2: on Node 20 each `session.request()` builds an
 * AsyncResource and a bound function with two deprecate() wrappers, and each
 * stream is a full Duplex; together ~60 µs of the API server's one thread per
 * etcd call (docs/store-etcd.md, "Client"). Here a call is one HEADERS and one
 * DATA frame appended to the next write, and every frame written in one turn
 * of the event loop leaves in one socket write.
 *
 * Stream state lives in plain callbacks (StreamHandlers); the gRPC layer
 * (etcd-rpc.ts) sits on top. Nothing here knows gRPC.
 */
import * as net from 'node:net'
import * as tls from 'node:tls'
import { HpackDecoder, HpackError } from './hpack.js'
import type { Header } from './hpack.js'

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')

const DATA = 0x0
const HEADERS = 0x1
const RST_STREAM = 0x3
const SETTINGS = 0x4
const PUSH_PROMISE = 0x5
const PING = 0x6
const GOAWAY = 0x7
const WINDOW_UPDATE = 0x8
const CONTINUATION = 0x9

const END_STREAM = 0x1
const ACK = 0x1
const END_HEADERS = 0x4
const PADDED = 0x8
const PRIORITY = 0x20

const NO_ERROR = 0x0
const PROTOCOL_ERROR = 0x1
const FLOW_CONTROL_ERROR = 0x3
const FRAME_SIZE_ERROR = 0x6
const CANCEL = 0x8
const COMPRESSION_ERROR = 0x9

/** Our receive windows: a list of 10k pods is ~10 MB, which the default 64 KiB would crawl through. */
const STREAM_WINDOW = 8 << 20
const CONNECTION_WINDOW = 64 << 20
const DEFAULT_WINDOW = 65_535
const MAX_WINDOW = 0x7fffffff
/** How long a TLS 1.3 connection waits for the server's verdict on our certificate before its first write. */
const TLS13_ACCEPT_WAIT_MS = 200

export interface StreamHandlers {
  /** A header block (response headers, or trailers when `end`). */
  onHeaders: (headers: Header[], end: boolean) => void
  onData: (data: Buffer, end: boolean) => void
  /**
   * The stream ended abnormally: reset by the server (`code` is its HTTP/2
   * error code), or the connection failed. `unprocessed` is true when the
   * server said it never acted on the stream (GOAWAY below it, REFUSED_STREAM).
   */
  onClose: (err: H2Error) => void
}

export class H2Error extends Error {
  constructor (message: string, readonly unprocessed = false) {
    super(message)
    this.name = 'H2Error'
  }
}

export interface H2Stream {
  readonly id: number
  /** Sends data, flow-controlled; `end` half-closes our side. */
  write (data: Buffer, end: boolean): void
  /** Resets the stream (CANCEL); no handler is called after. */
  cancel (): void
}

interface StreamState {
  id: number
  handlers: StreamHandlers
  /** Bytes we may still send on this stream. */
  sendWindow: number
  /** Data waiting for window, with whether it ends our side. */
  queue: Array<{ data: Buffer, end: boolean }>
  /** Bytes received and not yet given back with a WINDOW_UPDATE. */
  unacked: number
  /** Our side is closed (END_STREAM sent). A stream whose server side closes is forgotten at once (#remoteEnd). */
  localDone: boolean
}

export interface ConnectOptions {
  /** http://host:port or https://host:port. */
  url: string
  tls?: { ca: Buffer, cert?: Buffer, key?: Buffer }
  timeoutMs: number
}

export class H2Connection {
  readonly #socket: net.Socket
  readonly #streams = new Map<number, StreamState>()
  readonly #decoder = new HpackDecoder()
  #nextId = 1
  #out: Buffer[] = []
  #outQueued = false
  #in: Buffer | undefined
  /** A header block spread over HEADERS + CONTINUATION frames. */
  #headerBlock: { id: number, parts: Buffer[], end: boolean } | undefined
  #sendWindow = DEFAULT_WINDOW
  #peerInitialWindow = DEFAULT_WINDOW
  #peerMaxFrame = 16_384
  #peerMaxStreams = Infinity
  #unacked = 0
  /** Requests waiting for the server's concurrency limit. */
  readonly #waiting: Array<() => void> = []
  #closed: H2Error | undefined
  /** Stream IDs above this were not processed by the server (GOAWAY); none may start. */
  #goaway = false
  #pings: Array<() => void> = []
  /** Places promised to woken slot() callers, not yet taken by their request(). */
  #reserved = 0
  onClose: ((err: H2Error) => void) | undefined

  private constructor (socket: net.Socket) {
    this.#socket = socket
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => { this.#read(chunk) })
    socket.on('error', (err) => { this.#fail(new H2Error(`connection failed: ${err.message}`)) })
    socket.on('close', () => { this.#fail(new H2Error('the connection closed')) })
    // The preface, our settings (no push; large stream window), and a large connection window.
    this.#frame(SETTINGS, 0, 0, settingsPayload([[0x2, 0], [0x4, STREAM_WINDOW]]))
    this.#frame(WINDOW_UPDATE, 0, 0, u32(CONNECTION_WINDOW - DEFAULT_WINDOW))
  }

  static async connect (o: ConnectOptions): Promise<H2Connection> {
    const u = new URL(o.url)
    const port = Number(u.port !== '' ? u.port : (u.protocol === 'https:' ? 443 : 80))
    const host = u.hostname.replace(/^\[|\]$/g, '')
    return await new Promise<H2Connection>((resolve, reject) => {
      let socket: net.Socket
      const secure = u.protocol === 'https:'
      const ready = (): void => {
        if (secure && (socket as tls.TLSSocket).alpnProtocol !== 'h2') {
          failed(new Error(`${o.url} did not agree to HTTP/2 (ALPN: ${String((socket as tls.TLSSocket).alpnProtocol)})`))
          return
        }
        if (done) return
        done = true
        clearTimeout(timer)
        socket.off('error', failed)
        socket.write(PREFACE)
        resolve(new H2Connection(socket))
      }
      /**
       * In TLS 1.3 the client's handshake is done before the server has checked
       * the client's certificate; a refusal comes afterwards as an alert, and
       * writing before it arrives can turn it into a bare ECONNRESET. A server
       * that accepts sends its session tickets right after checking: wait for
       * one (or the alert), briefly, before the first write.
       */
      const secured = (): void => {
        const t = socket as tls.TLSSocket
        if (t.getProtocol() !== 'TLSv1.3') { ready(); return }
        let waited: NodeJS.Timeout | undefined
        // Not from inside the 'session' event: OpenSSL is then in the middle of reading, and a write there corrupts the record.
        const go = (): void => { clearTimeout(waited); t.off('session', go); setImmediate(ready) }
        t.once('session', go)
        waited = setTimeout(go, TLS13_ACCEPT_WAIT_MS)
      }
      let done = false
      const failed = (err: Error): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        socket.destroy()
        reject(new H2Error(err.message, true))
      }
      if (secure) {
        const t = o.tls
        socket = tls.connect({
          host,
          port,
          ALPNProtocols: ['h2'],
          ...(net.isIP(host) === 0 ? { servername: host } : {}),
          ...(t !== undefined ? { ca: t.ca, ...(t.cert !== undefined ? { cert: t.cert } : {}), ...(t.key !== undefined ? { key: t.key } : {}) } : {})
        }, secured)
      } else {
        socket = net.connect({ host, port }, ready)
      }
      socket.once('error', failed)
      const timer = setTimeout(() => { failed(new Error(`no connection within ${o.timeoutMs} ms`)) }, o.timeoutMs)
    })
  }

  get closed (): boolean { return this.#closed !== undefined || this.#goaway }

  /** Streams open now. */
  get streams (): number { return this.#streams.size }

  /** Opens a stream with a header block (encodeHeaders); data follows with write(). */
  request (headerBlock: Buffer, handlers: StreamHandlers, endStream: boolean): H2Stream {
    if (this.#reserved > 0) this.#reserved--
    if (this.#closed !== undefined) throw this.#closed
    if (this.#goaway) throw new H2Error('the server is going away', true)
    if (this.#nextId > MAX_WINDOW) {
      this.#goaway = true
      throw new H2Error('stream IDs are used up on this connection', true)
    }
    const id = this.#nextId
    this.#nextId += 2
    const s: StreamState = { id, handlers, sendWindow: this.#peerInitialWindow, queue: [], unacked: 0, localDone: endStream }
    this.#streams.set(id, s)
    this.#headers(id, headerBlock, endStream)
    return {
      id,
      write: (data, end) => { this.#write(s, data, end) },
      cancel: () => { this.#cancel(s) }
    }
  }

  /** Whether a new stream must wait for the server's SETTINGS_MAX_CONCURRENT_STREAMS (see slot()). */
  get full (): boolean { return this.#streams.size + this.#reserved >= this.#peerMaxStreams }

  /**
   * Waits until a new stream fits within the server's SETTINGS_MAX_CONCURRENT_STREAMS,
   * and holds that place for the caller's next request().
   */
  async slot (): Promise<void> {
    if (!this.full) { this.#reserved++; return }
    await new Promise<void>((resolve) => { this.#waiting.push(resolve) })
  }

  /** A PING; resolves on its ACK. */
  async ping (): Promise<void> {
    if (this.#closed !== undefined) throw this.#closed
    await new Promise<void>((resolve) => {
      this.#pings.push(resolve)
      this.#frame(PING, 0, 0, Buffer.alloc(8))
    })
  }

  close (): void {
    if (this.#closed !== undefined) return
    this.#frame(GOAWAY, 0, 0, Buffer.concat([u32(0), u32(NO_ERROR)]))
    this.#flush()
    this.#fail(new H2Error('the connection was closed'))
  }

  // ---- writing ------------------------------------------------------------------------------------------------------

  #frame (type: number, flags: number, id: number, payload: Buffer): void {
    const h = Buffer.allocUnsafe(9)
    h.writeUIntBE(payload.length, 0, 3)
    h[3] = type
    h[4] = flags
    h.writeUInt32BE(id, 5)
    this.#out.push(h)
    if (payload.length > 0) this.#out.push(payload)
    if (!this.#outQueued) {
      // Everything written in this turn of the event loop (every request the API server made while
      // handling this turn's I/O) leaves in one write: on loopback each write costs a whole trip
      // through the TCP stack, ~50 µs, in this thread.
      this.#outQueued = true
      setImmediate(() => { this.#flush() })
    }
  }

  #flush (): void {
    this.#outQueued = false
    if (this.#out.length === 0 || this.#socket.destroyed) { this.#out = []; return }
    const out = this.#out.length === 1 ? this.#out[0] as Buffer : Buffer.concat(this.#out)
    this.#out = []
    this.#socket.write(out)
  }

  #headers (id: number, block: Buffer, endStream: boolean): void {
    const max = this.#peerMaxFrame
    if (block.length <= max) {
      this.#frame(HEADERS, END_HEADERS | (endStream ? END_STREAM : 0), id, block)
      return
    }
    this.#frame(HEADERS, endStream ? END_STREAM : 0, id, block.subarray(0, max))
    for (let o = max; o < block.length; o += max) {
      this.#frame(CONTINUATION, o + max >= block.length ? END_HEADERS : 0, id, block.subarray(o, o + max))
    }
  }

  #write (s: StreamState, data: Buffer, end: boolean): void {
    if (this.#closed !== undefined || !this.#streams.has(s.id) || s.localDone) return
    s.localDone = end
    s.queue.push({ data, end })
    this.#drain(s)
  }

  /** Sends what the windows allow of a stream's queue. */
  #drain (s: StreamState): void {
    while (s.queue.length > 0) {
      const head = s.queue[0] as { data: Buffer, end: boolean }
      const n = Math.min(head.data.length, s.sendWindow, this.#sendWindow, this.#peerMaxFrame)
      if (n === 0 && head.data.length > 0) return
      const last = n === head.data.length
      this.#frame(DATA, last && head.end ? END_STREAM : 0, s.id, head.data.subarray(0, n))
      s.sendWindow -= n
      this.#sendWindow -= n
      if (last) s.queue.shift()
      else head.data = head.data.subarray(n)
    }
  }

  #cancel (s: StreamState): void {
    if (!this.#streams.has(s.id)) return
    this.#streams.delete(s.id)
    if (this.#closed === undefined) this.#frame(RST_STREAM, 0, s.id, u32(CANCEL))
    this.#released()
  }

  /** Wakes as many waiting requests as there are free places, each holding its place (slot()). */
  #released (): void {
    while (this.#waiting.length > 0 && !this.full) {
      this.#reserved++
      ;(this.#waiting.shift() as () => void)()
    }
  }

  // ---- reading ------------------------------------------------------------------------------------------------------

  #read (chunk: Buffer): void {
    let buf = this.#in === undefined ? chunk : Buffer.concat([this.#in, chunk])
    this.#in = undefined
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3)
      if (len > 16_384) { this.#protocolError(FRAME_SIZE_ERROR, `a frame of ${len} bytes over our 16384`); return }
      if (buf.length < 9 + len) break
      const type = buf[3] as number
      const flags = buf[4] as number
      const id = buf.readUInt32BE(5) & MAX_WINDOW
      const payload = buf.subarray(9, 9 + len)
      buf = buf.subarray(9 + len)
      try {
        this.#onFrame(type, flags, id, payload)
      } catch (err) {
        this.#protocolError(err instanceof HpackError ? COMPRESSION_ERROR : PROTOCOL_ERROR, (err as Error).message)
        return
      }
      if (this.#closed !== undefined) return
    }
    if (buf.length > 0) this.#in = buf
  }

  #onFrame (type: number, flags: number, id: number, p: Buffer): void {
    if (this.#headerBlock !== undefined && type !== CONTINUATION) throw new Error('a frame inside a header block')
    switch (type) {
      case DATA: {
        const s = this.#streams.get(id)
        this.#credit(s, p.length)
        const data = unpad(p, flags)
        if (s === undefined) return
        const end = (flags & END_STREAM) !== 0
        if (end) this.#remoteEnd(s)
        s.handlers.onData(data, end)
        return
      }
      case HEADERS: {
        let block = unpad(p, flags)
        if ((flags & PRIORITY) !== 0) block = block.subarray(5)
        const end = (flags & END_STREAM) !== 0
        if ((flags & END_HEADERS) === 0) { this.#headerBlock = { id, parts: [Buffer.from(block)], end }; return }
        this.#onHeaderBlock(id, block, end)
        return
      }
      case CONTINUATION: {
        const hb = this.#headerBlock
        if (hb === undefined || hb.id !== id) throw new Error('CONTINUATION without its HEADERS')
        hb.parts.push(Buffer.from(p))
        if ((flags & END_HEADERS) === 0) return
        this.#headerBlock = undefined
        this.#onHeaderBlock(id, Buffer.concat(hb.parts), hb.end)
        return
      }
      case RST_STREAM: {
        const s = this.#streams.get(id)
        if (s === undefined) return
        this.#streams.delete(id)
        this.#released()
        const code = p.length >= 4 ? p.readUInt32BE(0) : PROTOCOL_ERROR
        // REFUSED_STREAM (7): the server did nothing with it.
        s.handlers.onClose(new H2Error(`etcd reset the stream (HTTP/2 error ${code})`, code === 0x7))
        return
      }
      case SETTINGS: {
        if ((flags & ACK) !== 0) return
        for (let o = 0; o + 6 <= p.length; o += 6) this.#setting(p.readUInt16BE(o), p.readUInt32BE(o + 2))
        this.#frame(SETTINGS, ACK, 0, Buffer.alloc(0))
        return
      }
      case PING: {
        if ((flags & ACK) !== 0) { this.#pings.shift()?.(); return }
        this.#frame(PING, ACK, 0, Buffer.from(p))
        return
      }
      case GOAWAY: {
        const last = p.readUInt32BE(0) & MAX_WINDOW
        this.#goaway = true
        for (const [sid, s] of this.#streams) {
          if (sid <= last) continue
          this.#streams.delete(sid)
          s.handlers.onClose(new H2Error('the server is going away and did not process the request', true))
        }
        this.#released()
        if (this.#streams.size === 0) this.#fail(new H2Error('the server went away'))
        return
      }
      case WINDOW_UPDATE: {
        const inc = p.readUInt32BE(0) & MAX_WINDOW
        if (id === 0) {
          this.#sendWindow += inc
          if (this.#sendWindow > MAX_WINDOW) throw new Error('connection window overflow')
          for (const s of this.#streams.values()) if (s.queue.length > 0) this.#drain(s)
        } else {
          const s = this.#streams.get(id)
          if (s === undefined) return
          s.sendWindow += inc
          if (s.sendWindow > MAX_WINDOW) { this.#frame(RST_STREAM, 0, id, u32(FLOW_CONTROL_ERROR)); return }
          this.#drain(s)
        }
        return
      }
      case PUSH_PROMISE:
        throw new Error('PUSH_PROMISE, which our settings forbid')
      default:
        // PRIORITY and unknown frame types are ignored (RFC 9113 §4.1, §5.5).
    }
  }

  #onHeaderBlock (id: number, block: Buffer, end: boolean): void {
    // Decoded even for a stream we no longer track: the table must stay in step with the server's.
    const headers = this.#decoder.decode(block)
    const s = this.#streams.get(id)
    if (s === undefined) return
    if (end) this.#remoteEnd(s)
    s.handlers.onHeaders(headers, end)
  }

  #remoteEnd (s: StreamState): void {
    // A response ends the exchange: our side is done too (gRPC sends the whole request before the answer ends).
    this.#streams.delete(s.id)
    if (!s.localDone) this.#frame(RST_STREAM, 0, s.id, u32(NO_ERROR))
    this.#released()
  }

  /** Gives received bytes back to the server's send windows once half of a window is used. */
  #credit (s: StreamState | undefined, n: number): void {
    if (n === 0) return
    this.#unacked += n
    if (this.#unacked >= CONNECTION_WINDOW / 2) {
      this.#frame(WINDOW_UPDATE, 0, 0, u32(this.#unacked))
      this.#unacked = 0
    }
    if (s === undefined) return
    s.unacked += n
    if (s.unacked >= STREAM_WINDOW / 2) {
      this.#frame(WINDOW_UPDATE, 0, s.id, u32(s.unacked))
      s.unacked = 0
    }
  }

  #setting (key: number, value: number): void {
    switch (key) {
      case 0x3: this.#peerMaxStreams = value; this.#released(); break
      case 0x4: {
        if (value > MAX_WINDOW) throw new Error('initial window size over 2^31-1')
        const delta = value - this.#peerInitialWindow
        this.#peerInitialWindow = value
        for (const s of this.#streams.values()) {
          s.sendWindow += delta
          if (delta > 0 && s.queue.length > 0) this.#drain(s)
        }
        break
      }
      case 0x5:
        if (value < 16_384 || value > 16_777_215) throw new Error(`max frame size ${value} out of range`)
        this.#peerMaxFrame = value
        break
      default:
        // HEADER_TABLE_SIZE: our encoder never indexes. ENABLE_PUSH, MAX_HEADER_LIST_SIZE: nothing to do.
    }
  }

  #protocolError (code: number, why: string): void {
    if (this.#closed !== undefined) return
    this.#frame(GOAWAY, 0, 0, Buffer.concat([u32(0), u32(code)]))
    this.#flush()
    this.#fail(new H2Error(`HTTP/2 protocol error from the server: ${why}`))
  }

  #fail (err: H2Error): void {
    if (this.#closed !== undefined) return
    this.#closed = err
    const streams = [...this.#streams.values()]
    this.#streams.clear()
    for (const s of streams) s.handlers.onClose(err)
    for (const w of this.#waiting.splice(0)) w()
    this.#pings = []
    if (!this.#socket.destroyed) this.#socket.end(() => { this.#socket.destroy() })
    setTimeout(() => { this.#socket.destroy() }, 1000).unref()
    this.onClose?.(err)
  }
}

function u32 (n: number): Buffer {
  const b = Buffer.allocUnsafe(4)
  b.writeUInt32BE(n >>> 0, 0)
  return b
}

function settingsPayload (pairs: Array<[number, number]>): Buffer {
  const b = Buffer.allocUnsafe(6 * pairs.length)
  pairs.forEach(([k, v], i) => { b.writeUInt16BE(k, 6 * i); b.writeUInt32BE(v, 6 * i + 2) })
  return b
}

function unpad (p: Buffer, flags: number): Buffer {
  if ((flags & PADDED) === 0) return p
  if (p.length < 1) throw new Error('a padded frame without its pad length')
  const pad = p[0] as number
  if (pad >= p.length) throw new Error('padding longer than the frame')
  return p.subarray(1, p.length - pad)
}
