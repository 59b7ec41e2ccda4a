/**
 * The container restart back-off (kuberuntime doBackOff with
 * flowcontrol.Backoff): the first restart is immediate; each later one waits
 * `initial` doubling up to `max`, counted from when the container finished;
 * the entry is forgotten once a container ran longer than 2 × max.
 */
export interface BackoffEntry { backoffMs: number, lastUpdateMs: number }

export interface BackoffConfig { initialMs: number, maxMs: number }

export const DEFAULT_BACKOFF: BackoffConfig = { initialMs: 10_000, maxMs: 300_000 }

/**
 * Decide for a finished container: `wait` ms before the restart may happen
 * (0: restart now), and the entry to keep once it does restart.
 */
export function restartDecision (entry: BackoffEntry | undefined, finishedAtMs: number, nowMs: number, cfg: BackoffConfig): { waitMs: number, next: BackoffEntry } {
  const fresh = entry === undefined || finishedAtMs - entry.lastUpdateMs > 2 * cfg.maxMs
  if (fresh) return { waitMs: 0, next: { backoffMs: cfg.initialMs, lastUpdateMs: nowMs } }
  const until = finishedAtMs + entry.backoffMs
  if (nowMs < until) return { waitMs: until - nowMs, next: entry }
  return { waitMs: 0, next: { backoffMs: Math.min(entry.backoffMs * 2, cfg.maxMs), lastUpdateMs: nowMs } }
}

/** Go's duration text for the CrashLoopBackOff message ("back-off 10s ..."; "5m0s"). */
export function goDuration (ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  return `${Math.floor(s / 60)}m${s % 60}s`
}
