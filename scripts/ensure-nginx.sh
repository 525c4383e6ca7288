#!/usr/bin/env bash
# Make sure Debian's nginx is there for the reverse-proxy test (tests/api/test_reverse_proxy.py
# runs deploy/nginx/firereach.conf in front of a real `firereach serve` on loopback).
#
# As root with apt-get, installs the `nginx` package when no nginx binary is found (and `openssl`
# for the TLS variant's test certificate); otherwise does
# nothing, and the test skips cleanly (it fails under CI=true). The test never uses the package's
# own service (which apt may start on port 80): it runs its own nginx with a temporary prefix.
set -euo pipefail

missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)  # the TLS variant's test certificate

if [ ${#missing[@]} -eq 0 ]; then
    bin="$(command -v nginx || echo /usr/sbin/nginx)"
    echo "ensure-nginx: $bin ($("$bin" -v 2>&1 | head -1)) and openssl present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-nginx: missing ${missing[*]}, not root or no apt-get: skipping (the reverse-proxy tests will skip)"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "ensure-nginx: installed ${missing[*]}: $(/usr/sbin/nginx -v 2>&1 | head -1)"
