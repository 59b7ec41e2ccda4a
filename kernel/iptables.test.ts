import test from 'ava'
import {
  canonicalRule, formatRule, linuxIptables, parseSave, quoteWord, renderRestore, ruleTarget, sameRule, splitWords
} from './iptables.js'
import type { CommandResult, RuleSpec } from './iptables.js'
import { fakeIptables } from './testing/iptables.js'
import type { Family } from './types.js'

// Each row: what a caller passes to `iptables`, and what iptables-save 1.8.9 (nf_tables) printed for it on this project's
// CI kernel. The `[kernel] fake iptables dumps what iptables-save prints` e2e test re-checks the portmap rows live.
const canonicalRows: Array<{ name: string, family?: Family, rule: RuleSpec, saved: string }> = [
  { name: 'host bits of a source prefix are cleared and the implicit tcp match is made explicit', rule: ['-p', 'tcp', '--dport', '8080', '-s', '10.1.0.5/24', '-j', 'CNI-HOSTPORT-SETMARK'], saved: '-s 10.1.0.0/24 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK' },
  { name: 'bare addresses become /32, source before destination', rule: ['-p', 'tcp', '--dport', '8080', '-d', '192.0.2.1', '-s', '127.0.0.1', '-j', 'CNI-HOSTPORT-SETMARK'], saved: '-s 127.0.0.1/32 -d 192.0.2.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK' },
  { name: 'DNAT target keeps its option', rule: ['-p', 'tcp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '10.1.0.5:80'], saved: '-p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.1.0.5:80' },
  { name: 'multiport long option is shortened and -p moves first', rule: ['-m', 'comment', '--comment', 'dnat name: "net1" id: "c0ffee"', '-m', 'multiport', '-p', 'tcp', '--destination-ports', '8080,8081', '-j', 'CNI-DN-abc'], saved: '-p tcp -m comment --comment "dnat name: \\"net1\\" id: \\"c0ffee\\"" -m multiport --dports 8080,8081 -j CNI-DN-abc' },
  { name: 'MARK with an explicit mask is unchanged', rule: ['-m', 'comment', '--comment', 'CNI portfwd masquerade mark', '-j', 'MARK', '--set-xmark', '0x2000/0x2000'], saved: '-m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000' },
  { name: 'mark match with mask', rule: ['-m', 'mark', '--mark', '0x2000/0x2000', '-j', 'MASQUERADE'], saved: '-m mark --mark 0x2000/0x2000 -j MASQUERADE' },
  { name: 'addrtype', rule: ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT'], saved: '-m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT' },
  { name: 'matches given after the target move before it (bridge ipMasq)', rule: ['-d', '10.1.0.0/24', '-j', 'ACCEPT', '-m', 'comment', '--comment', 'name: "n" id: "c"'], saved: '-d 10.1.0.0/24 -m comment --comment "name: \\"n\\" id: \\"c\\"" -j ACCEPT' },
  { name: 'negated destination', rule: ['!', '-d', '224.0.0.0/4', '-j', 'MASQUERADE', '-m', 'comment', '--comment', 'name: "n" id: "c"'], saved: '! -d 224.0.0.0/4 -m comment --comment "name: \\"n\\" id: \\"c\\"" -j MASQUERADE' },
  { name: '--set-mark becomes --set-xmark with a full mask', rule: ['-s', '10.0.0.1', '-j', 'MARK', '--set-mark', '0x4000'], saved: '-s 10.0.0.1/32 -j MARK --set-xmark 0x4000/0xffffffff' },
  { name: 'explicit udp match', rule: ['-p', 'udp', '-m', 'udp', '--dport', '53', '-j', 'MARK', '--set-xmark', '0x1/0x1'], saved: '-p udp -m udp --dport 53 -j MARK --set-xmark 0x1/0x1' },
  { name: 'negated match option', rule: ['-p', 'tcp', '-m', 'multiport', '--ports', '1,2', '-m', 'addrtype', '!', '--dst-type', 'LOCAL', '-j', 'RETURN'], saved: '-p tcp -m multiport --ports 1,2 -m addrtype ! --dst-type LOCAL -j RETURN' },
  { name: 'interface before protocol; target flags kept', rule: ['-p', 'tcp', '-m', 'multiport', '--source-ports', '1:3', '-i', 'eth0', '-j', 'MASQUERADE', '--to-ports', '100-200', '--random'], saved: '-i eth0 -p tcp -m multiport --sports 1:3 -j MASQUERADE --to-ports 100-200 --random' },
  { name: 'mark without mask', rule: ['-m', 'mark', '--mark', '0x2000', '-j', 'DNAT', '--to-destination', '10.0.0.1'], saved: '-m mark --mark 0x2000 -j DNAT --to-destination 10.0.0.1' },
  { name: 'decimal mark is printed in hex', rule: ['-m', 'comment', '--comment', 'X', '-p', 'tcp', '--dport', '5', '-m', 'mark', '--mark', '1', '-j', 'RETURN'], saved: '-p tcp -m comment --comment X -m tcp --dport 5 -m mark --mark 0x1 -j RETURN' },
  { name: 'implicit match stays where the port option was', rule: ['-p', 'tcp', '--dport', '5', '-m', 'comment', '--comment', 'X', '-j', 'RETURN'], saved: '-p tcp -m tcp --dport 5 -m comment --comment X -j RETURN' },
  { name: 'protocol number', rule: ['-p', '6', '--dport', '5', '-j', 'RETURN'], saved: '-p tcp -m tcp --dport 5 -j RETURN' },
  { name: 'protocol in capitals', rule: ['-p', 'TCP', '--dport', '5', '-j', 'RETURN'], saved: '-p tcp -m tcp --dport 5 -j RETURN' },
  { name: 'dotted netmask and sctp', rule: ['-s', '10.0.0.0/255.255.0.0', '-p', 'sctp', '--dport', '5', '-j', 'RETURN'], saved: '-s 10.0.0.0/16 -p sctp -m sctp --dport 5 -j RETURN' },
  { name: 'goto', rule: ['-g', 'CNI-HOSTPORT-MASQ'], saved: '-g CNI-HOSTPORT-MASQ' },
  { name: 'sport before dport, however given', rule: ['-p', 'tcp', '--dport', '5', '--sport', '1', '-j', 'RETURN'], saved: '-p tcp -m tcp --sport 1 --dport 5 -j RETURN' },
  { name: 'two tcp matches merge', rule: ['-p', 'tcp', '-m', 'tcp', '--dport', '5', '-m', 'tcp', '--sport', '1', '-j', 'RETURN'], saved: '-p tcp -m tcp --sport 1 --dport 5 -j RETURN' },
  { name: 'any-address and -p all vanish', rule: ['-s', '0.0.0.0/0', '-d', '0/0', '-p', 'all', '-j', 'RETURN'], saved: '-j RETURN' },
  { name: 'the unspecified address as a host stays', rule: ['-p', 'tcp', '--dport', '8080', '-d', '0.0.0.0', '-j', 'RETURN'], saved: '-d 0.0.0.0/32 -p tcp -m tcp --dport 8080 -j RETURN' },
  { name: 'negated source', rule: ['-p', 'udp', '--dport', '53', '!', '-s', '10.0.0.0/8', '-j', 'RETURN'], saved: '! -s 10.0.0.0/8 -p udp -m udp --dport 53 -j RETURN' },
  { name: 'a comment is cut to the 255 characters the kernel keeps', rule: ['-m', 'comment', '--comment', 'x'.repeat(256), '-j', 'RETURN'], saved: `-m comment --comment ${'x'.repeat(255)} -j RETURN` },
  { name: 'v6 prefix and bracketed DNAT destination', family: 6, rule: ['-s', 'fd00::5/64', '-p', 'tcp', '--dport', '80', '-j', 'DNAT', '--to-destination', '[fd00::5]:80'], saved: '-s fd00::/64 -p tcp -m tcp --dport 80 -j DNAT --to-destination [fd00::5]:80' },
  { name: 'v6 host becomes /128 and ::/0 vanishes', family: 6, rule: ['-s', '::1', '-d', '::/0', '-j', 'RETURN'], saved: '-s ::1/128 -j RETURN' },
  { name: 'v6 address is written in its short form', family: 6, rule: ['-s', '::/0', '-d', 'fd00:0:0::1', '-j', 'RETURN'], saved: '-d fd00::1/128 -j RETURN' }
]

for (const row of canonicalRows) {
  test(`canonical rule: ${row.name}`, (t) => {
    t.is(formatRule(canonicalRule(row.rule, row.family ?? 4)), row.saved)
  })
}

test('a canonical rule is its own canonical form', (t) => {
  for (const row of canonicalRows) {
    const c = canonicalRule(row.rule, row.family ?? 4)
    t.deepEqual(canonicalRule(c, row.family ?? 4), c, row.name)
    t.deepEqual(canonicalRule(splitWords(row.saved), row.family ?? 4), c, row.name)
  }
})

test('sameRule compares by canonical form', (t) => {
  t.true(sameRule(['-p', 'tcp', '--dport', '1', '-s', '10.0.0.9/8', '-j', 'X'], ['-s', '10.0.0.0/8', '-p', 'tcp', '-m', 'tcp', '--dport', '1', '-j', 'X'], 4))
  t.false(sameRule(['-p', 'tcp', '--dport', '1', '-j', 'X'], ['-p', 'tcp', '--dport', '2', '-j', 'X'], 4))
  t.false(sameRule(['-s', '10.0.0.1', '-j', 'X'], ['!', '-s', '10.0.0.1', '-j', 'X'], 4))
})

// What iptables-save printed for these comments.
const quoting: Array<[string, string]> = [
  ['foo', 'foo'], ['foo-bar', 'foo-bar'], ['a_b9', 'a_b9'], ['a:b', '"a:b"'], ['x=y', '"x=y"'], ['a.b_c/d', '"a.b_c/d"'],
  ['a"b', '"a\\"b"'], ["a'b", '"a\\\'b"'], ['a b', '"a b"'], ['a$b', '"a$b"'], ['a\\b', '"a\\\\b"'], ['a,b', '"a,b"'], ['', '""'], ['é', '"é"']
]

test('comments are quoted and escaped as iptables-save writes them, and read back unchanged', (t) => {
  for (const [raw, saved] of quoting) {
    t.is(quoteWord(raw), saved, raw)
    const line = formatRule(['-m', 'comment', '--comment', raw, '-j', 'RETURN'])
    t.is(line, `-m comment --comment ${saved} -j RETURN`)
    t.deepEqual(splitWords(line), ['-m', 'comment', '--comment', raw, '-j', 'RETURN'], raw)
  }
})

test('a save line with a backtick, dollar and escaped quotes splits into the original words', (t) => {
  t.deepEqual(splitWords('-A T -p udp -m comment --comment "a\\\\b $x `y` \\\'q\\\' " -j RETURN'),
    ['-A', 'T', '-p', 'udp', '-m', 'comment', '--comment', "a\\b $x `y` 'q' ", '-j', 'RETURN'])
  t.throws(() => splitWords('-A T --comment "open'))
})

const savedNat = `# Generated by iptables-save v1.8.9 (nf_tables) on Sun Nov 22 00:38:17 2026
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:CNI-DN-abc - [0:0]
:EMPTY - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-DN-abc
-A CNI-DN-abc -p tcp -m comment --comment "dnat name: \\"net1\\" id: \\"c0ffee\\"" -m multiport --dports 8080,8081 -j DNAT --to-destination 10.1.0.5:80
COMMIT
# Completed on Sun Nov 22 00:38:17 2026
`

test('parseSave reads chains, policies and rules of each table', (t) => {
  const nat = parseSave(savedNat).get('nat')
  t.truthy(nat)
  t.deepEqual(nat?.chains.map((c) => `${c.name}:${c.policy}`), ['PREROUTING:ACCEPT', 'INPUT:ACCEPT', 'OUTPUT:ACCEPT', 'POSTROUTING:ACCEPT', 'CNI-DN-abc:-', 'EMPTY:-'])
  t.deepEqual(nat?.rules.get('PREROUTING'), [['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-DN-abc']])
  t.is(nat?.rules.get('CNI-DN-abc')?.[0]?.[5], 'dnat name: "net1" id: "c0ffee"')
  t.deepEqual(nat?.rules.get('EMPTY'), [])
  t.is(ruleTarget(nat?.rules.get('PREROUTING')?.[0] ?? []), 'CNI-DN-abc')
})

test('renderRestore puts declarations first and formats rules as iptables-save does', (t) => {
  t.is(renderRestore('nat', [
    { op: 'append', chain: 'CNI-DN-x', rule: ['-p', 'tcp', '--dport', '80', '-j', 'DNAT', '--to-destination', '[fd00::5]:80'] },
    { op: 'declare', chain: 'CNI-DN-x' },
    { op: 'insert', chain: 'POSTROUTING', rule: ['-m', 'comment', '--comment', 'a b', '-j', 'X'] },
    { op: 'delete', chain: 'CNI-HOSTPORT-DNAT', rule: ['-j', 'CNI-DN-x'] },
    { op: 'flush', chain: 'CNI-DN-y' },
    { op: 'deleteChain', chain: 'CNI-DN-y' }
  ]), [
    '*nat',
    ':CNI-DN-x - [0:0]',
    '-A CNI-DN-x -p tcp --dport 80 -j DNAT --to-destination [fd00::5]:80',
    '-I POSTROUTING 1 -m comment --comment "a b" -j X',
    '-D CNI-HOSTPORT-DNAT -j CNI-DN-x',
    '-F CNI-DN-y',
    '-X CNI-DN-y',
    'COMMIT',
    ''
  ].join('\n'))
  t.throws(() => renderRestore('nat', [{ op: 'append', chain: 'X', rule: ['-m', 'comment', '--comment', 'a\nCOMMIT'] }]), { message: /line break/ })
})

test('fake: loads a saved ruleset and dumps it back without the comment lines', (t) => {
  const ipt = fakeIptables(4, savedNat)
  t.is(ipt.dump('nat'), savedNat.split('\n').filter((l) => !l.startsWith('#')).join('\n'))
  t.is(ipt.dump(), ipt.dump('nat'), 'only tables in use are dumped')
})

test('fake: primitives are idempotent and tolerant like the reference helpers', (t) => {
  const ipt = fakeIptables(4)
  ipt.ensureChain('nat', 'C')
  ipt.ensureChain('nat', 'C')
  ipt.appendUnique('nat', 'C', ['-p', 'tcp', '--dport', '1', '-j', 'RETURN'])
  ipt.appendUnique('nat', 'C', ['-p', 'tcp', '-m', 'tcp', '--dport', '1', '-j', 'RETURN'])
  ipt.appendUnique('nat', 'C', ['-p', 'tcp', '--dport', '2', '-j', 'RETURN'])
  ipt.insertUnique('nat', 'POSTROUTING', ['-j', 'C'])
  ipt.insertUnique('nat', 'POSTROUTING', ['-s', '10.0.0.1', '-j', 'C'])
  ipt.insertUnique('nat', 'POSTROUTING', ['-j', 'C'])
  t.true(ipt.ruleExists('nat', 'C', ['-p', 'tcp', '--dport', '2', '-j', 'RETURN']))
  t.false(ipt.ruleExists('nat', 'NOPE', ['-j', 'RETURN']))
  t.deepEqual(ipt.listRules('nat', 'POSTROUTING'), [['-s', '10.0.0.1/32', '-j', 'C'], ['-j', 'C']])
  t.is(ipt.dump('nat'), [
    '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ':C - [0:0]',
    '-A POSTROUTING -s 10.0.0.1/32 -j C', '-A POSTROUTING -j C',
    '-A C -p tcp -m tcp --dport 1 -j RETURN', '-A C -p tcp -m tcp --dport 2 -j RETURN', 'COMMIT', ''
  ].join('\n'))
  t.throws(() => ipt.deleteChain('nat', 'C'), { message: /not empty/ })
  ipt.flushChain('nat', 'C')
  t.throws(() => ipt.deleteChain('nat', 'C'), { message: /Too many links/ }, 'still referenced from POSTROUTING')
  ipt.deleteRule('nat', 'POSTROUTING', ['-j', 'C'])
  ipt.deleteRule('nat', 'POSTROUTING', ['-s', '10.0.0.1/32', '-j', 'C'])
  ipt.deleteRule('nat', 'POSTROUTING', ['-j', 'C']) // gone: no error
  ipt.deleteChain('nat', 'C')
  ipt.deleteChain('nat', 'C') // gone: no error
  ipt.flushChain('nat', 'C') // gone: no error
  t.false(ipt.chainExists('nat', 'C'))
  t.throws(() => ipt.appendUnique('nat', 'C', ['-j', 'RETURN']), { message: /No chain/ })
  t.throws(() => ipt.appendUnique('nat', 'POSTROUTING', ['-j', 'MISSING']), { message: /load target/ })
})

test('fake: a restore transaction applies all or nothing, and declaring an existing chain empties it', (t) => {
  const ipt = fakeIptables(4, savedNat)
  const before = ipt.dump()
  t.throws(() => ipt.restore(renderRestore('nat', [
    { op: 'declare', chain: 'CNI-DN-abc' },
    { op: 'delete', chain: 'PREROUTING', rule: ['-j', 'NOT-THERE'] }
  ])), { message: /line 3 failed: .*Bad rule/ })
  t.is(ipt.dump(), before, 'nothing of the failed transaction is applied')
  ipt.restore(renderRestore('nat', [
    { op: 'declare', chain: 'CNI-DN-abc' },
    { op: 'append', chain: 'CNI-DN-abc', rule: ['-j', 'RETURN'] }
  ]))
  t.deepEqual(ipt.listRules('nat', 'CNI-DN-abc'), [['-j', 'RETURN']])
  t.throws(() => ipt.restore('*nat\n-X CNI-DN-abc\nCOMMIT\n'), { message: /not empty/ })
  t.throws(() => ipt.restore('*nat\n-A EMPTY -j RETURN\n'), { message: /COMMIT expected/ })
})

test('fake: failOn and unusable make calls fail as the tool would', (t) => {
  const ipt = fakeIptables(6)
  ipt.failOn = (c) => c === 'restore'
  t.throws(() => ipt.restore('*nat\nCOMMIT\n'), { message: /injected/ })
  ipt.failOn = undefined
  ipt.unusable = true
  t.throws(() => ipt.save('nat'), { message: /ip6tables/ })
  t.deepEqual(ipt.calls, ['restore', 'save nat'])
})

test('linuxIptables runs the system binaries with -w and reads "does not exist" as tolerable', (t) => {
  const seen: string[] = []
  const replies: CommandResult[] = [
    { status: 1, stdout: '', stderr: 'iptables: Chain already exists.\n' }, // -N
    { status: 1, stdout: '', stderr: 'iptables: Bad rule (does a matching rule exist in that chain?).\n' }, // -C
    { status: 0, stdout: '', stderr: '' }, // -A
    { status: 1, stdout: '', stderr: 'iptables: No chain/target/match by that name.\n' }, // -X
    { status: 1, stdout: '', stderr: 'iptables: Too many links.\n' }, // -X
    { status: 0, stdout: '*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n', stderr: '' }, // save
    { status: 2, stdout: '', stderr: 'iptables-restore: line 2 failed\n' } // restore
  ]
  const ipt = linuxIptables(4, {
    run: (file, args, input) => {
      seen.push([file, ...args].join(' ') + (input !== undefined ? ` <<${input.length}` : ''))
      return replies.shift() ?? { status: 0, stdout: '', stderr: '' }
    }
  })
  ipt.ensureChain('nat', 'C')
  ipt.appendUnique('nat', 'C', ['-j', 'RETURN'])
  ipt.deleteChain('nat', 'C')
  t.throws(() => ipt.deleteChain('nat', 'C'), { message: /Too many links/ })
  t.deepEqual(ipt.listChains('nat'), ['PREROUTING'])
  t.throws(() => ipt.restore('*nat\nCOMMIT\n'), { message: /line 2 failed/ })
  t.deepEqual(seen.map((s) => s.replace(/^\S*\/(ip)/, '$1')), [
    'iptables -w -t nat -N C',
    'iptables -w -t nat -C C -j RETURN',
    'iptables -w -t nat -A C -j RETURN',
    'iptables -w -t nat -X C',
    'iptables -w -t nat -X C',
    'iptables-save -t nat',
    'iptables-restore -w --noflush <<12'
  ])
  t.true(seen.every((s) => s.startsWith('/')), 'absolute paths, never a PATH lookup')
})
