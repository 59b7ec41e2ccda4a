import test from 'ava'
import { fakeIptables } from '../../kernel/testing/index.js'
import { proxierCompliance } from '../compliance/index.js'
import { plan, traceIptables } from '../testing/index.js'
import { iptablesProxier } from './index.js'

proxierCompliance(test, {
  mode: 'iptables',
  setup (cfg) {
    const ipt = fakeIptables(4)
    let fail = false
    ipt.failOn = (call) => { if (call !== 'restore') return false; const f = fail; fail = false; return f }
    const proxier = iptablesProxier(cfg, { iptables: ipt })
    return {
      proxier,
      trace: (p) => traceIptables(ipt.dump('nat') + ipt.dump('filter'), p, { nodeIPs: [plan.nodeIP] }),
      failNext: () => { fail = true }
    }
  }
})
