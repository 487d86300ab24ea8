#!/usr/bin/env bash
# Chromium for the chat's end-to-end tests (tests/e2e): Debian's chromium package, driven by
# Playwright's Python package (its own browser download needs the internet and is never used),
# and the Noto CJK and colour emoji fonts so that Korean and the notices' signs render in the
# screenshots. Installed only when missing
# (not for the demo); the tests start their own headless browser.
#
#   bash scripts/chromium_setup.sh   # idempotent: nothing to do when both are there
set -euo pipefail

have_chromium() { command -v chromium >/dev/null 2>&1 || [[ -x /usr/bin/chromium ]]; }
have_fonts() { [[ -n "$(ls /usr/share/fonts/opentype/noto/NotoSansCJK-* 2>/dev/null)" && -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]]; }

if have_chromium && have_fonts; then
  echo "[chromium-setup] chromium and Noto CJK fonts found; nothing to do"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "[chromium-setup] ERROR: chromium or fonts-noto-cjk missing and no apt-get: install them by hand" >&2
  exit 1
fi
SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "[chromium-setup] ERROR: not root: run 'apt-get install -y chromium fonts-noto-cjk' as root" >&2
    exit 1
  fi
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
echo "[chromium-setup] installing Debian's chromium and fonts-noto-cjk (apt-get)"
if ! "${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk fonts-noto-color-emoji; then
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk fonts-noto-color-emoji
fi
if ! have_chromium; then
  echo "[chromium-setup] ERROR: chromium installed but not found" >&2
  exit 1
fi
