import test from 'ava'
import { parsePod } from './model.js'
import type { Obj } from './model.js'
import { SchedulingQueue } from './queue.js'
import { SchedulerCache } from './cache.js'

const pod = (name: string, o: { priority?: number, created?: string, node?: string, cpu?: string } = {}): ReturnType<typeof parsePod> => parsePod({
  metadata: { name, namespace: 'default', creationTimestamp: o.created ?? '2026-11-22T10:00:00Z' },
  spec: { containers: [{ name: 'c', resources: { requests: { cpu: o.cpu ?? '100m' } } }], priority: o.priority ?? 0, ...(o.node !== undefined ? { nodeName: o.node } : {}) }
})

test('activeQ: higher priority first, then older', async (t) => {
  const q = new SchedulingQueue()
  q.add(pod('late', { created: '2026-11-22T10:00:05Z' }))
  q.add(pod('early', { created: '2026-11-22T10:00:01Z' }))
  q.add(pod('vip', { priority: 1000, created: '2026-11-22T10:00:09Z' }))
  const order: string[] = []
  for (let i = 0; i < 3; i++) order.push((await q.pop())!.pod.name)
  t.deepEqual(order, ['vip', 'early', 'late'])
  q.close()
  t.is(await q.pop(), undefined)
})

test('unschedulable pods: backoff 1 s doubling to 10 s; a cluster event moves them once the backoff passed; periodic flush', async (t) => {
  let now = 0
  const q = new SchedulingQueue({ now: () => now, podMaxInUnschedulableMs: 60_000 })
  t.deepEqual([1, 2, 3, 4, 5, 6].map((a) => q.backoffDuration(a)), [1000, 2000, 4000, 8000, 10_000, 10_000])
  q.add(pod('p'))
  const e = (await q.pop())!
  q.addUnschedulable(e, q.moveCycle)
  t.is(q.where('default/p'), 'unschedulable')
  q.flush()
  t.is(q.where('default/p'), 'unschedulable', 'no event, not yet flushed')
  q.moveAllToActiveOrBackoff()
  t.is(q.where('default/p'), 'backoff', 'event within the backoff')
  now = 1000
  q.flush()
  t.is(q.where('default/p'), 'active')
  const e2 = (await q.pop())!
  q.addUnschedulable(e2, q.moveCycle)
  t.is(e2.backoffUntil, 3000)
  now = 5000
  q.moveAllToActiveOrBackoff()
  t.is(q.where('default/p'), 'active', 'event after the backoff: straight to activeQ')
  const e3 = (await q.pop())!
  q.addUnschedulable(e3, q.moveCycle)
  now = 5000 + 59_999
  q.flush()
  t.is(q.where('default/p'), 'unschedulable')
  now = 5000 + 60_000
  q.flush()
  t.is(q.where('default/p'), 'active', 'flushed after podMaxInUnschedulable')
})

test('an event during the cycle sends the failed pod to backoff, not unschedulable; deleted pods are not requeued', async (t) => {
  const q = new SchedulingQueue({ now: () => 0 })
  q.add(pod('p'))
  const e = (await q.pop())!
  const cycle = q.moveCycle
  q.moveAllToActiveOrBackoff()
  q.addUnschedulable(e, cycle)
  t.is(q.where('default/p'), 'backoff')
  q.add(pod('gone'))
  const g = (await q.pop())!
  q.delete('default/gone')
  q.addUnschedulable(g, q.moveCycle)
  t.false(q.has('default/gone'))
})

test('cache: assumed pods count on their node at once; forget frees them; the informer\'s bound pod confirms; orphans join a late node', (t) => {
  const c = new SchedulerCache()
  const node = (name: string): Obj => ({ metadata: { name }, status: { allocatable: { cpu: '1', memory: '1Gi', pods: '10' } } })
  c.setNode(node('a'))
  const p = pod('p', { cpu: '300m' })
  c.assume(p, 'a')
  t.true(c.isAssumed('default/p'))
  t.is(c.node('a')!.requested.get('cpu'), 300)
  c.forget('default/p')
  t.is(c.node('a')!.requested.get('cpu'), 0)
  c.assume(p, 'a')
  c.setBoundPod(pod('p', { cpu: '300m', node: 'a' }))
  t.false(c.isAssumed('default/p'))
  t.is(c.node('a')!.requested.get('cpu'), 300)
  c.forget('default/p')
  t.is(c.node('a')!.requested.get('cpu'), 300, 'forget leaves a confirmed pod alone')
  // a node update keeps the pods
  c.setNode({ ...node('a'), metadata: { name: 'a', labels: { x: 'y' } } })
  t.is(c.node('a')!.pods.size, 1)
  t.is(c.nodeList().length, 1)
  c.setBoundPod(pod('q', { cpu: '200m', node: 'b' }))
  c.setNode(node('b'))
  t.is(c.node('b')!.requested.get('cpu'), 200)
  c.removePod('default/q')
  t.is(c.node('b')!.requested.get('cpu'), 0)
  t.deepEqual(c.nodeList().map((n) => n.name), ['a', 'b'])
})
