/** The real kubectl drives Deployments that weft controller-manager reconciles: rollout status, set image, history, undo, scale. */
import test from 'ava'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { execa } from 'execa'
import { autoReady, cluster, m, st } from './controllers-harness.js'
import type { Obj } from '../../control/client/index.js'

const KUBECTL = '/usr/bin/kubectl'

test('kubectl rollout status / set image / rollout history / rollout undo / scale against the controllers', async (t) => {
  if (!fs.existsSync(KUBECTL)) { t.log(`${KUBECTL} missing`); t.pass(); return }
  const c = await cluster(t, { controllers: ['replicaset', 'deployment', 'garbagecollector'] })
  autoReady(c, t, 200)
  const cache = path.join(path.dirname(c.kubeconfig), 'kubectl-cache')
  const k = async (...args: string[]): Promise<string> => {
    const r = await execa(KUBECTL, ['--kubeconfig', c.kubeconfig, '--cache-dir', cache, ...args], { reject: false, timeout: 60_000 })
    t.is(r.exitCode, 0, `kubectl ${args.join(' ')}: ${String(r.stderr)}`)
    return String(r.stdout)
  }
  await k('create', 'deployment', 'web', '--image=weft/echo', '--replicas=3')
  t.regex(await k('rollout', 'status', 'deployment/web', '--timeout=30s'), /successfully rolled out/)
  await k('set', 'image', 'deployment/web', 'echo=weft/shell')
  const status = await k('rollout', 'status', 'deployment/web', '--timeout=30s')
  t.regex(status, /successfully rolled out/)
  const hist = await k('rollout', 'history', 'deployment/web')
  t.regex(hist, /^1\s/m)
  t.regex(hist, /^2\s/m)
  await k('rollout', 'undo', 'deployment/web')
  await k('rollout', 'status', 'deployment/web', '--timeout=30s')
  const d = JSON.parse(await k('get', 'deployment', 'web', '-o', 'json')) as Obj
  t.is((m(d).annotations as Obj)['deployment.kubernetes.io/revision'], '3')
  t.is(((((d.spec as Obj).template as Obj).spec as Obj).containers as Obj[])[0]?.image, 'weft/echo')
  // Paused: template changes wait; resume rolls them out.
  await k('rollout', 'pause', 'deployment/web')
  await k('set', 'env', 'deployment/web', 'MODE=paused')
  await new Promise((r) => setTimeout(r, 800))
  const paused = JSON.parse(await k('get', 'deployment', 'web', '-o', 'json')) as Obj
  t.is((m(paused).annotations as Obj)['deployment.kubernetes.io/revision'], '3', 'no new revision while paused')
  t.like(((st(paused).conditions ?? []) as Obj[]).find((x) => x.type === 'Progressing'), { status: 'Unknown', reason: 'DeploymentPaused' })
  await k('rollout', 'resume', 'deployment/web')
  await k('rollout', 'status', 'deployment/web', '--timeout=30s')
  t.is((m(JSON.parse(await k('get', 'deployment', 'web', '-o', 'json')) as Obj).annotations as Obj)['deployment.kubernetes.io/revision'], '4')
  await k('scale', 'deployment/web', '--replicas=5')
  await k('rollout', 'status', 'deployment/web', '--timeout=30s')
  const wide = await k('get', 'deployment', 'web')
  t.regex(wide, /web\s+5\/5\s+5\s+5/)
  const rs = await k('get', 'rs', '-o', 'name')
  t.is(rs.trim().split('\n').length, 3, rs)
  t.is(st(JSON.parse(await k('get', 'deployment', 'web', '-o', 'json')) as Obj).availableReplicas, 5)
  const describe = await k('describe', 'deployment', 'web')
  t.regex(describe, /ScalingReplicaSet\s+.*Scaled up replica set web-\w+ from \d+ to 5/)
  const rsName = rs.trim().split('\n')[0]?.replace('replicaset.apps/', '') ?? ''
  t.regex(await k('get', 'events', '--field-selector', `involvedObject.name=${rsName}`), /SuccessfulCreate|SuccessfulDelete/)
  await k('delete', 'deployment', 'web')
  const until = Date.now() + 15_000
  let left = ''
  while (Date.now() < until) {
    left = await k('get', 'pods,rs', '-o', 'name')
    if (left.trim() === '') break
    await new Promise((r) => setTimeout(r, 200))
  }
  t.is(left.trim(), '', 'ReplicaSets and pods collected after kubectl delete')
})
