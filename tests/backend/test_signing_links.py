"""Signing links: unguessable, stored hashed, expiring, revocable, bound to one signer."""
from __future__ import annotations

import datetime as dt
import re

import httpx

from backend.models.audit import AuditEntry
from backend.models.signing_link import SigningLink
from backend.services.signing_links import token_hash

LINK = {"envelope_ref": "env-001", "signer_ref": "policyholder-1", "signer_name": "张三丰"}


def issue(api, **overrides) -> dict:
    response = api.post("/api/v1/signing-links", {**LINK, **overrides})
    assert response.status_code == 201, response.text
    return response.json()


def token_of(url: str) -> str:
    return re.fullmatch(r"https?://[^/]+/s/([A-Za-z0-9_-]+)", url).group(1)


async def test_a_link_is_short_random_and_stored_only_as_a_hash(api):
    created = issue(api)
    token = token_of(created["url"])
    assert len(token) >= 22  # >= 128 bits of url-safe base64
    row = await SigningLink.get(id=created["id"])
    assert row.token_hash == token_hash(token) and token not in row.token_hash
    assert token != token_of(issue(api, signer_ref="insured-1")["url"])


async def test_opening_starts_the_signers_identity_check_without_the_document(api, server):
    created = issue(api)
    with httpx.Client(base_url=server, follow_redirects=False) as browser:
        opened = browser.get(f"/s/{token_of(created['url'])}")
        assert opened.status_code == 302
        assert opened.headers["location"] == f"/h5/links/{created['id']}/start"
        page = browser.get(opened.headers["location"])
    assert page.status_code == 200
    assert "身份核验" in page.text and "张**" in page.text and "张三丰" not in page.text
    assert "data-signer='policyholder-1'" in page.text
    row = await SigningLink.get(id=created["id"])
    assert row.open_count == 1 and row.first_opened_at is not None
    assert await AuditEntry.filter(action="link.open").count() == 1


def test_the_start_page_needs_the_cookie_of_that_link(api, server):
    first, second = issue(api), issue(api, signer_ref="insured-2")
    with httpx.Client(base_url=server) as browser:
        browser.get(f"/s/{token_of(first['url'])}", follow_redirects=False)
        assert browser.get(f"/h5/links/{first['id']}/start").status_code == 200
        other = browser.get(f"/h5/links/{second['id']}/start")
    assert other.status_code == 403 and other.json()["code"] == "H5_SESSION_REQUIRED"
    assert httpx.get(f"{server}/h5/links/{first['id']}/start").status_code == 403


def test_unknown_tokens_are_not_found(server):
    response = httpx.get(f"{server}/s/AAAAAAAAAAAAAAAAAAAAAAAA")
    assert response.status_code == 404 and "LINK_NOT_FOUND" in response.text


async def test_an_expired_link_is_gone(api, server):
    created = issue(api)
    await SigningLink.filter(id=created["id"]).update(
        expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))
    response = httpx.get(f"{server}/s/{token_of(created['url'])}")
    assert response.status_code == 410 and "LINK_EXPIRED" in response.text


def test_a_revoked_link_is_gone(api, server):
    created = issue(api)
    assert api.delete(f"/api/v1/signing-links/{created['id']}").status_code == 200
    response = httpx.get(f"{server}/s/{token_of(created['url'])}")
    assert response.status_code == 410 and "LINK_REVOKED" in response.text


def test_a_new_link_for_the_same_signer_revokes_the_old_one(api, server):
    old, new = issue(api), issue(api)
    assert httpx.get(f"{server}/s/{token_of(old['url'])}").status_code == 410
    assert httpx.get(f"{server}/s/{token_of(new['url'])}", follow_redirects=False).status_code == 302


def test_ttl_is_bounded(api):
    response = api.post("/api/v1/signing-links", {**LINK, "ttl_hours": 0})
    assert response.status_code == 422


def test_other_tenants_cannot_revoke(api, server, other_tenant):
    from backend.client import ApiClient

    created = issue(api)
    with ApiClient(server, other_tenant.app_key, other_tenant.app_secret) as other:
        assert other.delete(f"/api/v1/signing-links/{created['id']}").status_code == 404
        assert other.delete("/api/v1/signing-links/not-a-uuid").status_code == 404
