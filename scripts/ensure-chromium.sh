#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium and its matching chromedriver when they are
# missing, for the GraphiQL browser test (tests/test_graphiql_browser.py). Both come from the
# same Debian source package, so their versions always agree. Idempotent: does nothing when
# both binaries are present. Needs root (or sudo) and apt; elsewhere it says what to install.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver

if [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: no apt-get here; install Chromium and chromedriver yourself" \
        "(the browser test looks for $CHROMIUM and $CHROMEDRIVER and is skipped without them)" >&2
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "ensure-chromium: not root and no sudo; run as root:" \
            "apt-get install -y --no-install-recommends chromium chromium-driver" >&2
        exit 0
    fi
fi

echo "ensure-chromium: installing chromium and chromium-driver with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
"$CHROMIUM" --version >&2
