import test from 'ava'
import { transportPair } from '../testing/index.js'
import { parseConfig } from './config.js'
import { Speaker } from './speaker.js'

/** Speakers wired through in-memory transports: `links[x]` is the speaker at address x. */
function lab (configs: Record<string, unknown>): Record<string, Speaker> {
  const speakers: Record<string, Speaker> = {}
  for (const [address, doc] of Object.entries(configs)) {
    speakers[address] = new Speaker(parseConfig(doc), {
      noListener: true,
      connect: async (pc) => {
        const remote = speakers[pc.address]
        if (remote === undefined) throw new Error('ECONNREFUSED')
        const [mine, theirs] = transportPair({ a: address, b: pc.address })
        remote.accept(theirs)
        return mine
      }
    })
  }
  return speakers
}

async function until (cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const stopAll = async (s: Record<string, Speaker>): Promise<void> => { for (const x of Object.values(s)) await x.stop() }

test('route reflector: a client route reaches the other client with ORIGINATOR_ID and CLUSTER_LIST, goes back to its source which ignores it; a withdrawal follows', async (t) => {
  const s = lab({
    '10.0.0.1': { routerId: '10.0.0.1', asn: 65000, clusterId: '1.1.1.1', peers: [
      { address: '10.0.0.2', asn: 65000, routeReflectorClient: true, passive: true },
      { address: '10.0.0.3', asn: 65000, routeReflectorClient: true, passive: true }] },
    '10.0.0.2': { routerId: '10.0.0.2', asn: 65000, peers: [{ address: '10.0.0.1', asn: 65000 }], announce: ['10.2.0.0/16'] },
    '10.0.0.3': { routerId: '10.0.0.3', asn: 65000, peers: [{ address: '10.0.0.1', asn: 65000 }] }
  })
  t.teardown(() => stopAll(s))
  for (const x of Object.values(s)) await x.start()
  const c = s['10.0.0.3'] as Speaker
  await until(() => c.rib.loc.has('10.2.0.0/16'))
  const [row] = c.ribView({ prefix: '10.2.0.0/16' })
  const p = row?.paths[0]
  t.is(p?.originatorId, '10.0.0.2')
  t.deepEqual(p?.clusterList, ['1.1.1.1'])
  t.is(p?.nextHop, '10.0.0.2', 'reflection keeps the next hop')
  t.is(p?.localPref, 100)
  t.deepEqual(p?.asPath, [])
  const rr = s['10.0.0.1'] as Speaker
  t.is(rr.neighbors().find((n) => n.address === '10.0.0.2')?.prefixesReceived, 1)
  // Update-group style: the source client is sent its own route too, and ignores it (ORIGINATOR_ID is its router id).
  const src = s['10.0.0.2'] as Speaker
  await until(() => src.neighbors()[0]?.loopedIn.originatorId === 1)
  t.is(rr.neighbors().find((n) => n.address === '10.0.0.2')?.prefixesAdvertised, 1)
  t.is(src.neighbors()[0]?.prefixesReceived, 0)
  t.is(src.ribView({ prefix: '10.2.0.0/16' })[0]?.paths.length, 1, 'only its own path')
  ;(s['10.0.0.2'] as Speaker).withdraw('10.2.0.0/16')
  await until(() => !c.rib.loc.has('10.2.0.0/16'))
  t.pass()
})

test('eBGP without policy: nothing is accepted or sent (RFC 8212); with policy, the AS path is prepended and the next hop is ours', async (t) => {
  const s = lab({
    '10.0.0.1': { routerId: '10.0.0.1', asn: 65001, announce: ['10.1.0.0/16'], peers: [{ address: '10.0.0.2', asn: 65002, passive: true }] },
    '10.0.0.2': { routerId: '10.0.0.2', asn: 65002, announce: ['10.2.0.0/16'], peers: [{ address: '10.0.0.1', asn: 65001, policy: { import: 'accept', export: 'accept' } }] }
  })
  t.teardown(() => stopAll(s))
  for (const x of Object.values(s)) await x.start()
  const a = s['10.0.0.1'] as Speaker
  const b = s['10.0.0.2'] as Speaker
  await until(() => a.neighbors()[0]?.state === 'Established' && b.neighbors()[0]?.state === 'Established')
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.false(a.rib.loc.has('10.2.0.0/16'), 'A has no import policy: B\'s route is refused')
  t.false(b.rib.loc.has('10.1.0.0/16'), 'A has no export policy: nothing sent')
  t.is(b.neighbors()[0]?.prefixesAdvertised, 1, 'B sends under its policy')
})

test('eBGP with policy on both sides: the AS path starts with the sender and the next hop is its address', async (t) => {
  const pol = { import: 'accept', export: 'accept' }
  const s = lab({
    '10.0.0.1': { routerId: '10.0.0.1', asn: 65001, announce: [{ prefix: '10.1.0.0/16', communities: ['65001:7'] }], peers: [{ address: '10.0.0.2', asn: 65002, passive: true, policy: pol }] },
    '10.0.0.2': { routerId: '10.0.0.2', asn: 65002, peers: [{ address: '10.0.0.1', asn: 65001, policy: { import: { rules: [{ match: { communities: ['65001:7'] }, set: { localPref: 300 } }] }, export: 'accept' } }] }
  })
  t.teardown(() => stopAll(s))
  for (const x of Object.values(s)) await x.start()
  const b = s['10.0.0.2'] as Speaker
  await until(() => b.rib.loc.has('10.1.0.0/16'))
  const p = b.ribView({ prefix: '10.1.0.0/16' })[0]?.paths[0]
  t.deepEqual(p?.asPath, [[65001]])
  t.is(p?.nextHop, '10.0.0.1')
  t.is(p?.localPref, 300, 'import policy set LOCAL_PREF on the community match')
  t.deepEqual(p?.communities, ['65001:7'])
})

test('maxPrefixes: the peer that exceeds it is closed with Cease / Maximum Number of Prefixes Reached', async (t) => {
  const s = lab({
    '10.0.0.1': { routerId: '10.0.0.1', asn: 65000, peers: [{ address: '10.0.0.2', asn: 65000, passive: true, maxPrefixes: 2, idleHoldTime: 60 }] },
    '10.0.0.2': { routerId: '10.0.0.2', asn: 65000, announce: ['10.1.0.0/16', '10.2.0.0/16', '10.3.0.0/16'], peers: [{ address: '10.0.0.1', asn: 65000, idleHoldTime: 60 }] }
  })
  t.teardown(() => stopAll(s))
  for (const x of Object.values(s)) await x.start()
  const b = s['10.0.0.2'] as Speaker
  await until(() => b.neighbors()[0]?.lastError !== undefined)
  t.regex(b.neighbors()[0]?.lastError ?? '', /received 6\/1/)
  t.is((s['10.0.0.1'] as Speaker).rib.loc.size, 0)
})

test('IPv4 and IPv6 announcements with the same attributes go out with a next hop of their own family', async (t) => {
  const s = lab({
    '10.0.0.1': { routerId: '10.0.0.1', asn: 65000, announce: ['10.1.0.0/24', 'fd00:1::/64'], peers: [{ address: '10.0.0.2', asn: 65000, passive: true, nextHop6: 'fd00::1' }] },
    '10.0.0.2': { routerId: '10.0.0.2', asn: 65000, peers: [{ address: '10.0.0.1', asn: 65000 }] }
  })
  t.teardown(() => stopAll(s))
  for (const x of Object.values(s)) await x.start()
  const b = s['10.0.0.2'] as Speaker
  await until(() => b.rib.loc.has('10.1.0.0/24') && b.rib.loc.has('fd00:1::/64'))
  t.is(b.ribView({ prefix: '10.1.0.0/24' })[0]?.paths[0]?.nextHop, '10.0.0.1')
  t.is(b.ribView({ prefix: 'fd00:1::/64' })[0]?.paths[0]?.nextHop, 'fd00::1')
})

test('4-octet AS numbers: an AS above 65535 on both sides shows whole in the AS path (RFC 6793)', async (t) => {
  const pol = { import: 'accept', export: 'accept' }
  const s = lab({
    '10.0.0.1': { routerId: '10.0.0.1', asn: 4200000001, announce: ['10.1.0.0/16'], peers: [{ address: '10.0.0.2', asn: 4200000002, passive: true, policy: pol }] },
    '10.0.0.2': { routerId: '10.0.0.2', asn: 4200000002, peers: [{ address: '10.0.0.1', asn: 4200000001, policy: pol }] }
  })
  t.teardown(() => stopAll(s))
  for (const x of Object.values(s)) await x.start()
  const b = s['10.0.0.2'] as Speaker
  await until(() => b.rib.loc.has('10.1.0.0/16'))
  t.deepEqual(b.ribView({ prefix: '10.1.0.0/16' })[0]?.paths[0]?.asPath, [[4200000001]])
})
