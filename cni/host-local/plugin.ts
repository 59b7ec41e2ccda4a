/**
 * The host-local CNI commands. Each one validates the whole configuration
 * first (so garbage changes nothing on disk), then acts on the store under
 * its lock. Synchronous throughout: this runs inside the Bun-compiled plugin
 * binary, and in-process when bridge delegates to it.
 */
import { CniError } from '../skel/index.js'
import type { CmdArgs, PluginFuncs, Result } from '../skel/index.js'
import { allocate, collectGarbage, holdsAddress, releaseOwner } from './allocator.js'
import { loadConfig, loadValidAttachments } from './config.js'
import { DiskStore, unwritableReason } from './disk-store.js'
import { readResolvConf } from './dns.js'
import type { Owner } from './store.js'

const ownerOf = (args: CmdArgs): Owner => ({ id: args.containerId, ifname: args.ifName })

function add (args: CmdArgs): Result {
  const cfg = loadConfig(args.conf, { cniArgs: args.args })
  // Read before the store is touched: a bad resolvConf must not leave a reservation behind.
  const dns = cfg.resolvConf !== undefined ? readResolvConf(cfg.resolvConf) : undefined
  const store = DiskStore.create(cfg.dataDir, cfg.name)
  const allocs = allocate(store, { rangeSets: cfg.rangeSets, owner: ownerOf(args), requested: cfg.requestedIps })
  const result: Result = {
    cniVersion: cfg.cniVersion,
    ips: allocs.map((a) => ({ address: `${a.ip}/${a.prefixLen}`, gateway: a.gateway }))
  }
  if (cfg.routes.length > 0) result.routes = cfg.routes
  if (dns !== undefined) result.dns = dns
  return result
}

function del (args: CmdArgs): void {
  const cfg = loadConfig(args.conf, { rangesOptional: true })
  // No directory: nothing was ever reserved here, and DEL must not fail for that.
  const store = DiskStore.existing(cfg.dataDir, cfg.name)
  if (store !== undefined) releaseOwner(store, ownerOf(args))
}

function check (args: CmdArgs): void {
  const cfg = loadConfig(args.conf)
  const store = DiskStore.existing(cfg.dataDir, cfg.name)
  if (store === undefined || !holdsAddress(store, ownerOf(args))) {
    throw new CniError('CNI_ERR_CHECK_FAILED', `host-local: Failed to find address added by container ${args.containerId}`,
      `no reservation for ${args.containerId}/${args.ifName} in ${store?.dir ?? `${cfg.dataDir}/${cfg.name} (missing)`}`)
  }
}

function status (args: CmdArgs): void {
  const cfg = loadConfig(args.conf)
  const why = unwritableReason(cfg.dataDir, cfg.name)
  if (why !== undefined) throw new CniError('CNI_ERR_NOT_AVAILABLE', 'host-local: the data directory is not writable, ADD would fail', why)
}

function gc (args: CmdArgs): void {
  const cfg = loadConfig(args.conf, { rangesOptional: true })
  const valid = loadValidAttachments(args.conf)
  const store = DiskStore.existing(cfg.dataDir, cfg.name)
  if (store !== undefined) collectGarbage(store, valid)
}

export const hostLocal: PluginFuncs = { add, del, check, status, gc }
