/**
 * [store] A crash at any moment loses no acknowledged write (issue 3, Storage).
 *
 * A child process writes to an embedded store as fast as it can: 32 writers,
 * each creating, updating and deleting keys of its own, one operation at a
 * time. It prints `begin …` before an operation and `ack …` with the revision
 * once the store acknowledged it. The test SIGKILLs it at a random moment,
 * several rounds over the same data directory (snapshots and log rotation
 * happen along the way, so kills land in those too), and after each kill
 * reopens the store and checks:
 *
 * - every acknowledged write is there, at its revision (history included);
 * - each key's current state is its last acknowledged one, or the result of
 *   the one operation that was in flight on it (acknowledged or not, it is
 *   all there or not at all);
 * - no value is damaged, and no key exists that no writer began to write;
 * - revisions are dense: one change per revision, none missing.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { embeddedStore, prefixRange } from '../../control/store/index.js'
import type { KeyValue, WatchEvent } from '../../control/store/index.js'

const storeIndex = new URL('../../control/store/index.js', import.meta.url).href

/** The writer, run with `node --input-type=module -e`. Output lines are written synchronously (pipes are, on Linux). */
const CHILD = `
const { embeddedStore } = await import(process.env.STORE_INDEX)
const { createHash } = await import('node:crypto')
const round = process.env.ROUND
const store = await embeddedStore({ dir: process.env.DATA_DIR, snapshotBytes: 256 * 1024 })
const out = (s) => { process.stdout.write(s + '\\n') }
const value = (key, seq) => {
  const pad = 'x'.repeat(Math.floor(Math.random() * 1500))
  const sum = createHash('sha256').update(key + ':' + seq + ':' + pad).digest('hex').slice(0, 16)
  return new TextEncoder().encode(JSON.stringify({ key, seq, pad, sum }))
}
out('ready ' + (await store.revision()))
async function writer (w) {
  const owned = new Map()
  for (let i = 0; ; i++) {
    const r = Math.random()
    const seq = round + '.' + w + '.' + i
    if (owned.size === 0 || r < 0.55) {
      const key = '/crash/r' + round + '/w' + w + '/' + i
      out('begin create ' + key + ' ' + seq)
      const kv = await store.create(key, value(key, seq))
      owned.set(key, kv.modRevision)
      out('ack create ' + key + ' ' + seq + ' ' + kv.modRevision)
    } else {
      const keys = [...owned.keys()]
      const key = keys[Math.floor(Math.random() * keys.length)]
      if (r < 0.85) {
        out('begin update ' + key + ' ' + seq)
        const kv = await store.update(key, value(key, seq), owned.get(key))
        owned.set(key, kv.modRevision)
        out('ack update ' + key + ' ' + seq + ' ' + kv.modRevision)
      } else {
        out('begin delete ' + key + ' ' + seq)
        await store.delete(key, owned.get(key))
        owned.delete(key)
        out('ack delete ' + key + ' ' + seq + ' 0')
      }
    }
  }
}
await Promise.all(Array.from({ length: 32 }, (_, w) => writer(w)))
`

interface Op { op: 'create' | 'update' | 'delete', seq: string, rev: number, acked: boolean }

/** What the writers reported, per key, in order. */
class Ledger {
  readonly keys = new Map<string, Op[]>()
  acked = 0
  read (lines: string[]): void {
    for (const line of lines) {
      const [kind, op, key, seq, rev] = line.split(' ')
      if (kind === 'ready' || key === undefined || seq === undefined) continue
      const ops = this.keys.get(key) ?? []
      this.keys.set(key, ops)
      if (kind === 'begin') ops.push({ op: op as Op['op'], seq, rev: 0, acked: false })
      else if (kind === 'ack') {
        const last = ops[ops.length - 1]
        if (last === undefined || last.seq !== seq) throw new Error(`ack without its begin: ${line}`)
        last.acked = true
        last.rev = Number(rev)
        this.acked++
      }
    }
  }

  /** After a reopen, an unacknowledged last operation either happened or did not; the next round's writers never touch the key again. */
  settle (key: string, happened: boolean): void {
    const ops = this.keys.get(key) as Op[]
    const last = ops[ops.length - 1] as Op
    if (!last.acked) {
      if (happened) last.acked = true
      else ops.pop()
      if (ops.length === 0) this.keys.delete(key)
    }
  }
}

function parseValue (kv: KeyValue): { key: string, seq: string, intact: boolean } {
  const v = JSON.parse(new TextDecoder().decode(kv.value)) as { key: string, seq: string, pad: string, sum: string }
  const sum = createHash('sha256').update(v.key + ':' + v.seq + ':' + v.pad).digest('hex').slice(0, 16)
  return { key: v.key, seq: v.seq, intact: sum === v.sum && v.key === kv.key }
}

async function runRound (t: ExecutionContext, dir: string, round: number, children: Set<ChildProcess>): Promise<{ lines: string[], stderr: string }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...process.env, STORE_INDEX: storeIndex, DATA_DIR: dir, ROUND: String(round) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  children.add(child)
  let out = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const exited = new Promise<NodeJS.Signals | null>((resolve) => { child.once('exit', (_code, signal) => { children.delete(child); resolve(signal) }) })
  // Wait until it writes, then kill it somewhere between 20 and 400 ms later.
  const start = Date.now()
  while (!out.includes('\n') && Date.now() - start < 20_000 && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 5))
  if (!out.includes('ready')) throw new Error(`the writer did not start: ${stderr}`)
  await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 380))
  child.kill('SIGKILL')
  const signal = await exited
  t.is(signal, 'SIGKILL', `the writer died on its own: ${stderr}`)
  // The last line may be cut: only whole lines count.
  const lines = out.split('\n')
  lines.pop()
  return { lines, stderr }
}

test('[store] SIGKILL at random moments loses no acknowledged write and leaves nothing half-visible', async (t) => {
  t.timeout(110_000)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-crash-'))
  const children = new Set<ChildProcess>()
  t.teardown(() => {
    for (const c of children) c.kill('SIGKILL')
    fs.rmSync(dir, { recursive: true, force: true })
  })
  const ledger = new Ledger()
  const rounds = 8
  let truncations = 0
  for (let round = 0; round < rounds; round++) {
    const { lines } = await runRound(t, dir, round, children)
    ledger.read(lines)

    const store = await embeddedStore({ dir })
    try {
      const st = store.stats()
      if (st.truncatedBytes > 0) truncations++
      const rev = await store.revision()
      const { start, end } = prefixRange('/crash/')
      const current = new Map((await store.list(start, { end })).kvs.map((kv) => [kv.key, kv]))

      // Nothing exists that no writer began, and nothing is damaged.
      for (const kv of current.values()) {
        t.true(ledger.keys.has(kv.key), `${kv.key} was never written`)
        t.true(parseValue(kv).intact, `${kv.key} has a damaged value`)
      }
      for (const [key, ops] of ledger.keys) {
        const kv = current.get(key)
        const last = ops[ops.length - 1] as Op
        const lastAcked = [...ops].reverse().find((o) => o.acked)
        const stateOf = (o: Op | undefined): string | undefined => o === undefined || o.op === 'delete' ? undefined : o.seq
        const now = kv === undefined ? undefined : parseValue(kv).seq
        if (last.acked) {
          t.is(now, stateOf(last), `${key}: the acknowledged ${last.op} ${last.seq} is lost`)
        } else {
          // In flight when killed: all there, or not at all.
          const happened = now === stateOf(last) && now !== stateOf(lastAcked)
          t.true(happened || now === stateOf(lastAcked), `${key}: ${String(now)} is neither the last acknowledged state nor the one in flight`)
          ledger.settle(key, happened)
        }
        // Every acknowledged put is readable at its own revision, with its own value.
        for (const o of ops) {
          if (!o.acked || o.op === 'delete' || o.rev === 0) continue
          const then = await store.get(key, { revision: o.rev })
          t.is(then?.modRevision, o.rev, `${key} at ${o.rev}`)
          t.is(then === undefined ? undefined : parseValue(then).seq, o.seq, `${key} at ${o.rev}`)
        }
      }

      // Dense history: a watch from the first revision sees exactly one change per revision.
      const ac = new AbortController()
      let expectRev = 2
      let gaps = 0
      const done = store.watch('/', {
        end: '\0',
        fromRevision: 2,
        signal: ac.signal,
        onEvents: (evs: WatchEvent[]) => { for (const e of evs) { if (e.kv.modRevision !== expectRev) gaps++; expectRev = e.kv.modRevision + 1 } }
      })
      await new Promise((resolve) => setTimeout(resolve, 50))
      ac.abort()
      await done
      t.is(gaps, 0, 'revisions skipped or repeated')
      t.is(expectRev - 1, rev, 'the watch reached the current revision')
    } finally {
      await store.close()
    }
  }
  t.log(`${rounds} kills, ${ledger.acked} acknowledged writes checked, ${truncations} torn tails cut off`)
  t.true(ledger.acked > 100, `only ${ledger.acked} writes were acknowledged: the kills came too early to test anything`)
})
