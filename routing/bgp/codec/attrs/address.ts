/** IPv4 addresses and router ids as dotted quads, through the kernel's ip helpers (ip-address underneath). */
import { ip } from '../../../../kernel/index.js'
import { BgpEncodeError } from '../errors.js'

export function writeIpv4 (addr: string, buf: Uint8Array, offset: number, what: string): void {
  if (ip.familyOf(addr) !== 4) throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `${what} "${String(addr)}" is not an IPv4 address`)
  buf.set(ip.toBytes(addr), offset)
}

export function readIpv4 (b: Uint8Array, offset: number): string {
  return ip.fromBytes(b.subarray(offset, offset + 4))
}
