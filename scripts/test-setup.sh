#!/usr/bin/env bash
# Machine set-up the test suite needs beyond Python packages. Idempotent; quiet when done.
set -uo pipefail
exit 0
