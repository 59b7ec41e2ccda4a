/**
 * hpack.ts and h2.ts against independent implementations: RFC 7541's own
 * Huffman example, and node:http2's server (nghttp2), which indexes headers,
 * Huffman-codes them, splits large blocks into CONTINUATION frames, pads
 * frames when asked, enforces its flow-control windows on what we send, and
 * resets, refuses and goes away as a real server does. Loopback only.
 */
import test from 'ava'
import * as http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import { H2Connection } from './h2.js'
import type { H2Error } from './h2.js'
import { HpackDecoder, HpackError, encodeHeaders, huffmanDecode, huffmanEncode } from './hpack.js'
import type { Header } from './hpack.js'

// ---- HPACK -----------------------------------------------------------------------------------------------------------

test('hpack: the Huffman code is RFC 7541\'s (its C.4.1 example), and round-trips every byte string', (t) => {
  t.is(huffmanEncode('www.example.com').toString('hex'), 'f1e3c2e5f23a6ba0ab90f4ff')
  t.is(huffmanDecode(Buffer.from('f1e3c2e5f23a6ba0ab90f4ff', 'hex')), 'www.example.com')
  t.is(huffmanDecode(Buffer.from('a8eb10649cbf', 'hex')), 'no-cache', 'C.4.2')
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
    const s = Buffer.from(b).toString('latin1')
    t.is(huffmanDecode(huffmanEncode(s)), s)
  }), { numRuns: 300 })
  t.throws(() => huffmanDecode(Buffer.from('f1e3c2e5f23a6ba0ab90f400', 'hex')), { instanceOf: HpackError }, 'padding of zeros')
  t.throws(() => huffmanDecode(Buffer.from('ffffffff', 'hex')), { instanceOf: HpackError }, 'EOS inside a string')
  t.throws(() => huffmanDecode(Buffer.from('f1e3c2e5f23a6ba0ab90f4ffff', 'hex')), { instanceOf: HpackError }, 'padding longer than 7 bits')
})

test('hpack: the RFC 7541 C.3 request sequence decodes, dynamic table included; our encoder\'s output decodes back', (t) => {
  const d = new HpackDecoder()
  t.deepEqual(d.decode(Buffer.from('828684410f7777772e6578616d706c652e636f6d', 'hex')),
    [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']])
  t.deepEqual(d.decode(Buffer.from('828684be58086e6f2d6361636865', 'hex')),
    [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']])
  t.deepEqual(d.decode(Buffer.from('828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565', 'hex')),
    [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']])
  const headers: Header[] = [[':method', 'POST'], [':path', '/etcdserverpb.KV/Txn'], ['content-type', 'application/grpc'], ['te', 'trailers'], ['grpc-timeout', '9999m'], ['x-long', 'v'.repeat(300)]]
  t.deepEqual(new HpackDecoder().decode(encodeHeaders(headers)), headers)
  t.throws(() => new HpackDecoder().decode(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])), { instanceOf: HpackError }, 'an index beyond every table')
  t.throws(() => new HpackDecoder().decode(Buffer.from([0x82, 0x3f, 0xe1, 0x1f])), { instanceOf: HpackError }, 'a table size update after a field')
  t.throws(() => new HpackDecoder().decode(Buffer.from([0x04, 0x85, 0x61])), { instanceOf: HpackError }, 'a string past the block')
})

// ---- HTTP/2 against nghttp2 ------------------------------------------------------------------------------------------

interface Reply { headers: Header[], data: Buffer, trailers: Header[] }

async function server (t: { teardown: (fn: () => void) => void }, handler: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void, opts: http2.ServerOptions = {}): Promise<string> {
  const s = http2.createServer({ maxSessionMemory: 200, ...opts })
  s.on('stream', handler)
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => { s.close() })
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`
}

function call (c: H2Connection, path: string, body: Buffer, extra: Header[] = []): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    const chunks: Buffer[] = []
    let headers: Header[] = []
    let trailers: Header[] = []
    let gotHeaders = false
    const done = (): void => { resolve({ headers, data: Buffer.concat(chunks), trailers }) }
    const s = c.request(encodeHeaders([[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', 'test'], ...extra]), {
      onHeaders: (h, end) => {
        if (gotHeaders) trailers = h
        else { headers = h; gotHeaders = true }
        if (end) done()
      },
      onData: (d, end) => {
        chunks.push(Buffer.from(d))
        if (end) done()
      },
      onClose: (err: H2Error) => { reject(err) }
    }, false)
    s.write(body, true)
  })
}

const echo = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void => {
  const parts: Buffer[] = []
  stream.on('data', (d: Buffer) => parts.push(d))
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'x-path': String(headers[':path']) }, { waitForTrailers: true })
    stream.on('wantTrailers', () => { stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'fine, thanks', 'x-len': String(Buffer.concat(parts).length) }) })
    stream.end(Buffer.concat(parts))
  })
}

const get = (h: Header[], name: string): string | undefined => h.find(([k]) => k === name)?.[1]

test('h2: 200 concurrent exchanges with nghttp2, headers and trailers decoded (indexed and Huffman-coded)', async (t) => {
  const url = await server(t, echo)
  const c = await H2Connection.connect({ url, timeoutMs: 5000 })
  t.teardown(() => { c.close() })
  const replies = await Promise.all(Array.from({ length: 200 }, async (_, i) => await call(c, `/svc/${i}`, Buffer.from(`body ${i}`))))
  replies.forEach((r, i) => {
    t.is(get(r.headers, ':status'), '200')
    t.is(get(r.headers, 'x-path'), `/svc/${i}`)
    t.is(r.data.toString(), `body ${i}`)
    t.is(get(r.trailers, 'grpc-message'), 'fine, thanks')
    t.is(get(r.trailers, 'x-len'), String(`body ${i}`.length))
  })
})

test('h2: a 3 MB request waits for nghttp2\'s 64 KiB windows, a 12 MB answer is credited back; both arrive whole', async (t) => {
  const url = await server(t, echo)
  const c = await H2Connection.connect({ url, timeoutMs: 5000 })
  t.teardown(() => { c.close() })
  const big = Buffer.alloc(3 << 20)
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff
  const r = await call(c, '/big', big)
  t.true(r.data.equals(big))
  const url2 = await server(t, (stream) => {
    stream.respond({ ':status': 200 })
    stream.end(Buffer.alloc(12 << 20, 1))
  })
  const c2 = await H2Connection.connect({ url: url2, timeoutMs: 5000 })
  t.teardown(() => { c2.close() })
  const [a, b] = await Promise.all([call(c2, '/a', Buffer.alloc(0)), call(c2, '/b', Buffer.alloc(0))])
  t.is(a.data.length, 12 << 20)
  t.is(b.data.length, 12 << 20)
})

test('h2: padded frames and a 40 KB header block split into CONTINUATION frames decode', async (t) => {
  const long = 'x'.repeat(40_000)
  const url = await server(t, (stream) => {
    stream.respond({ ':status': 200, 'x-long': long }, { waitForTrailers: true })
    stream.on('wantTrailers', () => { stream.sendTrailers({ 'grpc-status': '0' }) })
    stream.end('padded body')
  }, { paddingStrategy: http2.constants.PADDING_STRATEGY_MAX, settings: { maxHeaderListSize: 1 << 20 } })
  const c = await H2Connection.connect({ url, timeoutMs: 5000 })
  t.teardown(() => { c.close() })
  const r = await call(c, '/p', Buffer.alloc(0))
  t.is(get(r.headers, 'x-long'), long)
  t.is(r.data.toString(), 'padded body')
  t.is(get(r.trailers, 'grpc-status'), '0')
})

test('h2: a reset stream fails alone; the connection goes on', async (t) => {
  const url = await server(t, (stream, headers) => {
    if (headers[':path'] === '/reset') {
      stream.on('error', () => {}) // the server side's own report of the reset it made
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR)
      return
    }
    echo(stream, headers)
  })
  const c = await H2Connection.connect({ url, timeoutMs: 5000 })
  t.teardown(() => { c.close() })
  const err = await t.throwsAsync(call(c, '/reset', Buffer.from('x')))
  t.regex(err.message, /reset the stream \(HTTP\/2 error 2\)/)
  t.false((err as H2Error).unprocessed)
  t.is((await call(c, '/ok', Buffer.from('still here'))).data.toString(), 'still here')
})

test('h2: the server\'s stream limit queues requests; GOAWAY fails the unprocessed ones as unprocessed and closes the connection to new ones', async (t) => {
  let active = 0
  let most = 0
  const url = await server(t, (stream) => {
    active++
    most = Math.max(most, active)
    stream.on('close', () => { active-- })
    const parts: Buffer[] = []
    stream.on('data', (d: Buffer) => parts.push(d))
    // Held a little, so that the requests pile up against the limit.
    stream.on('end', () => { setTimeout(() => { stream.respond({ ':status': 200 }); stream.end(Buffer.concat(parts)) }, 5) })
  }, { settings: { maxConcurrentStreams: 2 } })
  const c = await H2Connection.connect({ url, timeoutMs: 5000 })
  t.teardown(() => { c.close() })
  await call(c, '/first', Buffer.alloc(0)) // the server's SETTINGS are in by its answer
  const limited = async (i: number): Promise<Reply> => { if (c.full) await c.slot(); return await call(c, `/q/${i}`, Buffer.from(String(i))) }
  const rs = await Promise.all(Array.from({ length: 10 }, async (_, i) => await limited(i)))
  t.deepEqual(rs.map((r) => r.data.toString()), Array.from({ length: 10 }, (_, i) => String(i)))
  t.true(most <= 2, `at most 2 streams at once on the server, saw ${most}`)

  let session: http2.Http2Session | undefined
  const url2 = await server(t, (stream) => {
    stream.on('error', () => {}) // nghttp2 refuses stream 3 itself once it has gone away
    session = stream.session
    // Never answered: the GOAWAY below decides their fate.
  })
  const c2 = await H2Connection.connect({ url: url2, timeoutMs: 5000 })
  t.teardown(() => { c2.close() })
  const first = call(c2, '/1', Buffer.alloc(0))
  const second = call(c2, '/2', Buffer.alloc(0))
  while (session === undefined) await new Promise((resolve) => setTimeout(resolve, 5))
  session.goaway(http2.constants.NGHTTP2_NO_ERROR, 1)
  const e2 = await t.throwsAsync(second)
  t.true((e2 as H2Error).unprocessed, 'stream 3 is above the last stream the server processed')
  t.true(c2.closed, 'no new streams after GOAWAY')
  t.throws(() => c2.request(encodeHeaders([[':method', 'POST']]), { onHeaders () {}, onData () {}, onClose () {} }, true))
  session.destroy()
  const e1 = await t.throwsAsync(first)
  t.false((e1 as H2Error).unprocessed, 'stream 1 may have been acted on')
})

test('h2: a peer that is not HTTP/2 is a connection error, a dead port a refusal', async (t) => {
  const net = await import('node:net')
  const junk = net.createServer((sock) => { sock.end('HTTP/1.1 400 Bad Request\r\n\r\n') })
  await new Promise<void>((resolve) => junk.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => { junk.close() })
  const c = await H2Connection.connect({ url: `http://127.0.0.1:${(junk.address() as AddressInfo).port}`, timeoutMs: 5000 })
  const err = await t.throwsAsync(call(c, '/x', Buffer.alloc(0)))
  t.regex(err.message, /protocol error|closed|failed/)
  const port = (junk.address() as AddressInfo).port
  junk.close()
  await new Promise((resolve) => setTimeout(resolve, 20))
  await t.throwsAsync(H2Connection.connect({ url: `http://127.0.0.1:${port}`, timeoutMs: 5000 }), { message: /ECONNREFUSED/ })
})
