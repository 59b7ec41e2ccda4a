/**
 * Golden rule text for the overlay's masquerade and forward rules on a typical
 * node (Network 10.244.0.0/16, pod subnet 10.244.1.0/24), shared by the unit
 * tests on the fakes and the e2e tests on the real kernel: both must print
 * exactly this.
 */
export const node = { network: '10.244.0.0/16', podSubnet: '10.244.1.0/24', randomFully: true }
export const dual = { ...node, ipv6Network: 'fd00:10:244::/56', ipv6PodSubnet: 'fd00:10:244:1::/64' }

/** iptables-save -t nat of a typical node with --ip-masq. */
export const goldenNat4 = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:FLANNEL-POSTRTG - [0:0]
-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG
-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s 10.244.1.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully
-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully
COMMIT
`

/** iptables-save -t filter with the forward rules. */
export const goldenFilter4 = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:FLANNEL-FWD - [0:0]
-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD
-A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT
-A FLANNEL-FWD -d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT
COMMIT
`

/** An untouched nat table as iptables-save prints it. */
export const emptyNat = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
COMMIT
`

/** The IPv6 form of IPv4 golden text. */
export const to6 = (s: string): string => s.replaceAll('10.244.1.0/24', 'fd00:10:244:1::/64').replaceAll('10.244.0.0/16', 'fd00:10:244::/56').replaceAll('224.0.0.0/4', 'ff00::/8')
