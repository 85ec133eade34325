#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter, or explains what to install and exits 1.
# rasa 3.6 supports Python 3.8–3.10 only; the project pins 3.10 (.python-version).
set -euo pipefail
want="3.10"
is_310() { [ -x "$1" ] && [ "$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ]; }

candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for dir in "$root"/versions/"$want".*; do [ -d "$dir" ] && candidates+=("$dir/bin/python"); done
fi
command -v "python$want" >/dev/null 2>&1 && candidates+=("$(command -v "python$want")")
for dir in "$HOME"/.pyenv/versions/"$want".* /usr/local/bin /usr/bin; do
  [ -x "$dir/bin/python" ] && candidates+=("$dir/bin/python")
  [ -x "$dir/python$want" ] && candidates+=("$dir/python$want")
done
command -v python3 >/dev/null 2>&1 && candidates+=("$(command -v python3)")

for py in "${candidates[@]}"; do
  if is_310 "$py"; then echo "$py"; exit 0; fi
done
cat >&2 <<MSG
No Python $want interpreter found. rasa 3.6 runs on Python 3.8–3.10 only.
Install one, e.g. with pyenv:   pyenv install 3.10.13
or your system's package:       apt-get install python3.10 python3.10-venv
then run 'make setup' again (or point PYTHON=/path/to/python3.10 at it).
MSG
exit 1
