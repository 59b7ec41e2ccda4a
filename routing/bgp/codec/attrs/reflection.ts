/**
 * The route reflection attributes (RFC 4456 §8): ORIGINATOR_ID (a BGP Identifier) and CLUSTER_LIST (cluster ids).
 * Malformed — ORIGINATOR_ID not 4 octets, CLUSTER_LIST empty or not a multiple of 4 — is treat-as-withdraw
 * (RFC 7606 §7.9, §7.10). That both are discarded when they come from eBGP is `validateUpdate()`'s business.
 */
import { AttrFlag, AttrType } from '../constants.js'
import { BgpEncodeError } from '../errors.js'
import { readIpv4, writeIpv4 } from './address.js'
import type { AttrSpec } from './spec.js'
import { lengthError } from './spec.js'
import type { ClusterListAttribute, OriginatorIdAttribute } from './types.js'

export const originatorIdSpec: AttrSpec<OriginatorIdAttribute> = {
  type: AttrType.OriginatorId,
  name: 'ORIGINATOR_ID',
  flags: AttrFlag.Optional,
  valueLength: () => 4,
  write: (a, buf, offset) => { writeIpv4(a.originatorId, buf, offset, 'ORIGINATOR_ID') },
  read (v, ctx) {
    if (v.length !== 4) throw lengthError(originatorIdSpec, v.length, 'treat-as-withdraw', ctx)
    return { type: AttrType.OriginatorId, originatorId: readIpv4(v, 0) }
  }
}

export const clusterListSpec: AttrSpec<ClusterListAttribute> = {
  type: AttrType.ClusterList,
  name: 'CLUSTER_LIST',
  flags: AttrFlag.Optional,
  valueLength: (a) => 4 * a.clusterList.length,
  write (a, buf, offset) {
    if (a.clusterList.length === 0) throw new BgpEncodeError('BGP_ERR_ENCODE_INVALID', 'an empty CLUSTER_LIST is malformed (RFC 7606 §7.10)')
    a.clusterList.forEach((id, i) => { writeIpv4(id, buf, offset + 4 * i, 'cluster id') })
  },
  read (v, ctx) {
    if (v.length === 0 || v.length % 4 !== 0) throw lengthError(clusterListSpec, v.length, 'treat-as-withdraw', ctx)
    const clusterList: string[] = []
    for (let o = 0; o < v.length; o += 4) clusterList.push(readIpv4(v, o))
    return { type: AttrType.ClusterList, clusterList }
  }
}
