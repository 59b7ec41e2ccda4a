/**
 * An in-memory nftables for the proxy's scripts: tables, chains with rules,
 * sets and verdict maps with elements. Unlike `kernel/testing`'s fake (rules
 * only), it models what kube-proxy's layout needs, with the kernel's
 * refusals Weft could meet: a rule or element naming a missing chain or set
 * (ENOENT), an element key already mapped to another verdict (EEXIST),
 * deleting a chain or set something still refers to (EBUSY). A script
 * applies atomically. `dump()` prints the table as sorted `add` commands
 * (like knftables' fake), so golden tests do not depend on object order.
 */
import { NftablesError } from '../../kernel/index.js'
import type { NftFamily, Nftables } from '../../kernel/index.js'

export interface NftTableState {
  chains: Map<string, { base: string | undefined, rules: string[] }>
  sets: Map<string, { kind: 'set' | 'map', body: string, elements: Map<string, string> }>
  comment: string | undefined
}

export interface FakeProxyNft extends Nftables {
  /** The table, or undefined. */
  table (family: NftFamily, name: string): NftTableState | undefined
  /** Sorted `add` commands recreating the table ('' when absent). */
  dump (family: NftFamily, name: string): string
  /** Scripts applied, in order. */
  readonly scripts: string[]
  /** When set and returning true for a script, apply fails (and changes nothing). */
  failOn: ((script: string) => boolean) | undefined
}

type State = Map<string, NftTableState>

const cloneState = (s: State): State => {
  const out: State = new Map()
  for (const [k, t] of s) {
    out.set(k, {
      comment: t.comment,
      chains: new Map([...t.chains].map(([n, c]) => [n, { base: c.base, rules: [...c.rules] }])),
      sets: new Map([...t.sets].map(([n, v]) => [n, { kind: v.kind, body: v.body, elements: new Map(v.elements) }]))
    })
  }
  return out
}

const fail = (line: string, why: string, errno: string): never => {
  throw new NftablesError('nft -f -', `Error: Could not process rule: ${errno}\n${line}\n${why}`)
}

/** Chains a rule or verdict refers to. */
const chainRefs = (text: string): string[] => [...text.matchAll(/\b(?:jump|goto) (\S+?)(?=[,\s}]|$)/g)].map((m) => m[1] as string)
const setRefs = (text: string): string[] => [...text.matchAll(/@(\S+?)(?=[\s,}]|$)/g)].map((m) => m[1] as string)

export function fakeProxyNft (): FakeProxyNft {
  let state: State = new Map()
  const scripts: string[] = []

  const refsTo = (t: NftTableState, pred: (chainRefs: string[], setRefs: string[]) => boolean): boolean => {
    for (const c of t.chains.values()) for (const r of c.rules) if (pred(chainRefs(r), setRefs(r))) return true
    for (const s of t.sets.values()) for (const v of s.elements.values()) if (pred(chainRefs(v), [])) return true
    return false
  }

  const exec = (s: State, line: string): void => {
    const m = /^(add|delete|flush) (table|chain|rule|set|map|element) (ip6?|inet) (\S+)(?: (.*))?$/.exec(line)
    if (m === null) return fail(line, 'unsupported command', 'Operation not supported')
    const [, verb, obj, family, tname, rest = ''] = m as unknown as [string, string, string, string, string, string | undefined]
    const tkey = `${family} ${tname}`
    if (obj === 'table') {
      if (verb === 'add') {
        if (!s.has(tkey)) s.set(tkey, { chains: new Map(), sets: new Map(), comment: /comment "([^"]*)"/.exec(rest)?.[1] })
      } else if (verb === 'delete') {
        if (!s.delete(tkey)) fail(line, 'no such table', 'No such file or directory')
      } else {
        const t = s.get(tkey) ?? fail(line, 'no such table', 'No such file or directory')
        for (const c of t.chains.values()) c.rules = []
        for (const set of t.sets.values()) set.elements.clear()
      }
      return
    }
    const t = s.get(tkey) ?? fail(line, 'no such table', 'No such file or directory')
    if (obj === 'chain') {
      const [name = '', ...body] = rest.split(' ')
      const c = t.chains.get(name)
      if (verb === 'add') {
        const b = body.join(' ').replace(/^\{\s*|\s*\}$/g, '').trim()
        if (c === undefined) t.chains.set(name, { base: b === '' ? undefined : b, rules: [] })
        return
      }
      if (c === undefined) return fail(line, 'no such chain', 'No such file or directory')
      if (verb === 'flush') { c.rules = []; return }
      if (c.rules.length > 0 || refsTo(t, (cr) => cr.includes(name))) return fail(line, 'chain in use', 'Device or resource busy')
      t.chains.delete(name)
      return
    }
    if (obj === 'rule') {
      const sp = rest.indexOf(' ')
      const chain = rest.slice(0, sp)
      const text = rest.slice(sp + 1).trim()
      const c = t.chains.get(chain) ?? fail(line, 'no such chain', 'No such file or directory')
      for (const r of chainRefs(text)) if (!t.chains.has(r)) fail(line, `no chain ${r}`, 'No such file or directory')
      for (const r of setRefs(text)) if (!t.sets.has(r)) fail(line, `no set ${r}`, 'No such file or directory')
      c.rules.push(text)
      return
    }
    if (obj === 'set' || obj === 'map') {
      const [name = '', ...body] = rest.split(' ')
      if (verb === 'add') {
        if (!t.sets.has(name)) t.sets.set(name, { kind: obj, body: body.join(' '), elements: new Map() })
        return
      }
      const set = t.sets.get(name) ?? fail(line, 'no such set', 'No such file or directory')
      if (verb === 'flush') { set.elements.clear(); return }
      if (refsTo(t, (_cr, sr) => sr.includes(name))) return fail(line, 'set in use', 'Device or resource busy')
      t.sets.delete(name)
      return
    }
    // element
    const em = /^(\S+) \{ (.*) \}$/.exec(rest) ?? fail(line, 'bad element', 'Invalid argument')
    const set = t.sets.get(em[1] as string) ?? fail(line, 'no such set', 'No such file or directory')
    // One element or several (`{ a, b : goto c }`): no key or verdict we write holds ", ".
    for (const item of (em[2] as string).split(', ')) {
      const colon = item.indexOf(' : ')
      const key = colon < 0 ? item : item.slice(0, colon)
      const value = colon < 0 ? '' : item.slice(colon + 3)
      if (verb === 'add') {
        for (const r of chainRefs(value)) if (!t.chains.has(r)) fail(line, `no chain ${r}`, 'No such file or directory')
        const prev = set.elements.get(key)
        if (prev !== undefined && prev !== value) fail(line, 'element exists', 'File exists')
        set.elements.set(key, value)
      } else if (verb === 'delete') {
        if (!set.elements.delete(key)) fail(line, 'no such element', 'No such file or directory')
      } else fail(line, 'unsupported', 'Operation not supported')
    }
  }

  const self: FakeProxyNft = {
    scripts,
    failOn: undefined,
    apply (script) {
      scripts.push(script)
      if (self.failOn?.(script) === true) throw new NftablesError('nft -f -', 'Error: Could not process rule: Operation not permitted')
      const next = cloneState(state)
      for (const raw of script.split('\n')) {
        const line = raw.trim()
        if (line === '' || line.startsWith('#')) continue
        exec(next, line)
      }
      state = next
    },
    listTable (family, name) {
      return state.has(`${family} ${name}`) ? self.dump(family, name) : undefined
    },
    deleteTable (family, name) { state.delete(`${family} ${name}`) },
    table (family, name) { return state.get(`${family} ${name}`) },
    dump (family, name) {
      const t = state.get(`${family} ${name}`)
      if (t === undefined) return ''
      const p = `${family} ${name}`
      const lines = [`add table ${p}${t.comment !== undefined ? ` { comment "${t.comment}" ; }` : ''}`]
      for (const n of [...t.chains.keys()].sort()) {
        const c = t.chains.get(n)!
        lines.push(`add chain ${p} ${n}${c.base !== undefined ? ` { ${c.base} }` : ''}`)
      }
      for (const n of [...t.sets.keys()].sort()) { const v = t.sets.get(n)!; lines.push(`add ${v.kind} ${p} ${n} ${v.body}`) }
      for (const n of [...t.chains.keys()].sort()) for (const r of t.chains.get(n)!.rules) lines.push(`add rule ${p} ${n} ${r}`)
      for (const n of [...t.sets.keys()].sort()) {
        const v = t.sets.get(n)!
        for (const k of [...v.elements.keys()].sort()) {
          const val = v.elements.get(k)!
          lines.push(`add element ${p} ${n} { ${val === '' ? k : `${k} : ${val}`} }`)
        }
      }
      return lines.join('\n') + '\n'
    }
  }
  return self
}
