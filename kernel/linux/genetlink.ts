/**
 * Generic netlink over the same blocking socket as rtnetlink (`RtSocket`,
 * opened with NETLINK_GENERIC). The genl header and nlctrl's attributes are
 * the `netlink` package's codecs (`formatGenlHeader`, `genl/structs`); the
 * package's own `GenericNetlinkSocket` is async-only (libuv polling), so it
 * is not used, for the reasons given in `netlink.ts`.
 */
import * as nl from 'netlink/dist/structs.js'
import * as genl from 'netlink/dist/genl/structs.js'
import { KernelError } from '../errors.js'
import type { Genetlink, NetNS } from '../types.js'
import { RtSocket } from './netlink.js'

export const NETLINK_GENERIC = 16
/** GENL_ID_CTRL: nlctrl's fixed family id. */
const GENL_ID_CTRL = 16
const CTRL_VERSION = 1
const NLM_F_DUMP = 0x300

export class LinuxGenetlink implements Genetlink {
  #sock: RtSocket
  #families = new Map<string, number>()

  constructor (sock: RtSocket = new RtSocket(NETLINK_GENERIC)) { this.#sock = sock }

  familyId (name: string): number {
    const hit = this.#families.get(name)
    if (hit !== undefined) return hit
    const attrs = new nl.AttrStream()
    attrs.emit(genl.formatMessage({ familyName: name }))
    const replies = this.request(GENL_ID_CTRL, genl.Commands.GET_FAMILY, CTRL_VERSION, attrs.bufs, {}, `resolve generic netlink family ${name}`)
    const id = replies.map((r) => genl.parseMessage(r).familyId).find((v) => v !== undefined)
    if (id === undefined) throw new KernelError('KERNEL_ERR_NETLINK', `resolve generic netlink family ${name}: no CTRL_ATTR_FAMILY_ID in the reply`)
    this.#families.set(name, id)
    return id
  }

  request (family: number, cmd: number, version: number, attrs: readonly Uint8Array[], opts: { dump?: boolean, flags?: number }, what: string): Buffer[] {
    const flags = (opts.dump === true ? NLM_F_DUMP : 0) | (opts.flags ?? 0)
    const out: Buffer[] = []
    for (const m of this.#sock.request(family, flags, [nl.formatGenlHeader({ cmd, version }), ...attrs], what)) {
      if (m.type !== family || m.data.length < nl.GENL_HEADER_LENGTH) continue
      out.push(m.data.subarray(nl.GENL_HEADER_LENGTH))
    }
    return out
  }

  close (): void { this.#sock.close() }
}

/**
 * A generic netlink socket in the caller's namespace, or (with `netns` and
 * `path`) in the namespace at `path`, entered only to open the socket.
 */
export function openGenetlink (where?: { netns: NetNS, path: string }): Genetlink {
  if (where === undefined) return new LinuxGenetlink()
  return new LinuxGenetlink(where.netns.run(where.path, () => new RtSocket(NETLINK_GENERIC)))
}
