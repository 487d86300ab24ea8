#!/usr/bin/env bash
# PostgreSQL server binaries for the tests: tests/conftest.py starts a throw-away server from
# them (initdb, pg_ctl, postgres) to run the stores' tests on PostgreSQL as well as SQLite.
#
#   bash scripts/postgres_setup.sh   # idempotent: nothing to do when initdb is already there
#
# initdb is looked for on PATH and in /usr/lib/postgresql/*/bin (Debian's place for it); when
# it is in neither, Debian's `postgresql` package is installed (apt-get, non-interactive; as
# root, or through sudo).
set -euo pipefail

have_initdb() {
  command -v initdb >/dev/null 2>&1 && return 0
  local bin
  for bin in /usr/lib/postgresql/*/bin; do
    [[ -x "$bin/initdb" && -x "$bin/pg_ctl" && -x "$bin/postgres" ]] && return 0
  done
  return 1
}

if have_initdb; then
  echo "[postgres-setup] PostgreSQL server binaries found; nothing to do"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "[postgres-setup] ERROR: initdb not found (PATH, /usr/lib/postgresql/*/bin) and no apt-get:" \
    "install the PostgreSQL server (initdb, pg_ctl, postgres) by hand" >&2
  exit 1
fi
SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "[postgres-setup] ERROR: initdb not found and not root: run 'apt-get install -y postgresql' as root" >&2
    exit 1
  fi
  SUDO=(sudo)
fi

echo "[postgres-setup] installing Debian's postgresql package (apt-get)"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends postgresql
if ! have_initdb; then
  echo "[postgres-setup] ERROR: postgresql installed but initdb still not found" >&2
  exit 1
fi
