#!/usr/bin/env bash
# System packages the test suite needs: Debian's Chromium for the browser tests (Playwright
# drives it; no browser is ever downloaded), CJK fonts for rendering Chinese, Node.js for KaTeX,
# a JDK for the Java article's code.
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v node >/dev/null || need+=(nodejs npm)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
command -v make >/dev/null || need+=(make)
command -v javac >/dev/null || need+=(default-jdk-headless)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${need[*]} (install them with apt-get as root)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
