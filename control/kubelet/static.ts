/**
 * Static pods (pkg/kubelet/config/file.go, pod/mirror_client.go): every
 * `*.yaml|*.yml|*.json` Pod in --static-pod-path runs on this node as
 * `<name>-<node>` without the API server; the kubelet mirrors each into the
 * API as a mirror pod (annotations kubernetes.io/config.mirror, .source=file,
 * .hash; owner: the Node) and writes its status there. Deleting the mirror pod
 * does not stop the static pod: it is recreated.
 */
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { Logger } from 'pino'
import YAML from 'yaml'
import type { KubeClient } from '../client/index.js'
import { KubeletError } from './errors.js'

export type Obj = Record<string, unknown>

export const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror'
export const SOURCE_ANNOTATION = 'kubernetes.io/config.source'
export const HASH_ANNOTATION = 'kubernetes.io/config.hash'

/** A manifest as the kubelet runs it: renamed `<name>-<node>`, bound, uid = the config hash. Pure. */
export function staticPod (file: string, text: string, nodeName: string): Obj {
  let doc: unknown
  try { doc = file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text) } catch (e) { throw new KubeletError('KUBELET_ERR_STATIC_POD', `${file}: ${(e as Error).message}`) }
  const o = doc as Obj | null
  if (o === null || typeof o !== 'object' || o.kind !== 'Pod') throw new KubeletError('KUBELET_ERR_STATIC_POD', `${file}: not a Pod (kind ${JSON.stringify(o?.kind)})`)
  const m = (o.metadata ?? {}) as Obj
  if (typeof m.name !== 'string' || m.name === '') throw new KubeletError('KUBELET_ERR_STATIC_POD', `${file}: metadata.name is required`)
  const spec = (o.spec ?? {}) as Obj
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) throw new KubeletError('KUBELET_ERR_STATIC_POD', `${file}: spec.containers is required`)
  const name = `${m.name}-${nodeName}`
  const namespace = typeof m.namespace === 'string' && m.namespace !== '' ? m.namespace : 'default'
  // file.go applyDefaults: the UID is a hash of the manifest, the node and the source.
  const hash = createHash('md5').update(nodeName).update(text).update(file).digest('hex')
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...m,
      name,
      namespace,
      uid: hash,
      annotations: { ...((m.annotations ?? {}) as Obj), [HASH_ANNOTATION]: hash, [SOURCE_ANNOTATION]: 'file', 'kubernetes.io/config.seen': new Date().toISOString() }
    },
    spec: { restartPolicy: 'Always', terminationGracePeriodSeconds: 30, ...spec, nodeName, tolerations: [...((spec.tolerations ?? []) as unknown[]), { operator: 'Exists', effect: 'NoExecute' }] },
    status: {}
  }
}

/** The mirror pod posted to the API server for a static pod. Pure. */
export function mirrorPod (pod: Obj, nodeName: string, nodeUid: string): Obj {
  const m = pod.metadata as Obj
  const { uid: _u, ...rest } = m
  const hash = String(((m.annotations ?? {}) as Obj)[HASH_ANNOTATION])
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...rest,
      annotations: { ...((m.annotations ?? {}) as Obj), [MIRROR_ANNOTATION]: hash },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid, controller: true }]
    },
    spec: pod.spec
  }
}

interface Runner { kick: () => void, removed: boolean, pod: Obj, update: (p: Obj) => void }

export class StaticPods {
  #timer: NodeJS.Timeout | undefined
  readonly #pods = new Map<string, { pod: Obj, worker: Runner }>()
  readonly #warned = new Set<string>()
  constructor (readonly o: { dir: string, nodeName: string, nodeUid: string, client: KubeClient, log: Logger, everyMs?: number }) {}

  isMirror (p: Obj): boolean { return ((((p.metadata as Obj).annotations ?? {}) as Obj)[MIRROR_ANNOTATION]) !== undefined }

  /** Status writes go to the mirror pod; failures (no mirror pod yet, refused) are logged, never retried in a loop. */
  statusClient (c: KubeClient): Pick<KubeClient, 'patch' | 'delete'> {
    return {
      patch: async (...args: Parameters<KubeClient['patch']>) => {
        try { return await c.patch(...args) } catch (e) { this.#warnOnce(`status:${String(args[0].name)}`, e); return {} }
      },
      delete: async () => ({})
    }
  }

  #warnOnce (key: string, e: unknown): void {
    if (this.#warned.has(key)) return
    this.#warned.add(key)
    this.o.log.warn({ what: key, err: (e as Error).message }, 'static pod: API request failed (logged once)')
  }

  start (h: { run: (p: Obj) => Runner }): void {
    const tick = (): void => { void this.#scan(h).catch((e: unknown) => { this.o.log.warn({ err: (e as Error).message }, 'static pod scan failed') }) }
    tick()
    this.#timer = setInterval(tick, this.o.everyMs ?? 20_000)
  }

  stop (): void { if (this.#timer !== undefined) clearInterval(this.#timer) }

  async #scan (h: { run: (p: Obj) => Runner }): Promise<void> {
    let names: string[] = []
    try { names = fs.readdirSync(this.o.dir).filter((n) => /\.(ya?ml|json)$/.test(n) && !n.startsWith('.')).sort() } catch { names = [] }
    const seen = new Set<string>()
    for (const n of names) {
      const file = path.join(this.o.dir, n)
      let pod: Obj
      try { pod = staticPod(file, fs.readFileSync(file, 'utf8'), this.o.nodeName) } catch (e) { this.#warnOnce(`manifest:${file}:${(e as Error).message}`, e); continue }
      const uid = String((pod.metadata as Obj).uid)
      seen.add(uid)
      if (!this.#pods.has(uid)) {
        this.o.log.info({ pod: `${String((pod.metadata as Obj).namespace)}/${String((pod.metadata as Obj).name)}`, file }, 'static pod added')
        this.#pods.set(uid, { pod, worker: h.run(pod) })
      }
      await this.#ensureMirror(pod)
    }
    for (const [uid, e] of [...this.#pods]) {
      if (seen.has(uid)) continue
      this.#pods.delete(uid)
      e.worker.removed = true
      e.worker.kick()
      const m = e.pod.metadata as Obj
      await this.o.client.delete({ resource: 'pods', namespace: String(m.namespace), name: String(m.name) }, { gracePeriodSeconds: 0 }).catch(() => {})
    }
  }

  async #ensureMirror (pod: Obj): Promise<void> {
    const m = pod.metadata as Obj
    const ref = { resource: 'pods', namespace: String(m.namespace), name: String(m.name) }
    try {
      const cur = await this.o.client.get(ref)
      const cm = cur.metadata as Obj
      const hash = (((cm.annotations ?? {}) as Obj)[MIRROR_ANNOTATION])
      // A deleted or outdated mirror pod is replaced (mirror_client.go).
      if (cm.deletionTimestamp != null || hash !== ((m.annotations ?? {}) as Obj)[HASH_ANNOTATION]) {
        await this.o.client.delete(ref, { gracePeriodSeconds: 0, preconditions: { uid: String(cm.uid) } }).catch(() => {})
      }
      return
    } catch (e) {
      if ((e as { status?: number }).status !== 404) { this.#warnOnce(`get:${ref.name}`, e); return }
    }
    try {
      await this.o.client.create({ resource: 'pods', namespace: ref.namespace }, mirrorPod(pod, this.o.nodeName, this.o.nodeUid))
    } catch (e) { this.#warnOnce(`mirror:${ref.name}`, e) }
  }
}
