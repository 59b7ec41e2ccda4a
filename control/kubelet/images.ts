/**
 * Weft's built-in images. There is no registry and no filesystem image: a
 * container is a process in the pod's network namespace, and its image names
 * which program runs.
 *
 * - `weft/echo[:tag]`: an HTTP server on the first containerPort (8080 when
 *   none) answering with the pod's name and IP (`weft image echo`).
 * - `weft/shell[:tag]`: `command` + `args` run by /bin/sh -c (a bare
 *   `args` list is the script; no command and no args is an idle shell).
 */
import { createHash } from 'node:crypto'
import { KubeletError } from './errors.js'

export const BUILTIN_IMAGES = ['weft/echo', 'weft/shell'] as const
export type BuiltinImage = typeof BUILTIN_IMAGES[number]

/** One line per built-in image (`weft image list`). */
export const BUILTIN_IMAGE_HELP: Record<BuiltinImage, string> = {
  'weft/echo': 'HTTP server on the first containerPort (8080) answering "<pod name> <pod IP>" (weft image echo)',
  'weft/shell': 'command + args under /bin/sh -c; e.g. command: [sleep, "3600"]'
}

/** `docker.io/weft/echo:1.0` → `weft/echo`; undefined when not built in. */
export function builtinOf (image: string): BuiltinImage | undefined {
  let ref = image.replace(/@sha256:[0-9a-f]+$/, '')
  ref = ref.replace(/^(docker\.io|index\.docker\.io)\//, '')
  const colon = ref.lastIndexOf(':')
  if (colon > ref.lastIndexOf('/')) ref = ref.slice(0, colon)
  return (BUILTIN_IMAGES as readonly string[]).includes(ref) ? ref as BuiltinImage : undefined
}

/** The image ID reported in containerStatuses (a stable digest of the image's name). */
export function imageIdOf (image: BuiltinImage): string {
  return `${image}@sha256:${createHash('sha256').update(`weft-builtin:${image}`).digest('hex')}`
}

export interface ContainerSpec {
  name: string
  image?: string
  command?: string[]
  args?: string[]
  ports?: Array<{ containerPort?: number, protocol?: string }>
}

export interface Program {
  image: BuiltinImage
  /** argv; `weftImage` marks an argv to be prefixed with the weft CLI. */
  argv: string[]
  weftImage?: 'echo'
  env: Record<string, string>
}

/** Expands `$(VAR)` references as the kubelet does for command and args (`$$` escapes). */
export function expandVars (s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$'
    return name !== undefined && env[name] !== undefined ? env[name] : m
  })
}

/** What to run for a container, or KUBELET_ERR_IMAGE (the kubelet reports it as ErrImagePull). */
export function programFor (c: ContainerSpec, env: Record<string, string>): Program {
  const image = c.image ?? ''
  const b = builtinOf(image)
  if (b === undefined) {
    throw new KubeletError('KUBELET_ERR_IMAGE', `image ${JSON.stringify(image)} is not one of Weft's built-in images (${BUILTIN_IMAGES.join(', ')})`)
  }
  const command = (c.command ?? []).map((s) => expandVars(s, env))
  const args = (c.args ?? []).map((s) => expandVars(s, env))
  if (b === 'weft/echo') {
    const port = c.ports?.find((p) => (p.protocol ?? 'TCP') === 'TCP' && p.containerPort !== undefined)?.containerPort ?? 8080
    return { image: b, argv: ['--port', String(port), ...args], weftImage: 'echo', env: { WEFT_ECHO_PORT: String(port) } }
  }
  const words = [...command, ...args]
  if (words.length === 0) return { image: b, argv: ['/bin/sh'], env: {} }
  // A command of its own runs as given (a shell image's entrypoint is the shell itself);
  // bare args form the script.
  if (command.length > 0) {
    const first = command[0] as string
    if (/^(\/bin\/|\/usr\/bin\/)?(ba)?sh$/.test(first)) return { image: b, argv: words, env: {} }
    return { image: b, argv: ['/bin/sh', '-c', 'exec "$0" "$@"', ...words], env: {} }
  }
  return { image: b, argv: ['/bin/sh', '-c', args.join(' ')], env: {} }
}
