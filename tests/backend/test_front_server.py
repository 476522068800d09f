"""Front server [前置服务器] end to end: a front server (its own database, Redis, key store and job
worker) seals for a core system and reports to the central platform (the suite's server), which
stores each report once."""
from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid

import asyncpg
import pytest

from backend.client import ApiClient
from tests.backend.redis_testkit import PrivateRedis
from tests.conftest import ROOT, start_server, stop_server

COMPANY = "前置测试人寿保险股份有限公司"
ADMIN = {"X-Operator": "sec-admin-01"}
FRONT_ID = "front-sh-01"


def _utc(**delta) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(**delta)).isoformat()


def _fresh_database(url: str) -> None:
    base, _, name = url.rpartition("/")

    async def run() -> None:
        admin = await asyncpg.connect(f"{base}/postgres")
        try:
            if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        conn = await asyncpg.connect(url)
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        await conn.close()

    asyncio.run(run())


@pytest.fixture
def front(test_env, server, tenant, tmp_path):
    """A front server + its job worker, reporting to ``server`` as ``tenant``; yields
    (front URL, the core system's credentials on the front, the front's env)."""
    front_db = test_env["DATABASE_URL"].rsplit("?", 1)[0] + "_front"
    _fresh_database(front_db)
    redis_server = PrivateRedis(tmp_path).start()
    (tmp_path / "front-data").mkdir()
    env = {**test_env, "DATABASE_URL": front_db, "REDIS_URL": redis_server.url,
           "DATA_DIR": str(tmp_path / "front-data"), "AUTO_MIGRATE": "false",
           "SEAL_ADMIN_CHECK": "false", "FRONT_SERVER_MODE": "true", "FRONT_SERVER_ID": FRONT_ID,
           "CENTRAL_URL": server, "CENTRAL_APP_KEY": tenant.app_key,
           "CENTRAL_APP_SECRET": tenant.app_secret}
    full_env = {**os.environ, **env}
    subprocess.run([sys.executable, "-m", "backend.admin", "migrate"], cwd=ROOT, env=full_env,
                   capture_output=True, check=True)
    proc, url = start_server(env, tmp_path / "front.log")
    worker = None
    try:
        made = subprocess.run([sys.executable, "-m", "backend.admin", "create-tenant", "核心业务系统"],
                              cwd=ROOT, env=full_env, capture_output=True, text=True, check=True)
        core = json.loads(made.stdout.strip().splitlines()[-1])
        worker = subprocess.Popen([sys.executable, "-m", "backend.jobs", "worker"], cwd=ROOT,
                                  env=full_env, stdout=open(tmp_path / "worker.log", "wb"),
                                  stderr=subprocess.STDOUT)
        yield url, core, env
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()
        stop_server(proc)
        redis_server.kill()


def _seal_ready(core_api: ApiClient) -> str:
    seal = core_api.post("/api/v1/seals", {"kind": "official", "name": COMPANY}, headers=ADMIN)
    assert seal.status_code == 201, seal.text
    seal_id = seal.json()["id"]
    for path, body in ((f"/api/v1/seals/{seal_id}/transitions",
                        {"action": "approve", "reason": "审批通过"}),
                       ("/api/v1/certificates", {"company_name": COMPANY, "algorithm": "dual"}),
                       (f"/api/v1/seals/{seal_id}/grants",
                        {"grantee_type": "user", "grantee_ref": "u-core", "reason": "出单用印",
                         "valid_from": _utc(minutes=-1), "valid_until": _utc(days=1)})):
        response = core_api.post(path, body, headers=ADMIN)
        assert response.status_code in (200, 201), response.text
    return seal_id


def _wait_for_report(api: ApiClient, sha256: str, seconds: float = 30) -> list[dict]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        items = api.get("/api/v1/front-reports", params={"sha256": sha256}).json()["items"]
        if items:
            return items
        time.sleep(0.2)
    raise AssertionError(f"no report of {sha256} reached the central platform")


async def test_a_front_server_seals_locally_and_reports_each_seal_once(front, api):
    from backend.audit import verify_chain

    url, core, env = front
    pdf = (ROOT / "templates" / "e_policy.pdf").read_bytes()
    with ApiClient(url, core["app_key"], core["app_secret"]) as core_api:
        seal_id = _seal_ready(core_api)
        sealed = []
        for n in range(3):
            response = core_api.post(f"/api/v1/seals/{seal_id}/apply", {
                "company_name": COMPANY, "pdf_base64": base64.b64encode(pdf).decode(),
                "rect": [400, 60, 520, 180], "user_ref": "u-core",
                "document_ref": f"POLICY-{n}", "document_type": "e_policy"})
            assert response.status_code == 201, response.text
            sealed.append(response.json())
    for answer in sealed:  # signed on the front, with the front's keys
        assert answer["sha256"] == hashlib.sha256(base64.b64decode(answer["pdf_base64"])).hexdigest()
        assert answer["algorithms"] == ["sm2", "rsa"]

    reports = {a["sha256"]: _wait_for_report(api, a["sha256"]) for a in sealed}
    for answer, (digest, items) in zip(sealed, reports.items()):
        assert len(items) == 1
        report = items[0]
        assert report["front_server"] == FRONT_ID and report["algorithms"] == ["sm2", "rsa"]
        assert report["seal_id"] == seal_id and report["company_name"] == COMPANY
        assert report["document_ref"].startswith("POLICY-") and report["use_id"] == answer["use_id"]
        assert len(json.dumps(report)) < 2000  # a hash and names, never the document
    assert (await verify_chain()).ok  # stored in the central's tamper-evident log

    # a report delivered again (a retry after a lost answer) is stored once
    report = dict(next(iter(reports.values()))[0])
    for key in ("audit_seq", "received_at"):
        report.pop(key)
    again = api.post("/api/v1/front-reports", report, idempotency_key=report["report_id"])
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert len(api.get("/api/v1/front-reports", params={"sha256": report["sha256"]})
               .json()["items"]) == 1
    assert len(api.get("/api/v1/front-reports").json()["items"]) == 3

    conn = await asyncpg.connect(env["DATABASE_URL"])  # the front's outbox: all delivered
    try:
        rows = await conn.fetch("SELECT data FROM callback_event WHERE type = 'front.report'")
    finally:
        await conn.close()
    deliveries = [json.loads(r["data"])["delivery"] for r in rows]
    assert len(deliveries) == 3 and {d["status"] for d in deliveries} == {"delivered"}


async def test_report_delivery_is_retried_until_the_central_platform_answers(
        test_env, server, tenant, api):
    from backend.jobs.registry import RetryableJobError
    from backend.models.callback_delivery import CallbackEvent
    from backend.runtime import Runtime
    from backend.services.front_reports import REPORT_EVENT, deliver
    from backend.settings import Settings
    from tests.conftest import free_port

    report_id = str(uuid.uuid4())
    report = {"report_id": report_id, "front_server": FRONT_ID, "front_tenant": tenant.tenant_id,
              "sha256": hashlib.sha256(b"policy").hexdigest(), "algorithms": ["sm2"],
              "seal_id": "seal-1", "seal_name": COMPANY, "seal_kind": "official",
              "company_name": COMPANY, "use_id": 7, "user_ref": "u-core",
              "document_ref": "POLICY-9", "document_type": "e_policy",
              "signed_at": _utc()}
    await CallbackEvent.create(id=report_id, tenant_id=tenant.tenant_id, type=REPORT_EVENT,
                               data={"report": report, "delivery": {"status": "pending"}})

    def runtime(central_url: str, secret: str = tenant.app_secret) -> Runtime:
        settings = Settings.from_env({**test_env, "FRONT_SERVER_MODE": "true",
                                      "CENTRAL_URL": central_url,
                                      "CENTRAL_APP_KEY": tenant.app_key,
                                      "CENTRAL_APP_SECRET": secret})
        return Runtime.from_settings(settings)

    down = runtime(f"http://127.0.0.1:{free_port()}")  # nothing listens: retried later
    with pytest.raises(RetryableJobError):
        await deliver(down, report_id, timeout=2)
    event = await CallbackEvent.get(id=report_id)
    assert event.data["delivery"]["status"] == "pending" and event.data["delivery"]["attempts"] == 1

    up = runtime(server)
    assert await deliver(up, report_id) == "delivered"
    assert await deliver(up, report_id) == "delivered"  # done: not sent again
    event = await CallbackEvent.get(id=report_id)
    assert event.data["delivery"]["attempts"] == 2 and event.data["delivery"]["central_seq"]
    items = api.get("/api/v1/front-reports", params={"front_server": FRONT_ID}).json()["items"]
    assert [i["report_id"] for i in items] == [report_id]

    # refused for good (bad credentials): not retried, marked failed
    other_id = str(uuid.uuid4())
    await CallbackEvent.create(id=other_id, tenant_id=tenant.tenant_id, type=REPORT_EVENT,
                               data={"report": {**report, "report_id": other_id},
                                     "delivery": {"status": "pending"}})
    assert await deliver(runtime(server, secret="wrong-secret"), other_id) == "failed"
    for rt in (down, up):
        await rt.close()


async def test_front_reports_are_validated(api):
    bad = api.post("/api/v1/front-reports", {"report_id": str(uuid.uuid4()), "front_server": "x",
                                             "sha256": "not-a-hash", "algorithms": ["md5"],
                                             "seal_id": "s", "signed_at": _utc()})
    assert bad.status_code == 422 and bad.json()["code"] == "VALIDATION_FAILED"
    fields = {d["field"] for d in bad.json()["details"]}
    assert {"sha256", "algorithms.0"} <= fields
    report_id = str(uuid.uuid4())
    mismatch = api.post("/api/v1/front-reports", {
        "report_id": report_id, "front_server": "x", "sha256": "a" * 64, "algorithms": ["rsa"],
        "seal_id": "s", "signed_at": _utc()}, idempotency_key="other-key")
    assert mismatch.status_code == 422 and mismatch.json()["code"] == "IDEMPOTENCY_KEY_MISMATCH"
