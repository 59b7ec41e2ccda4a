import test from 'ava'
import { humanDuration, shortHumanDuration, translateTimestampSince } from './duration.js'

const s = 1000
const m = 60 * s
const h = 60 * m
const d = 24 * h

// Rows from apimachinery's duration_test.go (TestHumanDuration / TestShortHumanDuration).
const human: Array<[number, string]> = [
  [1 * s, '1s'], [70 * s, '70s'], [190 * s, '3m10s'], [70 * m, '70m'], [47 * h, '47h'],
  [49 * h, '2d1h'], [(8 * 24 + 2) * h, '8d'], [367 * d, '367d'], [365 * 2 * d + 1 * d, '2y1d'],
  [365 * 8 * d + 10 * d, '8y'], [2 * m, '2m'], [2 * m + 10 * s, '2m10s'], [9 * m + 59 * s, '9m59s'],
  [10 * m + 59 * s, '10m'], [3 * h, '3h'], [3 * h + 1 * m, '3h1m'], [8 * h, '8h'], [48 * h, '2d'],
  [-1 * s, '0s'], [-1500, '0s'], [-2 * s, '<invalid>'], [1999, '1s']
]
for (const [ms, want] of human) {
  test(`humanDuration(${ms} ms) is ${want}`, (t) => { t.is(humanDuration(ms), want) })
}

const short: Array<[number, string]> = [
  [1 * s, '1s'], [59 * s, '59s'], [60 * s, '1m'], [59 * m, '59m'], [60 * m, '1h'], [23 * h, '23h'],
  [24 * h, '1d'], [364 * d, '364d'], [365 * d, '1y'], [-1 * s, '0s'], [-2 * s, '<invalid>']
]
for (const [ms, want] of short) {
  test(`shortHumanDuration(${ms} ms) is ${want}`, (t) => { t.is(shortHumanDuration(ms), want) })
}

test('translateTimestampSince: zero time is <unknown>, else HumanDuration since', (t) => {
  const now = new Date('2026-01-01T12:00:00Z')
  t.is(translateTimestampSince(undefined, now), '<unknown>')
  t.is(translateTimestampSince('', now), '<unknown>')
  t.is(translateTimestampSince('not a time', now), '<unknown>')
  t.is(translateTimestampSince('2026-01-01T11:55:00Z', now), '5m')
  t.is(translateTimestampSince('2025-12-30T11:00:00Z', now), '2d1h')
})
