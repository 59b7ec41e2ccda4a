import test from 'ava'
import { fakeIptables, fakeNetlink } from '../../kernel/testing/index.js'
import { proxierCompliance } from '../compliance/index.js'
import { plan, traceIpvs } from '../testing/index.js'
import { ipvsProxier } from './index.js'
import type { Ipvs } from './index.js'
import { fakeIpset, fakeIpvs } from './testing/index.js'

/**
 * IPVS mode through the shared suite: each row is traced through what the
 * proxier left in the fakes (iptables-save text, `ipset save`, the IPVS
 * table dump and kube-ipvs0's addresses), never through its own memory.
 */
proxierCompliance(test, {
  mode: 'ipvs',
  setup (cfg) {
    const ipvs = fakeIpvs()
    const netlink = fakeNetlink()
    const ipset = fakeIpset()
    const iptables = fakeIptables(4)
    // IPVS has no transactions: "the next transaction fails" is the next change to the IPVS table, refused.
    let fail = false
    const refuse = <A extends unknown[]>(fn: (...a: A) => void) => (...a: A): void => {
      if (fail) { fail = false; throw new Error('ipvs: injected failure') }
      fn(...a)
    }
    const failing: Ipvs = {
      ...ipvs,
      addService: refuse(ipvs.addService),
      updateService: refuse(ipvs.updateService),
      deleteService: refuse(ipvs.deleteService),
      addDest: refuse(ipvs.addDest),
      updateDest: refuse(ipvs.updateDest),
      deleteDest: refuse(ipvs.deleteDest)
    }
    const proxier = ipvsProxier({ ...cfg, nodeIPs: [plan.nodeIP] }, { ipvs: failing, netlink, ipset, iptables })
    return {
      proxier,
      trace: (p) => traceIpvs({ iptables: iptables.dump(), ipset: ipset.save(), ipvs: ipvs.dump(), netlink: netlink.dump() }, p, { nodeIPs: [plan.nodeIP] }),
      failNext: () => { fail = true }
    }
  }
})
