#!/bin/sh
# Install the Debian packages listed in tools/debian-packages.txt that are missing.
# Run as root (or through sudo). With --always, run apt-get even if all are present
# (what CI does, so a missing install step cannot hide behind a warm machine).
set -eu
here=$(dirname "$0")
pkgs=$(grep -v '^[[:space:]]*#' "$here/debian-packages.txt" | tr -s '[:space:]' ' ')
missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ] && [ "${1:-}" != "--always" ]; then
    echo "install-deps: all packages present"
    exit 0
fi
[ "$(id -u)" -eq 0 ] && sudo="" || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
# shellcheck disable=SC2086
$sudo apt-get install -y --no-install-recommends $pkgs
