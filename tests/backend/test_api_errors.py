"""Bad input gets a 4xx with a stable code in one JSON shape, and changes nothing."""
from __future__ import annotations

import httpx
import pytest

from backend.models.audit import AuditEntry
from backend.models.callback import CallbackEndpoint

GOOD = {"url": "https://crm.example.com/hook", "events": ["envelope.completed"]}


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and body["message"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


async def counts() -> tuple[int, int]:
    return await CallbackEndpoint.all().count(), await AuditEntry.all().count()


async def test_malformed_json(api):
    before = await counts()
    response = api.request("POST", "/api/v1/callbacks", content=b'{"url": ',
                           headers={"Content-Type": "application/json"})
    assert_error(response, 400, "INVALID_JSON")
    assert await counts() == before


@pytest.mark.parametrize("body, field", [
    ({**GOOD, "unexpected": 1}, "unexpected"),
    ({**GOOD, "events": "envelope.completed"}, "events"),
    ({**GOOD, "events": ["no.such.event"]}, "events.0"),
    ({**GOOD, "url": "not a url"}, "url"),
    ({**GOOD, "description": 42}, "description"),
    ({"events": ["envelope.completed"]}, "url"),
])
async def test_wrong_types_unknown_and_missing_fields_are_listed(api, body, field):
    before = await counts()
    details = assert_error(api.post("/api/v1/callbacks", body), 422, "VALIDATION_FAILED")["details"]
    assert field in [d["field"] for d in details]
    assert await counts() == before


async def test_a_body_that_is_not_an_object(api):
    assert_error(api.post("/api/v1/callbacks", [GOOD]), 422, "BODY_NOT_OBJECT")


async def test_a_body_that_is_not_json(api):
    response = api.request("POST", "/api/v1/callbacks", content=b"url=x",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


async def test_an_oversize_body_is_refused_before_anything_runs(api, test_settings):
    before = await counts()
    big = {**GOOD, "description": "x" * (test_settings.max_body_bytes + 1)}
    assert_error(api.post("/api/v1/callbacks", big), 413, "BODY_TOO_LARGE")
    assert await counts() == before


def test_bad_query_parameters(api):
    assert_error(api.get("/api/v1/callbacks", params={"limit": "lots"}), 422, "QUERY_INVALID")
    assert_error(api.get("/api/v1/callbacks", params={"limit": "100000"}), 422, "QUERY_INVALID")


def test_unknown_route_and_method(server, api):
    assert_error(httpx.get(f"{server}/no/such/page"), 404, "NOT_FOUND")
    assert_error(httpx.put(f"{server}/healthz"), 405, "METHOD_NOT_ALLOWED")


def test_unknown_id_and_malformed_id(api):
    assert_error(api.get("/api/v1/callbacks/6b1c1a3e-0000-4000-8000-000000000000"), 404,
                 "CALLBACK_NOT_FOUND")
    assert_error(api.get("/api/v1/callbacks/not-a-uuid"), 404, "CALLBACK_NOT_FOUND")


def test_the_callers_request_id_is_echoed(api):
    response = api.get("/api/v1/callbacks/nope", headers={"X-Request-ID": "trace-123"})
    assert response.json()["request_id"] == "trace-123"
