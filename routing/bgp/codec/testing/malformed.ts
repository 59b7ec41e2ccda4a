/**
 * Broken messages, one commented field per line, with the exact outcome the RFCs require of each: the error code,
 * NOTIFICATION and handling thrown, or the UPDATE returned with its RFC 7606 errors.
 */
import type { BgpMessageErrorCode, ErrorHandling } from '../errors.js'
import type { CodecOptions } from '../options.js'
import { hex } from './assert-codec.js'

const M = 'ffffffffffffffffffffffffffffffff' // Marker: 16 octets of all ones

export interface ThrownOutcome {
  code: BgpMessageErrorCode
  /** NOTIFICATION code and subcode. */
  notification: [number, number]
  /** Hex of the NOTIFICATION data, when the RFC fixes it. */
  data?: string
  handling: ErrorHandling
}

export interface MalformedFixture {
  name: string
  opts?: CodecOptions
  bytes: Uint8Array
  /** `decodeMessage` throws this. */
  throws?: ThrownOutcome
  /** `decodeMessage` returns an UPDATE with these errors, in order. */
  returns?: { treatAsWithdraw: boolean, errors: Array<[BgpMessageErrorCode, ErrorHandling]> }
}

const reset: ErrorHandling = 'session-reset'

export const malformedFixtures: MalformedFixture[] = [
  {
    name: 'marker not all ones',
    bytes: hex`
      ffffffffffffffffffffffffffff fe ff  // Marker: octet 15 is 0xfe
      0013                // Length 19
      04                  // Type KEEPALIVE
    `,
    throws: { code: 'BGP_ERR_MARKER', notification: [1, 1], data: '', handling: reset }
  },
  {
    name: 'length below the header',
    bytes: hex`
      ${M}
      0012                // Length 18: less than the 19-octet header
      04                  // Type KEEPALIVE
    `,
    throws: { code: 'BGP_ERR_MESSAGE_LENGTH', notification: [1, 2], data: '0012', handling: reset }
  },
  {
    name: 'length above 4096 without extended messages',
    bytes: hex`
      ${M}
      1001                // Length 4097
      02                  // Type UPDATE
    `,
    throws: { code: 'BGP_ERR_MESSAGE_LENGTH', notification: [1, 2], data: '1001', handling: reset }
  },
  {
    name: 'OPEN above 4096 even with extended messages (RFC 8654 §4)',
    opts: { extendedMessages: true },
    bytes: hex`
      ${M}
      1001                // Length 4097
      01                  // Type OPEN
    `,
    throws: { code: 'BGP_ERR_MESSAGE_LENGTH', notification: [1, 2], data: '1001', handling: reset }
  },
  {
    name: 'unknown message type',
    bytes: hex`
      ${M}
      0013                // Length 19
      07                  // Type 7: unknown
    `,
    throws: { code: 'BGP_ERR_MESSAGE_TYPE', notification: [1, 3], data: '07', handling: reset }
  },
  {
    name: 'KEEPALIVE with a body',
    bytes: hex`
      ${M}
      0014                // Length 20: a KEEPALIVE is exactly 19
      04                  // Type KEEPALIVE
      00                  // a stray octet
    `,
    throws: { code: 'BGP_ERR_MESSAGE_LENGTH', notification: [1, 2], data: '0014', handling: reset }
  },
  {
    name: 'NOTIFICATION shorter than 21',
    bytes: hex`
      ${M}
      0014                // Length 20: below the NOTIFICATION minimum of 21
      03                  // Type NOTIFICATION
      06                  // Error code, no subcode
    `,
    throws: { code: 'BGP_ERR_MESSAGE_LENGTH', notification: [1, 2], data: '0014', handling: reset }
  },
  {
    name: 'buffer shorter than the length field says',
    bytes: hex`
      ${M}
      0030                // Length 48
      02                  // Type UPDATE
      0000                // ... and the buffer ends after 2 more octets
    `,
    throws: { code: 'BGP_ERR_TRUNCATED', notification: [1, 2], handling: reset }
  },
  {
    name: 'OPEN version 3',
    bytes: hex`
      ${M}
      001d                // Length 29
      01                  // Type OPEN
      03                  // Version 3
      fde8                // My AS 65000
      00b4                // Hold Time 180
      0a000001            // BGP Identifier 10.0.0.1
      00                  // Opt Parm Len 0
    `,
    throws: { code: 'BGP_ERR_OPEN_VERSION', notification: [2, 1], data: '0004', handling: reset }
  },
  {
    name: 'OPEN optional parameters length disagrees with the message length',
    bytes: hex`
      ${M}
      001d                // Length 29
      01                  // Type OPEN
      04                  // Version 4
      fde8                // My AS 65000
      00b4                // Hold Time 180
      0a000001            // BGP Identifier 10.0.0.1
      05                  // Opt Parm Len 5, but nothing follows
    `,
    throws: { code: 'BGP_ERR_MESSAGE_LENGTH', notification: [1, 2], data: '001d', handling: reset }
  },
  {
    name: 'OPEN capability overruns its parameter',
    bytes: hex`
      ${M}
      0021                // Length 33
      01                  // Type OPEN
      04                  // Version 4
      fde8                // My AS 65000
      00b4                // Hold Time 180
      0a000001            // BGP Identifier 10.0.0.1
      04                  // Opt Parm Len 4
      02 02               // Capabilities parameter, length 2
      01 04               // Multiprotocol, length 4: overruns the 2-octet parameter
    `,
    throws: { code: 'BGP_ERR_OPEN_MALFORMED', notification: [2, 0], handling: reset }
  },
  {
    name: 'OPEN Multiprotocol capability of length 1',
    bytes: hex`
      ${M}
      0022                // Length 34
      01                  // Type OPEN
      04                  // Version 4
      fde8                // My AS 65000
      00b4                // Hold Time 180
      0a000001            // BGP Identifier 10.0.0.1
      05                  // Opt Parm Len 5
      02 03               // Capabilities parameter, length 3
      01 01 00            // Multiprotocol of length 1 (must be 4)
    `,
    throws: { code: 'BGP_ERR_OPEN_MALFORMED', notification: [2, 0], handling: reset }
  },
  {
    name: 'OPEN extended optional parameters (RFC 9072) with a length overrunning the message',
    bytes: hex`
      ${M}
      0020                // Length 32
      01                  // Type OPEN
      04                  // Version 4
      fde8                // My AS 65000
      00b4                // Hold Time 180
      0a000001            // BGP Identifier 10.0.0.1
      ff                  // Non-Ext OP Len 255
      ff                  // Non-Ext OP Type 255: the extended form
      0009                // Extended Opt Parm Len 9, but none follow
    `,
    throws: { code: 'BGP_ERR_MESSAGE_LENGTH', notification: [1, 2], data: '0020', handling: reset }
  },
  {
    name: 'UPDATE Withdrawn Routes Length overruns the message',
    bytes: hex`
      ${M}
      0017                // Length 23
      02                  // Type UPDATE
      0005                // Withdrawn Routes Length 5, with 2 octets left
      0000                // Total Path Attribute Length 0
    `,
    throws: { code: 'BGP_ERR_UPDATE_LENGTH', notification: [3, 1], handling: reset }
  },
  {
    name: 'UPDATE Total Path Attribute Length overruns the message',
    bytes: hex`
      ${M}
      001b                // Length 27
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      0010                // Total Path Attribute Length 16, with 4 octets left
      40 01 01 00         // ORIGIN IGP
    `,
    throws: { code: 'BGP_ERR_UPDATE_LENGTH', notification: [3, 1], handling: reset }
  },
  {
    name: 'UPDATE withdrawn prefix of length 33',
    bytes: hex`
      ${M}
      001c                // Length 28
      02                  // Type UPDATE
      0005                // Withdrawn Routes Length 5
      21 0a000001         // prefix length 33: invalid for IPv4
      0000                // Total Path Attribute Length 0
    `,
    throws: { code: 'BGP_ERR_UPDATE_NLRI', notification: [3, 10], handling: reset }
  },
  {
    name: 'UPDATE NLRI prefix overruns the message',
    bytes: hex`
      ${M}
      001a                // Length 26
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      0000                // Total Path Attribute Length 0
      18 0a01             // a /24 needs 3 octets, 2 follow
    `,
    throws: { code: 'BGP_ERR_UPDATE_NLRI', notification: [3, 10], handling: reset }
  },
  {
    name: 'ORIGIN value 3 with NLRI: treat-as-withdraw',
    bytes: hex`
      ${M}
      002d                // Length 45
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      0012                // Total Path Attribute Length 18
      40 01 01 03         // ORIGIN 3: undefined
      40 02 04 02 01 fde9 // AS_PATH: AS_SEQUENCE 65001
      40 03 04 0a000002   // NEXT_HOP 10.0.0.2
      18 0a0100           // 10.1.0.0/24
    `,
    returns: { treatAsWithdraw: true, errors: [['BGP_ERR_ATTR_ORIGIN', 'treat-as-withdraw']] }
  },
  {
    name: 'ORIGIN value 3 without NLRI: session reset (RFC 7606 §5.2)',
    bytes: hex`
      ${M}
      0029                // Length 41
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      0012                // Total Path Attribute Length 18
      40 01 01 03         // ORIGIN 3: undefined
      40 02 04 02 01 fde9 // AS_PATH: AS_SEQUENCE 65001
      40 03 04 0a000002   // NEXT_HOP 10.0.0.2
    `,
    throws: { code: 'BGP_ERR_ATTR_ORIGIN', notification: [3, 6], data: '40010103', handling: reset }
  },
  {
    name: 'AS_PATH segment overruns the attribute: treat-as-withdraw',
    bytes: hex`
      ${M}
      002d                // Length 45
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      0012                // Total Path Attribute Length 18
      40 01 01 00         // ORIGIN IGP
      40 02 04 02 02 fde9 // AS_PATH: AS_SEQUENCE of 2 ASNs, but only one follows
      40 03 04 0a000002   // NEXT_HOP 10.0.0.2
      18 0a0100           // 10.1.0.0/24
    `,
    returns: { treatAsWithdraw: true, errors: [['BGP_ERR_ATTR_AS_PATH', 'treat-as-withdraw']] }
  },
  {
    name: 'AS_PATH holding AS 0 (RFC 7607): treat-as-withdraw',
    bytes: hex`
      ${M}
      002d                // Length 45
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      0012                // Total Path Attribute Length 18
      40 01 01 00         // ORIGIN IGP
      40 02 04 02 01 0000 // AS_PATH: AS_SEQUENCE 0
      40 03 04 0a000002   // NEXT_HOP 10.0.0.2
      18 0a0100           // 10.1.0.0/24
    `,
    returns: { treatAsWithdraw: true, errors: [['BGP_ERR_ATTR_AS_PATH', 'treat-as-withdraw']] }
  },
  {
    name: 'last attribute overruns the Total Path Attribute Length: treat-as-withdraw, NLRI still located',
    bytes: hex`
      ${M}
      0026                // Length 38
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      000b                // Total Path Attribute Length 11
      40 01 01 00         // ORIGIN IGP
      40 02 0a 02 01 fde9 // AS_PATH of length 10: only 4 octets of the attributes remain
      18 0a0100           // 10.1.0.0/24
    `,
    returns: {
      treatAsWithdraw: true,
      errors: [['BGP_ERR_ATTR_FRAMING', 'treat-as-withdraw'], ['BGP_ERR_ATTR_MISSING', 'treat-as-withdraw'], ['BGP_ERR_ATTR_MISSING', 'treat-as-withdraw']]
    }
  },
  {
    name: 'attribute header cut short by the Total Path Attribute Length (extended length, 3 octets left)',
    bytes: hex`
      ${M}
      0022                // Length 34
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      0007                // Total Path Attribute Length 7
      40 01 01 00         // ORIGIN IGP
      50 02 00            // AS_PATH with Extended Length: the 2-octet length does not fit
      18 0a0100           // 10.1.0.0/24
    `,
    returns: {
      treatAsWithdraw: true,
      errors: [['BGP_ERR_ATTR_FRAMING', 'treat-as-withdraw'], ['BGP_ERR_ATTR_MISSING', 'treat-as-withdraw'], ['BGP_ERR_ATTR_MISSING', 'treat-as-withdraw']]
    }
  },
  {
    name: 'duplicate ORIGIN: the second is discarded',
    bytes: hex`
      ${M}
      0031                // Length 49
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      0016                // Total Path Attribute Length 22
      40 01 01 00         // ORIGIN IGP
      40 01 01 02         // ORIGIN INCOMPLETE: a duplicate
      40 02 04 02 01 fde9 // AS_PATH: AS_SEQUENCE 65001
      40 03 04 0a000002   // NEXT_HOP 10.0.0.2
      18 0a0100           // 10.1.0.0/24
    `,
    returns: { treatAsWithdraw: false, errors: [['BGP_ERR_ATTR_DUPLICATE', 'attribute-discard']] }
  },
  {
    name: 'duplicate MP_UNREACH_NLRI: session reset',
    bytes: hex`
      ${M}
      0023                // Length 35
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      000c                // Total Path Attribute Length 12
      80 0f 03 0002 01    // MP_UNREACH_NLRI IPv6 unicast
      80 0f 03 0002 01    // MP_UNREACH_NLRI again
    `,
    throws: { code: 'BGP_ERR_ATTR_DUPLICATE', notification: [3, 1], handling: reset }
  },
  {
    name: 'ORIGIN flagged optional: attribute flags error, treat-as-withdraw',
    bytes: hex`
      ${M}
      002d                // Length 45
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      0012                // Total Path Attribute Length 18
      c0 01 01 00         // ORIGIN with flags 0xc0 (optional transitive): defined as 0x40
      40 02 04 02 01 fde9 // AS_PATH: AS_SEQUENCE 65001
      40 03 04 0a000002   // NEXT_HOP 10.0.0.2
      18 0a0100           // 10.1.0.0/24
    `,
    returns: { treatAsWithdraw: true, errors: [['BGP_ERR_ATTR_FLAGS', 'treat-as-withdraw']] }
  },
  {
    name: 'NEXT_HOP missing with IPv4 NLRI: treat-as-withdraw',
    bytes: hex`
      ${M}
      0026                // Length 38
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      000b                // Total Path Attribute Length 11
      40 01 01 00         // ORIGIN IGP
      40 02 04 02 01 fde9 // AS_PATH: AS_SEQUENCE 65001
      18 0a0100           // 10.1.0.0/24, but no NEXT_HOP
    `,
    returns: { treatAsWithdraw: true, errors: [['BGP_ERR_ATTR_MISSING', 'treat-as-withdraw']] }
  },
  {
    name: 'AGGREGATOR of 5 octets on a 2-octet session: attribute discard',
    bytes: hex`
      ${M}
      0035                // Length 53
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      001a                // Total Path Attribute Length 26
      40 01 01 00         // ORIGIN IGP
      40 02 04 02 01 fde9 // AS_PATH: AS_SEQUENCE 65001
      40 03 04 0a000002   // NEXT_HOP 10.0.0.2
      c0 07 05 fde9 0a0000  // AGGREGATOR of length 5 (6 on a 2-octet session)
      18 0a0100           // 10.1.0.0/24
    `,
    returns: { treatAsWithdraw: false, errors: [['BGP_ERR_ATTR_LENGTH', 'attribute-discard']] }
  },
  {
    name: 'COMMUNITIES of 5 octets: treat-as-withdraw',
    bytes: hex`
      ${M}
      0035                // Length 53
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      001a                // Total Path Attribute Length 26
      40 01 01 00         // ORIGIN IGP
      40 02 04 02 01 fde9 // AS_PATH: AS_SEQUENCE 65001
      40 03 04 0a000002   // NEXT_HOP 10.0.0.2
      c0 08 05 fde90064 00  // COMMUNITIES of length 5: not a multiple of 4
      18 0a0100           // 10.1.0.0/24
    `,
    returns: { treatAsWithdraw: true, errors: [['BGP_ERR_ATTR_LENGTH', 'treat-as-withdraw']] }
  },
  {
    name: 'unrecognized well-known attribute: treat-as-withdraw',
    bytes: hex`
      ${M}
      0032                // Length 50
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      0017                // Total Path Attribute Length 23
      40 01 01 00         // ORIGIN IGP
      40 02 04 02 01 fde9 // AS_PATH: AS_SEQUENCE 65001
      40 03 04 0a000002   // NEXT_HOP 10.0.0.2
      40 63 02 abcd       // attribute 99 without the Optional flag
      18 0a0100           // 10.1.0.0/24
    `,
    returns: { treatAsWithdraw: true, errors: [['BGP_ERR_ATTR_UNRECOGNIZED', 'treat-as-withdraw']] }
  },
  {
    name: 'AS4_PATH from a 4-octet speaker: attribute discard',
    opts: { fourOctetAs: true },
    bytes: hex`
      ${M}
      0038                // Length 56
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      001d                // Total Path Attribute Length 29
      40 01 01 00         // ORIGIN IGP
      40 02 06 02 01 0000fde9  // AS_PATH: AS_SEQUENCE 65001 (4-octet)
      40 03 04 0a000002   // NEXT_HOP 10.0.0.2
      c0 11 06 02 01 0000fde9  // AS4_PATH: never sent between 4-octet speakers
      18 0a0100           // 10.1.0.0/24
    `,
    returns: { treatAsWithdraw: false, errors: [['BGP_ERR_ATTR_UNEXPECTED', 'attribute-discard']] }
  },
  {
    name: 'MP_REACH_NLRI next hop of 5 octets for IPv6: session reset',
    bytes: hex`
      ${M}
      0029                // Length 41
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      0012                // Total Path Attribute Length 18
      80 0e 0f            // MP_REACH_NLRI, length 15
      0002 01             //   AFI 2, SAFI 1
      05 20010db800       //   next hop length 5: neither 16 nor 32
      00                  //   Reserved
      20 20010db8         //   2001:db8::/32
    `,
    throws: { code: 'BGP_ERR_ATTR_MP', notification: [3, 9], data: '800e0f00020105' + '20010db800' + '00' + '2020010db8', handling: reset }
  },
  {
    name: 'MP_REACH_NLRI prefix of length 129: session reset',
    bytes: hex`
      ${M}
      0038                // Length 56
      02                  // Type UPDATE
      0000                // Withdrawn Routes Length 0
      0021                // Total Path Attribute Length 33
      80 0e 1e            // MP_REACH_NLRI, length 30
      0002 01             //   AFI 2, SAFI 1
      10 20010db8000000000000000000000001  // next hop 2001:db8::1
      00                  //   Reserved
      81 20010db8 00000000  //   prefix length 129 (what follows does not matter)
    `,
    throws: { code: 'BGP_ERR_ATTR_MP', notification: [3, 9], handling: reset }
  },
  {
    name: 'ROUTE-REFRESH BoRR of 24 octets (RFC 7313 §5)',
    bytes: hex`
      ${M}
      0018                // Length 24
      05                  // Type ROUTE-REFRESH
      0001 01 01          // AFI 1, subtype 1 (BoRR), SAFI 1
      00                  // one octet too many
    `,
    throws: { code: 'BGP_ERR_ROUTE_REFRESH_LENGTH', notification: [7, 1], data: `${M}0018050001010100`, handling: reset }
  }
]
