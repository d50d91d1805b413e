#!/bin/sh
# deps.sh — install the Debian packages pymple builds with, when missing.
# Called by `make` (target deps) and by .ci/run; a no-op once installed.
set -e
pkgs="build-essential libsqlite3-dev zlib1g-dev libdeflate-dev libcriterion-dev python3-dev python3-pytest sqlite3 gdb chromium"
missing=""
for p in $pkgs; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
