/** Polling for e2e tests: the shared `waitFor`. */

/**
 * Calls `fn` every 50 ms until it returns something other than undefined or
 * false, and resolves with that; throws after `timeoutMs`, naming `what` and
 * the last error `fn` threw.
 */
export async function waitFor<T> (what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v !== undefined && v !== false) return v
    } catch (e) { last = e }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last !== undefined ? `: ${(last as Error).message}` : ''}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
