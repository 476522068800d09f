"""Status callbacks [状态回调]: events written with the state change, delivered by a job.

``emit`` runs inside the caller's transaction: the event and one delivery per subscribed
endpoint are committed with the change (nothing is announced that did not happen), then a job
per delivery POSTs it. Delivery is at-least-once: the receiver de-duplicates by ``event_id``.

Body: ``{"event_id", "type", "created_at", "data"}``. Headers: ``X-Esign-Event-Id``,
``X-Esign-Timestamp`` (Unix seconds) and ``X-Esign-Signature`` = hex HMAC-SHA256 of
``timestamp + "." + body`` with the endpoint's secret (shown once when it was registered).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from backend.db import bulk_insert
from backend.models.callback import CallbackEndpoint
from backend.models.callback_delivery import CallbackDelivery, CallbackEvent
from backend.models.tenant import Tenant

DELIVER_JOB = "deliver_callback"


async def emit(tenant: Tenant | str, runtime, event_type: str, data: dict[str, Any],
               *, endpoint: CallbackEndpoint | None = None) -> CallbackEvent:
    """Record an event and queue its deliveries (to ``endpoint`` only, when given)."""
    return (await emit_many(tenant, runtime, event_type, [data], endpoint=endpoint))[0]


async def emit_many(tenant: Tenant | str, runtime, event_type: str, items: list[dict[str, Any]],
                    *, endpoint: CallbackEndpoint | None = None) -> list[CallbackEvent]:
    """``emit`` for several events of one type (bulk issuance: one ``seal.used`` per policy):
    the endpoints are read once and the rows inserted together."""
    tenant_id = tenant if isinstance(tenant, str) else str(tenant.id)
    events = [CallbackEvent(tenant_id=tenant_id, type=event_type, data=data) for data in items]
    await bulk_insert(CallbackEvent, events)  # UUID keys: the ids are set before the insert
    if endpoint is not None:
        targets = [endpoint]
    else:
        active = await CallbackEndpoint.filter(tenant_id=tenant_id, disabled_at=None)
        targets = [e for e in active if event_type in e.events]
    deliveries = [CallbackDelivery(event=event, endpoint=target)
                  for event in events for target in targets]
    await bulk_insert(CallbackDelivery, deliveries)
    for delivery in deliveries:
        await runtime.jobs.enqueue(DELIVER_JOB, key=f"callback:{delivery.id}",
                                   delivery_id=str(delivery.id),
                                   retries=runtime.settings.callback_max_attempts,
                                   retry_delay=runtime.settings.job_retry_delay_seconds)
    return events


async def redeliver_failed(runtime, endpoint: CallbackEndpoint) -> int:
    """Give the endpoint's failed deliveries another round of attempts (after an outage longer
    than a round); the receiver de-duplicates by event id as always."""
    from tortoise.transactions import in_transaction

    from backend import audit

    async with in_transaction("default"):
        failed = await CallbackDelivery.filter(endpoint_id=endpoint.id, status="failed") \
            .select_for_update()
        for delivery in failed:
            delivery.status = "pending"
            await delivery.save(update_fields=["status"])
            await runtime.jobs.enqueue(DELIVER_JOB, key=f"callback:{delivery.id}:{delivery.attempts}",
                                       delivery_id=str(delivery.id),
                                       retries=runtime.settings.callback_max_attempts,
                                       retry_delay=runtime.settings.job_retry_delay_seconds)
        await audit.record("callback.redeliver", f"callback:{endpoint.id}",
                           details={"deliveries": len(failed)})
    return len(failed)


def body_of(event: CallbackEvent) -> bytes:
    return json.dumps({"event_id": str(event.id), "type": event.type,
                       "created_at": event.created_at.isoformat(), "data": event.data},
                      ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


async def present_deliveries(endpoint: CallbackEndpoint, limit: int = 50) -> list[dict[str, Any]]:
    rows = await CallbackDelivery.filter(endpoint_id=endpoint.id).order_by("-created_at") \
        .limit(limit).prefetch_related("event", "attempt_log")
    return [{"id": str(d.id), "event_id": str(d.event_id), "type": d.event.type,
             "status": d.status, "attempts": d.attempts, "last_error": d.last_error,
             "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
             "attempt_log": [{"number": a.number, "status_code": a.status_code, "error": a.error,
                              "duration_ms": a.duration_ms}
                             for a in sorted(d.attempt_log, key=lambda a: a.number)]}
            for d in rows]
