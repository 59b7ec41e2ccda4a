import test from 'ava'
import { fnv32a, newRsReplicas, podTemplateHash, proportionalScale, resolveFenceposts, scaleDownOld, scaledValue } from './rollout.js'

test('intOrString percentages round like upstream: surge up, unavailable down', (t) => {
  const rows: Array<{ name: string, surge: number | string, unavail: number | string, replicas: number, want: { surge: number, unavailable: number } }> = [
    { name: 'defaults on 10', surge: '25%', unavail: '25%', replicas: 10, want: { surge: 3, unavailable: 2 } },
    { name: 'defaults on 1', surge: '25%', unavail: '25%', replicas: 1, want: { surge: 1, unavailable: 0 } },
    { name: 'defaults on 4', surge: '25%', unavail: '25%', replicas: 4, want: { surge: 1, unavailable: 1 } },
    { name: 'both zero becomes unavailable 1', surge: 0, unavail: '0%', replicas: 5, want: { surge: 0, unavailable: 1 } },
    { name: 'integers', surge: 2, unavail: 1, replicas: 6, want: { surge: 2, unavailable: 1 } },
    { name: 'integer strings', surge: '2', unavail: '0', replicas: 6, want: { surge: 2, unavailable: 0 } },
    { name: '100% surge', surge: '100%', unavail: 0, replicas: 3, want: { surge: 3, unavailable: 0 } }
  ]
  for (const r of rows) t.deepEqual(resolveFenceposts(r.surge, r.unavail, r.replicas), r.want, r.name)
  t.is(scaledValue('33%', 10, true), 4)
  t.is(scaledValue('33%', 10, false), 3)
  t.throws(() => scaledValue('x%', 10, true), { code: 'CTRL_ERR_CONTROLLERS_INVALID_FLAG' })
})

test('the new ReplicaSet grows only as far as maxSurge allows', (t) => {
  t.is(newRsReplicas({ replicas: 10, surge: 3, totalReplicas: 10, newReplicas: 0 }), 3)
  t.is(newRsReplicas({ replicas: 10, surge: 3, totalReplicas: 13, newReplicas: 3 }), 3)
  t.is(newRsReplicas({ replicas: 10, surge: 3, totalReplicas: 11, newReplicas: 3 }), 5)
  t.is(newRsReplicas({ replicas: 3, surge: 1, totalReplicas: 0, newReplicas: 0 }), 3)
  t.is(newRsReplicas({ replicas: 3, surge: 1, totalReplicas: 3, newReplicas: 3 }), 3)
})

test('old ReplicaSets shrink keeping replicas − maxUnavailable available, unhealthy pods first', (t) => {
  // 10 replicas, maxUnavailable 2: new RS of 3 has none available yet ⇒ allPods 13 − min 8 − 3 unavailable = 2.
  t.deepEqual([...scaleDownOld({ replicas: 10, unavailable: 2, newRs: { replicas: 3, available: 0 }, old: [{ name: 'a', replicas: 10, available: 10, created: 1 }] })], [['a', 8]])
  // Nothing may go while availability is at the floor.
  t.deepEqual([...scaleDownOld({ replicas: 10, unavailable: 2, newRs: { replicas: 5, available: 0 }, old: [{ name: 'a', replicas: 8, available: 8, created: 1 }] })], [])
  // New pods available ⇒ old shrink down to the floor: 13 available − 8 minimum = 5 may go.
  t.deepEqual([...scaleDownOld({ replicas: 10, unavailable: 2, newRs: { replicas: 5, available: 5 }, old: [{ name: 'a', replicas: 8, available: 8, created: 1 }] })], [['a', 3]])
  // Unhealthy old pods go first and cost no availability; the oldest RS first.
  const m = scaleDownOld({ replicas: 4, unavailable: 1, newRs: { replicas: 1, available: 0 }, old: [{ name: 'young', replicas: 2, available: 2, created: 2 }, { name: 'old', replicas: 2, available: 0, created: 1 }] })
  // allPods 5 − minAvailable 3 − 1 new unavailable: one unhealthy pod of the oldest RS may go.
  t.deepEqual([...m], [['old', 1]])
  t.deepEqual([...scaleDownOld({ replicas: 3, unavailable: 0, newRs: { replicas: 3, available: 3 }, old: [{ name: 'a', replicas: 0, available: 0, created: 1 }] })], [])
})

test('a rolling update of 4 replicas (25%/25%) steps as upstream does to completion', (t) => {
  // Simulate: pods become available as soon as they exist.
  let oldR = 4; let oldA = 4; let newR = 0; let newA = 0
  const { surge, unavailable } = resolveFenceposts('25%', '25%', 4)
  const steps: string[] = []
  for (let i = 0; i < 20 && !(newR === 4 && oldR === 0); i++) {
    newR = newRsReplicas({ replicas: 4, surge, totalReplicas: oldR + newR, newReplicas: newR })
    const down = scaleDownOld({ replicas: 4, unavailable, newRs: { replicas: newR, available: newA }, old: [{ name: 'o', replicas: oldR, available: oldA, created: 0 }] }).get('o')
    if (down !== undefined) { oldR = down; oldA = Math.min(oldA, down) }
    steps.push(`${oldR}/${newR}`)
    t.true(oldR + newR <= 4 + surge, 'never above replicas + maxSurge')
    t.true(oldA + newA >= 4 - unavailable, 'never below replicas − maxUnavailable available')
    newA = newR
  }
  t.deepEqual(steps, ['3/1', '2/2', '1/3', '0/4'])
})

test('proportional scaling splits a resize across active ReplicaSets by their share', (t) => {
  const m = proportionalScale({ replicas: 20, surge: 0, active: [{ name: 'new', replicas: 5, maxReplicas: 10 }, { name: 'old', replicas: 5, maxReplicas: 10 }] })
  t.deepEqual(Object.fromEntries(m), { new: 10, old: 10 })
  const down = proportionalScale({ replicas: 0, surge: 0, active: [{ name: 'a', replicas: 3, maxReplicas: 6 }, { name: 'b', replicas: 3, maxReplicas: 6 }] })
  t.deepEqual(Object.fromEntries(down), { a: 0, b: 0 })
  const odd = proportionalScale({ replicas: 7, surge: 0, active: [{ name: 'a', replicas: 3, maxReplicas: 4 }, { name: 'b', replicas: 1, maxReplicas: 4 }] })
  t.is([...odd.values()].reduce((s, v) => s + v, 0), 7)
})

test('pod-template-hash is FNV-32a, safe-encoded, stable and changed by the collision count', (t) => {
  t.is(fnv32a(''), 0x811c9dc5)
  t.is(fnv32a('a'), 0xe40c292c)
  const h = podTemplateHash('{"spec":{}}')
  t.regex(h, /^[bcdfghjklmnpqrstvwxz2456789]+$/)
  t.is(podTemplateHash('{"spec":{}}'), h)
  t.not(podTemplateHash('{"spec":{}}', 1), h)
  t.not(podTemplateHash('{"spec":{"x":1}}'), h)
})
