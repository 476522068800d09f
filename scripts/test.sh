#!/usr/bin/env bash
# Runs the whole suite against real PostgreSQL and Redis (defaults: the local ones CI runs).
# Extra arguments go to pytest, e.g. ./scripts/test.sh tests/sign -x
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup_env.sh
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
exec .venv/bin/python -m pytest "$@"
