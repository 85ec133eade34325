# Shared settings for the make targets; every value can be overridden from the environment.
# Sourced, not executed.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/.venv/bin:$PATH"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export RASA_TELEMETRY_ENABLED=false
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
export RASA_PORT="${RASA_PORT:-5005}"
export ACTION_PORT="${ACTION_PORT:-5055}"
export ROUTING_PORT="${ROUTING_PORT:-8000}"
export ACTION_SERVER_URL="${ACTION_SERVER_URL:-http://127.0.0.1:$ACTION_PORT/webhook}"
export ROUTING_URL="${ROUTING_URL:-http://127.0.0.1:$ROUTING_PORT}"
# The action server: the backend's intake token (development: the dev token, served when the
# backend runs with ROUTING_DEV_TOKENS=1) and the rasa server for outbox notifications.
export ROUTING_TOKEN="${ROUTING_TOKEN:-dev-intake-token}"
export RASA_URL="${RASA_URL:-http://127.0.0.1:$RASA_PORT}"
if [ ! -x "$ROOT/.venv/bin/python" ]; then
  echo "no virtual environment: run 'make setup' first" >&2
  exit 1
fi
