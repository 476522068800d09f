"""POST one callback delivery; 2xx = delivered, anything else is retried with backoff for a
round of ``CALLBACK_MAX_ATTEMPTS`` attempts (with the defaults ~1 h 53 min on average, so an
endpoint down for an hour still gets every event); ``redeliver`` starts another round."""
from __future__ import annotations

import datetime as dt
import time
from typing import Any

import httpx
from tortoise.transactions import in_transaction

from backend.jobs.registry import RetryableJobError, job
from backend.models.callback_delivery import CallbackAttempt, CallbackDelivery
from backend.services.callbacks_outbox import body_of, signature

TIMEOUT_SECONDS = 5.0


@job("deliver_callback")
async def deliver_callback(ctx: dict[str, Any], delivery_id: str) -> str:
    return await deliver(ctx["runtime"], delivery_id)


async def deliver(runtime, delivery_id: str) -> str:
    async with runtime.cache.lock(f"callback:{delivery_id}", ttl=60, wait=30):
        delivery = await CallbackDelivery.get_or_none(id=delivery_id).prefetch_related(
            "event", "endpoint")
        if delivery is None:
            raise RetryableJobError(f"delivery {delivery_id} not visible yet")
        if delivery.status != "pending":
            return delivery.status
        status_code, error, took = await _post(runtime, delivery)
        ok = status_code is not None and 200 <= status_code < 300
        final = ok or (delivery.attempts + 1) % runtime.settings.callback_max_attempts == 0
        await _record(delivery, status_code, error, took, ok=ok, final=final)
        if not final:
            raise RetryableJobError(error or f"HTTP {status_code}")
        return delivery.status


async def _post(runtime, delivery: CallbackDelivery) -> tuple[int | None, str, int]:
    endpoint = delivery.endpoint
    secret = runtime.cipher.decrypt(endpoint.secret_enc, "callback.secret")
    body, timestamp = body_of(delivery.event), str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Esign-Event-Id": str(delivery.event_id),
               "X-Esign-Timestamp": timestamp,
               "X-Esign-Signature": signature(secret, timestamp, body),
               "User-Agent": "esign-callbacks/1"}
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            response = await client.post(endpoint.url, content=body, headers=headers)
        return response.status_code, "" if response.is_success else f"HTTP {response.status_code}", \
            int((time.perf_counter() - started) * 1000)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:300], int((time.perf_counter() - started) * 1000)


async def _record(delivery: CallbackDelivery, status_code: int | None, error: str, took: int, *,
                  ok: bool, final: bool) -> None:
    async with in_transaction("default"):
        delivery.attempts += 1
        await CallbackAttempt.create(delivery=delivery, number=delivery.attempts,
                                     status_code=status_code, error=error, duration_ms=took)
        delivery.last_error = error
        if ok:
            delivery.status, delivery.delivered_at = "delivered", dt.datetime.now(dt.timezone.utc)
        elif final:
            delivery.status = "failed"
        await delivery.save()
