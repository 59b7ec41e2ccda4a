/**
 * The fixed-size attributes of RFC 4271 §5.1: NEXT_HOP, MULTI_EXIT_DISC, LOCAL_PREF, ATOMIC_AGGREGATE.
 * RFC 7606 §7.3–7.6: a wrong length → treat-as-withdraw, except ATOMIC_AGGREGATE → attribute-discard.
 * Whether the NEXT_HOP makes sense, and LOCAL_PREF from eBGP, are `validateUpdate()`'s business.
 */
import { checkUint, u32, w32 } from '../codec.js'
import { AttrFlag, AttrType } from '../constants.js'
import { readIpv4, writeIpv4 } from './address.js'
import type { AttrSpec } from './spec.js'
import { lengthError } from './spec.js'
import type { AtomicAggregateAttribute, LocalPrefAttribute, MultiExitDiscAttribute, NextHopAttribute } from './types.js'

export const nextHopSpec: AttrSpec<NextHopAttribute> = {
  type: AttrType.NextHop,
  name: 'NEXT_HOP',
  flags: AttrFlag.Transitive,
  valueLength: () => 4,
  write: (a, buf, offset) => { writeIpv4(a.nextHop, buf, offset, 'NEXT_HOP') },
  read (v, ctx) {
    if (v.length !== 4) throw lengthError(nextHopSpec, v.length, 'treat-as-withdraw', ctx)
    return { type: AttrType.NextHop, nextHop: readIpv4(v, 0) }
  }
}

export const multiExitDiscSpec: AttrSpec<MultiExitDiscAttribute> = {
  type: AttrType.MultiExitDisc,
  name: 'MULTI_EXIT_DISC',
  flags: AttrFlag.Optional,
  valueLength: () => 4,
  write (a, buf, offset) { checkUint(a.med, 0xffffffff, 'MULTI_EXIT_DISC'); w32(buf, offset, a.med) },
  read (v, ctx) {
    if (v.length !== 4) throw lengthError(multiExitDiscSpec, v.length, 'treat-as-withdraw', ctx)
    return { type: AttrType.MultiExitDisc, med: u32(v, 0) }
  }
}

export const localPrefSpec: AttrSpec<LocalPrefAttribute> = {
  type: AttrType.LocalPref,
  name: 'LOCAL_PREF',
  flags: AttrFlag.Transitive,
  valueLength: () => 4,
  write (a, buf, offset) { checkUint(a.localPref, 0xffffffff, 'LOCAL_PREF'); w32(buf, offset, a.localPref) },
  read (v, ctx) {
    if (v.length !== 4) throw lengthError(localPrefSpec, v.length, 'treat-as-withdraw', ctx)
    return { type: AttrType.LocalPref, localPref: u32(v, 0) }
  }
}

export const atomicAggregateSpec: AttrSpec<AtomicAggregateAttribute> = {
  type: AttrType.AtomicAggregate,
  name: 'ATOMIC_AGGREGATE',
  flags: AttrFlag.Transitive,
  valueLength: () => 0,
  write: () => {},
  read (v, ctx) {
    if (v.length !== 0) throw lengthError(atomicAggregateSpec, v.length, 'attribute-discard', ctx)
    return { type: AttrType.AtomicAggregate }
  }
}
