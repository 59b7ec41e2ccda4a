/**
 * One pod's worker (pkg/kubelet/pod_workers.go): every change of the pod or
 * of what runs for it kicks a sync; syncs of one pod never overlap. A sync
 * makes the sandbox, starts or restarts containers as restartPolicy and the
 * back-off allow, and writes the status when it changed; a pod being deleted
 * is terminated (SIGTERM, grace, SIGKILL, CNI DEL, netns removal) and then
 * deleted with gracePeriodSeconds=0.
 */
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { Logger } from 'pino'
import type { KubeClient } from '../client/index.js'
import type { NetworkList } from '../../cni/runtime/index.js'
import { KubeletError } from './errors.js'
import { imageIdOf, programFor } from './images.js'
import type { ContainerSpec } from './images.js'
import { goDuration, restartDecision } from './backoff.js'
import type { BackoffConfig, BackoffEntry } from './backoff.js'
import { logPath, pipeToLog } from './logs.js'
import { ProbeWorker } from './probes.js'
import type { ProbeResult, ProbeSpec } from './probes.js'
import type { PodRuntime, SandboxRecord } from './runtime.js'
import { podStatus } from './status.js'
import type { EventSink } from './events.js'
import type { ContainerState, ContainerStatus, PodCondition, Terminated } from './status.js'

export type Obj = Record<string, unknown>

export interface WorkerDeps {
  client: Pick<KubeClient, 'patch' | 'delete'>
  runtime: PodRuntime
  log: Logger
  nodeName: string
  hostIPs: string[]
  rootDir: string
  /** The pod network, or undefined while the CNI conf dir has none. */
  network: () => NetworkList | undefined
  backoff: BackoffConfig
  /** argv prefix running a built-in image's program (`weft image <name>`, or its direct entry point). */
  imageArgv: (image: 'echo') => string[]
  events: EventSink
  /** Called once the pod is terminated and its worker can be dropped. */
  onDone: (uid: string) => void
}

interface Ctr {
  spec: ContainerSpec & Obj
  state: ContainerState
  lastState: ContainerState | Record<string, never>
  restartCount: number
  containerID?: string | undefined
  proc?: ChildProcess | undefined
  exited?: Promise<void> | undefined
  backoff?: BackoffEntry | undefined
  /** When the last run ended, in ms (finishedAt has whole seconds only). */
  finishedAtMs?: number | undefined
  probes: ProbeWorker[]
  startup?: ProbeResult | undefined
  readiness?: ProbeResult | undefined
  /** Set when the kubelet itself stops the container (liveness, deletion): no restart bookkeeping races. */
  killing?: string | undefined
}

const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
const meta = (o: Obj): Obj => (o.metadata ?? {}) as Obj
const signalNumbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 }

export class PodWorker {
  pod: Obj
  readonly uid: string
  readonly namespace: string
  readonly name: string
  /** The pod is no longer in the API (deleted or force-deleted). */
  removed = false
  sandbox: SandboxRecord | undefined
  readonly containers = new Map<string, Ctr>()
  #startTime: string | undefined
  #lastStatus = ''
  #running = false
  #dirty = false
  #timer: NodeJS.Timeout | undefined
  #terminated = false
  #sandboxError: string | undefined
  readonly #d: WorkerDeps
  readonly #log: Logger

  constructor (pod: Obj, deps: WorkerDeps) {
    this.pod = pod
    this.uid = String(meta(pod).uid)
    this.namespace = String(meta(pod).namespace ?? 'default')
    this.name = String(meta(pod).name)
    this.#d = deps
    this.#log = deps.log.child({ pod: `${this.namespace}/${this.name}` })
    const prev = ((pod.status ?? {}) as Obj).startTime
    if (typeof prev === 'string') this.#startTime = prev
  }

  get spec (): Obj { return (this.pod.spec ?? {}) as Obj }
  get hostNetwork (): boolean { return this.spec.hostNetwork === true }
  get restartPolicy (): 'Always' | 'OnFailure' | 'Never' { return (this.spec.restartPolicy as 'Always' | 'OnFailure' | 'Never' | undefined) ?? 'Always' }
  get deleting (): boolean { return this.removed || meta(this.pod).deletionTimestamp != null }
  get terminated (): boolean { return this.#terminated }

  update (pod: Obj): void { this.pod = pod; this.kick() }

  /** Coalescing trigger: at most one sync runs, and one more follows if kicked meanwhile. */
  kick (): void {
    this.#dirty = true
    if (this.#running) return
    this.#running = true
    void (async () => {
      while (this.#dirty) {
        this.#dirty = false
        try { await this.#sync() } catch (e) {
          this.#log.error({ err: (e as Error).message, code: (e as { code?: string }).code }, 'pod sync failed; retrying')
          this.#later(2000)
        }
      }
      this.#running = false
    })()
  }

  /** A sync in `ms` at the latest; an earlier one already due is kept (several containers may be backing off). */
  #later (ms: number): void {
    const at = Date.now() + ms
    if (this.#timer !== undefined) {
      if (this.#timerAt <= at) return
      clearTimeout(this.#timer)
    }
    this.#timerAt = at
    this.#timer = setTimeout(() => { this.#timer = undefined; this.kick() }, ms)
  }

  #timerAt = 0

  #event (type: 'Normal' | 'Warning', reason: string, message: string, c?: Ctr): void {
    const init = c !== undefined && this.#initSpecs().some((s) => s.name === c.spec.name)
    this.#d.events.emit({ namespace: this.namespace, name: this.name, uid: this.uid }, type, reason, message, c !== undefined ? { name: c.spec.name, init } : undefined)
  }

  #specs (): Array<ContainerSpec & Obj> { return ((this.spec.containers ?? []) as Array<ContainerSpec & Obj>) }
  #initSpecs (): Array<ContainerSpec & Obj> { return ((this.spec.initContainers ?? []) as Array<ContainerSpec & Obj>) }

  /** Runs init containers in order; true once all are done (sidecars: started). */
  #runInit (): boolean {
    for (const s of this.#initSpecs()) {
      const c = this.#ctr(s)
      if (s.restartPolicy === 'Always') {
        this.#reconcile(c, 'Always')
        if (c.proc === undefined || (s.startupProbe !== undefined && c.startup !== 'success')) return false
        continue
      }
      if ('terminated' in c.state && c.state.terminated.exitCode === 0) continue
      this.#reconcile(c, this.restartPolicy === 'Never' ? 'Never' : 'OnFailure')
      return false
    }
    return true
  }

  #ctr (spec: ContainerSpec & Obj): Ctr {
    let c = this.containers.get(spec.name)
    if (c === undefined) {
      c = { spec, state: { waiting: { reason: 'ContainerCreating' } }, lastState: {}, restartCount: 0, probes: [] }
      this.containers.set(spec.name, c)
    }
    return c
  }

  #phase (): string {
    const s = this.#status()
    return String(s.phase)
  }

  async #sync (): Promise<void> {
    if (this.#terminated || this.#halted) return
    if (this.deleting) { await this.#terminate(); return }
    this.#startTime ??= now()
    const terminal = (): boolean => { const p = this.#phase(); return p === 'Succeeded' || p === 'Failed' }
    if (this.sandbox === undefined && !terminal()) {
      for (const s of [...this.#initSpecs(), ...this.#specs()]) this.#ctr(s)
      const list = this.#d.network()
      if (!this.hostNetwork && list === undefined) {
        this.#sandboxError = 'network is not ready: container runtime network not ready: cni config uninitialized'
        await this.#writeStatus()
        return
      }
      const t0 = Date.now()
      try {
        this.sandbox = await this.#d.runtime.createSandbox({ uid: this.uid, namespace: this.namespace, name: this.name, hostNetwork: this.hostNetwork }, list, this.#d.hostIPs)
        this.#sandboxError = undefined
        this.#log.info({ sandbox: this.sandbox.id.slice(0, 12), netns: this.sandbox.netns, ips: this.sandbox.podIPs, ms: Date.now() - t0, sinceSeen: Date.now() - this.#seenAt }, 'sandbox ready')
      } catch (e) {
        this.#sandboxError = (e as Error).message
        this.#log.warn({ err: this.#sandboxError, code: (e as { code?: string }).code }, 'creating the pod sandbox failed; retrying')
        this.#event('Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${this.#sandboxError}`)
        await this.#writeStatus()
        this.#later(2000)
        return
      }
      if (this.deleting) { await this.#terminate(); return }
    }
    if (this.sandbox !== undefined && !terminal()) {
      if (this.#runInit()) {
        for (const s of this.#specs()) this.#reconcile(this.#ctr(s))
      } else {
        for (const s of this.#specs()) {
          const c = this.#ctr(s)
          if ('waiting' in c.state && c.state.waiting.reason === 'ContainerCreating') c.state = { waiting: { reason: 'PodInitializing' } }
        }
      }
    }
    // A finished pod's sidecars are stopped (they would keep it from completing).
    if (terminal()) for (const c of this.containers.values()) if (c.proc !== undefined && c.killing === undefined) void this.#kill(c, this.#grace(), 'completed')
    if (terminal() && this.sandbox !== undefined && [...this.containers.values()].every((c) => c.proc === undefined)) {
      // A finished pod keeps no sandbox (SyncTerminatingPod for a completed pod).
      const sb = this.sandbox
      await this.#d.runtime.removeSandbox(sb)
      this.sandbox = undefined
      this.#keptIPs = sb.podIPs
    }
    await this.#writeStatus()
  }

  #keptIPs: string[] = []
  readonly #seenAt = Date.now()
  /** The kubelet is shutting down: nothing is started any more. */
  #halted = false

  #reconcile (c: Ctr, policy: 'Always' | 'OnFailure' | 'Never' = this.restartPolicy): void {
    if (c.proc !== undefined || c.killing !== undefined) return
    if ('waiting' in c.state && c.state.waiting.reason === 'ErrImagePull') return
    const last = 'terminated' in c.state ? c.state.terminated : 'terminated' in c.lastState && 'waiting' in c.state && c.state.waiting.reason === 'CrashLoopBackOff' ? c.lastState.terminated : undefined
    if (last === undefined) { this.#start(c); return }
    const restart = policy === 'Always' || (policy === 'OnFailure' && last.exitCode !== 0)
    if (!restart) return
    const d = restartDecision(c.backoff, c.finishedAtMs ?? Date.parse(last.finishedAt), Date.now(), this.#d.backoff)
    if (d.waitMs > 0) {
      if (!('waiting' in c.state && c.state.waiting.reason === 'CrashLoopBackOff')) this.#event('Warning', 'BackOff', `Back-off restarting failed container ${c.spec.name} in pod ${this.name}_${this.namespace}(${this.uid})`, c)
      c.lastState = { terminated: last }
      c.state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${goDuration(c.backoff?.backoffMs ?? 0)} restarting failed container=${c.spec.name} pod=${this.name}_${this.namespace}(${this.uid})` } }
      this.#later(d.waitMs + 5)
      return
    }
    c.backoff = d.next
    this.#start(c)
  }

  #env (c: Ctr): Record<string, string> {
    const podIP = this.sandbox?.podIPs[0] ?? ''
    const fields: Record<string, string> = {
      'metadata.name': this.name,
      'metadata.namespace': this.namespace,
      'metadata.uid': this.uid,
      'spec.nodeName': this.#d.nodeName,
      'spec.serviceAccountName': String(this.spec.serviceAccountName ?? 'default'),
      'status.podIP': podIP,
      'status.podIPs': (this.sandbox?.podIPs ?? []).join(','),
      'status.hostIP': this.#d.hostIPs[0] ?? '',
      'status.hostIPs': this.#d.hostIPs.join(',')
    }
    const env: Record<string, string> = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOSTNAME: this.hostNetwork ? this.#d.nodeName : this.name,
      WEFT_POD_NAME: this.name,
      WEFT_POD_NAMESPACE: this.namespace,
      WEFT_POD_UID: this.uid,
      WEFT_POD_IP: podIP,
      WEFT_NODE_NAME: this.#d.nodeName,
      WEFT_CONTAINER_NAME: c.spec.name,
      POD_NAME: this.name,
      POD_NAMESPACE: this.namespace,
      POD_IP: podIP
    }
    for (const e of (c.spec.env ?? []) as Array<{ name: string, value?: string, valueFrom?: { fieldRef?: { fieldPath?: string } } }>) {
      if (e.value !== undefined) env[e.name] = e.value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, n: string | undefined) => m === '$$' ? '$' : n !== undefined && env[n] !== undefined ? env[n] : m)
      else if (e.valueFrom?.fieldRef?.fieldPath !== undefined) {
        const fp = e.valueFrom.fieldRef.fieldPath
        const lbl = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fp)
        if (lbl !== null) env[e.name] = String(((meta(this.pod)[lbl[1] as string] ?? {}) as Obj)[lbl[2] as string] ?? '')
        else env[e.name] = fields[fp] ?? ''
      } else env[e.name] = ''
    }
    return env
  }

  #start (c: Ctr): void {
    const sb = this.sandbox
    if (sb === undefined) return
    const env = this.#env(c)
    let program
    try { program = programFor(c.spec, env) } catch (e) {
      if (e instanceof KubeletError && e.code === 'KUBELET_ERR_IMAGE') {
        c.state = { waiting: { reason: 'ErrImagePull', message: e.message } }
        this.#event('Warning', 'Failed', `Failed to pull image ${JSON.stringify(c.spec.image ?? '')}: ${e.message}`, c)
        this.#event('Warning', 'Failed', 'Error: ErrImagePull', c)
        this.#log.warn({ container: c.spec.name, image: c.spec.image }, e.message)
        return
      }
      throw e
    }
    const restarting = 'terminated' in c.state || ('waiting' in c.state && c.state.waiting.reason === 'CrashLoopBackOff')
    if ('terminated' in c.state) c.lastState = { terminated: c.state.terminated }
    if (restarting) c.restartCount++
    const argv = program.weftImage !== undefined ? [...this.#d.imageArgv(program.weftImage), ...program.argv] : program.argv
    const file = logPath(this.#d.rootDir, this.uid, c.spec.name, c.restartCount)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    const out = fs.createWriteStream(file, { flags: 'a' })
    const id = randomBytes(32).toString('hex')
    c.containerID = `weft://${id}`
    const startedAt = now()
    let proc: ChildProcess
    try {
      const cwd = typeof c.spec.workingDir === 'string' && c.spec.workingDir !== '' ? c.spec.workingDir : undefined
      proc = this.#d.runtime.spawnIn(sb, argv, { env: { ...env, ...program.env }, ...(cwd !== undefined ? { cwd } : {}) })
    } catch (e) {
      out.end()
      c.state = { terminated: { exitCode: 128, reason: 'StartError', message: (e as Error).message, startedAt, finishedAt: now(), containerID: c.containerID } }
      return
    }
    c.proc = proc
    c.state = { running: { startedAt } }
    c.startup = undefined
    c.readiness = undefined
    if (proc.stdout !== null) pipeToLog(proc.stdout, 'stdout', out)
    if (proc.stderr !== null) pipeToLog(proc.stderr, 'stderr', out)
    let spawnError: Error | undefined
    proc.on('error', (e) => { spawnError = e })
    c.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        // The container's other processes go with its main one, as a PID namespace would take them.
        try { if (proc.pid !== undefined) process.kill(-proc.pid, 'SIGKILL') } catch {}
        const exitCode = code ?? (signal !== null ? 128 + (signalNumbers[signal] ?? 0) : 128)
        const t: Terminated = {
          exitCode,
          reason: spawnError !== undefined ? 'StartError' : exitCode === 0 ? 'Completed' : 'Error',
          ...(spawnError !== undefined ? { message: spawnError.message } : {}),
          ...(signal !== null && code === null ? { signal: signalNumbers[signal] ?? 0 } : {}),
          startedAt,
          finishedAt: now(),
          containerID: c.containerID as string
        }
        setTimeout(() => out.end(), 100)
        c.proc = undefined
        c.finishedAtMs = Date.now()
        c.state = { terminated: t }
        c.killing = undefined
        for (const p of c.probes) p.stop()
        c.probes = []
        this.#log.info({ container: c.spec.name, exitCode, signal }, 'container exited')
        resolve()
        this.kick()
      })
    })
    if (proc.pid === undefined) {
      // spawn failed synchronously (ENOENT...): 'exit' follows 'error'.
      this.#log.warn({ container: c.spec.name, argv }, 'container failed to start')
    } else {
      this.#log.info({ container: c.spec.name, pid: proc.pid, restartCount: c.restartCount }, 'container started')
      this.#event('Normal', 'Pulled', `Container image ${JSON.stringify(c.spec.image ?? '')} already present on machine`, c)
      this.#event('Normal', 'Created', `Created container ${c.spec.name}`, c)
      this.#event('Normal', 'Started', `Started container ${c.spec.name}`, c)
    }
    this.#startProbes(c, sb)
  }

  #startProbes (c: Ctr, sb: SandboxRecord): void {
    const target = {
      podIP: sb.podIPs[0] ?? '127.0.0.1',
      ports: (c.spec.ports ?? []) as Array<{ name?: string, containerPort?: number }>,
      spawn: (argv: string[]) => this.#d.runtime.spawnIn(sb, argv, { env: this.#env(c) })
    }
    const proc = c.proc
    const after = (): void => {
      const live = c.spec.livenessProbe as ProbeSpec | undefined
      const ready = c.spec.readinessProbe as ProbeSpec | undefined
      if (live !== undefined) {
        c.probes.push(new ProbeWorker('liveness', live, target, (r, output) => {
          if (r === 'failure' && c.proc === proc) {
            this.#log.info({ container: c.spec.name, output }, 'liveness probe failed; restarting the container')
            this.#event('Warning', 'Unhealthy', `Liveness probe failed: ${output}`, c)
            this.#event('Normal', 'Killing', `Container ${c.spec.name} failed liveness probe, will be restarted`, c)
            void this.#kill(c, this.#grace(), 'liveness')
          }
        }))
      }
      if (ready !== undefined) {
        c.probes.push(new ProbeWorker('readiness', ready, target, (r) => {
          if (c.proc !== proc) return
          if (r === 'failure') this.#event('Warning', 'Unhealthy', 'Readiness probe failed', c)
          c.readiness = r
          this.kick()
        }))
      }
    }
    const startup = c.spec.startupProbe as ProbeSpec | undefined
    if (startup !== undefined) {
      c.probes.push(new ProbeWorker('startup', startup, target, (r, output) => {
        if (c.proc !== proc) return
        c.startup = r
        if (r === 'success') after()
        else {
          this.#log.info({ container: c.spec.name, output }, 'startup probe failed; restarting the container')
          this.#event('Warning', 'Unhealthy', `Startup probe failed: ${output}`, c)
          void this.#kill(c, this.#grace(), 'startup')
        }
        this.kick()
      }))
    } else after()
  }

  #grace (): number {
    const g = this.spec.terminationGracePeriodSeconds
    return typeof g === 'number' ? g : 30
  }

  /** SIGTERM to the container's process group, SIGKILL after `graceSeconds`; resolves when it exited. */
  async #kill (c: Ctr, graceSeconds: number, why: string): Promise<void> {
    const proc = c.proc
    if (proc?.pid === undefined) return
    c.killing = why
    for (const p of c.probes) p.stop()
    const pid = proc.pid
    try { process.kill(-pid, 'SIGTERM') } catch {}
    const killer = setTimeout(() => { try { process.kill(-pid, 'SIGKILL') } catch {} }, Math.max(0, graceSeconds) * 1000)
    await c.exited
    clearTimeout(killer)
  }

  async #terminate (): Promise<void> {
    if (this.#terminated) return
    const m = meta(this.pod)
    const grace = typeof m.deletionGracePeriodSeconds === 'number' ? m.deletionGracePeriodSeconds : this.removed ? Math.min(this.#grace(), 2) : this.#grace()
    await this.stopAll(grace)
    this.#terminated = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    if (!this.removed) {
      try {
        await this.#writeStatus()
        await this.#d.client.delete({ resource: 'pods', namespace: this.namespace, name: this.name }, { gracePeriodSeconds: 0, preconditions: { uid: this.uid } })
        this.#log.info('pod terminated and deleted')
      } catch (e) {
        const st = (e as { status?: number }).status
        if (st !== 404 && st !== 409) {
          this.#terminated = false
          throw e
        }
      }
    }
    this.#d.onDone(this.uid)
  }

  /** Stops every container (grace, then SIGKILL) and removes the sandbox. Used for deletion and kubelet shutdown. */
  async stopAll (graceSeconds: number, halt = false): Promise<void> {
    if (halt) this.#halted = true
    else for (const c of this.containers.values()) if (c.proc !== undefined && c.killing === undefined) this.#event('Normal', 'Killing', `Stopping container ${c.spec.name}`, c)
    await Promise.all([...this.containers.values()].map(async (c) => { await this.#kill(c, graceSeconds, 'terminating') }))
    if (this.sandbox !== undefined) {
      const sb = this.sandbox
      await this.#d.runtime.removeSandbox(sb)
      this.#keptIPs = sb.podIPs
      this.sandbox = undefined
    }
    // On kubelet shutdown the API learns the containers are gone (not ready), so traffic stops going to them.
    if (halt && !this.#terminated && !this.removed) await this.#writeStatus().catch(() => {})
  }

  #containerStatus (c: Ctr, init = false): ContainerStatus {
    const running = 'running' in c.state
    const started = running && (c.spec.startupProbe === undefined || c.startup === 'success')
    const completed = init && 'terminated' in c.state && c.state.terminated.exitCode === 0
    const ready = completed || (started && (c.spec.readinessProbe === undefined || c.readiness === 'success'))
    const image = String(c.spec.image ?? '')
    let imageID = ''
    try { imageID = imageIdOf(programFor({ name: c.spec.name, image }, {}).image) } catch { imageID = '' }
    return {
      name: c.spec.name,
      image,
      imageID,
      ...(c.containerID !== undefined && !('waiting' in c.state && c.state.waiting.reason === 'ErrImagePull') ? { containerID: c.containerID } : {}),
      state: c.state,
      lastState: c.lastState,
      ready,
      started,
      restartCount: c.restartCount
    }
  }

  #status (): Obj {
    const old = (this.pod.status ?? {}) as Obj
    const st = podStatus({
      restartPolicy: this.restartPolicy,
      containerNames: this.#specs().map((s) => s.name),
      initContainers: this.#initSpecs().map((s) => ({ name: s.name, sidecar: s.restartPolicy === 'Always' })),
      readinessGates: ((this.spec.readinessGates ?? []) as Array<{ conditionType: string }>).map((g) => g.conditionType),
      conditions: (old.conditions ?? []) as PodCondition[]
    }, {
      sandboxReady: this.sandbox !== undefined,
      podIPs: this.sandbox?.podIPs ?? this.#keptIPs,
      hostIPs: this.#d.hostIPs,
      startTime: this.#startTime ?? now(),
      containers: this.#specs().map((s) => this.#containerStatus(this.#ctr(s))),
      initContainers: this.#initSpecs().map((s) => this.#containerStatus(this.#ctr(s), true))
    }, now())
    if (typeof old.qosClass === 'string') st.qosClass = old.qosClass
    if (this.#sandboxError !== undefined && this.sandbox === undefined) {
      for (const cs of st.containerStatuses as ContainerStatus[]) {
        if ('waiting' in cs.state && cs.state.waiting.reason === 'ContainerCreating') cs.state = { waiting: { reason: 'ContainerCreating', message: this.#sandboxError } }
      }
    }
    return st
  }

  async #writeStatus (): Promise<void> {
    const status = this.#status()
    const text = JSON.stringify(status)
    if (text === this.#lastStatus) return
    try {
      const t0 = Date.now()
      const res = await this.#d.client.patch({ resource: 'pods', namespace: this.namespace, name: this.name, subresource: 'status' }, { status })
      this.#log.debug({ phase: status.phase, ms: Date.now() - t0, sinceSeen: Date.now() - this.#seenAt }, 'status written')
      this.#lastStatus = text
      // Keep our view of conditions (transition times) in step with what was written.
      if (String(meta(res).uid) === this.uid) this.pod = { ...this.pod, status: res.status }
    } catch (e) {
      if ((e as { status?: number }).status === 404) return
      throw e
    }
  }

  /** Resolves once no sync is in flight (or after `timeoutMs`). */
  async settle (timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs
    while (this.#running && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 20))
  }

  /** The pod with the status the kubelet computes now (the kubelet's /pods). */
  view (): Obj { return { ...this.pod, status: this.#status() } }

  /** For the logs endpoint. */
  logInfo (container: string): { uid: string, restartCount: number, running: boolean } | undefined {
    const c = this.containers.get(container)
    if (c === undefined) return undefined
    return { uid: this.uid, restartCount: c.restartCount, running: c.proc !== undefined }
  }

  dispose (): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    for (const c of this.containers.values()) for (const p of c.probes) p.stop()
  }
}
