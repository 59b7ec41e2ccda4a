/** proxy/nftables: kube-proxy's nftables mode (render + partial-sync proxier). See README.md. */
export { nftablesProxier } from './proxier.js'
export type { NftProxier, NftProxierInit, NftProxierDeps } from './proxier.js'
export { baseObjects, serviceObjects, renderAll, servicePortBase, endpointBase, TABLE, MASQ_MARK } from './render.js'
export type { NftObjects, NftRenderConfig } from './render.js'
