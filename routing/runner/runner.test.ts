import test from 'ava'
import { boundedFrequencyRunner } from './index.js'
import type { Clock } from './index.js'

function fakeClock (): Clock & { advance: (ms: number) => Promise<void> } {
  let now = 0
  let seq = 0
  const timers = new Map<number, { at: number, fn: () => void }>()
  const flush = async (): Promise<void> => { for (let i = 0; i < 10; i++) await Promise.resolve() }
  return {
    now: () => now,
    setTimeout: (fn, ms) => { const id = ++seq; timers.set(id, { at: now + ms, fn }); return id },
    clearTimeout: (h) => { timers.delete(h as number) },
    async advance (ms) {
      const end = now + ms
      for (;;) {
        await flush()
        const due = [...timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0]
        if (due === undefined) break
        timers.delete(due[0])
        now = Math.max(now, due[1].at)
        due[1].fn()
      }
      now = end
      await flush()
    }
  }
}

test('passes coalesce, keep the minimum interval, and recur at the maximum interval', async (t) => {
  const clock = fakeClock()
  const at: number[] = []
  const r = boundedFrequencyRunner({ name: 't', minIntervalMs: 100, maxIntervalMs: 1000, retryIntervalMs: 300, clock, fn: () => { at.push(clock.now()) } })
  r.start()
  await clock.advance(0)
  t.deepEqual(at, [0])
  r.run(); r.run(); r.run()
  await clock.advance(50)
  t.deepEqual(at, [0], 'not before the minimum interval')
  await clock.advance(60)
  t.deepEqual(at, [0, 100], 'three requests, one pass')
  await clock.advance(1000)
  t.deepEqual(at, [0, 100, 1100], 'periodic pass at the maximum interval')
  await r.stop()
  await clock.advance(5000)
  t.is(at.length, 3, 'nothing after stop')
})

test('a failing pass is retried after the retry interval', async (t) => {
  const clock = fakeClock()
  const at: number[] = []
  const errors: unknown[] = []
  const r = boundedFrequencyRunner({
    name: 't', minIntervalMs: 10, maxIntervalMs: 10_000, retryIntervalMs: 300, clock,
    fn: () => { at.push(clock.now()); if (at.length < 3) throw new Error('boom') },
    onError: (e) => errors.push(e)
  })
  r.start()
  await clock.advance(1000)
  t.deepEqual(at, [0, 300, 600])
  t.is(errors.length, 2)
  await r.stop()
})

test('burst: up to `burst` passes back to back, then one per minimum interval as tokens come back', async (t) => {
  const clock = fakeClock()
  const at: number[] = []
  const r = boundedFrequencyRunner({ name: 't', minIntervalMs: 100, maxIntervalMs: 100_000, retryIntervalMs: 300, burst: 2, clock, fn: () => { at.push(clock.now()) } })
  r.start()
  await clock.advance(10)
  r.run()
  await clock.advance(10)
  t.deepEqual(at, [0, 10], 'the second pass right away: a token was left')
  r.run()
  await clock.advance(50)
  t.deepEqual(at, [0, 10], 'no token: wait')
  await clock.advance(50)
  t.deepEqual(at, [0, 10, 100], 'one token back after 100 ms from the first')
  await clock.advance(1000)
  r.run()
  await clock.advance(0)
  r.run()
  await clock.advance(0)
  t.deepEqual(at, [0, 10, 100, 1120, 1120], 'after a quiet second the bucket is full again: two at once')
  r.run()
  await clock.advance(99)
  t.is(at.length, 5)
  await clock.advance(1)
  t.is(at.length, 6)
  await r.stop()
})
