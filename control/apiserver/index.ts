/**
 * control/apiserver: Weft's Kubernetes-compatible API server (`weft apiserver`).
 * See docs/apiserver.md. Other components import only from here.
 */
export { startApiserver, runApiserver, apiserverDefaults } from './cli.js'
export type { ApiserverOptions, RunningApiserver } from './cli.js'
export { buildApiServer, VERSION_INFO, BODY_LIMIT } from './server.js'
export type { ApiServer, ApiServerOptions } from './server.js'
export { bootstrap, NamespaceFinalizer, SYSTEM_NAMESPACES } from './bootstrap.js'
export { RESOURCES, resourceFor, resourceForKind, apiVersionOf, groupVersions } from './resources.js'
export type { ResourceInfo, SubresourceInfo, Verb } from './resources.js'
export { ApiError, apiErrorCodes } from './errors.js'
export type { ApiErrorCode } from './errors.js'
export { parseLabelSelector, matchesLabels, matchesLabelSelectorObject, parseFieldSelector, matchesFields } from './selectors.js'
export type { LabelSelector, FieldSelector } from './selectors.js'
export { readKubeconfig, writeKubeconfig, ensureUserToken, tokenFilePath, GROUP_MASTERS, GROUP_NODES, GROUP_READ_ONLY, NODE_USER_PREFIX } from './auth/index.js'
export type { ClientConfig } from './auth/index.js'
