/**
 * Packet-flow tracers over generated rulesets (kube-proxy's
 * `tracePacket`/`nftablesTracer` technique): they follow one packet
 * through the rules the proxier wrote, interpreting exactly the rule shapes
 * it emits, and report where it ends: the endpoints it may be DNATed to
 * (all branches of a random choice, comma-separated), `REJECT` or `DROP`,
 * or `''` when the proxy leaves it alone; plus whether it is marked for
 * masquerade. Affinity lookups never match (no connection state).
 */
import { isIP } from 'node:net'
import { ip as ipUtil, parseSave } from '../../kernel/index.js'
import type { FakeProxyNft, NftTableState } from './nft.js'

export interface Packet {
  /** Source address. */
  src: string
  proto: 'tcp' | 'udp' | 'sctp'
  dst: string
  dport: number
}

export interface TraceResult {
  /**
   * `ip:port[, ip:port…]`, `REJECT`, `DROP`, or `''` (not touched); the IPVS
   * tracer also `LOCAL`: accepted by the node on a kube-ipvs0 address.
   */
  output: string
  masq: boolean
}

/** Node addresses in the plan: traffic from them is host traffic; to them is NodePort traffic. */
export interface TraceNode {
  nodeIPs: readonly string[]
}

export function inCidr (addr: string, cidr: string): boolean {
  const [net = '', lenText] = cidr.split('/')
  if (isIP(net) !== isIP(addr) || isIP(addr) === 0) return false
  const bits = isIP(addr) === 4 ? 32 : 128
  const len = lenText === undefined ? bits : Number(lenText)
  const shift = BigInt(bits - len)
  return (ipUtil.toBigInt(addr) >> shift) === (ipUtil.toBigInt(net) >> shift)
}

const isLoopback = (a: string): boolean => inCidr(a, '127.0.0.0/8') || a === '::1'
export const isLocal = (a: string, node: TraceNode): boolean => isLoopback(a) || node.nodeIPs.some((n) => ipUtil.canonical(n) === ipUtil.canonical(a))

// ---------------------------------------------------------------------------
// nftables

interface NftCtx { t: NftTableState, pkt: Packet, node: TraceNode, masq: boolean, outs: string[], verdict: string | undefined, dnat: boolean }

const setOf = (list: string): string[] => list.replace(/[{}]/g, '').split(',').map((s) => s.trim()).filter((s) => s !== '')

/** Whether one match expression (e.g. `ip saddr != { 10.0.0.0/8 }`) holds; undefined when it is not understood. */
function nftMatch (ctx: NftCtx, field: string, neg: boolean, value: string): boolean | undefined {
  const { pkt } = ctx
  let v: boolean
  if (field === 'saddr' || field === 'daddr') {
    const addr = field === 'saddr' ? pkt.src : pkt.dst
    if (value.startsWith('@')) v = ctx.t.sets.get(value.slice(1))?.elements.has(ipUtil.canonical(addr)) === true && !value.startsWith('@affinity-')
    else v = setOf(value).some((c) => inCidr(addr, c))
  } else if (field === 'dport') {
    v = Number(value) === pkt.dport
  } else return undefined
  return neg ? !v : v
}

/** Runs a chain; returns true when a terminal verdict (goto result, dnat, drop, reject, return-to-base) ended it. */
function nftChain (ctx: NftCtx, name: string, depth = 0): 'return' | 'done' {
  if (depth > 32) throw new Error(`chain loop at ${name}`)
  const chain = ctx.t.chains.get(name)
  if (chain === undefined) throw new Error(`trace: no chain ${name}`)
  const fam = isIP(ctx.pkt.dst) === 6 ? 'ip6' : 'ip'
  for (const rule of chain.rules) {
    let rest = rule.replace(/ comment "[^"]*"$/, '')
    let matched = true
    // Leading matches
    for (;;) {
      let m: RegExpExecArray | null
      if ((m = new RegExp(`^${fam} (saddr|daddr) (!= )?(\\{[^}]*\\}|[^\\s.]\\S*) `).exec(rest)) !== null) {
        const r = nftMatch(ctx, m[1] as string, m[2] !== undefined, m[3] as string)
        if (r === undefined) throw new Error(`trace: cannot interpret ${rule}`)
        matched &&= r
        rest = rest.slice(m[0].length)
      } else if ((m = /^(tcp|udp|sctp) dport (\d+) /.exec(rest)) !== null) {
        matched &&= m[1] === ctx.pkt.proto && Number(m[2]) === ctx.pkt.dport
        rest = rest.slice(m[0].length)
      } else if ((m = /^fib (saddr|daddr) type local /.exec(rest)) !== null) {
        matched &&= isLocal(m[1] === 'saddr' ? ctx.pkt.src : ctx.pkt.dst, ctx.node)
        rest = rest.slice(m[0].length)
      } else if ((m = /^ct state new /.exec(rest)) !== null) {
        rest = rest.slice(m[0].length)
      } else if ((m = /^ct status dnat /.exec(rest)) !== null) {
        matched &&= ctx.dnat
        rest = rest.slice(m[0].length)
      } else if ((m = new RegExp(`^${fam} saddr \\. ${fam} daddr @(\\S+) `).exec(rest)) !== null) {
        const key = `${ipUtil.canonical(ctx.pkt.src)} . ${ipUtil.canonical(ctx.pkt.dst)}`
        matched &&= ctx.t.sets.get(m[1] as string)?.elements.has(key) === true
        rest = rest.slice(m[0].length)
      } else if ((m = /^meta l4proto (tcp|udp|sctp) /.exec(rest)) !== null) {
        matched &&= m[1] === ctx.pkt.proto
        rest = rest.slice(m[0].length)
      } else break
    }
    if (!matched) continue
    let m: RegExpExecArray | null
    if ((m = new RegExp(`^${fam} daddr \\. meta l4proto \\. th dport vmap @(\\S+)$`).exec(rest)) !== null) {
      const v = ctx.t.sets.get(m[1] as string)?.elements.get(`${ipUtil.canonical(ctx.pkt.dst)} . ${ctx.pkt.proto} . ${ctx.pkt.dport}`)
      if (v !== undefined && nftVerdict(ctx, v, depth) === 'done') return 'done'
    } else if ((m = /^meta l4proto \. th dport vmap @(\S+)$/.exec(rest)) !== null) {
      const v = ctx.t.sets.get(m[1] as string)?.elements.get(`${ctx.pkt.proto} . ${ctx.pkt.dport}`)
      if (v !== undefined && nftVerdict(ctx, v, depth) === 'done') return 'done'
    } else if ((m = /^numgen random mod (\d+) vmap \{ (.*) \}$/.exec(rest)) !== null) {
      // Every branch: the packet may go to any of them.
      for (const el of (m[2] as string).split(', ')) {
        const v = el.split(' : ')[1] ?? ''
        nftVerdict(ctx, v, depth)
        ctx.verdict = undefined
      }
      return 'done'
    } else if ((m = /^dnat to numgen random mod \d+ map \{ (.*) \}$/.exec(rest)) !== null) {
      // Every element: the packet may go to any endpoint.
      for (const el of (m[1] as string).split(', ')) {
        const [ip = '', port = ''] = (el.split(' : ')[1] ?? '').split(' . ')
        ctx.outs.push(ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`)
      }
      return 'done'
    } else if ((m = /^dnat to (\S+)$/.exec(rest)) !== null) {
      ctx.outs.push(m[1] as string)
      return 'done'
    } else if (/^update @\S+ \{ \S+ saddr \}$/.test(rest) || rest.startsWith('mark set')) {
      continue
    } else if (rest.startsWith('masquerade')) {
      ctx.masq = true
      return 'done'
    } else if (/^mark and \S+ == 0 return$/.test(rest)) {
      return 'return'
    } else if (rest === 'drop' || rest === 'reject' || rest.startsWith('reject')) {
      ctx.verdict = rest === 'drop' ? 'DROP' : 'REJECT'
      return 'done'
    } else if (rest === 'return') {
      return 'return'
    } else if (/^(jump|goto) \S+$/.test(rest)) {
      if (nftVerdict(ctx, rest, depth) === 'done') return 'done'
    } else {
      throw new Error(`trace: cannot interpret rule "${rule}" in ${name}`)
    }
  }
  return 'return'
}

function nftVerdict (ctx: NftCtx, v: string, depth: number): 'return' | 'done' {
  if (v === 'drop') { ctx.verdict = 'DROP'; return 'done' }
  if (v === 'accept') return 'done'
  const m = /^(jump|goto) (\S+)$/.exec(v)
  if (m === null) throw new Error(`trace: verdict ${v}`)
  const target = m[2] as string
  if (target === 'mark-for-masquerade') { ctx.masq = true; return 'return' }
  const r = nftChain(ctx, target, depth + 1)
  return m[1] === 'goto' ? 'done' : r
}

/**
 * Traces a packet through an nftables table as the proxier wrote it: filter
 * pre-DNAT (firewall), nat (service dispatch), then the filter hooks with
 * the post-DNAT destination.
 */
export function traceNft (nft: FakeProxyNft, family: 'ip' | 'ip6', pkt: Packet, node: TraceNode): TraceResult {
  const t = nft.table(family, 'kube-proxy')
  if (t === undefined) return { output: '', masq: false }
  const fromNode = isLocal(pkt.src, node)
  const ctx: NftCtx = { t, pkt, node, masq: false, outs: [], verdict: undefined, dnat: false }
  const run = (chain: string): boolean => { nftChain(ctx, chain); return ctx.verdict !== undefined }
  if (run(fromNode ? 'filter-output-pre-dnat' : 'filter-prerouting-pre-dnat')) return { output: ctx.verdict ?? '', masq: ctx.masq }
  nftChain(ctx, fromNode ? 'nat-output' : 'nat-prerouting')
  if (ctx.outs.length > 0) {
    // After DNAT the filter hooks see the endpoint (nothing in them matches endpoints); nat
    // postrouting masquerades marked packets and a pod reaching itself (hairpin).
    const outs = [...ctx.outs]
    for (const ep of outs) {
      const dst = ep.startsWith('[') ? ep.slice(1, ep.indexOf(']')) : ep.split(':')[0] as string
      const post: NftCtx = { ...ctx, pkt: { ...pkt, dst }, outs: [], dnat: true, masq: false }
      nftChain(post, 'nat-postrouting')
      if (post.masq) ctx.masq = true
    }
    return { output: outs.join(', '), masq: ctx.masq }
  }
  if (ctx.verdict !== undefined) return { output: ctx.verdict, masq: ctx.masq }
  const localDst = isLocal(pkt.dst, node)
  const filter = fromNode ? 'filter-output' : localDst ? 'filter-input' : 'filter-forward'
  if (run(filter)) return { output: ctx.verdict ?? '', masq: ctx.masq }
  return { output: '', masq: ctx.masq }
}

// ---------------------------------------------------------------------------
// iptables

/**
 * How `-m set --match-set NAME DIRS` is answered: whether the packet's
 * fields, picked by DIRS (`dst,dst,src`…), are a member of set NAME. Only
 * the IPVS tracer gives one; without it a rule matching a set cannot be traced.
 */
export type IpsetMatch = (name: string, dirs: string, pkt: Packet) => boolean

/**
 * One packet's state while it walks iptables chains. `mark` undefined: the
 * iptables-mode tracer, which models masquerading by KUBE-MARK-MASQ being
 * reached and never evaluates `-m mark`; a number: the fwmark is modelled
 * (MARK targets change it, `-m mark` reads it) so that nat POSTROUTING can
 * be traced as the kernel runs it.
 */
export interface IptCtx {
  tables: ReadonlyMap<string, ReadonlyMap<string, string[][]>>
  pkt: Packet
  node: TraceNode
  masq: boolean
  outs: string[]
  verdict: string | undefined
  mark?: number
  ipset?: IpsetMatch
}

const terminal = new Set(['ACCEPT', 'DROP', 'REJECT', 'DNAT', 'MASQUERADE'])

/** `0x4000/0x4000` (or a bare value, mask all ones) as numbers. */
function markArg (s: string): [number, number] {
  const [v = '0', m] = s.split('/')
  return [Number(v) >>> 0, m === undefined ? 0xffffffff : Number(m) >>> 0]
}

function iptMatches (ctx: IptCtx, rule: string[]): boolean {
  const { pkt } = ctx
  for (let i = 0; i < rule.length; i++) {
    let neg = false
    let w = rule[i] as string
    if (w === '!') { neg = true; w = rule[++i] as string }
    const val = rule[i + 1] ?? ''
    let ok: boolean | undefined
    switch (w) {
      case '-s': ok = inCidr(pkt.src, val.includes('/') ? val : `${val}/${isIP(val) === 6 ? 128 : 32}`); i++; break
      case '-d': ok = inCidr(pkt.dst, val.includes('/') ? val : `${val}/${isIP(val) === 6 ? 128 : 32}`); i++; break
      case '-p': ok = val === pkt.proto; i++; break
      case '--dport': ok = Number(val) === pkt.dport; i++; break
      case '--dst-type': ok = val === 'LOCAL' ? isLocal(pkt.dst, ctx.node) : false; i++; break
      case '--src-type': ok = val === 'LOCAL' ? isLocal(pkt.src, ctx.node) : false; i++; break
      case '--ctstate': ok = val.split(',').includes('NEW'); i++; break
      case '--match-set': {
        if (ctx.ipset === undefined) throw new Error(`trace: cannot interpret ${rule.join(' ')} (no ipsets given)`)
        ok = ctx.ipset(val, rule[i + 2] ?? '', pkt)
        i += 2
        break
      }
      case '--mark': {
        if (ctx.mark === undefined) return false // state the iptables-mode tracer does not model
        const [v, m] = markArg(val)
        ok = ((ctx.mark & m) >>> 0) === v
        i++
        break
      }
      case '--rcheck': return false // state we do not model
      case '-j': case '-g': return true
      default: ok = undefined
    }
    if (ok !== undefined && ok === neg) return false
  }
  return true
}

/** Runs one chain of one table for ctx's packet: 'done' when a terminal target ended the walk. */
export function iptChain (ctx: IptCtx, table: string, chain: string, depth = 0): 'return' | 'done' {
  if (depth > 32) throw new Error(`chain loop at ${chain}`)
  const rules = ctx.tables.get(table)?.get(chain) ?? []
  for (const rule of rules) {
    if (!iptMatches(ctx, rule)) continue
    const j = rule.indexOf('-j')
    const target = j < 0 ? undefined : rule[j + 1]
    if (target === undefined) continue
    if (target === 'KUBE-MARK-MASQ' && ctx.mark === undefined) { ctx.masq = true; continue }
    if (target === 'DNAT') {
      const d = rule[rule.indexOf('--to-destination') + 1] as string
      ctx.outs.push(d)
      return 'done'
    }
    if (target === 'DROP' || target === 'REJECT') { ctx.verdict = target; return 'done' }
    if (target === 'RETURN') return 'return'
    if (target === 'MARK') {
      const x = rule.indexOf('--set-xmark')
      if (ctx.mark !== undefined && x >= 0) {
        // The kernel's xt_MARK: mark = (mark & ~mask) ^ value.
        const [v, m] = markArg(rule[x + 1] ?? '')
        ctx.mark = ((ctx.mark & ~m) ^ v) >>> 0
      }
      continue
    }
    if (target === 'MASQUERADE') { ctx.masq = true; return 'done' }
    if (target === 'ACCEPT') { if (terminal.has(target)) return 'done'; continue }
    const probabilistic = rule.includes('--probability')
    const r = iptChain(ctx, table, target, depth + 1)
    // A rule taken with a probability does not end the caller: the next rules are the other choices.
    if (r === 'done' && !probabilistic) return 'done'
  }
  return 'return'
}

/** The rules of iptables-save text, per table and chain. */
export function iptablesTables (saveText: string): Map<string, Map<string, string[][]>> {
  const tables = new Map<string, Map<string, string[][]>>()
  for (const [name, t] of parseSave(saveText)) tables.set(name, t.rules)
  return tables
}

/** Traces a packet through iptables-save text of the nat and filter tables (kube-proxy's tracePacket). */
export function traceIptables (saveText: string, pkt: Packet, node: TraceNode): TraceResult {
  const tables = iptablesTables(saveText)
  const fromNode = isLocal(pkt.src, node)
  const ctx: IptCtx = { tables, pkt, node, masq: false, outs: [], verdict: undefined }
  iptChain(ctx, 'nat', fromNode ? 'OUTPUT' : 'PREROUTING')
  if (ctx.verdict !== undefined) return { output: ctx.verdict, masq: ctx.masq }
  if (ctx.outs.length > 0) return { output: ctx.outs.join(', '), masq: ctx.masq }
  const localDst = isLocal(pkt.dst, node)
  const filterChain = fromNode ? 'OUTPUT' : localDst ? 'INPUT' : 'FORWARD'
  ctx.verdict = undefined
  iptChain(ctx, 'filter', filterChain)
  return { output: ctx.verdict ?? '', masq: ctx.masq }
}
