/**
 * Hex fixtures, one commented field per line: `wireFixtures` are written from the RFC layouts and the capability
 * orders the reference daemons use, `capturedFixtures` (captured.ts) were captured from BIRD and GoBGP, and
 * `malformedFixtures` (malformed.ts) are broken messages with the exact outcome the RFCs require. All of them seed
 * the fuzz corpus in ../testdata (seed-corpus.ts).
 */
import { AddPathMode, AsPathSegmentType, AttrType, CapabilityCode, GracefulRestartAfFlags, MessageType, Origin } from '../constants.js'
import type { BgpMessage } from '../message.js'
import type { CodecOptions } from '../options.js'
import { hex } from './assert-codec.js'

const M = 'ffffffffffffffffffffffffffffffff' // Marker: 16 octets of all ones

export interface WireFixture {
  name: string
  opts?: CodecOptions
  bytes: Uint8Array
  message: BgpMessage
}

const enc = new TextEncoder()

export const wireFixtures: WireFixture[] = [
  {
    name: 'OPEN in BIRD\'s capability order: MP IPv4+IPv6, route refresh, graceful restart with forwarding state, 4-octet AS, ADD-PATH, enhanced RR, LLGR aware',
    bytes: hex`
      ${M}
      004d                // Length 77
      01                  // Type OPEN
      04                  // Version 4
      fde9                // My AS 65001
      00f0                // Hold Time 240 (BIRD's default)
      0a000002            // BGP Identifier 10.0.0.2
      30                  // Opt Parm Len 48
      02 2e               // Parameter: Capabilities, length 46 (BIRD and GoBGP put every capability in one parameter)
      01 04 0001 00 01    // Multiprotocol: AFI 1 (IPv4), reserved, SAFI 1 (unicast)
      01 04 0002 00 01    // Multiprotocol: AFI 2 (IPv6), reserved, SAFI 1 (unicast)
      02 00               // Route Refresh
      40 0a               // Graceful Restart, length 10
      0078                //   flags 0, restart time 120
      0001 01 80          //   IPv4 unicast, F (forwarding state preserved)
      0002 01 80          //   IPv6 unicast, F
      41 04 0000fde9      // 4-octet AS: 65001
      45 08               // ADD-PATH, length 8 (Calico's "add paths on")
      0001 01 03          //   IPv4 unicast: send and receive
      0002 01 03          //   IPv6 unicast: send and receive
      46 00               // Enhanced Route Refresh
      47 00               // Long-Lived Graceful Restart, aware only (no families)
    `,
    message: {
      type: MessageType.Open,
      myAs: 65001,
      holdTime: 240,
      bgpId: '10.0.0.2',
      parameters: [{
        type: 2,
        capabilities: [
          { code: CapabilityCode.Multiprotocol, afi: 1, safi: 1 },
          { code: CapabilityCode.Multiprotocol, afi: 2, safi: 1 },
          { code: CapabilityCode.RouteRefresh },
          {
            code: CapabilityCode.GracefulRestart,
            flags: 0,
            restartTime: 120,
            families: [{ afi: 1, safi: 1, flags: GracefulRestartAfFlags.ForwardingState }, { afi: 2, safi: 1, flags: GracefulRestartAfFlags.ForwardingState }]
          },
          { code: CapabilityCode.FourOctetAs, asn: 65001 },
          { code: CapabilityCode.AddPath, families: [{ afi: 1, safi: 1, sendReceive: AddPathMode.Both }, { afi: 2, safi: 1, sendReceive: AddPathMode.Both }] },
          { code: CapabilityCode.EnhancedRouteRefresh },
          { code: CapabilityCode.LongLivedGracefulRestart, families: [] }
        ]
      }]
    }
  },
  {
    name: 'OPEN from AS 4200000001: AS_TRANS, one parameter per capability, extended message',
    bytes: hex`
      ${M}
      004b                // Length 75
      01                  // Type OPEN
      04                  // Version 4
      5ba0                // My AS 23456 (AS_TRANS: the real AS is above 65535)
      005a                // Hold Time 90
      0a000004            // BGP Identifier 10.0.0.4
      2e                  // Opt Parm Len 46
      02 06 01 04 0001 00 01  // Capabilities: Multiprotocol IPv4 unicast
      02 06 01 04 0002 00 01  // Capabilities: Multiprotocol IPv6 unicast
      02 02 02 00             // Capabilities: Route Refresh
      02 02 06 00             // Capabilities: Extended Message
      02 06 41 04 fa56ea01    // Capabilities: 4-octet AS 4200000001
      02 06 45 04 0001 01 01  // Capabilities: ADD-PATH IPv4 unicast, receive
      02 04 40 02 805a        // Capabilities: Graceful Restart, R flag, restart time 90, no families
    `,
    message: {
      type: MessageType.Open,
      myAs: 23456,
      holdTime: 90,
      bgpId: '10.0.0.4',
      parameters: [
        { type: 2, capabilities: [{ code: CapabilityCode.Multiprotocol, afi: 1, safi: 1 }] },
        { type: 2, capabilities: [{ code: CapabilityCode.Multiprotocol, afi: 2, safi: 1 }] },
        { type: 2, capabilities: [{ code: CapabilityCode.RouteRefresh }] },
        { type: 2, capabilities: [{ code: CapabilityCode.ExtendedMessage }] },
        { type: 2, capabilities: [{ code: CapabilityCode.FourOctetAs, asn: 4200000001 }] },
        { type: 2, capabilities: [{ code: CapabilityCode.AddPath, families: [{ afi: 1, safi: 1, sendReceive: AddPathMode.Receive }] }] },
        { type: 2, capabilities: [{ code: CapabilityCode.GracefulRestart, flags: 8, restartTime: 90, families: [] }] }
      ]
    }
  },
  {
    name: 'OPEN with the hostname capability and Cisco route refresh, as FRR advertises them',
    bytes: hex`
      ${M}
      0039                // Length 57
      01                  // Type OPEN
      04                  // Version 4
      fdea                // My AS 65002
      00b4                // Hold Time 180 (FRR's traditional default)
      0a000003            // BGP Identifier 10.0.0.3
      1c                  // Opt Parm Len 28
      02 1a               // Capabilities, length 26
      80 00               // Route Refresh (Cisco, pre-standard code 128)
      02 00               // Route Refresh
      49 0a               // FQDN, length 10
      05 6c656166 31      //   hostname length 5: "leaf1"
      03 6c6162           //   domain length 3: "lab"
      40 02 c0 78         // Graceful Restart: R and N flags, restart time 120
      41 04 0000fdea      // 4-octet AS: 65002
    `,
    message: {
      type: MessageType.Open,
      myAs: 65002,
      holdTime: 180,
      bgpId: '10.0.0.3',
      parameters: [{
        type: 2,
        capabilities: [
          { code: CapabilityCode.RouteRefreshCisco },
          { code: CapabilityCode.RouteRefresh },
          { code: CapabilityCode.Fqdn, hostname: 'leaf1', domain: 'lab' },
          { code: CapabilityCode.GracefulRestart, flags: 0xc, restartTime: 120, families: [] },
          { code: CapabilityCode.FourOctetAs, asn: 65002 }
        ]
      }]
    }
  },
  {
    name: 'eBGP UPDATE: MP_REACH_NLRI IPv6 with global and link-local next hop, AS path, MED, community',
    opts: { fourOctetAs: true },
    bytes: hex`
      ${M}
      007d                // Length 125
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      0066                // Total Path Attribute Length 102
      80 0e 35            // MP_REACH_NLRI (optional), length 53
      0002 01             //   AFI 2 (IPv6), SAFI 1 (unicast)
      20                  //   Next hop length 32: global and link-local
      20010db8000100000000000000000002  // global 2001:db8:1::2
      fe800000000000000000000000000002  // link-local fe80::2
      00                  //   Reserved
      30 20010db80064     //   2001:db8:64::/48
      40 20010db800650000 //   2001:db8:65::/64
      40 01 01 00         // ORIGIN IGP
      40 02 0a 02 02 0000fdea 0000fde9  // AS_PATH: AS_SEQUENCE 65002 65001 (4-octet session)
      80 04 04 00000064   // MULTI_EXIT_DISC 100
      c0 08 04 fdea0064   // COMMUNITIES 65002:100
      c0 20 0c 0000fdea 00000001 00000002  // LARGE_COMMUNITY 65002:1:2
    `,
    message: {
      type: MessageType.Update,
      withdrawn: [],
      attributes: [
        {
          type: AttrType.MpReachNlri,
          afi: 2,
          safi: 1,
          nextHop: '2001:db8:1::2',
          linkLocalNextHop: 'fe80::2',
          nlri: [{ prefix: '2001:db8:64::/48' }, { prefix: '2001:db8:65::/64' }]
        },
        { type: AttrType.Origin, origin: Origin.Igp },
        { type: AttrType.AsPath, segments: [{ type: AsPathSegmentType.AsSequence, asns: [65002, 65001] }] },
        { type: AttrType.MultiExitDisc, med: 100 },
        { type: AttrType.Communities, communities: [0xfdea0064] },
        { type: AttrType.LargeCommunity, communities: [{ global: 65002, local1: 1, local2: 2 }] }
      ],
      nlri: []
    }
  },
  {
    name: 'Calico node UPDATE over iBGP with ADD-PATH: affine /26 block and a borrowed /32, LOCAL_PREF 2147482623',
    opts: { fourOctetAs: true, addPath: [{ afi: 1, safi: 1 }] },
    bytes: hex`
      ${M}
      003e                // Length 62
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      0015                // Total Path Attribute Length 21
      40 01 01 00         // ORIGIN IGP
      40 02 00            // AS_PATH empty (originated inside the AS)
      40 03 04 0a000001   // NEXT_HOP 10.0.0.1
      40 05 04 7ffffbff   // LOCAL_PREF 2147482623 (Calico: 2^31-1 minus the kernel metric 1024)
      00000001 1a c0a80040    // path id 1, 192.168.0.64/26
      00000002 20 c0a80105    // path id 2, 192.168.1.5/32
    `,
    message: {
      type: MessageType.Update,
      withdrawn: [],
      attributes: [
        { type: AttrType.Origin, origin: Origin.Igp },
        { type: AttrType.AsPath, segments: [] },
        { type: AttrType.NextHop, nextHop: '10.0.0.1' },
        { type: AttrType.LocalPref, localPref: 2147482623 }
      ],
      nlri: [{ prefix: '192.168.0.64/26', pathId: 1 }, { prefix: '192.168.1.5/32', pathId: 2 }]
    }
  },
  {
    name: 'UPDATE from a 2-octet speaker: AS_TRANS in AS_PATH and AGGREGATOR, real values in AS4_PATH and AS4_AGGREGATOR',
    bytes: hex`
      ${M}
      0057                // Length 87
      02                  // Type UPDATE
      0002                // Withdrawn Routes Length 2
      08 0b               //   11.0.0.0/8 withdrawn
      003a                // Total Path Attribute Length 58
      40 01 01 02         // ORIGIN INCOMPLETE
      40 02 08 02 03 fde8 5ba0 5ba0   // AS_PATH: AS_SEQUENCE 65000 23456 23456 (2-octet)
      40 03 04 c0000201   // NEXT_HOP 192.0.2.1
      40 06 00            // ATOMIC_AGGREGATE
      c0 07 06 5ba0 c0000202          // AGGREGATOR AS_TRANS, 192.0.2.2
      c0 11 0a 02 02 fa56ea01 fa56ea02  // AS4_PATH: AS_SEQUENCE 4200000001 4200000002
      c0 12 08 fa56ea02 c0000202      // AS4_AGGREGATOR 4200000002, 192.0.2.2
      18 c63364           // 198.51.100.0/24
    `,
    message: {
      type: MessageType.Update,
      withdrawn: [{ prefix: '11.0.0.0/8' }],
      attributes: [
        { type: AttrType.Origin, origin: Origin.Incomplete },
        { type: AttrType.AsPath, segments: [{ type: AsPathSegmentType.AsSequence, asns: [65000, 23456, 23456] }] },
        { type: AttrType.NextHop, nextHop: '192.0.2.1' },
        { type: AttrType.AtomicAggregate },
        { type: AttrType.Aggregator, asn: 23456, address: '192.0.2.2' },
        { type: AttrType.As4Path, segments: [{ type: AsPathSegmentType.AsSequence, asns: [4200000001, 4200000002] }] },
        { type: AttrType.As4Aggregator, asn: 4200000002, address: '192.0.2.2' }
      ],
      nlri: [{ prefix: '198.51.100.0/24' }]
    }
  },
  {
    name: 'Route reflector UPDATE: ORIGINATOR_ID, CLUSTER_LIST, extended community, unknown optional transitive attribute kept',
    opts: { fourOctetAs: true },
    bytes: hex`
      ${M}
      0059                // Length 89
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      003e                // Total Path Attribute Length 62
      40 01 01 00         // ORIGIN IGP
      40 02 06 02 01 0000fde9  // AS_PATH: AS_SEQUENCE 65001
      40 03 04 0a000005   // NEXT_HOP 10.0.0.5
      40 05 04 00000064   // LOCAL_PREF 100
      80 09 04 0a000005   // ORIGINATOR_ID 10.0.0.5
      80 0a 08 0a0000fe 0a0000fd  // CLUSTER_LIST 10.0.0.254 10.0.0.253
      c0 10 08 0002fde900000064   // EXTENDED_COMMUNITIES route target 65001:100
      e0 63 03 010203     // attribute 99: optional transitive partial, unknown (kept raw)
      18 0a0b0c           // 10.11.12.0/24
    `,
    message: {
      type: MessageType.Update,
      withdrawn: [],
      attributes: [
        { type: AttrType.Origin, origin: Origin.Igp },
        { type: AttrType.AsPath, segments: [{ type: AsPathSegmentType.AsSequence, asns: [65001] }] },
        { type: AttrType.NextHop, nextHop: '10.0.0.5' },
        { type: AttrType.LocalPref, localPref: 100 },
        { type: AttrType.OriginatorId, originatorId: '10.0.0.5' },
        { type: AttrType.ClusterList, clusterList: ['10.0.0.254', '10.0.0.253'] },
        { type: AttrType.ExtendedCommunities, communities: [0x0002fde900000064n] },
        { type: 99, flags: 0xe0, raw: Uint8Array.of(1, 2, 3) }
      ],
      nlri: [{ prefix: '10.11.12.0/24' }]
    }
  },
  {
    name: 'End-of-RIB for IPv4 unicast (RFC 4724)',
    bytes: hex`
      ${M}
      0017                // Length 23
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      0000                // Total Path Attribute Length 0
    `,
    message: { type: MessageType.Update, withdrawn: [], attributes: [], nlri: [] }
  },
  {
    name: 'End-of-RIB for IPv6 unicast: an empty MP_UNREACH_NLRI',
    bytes: hex`
      ${M}
      001d                // Length 29
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      0006                // Total Path Attribute Length 6
      80 0f 03 0002 01    // MP_UNREACH_NLRI: AFI 2, SAFI 1, nothing withdrawn
    `,
    message: { type: MessageType.Update, withdrawn: [], attributes: [{ type: AttrType.MpUnreachNlri, afi: 2, safi: 1, withdrawn: [] }], nlri: [] }
  },
  {
    name: 'NOTIFICATION Cease/Administrative Shutdown with a UTF-8 shutdown communication (what BIRD 2.0.12 sent for birdc disable, byte for byte)',
    bytes: hex`
      ${M}
      0030                // Length 48
      03                  // Type NOTIFICATION
      06                  // Error code 6: Cease
      02                  // Subcode 2: Administrative Shutdown
      1a                  // Shutdown communication length 26
      ${Array.from(enc.encode('Wartung: zurück um 14 Uhr'), (b) => b.toString(16).padStart(2, '0')).join('')} // "Wartung: zurück um 14 Uhr" (ü is 2 octets)
    `,
    message: { type: MessageType.Notification, code: 6, subcode: 2, data: Uint8Array.of(26, ...enc.encode('Wartung: zurück um 14 Uhr')) }
  },
  {
    name: 'NOTIFICATION Hold Timer Expired',
    bytes: hex`
      ${M}
      0015                // Length 21
      03                  // Type NOTIFICATION
      04 00               // Hold Timer Expired, subcode 0
    `,
    message: { type: MessageType.Notification, code: 4, subcode: 0, data: new Uint8Array(0) }
  },
  {
    name: 'KEEPALIVE',
    bytes: hex`
      ${M}
      0013                // Length 19
      04                  // Type KEEPALIVE
    `,
    message: { type: MessageType.Keepalive }
  },
  {
    name: 'ROUTE-REFRESH for IPv6 unicast (RFC 2918)',
    bytes: hex`
      ${M}
      0017                // Length 23
      05                  // Type ROUTE-REFRESH
      0002 00 01          // AFI 2, subtype 0 (request), SAFI 1
    `,
    message: { type: MessageType.RouteRefresh, afi: 2, safi: 1, subtype: 0 }
  },
  {
    name: 'Enhanced ROUTE-REFRESH End-of-RIB-refresh for IPv4 unicast (RFC 7313)',
    bytes: hex`
      ${M}
      0017                // Length 23
      05                  // Type ROUTE-REFRESH
      0001 02 01          // AFI 1, subtype 2 (EoRR), SAFI 1
    `,
    message: { type: MessageType.RouteRefresh, afi: 1, safi: 1, subtype: 2 }
  }
]

export { capturedFixtures } from './captured.js'
export { malformedFixtures } from './malformed.js'
export type { MalformedFixture, ThrownOutcome } from './malformed.js'
