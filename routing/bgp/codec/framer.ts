/**
 * Framing a TCP byte stream into messages by their Length field (RFC 4271 §4.1). TCP cuts the stream anywhere: a
 * message may span chunks and a chunk may hold several messages. Framing is kept apart from decoding (as yamux's
 * Decoder is): the framer checks only the marker and the length bounds, then hands over each whole message as its
 * own copy, to be decoded with whatever options the session has negotiated by then.
 */
import { HEADER_LENGTH, MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH } from './constants.js'
import type { BgpMessageError } from './errors.js'
import { peekHeader, truncated } from './header.js'

export interface FramerOptions {
  /** RFC 8654: accept messages up to 65535 bytes. Settable later, once both OPENs advertised Extended Message. */
  extendedMessages?: boolean
}

export class Framer {
  /** Bytes of an unfinished message, copied out of the chunks they came in: `#buf[#start, #start + #len)`. */
  #buf = new Uint8Array(0)
  #start = 0
  #len = 0
  #maxLength: number
  #failed: BgpMessageError | undefined

  constructor (opts: FramerOptions = {}) {
    this.#maxLength = opts.extendedMessages === true ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH
  }

  /** RFC 8654 §4: raise (or lower) the length limit when the OPEN exchange settles Extended Message. */
  set extendedMessages (on: boolean) {
    this.#maxLength = on ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH
  }

  /** Bytes received that do not make a whole message yet. */
  get buffered (): number {
    return this.#len
  }

  /**
   * Takes the next `chunk` of the stream and returns every message now whole, in stream order, each in a buffer of
   * its own. The framer keeps no reference to `chunk` once this returns, so the caller may reuse it. Throws
   * `BgpMessageError` (bad marker or length: NOTIFICATION 1/1 or 1/2) once the stream cannot be framed any more;
   * from then on every call throws it again, as the connection must be closed.
   */
  push (chunk: Uint8Array): Uint8Array[] {
    if (this.#failed !== undefined) throw this.#failed
    // Frame straight out of the chunk when nothing is pending; otherwise append it to what is.
    if (this.#len > 0) this.#append(chunk)
    const src = this.#len > 0 ? this.#buf.subarray(this.#start, this.#start + this.#len) : chunk
    const out: Uint8Array[] = []
    let o = 0
    while (src.length - o >= HEADER_LENGTH) {
      let length: number
      try {
        length = peekHeader(src, o, this.#maxLength).length
      } catch (err) {
        this.#failed = err as BgpMessageError
        throw err
      }
      if (src.length - o < length) break
      out.push(new Uint8Array(src.subarray(o, o + length)))
      o += length
    }
    if (src === chunk) {
      if (o < chunk.length) this.#append(chunk.subarray(o))
    } else {
      this.#start += o
      this.#len -= o
      if (this.#len === 0) this.#start = 0
    }
    return out
  }

  /** At the end of the stream: throws `BGP_ERR_TRUNCATED` when a partial message was left over. */
  end (): void {
    if (this.#failed !== undefined) throw this.#failed
    if (this.#len > 0) throw truncated('the stream ended inside a message', this.#len + 1, this.#len)
  }

  #append (bytes: Uint8Array): void {
    const need = this.#len + bytes.length
    if (this.#start + need > this.#buf.length) {
      if (need <= this.#buf.length) {
        this.#buf.copyWithin(0, this.#start, this.#start + this.#len)
      } else {
        const grown = new Uint8Array(Math.max(need, 2 * this.#buf.length, 4096))
        grown.set(this.#buf.subarray(this.#start, this.#start + this.#len))
        this.#buf = grown
      }
      this.#start = 0
    }
    this.#buf.set(bytes, this.#start + this.#len)
    this.#len = need
  }
}

/** Whole messages from a sequence of chunks; throws as `Framer.push` and `Framer.end` do. */
export function * frameMessages (chunks: Iterable<Uint8Array>, opts: FramerOptions = {}): Generator<Uint8Array, void, undefined> {
  const framer = new Framer(opts)
  for (const chunk of chunks) yield * framer.push(chunk)
  framer.end()
}

/** The same over a stream, e.g. a `net.Socket` (an async iterable of Buffers). */
export async function * frameMessagesAsync (
  chunks: AsyncIterable<Uint8Array>, opts: FramerOptions = {}
): AsyncGenerator<Uint8Array, void, undefined> {
  const framer = new Framer(opts)
  for await (const chunk of chunks) yield * framer.push(chunk)
  framer.end()
}
