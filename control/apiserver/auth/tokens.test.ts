import test from 'ava'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { AuthError } from './errors.js'
import {
  bearerToken, ensureTokenFile, ensureUserToken, formatTokenRecord, loadTokenFile, parseTokenFile, tokenAuthenticator, tokenFilePath,
  watchTokenFile
} from './tokens.js'

function tmpDir (t: { teardown: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-tokens-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

// Upstream's tokenfile_test.go fixture, as kube-apiserver reads it.
const upstreamFixture = `
token1,user1,uid1
token2,user2,uid2
token3,user3,uid3,"group1,group2"
token4,user4,uid4,"group2"
token5,user5,uid5,group5
token6,user6,uid6,group5,otherdata
token7,user7,uid7,"group1,group2",otherdata
`

test('the upstream fixture: users, uids and groups, extra columns ignored, system:authenticated added', (t) => {
  const a = tokenAuthenticator(parseTokenFile(upstreamFixture, 'f').records)
  t.is(a.size, 7)
  const rows: Array<[string, { name: string, uid: string, groups: string[] } | undefined]> = [
    ['token1', { name: 'user1', uid: 'uid1', groups: ['system:authenticated'] }],
    ['token2', { name: 'user2', uid: 'uid2', groups: ['system:authenticated'] }],
    ['token3', { name: 'user3', uid: 'uid3', groups: ['group1', 'group2', 'system:authenticated'] }],
    ['token4', { name: 'user4', uid: 'uid4', groups: ['group2', 'system:authenticated'] }],
    ['token5', { name: 'user5', uid: 'uid5', groups: ['group5', 'system:authenticated'] }],
    ['token6', { name: 'user6', uid: 'uid6', groups: ['group5', 'system:authenticated'] }],
    ['token7', { name: 'user7', uid: 'uid7', groups: ['group1', 'group2', 'system:authenticated'] }],
    ['token8', undefined]
  ]
  for (const [token, want] of rows) t.deepEqual(a.authenticate(`Bearer ${token}`), want, token)
})

test('too few columns refuses the whole file with upstream\'s message', (t) => {
  const err = t.throws(() => parseTokenFile('token1,user1,uid1\ntoken4\n', '/etc/tokens.csv'))
  t.is((err as AuthError).code, 'CTRL_ERR_AUTH_TOKEN_FILE')
  t.is(err?.message, "token file '/etc/tokens.csv' must have at least 3 columns (token, user name, user uid), found 1")
  // A comment line is not a comment upstream: it is a one-column record.
  t.regex(t.throws(() => parseTokenFile('# admins\nt,u,1\n', 'f'))?.message ?? '', /found 1$/)
})

test('empty and duplicate tokens are warnings, and the later duplicate wins', (t) => {
  const { records, warnings } = parseTokenFile('t1,alice,1\n,nobody,2\nt1,bob,3\n', 'f')
  t.deepEqual(warnings, [
    "empty token has been found in token file 'f', record number '2'",
    "duplicate token has been found in token file 'f', record number '3'"
  ])
  const a = tokenAuthenticator(records, warnings)
  t.is(a.size, 1)
  t.is(a.authenticate('Bearer t1')?.name, 'bob')
  t.deepEqual(a.warnings, warnings)
})

test('CSV syntax errors carry the file and Go\'s position', (t) => {
  const err = t.throws(() => parseTokenFile('t1,alice,1\nt"2,bob,2\n', 'f'))
  t.is((err as AuthError).code, 'CTRL_ERR_AUTH_TOKEN_FILE')
  t.is(err?.message, 'token file \'f\': parse error on line 2, column 2: bare " in non-quoted-field')
})

test('Authorization header parsing follows upstream\'s bearer authenticator', (t) => {
  const a = tokenAuthenticator(parseTokenFile('abc,alice,1\n', 'f').records)
  const rows: Array<[string | undefined, boolean]> = [
    ['Bearer abc', true],
    ['bearer abc', true],
    ['BEARER abc', true],
    ['  Bearer abc  ', true],
    ['Bearer abc trailing', true], // upstream's SplitN(…, 3): the third part is ignored
    ['Bearer  abc', false], // two spaces: the token is the empty second part
    ['Bearer', false],
    ['Bearer ', false],
    ['Basic abc', false],
    ['abc', false],
    ['Bearer abcd', false],
    ['Bearer ab', false],
    ['', false],
    [undefined, false]
  ]
  for (const [header, accepted] of rows) t.is(a.authenticate(header) !== undefined, accepted, String(header))
  t.is(bearerToken('Bearer x y'), 'x')
})

test('loadTokenFile reads a file; a missing file is CTRL_ERR_AUTH_TOKEN_FILE', async (t) => {
  const dir = tmpDir(t)
  const file = path.join(dir, 'tokens.csv')
  fs.writeFileSync(file, 'secret,kubelet,10,"system:nodes"\r\n')
  const a = await loadTokenFile(file)
  t.deepEqual(a.authenticate('Bearer secret'), { name: 'kubelet', uid: '10', groups: ['system:nodes', 'system:authenticated'] })
  const err = await t.throwsAsync(loadTokenFile(path.join(dir, 'absent.csv')))
  t.is((err as AuthError).code, 'CTRL_ERR_AUTH_TOKEN_FILE')
  t.is((err as AuthError).path, path.join(dir, 'absent.csv'))
})

test('ensureTokenFile creates a 0600 admin token once and keeps it on restart', async (t) => {
  const dir = tmpDir(t)
  const first = await ensureTokenFile(dir)
  t.true(first.created)
  t.is(first.path, tokenFilePath(dir))
  t.is(fs.statSync(first.path).mode & 0o777, 0o600)
  const admin = first.authenticator.admin
  if (admin === undefined) { t.fail('no admin'); return }
  t.regex(admin.token, /^[A-Za-z0-9_-]{43}$/)
  t.is(admin.user.name, 'admin')
  t.deepEqual(admin.user.groups, ['system:masters'])
  // The file is in kube-apiserver's format: the same authenticator comes out of loadTokenFile.
  const loaded = await loadTokenFile(first.path)
  t.deepEqual(loaded.authenticate(`Bearer ${admin.token}`), { name: 'admin', uid: admin.user.uid, groups: ['system:masters', 'system:authenticated'] })
  t.is(fs.readFileSync(first.path, 'utf8'), `${admin.token},admin,${admin.user.uid},"system:masters"\n`)

  const again = await ensureTokenFile(dir)
  t.false(again.created)
  t.is(again.authenticator.admin?.token, admin.token)
  t.deepEqual(fs.readdirSync(dir), ['tokens.csv'])
})

test('ensureTokenFile keeps an operator-edited file and refuses a broken one without touching it', async (t) => {
  const dir = tmpDir(t)
  fs.writeFileSync(tokenFilePath(dir), 'viewer-token,viewer,7,weft:read-only\n')
  const kept = await ensureTokenFile(dir)
  t.false(kept.created)
  t.is(kept.authenticator.admin, undefined)
  t.is(kept.authenticator.authenticate('Bearer viewer-token')?.name, 'viewer')
  fs.writeFileSync(tokenFilePath(dir), 'just-a-token\n')
  const err = await t.throwsAsync(ensureTokenFile(dir))
  t.is((err as AuthError).code, 'CTRL_ERR_AUTH_TOKEN_FILE')
  t.is(fs.readFileSync(tokenFilePath(dir), 'utf8'), 'just-a-token\n')
})

test('ensureUserToken appends a node token once and returns the same token after', async (t) => {
  const dir = tmpDir(t)
  const { path: file, authenticator } = await ensureTokenFile(dir)
  const node = await ensureUserToken(file, { name: 'system:node:n1', groups: ['system:nodes'] })
  t.true(node.created)
  const again = await ensureUserToken(file, { name: 'system:node:n1', groups: ['system:nodes'] })
  t.deepEqual(again, { token: node.token, created: false })
  const a = await loadTokenFile(file)
  t.is(a.size, 2)
  t.deepEqual(a.authenticate(`Bearer ${node.token}`)?.groups, ['system:nodes', 'system:authenticated'])
  t.is(a.admin?.token, authenticator.admin?.token)
  t.is(fs.statSync(file).mode & 0o777, 0o600)
})

test('formatTokenRecord quotes what needs quoting and parses back', (t) => {
  const r = { token: 't', name: 'a,"b"', uid: ' 1', groups: ['g1', 'g2'] }
  const line = formatTokenRecord(r)
  t.is(line, 't,"a,""b"""," 1","g1,g2"\n')
  const back = parseTokenFile(line, 'f').records[0]
  t.deepEqual(back, { ...r, line: 1 })
})

test('watchTokenFile picks up a node token added by ensureUserToken, keeps the old table over a broken file', async (t) => {
  const dir = tmpDir(t)
  const { path: file, authenticator } = await ensureTokenFile(dir)
  const errors: string[] = []
  let reloads = 0
  const w = await watchTokenFile(file, { intervalMs: 3_600_000, onError: (e) => errors.push(e.code), onReload: () => { reloads++ } })
  t.teardown(() => { w.close() })
  const adminHeader = `Bearer ${authenticator.admin?.token ?? ''}`
  t.is(w.authenticate(adminHeader)?.name, 'admin')
  t.false(await w.check(), 'unchanged file: nothing reloaded')

  const node = await ensureUserToken(file, { name: 'system:node:n1', groups: ['system:nodes'] })
  t.is(w.authenticate(`Bearer ${node.token}`), undefined, 'not before the check')
  t.true(await w.check())
  t.is(w.authenticate(`Bearer ${node.token}`)?.name, 'system:node:n1')
  t.is(w.size, 2)
  t.is(reloads, 1)

  fs.writeFileSync(file, 'broken\n')
  t.false(await w.check())
  t.deepEqual(errors, ['CTRL_ERR_AUTH_TOKEN_FILE'])
  t.is(w.authenticate(`Bearer ${node.token}`)?.name, 'system:node:n1', 'the last good table stays in force')
  t.is(w.authenticate(adminHeader)?.name, 'admin')

  fs.rmSync(file)
  t.false(await w.check())
  t.is(errors.length, 2)
  t.is(w.authenticate(adminHeader)?.name, 'admin')
})

test('watchTokenFile reloads on its timer', async (t) => {
  const dir = tmpDir(t)
  const file = path.join(dir, 'tokens.csv')
  fs.writeFileSync(file, 'one,u1,1\n')
  const keepAlive = setTimeout(() => {}, 10_000) // the watcher's timer is unref'd and keeps no process alive
  t.teardown(() => { clearTimeout(keepAlive) })
  let reloaded = (): void => {}
  const done = new Promise<void>((resolve) => { reloaded = resolve })
  const w = await watchTokenFile(file, { intervalMs: 20, onReload: () => { reloaded() } })
  t.teardown(() => { w.close() })
  t.is(w.authenticate('Bearer one')?.name, 'u1')
  fs.writeFileSync(file + '.new', 'two,u2,2\n')
  fs.renameSync(file + '.new', file)
  await done
  t.is(w.authenticate('Bearer two')?.name, 'u2')
  t.is(w.authenticate('Bearer one'), undefined)
})
