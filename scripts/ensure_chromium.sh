#!/usr/bin/env bash
# Headless Chromium for the docs check (Debian package). Installs it when missing and we are root.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "[docs] installing Debian chromium"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
else
  echo "chromium is missing: install it (e.g. sudo apt-get install chromium)" >&2; exit 1
fi
