/**
 * The reservation store the allocator works against. `disk-store.ts` is the
 * real one (the reference plugin's on-disk layout, byte for byte);
 * `testing/fake-store.ts` holds the same state in memory for unit tests.
 */

/** Who holds an address: the attachment `(CNI_CONTAINERID, CNI_IFNAME)`. */
export interface Owner {
  id: string
  ifname: string
}

/** One reserved address and its holder, as read back from the store. */
export interface Reservation {
  /** Canonical address text. */
  ip: string
  id: string
  /** undefined for legacy entries written before the interface name was recorded (ID only). */
  ifname: string | undefined
}

export interface Store {
  /**
   * Runs `fn` holding the store's exclusive lock and returns its result; the
   * lock is released however `fn` ends. Every other method must only be
   * called from inside `fn`. Re-entrant: a nested call just runs `fn`.
   */
  withLock<T> (fn: () => T): T
  /**
   * Reserves `ip` for `owner` unless some holder already has it; on success
   * also records `ip` as the last address reserved in range set
   * `rangeSetIndex` (the round-robin cursor). Returns false when taken.
   */
  reserve (ip: string, owner: Owner, rangeSetIndex: number): boolean
  /** The round-robin cursor of a range set; undefined when unset or unreadable. */
  lastReserved (rangeSetIndex: number): string | undefined
  /** Every reservation, in no particular order. */
  list (): Reservation[]
  /** Drops the reservation of `ip`. An address that is not reserved is not an error. */
  release (ip: string): void
}

/** True when reservation `r` belongs to `owner` exactly (ID and interface). */
export function ownedBy (r: Reservation, owner: Owner): boolean {
  return r.id === owner.id && r.ifname === owner.ifname
}

/** True when `r` is a legacy ID-only entry of `owner`'s container. */
export function legacyOwnedBy (r: Reservation, owner: Owner): boolean {
  return r.ifname === undefined && r.id === owner.id
}

/** The reservation file body: `<containerID>\r\n<ifname>`, as the reference writes it. */
export function encodeOwner (owner: Owner): string {
  return `${owner.id.trim()}\r\n${owner.ifname}`
}

/**
 * Reads a reservation file body. The whole body is trimmed first, as the
 * reference does; a body without a line break is a legacy ID-only entry.
 */
export function decodeOwner (body: string): { id: string, ifname: string | undefined } {
  const text = body.trim()
  const nl = text.search(/\r?\n/)
  if (nl < 0) return { id: text, ifname: undefined }
  const id = text.slice(0, nl).trim()
  const ifname = text.slice(nl).trim()
  return { id, ifname }
}
