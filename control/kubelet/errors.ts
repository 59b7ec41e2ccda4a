/**
 * Errors of `weft kubelet`, with stable codes (docs/errors.md, "Kubelet errors").
 */
const kKubeletError = Symbol.for('weft.KubeletError')

export const kubeletErrorCodes = {
  /** Command-line flags are invalid. */
  KUBELET_ERR_FLAGS: 'invalid flags',
  /** The CNI configuration directory holds no usable network configuration. */
  KUBELET_ERR_CNI_CONFIG: 'no usable CNI network configuration',
  /** A CNI ADD or DEL of a pod sandbox failed. */
  KUBELET_ERR_CNI: 'a CNI operation on a pod sandbox failed',
  /** Creating or removing a pod's network namespace failed. */
  KUBELET_ERR_SANDBOX: 'the pod sandbox could not be created or removed',
  /** The container's image is not one of Weft's built-in images. */
  KUBELET_ERR_IMAGE: 'the image is not a built-in image',
  /** The container's process could not be started. */
  KUBELET_ERR_START: 'the container could not be started',
  /** A static pod manifest does not parse or is not a Pod. */
  KUBELET_ERR_STATIC_POD: 'an invalid static pod manifest',
  /** The API server refused or failed a request the kubelet needs (node registration, status). */
  KUBELET_ERR_API: 'an API server request failed'
} as const

export type KubeletErrorCode = keyof typeof kubeletErrorCodes

export class KubeletError extends Error {
  readonly code: KubeletErrorCode
  constructor (code: KubeletErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined)
    this.name = 'KubeletError'
    this.code = code
  }

  get [kKubeletError] (): true { return true }
  static override [Symbol.hasInstance] (v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kKubeletError] === true
  }
}
