/**
 * The agent's rules for a node: flannel's masquerade chain (with --ip-masq) and
 * forward accepts, through iptables or, with EnableNFTables, nftables.
 */
import { linuxIptables, linuxNftables } from '../../kernel/index.js'
import type { TrafficRules } from './agent.js'
import { forwardRules, masqRules } from './masq.js'
import type { TrafficManager } from './masq.js'
import { iptablesTrafficManager } from './masq-iptables.js'
import { nftablesTrafficManager } from './masq-nftables.js'
import type { NetConf } from './types.js'

export function trafficManagerFor (conf: NetConf): TrafficManager {
  return conf.enableNFTables
    ? nftablesTrafficManager({ nft: linuxNftables() })
    : iptablesTrafficManager({ ipv4: linuxIptables(4), ipv6: linuxIptables(6) })
}

export function nodeTrafficRules (conf: NetConf, opts: { randomFully?: boolean, forward?: boolean } = {}): TrafficRules {
  const tm = trafficManagerFor(conf)
  return {
    ensure ({ network, podSubnet, ipv6Network, ipv6PodSubnet, masquerade }) {
      // masqRules with no network means "none of ours": turning --ip-masq off removes them.
      const masq = tm.ensure(masquerade
        ? masqRules({ network, podSubnet, ipv6Network, ipv6PodSubnet, randomFully: opts.randomFully ?? true })
        : masqRules({ randomFully: false }))
      const fwd = opts.forward === false ? false : tm.ensureForward(forwardRules({ network, ipv6Network }))
      return masq || fwd
    },
    cleanup () { tm.cleanup() }
  }
}
