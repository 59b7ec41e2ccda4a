/**
 * BGP messages out of a tcpdump capture (classic pcap, Ethernet, IPv4/IPv6, TCP), per direction of each
 * connection, framed with `Framer`. Used to turn lab captures into fixtures (capture-lab.sh):
 *
 *   node dist/routing/bgp/codec/testing/pcap.js capture.pcap
 *
 * prints each flow and its messages as hex. Retransmissions are dropped by sequence number; captures with lost
 * segments are not repaired.
 */
import * as fs from 'node:fs'
import { Framer } from '../framer.js'
import { hexOf } from './assert-codec.js'

export interface Flow {
  /** 'src:port>dst:port' (IPv6 addresses as hex). */
  key: string
  messages: Uint8Array[]
}

export function bgpFlows (pcap: Uint8Array): Flow[] {
  const b = Buffer.from(pcap.buffer, pcap.byteOffset, pcap.byteLength)
  if (b.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error('not a little-endian microsecond pcap')
  const segments = new Map<string, Map<number, Uint8Array>>()
  let o = 24
  while (o + 16 <= b.length) {
    const incl = b.readUInt32LE(o + 8)
    const pkt = b.subarray(o + 16, o + 16 + incl)
    o += 16 + incl
    const etherType = pkt.readUInt16BE(12)
    let l4: number, end: number, src: string, dst: string, proto: number
    if (etherType === 0x0800) {
      l4 = 14 + ((pkt[14] as number) & 15) * 4
      end = 14 + pkt.readUInt16BE(16)
      proto = pkt[23] as number
      src = Array.from(pkt.subarray(26, 30)).join('.')
      dst = Array.from(pkt.subarray(30, 34)).join('.')
    } else if (etherType === 0x86dd) {
      l4 = 54
      end = 54 + pkt.readUInt16BE(18)
      proto = pkt[20] as number
      src = pkt.subarray(22, 38).toString('hex')
      dst = pkt.subarray(38, 54).toString('hex')
    } else {
      continue
    }
    if (proto !== 6) continue
    const key = `${src}:${pkt.readUInt16BE(l4)}>${dst}:${pkt.readUInt16BE(l4 + 2)}`
    const payload = pkt.subarray(l4 + ((pkt[l4 + 12] as number) >> 4) * 4, end)
    if (payload.length === 0) continue
    if (!segments.has(key)) segments.set(key, new Map())
    segments.get(key)?.set(pkt.readUInt32BE(l4 + 4), payload)
  }
  return [...segments].map(([key, segs]) => {
    const framer = new Framer({ extendedMessages: true })
    const messages = [...segs].sort((x, y) => x[0] - y[0]).flatMap(([, p]) => framer.push(p))
    return { key, messages }
  })
}

if (process.argv[1]?.endsWith('pcap.js') === true && process.argv[2] !== undefined) {
  for (const f of bgpFlows(fs.readFileSync(process.argv[2]))) {
    console.log(f.key)
    for (const m of f.messages) console.log(`  ${hexOf(m)}`)
  }
}
