/**
 * Ports of apimachinery's `util/duration` (HumanDuration, ShortHumanDuration)
 * and the printers' `translateTimestampSince`: the AGE and "ago" texts kubectl
 * shows. Durations are in milliseconds; Go truncates toward zero everywhere.
 */

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE

const trunc = (n: number): number => Math.trunc(n)

/** `duration.HumanDuration`: about 2-3 significant figures ("2m30s", "5h4m", "3d1h", "2y45d"). */
export function humanDuration (ms: number): string {
  // Up to 2 s in the future is clock skew and reads as "0s"; more is invalid.
  const seconds = trunc(ms / SECOND)
  if (seconds < -1) return '<invalid>'
  if (seconds < 0) return '0s'
  if (seconds < 60 * 2) return `${seconds}s`
  const minutes = trunc(ms / MINUTE)
  if (minutes < 10) {
    const s = seconds % 60
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`
  }
  if (minutes < 60 * 3) return `${minutes}m`
  const hours = trunc(ms / HOUR)
  if (hours < 8) {
    const m = minutes % 60
    return m === 0 ? `${hours}h` : `${hours}h${m}m`
  }
  if (hours < 48) return `${hours}h`
  if (hours < 24 * 8) {
    const h = hours % 24
    return h === 0 ? `${trunc(hours / 24)}d` : `${trunc(hours / 24)}d${h}h`
  }
  if (hours < 24 * 365 * 2) return `${trunc(hours / 24)}d`
  if (hours < 24 * 365 * 8) {
    const dy = trunc(hours / 24) % 365
    return dy === 0 ? `${trunc(hours / 24 / 365)}y` : `${trunc(hours / 24 / 365)}y${dy}d`
  }
  return `${trunc(hours / 24 / 365)}y`
}

/** `duration.ShortHumanDuration`: one unit only ("45s", "12m", "3h", "20d", "2y"). */
export function shortHumanDuration (ms: number): string {
  const seconds = trunc(ms / SECOND)
  if (seconds < -1) return '<invalid>'
  if (seconds < 0) return '0s'
  if (seconds < 60) return `${seconds}s`
  const minutes = trunc(ms / MINUTE)
  if (minutes < 60) return `${minutes}m`
  const hours = trunc(ms / HOUR)
  if (hours < 24) return `${hours}h`
  if (hours < 24 * 365) return `${trunc(hours / 24)}d`
  return `${trunc(ms / HOUR / 24 / 365)}y`
}

/** Milliseconds since the epoch of an RFC 3339 timestamp, or undefined when absent or unparsable (Go's zero Time). */
export function parseTime (ts: unknown): number | undefined {
  if (typeof ts !== 'string' || ts === '') return undefined
  const ms = Date.parse(ts)
  return Number.isNaN(ms) ? undefined : ms
}

/** The printers' `translateTimestampSince`: `<unknown>` for a zero time, else HumanDuration(now - ts). */
export function translateTimestampSince (ts: unknown, now: Date): string {
  const ms = parseTime(ts)
  if (ms === undefined) return '<unknown>'
  return humanDuration(now.getTime() - ms)
}
