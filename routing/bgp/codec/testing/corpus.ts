/**
 * The fuzz-regression corpus in ../testdata (gobgp's testdata/bad-len, as STYLE.md convention 3 asks): `*.bin`
 * messages and `manifest.json`, which records for each the options it is decoded with and the outcome it must
 * keep having. corpus.test.ts replays it; seed-corpus.ts adds to it.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { BgpMessageError } from '../errors.js'
import { decodeMessage, encodeMessage } from '../message.js'
import type { CodecOptions } from '../options.js'
import { MessageType } from '../constants.js'

export interface CorpusEntry {
  /** What the input is, or where it came from. */
  note: string
  opts: CodecOptions
  /** `outcomeOf(bytes, opts)` when the entry was recorded. */
  outcome: string
}

export type Manifest = Record<string, CorpusEntry>

/** routing/bgp/codec/testdata in the source tree (tests run from dist/, the corpus is not compiled). */
export const corpusDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', '..', 'routing', 'bgp', 'codec', 'testdata')
export const manifestPath = path.join(corpusDir, 'manifest.json')

export function readManifest (): Manifest {
  return JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as Manifest
}

/**
 * One line that pins down what decoding does with `bytes`: the message type, the UPDATE's RFC 7606 verdict, or the
 * error with its NOTIFICATION and handling. A decoded message must also re-encode, or the outcome says so.
 * Anything thrown that is not a BgpMessageError propagates: that is a crasher.
 */
export function outcomeOf (bytes: Uint8Array, opts: CodecOptions): string {
  let m
  try {
    m = decodeMessage(bytes, opts)
  } catch (err) {
    if (!(err instanceof BgpMessageError)) throw err
    return `error ${err.code} ${err.handling} ${err.notification.code}/${err.notification.subcode}`
  }
  encodeMessage(m, opts)
  if (m.type !== MessageType.Update || m.errors === undefined) return `message ${MessageType[m.type]}`
  return `update ${m.treatAsWithdraw === true ? 'treat-as-withdraw' : 'kept'} ${m.errors.map((e) => e.code).join('+')}`
}
