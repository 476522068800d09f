#!/usr/bin/env bash
# Zero-setup start: .venv + requirements, SQLite under ./data, in-process cache, demo tenant.
# Any setting can be overridden from the environment (see README, "Settings").
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup_env.sh
export DATABASE_URL=${DATABASE_URL:-sqlite://data/app.sqlite3}
export DEMO_DATA=${DEMO_DATA:-true}
export SEAL_ADMIN_CHECK=${SEAL_ADMIN_CHECK:-false}  # demo: any X-Operator may manage seals
export LOG_JSON=${LOG_JSON:-false}
HOST=${HOST:-127.0.0.1}; PORT=${PORT:-8000}
export HOST PORT
echo "[run] database: ${DATABASE_URL}   cache: ${REDIS_URL:-in-process}"
echo "[run] demo URL: http://${HOST}:${PORT}/   (API docs: http://${HOST}:${PORT}/docs)"
exec .venv/bin/python app.py
