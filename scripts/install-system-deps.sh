#!/usr/bin/env bash
# Install what the test suite needs from Debian packages, when missing: the servers it runs
# against (PostgreSQL, PgBouncer, Redis), and chromium for the web viewer's browser tests
# (Playwright drives /usr/bin/chromium).
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
# PgBouncer in front of the test PostgreSQL (transaction pooling); the tests run it themselves.
[[ -x /usr/sbin/pgbouncer ]] || missing+=(pgbouncer)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)

if ((${#missing[@]} == 0)); then
    exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
    SUDO="sudo"
fi
echo "installing ${missing[*]} from Debian packages" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
