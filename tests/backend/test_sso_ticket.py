"""Signed-ticket single sign-on for in-house systems: signature, expiry, one-time use."""
from __future__ import annotations

import base64
import json
import time

import httpx
import pytest

from backend.models.admin import Session, UsedTicket
from backend.models.audit import AuditEntry
from backend.services.sso_ticket import sign_hs256
from tests.backend.org_testkit import bearer, make_ticket


def post_ticket(server, ticket: str) -> httpx.Response:
    return httpx.post(f"{server}/sso/ticket", json={"ticket": ticket})


async def test_a_valid_ticket_opens_a_session(org_server, org_tenant, pushed_org):
    answer = post_ticket(org_server, make_ticket(org_tenant, "E0004"))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["token"].startswith("ses_") and body["token_type"] == "Bearer"
    assert body["via"] == "ticket" and body["user"]["push_id"] == "E0004"
    assert body["admin_role"] is None
    row = await Session.get(id=body["session_id"])
    assert row.token_hash != body["token"] and body["token"] not in row.token_hash
    me = httpx.get(f"{org_server}/sso/session", headers=bearer(body))
    assert me.status_code == 200 and me.json()["user"]["name"] == "业务员丁"
    assert await AuditEntry.filter(action="session.open", result="ok").count() == 1


async def test_a_ticket_is_accepted_once(org_server, org_tenant, pushed_org):
    ticket = make_ticket(org_tenant, "E0004", jti="crm-login-000001")
    assert post_ticket(org_server, ticket).status_code == 201
    replay = post_ticket(org_server, ticket)
    assert replay.status_code == 401 and replay.json()["code"] == "TICKET_REPLAYED"
    assert await UsedTicket.filter().count() == 1 and await Session.filter().count() == 1
    assert await AuditEntry.filter(action="session.open", result="refused").count() == 1


def test_expired_and_too_long_lived_tickets_are_refused(org_server, org_tenant, pushed_org):
    expired = post_ticket(org_server, make_ticket(org_tenant, "E0004", exp_in=-1))
    assert expired.status_code == 401 and expired.json()["code"] == "TICKET_EXPIRED"
    long_lived = post_ticket(org_server, make_ticket(org_tenant, "E0004", exp_in=3600))
    assert long_lived.status_code == 401 and long_lived.json()["code"] == "TICKET_INVALID"


@pytest.mark.parametrize("forge", ["wrong_secret", "edited_payload", "alg_none", "no_dot",
                                   "garbage", "other_tenant_key"])
def test_forged_tickets_are_refused(org_server, org_tenant, pushed_org, forge):
    good = make_ticket(org_tenant, "E0004")
    head, sig = good.split(".")
    payload = json.loads(base64.urlsafe_b64decode(head + "=="))
    ticket = {
        "wrong_secret": make_ticket(org_tenant, "E0004", secret="not-the-secret"),
        "edited_payload": base64.urlsafe_b64encode(json.dumps(
            {**payload, "sub": "E0001"}).encode()).rstrip(b"=").decode() + "." + sig,
        "alg_none": base64.urlsafe_b64encode(json.dumps(
            {**payload, "alg": "none"}).encode()).rstrip(b"=").decode() + ".",
        "no_dot": head,
        "garbage": "%%%.@@@",
        "other_tenant_key": sign_hs256({**payload, "iss": "ak_unknown"}, org_tenant.app_secret),
    }[forge]
    answer = post_ticket(org_server, ticket)
    assert answer.status_code in (401, 422), answer.text
    if answer.status_code == 401:
        assert answer.json()["code"] == "TICKET_INVALID"


def test_unknown_or_disabled_users_get_no_session(org_server, org_tenant, org_api, pushed_org):
    unknown = post_ticket(org_server, make_ticket(org_tenant, "E9999"))
    assert unknown.status_code == 401 and unknown.json()["code"] == "SSO_USER_UNKNOWN"
    org_api.post("/api/v1/org/sync", {"mode": "incremental", "users": [
        {"id": "E0004", "name": "业务员丁", "status": "disabled"}]})
    disabled = post_ticket(org_server, make_ticket(org_tenant, "E0004"))
    assert disabled.status_code == 401 and disabled.json()["code"] == "SSO_USER_UNKNOWN"


async def test_sessions_are_revocable(org_server, org_tenant, org_api, pushed_org, sign_in):
    # 1. logout
    first = sign_in("E0004")
    assert httpx.post(f"{org_server}/sso/logout", headers=bearer(first)).status_code == 200
    gone = httpx.get(f"{org_server}/sso/session", headers=bearer(first))
    assert gone.status_code == 401 and gone.json()["code"] == "SESSION_INVALID"
    # 2. the business system signs the user out everywhere
    second, third = sign_in("E0004"), sign_in("E0004")
    revoked = org_api.delete("/api/v1/org/users/E0004/sessions")
    assert revoked.status_code == 200 and revoked.json()["revoked"] == 2
    for s in (second, third):
        assert httpx.get(f"{org_server}/sso/session", headers=bearer(s)).status_code == 401
    # 3. expiry
    fourth = sign_in("E0004")
    await Session.filter(id=fourth["session_id"]).update(expires_at=_past())
    assert httpx.get(f"{org_server}/sso/session", headers=bearer(fourth)).status_code == 401
    assert await AuditEntry.filter(action="session.revoke").count() == 3


def test_bearer_tokens_are_required_and_checked(org_server):
    assert httpx.get(f"{org_server}/sso/session").json()["code"] == "SESSION_REQUIRED"
    wrong = httpx.get(f"{org_server}/sso/session", headers={"Authorization": "Bearer ses_nope"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "SESSION_INVALID"


def _past():
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)


def test_sm2_tickets(org_settings):
    """SM2 mode: the verification used for tenants listed in SSO_TICKET_SM2_KEYS."""
    from backend.services import sso_ticket
    from sign.crypto.sm2 import SM2PrivateKey

    key = SM2PrivateKey.generate()
    head = base64.urlsafe_b64encode(json.dumps(
        {"iss": "ak_x", "sub": "E1", "exp": int(time.time()) + 60, "jti": "sm2-ticket-1",
         "alg": "SM2"}).encode()).rstrip(b"=").decode()
    sig = base64.urlsafe_b64encode(key.sign(head.encode())).rstrip(b"=").decode()
    payload, h, signature = sso_ticket._decode(f"{head}.{sig}")
    public = key.public_key().to_bytes().hex()
    sso_ticket._verify_signature(payload, h, signature, None, None, public)  # no error
    with pytest.raises(sso_ticket.TicketInvalid):
        sso_ticket._verify_signature(payload, h + "x", signature, None, None, public)
    with pytest.raises(sso_ticket.TicketInvalid):  # HS256 refused for an SM2 tenant
        sso_ticket._verify_signature({**payload, "alg": "HS256"}, h, signature, None, None, public)


async def test_used_tickets_are_purged_after_expiry(org_server, org_tenant, pushed_org):
    import datetime as dt

    from backend.jobs.sync_org import purge_used_tickets

    assert post_ticket(org_server, make_ticket(org_tenant, "E0004")).status_code == 201
    assert await purge_used_tickets({}) == 0  # still replayable: kept
    await UsedTicket.all().update(expires_at=dt.datetime.now(dt.timezone.utc)
                                  - dt.timedelta(hours=1))
    assert await purge_used_tickets({}) == 1


async def test_a_disabled_tenant_s_sessions_stop_working(org_server, org_tenant, pushed_org,
                                                        sign_in):
    import datetime as dt

    from backend.models.tenant import Tenant

    session = sign_in("E0004")
    await Tenant.filter(id=org_tenant.tenant_id).update(disabled_at=dt.datetime.now(dt.timezone.utc))
    answer = httpx.get(f"{org_server}/sso/session", headers=bearer(session))
    assert answer.status_code == 403 and answer.json()["code"] == "TENANT_DISABLED"


def test_a_client_failing_too_often_is_throttled(org_server, org_tenant, pushed_org):
    from backend.services.admin_sessions import MAX_SIGN_IN_FAILURES_PER_MINUTE

    if time.time() % 60 > 50:  # failures are counted per minute: stay inside one
        time.sleep(61 - time.time() % 60)
    forged = make_ticket(org_tenant, "E0004", secret="guess")
    for _ in range(MAX_SIGN_IN_FAILURES_PER_MINUTE):
        assert post_ticket(org_server, forged).status_code == 401
    good = post_ticket(org_server, make_ticket(org_tenant, "E0004"))
    assert good.status_code == 429 and good.json()["code"] == "AUTH_RATE_LIMITED"
