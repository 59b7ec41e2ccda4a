/** The RIB layer (see ../README.md): paths and attributes, the decision process, policy, Adj-RIB-In and Loc-RIB. */
export * from './path.js'
export * from './best.js'
export * from './policy.js'
export { Rib, LOCAL } from './rib.js'
export type { RibEntry } from './rib.js'
