#!/bin/sh
# Install the Debian packages in deploy/debian-packages.txt that are missing.
# As root: apt-get. Otherwise through sudo when it works without a prompt. Otherwise print the
# one command to run and what will not work until then (the portal itself still starts).
set -eu
list="$(dirname "$0")/debian-packages.txt"
pkgs=$(grep -v '^\s*#' "$list" | grep -v '^\s*$' | tr '\n' ' ')
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install: not a Debian/Ubuntu system; install the equivalents of: $pkgs" >&2
  exit 0
fi
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install: Debian packages missing:$missing"
cmd="apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends$missing"
if [ "$(id -u)" = 0 ]; then
  sh -c "$cmd"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo sh -c "$cmd"
else
  cat >&2 <<MSG
install: cannot install system packages without root. Run once:
    sudo sh -c '$cmd'
Until then: image builds (mmdebstrap, busybox), the lab (qemu, ipmi_sim), makedhcp checks and
browser tests will fail or be reported as unavailable; the web portal itself works.
MSG
fi
