/**
 * Fakes for IPVS mode's kernel interfaces, holding state and dumping it as
 * text (STYLE.md 7): `fakeIpvs` (virtual and real servers, the kernel's
 * ENOENT/EEXIST refusals) and `fakeIpset` (sets and entries, `ipset
 * restore` applied line by line as ipset does, with `-exist`).
 */
import { ProxyError } from '../../tracker/index.js'
import type { IpvsDest, IpvsService, IpvsTimeouts } from '../codec.js'
import { SVC_F_PERSISTENT } from '../codec.js'
import type { Ipset } from '../ipset.js'
import { normalEntry } from '../ipset.js'
import type { Ipvs } from '../proxier.js'
import { vsKey } from '../render.js'

const hostPort = (a: string, p: number): string => a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`

export interface FakeIpvs extends Ipvs {
  /** `ipvsadm -Ln`-like, sorted: `vs tcp 172.30.0.41:80 rr [persistent 10800]` then `  -> 10.180.0.1:80 masq weight 1 active 0 inactive 0`. */
  dump (): string
  /** Every call, e.g. `add tcp/172.30.0.41/80`, `set tcp/172.30.0.41/80 -> 10.180.0.2:80 w0`. */
  readonly calls: string[]
  /** Sets the connection counters of a real server (what traffic would do). */
  setConns (s: Pick<IpvsService, 'protocol' | 'address' | 'port'>, dest: string, active: number, inactive?: number): void
  timeouts: IpvsTimeouts
}

class FakeKernelError extends Error {
  constructor (what: string, readonly errno: number, name: string) { super(`${what}: ${name}`) }
}

export function fakeIpvs (): FakeIpvs {
  const table = new Map<string, { s: IpvsService, d: Map<string, IpvsDest> }>()
  const calls: string[] = []
  const dk = (d: IpvsDest): string => hostPort(d.address, d.port)
  const get = (s: Pick<IpvsService, 'protocol' | 'address' | 'port'>, what: string): { s: IpvsService, d: Map<string, IpvsDest> } => {
    const e = table.get(vsKey(s))
    if (e === undefined) throw new FakeKernelError(what, 3, 'ESRCH') // the kernel's answer for a missing service
    return e
  }
  const self: FakeIpvs = {
    calls,
    timeouts: { tcp: 900, tcpFin: 120, udp: 300 },
    services: () => [...table.values()].map((e) => ({ ...e.s })),
    addService (s) {
      calls.push(`add ${vsKey(s)}`)
      if (table.has(vsKey(s))) throw new FakeKernelError(`ipvs add service ${vsKey(s)}`, 17, 'EEXIST')
      table.set(vsKey(s), { s: { ...s }, d: new Map() })
    },
    updateService (s) { calls.push(`set ${vsKey(s)}`); get(s, `ipvs update service ${vsKey(s)}`).s = { ...s } },
    deleteService (s) { calls.push(`del ${vsKey(s)}`); get(s, `ipvs delete service ${vsKey(s)}`); table.delete(vsKey(s)) },
    dests: (s) => [...get(s, `ipvs list destinations of ${vsKey(s)}`).d.values()].map((d) => ({ ...d })),
    addDest (s, d) {
      calls.push(`add ${vsKey(s)} -> ${dk(d)}`)
      const e = get(s, `ipvs add destination to ${vsKey(s)}`)
      if (e.d.has(dk(d))) throw new FakeKernelError(`ipvs add destination ${dk(d)}`, 17, 'EEXIST')
      e.d.set(dk(d), { ...d, activeConns: 0, inactConns: 0 })
    },
    updateDest (s, d) {
      calls.push(`set ${vsKey(s)} -> ${dk(d)} w${d.weight}`)
      const e = get(s, `ipvs update destination of ${vsKey(s)}`).d.get(dk(d))
      if (e === undefined) throw new FakeKernelError(`ipvs update destination ${dk(d)}`, 2, 'ENOENT')
      e.weight = d.weight
    },
    deleteDest (s, d) {
      calls.push(`del ${vsKey(s)} -> ${dk(d)}`)
      if (!get(s, `ipvs delete destination of ${vsKey(s)}`).d.delete(dk(d))) throw new FakeKernelError(`ipvs delete destination ${dk(d)}`, 2, 'ENOENT')
    },
    setTimeouts (t) {
      calls.push(`timeouts ${t.tcp} ${t.tcpFin} ${t.udp}`)
      if (t.tcp > 0) self.timeouts.tcp = t.tcp
      if (t.tcpFin > 0) self.timeouts.tcpFin = t.tcpFin
      if (t.udp > 0) self.timeouts.udp = t.udp
    },
    setConns (s, dest, active, inactive = 0) {
      const d = get(s, 'setConns').d.get(dest)
      if (d === undefined) throw new Error(`no destination ${dest} in ${vsKey(s)}`)
      d.activeConns = active
      d.inactConns = inactive
    },
    dump () {
      const lines: string[] = []
      for (const key of [...table.keys()].sort()) {
        const { s, d } = table.get(key) as { s: IpvsService, d: Map<string, IpvsDest> }
        lines.push(`vs ${s.protocol} ${hostPort(s.address, s.port)} ${s.scheduler}${(s.flags & SVC_F_PERSISTENT) !== 0 ? ` persistent ${s.timeout}` : ''}`)
        for (const k of [...d.keys()].sort()) {
          const x = d.get(k) as IpvsDest
          lines.push(`  -> ${k} masq weight ${x.weight} active ${x.activeConns} inactive ${x.inactConns}`)
        }
      }
      return lines.length === 0 ? '' : lines.join('\n') + '\n'
    }
  }
  return self
}

export interface FakeIpset extends Ipset {
  /** `ipset save`-like, sorted, without hash parameters: `create NAME TYPE` then `add NAME ENTRY`. */
  dump (): string
  /** Every restore script applied. */
  readonly scripts: string[]
  /** When it returns true for a script, the restore fails as a refused one would (nothing applied). */
  failOn: ((script: string) => boolean) | undefined
}

/** An in-memory ipset; `restore` is all-or-nothing here (the tool stops at the first bad line; the proxier retries in full either way). */
export function fakeIpset (): FakeIpset {
  let sets = new Map<string, { type: string, opts: string, entries: Set<string> }>()
  const scripts: string[] = []
  const self: FakeIpset = {
    scripts,
    failOn: undefined,
    save () {
      const lines: string[] = []
      for (const [name, s] of sets) {
        lines.push(`create ${name} ${s.type} ${s.opts}`.trimEnd())
        for (const e of s.entries) lines.push(`add ${name} ${e}`)
      }
      return lines.join('\n') + (lines.length > 0 ? '\n' : '')
    },
    restore (script) {
      if (script === '') return
      scripts.push(script)
      if (self.failOn?.(script) === true) throw new ProxyError('PROXY_ERR_SYNC', 'ipset -exist restore: refused (fake)')
      const next = new Map([...sets].map(([n, s]) => [n, { ...s, entries: new Set(s.entries) }]))
      let n = 0
      for (const line of script.split('\n')) {
        n++
        const w = line.trim().split(/\s+/)
        if (w[0] === '' || w[0] === undefined) continue
        const name = w[1] ?? ''
        const fail = (why: string): never => { throw new ProxyError('PROXY_ERR_SYNC', `ipset -exist restore: Error in line ${n}: ${why}`) }
        const set = next.get(name)
        switch (w[0]) {
          case 'create':
            if (set !== undefined) { if (set.type !== w[2]) fail(`Set cannot be created: set with the same name already exists`); break }
            next.set(name, { type: w[2] ?? '', opts: w.slice(3).join(' '), entries: new Set() })
            break
          case 'add': if (set === undefined) fail(`The set with the given name does not exist`); else set.entries.add(normalEntry(w[2] ?? '')); break
          case 'del': if (set === undefined) fail(`The set with the given name does not exist`); else set.entries.delete(normalEntry(w[2] ?? '')); break
          case 'flush': if (set !== undefined) set.entries.clear(); break
          case 'destroy': if (set === undefined) fail(`The set with the given name does not exist`); else next.delete(name); break
          default: fail(`unknown command ${w[0]}`)
        }
      }
      sets = next
    },
    dump () {
      const lines: string[] = []
      for (const name of [...sets.keys()].sort()) {
        const s = sets.get(name) as { type: string, entries: Set<string> }
        lines.push(`create ${name} ${s.type}`)
        for (const e of [...s.entries].sort()) lines.push(`add ${name} ${e}`)
      }
      return lines.length === 0 ? '' : lines.join('\n') + '\n'
    }
  }
  return self
}
