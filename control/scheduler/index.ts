/** control/scheduler: `weft scheduler`, a kube-scheduler with upstream's default filter and score plugins. */
import type { Logger } from 'pino'
import { startScheduler } from './scheduler.js'
import type { SchedulerOptions } from './scheduler.js'

export { startScheduler } from './scheduler.js'
export type { RunningScheduler, SchedulerOptions, SchedulerStats } from './scheduler.js'
export { schedulePod, scoreNodes, numFeasibleNodesToFind, fitMessage, FitError, defaultProfile } from './framework.js'
export type { Profile, ScheduleResult, ScanCursor } from './framework.js'
export * as plugins from './plugins.js'
export { parsePod, parseNode, parseQuantity, resourceAmount, addPod, removePod } from './model.js'
export type { PodInfo, NodeInfo } from './model.js'
export { SchedulingQueue } from './queue.js'
export { SchedulerCache } from './cache.js'
export { SchedulerError, schedulerErrorCodes } from './errors.js'
export type { SchedulerErrorCode } from './errors.js'

/** Go-style duration ("15s", "500ms", "1m30s") in milliseconds. */
export function parseDuration (v: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g
  let total = 0
  let consumed = 0
  for (const m of v.matchAll(re)) {
    const n = Number(m[1])
    total += n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as Record<string, number>)[m[2] as string]!
    consumed += m[0].length
  }
  if (consumed !== v.length || v === '') throw new Error(`"${v}" is not a duration (e.g. 15s, 500ms)`)
  return total
}

/** The daemon: runs until SIGINT/SIGTERM (exit 0) or until the lease is lost (rejects). */
export async function runScheduler (opts: SchedulerOptions, log: Logger): Promise<void> {
  const s = await startScheduler(opts, log)
  const onSignal = (sig: string): void => { log.info({ sig }, 'stopping'); void s.stop() }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    await s.done
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
