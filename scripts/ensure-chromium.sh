#!/usr/bin/env bash
# Make sure a headless Chromium is on this machine (the claims report's rendering test opens
# report.html in it). Idempotent; without root or apt-get, say how to get it and go on (the
# rendering test then says why it cannot run).
set -u
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then
    echo "Chromium: found $(command -v "$b")"
    exit 0
  fi
done
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Chromium: installing the Debian package chromium (headless rendering of reports) ..."
  if apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 \
      || (apt-get update -qq >/dev/null 2>&1 \
          && apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1); then
    echo "Chromium: installed"
    exit 0
  fi
  echo "Chromium: apt-get could not install chromium." >&2
fi
echo "Chromium: not found; install it (Debian/Ubuntu: apt-get install chromium) to run the" \
     "report rendering test." >&2
exit 0
