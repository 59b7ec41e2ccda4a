/**
 * The portmap CNI plugin (chained): forwards host ports to the container
 * addresses of the previous result with iptables DNAT, as the reference
 * plugin (containernetworking/plugins v1.1.1, iptables backend) does.
 * See docs/portmap.md for behaviour and the differences from the reference.
 */
import { CniError, invalidConfig } from '../skel/index.js'
import type { CmdArgs, PluginFuncs, Result } from '../skel/index.js'
import type { Family } from '../../kernel/index.js'
import { delHasMappings, loadPortmapConf } from './config.js'
import type { ContainerNet, PortmapConf } from './config.js'
import type { PortmapDeps } from './deps.js'
import { checkPorts, forwardPorts, unforwardPorts } from './forward.js'
import { dnatChainName, oldSnatChainName } from './rules.js'

function nets (conf: PortmapConf): ContainerNet[] {
  return [conf.containerV4, conf.containerV6].filter((n): n is ContainerNet => n !== undefined)
}

/** route_localnet on the interface that routes the container, so 127.0.0.1-sourced packets may leave through it. */
function enableLocalnet (deps: PortmapDeps, net: ContainerNet): void {
  const ifName = deps.routeInterface(net.address)
  if (ifName === undefined) return
  try {
    deps.sysctl.set(`net/ipv4/conf/${ifName}/route_localnet`, '1')
  } catch (e) {
    throw new CniError('CNI_ERR_KERNEL', `unable to enable route_localnet on ${ifName}`, e instanceof Error ? e.message : String(e), { cause: e })
  }
}

/** After the rules exist: drop UDP flows to the host ports, which would otherwise keep bypassing the new DNAT. Failures are only logged. */
function flushStaleUdp (deps: PortmapDeps, conf: PortmapConf, family: Family): void {
  const ports = new Set(conf.portMappings.filter((m) => m.protocol === 'udp').map((m) => m.hostPort))
  for (const port of ports) {
    try {
      deps.conntrack.deleteUdpFlowsToPort(port, family)
    } catch (e) {
      deps.log(`failed to delete stale UDP conntrack entries for port ${port} (IPv${family}): ${e instanceof Error ? e.message : String(e)}`)
    }
  }
}

/** Removes the container's chains from both families; a family without usable iptables is skipped. */
function teardown (deps: PortmapDeps, network: string, containerId: string): void {
  const chains = [dnatChainName(network, containerId), oldSnatChainName(network, containerId)]
  let usable = 0
  const errors: string[] = []
  for (const family of [4, 6] as const) {
    const ipt = deps.iptables(family)
    try {
      ipt.save('nat')
    } catch {
      continue // no iptables for this family on this node: nothing of ours can be there
    }
    usable++
    try {
      unforwardPorts(ipt, chains)
    } catch (e) {
      errors.push(`could not tear down IPv${family} DNAT: ${e instanceof Error ? e.message : String(e)}`)
    }
  }
  if (usable === 0) throw new CniError('CNI_ERR_IPTABLES', 'neither iptables nor ip6tables usable')
  if (errors.length > 0) throw new CniError('CNI_ERR_IPTABLES', errors[0] as string, errors.slice(1).join('; '))
}

export function portmapPlugin (getDeps: () => PortmapDeps): PluginFuncs {
  return {
    add (args: CmdArgs): Result {
      const conf = loadPortmapConf(args)
      if (conf.prevResult === undefined) throw invalidConfig('must be called as chained plugin')
      if (conf.portMappings.length === 0) return conf.prevResult
      const deps = getDeps()
      try {
        for (const net of nets(conf)) {
          forwardPorts(deps.iptables(net.family), conf, args.containerId, net, { enableLocalnet: (n) => enableLocalnet(deps, n) })
          flushStaleUdp(deps, conf, net.family)
        }
      } catch (e) {
        // Undo: the per-container chains go (each was written in one transaction, so it is all there or not at
        // all); the shared chains stay, other containers use them.
        const chains = [dnatChainName(conf.name, args.containerId)]
        for (const net of nets(conf)) {
          try { unforwardPorts(deps.iptables(net.family), chains) } catch { /* DEL will try again */ }
        }
        throw e
      }
      return conf.prevResult
    },

    del (args: CmdArgs): void {
      // As the reference: no mappings in the config, nothing was set up (and no iptables lock is taken).
      if (!delHasMappings(args)) return
      teardown(getDeps(), args.conf.name, args.containerId)
    },

    check (args: CmdArgs): void {
      const conf = loadPortmapConf(args)
      if (conf.prevResult === undefined) throw invalidConfig('Required prevResult missing')
      if (conf.portMappings.length === 0) return
      const deps = getDeps()
      for (const net of nets(conf)) checkPorts(deps.iptables(net.family), conf, args.containerId, net)
    }
  }
}
