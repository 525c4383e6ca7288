#!/usr/bin/env bash
# Make sure Debian's Chromium (/usr/bin/chromium), a CJK font and pdftoppm (poppler-utils) are
# there for the browser and PDF-rendering tests.
#
# As root with apt-get, installs whatever is missing of `chromium` and `fonts-noto-cjk` (without
# the font, Chinese labels in map screenshots are empty boxes); otherwise does nothing, and the
# browser tests skip cleanly. Never downloads a browser build of its own: the tests drive this
# system Chromium through Playwright's `executable_path` (no `playwright install`).
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "install ok installed" \
    || missing+=(fonts-noto-cjk)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)

if [ ${#missing[@]} -eq 0 ]; then
    echo "ensure-chromium: $(/usr/bin/chromium --version 2>/dev/null) and fonts-noto-cjk present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: missing ${missing[*]}, not root or no apt-get: skipping (browser tests will skip)"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "ensure-chromium: installed ${missing[*]}: $(/usr/bin/chromium --version 2>/dev/null || true)"
