#!/usr/bin/env bash
# The digest's HTML is checked in a real headless Chromium (Debian's package). Install it if missing.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the digest rendering test"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "error: chromium is not installed and cannot be installed here (apt-get install chromium)" >&2
  exit 1
fi
