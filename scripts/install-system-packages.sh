#!/usr/bin/env bash
# Installs the system packages the test suite needs, if they are missing: redis-server (the Redis store tests
# start their own) and chromium (the browser tests drive it through Playwright). Both are Debian packages.
# Installs them with apt-get as root, or with sudo when sudo needs no password; otherwise says in one line
# what to install and exits 1. `make test` and .ci/run call it; it does nothing when both are there.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
((${#missing[@]})) || exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  # -n: never ask for a password (CI has no stdin; a newcomer gets the one line below instead of a prompt).
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    sudo="unusable"
  fi
fi

if [ "$sudo" = "unusable" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need these system packages, which are not installed: ${missing[*]}." \
    "Install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}) and run again." >&2
  exit 1
fi

echo "install-system-packages: installing ${missing[*]} with apt-get"
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
