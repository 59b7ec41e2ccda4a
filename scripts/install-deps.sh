#!/bin/sh
# Installs the system packages Weft's tests, benchmarks and interop peers need
# on a Debian machine (run as root). Idempotent; the only place apt is called.
set -eu
PKGS="iproute2 iptables nftables ipset conntrack containernetworking-plugins util-linux procps kmod tcpdump iputils-ping etcd-server etcd-client iperf3 bird2 gobgpd frr curl openssl"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
echo "system packages ready"
