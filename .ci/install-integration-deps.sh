#!/usr/bin/env bash
# Installs the engines the integration tests start on loopback (npm run test:integration):
# dnsmasq (DNS A/SRV discovery) and etcd-server (etcd discovery, watch resumption, registration).
# Idempotent; skips apt when both are already present.
set -euo pipefail
if command -v etcd >/dev/null 2>&1 && { command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ]; }; then
  echo "dnsmasq and etcd are installed"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends dnsmasq etcd-server
# The Debian packages start system services on install where an init system runs; the tests
# start their own instances on free loopback ports, so stop the system ones if any.
$SUDO systemctl stop dnsmasq etcd >/dev/null 2>&1 || true
