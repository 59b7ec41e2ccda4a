/** Shared set-up of the controller-manager e2e tests: an in-process API server, the controllers, and a fake kubelet's hand. */
import type { ExecutionContext } from 'ava'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { pino } from 'pino'
import { startApiserver } from '../../control/apiserver/index.js'
import { KubeClient } from '../../control/client/index.js'
import type { Obj } from '../../control/client/index.js'
import { controllerManagerDefaults, startControllerManager } from '../../control/controllers/index.js'
import type { ControllerManagerOptions, RunningControllerManager } from '../../control/controllers/index.js'

export interface Cluster {
  client: KubeClient
  kubeconfig: string
  startCm: (o?: Partial<ControllerManagerOptions>) => Promise<RunningControllerManager>
}

export async function cluster (t: ExecutionContext, cm: Partial<ControllerManagerOptions> | false = {}): Promise<Cluster & { cm: RunningControllerManager | undefined }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-ctrl-'))
  const api = await startApiserver({
    securePort: 0, bindAddress: '127.0.0.1', dataDir: dir, storageBackend: 'memory',
    serviceClusterIpRange: '10.96.0.0/12', serviceNodePortRange: '30000-32767', etcdCompactionInterval: 0, logLevel: 'silent'
  }, pino({ level: 'silent' }))
  const client = await KubeClient.fromKubeconfig(api.kubeconfig)
  const running: RunningControllerManager[] = []
  const log = pino({ level: process.env.WEFT_TEST_LOG ?? 'silent' }, pino.destination(2))
  const startCm = async (o: Partial<ControllerManagerOptions> = {}): Promise<RunningControllerManager> => {
    const r = await startControllerManager({ ...controllerManagerDefaults, leaderElect: false, nodeMonitorPeriodMs: 200, ...o, kubeconfig: api.kubeconfig }, log)
    running.push(r)
    await r.leading
    return r
  }
  t.teardown(async () => {
    for (const r of running) await r.stop()
    client.close()
    await api.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  const first = cm === false ? undefined : await startCm(cm)
  return { client, kubeconfig: api.kubeconfig, startCm, cm: first }
}

export { waitFor } from '../harness/index.js'

export const m = (o: Obj): Obj => (o.metadata ?? {}) as Obj
export const st = (o: Obj): Obj => (o.status ?? {}) as Obj
export const sp = (o: Obj): Obj => (o.spec ?? {}) as Obj

let ipSeq = 1
/** What a kubelet would write for a running pod: phase, an IP, Ready. */
export async function markRunning (client: KubeClient, pod: Obj, ready = true): Promise<Obj> {
  const ip = typeof st(pod).podIP === 'string' ? st(pod).podIP as string : `10.244.${Math.floor(ipSeq / 250)}.${(ipSeq++ % 250) + 1}`
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
  return await client.patch({ resource: 'pods', namespace: String(m(pod).namespace), name: String(m(pod).name), subresource: 'status' }, {
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now }] }
  })
}

export async function pods (client: KubeClient, ns: string, selector?: string): Promise<Obj[]> {
  return (await client.list({ resource: 'pods', namespace: ns }, selector !== undefined ? { labelSelector: selector } : {})).items
}

export const podTemplate = (labels: Record<string, string>, image = 'weft/echo'): Obj => ({
  metadata: { labels },
  spec: { containers: [{ name: 'c', image, ports: [{ name: 'http', containerPort: 8080 }] }] }
})

/** Acts as the kubelets: every pod of the namespace turns Running and Ready a little after it appears. */
export function autoReady (c: { client: KubeClient }, t: ExecutionContext, delayMs = 150, namespace = 'default'): { pause: (v: boolean) => void } {
  let stop = false; let paused = false
  const seen = new Map<string, number>()
  const loop = async (): Promise<void> => {
    while (!stop) {
      try {
        for (const p of await pods(c.client, namespace)) {
          if (st(p).phase === 'Running' || m(p).deletionTimestamp !== undefined) continue
          const first = seen.get(String(m(p).uid)) ?? Date.now()
          seen.set(String(m(p).uid), first)
          if (!paused && Date.now() - first >= delayMs) await markRunning(c.client, p).catch(() => {})
        }
      } catch {}
      await new Promise((r) => setTimeout(r, 30))
    }
  }
  const done = loop()
  t.teardown(async () => { stop = true; await done })
  return { pause: (v) => { paused = v } }
}

