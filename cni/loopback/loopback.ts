/**
 * The loopback CNI plugin: brings `lo` up in the sandbox (ADD), down again
 * (DEL), and checks that it is up (CHECK), as the reference plugin
 * (containernetworking/plugins v1.1.1) does. CNI_IFNAME is ignored: this only
 * ever works on `lo`. See docs/loopback.md.
 */
import { CniError } from '../skel/index.js'
import type { CmdArgs, IPConfig, PluginFuncs, Result } from '../skel/index.js'
import { KernelError, isNotFound } from '../../kernel/index.js'
import type { Address, NetNS, Netlink } from '../../kernel/index.js'

export interface LoopbackDeps {
  netns: Pick<NetNS, 'netlink'>
}

const LO = 'lo'

/** True when the namespace path is gone or no longer a namespace (an unmounted leftover file). */
function isGoneNetns (e: unknown): boolean {
  return isNotFound(e) || (e instanceof KernelError && e.code === 'KERNEL_ERR_NETNS')
}

function open (deps: LoopbackDeps, netns: string): Netlink {
  try {
    return deps.netns.netlink(netns)
  } catch (e) {
    if (isNotFound(e)) throw new CniError('CNI_ERR_NETNS_NOT_FOUND', `failed to open netns "${netns}"`, e instanceof Error ? e.message : String(e), { cause: e })
    throw new CniError('CNI_ERR_INVALID_NETNS', `failed to open netns "${netns}"`, e instanceof Error ? e.message : String(e), { cause: e })
  }
}

function kernelError (what: string, e: unknown): CniError {
  if (e instanceof CniError) return e
  return new CniError('CNI_ERR_KERNEL', what, e instanceof Error ? e.message : String(e), { cause: e })
}

function isLoopbackAddress (a: Address): boolean {
  return a.family === 4 ? a.address.startsWith('127.') : a.address === '::1'
}

export function loopbackPlugin (deps: LoopbackDeps): PluginFuncs {
  return {
    add (args: CmdArgs): Result {
      const nl = open(deps, args.netns)
      const ips: IPConfig[] = []
      try {
        const lo = nl.linkByName(LO)
        if (lo === undefined) throw new CniError('CNI_ERR_KERNEL', `no ${LO} interface in netns "${args.netns}"`)
        nl.setLink(lo.index, { up: true })
        const addrs = nl.addresses().filter((a) => a.index === lo.index)
        for (const family of [4, 6] as const) {
          const mine = addrs.filter((a) => a.family === family)
          // A non-loopback address on lo means this is not a fresh sandbox (possibly the host itself).
          const odd = mine.find((a) => !isLoopbackAddress(a))
          if (odd !== undefined) throw new CniError('CNI_ERR_INVALID_NETNS', `loopback interface found with non-loopback address "${odd.address}"`)
          const first = mine[0]
          if (first !== undefined) ips.push({ interface: 0, address: `${first.address}/${first.prefixLen}` })
        }
      } catch (e) {
        throw kernelError(`failed to set up ${LO} in netns "${args.netns}"`, e)
      } finally {
        nl.close()
      }
      // Chained after another plugin: its result is the attachment's result.
      if (args.conf.prevResult !== undefined) return args.conf.prevResult
      const result: Result = {
        cniVersion: args.conf.cniVersion,
        interfaces: [{ name: LO, mac: '00:00:00:00:00:00', sandbox: args.netns }]
      }
      if (ips.length > 0) result.ips = ips
      return result
    },

    del (args: CmdArgs): void {
      if (args.netns === '') return
      let nl: Netlink
      try {
        nl = deps.netns.netlink(args.netns)
      } catch (e) {
        if (isGoneNetns(e)) return // the runtime already removed the sandbox: nothing to undo
        throw kernelError(`failed to open netns "${args.netns}"`, e)
      }
      try {
        const lo = nl.linkByName(LO)
        if (lo !== undefined) nl.setLink(lo.index, { up: false })
      } catch (e) {
        if (!isNotFound(e)) throw kernelError(`failed to set ${LO} down in netns "${args.netns}"`, e)
      } finally {
        nl.close()
      }
    },

    check (args: CmdArgs): void {
      const nl = open(deps, args.netns)
      try {
        const lo = nl.linkByName(LO)
        if (lo === undefined) throw new CniError('CNI_ERR_CHECK_FAILED', `no ${LO} interface in netns "${args.netns}"`)
        if (!lo.flags.up) throw new CniError('CNI_ERR_CHECK_FAILED', 'loopback interface is down')
      } catch (e) {
        throw kernelError(`failed to check ${LO} in netns "${args.netns}"`, e)
      } finally {
        nl.close()
      }
    }
  }
}
