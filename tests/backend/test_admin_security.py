"""The security administrator's console: seals and grants, acting in their own name."""
from __future__ import annotations

import httpx

from backend.models.audit import AuditEntry
from backend.models.seal import Seal, SealGrant
from tests.backend.org_testkit import ORG_TENANT_ID, bearer, make_grant, make_seal


async def test_seals_are_listed_suspended_and_resumed(org_server, admins):
    security = bearer(admins["security"])
    seal = await make_seal(ORG_TENANT_ID, "BJ", "北京分公司合同专用章")
    await make_seal(ORG_TENANT_ID, "HQ", "总公司公章")
    listed = httpx.get(f"{org_server}/api/v1/admin/seals", params={"unit": "BJ"},
                       headers=security).json()
    assert [s["name"] for s in listed["items"]] == ["北京分公司合同专用章"]
    url = f"{org_server}/api/v1/admin/seals/{seal.id}"
    no_reason = httpx.post(f"{url}/suspend", json={}, headers=security)
    assert no_reason.status_code == 422
    suspended = httpx.post(f"{url}/suspend", json={"reason": "印章保管人变更"}, headers=security)
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    again = httpx.post(f"{url}/suspend", json={"reason": "重复"}, headers=security)
    assert again.status_code == 409
    assert httpx.post(f"{url}/explode", json={"reason": "不存在的操作"},
                      headers=security).status_code == 422
    assert (await Seal.get(id=seal.id)).status == "suspended"
    entry = await AuditEntry.filter(action="seal.suspend").first()
    assert entry.actor == f"user:{admins['security']['user']['id']}"
    resumed = httpx.post(f"{url}/resume", json={"reason": "交接完成"}, headers=security)
    assert resumed.json()["status"] == "active"


async def test_grants_are_listed_and_revoked(org_server, admins):
    security = bearer(admins["security"])
    seal = await make_seal(ORG_TENANT_ID, "HQ", "总公司合同专用章")
    grant = await make_grant(seal, "user", "E0004")
    listed = httpx.get(f"{org_server}/api/v1/admin/seals/{seal.id}/grants",
                       headers=security).json()["items"]
    assert [g["grantee_ref"] for g in listed] == ["E0004"]
    revoked = httpx.post(f"{org_server}/api/v1/admin/grants/{grant.id}/revoke",
                         json={"reason": "岗位调整"}, headers=security)
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert (await SealGrant.get(id=grant.id)).revoked_at is not None
    missing = httpx.get(f"{org_server}/api/v1/admin/seals/{grant.id}/grants", headers=security)
    assert missing.status_code == 404
