"""Shared fixtures for the whole suite.

Fixtures for the web app, database and cache live in ``tests/backend/conftest.py`` sections below;
fixtures for the pure ``sign`` library need no services.
"""
from __future__ import annotations

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus_dir() -> pathlib.Path:
    """The external test corpus (../shared/corpus); skips where it is absent (a user's machine)."""
    if not CORPUS.is_dir():
        pytest.skip(f"external corpus not found at {CORPUS} (../shared/corpus)")
    return CORPUS


# --------------------------------------------------------------------------------------------
# Real services: PostgreSQL and Redis (DATABASE_URL / REDIS_URL; scripts/test.sh sets the local
# ones). Backend tests FAIL, never skip, when they cannot be reached.
# --------------------------------------------------------------------------------------------
import asyncio  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import httpx  # noqa: E402

TEST_DATA_KEYS = "t1:00112233445566778899aabbccddeeff"
TEST_BLIND_INDEX_KEY = "ffeeddccbbaa99887766554433221100"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def test_env(tmp_path_factory) -> dict[str, str]:
    """Environment of the server under test (and of the settings the tests use)."""
    return {
        "ENV": "test",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "DATA_KEYS": TEST_DATA_KEYS,
        "BLIND_INDEX_KEY": TEST_BLIND_INDEX_KEY,
        "DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "AUTO_MIGRATE": "false",
        "MAX_BODY_BYTES": "65536",
        "LOG_JSON": "true",
        "JOB_RETRY_DELAY_SECONDS": "0",
        "ALIYUN_SMS_REPORT_TOKEN": "report-token-0123456789",
    }


@pytest.fixture(scope="session")
def test_settings(test_env):
    from backend.settings import Settings

    return Settings.from_env(test_env)


def _require_services(settings) -> None:
    import asyncpg
    import redis

    async def pg() -> None:
        conn = await asyncpg.connect(settings.database_url, timeout=5)
        await conn.close()

    try:
        asyncio.run(pg())
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL at {settings.database_url} is required: {exc}", pytrace=False)
    try:
        redis.Redis.from_url(settings.redis_url, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"Redis at {settings.redis_url} is required: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def prepared_database(test_settings):
    """A fresh schema on the real PostgreSQL, built by the project's migrations."""
    import asyncpg

    from backend import db

    _require_services(test_settings)

    async def reset() -> None:
        conn = await asyncpg.connect(test_settings.database_url)
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        await conn.close()
        await db.init_db(test_settings)
        await db.migrate(test_settings)
        await db.close_db()

    asyncio.run(reset())
    return test_settings


_WIPE_SCRIPT: list[str] = []


async def _wipe_script(conn) -> str:
    """DELETE every model table (foreign keys not checked) and restart the id sequences:
    the same empty state as TRUNCATE ... RESTART IDENTITY, about 4x faster on small tables
    (TRUNCATE makes and fsyncs a new file per table and index, ~0.25 s per test here)."""
    if not _WIPE_SCRIPT:
        from tortoise import Tortoise

        tables = sorted({m._meta.db_table for app in Tortoise.apps.values()
                         for m in app.values()})
        rows = await conn.execute_query_dict(
            "SELECT sequence_name FROM information_schema.sequences "
            "WHERE sequence_schema = current_schema()")
        _WIPE_SCRIPT.append(
            "BEGIN; SET LOCAL session_replication_role = replica; "
            + " ".join(f'DELETE FROM "{t}";' for t in tables)
            + " ".join(f"SELECT setval('{r['sequence_name']}', 1, false);" for r in rows
                       if any(r["sequence_name"].startswith(f"{t}_") for t in tables))
            + " COMMIT;")
    return _WIPE_SCRIPT[0]


async def _wipe(settings) -> None:
    import redis.asyncio as redis_asyncio
    from tortoise import Tortoise

    conn = Tortoise.get_connection("default")
    await conn.execute_script(await _wipe_script(conn))
    client = redis_asyncio.from_url(settings.redis_url)
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def db(prepared_database):
    """The ORM connected to the test database, emptied (and Redis flushed) before the test."""
    from backend import db as backend_db

    await backend_db.init_db(prepared_database)
    try:  # close even when wiping fails, so that one failure does not cascade
        await _wipe(prepared_database)
        yield prepared_database
    finally:
        await backend_db.close_db()


@pytest.fixture
def runtime(test_settings):
    from backend.runtime import Runtime

    return Runtime.from_settings(test_settings)


def start_server(env: dict[str, str], log_path,
                 timeout: float = 30) -> tuple[subprocess.Popen, str]:
    port = free_port()
    full_env = {**os.environ, **env, "PORT": str(port), "HOST": "127.0.0.1"}
    log = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=full_env,
                            stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {pathlib.Path(log_path).read_text()[-3000:]}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return proc, base_url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not start: {pathlib.Path(log_path).read_text()[-3000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def server(prepared_database, test_env, tmp_path_factory):
    """The real app (python app.py) on PostgreSQL + Redis, on a free port, for the session."""
    proc, base_url = start_server(test_env, tmp_path_factory.mktemp("logs") / "server.log")
    yield base_url
    stop_server(proc)


@pytest.fixture
async def tenant(db, runtime):
    """A fresh tenant: its id, app key and (clear) secret."""
    from backend.services.create_tenant import create_tenant

    return await create_tenant("测试人寿保险股份有限公司", runtime.cipher)


@pytest.fixture
async def other_tenant(db, runtime):
    from backend.services.create_tenant import create_tenant

    return await create_tenant("另一家财产保险公司", runtime.cipher)


@pytest.fixture
def api(server, tenant):
    """A signed API client for ``tenant`` against the running server."""
    from backend.client import ApiClient

    with ApiClient(server, tenant.app_key, tenant.app_secret) as client:
        yield client


# --------------------------------------------------------------------------------------------
# A server wired to fake outside providers (Aliyun market identity APIs; more are added as
# adapters land). The fakes are real HTTP servers on 127.0.0.1 in this process.
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def provider_fakes():
    from tests.fakes.identity_servers import FakeAliyunMarket
    from tests.fakes.notify_servers import FakeAliyunSms, FakeSmtp

    fakes = {"market": FakeAliyunMarket(), "sms": FakeAliyunSms().start(),
             "smtp": FakeSmtp().start()}
    yield fakes
    fakes["market"].close()
    fakes["sms"].stop()
    fakes["smtp"].stop()


@pytest.fixture(scope="session")
def provider_env(test_env, provider_fakes) -> dict[str, str]:
    """Settings wiring the identity and SMS adapters to the fakes (server and in-test workers)."""
    market, sms = provider_fakes["market"], provider_fakes["sms"]
    (key_id, key_secret), = sms.credentials.items()
    return {**test_env, "IDENTITY_PROVIDER": "aliyun", "ENTERPRISE_PROVIDER": "aliyun",
           "ALIYUN_MARKET_APPCODE": market.appcode,
           "ALIYUN_IDENTITY_URL": f"{market.url}/mobile/verify_real_name",
           "ALIYUN_IDENTITY_2F_URL": f"{market.url}/eid/check",
           "ENTERPRISE_VERIFY_URL": f"{market.url}/enterprise/verify",
           "IDENTITY_TIMEOUT_SECONDS": "0.5", "IDENTITY_RETRY_ATTEMPTS": "2",
           "IDENTITY_RETRY_BASE_DELAY": "0.05", "FACE_PROVIDER": "local",
           "ALIYUN_ACCESS_KEY_ID": key_id, "ALIYUN_ACCESS_KEY_SECRET": key_secret,
           "ALIYUN_SMS_SIGN_NAME": "测试保险", "ALIYUN_SMS_ENDPOINT": sms.url,
           "ALIYUN_SMS_TEMPLATES": "SIGN_LINK=SMS_100001,OTP_CODE=SMS_100002,SIGN_COMPLETED=SMS_100003",
           "NOTIFY_TIMEOUT_SECONDS": "0.5",
           "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(provider_fakes["smtp"].port),
           "SMTP_FROM": "电子签 <esign@insurer.example>", "SMTP_STARTTLS": "false"}


@pytest.fixture(scope="session")
def provider_server(prepared_database, provider_env, tmp_path_factory):
    log = tmp_path_factory.mktemp("logs") / "provider_server.log"
    proc, base_url = start_server(provider_env, log)
    yield base_url
    stop_server(proc)


@pytest.fixture
def market(provider_fakes):
    """The fake Aliyun market gateway, reset to answer ``match``."""
    provider_fakes["market"].reset()
    return provider_fakes["market"]


@pytest.fixture
def sms(provider_fakes):
    """The fake Aliyun SMS API, answering ``ok``, with an empty request log."""
    fake = provider_fakes["sms"]
    fake.scenario = "ok"
    fake.requests.clear()
    fake.accepted.clear()
    fake._script.clear()
    return fake


@pytest.fixture
def smtp(provider_fakes):
    """The fake SMTP server (aiosmtpd), its inbox emptied."""
    provider_fakes["smtp"].messages.clear()
    return provider_fakes["smtp"]


@pytest.fixture
def provider_runtime(provider_env, test_settings):
    """A Runtime reading provider settings from ``provider_env`` (for in-test job workers)."""
    from backend.runtime import Runtime

    return Runtime.from_settings(test_settings, environ=provider_env)


@pytest.fixture
def run_jobs(db, provider_runtime):
    """Process every queued job with a burst SAQ worker in this process."""
    from backend.jobs.worker import build_worker

    async def run() -> None:
        worker = build_worker(db, burst=True, runtime=provider_runtime, manage_db=False)
        await worker.start()

    return run


@pytest.fixture
def papi(provider_server, tenant):
    """A signed client for ``tenant`` against the server wired to the fake providers."""
    from backend.client import ApiClient

    with ApiClient(provider_server, tenant.app_key, tenant.app_secret) as client:
        yield client


# --------------------------------------------------------------------------------------------
# Templates, file centre, signing flows and H5 pages: a server whose seal management needs no
# security administrator (SEAL_ADMIN_CHECK=false) so tests can make, approve and grant a seal.
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def files_server(prepared_database, test_env, tmp_path_factory):
    env = {**test_env, "SEAL_ADMIN_CHECK": "false"}
    proc, base_url = start_server(env, tmp_path_factory.mktemp("logs") / "files_server.log")
    yield base_url
    stop_server(proc)


@pytest.fixture
def fapi(files_server, tenant):
    """A signed client for ``tenant`` against ``files_server``."""
    from backend.client import ApiClient

    with ApiClient(files_server, tenant.app_key, tenant.app_secret) as client:
        yield client


def start_chromium(profile_dir, flags, mobile_emulation: dict | None = None):
    """Headless Debian Chromium driven by chromedriver (selenium); fails, never skips, when
    either is missing (``scripts/setup_env.sh`` installs them as root)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:  # pragma: no cover - see requirements.txt
        pytest.fail("selenium is required (pip install selenium)", pytrace=False)
    binary, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not binary or not driver_path:
        pytest.fail("chromium and chromium-driver are required (scripts/setup_env.sh installs "
                    "them as root)", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in flags:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    if mobile_emulation:
        options.add_experimental_option("mobileEmulation", mobile_emulation)
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.set_page_load_timeout(30)
    return driver
