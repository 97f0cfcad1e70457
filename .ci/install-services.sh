#!/usr/bin/env bash
# Make the servers the integration tests start for themselves available on this machine:
#   - redis-server (Debian package; installed if missing)
#   - PostgreSQL server binaries (initdb, postgres, pg_ctl; expected to be present already,
#     installed from Debian's postgresql package only as a fallback)
# Idempotent: does nothing but print versions when everything is already there.
# The tests run their own private servers on free loopback ports (tests/servers.py); this script
# never leaves a system service running on purpose (service starts are suppressed during apt installs).
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo -n)
    fi
fi

apt_updated=0
apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install-services: apt-get not available; install $* by hand" >&2
        return 1
    fi
    if [ "$(id -u)" -ne 0 ] && [ "${#SUDO[@]}" -eq 0 ]; then
        echo "install-services: need root (or sudo) to install $*" >&2
        return 1
    fi
    # Keep postinst scripts from starting system services (redis on 6379, a postgres cluster on
    # 5432): the tests start their own. Debian's documented mechanism is /usr/sbin/policy-rc.d
    # exiting 101; only add it if there is none, and remove what we added.
    local added_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
        "${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
        added_policy=1
    fi
    local rc=0
    {
        if [ "$apt_updated" -eq 0 ]; then
            "${SUDO[@]}" apt-get update -q && apt_updated=1
        fi
        "${SUDO[@]}" apt-get install -y -q --no-install-recommends "$@"
    } || rc=$?
    if [ "$added_policy" -eq 1 ]; then
        "${SUDO[@]}" rm -f /usr/sbin/policy-rc.d
    fi
    return "$rc"
}

# ---------------------------------------------------------------------------------------- redis
if command -v redis-server >/dev/null 2>&1; then
    echo "install-services: redis-server present"
else
    echo "install-services: installing redis-server (apt)"
    apt_install redis-server
    command -v redis-server >/dev/null 2>&1 || { echo "install-services: redis-server still missing" >&2; exit 1; }
fi
redis-server --version

# ------------------------------------------------------------------------------------- postgres
# Same search order as tests/servers.py:find_pg_bin: $PG_BIN, dir of pg_ctl on PATH, /usr/lib/postgresql/*/bin
has_pg_tools() {
    [ -x "$1/initdb" ] && [ -x "$1/postgres" ] && [ -x "$1/pg_ctl" ]
}
find_pg_bin() {
    if [ -n "${PG_BIN:-}" ]; then
        has_pg_tools "$PG_BIN" && echo "$PG_BIN"
        return 0
    fi
    local pg_ctl dir
    if pg_ctl="$(command -v pg_ctl 2>/dev/null)"; then
        for dir in "$(dirname "$(readlink -f "$pg_ctl")")" "$(dirname "$pg_ctl")"; do
            if has_pg_tools "$dir"; then echo "$dir"; return 0; fi
        done
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if has_pg_tools "$dir"; then echo "$dir"; return 0; fi
    done
    return 0
}

pg_bin="$(find_pg_bin)"
if [ -z "$pg_bin" ] && [ -z "${PG_BIN:-}" ]; then
    echo "install-services: PostgreSQL binaries not found; installing postgresql (apt)"
    apt_install postgresql
    pg_bin="$(find_pg_bin)"
fi
if [ -z "$pg_bin" ]; then
    echo "install-services: PostgreSQL binaries (initdb, postgres, pg_ctl) not found${PG_BIN:+ in PG_BIN=$PG_BIN}" >&2
    exit 1
fi
echo "install-services: PostgreSQL binaries in $pg_bin"
"$pg_bin/postgres" --version
"$pg_bin/initdb" --version

# PostgreSQL refuses to run as root: when CI runs as root the tests run it as the `postgres` user.
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    echo "install-services: creating system user postgres"
    useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

# ------------------------------------------------------------------------------------- chromium
# The workbench's browser tests drive Debian's Chromium with Playwright (tests/e2e); the CJK font
# makes the Chinese screenshots readable.
if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "noto sans cjk"; then
    echo "install-services: chromium and a CJK font present"
else
    echo "install-services: installing chromium and fonts-noto-cjk (apt)"
    apt_install chromium fonts-noto-cjk
fi
chromium --version 2>/dev/null || { echo "install-services: chromium missing" >&2; exit 1; }
