"""Seals and grants follow unit changes: listeners get every change inside the sync."""
from __future__ import annotations

import pytest

from backend.models.org import SyncRun, Unit
from backend.models.tenant import Tenant
from backend.services import org_events
from backend.services.sync_org import Snapshot, UnitIn, run_sync

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
