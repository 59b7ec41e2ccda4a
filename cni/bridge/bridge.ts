/**
 * The bridge plugin: a Linux bridge on the host, a veth per attachment with
 * one end in the pod, addresses from the IPAM delegate, optional gateway
 * address, forwarding and masquerade.
 *
 * ADD acts step by step and pushes an undo after each step; if a later step
 * fails the stack is unwound, so a failed ADD leaves the host as it was. DEL
 * treats every "not found" as done.
 */
import { randomBytes } from 'node:crypto'
import { CniError, delegate } from '../skel/index.js'
import type { CmdArgs, IPConfig, Interface, PluginFuncs, Result, RouteConfig } from '../skel/index.js'
import { KernelError, ip, isExists, isNotFound } from '../../kernel/index.js'
import type { Link, NetNS, Netlink, Nftables, Sysctl } from '../../kernel/index.js'
import { loadBridgeConf } from './config.js'
import type { BridgeConf } from './config.js'
import { gcIpMasq, masqChainName as masqChainOf, setupIpMasq, teardownIpMasq } from './ipmasq.js'
import type { Iptables } from './ipmasq.js'
import { setupSpoofCheck, spoofId, teardownSpoofCheck } from './spoofcheck.js'

export interface BridgeDeps {
  netns: NetNS
  sysctl: Sysctl
  iptables: Iptables
  nft: Nftables
  delegate: typeof delegate
  sleep: (ms: number) => void
  /** Test-only fault injection: throws when the named step is reached. */
  faultAt?: string | undefined
}

type Undo = () => void

function kernelError (what: string, e: unknown): CniError {
  if (e instanceof CniError) return e
  return new CniError('CNI_ERR_KERNEL', what, e instanceof Error ? e.message : String(e), { cause: e })
}

/** A random locally administered unicast MAC. */
function randomLocalMac (): string {
  const b = randomBytes(6)
  b[0] = ((b[0] ?? 0) & 0xfe) | 0x02
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':')
}

function familyOf (cidr: string): 4 | 6 {
  return cidr.includes(':') ? 6 : 4
}

export function bridgePlugin (deps: BridgeDeps): PluginFuncs {
  const fault = (step: string): void => {
    if (deps.faultAt === step) throw new CniError('CNI_ERR_INTERNAL', `injected fault at ${step}`)
  }

  /** Ensure the bridge exists and is up; returns it and whether this call created it. */
  function ensureBridge (host: Netlink, conf: BridgeConf): { br: Link, created: boolean } {
    let br = host.linkByName(conf.bridge)
    let created = false
    if (br === undefined) {
      try {
        // A gateway's MAC must not follow whichever port has the lowest MAC (pods
        // would see their gateway's MAC change as ports come and go): give the
        // bridge its own address at creation, which pins it. (Setting it after
        // creation pins it too, but leaves the bridge's operstate "unknown".)
        host.addBridge({
          name: conf.bridge,
          ...(conf.mtu > 0 ? { mtu: conf.mtu } : {}),
          ...(conf.vlan > 0 ? { vlanFiltering: true } : {}),
          ...(conf.isGateway ? { mac: randomLocalMac() } : {})
        })
        created = true
      } catch (e) {
        if (!isExists(e)) {
          if (conf.vlan > 0) throw new CniError('CNI_ERR_KERNEL', `failed to create bridge "${conf.bridge}" with VLAN filtering`, `${(e as Error).message}; this kernel may lack bridge VLAN filtering`)
          throw kernelError(`failed to create bridge "${conf.bridge}"`, e)
        }
      }
      br = host.linkByName(conf.bridge)
      if (br === undefined) throw new CniError('CNI_ERR_KERNEL', `bridge "${conf.bridge}" vanished after creation`)
    }
    if (br.kind !== 'bridge') throw new CniError('CNI_ERR_INVALID_CONFIG', `"${conf.bridge}" already exists but is not a bridge`, `kind ${br.kind ?? 'device'}`)
    if (conf.vlan > 0 && br.bridge?.vlanFiltering !== true) {
      throw new CniError('CNI_ERR_KERNEL', `bridge "${conf.bridge}" has no VLAN filtering`, 'vlan needs a VLAN-filtering bridge; this kernel may lack it')
    }
    if (conf.promiscMode && !br.flags.promisc) host.setLink(br.index, { promisc: true })
    try { deps.sysctl.set(`net/ipv6/conf/${conf.bridge}/accept_ra`, '0') } catch { /* no IPv6 on this host */ }
    if (!br.flags.up) host.setLink(br.index, { up: true })
    return { br: host.linkByIndex(br.index) ?? br, created }
  }

  function gatewayOf (ipc: IPConfig, conf: BridgeConf): string | undefined {
    if (ipc.gateway !== undefined) return ipc.gateway
    if (!conf.isGateway) return undefined
    const c = ip.parseCidr(ipc.address)
    const net = ip.toBigInt(ip.networkOf(c))
    return ip.fromBigInt(net + 1n, c.family)
  }

  function ensureBridgeAddr (host: Netlink, br: Link, gwCidr: string, force: boolean, undo: Undo[]): void {
    const want = ip.parseCidr(gwCidr)
    const existing = host.addresses(want.family).filter((a) => a.index === br.index && a.scope === 0)
    for (const a of existing) {
      if (a.address === want.address && a.prefixLen === want.prefixLen) return
    }
    for (const a of existing) {
      const conflict = want.family === 4 || ip.overlaps({ family: 6, address: a.address, prefixLen: a.prefixLen }, want)
      if (!conflict) continue
      if (!force) {
        throw new CniError('CNI_ERR_INVALID_CONFIG', `"${br.name}" already has an IP address different from ${gwCidr}`, `found ${a.address}/${a.prefixLen}; set "forceAddress" to replace it`)
      }
      host.deleteAddress(br.index, `${a.address}/${a.prefixLen}`)
    }
    try {
      host.addAddress(br.index, gwCidr)
    } catch (e) {
      // A concurrent ADD on this bridge added the same gateway between our read and
      // our write: that is the state we want, and the address is not ours to undo.
      if (isExists(e) && host.addresses(want.family).some((a) => a.index === br.index && a.address === want.address && a.prefixLen === want.prefixLen)) return
      throw e
    }
    undo.push(() => { try { host.deleteAddress(br.index, gwCidr) } catch { /* gone */ } })
  }

  function enableForwarding (fams: Set<4 | 6>): void {
    const set = (key: string): void => {
      try {
        if (deps.sysctl.get(key) !== '1') deps.sysctl.set(key, '1')
      } catch (e) { throw kernelError(`failed to enable forwarding (${key})`, e) }
    }
    if (fams.has(4)) set('net/ipv4/ip_forward')
    if (fams.has(6)) set('net/ipv6/conf/all/forwarding')
  }

  function waitOperUp (host: Netlink, index: number, name: string): void {
    // The reference waits the same way (plugins#463): a GARP sent while the port
    // is still coming up is lost.
    let state = 'unknown'
    for (const ms of [0, 50, 500, 1000, 1000]) {
      if (ms > 0) deps.sleep(ms)
      const l = host.linkByIndex(index)
      if (l === undefined) throw new CniError('CNI_ERR_KERNEL', `host veth ${name} disappeared`)
      state = l.operstate
      if (state === 'up') return
    }
    throw new CniError('CNI_ERR_KERNEL', `bridge port in error state: ${state}`, `host veth ${name}`)
  }

  function add (args: CmdArgs): Result {
    const conf = loadBridgeConf(args)
    const undo: Undo[] = []
    let ok = false
    const host = deps.netns.netlink()
    let cont: Netlink | undefined
    try {
      // 1. the bridge
      const { br, created } = ensureBridge(host, conf)
      if (created) {
        undo.push(() => {
          // Only while empty: a concurrent ADD may have attached its pod meanwhile.
          if (host.links().some((l) => l.master === br.index)) return
          try { host.deleteLink(br.index) } catch { /* gone */ }
        })
      }
      fault('bridge')

      // 2. the veth pair, created inside the pod with its peer placed straight into the host
      if (!deps.netns.exists(args.netns)) {
        throw new CniError('CNI_ERR_NETNS_NOT_FOUND', `failed to open netns "${args.netns}"`, 'no such network namespace')
      }
      cont = deps.netns.netlink(args.netns)
      if (cont.linkByName(args.ifName) !== undefined) {
        throw new CniError('CNI_ERR_LINK_EXISTS', `container veth name provided (${args.ifName}) already exists`)
      }
      const hostFd = deps.netns.openFd('/proc/self/ns/net')
      let hostName = ''
      try {
        for (let attempt = 0; ; attempt++) {
          hostName = 'veth' + randomBytes(4).toString('hex')
          try {
            cont.addVeth({
              name: args.ifName,
              peerName: hostName,
              peerNetnsFd: hostFd,
              txqlen: 0,
              ...(conf.mtu > 0 ? { mtu: conf.mtu } : {}),
              ...(conf.mac !== undefined ? { mac: conf.mac } : {})
            })
            break
          } catch (e) {
            // EEXIST here is the random host name colliding (the pod side was checked above).
            if (isExists(e) && attempt < 9 && cont.linkByName(args.ifName) === undefined) continue
            if (isExists(e)) throw new CniError('CNI_ERR_LINK_EXISTS', `container veth name provided (${args.ifName}) already exists`)
            throw kernelError('failed to create veth pair', e)
          }
        }
      } finally { deps.netns.closeFd(hostFd) }
      const contNl = cont
      undo.push(() => {
        const l = contNl.linkByName(args.ifName)
        if (l !== undefined) { try { contNl.deleteLink(l.index) } catch { /* gone */ } }
      })
      const contLink = cont.linkByName(args.ifName)
      const hostLink = host.linkByName(hostName)
      if (contLink === undefined || hostLink === undefined) throw new CniError('CNI_ERR_KERNEL', 'veth pair missing right after creation')
      fault('veth')

      // 3. host end: on the bridge, up, port flags
      try {
        host.setLink(hostLink.index, { master: br.index, up: true })
        if (conf.hairpinMode || conf.portIsolation) host.setBridgePort(hostLink.index, { ...(conf.hairpinMode ? { hairpin: true } : {}), ...(conf.portIsolation ? { isolated: true } : {}) })
      } catch (e) { throw kernelError(`failed to attach ${hostName} to bridge ${conf.bridge}`, e) }
      if (conf.vlan > 0) {
        try {
          if (!conf.preserveDefaultVlan) {
            try { host.setBridgeVlan(hostLink.index, { vid: 1, remove: true }) } catch (e) { if (!isNotFound(e)) throw e }
          }
          host.setBridgeVlan(hostLink.index, { vid: conf.vlan, pvid: true, untagged: true })
        } catch (e) { throw kernelError(`failed to set VLAN ${conf.vlan} on ${hostName}`, e) }
      }
      fault('attach')

      const interfaces: Interface[] = [
        { name: br.name, mac: br.mac },
        { name: hostName, mac: hostLink.mac },
        { name: args.ifName, mac: contLink.mac, sandbox: args.netns }
      ]
      const result: Result = { cniVersion: conf.cniVersion, interfaces }

      if (conf.macspoofchk) {
        const id = spoofId(args.containerId, args.ifName)
        try {
          setupSpoofCheck(deps.nft, id, hostName, contLink.mac)
        } catch (e) {
          throw new CniError('CNI_ERR_KERNEL', 'failed to set up the MAC spoof check', e instanceof Error ? e.message : String(e))
        }
        undo.push(() => { try { teardownSpoofCheck(deps.nft, id) } catch { /* best effort */ } })
      }
      fault('spoofcheck')

      // 4. addresses from IPAM
      if (conf.ipamType !== undefined) {
        let ipamResult: Result | undefined
        try {
          ipamResult = deps.delegate('ADD', conf.ipamType, args)
        } catch (e) {
          throw e instanceof CniError ? e : kernelError('IPAM plugin failed', e)
        }
        undo.push(() => { try { deps.delegate('DEL', conf.ipamType as string, args) } catch { /* best effort */ } })
        fault('ipam')
        if (ipamResult === undefined || ipamResult.ips === undefined || ipamResult.ips.length === 0) {
          throw new CniError('CNI_ERR_INTERNAL', 'IPAM plugin returned missing IP config')
        }
        const ips: IPConfig[] = []
        const gws = new Map<4 | 6, string>()
        const gwCidrs: string[] = []
        for (const ipc of ipamResult.ips) {
          const out: IPConfig = { interface: 2, address: ipc.address }
          const gw = gatewayOf(ipc, conf)
          if (gw !== undefined) {
            out.gateway = gw
            const fam = familyOf(ipc.address)
            if (!gws.has(fam)) gws.set(fam, gw)
            const prefix = ip.parseCidr(ipc.address).prefixLen
            if (!gwCidrs.includes(`${gw}/${prefix}`)) gwCidrs.push(`${gw}/${prefix}`)
          }
          ips.push(out)
        }
        const routes: RouteConfig[] = [...(ipamResult.routes ?? [])]
        if (conf.isDefaultGateway) {
          for (const [fam, gw] of gws) {
            const dst = fam === 4 ? '0.0.0.0/0' : '::/0'
            const has = routes.some((r) => r.dst === dst && r.gw !== undefined)
            if (!has) routes.push({ dst, gw })
          }
        }
        result.ips = ips
        if (routes.length > 0) result.routes = routes
        if (ipamResult.dns !== undefined) result.dns = ipamResult.dns

        // 5. configure the pod side
        const hasV6 = ips.some((x) => familyOf(x.address) === 6)
        try {
          deps.netns.run(args.netns, () => {
            try { deps.sysctl.set(`net/ipv4/conf/${args.ifName}/arp_notify`, '1') } catch { /* best effort, as the reference */ }
            // DAD off unless asked for (as the reference), whatever the families.
            try { deps.sysctl.set(`net/ipv6/conf/${args.ifName}/accept_dad`, conf.enableDad ? '1' : '0') } catch { /* no IPv6 */ }
            if (conf.enableDad) { try { deps.sysctl.set(`net/ipv6/conf/${args.ifName}/enhanced_dad`, '1') } catch { /* older kernel */ } }
            if (hasV6) {
              for (const dev of ['lo', args.ifName]) {
                try { if (deps.sysctl.get(`net/ipv6/conf/${dev}/disable_ipv6`) !== '0') deps.sysctl.set(`net/ipv6/conf/${dev}/disable_ipv6`, '0') } catch { /* no IPv6 */ }
              }
              try { deps.sysctl.set(`net/ipv6/conf/${args.ifName}/keep_addr_on_down`, '1') } catch { /* older kernel */ }
            }
          })
          for (const x of ips) cont.addAddress(contLink.index, x.address)
          cont.setLink(contLink.index, { up: true })
          for (const r of routes) {
            const fam = familyOf(r.dst)
            const gw = r.gw ?? gws.get(fam)
            try {
              cont.addRoute({
                family: fam,
                dst: r.dst,
                ...(gw !== undefined ? { gw } : {}),
                dev: contLink.index,
                ...(r.priority !== undefined ? { priority: r.priority } : {}),
                ...(r.table !== undefined ? { table: r.table } : {}),
                ...(r.scope !== undefined ? { scope: r.scope } : {}),
                ...(r.mtu !== undefined ? { mtu: r.mtu } : {}),
                ...(r.advmss !== undefined ? { advmss: r.advmss } : {})
              })
            } catch (e) {
              if (!isExists(e)) throw e
            }
          }
        } catch (e) { throw kernelError(`failed to configure ${args.ifName} in ${args.netns}`, e) }
        fault('configure')

        // 6. gateway address on the bridge, forwarding
        if (conf.isGateway) {
          try {
            for (const g of gwCidrs) ensureBridgeAddr(host, br, g, conf.forceAddress, undo)
            // Pin the bridge MAC so it stops following the lowest port's MAC.
            const now = host.linkByIndex(br.index)
            if (now !== undefined) host.setLink(br.index, { mac: now.mac })
          } catch (e) { throw kernelError(`failed to set the gateway address on ${conf.bridge}`, e) }
          enableForwarding(new Set(gws.keys()))
        }
        fault('gateway')

        // 7. masquerade
        if (conf.ipMasq) {
          try {
            setupIpMasq(deps.iptables, conf.name, args.containerId, ips.map((x) => x.address))
          } catch (e) {
            throw new CniError('CNI_ERR_IPTABLES', 'failed to set up IP masquerade', e instanceof Error ? e.message : String(e))
          }
          undo.push(() => { try { teardownIpMasq(deps.iptables, conf.name, args.containerId) } catch { /* best effort */ } })
        }
        fault('ipmasq')
      } else if (!conf.disableContainerInterface) {
        try { cont.setLink(contLink.index, { up: true }) } catch (e) { throw kernelError(`failed to set ${args.ifName} up`, e) }
      }

      // 8. wait for the host port, then report fresh MACs
      if (!conf.disableContainerInterface) waitOperUp(host, hostLink.index, hostName)
      const brNow = host.linkByIndex(br.index)
      const hostNow = host.linkByIndex(hostLink.index)
      if (brNow !== undefined) interfaces[0] = { name: brNow.name, mac: brNow.mac }
      if (hostNow !== undefined) interfaces[1] = { name: hostNow.name, mac: hostNow.mac }
      if (conf.dns !== undefined) result.dns = conf.dns
      ok = true
      return result
    } finally {
      if (!ok) {
        for (const u of undo.reverse()) u()
      }
      cont?.close()
      host.close()
    }
  }

  function del (args: CmdArgs): void {
    const conf = loadBridgeConf(args)
    // 1. the veth (deleting the pod end removes the host end too)
    if (args.netns !== '' && deps.netns.exists(args.netns)) {
      let cont: Netlink | undefined
      try {
        cont = deps.netns.netlink(args.netns)
        const l = cont.linkByName(args.ifName)
        if (l !== undefined) cont.deleteLink(l.index)
      } catch (e) {
        if (!isNotFound(e)) throw kernelError(`failed to delete ${args.ifName}`, e)
      } finally { cont?.close() }
    }
    // 2. the address reservation
    if (conf.ipamType !== undefined) deps.delegate('DEL', conf.ipamType, args)
    // 3. spoof check and masquerade, by name: they need neither the netns nor the addresses
    if (conf.macspoofchk) {
      try {
        teardownSpoofCheck(deps.nft, spoofId(args.containerId, args.ifName))
      } catch (e) {
        throw new CniError('CNI_ERR_KERNEL', 'failed to remove the MAC spoof check', e instanceof Error ? e.message : String(e))
      }
    }
    if (conf.ipMasq) {
      try {
        teardownIpMasq(deps.iptables, conf.name, args.containerId)
      } catch (e) {
        throw new CniError('CNI_ERR_IPTABLES', 'failed to remove IP masquerade', e instanceof Error ? e.message : String(e))
      }
    }
  }

  function check (args: CmdArgs): void {
    const conf = loadBridgeConf(args)
    const prev = args.conf.prevResult
    if (prev === undefined) throw new CniError('CNI_ERR_INVALID_CONFIG', 'required prevResult missing')
    if (conf.ipamType !== undefined) deps.delegate('CHECK', conf.ipamType, args)
    const fail = (msg: string, details = ''): never => { throw new CniError('CNI_ERR_CHECK_FAILED', msg, details) }
    const host = deps.netns.netlink()
    let cont: Netlink | undefined
    try {
      const br = host.linkByName(conf.bridge)
      if (br === undefined) fail(`bridge "${conf.bridge}" not found`)
      const brLink = br as Link
      if (brLink.kind !== 'bridge') fail(`"${conf.bridge}" is not a bridge`)
      if (brLink.flags.promisc !== conf.promiscMode) fail(`bridge "${conf.bridge}" promiscuous mode is ${brLink.flags.promisc ? 'on' : 'off'}, config says ${conf.promiscMode ? 'on' : 'off'}`)
      const prevBr = prev.interfaces?.find((i) => i.name === conf.bridge)
      if (prevBr?.mac !== undefined && prevBr.mac !== brLink.mac) fail(`bridge "${conf.bridge}" MAC ${brLink.mac} differs from the result's ${prevBr.mac}`)
      if (!deps.netns.exists(args.netns)) fail(`netns "${args.netns}" not found`)
      cont = deps.netns.netlink(args.netns)
      const c = cont.linkByName(args.ifName)
      if (c === undefined) fail(`interface "${args.ifName}" not found in ${args.netns}`)
      const cl = c as Link
      if (cl.kind !== 'veth') fail(`interface "${args.ifName}" is a ${cl.kind ?? 'device'}, not a veth`)
      const prevC = prev.interfaces?.find((i) => i.name === args.ifName && i.sandbox !== undefined)
      if (prevC?.mac !== undefined && prevC.mac !== cl.mac) fail(`interface "${args.ifName}" MAC ${cl.mac} differs from the result's ${prevC.mac}`)
      // The host end: the veth on our bridge whose peer is the pod's interface.
      const peer = host.links().find((l) => l.kind === 'veth' && l.index === cl.parentIndex && l.master === brLink.index)
      if (peer === undefined) fail(`no host veth on bridge "${conf.bridge}" paired with "${args.ifName}"`)
      // Addresses and routes of the result must be present on the pod's interface.
      const have = cont.addresses().filter((a) => a.index === cl.index).map((a) => `${a.address}/${a.prefixLen}`)
      for (const x of prev.ips ?? []) {
        if (x.interface !== undefined && prev.interfaces?.[x.interface]?.name !== args.ifName) continue
        const want = ip.parseCidr(x.address)
        if (!have.includes(`${want.address}/${want.prefixLen}`)) fail(`address ${x.address} missing on ${args.ifName}`, `found ${have.join(', ') || 'none'}`)
      }
      const routes = cont.routes()
      for (const r of prev.routes ?? []) {
        const fam = familyOf(r.dst)
        const dst = ip.parseCidr(r.dst, true)
        const dstText = `${ip.networkOf(dst)}/${dst.prefixLen}`
        const found = routes.some((x) => x.family === fam && x.dst === dstText && (r.gw === undefined || x.gw === r.gw || (x.multipath ?? []).some((h) => h.gw === r.gw)))
        if (!found) fail(`route ${r.dst}${r.gw !== undefined ? ' via ' + r.gw : ''} missing in ${args.netns}`)
      }
      if (conf.ipMasq) {
        const chain = (deps.iptables.save('nat', false) + '\n')
        const addrs = (prev.ips ?? []).filter((x) => familyOf(x.address) === 4)
        if (addrs.length > 0 && !chain.includes(':' + masqChainOf(conf.name, args.containerId) + ' ')) fail('masquerade chain missing', masqChainOf(conf.name, args.containerId))
      }
    } catch (e) {
      if (e instanceof CniError) throw e
      if (e instanceof KernelError) throw new CniError('CNI_ERR_CHECK_FAILED', 'failed to read kernel state', e.message)
      throw e
    } finally {
      cont?.close()
      host.close()
    }
  }

  function status (args: CmdArgs): void {
    const conf = loadBridgeConf(args)
    if (conf.ipamType !== undefined) deps.delegate('STATUS', conf.ipamType, args)
  }

  function gc (args: CmdArgs): void {
    const conf = loadBridgeConf(args)
    const errors: string[] = []
    // Masquerade chains of attachments that are no longer valid.
    if (conf.ipMasq) {
      const raw = (args.conf['cni.dev/valid-attachments'] ?? args.conf['cni.dev/attachments']) as unknown
      const valid = new Set<string>()
      if (Array.isArray(raw)) {
        for (const a of raw) {
          const id = (a as { containerID?: unknown }).containerID
          if (typeof id === 'string') valid.add(id)
        }
      }
      try { gcIpMasq(deps.iptables, conf.name, valid) } catch (e) { errors.push((e as Error).message) }
    }
    if (conf.ipamType !== undefined) {
      try { deps.delegate('GC', conf.ipamType, args) } catch (e) {
        if (errors.length === 0) throw e
        errors.push((e as Error).message)
      }
    }
    if (errors.length > 0) throw new CniError('CNI_ERR_INTERNAL', 'garbage collection failed', errors.join('; '))
  }

  return { add, del, check, status, gc }
}
