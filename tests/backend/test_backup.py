"""Backup and disaster recovery drill: data made through the API (a seal applied to a PDF, kept in the file store; a document generated
from a template; a message; the audit entries they leave), backed up with
``python -m backend.ops``, restored onto an empty system (a new PostgreSQL database and an empty
DATA_DIR), and checked: every row, the SESeal and certificate bytes, stored files, the key store,
the signed PDF, the audit chain; the restored system serves and signs again. Tampering and a
wrong key are refused. The shared ``test`` database is only read (and refused as a target)."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import uuid

import asyncpg
import pytest

from tests.backend.test_seals import COMPANY, OP, active_seal, apply, blank_pdf_with, grant
from tests.backend.test_seals import security_admins  # noqa: F401 - fixture (seal admins)
from tests.backend.files_testkit import OP as FILES_OP
from tests.backend.files_testkit import fill, import_examples
from tests.conftest import ROOT, start_server, stop_server


def ops(env: dict[str, str], *args: str) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, "-m", "backend.ops", *args], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    return done.returncode, json.loads(lines[-1])


def url_for(base_url: str, database: str) -> str:
    return base_url.rsplit("/", 1)[0] + "/" + database


async def table_rows(url: str) -> dict[str, list]:
    """Every row of every table, ordered, as comparable tuples (bytes included)."""
    conn = await asyncpg.connect(url)
    try:
        tables = [r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
        return {t: sorted((tuple(r.values()) for r in await conn.fetch(f'SELECT * FROM "{t}"')),
                          key=repr) for t in tables}
    finally:
        await conn.close()


def tree(directory: pathlib.Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*"))
            if p.is_file() and p.name != ".lock"}


@pytest.fixture
async def empty_database(test_env):
    """A brand-new, empty PostgreSQL database on the same server (the 'empty system')."""
    name = f"restore_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(test_env["DATABASE_URL"])
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url_for(test_env["DATABASE_URL"], name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_backup_wipe_restore_drill(api, server, tenant, runtime, test_env, empty_database,
                                         tmp_path):
    from backend.models.audit import AuditEntry
    from sign.verify import verify

    # -- data made through the API: certificates, a seal applied to a PDF, a message, audit
    bound = api.post("/api/v1/certificates", {"company_name": COMPANY, "algorithm": "dual"},
                     headers=OP)
    assert bound.status_code == 201, bound.text
    seal = active_seal(api)
    grant(api, seal["id"])
    sealed = apply(api, seal["id"], blank_pdf_with("Insurer seal"))
    assert sealed.status_code == 201, sealed.text
    signed = base64.b64decode(sealed.json()["pdf_base64"])
    message = api.post("/api/v1/messages", {
        "channel": "sms", "recipient": "13800138000", "template": "SIGN_LINK",
        "params": {"name": "张三", "doc_title": "投保单", "url": "https://e.example.com/s/x"}})
    assert message.status_code == 202, message.text
    import_examples(api)  # a document generated from a template, in the file centre
    document = fill(api, "receipt", business_no="DR-0001")
    document_pdf = api.get(f"/api/v1/documents/{document['id']}/current", headers=FILES_OP).content
    assert hashlib.sha256(document_pdf).hexdigest() == document["current"]["sha256"]
    from backend.services import file_store

    await file_store.put(runtime, signed)  # the sealed PDF in the file store too
    data_dir = pathlib.Path(test_env["DATA_DIR"])
    audit_count = await AuditEntry.all().count()
    assert audit_count >= 5
    source_rows = await table_rows(test_env["DATABASE_URL"])
    source_keys, source_files = tree(data_dir / "pki"), tree(data_dir / "files")

    # -- back up, verify
    backup_dir = tmp_path / "backup"
    code, report = ops(test_env, "backup", str(backup_dir))
    assert code == 0 and report["ok"], report
    assert sorted(p.name for p in backup_dir.iterdir()) == \
        ["database.enc", "files.enc", "keys.enc", "manifest.json"]
    assert signed not in (backup_dir / "files.enc").read_bytes()  # encrypted
    assert b"BEGIN" not in (backup_dir / "keys.enc").read_bytes()
    code, report = ops(test_env, "verify", str(backup_dir))
    assert code == 0 and report["ok"], report

    # -- the live system is not an empty target
    code, report = ops(test_env, "restore", str(backup_dir))
    assert code == 1 and "not empty" in report["error"]

    # -- restore onto an empty system: a new database and an empty DATA_DIR
    target_env = {**test_env, "DATABASE_URL": empty_database,
                  "DATA_DIR": str(tmp_path / "restored-data")}
    code, report = ops(target_env, "restore", str(backup_dir))
    assert code == 0 and report["ok"], report
    assert report["audit_chain"]["ok"] and report["audit_chain"]["entries"] == audit_count
    assert report["tables_mismatched"] == {} and report["audit_head_matches"]

    restored_rows = await table_rows(empty_database)
    assert restored_rows.keys() == source_rows.keys()
    for table, rows in source_rows.items():
        assert restored_rows[table] == rows, table
    restored_dir = tmp_path / "restored-data"
    assert tree(restored_dir / "pki") == source_keys
    assert tree(restored_dir / "files") == source_files

    conn = await asyncpg.connect(empty_database)
    try:
        seseal = await conn.fetchval("SELECT seseal_der FROM seal WHERE id = $1",
                                     uuid.UUID(seal["id"]))
        applied = await conn.fetchval(
            "SELECT details FROM audit_entry WHERE action = 'seal.applied'")
    finally:
        await conn.close()
    assert seseal == api.get(f"/api/v1/seals/{seal['id']}/seseal").content
    assert json.loads(applied)["sha256"] == hashlib.sha256(signed).hexdigest()
    from backend.runtime import Runtime
    from backend.settings import Settings

    restored_store = Runtime.from_settings(Settings.from_env(target_env)).storage()
    assert restored_store.get(document["current"]["sha256"]) == document_pdf
    restored_pdf = restored_store.get(hashlib.sha256(signed).hexdigest())
    assert hashlib.sha256(restored_pdf).digest() == hashlib.sha256(signed).digest()
    assert all(s.intact and s.crypto_valid for s in verify(restored_pdf).signatures)

    # -- the restored system serves: the tenant's secret, the seal and the company keys work
    from backend.client import ApiClient

    proc, base_url = start_server(target_env, tmp_path / "restored-server.log")
    try:
        with ApiClient(base_url, tenant.app_key, tenant.app_secret) as restored:
            assert restored.get(f"/api/v1/seals/{seal['id']}").json()["status"] == "active"
            served = restored.get(f"/api/v1/documents/{document['id']}/current", headers=FILES_OP)
            assert served.status_code == 200 and served.content == document_pdf
            again = apply(restored, seal["id"], blank_pdf_with("Insurer seal"),
                          document_ref="policy-002")
            assert again.status_code == 201, again.text
            report = verify(base64.b64decode(again.json()["pdf_base64"]))
            assert [s.algorithm for s in report.signatures] == ["sm2", "rsa"]
            assert all(s.intact and s.crypto_valid for s in report.signatures)
    finally:
        stop_server(proc)

    # -- a non-empty target needs --force, which replaces it
    code, report = ops(target_env, "restore", str(backup_dir))
    assert code == 1 and "not empty" in report["error"]
    code, report = ops(target_env, "restore", str(backup_dir), "--force")
    assert code == 0 and report["ok"] and report["audit_chain"]["entries"] == audit_count
    assert await table_rows(empty_database) == source_rows


def _copy(src: pathlib.Path, dst: pathlib.Path) -> pathlib.Path:
    dst.mkdir()
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


async def test_tampering_and_a_wrong_key_are_detected(tenant, test_env, tmp_path):
    backup_dir = tmp_path / "backup"
    code, report = ops(test_env, "backup", str(backup_dir))
    assert code == 0, report

    flipped = _copy(backup_dir, tmp_path / "flipped")
    data = bytearray((flipped / "database.enc").read_bytes())
    data[len(data) // 2] ^= 0x01
    (flipped / "database.enc").write_bytes(bytes(data))
    code, report = ops(test_env, "verify", str(flipped))
    assert code == 1 and "database: checksum mismatch" in report["error"]

    forged = _copy(flipped, tmp_path / "forged")  # checksum "fixed" in the manifest too
    manifest = json.loads((forged / "manifest.json").read_text())
    manifest["parts"]["database"]["encrypted_sha256"] = \
        hashlib.sha256((forged / "database.enc").read_bytes()).hexdigest()
    (forged / "manifest.json").write_text(json.dumps(manifest))
    code, report = ops(test_env, "verify", str(forged))
    assert code == 1 and "manifest.json was altered" in report["error"]

    code, report = ops({**test_env, "BACKUP_KEY": "0f" * 16}, "verify", str(backup_dir))
    assert code == 1 and "wrong backup key" in report["error"]
    code, report = ops({**test_env, "BACKUP_KEY": "0f" * 16, "DATABASE_URL": "postgres://x@127.0.0.1:1/none"},
                       "restore", str(backup_dir), "--force")
    assert code == 1 and "wrong backup key" in report["error"]

    missing = _copy(backup_dir, tmp_path / "missing")
    (missing / "keys.enc").unlink()
    code, report = ops(test_env, "verify", str(missing))
    assert code == 1 and "keys.enc is missing" in report["error"]


def test_chunks_cannot_be_cut_off_reordered_or_moved(monkeypatch):
    import io

    from backend import ops as backup_ops

    monkeypatch.setattr(backup_ops, "CHUNK", 1000)
    key, data = bytes(range(16)), os.urandom(3500)
    sealed = io.BytesIO()
    info = backup_ops.encrypt_stream(key, "files", io.BytesIO(data), sealed)
    assert info["size"] == 3500 and info["sha256"] == hashlib.sha256(data).hexdigest()
    blob = sealed.getvalue()

    def read(blob: bytes, part: str = "files") -> bytes:
        return b"".join(backup_ops.decrypt_chunks(key, part, io.BufferedReader(io.BytesIO(blob))))

    assert read(blob) == data
    record = 4 + 12 + 1000 + 16
    head = len(backup_ops.MAGIC)
    with pytest.raises(backup_ops.BackupError, match="does not decrypt"):
        read(blob[:head + 2 * record])  # the last chunks cut off
    with pytest.raises(backup_ops.BackupError, match="does not decrypt"):
        read(blob[:head] + blob[head + record:head + 2 * record] + blob[head:head + record]
             + blob[head + 2 * record:])  # two chunks swapped
    with pytest.raises(backup_ops.BackupError, match="does not decrypt"):
        read(blob, part="keys")  # a part renamed
    with pytest.raises(backup_ops.BackupError, match="does not decrypt"):
        list(backup_ops.decrypt_chunks(bytes(16), "files", io.BufferedReader(io.BytesIO(blob))))


def test_sqlite_deployments_back_up_and_restore_too(tmp_path):
    env = {"ENV": "development", "DATABASE_URL": f"sqlite://{tmp_path}/src/app.sqlite3",
           "DATA_DIR": str(tmp_path / "src"), "REDIS_URL": "", "LOG_LEVEL": "WARNING",
           "DATA_KEYS": "k1:00112233445566778899aabbccddeeff"}
    subprocess.run([sys.executable, "-m", "backend.admin", "migrate"], cwd=ROOT, check=True,
                   env={**os.environ, **env}, capture_output=True)
    subprocess.run([sys.executable, "-m", "backend.admin", "create-tenant", "某某人寿"], cwd=ROOT,
                   check=True, env={**os.environ, **env}, capture_output=True)
    code, report = ops(env, "backup", str(tmp_path / "bk"))
    assert code == 0 and report["rows"] >= 2, report
    target = {**env, "DATABASE_URL": f"sqlite://{tmp_path}/dst/app.sqlite3",
              "DATA_DIR": str(tmp_path / "dst")}
    code, report = ops(target, "restore", str(tmp_path / "bk"))
    assert code == 0 and report["ok"] and report["audit_chain"]["entries"] >= 1, report


async def test_object_storage_blobs_are_backed_up_and_restored(tenant, test_env, empty_database,
                                                               tmp_path):
    """With STORAGE_URL=s3://..., the blobs the database refers to travel in the backup set and
    are written back through the target's store (here another prefix, encrypted at rest)."""
    from backend.client import ApiClient
    from tests.documents.fake_s3 import FakeS3

    with FakeS3() as s3:
        source_env = {**test_env, "S3_ACCESS_KEY": s3.access_key, "S3_SECRET_KEY": s3.secret_key,
                      "STORAGE_URL": f"s3://docs?endpoint={s3.endpoint}&region={s3.region}&prefix=src/",
                      "STORAGE_ENCRYPT": "true"}
        proc, base_url = start_server(source_env, tmp_path / "s3-source.log")
        try:
            with ApiClient(base_url, tenant.app_key, tenant.app_secret) as api:
                import_examples(api)
                document = fill(api, "receipt", business_no="S3-0001")
                pdf = api.get(f"/api/v1/documents/{document['id']}/current", headers=FILES_OP).content
        finally:
            stop_server(proc)
        code, report = ops(source_env, "backup", str(tmp_path / "backup"))
        assert code == 0, report
        manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
        assert manifest["files_source"] == "blobs" and manifest["blob_count"] >= 2
        assert document["current"]["sha256"] not in json.dumps(manifest)

        target_env = {**source_env, "DATABASE_URL": empty_database,
                      "DATA_DIR": str(tmp_path / "restored-data"),
                      "STORAGE_URL": f"s3://docs?endpoint={s3.endpoint}&region={s3.region}&prefix=dst/"}
        code, report = ops(target_env, "restore", str(tmp_path / "backup"))
        assert code == 0 and report["ok"], report
        restored_keys = [k for k in s3.buckets["docs"] if k.startswith("dst/")]
        assert len(restored_keys) == manifest["blob_count"]
        proc, base_url = start_server(target_env, tmp_path / "s3-target.log")
        try:
            with ApiClient(base_url, tenant.app_key, tenant.app_secret) as api:
                served = api.get(f"/api/v1/documents/{document['id']}/current", headers=FILES_OP)
                assert served.status_code == 200 and served.content == pdf
        finally:
            stop_server(proc)
