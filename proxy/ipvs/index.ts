/** proxy/ipvs: IPVS mode's generic-netlink codec, desired state (virtual servers, kube-ipvs0, ipsets) and proxier. */
export { ipvsProxier } from './proxier.js'
export type { Ipvs, IpvsProxier } from './proxier.js'
export { ipvsDesired, dumpDesired, vsKey, DUMMY_DEVICE } from './render.js'
export type { IpvsDesired, IpvsRenderConfig, VirtualServer } from './render.js'
export {
  encodeService, decodeService, encodeDest, decodeDest, parseAttrs, nestOf, IpvsDecodeError,
  IpvsCmd, IPVS_GENL_NAME, IPVS_GENL_VERSION, SVC_F_PERSISTENT, FWD_MASQ, AF_INET, AF_INET6, IPPROTO
} from './codec.js'
export type { IpvsService, IpvsDest } from './codec.js'
