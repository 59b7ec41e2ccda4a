/**
 * The kubelet's container runtime: pod sandboxes (a network namespace named
 * `wtp-<id>` attached with CNI exactly as libcni does, its result cached
 * under `<root-dir>/cni-cache`) and containers as process groups started
 * straight inside the sandbox's namespace (setns on the spawning thread, no
 * `ip netns exec`). Every sandbox is recorded under `<root-dir>/sandboxes` so
 * a restarted kubelet can tear down what a previous one left.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { Logger } from 'pino'
import { LinuxNetNS } from '../../kernel/index.js'
import { CniRuntime, systemPath } from '../../cni/runtime/index.js'
import type { NetworkList } from '../../cni/runtime/index.js'
import { KubeletError } from './errors.js'
import { podIpsOf } from './cniconf.js'

export interface SandboxRecord {
  id: string
  uid: string
  namespace: string
  name: string
  /** netns name under /run/netns; '' for hostNetwork pods. */
  netns: string
  /** The network list it was attached with ('' for hostNetwork). */
  network: string
  /** The list itself, for DEL after a config change. */
  list?: NetworkList
  ifName: string
  podIPs: string[]
}

export interface RuntimeInit {
  rootDir: string
  cniBinDirs: string[]
  log: Logger
}

export const SANDBOX_ENV = 'WEFT_SANDBOX_ID'

/**
 * Pod namespaces are pinned in the mount namespace the kubelet was started
 * from. `ip netns exec <node> weft kubelet` runs the kubelet in a private
 * mount namespace (a slave of the caller's): a bind mount made there would be
 * invisible to the host (`ip netns list`, test sweeps) and vanish with the
 * kubelet. So when the parent's mount namespace differs, `ip netns add|delete`
 * run in it through nsenter; the shared /run/netns propagates the mount back
 * into ours.
 */
export class PodNetns {
  readonly ns = new LinuxNetNS()
  readonly #hostMnt: number | undefined
  constructor () {
    // WEFT_KUBELET_HOST_MNTNS names the mount namespace explicitly (e.g. /proc/<pid of weft up>/ns/mnt) for
    // callers whose process may be gone by the time the kubelet starts.
    const target = process.env.WEFT_KUBELET_HOST_MNTNS ?? `/proc/${process.ppid}/ns/mnt`
    try {
      const self = fs.readlinkSync('/proc/self/ns/mnt')
      const parent = fs.readlinkSync(target)
      if (self !== parent) this.#hostMnt = fs.openSync(target, 'r')
    } catch { this.#hostMnt = undefined }
  }

  /** The last failure of a host-side removal (for the log). */
  lastError = ''

  get viaHost (): boolean { return this.#hostMnt !== undefined }

  /** `ip <args>` in the parent's mount namespace (async: a loaded node must not stall every other pod on it). */
  async #inHost (args: string[]): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('/usr/bin/nsenter', ['--mount=/proc/self/fd/3', '--', 'ip', ...args], { env: { PATH: systemPath() }, stdio: ['ignore', 'ignore', 'pipe', this.#hostMnt as number] })
      let stderr = ''
      child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
      const timer = setTimeout(() => { child.kill('SIGKILL') }, 10_000)
      child.on('error', (e) => { clearTimeout(timer); reject(Object.assign(e, { stderr })) })
      child.on('close', (code) => { clearTimeout(timer); if (code === 0) resolve(); else reject(Object.assign(new Error(`exit ${String(code)}`), { stderr })) })
    })
  }

  async create (name: string): Promise<string> {
    if (this.#hostMnt === undefined) return this.ns.create(name)
    const p = this.ns.pathOf(name)
    try { await this.#inHost(['netns', 'add', name]) } catch (e) { throw new Error(`ip netns add ${name}: ${String((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}`) }
    if (!this.ns.exists(p)) throw new Error(`${p} did not appear in the kubelet's mount namespace (is /run/netns a shared mount?)`)
    return p
  }

  async remove (name: string): Promise<void> {
    if (this.#hostMnt !== undefined) {
      try { await this.#inHost(['netns', 'delete', name]) } catch (e) { this.lastError = String((e as { stderr?: string }).stderr ?? (e as Error).message).trim() }
    }
    this.ns.remove(name)
  }
}

export class PodRuntime {
  readonly podNetns = new PodNetns()
  readonly netns = this.podNetns.ns
  readonly #cni: CniRuntime
  readonly #init: RuntimeInit
  readonly sandboxDir: string

  constructor (init: RuntimeInit) {
    this.#init = init
    this.sandboxDir = path.join(init.rootDir, 'sandboxes')
    fs.mkdirSync(this.sandboxDir, { recursive: true, mode: 0o700 })
    this.#cni = new CniRuntime({ binDirs: init.cniBinDirs, cacheDir: path.join(init.rootDir, 'cni-cache'), env: { PATH: systemPath() } })
  }

  netnsPath (r: SandboxRecord): string | undefined { return r.netns === '' ? undefined : this.netns.pathOf(r.netns) }

  #save (r: SandboxRecord): void {
    const f = path.join(this.sandboxDir, `${r.id}.json`)
    fs.writeFileSync(`${f}.tmp`, JSON.stringify(r), { mode: 0o600 })
    fs.renameSync(`${f}.tmp`, f)
  }

  /** RunPodSandbox: netns + CNI ADD (args as containerd's CRI plugin passes them); rolls back on failure. */
  async createSandbox (pod: { uid: string, namespace: string, name: string, hostNetwork: boolean }, list: NetworkList | undefined, hostIPs: string[]): Promise<SandboxRecord> {
    const id = randomBytes(32).toString('hex')
    const r: SandboxRecord = { id, uid: pod.uid, namespace: pod.namespace, name: pod.name, netns: '', network: '', ifName: 'eth0', podIPs: [] }
    if (pod.hostNetwork) {
      r.podIPs = hostIPs
      this.#save(r)
      return r
    }
    if (list === undefined) throw new KubeletError('KUBELET_ERR_CNI_CONFIG', 'cni config uninitialized')
    r.netns = `wtp-${id.slice(0, 12)}`
    r.network = list.name
    r.list = list
    let p: string
    const t0 = Date.now()
    try {
      p = await this.podNetns.create(r.netns)
    } catch (e) {
      throw new KubeletError('KUBELET_ERR_SANDBOX', `creating network namespace ${r.netns}: ${(e as Error).message}`, { cause: e })
    }
    // Recorded before CNI ADD: a crash in between still gets cleaned by gc().
    this.#save(r)
    try {
      const nl = this.netns.netlink(p)
      try {
        const lo = nl.linkByName('lo')
        if (lo !== undefined) nl.setLink(lo.index, { up: true })
      } finally { nl.close() }
      const t1 = Date.now()
      const result = await this.#cni.add(list, this.#attachment(r, p))
      this.#init.log.debug({ pod: `${pod.namespace}/${pod.name}`, netnsMs: t1 - t0, cniAddMs: Date.now() - t1 }, 'sandbox timings')
      r.podIPs = podIpsOf(result)
      if (r.podIPs.length === 0) throw new KubeletError('KUBELET_ERR_CNI', `network ${list.name} gave pod ${pod.namespace}/${pod.name} no IP address`)
      this.#save(r)
      return r
    } catch (e) {
      await this.removeSandbox(r).catch(() => {})
      if (e instanceof KubeletError) throw e
      throw new KubeletError('KUBELET_ERR_CNI', `failed to set up sandbox of pod ${pod.namespace}/${pod.name}: ${(e as Error).message}`, { cause: e })
    }
  }

  #attachment (r: SandboxRecord, netnsPath: string): { containerId: string, netns: string, ifName: string, args: Array<[string, string]> } {
    return {
      containerId: r.id,
      netns: netnsPath,
      ifName: r.ifName,
      args: [['IgnoreUnknown', '1'], ['K8S_POD_NAMESPACE', r.namespace], ['K8S_POD_NAME', r.name], ['K8S_POD_INFRA_CONTAINER_ID', r.id], ['K8S_POD_UID', r.uid]]
    }
  }

  /** StopPodSandbox + RemovePodSandbox: CNI DEL with the cached result, netns removal, record removal. Idempotent. */
  async removeSandbox (r: SandboxRecord): Promise<void> {
    if (r.netns !== '' && r.list !== undefined) {
      const p = this.netns.pathOf(r.netns)
      // DEL even when the namespace is gone: the plugins release IPAM and host-side state (CNI SPEC: DEL must tolerate it).
      await this.#cni.del(r.list, { ...this.#attachment(r, this.netns.exists(p) ? p : ''), netns: this.netns.exists(p) ? p : '' })
      if (this.netns.exists(p) || fs.existsSync(p)) {
        try { await this.podNetns.remove(r.netns) } catch (e) { throw new KubeletError('KUBELET_ERR_SANDBOX', `removing network namespace ${r.netns}: ${(e as Error).message}`, { cause: e }) }
        if (this.podNetns.lastError !== '') { this.#init.log.debug({ netns: r.netns, err: this.podNetns.lastError }, 'host-side netns removal failed'); this.podNetns.lastError = '' }
      }
    }
    try { fs.unlinkSync(path.join(this.sandboxDir, `${r.id}.json`)) } catch { /* already gone */ }
  }

  /** Sandboxes a previous kubelet left: their processes are killed and their networking torn down. */
  async gc (): Promise<string[]> {
    const gone: string[] = []
    for (const f of fs.readdirSync(this.sandboxDir).filter((n) => n.endsWith('.json'))) {
      let r: SandboxRecord
      try { r = JSON.parse(fs.readFileSync(path.join(this.sandboxDir, f), 'utf8')) as SandboxRecord } catch { fs.rmSync(path.join(this.sandboxDir, f), { force: true }); continue }
      killSandboxProcesses(r.id)
      try {
        await this.removeSandbox(r)
      } catch (e) {
        this.#init.log.warn({ sandbox: r.id, pod: `${r.namespace}/${r.name}`, err: (e as Error).message }, 'stale sandbox cleanup failed; removing its namespace anyway')
        if (r.netns !== '') try { await this.podNetns.remove(r.netns) } catch {}
        fs.rmSync(path.join(this.sandboxDir, f), { force: true })
      }
      gone.push(r.id)
    }
    return gone
  }

  /**
   * Starts a process group inside the sandbox's namespace. The fork happens
   * synchronously on this thread while it sits in the namespace, so the child
   * is born there.
   */
  spawnIn (r: SandboxRecord, argv: string[], opts: { env: Record<string, string>, cwd?: string }): ChildProcess {
    const [cmd, ...args] = argv
    if (cmd === undefined) throw new KubeletError('KUBELET_ERR_START', 'empty command')
    const env = { ...opts.env, [SANDBOX_ENV]: r.id }
    const go = (): ChildProcess => spawn(cmd, args, { env, cwd: opts.cwd ?? '/', detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    const p = this.netnsPath(r)
    return p === undefined ? go() : this.netns.run(p, go)
  }
}

/** Kills every process that carries `WEFT_SANDBOX_ID=<id>` in its environment (leftovers of a crashed kubelet). */
export function killSandboxProcesses (id: string): number {
  let n = 0
  const needle = `${SANDBOX_ENV}=${id}`
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue
    let env: string
    try { env = fs.readFileSync(`/proc/${d}/environ`, 'latin1') } catch { continue }
    if (env.split('\0').includes(needle)) {
      try { process.kill(Number(d), 'SIGKILL'); n++ } catch {}
    }
  }
  return n
}
