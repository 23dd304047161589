#!/usr/bin/env bash
# Install Debian's chromium for the browser tests (tests/test_browser.py) when /usr/bin/chromium is missing.
# Re-running is cheap: nothing happens once it is there. Playwright drives this Chromium; it downloads none.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
say() { printf '[setup-browser] %s\n' "$*" >&2; }

if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  say "cannot install chromium: not root and no password-less sudo (run: apt-get install chromium)"
  exit 1
fi

say "installing Debian's chromium (once)"
start=$SECONDS
if ! { "${SUDO[@]}" apt-get update -qq \
       && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
            2> >(grep -v "^debconf: delaying package configuration" >&2); }; then
  say "apt-get could not install chromium; see the messages above"
  exit 1
fi
[ -x "$CHROMIUM" ] || { say "chromium was installed but $CHROMIUM is missing"; exit 1; }
say "chromium ready: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM") ($((SECONDS - start)) s)"
