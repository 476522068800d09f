"""Start-up paths: the zero-setup default, readiness, admin commands, replica routing."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx

from backend import db as backend_db
from backend.client import ApiClient
from tests.conftest import ROOT, start_server, stop_server


def test_health_and_readiness_on_postgres_and_redis(server):
    assert httpx.get(f"{server}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server}/readyz").json()
    assert ready == {"status": "ok", "checks": {"database": True, "cache": True}}


def test_not_ready_when_redis_is_unreachable(prepared_database, test_env, tmp_path):
    proc, url = start_server({**test_env, "REDIS_URL": "redis://127.0.0.1:1/0"}, tmp_path / "log")
    try:
        response = httpx.get(f"{url}/readyz", timeout=10)
    finally:
        stop_server(proc)
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "cache": False}
    assert response.json()["code"] == "NOT_READY"


def test_zero_setup_default_sqlite_in_process_cache_and_demo_tenant(tmp_path):
    """What ./scripts/run.sh starts: SQLite under DATA_DIR, no Redis, a demo tenant printed once."""
    env = {"DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite://{tmp_path}/app.sqlite3",
           "REDIS_URL": "", "DEMO_DATA": "true", "LOG_JSON": "false", "ENV": "development"}
    proc, url = start_server(env, tmp_path / "log")
    try:
        assert httpx.get(f"{url}/readyz").json()["status"] == "ok"
        assert "电子签章" in httpx.get(f"{url}/").text
    finally:
        stop_server(proc)
    printed = (tmp_path / "log").read_text()
    creds = json.loads(next(line for line in printed.splitlines() if '"app_secret"' in line))
    proc, url = start_server(env, tmp_path / "log2")  # restart: same tenant, secret not shown
    try:
        with ApiClient(url, creds["app_key"], creds["app_secret"]) as api:
            assert api.get("/api/v1/whoami").json()["tenant_id"] == creds["tenant_id"]
            api.post("/api/v1/messages", {"channel": "sms", "recipient": "13800138000",
                                          "template": "OTP_CODE",
                                          "params": {"code": "246810", "minutes": "5"}})
            for _ in range(50):  # jobs run in-process; the local channel shows the SMS
                if "246810" in httpx.get(f"{url}/demo/messages").text:
                    break
                time.sleep(0.1)
            else:
                raise AssertionError("the demo SMS never appeared on /demo/messages")
    finally:
        stop_server(proc)
    assert creds["app_secret"] not in (tmp_path / "log2").read_text()


async def test_admin_create_tenant_prints_credentials_once(server, db, test_env):
    result = subprocess.run([sys.executable, "-m", "backend.admin", "create-tenant", "平安测试"],
                            cwd=ROOT, env={**os.environ, **test_env}, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert set(created) == {"tenant_id", "app_key", "app_secret"}
    with ApiClient(server, created["app_key"], created["app_secret"]) as api:
        assert api.get("/api/v1/whoami").json()["name"] == "平安测试"


def test_admin_rejects_a_blank_name(prepared_database, test_env):
    result = subprocess.run([sys.executable, "-m", "backend.admin", "create-tenant", "  "],
                            cwd=ROOT, env={**os.environ, **test_env}, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "TENANT_NAME_INVALID" in result.stderr


async def test_lag_tolerant_reads_use_the_replica_connection(prepared_database):
    from dataclasses import replace

    settings = replace(prepared_database, database_replica_url=prepared_database.database_url)
    await backend_db.init_db(settings)
    try:
        assert backend_db.replica() is not backend_db.primary()
        rows = await backend_db.replica().execute_query_dict("SELECT 1 AS one")
        assert rows == [{"one": 1}]
    finally:
        await backend_db.close_db()
    await backend_db.init_db(prepared_database)
    try:
        assert backend_db.replica() is backend_db.primary()
    finally:
        await backend_db.close_db()
