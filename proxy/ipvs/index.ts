/** proxy/ipvs: IPVS mode's generic-netlink codec, Linux `Ipvs`, desired state (virtual servers, kube-ipvs0, ipsets), iptables rules and proxier. */
export { ipvsProxier, ipvsCleanup, ipvsSysctls, localNodeIPs, NODE_PORT_RANGE } from './proxier.js'
export type { Ipvs, IpvsProxier, IpvsProxierInit, IpvsProxierDeps, IpvsCleanupResult } from './proxier.js'
export { linuxIpvs, NO_IPVS_MESSAGE } from './linux.js'
export { ipvsDesired, dumpDesired, vsKey, DUMMY_DEVICE } from './render.js'
export type { IpvsDesired, IpvsRenderConfig, VirtualServer } from './render.js'
export { ipsetSpecs, ipsetRestoreScript, ipsetDestroyScript, parseIpsetSave, linuxIpset } from './ipset.js'
export type { Ipset, IpsetSpec, SavedSet } from './ipset.js'
export { ipvsRestoreText, ipvsDeleteText, ipvsJumpRules, natChains as ipvsNatChains, filterChains as ipvsFilterChains } from './rules.js'
export type { IpvsRulesConfig } from './rules.js'
export {
  encodeService, decodeService, encodeDest, decodeDest, encodeTimeouts, decodeTimeouts, parseAttrs, nestOf, IpvsDecodeError,
  IpvsCmd, IPVS_GENL_NAME, IPVS_GENL_VERSION, SVC_F_PERSISTENT, FWD_MASQ, AF_INET, AF_INET6, IPPROTO
} from './codec.js'
export type { IpvsService, IpvsDest, IpvsTimeouts } from './codec.js'
