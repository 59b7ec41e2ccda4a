import test from 'ava'
import { proxierCompliance } from '../compliance/index.js'
import { fakeProxyNft, plan, traceNft } from '../testing/index.js'
import { nftablesProxier } from './index.js'

proxierCompliance(test, {
  mode: 'nftables',
  setup (cfg) {
    const nft = fakeProxyNft()
    let fail = false
    nft.failOn = () => { const f = fail; fail = false; return f }
    const proxier = nftablesProxier(cfg, { nft })
    return {
      proxier,
      trace: (p) => traceNft(nft, 'ip', p, { nodeIPs: [plan.nodeIP] }),
      failNext: () => { fail = true }
    }
  }
})
