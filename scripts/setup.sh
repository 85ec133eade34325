#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs the locked dependencies (requirements.lock).
# Re-running is cheap: nothing is reinstalled while the lock is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
stamp="$venv/.lock-installed"
lock_hash=$(sha256sum requirements.lock | cut -c1-16)

if [ -x "$venv/bin/python" ] && ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then
  echo "existing $venv is not Python 3.10: recreating it"
  rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
  python=$(scripts/find_python.sh)
  echo "creating $venv with $python"
  "$python" -m venv "$venv"
fi
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
  echo "dependencies up to date ($venv, lock $lock_hash)"
else
  "$venv/bin/python" -m pip install --quiet --upgrade "pip<24.1" wheel
  echo "installing locked dependencies (rasa, TensorFlow …: a few minutes the first time)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.lock
  "$venv/bin/python" -m pip check
  echo "$lock_hash" > "$stamp"
fi
# Browser tests (web chat, operator console) drive Debian's chromium through chromedriver;
# fonts-noto-cjk makes the Chinese in their screenshots readable.
browser_packages="chromium chromium-driver fonts-noto-cjk"
if command -v dpkg-query >/dev/null 2>&1; then
  missing=$(for p in $browser_packages; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"; done)
else
  missing=$(command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || echo "chromium")
fi
if [ -n "$missing" ]; then
  if [ "${SKIP_BROWSER:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing $browser_packages for the browser tests (SKIP_BROWSER=1 skips this)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $browser_packages >/dev/null
  else
    echo "note: the browser tests need: $browser_packages (Debian packages);"
    echo "      without them those tests are skipped locally (and fail under CI=true)"
  fi
fi
mkdir -p models var
echo "setup done: activate with 'source $venv/bin/activate' or use the make targets"
