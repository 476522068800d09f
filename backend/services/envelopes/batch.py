"""Batches [批量发起/批量解除]: one template + a list (JSON items or CSV) → thousands of envelopes,
made by a job that walks the pending items in order; terminating a batch stops the items not yet
made and voids the envelopes not yet completed.

Crash safety: each item is one envelope, made idempotently (its business number is unique, the
item number stands in when the list has none) and committed before the item is marked done; a
worker killed mid-batch leaves pending items that the next run (on worker start and every
minute) picks up. A lease in the cache keeps two runs of one batch from overlapping.
"""
from __future__ import annotations

import asyncio
import csv
import io
import logging
from typing import Any

from tortoise.functions import Count
from tortoise.transactions import in_transaction

from backend import audit
from backend.errors import AppError, NotFound, ValidationFailed
from backend.ids import parse_uuid
from backend.models.envelope import Envelope, EnvelopeBatch, EnvelopeBatchItem
from backend.models.tenant import Tenant
from backend.services import callbacks_outbox as outbox
from backend.services.documents_query import Caller
from backend.services.envelopes.spec import EnvelopeSpec
from backend.services.envelopes.state import now

log = logging.getLogger(__name__)
JOB = "process_envelope_batch"
MAX_ITEMS = 10_000
LEASE_SECONDS = 20
#: Items made at once: the work waits mostly on the database, so a few overlap well.
PARALLEL = 4


class BatchNotFound(NotFound):
    code, message = "BATCH_NOT_FOUND", "no such batch"


class BatchInvalid(ValidationFailed):
    code = "BATCH_INVALID"


def parse_csv(text: str) -> list[dict[str, Any]]:
    """CSV with a header; ``business_no`` is the row's business number, every other column a
    template parameter."""
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        raise BatchInvalid("the CSV has no rows")
    return [{"business_no": (r.pop("business_no", "") or "").strip(),
             "params": {k.strip(): (v or "").strip() for k, v in r.items() if k}} for r in rows]


async def create_batch(tenant: Tenant, runtime, *, spec: dict[str, Any],
                       items: list[dict[str, Any]], caller: Caller) -> EnvelopeBatch:
    if not items or len(items) > MAX_ITEMS:
        raise BatchInvalid(f"a batch has 1 to {MAX_ITEMS} items")
    if not spec.get("template"):
        raise BatchInvalid("a batch is made from a template")
    numbers = [str(i.get("business_no") or "") for i in items]
    given = [n for n in numbers if n]
    if len(set(given)) != len(given):
        raise BatchInvalid("business numbers repeat within the batch")
    for item in items[:1] + [i for i in items[1:] if i.get("signers")]:  # fail early
        EnvelopeSpec.from_dict(spec, params={**spec.get("params", {}), **(item.get("params") or {})},
                               business_no="x", **({"signers": item["signers"]}
                                                   if item.get("signers") else {})).check()
    async with in_transaction("default"):
        batch = await EnvelopeBatch.create(tenant=tenant, template_code=spec["template"],
                                           spec=spec, total=len(items), created_by=caller.actor)
        await EnvelopeBatchItem.bulk_create([
            EnvelopeBatchItem(batch=batch, number=n, business_no=numbers[n - 1] or
                              f"{batch.id.hex[:12]}-{n:05d}", params=item.get("params") or {},
                              signers=item.get("signers") or [])
            for n, item in enumerate(items, start=1)], batch_size=1000)
        await audit.record("envelope.batch.create", f"batch:{batch.id}", actor=caller.actor,
                           tenant_id=str(tenant.id), details={"total": len(items)})
        await enqueue(runtime, batch)
    return batch


async def enqueue(runtime, batch: EnvelopeBatch, attempt: str = "0") -> None:
    await runtime.jobs.enqueue(JOB, key=f"batch:{batch.id}:{attempt}", batch_id=str(batch.id),
                               retries=3, retry_delay=runtime.settings.job_retry_delay_seconds,
                               timeout=6 * 3600)


async def process(runtime, batch_id: str) -> str:
    """Make every pending item of a running batch; returns a short outcome."""
    lease = f"batch-lease:{batch_id}"
    for _ in range(LEASE_SECONDS * 3):  # another run holds it, or a dead one's lease runs out
        if await runtime.cache.add(lease, b"1", LEASE_SECONDS):
            break
        await asyncio.sleep(0.5)
    else:
        return "busy"
    try:
        return await _process(runtime, batch_id, lease)
    finally:
        await runtime.cache.delete(lease)


async def _process(runtime, batch_id: str, lease: str) -> str:
    from backend.services.envelopes import create, flow

    batch = await EnvelopeBatch.get(id=batch_id)
    tenant = await Tenant.get(id=batch.tenant_id)
    caller = Caller(user_ref=batch.created_by.split(":", 1)[-1])
    while True:
        batch = await EnvelopeBatch.get(id=batch_id)
        if batch.status != "running":
            return batch.status
        items = await EnvelopeBatchItem.filter(batch_id=batch.id, status="pending") \
            .order_by("number").limit(50)
        if not items:
            break
        for start in range(0, len(items), PARALLEL):
            await runtime.cache.set(lease, b"1", LEASE_SECONDS)
            if (await EnvelopeBatch.get(id=batch_id)).status != "running":
                return "terminated"
            await asyncio.gather(*(_make(tenant, runtime, batch, item, caller, create, flow)
                                   for item in items[start:start + PARALLEL]))
    return await _finish(runtime, batch)


async def _make(tenant, runtime, batch, item, caller, create, flow) -> None:
    spec = EnvelopeSpec.from_dict(batch.spec, params={**batch.spec.get("params", {}), **item.params},
                                  business_no=item.business_no,
                                  **({"signers": item.signers} if item.signers else {}))
    try:
        issued = await create.create_envelope(tenant, runtime, spec, caller=caller,
                                              batch_id=batch.id)
        envelope = issued.envelope
        if spec.send and envelope.status == "draft":
            await flow.send(tenant, runtime, str(envelope.id), actor=caller.actor)
        elif envelope.status in ("sent", "signing"):
            await flow.run_silent_steps(tenant, runtime, str(envelope.id))  # resumed item
    except AppError as exc:
        await EnvelopeBatchItem.filter(id=item.id).update(status="failed", error_code=exc.code,
                                                          error=exc.message[:300])
        return
    await EnvelopeBatchItem.filter(id=item.id).update(status="done", envelope_id=envelope.id)


async def _finish(runtime, batch: EnvelopeBatch) -> str:
    async with in_transaction("default"):
        locked = await EnvelopeBatch.filter(id=batch.id).select_for_update().first()
        if locked.status != "running":
            return locked.status
        locked.status, locked.finished_at = "completed", now()
        await locked.save(update_fields=["status", "finished_at"])
        report = await progress_of(locked)
        await outbox.emit(str(locked.tenant_id), runtime, "batch.completed", report)
    return "completed"


async def get_batch(tenant: Tenant, batch_id: str) -> EnvelopeBatch:
    batch = await EnvelopeBatch.get_or_none(id=parse_uuid(batch_id, BatchNotFound),
                                            tenant_id=tenant.id)
    if batch is None:
        raise BatchNotFound()
    return batch


async def progress_of(batch: EnvelopeBatch) -> dict[str, Any]:
    counts = dict(await EnvelopeBatchItem.filter(batch_id=batch.id).annotate(n=Count("id"))
                  .group_by("status").values_list("status", "n"))
    states = dict(await Envelope.filter(batch_id=batch.id).annotate(n=Count("id"))
                  .group_by("status").values_list("status", "n"))
    failed = await EnvelopeBatchItem.filter(batch_id=batch.id, status="failed") \
        .order_by("number").limit(20).values("number", "business_no", "error_code", "error")
    done = counts.get("done", 0) + counts.get("failed", 0) + counts.get("terminated", 0)
    return {"id": str(batch.id), "status": batch.status, "template": batch.template_code,
            "total": batch.total, "items": counts, "envelopes": states,
            "progress": round(done / batch.total, 4) if batch.total else 1.0,
            "failures": failed, "created_at": batch.created_at.isoformat(),
            "finished_at": batch.finished_at.isoformat() if batch.finished_at else None,
            "terminated_at": batch.terminated_at.isoformat() if batch.terminated_at else None}


async def terminate(tenant: Tenant, runtime, batch_id: str, *, reason: str,
                    actor: str) -> dict[str, Any]:
    """批量解除: stop the items not yet made, void the batch's envelopes not yet final."""
    from backend.services.envelopes.decide import OPEN, end_open

    async with in_transaction("default"):
        batch = await EnvelopeBatch.filter(id=(await get_batch(tenant, batch_id)).id) \
            .select_for_update().first()
        if batch.status == "terminated":
            return await progress_of(batch)
        batch.status, batch.terminated_at, batch.terminate_reason = "terminated", now(), reason[:300]
        await batch.save(update_fields=["status", "terminated_at", "terminate_reason"])
        await EnvelopeBatchItem.filter(batch_id=batch.id, status="pending").update(
            status="terminated")
        await audit.record("envelope.batch.terminate", f"batch:{batch.id}", actor=actor,
                           tenant_id=str(tenant.id), details={"reason": reason[:200]})
    open_ids = await Envelope.filter(batch_id=batch.id, status__in=OPEN) \
        .values_list("id", flat=True)
    for envelope_id in open_ids:
        await end_open(runtime, envelope_id, "voided", actor=actor,
                       reason=f"batch terminated: {reason}")
    return await progress_of(batch)


async def resume_running(runtime) -> int:
    """Enqueue a run for every running batch with pending items (worker start, every minute)."""
    import uuid

    running = await EnvelopeBatch.filter(status="running")
    for batch in running:
        await enqueue(runtime, batch, attempt=uuid.uuid4().hex[:8])
    return len(running)
