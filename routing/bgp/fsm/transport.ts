/** A `Transport` over a node `net.Socket` (the speaker's real connections). */
import type { Socket } from 'node:net'
import type { Transport } from './types.js'

export function socketTransport (sock: Socket): Transport {
  sock.setNoDelay(true)
  let closed = false
  let closeCb: ((err?: Error) => void) | undefined
  let error: Error | undefined
  sock.on('error', (e) => { error = e })
  sock.on('close', () => { closed = true; closeCb?.(error) })
  return {
    localAddress: sock.localAddress?.replace(/^::ffff:/, ''),
    remoteAddress: sock.remoteAddress?.replace(/^::ffff:/, ''),
    write (bytes) { if (!closed && !sock.destroyed) sock.write(bytes) },
    close () { if (!sock.destroyed) sock.end(() => sock.destroy()) ; setTimeout(() => sock.destroy(), 1000).unref() },
    cork () { if (!sock.destroyed) sock.cork() },
    uncork () { if (!sock.destroyed) sock.uncork() },
    onData (cb) { sock.on('data', (b: Buffer) => cb(b)) },
    onClose (cb) { closeCb = cb; if (closed) cb(error) }
  }
}
