#!/usr/bin/env bash
# Machine set-up the test suite needs beyond Python packages: a CJK font for charts with
# Chinese names, and Debian's Chromium + ChromeDriver for the survey page's browser tests.
# Idempotent and quiet when everything is already there. Needs root (CI runs as root);
# without it, the browser tests skip with a loud reason and charts fall back to a
# font without CJK glyphs.
set -uo pipefail

need=()
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-wqy-zenhei)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != "0" ] && ! command -v sudo >/dev/null 2>&1; then
  echo "test-setup: not root; cannot install ${need[*]} (browser tests will skip)" >&2
  exit 0
fi
SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo -n"
echo "test-setup: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null 2>&1 || echo "test-setup: apt-get update failed" >&2
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
  || echo "test-setup: could not install ${need[*]} (browser tests will skip)" >&2
exit 0
