#!/usr/bin/env bash
# Starts the rasa server, the action server and the routing backend (SQLite) with honcho.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
# The promoted model (python -m trainer promote) when there is one, else the model for the data.
if [ -e models/current ]; then RASA_MODEL="$(readlink -f models/current)"; else RASA_MODEL="$(scripts/ensure_model.sh)"; fi
export RASA_MODEL
# bot/endpoints.yml, plus the shared tracker / lock stores when RASA_TRACKER_STORE_URL /
# RASA_LOCK_STORE_URL are set (docs/scale.md)
RASA_ENDPOINTS="$(python -m bot.endpoints --out var/endpoints.yml)"
export RASA_ENDPOINTS
export ROUTING_DEV_TOKENS="${ROUTING_DEV_TOKENS:-1}"
python -m routing.cli migrate >/dev/null
cat <<MSG

  model            $RASA_MODEL
  rasa server      http://127.0.0.1:$RASA_PORT          (REST channel: POST /webhooks/rest/webhook)
  endpoints        $RASA_ENDPOINTS   (tracker store: ${RASA_TRACKER_STORE_URL:-in memory}, lock store: ${RASA_LOCK_STORE_URL:-in memory})
  action server    http://127.0.0.1:$ACTION_PORT/webhook
  routing backend  $ROUTING_URL           (API /api/, docs /api/docs, Open311 /open311/v2/)

  Chat in the terminal from another shell:  make shell
  Stop with Ctrl-C.

MSG
exec honcho start -f Procfile
