#!/bin/sh
# What the test suite needs beyond Python, each only when missing (apt-get through sudo when
# not root): Debian's Chromium for the browser tests (driven by Playwright with
# executable_path: never `playwright install`), LibreOffice Writer and poppler for the Word
# report's PDF checks, Node and npm for axe-core (`npm ci` from package-lock.json). Part of
# the README's test command; .ci/run runs it too.
set -e
cd "$(dirname "$0")/.."
missing=
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v soffice >/dev/null 2>&1 || missing="$missing libreoffice-writer-nogui"
command -v pdftotext >/dev/null 2>&1 || missing="$missing poppler-utils"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi
if [ -n "$missing" ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "Cần cài:$missing (trình duyệt và công cụ cho bộ kiểm thử)." >&2
        exit 1
    fi
    SUDO=
    if [ "$(id -u)" -ne 0 ]; then
        SUDO=sudo
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086 # one word per package
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
stamp=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.ci-stamp 2>/dev/null)" != "$stamp" ]; then
    npm ci --silent --no-audit --no-fund
    echo "$stamp" >node_modules/.ci-stamp
fi
