#!/usr/bin/env bash
# nginx for the production-shape tests (tests/stack): two API processes behind nginx, as
# deploy/compose runs them. Debian's nginx package is installed only when no nginx binary is
# found (not for the demo); the tests start their own nginx with their own configuration and
# never touch the system's.
#
#   bash scripts/nginx_setup.sh   # idempotent: nothing to do when nginx is already there
set -euo pipefail

have_nginx() {
  command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]]
}

if have_nginx; then
  echo "[nginx-setup] nginx found; nothing to do"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "[nginx-setup] ERROR: nginx not found and no apt-get: install nginx by hand" >&2
  exit 1
fi
SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "[nginx-setup] ERROR: nginx not found and not root: run 'apt-get install -y nginx-light' as root" >&2
    exit 1
  fi
  SUDO=(sudo)
fi
echo "[nginx-setup] installing Debian's nginx package (apt-get)"
export DEBIAN_FRONTEND=noninteractive
# no service start inside containers without an init system: policy-rc.d refuses it
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${SUDO[@]}" chmod +x /usr/sbin/policy-rc.d
  trap '"${SUDO[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
fi
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends nginx
if ! have_nginx; then
  echo "[nginx-setup] ERROR: nginx installed but not found" >&2
  exit 1
fi
