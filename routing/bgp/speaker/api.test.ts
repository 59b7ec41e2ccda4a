import test from 'ava'
import { buildApi } from './api.js'
import { parseConfig } from './config.js'
import { Speaker } from './speaker.js'

function setup (): { app: ReturnType<typeof buildApi>, speaker: Speaker, shutdowns: boolean[] } {
  const speaker = new Speaker(parseConfig({ routerId: '10.0.0.1', asn: 65000, peers: [{ address: '10.0.0.2', asn: 65000, passive: true }] }), { noListener: true })
  const shutdowns: boolean[] = []
  return { app: buildApi({ speaker, fib: undefined, shutdown: (g) => shutdowns.push(g) }), speaker, shutdowns }
}

test('API: announce, rib, withdraw; neighbors; errors carry BGPD_ERR_* codes', async (t) => {
  const { app, speaker } = setup()
  t.teardown(() => speaker.stop())
  await speaker.start()
  let r = await app.inject({ method: 'POST', url: '/v1/announce', payload: { prefix: '10.9.0.0/24', communities: ['65000:7'], localPref: 300 } })
  t.is(r.statusCode, 200)
  r = await app.inject({ method: 'GET', url: '/v1/rib?prefix=10.9.0.0/24' })
  const rows = r.json<Array<{ prefix: string, reason: string, paths: Array<{ source: string, localPref: number, communities: string[], best: boolean }> }>>()
  t.is(rows[0]?.prefix, '10.9.0.0/24')
  t.is(rows[0]?.reason, 'only-path')
  t.like(rows[0]?.paths[0], { source: 'local', localPref: 300, communities: ['65000:7'], best: true })
  r = await app.inject({ method: 'GET', url: '/v1/neighbors' })
  t.like(r.json<Array<Record<string, unknown>>>()[0], { address: '10.0.0.2', state: 'Active', ibgp: true })
  r = await app.inject({ method: 'POST', url: '/v1/withdraw', payload: { prefix: '10.9.0.0/24' } })
  t.is(r.statusCode, 200)
  t.deepEqual((await app.inject({ method: 'GET', url: '/v1/rib' })).json(), [])
  r = await app.inject({ method: 'POST', url: '/v1/withdraw', payload: { prefix: '10.9.0.0/24' } })
  t.deepEqual([r.statusCode, r.json<{ code: string }>().code], [400, 'BGPD_ERR_REQUEST'])
  r = await app.inject({ method: 'POST', url: '/v1/announce', payload: { prefix: '10.9.0.1/24' } })
  t.deepEqual([r.statusCode, r.json<{ code: string }>().code], [400, 'BGPD_ERR_REQUEST'])
  t.regex(r.json<{ message: string }>().message, /host bits/)
  r = await app.inject({ method: 'POST', url: '/v1/neighbors/10.0.0.9/refresh' })
  t.deepEqual([r.statusCode, r.json<{ code: string }>().code], [400, 'BGPD_ERR_REQUEST'])
  r = await app.inject({ method: 'POST', url: '/v1/neighbors/10.0.0.2/refresh' })
  t.regex(r.json<{ message: string }>().message, /not established/)
})

test('API: /metrics is Prometheus text with a line per peer; shutdown passes graceful through', async (t) => {
  const { app, speaker, shutdowns } = setup()
  t.teardown(() => speaker.stop())
  const r = await app.inject({ method: 'GET', url: '/metrics' })
  t.regex(r.headers['content-type'] as string, /text\/plain/)
  t.regex(r.body, /^weft_bgp_peer_up\{peer="10\.0\.0\.2",asn="65000"\} 0$/m)
  t.regex(r.body, /^weft_bgp_prefixes 0$/m)
  await app.inject({ method: 'POST', url: '/v1/shutdown', payload: { graceful: true } })
  await new Promise((resolve) => setImmediate(resolve))
  t.deepEqual(shutdowns, [true])
})
