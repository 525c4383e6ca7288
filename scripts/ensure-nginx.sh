#!/usr/bin/env bash
# Make sure Debian's nginx is there for the reverse-proxy test (tests/api/test_reverse_proxy.py
# runs deploy/nginx/firereach.conf in front of a real `firereach serve` on loopback).
#
# As root with apt-get, installs the `nginx` package when no nginx binary is found; otherwise does
# nothing, and the test skips cleanly (it fails under CI=true). The test never uses the package's
# own service (which apt may start on port 80): it runs its own nginx with a temporary prefix.
set -euo pipefail

if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
    echo "ensure-nginx: $( (command -v nginx || echo /usr/sbin/nginx) ) $( (nginx -v 2>&1 || /usr/sbin/nginx -v 2>&1) | head -1)"
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-nginx: nginx missing, not root or no apt-get: skipping (the reverse-proxy test will skip)"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends nginx
echo "ensure-nginx: installed $(/usr/sbin/nginx -v 2>&1 | head -1)"
