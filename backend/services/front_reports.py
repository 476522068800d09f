"""Front server [前置服务器] reports: what a front server sealed, told to the central platform.

A front server is this same application started with ``FRONT_SERVER_MODE=true`` inside an
insurer's network: core systems call its REST API, it seals with the keys of its own key store
(``/api/v1/seals/{id}/apply``, ``/api/v1/documents/{id}/seal``), and every seal application is
reported to the central platform — the document's SHA-256, the seal, the company, the
algorithms and the time; never the document.

Front side: ``queue_report`` runs inside the seal's transaction and writes the report to the
outbox (a ``CallbackEvent`` of type ``front.report``; its id is the report id), then queues the
``deliver_front_report`` job, which POSTs it to ``CENTRAL_URL/api/v1/front-reports`` signed
with ``CENTRAL_APP_KEY``/``CENTRAL_APP_SECRET`` and ``Idempotency-Key: <report id>``; transport
errors and 5xx are retried with backoff (``CALLBACK_MAX_ATTEMPTS``), a delivered report is marked
in the event (``delivery``).

Central side: ``receive`` stores a report once per report id (the idempotency record and the
entry are one transaction; a re-sent report replays the first answer) as an operation-log entry
``front.report`` with target ``document-sha256:<hash>`` (tamper-evident, counted in the
statistics); ``reports`` lists them.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import uuid
from typing import Any

from backend import audit
from backend.models.audit import AuditEntry
from backend.models.callback_delivery import CallbackEvent
from backend.models.tenant import Tenant

log = logging.getLogger("esign.front")
REPORT_EVENT = "front.report"
DELIVER_JOB = "deliver_front_report"
REPORT_PATH = "/api/v1/front-reports"
REPORT_ACTION = "front.report"


def front_server_id(settings) -> str:
    return settings.front_server_id or socket.gethostname()


async def queue_report(tenant: Tenant, runtime, *, seal, company_name: str, sha256: str,
                       algorithms: tuple[str, ...], use_id: int, use) -> str:
    """In the seal's transaction: the report into the outbox and its delivery job queued."""
    settings = runtime.settings
    report_id = uuid.uuid4()
    report = {
        "report_id": str(report_id), "front_server": front_server_id(settings)[:64],
        "front_tenant": str(tenant.id), "sha256": sha256, "algorithms": list(algorithms),
        "seal_id": str(seal.id), "seal_name": seal.name, "seal_kind": seal.kind,
        "company_name": company_name, "use_id": use_id, "user_ref": use.user_ref,
        "document_ref": use.document_ref, "document_type": use.document_type,
        "signed_at": dt.datetime.now(dt.timezone.utc).isoformat(),
    }
    await CallbackEvent.create(id=report_id, tenant_id=tenant.id, type=REPORT_EVENT,
                               data={"report": report, "delivery": {"status": "pending"}})
    await runtime.jobs.enqueue(DELIVER_JOB, key=f"front-report:{report_id}",
                               report_id=str(report_id), retries=settings.callback_max_attempts,
                               retry_delay=settings.job_retry_delay_seconds, timeout=30)
    return str(report_id)


def report_body(report: dict[str, Any]) -> bytes:
    return json.dumps(report, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


class DeliveryRefused(Exception):
    """The central platform refused the report (4xx): retrying the same report cannot help."""


async def deliver(runtime, report_id: str, *, timeout: float = 10.0) -> str:
    """POST one report to the central platform; "delivered" or "failed" (refused), or raises
    ``RetryableJobError`` (not committed yet, central unreachable, 5xx, 408/429)."""
    import httpx

    from backend.jobs.registry import RetryableJobError
    from backend.signing_scheme import signed_headers

    settings = runtime.settings
    event = await CallbackEvent.get_or_none(id=report_id, type=REPORT_EVENT)
    if event is None:
        raise RetryableJobError(f"front report {report_id} not visible yet")
    delivery = event.data.get("delivery", {})
    if delivery.get("status") in ("delivered", "failed"):
        return delivery["status"]
    body = report_body(event.data["report"])
    headers = signed_headers(settings.central_app_key, settings.central_app_secret, "POST",
                             REPORT_PATH, "", body)
    headers.update({"Content-Type": "application/json", "Idempotency-Key": report_id,
                    "User-Agent": "esign-front-server/1"})
    attempts = int(delivery.get("attempts", 0)) + 1
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(settings.central_url.rstrip("/") + REPORT_PATH,
                                         content=body, headers=headers)
    except httpx.HTTPError as exc:
        await _mark(event, {"status": "pending", "attempts": attempts,
                            "last_error": f"{type(exc).__name__}: {exc}"[:300]})
        raise RetryableJobError(f"central platform unreachable: {exc}") from None
    if response.is_success:
        answer = response.json()
        await _mark(event, {"status": "delivered", "attempts": attempts,
                            "delivered_at": dt.datetime.now(dt.timezone.utc).isoformat(),
                            "central_seq": answer.get("audit_seq")})
        return "delivered"
    error = f"HTTP {response.status_code} {response.text[:200]}"
    if response.status_code >= 500 or response.status_code in (408, 429):
        await _mark(event, {"status": "pending", "attempts": attempts, "last_error": error})
        raise RetryableJobError(error)
    log.error("front report %s refused by the central platform: %s", report_id, error)
    await _mark(event, {"status": "failed", "attempts": attempts, "last_error": error})
    return "failed"


async def _mark(event: CallbackEvent, delivery: dict[str, Any]) -> None:
    event.data = {**event.data, "delivery": delivery}
    await CallbackEvent.filter(id=event.id).update(data=event.data)


async def pending(tenant_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Reports not delivered yet (oldest first), for operators."""
    query = CallbackEvent.filter(type=REPORT_EVENT)
    if tenant_id:
        query = query.filter(tenant_id=tenant_id)
    rows = await query.order_by("created_at").limit(10 * limit)
    out = [{"report_id": str(e.id), **e.data.get("delivery", {})} for e in rows
           if e.data.get("delivery", {}).get("status") == "pending"]
    return out[:limit]


async def requeue_pending(runtime, older_than_seconds: int = 300) -> int:
    """Queue again the reports still pending after a while (a lost enqueue, a Redis flush);
    a report still queued keeps its one job (unique key), a delivered twice is stored once."""
    settings = runtime.settings
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=older_than_seconds)
    rows = await CallbackEvent.filter(type=REPORT_EVENT, created_at__lt=before) \
        .order_by("created_at").limit(5000)
    count = 0
    for event in rows:
        if event.data.get("delivery", {}).get("status") == "pending":
            await runtime.jobs.enqueue(DELIVER_JOB, key=f"front-report:{event.id}",
                                       report_id=str(event.id),
                                       retries=settings.callback_max_attempts,
                                       retry_delay=settings.job_retry_delay_seconds, timeout=30)
            count += 1
    return count


# ------------------------------------------------------------------------------ central side
async def receive(tenant: Tenant, report: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Store one report (call inside ``run_idempotent`` keyed by the report id)."""
    entry = await audit.record(
        REPORT_ACTION, f"document-sha256:{report['sha256']}",
        actor=f"front:{report['front_server']}", tenant_id=str(tenant.id), details=report)
    return 201, {"report_id": report["report_id"], "audit_seq": entry.seq,
                 "received_at": entry.created_at.isoformat()}


def present(entry: AuditEntry) -> dict[str, Any]:
    return {**entry.details, "audit_seq": entry.seq, "received_at": entry.created_at.isoformat()}


async def reports(tenant: Tenant, *, sha256: str | None = None, front_server: str | None = None,
                  limit: int = 50) -> list[dict[str, Any]]:
    query = AuditEntry.filter(tenant_id=tenant.id, action=REPORT_ACTION)
    if sha256:
        query = query.filter(target=f"document-sha256:{sha256.lower()}")
    if front_server:
        query = query.filter(actor=f"front:{front_server}")
    return [present(e) for e in await query.order_by("-seq").limit(limit)]
