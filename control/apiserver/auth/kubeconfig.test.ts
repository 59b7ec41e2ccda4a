import test from 'ava'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { execFileSync } from 'node:child_process'
import { AuthError } from './errors.js'
import { defaultKubeconfigPath, readKubeconfig, renderKubeconfig, writeKubeconfig } from './kubeconfig.js'

const KUBECTL = '/usr/bin/kubectl'
const CA = '-----BEGIN CERTIFICATE-----\nMIIBdjCCAR2gAwIBAgIUSmallFakeCA==\n-----END CERTIFICATE-----\n'
const CA_B64 = Buffer.from(CA).toString('base64')

function tmpDir (t: { teardown: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-kubeconfig-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

const init = { server: 'https://127.0.0.1:6443', caCertPem: CA, token: 'tok-123', user: 'admin', cluster: 'weft', namespace: 'kube-system' }

test('renderKubeconfig: kubectl\'s layout, CA inlined as certificate-authority-data', (t) => {
  t.is(renderKubeconfig(init), `apiVersion: v1
clusters:
  - cluster:
      certificate-authority-data: ${CA_B64}
      server: https://127.0.0.1:6443
    name: weft
contexts:
  - context:
      cluster: weft
      namespace: kube-system
      user: admin
    name: admin@weft
current-context: admin@weft
kind: Config
preferences: {}
users:
  - name: admin
    user:
      token: tok-123
`)
})

test('renderKubeconfig refuses http servers (kubectl would drop the token), bad CAs and bad tokens', (t) => {
  for (const bad of [{ server: 'http://127.0.0.1:8080' }, { caCertPem: 'nope' }, { token: '' }, { token: 'a b' }]) {
    const err = t.throws(() => renderKubeconfig({ ...init, ...bad }))
    t.is((err as AuthError).code, 'CTRL_ERR_AUTH_INVALID', JSON.stringify(bad))
  }
})

test('writeKubeconfig writes 0600 atomically; readKubeconfig reads it back; kubectl reads the same values', async (t) => {
  const dir = tmpDir(t)
  const file = path.join(dir, 'sub', 'admin.kubeconfig')
  await writeKubeconfig(file, init)
  t.is(fs.statSync(file).mode & 0o777, 0o600)
  t.deepEqual(fs.readdirSync(path.dirname(file)), ['admin.kubeconfig'])
  t.deepEqual(await readKubeconfig(file), {
    server: 'https://127.0.0.1:6443', caCertPem: CA, token: 'tok-123', insecureSkipTlsVerify: false, namespace: 'kube-system', context: 'admin@weft'
  })
  // Overwriting keeps the mode and leaves no temp file.
  await writeKubeconfig(file, { ...init, token: 'tok-456' })
  t.is((await readKubeconfig(file)).token, 'tok-456')
  t.deepEqual(fs.readdirSync(path.dirname(file)), ['admin.kubeconfig'])

  const view = (jsonpath: string): string => execFileSync(KUBECTL, ['--kubeconfig', file, 'config', 'view', '--raw', '--minify', '-o', `jsonpath=${jsonpath}`], { encoding: 'utf8' })
  t.is(view('{.clusters[0].cluster.server}'), 'https://127.0.0.1:6443')
  t.is(view('{.clusters[0].cluster.certificate-authority-data}'), CA_B64)
  t.is(view('{.users[0].user.token}'), 'tok-456')
  t.is(view('{.contexts[0].context.namespace}'), 'kube-system')
  t.is(execFileSync(KUBECTL, ['--kubeconfig', file, 'config', 'current-context'], { encoding: 'utf8' }).trim(), 'admin@weft')
})

function write (dir: string, name: string, text: string): string {
  const p = path.join(dir, name)
  fs.writeFileSync(p, text)
  return p
}

test('readKubeconfig: relative CA and token files, tokenFile over token, context override, namespace default', async (t) => {
  const dir = tmpDir(t)
  fs.mkdirSync(path.join(dir, 'pki'))
  write(dir, 'pki/ca.crt', CA)
  write(dir, 'token', 'from-file\n')
  const file = write(dir, 'config', `
apiVersion: v1
kind: Config
current-context: a
contexts:
- name: a
  context: { cluster: c1, user: u1 }
- name: b
  context: { cluster: c2, user: u2, namespace: web }
clusters:
- name: c1
  cluster: { server: "https://10.0.0.1:6443", certificate-authority: pki/ca.crt, tls-server-name: kubernetes }
- name: c2
  cluster: { server: "https://10.0.0.2:6443", insecure-skip-tls-verify: true }
users:
- name: u1
  user: { token: inline, tokenFile: token }
- name: u2
  user: { token: second }
`)
  t.deepEqual(await readKubeconfig(file), {
    server: 'https://10.0.0.1:6443', caCertPem: CA, tlsServerName: 'kubernetes', token: 'from-file', insecureSkipTlsVerify: false, namespace: 'default', context: 'a'
  })
  t.deepEqual(await readKubeconfig(file, { context: 'b' }), {
    server: 'https://10.0.0.2:6443', token: 'second', insecureSkipTlsVerify: true, namespace: 'web', context: 'b'
  })
})

test('readKubeconfig: client certificates, inline or as files', async (t) => {
  const dir = tmpDir(t)
  write(dir, 'client.key', '-----BEGIN PRIVATE KEY-----\nk\n-----END PRIVATE KEY-----\n')
  const file = write(dir, 'config', `
current-context: x
contexts: [{ name: x, context: { cluster: c, user: u } }]
clusters: [{ name: c, cluster: { server: "https://h:1", certificate-authority-data: ${CA_B64} } }]
users: [{ name: u, user: { client-certificate-data: ${CA_B64}, client-key: client.key } }]
`)
  const cfg = await readKubeconfig(file)
  t.is(cfg.clientCertPem, CA)
  t.regex(cfg.clientKeyPem ?? '', /BEGIN PRIVATE KEY/)
  t.is(cfg.token, undefined)
})

test('readKubeconfig errors are CTRL_ERR_AUTH_KUBECONFIG and say what is wrong', async (t) => {
  const dir = tmpDir(t)
  const base = (cluster: string, user: string, extra = ''): string => `
current-context: x
contexts: [{ name: x, context: { cluster: c, user: u } }]
clusters: [{ name: c, cluster: ${cluster} }]
users: [{ name: u, user: ${user} }]
${extra}`
  const rows: Array<[string, string, RegExp]> = [
    ['not yaml', 'a: [b', /not valid YAML/],
    ['a list', '- a\n- b\n', /expected a mapping/],
    ['no current context', 'apiVersion: v1\nkind: Config\n', /current-context is not set/],
    ['unknown context', 'current-context: nope\ncontexts: []\n', /context "nope" not found in contexts/],
    ['unknown cluster', 'current-context: x\ncontexts: [{ name: x, context: { cluster: gone } }]\n', /cluster "gone" not found in clusters/],
    ['no server', base('{ insecure-skip-tls-verify: true }', '{ token: t }'), /cluster "c" has no server/],
    ['bad server', base('{ server: "ftp://h" }', '{ token: t }'), /invalid server/],
    ['CA and insecure', base(`{ server: "https://h:1", insecure-skip-tls-verify: true, certificate-authority-data: ${CA_B64} }`, '{ token: t }'), /with the insecure flag is not allowed/],
    ['CA data not PEM', base('{ server: "https://h:1", certificate-authority-data: aGVsbG8= }', '{ token: t }'), /certificate-authority-data is not base64 of a PEM block/],
    ['missing CA file', base('{ server: "https://h:1", certificate-authority: nope.crt }', '{ token: t }'), /cannot read certificate-authority .*nope\.crt/],
    ['missing token file', base('{ server: "https://h:1" }', '{ tokenFile: /nonexistent/token }'), /cannot read tokenFile/],
    ['exec only', base('{ server: "https://h:1" }', '{ exec: { command: gke-gcloud-auth-plugin } }'), /exec or auth-provider credentials/],
    ['cert without key', base('{ server: "https://h:1" }', `{ client-certificate-data: ${CA_B64} }`), /client certificate without its key/],
    ['server not a string', base('{ server: 5 }', '{ token: t }'), /server must be a string/]
  ]
  for (const [name, text, re] of rows) {
    const file = write(dir, 'config', text)
    const err = await t.throwsAsync(readKubeconfig(file))
    t.true(err instanceof AuthError, name)
    t.is((err as AuthError).code, 'CTRL_ERR_AUTH_KUBECONFIG', name)
    t.regex(err?.message ?? '', re, name)
  }
  const missing = await t.throwsAsync(readKubeconfig(path.join(dir, 'absent')))
  t.is((missing as AuthError).code, 'CTRL_ERR_AUTH_KUBECONFIG')
})

test('defaultKubeconfigPath: the first KUBECONFIG entry, else ~/.kube/config', (t) => {
  t.is(defaultKubeconfigPath({ KUBECONFIG: `/a/one${path.delimiter}/b/two` }), '/a/one')
  t.is(defaultKubeconfigPath({}), path.join(os.homedir(), '.kube', 'config'))
})
