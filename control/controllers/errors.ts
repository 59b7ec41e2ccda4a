/** Controller-manager errors with stable codes (docs/errors.md, "Controller-manager errors"). */

const kControllerError = Symbol.for('weft.ControllerError')

export const controllerErrorCodes = {
  CTRL_ERR_CONTROLLERS_INVALID_CIDR: 'a --cluster-cidr entry or mask size is not usable',
  CTRL_ERR_CONTROLLERS_CIDR_EXHAUSTED: 'every node CIDR of the cluster CIDR is in use',
  CTRL_ERR_CONTROLLERS_INVALID_FLAG: 'a flag value cannot be parsed',
  CTRL_ERR_CONTROLLERS_UNKNOWN_CONTROLLER: 'a --controllers entry names no controller',
  CTRL_ERR_CONTROLLERS_SYNC_TIMEOUT: 'the informers did not list in time'
} as const

export type ControllerErrorCode = keyof typeof controllerErrorCodes

export class ControllerError extends Error {
  readonly code: ControllerErrorCode
  constructor (code: ControllerErrorCode, message: string, opts?: { cause?: unknown }) {
    super(message, opts?.cause !== undefined ? { cause: opts.cause } : undefined)
    this.name = 'ControllerError'
    this.code = code
  }

  get [kControllerError] (): true { return true }
  static override [Symbol.hasInstance] (v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kControllerError] === true
  }
}
