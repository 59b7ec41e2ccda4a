/**
 * MAC spoof check (`macspoofchk`), with the reference plugin's nftables layout:
 * table `bridge nat`, base chain `PREROUTING` (filter, prerouting, priority
 * -300) jumping, for the pod's host veth, to `cni-br-iface-<id>`, which jumps to
 * `cni-br-iface-<id>-mac`: frames from the pod's MAC return, all others drop.
 * `<id>` is `<containerID>-<ifName>`; every rule is commented `macspoofchk-<id>`.
 *
 * Setup is one `nft -f -` transaction; teardown reads the table once and
 * deletes by handle, and needs neither the pod nor its veth to still exist.
 */

import type { Nftables } from '../../kernel/index.js'

export function spoofId (containerId: string, ifName: string): string {
  return `${containerId}-${ifName}`
}

export function setupSpoofCheck (nft: Nftables, id: string, hostIface: string, mac: string): void {
  const chain = `cni-br-iface-${id}`
  const macChain = `${chain}-mac`
  const comment = `comment "macspoofchk-${id}"`
  nft.apply([
    'add table bridge nat',
    'add chain bridge nat PREROUTING { type filter hook prerouting priority -300 ; policy accept ; }',
    `add chain bridge nat ${chain}`,
    `add chain bridge nat ${macChain}`,
    `flush chain bridge nat ${chain}`,
    `flush chain bridge nat ${macChain}`,
    `add rule bridge nat ${chain} jump ${macChain} ${comment}`,
    `add rule bridge nat ${macChain} ether saddr ${mac} return ${comment}`,
    `add rule bridge nat ${macChain} drop ${comment}`,
    `add rule bridge nat PREROUTING iifname "${hostIface}" jump ${chain} ${comment}`,
    ''
  ].join('\n'))
}

export function teardownSpoofCheck (nft: Nftables, id: string): void {
  const listing = nft.listTable('bridge', 'nat', { handles: true })
  if (listing === undefined) return
  const chain = `cni-br-iface-${id}`
  const lines: string[] = []
  let current = ''
  const chains = new Set<string>()
  for (const raw of listing.split('\n')) {
    const line = raw.trim()
    const m = /^chain (\S+) \{/.exec(line)
    if (m !== null) { current = m[1] ?? ''; chains.add(current); continue }
    if (current === 'PREROUTING' && line.includes(`comment "macspoofchk-${id}"`)) {
      const h = /# handle (\d+)$/.exec(line)
      if (h !== null) lines.push(`delete rule bridge nat PREROUTING handle ${h[1]}`)
    }
  }
  if (chains.has(chain)) lines.push(`delete chain bridge nat ${chain}`)
  if (chains.has(`${chain}-mac`)) lines.push(`delete chain bridge nat ${chain}-mac`)
  if (lines.length > 0) nft.apply(lines.join('\n') + '\n')
}
