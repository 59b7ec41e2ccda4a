/**
 * The real kubectl (v1.32) against a loopback HTTPS server built from these
 * pieces only: ensurePki's serving certificate, ensureTokenFile's admin token,
 * writeKubeconfig, and checkRequest (authenticate → requestAttributes →
 * authorize → 401/403 Status). The handful of canned discovery/list answers
 * stand in for the lead's server.
 */
import test from 'ava'
import * as fs from 'node:fs'
import * as https from 'node:https'
import * as os from 'node:os'
import * as path from 'node:path'
import type { AddressInfo } from 'node:net'
import { execFile } from 'node:child_process'
import { checkRequest, ensurePki, ensureTokenFile, ensureUserToken, loadTokenFile, writeKubeconfig } from './index.js'
import type { TokenAuthenticator } from './index.js'

const KUBECTL = '/usr/bin/kubectl'

const canned: Record<string, unknown> = {
  '/version': { major: '1', minor: '32', gitVersion: 'v1.32.0-weft', gitCommit: '', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.23', compiler: 'gc', platform: 'linux/amd64' },
  '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }] },
  '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups: [] },
  '/api/v1': {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list', 'watch'], shortNames: ['po'] },
      { name: 'secrets', singularName: 'secret', namespaced: true, kind: 'Secret', verbs: ['get', 'list', 'watch'] }
    ]
  },
  '/api/v1/namespaces/default/pods': { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] },
  '/api/v1/namespaces/default/secrets': { kind: 'SecretList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] }
}

interface Fixture { dir: string, port: number, caCertPem: string, adminToken: string, seen: Array<{ url: string, authorization: string | undefined }> }

async function start (t: { teardown: (fn: () => void | Promise<void>) => void }): Promise<Fixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-kubectl-'))
  const pki = await ensurePki(dir, { hosts: [] })
  const tokens = await ensureTokenFile(dir)
  const adminToken = tokens.authenticator.admin?.token
  if (adminToken === undefined) throw new Error('no admin token')
  await ensureUserToken(tokens.path, { name: 'viewer', groups: ['weft:read-only'] })
  await ensureUserToken(tokens.path, { name: 'alice', groups: [] })
  const authenticator: TokenAuthenticator = await loadTokenFile(tokens.path)
  const seen: Fixture['seen'] = []
  const server = https.createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
    const url = req.url ?? '/'
    seen.push({ url, authorization: req.headers.authorization })
    const reply = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    checkRequest({ authenticator }, { method: req.method ?? 'GET', url, authorization: req.headers.authorization }).then((r) => {
      if (!r.allowed) { reply(r.httpStatus, r.body); return }
      const body = canned[url.split('?')[0] as string]
      if (body === undefined) reply(404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'not found', reason: 'NotFound', code: 404 })
      else reply(200, body)
    }, (err: unknown) => { reply(500, { message: String(err) }) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    fs.rmSync(dir, { recursive: true, force: true })
  })
  return { dir, port: (server.address() as AddressInfo).port, caCertPem: pki.caCertPem, adminToken, seen }
}

async function kubectl (f: Fixture, kubeconfig: string, ...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return await new Promise((resolve) => {
    execFile(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', path.join(f.dir, 'cache'), '--request-timeout', '20s', ...args],
      { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: f.dir } }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
      })
  })
}

async function kubeconfigFor (f: Fixture, name: string, token: string, host = '127.0.0.1', caCertPem = f.caCertPem): Promise<string> {
  const file = path.join(f.dir, `${name}.kubeconfig`)
  await writeKubeconfig(file, { server: `https://${host}:${f.port}`, caCertPem, token, user: name, cluster: 'weft', namespace: 'default' })
  return file
}

test('kubectl trusts the CA from the written kubeconfig and sends the admin token over TLS', async (t) => {
  const f = await start(t)
  const kc = await kubeconfigFor(f, 'admin', f.adminToken)
  const v = await kubectl(f, kc, 'version', '-o', 'json')
  t.is(v.code, 0, v.stderr)
  t.is((JSON.parse(v.stdout) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion, 'v1.32.0-weft')
  const versionCall = f.seen.find((s) => s.url.startsWith('/version'))
  t.is(versionCall?.authorization, `Bearer ${f.adminToken}`)
  const pods = await kubectl(f, kc, 'get', 'pods')
  t.is(pods.code, 0, pods.stderr)
  t.regex(pods.stderr + pods.stdout, /No resources found in default namespace\./)
  // By name: the DNS SAN localhost.
  const byName = await kubectl(f, await kubeconfigFor(f, 'admin-localhost', f.adminToken, 'localhost'), 'version', '-o', 'json')
  t.is(byName.code, 0, byName.stderr)
})

test('kubectl with an unknown token gets kube\'s 401 and says so', async (t) => {
  const f = await start(t)
  const r = await kubectl(f, await kubeconfigFor(f, 'stranger', 'not-a-token'), 'get', 'pods')
  t.not(r.code, 0)
  // kubectl 1.32's wording for a 401 Status with reason Unauthorized during discovery.
  t.regex(r.stderr, /error: You must be logged in to the server \(the server has asked for the client to provide credentials\)/)
  t.true(f.seen.every((s) => s.authorization === 'Bearer not-a-token'))
})

test('kubectl prints our 403 reason as kube-apiserver\'s Forbidden message', async (t) => {
  const f = await start(t)
  const tokens = await loadTokenFile(path.join(f.dir, 'tokens.csv'))
  const viewer = (await ensureUserToken(path.join(f.dir, 'tokens.csv'), { name: 'viewer', groups: ['weft:read-only'] })).token
  t.is(tokens.authenticate(`Bearer ${viewer}`)?.name, 'viewer')
  const kc = await kubeconfigFor(f, 'viewer', viewer)
  const podsOk = await kubectl(f, kc, 'get', 'pods')
  t.is(podsOk.code, 0, podsOk.stderr)
  const secrets = await kubectl(f, kc, 'get', 'secrets')
  t.not(secrets.code, 0)
  t.regex(secrets.stderr, /Error from server \(Forbidden\): secrets is forbidden: User "viewer" cannot list resource "secrets" in API group "" in the namespace "default": weft:read-only may not read secrets/)

  const alice = (await ensureUserToken(path.join(f.dir, 'tokens.csv'), { name: 'alice', groups: [] })).token
  const r = await kubectl(f, await kubeconfigFor(f, 'alice', alice), 'get', 'pods')
  t.regex(r.stderr, /Error from server \(Forbidden\): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"/)
})

test('kubectl refuses the server when the kubeconfig carries another CA', async (t) => {
  const f = await start(t)
  const other = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-kubectl-other-'))
  t.teardown(() => fs.rmSync(other, { recursive: true, force: true }))
  const otherCa = (await ensurePki(other, { hosts: [] })).caCertPem
  const r = await kubectl(f, await kubeconfigFor(f, 'admin-wrong-ca', f.adminToken, '127.0.0.1', otherCa), 'version', '-o', 'json')
  t.not(r.code, 0)
  t.regex(r.stderr, /certificate signed by unknown authority/)
  t.false(f.seen.some((s) => s.authorization !== undefined), 'no token reached the server over an untrusted connection')
})
