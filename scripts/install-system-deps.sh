#!/usr/bin/env bash
# System packages, installed with apt when run as root (a no-op when everything is present).
#   install-system-deps.sh build   what `make html` needs: Node.js for KaTeX, and the CJK font the
#                                  figures are drawn with (matplotlib outlines Noto Sans CJK SC)
#   install-system-deps.sh test    what `make test` needs on top: Debian's Chromium for the browser
#                                  tests (Playwright drives it; no browser is ever downloaded) and a
#                                  JDK for the Java article's code
set -euo pipefail
what="${1:-test}"
need=()
command -v node >/dev/null || need+=(nodejs npm)
command -v make >/dev/null || need+=(make)
# Not `fc-list | grep -q`: grep stops at the first match, fc-list may then die of SIGPIPE, and
# with pipefail the font counted as missing about every other run (apt-get ran on every second
# `make html`, and a user who is not root got "missing system packages").
[ -n "$(fc-list "Noto Sans CJK SC" family 2>/dev/null)" ] || need+=(fonts-noto-cjk)
if [ "$what" = test ]; then
  command -v chromium >/dev/null || need+=(chromium)
  command -v javac >/dev/null || need+=(default-jdk-headless)
elif [ "$what" != build ]; then
  echo "usage: $0 [build|test]" >&2
  exit 2
fi
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${need[*]} (install them with apt-get as root, or run this script as root)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
