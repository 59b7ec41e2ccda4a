/**
 * The Linux `Ipvs`: IPVS_CMD_* over generic netlink (kernel/'s `Genetlink`,
 * the synchronous socket), with the attribute codec of `codec.ts`. The
 * family is resolved through nlctrl when the object is made; a kernel
 * without IPVS answers ENOENT, which becomes PROXY_ERR_NO_IPVS.
 */
import { KernelError } from '../../kernel/index.js'
import type { Genetlink } from '../../kernel/index.js'
import { ProxyError } from '../tracker/index.js'
import { IPVS_GENL_NAME, IPVS_GENL_VERSION, IpvsCmd, decodeDest, decodeService, encodeDest, encodeService, encodeTimeouts, nestOf } from './codec.js'
import type { IpvsDest, IpvsService } from './codec.js'
import type { Ipvs } from './proxier.js'
import { vsKey } from './render.js'

const ENOENT = 2

/** The message for a kernel without IPVS (also used by the e2e skip and `--cleanup`). */
export const NO_IPVS_MESSAGE = 'IPVS is not available in this kernel (no generic netlink family "IPVS"; /proc/net/ip_vs is missing): load it with `modprobe ip_vs` (CONFIG_IP_VS), or use --proxy-mode nftables or iptables'

/** An `Ipvs` over `genl`; throws PROXY_ERR_NO_IPVS when the kernel has no IPVS. The socket stays the caller's to close. */
export function linuxIpvs (genl: Genetlink): Ipvs {
  let family: number
  try {
    family = genl.familyId(IPVS_GENL_NAME)
  } catch (e) {
    if (e instanceof KernelError && e.errno === ENOENT) throw new ProxyError('PROXY_ERR_NO_IPVS', NO_IPVS_MESSAGE, { cause: e })
    throw new ProxyError('PROXY_ERR_UNSUPPORTED', `IPVS: ${(e as Error).message}`, { cause: e })
  }
  const req = (cmd: number, attrs: Uint8Array[], what: string, dump = false): Buffer[] =>
    genl.request(family, cmd, IPVS_GENL_VERSION, attrs, { dump }, `ipvs ${what}`)
  return {
    services () {
      const out: IpvsService[] = []
      for (const p of req(IpvsCmd.GetService, [], 'list services', true)) {
        const n = nestOf(p, 'service')
        if (n !== undefined) out.push(decodeService(n))
      }
      return out
    },
    addService (s) { req(IpvsCmd.NewService, [encodeService(s)], `add service ${vsKey(s)}`) },
    updateService (s) { req(IpvsCmd.SetService, [encodeService(s)], `update service ${vsKey(s)}`) },
    deleteService (s) { req(IpvsCmd.DelService, [encodeService(s)], `delete service ${vsKey(s)}`) },
    dests (s) {
      const out: IpvsDest[] = []
      for (const p of req(IpvsCmd.GetDest, [encodeService(s)], `list destinations of ${vsKey(s)}`, true)) {
        const n = nestOf(p, 'dest')
        if (n !== undefined) out.push(decodeDest(n, s.family))
      }
      return out
    },
    addDest (s, d) { req(IpvsCmd.NewDest, [encodeService(s), encodeDest(d, s.family)], `add destination ${d.address}:${d.port} to ${vsKey(s)}`) },
    updateDest (s, d) { req(IpvsCmd.SetDest, [encodeService(s), encodeDest(d, s.family)], `update destination ${d.address}:${d.port} of ${vsKey(s)}`) },
    deleteDest (s, d) { req(IpvsCmd.DelDest, [encodeService(s), encodeDest(d, s.family)], `delete destination ${d.address}:${d.port} of ${vsKey(s)}`) },
    setTimeouts (t) { req(IpvsCmd.SetConfig, [encodeTimeouts(t)], `set timeouts tcp ${t.tcp} tcpfin ${t.tcpFin} udp ${t.udp}`) }
  }
}
