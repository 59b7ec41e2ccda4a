/**
 * kernel/iptables.ts against the kernel: `linuxIptables` run inside a
 * sandbox's node namespace (commands fork from the calling thread, so
 * `NetNS.run` puts them there) and the fake from kernel/testing get the same
 * operations; after each one both must save the same text, and both must
 * fail or tolerate the same things.
 */
import test from 'ava'
import { sandbox, requireRoot } from '../harness/index.js'
import { LinuxNetNS } from '../../kernel/index.js'
import { linuxIptables, renderRestore } from '../../kernel/index.js'
import type { Iptables } from '../../kernel/index.js'
import { fakeIptables } from '../../kernel/testing/index.js'
import type { Family } from '../../kernel/index.js'

const netns = new LinuxNetNS()

/** The save output without the `#` lines. */
const clean = (text: string): string => text.split('\n').filter((l) => !l.startsWith('#')).join('\n').trimEnd() + '\n'

type Step = [string, (ipt: Iptables) => unknown]

const steps = (family: Family): Step[] => {
  const net = family === 4 ? '10.1.0.0/24' : 'fd00:1::/64'
  const host = family === 4 ? '10.1.0.5' : 'fd00:1::5'
  const multicast = family === 4 ? '224.0.0.0/4' : 'ff00::/8'
  const comment = 'name: "net1" id: "c0ffee"'
  return [
    ['ensureChain', (i) => i.ensureChain('nat', 'CNI-abc')],
    ['ensureChain again', (i) => i.ensureChain('nat', 'CNI-abc')],
    ['appendUnique (bridge ipMasq ACCEPT)', (i) => i.appendUnique('nat', 'CNI-abc', ['-d', net, '-j', 'ACCEPT', '-m', 'comment', '--comment', comment])],
    ['appendUnique (bridge ipMasq MASQUERADE)', (i) => i.appendUnique('nat', 'CNI-abc', ['!', '-d', multicast, '-j', 'MASQUERADE', '-m', 'comment', '--comment', comment])],
    ['appendUnique of an equal rule written differently', (i) => i.appendUnique('nat', 'CNI-abc', ['-m', 'comment', '--comment', comment, '-d', `${host}/${family === 4 ? 24 : 64}`, '-j', 'ACCEPT'])],
    ['appendUnique into POSTROUTING', (i) => i.appendUnique('nat', 'POSTROUTING', ['-s', host, '-j', 'CNI-abc', '-m', 'comment', '--comment', comment])],
    ['insertUnique first', (i) => i.insertUnique('nat', 'POSTROUTING', ['-m', 'mark', '--mark', '0x2000/0x2000', '-j', 'MASQUERADE'])],
    ['ruleExists (canonical)', (i) => i.ruleExists('nat', 'CNI-abc', ['-d', net, '-m', 'comment', '--comment', comment, '-j', 'ACCEPT'])],
    ['ruleExists (absent)', (i) => i.ruleExists('nat', 'CNI-abc', ['-d', net, '-j', 'RETURN'])],
    ['ruleExists (no chain)', (i) => i.ruleExists('nat', 'CNI-none', ['-j', 'RETURN'])],
    ['listRules', (i) => i.listRules('nat', 'CNI-abc')],
    ['listChains', (i) => i.listChains('nat')],
    ['deleteChain of a referenced, non-empty chain fails', (i) => i.deleteChain('nat', 'CNI-abc')],
    ['restore: declare empties an existing chain and refills it', (i) => i.restore(renderRestore('nat', [
      { op: 'declare', chain: 'CNI-abc' },
      { op: 'append', chain: 'CNI-abc', rule: ['-d', net, '-j', 'ACCEPT', '-m', 'comment', '--comment', comment] }
    ]))],
    ['restore that fails half-way changes nothing', (i) => i.restore(renderRestore('nat', [
      { op: 'append', chain: 'CNI-abc', rule: ['-j', 'RETURN'] },
      { op: 'delete', chain: 'POSTROUTING', rule: ['-j', 'CNI-none-such'] }
    ]))],
    ['deleteRule', (i) => i.deleteRule('nat', 'POSTROUTING', ['-s', host, '-j', 'CNI-abc', '-m', 'comment', '--comment', comment])],
    ['deleteRule again (tolerated)', (i) => i.deleteRule('nat', 'POSTROUTING', ['-s', host, '-j', 'CNI-abc', '-m', 'comment', '--comment', comment])],
    ['deleteRule in a missing chain (tolerated)', (i) => i.deleteRule('nat', 'CNI-none', ['-j', 'RETURN'])],
    ['flushChain', (i) => i.flushChain('nat', 'CNI-abc')],
    ['flushChain of a missing chain (tolerated)', (i) => i.flushChain('nat', 'CNI-none')],
    ['deleteChain', (i) => i.deleteChain('nat', 'CNI-abc')],
    ['deleteChain again (tolerated)', (i) => i.deleteChain('nat', 'CNI-abc')],
    ['appendUnique into a missing chain fails', (i) => i.appendUnique('nat', 'CNI-abc', ['-j', 'RETURN'])]
  ]
}

for (const family of [4, 6] as const) {
  test(`[kernel] linuxIptables and the fake agree step by step (IPv${family})`, (t) => {
    requireRoot()
    const sb = sandbox(t, `ip${family}`)
    const node = sb.node
    const real = linuxIptables(family)
    const fake = fakeIptables(family)
    const attempt = (f: () => unknown): { ok: true, value: unknown } | { ok: false } => {
      try { return { ok: true, value: f() } } catch { return { ok: false } }
    }
    for (const [name, op] of steps(family)) {
      const r = netns.run(node, () => attempt(() => op(real)))
      const f = attempt(() => op(fake))
      t.deepEqual(f, r, `${name}: same outcome`)
      const saved = netns.run(node, () => clean(real.save('nat')))
      t.is(fake.dump('nat'), saved, `${name}: same table`)
    }
  })
}

test('[kernel] linuxIptables.save fails for a table the kernel does not have, which DEL reads as "family unusable"', (t) => {
  requireRoot()
  const sb = sandbox(t, 'ipx')
  t.throws(() => netns.run(sb.node, () => linuxIptables(4).save('nosuchtable' as 'nat')))
})
