"""Seals and grants follow unit changes: listeners get every change inside the sync."""
from __future__ import annotations

import pytest

from backend.models.org import SyncRun, Unit
from backend.models.tenant import Tenant
from backend.services import org_events
from backend.services.sync_org import Snapshot, UnitIn, run_sync
from tests.backend.org_testkit import make_grant, make_seal

TREE = [UnitIn("HQ", "总公司", "hq"), UnitIn("BJ", "北京分公司", "branch", "HQ"),
        UnitIn("HD", "海淀支公司", "sub_branch", "BJ"), UnitIn("SH", "上海分公司", "branch", "HQ")]


@pytest.fixture
def changes():
    seen: list[org_events.UnitChange] = []

    async def listener(change: org_events.UnitChange) -> None:
        seen.append(change)

    org_events.register_unit_listener(listener)
    yield seen
    org_events.unregister_unit_listener(listener)


async def test_listeners_see_moves_renames_and_disables(org_tenant, runtime, changes):
    tenant = await Tenant.get(id=org_tenant.tenant_id)
    await run_sync(tenant, "push", "full", Snapshot(units=TREE), cipher=runtime.cipher)
    assert [c.change for c in changes] == ["created"] * 4
    changes.clear()
    moved = [TREE[0], TREE[1], TREE[3], UnitIn("HD", "海淀中心支公司", "sub_branch", "SH")]
    run = await run_sync(tenant, "push", "full", Snapshot(units=moved), cipher=runtime.cipher,
                         cache=runtime.cache)
    hd, sh = await Unit.get(push_id="HD"), await Unit.get(push_id="SH")
    assert sorted((c.unit_id, c.change) for c in changes) == sorted([
        (str(hd.id), "renamed"), (str(hd.id), "moved")])
    move = next(c for c in changes if c.change == "moved")
    assert move.details["to"] == str(sh.id) and move.tenant_id == org_tenant.tenant_id
    assert run.counts["units"]["updated"] == 1
    changes.clear()
    await run_sync(tenant, "push", "full", Snapshot(units=moved[:2] + moved[3:]),
                   cipher=runtime.cipher)
    assert [(c.unit_id, c.change) for c in changes] == [(str(sh.id), "disabled")]
    await runtime.close()


async def test_a_failing_listener_rolls_the_sync_back(org_tenant, runtime):
    tenant = await Tenant.get(id=org_tenant.tenant_id)

    async def refuse(change: org_events.UnitChange) -> None:
        raise RuntimeError("seal module refuses")

    org_events.register_unit_listener(refuse)
    try:
        with pytest.raises(RuntimeError):
            await run_sync(tenant, "push", "full", Snapshot(units=TREE), cipher=runtime.cipher)
    finally:
        org_events.unregister_unit_listener(refuse)
    assert not await Unit.exists() and not await SyncRun.exists()


async def test_seals_and_grants_follow_a_disabled_unit_and_user(org_tenant, runtime):
    from backend.models.audit import AuditEntry
    from backend.models.seal import Seal, SealGrant
    from backend.services.sync_org import UserIn

    tenant = await Tenant.get(id=org_tenant.tenant_id)
    users = [UserIn("E1", "甲", unit_id="SH"), UserIn("E2", "乙", unit_id="HQ")]
    await run_sync(tenant, "push", "full", Snapshot(units=TREE, users=users),
                   cipher=runtime.cipher)
    sh = await Unit.get(push_id="SH")
    sh_seal = await make_seal(org_tenant.tenant_id, "SH", "上海分公司合同专用章")
    hq_seal = await make_seal(org_tenant.tenant_id, "HQ", "总公司合同专用章")
    by_uuid = await make_seal(org_tenant.tenant_id, str(sh.id), "上海分公司公章")
    unit_grant = await make_grant(hq_seal, "unit", "SH")
    user_grant = await make_grant(hq_seal, "user", "E1")
    other_grant = await make_grant(hq_seal, "user", "E2")
    # SH disappears from the full snapshot, and so does its user E1
    await run_sync(tenant, "push", "full", Snapshot(units=TREE[:3], users=users[1:]),
                   cipher=runtime.cipher)
    assert (await Seal.get(id=sh_seal.id)).status == "suspended"
    assert (await Seal.get(id=by_uuid.id)).status == "suspended"
    assert (await Seal.get(id=hq_seal.id)).status == "active"
    assert (await SealGrant.get(id=unit_grant.id)).revoked_at is not None
    assert (await SealGrant.get(id=user_grant.id)).revoked_at is not None
    assert (await SealGrant.get(id=other_grant.id)).revoked_at is None
    suspended = await AuditEntry.filter(action="seal.suspend").order_by("seq")
    assert len(suspended) == 2 and suspended[0].actor == "system:org-sync"
    assert await AuditEntry.filter(action="seal.grant.revoke").count() == 2
    await runtime.close()
