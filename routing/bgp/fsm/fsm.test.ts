import test from 'ava'
import {
  Afi, CapabilityCode, KEEPALIVE, MessageType, Safi, decodeMessage, encodeMessage, frameMessages
} from '../codec/index.js'
import type { BgpMessage, Capability, NotificationMessage, OpenMessage } from '../codec/index.js'
import { fakeClock, transportPair } from '../testing/index.js'
import type { FakeClock, MemTransport } from '../testing/index.js'
import { PeerFsm } from './fsm.js'
import type { DownInfo, FsmInit } from './fsm.js'
import type { Transition, Transport } from './types.js'

const mp: Capability = { code: CapabilityCode.Multiprotocol, afi: Afi.Ipv4, safi: Safi.Unicast }

interface Rig { fsm: PeerFsm, transitions: Transition[], downs: DownInfo[], established: number }

function rig (clock: FakeClock, init: Partial<FsmInit> & { localAs: number, routerId: string, peerAs: number }, connect?: () => Promise<Transport>): Rig {
  const r: Rig = { fsm: undefined as unknown as PeerFsm, transitions: [], downs: [], established: 0 }
  r.fsm = new PeerFsm({ capabilities: [{ code: CapabilityCode.FourOctetAs, asn: init.localAs }, mp], connectRetryTime: 5, idleHoldTime: 1, ...init }, {
    clock,
    ...(connect !== undefined ? { connect } : {}),
    events: {
      transition: (t) => r.transitions.push(t),
      established: () => { r.established++ },
      update: () => {},
      down: (d) => r.downs.push(d),
      log: (_l, m) => { if (process.env.FSM_DEBUG !== undefined) console.log(init.routerId, m) }
    }
  })
  return r
}

function messages (t: MemTransport): BgpMessage[] {
  return [...frameMessages(t.written)].map((b) => decodeMessage(b, { fourOctetAs: true }))
}

const tick = async (): Promise<void> => { for (let i = 0; i < 5; i++) await Promise.resolve() }

test('two FSMs reach Established through OpenSent and OpenConfirm and negotiate the smaller hold time', async (t) => {
  const clock = fakeClock()
  const [x, y] = transportPair()
  const a = rig(clock, { localAs: 65001, routerId: '10.0.0.1', peerAs: 65002, holdTime: 9 }, async () => x)
  const b = rig(clock, { localAs: 65002, routerId: '10.0.0.2', peerAs: 65001, holdTime: 30, passive: true })
  b.fsm.start()
  t.is(b.fsm.state, 'Active')
  a.fsm.start()
  t.is(a.fsm.state, 'Connect')
  b.fsm.incoming(y)
  await tick()
  t.is(a.fsm.state, 'Established')
  t.is(b.fsm.state, 'Established')
  t.deepEqual(a.transitions.map((s) => s.next), ['Connect', 'OpenSent', 'OpenConfirm', 'Established'])
  t.deepEqual(b.transitions.map((s) => `${s.next}:${s.reason}`), ['Active:manual-start', 'OpenSent:tcp-connection-confirmed', 'OpenConfirm:open-received', 'Established:keepalive-received'])
  t.is(a.fsm.session?.negotiated.holdTime, 9)
  t.is(b.fsm.session?.negotiated.holdTime, 9)
  t.is(a.established, 1)
  // Keepalives every 3 s keep both sides up well past the hold time.
  clock.advance(60_000)
  t.is(a.fsm.state, 'Established')
  t.is(b.fsm.state, 'Established')
  const kas = messages(x).filter((m) => m.type === MessageType.Keepalive).length
  t.true(kas >= 20, `${kas} keepalives`)
})

test('hold timer expiry sends NOTIFICATION 4/0, goes Idle and starts again after the idle hold time', async (t) => {
  const clock = fakeClock()
  const [x, y] = transportPair()
  const a = rig(clock, { localAs: 65001, routerId: '10.0.0.1', peerAs: 65001, holdTime: 3 }, async () => x)
  a.fsm.start()
  await tick()
  // The peer answers OPEN + KEEPALIVE by hand, then falls silent.
  const peerOpen: OpenMessage = { type: MessageType.Open, myAs: 65001, holdTime: 3, bgpId: '10.0.0.9', parameters: [] }
  y.write(encodeMessage(peerOpen))
  y.write(encodeMessage(KEEPALIVE))
  t.is(a.fsm.state, 'Established')
  clock.advance(3000)
  t.is(a.fsm.state, 'Idle')
  const last = messages(x).at(-1) as NotificationMessage
  t.is(last.type, MessageType.Notification)
  t.is(last.code, 4)
  t.is(a.downs[0]?.reason, 'hold-timer-expired')
  t.true(a.downs[0]?.wasEstablished)
  t.true(x.isClosed)
  clock.advance(1000)
  t.is(a.fsm.state, 'Connect')
  t.is(a.fsm.lastReason, 'automatic-start')
})

test('an OPEN from the wrong AS is answered with OPEN Message Error / Bad Peer AS', async (t) => {
  const clock = fakeClock()
  const [x, y] = transportPair()
  const a = rig(clock, { localAs: 65001, routerId: '10.0.0.1', peerAs: 65002, passive: true })
  a.fsm.start()
  a.fsm.incoming(x)
  y.write(encodeMessage({ type: MessageType.Open, myAs: 65003, holdTime: 90, bgpId: '10.0.0.2', parameters: [] }))
  const n = messages(x).find((m) => m.type === MessageType.Notification) as NotificationMessage
  t.deepEqual([n.code, n.subcode], [2, 2])
  t.is(a.fsm.state, 'Idle')
  t.is(a.downs[0]?.reason, 'bad-message')
  t.false(a.downs[0]?.wasEstablished)
})

test('an UPDATE in OpenSent is an FSM Error with subcode 1', async (t) => {
  const clock = fakeClock()
  const [x, y] = transportPair()
  const a = rig(clock, { localAs: 65001, routerId: '10.0.0.1', peerAs: 65002, passive: true })
  a.fsm.start()
  a.fsm.incoming(x)
  y.write(encodeMessage({ type: MessageType.Update, withdrawn: [], attributes: [], nlri: [] }))
  const n = messages(x).find((m) => m.type === MessageType.Notification) as NotificationMessage
  t.deepEqual([n.code, n.subcode], [5, 1])
  t.is(a.downs[0]?.reason, 'fsm-error')
})

test('a bad marker from the framer becomes NOTIFICATION 1/1', async (t) => {
  const clock = fakeClock()
  const [x, y] = transportPair()
  const a = rig(clock, { localAs: 65001, routerId: '10.0.0.1', peerAs: 65002, passive: true })
  a.fsm.start()
  a.fsm.incoming(x)
  y.write(new Uint8Array(19))
  const n = messages(x).find((m) => m.type === MessageType.Notification) as NotificationMessage
  t.deepEqual([n.code, n.subcode], [1, 1])
})

test('connect failure goes Active; the ConnectRetry timer dials again from Connect', async (t) => {
  const clock = fakeClock()
  let dials = 0
  const a = rig(clock, { localAs: 65001, routerId: '10.0.0.1', peerAs: 65002, connectRetryTime: 5 }, async () => { dials++; throw new Error('ECONNREFUSED') })
  a.fsm.start()
  await tick()
  t.is(a.fsm.state, 'Active')
  t.is(dials, 1)
  clock.advance(4999)
  t.is(dials, 1)
  clock.advance(1)
  t.is(dials, 2)
  await tick()
  t.deepEqual(a.transitions.map((s) => `${s.next}:${s.reason}`), [
    'Connect:manual-start', 'Active:tcp-connection-fails', 'Connect:connect-retry-timer-expired', 'Active:tcp-connection-fails'
  ])
})

for (const row of [
  { name: 'the peer has the higher BGP Identifier: our outgoing connection is closed', peerId: '10.0.0.2', survivor: 'inbound' },
  { name: 'we have the higher BGP Identifier: the peer\'s connection is closed', peerId: '9.0.0.1', survivor: 'outbound' }
] as const) {
  test(`connection collision in OpenConfirm: ${row.name}`, async (t) => {
    const clock = fakeClock()
    const [aOut, peerOut] = transportPair()
    const [aIn, peerIn] = transportPair()
    const a = rig(clock, { localAs: 65001, routerId: '10.0.0.1', peerAs: 65001 }, async () => aOut)
    a.fsm.start()
    await tick()
    const open: OpenMessage = { type: MessageType.Open, myAs: 65001, holdTime: 90, bgpId: row.peerId, parameters: [] }
    peerOut.write(encodeMessage(open))
    t.is(a.fsm.state, 'OpenConfirm')
    // The peer's own connection arrives and its OPEN comes in while ours waits in OpenConfirm.
    a.fsm.incoming(aIn)
    peerIn.write(encodeMessage(open))
    const [loser, winner, winnerPeer] = row.survivor === 'inbound' ? [aOut, aIn, peerIn] : [aIn, aOut, peerOut]
    t.true(loser.isClosed)
    t.false(winner.isClosed)
    const n = messages(loser).find((m) => m.type === MessageType.Notification) as NotificationMessage
    t.deepEqual([n.code, n.subcode], [6, 7])
    t.is(a.downs.length, 0)
    winnerPeer.write(encodeMessage(KEEPALIVE))
    t.is(a.fsm.state, 'Established')
    t.is(a.established, 1)
  })
}

test('a connection whose OPEN arrives while another is Established is closed with Cease 7', async (t) => {
  const clock = fakeClock()
  const [aOut, peerOut] = transportPair()
  const [aIn, peerIn] = transportPair()
  const a = rig(clock, { localAs: 65001, routerId: '10.0.0.1', peerAs: 65001 }, async () => aOut)
  a.fsm.start()
  await tick()
  const open: OpenMessage = { type: MessageType.Open, myAs: 65001, holdTime: 90, bgpId: '10.0.0.2', parameters: [] }
  peerOut.write(encodeMessage(open))
  peerOut.write(encodeMessage(KEEPALIVE))
  t.is(a.fsm.state, 'Established')
  a.fsm.incoming(aIn)
  peerIn.write(encodeMessage(open))
  t.true(aIn.isClosed)
  t.false(aOut.isClosed)
  t.is(a.fsm.state, 'Established')
})

test('stop() sends Cease / Administrative Shutdown and stays Idle', async (t) => {
  const clock = fakeClock()
  const [x, y] = transportPair()
  const a = rig(clock, { localAs: 65001, routerId: '10.0.0.1', peerAs: 65002 }, async () => x)
  const b = rig(clock, { localAs: 65002, routerId: '10.0.0.2', peerAs: 65001, passive: true })
  b.fsm.start(); a.fsm.start(); b.fsm.incoming(y)
  await tick()
  t.is(a.fsm.state, 'Established')
  a.fsm.stop()
  t.is(a.fsm.state, 'Idle')
  t.is(b.fsm.state, 'Idle')
  const n = messages(x).at(-1) as NotificationMessage
  t.deepEqual([n.code, n.subcode], [6, 2])
  t.is(b.downs[0]?.reason, 'notification-received')
  clock.advance(60_000)
  t.is(a.fsm.state, 'Idle')
})

test('graceful restart: an OPEN with the Restart bit while the old session is Established replaces it', async (t) => {
  const clock = fakeClock()
  const [aOut, peerOut] = transportPair()
  const [aIn, peerIn] = transportPair()
  const a = rig(clock, { localAs: 65001, routerId: '10.0.0.1', peerAs: 65001 }, async () => aOut)
  a.fsm.start()
  await tick()
  const gr = (flags: number): OpenMessage => ({
    type: MessageType.Open, myAs: 65001, holdTime: 90, bgpId: '10.0.0.2',
    parameters: [{ type: 2, capabilities: [{ code: CapabilityCode.GracefulRestart, flags, restartTime: 120, families: [] }] }]
  })
  peerOut.write(encodeMessage(gr(0)))
  peerOut.write(encodeMessage(KEEPALIVE))
  t.is(a.fsm.state, 'Established')
  a.fsm.incoming(aIn)
  peerIn.write(encodeMessage(gr(0x8)))
  t.true(aOut.isClosed, 'the old session is dropped without a NOTIFICATION')
  t.false(messages(aOut).some((m) => m.type === MessageType.Notification))
  t.is(a.downs[0]?.reason, 'peer-restarting')
  t.true(a.downs[0]?.wasEstablished)
  peerIn.write(encodeMessage(KEEPALIVE))
  t.is(a.fsm.state, 'Established')
})
