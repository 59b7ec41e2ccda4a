/** Errors of `weft scheduler` with stable codes (docs/errors.md, "Scheduler errors"). */

const kSchedulerError = Symbol.for('weft.SchedulerError')

export const schedulerErrorCodes = {
  SCHED_ERR_FLAGS: 'invalid command-line flags',
  SCHED_ERR_QUANTITY: 'a resource quantity does not parse',
  SCHED_ERR_BIND: 'the API server refused or failed a binding',
  SCHED_ERR_LEADER: 'leader election lost or impossible'
} as const

export type SchedulerErrorCode = keyof typeof schedulerErrorCodes

export class SchedulerError extends Error {
  readonly code: SchedulerErrorCode
  constructor (code: SchedulerErrorCode, message: string, opts?: { cause?: unknown }) {
    super(message, opts?.cause !== undefined ? { cause: opts.cause } : undefined)
    this.name = 'SchedulerError'
    this.code = code
  }

  get [kSchedulerError] (): true { return true }
  static override [Symbol.hasInstance] (v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[kSchedulerError] === true
  }
}
