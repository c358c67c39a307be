#!/usr/bin/env bash
# Installs what the side-by-side benchmark compares proxyless with: Debian's
# HAProxy and nginx (test/bench/servers.ts starts them itself on
# loopback with generated configs; the packaged services are not used).
# Without them the bench still runs and reports those variants as n/a.
set -euo pipefail
if command -v haproxy >/dev/null && command -v nginx >/dev/null; then
  echo "haproxy and nginx already installed"
  exit 0
fi
sudo=''
if [[ $(id -u) -ne 0 ]]; then sudo='sudo'; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y --no-install-recommends haproxy nginx
# Packaged units may have started system-wide instances; the bench does not need them.
if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
  $sudo systemctl disable --now haproxy nginx >/dev/null 2>&1 || true
fi
haproxy -v | sed -n 1p  # sed reads to the end: head would close the pipe early and, under pipefail, fail the step on SIGPIPE
nginx -v
