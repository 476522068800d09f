"""Fixtures of the organisation, SSO and admin-console tests: a server wired to a fake OIDC
provider and a fake DingTalk (contacts + login), a tenant with a fixed id (the DingTalk corp's),
and helpers to push an organisation, grant roles and sign in."""
from __future__ import annotations

import pytest

from tests.backend.org_testkit import ORG, ORG_TENANT_ID, make_ticket
from tests.conftest import start_server, stop_server


@pytest.fixture(scope="session")
def org_fakes():
    from tests.fakes.dingtalk_contacts import FakeDingTalkContacts
    from tests.fakes.oidc_provider import FakeOidcProvider

    fakes = {"oidc": FakeOidcProvider().start(), "dingtalk": FakeDingTalkContacts().start()}
    yield fakes
    for fake in fakes.values():
        fake.stop()


@pytest.fixture(scope="session")
def org_env(test_env, org_fakes) -> dict[str, str]:
    oidc, ding = org_fakes["oidc"], org_fakes["dingtalk"]
    return {**test_env, "OIDC_ISSUER": oidc.issuer, "OIDC_CLIENT_ID": oidc.client_id,
            "OIDC_CLIENT_SECRET": oidc.client_secret,
            "DINGTALK_CONTACTS_URL": ding.url, "DINGTALK_CONTACTS_APP_KEY": ding.app_key,
            "DINGTALK_CONTACTS_APP_SECRET": ding.app_secret,
            "DINGTALK_SYNC_TENANT_ID": ORG_TENANT_ID, "SSO_TICKET_MAX_LIFETIME_SECONDS": "120"}


@pytest.fixture(scope="session")
def org_server(prepared_database, org_env, tmp_path_factory):
    """The real app wired to the fake OIDC provider and the fake DingTalk."""
    proc, base_url = start_server(org_env, tmp_path_factory.mktemp("logs") / "org_server.log")
    yield base_url
    stop_server(proc)


@pytest.fixture
def org_settings(org_env):
    from backend.settings import Settings

    return Settings.from_env(org_env)


@pytest.fixture
def org_runtime(org_settings):
    from backend.runtime import Runtime

    return Runtime.from_settings(org_settings)


@pytest.fixture
def oidc(org_fakes):
    org_fakes["oidc"].reset()
    return org_fakes["oidc"]


@pytest.fixture
def dingtalk(org_fakes):
    org_fakes["dingtalk"].reset()
    return org_fakes["dingtalk"]


@pytest.fixture
async def org_tenant(db, runtime):
    """A fresh tenant with the fixed id DINGTALK_SYNC_TENANT_ID names."""
    import secrets

    from backend.models.tenant import Tenant
    from backend.services.create_tenant import NewTenant

    app_key, app_secret = "ak_" + secrets.token_hex(12), secrets.token_urlsafe(32)
    await Tenant.create(id=ORG_TENANT_ID, name="测试人寿保险股份有限公司", app_key=app_key,
                        app_secret_enc=runtime.cipher.encrypt(app_secret, "tenant.app_secret"))
    return NewTenant(ORG_TENANT_ID, app_key, app_secret)


@pytest.fixture
def org_api(org_server, org_tenant):
    from backend.client import ApiClient

    with ApiClient(org_server, org_tenant.app_key, org_tenant.app_secret) as client:
        yield client


@pytest.fixture
def pushed_org(org_api):
    """ORG pushed as a full sync; returns the sync report."""
    response = org_api.post("/api/v1/org/sync", {"mode": "full", **ORG})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def sign_in(org_server, org_tenant):
    """sign_in("E0001") -> the session answer (token, user, role) via a fresh ticket."""
    import httpx

    def run(sub: str) -> dict:
        response = httpx.post(f"{org_server}/sso/ticket",
                              json={"ticket": make_ticket(org_tenant, sub)})
        assert response.status_code == 201, response.text
        return response.json()

    return run


@pytest.fixture
def admins(org_api, pushed_org, sign_in):
    """E0001 system, E0002 security, E0003 audit administrators, E0004 a plain user; each
    signed in: {"system": {"token", "user", ...}, ..., "none": {...}}."""
    for push_id, role in (("E0001", "system"), ("E0002", "security"), ("E0003", "audit")):
        response = org_api.request("PUT", f"/api/v1/org/users/{push_id}/admin-role",
                                   json={"role": role})
        assert response.status_code == 200, response.text
    return {"system": sign_in("E0001"), "security": sign_in("E0002"),
            "audit": sign_in("E0003"), "none": sign_in("E0004")}


# --------------------------------------------------------------------------------------------
# A business system receiving status callbacks (HMAC-checked), shared by the callback tests
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def _receiver():
    from tests.fakes.business_receiver import BusinessReceiver

    receiver = BusinessReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def receiver(_receiver):
    _receiver.reset()
    return _receiver
