/**
 * kernel/nftables.ts without root: the listing parser on text nft 1.0.6
 * printed, the Linux implementation's commands and error handling through a
 * recording runner, and the fake. e2e/routing/masq.test.ts holds the fake to
 * the real nft for the scripts the overlay agent writes.
 */
import test from 'ava'
import { KernelError, NftablesError, linuxNftables, nftChainBody, nftString, parseNftRuleset, parseNftTable } from './index.js'
import type { CommandResult } from './index.js'
import { canonicalNftRule, fakeNftables } from './testing/index.js'

// `nft list ruleset` of a namespace holding an iptables-nft table, a table with comments, a set and a wrapped anonymous set.
const listed = `table ip nat {
	chain FLANNEL-POSTRTG {
		meta mark & 0x00004000 == 0x00004000  counter packets 0 bytes 0 return
	}

	chain POSTROUTING {
		type nat hook postrouting priority srcnat; policy accept;
		 counter packets 0 bytes 0 jump FLANNEL-POSTRTG
	}
}
table ip flannel-ipv4 { # handle 7
	comment "rules for flannel-ipv4"
	set allowed {
		type ipv4_addr
		elements = { 10.0.0.1, 10.0.0.2 }
	}

	chain postrtg { # handle 1
		comment "chain to manage traffic masquerading by flannel"
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 10.244.1.0/24 ip daddr 10.244.0.0/16 return # handle 3
		tcp dport { 22, 80,
			     443 } accept comment "a  b"
	}
}
`

test('parseNftRuleset reads tables, comments, base chains and rules; skips sets; joins wrapped rules', (t) => {
  const tables = parseNftRuleset(listed)
  t.deepEqual(tables.map((x) => `${x.family} ${x.name}`), ['ip nat', 'ip flannel-ipv4'])
  const nat = tables[0]
  t.deepEqual(nat?.chains.map((c) => [c.name, c.base, c.rules]), [
    ['FLANNEL-POSTRTG', undefined, ['meta mark & 0x00004000 == 0x00004000 counter packets 0 bytes 0 return']],
    ['POSTROUTING', 'type nat hook postrouting priority srcnat; policy accept;', ['counter packets 0 bytes 0 jump FLANNEL-POSTRTG']]
  ])
  const f = tables[1]
  t.is(f?.comment, 'rules for flannel-ipv4')
  t.deepEqual(f?.chains, [{
    name: 'postrtg',
    comment: 'chain to manage traffic masquerading by flannel',
    base: 'type nat hook postrouting priority srcnat; policy accept;',
    rules: ['ip saddr 10.244.1.0/24 ip daddr 10.244.0.0/16 return', 'tcp dport { 22, 80, 443 } accept comment "a  b"']
  }])
  t.is(parseNftTable(''), undefined)
})

test('nftString quotes, and refuses what nft cannot quote', (t) => {
  t.is(nftString('rules for flannel-ipv4'), '"rules for flannel-ipv4"')
  t.throws(() => nftString('a"b'), { instanceOf: KernelError })
  t.throws(() => nftString('a\nb'), { instanceOf: KernelError })
  t.is(nftChainBody({ type: 'nat', hook: 'postrouting', priority: 'srcnat' }, 'c'), ' { type nat hook postrouting priority srcnat ; policy accept ; comment "c" ; }')
  t.is(nftChainBody(undefined), '')
})

function recorder (answers: Array<Partial<CommandResult>>): { calls: Array<{ file: string, args: readonly string[], input: string | undefined }>, run: (file: string, args: readonly string[], input?: string) => CommandResult } {
  const calls: Array<{ file: string, args: readonly string[], input: string | undefined }> = []
  return {
    calls,
    run: (file, args, input) => {
      calls.push({ file, args, input })
      return { status: 0, stdout: '', stderr: '', ...answers.shift() }
    }
  }
}

test('linuxNftables runs the system nft by absolute path: -f - with the script on stdin, list, delete', (t) => {
  const r = recorder([{}, { stdout: 'table ip t {\n}\n' }, {}])
  const nft = linuxNftables({ run: r.run })
  nft.apply('add table ip t\n')
  t.is(nft.listTable('ip', 't'), 'table ip t {\n}\n')
  nft.deleteTable('ip', 't')
  t.true(r.calls.every((c) => c.file.startsWith('/') && c.file.endsWith('/nft')), 'never the npm `nft` on PATH')
  t.deepEqual(r.calls.map((c) => [c.args, c.input]), [
    [['-f', '-'], 'add table ip t\n'],
    [['list', 'table', 'ip', 't'], undefined],
    [['delete', 'table', 'ip', 't'], undefined]
  ])
})

test('linuxNftables: a missing table is undefined to list and fine to delete; other failures throw', (t) => {
  const enoent = { status: 1, stderr: 'Error: No such file or directory\nlist table ip nope\n              ^^^^\n' }
  const r = recorder([enoent, { ...enoent, stderr: 'Error: Could not process rule: No such file or directory\n' }, { status: 1, stderr: 'Error: Could not process rule: Operation not supported\n' }, { status: 1, stderr: '/dev/stdin:1:1-3: Error: syntax error, unexpected junk\n' }])
  const nft = linuxNftables({ run: r.run })
  t.is(nft.listTable('ip', 'nope'), undefined)
  t.notThrows(() => nft.deleteTable('ip', 'nope'))
  const e = t.throws(() => nft.listTable('ip', 'x'))
  t.true(e instanceof NftablesError)
  t.is((e as NftablesError).errno, 95)
  t.false((e as NftablesError).notExist)
  t.throws(() => nft.apply('junk\n'), { instanceOf: KernelError, message: /syntax error/ })
})

test('fake: a script applies as nft prints it back, chains in creation order with a blank line between', (t) => {
  const nft = fakeNftables()
  nft.apply([
    '# a comment line',
    'add table ip t { comment "hello" ; }',
    'add chain ip t a { type filter hook forward priority 10 ; }',
    'add chain ip t b { type nat hook postrouting priority srcnat + 5 ; policy accept ; comment "bee" ; }',
    'add chain ip t c { type filter hook input priority -300 ; policy drop ; }',
    'add chain ip t d',
    'add rule ip t d ip saddr 10.1.1.1/24 ip daddr 10.0.0.1/32 meta mark & 0x4000 == 0x4000 counter accept',
    'add rule ip t a ip saddr == 10.1.1.1 jump d',
    'insert rule ip t a ip6 saddr FD00:0::1/64 accept',
    'add table ip6 u',
    ''
  ].join('\n'))
  t.is(nft.dump(), `table ip t {
	comment "hello"
	chain a {
		type filter hook forward priority filter + 10; policy accept;
		ip6 saddr fd00::/64 accept
		ip saddr 10.1.1.1 jump d
	}

	chain b {
		comment "bee"
		type nat hook postrouting priority srcnat + 5; policy accept;
	}

	chain c {
		type filter hook input priority raw; policy drop;
	}

	chain d {
		ip saddr 10.1.1.0/24 ip daddr 10.0.0.1 meta mark & 0x00004000 == 0x00004000 counter packets 0 bytes 0 accept
	}
}
table ip6 u {
}
`)
  t.is(nft.listTable('ip6', 'u'), 'table ip6 u {\n}\n')
  t.is(nft.listTable('ip', 'nope'), undefined)
})

test('fake: a failing command fails the whole script and names its line', (t) => {
  const nft = fakeNftables()
  nft.apply('add table ip t\n')
  const before = nft.dump()
  const cases: Array<[string, RegExp]> = [
    ['add chain ip t x\ndelete table ip nope\n', /stdin:2: .*No such file or directory/],
    ['add rule ip t nochain accept\n', /No such file or directory/],
    ['create table ip t\n', /File exists/],
    ['add chain ip t x { type nat hook postrouting priority srcnat ; }\nadd chain ip t x { type filter hook forward priority 0 ; }\n', /Operation not supported/],
    ['add chain ip t f { type filter hook forward priority 0 ; }\nadd rule ip t f masquerade\n', /Operation not supported/],
    ['add chain ip t x\nadd chain ip t y\nadd rule ip t y jump x\ndelete chain ip t x\n', /Device or resource busy/],
    ['add chain ip t x { type filter hook forward priority 0 ; }\nadd chain ip t y\nadd rule ip t y jump x\n', /Operation not supported/],
    ['list ruleset\n', /syntax error/],
    ['add table ip t { comment "open ; }\n', /unterminated/]
  ]
  for (const [script, re] of cases) {
    const e = t.throws(() => nft.apply(script), { message: re }, script)
    t.true(e instanceof NftablesError, script)
    t.is(nft.dump(), before, `${script}: nothing applied`)
  }
})

test('fake: re-adding a table or chain is a no-op that ignores a new comment, as nft does', (t) => {
  const nft = fakeNftables()
  nft.apply('add table ip t\nadd chain ip t c { type nat hook postrouting priority 100 ; }\n')
  nft.apply('add table ip t { comment "late" ; }\nadd chain ip t c { type nat hook postrouting priority srcnat ; policy accept ; comment "late" ; }\n')
  t.is(nft.dump(), 'table ip t {\n\tchain c {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t}\n}\n')
})

test('fake: handles as nft -a prints them; delete rule by handle; deleteTable is tolerant', (t) => {
  const nft = fakeNftables()
  nft.apply('add table ip t\nadd chain ip t c\nadd rule ip t c accept\nadd rule ip t c drop\n')
  t.is(nft.dump({ handles: true }), 'table ip t { # handle 1\n\tchain c { # handle 1\n\t\taccept # handle 2\n\t\tdrop # handle 3\n\t}\n}\n')
  nft.apply('delete rule ip t c handle 2\n')
  t.throws(() => nft.apply('delete rule ip t c handle 2\n'), { message: /No such file/ })
  t.is(nft.dump(), 'table ip t {\n\tchain c {\n\t\tdrop\n\t}\n}\n')
  nft.apply('flush table ip t\n')
  t.is(nft.dump(), 'table ip t {\n\tchain c {\n\t}\n}\n')
  nft.deleteTable('ip', 't')
  nft.deleteTable('ip', 't')
  t.is(nft.dump(), '')
  t.deepEqual(nft.calls.slice(-2), ['delete table ip t', 'delete table ip t'])
})

test('fake: failOn and unusable fail as nft would', (t) => {
  const nft = fakeNftables()
  nft.failOn = (c) => c.startsWith('list')
  t.throws(() => nft.listTable('ip', 't'), { instanceOf: NftablesError })
  nft.failOn = undefined
  nft.unusable = true
  t.throws(() => nft.apply('add table ip t\n'), { message: /Operation not supported/ })
})

test('canonicalNftRule: what nft prints for what Weft writes', (t) => {
  const rows: Array<[string, string]> = [
    ['ip saddr == 10.244.1.5/24 return', 'ip saddr 10.244.1.0/24 return'],
    ['ip daddr != 10.0.0.1/32 masquerade fully-random', 'ip daddr != 10.0.0.1 masquerade fully-random'],
    ['ip6 saddr fd00:0:0:1::/64  ip6 daddr FF00::/8 return', 'ip6 saddr fd00:0:0:1::/64 ip6 daddr ff00::/8 return'],
    ['meta mark 0x4000 return', 'meta mark 0x00004000 return'],
    ['meta mark & 16384 == 16384 return', 'meta mark & 0x00004000 == 0x00004000 return'],
    ['counter accept comment "x  1.2.3.4/8"', 'counter packets 0 bytes 0 accept comment "x  1.2.3.4/8"']
  ]
  for (const [input, out] of rows) t.is(canonicalNftRule(input), out, input)
})
