#!/usr/bin/env bash
# Prints the path of the model for the current data and config, training it first if needed.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
python scripts/train_model.py "$@" | tail -n 1
