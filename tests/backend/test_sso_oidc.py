"""OIDC single sign-on against a fake provider: code + PKCE, strict ID-token verification."""
from __future__ import annotations

import urllib.parse

import httpx
import pytest

from backend.models.admin import Session
from backend.models.audit import AuditEntry
from backend.services import sso_oidc
from tests.backend.org_testkit import ORG_TENANT_ID, bearer


def login(server: str, tenant_id: str = ORG_TENANT_ID) -> tuple[httpx.Response, dict]:
    """Drive the browser: our /sso/oidc/login -> provider /authorize -> our callback."""
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        start = browser.get(f"{server}/sso/oidc/login", params={"tenant": tenant_id})
        assert start.status_code == 302, start.text
        authorize = start.headers["location"]
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize).query))
        at_provider = browser.get(authorize)
        assert at_provider.status_code == 302, at_provider.text
        return browser.get(at_provider.headers["location"]), params


async def test_code_flow_with_pkce_opens_a_session(org_server, oidc, pushed_org):
    oidc.next_subject = "E0004"
    answer, params = login(org_server)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["via"] == "oidc" and body["user"]["push_id"] == "E0004"
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert params["nonce"] and params["state"] and params["scope"] == "openid profile"
    assert params["redirect_uri"].endswith("/sso/oidc/callback")
    token_call = [r for r in oidc.requests if r.path == "/token"][-1].form()
    assert 43 <= len(token_call["code_verifier"]) <= 128  # the verifier went to the provider only
    assert token_call["code_verifier"] not in str(params)
    me = httpx.get(f"{org_server}/sso/session", headers=bearer(body))
    assert me.status_code == 200 and me.json()["session"]["via"] == "oidc"
    assert await Session.filter(via="oidc").count() == 1


@pytest.mark.parametrize("tamper, reason", [
    ("wrong_nonce", "nonce"), ("wrong_aud", "aud"), ("wrong_iss", "issuer"),
    ("expired", "expired"), ("bad_signature", "signature"), ("alg_none", "'none'"),
    ("alg_hs256", "'HS256'"), ("unknown_kid", "no key"),
])
async def test_bad_id_tokens_are_refused(org_server, oidc, pushed_org, tamper, reason):
    oidc.tamper = tamper
    answer, _ = login(org_server)
    assert answer.status_code == 401, answer.text
    assert answer.json()["code"] == "ID_TOKEN_INVALID" and reason in answer.json()["message"]
    assert not await Session.exists()
    refused = await AuditEntry.filter(action="session.open", result="refused").first()
    assert refused is not None and refused.details["via"] == "oidc"


def test_state_is_single_use_and_must_exist(org_server, oidc, pushed_org):
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        start = browser.get(f"{org_server}/sso/oidc/login", params={"tenant": ORG_TENANT_ID})
        callback = browser.get(start.headers["location"]).headers["location"]
        assert browser.get(callback).status_code == 201
        again = browser.get(callback)
        assert again.status_code == 400 and again.json()["code"] == "OIDC_STATE_INVALID"
        forged = browser.get(f"{org_server}/sso/oidc/callback",
                             params={"code": "x", "state": "made-up"})
        assert forged.json()["code"] == "OIDC_STATE_INVALID"
        denied = browser.get(f"{org_server}/sso/oidc/callback",
                             params={"error": "access_denied", "state": "s"})
        assert denied.status_code == 401 and denied.json()["code"] == "OIDC_LOGIN_DENIED"


def test_unknown_subjects_and_tenants_are_refused(org_server, oidc, pushed_org):
    oidc.next_subject = "E9999"
    answer, _ = login(org_server)
    assert answer.status_code == 401 and answer.json()["code"] == "SSO_USER_UNKNOWN"
    unknown = httpx.get(f"{org_server}/sso/oidc/login",
                        params={"tenant": "00000000-0000-4000-8000-000000000000"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "TENANT_NOT_FOUND"


def test_the_verifier_refuses_malformed_tokens(oidc):
    jwks = oidc.jwks()
    kwargs = {"issuer": oidc.issuer, "client_id": oidc.client_id, "nonce": "n"}
    good = oidc.id_token("E1", "n")
    assert sso_oidc.verify_id_token(good, jwks, **kwargs)["sub"] == "E1"
    for token in ("", "a.b", "a.b.c.d", good + "x", good.replace(".", ".=", 1),
                  "e30.e30.", "W10.e30.c2ln"):
        with pytest.raises(sso_oidc.IdTokenInvalid):
            sso_oidc.verify_id_token(token, jwks, **kwargs)
    with pytest.raises(sso_oidc.IdTokenInvalid, match="nonce"):
        sso_oidc.verify_id_token(good, jwks, **{**kwargs, "nonce": "other"})
    with pytest.raises(sso_oidc.IdTokenInvalid, match="expired"):
        sso_oidc.verify_id_token(good, jwks, **kwargs, now=10**11)


def test_return_to_is_a_local_path_handed_back(org_server, oidc, pushed_org):
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        start = browser.get(f"{org_server}/sso/oidc/login",
                            params={"tenant": ORG_TENANT_ID, "return_to": "/console/seals?x=1"})
        callback = browser.get(start.headers["location"]).headers["location"]
        assert browser.get(callback).json()["return_to"] == "/console/seals?x=1"
        for evil in ("https://evil.example.com/", "//evil.example.com", "/\\evil.example.com"):
            refused = browser.get(f"{org_server}/sso/oidc/login",
                                  params={"tenant": ORG_TENANT_ID, "return_to": evil})
            assert refused.status_code == 400 and refused.json()["code"] == "RETURN_TO_INVALID"


async def test_unknown_kids_refetch_the_jwks_at_most_every_30_seconds(oidc, monkeypatch):
    monkeypatch.setattr(sso_oidc, "_jwks", {})
    uri = f"{oidc.url}/jwks"
    async with httpx.AsyncClient() as client:
        await sso_oidc.provider_jwks(client, uri)
        for _ in range(5):
            await sso_oidc.provider_jwks(client, uri, refresh=True)
        assert len([r for r in oidc.requests if r.path == "/jwks"]) == 1
        stamp, keys = sso_oidc._jwks[uri]
        sso_oidc._jwks[uri] = (stamp - 31, keys)  # fetched 31 s ago
        await sso_oidc.provider_jwks(client, uri, refresh=True)
        assert len([r for r in oidc.requests if r.path == "/jwks"]) == 2
