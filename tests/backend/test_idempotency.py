"""Idempotency-Key: a retried POST returns the first answer and creates nothing twice."""
from __future__ import annotations

import concurrent.futures

from backend.client import ApiClient
from backend.models.callback import CallbackEndpoint

BODY = {"url": "https://crm.example.com/hook", "events": ["envelope.completed"]}


async def test_a_retry_replays_the_first_answer(api):
    first = api.post("/api/v1/callbacks", BODY, idempotency_key="order-1")
    again = api.post("/api/v1/callbacks", BODY, idempotency_key="order-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await CallbackEndpoint.all().count() == 1


async def test_without_a_key_each_post_creates(api):
    api.post("/api/v1/callbacks", BODY)
    api.post("/api/v1/callbacks", BODY)
    assert await CallbackEndpoint.all().count() == 2


async def test_the_same_key_with_another_body_is_refused(api):
    api.post("/api/v1/callbacks", BODY, idempotency_key="order-2")
    response = api.post("/api/v1/callbacks", {**BODY, "description": "other"},
                        idempotency_key="order-2")
    assert response.status_code == 422
    assert response.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await CallbackEndpoint.all().count() == 1


async def test_keys_are_per_tenant(api, server, other_tenant):
    api.post("/api/v1/callbacks", BODY, idempotency_key="shared-key")
    with ApiClient(server, other_tenant.app_key, other_tenant.app_secret) as other:
        assert other.post("/api/v1/callbacks", BODY, idempotency_key="shared-key").status_code == 201
    assert await CallbackEndpoint.all().count() == 2


async def test_an_invalid_key_is_refused(api):
    response = api.post("/api/v1/callbacks", BODY, idempotency_key="k" * 129)
    assert response.status_code == 400 and response.json()["code"] == "IDEMPOTENCY_KEY_INVALID"
    assert await CallbackEndpoint.all().count() == 0


async def test_a_failed_request_is_not_remembered(api):
    bad = api.post("/api/v1/callbacks", {**BODY, "events": []}, idempotency_key="order-3")
    assert bad.status_code == 422
    assert api.post("/api/v1/callbacks", BODY, idempotency_key="order-3").status_code == 201


async def test_concurrent_retries_create_exactly_one(server, tenant):
    def post(_: int):
        with ApiClient(server, tenant.app_key, tenant.app_secret) as client:
            return client.post("/api/v1/callbacks", BODY, idempotency_key="burst-1")

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(post, range(12)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await CallbackEndpoint.all().count() == 1
