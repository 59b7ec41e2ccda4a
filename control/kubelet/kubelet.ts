/**
 * `weft kubelet`: registers the Node and keeps its status and Lease fresh,
 * watches the pods bound to it, and runs each through a PodWorker; serves
 * container logs on --port. Runs inside the node's network namespace.
 */
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import type { Logger } from 'pino'
import { Informer, KubeApiError, KubeClient } from '../client/index.js'
import type { NetworkList } from '../../cni/runtime/index.js'
import { KubeletError } from './errors.js'
import { loadNetwork } from './cniconf.js'
import { LEASE_RENEW_MS, NODE_LEASE_NAMESPACE, leaseObject, microTime, nodeConditions, nodeObject, nodeStatus, parseLabels, parseTaints } from './node.js'
import type { Condition, NodeFacts } from './node.js'
import { PodRuntime } from './runtime.js'
import { PodWorker } from './worker.js'
import { kubeletHandler } from './server.js'
import { StaticPods } from './static.js'
import { apiEvents } from './events.js'

export type Obj = Record<string, unknown>

export interface KubeletOptions {
  kubeconfig: string
  hostnameOverride?: string
  nodeIp?: string
  rootDir: string
  cniConfDir: string
  /** Colon- or comma-separated CNI plugin directories. */
  cniBinDir: string
  staticPodPath?: string
  port: number
  address: string
  nodeLabels: string
  registerWithTaints: string
  /** Seconds (fractions allowed): the first restart back-off (upstream 10 s). */
  crashLoopBackoffInitial: number
  /** Seconds: the back-off cap (upstream 300 s). */
  crashLoopBackoffMax: number
  /** Seconds between node status computations (upstream nodeStatusUpdateFrequency 10 s). */
  nodeStatusUpdateFrequency: number
  /** Seconds between static pod directory reads (upstream fileCheckFrequency 20 s). */
  fileCheckFrequency: number
  logLevel: string
}

export const kubeletDefaults = {
  rootDir: '/var/lib/weft/kubelet',
  cniConfDir: '/etc/cni/net.d',
  cniBinDir: '/opt/cni/bin',
  port: 10250,
  address: '0.0.0.0',
  nodeLabels: '',
  registerWithTaints: '',
  crashLoopBackoffInitial: 10,
  crashLoopBackoffMax: 300,
  nodeStatusUpdateFrequency: 10,
  fileCheckFrequency: 20,
  logLevel: 'info'
}

const repoDist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
/** argv running this build's `weft` CLI. */
export const weftArgv = [process.execPath, path.join(repoDist, 'control', 'cli', 'weft.js')]
/** The weft/echo program's own entry point (same program as `weft image echo`, lighter to start). */
const echoMain = path.join(path.dirname(fileURLToPath(import.meta.url)), 'images', 'echo-main.js')

function readText (f: string): string { try { return fs.readFileSync(f, 'utf8').trim() } catch { return '' } }

function firstIPv4 (): string {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return '127.0.0.1'
}

export function hostFacts (o: KubeletOptions, name: string, nodeIp: string, version: string): NodeFacts {
  const osRelease = readText('/etc/os-release')
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? 'Linux'
  let storage: number | undefined
  try { const s = fs.statfsSync(o.rootDir); storage = s.blocks * s.bsize } catch { storage = undefined }
  return {
    name,
    nodeIp,
    hostname: name,
    port: o.port,
    labels: parseLabels(o.nodeLabels),
    taints: parseTaints(o.registerWithTaints),
    cpus: os.cpus().length,
    memoryBytes: os.totalmem(),
    ...(storage !== undefined ? { ephemeralStorageBytes: storage } : {}),
    arch: process.arch,
    kernelVersion: os.release(),
    osImage: pretty,
    machineId: readText('/etc/machine-id'),
    systemUuid: readText('/sys/class/dmi/id/product_uuid') || readText('/etc/machine-id'),
    bootId: readText('/proc/sys/kernel/random/boot_id'),
    runtimeVersion: `weft://${version}`
  }
}

export interface Kubelet {
  readonly nodeName: string
  readonly port: number
  stop: () => Promise<void>
}

export async function startKubelet (o: KubeletOptions, log: Logger, signal?: AbortSignal): Promise<Kubelet> {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoDist, '..', 'package.json'), 'utf8')) as { version: string }
  const name = (o.hostnameOverride ?? os.hostname()).toLowerCase()
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) throw new KubeletError('KUBELET_ERR_FLAGS', `--hostname-override: ${JSON.stringify(name)} is not a valid node name`)
  if (!(o.crashLoopBackoffInitial > 0) || !(o.crashLoopBackoffMax >= o.crashLoopBackoffInitial)) throw new KubeletError('KUBELET_ERR_FLAGS', '--crash-loop-backoff-initial must be > 0 and ≤ --crash-loop-backoff-max')
  const nodeIp = o.nodeIp ?? firstIPv4()
  fs.mkdirSync(o.rootDir, { recursive: true, mode: 0o700 })
  const facts = hostFacts(o, name, nodeIp, pkg.version)
  const client = await KubeClient.fromKubeconfig(o.kubeconfig, { userAgent: `kubelet/v1.32.0-weft (linux) ${name}` })
  const binDirs = o.cniBinDir.split(/[:,]/).filter((d) => d !== '')
  const runtime = new PodRuntime({ rootDir: o.rootDir, cniBinDirs: binDirs, log })
  const stale = await runtime.gc()
  if (stale.length > 0) log.info({ sandboxes: stale.length }, 'removed sandboxes left by a previous kubelet')

  // Network readiness, from the CNI conf dir.
  let network: NetworkList | undefined
  let networkMessage = 'cni config uninitialized'
  const checkNetwork = (): boolean => {
    const before = network === undefined ? '' : JSON.stringify(network)
    try { network = loadNetwork(o.cniConfDir).list; networkMessage = '' } catch (e) { network = undefined; networkMessage = (e as Error).message }
    return before !== (network === undefined ? '' : JSON.stringify(network))
  }
  checkNetwork()

  // 1. Register the Node (409: it exists; reconcile labels, as the kubelet does for its own ones).
  let nodeUid: string | undefined
  const nodeRef = { resource: 'nodes', name }
  // Like kubelet_node_status.go registerWithAPIServer: retried with back-off (to 7 s) while the API server is
  // unreachable, failing or does not know our token yet (401); another 4xx answer (forbidden, invalid) is final.
  for (let delay = 100; ; delay = Math.min(delay * 2, 7000)) {
    try {
      try {
        const created = await client.create({ resource: 'nodes' }, nodeObject(facts))
        nodeUid = String((created.metadata as Obj).uid)
        log.info({ node: name }, 'node registered')
      } catch (e) {
        if (!(e instanceof KubeApiError && e.alreadyExists)) throw e
        const want = nodeObject(facts)
        const existing = await client.patch(nodeRef, { metadata: { labels: (want.metadata as Obj).labels } })
        nodeUid = String((existing.metadata as Obj).uid)
        log.info({ node: name }, 'node already registered; labels reconciled')
      }
      break
    } catch (e) {
      const st = e instanceof KubeApiError ? e.status : 0
      // 401 is retried too: a token just added to the API server's token file is live only after its next reload.
      if (st >= 400 && st < 500 && st !== 429 && st !== 401) throw new KubeletError('KUBELET_ERR_API', `registering node ${name}: ${(e as Error).message}`, { cause: e })
      if (signal?.aborted === true) throw new KubeletError('KUBELET_ERR_API', `registering node ${name}: stopped before the API server answered`, { cause: e })
      log.warn({ err: (e as Error).message, retryMs: delay }, 'unable to register the node; retrying')
      await new Promise((resolve) => setTimeout(resolve, delay))
    }
  }
  let conditions: Condition[] = []
  let lastReport = 0
  let lastKey = ''
  const updateStatus = async (force: boolean): Promise<void> => {
    const next = nodeConditions({ networkReady: network !== undefined, networkMessage }, conditions, new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'))
    const key = JSON.stringify(next.map((c) => [c.type, c.status, c.reason, c.message]))
    // nodeStatusReportFrequency: unchanged status is re-posted every 5 minutes.
    if (!force && key === lastKey && Date.now() - lastReport < 300_000) return
    await client.patch({ ...nodeRef, subresource: 'status' }, { status: nodeStatus(facts, next) })
    conditions = next
    lastKey = key
    lastReport = Date.now()
  }
  await updateStatus(true).catch((e: unknown) => { log.warn({ err: (e as Error).message }, 'node status update failed; retrying') })

  // 2. The Lease, renewed every 10 s.
  const leaseRef = { group: 'coordination.k8s.io', resource: 'leases', namespace: NODE_LEASE_NAMESPACE, name }
  const renewLease = async (): Promise<void> => {
    try {
      await client.patch(leaseRef, { spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime(Date.now()) } })
    } catch (e) {
      if (!(e instanceof KubeApiError && e.notFound)) throw e
      await client.create({ group: 'coordination.k8s.io', resource: 'leases', namespace: NODE_LEASE_NAMESPACE }, leaseObject(name, nodeUid, Date.now()))
    }
  }
  await renewLease().catch((e: unknown) => { log.warn({ err: (e as Error).message }, 'lease renewal failed') })

  // 3. Pods bound to this node.
  const workers = new Map<string, PodWorker>()
  const done = new Set<string>()
  const staticPods: StaticPods | undefined = o.staticPodPath !== undefined ? new StaticPods({ dir: o.staticPodPath, nodeName: name, nodeUid: nodeUid ?? '', client, log, everyMs: o.fileCheckFrequency * 1000 }) : undefined
  const deps = {
    client,
    runtime,
    log,
    nodeName: name,
    hostIPs: [nodeIp],
    rootDir: o.rootDir,
    network: () => network,
    events: apiEvents(client, name, log),
    backoff: { initialMs: o.crashLoopBackoffInitial * 1000, maxMs: o.crashLoopBackoffMax * 1000 },
    // A small single-threaded V8 per echo container: many pods, few threads.
    imageArgv: (image: 'echo') => fs.existsSync(echoMain) ? [process.execPath, '--v8-pool-size=0', '--single-threaded-gc', echoMain] : [...weftArgv, 'image', image],
    onDone: (uid: string) => { const w = workers.get(uid); w?.dispose(); workers.delete(uid); done.add(uid) }
  }
  const podUid = (p: Obj): string => String((p.metadata as Obj).uid)
  const upsert = (p: Obj): void => {
    const uid = podUid(p)
    if (done.has(uid)) return
    const w = workers.get(uid)
    if (w !== undefined) { w.update(p); return }
    const phase = String((p.status as Obj | undefined)?.phase ?? '')
    // A finished pod from before a restart is not run again.
    if ((phase === 'Succeeded' || phase === 'Failed') && (p.metadata as Obj).deletionTimestamp == null) return
    if (staticPods?.isMirror(p) === true) return
    const nw = new PodWorker(p, deps)
    workers.set(uid, nw)
    nw.kick()
  }
  const informer = new Informer(client, { resource: 'pods' }, { fieldSelector: `spec.nodeName=${name}` }, {
    onAdd: upsert,
    onUpdate: upsert,
    onDelete: (p) => {
      done.delete(podUid(p))
      const w = workers.get(podUid(p))
      if (w === undefined) return
      w.removed = true
      w.kick()
    },
    onError: (e) => { log.warn({ err: (e as Error).message }, 'pod watch failed; retrying') }
  })
  staticPods?.start({ run: (p) => { const w = new PodWorker(p, { ...deps, client: staticPods.statusClient(deps.client) }); workers.set(podUid(p), w); w.kick(); return w } })

  // 4. Timers: network (1 s, cheap), node status, lease.
  const timers: NodeJS.Timeout[] = []
  timers.push(setInterval(() => {
    if (checkNetwork()) {
      log.info({ ready: network !== undefined, message: networkMessage }, 'pod network readiness changed')
      updateStatus(true).catch((e: unknown) => { log.warn({ err: (e as Error).message }, 'node status update failed') })
      for (const w of workers.values()) w.kick()
    }
  }, 1000))
  timers.push(setInterval(() => { updateStatus(false).catch((e: unknown) => { log.warn({ err: (e as Error).message }, 'node status update failed') }) }, o.nodeStatusUpdateFrequency * 1000))
  timers.push(setInterval(() => { renewLease().catch((e: unknown) => { log.warn({ err: (e as Error).message }, 'lease renewal failed') }) }, LEASE_RENEW_MS))

  // 5. Logs endpoint.
  const byName = (ns: string, n: string): PodWorker | undefined => {
    let best: PodWorker | undefined
    for (const w of workers.values()) if (w.namespace === ns && w.name === n && !w.terminated) best = w
    return best
  }
  const server = http.createServer(kubeletHandler({
    rootDir: o.rootDir,
    pods: () => [...workers.values()].map((w) => w.view()),
    find: (ns, n) => {
      const w = byName(ns, n)
      if (w === undefined) return undefined
      return { pods: () => w.pod, info: (c) => w.logInfo(c), containers: [...w.containers.keys()] }
    }
  }))
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => { reject(new KubeletError('KUBELET_ERR_FLAGS', `listening on ${o.address}:${o.port}: ${e.message}`, { cause: e })) })
    server.listen(o.port, o.address, () => { resolve() })
  })
  const port = (server.address() as { port: number }).port
  log.info({ node: name, nodeIp, port, network: network?.name ?? null }, 'kubelet started')

  return {
    nodeName: name,
    port,
    stop: async () => {
      for (const t of timers) clearInterval(t)
      staticPods?.stop()
      await informer.stop()
      server.closeAllConnections()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
      // Weft's containers are the kubelet's children: they stop with it (SIGTERM, 5 s, SIGKILL), and their sandboxes go.
      await Promise.all([...workers.values()].map(async (w) => {
        try {
          await w.stopAll(5, true)
          // A sandbox being created when the signal came is removed once its sync ends.
          await w.settle()
          await w.stopAll(5, true)
        } catch (e) { log.warn({ pod: `${w.namespace}/${w.name}`, err: (e as Error).message }, 'stopping the pod failed') }
        w.dispose()
      }))
      await runtime.gc().catch((e: unknown) => { log.warn({ err: (e as Error).message }, 'sandbox cleanup failed') })
      client.close()
      log.info('kubelet stopped')
    }
  }
}

/** The CLI entry: start, run until SIGINT/SIGTERM, stop. */
export async function runKubelet (o: KubeletOptions): Promise<void> {
  const log = pino({ level: o.logLevel, base: { component: 'kubelet' } }, pino.destination(2))
  const ac = new AbortController()
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', () => { ac.abort(); resolve() })
    process.once('SIGTERM', () => { ac.abort(); resolve() })
  })
  let k: Kubelet
  try {
    k = await startKubelet(o, log, ac.signal)
  } catch (e) {
    // A signal during start-up is a clean stop, not a failure.
    if (ac.signal.aborted) return
    throw e
  }
  await stopped
  await k.stop()
}
