/** Messages captured from BIRD 2.0.12 and GoBGP 3.10.0 (capture-lab.sh), every field commented. */
import { AddPathMode, AsPathSegmentType, AttrType, CapabilityCode, MessageType, Origin } from '../constants.js'
import { hex } from './assert-codec.js'
import type { WireFixture } from './fixtures.js'

const M = 'ffffffffffffffffffffffffffffffff' // Marker: 16 octets of all ones

/**
 * Captured from BIRD 2.0.12 (AS 65001, 10.99.0.1, 2001:db8:99::1) peering with GoBGP 3.10.0 (AS 4200000002,
 * 10.99.0.2, 2001:db8:99::2) in two network namespaces, one eBGP session over IPv4 (ipv4 channel, ADD-PATH on both
 * sides, BIRD's `graceful restart on`) and one over IPv6, with tcpdump on the link; the TCP payloads were framed
 * with `Framer`. GoBGP's hostname capability carries the lab machine's name, "vm".
 */
export const capturedFixtures: WireFixture[] = [
  {
    name: 'captured: BIRD 2.0.12 OPEN on the IPv4 session',
    bytes: hex`
      ${M}
      003f                // Length 63
      01                  // Type OPEN
      04                  // Version 4
      fde9                // My AS 65001
      005a                // Hold Time 90
      0a630001            // BGP Identifier 10.99.0.1
      22                  // Opt Parm Len 34
      02 20               // Capabilities, length 32
      01 04 0001 00 01    // Multiprotocol IPv4 unicast
      02 00               // Route Refresh
      40 06 0078 0001 01 00  // Graceful Restart: restart time 120, IPv4 unicast without F
      41 04 0000fde9      // 4-octet AS 65001
      45 04 0001 01 03    // ADD-PATH IPv4 unicast: send and receive
      46 00               // Enhanced Route Refresh
      47 00               // Long-Lived Graceful Restart, aware only
    `,
    message: {
      type: MessageType.Open,
      myAs: 65001,
      holdTime: 90,
      bgpId: '10.99.0.1',
      parameters: [{
        type: 2,
        capabilities: [
          { code: CapabilityCode.Multiprotocol, afi: 1, safi: 1 },
          { code: CapabilityCode.RouteRefresh },
          { code: CapabilityCode.GracefulRestart, flags: 0, restartTime: 120, families: [{ afi: 1, safi: 1, flags: 0 }] },
          { code: CapabilityCode.FourOctetAs, asn: 65001 },
          { code: CapabilityCode.AddPath, families: [{ afi: 1, safi: 1, sendReceive: AddPathMode.Both }] },
          { code: CapabilityCode.EnhancedRouteRefresh },
          { code: CapabilityCode.LongLivedGracefulRestart, families: [] }
        ]
      }]
    }
  },
  {
    name: 'captured: GoBGP 3.10.0 OPEN on the IPv4 session (AS_TRANS, hostname, extended next hop)',
    bytes: hex`
      ${M}
      0041                // Length 65
      01                  // Type OPEN
      04                  // Version 4
      5ba0                // My AS 23456 (AS_TRANS)
      005a                // Hold Time 90
      0a630002            // BGP Identifier 10.99.0.2
      24                  // Opt Parm Len 36
      02 22               // Capabilities, length 34
      02 00               // Route Refresh
      49 04 02 766d 00    // FQDN: hostname "vm", no domain
      01 04 0001 00 01    // Multiprotocol IPv4 unicast
      41 04 fa56ea02      // 4-octet AS 4200000002
      05 06 0001 0001 0002  // Extended Next Hop: IPv4 unicast may use an IPv6 next hop
      45 04 0001 01 03    // ADD-PATH IPv4 unicast: send and receive
    `,
    message: {
      type: MessageType.Open,
      myAs: 23456,
      holdTime: 90,
      bgpId: '10.99.0.2',
      parameters: [{
        type: 2,
        capabilities: [
          { code: CapabilityCode.RouteRefresh },
          { code: CapabilityCode.Fqdn, hostname: 'vm', domain: '' },
          { code: CapabilityCode.Multiprotocol, afi: 1, safi: 1 },
          { code: CapabilityCode.FourOctetAs, asn: 4200000002 },
          { code: CapabilityCode.ExtendedNextHop, entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
          { code: CapabilityCode.AddPath, families: [{ afi: 1, safi: 1, sendReceive: AddPathMode.Both }] }
        ]
      }]
    }
  },
  {
    name: 'captured: BIRD 2.0.12 OPEN on the IPv6 session (graceful restart aware: no families)',
    bytes: hex`
      ${M}
      0035                // Length 53
      01                  // Type OPEN
      04                  // Version 4
      fde9                // My AS 65001
      005a                // Hold Time 90
      0a630001            // BGP Identifier 10.99.0.1
      18                  // Opt Parm Len 24
      02 16               // Capabilities, length 22
      01 04 0002 00 01    // Multiprotocol IPv6 unicast
      02 00               // Route Refresh
      40 02 0078          // Graceful Restart: restart time 120, no families
      41 04 0000fde9      // 4-octet AS 65001
      46 00               // Enhanced Route Refresh
      47 00               // Long-Lived Graceful Restart, aware only
    `,
    message: {
      type: MessageType.Open,
      myAs: 65001,
      holdTime: 90,
      bgpId: '10.99.0.1',
      parameters: [{
        type: 2,
        capabilities: [
          { code: CapabilityCode.Multiprotocol, afi: 2, safi: 1 },
          { code: CapabilityCode.RouteRefresh },
          { code: CapabilityCode.GracefulRestart, flags: 0, restartTime: 120, families: [] },
          { code: CapabilityCode.FourOctetAs, asn: 65001 },
          { code: CapabilityCode.EnhancedRouteRefresh },
          { code: CapabilityCode.LongLivedGracefulRestart, families: [] }
        ]
      }]
    }
  },
  {
    name: 'captured: BIRD 2.0.12 UPDATE over eBGP IPv4 with ADD-PATH: a /26 and a /24 with path id 2',
    opts: { fourOctetAs: true, addPath: [{ afi: 1, safi: 1 }] },
    bytes: hex`
      ${M}
      003c                // Length 60
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      0014                // Total Path Attribute Length 20
      40 01 01 00         // ORIGIN IGP
      40 02 06 02 01 0000fde9  // AS_PATH: AS_SEQUENCE 65001
      40 03 04 0a630001   // NEXT_HOP 10.99.0.1
      00000002 1a c0a80b40  // path id 2, 192.168.11.64/26
      00000002 18 c0a80a    // path id 2, 192.168.10.0/24
    `,
    message: {
      type: MessageType.Update,
      withdrawn: [],
      attributes: [
        { type: AttrType.Origin, origin: Origin.Igp },
        { type: AttrType.AsPath, segments: [{ type: AsPathSegmentType.AsSequence, asns: [65001] }] },
        { type: AttrType.NextHop, nextHop: '10.99.0.1' }
      ],
      nlri: [{ prefix: '192.168.11.64/26', pathId: 2 }, { prefix: '192.168.10.0/24', pathId: 2 }]
    }
  },
  {
    name: 'captured: BIRD 2.0.12 UPDATE over eBGP IPv6: MP_REACH_NLRI first, extended length, global and link-local next hop',
    opts: { fourOctetAs: true },
    bytes: hex`
      ${M}
      005d                // Length 93
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      0046                // Total Path Attribute Length 70
      90 0e 0035          // MP_REACH_NLRI, optional with Extended Length (as BIRD always sends it), length 53
      0002 01             //   AFI 2, SAFI 1
      20                  //   next hop length 32
      20010db8009900000000000000000001  // global 2001:db8:99::1
      fe80000000000000a0cf4afffeb15745  // link-local fe80::a0cf:4aff:feb1:5745
      00                  //   Reserved
      30 20010db80100     //   2001:db8:100::/48
      40 20010db801010000 //   2001:db8:101::/64
      40 01 01 00         // ORIGIN IGP
      40 02 06 02 01 0000fde9  // AS_PATH: AS_SEQUENCE 65001
    `,
    message: {
      type: MessageType.Update,
      withdrawn: [],
      attributes: [
        {
          type: AttrType.MpReachNlri,
          afi: 2,
          safi: 1,
          nextHop: '2001:db8:99::1',
          linkLocalNextHop: 'fe80::a0cf:4aff:feb1:5745',
          nlri: [{ prefix: '2001:db8:100::/48' }, { prefix: '2001:db8:101::/64' }],
          extendedLength: true
        },
        { type: AttrType.Origin, origin: Origin.Igp },
        { type: AttrType.AsPath, segments: [{ type: AsPathSegmentType.AsSequence, asns: [65001] }] }
      ],
      nlri: []
    }
  },
  {
    name: 'captured: GoBGP 3.10.0 UPDATE over eBGP IPv4 with ADD-PATH, MED, a community and a large community',
    opts: { fourOctetAs: true, addPath: [{ afi: 1, safi: 1 }] },
    bytes: hex`
      ${M}
      0050                // Length 80
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      0031                // Total Path Attribute Length 49
      40 01 01 02         // ORIGIN INCOMPLETE
      40 02 06 02 01 fa56ea02  // AS_PATH: AS_SEQUENCE 4200000002
      40 03 04 0a630002   // NEXT_HOP 10.99.0.2
      80 04 04 00000032   // MULTI_EXIT_DISC 50
      c0 08 04 fde80064   // COMMUNITIES 65000:100
      c0 20 0c fa56ea02 00000001 00000002  // LARGE_COMMUNITY 4200000002:1:2
      00000001 18 0a1400  // path id 1, 10.20.0.0/24
    `,
    message: {
      type: MessageType.Update,
      withdrawn: [],
      attributes: [
        { type: AttrType.Origin, origin: Origin.Incomplete },
        { type: AttrType.AsPath, segments: [{ type: AsPathSegmentType.AsSequence, asns: [4200000002] }] },
        { type: AttrType.NextHop, nextHop: '10.99.0.2' },
        { type: AttrType.MultiExitDisc, med: 50 },
        { type: AttrType.Communities, communities: [0xfde80064] },
        { type: AttrType.LargeCommunity, communities: [{ global: 4200000002, local1: 1, local2: 2 }] }
      ],
      nlri: [{ prefix: '10.20.0.0/24', pathId: 1 }]
    }
  },
  {
    name: 'captured: GoBGP 3.10.0 withdrawal with ADD-PATH',
    opts: { fourOctetAs: true, addPath: [{ afi: 1, safi: 1 }] },
    bytes: hex`
      ${M}
      001e                // Length 30
      02                  // Type UPDATE
      0007                // Withdrawn Routes Length 7
      00000001 10 0a15    //   path id 1, 10.21.0.0/16
      0000                // Total Path Attribute Length 0
    `,
    message: { type: MessageType.Update, withdrawn: [{ prefix: '10.21.0.0/16', pathId: 1 }], attributes: [], nlri: [] }
  },
  {
    name: 'captured: GoBGP 3.10.0 UPDATE over eBGP IPv6: MP_REACH_NLRI last, global next hop only',
    opts: { fourOctetAs: true },
    bytes: hex`
      ${M}
      0043                // Length 67
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      002c                // Total Path Attribute Length 44
      40 01 01 02         // ORIGIN INCOMPLETE
      40 02 06 02 01 fa56ea02  // AS_PATH: AS_SEQUENCE 4200000002
      80 0e 1c            // MP_REACH_NLRI, length 28
      0002 01             //   AFI 2, SAFI 1
      10 20010db8009900000000000000000002  //   next hop 2001:db8:99::2
      00                  //   Reserved
      30 20010db80200     //   2001:db8:200::/48
    `,
    message: {
      type: MessageType.Update,
      withdrawn: [],
      attributes: [
        { type: AttrType.Origin, origin: Origin.Incomplete },
        { type: AttrType.AsPath, segments: [{ type: AsPathSegmentType.AsSequence, asns: [4200000002] }] },
        { type: AttrType.MpReachNlri, afi: 2, safi: 1, nextHop: '2001:db8:99::2', nlri: [{ prefix: '2001:db8:200::/48' }] }
      ],
      nlri: []
    }
  },
  {
    name: 'captured: BIRD 2.0.12 NOTIFICATION Cease/Administrative Reset for birdc restart',
    bytes: hex`
      ${M}
      0015                // Length 21
      03                  // Type NOTIFICATION
      06 04               // Cease/Administrative Reset, no shutdown communication
    `,
    message: { type: MessageType.Notification, code: 6, subcode: 4, data: new Uint8Array(0) }
  }
]
