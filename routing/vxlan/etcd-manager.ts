/**
 * The etcd subnet manager: flannel's etcd v3 layout and algorithms
 * (pkg/subnet/etcd), so Weft nodes and flanneld nodes can share one etcd.
 *
 *   <prefix>/config                   net-conf.json (parsed in etcd mode)
 *   <prefix>/subnets/10.5.52.0-24     {"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{…}}
 *
 * A lease key is attached to an etcd lease (TTL 24 h); a key without one is a
 * reservation, made by an operator, that never expires. Details in
 * docs/vxlan-etcd.md. Every method may be called from the agent's single loop
 * only; watchLeases and keepLease run until their signal aborts (or close()).
 */
import { Etcd3 } from 'etcd3'
import type { IKeyValue, IOptions, IWatchResponse, Watcher } from 'etcd3'
import { ip } from '../../kernel/index.js'
import { VxlanError } from './errors.js'
import { parseNetConf } from './netconf.js'
import { chooseSubnets, decodeLeaseAttrs, encodeLeaseAttrs, formatLeaseKey, isLeaseCompatible, leasesOverlap, parseLeaseKey } from './subnets.js'
import type { LeaseSubnets } from './subnets.js'
import type { Lease, LeaseAttrs, LeaseEvent, Logger, NetConf, SubnetManager } from './types.js'

export type { Logger }

export const DEFAULT_ETCD_PREFIX = '/coreos.com/network'
/** flannel's subnetTTL. */
export const DEFAULT_LEASE_TTL_SECONDS = 24 * 60 * 60
/** flannel's --subnet-lease-renew-margin default (60 minutes). */
export const DEFAULT_RENEW_MARGIN_SECONDS = 60 * 60
/** flannel retries a failed renewal every minute. */
export const DEFAULT_RENEW_RETRY_SECONDS = 60
/** flannel's raceRetries: attempts before acquireLease gives up on losing races. */
export const ACQUIRE_ATTEMPTS = 10
/** Lease TTL lookups in flight at once while listing or applying a large watch batch. */
const TTL_LOOKUPS = 32

/** Time for the manager; tests may inject a fake one. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now (): number
  /** Resolves after `ms`, or as soon as `signal` aborts (without throwing). */
  sleep (ms: number, signal?: AbortSignal): Promise<void>
}

/** The subset of a pino logger the manager uses. */
export interface EtcdSubnetManagerInit {
  /** etcd client URLs, e.g. ['http://127.0.0.1:2379']. */
  endpoints: string[]
  /** Key prefix (flannel's --etcd-prefix); default /coreos.com/network. */
  prefix?: string
  /** TTL of the etcd lease attached to our key; default 86400 s. */
  ttlSeconds?: number
  /** keepLease renews this long before expiry (--subnet-lease-renew-margin); default 3600 s. */
  renewMarginSeconds?: number
  /** Pause after a failed renewal; default 60 s. */
  renewRetrySeconds?: number
  /** Deadline of each etcd request (not of watches); default 10 s. */
  requestTimeoutMs?: number
  clock?: Clock
  logger?: Logger
  /** Random numbers in [0, 1) for the subnet draw; default Math.random. */
  rng?: () => number
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => await new Promise<void>((resolve) => {
    if (signal?.aborted === true) { resolve(); return }
    const done = (): void => { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve() }
    // setTimeout holds at most 2^31 − 1 ms (24.8 days); callers loop on the clock anyway.
    const timer = setTimeout(done, Math.max(0, Math.min(ms, 0x7fffffff)))
    signal?.addEventListener('abort', done, { once: true })
  })
}

const silent: Logger = { debug () {}, info () {}, warn () {}, error () {} }

/** One key under `<prefix>/subnets/` as read from etcd. */
interface Entry {
  key: string
  /** The subnets the key names; undefined when the name does not parse. */
  subnets: LeaseSubnets | undefined
  value: string
  /** etcd lease ID ('0': none, a reservation). */
  etcdLease: string
  modRevision: string
}

/** A lease the watch has reported, by etcd key. */
interface Known { lease: Lease, modRevision: string }

/** Why a watch ended: the caller stopped it, it must be re-listed, or onEvents threw (watchLeases rethrows). */
type FollowEnd = { kind: 'stopped' } | { kind: 'reset', why: string } | { kind: 'failed', err: unknown }

/** Our own lease, kept for keepLease. */
interface Own {
  /** A keepLease is running for it. */
  kept: boolean
  key: string
  value: string
  etcdLease: string
  modRevision: string
  lease: Lease
}

export function etcdSubnetManager (init: EtcdSubnetManagerInit): SubnetManager {
  return new EtcdSubnetManager(init)
}

/**
 * The etcd requests both the manager and its lease keepers make, with errors
 * turned into VXLAN_ERR_MANAGER. Module-private: nothing outside this file
 * reaches the client.
 */
class Store {
  readonly client: Etcd3
  readonly subnetsPrefix: string
  readonly #ttl: number
  readonly clock: Clock
  readonly log: Logger

  constructor (client: Etcd3, subnetsPrefix: string, ttl: number, clock: Clock, log: Logger) {
    this.client = client
    this.subnetsPrefix = subnetsPrefix
    this.#ttl = ttl
    this.clock = clock
    this.log = log
  }

  /** Runs an etcd request, turning its failure into VXLAN_ERR_MANAGER. */
  async call<T> (what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      if (err instanceof VxlanError) throw err
      throw new VxlanError('VXLAN_ERR_MANAGER', `etcd: ${what} failed: ${(err as Error).message}`, { cause: err })
    }
  }

  async grant (): Promise<{ id: string, expiresAt: number }> {
    const started = this.clock.now()
    const g = await this.call('granting an etcd lease', async () => await this.client.leaseClient.leaseGrant({ TTL: this.#ttl }))
    return { id: String(g.ID), expiresAt: started + Number(g.TTL) * 1000 }
  }

  async revoke (id: string): Promise<void> {
    try {
      await this.client.leaseClient.leaseRevoke({ ID: id })
    } catch (err) {
      // It expires on its own, and no key of anyone else hangs on it.
      this.log.debug({ lease: id, err: String(err) }, 'could not revoke an unused etcd lease')
    }
  }

  /** Creates `key` on a new etcd lease if nobody has it (txn If(Version(key) == 0)); undefined if somebody does. */
  async create (key: string, value: string): Promise<{ etcdLease: string, expiresAt: number, revision: string } | undefined> {
    const grant = await this.grant()
    let res
    try {
      res = await this.call(`creating ${key}`, async () =>
        await this.client.if(key, 'Version', '==', 0).then(this.client.put(key).value(value).lease(grant.id)).commit())
    } catch (err) {
      await this.revoke(grant.id)
      throw err
    }
    if (!res.succeeded) {
      await this.revoke(grant.id)
      return undefined
    }
    return { etcdLease: grant.id, expiresAt: grant.expiresAt, revision: String(res.header.revision) }
  }

  /** Every key under `<prefix>/subnets/`, with the revision of the read. */
  async list (): Promise<{ revision: string, entries: Entry[] }> {
    const res = await this.call('listing leases', async () => await this.client.getAll().prefix(this.subnetsPrefix).exec())
    return { revision: String(res.header.revision), entries: res.kvs.map((kv) => this.entry(kv)) }
  }

  entry (kv: IKeyValue): Entry {
    const key = kv.key.toString()
    return {
      key,
      subnets: key.startsWith(this.subnetsPrefix) ? parseLeaseKey(key.slice(this.subnetsPrefix.length)) : undefined,
      value: kv.value.toString(),
      etcdLease: String(kv.lease),
      modRevision: String(kv.mod_revision)
    }
  }

  /** The Lease an entry stands for, or undefined (logged) when its key or value does not parse. */
  async toLease (e: Entry): Promise<Lease | undefined> {
    if (e.subnets === undefined) {
      this.log.warn({ key: e.key }, 'ignoring a key under subnets/ that names no subnet')
      return undefined
    }
    let attrs: LeaseAttrs
    try {
      attrs = decodeLeaseAttrs(e.value)
    } catch (err) {
      this.log.warn({ key: e.key, err: (err as Error).message }, 'ignoring a lease whose value does not parse')
      return undefined
    }
    return { ...e.subnets, attrs, expiration: await this.expiration(e.etcdLease) }
  }

  /** When an etcd lease runs out; undefined for none ('0', a reservation). */
  async expiration (etcdLease: string): Promise<Date | undefined> {
    if (etcdLease === '0') return undefined
    const now = this.clock.now()
    const r = await this.call('reading a lease TTL', async () => await this.client.leaseClient.leaseTimeToLive({ ID: etcdLease }))
    // TTL -1: the lease has just run out; etcd deletes the key next.
    return new Date(now + Math.max(0, Number(r.TTL)) * 1000)
  }
}

class EtcdSubnetManager implements SubnetManager {
  readonly kind = 'etcd' as const
  readonly #store: Store
  readonly #prefix: string
  readonly #margin: number
  readonly #retry: number
  readonly #rng: () => number
  readonly #own = new Map<string, Own>()
  readonly #closing = new AbortController()
  /** Running watchLeases/keepLease loops: close() lets them cancel their watches before the client goes. */
  readonly #running = new Set<Promise<unknown>>()

  constructor (init: EtcdSubnetManagerInit) {
    if (init.endpoints.length === 0) throw new VxlanError('VXLAN_ERR_FLAGS', 'no etcd endpoints given')
    this.#prefix = (init.prefix ?? DEFAULT_ETCD_PREFIX).replace(/\/+$/, '')
    if (!this.#prefix.startsWith('/')) throw new VxlanError('VXLAN_ERR_FLAGS', `etcd prefix "${init.prefix ?? ''}" must start with /`)
    const ttl = init.ttlSeconds ?? DEFAULT_LEASE_TTL_SECONDS
    this.#margin = init.renewMarginSeconds ?? DEFAULT_RENEW_MARGIN_SECONDS
    this.#retry = init.renewRetrySeconds ?? DEFAULT_RENEW_RETRY_SECONDS
    if (!Number.isInteger(ttl) || ttl < 1) throw new VxlanError('VXLAN_ERR_FLAGS', `lease TTL ${ttl} s must be a whole number of seconds, at least 1`)
    if (!(this.#margin > 0 && this.#margin < ttl)) {
      throw new VxlanError('VXLAN_ERR_FLAGS', `renew margin ${this.#margin} s must be above 0 and below the lease TTL (${ttl} s)`)
    }
    if (!(this.#retry > 0)) throw new VxlanError('VXLAN_ERR_FLAGS', `renew retry ${this.#retry} s must be above 0`)
    this.#rng = init.rng ?? Math.random
    const timeout = init.requestTimeoutMs ?? 10_000
    const client = new Etcd3({
      hosts: init.endpoints,
      // Unary calls get a deadline, so an unreachable etcd fails the call instead of hanging it; watches get none.
      defaultCallOptions: (ctx) => ctx.isStream ? {} : { deadline: new Date(Date.now() + timeout) },
      // flannel reconnects its watch after 100 ms, doubling up to 5 s.
      faultHandling: { watchBackoff: backoff(100, 5000) }
    })
    this.#store = new Store(client, `${this.#prefix}/subnets/`, ttl, init.clock ?? systemClock, init.logger ?? silent)
  }

  async getNetworkConfig (): Promise<NetConf> {
    this.#assertOpen()
    const key = `${this.#prefix}/config`
    const s = this.#store
    const text = await s.call(`reading ${key}`, async () => await s.client.get(key).string())
    if (text === null) {
      throw new VxlanError('VXLAN_ERR_NETCONF', `${key} not found in etcd: create it with the v3 API, e.g. etcdctl put ${key} '{"Network":"10.5.0.0/16","Backend":{"Type":"vxlan"}}'`)
    }
    let conf: NetConf
    try {
      conf = parseNetConf(text, { mode: 'etcd', onWarning: (m) => s.log.warn({ key }, m) })
    } catch (err) {
      throw new VxlanError('VXLAN_ERR_NETCONF', `${key}: ${(err as Error).message}`, { cause: err })
    }
    if (!conf.enableIPv4) {
      throw new VxlanError('VXLAN_ERR_NETCONF', `${key}: EnableIPv4 is false, but flannel's etcd layout names every lease by its IPv4 subnet (<ip>-<len>[&<ip6>-<len>]); use the kube subnet manager for IPv6-only clusters`)
    }
    return conf
  }

  async acquireLease (attrs: LeaseAttrs, opts: { previous?: { subnet?: string, ipv6Subnet?: string } } = {}): Promise<Lease> {
    this.#assertOpen()
    if (ip.familyOf(attrs.PublicIP) !== 4) throw new VxlanError('VXLAN_ERR_LEASE', `PublicIP "${attrs.PublicIP}" is not an IPv4 address (flannel's lease attributes need one)`)
    const conf = await this.getNetworkConfig()
    const value = encodeLeaseAttrs(attrs)
    const previous = this.#previous(opts.previous)
    for (let attempt = 1; attempt <= ACQUIRE_ATTEMPTS; attempt++) {
      const got = await this.#tryAcquire(conf, attrs, value, previous)
      if (got !== undefined) return got
      this.#store.log.info({ attempt }, 'lost a race for a subnet, trying again')
    }
    throw new VxlanError('VXLAN_ERR_LEASE', `no subnet lease after ${ACQUIRE_ATTEMPTS} attempts: other nodes took every subnet this node tried`)
  }

  /** One round of flannel's tryAcquireLease; undefined when another node won a race (try again). */
  async #tryAcquire (conf: NetConf, attrs: LeaseAttrs, value: string, previous: LeaseSubnets | undefined): Promise<Lease | undefined> {
    const s = this.#store
    const { entries } = await s.list()
    let taken = entries

    // 1. A lease that already carries our PublicIP (we restarted): keep it if it still fits the config.
    for (const e of entries) {
      if (e.subnets === undefined || publicIPOf(e.value) !== attrs.PublicIP) continue
      if (isLeaseCompatible(conf, e.subnets)) {
        s.log.info({ key: e.key, reservation: e.etcdLease === '0' }, 'found the lease of this PublicIP, reusing it')
        return await this.#reuse(e, e.subnets, attrs, value)
      }
      s.log.warn({ key: e.key }, 'the lease of this PublicIP does not fit the network configuration, deleting it')
      const del = await s.call(`deleting ${e.key}`, async () =>
        await s.client.if(e.key, 'Mod', '==', e.modRevision).then(s.client.delete().key(e.key)).commit())
      if (!del.succeeded) return undefined
      taken = taken.filter((x) => x !== e)
    }
    const takenSubnets = taken.flatMap((e) => e.subnets === undefined ? [] : [e.subnets])

    // 2. The subnet of our previous subnet.env, if it fits and nobody holds it.
    let want: LeaseSubnets | undefined
    if (previous !== undefined) {
      if (!isLeaseCompatible(conf, previous)) {
        s.log.warn({ previous }, 'the previous subnet does not fit the network configuration, ignoring it')
      } else if (takenSubnets.some((t) => leasesOverlap(t, previous))) {
        s.log.info({ previous }, 'the previous subnet is taken by another node')
      } else {
        s.log.info({ previous }, 'reusing the previous subnet')
        want = previous
      }
    }

    // 3. Random among the first 100 free subnets ("out of subnets" when there is none).
    want ??= chooseSubnets(conf, takenSubnets, this.#rng)

    const key = s.subnetsPrefix + formatLeaseKey(want)
    const created = await s.create(key, value)
    if (created === undefined) return undefined
    const lease: Lease = { subnet: want.subnet, ipv6Subnet: want.ipv6Subnet, attrs: cloneAttrs(attrs), expiration: new Date(created.expiresAt) }
    this.#own.set(key, { kept: false, key, value, etcdLease: created.etcdLease, modRevision: created.revision, lease })
    s.log.info({ key, expiration: lease.expiration }, 'acquired a subnet lease')
    return copyLease(lease)
  }

  /** Rewrites an existing key with our attributes: on a fresh etcd lease, or on none for a reservation. */
  async #reuse (e: Entry, subnets: LeaseSubnets, attrs: LeaseAttrs, value: string): Promise<Lease | undefined> {
    const s = this.#store
    const grant = e.etcdLease === '0' ? undefined : await s.grant()
    const put = s.client.put(e.key).value(value)
    if (grant !== undefined) put.lease(grant.id)
    let res
    try {
      res = await s.call(`updating ${e.key}`, async () => await s.client.if(e.key, 'Mod', '==', e.modRevision).then(put).commit())
    } catch (err) {
      if (grant !== undefined) await s.revoke(grant.id)
      throw err
    }
    if (!res.succeeded) {
      if (grant !== undefined) await s.revoke(grant.id)
      return undefined
    }
    // The etcd lease the key had (our previous run's) is left to run out: others' keys could hang on it.
    const lease: Lease = { ...subnets, attrs: cloneAttrs(attrs), expiration: grant === undefined ? undefined : new Date(grant.expiresAt) }
    this.#own.set(e.key, { kept: false, key: e.key, value, etcdLease: grant?.id ?? '0', modRevision: String(res.header.revision), lease })
    return copyLease(lease)
  }

  #previous (p: { subnet?: string, ipv6Subnet?: string } | undefined): LeaseSubnets | undefined {
    if (p?.subnet === undefined) return undefined
    // subnet.env holds the first usable address (10.5.7.1/24); the lease names the network (10.5.7.0/24).
    const norm = (text: string | undefined): string | undefined => {
      if (text === undefined) return undefined
      const c = ip.parseCidr(text)
      return ip.formatCidr({ address: ip.networkOf(c), prefixLen: c.prefixLen })
    }
    try {
      return { subnet: norm(p.subnet), ipv6Subnet: norm(p.ipv6Subnet) }
    } catch (err) {
      this.#store.log.warn({ previous: p, err: String(err) }, 'ignoring a previous subnet that does not parse')
      return undefined
    }
  }

  async watchLeases (onEvents: (events: LeaseEvent[]) => void, signal: AbortSignal): Promise<void> {
    this.#assertOpen()
    await this.#track(this.#watchLeases(onEvents, AbortSignal.any([signal, this.#closing.signal])))
  }

  async #watchLeases (onEvents: (events: LeaseEvent[]) => void, stop: AbortSignal): Promise<void> {
    const s = this.#store
    const known = new Map<string, Known>()
    let first = true
    let pause = 100
    while (!stop.aborted) {
      let snap: { revision: string, leases: Map<string, Known> }
      try {
        snap = await this.#snapshot(known)
      } catch (err) {
        if (stop.aborted) break
        s.log.warn({ err: String(err), retryMs: pause }, 'listing leases failed')
        await s.clock.sleep(pause, stop)
        pause = Math.min(pause * 2, 5000)
        continue
      }
      pause = 100
      if (stop.aborted) break
      const events = resync(known, snap.leases)
      // The first snapshot is always delivered, even empty: it tells the agent the initial list has synced.
      if (first || events.length > 0) onEvents(events)
      first = false
      const end = await this.#follow(known, BigInt(snap.revision) + 1n, onEvents, stop)
      if (end.kind === 'failed') throw end.err
      if (end.kind === 'reset') s.log.warn({ reason: end.why }, 'lease watch reset: listing leases again')
    }
  }

  /** All leases under subnets/, by key; a key unchanged since `known` keeps its lease without a TTL lookup. */
  async #snapshot (known: Map<string, Known>): Promise<{ revision: string, leases: Map<string, Known> }> {
    const s = this.#store
    const { revision, entries } = await s.list()
    const leases = new Map<string, Known>()
    const todo: Entry[] = []
    for (const e of entries) {
      const k = known.get(e.key)
      if (k !== undefined && k.modRevision === e.modRevision) leases.set(e.key, k)
      else todo.push(e)
    }
    // One TTL lookup per changed key, as flannel makes.
    const got = await mapLimit(todo, TTL_LOOKUPS, async (e) => await s.toLease(e))
    todo.forEach((e, j) => {
      const lease = got[j]
      if (lease !== undefined) leases.set(e.key, { lease, modRevision: e.modRevision })
    })
    // Keep etcd's key order.
    const ordered = new Map<string, Known>()
    for (const e of entries) {
      const k = leases.get(e.key)
      if (k !== undefined) ordered.set(e.key, k)
    }
    return { revision, leases: ordered }
  }

  /**
   * Follows the watch from revision `from`, applying and emitting each change,
   * until a re-list is needed ('reset', with the reason), `stop` aborts
   * ('stopped') or onEvents throws ('failed'). A dropped connection is resumed from the last revision seen,
   * so etcd replays what was missed; a resume etcd can no longer serve (the
   * revision was compacted) cancels the watch, and one that finds the store
   * behind us or another cluster is reset: both lead to a re-list.
   */
  async #follow (known: Map<string, Known>, from: bigint, onEvents: (events: LeaseEvent[]) => void, stop: AbortSignal): Promise<FollowEnd> {
    const s = this.#store
    return await new Promise<FollowEnd>((resolve) => {
      const watcher = s.client.watch().prefix(s.subnetsPrefix).startRevision(from.toString()).watcher()
      let seen = from - 1n
      let cluster: string | undefined
      let reconnecting = false
      let done = false
      let chain = Promise.resolve()
      const finish = (end: FollowEnd, canceledByServer = false): void => {
        if (done) return
        done = true
        stop.removeEventListener('abort', onAbort)
        if (!canceledByServer) watcher.cancel().catch(() => {})
        // Changes already received are applied first, so `known` matches what was emitted.
        void chain.then(() => resolve(end))
      }
      const onAbort = (): void => finish({ kind: 'stopped' })
      stop.addEventListener('abort', onAbort, { once: true })
      if (stop.aborted) { finish({ kind: 'stopped' }); return }

      watcher.on('connected', (res: IWatchResponse) => {
        const rev = BigInt(res.header.revision)
        const id = String(res.header.cluster_id)
        if (cluster !== undefined && id !== cluster) finish({ kind: 'reset', why: `etcd cluster changed (${cluster} → ${id})` })
        else if (reconnecting && rev < seen) finish({ kind: 'reset', why: `etcd is at revision ${rev}, behind revision ${seen} already seen (restored from a backup?)` })
        cluster ??= id
        reconnecting = false
      })
      watcher.on('disconnected', (err: Error) => {
        reconnecting = true
        resumeAfter(watcher, seen)
        s.log.warn({ err: err.message, revision: seen.toString() }, 'lease watch disconnected, resuming after the last revision seen')
      })
      // The server canceled the watch, most often because the revision to resume from was compacted.
      watcher.on('error', (err: Error) => finish({ kind: 'reset', why: `watch canceled by etcd (${err.message})` }, true))
      watcher.on('data', (res: IWatchResponse) => {
        if (done) return
        // A response at revision R (progress notifications included) carries every event up to R.
        const rev = BigInt(res.header.revision)
        if (rev > seen) seen = rev
        if (res.events.length === 0) return
        chain = chain.then(async () => {
          if (stop.aborted) return
          let events: LeaseEvent[]
          try {
            events = await this.#apply(known, res)
          } catch (err) {
            finish({ kind: 'reset', why: `reading a watch event failed (${String(err)})` })
            return
          }
          if (events.length === 0 || stop.aborted) return
          try {
            onEvents(events)
          } catch (err) {
            finish({ kind: 'failed', err })
          }
        })
      })
    })
  }

  /**
   * Applies one watch response to `known` and returns its events, in etcd's
   * order. All-or-nothing: if reading a lease fails (its TTL), `known` is left
   * as it was and the caller re-lists.
   */
  async #apply (known: Map<string, Known>, res: IWatchResponse): Promise<LeaseEvent[]> {
    const s = this.#store
    const read = await mapLimit(res.events, TTL_LOOKUPS, async (ev) => {
      const e = s.entry(ev.kv)
      return { e, lease: ev.type === 'Delete' ? undefined : await s.toLease(e) }
    })
    const out: LeaseEvent[] = []
    for (const { e, lease } of read) {
      const prev = known.get(e.key)
      if (lease === undefined) {
        // Deleted (or run out), or now holding garbage: whoever programmed the old lease must forget it.
        if (prev !== undefined) {
          known.delete(e.key)
          out.push({ type: 'removed', lease: prev.lease })
        }
        continue
      }
      known.set(e.key, { lease, modRevision: e.modRevision })
      out.push({ type: 'added', lease })
    }
    return out
  }

  async keepLease (lease: Lease, signal: AbortSignal, onRenewed?: (lease: Lease) => void): Promise<void> {
    this.#assertOpen()
    const key = this.#store.subnetsPrefix + formatLeaseKey(lease)
    const own = this.#own.get(key)
    if (own === undefined) throw new VxlanError('VXLAN_ERR_LEASE', `keepLease: ${key} was not acquired by this manager`)
    // Two keepers of one key would each see the other's renewals as foreign writes.
    if (own.kept) throw new VxlanError('VXLAN_ERR_LEASE', `keepLease: ${key} is already being kept`)
    own.kept = true
    const keeper = new Keeper(this.#store, own, { margin: this.#margin, retry: this.#retry }, AbortSignal.any([signal, this.#closing.signal]), onRenewed)
    await this.#track((async () => {
      try {
        await keeper.run()
      } finally {
        keeper.close()
        own.kept = false
      }
    })())
  }

  /** Stops every watchLeases/keepLease loop (they resolve), then closes the etcd client. Idempotent. */
  async close (): Promise<void> {
    if (this.#closing.signal.aborted) return
    this.#closing.abort()
    await Promise.allSettled([...this.#running])
    this.#store.client.close()
  }

  async #track<T> (p: Promise<T>): Promise<T> {
    this.#running.add(p)
    try {
      return await p
    } finally {
      this.#running.delete(p)
    }
  }

  #assertOpen (): void {
    if (this.#closing.signal.aborted) throw new VxlanError('VXLAN_ERR_MANAGER', 'the etcd subnet manager is closed')
  }
}

type QueueItem = { kind: 'event', type: 'Put' | 'Delete', kv: IKeyValue } | { kind: 'resync', why: string }

/**
 * keepLease of one lease. Renews `margin` seconds before expiry by moving the
 * key to a fresh etcd lease (flannel grants a new lease on each renewal too),
 * guarded by the key's mod revision; retries every `retry` seconds on failure.
 * It also watches the key, so that a deletion, an expiry or a takeover is seen
 * at once rather than at the next renewal: a key that vanished is created again
 * if nobody took the subnet meanwhile (what a restarted flanneld would do from
 * its subnet.env); a key held by another PublicIP ends keepLease with
 * VXLAN_ERR_LEASE. A reservation is never renewed, only watched.
 */
class Keeper {
  readonly #s: Store
  readonly #own: Own
  readonly #timing: { margin: number, retry: number }
  readonly #stop: AbortSignal
  readonly #onRenewed: ((lease: Lease) => void) | undefined
  /** Watch events on our key and resync requests, handled one at a time by run(), between renewals. */
  readonly #queue: QueueItem[] = []
  #wake = new AbortController()
  #watcher: Watcher
  #deadline: number

  constructor (s: Store, own: Own, timing: { margin: number, retry: number }, stop: AbortSignal, onRenewed: ((lease: Lease) => void) | undefined) {
    this.#s = s
    this.#own = own
    this.#timing = timing
    this.#stop = stop
    this.#onRenewed = onRenewed
    this.#deadline = this.#renewAt()
    this.#watcher = this.#watch(BigInt(own.modRevision) + 1n)
  }

  #renewAt (): number {
    const exp = this.#own.lease.expiration
    return exp === undefined ? Infinity : exp.getTime() - this.#timing.margin * 1000
  }

  #push (item: QueueItem): void {
    this.#queue.push(item)
    this.#wake.abort()
  }

  #watch (from: bigint): Watcher {
    const w = this.#s.client.watch().key(this.#own.key).startRevision(from.toString()).watcher()
    let seen = from - 1n
    w.on('data', (res: IWatchResponse) => {
      const rev = BigInt(res.header.revision)
      if (rev > seen) seen = rev
      for (const ev of res.events) this.#push({ kind: 'event', type: ev.type === 'Delete' ? 'Delete' : 'Put', kv: ev.kv })
    })
    w.on('disconnected', (err: Error) => {
      resumeAfter(w, seen)
      this.#s.log.debug({ key: this.#own.key, err: err.message }, 'lease keeper watch disconnected, resuming')
    })
    w.on('error', (err: Error) => this.#push({ kind: 'resync', why: err.message }))
    return w
  }

  close (): void {
    this.#watcher.cancel().catch(() => {})
  }

  async run (): Promise<void> {
    const { clock, log } = this.#s
    while (!this.#stop.aborted) {
      this.#wake = new AbortController()
      const item = this.#queue.shift()
      if (item === undefined && this.#deadline > clock.now()) {
        await clock.sleep(this.#deadline - clock.now(), AbortSignal.any([this.#stop, this.#wake.signal]))
        continue
      }
      try {
        if (item === undefined) {
          await this.#renew()
        } else if (item.kind === 'resync') {
          log.warn({ key: this.#own.key, reason: item.why }, 'lease keeper watch canceled, checking the key')
          const rev = await this.#reconcile()
          this.#watcher = this.#watch(BigInt(rev) + 1n)
        } else if (item.type === 'Delete' || String(item.kv.mod_revision) !== this.#own.modRevision) {
          // Not our own write (ours carry the revision recorded when the write returned): look at the key as it is now.
          await this.#reconcile()
        }
      } catch (err) {
        if (err instanceof VxlanError && err.code === 'VXLAN_ERR_LEASE') throw err
        log.error({ key: this.#own.key, err: String(err), retrySeconds: this.#timing.retry }, item === undefined ? 'renewing the lease failed, trying again later' : 'checking the lease failed, trying again later')
        if (item === undefined) {
          this.#deadline = clock.now() + this.#timing.retry * 1000
        } else {
          this.#queue.unshift(item)
          await clock.sleep(this.#timing.retry * 1000, this.#stop)
        }
      }
    }
  }

  /** Moves our key to a fresh etcd lease, if the key is still as we last wrote it. */
  async #renew (): Promise<void> {
    const s = this.#s
    const own = this.#own
    const grant = await s.grant()
    let res
    try {
      res = await s.call(`renewing ${own.key}`, async () =>
        await s.client.if(own.key, 'Mod', '==', own.modRevision).then(s.client.put(own.key).value(own.value).lease(grant.id)).commit())
    } catch (err) {
      await s.revoke(grant.id)
      throw err
    }
    if (!res.succeeded) {
      await s.revoke(grant.id)
      await this.#reconcile()
      return
    }
    const old = own.etcdLease
    this.#update(grant.id, String(res.header.revision), new Date(grant.expiresAt))
    // The key no longer hangs on the old lease, which was granted for it alone.
    if (old !== '0') await s.revoke(old)
    s.log.info({ key: own.key, expiration: own.lease.expiration }, 'lease renewed')
  }

  /**
   * Looks at the key as it is now and makes `own` follow it: creates it again
   * if it vanished, adopts what another writer with our PublicIP did (an
   * operator turning it into a reservation), gives up if another node holds
   * it. Returns the revision of the read.
   */
  async #reconcile (): Promise<string> {
    const s = this.#s
    const own = this.#own
    const res = await s.call(`reading ${own.key}`, async () => await s.client.get(own.key).exec())
    const kv = res.kvs[0]
    if (kv === undefined) {
      s.log.warn({ key: own.key }, 'our lease is gone from etcd (deleted or run out), taking the subnet again')
      const created = await s.create(own.key, own.value)
      if (created === undefined) throw new VxlanError('VXLAN_ERR_LEASE', `lost the lease ${own.key}: it was removed from etcd and another node took the subnet`)
      this.#update(created.etcdLease, created.revision, new Date(created.expiresAt))
      return created.revision
    }
    const e = s.entry(kv)
    if (e.modRevision === own.modRevision) return String(res.header.revision)
    const holder = publicIPOf(e.value)
    if (holder !== own.lease.attrs.PublicIP) {
      throw new VxlanError('VXLAN_ERR_LEASE', `lost the lease ${own.key}: it now belongs to PublicIP ${holder ?? '(unreadable value)'}`)
    }
    if (e.value !== own.value) s.log.warn({ key: own.key, value: e.value }, 'our lease was rewritten by another writer with our PublicIP; keeping it as it is')
    own.value = e.value
    this.#update(e.etcdLease, e.modRevision, await s.expiration(e.etcdLease))
    return String(res.header.revision)
  }

  #update (etcdLease: string, modRevision: string, expiration: Date | undefined): void {
    const own = this.#own
    own.etcdLease = etcdLease
    own.modRevision = modRevision
    own.lease = { ...own.lease, expiration }
    this.#deadline = this.#renewAt()
    this.#onRenewed?.(copyLease(own.lease))
  }
}

/** The diff between what was reported and a fresh snapshot; `known` becomes the snapshot. */
function resync (known: Map<string, Known>, now: Map<string, Known>): LeaseEvent[] {
  const removed: LeaseEvent[] = []
  const added: LeaseEvent[] = []
  for (const [key, k] of known) {
    if (!now.has(key)) removed.push({ type: 'removed', lease: k.lease })
  }
  for (const [key, k] of now) {
    // A changed revision is a write the watch would have reported as `added`.
    if (known.get(key)?.modRevision !== k.modRevision) added.push({ type: 'added', lease: k.lease })
  }
  known.clear()
  for (const [key, k] of now) known.set(key, k)
  // Removals first: a subnet that moved to another key is withdrawn before it is added again.
  return [...removed, ...added]
}

/**
 * Makes the client resume a dropped watch right after revision `seen`. The
 * etcd3 client resumes after the last header revision it saw, and that
 * includes the `created` response, whose revision is the store's current one
 * even while older events are still on their way: a second drop before they
 * arrive would skip them. Our count moves on data responses only.
 */
function resumeAfter (w: Watcher, seen: bigint): void {
  w.request.start_revision = (seen + 1n).toString()
}

/** `fn` over `items` with at most `limit` calls in flight; results in input order. */
async function mapLimit<T, R> (items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

function publicIPOf (value: string): string | undefined {
  try {
    return decodeLeaseAttrs(value).PublicIP
  } catch {
    return undefined
  }
}

function cloneAttrs (a: LeaseAttrs): LeaseAttrs {
  return JSON.parse(JSON.stringify(a)) as LeaseAttrs
}

function copyLease (l: Lease): Lease {
  return { ...l, attrs: cloneAttrs(l.attrs), expiration: l.expiration === undefined ? undefined : new Date(l.expiration) }
}

/** cockatiel's IBackoff shape: doubling from `first` to `max` ms. */
function backoff (first: number, max: number): NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']> {
  type Step = { duration: number, next: () => Step }
  const step = (d: number): Step => ({ duration: d, next: () => step(Math.min(d * 2, max)) })
  return { duration: 0, next: () => step(first) }
}
