/**
 * What the etcd subnet manager decides before it talks to etcd: its settings
 * and its clock. Everything that needs a server is in
 * e2e/routing/etcd-manager.test.ts, against a real etcd.
 */
import test from 'ava'
import { DEFAULT_ETCD_PREFIX, etcdSubnetManager, systemClock } from './etcd-manager.js'
import type { EtcdSubnetManagerInit } from './etcd-manager.js'
import { VxlanError } from './errors.js'

const rows: Array<{ name: string, init: EtcdSubnetManagerInit, says: string }> = [
  { name: 'no endpoints', init: { endpoints: [] }, says: 'no etcd endpoints' },
  { name: 'a relative prefix', init: { endpoints: ['http://127.0.0.1:2379'], prefix: 'coreos.com/network' }, says: 'must start with /' },
  { name: 'a TTL of zero', init: { endpoints: ['http://127.0.0.1:2379'], ttlSeconds: 0 }, says: 'lease TTL 0 s' },
  { name: 'a fractional TTL', init: { endpoints: ['http://127.0.0.1:2379'], ttlSeconds: 1.5, renewMarginSeconds: 1 }, says: 'lease TTL 1.5 s' },
  { name: 'a margin as long as the TTL (it would renew without pause)', init: { endpoints: ['http://127.0.0.1:2379'], ttlSeconds: 60, renewMarginSeconds: 60 }, says: 'renew margin 60 s' },
  { name: 'the default margin with a short TTL', init: { endpoints: ['http://127.0.0.1:2379'], ttlSeconds: 600 }, says: 'renew margin 3600 s' },
  { name: 'no retry pause', init: { endpoints: ['http://127.0.0.1:2379'], renewRetrySeconds: 0 }, says: 'renew retry 0 s' }
]

for (const row of rows) {
  test(`refuses settings: ${row.name}`, (t) => {
    const err = t.throws(() => etcdSubnetManager(row.init))
    t.true(err instanceof VxlanError)
    t.is((err as VxlanError).code, 'VXLAN_ERR_FLAGS')
    t.true(err.message.includes(row.says), err.message)
  })
}

test('flannel\'s defaults are accepted, and a manager is an etcd one', async (t) => {
  t.is(DEFAULT_ETCD_PREFIX, '/coreos.com/network')
  const m = etcdSubnetManager({ endpoints: ['http://127.0.0.1:2379'], prefix: '/coreos.com/network/' })
  t.is(m.kind, 'etcd')
  await m.close()
  await m.close()
  const err = await t.throwsAsync(m.getNetworkConfig())
  t.is((err as VxlanError).code, 'VXLAN_ERR_MANAGER')
  t.regex(err.message, /closed/)
})

test('systemClock.sleep waits, and returns early without throwing when its signal aborts', async (t) => {
  let started = Date.now()
  await systemClock.sleep(50)
  t.true(Date.now() - started >= 45)
  const ac = new AbortController()
  started = Date.now()
  setTimeout(() => ac.abort(), 20)
  await systemClock.sleep(10_000, ac.signal)
  t.true(Date.now() - started < 1000)
  await systemClock.sleep(10_000, ac.signal)
  t.true(Date.now() - started < 1000, 'an aborted signal returns at once')
})
