"""Three-role separation [三员分立]: one admin role per user, enforced on every admin route."""
from __future__ import annotations

import re
import uuid

import httpx
import pytest

from backend.api.admin import ROUTES
from backend.models.admin import AdminRole, Session
from backend.models.audit import AuditEntry
from backend.models.org import User
from tests.backend.org_testkit import bearer

ROLES = ("system", "security", "audit", "none")


def call(server: str, method: str, path: str, session: dict | None, **kw) -> httpx.Response:
    url = server + re.sub(r"<[a-z_]+:str>", str(uuid.uuid4()), path)
    return httpx.request(method, url, headers=bearer(session) if session else {}, timeout=30,
                         **kw)


def test_the_route_table_covers_every_admin_route():
    assert len(ROUTES) >= 17
    roles = {role for _, _, allowed in ROUTES for role in allowed}
    assert roles == {"system", "security", "audit"}
    audit_only = {path for _, path, allowed in ROUTES if allowed == ("audit",)}
    assert audit_only == {"/api/v1/admin/audit/entries", "/api/v1/admin/audit/export",
                          "/api/v1/admin/audit/verify"}


@pytest.mark.parametrize("method, path, allowed", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_every_admin_route_refuses_the_wrong_roles_and_admits_its_own(
        org_server, admins, method, path, allowed):
    assert call(org_server, method, path, None).json()["code"] == "SESSION_REQUIRED"
    for role in ROLES:
        answer = call(org_server, method, path, admins[role], json={"role": "audit"})
        if role in allowed:
            assert answer.status_code not in (401, 403), (role, answer.text)
        else:
            assert answer.status_code == 403, (role, answer.text)
            assert answer.json()["code"] == "ADMIN_ROLE_REQUIRED", role


async def test_refusals_are_logged(org_server, admins):
    call(org_server, "GET", "/api/v1/admin/audit/entries", admins["system"])
    entry = await AuditEntry.filter(action="admin.access_denied").first()
    user = await User.get(push_id="E0001")
    assert entry.actor == f"user:{user.id}" and entry.result == "refused"
    assert entry.details == {"role": "system", "needs": ["audit"]}


async def test_nobody_holds_two_roles(org_server, org_api, admins):
    second = org_api.request("PUT", "/api/v1/org/users/E0002/admin-role", json={"role": "audit"})
    assert second.status_code == 409 and second.json()["code"] == "ADMIN_ROLE_CONFLICT"
    same = org_api.request("PUT", "/api/v1/org/users/E0002/admin-role",
                           json={"role": "security"})
    assert same.status_code == 200  # granting the held role again changes nothing
    security = await User.get(push_id="E0002")
    assert [r.role for r in await AdminRole.filter(user_id=security.id)] == ["security"]
    # the system administrator cannot either, nor change their own role
    sysadmin = bearer(admins["system"])
    answer = httpx.put(f"{org_server}/api/v1/admin/roles/{security.id}", json={"role": "system"},
                       headers=sysadmin)
    assert answer.status_code == 409 and answer.json()["code"] == "ADMIN_ROLE_CONFLICT"
    own = admins["system"]["user"]["id"]
    answer = httpx.request("DELETE", f"{org_server}/api/v1/admin/roles/{own}", headers=sysadmin)
    assert answer.status_code == 403 and answer.json()["code"] == "OWN_ROLE_CHANGE"
    assert await AuditEntry.filter(action="admin.role.grant", result="refused").count() == 2


async def test_a_role_is_changed_by_revoking_it_first(org_server, admins):
    sysadmin = bearer(admins["system"])
    auditor = admins["audit"]["user"]["id"]
    revoked = httpx.request("DELETE", f"{org_server}/api/v1/admin/roles/{auditor}",
                            headers=sysadmin)
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    # the auditor's sessions ended with the role
    assert httpx.get(f"{org_server}/api/v1/admin/me",
                     headers=bearer(admins["audit"])).status_code == 401
    granted = httpx.put(f"{org_server}/api/v1/admin/roles/{auditor}", json={"role": "security"},
                        headers=sysadmin)
    assert granted.status_code == 200 and granted.json()["role"] == "security"
    roles = httpx.get(f"{org_server}/api/v1/admin/roles", headers=sysadmin).json()["items"]
    assert sorted(r["role"] for r in roles) == ["security", "security", "system"]
    assert await AuditEntry.filter(action="admin.role.revoke").count() == 1


async def test_the_database_refuses_a_second_role_too(org_tenant, pushed_org):
    from tortoise.exceptions import IntegrityError

    user = await User.get(push_id="E0005")
    await AdminRole.create(tenant_id=org_tenant.tenant_id, user=user, role="audit")
    with pytest.raises(IntegrityError):
        await AdminRole.create(tenant_id=org_tenant.tenant_id, user=user, role="system")


async def test_system_administrator_manages_users_and_sessions(org_server, admins):
    sysadmin = bearer(admins["system"])
    users = httpx.get(f"{org_server}/api/v1/admin/users", headers=sysadmin).json()
    assert users["total"] == 5
    clerk = admins["none"]
    sessions = httpx.get(f"{org_server}/api/v1/admin/sessions",
                         params={"user": clerk["user"]["id"], "active": "true"},
                         headers=sysadmin).json()["items"]
    assert [s["id"] for s in sessions] == [clerk["session_id"]]
    revoked = httpx.post(f"{org_server}/api/v1/admin/sessions/{clerk['session_id']}/revoke",
                         headers=sysadmin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert httpx.get(f"{org_server}/sso/session", headers=bearer(clerk)).status_code == 401
    disabled = httpx.post(f"{org_server}/api/v1/admin/users/{clerk['user']['id']}/disable",
                          json={"reason": "离职"}, headers=sysadmin)
    assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"
    assert not await Session.filter(user_id=clerk["user"]["id"], revoked_at=None).exists()


def test_me_shows_the_role(org_server, admins):
    for role in ("system", "security", "audit"):
        me = httpx.get(f"{org_server}/api/v1/admin/me", headers=bearer(admins[role])).json()
        assert me["admin_role"] == role


def test_system_administrator_reads_the_configuration_without_secrets(org_server, admins, oidc):
    answer = httpx.get(f"{org_server}/api/v1/admin/config", headers=bearer(admins["system"]))
    assert answer.status_code == 200
    values = {row["name"]: row["value"] for row in answer.json()["settings"]}
    assert values["OIDC_CLIENT_SECRET"] == "***" and values["OIDC_ISSUER"] == oidc.issuer
    assert values["DATA_KEYS"] == ["t1"] and values["BLIND_INDEX_KEY"] == "***"
    assert oidc.client_secret not in answer.text and "00112233445566778899" not in answer.text
