#!/usr/bin/env bash
# Debian's Chromium + ChromeDriver for the survey page's browser tests (tests/survey/).
# Idempotent: does nothing when /usr/bin/chromium and /usr/bin/chromedriver are there.
# Needs root (CI runs as root); anything else prints why and exits 0, and the browser
# tests then skip with a loud reason. Never downloads a browser from anywhere but apt.
set -uo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "install-chromium: not root; cannot install chromium chromium-driver (browser tests will skip)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-chromium: installing chromium chromium-driver" >&2
apt-get update -qq >/dev/null 2>&1 || echo "install-chromium: apt-get update failed" >&2
if ! apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null 2>&1; then
  echo "install-chromium: could not install chromium chromium-driver (browser tests will skip)" >&2
fi
exit 0
