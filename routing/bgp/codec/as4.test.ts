/** RFC 6793 §4.2: AS paths and aggregators across 2-octet AS speakers. */
import test from 'ava'
import { AS_TRANS, asPathLength, AttrType, fromTwoOctetAttributes, mergeAs4Path, toTwoOctetAttributes } from './index.js'
import type { AsPathSegment, PathAttribute } from './index.js'

const seq = (...asns: number[]): AsPathSegment => ({ type: 2, asns })
const set = (...asns: number[]): AsPathSegment => ({ type: 1, asns })
const confed = (...asns: number[]): AsPathSegment => ({ type: 3, asns })

test('path length counts an AS_SET as one and confederation segments as none', (t) => {
  t.is(asPathLength([seq(1, 2, 3), set(4, 5), confed(6, 7)]), 4)
  t.is(asPathLength([]), 0)
})

test('mergeAs4Path puts the ASNs only the 2-octet speakers added in front of AS4_PATH', (t) => {
  // 65000 (old speaker) prepended to a path recorded by 4-octet speakers as 4200000001 4200000002.
  t.deepEqual(mergeAs4Path([seq(65000, AS_TRANS, AS_TRANS)], [seq(4200000001, 4200000002)]), [seq(65000, 4200000001, 4200000002)])
  t.deepEqual(mergeAs4Path([seq(AS_TRANS, 65001)], [seq(4200000001, 65001)]), [seq(4200000001, 65001)])
  t.deepEqual(mergeAs4Path([seq(1, 2), set(3, 4), seq(AS_TRANS)], [seq(4200000001)]), [seq(1, 2), set(3, 4), seq(4200000001)])
})

test('mergeAs4Path ignores an AS4_PATH longer than AS_PATH, and confederation segments in it', (t) => {
  t.deepEqual(mergeAs4Path([seq(1)], [seq(4200000001, 4200000002)]), [seq(1)])
  t.deepEqual(mergeAs4Path([confed(64512), seq(AS_TRANS)], [confed(64512), seq(4200000001)]), [confed(64512), seq(4200000001)])
})

const attrs: PathAttribute[] = [
  { type: AttrType.Origin, origin: 0 },
  { type: AttrType.AsPath, segments: [confed(64512), seq(4200000001, 65001)] },
  { type: AttrType.Aggregator, asn: 4200000009, address: '10.0.0.9' }
]

test('toTwoOctetAttributes puts AS_TRANS in AS_PATH and AGGREGATOR and adds AS4_PATH and AS4_AGGREGATOR', (t) => {
  t.deepEqual(toTwoOctetAttributes(attrs), [
    { type: AttrType.Origin, origin: 0 },
    { type: AttrType.AsPath, segments: [confed(64512), seq(AS_TRANS, 65001)] },
    { type: AttrType.As4Path, segments: [seq(4200000001, 65001)] },
    { type: AttrType.Aggregator, asn: AS_TRANS, address: '10.0.0.9' },
    { type: AttrType.As4Aggregator, asn: 4200000009, address: '10.0.0.9' }
  ])
  const small: PathAttribute[] = [{ type: AttrType.AsPath, segments: [seq(65001)] }, { type: AttrType.Aggregator, asn: 65001, address: '10.0.0.9' }]
  t.deepEqual(toTwoOctetAttributes(small), small, 'nothing to add when every AS fits 2 octets')
})

test('fromTwoOctetAttributes undoes toTwoOctetAttributes', (t) => {
  const plain: PathAttribute[] = [{ type: AttrType.Origin, origin: 0 }, { type: AttrType.AsPath, segments: [seq(4200000001, 65001)] }, attrs[2] as PathAttribute]
  t.deepEqual(fromTwoOctetAttributes(toTwoOctetAttributes(plain)), plain)
})

test('an AGGREGATOR that is not AS_TRANS means AS4_PATH and AS4_AGGREGATOR are stale and ignored', (t) => {
  const received: PathAttribute[] = [
    { type: AttrType.AsPath, segments: [seq(65000, AS_TRANS)] },
    { type: AttrType.Aggregator, asn: 65000, address: '10.0.0.1' },
    { type: AttrType.As4Path, segments: [seq(4200000001)] },
    { type: AttrType.As4Aggregator, asn: 4200000009, address: '10.0.0.9' }
  ]
  t.deepEqual(fromTwoOctetAttributes(received), received.slice(0, 2))
})
