/** proxy/testing: the fake nftables with sets and maps, packet-flow tracers, and the tests' address plan and fixtures. */
export { fakeProxyNft } from './nft.js'
export type { FakeProxyNft, NftTableState } from './nft.js'
export { traceNft, traceIptables } from './trace.js'
export type { Packet, TraceResult, TraceNode } from './trace.js'
export { plan, svc, slice, complianceObjects, trackerWith, stateOf } from './fixtures.js'
export type { Ep } from './fixtures.js'
export { traceIpvs, parseIpvsDump } from './trace-ipvs.js'
export type { IpvsKernelText } from './trace-ipvs.js'
