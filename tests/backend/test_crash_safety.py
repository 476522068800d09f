"""Crash safety of the API: a server killed during requests with idempotency keys, Redis
restarted mid-run, PostgreSQL connections dropped. Each test runs its own server process(es)
(``python app.py``, one process) so that it can kill or starve it.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import os
import pathlib
import signal
import threading
import time
import urllib.parse

import asyncpg
import httpx

from backend.client import ApiClient
from tests.backend.files_testkit import OP, import_examples, sample
from tests.backend.redis_testkit import PrivateRedis
from tests.conftest import start_server, stop_server

CALLBACK = {"url": "https://crm.example.com/hook", "events": ["envelope.completed"]}


def _client(base_url: str, tenant, timeout: float = 10) -> ApiClient:
    return ApiClient(base_url, tenant.app_key, tenant.app_secret, timeout=timeout)


def _no_tracebacks(log: pathlib.Path) -> None:
    text = log.read_text(errors="replace")
    assert "unhandled error" not in text and "INTERNAL_ERROR" not in text, text[-3000:]


def _assert_clean_503(response: httpx.Response, code: str) -> None:
    body = response.json()
    assert body["code"] == code, body
    assert body["message"] and body["request_id"], body
    assert response.headers.get("Retry-After") == "1"


def _send_then_kill(proc, url: str, requests: list[tuple[str, dict]], send, *,
                    answered_first: int, workers: int) -> tuple[dict[str, dict], list[str]]:
    """Send ``requests`` (key, body) from ``workers`` threads; once ``answered_first`` have been
    answered, SIGKILL the server with the rest in flight or queued. Returns the bodies of the
    201 answers by key, and the keys whose request was cut off."""
    first: dict[str, dict] = {}
    failed: list[str] = []
    answered = threading.Semaphore(0)

    def attempt(item) -> None:
        key, body = item
        try:
            response = send(url, key, body)
        except httpx.HTTPError:
            failed.append(key)
            return
        finally:
            answered.release()
        assert response.status_code == 201, response.text
        first[key] = response.json()

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(attempt, item) for item in requests]
            for _ in range(answered_first):
                answered.acquire(timeout=120)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            for future in futures:
                future.result()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert first and failed, (len(first), len(failed))  # the kill really cut requests off
    return first, failed


# --------------------------------------------------------------------------------------------
# The API killed (SIGKILL) while requests with Idempotency-Key are in flight; retried after the
# restart: every request creates its document exactly once and answers with the same id.
# --------------------------------------------------------------------------------------------
async def test_killed_api_then_retried_idempotent_requests_create_nothing_twice(
        test_env, tenant, tmp_path):
    from backend.models.document import Document
    from backend.models.idempotency import IdempotencyRecord

    proc, url = start_server(test_env, tmp_path / "before.log")
    try:
        with _client(url, tenant) as api:
            import_examples(api)
        requests = [(f"crash-fill-{i}", {"params": {**sample("e_policy"),
                                                    "policy_no": f"PCRASH{i:010d}"}})
                    for i in range(60)]
    except BaseException:
        proc.kill()
        raise

    def send(base: str, key: str, body: dict) -> httpx.Response:
        with _client(base, tenant) as api:
            return api.post("/api/v1/templates/e_policy/fill", body, idempotency_key=key,
                            headers=OP)

    # let some finish, then kill with the rest in flight or queued
    first, _ = _send_then_kill(proc, url, requests, send, answered_first=10, workers=8)

    proc, url = start_server(test_env, tmp_path / "after.log")
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            retried = list(pool.map(lambda item: send(url, *item), requests))
        assert {r.status_code for r in retried} == {201}, [r.text for r in retried][:3]
        ids = {key: r.json()["id"] for (key, _), r in zip(requests, retried)}
        for key, body in first.items():  # answered before the kill: the same document back
            assert ids[key] == body["id"]
        replayed = {key for (key, _), r in zip(requests, retried)
                    if r.headers.get("Idempotent-Replayed") == "true"}
        assert set(first) <= replayed
        assert len(set(ids.values())) == len(requests)
        assert await Document.filter(tenant_id=tenant.tenant_id).count() == len(requests)
        assert await IdempotencyRecord.filter(tenant_id=tenant.tenant_id).count() == len(requests)
        for i in range(len(requests)):
            assert await Document.filter(policy_no=f"PCRASH{i:010d}").count() == 1
        with _client(url, tenant) as api:  # every stored document is whole
            for doc_id in list(ids.values())[::10]:
                current = api.get(f"/api/v1/documents/{doc_id}/current", headers=OP)
                assert current.status_code == 200 and current.content.startswith(b"%PDF")
    finally:
        stop_server(proc)
    _no_tracebacks(tmp_path / "after.log")


# --------------------------------------------------------------------------------------------
# Redis killed and restarted under load: clean 503s (no 500, no hang) while it is down,
# readiness back to ok and requests succeeding once it is back.
# --------------------------------------------------------------------------------------------
class Load(threading.Thread):
    """Posts callback registrations in a loop; records (status, body, seconds) of each."""

    def __init__(self, base_url: str, tenant) -> None:
        super().__init__(daemon=True)
        self.base_url, self.tenant = base_url, tenant
        self.results: list[tuple[int, dict, float]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        with _client(self.base_url, self.tenant) as api:
            while not self.stopping.is_set():
                started = time.monotonic()
                response = api.post("/api/v1/callbacks", CALLBACK)
                self.results.append((response.status_code, response.json(),
                                     time.monotonic() - started))

    def stop(self) -> list[tuple[int, dict, float]]:
        self.stopping.set()
        self.join(20)
        return self.results


def _wait_ready(url: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
            return
        time.sleep(0.1)
    raise AssertionError(f"not ready again: {httpx.get(f'{url}/readyz').text}")


async def test_redis_restarted_mid_run_recovers(test_env, tenant, tmp_path):
    redis_server = PrivateRedis(tmp_path).start()
    log = tmp_path / "server.log"
    proc, url = start_server({**test_env, "REDIS_URL": redis_server.url}, log)
    load = Load(url, tenant)
    try:
        assert httpx.get(f"{url}/readyz").status_code == 200
        load.start()
        time.sleep(0.5)
        redis_server.kill()
        time.sleep(0.3)
        with _client(url, tenant) as api:  # while Redis is down
            started = time.monotonic()
            down = api.post("/api/v1/callbacks", CALLBACK)
            assert time.monotonic() - started < 5
            assert down.status_code == 503, down.text
            _assert_clean_503(down, "CACHE_UNAVAILABLE")
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 503 and ready.json()["checks"] == {"database": True,
                                                                       "cache": False}
        time.sleep(1)
        redis_server.start()  # the same port, empty
        _wait_ready(url)
        time.sleep(0.5)
        results = load.stop()
        with _client(url, tenant) as api:
            after = [api.post("/api/v1/callbacks", CALLBACK) for _ in range(5)]
        assert {r.status_code for r in after} == {201}, [r.text for r in after]
    finally:
        load.stopping.set()
        stop_server(proc)
        redis_server.kill()
    statuses = [status for status, _, _ in results]
    assert set(statuses) <= {201, 503}, statuses
    assert statuses.count(503) > 0 and statuses[-1] == 201
    for status, body, _ in results:
        if status == 503:
            assert body["code"] == "CACHE_UNAVAILABLE" and body["request_id"]
    assert max(seconds for _, _, seconds in results) < 6  # no request hung
    _no_tracebacks(log)


# --------------------------------------------------------------------------------------------
# PostgreSQL connections of the server terminated again and again under load: every answer
# is a success or a clean 503 DATABASE_UNAVAILABLE, and requests succeed afterwards.
# --------------------------------------------------------------------------------------------
def _pg_client_ports(pid: int, pg_port: int) -> list[int]:
    """Local ports of ``pid``'s TCP connections to PostgreSQL (from /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = []
    for table in ("tcp", "tcp6"):
        try:
            lines = pathlib.Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            local, remote, inode = cols[1], cols[2], cols[9]
            if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == pg_port:
                ports.append(int(local.rsplit(":", 1)[1], 16))
    return ports


async def _terminate(conn, pid: int, pg_port: int) -> int:
    ports = _pg_client_ports(pid, pg_port)
    if not ports:
        return 0
    rows = await conn.fetch(
        "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND client_port = ANY($1::int[])", ports)
    return sum(1 for r in rows if r["ok"])


async def test_dropped_database_connections_fail_cleanly_and_recover(test_env, tenant, tmp_path):
    log = tmp_path / "server.log"
    proc, url = start_server(test_env, log)
    pg_port = urllib.parse.urlsplit(test_env["DATABASE_URL"]).port or 5432
    conn = await asyncpg.connect(test_env["DATABASE_URL"])
    loads = [Load(url, tenant) for _ in range(4)]
    try:
        with _client(url, tenant) as api:
            assert api.post("/api/v1/callbacks", CALLBACK).status_code == 201
        terminated = await _terminate(conn, proc.pid, pg_port)
        assert terminated >= 1
        with _client(url, tenant) as api:  # idle pooled connection dropped: reconnects
            first = api.post("/api/v1/callbacks", CALLBACK)
            assert first.status_code in (201, 503), first.text
            if first.status_code == 503:
                _assert_clean_503(first, "DATABASE_UNAVAILABLE")
        for load in loads:
            load.start()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:  # drop every connection every 50 ms under load
            terminated += await _terminate(conn, proc.pid, pg_port)
            await asyncio.sleep(0.05)
        results = [r for load in loads for r in load.stop()]
        await asyncio.sleep(0.2)
        with _client(url, tenant) as api:
            after = [api.post("/api/v1/callbacks", CALLBACK) for _ in range(10)]
        assert {r.status_code for r in after} == {201}, [r.text for r in after]
        assert httpx.get(f"{url}/readyz").status_code == 200
    finally:
        for load in loads:
            load.stopping.set()
        await conn.close()
        stop_server(proc)
    statuses = [status for status, _, _ in results]
    assert terminated > 5 and statuses
    assert set(statuses) <= {201, 503}, sorted(set(statuses))
    for status, body, _ in results:
        if status == 503:
            assert body["code"] == "DATABASE_UNAVAILABLE" and body["request_id"], body
    print(f"\n{terminated} connections terminated; {len(statuses)} requests under fire: "
          f"{statuses.count(201)} x 201, {statuses.count(503)} x 503")
    _no_tracebacks(log)


# --------------------------------------------------------------------------------------------
# Bulk issuance [批量出单]: the API killed (SIGKILL) while batches of e-policies are being
# filled, sealed and stored; every batch retried with its Idempotency-Key after the restart:
# each policy ends sealed exactly once (one document, one seal use, one SM2 and one RSA usage
# event), the batches answered before the kill come back with the same ids, every stored file
# is whole and verifies, and both hash chains hold.
# --------------------------------------------------------------------------------------------
async def test_killed_api_during_bulk_issuance_then_retried_seals_each_policy_once(
        test_env, tenant, tmp_path):
    from backend import audit
    from backend.models.billing import UsageEvent
    from backend.models.document import Document
    from backend.models.seal import SealUse
    from backend.services import evidence
    from sign.verify import verify
    from tests.backend.files_testkit import COMPANY, ready_seal

    batches, size = 12, 40
    env = {**test_env, "SEAL_ADMIN_CHECK": "false"}  # the test makes and grants the seal itself
    proc, url = start_server(env, tmp_path / "before.log")
    try:
        with _client(url, tenant) as api:
            import_examples(api)
            seal_id = ready_seal(api)
        base = sample("e_policy")
        requests = [(f"bulk-crash-{b}", {
            "items": [{"params": {**base, "policy_no": f"PBULK{b:03d}{i:06d}"},
                       "signers": [{"role": "policyholder", "name": "张伟",
                                    "ref": f"p-{b}-{i}"}]} for i in range(size)],
            "seal": {"seal_id": seal_id, "company_name": COMPANY, "role": "insurer",
                     "user_ref": "u-sealer"}}) for b in range(batches)]
    except BaseException:
        proc.kill()
        raise

    def send(base_url: str, key: str, body: dict) -> httpx.Response:
        with _client(base_url, tenant, timeout=60) as api:
            return api.post("/api/v1/templates/e_policy/issue", body, idempotency_key=key,
                            headers=OP)

    # two batches answered, the next ones in flight or queued
    answers, _ = _send_then_kill(proc, url, requests, send, answered_first=2, workers=3)
    first = {key: [d["id"] for d in body["items"]] for key, body in answers.items()}

    proc, url = start_server(env, tmp_path / "after.log")
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            retried = list(pool.map(lambda item: send(url, *item), requests))
        assert {r.status_code for r in retried} == {201}, [r.text for r in retried][:3]
        ids = {key: [d["id"] for d in r.json()["items"]] for (key, _), r in zip(requests, retried)}
        for key, got in first.items():  # answered before the kill: the same documents back
            assert ids[key] == got
        every = [doc_id for got in ids.values() for doc_id in got]
        total = batches * size
        assert len(set(every)) == total
        assert await Document.filter(tenant_id=tenant.tenant_id).count() == total
        for b in (0, batches // 2, batches - 1):
            for i in (0, size - 1):
                assert await Document.filter(policy_no=f"PBULK{b:03d}{i:06d}").count() == 1
        assert await SealUse.filter(seal_id=seal_id, result="allowed").count() == total
        for kind in ("signature.sm2", "signature.rsa"):
            assert await UsageEvent.filter(tenant_id=tenant.tenant_id, kind=kind).count() == total
        with _client(url, tenant) as api:  # the stored files are whole and verify
            for doc_id in every[::53]:
                current = api.get(f"/api/v1/documents/{doc_id}/current", headers=OP)
                assert current.status_code == 200, current.text
                report = verify(current.content)
                assert [s.algorithm for s in report.signatures] == ["sm2", "rsa"]
                assert all(s.intact and s.crypto_valid for s in report.signatures)
                assert (await evidence.verify_chain(doc_id)).ok
        assert (await audit.verify_chain()).ok
    finally:
        stop_server(proc)
    _no_tracebacks(tmp_path / "after.log")
