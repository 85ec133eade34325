#!/usr/bin/env bash
# Chat with the bot in the terminal. Starts the action server (and the backend) in the background
# unless they already answer, and stops what it started on exit.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
model="$(scripts/ensure_model.sh)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
if ! curl -sf "http://127.0.0.1:$ACTION_PORT/health" >/dev/null 2>&1; then
  rasa run actions --actions actions --port "$ACTION_PORT" >var/actions.log 2>&1 &
  pids+=($!)
fi
if ! curl -sf "$ROUTING_URL/healthz" >/dev/null 2>&1; then
  ROUTING_DEV_TOKENS="${ROUTING_DEV_TOKENS:-1}" python -m routing >var/routing.log 2>&1 &
  pids+=($!)
fi
# --enable-api: the action server announces numbers of queued reports through the API (RASA_URL)
rasa shell --model "$model" --endpoints "$(python -m bot.endpoints --out var/endpoints.yml)" --enable-api --port "$RASA_PORT"
