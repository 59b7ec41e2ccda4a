/**
 * control/store: the storage of Weft's API server. One contract (types.ts, etcd's
 * semantics), its errors, the backends that live in-process (memory and the
 * embedded durable file store), kube-apiserver's key layout, and the conformance
 * suite every backend passes. See docs/store.md.
 */
export type { KeyValue, ListOptions, ListResult, Store, WatchEvent, WatchOptions } from './types.js'
export { prefixRange } from './types.js'
export { StoreError, storeErrorCodes } from './errors.js'
export type { StoreErrorCode } from './errors.js'
export { memoryStore, compareKeys } from './memory.js'
export type { MemoryStoreOptions, StoreLimits } from './memory.js'
export { embeddedStore } from './embedded.js'
export type { EmbeddedStore, EmbeddedStoreOptions, EmbeddedStats } from './embedded.js'
export { storeConformance } from './conformance.js'
export type { ConformanceHandle } from './conformance.js'
export { REGISTRY_PREFIX, registryResources, keyFor, prefixFor, parseKey } from './keys.js'
export type { RegistryResource, ResourceLayout } from './keys.js'
export { etcdStore } from './etcd.js'
export type { EtcdStoreInit, EtcdStoreLogger } from './etcd.js'
