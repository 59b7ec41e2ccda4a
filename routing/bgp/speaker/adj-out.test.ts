import test from 'ava'
import fc from 'fast-check'
import type { Attrs } from '../rib/index.js'
import { AdjRibOut, atSlot } from './adj-out.js'

const attrs = (n: number): Attrs => ({ origin: 0, asPath: [], nextHop: `10.0.0.${n}`, communities: [], largeCommunities: [], extCommunities: [], clusterList: [], atomicAggregate: false, other: [] })

test('a row every peer shares is one attributes object; a difference or a deletion makes it slots again', (t) => {
  const out = new AdjRibOut(3)
  const a = attrs(1)
  const b = attrs(2)
  out.set(0, '10.0.0.0/8', a)
  out.set(1, '10.0.0.0/8', a)
  t.true(Array.isArray(out.row('10.0.0.0/8')))
  t.is(out.set(2, '10.0.0.0/8', a), a, 'all three the same: the row is the object')
  t.is(out.get(1, '10.0.0.0/8'), a)
  out.set(1, '10.0.0.0/8', b)
  t.deepEqual(out.row('10.0.0.0/8'), [a, b, a])
  out.set(1, '10.0.0.0/8', a)
  t.is(out.row('10.0.0.0/8'), a)
  t.true(out.delete(2, '10.0.0.0/8'))
  t.deepEqual(out.row('10.0.0.0/8'), [a, a, undefined])
  t.false(out.delete(2, '10.0.0.0/8'))
  t.deepEqual([out.count(0), out.count(1), out.count(2)], [1, 1, 0])
  out.clear(0)
  out.clear(1)
  t.is(out.row('10.0.0.0/8'), undefined)
  t.is(atSlot(undefined, 0), undefined)
})

test('AdjRibOut behaves as one map per peer (property)', (t) => {
  const pool = [attrs(1), attrs(2), attrs(3)]
  const prefixes = ['10.0.0.0/8', '10.1.0.0/16', '2001:db8::/32']
  const op = fc.record({ kind: fc.constantFrom('set', 'delete', 'clear'), slot: fc.nat(3), prefix: fc.constantFrom(...prefixes), attrs: fc.nat(2), family: fc.constantFrom(4, 6, undefined) })
  fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 60 }), (slots, ops) => {
    const out = new AdjRibOut(slots)
    const model = Array.from({ length: slots }, () => new Map<string, Attrs>())
    for (const o of ops) {
      const slot = o.slot % slots
      const m = model[slot] as Map<string, Attrs>
      if (o.kind === 'set') { out.set(slot, o.prefix, pool[o.attrs] as Attrs); m.set(o.prefix, pool[o.attrs] as Attrs) }
      if (o.kind === 'delete') { if (out.delete(slot, o.prefix) !== m.delete(o.prefix)) return false }
      if (o.kind === 'clear') {
        out.clear(slot, o.family as 4 | 6 | undefined)
        for (const k of [...m.keys()]) if (o.family === undefined || (k.includes(':') ? 6 : 4) === o.family) m.delete(k)
      }
      for (let s = 0; s < slots; s++) {
        const ms = model[s] as Map<string, Attrs>
        if (out.count(s) !== ms.size) return false
        for (const p of prefixes) if (out.get(s, p) !== ms.get(p) || atSlot(out.row(p), s) !== ms.get(p)) return false
      }
    }
    return true
  }), { numRuns: 300 })
  t.pass()
})

test('slots come and go: a new peer\'s slot reads empty, a retired one no longer keeps rows from being shared', (t) => {
  const out = new AdjRibOut(2)
  const a = attrs(1)
  out.set(0, '10.0.0.0/8', a)
  out.set(1, '10.0.0.0/8', a)
  t.is(out.row('10.0.0.0/8'), a)
  t.is(out.addSlot(), 2)
  t.is(out.get(2, '10.0.0.0/8'), undefined, 'the new slot was not sent anything')
  t.is(out.get(1, '10.0.0.0/8'), a)
  out.retireSlot(1)
  t.is(out.get(1, '10.0.0.0/8'), undefined)
  out.set(2, '10.0.0.0/8', a)
  t.is(out.row('10.0.0.0/8'), a, 'shared again: the retired slot does not count')
  out.reuseSlot(1)
  t.is(out.get(1, '10.0.0.0/8'), undefined, 'the reused slot reads empty')
  t.is(out.get(0, '10.0.0.0/8'), a)
  t.true(out.delete(0, '10.0.0.0/8'))
  t.true(out.delete(2, '10.0.0.0/8'))
  t.is(out.row('10.0.0.0/8'), undefined, 'nothing left: the row goes')
})
