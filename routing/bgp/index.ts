/**
 * routing/bgp: the BGP speaker and route reflector (`weft bgpd`) and its client (`weft bgp ...`). The only
 * public surface of the component (see README.md).
 */
export { runBgpd, bgpCli } from './cli.js'
export type { BgpdOptions, BgpCliOptions } from './cli.js'
export { Speaker } from './speaker/speaker.js'
export type { SpeakerDeps, NeighborView, RibRowView, PathView, Logger, ReloadResult } from './speaker/speaker.js'
export { parseConfig, loadConfig, DEFAULT_API_SOCKET, DEFAULT_FIB_PROTOCOL } from './speaker/config.js'
export type { BgpdConfig, PeerConfig, AnnounceConfig } from './speaker/config.js'
export { BgpdError, bgpdErrorCodes } from './errors.js'
export type { BgpdErrorCode } from './errors.js'
export type { BgpMessage, UpdateMessage, OpenMessage, NotificationMessage } from './codec/index.js'
/** In-memory connected transports (for simulations and the in-process benchmark; a `Speaker` takes them via `connect`/`accept`). */
export { transportPair as memoryTransportPair } from './testing/index.js'
export type { Transport } from './fsm/index.js'
