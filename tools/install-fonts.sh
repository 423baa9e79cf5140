#!/bin/sh
# The Khmer font that posters and charts need (Debian's fonts-khmeros: Khmer OS), installed
# once with apt-get (through sudo when not root). Vietnamese and English need nothing: DejaVu
# Sans ships with matplotlib. Part of the README's set-up commands and of .ci/run.
set -e
if [ -d /usr/share/fonts/truetype/khmeros ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "Cài phông chữ Khmer OS (gói fonts-khmeros) để in áp phích tiếng Khmer." >&2
    exit 0
fi
SUDO=
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -qq fonts-khmeros >/dev/null 2>&1 || {
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq fonts-khmeros >/dev/null
}
