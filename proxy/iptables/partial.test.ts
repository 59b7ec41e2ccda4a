import test from 'ava'
import fc from 'fast-check'
import { fakeIptables } from '../../kernel/testing/index.js'
import { complianceObjects, plan, slice, stateOf, trackerWith } from '../testing/index.js'
import type { Ep } from '../testing/index.js'
import type { Service } from '../tracker/index.js'
import { iptablesProxier } from './index.js'

const cfg = { family: 4 as const, clusterCIDRs: [plan.podCIDR], masqueradeAll: false }

/** The rules of both tables with the order of rules inside a chain ignored, and whether the nodeports jump is last. */
function normalised (dump: string): { rules: string[], nodePortsJumpLast: boolean } {
  const lines = dump.split('\n').filter((l) => l !== '')
  const natServices = lines.filter((l) => l.startsWith('-A KUBE-SERVICES ') && l.includes('this must be the last rule'))
  const natStart = lines.indexOf('*nat')
  const lastNatServices = lines.slice(natStart).filter((l) => l.startsWith('-A KUBE-SERVICES ')).pop()
  return { rules: [...lines].sort(), nodePortsJumpLast: natServices.length === 0 || lastNatServices === natServices[0] }
}

type Step =
  | { op: 'delete', i: number }
  | { op: 'add', i: number }
  | { op: 'endpoints', i: number, eps: Ep[] }

const ep: fc.Arbitrary<Ep> = fc.record({
  ip: fc.integer({ min: 20, max: 40 }).map((n) => `10.180.1.${n}`),
  node: fc.constantFrom('node-a', 'node-b')
})
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), i: fc.nat({ max: 8 }) }),
  fc.record({ op: fc.constant('add' as const), i: fc.nat({ max: 8 }) }),
  fc.record({ op: fc.constant('endpoints' as const), i: fc.nat({ max: 8 }), eps: fc.uniqueArray(ep, { maxLength: 3, selector: (e) => e.ip }) })
)

test('any sequence of partial syncs leaves the kernel holding what a full sync from scratch writes (rule order inside a top-level chain aside)', (t) => {
  fc.assert(fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), (steps) => {
    const { services, slices } = complianceObjects()
    const tr = trackerWith(services, slices)
    tr.checkout()
    const ipt = fakeIptables(4)
    const p = iptablesProxier(cfg, { iptables: ipt })
    const state = stateOf(tr, 4)
    p.sync(state, 'full')
    for (const s of steps) {
      const service = services[s.i] as Service
      const { namespace = '', name } = service.metadata
      if (s.op === 'delete') tr.event({ type: 'DELETED', kind: 'Service', object: service })
      else if (s.op === 'add') tr.event({ type: 'ADDED', kind: 'Service', object: service })
      else tr.event({ type: 'MODIFIED', kind: 'EndpointSlice', object: slice(namespace, name, s.eps) })
      const st = p.sync(state, tr.checkout().changed)
      if (st.full) return false
      const fresh = fakeIptables(4)
      iptablesProxier(cfg, { iptables: fresh }).sync(state, 'full')
      const got = normalised(ipt.dump('filter') + ipt.dump('nat'))
      const want = normalised(fresh.dump('filter') + fresh.dump('nat'))
      t.deepEqual(got.rules, want.rules)
      t.true(got.nodePortsJumpLast)
      if (got.rules.join('\n') !== want.rules.join('\n') || !got.nodePortsJumpLast) return false
    }
    return true
  }), { numRuns: 150, seed: 7 })
})
