#!/usr/bin/env bash
# Create .venv and install OpenCASB with its development tools. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
# The browser tests (tests/browser) drive Debian's chromium through Playwright; Playwright's
# own browser download is never used (it needs the internet at run time).
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing Debian's chromium for the browser tests"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium \
            >/dev/null || { apt-get update -q >/dev/null &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                chromium >/dev/null; }
    else
        echo "note: /usr/bin/chromium is missing and this is not root with apt-get;" \
            "the browser tests will be skipped (install it: sudo apt-get install chromium)"
    fi
fi
