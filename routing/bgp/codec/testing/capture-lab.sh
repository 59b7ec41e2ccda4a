#!/bin/sh
# Captures real BGP messages between BIRD 2 and GoBGP 3 (Debian's bird2 and gobgpd) in two network namespaces,
# as the fixtures marked "captured" in fixtures.ts were. Run as root from the project root after `npx tsc -p .`:
#   sh routing/bgp/codec/testing/capture-lab.sh [OUTDIR]
# then: node dist/routing/bgp/codec/testing/pcap.js OUTDIR/cap.pcap
set -eu
out=${1:-/tmp/weft-bgp-capture}
mkdir -p "$out"
A=wbgp-a B=wbgp-b
cleanup () {
  [ -f "$out/tcpdump.pid" ] && kill "$(cat "$out/tcpdump.pid")" 2>/dev/null || true
  [ -f "$out/gobgpd.pid" ] && kill "$(cat "$out/gobgpd.pid")" 2>/dev/null || true
  ip netns exec $A birdc -s "$out/bird.ctl" down >/dev/null 2>&1 || true
  ip netns del $A 2>/dev/null || true
  ip netns del $B 2>/dev/null || true
}
trap cleanup EXIT

cat > "$out/bird.conf" <<CONF
router id 10.99.0.1;
log "$out/bird.log" all;
protocol device {}
protocol static s4 { ipv4; route 192.168.10.0/24 blackhole; route 192.168.11.64/26 blackhole; }
protocol static s6 { ipv6; route 2001:db8:100::/48 blackhole; route 2001:db8:101::/64 blackhole; }
protocol bgp v4 { local 10.99.0.1 as 65001; neighbor 10.99.0.2 as 4200000002; hold time 90; graceful restart on;
  ipv4 { import all; export all; add paths on; }; }
protocol bgp v6 { local 2001:db8:99::1 as 65001; neighbor 2001:db8:99::2 as 4200000002; hold time 90;
  ipv6 { import all; export all; }; }
CONF
cat > "$out/gobgpd.toml" <<CONF
[global.config]
  as = 4200000002
  router-id = "10.99.0.2"
  local-address-list = ["10.99.0.2", "2001:db8:99::2"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.99.0.1"
    peer-as = 65001
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
    [neighbors.afi-safis.add-paths.config]
      receive = true
      send-max = 8
[[neighbors]]
  [neighbors.config]
    neighbor-address = "2001:db8:99::1"
    peer-as = 65001
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
CONF

ip netns add $A
ip netns add $B
ip link add veth-a netns $A type veth peer name veth-b netns $B
for n in a b; do ip -n wbgp-$n link set lo up; ip -n wbgp-$n link set veth-$n up; done
ip -n $A addr add 10.99.0.1/24 dev veth-a
ip -n $B addr add 10.99.0.2/24 dev veth-b
ip -n $A addr add 2001:db8:99::1/64 dev veth-a nodad
ip -n $B addr add 2001:db8:99::2/64 dev veth-b nodad
ip netns exec $A tcpdump -i veth-a -w "$out/cap.pcap" -U 'tcp port 179' >"$out/tcpdump.log" 2>&1 &
echo $! > "$out/tcpdump.pid"
sleep 1
ip netns exec $A bird -c "$out/bird.conf" -s "$out/bird.ctl" -P "$out/bird.pid"
ip netns exec $B gobgpd -f "$out/gobgpd.toml" -t toml --api-hosts 127.0.0.1:50051 >"$out/gobgpd.log" 2>&1 &
echo $! > "$out/gobgpd.pid"
sleep 8
G="ip netns exec $B gobgp -u 127.0.0.1 -p 50051"
$G global rib add 10.20.0.0/24 community 65000:100 large-community 4200000002:1:2 med 50 -a ipv4
$G global rib add 10.21.0.0/16 -a ipv4
$G global rib add 2001:db8:200::/48 -a ipv6
sleep 3
$G global rib del 10.21.0.0/16 -a ipv4
sleep 2
ip netns exec $A birdc -s "$out/bird.ctl" 'disable v4 "Wartung: zurück um 14 Uhr"'
sleep 2
ip netns exec $A birdc -s "$out/bird.ctl" 'restart v6'
sleep 3
echo "capture in $out/cap.pcap"
