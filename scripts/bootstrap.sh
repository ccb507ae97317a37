#!/usr/bin/env bash
# Make this checkout runnable: system packages, .venv and the pinned Python requirements.
#
# Idempotent and quick when nothing is missing: the venv is (re)installed only when requirements.txt
# or the Python version changed since the last run (stamp file .venv/.installed holds the sha256 of
# requirements.txt and the Python version).
#
# System packages (Debian/Ubuntu names): python3-venv (only if the venv module is missing),
# redis-server (the embedded Redis and the integration tests), chromium (browser tests, screenshots),
# fonts-noto-cjk (Chinese text on screenshots). As root they are installed with apt-get; otherwise
# the script prints one line saying what to install and exits with code 1.
#
# Environment: PYTHON=/path/to/python3.11 picks the interpreter (default: python3.11, else python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
STAMP="$VENV/.installed"
REQUIREMENTS="$ROOT/requirements.txt"

say() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }
have() { command -v "$1" >/dev/null 2>&1; }

# One bootstrap at a time per checkout (several `make test` may start together).
LOCK="${TMPDIR:-/tmp}/watchfloor-bootstrap-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1).lock"
if have flock && { exec 9>>"$LOCK"; } 2>/dev/null; then
    flock 9
fi

# --- the interpreter ------------------------------------------------------------------------------
if [ -n "${PYTHON:-}" ]; then
    PY="$PYTHON"
elif have python3.11; then
    PY=python3.11
elif have python3; then
    PY=python3
else
    die "no python3 found; install Python 3.11 (Debian 12: apt-get install python3 python3-venv)"
fi
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
    die "$PY ($("$PY" -V 2>&1 || echo 'does not run')) will not do: Watchfloor needs Python 3.11 or newer" \
        "(Debian 12: apt-get install python3 python3-venv; or set PYTHON=/path/to/python3.11)"
fi

# --- system packages ------------------------------------------------------------------------------
pkg_installed() {
    have dpkg-query && dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}

missing=()
need_venv_module=0
if [ ! -x "$VENV/bin/python" ] && ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    need_venv_module=1
    missing+=(python3-venv)
fi
have redis-server || missing+=(redis-server)
have chromium || have chromium-browser || missing+=(chromium)
if ! pkg_installed fonts-noto-cjk; then
    if ! { have fc-list && fc-list ':lang=zh' family 2>/dev/null | grep -qi 'noto'; }; then
        missing+=(fonts-noto-cjk)
    fi
fi

if [ "${#missing[@]}" -gt 0 ]; then
    if is_root && have apt-get; then
        say "installing ${missing[*]} with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update </dev/null
        apt-get install -y "${missing[@]}" </dev/null
        hash -r
        have redis-server || die "apt-get ran but redis-server is still not on PATH"
        have chromium || have chromium-browser || die "apt-get ran but chromium is still not on PATH"
    elif have apt-get; then
        die "missing system packages; run: sudo apt-get install -y ${missing[*]}  (then run this again)"
    else
        die "missing system packages: ${missing[*]} (Debian names); install them and run this again"
    fi
fi
if [ "$need_venv_module" -eq 1 ]; then
    "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1 \
        || die "$PY still has no venv/ensurepip module; install python3.$("$PY" -c 'import sys; print(sys.version_info[1])')-venv"
fi

# --- the virtualenv -------------------------------------------------------------------------------
if [ -e "$VENV" ] && ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
    say "$VENV is broken or too old; recreating it"
    rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV with $PY ($("$PY" -V 2>&1))"
    "$PY" -m venv "$VENV"
fi

want="$(sha256sum <"$REQUIREMENTS" | cut -d' ' -f1) $("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])')"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exit 0
fi
say "installing Python requirements into $VENV"
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --progress-bar off -r "$REQUIREMENTS"
printf '%s\n' "$want" >"$STAMP"
say "ready"
