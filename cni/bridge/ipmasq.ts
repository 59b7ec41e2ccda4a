/**
 * Per-attachment masquerade, with the reference plugin's chain layout so a node
 * can move between the two: nat chain `CNI-<24 hex of sha512(network+containerID)>`
 * holding `-d <pod subnet> -j ACCEPT` and `! -d <multicast> -j MASQUERADE`, entered
 * from POSTROUTING by `-s <pod IP> -j <chain>`, every rule commented
 * `name: "<network>" id: "<containerID>"`.
 *
 * Unlike the reference, teardown is keyed by the chain name, not by the pod's
 * addresses read back from its interface, so DEL after the link or the netns
 * is gone still removes everything (the reference leaks the chain then), and
 * GC finds stale chains by their comment.
 *
 * Each setup or teardown is one `iptables-save` read plus one
 * `iptables-restore --noflush` transaction.
 */
import { createHash } from 'node:crypto'
import { CniError } from '../skel/index.js'
import { ip } from '../../kernel/index.js'

/** What masquerading needs from iptables: a table dump and a --noflush restore. */
export interface Iptables {
  save (table: string, v6: boolean): string
  restore (input: string, v6: boolean): void
}

export function masqChainName (network: string, containerId: string): string {
  return 'CNI-' + createHash('sha512').update(network + containerId).digest('hex').slice(0, 24)
}

export function masqComment (network: string, containerId: string): string {
  return `name: "${network}" id: "${containerId}"`
}

const quote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`

/** nat-table rules of `save` output (`-A CHAIN ...` lines) by chain. */
export function rulesByChain (save: string): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const line of save.split('\n')) {
    if (line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0] ?? ''
      if (!out.has(name)) out.set(name, [])
    } else if (line.startsWith('-A ')) {
      const name = line.split(' ')[1] ?? ''
      const list = out.get(name) ?? []
      list.push(line)
      out.set(name, list)
    }
  }
  return out
}

function teardownLines (chains: Map<string, string[]>, chain: string): string[] {
  if (!chains.has(chain)) return []
  const lines: string[] = []
  for (const rule of chains.get('POSTROUTING') ?? []) {
    if (rule.includes(` -j ${chain}`) && (rule.endsWith(` -j ${chain}`) || rule.includes(` -j ${chain} `))) {
      lines.push('-D' + rule.slice(2))
    }
  }
  lines.push(`-F ${chain}`, `-X ${chain}`)
  return lines
}

export function setupIpMasq (ipt: Iptables, network: string, containerId: string, addresses: string[]): void {
  const chain = masqChainName(network, containerId)
  const comment = quote(masqComment(network, containerId))
  for (const v6 of [false, true]) {
    const mine = addresses.filter((a) => (ip.parseCidr(a).family === 6) === v6)
    if (mine.length === 0) continue
    const chains = rulesByChain(ipt.save('nat', v6))
    const lines = ['*nat', `:${chain} - [0:0]`] // declaring the chain with --noflush empties it: the rules below are all of it
    for (const addr of mine) {
      const c = ip.parseCidr(addr)
      lines.push(`-A ${chain} -d ${ip.networkOf(c)}/${c.prefixLen} -m comment --comment ${comment} -j ACCEPT`)
      lines.push(`-A ${chain} ! -d ${v6 ? 'ff00::/8' : '224.0.0.0/4'} -m comment --comment ${comment} -j MASQUERADE`)
    }
    for (const addr of mine) {
      const c = ip.parseCidr(addr)
      const src = `${c.address}/${v6 ? 128 : 32}`
      const exists = (chains.get('POSTROUTING') ?? []).some((r) => r.includes(`-s ${src} `) && r.includes(` -j ${chain}`))
      if (!exists) lines.push(`-A POSTROUTING -s ${src} -m comment --comment ${comment} -j ${chain}`)
    }
    lines.push('COMMIT', '')
    ipt.restore(lines.join('\n'), v6)
  }
}

export function teardownIpMasq (ipt: Iptables, network: string, containerId: string): void {
  const chain = masqChainName(network, containerId)
  for (const v6 of [false, true]) {
    let save: string
    try {
      save = ipt.save('nat', v6)
    } catch (e) {
      if (v6) continue // no ip6tables support on this host: nothing of ours can be there
      throw e
    }
    const lines = teardownLines(rulesByChain(save), chain)
    if (lines.length === 0) continue
    ipt.restore(['*nat', ...lines, 'COMMIT', ''].join('\n'), v6)
  }
}

/** Removes masquerade chains of `network` whose container is not in `valid`. Returns the container IDs cleaned. */
export function gcIpMasq (ipt: Iptables, network: string, valid: Set<string>): string[] {
  const cleaned: string[] = []
  const re = /--comment "name: \\"(.*?)\\" id: \\"(.*?)\\""/
  for (const v6 of [false, true]) {
    let save: string
    try { save = ipt.save('nat', v6) } catch { continue }
    const chains = rulesByChain(save)
    const lines: string[] = []
    for (const [chain, rules] of chains) {
      if (!/^CNI-[0-9a-f]{24}$/.test(chain)) continue
      for (const r of rules) {
        const m = re.exec(r) ?? /--comment "?name: "(.*?)" id: "(.*?)""?/.exec(r)
        if (m === null) continue
        if (m[1] === network && m[2] !== undefined && !valid.has(m[2]) && masqChainName(network, m[2]) === chain) {
          lines.push(...teardownLines(chains, chain))
          cleaned.push(m[2])
        }
        break
      }
    }
    if (lines.length > 0) {
      try {
        ipt.restore(['*nat', ...lines, 'COMMIT', ''].join('\n'), v6)
      } catch (e) {
        throw new CniError('CNI_ERR_IPTABLES', 'failed to remove stale masquerade chains', (e as Error).message)
      }
    }
  }
  return cleaned
}
