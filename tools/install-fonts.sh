#!/bin/sh
# The fonts the documents need, installed once with apt-get (through sudo when not root):
# Debian's fonts-khmeros (Khmer OS) for Khmer posters and charts, and fonts-liberation2
# (Liberation Serif, metric-compatible with Times New Roman, with Vietnamese) so that
# LibreOffice lays out and renders the Word report (Times New Roman, Nghị định 30/2020) as
# Word does. Vietnamese and English on posters and charts need nothing: DejaVu Sans ships with
# matplotlib. Part of the README's set-up commands and of .ci/run.
set -e
missing=
[ -d /usr/share/fonts/truetype/khmeros ] || missing="$missing fonts-khmeros"
[ -d /usr/share/fonts/truetype/liberation2 ] || missing="$missing fonts-liberation2"
if [ -z "$missing" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "Cài phông chữ:$missing (Khmer OS cho áp phích tiếng Khmer, Liberation Serif cho báo cáo Word)." >&2
    exit 0
fi
SUDO=
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086 # one word per package
$SUDO apt-get install -y -qq $missing >/dev/null 2>&1 || {
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq $missing >/dev/null
}
