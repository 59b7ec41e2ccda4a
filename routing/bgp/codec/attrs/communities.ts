/**
 * Community lists: COMMUNITIES (RFC 1997, 4 octets each), EXTENDED_COMMUNITIES (RFC 4360, 8 octets each) and
 * LARGE_COMMUNITY (RFC 8092, 12 octets each). Malformed — empty, or a length not a multiple of the size — is
 * treat-as-withdraw (RFC 7606 §7.8, §7.14; RFC 8092 §6). Encoding an empty list is refused for the same reason.
 */
import { checkUint, u32, w32 } from '../codec.js'
import { AttrFlag, AttrType } from '../constants.js'
import { BgpEncodeError } from '../errors.js'
import type { AttrSpec } from './spec.js'
import { lengthError } from './spec.js'
import type { CommunitiesAttribute, ExtendedCommunitiesAttribute, LargeCommunityAttribute } from './types.js'

function nonEmpty (n: number, name: string): void {
  if (n === 0) throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `an empty ${name} is malformed (RFC 7606 §7)`)
}

export const communitiesSpec: AttrSpec<CommunitiesAttribute> = {
  type: AttrType.Communities,
  name: 'COMMUNITIES',
  flags: AttrFlag.Optional | AttrFlag.Transitive,
  valueLength: (a) => 4 * a.communities.length,
  write (a, buf, offset) {
    nonEmpty(a.communities.length, 'COMMUNITIES')
    let o = offset
    for (const c of a.communities) { checkUint(c, 0xffffffff, 'community'); w32(buf, o, c); o += 4 }
  },
  read (v, ctx) {
    if (v.length === 0 || v.length % 4 !== 0) throw lengthError(communitiesSpec, v.length, 'treat-as-withdraw', ctx)
    const communities = new Array<number>(v.length / 4)
    for (let i = 0; i < communities.length; i++) communities[i] = u32(v, 4 * i)
    return { type: AttrType.Communities, communities }
  }
}

const U64_MAX = (1n << 64n) - 1n

export const extendedCommunitiesSpec: AttrSpec<ExtendedCommunitiesAttribute> = {
  type: AttrType.ExtendedCommunities,
  name: 'EXTENDED_COMMUNITIES',
  flags: AttrFlag.Optional | AttrFlag.Transitive,
  valueLength: (a) => 8 * a.communities.length,
  write (a, buf, offset) {
    nonEmpty(a.communities.length, 'EXTENDED_COMMUNITIES')
    let o = offset
    for (const c of a.communities) {
      if (typeof c !== 'bigint' || c < 0n || c > U64_MAX) {
        throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', `extended community ${String(c)} is not an unsigned 64-bit bigint`)
      }
      w32(buf, o, Number(c >> 32n)); w32(buf, o + 4, Number(c & 0xffffffffn)); o += 8
    }
  },
  read (v, ctx) {
    if (v.length === 0 || v.length % 8 !== 0) throw lengthError(extendedCommunitiesSpec, v.length, 'treat-as-withdraw', ctx)
    const communities = new Array<bigint>(v.length / 8)
    for (let i = 0; i < communities.length; i++) communities[i] = (BigInt(u32(v, 8 * i)) << 32n) | BigInt(u32(v, 8 * i + 4))
    return { type: AttrType.ExtendedCommunities, communities }
  }
}

export const largeCommunitySpec: AttrSpec<LargeCommunityAttribute> = {
  type: AttrType.LargeCommunity,
  name: 'LARGE_COMMUNITY',
  flags: AttrFlag.Optional | AttrFlag.Transitive,
  valueLength: (a) => 12 * a.communities.length,
  write (a, buf, offset) {
    nonEmpty(a.communities.length, 'LARGE_COMMUNITY')
    let o = offset
    for (const c of a.communities) {
      checkUint(c.global, 0xffffffff, 'large community global administrator')
      checkUint(c.local1, 0xffffffff, 'large community local data 1')
      checkUint(c.local2, 0xffffffff, 'large community local data 2')
      w32(buf, o, c.global); w32(buf, o + 4, c.local1); w32(buf, o + 8, c.local2); o += 12
    }
  },
  read (v, ctx) {
    if (v.length === 0 || v.length % 12 !== 0) throw lengthError(largeCommunitySpec, v.length, 'treat-as-withdraw', ctx)
    const communities = []
    for (let o = 0; o < v.length; o += 12) communities.push({ global: u32(v, o), local1: u32(v, o + 4), local2: u32(v, o + 8) })
    return { type: AttrType.LargeCommunity, communities }
  }
}
