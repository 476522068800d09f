"""Print the OpenAPI document: ``python -m backend.openapi > docs/openapi.json``.

Starts the app on a scratch SQLite database and a free port, fetches ``/docs/openapi.json``
exactly as clients see it, and prints it with sorted keys (a test keeps the two in sync).
"""
from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

import httpx

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch_spec() -> dict:
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "DATA_DIR": tmp,
               "DATABASE_URL": f"sqlite://{tmp}/spec.sqlite3", "REDIS_URL": "",
               "DEMO_DATA": "false", "LOG_LEVEL": "WARNING", "ENV": "development"}
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(300):
                try:
                    return httpx.get(f"http://127.0.0.1:{port}/docs/openapi.json", timeout=1).json()
                except httpx.HTTPError:
                    time.sleep(0.1)
            raise SystemExit("the app did not start")
        finally:
            proc.terminate()
            proc.wait(10)


def main() -> int:
    json.dump(fetch_spec(), sys.stdout, indent=2, ensure_ascii=False, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
