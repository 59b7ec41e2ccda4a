/**
 * The etcd3 client library, loaded on first use: it brings gRPC and protobufjs
 * (~25 MB of resident memory), which a server on the embedded store never needs.
 */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
let mod: typeof import('etcd3') | undefined

export function etcd3 (): typeof import('etcd3') {
  mod ??= require('etcd3') as typeof import('etcd3')
  return mod
}
