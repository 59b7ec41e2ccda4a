import test from 'ava'
import { compareKeys, memoryStore } from './memory.js'
import { storeConformance } from './conformance.js'
import { StoreError } from './errors.js'

storeConformance(test, 'memory', async () => {
  const store = memoryStore()
  return { store, cleanup: async () => { await store.close() } }
})

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

test('compareKeys orders strings as their UTF-8 bytes', (t) => {
  const alphabet = ['a', 'z', '\0', '/', 'é', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uffff', '😀', '\u{10ffff}', '\u{10000}']
  let seed = 7
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
  const word = (): string => Array.from({ length: 1 + rnd(4) }, () => alphabet[rnd(alphabet.length)]).join('')
  for (let i = 0; i < 5000; i++) {
    const a = word()
    const b = word()
    t.is(Math.sign(compareKeys(a, b)), Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`)
  }
})

test('etcd range ends: "\\0" is every key from start on, "" the start key alone', async (t) => {
  const s = memoryStore()
  for (const k of ['/a', '/b', '/c']) await s.create(k, enc(k))
  t.deepEqual((await s.list('/b', { end: '\0' })).kvs.map((kv) => kv.key), ['/b', '/c'])
  t.deepEqual((await s.list('/b', { end: '' })).kvs.map((kv) => kv.key), ['/b'])
  t.deepEqual((await s.list('', { end: '\0' })).kvs.map((kv) => kv.key), ['/a', '/b', '/c'])
})

test('bad arguments are CTRL_ERR_STORE_INVALID and write nothing', async (t) => {
  const s = memoryStore({ maxValueBytes: 8 })
  const kv = await s.create('/a', enc('a'))
  const bad: Array<[string, () => Promise<unknown>]> = [
    ['a lone surrogate in a key', async () => await s.create('/\ud800', enc('x'))],
    ['a value over the limit', async () => await s.create('/b', new Uint8Array(9))],
    ['a value that is not bytes', async () => await s.create('/b', 'text' as unknown as Uint8Array)],
    ['a fractional ttl', async () => await s.create('/b', enc('x'), { ttlSeconds: 1.5 })],
    ['a zero ttl', async () => await s.create('/b', enc('x'), { ttlSeconds: 0 })],
    ['a negative expected revision', async () => await s.update('/a', enc('x'), -1)],
    ['a fractional revision read', async () => await s.get('/a', { revision: 1.5 })],
    ['a negative limit', async () => await s.list('/', { end: '\0', limit: -1 })],
    ['a missing range end', async () => await s.list('/', {} as unknown as { end: string })],
    ['a compaction at 0', async () => await s.compact(0)]
  ]
  for (const [name, fn] of bad) {
    const e = await t.throwsAsync(fn(), undefined, name)
    t.true(e instanceof StoreError && e.code === 'CTRL_ERR_STORE_INVALID', `${name}: ${String(e)}`)
  }
  t.is(await s.revision(), kv.modRevision)
})

test('onProgress reports revisions that moved past with nothing for the watch; fromRevision 0 means from now', async (t) => {
  const s = memoryStore()
  await s.create('/old', enc('x'))
  const ac = new AbortController()
  const progress: number[] = []
  const events: string[] = []
  const done = s.watch('/w/', { end: '/w0', fromRevision: 0, signal: ac.signal, onEvents: (e) => { events.push(...e.map((x) => x.kv.key)) }, onProgress: (r) => { progress.push(r) } })
  await s.create('/w/a', enc('a'))
  await new Promise((resolve) => setImmediate(resolve))
  const other = await s.create('/other', enc('o'))
  await new Promise((resolve) => setImmediate(resolve))
  ac.abort()
  await done
  t.deepEqual(events, ['/w/a'], 'no replay of /old: from now')
  t.deepEqual(progress, [other.modRevision])
})

test('a watcher whose onEvents throws ends with that error; the others go on', async (t) => {
  const s = memoryStore()
  const boom = new Error('boom')
  const failing = s.watch('/', { end: '\0', fromRevision: 0, signal: new AbortController().signal, onEvents: () => { throw boom } })
  const ac = new AbortController()
  const seen: number[] = []
  const healthy = s.watch('/', { end: '\0', fromRevision: 0, signal: ac.signal, onEvents: (e) => { seen.push(...e.map((x) => x.kv.modRevision)) } })
  const kv = await s.create('/a', enc('a'))
  t.is(await t.throwsAsync(failing), boom)
  await s.create('/b', enc('b'))
  await new Promise((resolve) => setImmediate(resolve))
  ac.abort()
  await healthy
  t.deepEqual(seen, [kv.modRevision, kv.modRevision + 1])
})

test('closing ends running watches with CTRL_ERR_STORE_UNAVAILABLE', async (t) => {
  const s = memoryStore()
  const w = s.watch('/', { end: '\0', fromRevision: 0, signal: new AbortController().signal, onEvents: () => {} })
  await s.close()
  const e = await t.throwsAsync(w)
  t.true(e instanceof StoreError && e.code === 'CTRL_ERR_STORE_UNAVAILABLE')
})

test('a watch from long ago is delivered in batches of whole revisions, none larger than 1000 events', async (t) => {
  const s = memoryStore()
  for (let i = 0; i < 2500; i++) await s.create(`/k/${i}`, enc('x'))
  const ac = new AbortController()
  const sizes: number[] = []
  const done = s.watch('/k/', { end: '/k0', fromRevision: 2, signal: ac.signal, onEvents: (e) => { sizes.push(e.length) } })
  await new Promise((resolve) => setImmediate(resolve))
  ac.abort()
  await done
  t.deepEqual(sizes, [1000, 1000, 500])
})
