#!/usr/bin/env bash
# The rate-limit tests run the app as production does, its counters in a real Redis: Debian's
# redis-server, started by the test session. Install it when missing and we are root; otherwise
# say what to install.
set -euo pipefail
if command -v redis-server >/dev/null; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's redis-server for the rate-limit tests…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  exit 0
fi
echo "The rate-limit tests need redis-server on the PATH." >&2
echo "Install it with: sudo apt-get install -y redis-server" >&2
exit 1
