/** The FSM layer (see ../README.md): one peer's RFC 4271 §8 state machine over an injected Transport and Clock. */
export { PeerFsm, LOOP_CODES } from './fsm.js'
export type { FsmInit, FsmDeps, FsmEvents, Session, DownInfo } from './fsm.js'
export { systemClock } from './types.js'
export type { Clock, Timer, Transport, FsmState, Transition, TransitionReason } from './types.js'
export { socketTransport } from './transport.js'
