"""Organisation sync pushed by business systems: full, then incremental; the report counts."""
from __future__ import annotations

import copy

from backend.models.admin import Session
from backend.models.audit import AuditEntry
from backend.models.org import Department, SyncRun, Unit, User
from tests.backend.org_testkit import ORG


def push(api, mode: str, org: dict, **kw):
    response = api.post("/api/v1/org/sync", {"mode": mode, **org}, **kw)
    assert response.status_code == 201, response.text
    return response.json()


async def test_first_full_sync_creates_the_whole_tree(org_api, org_tenant):
    report = push(org_api, "full", ORG)
    assert report["mode"] == "full" and report["status"] == "ok" and report["conflicts"] == []
    assert report["counts"]["units"]["created"] == 4
    assert report["counts"]["departments"]["created"] == 3
    assert report["counts"]["users"]["created"] == 5
    assert (report["created"], report["updated"], report["disabled"]) == (12, 0, 0)
    hd = await Unit.get(tenant_id=org_tenant.tenant_id, push_id="BJ-HD")
    bj = await Unit.get(push_id="BJ")
    assert hd.kind == "sub_branch" and hd.parent_id == bj.id
    user = await User.get(push_id="E0004")
    assert user.unit_id == hd.id and user.status == "active"
    assert user.mobile_masked == "139****0004" and "13900000004" not in (user.mobile_enc or "")
    assert await SyncRun.filter(tenant_id=org_tenant.tenant_id).count() == 1
    assert await AuditEntry.filter(action="org.sync").count() == 1
    assert await AuditEntry.filter(action="org.unit.created").count() == 4


async def test_same_full_sync_again_changes_nothing(org_api):
    push(org_api, "full", ORG)
    report = push(org_api, "full", ORG)
    assert (report["created"], report["updated"], report["disabled"]) == (0, 0, 0)
    assert report["unchanged"] == 12


async def test_full_sync_disables_who_disappeared_and_updates_the_rest(org_api, sign_in):
    push(org_api, "full", ORG)
    session = sign_in("E0005")
    org = copy.deepcopy(ORG)
    org["users"] = [u for u in org["users"] if u["id"] != "E0005"]
    org["users"][0]["name"] = "系统管理员甲（改名）"
    org["units"] = [u for u in org["units"] if u["id"] != "SH"]
    org["units"].append({"id": "GZ", "name": "广州分公司", "kind": "branch", "parent_id": "HQ"})
    report = push(org_api, "full", org)
    assert report["counts"]["users"] == {"created": 0, "updated": 1, "disabled": 1,
                                         "unchanged": 3}
    assert report["counts"]["units"]["created"] == 1 and report["counts"]["units"]["disabled"] == 1
    gone = await User.get(push_id="E0005")
    assert gone.status == "disabled" and gone.disabled_at is not None  # kept, not deleted
    assert (await Unit.get(push_id="SH")).disabled_at is not None
    assert (await Session.get(id=session["session_id"])).revoked_at is not None
    assert await AuditEntry.filter(action="org.user.disable", target=f"user:{gone.id}").exists()
    assert await AuditEntry.filter(action="org.unit.disabled").count() == 1


async def test_incremental_sync_applies_only_what_it_carries(org_api):
    push(org_api, "full", ORG)
    report = push(org_api, "incremental", {
        "units": [{"id": "BJ-CY", "name": "朝阳支公司", "kind": "sub_branch", "parent_id": "BJ"}],
        "users": [
            {"id": "E0004", "name": "业务员丁", "mobile": "13900000004", "unit_id": "BJ-CY"},
            {"id": "E0006", "name": "新员工己", "mobile": "13900000006", "unit_id": "BJ-CY"},
            {"id": "E0002", "name": "安全管理员乙", "status": "disabled"},
        ]})
    assert report["mode"] == "incremental"
    assert report["counts"]["users"] == {"created": 1, "updated": 1, "disabled": 1,
                                         "unchanged": 0}
    assert report["counts"]["units"]["created"] == 1 and report["disabled"] == 1
    # everything the incremental payload did not mention is untouched
    assert await User.filter(status="active").count() == 5  # 5 - E0002 + E0006
    assert (await User.get(push_id="E0001")).status == "active"
    leaver = await User.get(push_id="E0002")
    assert leaver.status == "disabled" and leaver.mobile_masked == "139****0002"  # kept
    moved = await User.get(push_id="E0004")
    assert moved.unit_id == (await Unit.get(push_id="BJ-CY")).id and moved.department_id is None
    # a leaver may name a unit that is gone: still disabled, not a conflict
    gone_unit = push(org_api, "incremental", {"users": [
        {"id": "E0005", "name": "业务员戊", "unit_id": "CLOSED", "status": "disabled"}]})
    assert gone_unit["conflicts"] == [] and gone_unit["disabled"] == 1
    # a disabled user reappearing active is enabled again
    again = push(org_api, "incremental", {"users": [
        {"id": "E0002", "name": "安全管理员乙", "mobile": "13900000002", "unit_id": "HQ",
         "department_id": "D-RISK"}]})
    assert again["counts"]["users"]["updated"] == 1
    assert (await User.get(push_id="E0002")).status == "active"


async def test_conflicts_are_reported_and_skipped(org_api):
    push(org_api, "full", ORG)
    report = push(org_api, "incremental", {
        "units": [
            {"id": "X1", "name": "环一", "kind": "branch", "parent_id": "X2"},
            {"id": "X2", "name": "环二", "kind": "branch", "parent_id": "X1"},
            {"id": "ORPHAN", "name": "孤儿支公司", "kind": "sub_branch", "parent_id": "NOPE"},
            {"id": "HQ2", "name": "第二总部", "kind": "hq", "parent_id": "HQ"},
        ],
        "departments": [{"id": "D-X", "name": "无主部门", "unit_id": "NOPE"}],
        "users": [
            {"id": "E0100", "name": "撞号", "mobile": "13900000001", "unit_id": "HQ"},
            {"id": "E0101", "name": "重复", "unit_id": "HQ"},
            {"id": "E0101", "name": "重复", "unit_id": "HQ"},
            {"id": "E0102", "name": "无部门", "department_id": "D-NOPE"},
        ]})
    reasons = sorted((c["kind"], c["id"], c["reason"]) for c in report["conflicts"])
    assert reasons == [
        ("department", "D-X", "unknown_unit"),
        ("unit", "HQ2", "hq_has_parent"),
        ("unit", "ORPHAN", "unknown_parent"),
        ("unit", "X1", "cycle"), ("unit", "X2", "cycle"),
        ("user", "E0100", "mobile_taken"),
        ("user", "E0101", "duplicate_id"),
        ("user", "E0102", "unknown_department"),
    ]
    assert report["counts"]["users"]["created"] == 1  # the first E0101
    assert not await Unit.filter(push_id__in=["X1", "X2", "ORPHAN", "HQ2"]).exists()
    assert not await Department.filter(push_id="D-X").exists()
    entry = await AuditEntry.filter(action="org.sync").order_by("-seq").first()
    assert entry.result == "conflicts" and entry.details["conflicts"] == 8


async def test_full_sync_keeps_conflicting_items_it_mentions(org_api):
    push(org_api, "full", ORG)
    org = copy.deepcopy(ORG)
    org["units"][3]["parent_id"] = "NOPE"  # SH now points nowhere: reported, not disabled
    report = push(org_api, "full", org)
    assert [c["reason"] for c in report["conflicts"]] == ["unknown_parent"]
    assert (await Unit.get(push_id="SH")).disabled_at is None
    assert report["disabled"] == 0


def test_the_push_honours_idempotency_keys(org_api):
    first = push(org_api, "full", ORG, idempotency_key="org-2026-11-25")
    replay = org_api.post("/api/v1/org/sync", {"mode": "full", **ORG},
                          idempotency_key="org-2026-11-25")
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first["id"]
    other = org_api.post("/api/v1/org/sync", {"mode": "incremental", **ORG},
                         idempotency_key="org-2026-11-25")
    assert other.status_code == 422 and other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_the_push_validates_strictly(org_api):
    bad = org_api.post("/api/v1/org/sync", {"mode": "sometimes", "units": []})
    assert bad.status_code == 422 and bad.json()["code"] == "VALIDATION_FAILED"
    unknown = org_api.post("/api/v1/org/sync", {"mode": "full", "users": [
        {"id": "E1", "name": "x", "salary": 1}]})
    assert unknown.status_code == 422
    kind = org_api.post("/api/v1/org/sync", {"mode": "full", "units": [
        {"id": "U", "name": "x", "kind": "galaxy"}]})
    assert kind.status_code == 422


async def test_reports_and_directory_are_readable_by_the_business_system(org_api):
    report = push(org_api, "full", ORG)
    assert org_api.get(f"/api/v1/org/sync-runs/{report['id']}").json()["id"] == report["id"]
    assert org_api.get("/api/v1/org/sync-runs/not-a-uuid").status_code == 404
    units = org_api.get("/api/v1/org/units").json()
    assert len(units["units"]) == 4 and len(units["departments"]) == 3
    bj = next(u for u in units["units"] if u["push_id"] == "BJ")
    users = org_api.get("/api/v1/org/users", params={"unit": bj["id"]}).json()
    assert [u["push_id"] for u in users["items"]] == ["E0004"]  # the sub-branch's user counts
    assert users["items"][0]["mobile"] == "139****0004"
