/** `weft controller-manager` as a process: leads, reconciles, and exits 0 on SIGTERM. */
import test from 'ava'
import * as path from 'node:path'
import { execa } from 'execa'
import { repoRoot } from '../harness/index.js'
import { cluster, sp, waitFor } from './controllers-harness.js'

test('weft controller-manager takes the kube-controller-manager Lease, runs the controllers and exits 0 on SIGTERM', async (t) => {
  const c = await cluster(t, false)
  const proc = execa('node', [path.join(repoRoot, 'dist', 'control', 'cli', 'weft.js'), 'controller-manager', '--kubeconfig', c.kubeconfig,
    '--leader-elect-lease-duration', '3s', '--leader-elect-renew-deadline', '2s', '--leader-elect-retry-period', '500ms', '--log-level', 'info'], { reject: false })
  t.teardown(() => { proc.kill('SIGKILL') })
  await c.client.create({ resource: 'nodes' }, { metadata: { name: 'n1' } })
  const node = await waitFor('podCIDR', async () => { const n = await c.client.get({ resource: 'nodes', name: 'n1' }); return sp(n).podCIDR !== undefined ? n : undefined }, 20_000)
  t.is(sp(node).podCIDR, '10.244.0.0/24')
  const lease = await c.client.get({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: 'kube-system', name: 'kube-controller-manager' })
  t.truthy(sp(lease).holderIdentity)
  proc.kill('SIGTERM')
  const res = await proc
  t.is(res.exitCode, 0, String(res.stderr).slice(-2000))
  t.regex(String(res.stderr), /"msg":"stopping"/)
  // Released on the way out, so a successor need not wait out the lease.
  const after = await c.client.get({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: 'kube-system', name: 'kube-controller-manager' })
  t.falsy(sp(after).holderIdentity)
})

test('weft controller-manager refuses bad flags with their codes', async (t) => {
  const weft = path.join(repoRoot, 'dist', 'control', 'cli', 'weft.js')
  const a = await execa('node', [weft, 'controller-manager', '--kubeconfig', '/nonexistent', '--controllers', '*,-nope'], { reject: false })
  t.is(a.exitCode, 1)
  t.regex(a.stderr, /CTRL_ERR_CONTROLLERS_UNKNOWN_CONTROLLER/)
  const b = await execa('node', [weft, 'controller-manager', '--kubeconfig', '/nonexistent', '--node-monitor-grace-period', 'soon'], { reject: false })
  t.regex(b.stderr, /CTRL_ERR_CONTROLLERS_INVALID_FLAG/)
  const c = await execa('node', [weft, 'controller-manager', '--kubeconfig', '/nonexistent', '--cluster-cidr', '10.0.0.0/16,10.1.0.0/16'], { reject: false })
  t.regex(c.stderr, /CTRL_ERR_CONTROLLERS_INVALID_CIDR/)
})
