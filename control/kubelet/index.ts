/**
 * control/kubelet: `weft kubelet` (a node agent running pods as processes in
 * CNI-attached network namespaces) and the programs of Weft's built-in
 * images (`weft image ...`). See docs/kubelet.md.
 */
export { runKubelet, startKubelet, kubeletDefaults, weftArgv } from './kubelet.js'
export type { Kubelet, KubeletOptions } from './kubelet.js'
export { KubeletError, kubeletErrorCodes } from './errors.js'
export type { KubeletErrorCode } from './errors.js'
export { runEcho, echoBody } from './images/echo.js'
export type { EchoOptions } from './images/echo.js'
export { BUILTIN_IMAGES, BUILTIN_IMAGE_HELP, builtinOf, programFor } from './images.js'
export { killSandboxProcesses, SANDBOX_ENV } from './runtime.js'
