"""The operation log is a hash chain: any edited, deleted or reordered row is reported."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
from tortoise import Tortoise

from backend import audit
from backend.models.audit import AuditEntry
from tests.conftest import ROOT


async def make_chain(n: int) -> None:
    for i in range(n):
        await audit.record("seal.use", f"seal:{i}", details={"document": f"保单-{i}"})


async def test_a_fresh_chain_verifies(db):
    await make_chain(5)
    report = await audit.verify_chain()
    assert report.ok and report.entries == 5


async def test_entries_carry_who_what_when_and_from_where(db):
    token = audit.current_context.set(audit.AuditContext(
        actor="app:ak_x", tenant_id=None, ip="10.1.2.3", user_agent="crm/1.0", request_id="r1"))
    try:
        entry = await audit.record("tenant.disable", "tenant:1", result="ok")
    finally:
        audit.current_context.reset(token)
    assert (entry.actor, entry.ip, entry.user_agent, entry.request_id) == \
        ("app:ak_x", "10.1.2.3", "crm/1.0", "r1")
    assert entry.created_at and entry.prev_hash == audit.GENESIS_HASH


async def test_an_edited_row_is_reported(db):
    await make_chain(5)
    await AuditEntry.filter(seq=3).update(target="seal:999")
    report = await audit.verify_chain()
    assert not report.ok and report.broken_at == 3 and "edited" in report.reason


async def test_an_edited_row_with_a_recomputed_hash_breaks_the_next_link(db):
    await make_chain(5)
    row = await AuditEntry.get(seq=3)
    row.target = "seal:999"
    row.hash = audit.chain_hash(row.prev_hash, audit._hashable_fields(row))
    await row.save()
    report = await audit.verify_chain()
    assert not report.ok and report.broken_at == 4


async def test_a_deleted_row_is_reported(db):
    await make_chain(5)
    await AuditEntry.filter(seq=2).delete()
    report = await audit.verify_chain()
    assert not report.ok and report.broken_at == 2 and "deleted" in report.reason


async def test_reordered_rows_are_reported(db):
    await make_chain(5)
    conn = Tortoise.get_connection("default")
    await conn.execute_script(
        "UPDATE audit_entry SET seq = -1 WHERE seq = 2; UPDATE audit_entry SET seq = 2 WHERE seq = 3;"
        " UPDATE audit_entry SET seq = 3 WHERE seq = -1;")
    report = await audit.verify_chain()
    assert not report.ok and report.broken_at == 2 and "reordered" in report.reason


async def test_concurrent_appends_keep_one_chain(db):
    await asyncio.gather(*(audit.record("file.download", f"file:{i}") for i in range(25)))
    report = await audit.verify_chain()
    assert report.ok and report.entries == 25


async def test_an_entry_rolls_back_with_its_transaction(db):
    from tortoise.transactions import in_transaction

    with pytest.raises(RuntimeError):
        async with in_transaction("default"):
            await audit.record("seal.revoke", "seal:1")
            raise RuntimeError("the state change failed")
    assert await AuditEntry.all().count() == 0


@pytest.mark.parametrize("tamper", [False, True])
async def test_the_command_line_verifier(db, test_env, tamper):
    await make_chain(3)
    if tamper:
        await AuditEntry.filter(seq=2).update(actor="someone else")
    result = subprocess.run([sys.executable, "-m", "backend.audit", "verify"], cwd=ROOT,
                            env={**os.environ, **test_env}, capture_output=True, text=True,
                            timeout=60)
    report = json.loads(result.stdout)
    assert result.returncode == (1 if tamper else 0), result.stderr
    assert report["ok"] is (not tamper)
    if tamper:
        assert report["broken_at"] == 2
