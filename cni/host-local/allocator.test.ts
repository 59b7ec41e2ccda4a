import test from 'ava'
import { CniError } from '../skel/index.js'
import type { NetConf } from '../skel/index.js'
import { allocate, candidates, collectGarbage, holdsAddress, releaseOwner } from './allocator.js'
import { loadConfig } from './config.js'
import type { RangeSet } from './config.js'
import { fakeStore } from './testing/fake-store.js'

const sets = (ipam: Record<string, unknown>): RangeSet[] =>
  loadConfig({ cniVersion: '1.0.0', name: 'n', type: 'host-local', ipam: { type: 'host-local', ...ipam } } as NetConf).rangeSets
const set29 = (): RangeSet[] => sets({ subnet: '10.1.0.0/29' }) // .1 gateway, .2-.6 allocatable
const c = (id: string, ifname = 'eth0'): { id: string, ifname: string } => ({ id, ifname })

test('candidates walk from rangeStart, skip the gateway, and visit each address once', (t) => {
  const [s] = set29()
  t.deepEqual([...candidates(s ?? [], undefined)].map((x) => x.ip), ['10.1.0.2', '10.1.0.3', '10.1.0.4', '10.1.0.5', '10.1.0.6'])
})

test('candidates resume after the last reserved address and wrap around', (t) => {
  const [s] = set29()
  t.deepEqual([...candidates(s ?? [], '10.1.0.4')].map((x) => x.ip), ['10.1.0.5', '10.1.0.6', '10.1.0.2', '10.1.0.3', '10.1.0.4'])
})

test('candidates ignore a cursor outside the set (range indexes changed) and start over', (t) => {
  const [s] = set29()
  t.deepEqual([...candidates(s ?? [], '192.168.0.9')].map((x) => x.ip)[0], '10.1.0.2')
})

test('candidates cycle across the ranges of a set, skipping each range\'s own gateway', (t) => {
  const [s] = sets({ ranges: [[{ subnet: '10.1.0.0/30' }, { subnet: '10.2.0.0/29', rangeStart: '10.2.0.4', rangeEnd: '10.2.0.6', gateway: '10.2.0.5' }]] })
  t.deepEqual([...candidates(s ?? [], '10.2.0.4')].map((x) => x.ip), ['10.2.0.6', '10.1.0.2', '10.2.0.4'])
  t.deepEqual([...candidates(s ?? [], '10.2.0.4')].map((x) => x.range.gateway), ['10.2.0.5', '10.1.0.1', '10.2.0.5'])
})

test('allocates round-robin: a released address is not handed out again until the range wraps', (t) => {
  const store = fakeStore()
  const rs = set29()
  const got = ['a', 'b', 'c'].map((id) => allocate(store, { rangeSets: rs, owner: c(id), requested: [] })[0]?.ip)
  t.deepEqual(got, ['10.1.0.2', '10.1.0.3', '10.1.0.4'])
  releaseOwner(store, c('b'))
  t.is(allocate(store, { rangeSets: rs, owner: c('d'), requested: [] })[0]?.ip, '10.1.0.5')
  t.is(allocate(store, { rangeSets: rs, owner: c('e'), requested: [] })[0]?.ip, '10.1.0.6')
  t.is(allocate(store, { rangeSets: rs, owner: c('f'), requested: [] })[0]?.ip, '10.1.0.3')
  t.is(store.dump(), [
    '10.1.0.2 a/eth0', '10.1.0.3 f/eth0', '10.1.0.4 c/eth0', '10.1.0.5 d/eth0', '10.1.0.6 e/eth0', 'last_reserved_ip.0 10.1.0.3'
  ].join('\n'))
})

test('a full range set is code 104 with the reference\'s message and changes nothing', (t) => {
  const store = fakeStore({ files: { '10.1.0.2': 'x', '10.1.0.3': 'x', '10.1.0.4': 'x', '10.1.0.5': 'x', '10.1.0.6': 'x' } })
  const before = store.dump()
  const e = t.throws(() => allocate(store, { rangeSets: set29(), owner: c('a'), requested: [] }), { instanceOf: CniError })
  t.is(e?.number, 104)
  t.is(e?.message, 'failed to allocate for range 0: no IP addresses available in range set: 10.1.0.1-10.1.0.6')
  t.is(store.dump(), before)
})

test('one address per range set, with the gateway and prefix of the range it came from', (t) => {
  const store = fakeStore()
  const got = allocate(store, { rangeSets: sets({ ranges: [[{ subnet: '10.1.0.0/24', gateway: '10.1.0.254' }], [{ subnet: 'fd00::/64' }]] }), owner: c('a'), requested: [] })
  t.deepEqual(got, [
    { rangeSetIndex: 0, ip: '10.1.0.1', prefixLen: 24, gateway: '10.1.0.254' },
    { rangeSetIndex: 1, ip: 'fd00::2', prefixLen: 64, gateway: 'fd00::1' }
  ])
  t.is(store.lockCount, 1)
})

test('the same attachment twice is code 106; another interface of the same container is fine', (t) => {
  const store = fakeStore()
  const rs = set29()
  allocate(store, { rangeSets: rs, owner: c('a'), requested: [] })
  const e = t.throws(() => allocate(store, { rangeSets: rs, owner: c('a'), requested: [] }), { instanceOf: CniError })
  t.is(e?.number, 106)
  t.is(e?.message, 'failed to allocate for range 0: 10.1.0.2 has been allocated to a, duplicate allocation is not allowed')
  t.is(allocate(store, { rangeSets: rs, owner: c('a', 'eth1'), requested: [] })[0]?.ip, '10.1.0.3')
})

test('a legacy ID-only entry counts as held by that container (duplicate check)', (t) => {
  const store = fakeStore({ files: { '10.1.0.4': 'a' } })
  t.is(t.throws(() => allocate(store, { rangeSets: set29(), owner: c('a'), requested: [] }))?.message,
    'failed to allocate for range 0: 10.1.0.4 has been allocated to a, duplicate allocation is not allowed')
})

test('a requested address is reserved as asked and moves the round-robin cursor', (t) => {
  const store = fakeStore()
  const rs = set29()
  t.deepEqual(allocate(store, { rangeSets: rs, owner: c('a'), requested: ['10.1.0.5'] }), [{ rangeSetIndex: 0, ip: '10.1.0.5', prefixLen: 29, gateway: '10.1.0.1' }])
  t.is(allocate(store, { rangeSets: rs, owner: c('b'), requested: [] })[0]?.ip, '10.1.0.6')
})

const refused: Array<{ name: string, files?: Record<string, string>, requested: string[], code: number, msg: string }> = [
  { name: 'the gateway', requested: ['10.1.0.1'], code: 105, msg: 'failed to allocate for range 0: requested ip 10.1.0.1 is subnet\'s gateway' },
  { name: 'a taken address', files: { '10.1.0.3': 'other\r\neth0' }, requested: ['10.1.0.3'], code: 105, msg: 'failed to allocate for range 0: requested IP address 10.1.0.3 is not available in range set 10.1.0.1-10.1.0.6' },
  { name: 'an address outside every range set', requested: ['10.9.0.3'], code: 105, msg: 'failed to allocate all requested IPs: 10.9.0.3' },
  { name: 'the broadcast address (outside the default range)', requested: ['10.1.0.7'], code: 105, msg: 'failed to allocate all requested IPs: 10.1.0.7' },
  { name: 'two addresses for one range set', requested: ['10.1.0.3', '10.1.0.4'], code: 105, msg: 'failed to allocate all requested IPs: 10.1.0.4' }
]
for (const row of refused) {
  test(`a request for ${row.name} fails with code ${row.code} and leaves the store as it was`, (t) => {
    const store = fakeStore(row.files !== undefined ? { files: row.files } : {})
    const before = store.dump()
    const e = t.throws(() => allocate(store, { rangeSets: set29(), owner: c('a'), requested: row.requested }), { instanceOf: CniError })
    t.is(e?.number, row.code)
    t.is(e?.message, row.msg)
    // The cursor may not move either: the only reservation made (if any) was rolled back, cursor aside.
    t.is(store.dump().split('\n').filter((l) => !l.startsWith('last_')).join('\n'), before)
  })
}

test('a failure in a later range set releases what earlier sets got in the same call, and only that', (t) => {
  // Set 1 (10.2.0.0/30) holds one address, .2, and it is taken.
  const store = fakeStore({ files: { '10.2.0.2': 'other\r\neth0', '10.1.0.6': 'a\r\neth9' } })
  const rs = sets({ ranges: [[{ subnet: '10.1.0.0/29' }], [{ subnet: '10.2.0.0/30' }]] })
  const e = t.throws(() => allocate(store, { rangeSets: rs, owner: c('a'), requested: [] }), { instanceOf: CniError })
  t.is(e?.number, 104)
  t.is(e?.message, 'failed to allocate for range 1: no IP addresses available in range set: 10.2.0.1-10.2.0.2')
  t.is(store.dump(), '10.1.0.6 a/eth9\n10.2.0.2 other/eth0\nlast_reserved_ip.0 10.1.0.2')
})

test('a duplicate in a later set does not destroy the earlier, legitimate reservation (the reference releases it)', (t) => {
  const store = fakeStore({ files: { '10.2.0.5': 'a\r\neth0' } })
  const rs = sets({ ranges: [[{ subnet: '10.1.0.0/29' }], [{ subnet: '10.2.0.0/29' }]] })
  t.is(t.throws(() => allocate(store, { rangeSets: rs, owner: c('a'), requested: [] }), { instanceOf: CniError })?.number, 106)
  t.is(store.dump(), '10.2.0.5 a/eth0\nlast_reserved_ip.0 10.1.0.2')
})

test('a store error mid-request rolls back and surfaces the store error', (t) => {
  const store = fakeStore({ failReserveAt: 2 })
  const rs = sets({ ranges: [[{ subnet: '10.1.0.0/29' }], [{ subnet: '10.2.0.0/29' }]] })
  t.throws(() => allocate(store, { rangeSets: rs, owner: c('a'), requested: [] }), { message: /injected failure reserving 10\.2\.0\.2/ })
  t.is(store.dump(), 'last_reserved_ip.0 10.1.0.2')
})

test('release drops exactly the attachment\'s addresses, in every range, and is idempotent', (t) => {
  const store = fakeStore({ files: { '10.1.0.2': 'a\r\neth0', 'fd00::2': 'a\r\neth0', '10.1.0.3': 'a\r\neth1', '10.1.0.4': 'b\r\neth0', '10.99.0.1': 'a\r\neth0' } })
  t.deepEqual(releaseOwner(store, c('a')).sort(), ['10.1.0.2', '10.99.0.1', 'fd00::2'])
  t.deepEqual(releaseOwner(store, c('a')), [])
  t.is(store.dump(), '10.1.0.3 a/eth1\n10.1.0.4 b/eth0')
})

test('release falls back to legacy ID-only entries only when nothing matches exactly', (t) => {
  const store = fakeStore({ files: { '10.1.0.2': 'a', '10.1.0.3': 'a\r\neth0' } })
  t.deepEqual(releaseOwner(store, c('a')), ['10.1.0.3'])
  t.deepEqual(releaseOwner(store, c('a')), ['10.1.0.2'])
  t.is(store.dump(), '')
})

test('release tries every address and reports the failures together as code 111', (t) => {
  const store = fakeStore({ files: { '10.1.0.2': 'a\r\neth0', '10.1.0.3': 'a\r\neth0' }, failRelease: ['10.1.0.2'] })
  const e = t.throws(() => releaseOwner(store, c('a')), { instanceOf: CniError })
  t.is(e?.number, 111)
  t.regex(e?.details ?? '', /10\.1\.0\.2: fake store: injected failure/)
  t.is(store.dump(), '10.1.0.2 a/eth0')
})

test('holdsAddress matches the attachment, or a legacy entry of the container', (t) => {
  const store = fakeStore({ files: { '10.1.0.2': 'a\r\neth0', '10.1.0.3': 'legacy' } })
  t.true(holdsAddress(store, c('a')))
  t.false(holdsAddress(store, c('a', 'eth1')))
  t.true(holdsAddress(store, c('legacy', 'eth7')))
  t.false(holdsAddress(store, c('b')))
})

test('GC releases every reservation not in the valid list and keeps the valid ones', (t) => {
  const store = fakeStore({
    files: { '10.1.0.2': 'a\r\neth0', '10.1.0.3': 'a\r\neth1', '10.1.0.4': 'b\r\neth0', '10.1.0.5': 'old', '10.1.0.6': 'b' },
    lastReserved: { 0: '10.1.0.6' }
  })
  const released = collectGarbage(store, [{ containerID: 'a', ifname: 'eth0' }, { containerID: 'b', ifname: 'eth9' }])
  t.deepEqual(released.sort(), ['10.1.0.3', '10.1.0.4', '10.1.0.5'])
  // The legacy 'b' entry stays: container b is still valid.
  t.is(store.dump(), '10.1.0.2 a/eth0\n10.1.0.6 b\nlast_reserved_ip.0 10.1.0.6')
})

test('GC with an empty valid list releases everything but the cursors', (t) => {
  const store = fakeStore({ files: { '10.1.0.2': 'a\r\neth0', 'fd00::2': 'b' }, lastReserved: { 0: '10.1.0.2' } })
  t.is(collectGarbage(store, []).length, 2)
  t.is(store.dump(), 'last_reserved_ip.0 10.1.0.2')
})

test('every operation runs under the lock (the fake throws otherwise)', (t) => {
  const store = fakeStore()
  t.throws(() => store.list(), { message: /without holding the lock/ })
  allocate(store, { rangeSets: set29(), owner: c('a'), requested: [] })
  holdsAddress(store, c('a'))
  releaseOwner(store, c('a'))
  collectGarbage(store, [])
  t.is(store.lockCount, 4)
})
