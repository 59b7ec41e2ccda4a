/** proxy/iptables: kube-proxy's iptables mode (render + partial-sync proxier). See README.md. */
export { iptablesProxier } from './proxier.js'
export type { IptProxier, IptProxierInit, IptProxierDeps } from './proxier.js'
export {
  serviceRules, fixedRules, jumpRules, natTopChains, filterTopChains, isServiceChain, probability, MASQ_MARK
} from './render.js'
export type { IptRenderConfig, ServiceRules } from './render.js'
