#!/usr/bin/env bash
# The test suite: trains (or reuses) the model for the current data once, then runs pytest.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
RASA_MODEL="$(scripts/ensure_model.sh)"
export RASA_MODEL
exec python -m pytest "$@"
