"""Business API authentication: app key + HMAC-SHA256 signature, clock skew, nonce replay."""
from __future__ import annotations

import datetime
import time

import httpx
import pytest

from backend.models.callback import CallbackEndpoint
from backend.models.tenant import Tenant
from backend.signing_scheme import signed_headers

NEW_CALLBACK = {"url": "https://crm.example.com/hook", "events": ["envelope.completed"]}


def raw(server: str, method: str, path: str, headers: dict, body: bytes = b"",
        query: str = "") -> httpx.Response:
    url = f"{server}{path}" + (f"?{query}" if query else "")
    return httpx.request(method, url, headers={"Content-Type": "application/json", **headers},
                         content=body)


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert body["message"] and body["request_id"]


def test_whoami_returns_the_calling_tenant(api, tenant):
    response = api.get("/api/v1/whoami")
    assert response.status_code == 200
    assert response.json() == {"tenant_id": tenant.tenant_id, "name": "测试人寿保险股份有限公司",
                               "app_key": tenant.app_key}


def test_query_parameters_are_part_of_the_signature(api):
    assert api.get("/api/v1/callbacks", params={"limit": "5", "offset": "0"}).status_code == 200


def test_missing_headers_are_rejected(server):
    assert_error(httpx.get(f"{server}/api/v1/whoami"), 401, "AUTH_HEADERS_MISSING")


def test_unknown_app_key_is_rejected(server, tenant):
    headers = signed_headers("ak_unknown", tenant.app_secret, "GET", "/api/v1/whoami")
    assert_error(raw(server, "GET", "/api/v1/whoami", headers), 401, "UNKNOWN_APP_KEY")


def test_wrong_secret_is_rejected(server, tenant):
    headers = signed_headers(tenant.app_key, "not-the-secret", "GET", "/api/v1/whoami")
    assert_error(raw(server, "GET", "/api/v1/whoami", headers), 401, "BAD_SIGNATURE")


# 10 s past the 300 s skew: X-Timestamp is whole seconds (int() drops up to 1 s), and the
# request reaches the server a moment later; 301 ahead was accepted once in a loaded run
@pytest.mark.parametrize("offset", [-310, 310, -100000])
def test_timestamp_outside_the_skew_is_rejected(server, tenant, offset):
    headers = signed_headers(tenant.app_key, tenant.app_secret, "GET", "/api/v1/whoami",
                             timestamp=int(time.time()) + offset)
    assert_error(raw(server, "GET", "/api/v1/whoami", headers), 401, "TIMESTAMP_OUT_OF_RANGE")


def test_timestamp_within_the_skew_is_accepted(server, tenant):
    headers = signed_headers(tenant.app_key, tenant.app_secret, "GET", "/api/v1/whoami",
                             timestamp=int(time.time()) - 250)
    assert raw(server, "GET", "/api/v1/whoami", headers).status_code == 200


def test_a_replayed_nonce_is_rejected(server, tenant):
    headers = signed_headers(tenant.app_key, tenant.app_secret, "GET", "/api/v1/whoami")
    assert raw(server, "GET", "/api/v1/whoami", headers).status_code == 200
    assert_error(raw(server, "GET", "/api/v1/whoami", headers), 401, "NONCE_REPLAYED")


@pytest.mark.parametrize("tamper", ["body", "path", "query", "method"])
def test_any_change_to_a_signed_request_breaks_the_signature(server, tenant, tamper):
    body = b'{"url":"https://a.example.com/h","events":["envelope.sent"]}'
    headers = signed_headers(tenant.app_key, tenant.app_secret, "POST", "/api/v1/callbacks",
                             "limit=1", body)
    method, path, query = "POST", "/api/v1/callbacks", "limit=1"
    if tamper == "body":
        body = body.replace(b"a.example", b"evil.example")
    elif tamper == "path":
        path = "/api/v1/callbacks/"
    elif tamper == "query":
        query = "limit=2"
    else:
        method = "PUT"
    response = raw(server, method, path, headers, body, query)
    assert response.status_code in (401, 405)
    if response.status_code == 401:
        assert response.json()["code"] == "BAD_SIGNATURE"


async def test_failed_authentication_changes_nothing(server, tenant):
    before = (await Tenant.all().count(), await CallbackEndpoint.all().count())
    headers = signed_headers(tenant.app_key, "wrong", "POST", "/api/v1/callbacks",
                             body=b'{"url":"https://a.example.com/h","events":["envelope.sent"]}')
    response = raw(server, "POST", "/api/v1/callbacks", headers,
                   b'{"url":"https://a.example.com/h","events":["envelope.sent"]}')
    assert_error(response, 401, "BAD_SIGNATURE")
    assert (await Tenant.all().count(), await CallbackEndpoint.all().count()) == before


async def test_a_disabled_tenant_is_refused(server, api, tenant):
    await Tenant.filter(id=tenant.tenant_id).update(
        disabled_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc))
    assert_error(api.get("/api/v1/whoami"), 403, "TENANT_DISABLED")


def test_repeated_failures_are_rate_limited(server, tenant):
    codes = []
    for _ in range(32):
        headers = signed_headers(tenant.app_key, "wrong", "GET", "/api/v1/whoami")
        codes.append(raw(server, "GET", "/api/v1/whoami", headers).json()["code"])
    assert codes[:30] == ["BAD_SIGNATURE"] * 30
    assert codes[-1] == "AUTH_RATE_LIMITED"


async def test_secret_at_rest_is_sm4_ciphertext(tenant, runtime):
    row = await Tenant.get(id=tenant.tenant_id)
    assert tenant.app_secret not in row.app_secret_enc
    assert row.app_secret_enc.startswith("sm4g1:t1:")
    assert runtime.cipher.decrypt(row.app_secret_enc, "tenant.app_secret") == tenant.app_secret


def test_every_business_route_requires_authentication(test_settings):
    from app import create_app

    app = create_app(test_settings)
    business = [r for r in app.router.routes if is_business(r.path)]
    assert business, "no /api/v1 routes found"
    for route in business:
        assert getattr(route.handler, "__authenticated__", False), route.path


def is_business(path: str) -> bool:
    """Business-system routes (HMAC-signed); the admin console and SSO log-in have their own."""
    return path.startswith("api/v1") and not path.startswith(("api/v1/admin", "api/v1/sso"))


def business_routes(test_settings) -> list[tuple[str, str]]:
    """(method, concrete path) for every /api/v1 route, path parameters filled with a uuid."""
    import re as _re

    from app import create_app

    app = create_app(test_settings)
    found = []
    for route in app.router.routes:
        if not is_business(route.path):
            continue
        path = "/" + _re.sub(r"<[^>]+>", "6b1c1a3e-0000-4000-8000-000000000000", route.path)
        found += [(method, path) for method in sorted(route.methods) if method != "OPTIONS"]
    return found


async def test_every_business_route_refuses_bad_signatures_and_stale_timestamps(
        server, tenant, test_settings):
    from backend.models.audit import AuditEntry

    import redis

    counters = redis.Redis.from_url(test_settings.redis_url)
    before = await AuditEntry.all().count()
    routes = business_routes(test_settings)
    assert len(routes) >= 10
    for method, path in routes:
        body = b'{"x": 1}' if method in ("POST", "PUT") else b""
        wrong = signed_headers(tenant.app_key, "wrong-secret", method, path, body=body)
        stale = signed_headers(tenant.app_key, tenant.app_secret, method, path, body=body,
                               timestamp=int(time.time()) - 3600)
        for headers, code in ((wrong, "BAD_SIGNATURE"), (stale, "TIMESTAMP_OUT_OF_RANGE"),
                              ({}, "AUTH_HEADERS_MISSING")):
            for key in counters.scan_iter("esign:authfail:*"):  # stay under the throttle
                counters.delete(key)
            response = raw(server, method, path, headers, body)
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["code"] == code, (method, path)
    assert await AuditEntry.all().count() == before
