/**
 * nftables in-process through libnftables (the library `nft` itself is built on), loaded with koffi. A command then
 * costs what nft does inside (parsing, its cache of the table, the netlink transaction) without starting a process:
 * a one-element change against a 10k-service table measured 32–45 ms here against 49–68 ms for `nft -f -`.
 * Under Bun (the CNI plugins) or where the library is missing, `libNftables()` returns undefined and callers use
 * `linuxNftables()`. The context (and its netlink socket) is made on first use, in the network namespace the
 * process is in then.
 *
 * Scripts over `largeScriptBytes` (a full sync of thousands of services) go to `nft -f -` instead: in-process, the
 * parse of a 9 MB script took the process from ~200 to ~610 MB resident (C heap that glibc keeps), while nft
 * returns it when it exits, and a process start is nothing next to a load of seconds. What stays in-process is
 * nft's cache of the table between commands (~30 MB at 10k services × 10 endpoints), reused while the kernel's
 * ruleset generation is unchanged.
 */
import { createRequire } from 'node:module'
import { linuxNftables, nftablesOver } from '../nftables.js'
import type { Nftables } from '../nftables.js'

declare const Bun: unknown

const LIB = 'libnftables.so.1'
/** enum nft_ctx_output_flags: NFT_CTX_OUTPUT_HANDLE, what `nft -a` sets. */
const OUTPUT_HANDLE = 1 << 3

interface Lib {
  run: (ctx: unknown, buf: string) => number
  output: (ctx: unknown) => string | null
  error: (ctx: unknown) => string | null
  setFlags: (ctx: unknown, flags: number) => void
  getFlags: (ctx: unknown) => number
  ctx: unknown
}

let loaded: Lib | null | undefined

function load (): Lib | null {
  if (loaded !== undefined) return loaded
  loaded = null
  if (typeof Bun !== 'undefined') return null
  try {
    const koffi = createRequire(import.meta.url)('koffi') as { load: (p: string) => { func: (decl: string) => (...a: unknown[]) => unknown } }
    const lib = koffi.load(LIB)
    const ctxNew = lib.func('void *nft_ctx_new(uint32_t flags)')
    const bufferOutput = lib.func('int nft_ctx_buffer_output(void *ctx)')
    const bufferError = lib.func('int nft_ctx_buffer_error(void *ctx)')
    const ctx = ctxNew(0)
    if (ctx === null) return null
    bufferOutput(ctx)
    bufferError(ctx)
    loaded = {
      ctx,
      run: lib.func('int nft_run_cmd_from_buffer(void *ctx, const char *buf)') as Lib['run'],
      output: lib.func('const char *nft_ctx_get_output_buffer(void *ctx)') as Lib['output'],
      error: lib.func('const char *nft_ctx_get_error_buffer(void *ctx)') as Lib['error'],
      setFlags: lib.func('void nft_ctx_output_set_flags(void *ctx, uint32_t flags)') as Lib['setFlags'],
      getFlags: lib.func('uint32_t nft_ctx_output_get_flags(void *ctx)') as Lib['getFlags']
    }
  } catch {
    loaded = null
  }
  return loaded
}

export interface LibNftablesOptions {
  /** Scripts longer than this go to `nft -f -` (`large`); default 1 MiB. */
  largeScriptBytes?: number
  large?: Nftables
}

/** nftables through libnftables in this process, or undefined where it cannot be loaded (use `linuxNftables()`). */
export function libNftables (opts: LibNftablesOptions = {}): Nftables | undefined {
  const l = load()
  if (l === null) return undefined
  const largeBytes = opts.largeScriptBytes ?? 1 << 20
  let large = opts.large
  return nftablesOver((text, o) => {
    if (o.script === true && text.length > largeBytes) {
      large ??= linuxNftables()
      large.apply(text) // throws nft's own NftablesError
      return { ok: true, out: '', err: '' }
    }
    const flags = l.getFlags(l.ctx)
    if (o.handles === true) l.setFlags(l.ctx, flags | OUTPUT_HANDLE)
    try {
      const rc = l.run(l.ctx, text)
      // Reading a buffer also empties it for the next command.
      const out = l.output(l.ctx) ?? ''
      const err = l.error(l.ctx) ?? ''
      return { ok: rc === 0, out, err }
    } finally {
      if (o.handles === true) l.setFlags(l.ctx, flags)
    }
  })
}
