#!/usr/bin/env bash
# Shared set-up for run.sh and test.sh: system packages (when root), .venv, requirements.
# Idempotent: a second run only checks that everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v pdfsig >/dev/null 2>&1 || need_apt+=(poppler-utils)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)  # statistics page test (headless)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
if ! fc-list 2>/dev/null | grep -iE "wqy|noto sans cjk" >/dev/null; then need_apt+=(fonts-wqy-zenhei); fi  # no -q: SIGPIPE + pipefail
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "[setup] installing system packages: ${need_apt[*]}"
    apt-get install -y -q "${need_apt[@]}" >/dev/null 2>&1 || {
      apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${need_apt[@]}" >/dev/null; }
  else
    echo "[setup] warning: missing ${need_apt[*]} (run as root to install them)" >&2
  fi
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[setup] installing requirements.txt"
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import sanic, tortoise, tongsuopy, gmssl, pikepdf, pyhanko" 
  echo "$want" > "$stamp"
fi
