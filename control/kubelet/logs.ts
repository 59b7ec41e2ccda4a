/**
 * Container logs in the CRI format the kubelet reads
 * (`<RFC3339Nano> <stdout|stderr> <F|P> <text>`, one file per run at
 * `<root-dir>/pods/<uid>/<container>/<restartCount>.log`), and their reading
 * for `/containerLogs` (tailLines, timestamps, limitBytes, sinceSeconds).
 */
import * as fs from 'node:fs'
import type { Readable } from 'node:stream'

export function logPath (rootDir: string, uid: string, container: string, restart: number): string {
  return `${rootDir}/pods/${uid}/${container}/${restart}.log`
}

/** RFC 3339 with nanoseconds as CRI runtimes write it. */
export function nanoTime (d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z')
}

export interface LogLine { time: string, stream: 'stdout' | 'stderr', partial: boolean, text: string }

export function formatLine (l: LogLine): string {
  return `${l.time} ${l.stream} ${l.partial ? 'P' : 'F'} ${l.text}\n`
}

/** Parses one CRI log line; undefined for malformed ones. */
export function parseLine (line: string): LogLine | undefined {
  const m = /^(\S+) (stdout|stderr) ([FP]) (.*)$/s.exec(line)
  if (m === null) return undefined
  return { time: m[1] as string, stream: m[2] as 'stdout' | 'stderr', partial: m[3] === 'P', text: m[4] as string }
}

/** Pipes a child's stream into the log file line by line; a trailing partial line is written when the stream ends. */
export function pipeToLog (src: Readable, stream: 'stdout' | 'stderr', out: fs.WriteStream): void {
  let buf = ''
  src.setEncoding('utf8')
  src.on('data', (chunk: string) => {
    buf += chunk
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      out.write(formatLine({ time: nanoTime(), stream, partial: false, text: buf.slice(0, nl) }))
      buf = buf.slice(nl + 1)
    }
    // Very long lines are split as CRI runtimes do (16 KiB).
    while (buf.length > 16384) {
      out.write(formatLine({ time: nanoTime(), stream, partial: true, text: buf.slice(0, 16384) }))
      buf = buf.slice(16384)
    }
  })
  src.on('end', () => { if (buf !== '') out.write(formatLine({ time: nanoTime(), stream, partial: false, text: buf })); buf = '' })
}

export interface LogOptions { tailLines?: number, timestamps?: boolean, limitBytes?: number, sinceSeconds?: number, sinceTime?: string }

/** Renders parsed lines as `kubectl logs` shows them: partial lines joined, optional timestamp prefix. */
export function renderLines (lines: LogLine[], o: LogOptions, nowMs = Date.now()): string {
  const since = o.sinceTime !== undefined ? Date.parse(o.sinceTime) : o.sinceSeconds !== undefined ? nowMs - o.sinceSeconds * 1000 : undefined
  const full: Array<{ time: string, text: string }> = []
  let pending: { time: string, text: string } | undefined
  for (const l of lines) {
    if (since !== undefined && Date.parse(l.time) < since) continue
    if (pending === undefined) pending = { time: l.time, text: '' }
    pending.text += l.text
    if (!l.partial) { full.push(pending); pending = undefined }
  }
  if (pending !== undefined) full.push(pending)
  const picked = o.tailLines !== undefined && o.tailLines >= 0 ? full.slice(Math.max(0, full.length - o.tailLines)) : full
  let out = picked.map((l) => `${o.timestamps === true ? `${l.time} ` : ''}${l.text}\n`).join('')
  if (o.limitBytes !== undefined && o.limitBytes >= 0) out = Buffer.from(out).subarray(0, o.limitBytes).toString()
  return out
}

/** Reads a whole log file into lines. */
export function readLog (file: string): LogLine[] {
  let text: string
  try { text = fs.readFileSync(file, 'utf8') } catch { return [] }
  return text.split('\n').filter((l) => l !== '').map(parseLine).filter((l): l is LogLine => l !== undefined)
}
